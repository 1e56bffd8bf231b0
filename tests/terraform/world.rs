//! The module evaluated offline: resource and data instances, with
//! placeholders for what only exists after apply.

use std::collections::BTreeMap;
use std::fmt;

use hcl::eval::{Context, Evaluate};
use hcl::{Block, Body, Expression, Map, Value};

use crate::builtins::declare_functions;
use crate::load::{attr, labels};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Id {
    pub(crate) data: bool,
    pub(crate) ty: String,
    name: String,
    key: Option<String>,
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.data {
            f.write_str("data.")?;
        }
        write!(f, "{}.{}", self.ty, self.name)?;
        if let Some(key) = &self.key {
            write!(f, "[{key:?}]")?;
        }
        Ok(())
    }
}

/// Attributes that only exist after apply, stood in for by placeholders.
const COMPUTED: [&str; 14] = [
    "account_id",
    "arn",
    "dns_suffix",
    "function_name",
    "function_url",
    "id",
    "invoke_arn",
    "json",
    "key_id",
    "name",
    "partition",
    "qualified_arn",
    "region",
    "url",
];

pub(crate) struct Instance<'m> {
    pub(crate) id: Id,
    pub(crate) body: &'m Body,
    each_value: Option<Value>,
}

pub(crate) struct World<'m> {
    blocks: &'m [Block],
    pub(crate) vars: Map<String, Value>,
    locals: Map<String, Value>,
    pub(crate) instances: Vec<Instance<'m>>,
    pub(crate) placeholders: BTreeMap<String, (Id, String)>,
}

impl<'m> World<'m> {
    pub(crate) fn new(blocks: &'m [Block]) -> Self {
        let mut world = World {
            blocks,
            vars: Map::new(),
            locals: Map::new(),
            instances: Vec::new(),
            placeholders: BTreeMap::new(),
        };
        for variable in world.top("variable") {
            let name = labels(variable)[0];
            let value = match attr(variable.body(), "default") {
                Some(expr) => expr.evaluate(&Context::new()).unwrap(),
                None => Value::from(format!("var.{name}")),
            };
            world.vars.insert(name.to_owned(), value);
        }
        let mut locals: Vec<(&str, &Expression)> = world
            .top("locals")
            .flat_map(|b| b.body().attributes().map(|a| (a.key(), a.expr())))
            .collect();
        let mut pending: Vec<&Block> = world.top("resource").chain(world.top("data")).collect();
        let mut errors: BTreeMap<String, String> = BTreeMap::new();
        // Evaluate until nothing more can be: Terraform's graph is acyclic,
        // so whatever is left depends on something this harness lacks.
        loop {
            let before = locals.len() + pending.len();
            let ctx = world.context(None);
            let mut done = Vec::new();
            locals.retain(|(name, expr)| match expr.evaluate(&ctx) {
                Ok(value) => {
                    done.push(((*name).to_owned(), value));
                    false
                }
                Err(e) => {
                    errors.insert(format!("local.{name}"), e.to_string());
                    true
                }
            });
            world.locals.extend(done);
            let mut new = Vec::new();
            pending.retain(|b| match world.instantiate(b, &ctx) {
                Ok(instances) => {
                    new.extend(instances);
                    false
                }
                Err(e) => {
                    errors.insert(format!("{} {:?}", b.identifier(), labels(b)), e);
                    true
                }
            });
            for instance in new {
                world.add(instance);
            }
            if locals.len() + pending.len() == before {
                break;
            }
        }
        let stuck: Vec<String> = locals
            .iter()
            .map(|(n, _)| format!("local.{n}"))
            .chain(
                pending
                    .iter()
                    .map(|b| format!("{} {:?}", b.identifier(), labels(b))),
            )
            .map(|k| format!("{k}: {}", errors.get(&k).map_or("?", String::as_str)))
            .collect();
        assert!(
            stuck.is_empty(),
            "could not evaluate:\n{}",
            stuck.join("\n")
        );
        world
    }

    pub(crate) fn top(&self, ident: &'static str) -> impl Iterator<Item = &'m Block> + 'm {
        self.blocks.iter().filter(move |b| b.identifier() == ident)
    }

    fn instantiate(
        &self,
        block: &'m Block,
        ctx: &Context<'_>,
    ) -> Result<Vec<Instance<'m>>, String> {
        let l = labels(block);
        let (ty, name) = (l[0].to_owned(), l[1].to_owned());
        let data = block.identifier() == "data";
        let id = |key: Option<String>| Id {
            data,
            ty: ty.clone(),
            name: name.clone(),
            key,
        };
        let body = block.body();
        let Some(for_each) = attr(body, "for_each") else {
            return Ok(vec![Instance {
                id: id(None),
                body,
                each_value: None,
            }]);
        };
        let value = for_each.evaluate(ctx).map_err(|e| e.to_string())?;
        match value {
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(key) => Ok(Instance {
                        id: id(Some(key.clone())),
                        body,
                        each_value: Some(Value::String(key)),
                    }),
                    other => Err(format!("for_each element {other} is not a string")),
                })
                .collect(),
            Value::Object(map) => Ok(map
                .into_iter()
                .map(|(key, value)| Instance {
                    id: id(Some(key)),
                    body,
                    each_value: Some(value),
                })
                .collect()),
            other => Err(format!("for_each is neither a set nor a map: {other}")),
        }
    }

    fn add(&mut self, instance: Instance<'m>) {
        for attr in COMPUTED {
            self.placeholders.insert(
                format!("{}.{attr}", instance.id),
                (instance.id.clone(), attr.to_owned()),
            );
        }
        self.instances.push(instance);
    }

    fn attrs(id: &Id) -> Value {
        Value::Object(
            COMPUTED
                .iter()
                .map(|a| ((*a).to_owned(), Value::from(format!("{id}.{a}"))))
                .collect(),
        )
    }

    pub(crate) fn context(&self, each: Option<&Instance<'_>>) -> Context<'static> {
        let mut resources: Map<String, Value> = Map::new();
        let mut data: Map<String, Value> = Map::new();
        for instance in &self.instances {
            let root = if instance.id.data {
                &mut data
            } else {
                &mut resources
            };
            let by_name = object(root, &instance.id.ty);
            match &instance.id.key {
                None => {
                    by_name.insert(instance.id.name.clone(), Self::attrs(&instance.id));
                }
                Some(key) => {
                    object(by_name, &instance.id.name)
                        .insert(key.clone(), Self::attrs(&instance.id));
                }
            }
        }
        let mut ctx = Context::new();
        ctx.declare_var("var", Value::Object(self.vars.clone()));
        ctx.declare_var("local", Value::Object(self.locals.clone()));
        ctx.declare_var("data", Value::Object(data));
        for (ty, value) in resources {
            ctx.declare_var(ty, value);
        }
        if let Some(Instance {
            id: Id { key: Some(key), .. },
            each_value: Some(value),
            ..
        }) = each
        {
            let mut each = Map::new();
            each.insert("key".to_owned(), Value::from(key.clone()));
            each.insert("value".to_owned(), value.clone());
            ctx.declare_var("each", Value::Object(each));
        }
        declare_functions(&mut ctx);
        ctx
    }
}

fn object<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    match entry {
        Value::Object(inner) => inner,
        _ => unreachable!("always an object"),
    }
}
