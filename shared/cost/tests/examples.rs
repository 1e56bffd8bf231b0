//! The providers' own worked pricing examples (`infra/prices/examples.json`,
//! transcribed from the pages each names), reproduced to the cent by the
//! billing rules and the price book. Every example in the file has a test
//! here; the expected figures are the pages', never this crate's.

#![allow(clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;
use tailor_core::report::InvocationReport;
use tailor_cost::price::{Usage, price_month};
use tailor_cost::rules::{self, Arch, Measured, Platform, Sizing};
use tailor_cost::{Decimal, PriceBook};

fn examples() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/prices/examples.json");
    let text = std::fs::read_to_string(path).expect("examples.json");
    let file: Value = serde_json::from_str(&text).expect("JSON");
    file["examples"].as_array().expect("examples").clone()
}

fn example(name: &str) -> Value {
    examples()
        .into_iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("example {name}"))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn number(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .or_else(|| v[key].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{key} in {v}"))
}

/// What the tests below reproduce: adding an example without a test fails.
const COVERED: [&str; 8] = [
    "aws-lambda-earlier-edition-example-1",
    "aws-lambda-mobile-application-backend",
    "gcp-pubsub-10-mibps-1-subscription",
    "gcp-pubsub-10-mibps-2-subscriptions",
    "gcp-pubsub-100-mibps-1-subscription",
    "gcp-pubsub-100-mibps-2-subscriptions",
    "gcp-pubsub-1-mibps-1-subscription-earlier-edition",
    "gcp-pubsub-1-mibps-2-subscriptions-earlier-edition",
];

#[test]
fn every_example_is_reproduced() {
    let mut names: Vec<String> = examples()
        .iter()
        .map(|e| text(e, "name").to_owned())
        .collect();
    names.sort();
    let mut covered: Vec<String> = COVERED.iter().map(|s| (*s).to_owned()).collect();
    covered.sort();
    assert_eq!(names, covered);
}

fn lambda(memory_mb: u32, arch: Arch) -> Sizing {
    Sizing {
        platform: Platform::Aws,
        region: "aws/us-east-1".into(),
        memory_mb,
        arch,
        milli_vcpu: 1_000,
    }
}

/// One Lambda invocation of `duration_ms`, as the rules bill it.
fn invocation(sizing: &Sizing, duration_ms: u64) -> Usage {
    let measured = Measured {
        duration_us: duration_ms * 1_000,
        ..Measured::default()
    };
    rules::usage(sizing, &InvocationReport::new("score"), &measured).expect("usage")
}

#[test]
fn lambda_earlier_edition_example_1() {
    // 512 MB, 3 million invocations of 1 s, free tiers taken off; the
    // example prints its duration price rounded ($0.00001667), so it is
    // priced with the example's own prices, in a book of them.
    let e = example("aws-lambda-earlier-edition-example-1");
    let inputs = &e["inputs"];
    let expected = &e["expected"];
    let book = PriceBook::parse(&format!(
        r#"{{"version":"2000-01-01","currency":"USD","regions":{{"aws/us-east-1":{{
          "lambda.requests":{{"price":"{requests}","per":1000000,"unit":"request","free_per_month":{free_requests},"source":"{source}","read_on":"{read}"}},
          "lambda.duration.x86_64":{{"price":"{compute}","per":1,"unit":"GB-second","free_per_month":{free_gb_s},"source":"{source}","read_on":"{read}"}}
        }}}}}}"#,
        requests = text(inputs, "request_price_per_million"),
        compute = text(inputs, "compute_price_per_gb_second"),
        free_requests = number(inputs, "free_requests"),
        free_gb_s = number(inputs, "free_gb_seconds"),
        source = text(&e, "source"),
        read = text(&e, "read_on"),
    ))
    .expect("the example's prices");
    let sizing = lambda(
        u32::try_from(number(inputs, "memory_mb")).expect("memory"),
        Arch::X86_64,
    );
    let month = invocation(&sizing, number(inputs, "duration_ms_each"))
        .times(u128::from(number(inputs, "invocations")));
    let priced = price_month(&book, "aws/us-east-1", &month, true).expect("priced");
    let line = |item: &str| {
        priced
            .lines
            .iter()
            .find(|l| l.item == item)
            .unwrap_or_else(|| panic!("a line for {item}"))
    };
    let compute = line("lambda.duration.x86_64");
    assert_eq!(
        compute.quantity.to_string(),
        text(expected, "total_compute_gb_seconds")
    );
    let billable: Decimal = text(expected, "billable_gb_seconds")
        .parse()
        .expect("decimal");
    let free: Decimal = number(inputs, "free_gb_seconds")
        .to_string()
        .parse()
        .expect("decimal");
    assert_eq!(
        billable.at_scale(6).expect("scale") + free.at_scale(6).expect("scale"),
        compute.quantity.at_scale(6).expect("scale")
    );
    assert_eq!(compute.cost.fixed(2), text(expected, "compute_charges"));
    assert_eq!(
        line("lambda.requests").cost.fixed(2),
        text(expected, "request_charges")
    );
    assert_eq!(priced.total.fixed(2), text(expected, "total"));
}

#[test]
fn lambda_mobile_application_backend() {
    // 3 million requests of 120 ms at 1,536 MB on x86: the page's total
    // compute seconds (the stored page stops there).
    let e = example("aws-lambda-mobile-application-backend");
    let inputs = &e["inputs"];
    let memory = number(inputs, "memory_mb");
    let sizing = lambda(u32::try_from(memory).expect("memory"), Arch::X86_64);
    let month = invocation(&sizing, number(inputs, "average_duration_ms"))
        .times(u128::from(number(inputs, "requests")));
    let mb_ms = month.get("lambda.duration.x86_64");
    let seconds = mb_ms / u128::from(memory) / 1_000;
    assert_eq!(
        seconds.to_string(),
        text(&e["expected"], "total_compute_seconds")
    );
    // And the book's price for it is the page's ("0.0000166667 per GB-s").
    let book = PriceBook::default_book().expect("book");
    let item = book
        .item("aws/us-east-1", "lambda.duration.x86_64")
        .expect("item");
    assert_eq!(
        item.price.to_string(),
        text(inputs, "compute_price_per_gb_second")
    );
}

#[test]
fn pubsub_pricing_table_rows() {
    // Each row: (TiB published + TiB received) a month at the book's
    // throughput price, no free tier, as the table computes it.
    let book = PriceBook::default_book().expect("book");
    for name in COVERED.iter().filter(|n| n.starts_with("gcp-pubsub")) {
        let e = example(name);
        let inputs = &e["inputs"];
        let tib = |key: &str| -> u128 {
            let d: Decimal = text(inputs, key).parse().expect("decimal");
            // Bytes: TiB × 2⁴⁰, exactly (the rows are whole or half TiB).
            d.at_scale(1).expect("scale") * (1u128 << 40) / 10
        };
        let mut month = Usage::default();
        month.add(
            "pubsub.throughput",
            tib("data_published_tib_per_month") + tib("data_received_tib_per_month"),
        );
        let priced = price_month(&book, "gcp/us-central1", &month, false).expect("priced");
        let expected: Decimal = text(&e["expected"], "pubsub_total")
            .parse()
            .expect("decimal");
        assert_eq!(
            priced.total.fixed(2),
            tailor_cost::Money::of(expected).expect("money").fixed(2),
            "{name}"
        );
    }
}
