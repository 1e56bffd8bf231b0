use serde_json::{Value, json};
use tailor_core::contract::Contract;
use tailor_core::decode::{self, Limits};
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::event::ValidEvent;
use tailor_core::ports::Table;
use tailor_tests::{event, generated, spawn_pipeline};

fn view(id: &str) -> Value {
    event(
        id,
        "content_view",
        "2026-11-20T10:00:00Z",
        json!({"user_id": "u-1"}),
        json!({"content_id": "c-1", "category": "guides"}),
    )
}

#[test]
fn dead_letters_keep_the_original_bytes_and_the_reason() {
    let mut p = spawn_pipeline();
    let broken = br#"{"event_id": "evt-broken-01", "event_type": "login""#.to_vec();
    let outcome = p.send_raw(std::slice::from_ref(&broken));
    assert_eq!(
        outcome.dispositions[0].1,
        Disposition::DeadLettered {
            reason: DeadLetterReason::MalformedJson
        }
    );
    let letters = p.table(Table::DeadLetters);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].1["reason"], "malformed_json");
    assert_eq!(
        letters[0].1["payload"].as_str().unwrap().as_bytes(),
        broken.as_slice()
    );
}

#[test]
fn a_repeated_delivery_is_acknowledged_and_applied_once() {
    let mut p = spawn_pipeline();
    let first = p.send(&[view("evt-view-dup1")]);
    let second = p.send(&[view("evt-view-dup1")]);
    assert_eq!(first.dispositions[0].1, Disposition::ACCEPTED);
    assert_eq!(second.dispositions[0].1, Disposition::DUPLICATE);
    let in_batch = p.send(&[view("evt-view-dup2"), view("evt-view-dup2")]);
    assert_eq!(in_batch.dispositions[1].1, Disposition::DUPLICATE);
    let profile = tailor_core::identity::profile_of_user("u-1");
    assert_eq!(
        p.features(&profile).unwrap()["features"]["count_24h.content_view"]["value"],
        json!(2.0)
    );
}

#[test]
fn every_record_of_a_messy_stream_ends_in_exactly_one_disposition() {
    let mut p = spawn_pipeline();
    let lines = generated(60, 7, 11);
    let mut dispositions = 0;
    for chunk in lines.chunks(50) {
        dispositions += p.send_raw(chunk).dispositions.len();
    }
    assert_eq!(dispositions, lines.len());
    let r = p.report.function("ingest");
    assert_eq!(r.records_in, lines.len() as u64);
    assert_eq!(
        r.accepted + r.duplicates + r.dead_lettered_total() + r.retried,
        r.records_in
    );
    assert!(r.duplicates > 0 && r.dead_lettered_total() > 0, "{r:?}");
    assert_eq!(
        p.table(Table::DeadLetters).len() as u64,
        r.dead_lettered_total()
    );
    assert_eq!(p.report.unresolved, 0);
}

#[test]
fn schema_and_types_agree_on_every_line_of_a_generated_stream() {
    let contract = Contract::global().unwrap();
    let mut invalid = 0;
    for line in generated(150, 14, 5) {
        let schema = decode::decode(&line, Limits::default())
            .map(|d| contract.violations(&d).is_empty())
            .unwrap_or(false);
        let types = decode::decode(&line, Limits::default())
            .ok()
            .and_then(|d| ValidEvent::parse(d).ok())
            .is_some();
        assert_eq!(schema, types, "{}", String::from_utf8_lossy(&line));
        invalid += u32::from(!schema);
    }
    assert!(invalid > 0, "the stream includes broken records");
}
