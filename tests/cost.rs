//! The check every platform's tests run on the cost records its functions
//! log: each parses, names its platform and function, and is priced by the
//! price book the build carries, except for exactly the items that book
//! has not yet sourced, which the record names as its reason (never a
//! zero).

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "test kit: a failure fails the test loudly"
)]

use serde_json::Value;
use tailor_runtime::cost::{CostRecord, Money, Platform, PriceBook};

/// Price items the price book the build carries does not hold yet (see
/// `infra/prices/README.md`): a record that needs one is logged unpriced,
/// naming it. A new reading that sources one makes the tests say so.
pub const NOT_YET_SOURCED: [&str; 8] = [
    "cloud_run.requests",
    "dynamodb.on_demand.read_units",
    "dynamodb.on_demand.write_units",
    "firestore.deletes",
    "firestore.reads",
    "firestore.writes",
    "kinesis.on_demand.ingest",
    "kinesis.on_demand.retrieval",
];

/// Regions the price book the build carries holds no price for yet.
pub const NOT_YET_SOURCED_REGIONS: [&str; 1] = ["spinkube/aws-us-east-1"];

/// Checks one logged cost record (`record`: the record's JSON) of
/// `function` on `platform`, and returns it.
pub fn check(record: &Value, platform: Platform, function: &str) -> CostRecord {
    let record: CostRecord = serde_json::from_value(record.clone())
        .unwrap_or_else(|e| panic!("a cost record parses ({e}): {record}"));
    assert_eq!(record.platform, platform, "{record:?}");
    assert_eq!(record.function, function, "{record:?}");
    assert!(
        !record.usage.0.is_empty(),
        "a record bills something: {record:?}"
    );
    let book = PriceBook::default_book().unwrap();
    let Ok(items) = book.region(&record.region) else {
        assert!(
            NOT_YET_SOURCED_REGIONS.contains(&record.region.as_str()),
            "{} is neither in the price book nor known to be missing from it",
            record.region
        );
        let why = record.unpriced.as_deref().unwrap_or_default();
        assert!(why.contains(&record.region), "unpriced for {why:?}");
        assert_eq!(record.total, None, "an unpriced record has no total");
        return record;
    };
    let missing: Vec<&str> = record
        .usage
        .0
        .keys()
        .map(String::as_str)
        .filter(|item| !items.contains_key(*item))
        .collect();
    for item in &missing {
        assert!(
            NOT_YET_SOURCED.contains(item),
            "{item} is neither in the price book nor known to be missing from it"
        );
    }
    match (&record.unpriced, missing.first()) {
        (None, None) => {
            let total = record.total.expect("a priced record has a total");
            let lines: Money = record.lines.iter().map(|l| l.cost).sum();
            assert_eq!(lines, total, "the total is the sum of the lines");
            assert!(total > Money::ZERO, "{record:?}");
        }
        (Some(why), Some(first)) => {
            assert!(why.contains(first), "unpriced for {why}, not for {first}");
            assert_eq!(record.total, None, "an unpriced record has no total");
        }
        (why, first) => panic!("unpriced: {why:?}, missing from the book: {first:?}"),
    }
    // What the book does hold prices, and at more than nothing.
    let mut priced = record.clone();
    priced
        .usage
        .0
        .retain(|item, _| !missing.contains(&item.as_str()));
    if !priced.usage.0.is_empty() {
        let priced = priced.price(&book).unwrap();
        for line in &priced.lines {
            assert!(line.cost > Money::ZERO, "{} priced at zero", line.item);
        }
    }
    record
}
