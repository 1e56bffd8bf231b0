//! Tests of the roles: each function's role grants exactly its contracted
//! access.

use std::collections::{BTreeMap, BTreeSet};

use hcl::{Body, Value};

use crate::contract::{
    CONTRACT, KINESIS_READ, KINESIS_WRITE, KMS_USE, LOGS_WRITE, SLOW_LANE, SLOW_LANE_TABLES,
    XRAY_UPLOAD, set, table_actions,
};
use crate::load::{attr, block, blocks, load, strings};
use crate::policies::Statement;
use crate::world::{Id, Instance, World};

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
        let role = lambda_role(&world, function, name);
        assert!(
            roles.insert(role.id.clone()),
            "{name}: role shared with another function"
        );

        // Everything the role's policies allow.
        let statements = role_statements(&world, role, name);
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
        assert!(
            grants.buckets.is_empty() && grants.objects.is_empty(),
            "{name}: no S3"
        );

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

/// The role `function` runs as: assumed by Lambda alone, and carrying
/// only its inline policies.
fn lambda_role<'w, 'm>(
    world: &'w World<'m>,
    function: &Instance<'_>,
    name: &str,
) -> &'w Instance<'m> {
    let role = world.follow(
        &world.string(function, &["role"]),
        "aws_iam_role",
        "arn",
        name,
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
    role
}

/// Everything the inline policies of `role` allow.
fn role_statements(world: &World<'_>, role: &Instance<'_>, name: &str) -> Vec<Statement> {
    let mut statements = Vec::new();
    for policy in world.instances("aws_iam_role_policy") {
        let target = world.string(policy, &["role"]);
        if world.resolve(&target).is_some_and(|(i, _)| i.id == role.id) {
            statements.extend(world.statements(&world.string(policy, &["policy"]), name));
        }
    }
    statements
}

#[test]
fn the_slow_lane_job_reads_the_offline_log_and_keeps_the_lanes() {
    let module = load();
    let world = World::new(&module);
    let functions = world.functions();
    let name = SLOW_LANE;
    let job = functions[name];
    let role = lambda_role(&world, job, name);
    for (other, f) in &functions {
        if other != name {
            let theirs = world.follow(&world.string(f, &["role"]), "aws_iam_role", "arn", other);
            assert_ne!(theirs.id, role.id, "{name}: role shared with {other}");
        }
    }

    let statements = role_statements(&world, role, name);
    let grants = world.grants(&statements, name);

    assert!(grants.streams.is_empty(), "{name}: no streams");
    let tables: BTreeMap<String, BTreeSet<String>> = SLOW_LANE_TABLES
        .iter()
        .map(|(t, mode)| ((*t).to_owned(), table_actions(*mode)))
        .collect();
    assert_eq!(grants.tables, tables, "{name}: tables");

    // The offline log: the bucket listed under the log's prefix alone, and
    // the objects under it read.
    let buckets: Vec<_> = world.instances("aws_s3_bucket").collect();
    assert_eq!(buckets.len(), 1, "the offline log's bucket");
    let bucket = &buckets[0].id;
    assert_eq!(
        grants.buckets,
        BTreeMap::from([(bucket.clone(), set(&["s3:ListBucket"]))]),
        "{name}: lists the offline log's bucket"
    );
    assert_eq!(
        grants.objects,
        BTreeMap::from([(
            (bucket.clone(), "enriched/*".to_owned()),
            set(&["s3:GetObject"])
        )]),
        "{name}: reads the offline log's objects"
    );
    let listing: Vec<_> = statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a == "s3:ListBucket"))
        .collect();
    assert_eq!(listing.len(), 1, "{name}: one statement lists the bucket");
    assert_eq!(
        listing[0].conditions,
        [(
            "StringLike".to_owned(),
            "s3:prefix".to_owned(),
            vec!["enriched/*".to_owned()]
        )],
        "{name}: lists only the offline log's prefix"
    );

    let config = world
        .instances("aws_lambda_function_event_invoke_config")
        .find(|c| world.function_of(c) == name)
        .expect("the job's asynchronous invocation config");
    let arn = world.string(config, &["destination_config", "on_failure", "destination"]);
    let queue = world.follow(&arn, "aws_sqs_queue", "arn", name);
    assert_eq!(
        grants.queues,
        BTreeMap::from([(queue.id.clone(), set(&["sqs:SendMessage"]))]),
        "{name}: its dead-letter queue"
    );

    let group = world.follow(
        &world.string(job, &["logging_config", "log_group"]),
        "aws_cloudwatch_log_group",
        "name",
        name,
    );
    assert_eq!(
        grants.log_streams,
        BTreeMap::from([(group.id.clone(), set(&LOGS_WRITE))]),
        "{name}: logs only to its own group"
    );

    // The key, through the services that hold its data alone.
    assert_eq!(grants.kms, set(&KMS_USE), "{name}: the deployment key");
    let key: Vec<_> = statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("kms:")))
        .collect();
    assert_eq!(key.len(), 1, "{name}: one statement uses the key");
    assert_eq!(key[0].conditions.len(), 1, "{name}: the key's condition");
    let (test, variable, values) = &key[0].conditions[0];
    assert_eq!(
        (test.as_str(), variable.as_str()),
        ("StringEquals", "kms:ViaService"),
        "{name}: the key's condition"
    );
    let services: Vec<&str> = values
        .iter()
        .map(|v| v.split('.').next().unwrap_or_default())
        .collect();
    assert_eq!(
        services,
        ["dynamodb", "s3", "sqs"],
        "{name}: the key through DynamoDB, S3 and SQS alone"
    );

    assert_eq!(
        grants.unscoped,
        set(&XRAY_UPLOAD),
        "{name}: only X-Ray, which has no resource-level permissions, on \"*\""
    );
}
