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
