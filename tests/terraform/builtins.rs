//! The Terraform functions the module calls, as far as the evaluation needs
//! them.

use hcl::eval::{Context, FuncDef, ParamType};
use hcl::{Map, Value};

pub(crate) fn declare_functions(ctx: &mut Context<'_>) {
    ctx.declare_func(
        "toset",
        FuncDef::builder().param(ParamType::Any).build(|args| {
            let mut seen = Vec::new();
            for item in args[0].as_array().ok_or("toset takes a list")? {
                if !seen.contains(item) {
                    seen.push(item.clone());
                }
            }
            Ok(Value::Array(seen))
        }),
    );
    ctx.declare_func(
        "lookup",
        FuncDef::builder()
            .param(ParamType::Any)
            .param(ParamType::String)
            .param(ParamType::Any)
            .build(|args| {
                let map = args[0].as_object().ok_or("lookup takes a map")?;
                let key = args[1].as_str().unwrap_or_default();
                Ok(map.get(key).unwrap_or(&args[2]).clone())
            }),
    );
    ctx.declare_func(
        "merge",
        FuncDef::builder()
            .variadic_param(ParamType::Any)
            .build(|args| {
                let mut out = Map::new();
                for arg in args.iter() {
                    let map = arg.as_object().ok_or("merge takes maps")?;
                    out.extend(map.clone());
                }
                Ok(Value::Object(out))
            }),
    );
    ctx.declare_func(
        "tostring",
        FuncDef::builder().param(ParamType::Any).build(|args| {
            Ok(match &args[0] {
                Value::String(s) => Value::from(s.clone()),
                Value::Number(n) => Value::from(n.to_string()),
                Value::Bool(b) => Value::from(b.to_string()),
                other => return Err(format!("tostring of {other}")),
            })
        }),
    );
    ctx.declare_func(
        "upper",
        FuncDef::builder().param(ParamType::String).build(|args| {
            Ok(Value::from(
                args[0].as_str().unwrap_or_default().to_uppercase(),
            ))
        }),
    );
    ctx.declare_func(
        "floor",
        FuncDef::builder().param(ParamType::Number).build(|args| {
            let n = args[0].as_f64().ok_or("floor takes a number")?.floor();
            // Whole numbers come back as integers so `floor(x) == x` holds
            // for an integer x.
            #[allow(clippy::cast_possible_truncation, reason = "n is whole")]
            Ok(if n.abs() < 1e15 {
                Value::from(n as i64)
            } else {
                Value::from(n)
            })
        }),
    );
}
