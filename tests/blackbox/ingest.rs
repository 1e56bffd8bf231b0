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

/// The letters of a table, without the daily volume items beside them.
fn letters(p: &tailor_tests::PipelineHandle) -> Vec<(String, Value)> {
    p.table(Table::DeadLetters)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("volume/"))
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn prefix_of(letter: &Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(letter["prefix"].as_str().unwrap())
        .unwrap()
}

#[test]
fn dead_letters_of_bytes_naming_no_readable_subject_keep_their_digest_never_their_bytes() {
    let mut p = spawn_pipeline();
    // Cut short: it names a person, but nothing here can tell whom, so
    // nothing could seal it for them.
    let broken = br#"{"event_id": "evt-broken-01", "event_type": "login", "subject": {"user_id": "u-broken"}"#.to_vec();
    let outcome = p.send_raw(std::slice::from_ref(&broken));
    assert_eq!(
        outcome.dispositions[0].1,
        Disposition::DeadLettered {
            reason: DeadLetterReason::MalformedJson
        }
    );
    let letters = letters(&p);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].1["reason"], "malformed_json");
    assert!(prefix_of(&letters[0].1).is_empty());
    assert!(letters[0].1.get("sealed").is_none());
    assert!(
        letters[0].1["detail"]
            .as_str()
            .unwrap()
            .starts_with("malformed JSON")
    );
    assert_eq!(letters[0].1["length"], json!(broken.len()));
    assert_eq!(letters[0].1["sha256"], json!(sha256_hex(&broken)));
    let all = serde_json::to_string(&p.table(Table::DeadLetters)).unwrap();
    assert!(!all.contains("u-broken"), "{all}");
}

#[test]
fn oversize_bodies_keep_their_length_and_digest_only() {
    let mut p = spawn_pipeline();
    let bodies: Vec<Vec<u8>> = (1..=5_u8).map(|b| vec![b; 2_000_000]).collect();
    let outcome = p.send_raw(&bodies);
    assert!(outcome.dispositions.iter().all(|(_, d)| *d
        == Disposition::DeadLettered {
            reason: DeadLetterReason::TooLarge
        }));
    let letters = letters(&p);
    assert_eq!(letters.len(), 5);
    let stored: usize = letters
        .iter()
        .map(|(k, v)| k.len() + serde_json::to_vec(v).unwrap().len())
        .sum();
    assert!(stored < 5 * 1024, "{stored} bytes stored");
    for (_, letter) in &letters {
        assert!(
            bodies
                .iter()
                .any(|b| letter["sha256"] == json!(sha256_hex(b))),
            "each letter is of one body"
        );
        assert!(prefix_of(letter).is_empty());
        assert_eq!(letter["length"], json!(2_000_000));
    }
}

#[test]
fn a_functions_dead_letters_of_a_day_stay_within_its_budget() {
    use tailor_core::dead_letter::{DeadLetter, key, volume_key};
    let p = spawn_pipeline();
    let store = p.pipeline.store();
    let tokens = tailor_tests::test_key();
    let tables = tailor_core::tables::Tables::new(store, p.pipeline.policy(), &tokens);
    let at = tailor_core::Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let reasons: Vec<DeadLetterReason> = (0..6_u8)
        .map(|i| {
            let payload = vec![b'a' + i; 10_000];
            let letter = DeadLetter::new(
                "ingest",
                DeadLetterReason::MalformedJson,
                "bad",
                &payload,
                at,
            );
            let key = key("ingest", DeadLetterReason::MalformedJson, &payload);
            runtime
                .block_on(tables.keep_dead_letter_within(40_000, letter, &key))
                .unwrap()
        })
        .collect();
    // About 13.5 KB each: two fit in 40 KB... the rest are counted, not kept.
    let kept = reasons
        .iter()
        .filter(|r| **r == DeadLetterReason::MalformedJson)
        .count();
    assert!((2..=3).contains(&kept), "{reasons:?}");
    assert!(
        reasons[kept..]
            .iter()
            .all(|r| *r == DeadLetterReason::VolumeExceeded)
    );
    let volume = p
        .table(Table::DeadLetters)
        .into_iter()
        .find(|(k, _)| *k == volume_key("ingest", at))
        .unwrap()
        .1;
    assert_eq!(volume["letters"], json!(kept));
    assert_eq!(volume["refused"]["malformed_json"], json!(6 - kept));
    assert!(volume["bytes"].as_u64().unwrap() <= 40_000);
    assert_eq!(letters(&p).len(), kept);
}

/// Junk naming made-up people, past the day's budget: each refused record
/// writes only a count, never a subject key for whoever it names.
#[test]
fn records_refused_for_volume_write_nothing_but_a_count() {
    let mut p = spawn_pipeline();
    let padding = "x".repeat(60_000);
    let junk: Vec<Value> = (0..200)
        .map(|i| {
            let mut e = view(&format!("evt-junk-{i:04}"));
            e["subject"] = json!({"user_id": format!("made-up-{i}")});
            // Breaks the contract, so every one is a dead letter about its person.
            e["properties"]["padding"] = json!(padding);
            e
        })
        .collect();
    let mut refused = 0;
    for chunk in junk.chunks(20) {
        refused += p
            .send(chunk)
            .dispositions
            .iter()
            .filter(|(_, d)| {
                *d == Disposition::DeadLettered {
                    reason: DeadLetterReason::VolumeExceeded,
                }
            })
            .count();
    }
    let kept = letters(&p).len();
    assert!(refused > 0 && kept > 0, "{kept} kept, {refused} refused");
    assert_eq!(kept + refused, junk.len());
    // One subject key per letter kept (each names its own person; a key
    // is stored by its profile and by its id), none for the rest.
    assert_eq!(p.table(Table::Subjects).len(), 2 * kept);
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

/// A replay receives each record at its own time, but items expire by the
/// latest time seen: an old record's ledger entry lives its retention from
/// when it was processed, so its repeat is still a duplicate.
#[test]
fn an_old_record_replayed_late_is_still_recognised_when_repeated() {
    let mut p = spawn_pipeline();
    let mut old = view("evt-view-old1");
    old["occurred_at"] = json!("2026-11-01T10:00:00Z");
    old["sent_at"] = json!("2026-11-01T10:00:00Z");
    // The clock moves to the 20th first.
    assert_eq!(
        p.send(&[view("evt-view-new1")]).dispositions[0].1,
        Disposition::ACCEPTED
    );
    assert_eq!(
        p.send(&[old.clone()]).dispositions[0].1,
        Disposition::ACCEPTED
    );
    assert_eq!(
        p.send(&[old]).dispositions[0].1,
        Disposition::DUPLICATE,
        "the ledger entry of a record processed on the 20th lives from the 20th"
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
    assert_eq!(letters(&p).len() as u64, r.dead_lettered_total());
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
