//! Tests of the functions: runtime, logs, triggers, Function URL and
//! environment.

use std::collections::{BTreeMap, BTreeSet};

use hcl::{Map, Value};

use crate::contract::{CONTRACT, FUNCTIONS, SLOW_LANE, set};
use crate::load::{load, strings};
use crate::world::{Instance, World};

#[test]
fn every_function_is_a_provided_al2023_arm64_lambda() {
    let module = load();
    let world = World::new(&module);
    let functions = world.functions();
    // The five functions, and the slow lane's job beside them.
    let mut expected = set(&FUNCTIONS);
    expected.insert(SLOW_LANE.to_owned());
    assert_eq!(functions.keys().cloned().collect::<BTreeSet<_>>(), expected);
    let log_groups: BTreeMap<String, &Instance<'_>> = world
        .instances("aws_cloudwatch_log_group")
        .map(|g| (world.string(g, &["name"]), g))
        .collect();
    for (name, f) in &functions {
        assert_eq!(world.string(f, &["runtime"]), "provided.al2023", "{name}");
        assert_eq!(world.string(f, &["handler"]), "bootstrap", "{name}");
        assert_eq!(
            strings(world.eval(f, &["architectures"]), name),
            ["arm64"],
            "{name}"
        );
        assert_eq!(
            world.string(f, &["tracing_config", "mode"]),
            "Active",
            "{name}"
        );
        assert_eq!(
            world.string(f, &["logging_config", "log_format"]),
            "JSON",
            "{name}"
        );
        assert!(
            world.is_kms_key(&world.string(f, &["kms_key_arn"])),
            "{name}: environment encrypted with the deployment key"
        );
        // Logs go to the function's own group, encrypted and bounded.
        let group_name = world.string(f, &["logging_config", "log_group"]);
        let group = world.follow(&group_name, "aws_cloudwatch_log_group", "name", name);
        let full_name = format!("{}-{name}", world.deployment_name());
        assert_eq!(
            log_groups
                .get(&format!("/aws/lambda/{full_name}"))
                .map(|g| &g.id),
            Some(&group.id),
            "{name}: log group /aws/lambda/{full_name}"
        );
        assert!(
            world.is_kms_key(&world.string(group, &["kms_key_id"])),
            "{name}: log group key"
        );
        assert!(
            world.eval(group, &["retention_in_days"]).is_some(),
            "{name}: log retention"
        );
    }
}

#[test]
fn stream_functions_consume_their_trigger_with_partial_batch_failures() {
    let module = load();
    let world = World::new(&module);
    let mut seen = BTreeMap::new();
    let mut queues = BTreeSet::new();
    for mapping in world.instances("aws_lambda_event_source_mapping") {
        let function = world.function_of(mapping);
        let source = world.string(mapping, &["event_source_arn"]);
        let stream = world.follow(&source, "aws_kinesis_stream", "arn", &function);
        let stream = world.logical(stream, &["name"]);
        assert!(
            seen.insert(function.clone(), stream).is_none(),
            "{function} has two event source mappings"
        );

        let at = format!("{} ({function})", mapping.id);
        assert_eq!(
            strings(world.eval(mapping, &["function_response_types"]), &at),
            ["ReportBatchItemFailures"],
            "{at}"
        );
        assert_eq!(
            world.eval(mapping, &["bisect_batch_on_function_error"]),
            Some(Value::Bool(true)),
            "{at}"
        );
        assert_eq!(
            world.string(mapping, &["starting_position"]),
            "TRIM_HORIZON",
            "{at}"
        );
        world.assert_bounded(mapping, "maximum_retry_attempts", 0, 10_000);
        world.assert_bounded(mapping, "maximum_record_age_in_seconds", 60, 604_800);

        let destination = world.string(
            mapping,
            &["destination_config", "on_failure", "destination_arn"],
        );
        let queue = world.follow(&destination, "aws_sqs_queue", "arn", &at);
        assert!(
            queues.insert(queue.id.clone()),
            "{at}: dead-letter queue shared"
        );
        assert!(
            world.is_kms_key(&world.string(queue, &["kms_master_key_id"])),
            "{at}: queue encrypted with the deployment key"
        );
        assert_eq!(
            world.eval(queue, &["message_retention_seconds"]),
            Some(Value::from(1_209_600)),
            "{at}: queue keeps messages 14 days"
        );
    }
    let expected: BTreeMap<String, String> = CONTRACT
        .iter()
        .filter_map(|a| a.trigger.map(|t| (a.function.to_owned(), t.to_owned())))
        .collect();
    assert_eq!(seen, expected, "function -> trigger stream");
}

