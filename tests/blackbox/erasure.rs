//! Erasure leaves nothing behind: random streams of activity, consent
//! changes, decisions and erasures for several people — with shared
//! devices, account claims, broken records, reused event ids, backdated
//! erasures and late and future-dated records — then a scan of every table
//! and of the offline log finds nothing of an erased person: no identity
//! key, no profile id, no token of theirs. Their tombstones remain, under
//! keyed tokens of their keys.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::event::Purpose;
use tailor_core::identity::{profile_of_anonymous, profile_of_user};
use tailor_core::ports::Table;
use tailor_core::score::DecisionRequest;
use tailor_runtime::ClockMode;
use tailor_tests::{
    PipelineHandle, event, settings, spawn_at, spawn_pipeline_with_model, test_key,
};

const PEOPLE: usize = 4;
const DEVICES: usize = 2;

fn user(p: usize) -> String {
    format!("usr{p}zq")
}

fn anon(p: usize, d: usize) -> String {
    format!("anon{p}x{d}zq")
}

fn account(p: usize) -> String {
    format!("acct{p}zq")
}

/// Everything that identifies person `p` and that the platform can know
/// is theirs: their user id and profile; each anonymous id they own (their
/// claim is the earliest) or that their erasure names while nobody else
/// claims it, with its profile; and their account when every event naming
/// it was signed in or from such a device. A device someone else owns
/// stays theirs.
fn traces(p: usize, acts: &[(usize, Act)], fan_out: bool) -> Vec<String> {
    let key = test_key();
    let mut out = vec![
        user(p),
        profile_of_user(&user(p)),
        key.token("user_id", &user(p)),
    ];
    if fan_out && p == FAN_PERSON {
        // The fan-out devices the person still claims: each later claim
        // of another device let one more of the oldest go, and a device
        // let go is no longer theirs.
        let mut later: Vec<(usize, usize)> = acts
            .iter()
            .filter_map(|(q, a)| match a {
                Act::Login { device, on_other } if *q == p => {
                    Some((on_other.unwrap_or(p), *device))
                }
                _ => None,
            })
            .collect();
        later.sort_unstable();
        later.dedup();
        for i in (1 + later.len()).min(fan_devices())..fan_devices() {
            out.push(fan_device(i));
            out.push(key.token("anonymous_id", &fan_device(i)));
        }
    }
    let claims = |d: usize| -> Vec<usize> {
        acts.iter()
            .filter_map(|(q, a)| match a {
                Act::Login { device, on_other } if *device == d && on_other.unwrap_or(*q) == p => {
                    Some(*q)
                }
                _ => None,
            })
            .collect()
    };
    let mut devices = Vec::new();
    for d in 0..DEVICES {
        let claimants = claims(d);
        let owned = claimants.first() == Some(&p);
        let named = d == 1 && claimants.iter().all(|q| *q == p);
        if owned || named {
            devices.push(d);
            out.push(anon(p, d));
            out.push(profile_of_anonymous(&anon(p, d)));
            out.push(key.token("anonymous_id", &anon(p, d)));
        }
    }
    let account_only_with_them = acts.iter().all(|(q, a)| match a {
        Act::View {
            device,
            signed_in,
            account,
        } => *q != p || !*account || *signed_in || devices.contains(device),
        _ => true,
    });
    if account_only_with_them {
        out.push(account(p));
    }
    out
}

/// The person who, when the case has a fan-out, signs in from more
/// devices than the identity limit keeps, before anything else happens.
const FAN_PERSON: usize = 0;

/// How many devices the fan-out signs in from: one past the limit.
fn fan_devices() -> usize {
    tailor_core::policy::Policy::shipped()
        .unwrap()
        .max_anonymous_per_user()
        + 1
}

fn fan_device(i: usize) -> String {
    format!("fan{FAN_PERSON}x{i}zq")
}

