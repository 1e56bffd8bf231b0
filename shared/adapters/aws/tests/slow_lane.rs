//! The slow lane's scheduled job on AWS, against moto (S3, DynamoDB,
//! Kinesis): the enriched stream's records, laid out in S3 as Firehose
//! delivers them, are read back and every profile's lane is kept in
//! DynamoDB; a damaged line is counted, never taken as an event; an
//! erasure takes the lane, and the log, which keeps the person's events
//! until its lifecycle rule expires them, never brings it back.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use serde_json::{Value, json};
use support::pipeline::aws;
use tailor_core::disposition::Disposition;
use tailor_core::identity::profile_of_user;
use tailor_core::ports::Table;

fn lines(events: &[Value]) -> Vec<Vec<u8>> {
    events
        .iter()
        .map(|e| serde_json::to_vec(e).unwrap())
        .collect()
}

/// A shopper who ordered once and has two items in the cart.
fn shopper() -> Vec<Value> {
    let subject = json!({"anonymous_id": "a-s", "user_id": "u-s", "session_id": "s-s"});
    vec![
        tailor_tests::event(
            "evt-slow-login",
            "login",
            "2026-11-20T09:00:00Z",
            subject.clone(),
            json!({"method": "password"}),
        ),
        tailor_tests::event(
            "evt-slow-view",
            "content_view",
            "2026-11-20T09:10:00Z",
            subject.clone(),
            json!({"content_id": "c-1", "category": "guides"}),
        ),
        tailor_tests::event(
            "evt-slow-order",
            "checkout",
            "2026-11-20T09:20:00Z",
            subject.clone(),
            json!({"order_id": "o-1", "total": 80.0, "currency": "EUR", "items": 2}),
        ),
        tailor_tests::event(
            "evt-slow-cart",
            "add_to_cart",
            "2026-11-20T09:30:00Z",
            subject,
            json!({"cart_id": "k", "product_id": "p", "quantity": 2, "unit_price": 40.0, "currency": "EUR"}),
        ),
    ]
}

