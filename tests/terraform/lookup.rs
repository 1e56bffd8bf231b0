//! Finding instances in the evaluated module and following placeholders
//! back to the instances they name.

use std::collections::BTreeMap;

use hcl::eval::Evaluate;
use hcl::{Body, Value};

use crate::load::{attr, block};
use crate::world::{Id, Instance, World};

impl<'m> World<'m> {
    pub(crate) fn instances(&self, ty: &str) -> impl Iterator<Item = &Instance<'m>> {
        self.instances
            .iter()
            .filter(move |i| !i.id.data && i.id.ty == ty)
    }

    fn instance(&self, id: &Id) -> &Instance<'m> {
        self.instances
            .iter()
            .find(|i| &i.id == id)
            .unwrap_or_else(|| panic!("no instance {id}"))
    }

    /// Evaluates `key` of `body` (the instance's body or a block inside it)
    /// in the instance's context.
    pub(crate) fn eval_in(&self, instance: &Instance<'_>, body: &Body, key: &str) -> Option<Value> {
        attr(body, key).map(|expr| {
            expr.evaluate(&self.context(Some(instance)))
                .unwrap_or_else(|e| panic!("{}.{key}: {e}", instance.id))
        })
    }

    /// Evaluates the attribute at `path`: block identifiers, then the key.
    pub(crate) fn eval(&self, instance: &Instance<'_>, path: &[&str]) -> Option<Value> {
        let (key, blocks_path) = path.split_last().expect("a path");
        let mut body = instance.body;
        for ident in blocks_path {
            body = block(body, ident)?;
        }
        self.eval_in(instance, body, key)
    }

    pub(crate) fn string(&self, instance: &Instance<'_>, path: &[&str]) -> String {
        match self.eval(instance, path) {
            Some(Value::String(s)) => s,
            other => panic!(
                "{}.{}: expected a string, got {other:?}",
                instance.id,
                path.join(".")
            ),
        }
    }

    /// The instance and attribute a placeholder stands for.
    pub(crate) fn resolve(&self, placeholder: &str) -> Option<(&Instance<'m>, &str)> {
        self.placeholders
            .get(placeholder)
            .map(|(id, attr)| (self.instance(id), attr.as_str()))
    }

    /// The instance of type `ty` that `value` refers to (through `attr`).
    pub(crate) fn follow(&self, value: &str, ty: &str, attr: &str, what: &str) -> &Instance<'m> {
        match self.resolve(value) {
            Some((instance, a)) if instance.id.ty == ty && a == attr => instance,
            _ => panic!("{what}: expected a reference to a {ty}'s {attr}, got {value:?}"),
        }
    }

    /// Resource name without the deployment prefix: `tailor-events` is `events`.
    pub(crate) fn logical(&self, instance: &Instance<'_>, path: &[&str]) -> String {
        let full = self.string(instance, path);
        let prefix = format!("{}-", self.deployment_name());
        full.strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{}: name {full:?} lacks the prefix {prefix:?}", instance.id))
            .to_owned()
    }

    pub(crate) fn deployment_name(&self) -> &str {
        self.vars["name"].as_str().expect("var.name is a string")
    }

    /// Instances of `ty`, by the name they get without the deployment prefix.
    pub(crate) fn by_logical(&self, ty: &str, path: &[&str]) -> BTreeMap<String, &Instance<'m>> {
        let mut out = BTreeMap::new();
        for instance in self.instances(ty) {
            let name = self.logical(instance, path);
            assert!(
                out.insert(name.clone(), instance).is_none(),
                "two {ty} named {name:?}"
            );
        }
        out
    }

    pub(crate) fn functions(&self) -> BTreeMap<String, &Instance<'m>> {
        self.by_logical("aws_lambda_function", &["function_name"])
    }

    /// Which function an instance's `function_name` attribute points at.
    pub(crate) fn function_of(&self, instance: &Instance<'_>) -> String {
        let value = self.string(instance, &["function_name"]);
        let (target, _) = self
            .resolve(&value)
            .filter(|(i, a)| {
                i.id.ty == "aws_lambda_function" && matches!(*a, "arn" | "function_name")
            })
            .unwrap_or_else(|| {
                panic!("{}: function_name {value:?} is not a function", instance.id)
            });
        self.logical(target, &["function_name"])
    }

    pub(crate) fn kms_key(&self) -> &Instance<'m> {
        let keys: Vec<_> = self.instances("aws_kms_key").collect();
        assert_eq!(keys.len(), 1, "one KMS key for the deployment");
        keys[0]
    }

    pub(crate) fn is_kms_key(&self, value: &str) -> bool {
        self.resolve(value)
            .is_some_and(|(i, a)| i.id == self.kms_key().id && matches!(a, "arn" | "id" | "key_id"))
    }
}