/// One thing a person does before the erasures.
#[derive(Debug, Clone)]
enum Act {
    /// Views content from a device, signed in or not, naming the account or not.
    View {
        device: usize,
        signed_in: bool,
        account: bool,
    },
    /// Signs in on a device of their own, or on another person's device.
    Login {
        device: usize,
        on_other: Option<usize>,
    },
    /// Revokes or grants personalization; a delayed change reaches the
    /// platform half an hour after it was sent, with its true `sent_at`,
    /// and is delivered twice. It comes by a stream, or over HTTP
    /// ([`Route`]).
    Consent {
        grant: bool,
        delayed: bool,
        route: Route,
    },
    /// Asks for a personalization decision, naming the person by their
    /// user key, their profile id or their first device.
    Decide { form: usize },
    /// Sends a record that breaks the contract but names them.
    Broken { device: usize },
}

/// How a consent change reaches the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// A trusted stream.
    Stream,
    /// `POST /v1/events` with a key that may change consent.
    Events,
    /// `POST /v1/consent`.
    Consent,
    /// `POST /v1/events` with an `events:write` key alone: refused, and
    /// nothing of it may take effect.
    EventsWithoutScope,
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        4 => (0..DEVICES, any::<bool>(), any::<bool>())
            .prop_map(|(device, signed_in, account)| Act::View { device, signed_in, account }),
        2 => (0..DEVICES, proptest::option::of(0..PEOPLE))
            .prop_map(|(device, on_other)| Act::Login { device, on_other }),
        1 => (
            any::<bool>(),
            any::<bool>(),
            prop_oneof![
                Just(Route::Stream),
                Just(Route::Events),
                Just(Route::Consent),
                Just(Route::EventsWithoutScope),
            ],
        )
            .prop_map(|(grant, delayed, route)| Act::Consent { grant, delayed, route }),
        1 => (0..3_usize).prop_map(|form| Act::Decide { form }),
        1 => (0..DEVICES).prop_map(|device| Act::Broken { device }),
    ]
}

fn at(minute: usize) -> String {
    let t = Timestamp::parse("2026-11-20T08:00:00Z")
        .unwrap()
        .add_millis(i64::try_from(minute).unwrap() * Timestamp::MINUTE);
    t.to_string()
}

fn subject(p: usize, device: usize, signed_in: bool, with_account: bool) -> Value {
    let mut s = json!({"anonymous_id": anon(p, device), "session_id": format!("s{p}{device}")});
    if signed_in {
        s["user_id"] = json!(user(p));
    }
    if with_account {
        s["account_id"] = json!(account(p));
    }
    s
}

fn consent_change(id: &str, when: &str, p: usize, action: &str, purposes: &[&str]) -> Value {
    let mut e = event(
        id,
        "consent_change",
        when,
        json!({"user_id": user(p), "anonymous_id": anon(p, 0)}),
        json!({"action": action, "purposes": purposes, "source": "settings", "policy_version": "v2"}),
    );
    e["consent"]["purposes"] = json!([]);
    e
}

/// Whether person `p`'s latest consent change among `acts` revoked
/// personalization.
fn revoked(acts: &[(usize, Act)], p: usize) -> bool {
    acts.iter()
        .rev()
        .find_map(|(q, a)| match a {
            Act::Consent { grant, route, .. } if *q == p && *route != Route::EventsWithoutScope => {
                Some(!*grant)
            }
            _ => None,
        })
        .unwrap_or(false)
}

