//! `tailor estimate`: what a described workload would cost a month on each
//! platform, at one or more event rates, from a measured run.
//!
//! The run (see `measure`) counts, for every store and stream call, what
//! each cloud would bill for it, by the formulas the cloud adapters count
//! with (a test on each cloud adapter shows the counts agree). Each rate's
//! month is then modelled on AWS, Google Cloud and Spin
//! (`tailor_cost::estimate`, whose assumptions every output states) and
//! priced line by line; a line the price book cannot price is shown with
//! its quantity, and no platform is called cheapest unless every
//! platform's month was priced whole.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;
use tailor_cost::estimate::{self, ASSUMPTIONS, Estimate, Workload};
use tailor_cost::{Decimal, Money, Platform};

use super::page::{COLOURS, escape, items, page};
use super::sweep::ArchArg;

/// `tailor estimate`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    measure: super::measure::Measure,
    /// Event rates to estimate a month at, events a second.
    #[arg(long, value_delimiter = ',', default_value = "10,1000,100000")]
    events_per_second: Vec<Decimal>,
    /// Decisions a second, at every rate.
    #[arg(long, default_value = "0")]
    decisions_per_second: Decimal,
    /// Memory of every function, in MB (Lambda) or MiB (Cloud Run).
    #[arg(long, default_value_t = 512)]
    memory_mb: u32,
    /// Lambda's architecture.
    #[arg(long, value_enum, default_value = "arm64")]
    arch: ArchArg,
    /// Cloud Run's vCPUs per instance.
    #[arg(long, default_value = "1")]
    vcpu: Decimal,
    /// Records per Lambda invocation at most (the event source's batch size).
    #[arg(long, default_value_t = 100)]
    lambda_batch: u32,
    /// Time an invocation waits on stores and streams, in milliseconds.
    #[arg(long, default_value = "0")]
    wait_ms: Decimal,
    /// People whose state is kept: adds the state's storage, as large per
    /// person as the measured run's.
    #[arg(long)]
    people: Option<u64>,
    /// How long the streams keep records, in hours (Kinesis bills past 24).
    #[arg(long, default_value_t = 24)]
    stream_retention_hours: u32,
    /// How long the functions' logs are kept, in days (the Terraform
    /// modules' default is 30; Cloud Logging bills the days past 30).
    #[arg(long, default_value_t = 30)]
    log_retention_days: u32,
    /// How long the offline log keeps events, in days (the Terraform
    /// module's default is 30); the slow lane's daily job reads them all.
    #[arg(long, default_value_t = 30)]
    offline_log_retention_days: u32,
    /// Memory of the slow lane's job, in MB (the Terraform module's
    /// default is 1,024).
    #[arg(long, default_value_t = 1_024)]
    slow_lane_memory_mb: u32,
    /// The price book's AWS region.
    #[arg(long, default_value = "aws/us-east-1")]
    aws_region: String,
    /// The price book's Google Cloud region.
    #[arg(long, default_value = "gcp/us-central1")]
    gcp_region: String,
    /// The price book's SpinKube region.
    #[arg(long, default_value = "spinkube/aws-us-east-1")]
    spin_region: String,
    /// A reading of the price book; the one this build carries by default.
    #[arg(long)]
    book: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Write an HTML report here: at every rate, each platform's priced
    /// month stacked by price item, and the priced months against the rate.
    #[arg(long)]
    html: Option<PathBuf>,
}

/// The whole output.
#[derive(Debug, Serialize)]
struct Output {
    measured: super::measure::Run,
    workload: Workload,
    assumptions: Vec<&'static str>,
    book: String,
    currency: String,
    estimates: Vec<Estimate>,
}

