//! Identity resolution: deterministic links, order-insensitive ownership,
//! audited merges, and probabilistic links only behind policy.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers in test binaries fail loudly"
)]

use crate::common;

use common::{ingest, login, policy, view};
use tailor_core::identity::{
    AccountNode, AnonNode, AuditKind, IdentityView, UserNode, anon_key, profile_of_anonymous,
    profile_of_user, resolve, user_key,
};
use tailor_core::policy::{Policy, shipped};

#[test]
fn a_login_merges_the_anonymous_key_into_the_users_profile() {
    let p = policy();
    let r = resolve(
        &ingest(
            p,
            &login("evt-login-001", "2026-11-20T10:00:00Z", "a-1", "u-1"),
        ),
        &IdentityView::default(),
        p,
    );
    assert_eq!(r.profile_id, profile_of_user("u-1"));
    assert_eq!(r.anon_writes[&anon_key("a-1")].owner(), Some("u-1"));
    assert!(r.user_writes[&user_key("u-1")].anonymous.contains("a-1"));
    assert_eq!(r.audit.len(), 1);
    assert_eq!(r.audit[0].kind, AuditKind::Merge);
    assert_eq!(r.audit[0].evidence_event_id, "evt-login-001");
    assert_eq!(
        r.changed_profiles[&profile_of_anonymous("a-1")],
        Vec::<String>::new()
    );
}

#[test]
fn replaying_a_login_changes_nothing() {
    let p = policy();
    let e = ingest(
        p,
        &login("evt-login-001", "2026-11-20T10:00:00Z", "a-1", "u-1"),
    );
    let first = resolve(&e, &IdentityView::default(), p);
    let view = IdentityView {
        anon: first.anon_writes.get(&anon_key("a-1")).cloned(),
        user: first.user_writes.get(&user_key("u-1")).cloned(),
        ..IdentityView::default()
    };
    let again = resolve(&e, &view, p);
    assert!(again.anon_writes.is_empty() && again.user_writes.is_empty() && again.audit.is_empty());
}

/// Applies events one by one, carrying the nodes along like a store would.
fn replay(
    events: &[serde_json::Value],
) -> (
    AnonNode,
    std::collections::BTreeMap<String, UserNode>,
    Vec<AuditKind>,
) {
    let p = policy();
    let mut anon: Option<AnonNode> = None;
    let mut users: std::collections::BTreeMap<String, UserNode> = Default::default();
    let mut audit = Vec::new();
    for e in events {
        let ingested = ingest(p, e);
        let user = ingested.event.subject.user_id.clone().unwrap();
        let view = IdentityView {
            anon: anon.clone(),
            user: users.get(&user).cloned(),
            others: users.clone(),
            account: None::<AccountNode>,
            releasing: None,
            erased_at: None,
        };
        let r = resolve(&ingested, &view, p);
        if let Some(a) = r.anon_writes.get(&anon_key("a-1")) {
            anon = Some(a.clone());
        }
        for (k, v) in r.user_writes {
            users.insert(k.trim_start_matches("user:").to_owned(), v);
        }
        audit.extend(r.audit.iter().map(|a| a.kind));
    }
    (anon.unwrap(), users, audit)
}

#[test]
fn the_earliest_link_owns_a_key_whatever_the_arrival_order() {
    let early = login("evt-login-early", "2026-11-20T09:00:00Z", "a-1", "u-early");
    let late = login("evt-login-late", "2026-11-20T12:00:00Z", "a-1", "u-late");
    let (a1, users1, audit1) = replay(&[early.clone(), late.clone()]);
    let (a2, users2, audit2) = replay(&[late, early]);
    assert_eq!(a1.owner(), Some("u-early"));
    assert_eq!(a1, a2);
    assert_eq!(users1["u-early"].anonymous, users2["u-early"].anonymous);
    assert!(users2.get("u-late").is_none_or(|u| u.anonymous.is_empty()));
    assert_eq!(audit1, vec![AuditKind::Merge]);
    // Late evidence moved the key: an unmerge from one profile, a merge into the other.
    assert_eq!(
        audit2,
        vec![AuditKind::Merge, AuditKind::Unmerge, AuditKind::Merge]
    );
}

#[test]
fn links_older_than_an_erasure_are_ignored() {
    let p = policy();
    let e = ingest(
        p,
        &login("evt-login-001", "2026-11-20T10:00:00Z", "a-1", "u-1"),
    );
    let view = IdentityView {
        erased_at: Some(e.occurred_at.add_millis(1)),
        ..IdentityView::default()
    };
    assert!(resolve(&e, &view, p).anon_writes.is_empty());
}

#[test]
fn anonymous_events_resolve_to_the_owner_once_linked() {
    let p = policy();
    let v = ingest(
        p,
        &view("evt-view-001", "2026-11-20T08:00:00Z", Some("a-1"), None),
    );
    assert_eq!(
        resolve(&v, &IdentityView::default(), p).profile_id,
        profile_of_anonymous("a-1")
    );
    let owned = IdentityView {
        anon: Some(AnonNode {
            claims: [tailor_core::identity::Claim {
                at: v.occurred_at,
                event_id: "x".into(),
                user_id: "u-1".into(),
            }]
            .into(),
            probable: Default::default(),
        }),
        ..IdentityView::default()
    };
    let r = resolve(&v, &owned, p);
    assert_eq!(r.profile_id, profile_of_user("u-1"));
    assert_eq!(
        r.key,
        anon_key("a-1"),
        "inputs stay under the event's own key"
    );
}

fn account_event() -> serde_json::Value {
    let mut e = view("evt-view-acct", "2026-11-20T08:00:00Z", Some("a-9"), None);
    e["subject"]["account_id"] = serde_json::json!("acct-1");
    e["region"] = serde_json::json!("us");
    e
}

