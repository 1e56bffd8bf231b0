//! Tests of the roles: each function's role grants exactly its contracted
//! access.

use std::collections::{BTreeMap, BTreeSet};

use hcl::{Body, Value};

use crate::contract::{
    CONTRACT, KINESIS_READ, KINESIS_WRITE, KMS_USE, LOGS_WRITE, XRAY_UPLOAD, set, table_actions,
};
use crate::load::{attr, block, blocks, load, strings};
use crate::world::{Id, World};

#[test]
fn each_role_grants_exactly_the_contracted_access() {
    let module = load();
    let world = World::new(&module);
    for ty in [
        "aws_iam_role_policy_attachment",
        "aws_iam_policy_attachment",
        "aws_iam_policy",
    ] {
        assert_eq!(
            world.instances(ty).count(),
            0,
            "{ty}: roles carry only their inline policy"
        );
    }
    let functions = world.functions();
    let mut roles = BTreeSet::new();
    for access in &CONTRACT {
        let name = access.function;
        let function = functions[name];
        let role = world.follow(
            &world.string(function, &["role"]),
            "aws_iam_role",
            "arn",
            name,
        );
        assert!(
            roles.insert(role.id.clone()),
            "{name}: role shared with another function"
        );
        for key in ["managed_policy_arns", "inline_policy"] {
            assert!(
                attr(role.body, key).is_none(),
                "{}: {key} is not expected",
                role.id
            );
        }

        // Only Lambda assumes the role.
        let trust_doc = world.follow(
            &world.string(role, &["assume_role_policy"]),
            "aws_iam_policy_document",
            "json",
            name,
        );
        let trust: Vec<&Body> = blocks(trust_doc.body, "statement").collect();
        assert!(!trust.is_empty(), "{name}: the role has a trust policy");
        for statement in trust {
            let principals = block(statement, "principals").expect("a trust principal");
            assert_eq!(
                world.eval_in(trust_doc, principals, "type"),
                Some(Value::from("Service"))
            );
            assert_eq!(
                strings(world.eval_in(trust_doc, principals, "identifiers"), name),
                ["lambda.amazonaws.com"]
            );
            assert_eq!(
                strings(world.eval_in(trust_doc, statement, "actions"), name),
                ["sts:AssumeRole"]
            );
        }

        // Everything the role's policies allow.
        let mut statements = Vec::new();
        for policy in world.instances("aws_iam_role_policy") {
            let target = world.string(policy, &["role"]);
            if world.resolve(&target).is_some_and(|(i, _)| i.id == role.id) {
                statements.extend(world.statements(&world.string(policy, &["policy"]), name));
            }
        }
        let grants = world.grants(&statements, name);

        let mut streams: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        if let Some(trigger) = access.trigger {
            streams.insert(trigger.to_owned(), set(&KINESIS_READ));
        }
        for stream in access.writes {
            streams
                .entry((*stream).to_owned())
                .or_default()
                .extend(set(&KINESIS_WRITE));
        }
        assert_eq!(grants.streams, streams, "{name}: streams");

        let tables: BTreeMap<String, BTreeSet<String>> = access
            .tables
            .iter()
            .map(|(t, mode)| ((*t).to_owned(), table_actions(*mode)))
            .collect();
        assert_eq!(grants.tables, tables, "{name}: tables");

        let queues: BTreeMap<Id, BTreeSet<String>> = world
            .instances("aws_lambda_event_source_mapping")
            .filter(|m| world.function_of(m) == name)
            .map(|m| {
                let arn = world.string(m, &["destination_config", "on_failure", "destination_arn"]);
                let queue = world.follow(&arn, "aws_sqs_queue", "arn", name);
                (queue.id.clone(), set(&["sqs:SendMessage"]))
            })
            .collect();
        assert_eq!(
            queues.len(),
            usize::from(access.trigger.is_some()),
            "{name}: queues"
        );
        assert_eq!(grants.queues, queues, "{name}: dead-letter queue");

        let group = world.follow(
            &world.string(function, &["logging_config", "log_group"]),
            "aws_cloudwatch_log_group",
            "name",
            name,
        );
        assert_eq!(
            grants.log_streams,
            BTreeMap::from([(group.id.clone(), set(&LOGS_WRITE))]),
            "{name}: logs only to its own group"
        );
        assert_eq!(grants.kms, set(&KMS_USE), "{name}: the deployment key");
        assert_eq!(
            grants.unscoped,
            set(&XRAY_UPLOAD),
            "{name}: only X-Ray, which has no resource-level permissions, on \"*\""
        );
    }
}