/// Runs the command.
///
/// # Errors
/// The stream cannot be read, the platform fails, or a rate is out of range.
pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let book = super::cost::book(args.book.as_deref())?;
    let measured = super::measure::run(&args.measure).await?;
    let mut workload = Workload {
        events_per_second: Decimal::ZERO,
        decisions_per_second: args.decisions_per_second,
        memory_mb: args.memory_mb,
        arch: args.arch.into(),
        milli_vcpu: u32::try_from(args.vcpu.at_scale(3)?).context("--vcpu is too large")?,
        batch: args.lambda_batch,
        wait_us: u64::try_from(args.wait_ms.at_scale(3)?).context("--wait-ms is too large")?,
        regions: BTreeMap::from([
            (Platform::Aws, args.aws_region.clone()),
            (Platform::Gcp, args.gcp_region.clone()),
            (Platform::Spin, args.spin_region.clone()),
        ]),
        people: args.people,
        stream_retention_hours: args.stream_retention_hours,
        log_retention_days: args.log_retention_days,
        offline_log_retention_days: args.offline_log_retention_days,
        slow_lane_memory_mb: args.slow_lane_memory_mb,
    };
    let mut estimates = Vec::new();
    for rate in &args.events_per_second {
        workload.events_per_second = *rate;
        estimates.push(estimate::estimate(&book, &measured.measured, &workload)?);
    }
    let output = Output {
        measured,
        workload,
        assumptions: ASSUMPTIONS.to_vec(),
        book: book.version.clone(),
        currency: book.currency.clone(),
        estimates,
    };
    if let Some(path) = &args.html {
        std::fs::write(path, html(&output))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&output)?)?;
    } else {
        write!(out, "{}", table(&output))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn money(m: Money) -> String {
    m.fixed(2)
}

fn table(output: &Output) -> String {
    let mut out = String::new();
    let m = &output.measured;
    let _ = writeln!(
        out,
        "measured on {} ({} records, {} events ingested) through the local platform",
        m.source, m.records, m.measured.events
    );
    for e in &output.estimates {
        let _ = writeln!(
            out,
            "\na month at {} events and {} decisions a second:",
            e.events_per_second, e.decisions_per_second
        );
        for p in &e.platforms {
            let _ = writeln!(
                out,
                "  {:<9} {:>14} {}{}{}",
                p.platform.book_name(),
                money(p.priced_total),
                output.currency,
                if p.complete() {
                    String::new()
                } else {
                    format!(" and {} lines not priced", p.unpriced.len())
                },
                p.largest
                    .as_ref()
                    .map_or_else(String::new, |item| format!("; most of it {item}"))
            );
            for line in &p.lines {
                let _ = writeln!(out, "      {:<34} {:>14}", line.item, money(line.cost));
            }
            for u in &p.unpriced {
                let _ = writeln!(
                    out,
                    "      {:<34} {:>14}  not priced: {} (quantity {})",
                    u.item, "-", u.why, u.quantity
                );
            }
            for note in &p.notes {
                let _ = writeln!(out, "      note: {note}");
            }
        }
        let _ = writeln!(
            out,
            "  cheapest: {}",
            e.cheapest.map_or_else(
                || "not known until every platform's lines are priced".to_owned(),
                |p| p.book_name().to_owned()
            )
        );
    }
    let _ = writeln!(out, "\nprices: book {} ({})", output.book, output.currency);
    for a in &output.assumptions {
        let _ = writeln!(out, "assumed: {a}");
    }
    out
}

/// The report: what was measured, the priced months as charts (each
/// segment's and point's exact amount in its `data-cost`), the lines not
/// priced with their quantities, and the assumptions.
fn html(output: &Output) -> String {
    let unpriced: usize = output
        .estimates
        .iter()
        .flat_map(|e| &e.platforms)
        .map(|p| p.unpriced.len())
        .sum();
    let mut sections = String::new();
    for e in &output.estimates {
        let _ = write!(
            sections,
            "<h2>A month at {} events and {} decisions a second</h2>\n{}\n{}{}",
            e.events_per_second,
            e.decisions_per_second,
            stacked(e),
            not_priced(e),
            notes(e)
        );
    }
    let assumptions = items(output.assumptions.iter().copied());
    let m = &output.measured;
    let body = format!(
        r#"<p>Measured on {source} ({records} records, {events} events ingested) through the local platform, priced with the price book of {book} ({currency}). {priced}</p>
<h2>The priced month against the event rate</h2>
{projection}
{sections}
<h2>How this is modelled</h2>
<ul>{assumptions}</ul>"#,
        source = escape(&m.source),
        records = m.records,
        events = m.measured.events,
        book = escape(&output.book),
        currency = escape(&output.currency),
        priced = if unpriced == 0 {
            "Every line is priced.".to_owned()
        } else {
            format!(
                "<strong>{unpriced} lines are not priced</strong> (the price book lacks them; each is listed with its quantity): the charts show the priced lines only, and no platform is called cheapest."
            )
        },
        projection = projection(output),
    );
    page(
        "a month on each platform",
        "A month on each platform",
        "td:first-child,th:first-child",
        &body,
    )
}

/// Each platform's priced month at one rate: a bar stacked by price item.
fn stacked(e: &Estimate) -> String {
    let mut items: Vec<&str> = e
        .platforms
        .iter()
        .flat_map(|p| p.lines.iter().map(|l| l.item.as_str()))
        .collect();
    items.sort_unstable();
    items.dedup();
    let most = e
        .platforms
        .iter()
        .map(|p| p.priced_total.femto())
        .max()
        .unwrap_or(0)
        .max(1);
    // Bars from `top` down to `base`; the legend below, two columns.
    let (bar, gap, top, base) = (80_usize, 60_usize, 30_usize, 270_usize);
    let height = base - top;
    let legend_rows = items.len().div_ceil(2);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{}" role="img" aria-label="the priced month by platform, stacked by price item, at {} events a second">"#,
        base + 40 + legend_rows * 18,
        e.events_per_second
    );
    for (i, p) in e.platforms.iter().enumerate() {
        let x = 60 + i * (bar + gap);
        let mut y = base;
        for line in &p.lines {
            let h = usize::try_from(line.cost.femto() * i128::try_from(height).unwrap_or(1) / most)
                .unwrap_or(0);
            y = y.saturating_sub(h);
            let colour = items
                .iter()
                .position(|item| *item == line.item)
                .map_or(COLOURS[0], |k| COLOURS[k % COLOURS.len()]);
            let _ = write!(
                svg,
                r#"<rect class="segment" x="{x}" y="{y}" width="{bar}" height="{h}" fill="{colour}" data-platform="{}" data-rate="{}" data-item="{}" data-cost="{}"><title>{} {}: {}</title></rect>"#,
                p.platform.name(),
                e.events_per_second,
                escape(&line.item),
                line.cost,
                p.platform.name(),
                escape(&line.item),
                money(line.cost)
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="12">{}</text><text x="{}" y="{}" text-anchor="middle" font-size="14">{}{}</text>"#,
            x + bar / 2,
            y.saturating_sub(6).max(12),
            money(p.priced_total),
            x + bar / 2,
            base + 20,
            p.platform.name(),
            if p.complete() { "" } else { " (part)" }
        );
    }
    for (k, item) in items.iter().enumerate() {
        let (column, row) = (k % 2, k / 2);
        let _ = write!(
            svg,
            r#"<rect x="{}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
            60 + column * 280,
            base + 30 + row * 18,
            COLOURS[k % COLOURS.len()],
            76 + column * 280,
            base + 40 + row * 18,
            escape(item)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The lines of one rate the book could not price, with their quantities.
fn not_priced(e: &Estimate) -> String {
    let mut rows = String::new();
    for p in &e.platforms {
        for u in &p.unpriced {
            let _ = write!(
                rows,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                p.platform.name(),
                escape(&u.item),
                u.quantity,
                escape(&u.why)
            );
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h3>Not priced</h3><table><tr><th>platform</th><th>item</th><th>quantity</th><th>why</th></tr>{rows}</table>"
    )
}

/// What a platform's month would not survive as deployed, if anything.
fn notes(e: &Estimate) -> String {
    let notes: Vec<String> = e
        .platforms
        .iter()
        .flat_map(|p| {
            p.notes
                .iter()
                .map(move |n| format!("{}: {n}", p.platform.name()))
        })
        .collect();
    if notes.is_empty() {
        return String::new();
    }
    format!(
        "<h3>Notes</h3><ul>{}</ul>",
        items(notes.iter().map(String::as_str))
    )
}

/// Nothing priced sits this far below the smallest power of ten shown.
const ZERO_BELOW: usize = 18;

/// Where an amount sits on the projection's scale, from `base` (the
/// smallest power of ten shown) up to `top` (the largest): a logarithmic
/// scale, since the rates span orders of magnitude. Nothing priced sits
/// on a row of its own below it.
fn log_y(amount: Money, decades: (i32, i32), top: usize, base: usize) -> usize {
    let value = amount.femto() as f64 / 1e15;
    if value <= 0.0 {
        return base + ZERO_BELOW;
    }
    decade_y(value.log10(), decades, top, base)
}

/// Where `log10` of an amount sits between `base` (the lowest power of
/// ten of `decades`) and `top` (the highest).
fn decade_y(log10: f64, decades: (i32, i32), top: usize, base: usize) -> usize {
    let (low, high) = decades;
    let span = f64::from((high - low).max(1));
    let share = ((log10 - f64::from(low)) / span).clamp(0.0, 1.0);
    base - (share * (base - top) as f64).round() as usize
}

/// Each platform's priced month against the event rate: a line per
/// platform through a point per rate (the rates evenly spaced, in the
/// order given; amounts on a logarithmic scale, a gridline per power of
/// ten).
fn projection(output: &Output) -> String {
    let totals: Vec<Money> = output
        .estimates
        .iter()
        .flat_map(|e| &e.platforms)
        .map(|p| p.priced_total)
        .filter(|t| t.femto() > 0)
        .collect();
    let decade = |m: &Money| (m.femto() as f64 / 1e15).log10();
    let low = totals.iter().map(decade).fold(f64::INFINITY, f64::min);
    let high = totals.iter().map(decade).fold(f64::NEG_INFINITY, f64::max);
    let decades = if totals.is_empty() {
        (0, 1)
    } else {
        (
            low.floor() as i32,
            (high.ceil() as i32).max(low.floor() as i32 + 1),
        )
    };
    let (width, top, base, left) = (640_usize, 30_usize, 250_usize, 90_usize);
    let height = base + ZERO_BELOW;
    let step = (width - left - 40) / output.estimates.len().max(2).saturating_sub(1).max(1);
    let mut platforms: Vec<Platform> = output
        .estimates
        .iter()
        .flat_map(|e| e.platforms.iter().map(|p| p.platform))
        .collect();
    platforms.sort_unstable();
    platforms.dedup();
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{}" role="img" aria-label="the priced month of each platform against the event rate">"#,
        height + 60
    );
    let _ = write!(
        svg,
        r##"<text x="{left}" y="14" font-size="12">{} a month (priced lines), against events a second</text><text x="{}" y="{}" text-anchor="end" font-size="11">0</text>"##,
        escape(&output.currency),
        left - 6,
        base + ZERO_BELOW + 4
    );
    for power in decades.0..=decades.1 {
        let y = decade_y(f64::from(power), decades, top, base);
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end" font-size="11">{}</text>"##,
            width - 20,
            left - 6,
            y + 4,
            10_f64.powi(power)
        );
    }
    for (k, platform) in platforms.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let mut points = Vec::new();
        let mut marks = String::new();
        for (i, e) in output.estimates.iter().enumerate() {
            let Some(p) = e.platforms.iter().find(|p| p.platform == *platform) else {
                continue;
            };
            let x = left + i * step;
            let y = log_y(p.priced_total, decades, top, base);
            points.push(format!("{x},{y}"));
            let _ = write!(
                marks,
                r#"<circle class="point" cx="{x}" cy="{y}" r="4" fill="{colour}" data-platform="{}" data-rate="{}" data-cost="{}" data-complete="{}"><title>{} at {} events a second: {}{}</title></circle>"#,
                platform.name(),
                e.events_per_second,
                p.priced_total,
                p.complete(),
                platform.name(),
                e.events_per_second,
                money(p.priced_total),
                if p.complete() {
                    ""
                } else {
                    " and lines not priced"
                }
            );
        }
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>{marks}<rect x="{}" y="{}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
            points.join(" "),
            left + k * 140,
            height + 36,
            left + 16 + k * 140,
            height + 46,
            platform.name()
        );
    }
    for (i, e) in output.estimates.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="12">{}/s</text>"#,
            left + i * step,
            height + 20,
            e.events_per_second
        );
    }
    svg.push_str("</svg>");
    svg
}
