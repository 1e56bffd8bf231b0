//! Policies: the statements of IAM policy documents, and what a role's
//! statements grant, by target.

use std::collections::{BTreeMap, BTreeSet};

use hcl::{Body, Value};

use crate::load::{attr, block, blocks, strings};
use crate::world::{Id, World};

/// A statement's condition: its test, its variable and its values.
pub(crate) type Condition = (String, String, Vec<String>);

#[derive(Debug)]
pub(crate) struct Statement {
    pub(crate) actions: Vec<String>,
    pub(crate) resources: Vec<String>,
    pub(crate) conditions: Vec<Condition>,
}

impl World<'_> {
    /// The statements of an `aws_iam_policy_document` referred to by its
    /// `json`, including those of the documents it merges.
    pub(crate) fn statements(&self, json: &str, what: &str) -> Vec<Statement> {
        let Some((doc, "json")) = self
            .resolve(json)
            .filter(|(i, _)| i.id.data && i.id.ty == "aws_iam_policy_document")
        else {
            panic!("{what}: expected an aws_iam_policy_document's json, got {json:?}")
        };
        let mut out = Vec::new();
        for key in ["source_policy_documents", "override_policy_documents"] {
            if let Some(value) = self.eval(doc, &[key]) {
                for source in strings(Some(value), &format!("{}.{key}", doc.id)) {
                    out.extend(self.statements(&source, what));
                }
            }
        }
        for statement in blocks(doc.body, "statement") {
            let at = format!("{} statement", doc.id);
            let effect = self.eval_in(doc, statement, "effect");
            assert!(
                effect.is_none() || effect == Some(Value::from("Allow")),
                "{at}: only Allow statements are expected, got {effect:?}"
            );
            for key in ["not_actions", "not_resources"] {
                assert!(attr(statement, key).is_none(), "{at}: {key} is not allowed");
            }
            assert!(
                block(statement, "principals").is_none(),
                "{at}: an identity policy names no principals"
            );
            let text = |condition: &Body, key: &str| match self.eval_in(doc, condition, key) {
                Some(Value::String(s)) => s,
                other => panic!("{at}: condition {key} is {other:?}"),
            };
            out.push(Statement {
                actions: strings(self.eval_in(doc, statement, "actions"), &at),
                resources: strings(self.eval_in(doc, statement, "resources"), &at),
                conditions: blocks(statement, "condition")
                    .map(|c| {
                        (
                            text(c, "test"),
                            text(c, "variable"),
                            strings(self.eval_in(doc, c, "values"), &at),
                        )
                    })
                    .collect(),
            });
        }
        out
    }
}

/// What one role's policies grant, by target.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Grants {
    pub(crate) streams: BTreeMap<String, BTreeSet<String>>,
    pub(crate) tables: BTreeMap<String, BTreeSet<String>>,
    pub(crate) queues: BTreeMap<Id, BTreeSet<String>>,
    pub(crate) buckets: BTreeMap<Id, BTreeSet<String>>,
    /// A bucket's objects, by the bucket and the key pattern after its ARN.
    pub(crate) objects: BTreeMap<(Id, String), BTreeSet<String>>,
    pub(crate) log_streams: BTreeMap<Id, BTreeSet<String>>,
    pub(crate) kms: BTreeSet<String>,
    pub(crate) unscoped: BTreeSet<String>,
}

impl World<'_> {
    pub(crate) fn grants(&self, statements: &[Statement], function: &str) -> Grants {
        let mut grants = Grants::default();
        for statement in statements {
            let actions: BTreeSet<String> = statement.actions.iter().cloned().collect();
            for resource in &statement.resources {
                if resource == "*" {
                    grants.unscoped.extend(actions.iter().cloned());
                    continue;
                }
                // `<bucket ARN>/<key pattern>`: objects of a bucket.
                if let Some((bucket, key)) = resource.split_once('/') {
                    let Some((target, "arn")) = self.resolve(bucket) else {
                        panic!(
                            "{function}: resource {resource:?} is not the ARN of a resource in the module"
                        )
                    };
                    assert_eq!(
                        target.id.ty, "aws_s3_bucket",
                        "{function}: unexpected grant on {resource:?}"
                    );
                    grants
                        .objects
                        .entry((target.id.clone(), key.to_owned()))
                        .or_default()
                        .extend(actions.iter().cloned());
                    continue;
                }
                let (base, log_streams) = match resource.strip_suffix(":*") {
                    Some(base) => (base, true),
                    None => (resource.as_str(), false),
                };
                let Some((target, "arn")) = self.resolve(base) else {
                    panic!(
                        "{function}: resource {resource:?} is not the ARN of a resource in the module"
                    )
                };
                let entry = match (target.id.ty.as_str(), log_streams) {
                    ("aws_cloudwatch_log_group", true) => {
                        grants.log_streams.entry(target.id.clone()).or_default()
                    }
                    ("aws_kinesis_stream", false) => grants
                        .streams
                        .entry(self.logical(target, &["name"]))
                        .or_default(),
                    ("aws_dynamodb_table", false) => grants
                        .tables
                        .entry(self.logical(target, &["name"]))
                        .or_default(),
                    ("aws_sqs_queue", false) => grants.queues.entry(target.id.clone()).or_default(),
                    ("aws_s3_bucket", false) => {
                        grants.buckets.entry(target.id.clone()).or_default()
                    }
                    ("aws_kms_key", false) => &mut grants.kms,
                    _ => panic!("{function}: unexpected grant on {resource:?}"),
                };
                entry.extend(actions.iter().cloned());
            }
        }
        grants
    }
}
