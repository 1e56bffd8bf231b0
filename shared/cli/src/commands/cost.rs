//! `tailor cost`: what the logged invocations cost, by platform and
//! function, from the cost records every platform logs.
//!
//! It reads log files (or directories of them) as the platforms write
//! them: Lambda's Embedded Metric Format lines, Cloud Run's structured
//! entries, the JSON lines of Spin and of `tailor --log-format json`, or
//! bare records. Every record is priced again against the price book
//! (`--book`, else the one this build carries), so records logged before a
//! price was sourced are priced now. It prints a table (or JSON), writes an
//! HTML report with a chart, and with `--budget` fails when a month at
//! `--events-per-second` would cost more.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::Value;
use tailor_cost::summary::{Group, Summary};
use tailor_cost::{CostRecord, Decimal, Money, PriceBook};

use super::page::{COLOURS, escape, page};

/// `tailor cost`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Log files, or directories of them, holding cost records.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    /// A reading of the price book (`infra/prices/<date>.json`); the one
    /// this build carries by default.
    #[arg(long)]
    pub book: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write an HTML report, with a chart of where the money goes, here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// The event rate a month is projected at (events a second).
    #[arg(long)]
    pub events_per_second: Option<Decimal>,
    /// Fail (exit 1) when the month projected at `--events-per-second`
    /// costs more than this, in the book's currency.
    #[arg(long, requires = "events_per_second")]
    pub budget: Option<Decimal>,
}

