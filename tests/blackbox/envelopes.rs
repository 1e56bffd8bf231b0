//! The platform envelope fixtures in `events/envelopes/` carry real events:
//! their payloads decode and behave as the fixtures say.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_tests::spawn_pipeline;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events/envelopes")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn decode(data: &Value) -> Vec<u8> {
    STANDARD.decode(data.as_str().unwrap()).unwrap()
}

#[test]
fn the_kinesis_batch_holds_two_good_records_and_one_contract_violation() {
    let event = fixture("kinesis-event.json");
    let records: Vec<Vec<u8>> = event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| decode(&r["kinesis"]["data"]))
        .collect();
    let outcome = spawn_pipeline().send_raw(&records);
    let dispositions: Vec<Disposition> = outcome.dispositions.into_iter().map(|(_, d)| d).collect();
    assert_eq!(
        dispositions,
        vec![
            Disposition::ACCEPTED,
            Disposition::ACCEPTED,
            Disposition::DeadLettered {
                reason: DeadLetterReason::Contract
            }
        ]
    );
}

#[test]
fn pubsub_push_and_eventarc_bodies_carry_accepted_events() {
    let push = fixture("pubsub-push.json");
    let cloud_event = fixture("eventarc-cloudevent.json");
    assert_eq!(
        cloud_event["headers"]["ce-type"],
        "google.cloud.pubsub.topic.v1.messagePublished"
    );
    let records = vec![
        decode(&push["message"]["data"]),
        decode(&cloud_event["body"]["message"]["data"]),
    ];
    let outcome = spawn_pipeline().send_raw(&records);
    assert!(
        outcome
            .dispositions
            .iter()
            .all(|(_, d)| *d == Disposition::ACCEPTED),
        "{:?}",
        outcome.dispositions
    );
}

#[test]
fn the_spin_request_body_is_json_lines_of_accepted_events() {
    let request = fixture("spin-http-request.json");
    let body = request["body"].as_str().unwrap();
    let records: Vec<Vec<u8>> = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect();
    assert_eq!(records.len(), 2);
    let outcome = spawn_pipeline().send_raw(&records);
    assert!(
        outcome
            .dispositions
            .iter()
            .all(|(_, d)| *d == Disposition::ACCEPTED),
        "{:?}",
        outcome.dispositions
    );
}