fn one_user_account() -> IdentityView {
    IdentityView {
        account: Some(AccountNode {
            users: ["u-1".to_owned()].into(),
            ..AccountNode::default()
        }),
        ..IdentityView::default()
    }
}

#[test]
fn probabilistic_links_are_off_by_default() {
    let p = policy();
    let r = resolve(&ingest(p, &account_event()), &one_user_account(), p);
    assert!(r.anon_writes.is_empty() && r.audit.is_empty());
}

#[test]
fn probabilistic_links_carry_confidence_evidence_expiry_and_purpose_when_policy_permits() {
    let policies = format!(
        "{}\n@id(\"probable-links-us\")\npermit (principal == Tailor::Region::\"us\", action == Tailor::Action::\"link_probabilistic\", resource == Tailor::Purpose::\"personalization\") when {{ context.confidence_pct >= 80 }};",
        shipped::POLICIES
    );
    let p: &'static Policy = Box::leak(Box::new(
        Policy::load(shipped::SCHEMA, &policies, shipped::ENTITIES).unwrap(),
    ));
    let e = ingest(p, &account_event());
    let r = resolve(&e, &one_user_account(), p);
    let link = &r.anon_writes[&anon_key("a-9")].probable["u-1"];
    assert_eq!(link.confidence_pct, 80);
    assert_eq!(link.event_id, "evt-view-acct");
    assert!(link.expires_at > e.occurred_at);
    assert_eq!(link.purpose, tailor_core::event::Purpose::Personalization);
    assert_eq!(r.audit[0].kind, AuditKind::ProbableLink);
    assert_eq!(
        r.audit[0].policies[0].policies,
        vec!["probable-links-us".to_owned()]
    );
    // A probable link never makes the key part of the user's profile.
    assert_eq!(r.profile_id, profile_of_anonymous("a-9"));
}

#[test]
fn a_late_account_claim_from_before_an_erasure_recreates_nothing() {
    let p = policy();
    let mut e = view(
        "evt-view-acct-late",
        "2026-11-20T08:00:00Z",
        None,
        Some("u-1"),
    );
    e["subject"]["account_id"] = serde_json::json!("acct-1");
    let erased = IdentityView {
        erased_at: Some(tailor_core::Timestamp::parse("2026-11-20T09:00:00Z").unwrap()),
        ..IdentityView::default()
    };
    let r = resolve(&ingest(p, &e), &erased, p);
    assert!(
        r.user_writes.is_empty() && r.account_writes.is_empty(),
        "the erased user is not written back: {r:?}"
    );
    // The same claim from after the erasure is a new fact and is kept.
    let later = resolve(&ingest(p, &e), &IdentityView::default(), p);
    assert!(later.user_writes.contains_key(&user_key("u-1")));
    assert!(later.account_writes.contains_key("acct:acct-1"));
}

#[test]
fn a_user_at_the_limit_lets_go_of_the_least_recently_claimed_key() {
    let t = tailor_core::Timestamp::from_millis;
    let node = UserNode {
        claimed: [("a-1", 30), ("a-2", 10), ("a-3", 20)]
            .into_iter()
            .map(|(a, at)| (a.to_owned(), t(at)))
            .collect(),
        ..UserNode::default()
    };
    assert_eq!(node.to_release("a-4", t(40), 4), None, "room for one more");
    assert_eq!(
        node.to_release("a-2", t(40), 3),
        None,
        "a key already claimed"
    );
    assert_eq!(node.to_release("a-4", t(40), 3).as_deref(), Some("a-2"));
    assert_eq!(
        node.to_release("a-4", t(5), 3).as_deref(),
        Some("a-4"),
        "a claim older than every kept one is itself not kept"
    );
}

#[test]
fn a_key_keeps_two_claims_per_user_however_often_they_sign_in() {
    let p = policy();
    let mut node: Option<AnonNode> = None;
    let mut user: Option<UserNode> = None;
    let mut order: Vec<u32> = (0..50).collect();
    // Any order: the earliest and the latest are kept.
    order.reverse();
    order.swap(3, 40);
    for i in order {
        let e = ingest(
            p,
            &login(
                &format!("evt-login-{i:03}"),
                &format!("2026-11-20T10:{i:02}:00Z"),
                "a-1",
                "u-1",
            ),
        );
        let view = IdentityView {
            anon: node.clone(),
            user: user.clone(),
            ..IdentityView::default()
        };
        let r = resolve(&e, &view, p);
        if let Some(n) = r.anon_writes.get(&anon_key("a-1")) {
            node = Some(n.clone());
        }
        if let Some(n) = r.user_writes.get(&user_key("u-1")) {
            user = Some(n.clone());
        }
    }
    let node = node.unwrap();
    let ids: Vec<&str> = node.claims.iter().map(|c| c.event_id.as_str()).collect();
    assert_eq!(ids, ["evt-login-000", "evt-login-049"]);
    assert_eq!(node.owner(), Some("u-1"));
    let claimed = &user.unwrap().claimed;
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        claimed["a-1"],
        node.claims.last().unwrap().at,
        "the latest claim"
    );
}

#[test]
fn claimed_lists_written_before_claim_times_still_read() {
    let node: UserNode =
        serde_json::from_str(r#"{"anonymous":["a-1"],"claimed":["a-1","a-2"]}"#).unwrap();
    assert_eq!(node.claimed.len(), 2);
    assert_eq!(node.claimed["a-2"], tailor_core::Timestamp::from_millis(0));
    let again: UserNode = serde_json::from_slice(&serde_json::to_vec(&node).unwrap()).unwrap();
    assert_eq!(again, node);
}
