use serde_json::json;
use tailor_core::identity::{profile_of_anonymous, profile_of_user};
use tailor_core::ports::Table;
use tailor_tests::{event, spawn_pipeline};

#[test]
fn anonymous_history_joins_the_users_profile_at_login() {
    let mut p = spawn_pipeline();
    let v = |id: &str, at: &str| {
        event(
            id,
            "content_view",
            at,
            json!({"anonymous_id": "a-7"}),
            json!({"content_id": "c-1", "category": "guides"}),
        )
    };
    p.send(&[
        v("evt-anon-0001", "2026-11-20T09:00:00Z"),
        v("evt-anon-0002", "2026-11-20T09:10:00Z"),
    ]);
    assert!(p.features(&profile_of_anonymous("a-7")).is_some());
    p.send(&[event(
        "evt-login-0007",
        "login",
        "2026-11-20T09:20:00Z",
        json!({"anonymous_id": "a-7", "user_id": "u-7"}),
        json!({"method": "password"}),
    )]);
    let f = p
        .features(&profile_of_user("u-7"))
        .expect("merged profile has features");
    assert_eq!(f["features"]["count_24h.content_view"]["value"], json!(2.0));
    assert_eq!(f["features"]["count_24h.login"]["value"], json!(1.0));
    assert!(
        p.features(&profile_of_anonymous("a-7")).is_none(),
        "the anonymous profile is merged away"
    );

    let stored = p.table(Table::Audit);
    let (_, sealed) = stored
        .iter()
        .find(|(_, v)| v["kind"] == "merge")
        .expect("merge audited");
    assert!(
        !sealed.to_string().contains("a-7"),
        "whom it concerns is sealed: {sealed}"
    );
    let audit = tailor_tests::kit::opened_audit(&p.table(Table::Subjects), &stored);
    let merge = audit
        .iter()
        .find(|v| v["kind"] == "merge")
        .expect("merge audited");
    assert_eq!(merge["evidence_event_id"], "evt-login-0007");
    assert_eq!(merge["key"], "anon:a-7");
    assert_eq!(merge["profile_id"], profile_of_user("u-7"));
}

/// One user signing in from 10,000 anonymous ids: their node keeps the
/// policy's number of the most recently claimed, each one let go is
/// audited and leaves the profile, and every item written stays in bounds.
#[test]
fn a_user_with_ten_thousand_anonymous_ids_keeps_the_newest_in_bounds() {
    use tailor_core::identity::{UserNode, max_user_node_bytes};
    const IDS: usize = 10_000;
    let limit = tailor_core::policy::Policy::shipped()
        .unwrap()
        .max_anonymous_per_user();
    assert_eq!(limit, 100, "the shipped limit");
    let start = tailor_core::Timestamp::parse("2026-11-20T00:00:00Z").unwrap();
    let logins: Vec<Vec<u8>> = (0..IDS)
        .map(|i| {
            let at = start.add_millis(i as i64 * 60_000).to_string();
            let e = event(
                &format!("evt-login-{i:05}"),
                "login",
                &at,
                json!({"anonymous_id": format!("a-{i:05}"), "user_id": "u-fan"}),
                json!({"method": "password"}),
            );
            serde_json::to_vec(&e).unwrap()
        })
        .collect();
    let mut p = spawn_pipeline();
    p.send_batches(&logins, 500);

    let identity = p.table(Table::Identity);
    let node: UserNode = identity
        .iter()
        .find(|(k, _)| k == "user:u-fan")
        .map(|(_, v)| serde_json::from_value(v.clone()).unwrap())
        .expect("the user's node");
    let newest: std::collections::BTreeSet<String> =
        (IDS - limit..IDS).map(|i| format!("a-{i:05}")).collect();
    assert_eq!(node.anonymous, newest, "owns the most recently claimed");
    assert_eq!(
        node.claimed
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        newest
    );
    for (key, value) in &identity {
        let bytes = serde_json::to_vec(value).unwrap().len();
        assert!(bytes <= max_user_node_bytes(limit), "{key}: {bytes} bytes");
        if key.starts_with("anon:") && !newest.contains(&key[5..]) {
            assert!(
                value["claims"].as_array().is_none_or(Vec::is_empty),
                "{key} was let go but still names the user: {value}"
            );
        }
    }
    for table in [Table::Features, Table::FeatureInputs] {
        for (key, value) in p.table(table) {
            let bytes = serde_json::to_vec(&value).unwrap().len();
            assert!(
                bytes <= tailor_core::features::MAX_BYTES,
                "{table:?} {key}: {bytes}"
            );
        }
    }
    let audit = tailor_tests::kit::opened_audit(&p.table(Table::Subjects), &p.table(Table::Audit));
    let released: Vec<&serde_json::Value> =
        audit.iter().filter(|a| a["kind"] == "released").collect();
    assert_eq!(released.len(), IDS - limit, "each key let go is audited");
    assert!(
        released
            .iter()
            .all(|a| a["profile_id"] == profile_of_user("u-fan")
                && a["details"]["reason"] == "anonymous_limit")
    );
    assert!(
        released.iter().any(|a| a["key"] == "anon:a-00000"),
        "the least recently claimed went first"
    );
    // Features read the profile's members: the user and the keys it keeps.
    let state = p
        .table(Table::Features)
        .into_iter()
        .find(|(k, _)| *k == profile_of_user("u-fan"))
        .expect("the user's features");
    assert!(serde_json::to_vec(&state.1).unwrap().len() <= tailor_core::features::MAX_BYTES);
}
