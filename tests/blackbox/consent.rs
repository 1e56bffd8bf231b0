use serde_json::{Value, json};
use tailor_core::identity::profile_of_user;
use tailor_core::ports::Table;
use tailor_tests::{event, spawn_pipeline};

fn view(id: &str, at: &str) -> Value {
    event(
        id,
        "content_view",
        at,
        json!({"anonymous_id": "a-3", "user_id": "u-3"}),
        json!({"content_id": "c-1", "category": "guides"}),
    )
}

fn change(id: &str, at: &str, action: &str, purposes: &[&str]) -> Value {
    let mut e = event(
        id,
        "consent_change",
        at,
        json!({"user_id": "u-3"}),
        json!({"action": action, "purposes": purposes, "source": "settings", "policy_version": "v2"}),
    );
    e["consent"]["purposes"] = json!([]);
    e
}

#[test]
fn revoking_personalization_deletes_features_and_records_completion() {
    let mut p = spawn_pipeline();
    p.send(&[
        view("evt-view-0301", "2026-11-20T09:00:00Z"),
        view("evt-view-0302", "2026-11-20T09:05:00Z"),
    ]);
    assert!(p.features(&profile_of_user("u-3")).is_some());
    p.send(&[change(
        "evt-revoke-03",
        "2026-11-20T10:00:00Z",
        "revoke",
        &["personalization"],
    )]);
    assert!(p.features(&profile_of_user("u-3")).is_none());
    assert!(p.table(Table::FeatureInputs).is_empty());
    let audit = p.table(Table::Audit);
    let (_, completion) = audit
        .iter()
        .find(|(k, _)| k == "consent/evt-revoke-03")
        .expect("completion record");
    assert_eq!(completion["action"], "revoke");
    assert_eq!(completion["steps"]["feature_inputs_deleted"], json!(2));
    // A late event from before the revocation stays out.
    p.send(&[view("evt-view-0303", "2026-11-20T09:30:00Z")]);
    assert!(p.table(Table::FeatureInputs).is_empty());
    let blocks = p.report.function("features").policy_blocks;
    assert_eq!(
        blocks.get("features-stop-after-revocation"),
        Some(&1),
        "{blocks:?}"
    );
}

#[test]
fn a_later_event_whose_own_consent_grants_personalization_counts_again() {
    let mut p = spawn_pipeline();
    p.send(&[change(
        "evt-revoke-04",
        "2026-11-20T10:00:00Z",
        "revoke",
        &["personalization"],
    )]);
    p.send(&[view("evt-view-0401", "2026-11-20T11:00:00Z")]);
    let f = p.features(&profile_of_user("u-3")).unwrap();
    assert_eq!(f["features"]["count_24h.content_view"]["value"], json!(1.0));
}

#[test]
fn erasure_unlinks_identity_deletes_features_and_keeps_late_events_out() {
    let mut p = spawn_pipeline();
    p.send(&[
        event(
            "evt-login-0501",
            "login",
            "2026-11-20T08:00:00Z",
            json!({"anonymous_id": "a-3", "user_id": "u-3"}),
            json!({"method": "password"}),
        ),
        view("evt-view-0501", "2026-11-20T09:00:00Z"),
    ]);
    assert!(!p.table(Table::Identity).is_empty());
    p.send(&[change(
        "evt-erase-0501",
        "2026-11-20T10:00:00Z",
        "erase",
        &[],
    )]);
    assert!(
        p.table(Table::Identity).is_empty(),
        "{:?}",
        p.table(Table::Identity)
    );
    assert!(p.table(Table::FeatureInputs).is_empty());
    assert!(p.features(&profile_of_user("u-3")).is_none());
    let tombstones = p.table(Table::Tombstones);
    assert_eq!(tombstones.len(), 2, "one per key: user and anonymous");
    p.send(&[view("evt-view-0502", "2026-11-20T09:30:00Z")]);
    assert!(
        p.table(Table::FeatureInputs).is_empty(),
        "late data about an erased person stays out"
    );
    let audit = p.table(Table::Audit);
    let (_, completion) = audit
        .iter()
        .find(|(k, _)| k == "consent/evt-erase-0501")
        .unwrap();
    assert_eq!(completion["steps"]["identity_keys_unlinked"], json!(2));
}

#[test]
fn every_stored_item_expires() {
    let mut p = spawn_pipeline();
    p.send_batches(&tailor_tests::generated(40, 7, 3), 100);
    for table in Table::ALL {
        for (key, item) in p.pipeline.store().scan(table).unwrap() {
            assert!(
                item.expires_at.as_millis() < i64::MAX / 2,
                "{table:?} {key} never expires"
            );
        }
    }
}