/// Carries out act `n` of person `p`; `before` is every act before it.
fn run_act(h: &mut PipelineHandle, n: usize, p: usize, act: &Act, before: &[(usize, Act)]) {
    let id = format!("evt-p{p}-{n}");
    let when = at(n);
    match act {
        Act::View {
            device,
            signed_in,
            account,
        } => {
            h.send(&[event(
                &id,
                "content_view",
                &when,
                subject(p, *device, *signed_in, *account),
                json!({"content_id": "c-1", "category": "guides"}),
            )]);
        }
        Act::Login { device, on_other } => {
            let device_anon = match on_other {
                Some(o) => anon(*o, *device),
                None => anon(p, *device),
            };
            h.send(&[event(
                &id,
                "login",
                &when,
                json!({"anonymous_id": device_anon, "user_id": user(p), "account_id": account(p)}),
                json!({"method": "password"}),
            )]);
        }
        Act::Consent {
            grant,
            delayed,
            route,
        } => {
            let action = if *grant { "grant" } else { "revoke" };
            let mut change = consent_change(&id, &when, p, action, &["personalization"]);
            let by_http = match route {
                Route::Stream => None,
                Route::Events => Some(("/v1/events", tailor_tests::API_KEY)),
                Route::Consent => Some(("/v1/consent", "key-consent:write")),
                Route::EventsWithoutScope => Some(("/v1/events", "key-events:write")),
            };
            if let Some((path, key)) = by_http {
                let (status, answer) = h.post(path, key, &change);
                let refused = *route == Route::EventsWithoutScope;
                assert_eq!(status, if refused { 403 } else { 202 }, "{answer}");
            } else if *delayed {
                change["sent_at"] = json!(when);
                let arrives = Timestamp::parse(&when)
                    .unwrap()
                    .add_millis(30 * Timestamp::MINUTE);
                // Delivered late, then delivered again.
                h.send_received(std::slice::from_ref(&change), arrives);
                h.send_received(&[change], arrives.add_millis(Timestamp::MINUTE));
            } else {
                h.send(&[change]);
            }
        }
        Act::Decide { form } => {
            let profile = match form {
                0 => format!("user:{}", user(p)),
                1 => profile_of_user(&user(p)),
                _ => format!("anon:{}", anon(p, 0)),
            };
            let request = DecisionRequest {
                profile,
                purpose: Purpose::Personalization,
                placement: "offer".into(),
                region: "eu".into(),
                consent: Purpose::ALL.to_vec(),
                adult: true,
                context: [("page".to_owned(), format!("home-{}", user(p)))].into(),
            };
            let record = h.decide(&request, Timestamp::parse(&when).unwrap());
            // Whoever's device it is, a person whose latest change (by the
            // time they made it) revoked personalization is not
            // personalized by their user key or profile id.
            if *form < 2 && revoked(before, p) {
                assert!(
                    record.fallback.is_some(),
                    "person {p} revoked personalization, yet {} was personalized",
                    request.profile
                );
            }
        }
        Act::Broken { device } => {
            let mut e = event(
                &id,
                "content_view",
                &when,
                subject(p, *device, true, false),
                json!({"content_id": "c-1"}),
            );
            e["properties"]["category"] = json!(42);
            h.send(&[e]);
        }
    }
}

/// Every table's keys and values, the offline log, and the raw bytes of
/// the state file (freed pages included), as text.
fn everything(
    h: &PipelineHandle,
    log: &std::path::Path,
    state: &std::path::Path,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in Table::ALL {
        for (key, item) in h.pipeline.store().scan(table).unwrap() {
            out.push((
                format!("{table:?} {key}"),
                format!("{key} {}", String::from_utf8_lossy(&item.value)),
            ));
        }
    }
    h.pipeline.flush().unwrap();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for (i, line) in text.lines().enumerate() {
        out.push((format!("offline log line {}", i + 1), line.to_owned()));
    }
    let bytes = std::fs::read(state).unwrap();
    out.push((
        "the state file's bytes".to_owned(),
        String::from_utf8_lossy(&bytes).into_owned(),
    ));
    out
}

