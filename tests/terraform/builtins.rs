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
    // A variable without a default stands for itself (`var.NAME`), and so
    // does a join of it (`join(",", var.NAME)`), as an unknown value does
    // in a plan: a test then sees which variable the value is made from.
    ctx.declare_func(
        "join",
        FuncDef::builder()
            .param(ParamType::String)
            .param(ParamType::Any)
            .build(|args| {
                let separator = args[0].as_str().unwrap_or_default();
                match &args[1] {
                    Value::Array(items) => {
                        let mut parts = Vec::new();
                        for item in items {
                            parts.push(item.as_str().ok_or("join takes a list of strings")?);
                        }
                        Ok(Value::from(parts.join(separator)))
                    }
                    Value::String(unknown) if unknown.starts_with("var.") => {
                        Ok(Value::from(format!("join({separator:?}, {unknown})")))
                    }
                    other => Err(format!("join takes a list, not {other}")),
                }
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