#[test]
fn a_reused_event_id_for_another_request_is_dead_lettered_as_a_conflict() {
    let mut p = spawn_pipeline();
    let first = change(
        "evt-reused-0001",
        "2026-11-20T12:00:00Z",
        "erase",
        &["personalization"],
    );
    assert_eq!(
        p.send(std::slice::from_ref(&first)).dispositions[0].1,
        tailor_core::disposition::Disposition::ACCEPTED
    );
    // The same id from another tool of the same kind, for another person:
    // ingest's ledger knows the id and tells the two apart.
    let mut other = first.clone();
    other["source"]["name"] = json!("other-tool");
    other["subject"] = json!({"user_id": "u-someone-else"});
    p.send(&[other.clone()]);
    // The same id from another kind of producer passes ingest's ledger
    // (ids are scoped by producer kind); consent tells the two apart.
    other["source"]["kind"] = json!("support");
    p.send(&[other]);
    let reused: Vec<String> = p
        .table(Table::DeadLetters)
        .into_iter()
        .filter(|(_, l)| l["reason"] == "event_id_reused")
        .map(|(_, l)| l["function"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        reused,
        vec!["consent".to_owned(), "ingest".to_owned()],
        "one conflict each"
    );
    // The first request again is a plain repeat.
    let again = p.send(&[first]);
    assert_eq!(
        again.dispositions[0].1,
        tailor_core::disposition::Disposition::DUPLICATE
    );
}

#[test]
fn a_backdated_erasure_removes_everything_held_and_its_tombstones_live_from_processing() {
    let mut p = spawn_pipeline();
    p.send(&[
        view("evt-view-0601", "2026-11-20T09:00:00Z"),
        view("evt-view-0602", "2026-11-20T09:05:00Z"),
    ]);
    assert!(!p.table(Table::FeatureInputs).is_empty());
    // Dated two years back (beyond the tombstone retention), sent now.
    let mut erase = change("evt-erase-0601", "2024-11-01T00:00:00Z", "erase", &[]);
    erase["sent_at"] = json!("2026-11-20T10:00:00Z");
    p.send(&[erase]);
    assert!(
        p.table(Table::FeatureInputs).is_empty(),
        "inputs dated after the request's own date are erased too"
    );
    assert!(p.features(&profile_of_user("u-3")).is_none());
    assert_eq!(
        p.table(Table::Tombstones).len(),
        1,
        "the user's tombstone is live, not expired on writing"
    );
    // A late event from before the processing stays out.
    p.send(&[view("evt-view-0603", "2026-11-20T09:30:00Z")]);
    assert!(p.table(Table::FeatureInputs).is_empty());
}

#[test]
fn a_line_dated_in_the_far_future_expires_nothing_and_is_dead_lettered() {
    let mut p = spawn_pipeline();
    p.send(&[view("evt-view-0701", "2026-11-20T09:00:00Z")]);
    p.send(&[change(
        "evt-erase-0701",
        "2026-11-20T10:00:00Z",
        "erase",
        &[],
    )]);
    // Broken or not, a line claiming the end of time moves no clock.
    let far = p.send_raw(&[
        br#"{"sent_at":"9999-12-31T23:59:59Z"}"#.to_vec(),
        serde_json::to_vec(&view("evt-view-0702", "9999-12-31T23:59:59Z")).unwrap(),
    ]);
    assert_eq!(
        far.dispositions[1].1,
        tailor_core::disposition::Disposition::DeadLettered {
            reason: tailor_core::disposition::DeadLetterReason::FutureDated
        }
    );
    assert_eq!(
        p.table(Table::Tombstones).len(),
        1,
        "the tombstone is still live"
    );
    // The late event from before the erasure is still kept out, and a
    // repeat of an accepted event is still a repeat.
    p.send(&[view("evt-view-0703", "2026-11-20T09:30:00Z")]);
    assert!(p.table(Table::FeatureInputs).is_empty());
    let again = p.send(&[view("evt-view-0701", "2026-11-20T09:00:00Z")]);
    assert_eq!(
        again.dispositions[0].1,
        tailor_core::disposition::Disposition::DUPLICATE
    );
}

/// Read units a counted batch billed on `table` (DynamoDB's count).
fn read_units(billed: &[(Table, Vec<(&'static str, u64)>)], table: Table) -> u64 {
    billed
        .iter()
        .filter(|(t, _)| *t == table)
        .flat_map(|(_, units)| units)
        .filter(|(unit, _)| *unit == "dynamodb_read_units")
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn tombstones_that_cannot_exist_are_not_read_and_an_erased_persons_are() {
    let mut p = tailor_tests::spawn_counting_cloud_units();
    p.send(&[view("evt-view-0901", "2026-11-20T09:00:00Z")]);
    p.send(&[change(
        "evt-erase-0901",
        "2026-11-20T10:00:00Z",
        "erase",
        &[],
    )]);
    let _ = p.pipeline.store().take_billed_by_table();

    // Twenty other people, two keys each: enrich reads the index shards
    // their 40 keys fall in (at most 16), not their tombstones; features
    // reads each profile's one key's directly (a read either way), and
    // again once it has written the profile's first state, to find an
    // erasure that read before the write.
    let others: Vec<Value> = (0..20)
        .map(|i| {
            event(
                &format!("evt-other-{i:02}"),
                "content_view",
                "2026-11-20T11:00:00Z",
                json!({"anonymous_id": format!("a-o{i}"), "user_id": format!("u-o{i}")}),
                json!({"content_id": "c-1", "category": "guides"}),
            )
        })
        .collect();
    p.send(&others);
    let billed = p.pipeline.store().take_billed_by_table();
    assert!(read_units(&billed, Table::Tombstones) <= 40, "{billed:?}");
    let shards = read_units(&billed, Table::ErasureIndex);
    assert!((1..=16).contains(&shards), "{billed:?}");
    assert_eq!(
        p.table(Table::FeatureInputs).len(),
        20,
        "each other person's inputs"
    );

    // The erased person's late event: their keys are listed, their
    // tombstones read, and the event kept out.
    p.send(&[view("evt-view-0902", "2026-11-20T09:30:00Z")]);
    let billed = p.pipeline.store().take_billed_by_table();
    assert!(read_units(&billed, Table::Tombstones) > 0, "{billed:?}");
    let kept: Vec<String> = p
        .table(Table::FeatureInputs)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.ends_with(":u-3") || k.ends_with(":a-3"))
        .collect();
    assert!(kept.is_empty(), "{kept:?}");
}
