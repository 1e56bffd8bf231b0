//! Every reading of the price book under `infra/prices/` conforms to the
//! schema beside it, parses, and prices everything the billing rules can
//! bill for in each of its regions.

#![allow(clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;
use tailor_cost::PriceBook;

fn prices() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/prices")
}

fn json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).expect("readable");
    serde_json::from_str(&text).expect("JSON")
}

/// Every dated reading (`YYYY-MM-DD.json`).
fn readings() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(prices())
        .expect("infra/prices")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| s.len() == 10 && s.as_bytes()[4] == b'-')
                && p.extension().is_some_and(|e| e == "json")
        })
        .collect();
    found.sort();
    assert!(!found.is_empty(), "at least one reading of the price book");
    found
}

/// The price book's schema, compiled.
fn validator() -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&json(&prices().join("schema.json")))
        .expect("the schema compiles")
}

#[test]
fn every_reading_conforms_to_the_schema() {
    let validator = validator();
    for path in readings() {
        let errors: Vec<String> = validator
            .iter_errors(&json(&path))
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn the_schema_refuses_what_a_book_must_not_hold() {
    let validator = validator();
    let good = json(&readings()[0]);
    let mutations: [Mutation; 4] = [
        ("a price as a float", |v| {
            let items = first_items(v);
            items["price"] = serde_json::json!(0.2);
        }),
        ("no source", |v| {
            first_items(v)
                .as_object_mut()
                .expect("item")
                .remove("source");
        }),
        ("a lower-case currency", |v| v["currency"] = "usd".into()),
        ("an unknown platform", |v| {
            let regions = v["regions"].as_object_mut().expect("regions");
            let (_, items) = regions.iter().next().expect("a region");
            let items = items.clone();
            regions.insert("azure/eastus".into(), items);
        }),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(!validator.is_valid(&bad), "the schema accepts {what}");
    }
}

/// A change that makes a book invalid, and what it is.
type Mutation = (&'static str, fn(&mut Value));

fn first_items(v: &mut Value) -> &mut Value {
    let regions = v["regions"].as_object_mut().expect("regions");
    let items = regions.values_mut().next().expect("a region");
    items
        .as_object_mut()
        .expect("items")
        .values_mut()
        .next()
        .expect("an item")
}

#[test]
fn every_reading_parses_and_the_build_carries_the_latest() {
    let all = readings();
    for path in &all {
        let text = std::fs::read_to_string(path).expect("readable");
        let book = PriceBook::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("stem");
        assert_eq!(book.version, stem, "a reading is named by its version");
    }
    let latest = all.last().expect("a reading");
    let carried = PriceBook::default_book().expect("the default book");
    let stem = latest.file_stem().and_then(|s| s.to_str()).expect("stem");
    assert_eq!(
        carried.version, stem,
        "the build carries the latest reading"
    );
}

#[test]
fn every_item_names_its_public_source_and_when_it_was_read() {
    let book = PriceBook::default_book().expect("the default book");
    for (region, items) in &book.regions {
        for (key, item) in items {
            assert!(
                item.source.starts_with("https://"),
                "{region} {key}: source {}",
                item.source
            );
            assert!(
                item.read_on.len() == 10 && item.read_on <= book.version,
                "{region} {key}: read on {} (book {})",
                item.read_on,
                book.version
            );
        }
    }
}