/// Runs the command.
///
/// # Errors
/// A log or the book cannot be read, or a record does not parse.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let book = book(args.book.as_deref())?;
    let mut records = Vec::new();
    for path in &args.logs {
        read(path, &mut records)?;
    }
    let priced: Vec<CostRecord> = records
        .into_iter()
        .map(|r| r.priced_or_noted(&book))
        .collect();
    let summary = Summary::of(&priced, &book.version, &book.currency);
    let month = args.events_per_second.and_then(|r| summary.month_at(r));
    if args.json {
        let mut out = serde_json::to_value(&summary)?;
        out["month"] = serde_json::json!(month.map(|m| m.to_string()));
        out["per_million_events"] =
            serde_json::json!(summary.per_million_events().map(|m| m.to_string()));
        out["per_million_decisions"] =
            serde_json::json!(summary.per_million_decisions().map(|m| m.to_string()));
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", table(&summary, args.events_per_second, month));
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html(&summary, args.events_per_second, month))
            .with_context(|| path.display().to_string())?;
    }
    if let Some(budget) = args.budget {
        let budget = Money::of(budget)?;
        let Some(month) = month else {
            anyhow::bail!(
                "no projection to check against the budget: {}",
                if summary.unpriced > 0 {
                    "some invocations could not be priced"
                } else {
                    "the records carry no ingested event"
                }
            );
        };
        if month > budget {
            eprintln!(
                "tailor: a month at {} events a second costs {} {}, over the budget of {}",
                args.events_per_second.unwrap_or_default(),
                month.fixed(2),
                summary.currency,
                budget.fixed(2)
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the cost records in `path` (a file, or a directory's files).
fn read(path: &Path, records: &mut Vec<CostRecord>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for entry in entries {
            read(&entry, records)?;
        }
        return Ok(());
    }
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    for (i, line) in text.lines().enumerate() {
        if let Some(record) = record_of(line)
            .with_context(|| format!("{}:{}: a cost record", path.display(), i + 1))?
        {
            records.push(record);
        }
    }
    Ok(())
}

/// The reading of the price book at `path`, else the one this build
/// carries.
///
/// # Errors
/// The file cannot be read or is not a valid reading.
pub fn book(path: Option<&Path>) -> anyhow::Result<PriceBook> {
    Ok(match path {
        Some(path) => PriceBook::parse(
            &std::fs::read_to_string(path).with_context(|| path.display().to_string())?,
        )
        .with_context(|| path.display().to_string())?,
        None => PriceBook::default_book()?,
    })
}

/// The cost record a log line carries, if any: Lambda's and Cloud Run's
/// `cost` object, a JSON log line's `fields.cost` text, or a bare record.
///
/// # Errors
/// The line carries a cost record that does not parse.
pub fn record_of(line: &str) -> anyhow::Result<Option<CostRecord>> {
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return Ok(None);
    };
    let record = if let Some(cost) = value.get("cost").filter(|c| c.is_object()) {
        cost.clone()
    } else if let Some(text) = value["fields"]["cost"].as_str() {
        let inner: Value = serde_json::from_str(text)?;
        inner["cost"].clone()
    } else if value.get("usage").is_some() && value.get("platform").is_some() {
        value
    } else {
        return Ok(None);
    };
    Ok(Some(serde_json::from_value(record)?))
}

fn money(m: Option<Money>) -> String {
    m.map_or_else(|| "-".to_owned(), format_money)
}

/// Enough places to tell small amounts apart.
fn format_money(m: Money) -> String {
    if m.femto().unsigned_abs() >= 10_000_000_000_000 {
        m.fixed(2)
    } else {
        m.fixed(9)
    }
}

/// A function's row: platform, function, memory, invocations, records,
/// cost, per invocation, per million records, unpriced.
fn cells(g: &Group) -> [String; 9] {
    [
        g.platform.book_name().to_owned(),
        g.function.clone(),
        g.memory_mb.to_string(),
        g.invocations.to_string(),
        g.records_in.to_string(),
        format_money(g.cost),
        money(g.per_invocation()),
        money(g.per_million_records()),
        g.unpriced.values().sum::<u64>().to_string(),
    ]
}

fn table(summary: &Summary, rate: Option<Decimal>, month: Option<Money>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<9} {:<9} {:>6} {:>11} {:>10} {:>16} {:>16} {:>16} {:>9}",
        "platform",
        "function",
        "memory",
        "invocations",
        "records",
        "cost",
        "per invocation",
        "per 1M records",
        "unpriced"
    );
    for g in &summary.groups {
        let [
            platform,
            function,
            memory,
            invocations,
            records,
            cost,
            each,
            million,
            unpriced,
        ] = cells(g);
        let _ = writeln!(
            out,
            "{platform:<9} {function:<9} {memory:>6} {invocations:>11} {records:>10} {cost:>16} {each:>16} {million:>16} {unpriced:>9}"
        );
    }
    let _ = writeln!(
        out,
        "total {} {} (price book {}); {} invocations not priced",
        format_money(summary.total),
        summary.currency,
        summary.book,
        summary.unpriced
    );
    for (why, n) in reasons(summary) {
        let _ = writeln!(out, "  not priced ({n}): {why}");
    }
    if let Some(million) = summary.per_million_events() {
        let _ = writeln!(out, "per 1M events: {}", format_money(million));
    }
    if let (Some(each), Some(million)) = (summary.per_decision(), summary.per_million_decisions()) {
        let _ = writeln!(
            out,
            "{} decisions with their own cost, {} each on average, {} per 1M (each decision's in --json)",
            summary.decisions.len(),
            format_money(each),
            format_money(million)
        );
    }
    if let Some(rate) = rate {
        let _ = writeln!(
            out,
            "a month at {rate} events a second: {}",
            month.map_or_else(
                || "no projection (some invocations not priced, or no ingested event)".to_owned(),
                |m| format!("{} {}", m.fixed(2), summary.currency)
            )
        );
    }
    out
}

fn reasons(summary: &Summary) -> Vec<(String, u64)> {
    let mut all: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for g in &summary.groups {
        for (why, n) in &g.unpriced {
            *all.entry(why.clone()).or_default() += n;
        }
    }
    all.into_iter().collect()
}