#[test]
fn score_has_an_iam_authenticated_function_url() {
    let module = load();
    let world = World::new(&module);
    let urls: Vec<_> = world.instances("aws_lambda_function_url").collect();
    assert_eq!(urls.len(), 1, "exactly one Function URL");
    assert_eq!(world.function_of(urls[0]), "score");
    assert_eq!(world.string(urls[0], &["authorization_type"]), "AWS_IAM");
    // The one resource policy lets the slow lane's schedule invoke its job
    // (the_slow_lane_job_runs_on_its_schedule_within_one_invocation).
    for permission in world.instances("aws_lambda_permission") {
        assert_eq!(
            world.function_of(permission),
            SLOW_LANE,
            "no resource policy opens a function to other principals"
        );
    }
}

#[test]
fn the_slow_lane_job_runs_on_its_schedule_within_one_invocation() {
    let module = load();
    let world = World::new(&module);
    let functions = world.functions();
    let name = SLOW_LANE;
    let job = functions[name];
    // The whole offline log in one run: Lambda's longest timeout.
    assert_eq!(
        world.eval(job, &["timeout"]),
        Some(Value::from(900)),
        "{name}: timeout"
    );

    let rules: Vec<_> = world.instances("aws_cloudwatch_event_rule").collect();
    assert_eq!(rules.len(), 1, "one schedule");
    let rule = rules[0];
    let schedule = world.string(rule, &["schedule_expression"]);
    assert!(
        schedule.starts_with("cron(") || schedule.starts_with("rate("),
        "{name}: schedule {schedule:?}"
    );
    let targets: Vec<_> = world.instances("aws_cloudwatch_event_target").collect();
    assert_eq!(targets.len(), 1, "one target of the schedule");
    let target = targets[0];
    assert_eq!(
        world
            .follow(
                &world.string(target, &["rule"]),
                "aws_cloudwatch_event_rule",
                "name",
                name
            )
            .id,
        rule.id,
        "{name}: target of its schedule"
    );
    assert_eq!(
        world
            .follow(
                &world.string(target, &["arn"]),
                "aws_lambda_function",
                "arn",
                name
            )
            .id,
        job.id,
        "{name}: the schedule invokes the job"
    );

    // Only its schedule may invoke it.
    let permissions: Vec<_> = world.instances("aws_lambda_permission").collect();
    assert_eq!(permissions.len(), 1, "one resource policy");
    let permission = permissions[0];
    assert_eq!(world.function_of(permission), name);
    assert_eq!(
        world.string(permission, &["principal"]),
        "events.amazonaws.com"
    );
    assert_eq!(
        world.string(permission, &["action"]),
        "lambda:InvokeFunction"
    );
    assert_eq!(
        world
            .follow(
                &world.string(permission, &["source_arn"]),
                "aws_cloudwatch_event_rule",
                "arn",
                name
            )
            .id,
        rule.id,
        "{name}: invoked by its schedule alone"
    );

    // Failed runs: bounded retries, then its own encrypted queue.
    let configs: Vec<_> = world
        .instances("aws_lambda_function_event_invoke_config")
        .collect();
    assert_eq!(configs.len(), 1, "one asynchronous invocation config");
    let config = configs[0];
    assert_eq!(world.function_of(config), name);
    world.assert_bounded(config, "maximum_retry_attempts", 0, 2);
    let destination = world.string(config, &["destination_config", "on_failure", "destination"]);
    let queue = world.follow(&destination, "aws_sqs_queue", "arn", name);
    assert!(
        world.is_kms_key(&world.string(queue, &["kms_master_key_id"])),
        "{name}: queue encrypted with the deployment key"
    );
    assert_eq!(
        world.eval(queue, &["message_retention_seconds"]),
        Some(Value::from(1_209_600)),
        "{name}: queue keeps messages 14 days"
    );
    assert!(
        world
            .instances("aws_lambda_event_source_mapping")
            .all(
                |m| world.string(m, &["destination_config", "on_failure", "destination_arn"])
                    != destination
            ),
        "{name}: dead-letter queue shared with a stream function"
    );
}