#[test]
fn the_job_keeps_each_profiles_lane_from_the_log_in_s3_and_an_erasure_takes_it() {
    let mut p = aws("slow-lane");
    let dispositions = p.send_lines(&lines(&shopper()));
    assert!(
        dispositions.iter().all(|d| *d == Disposition::ACCEPTED),
        "{dispositions:?}"
    );
    p.flow();
    let d = std::sync::Arc::clone(&p.deployment);
    let runtime = &p.runtime;

    // The log as Firehose lays it out: records one per line, in objects
    // by the hour; and one damaged object.
    let bucket = format!("{}-log", d.prefix);
    let sdk = runtime.block_on(support::sdk());
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let records: Vec<Vec<u8>> = runtime
        .block_on(d.all("enriched"))
        .into_iter()
        .map(|(_, _, data, _)| data)
        .collect();
    assert_eq!(records.len(), 4, "each event went on to features");
    let (first, rest) = records.split_at(2);
    runtime.block_on(async {
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        for (key, part) in [
            (
                "enriched/2026/11/20/09/offline-log-1-2026-11-20-09-00-00-a",
                first,
            ),
            (
                "enriched/2026/11/20/09/offline-log-1-2026-11-20-09-05-00-b",
                rest,
            ),
        ] {
            let body: Vec<u8> = part
                .iter()
                .flat_map(|r| r.iter().copied().chain([b'\n']))
                .collect();
            s3.put_object()
                .bucket(&bucket)
                .key(key)
                .body(body.into())
                .send()
                .await
                .unwrap();
        }
        s3.put_object()
            .bucket(&bucket)
            .key("enriched/2026/11/20/10/offline-log-1-damaged")
            .body(b"{\"not\": \"an enriched message\"}\n".to_vec().into())
            .send()
            .await
            .unwrap();
        // Firehose's failed deliveries go elsewhere; the job reads only its prefix.
        s3.put_object()
            .bucket(&bucket)
            .key("errors/processing-failed/2026/11/20/x")
            .body(b"garbage".to_vec().into())
            .send()
            .await
            .unwrap();
    });

    // The job's binary, as Lambda runs it on its schedule.
    let lambda = runtime.block_on(support::runtime::Runtime::start());
    let mut env: Vec<(&str, String)> = d.function_env();
    env.extend([
        ("TAILOR_OFFLINE_LOG_BUCKET", bucket.clone()),
        (
            "TAILOR_MODEL_DIR",
            tailor_tests::model_dir().display().to_string(),
        ),
        ("TAILOR_ENGINE", "tract".into()),
    ]);
    let job = {
        let _inside = runtime.enter();
        support::runtime::spawn(env!("CARGO_BIN_EXE_tailor-slow-lane"), &lambda, &env)
    };
    let scheduled = |time: &str| {
        json!({
            "version": "0", "id": "e-1", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": time,
            "region": "us-east-1", "resources": [], "detail": {}
        })
    };
    let summary = runtime
        .block_on(lambda.invoke(scheduled("2026-11-20T10:00:00Z")))
        .expect("the job answers");
    assert_eq!(
        (
            &summary["objects"],
            &summary["events"],
            &summary["unreadable"]
        ),
        (&json!(3), &json!(4), &json!(1)),
        "{summary}"
    );
    assert_eq!(
        (&summary["profiles"], &summary["kept"], &summary["erased"]),
        (&json!(1), &json!(1), &json!(0)),
        "{summary}"
    );
    assert!(summary["batch_scores"].as_u64() >= Some(1), "{summary}");
    assert_eq!(summary["at"], "2026-11-20T10:00:00.000Z");
    // The run's cost record, as CloudWatch takes it: what the job read and
    // wrote in DynamoDB, priced.
    let emf = job.stdout.wait_for_lines_with("_aws", 1);
    let record = tailor_tests::cost::check(
        &emf[0]["cost"],
        tailor_runtime::cost::Platform::Aws,
        "slow_lane",
    );
    assert!(
        record.usage.get("dynamodb.on_demand.write_units") > 0,
        "{record:?}"
    );
    assert!(
        record.usage.get("dynamodb.on_demand.read_units") > 0,
        "{record:?}"
    );
    assert_eq!(record.usage.get("lambda.requests"), 1);
    let lanes = runtime.block_on(d.table(Table::SlowLane));
    assert_eq!(lanes.len(), 1);
    assert_eq!(lanes[0].0, profile_of_user("u-s"));
    assert_eq!(lanes[0].1["features"]["value_lifetime"], 80.0);
    assert_eq!(lanes[0].1["features"]["orders_lifetime"], 1.0);
    assert!(
        lanes[0].1["batch"]["offer"]["score"].is_number(),
        "{}",
        lanes[0].1
    );

    // An erasure takes the lane; the log still holds the person's events,
    // and the next run keeps nothing of them.
    let mut erase = tailor_tests::event(
        "evt-slow-erase",
        "consent_change",
        "2026-11-20T11:00:00Z",
        json!({"user_id": "u-s"}),
        json!({"action": "erase", "purposes": [], "source": "settings", "policy_version": "v2"}),
    );
    erase["consent"]["purposes"] = json!([]);
    assert_eq!(p.send_lines(&lines(&[erase])), vec![Disposition::ACCEPTED]);
    p.flow();
    assert!(
        p.runtime.block_on(d.table(Table::SlowLane)).is_empty(),
        "erased: the lane went"
    );
    let again = p
        .runtime
        .block_on(lambda.invoke(scheduled("2026-11-20T12:00:00Z")))
        .expect("the job answers");
    assert_eq!(
        (&again["events"], &again["kept"]),
        (&json!(4), &json!(0)),
        "{again}"
    );
    assert!(p.runtime.block_on(d.table(Table::SlowLane)).is_empty());
}