/// The chart: one bar per platform, stacked by function, each segment's
/// exact cost in `data-cost`.
fn chart(summary: &Summary) -> String {
    let mut platforms: Vec<&str> = summary
        .groups
        .iter()
        .map(|g| g.platform.book_name())
        .collect();
    platforms.dedup();
    let mut functions: Vec<&str> = summary.groups.iter().map(|g| g.function.as_str()).collect();
    functions.sort_unstable();
    functions.dedup();
    let most = platforms
        .iter()
        .map(|p| {
            summary
                .groups
                .iter()
                .filter(|g| g.platform.book_name() == *p)
                .map(|g| g.cost)
                .sum::<Money>()
        })
        .max()
        .unwrap_or(Money::ZERO)
        .femto()
        .max(1);
    let (width, bar, gap, height): (usize, usize, usize, usize) = (640, 80, 40, 240);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{}" role="img" aria-label="cost by platform, stacked by function">"#,
        height + 60
    );
    for (i, platform) in platforms.iter().enumerate() {
        let x = 60 + i * (bar + gap);
        let mut y = height;
        for g in summary
            .groups
            .iter()
            .filter(|g| g.platform.book_name() == *platform)
        {
            let h = usize::try_from(g.cost.femto() * i128::try_from(height).unwrap_or(1) / most)
                .unwrap_or(0);
            y = y.saturating_sub(h);
            let colour = functions
                .iter()
                .position(|f| *f == g.function)
                .map_or(COLOURS[0], |k| COLOURS[k % COLOURS.len()]);
            let _ = write!(
                svg,
                r#"<rect class="segment" x="{x}" y="{y}" width="{bar}" height="{h}" fill="{colour}" data-platform="{}" data-function="{}" data-cost="{}"><title>{} {}: {}</title></rect>"#,
                escape(platform),
                escape(&g.function),
                g.cost,
                escape(platform),
                escape(&g.function),
                format_money(g.cost)
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="14">{}</text>"#,
            x + bar / 2,
            height + 20,
            escape(platform)
        );
    }
    for (k, f) in functions.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<rect x="{}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
            60 + k * 110,
            height + 36,
            COLOURS[k % COLOURS.len()],
            76 + k * 110,
            height + 47,
            escape(f)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn html(summary: &Summary, rate: Option<Decimal>, month: Option<Money>) -> String {
    let mut rows = String::new();
    for g in &summary.groups {
        rows.push_str("<tr>");
        for cell in cells(g) {
            let _ = write!(rows, "<td>{}</td>", escape(&cell));
        }
        rows.push_str("</tr>");
    }
    let mut notes = String::new();
    for (why, n) in reasons(summary) {
        let _ = write!(notes, "<li>{n} not priced: {}</li>", escape(&why));
    }
    let projection = rate.map_or_else(String::new, |rate| {
        format!(
            "<p>A month (730 hours) at {rate} events a second: <strong>{}</strong>.</p>",
            month.map_or_else(
                || "no projection: some invocations were not priced, or none ingested an event"
                    .to_owned(),
                |m| format!("{} {}", m.fixed(2), escape(&summary.currency))
            )
        )
    });
    let body = format!(
        r#"<p>Total of the priced invocations: <strong>{total} {currency}</strong>, priced with the price book of {book}; {unpriced} invocations could not be priced.</p>
<h2>Cost by platform, stacked by function</h2>
{chart}
<h2>By function</h2>
<table><tr><th>platform</th><th>function</th><th>memory (MB)</th><th>invocations</th><th>records</th><th>cost</th><th>per invocation</th><th>per 1M records</th><th>unpriced</th></tr>{rows}</table>
{projection}
{decisions}
<h2>How this is computed</h2>
<ul><li>Each invocation's cost record counts what it was billed for (requests, memory × billed duration with the platform's rounding, store units, stream bytes); it is priced here against the price book, at first-tier prices, without free tiers.</li><li>Per 1M records is shown only where every invocation was priced.</li>{notes}</ul>"#,
        total = format_money(summary.total),
        currency = escape(&summary.currency),
        book = escape(&summary.book),
        unpriced = summary.unpriced,
        chart = chart(summary),
        decisions = summary.per_decision().map_or_else(String::new, |each| format!(
            "<p>{} decisions carry their own cost (the request that made each): {} each on average.</p>",
            summary.decisions.len(),
            format_money(each)
        )),
    );
    page(
        "where the money goes",
        "Where the money goes",
        "td:nth-child(-n+2),th:nth-child(-n+2)",
        &body,
    )
}
