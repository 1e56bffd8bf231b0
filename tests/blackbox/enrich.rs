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