fn check(acts: &[(usize, Act)], erased: &BTreeSet<usize>, backdate: bool, fan_out: bool) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("enriched.jsonl");
    let state = dir.path().join("state.redb");
    let mut h = spawn_at(
        Some(&state),
        &settings(ClockMode::Arrival),
        &tailor_runtime::Function::ALL,
    );
    h.pipeline.archive_enriched(&log, true).unwrap();
    if fan_out {
        // Past the identity limit: the oldest claim is let go at once.
        let start = Timestamp::parse("2026-11-20T07:00:00Z").unwrap();
        let logins: Vec<Value> = (0..fan_devices())
            .map(|i| {
                event(
                    &format!("evt-fan-{i:04}"),
                    "login",
                    &start.add_millis(i as i64 * 1_000).to_string(),
                    json!({"anonymous_id": fan_device(i), "user_id": user(FAN_PERSON)}),
                    json!({"method": "password"}),
                )
            })
            .collect();
        h.send(&logins);
    }
    for (n, (p, act)) in acts.iter().enumerate() {
        run_act(&mut h, n, *p, act, &acts[..n]);
    }
    let end = acts.len() + 10;
    // The slow lane's batch run, before the erasures (they must take what
    // it kept) and again after them (it must keep nothing of the erased),
    // each as of the platform's present.
    let slow_lane = |h: &PipelineHandle| {
        h.pipeline.flush().unwrap();
        let now = tailor_core::ports::Clock::now(h.pipeline.functions().clock());
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(tailor_local::offline::slow::run(&log, &h.pipeline, now))
            .unwrap()
    };
    let kept = slow_lane(&h).kept;
    assert_eq!(kept, h.table(Table::SlowLane).len());
    for &p in erased {
        let when = if backdate { at(0) } else { at(end) };
        let mut erase = consent_change(&format!("evt-erase-{p}"), &when, p, "erase", &[]);
        erase["subject"] = json!({"user_id": user(p), "anonymous_id": anon(p, 1)});
        erase["sent_at"] = json!(at(end));
        h.send(&[erase]);
        // Another request under the same id is refused, never carried out.
        let mut reused = consent_change(
            &format!("evt-erase-{p}"),
            &at(end),
            (p + 1) % PEOPLE,
            "erase",
            &[],
        );
        reused["source"]["kind"] = json!("support");
        h.send(&[reused]);
    }
    for &p in erased {
        // Late records from before the erasure, with every identity field,
        // and one dated far in the future.
        let late = event(
            &format!("evt-late-{p}"),
            "content_view",
            &at(1),
            subject(p, 0, true, true),
            json!({"content_id": "c-1", "category": "guides"}),
        );
        let mut login = event(
            &format!("evt-late-login-{p}"),
            "login",
            &at(2),
            subject(p, 1, true, true),
            json!({"method": "password"}),
        );
        login["sent_at"] = json!(at(end + 1));
        let mut future = late.clone();
        future["event_id"] = json!(format!("evt-future-{p}"));
        future["occurred_at"] = json!("9999-12-31T23:59:59Z");
        future["sent_at"] = json!("9999-12-31T23:59:59Z");
        h.send(&[late, login, future]);
        // A view from just before the erasure that waited in a queue, and
        // its retry: its true `sent_at`, delivered half an hour after.
        let mut waited = event(
            &format!("evt-waited-{p}"),
            "content_view",
            &at(end - 1),
            subject(p, 0, true, false),
            json!({"content_id": "c-1", "category": "guides"}),
        );
        waited["sent_at"] = json!(at(end - 1));
        let arrives = Timestamp::parse(&at(end + 30)).unwrap();
        h.send_received(std::slice::from_ref(&waited), arrives);
        h.send_received(&[waited], arrives.add_millis(Timestamp::MINUTE));
    }
    slow_lane(&h);
    let all = everything(&h, &log, &state);
    for &p in erased {
        for trace in traces(p, acts, fan_out) {
            for (place, text) in &all {
                if let Some(i) = text.find(&trace) {
                    let around: String = text
                        .chars()
                        .skip(text[..i].chars().count().saturating_sub(150))
                        .take(300)
                        .filter(|c| *c != char::REPLACEMENT_CHARACTER && *c != '\0')
                        .collect();
                    panic!("person {p} erased, but {trace} remains in {place}: …{around:?}…");
                }
            }
        }
    }
    // What remains of them is their tombstones, under keyed tokens.
    for (place, _) in &all {
        if let Some(key) = place.strip_prefix("Tombstones ") {
            assert!(key.starts_with("tok_"), "{place}");
        }
    }
    // Those not erased are still there: the scan can find what it looks for.
    for p in (0..PEOPLE).filter(|p| !erased.contains(p)) {
        // Anyone who signed in, changed consent (by a route allowed to) or
        // asked for a decision by their user key or profile id (one asked
        // by a device is that device's profile's, theirs or not).
        let seen = acts.iter().any(|(q, a)| {
            *q == p
                && matches!(
                    a,
                    Act::Login { .. }
                        | Act::Consent {
                            route: Route::Stream | Route::Events | Route::Consent,
                            ..
                        }
                        | Act::Decide { form: 0 | 1 }
                        | Act::View {
                            signed_in: true,
                            ..
                        }
                )
        });
        if seen {
            assert!(
                all.iter()
                    .any(|(_, text)| traces(p, acts, fan_out).iter().any(|t| text.contains(t))),
                "person {p} was not erased and left no trace"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn no_data_of_an_erased_person_remains_anywhere(
        acts in proptest::collection::vec((0..PEOPLE, act()), 4..30),
        erased in proptest::collection::btree_set(0..PEOPLE, 1..=PEOPLE),
        backdate in any::<bool>(),
        fan_out in any::<bool>(),
    ) {
        check(&acts, &erased, backdate, fan_out);
    }
}

fn login(id: &str, when: &str, anonymous: &str, user_id: &str) -> Value {
    event(
        id,
        "login",
        when,
        json!({"anonymous_id": anonymous, "user_id": user_id}),
        json!({"method": "password"}),
    )
}

#[test]
fn erasing_someone_who_used_another_persons_device_leaves_that_person_whole() {
    let mut h = spawn_pipeline_with_model();
    // Person 0 owns the device; person 1 signs in on it later.
    h.send(&[login("evt-own-login", &at(1), &anon(0, 0), &user(0))]);
    h.send(&[event(
        "evt-own-view",
        "content_view",
        &at(2),
        json!({"anonymous_id": anon(0, 0)}),
        json!({"content_id": "c-1", "category": "guides"}),
    )]);
    h.send(&[login("evt-borrow-login", &at(3), &anon(0, 0), &user(1))]);
    // Person 1's erasure names the device too.
    let mut erase = consent_change("evt-erase-borrower", &at(10), 1, "erase", &[]);
    erase["subject"] = json!({"user_id": user(1), "anonymous_id": anon(0, 0)});
    h.send(&[erase]);
    let identity = h.table(Table::Identity);
    let device = identity
        .iter()
        .find(|(k, _)| *k == format!("anon:{}", anon(0, 0)))
        .map(|(_, v)| v.clone())
        .expect("the owner's device is kept");
    assert!(!device.to_string().contains(&user(1)), "{device}");
    assert!(
        h.features(&profile_of_user(&user(0))).is_some(),
        "the owner's profile is untouched"
    );
    assert!(
        !identity
            .iter()
            .any(|(k, v)| k.contains(&user(1)) || v.to_string().contains(&user(1))),
        "{identity:?}"
    );
    let audit = h.table(Table::Audit);
    let (_, completion) = audit
        .iter()
        .find(|(k, _)| k == "consent/evt-erase-borrower")
        .unwrap();
    assert_eq!(
        completion["steps"]["other_identity_nodes_scrubbed"],
        json!(1)
    );
}

#[test]
fn an_export_written_before_an_erasure_loses_the_persons_rows() {
    use tailor_local::offline::purge::{EXPORTS, record_export};
    let dir = tempfile::tempdir().unwrap();
    let mut h = spawn_pipeline_with_model();
    h.pipeline.track_exports(&dir.path().join(EXPORTS));
    h.send(&[login("evt-export-login-0", &at(1), &anon(0, 0), &user(0))]);
    h.send(&[login("evt-export-login-1", &at(2), &anon(1, 0), &user(1))]);
    let csv = dir.path().join("decisions.csv");
    let (gone, kept) = (profile_of_user(&user(0)), profile_of_user(&user(1)));
    std::fs::write(
        &csv,
        format!("decision_id,profile_id,label\ndec_a,{gone},1\ndec_b,{kept},0\n"),
    )
    .unwrap();
    record_export(dir.path(), &csv).unwrap();
    record_export(dir.path(), &csv).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join(EXPORTS))
            .unwrap()
            .lines()
            .count(),
        1,
        "recorded once"
    );
    h.send(&[consent_change("evt-export-erase", &at(5), 0, "erase", &[])]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text,
        format!("decision_id,profile_id,label\ndec_b,{kept},0\n"),
        "the erased person's row went; the header and the other stayed"
    );
}
