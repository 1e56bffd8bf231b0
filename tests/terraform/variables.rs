//! Variables that bound a setting: which variable an attribute is set
//! from, and which values its validations accept.

use hcl::eval::{Context, Evaluate};
use hcl::expr::TraversalOperator;
use hcl::{Block, Expression, Value};

use crate::builtins::declare_functions;
use crate::load::{attr, blocks, labels};
use crate::world::{Instance, World};

impl World<'_> {
    /// The variable an attribute is set from (`var.NAME`).
    fn variable_of(&self, instance: &Instance<'_>, key: &str) -> &Block {
        let expr =
            attr(instance.body, key).unwrap_or_else(|| panic!("{}: {key} is not set", instance.id));
        let name = match expr {
            Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
                (Expression::Variable(v), [TraversalOperator::GetAttr(name)])
                    if v.as_str() == "var" =>
                {
                    name.to_string()
                }
                _ => panic!("{}: {key} is not set from a variable", instance.id),
            },
            _ => panic!("{}: {key} is not set from a variable", instance.id),
        };
        self.top("variable")
            .find(|b| labels(b)[0] == name)
            .unwrap_or_else(|| panic!("no variable {name}"))
    }

    /// Whether every validation of `variable` accepts `value`.
    fn accepts(&self, variable: &Block, value: i64) -> bool {
        let name = labels(variable)[0];
        let mut vars = self.vars.clone();
        vars.insert(name.to_owned(), Value::from(value));
        let mut ctx = Context::new();
        ctx.declare_var("var", Value::Object(vars));
        declare_functions(&mut ctx);
        blocks(variable.body(), "validation").all(|validation| {
            let condition = attr(validation, "condition").expect("a validation has a condition");
            condition
                .evaluate(&ctx)
                .unwrap_or_else(|e| panic!("variable {name}: {e}"))
                == Value::Bool(true)
        })
    }

    /// The setting comes from a variable whose validation admits exactly
    /// `min..=max` (in particular not -1, "forever") and whose default lies
    /// in that range.
    pub(crate) fn assert_bounded(&self, instance: &Instance<'_>, key: &str, min: i64, max: i64) {
        let variable = self.variable_of(instance, key);
        let name = labels(variable)[0];
        let default = self.vars[name]
            .as_i64()
            .unwrap_or_else(|| panic!("variable {name} has no whole-number default"));
        assert!(
            (min..=max).contains(&default),
            "variable {name}: default {default} outside {min}..={max}"
        );
        for value in [min, max, default] {
            assert!(
                self.accepts(variable, value),
                "variable {name} rejects {value}"
            );
        }
        for value in [-1, min - 1, max + 1] {
            assert!(
                !self.accepts(variable, value),
                "variable {name} accepts {value}"
            );
        }
    }
}