#[test]
fn functions_get_the_environment_their_binaries_read() {
    let module = load();
    let world = World::new(&module);
    let functions = world.functions();
    let stream_name = |env: &Map<String, Value>, key: &str, function: &str| -> String {
        let value = env
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{function}: {key} is not set"));
        let stream = world.follow(value, "aws_kinesis_stream", "name", function);
        world.logical(stream, &["name"])
    };
    for (name, f) in &functions {
        let env = match world.eval(f, &["environment", "variables"]) {
            Some(Value::Object(env)) => env,
            other => panic!("{name}: environment variables are {other:?}"),
        };
        let get = |key: &str| env.get(key).and_then(Value::as_str).map(str::to_owned);
        assert_eq!(
            get("TAILOR_TABLE_PREFIX").as_deref(),
            Some(world.deployment_name()),
            "{name}: tables are named <prefix>-<table>"
        );
        assert_eq!(get("TAILOR_LOG"), Some("info".to_owned()), "{name}");
        // Every function reads or writes erasure tombstones, which are kept
        // under keyed tokens made with this key: all need the same one.
        assert_eq!(
            get("TAILOR_TOKEN_KEY").as_deref(),
            Some("var.token_key"),
            "{name}: token key"
        );
        // Every function checks the destinations it holds against the
        // policy at start-up; ingest and score refuse the events and
        // requests of regions approved for any other.
        assert_eq!(
            get("TAILOR_DESTINATIONS").as_deref(),
            Some(r#"join(",", var.destinations)"#),
            "{name}: the destinations the deployment holds"
        );
        // Without a policy_overlay (the default) the variable is not set,
        // and the function applies the central policy bundle alone.
        assert_eq!(
            get("TAILOR_POLICY_OVERLAY"),
            None,
            "{name}: no policy overlay unless the deployment names one"
        );
        let layers = strings(world.eval(f, &["layers"]), name);
        match name.as_str() {
            "ingest" => {
                assert_eq!(
                    stream_name(&env, "TAILOR_STREAM_INGESTED", name),
                    "ingested"
                );
            }
            "enrich" => {
                assert_eq!(
                    stream_name(&env, "TAILOR_STREAM_ENRICHED", name),
                    "enriched"
                );
                assert_eq!(
                    stream_name(&env, "TAILOR_STREAM_CONSENT_CHANGES", name),
                    "consent-changes"
                );
            }
            // The slow lane's job starts as score does.
            "score" | SLOW_LANE => {
                assert_eq!(
                    get("ORT_DYLIB_PATH").as_deref(),
                    Some("/opt/lib/libonnxruntime.so"),
                    "{name}"
                );
                assert_eq!(
                    get("TAILOR_MODEL_DIR").as_deref(),
                    Some("/var/task/models/conversion-v1"),
                    "{name}"
                );
                assert_eq!(get("TAILOR_ENGINE").as_deref(), Some("auto"), "{name}");
                assert_eq!(
                    get("TAILOR_STORE_BUDGET_MS").as_deref(),
                    Some("50"),
                    "{name}"
                );
                assert_eq!(layers.len(), 1, "{name} ships ONNX Runtime in one layer");
                let layer = world.follow(&layers[0], "aws_lambda_layer_version", "arn", name);
                assert_eq!(
                    strings(world.eval(layer, &["compatible_architectures"]), name),
                    ["arm64"]
                );
                assert_eq!(
                    strings(world.eval(layer, &["compatible_runtimes"]), name),
                    ["provided.al2023"]
                );
                if name == SLOW_LANE {
                    let bucket = get("TAILOR_OFFLINE_LOG_BUCKET")
                        .unwrap_or_else(|| panic!("{name}: TAILOR_OFFLINE_LOG_BUCKET is not set"));
                    world.follow(&bucket, "aws_s3_bucket", "id", name);
                    assert_eq!(
                        get("TAILOR_OFFLINE_LOG_PREFIX").as_deref(),
                        Some("enriched/"),
                        "{name}: the offline log's prefix"
                    );
                }
            }
            _ => {}
        }
        if name != "score" && name != SLOW_LANE {
            assert!(layers.is_empty(), "{name}: no layers");
        }
    }
}
