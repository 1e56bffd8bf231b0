//! Residency: a deployment holds only its destinations. An event or a
//! decision for a region approved for another is refused, and nothing of
//! it — not even a dead letter's bytes — is kept here.

use serde_json::json;
use tailor_core::Timestamp;
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::event::Purpose;
use tailor_core::policy::Residency;
use tailor_core::ports::Table;
use tailor_core::score::{DecisionRequest, Fallback};
use tailor_runtime::{ClockMode, Function};
use tailor_tests::{event, settings, spawn_with};

fn eu_only() -> tailor_tests::PipelineHandle {
    let mut s = settings(ClockMode::Arrival);
    s.residency = Residency::only(["eu-central".to_owned()]);
    spawn_with(&s, &Function::ALL)
}

fn view(id: &str, region: &str, user: &str) -> serde_json::Value {
    let mut e = event(
        id,
        "content_view",
        "2026-11-20T10:00:00Z",
        json!({"user_id": user, "anonymous_id": format!("anon-{user}")}),
        json!({"content_id": "c-1", "category": "guides"}),
    );
    e["region"] = json!(region);
    e
}

#[test]
fn an_event_of_another_regions_destination_is_refused_and_nothing_of_it_kept() {
    let mut p = eu_only();
    let out = p.send(&[
        view("evt-res-us-0001", "us", "usr-in-us-zq"),
        view("evt-res-eu-0001", "eu", "usr-in-eu-zq"),
    ]);
    assert_eq!(
        out.dispositions[0].1,
        Disposition::DeadLettered {
            reason: DeadLetterReason::OutOfRegion
        }
    );
    assert_eq!(out.dispositions[1].1, Disposition::ACCEPTED);
    for table in Table::ALL {
        for (key, item) in p.pipeline.store().scan(table).unwrap() {
            let text = format!("{key} {}", String::from_utf8_lossy(&item.value));
            assert!(!text.contains("usr-in-us-zq"), "{table:?}: {text}");
        }
    }
    let letter = p
        .table(Table::DeadLetters)
        .into_iter()
        .find(|(_, l)| l["reason"] == "out_of_region")
        .map(|(_, l)| l)
        .expect("the refusal is accounted for");
    assert_eq!(letter["withheld"], true);
    assert_eq!(letter["prefix"], "");
    assert!(letter.get("sealed").is_none(), "{letter}");
    assert!(letter["length"].as_u64().unwrap() > 0);
    assert!(
        !p.table(Table::FeatureInputs).is_empty(),
        "the held region's event is processed"
    );
}

#[test]
fn a_decision_for_another_regions_destination_reads_and_keeps_nothing() {
    let p = eu_only();
    let request = |region: &str| DecisionRequest {
        profile: "user:usr-in-us-zq".into(),
        purpose: Purpose::Marketing,
        placement: "offer".into(),
        region: region.into(),
        consent: Purpose::ALL.to_vec(),
        adult: true,
        context: Default::default(),
    };
    let now = Timestamp::parse("2026-11-20T11:00:00Z").unwrap();
    let record = p.decide(&request("us"), now);
    assert_eq!(record.fallback, Some(Fallback::OutOfRegion));
    assert_eq!(record.profile_id, "");
    assert!(
        record
            .policy
            .iter()
            .any(|d| d.action == "route" && !d.allowed)
    );
    assert!(p.table(Table::Decisions).is_empty(), "not logged here");
    assert!(p.table(Table::Subjects).is_empty(), "no key made for them");
    // A region nobody approved is refused too.
    let unknown = p.decide(&request("mars"), now);
    assert_eq!(unknown.fallback, Some(Fallback::OutOfRegion));
    // The held region is decided and logged as before.
    let held = p.decide(&request("eu"), now);
    assert_ne!(held.fallback, Some(Fallback::OutOfRegion));
    assert_eq!(p.table(Table::Decisions).len(), 1);
}

#[test]
fn a_destination_the_policy_does_not_know_stops_start_up() {
    let mut s = settings(ClockMode::Arrival);
    s.residency = Residency::only(["eu-centrall".to_owned()]);
    let err = tailor_local::LocalPlatform::open(None, &s, &Function::ALL).unwrap_err();
    assert!(err.to_string().contains("eu-centrall"), "{err}");
}

/// Residency is decided before anything is kept, however the region is
/// spelled: a deployment that holds only the EU's destination keeps no
/// more than a digest of a record for another region — misspelled, in
/// another case or width, a sub-region, or unknown — whatever else is
/// wrong with it.
#[test]
fn a_region_not_held_keeps_only_a_digest_however_it_is_spelled() {
    let mut p = eu_only();
    let spellings = [
        "US",
        "Us",
        "us ",
        "\u{ff55}\u{ff53}",
        "us-east-2",
        "mars",
        "",
    ];
    let events: Vec<serde_json::Value> = spellings
        .iter()
        .enumerate()
        .map(|(i, region)| {
            view(
                &format!("evt-spell-{i:04}"),
                region,
                &format!("usr-spelt{i}-zq"),
            )
        })
        .collect();
    let out = p.send(&events);
    assert!(
        out.dispositions
            .iter()
            .all(|(_, d)| matches!(d, Disposition::DeadLettered { .. })),
        "{:?}",
        out.dispositions
    );
    for (key, letter) in p.table(Table::DeadLetters) {
        if key.starts_with("volume/") {
            continue;
        }
        assert_eq!(letter["withheld"], true, "{key}: {letter}");
        assert_eq!(letter["prefix"], "", "{key}");
        assert!(letter.get("sealed").is_none(), "{key}: {letter}");
    }
    for table in Table::ALL {
        let text = serde_json::to_string(&p.table(table)).unwrap();
        assert!(!text.contains("usr-spelt"), "{table:?}: {text}");
    }
    assert!(p.table(Table::Subjects).is_empty(), "no key made for them");
    // The held region, spelled otherwise, is still the EU's: its
    // contract error is kept, sealed for the person.
    let out = p.send(&[view("evt-spell-eu01", "EU", "usr-in-eu-spelt")]);
    assert!(matches!(
        out.dispositions[0].1,
        Disposition::DeadLettered { .. }
    ));
    let kept = p
        .table(Table::DeadLetters)
        .into_iter()
        .any(|(_, l)| l.get("sealed").is_some());
    assert!(kept, "a record of a held region is kept, sealed");
}
