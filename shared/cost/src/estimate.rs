//! A month on each platform, from a workload description (events and
//! decisions a second, memory, batch size) and what a measured run did:
//! each function's records, time and the units each cloud would bill for
//! them ([`crate::billing::CloudUnits`]), scaled to the month.
//!
//! The model, stated in every estimate ([`ASSUMPTIONS`]):
//!
//! - Usage per event (store and stream units, bytes, CPU time per record)
//!   is the measured run's; a month is 730 hours.
//! - AWS: each stream function is invoked by its Kinesis event source with
//!   the records one second of traffic brings (at least one, at most
//!   `batch`); its duration is its CPU time for those records at the
//!   memory size (1,769 MB is one vCPU) plus the wait; decisions are one
//!   Function URL request each. Four on-demand streams run all month
//!   (events, ingested, enriched, consent changes); producers' events
//!   enter the first as one record each.
//! - Google Cloud: every message is its own push request to a function's
//!   Cloud Run service, as is every decision. Request-based billing counts
//!   instance time in 100 ms steps: a second bills each request's 100 ms
//!   until every 100 ms has one (an upper bound, since requests arriving
//!   together share a step), or the requests' CPU time once that is more.
//!   Producers publish each event on its own.
//! - Spin on SpinKube: the functions' CPU time as a share of the nodes'
//!   vCPU-hours; the nodes a cluster keeps running whatever the load are
//!   not included.
//! - Logs: each invocation logs its report and its cost record, as large
//!   as the measured run's were in each platform's form (the platforms'
//!   own lines per request are not counted); CloudWatch Logs
//!   keeps them for the log retention (counted uncompressed: AWS bills
//!   stored logs compressed, so this is an upper bound), Cloud Logging
//!   keeps 30 days within its ingestion price and bills the days past.
//! - The slow lane on AWS ([`SLOW_LANE`]): Firehose delivers every event
//!   of the enriched stream to the offline log in S3, which keeps it for
//!   the log's retention; the job runs once a day over the whole log, one
//!   invocation, its CPU time and store units per logged event (or per
//!   person, when the workload says how many) the measured run's. Google
//!   Cloud and Spin deploy no scheduled job.
//!
//! A line the price book cannot price is listed with its quantity, never
//! priced at zero, and a platform with any such line is not compared.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::CostError;
use crate::billing::{firehose, kinesis, pubsub};
use crate::book::PriceBook;
use crate::decimal::{Decimal, Money};
use crate::price::{self, Line, Usage};
use crate::rules::platform_of;
use crate::rules::{self, Arch, Platform};
use crate::sweep;
use crate::unit::HOURS_PER_MONTH;

/// Seconds in a billing month (730 hours).
pub const SECONDS_PER_MONTH: u128 = 730 * 3_600;

/// The book's item for the log bytes CloudWatch Logs takes in.
const LOGS_IN_AWS: &str = "cloudwatch.logs.ingest";
/// The book's item for the log bytes Cloud Logging takes in.
const LOGS_IN_GCP: &str = "cloud_logging.ingest";

/// Kinesis streams an AWS deployment keeps.
pub const KINESIS_STREAMS: u128 = 4;

/// The slow lane's scheduled job, as the measured run names its part.
pub const SLOW_LANE: &str = "slow_lane";

/// Seconds between two runs of the slow lane's job (the Terraform
/// module's schedule: daily).
pub const SLOW_LANE_EVERY_S: u128 = 86_400;

/// Lambda's longest timeout, within which a run of the job must finish.
pub const LAMBDA_TIMEOUT_US: u64 = 900_000_000;

/// Bytes of memory a run of the slow lane's job holds per logged event at
/// its largest: the event as the replays keep it and its part of the
/// profiles' histories (measured by the units bench over 97,910 events,
/// docs/benchmarks.md).
pub const SLOW_LANE_HELD_BYTES_PER_EVENT: u128 = 536;

/// When Firehose writes an object of the offline log: its buffer holds
/// this many bytes, or this many seconds, whichever comes first (the
/// Terraform module's buffering hints).
pub const FIREHOSE_BUFFER_BYTES: u128 = 64 << 20;
/// See [`FIREHOSE_BUFFER_BYTES`].
pub const FIREHOSE_BUFFER_S: u128 = 300;

/// The model's assumptions, as an estimate states them.
pub const ASSUMPTIONS: [&str; 10] = [
    "usage per event (store and stream units, bytes, CPU time per record) is the measured run's; a month is 730 hours",
    "AWS: a stream function's invocation takes the records one second of traffic brings (at least one, at most the batch size); its duration is their CPU time at the memory size, 1,769 MB being one vCPU, plus the wait",
    "AWS: four on-demand Kinesis streams run all month; each producer event enters the first as one record; each decision is one Function URL request",
    "Google Cloud: every Pub/Sub message is its own push request to a function's Cloud Run service, as is every decision; request-based billing counts each request's 100 ms until every 100 ms of a second has one (an upper bound), or the requests' CPU time once that is more; producers publish each event on its own",
    "Spin: the functions' CPU time as a share of SpinKube nodes' vCPU-hours; the nodes a cluster keeps whatever the load are not included",
    "prices at the book's tiers for the month's quantities, no free tier",
    "state: the people's items as large per person as the measured run's at its end, kept all month (DynamoDB and Firestore storage by the byte-hour); Spin's SQLite is on the node's disk",
    "stream retention: past 24 hours, each stream keeps the bytes that entered it in the extra hours, all month",
    "logs: each invocation logs its report and its cost record, as large as the measured run's in each platform's form (the platforms' own lines per request, such as Lambda's START, END and REPORT, are not counted); CloudWatch Logs stores them for the log retention, counted uncompressed (an upper bound: AWS bills stored logs compressed); Cloud Logging bills retention past 30 days",
    "the slow lane (AWS): Firehose takes in each enriched event rounded up to 5 KB and reads it from the stream; the offline log keeps the events of its retention in S3, one object per 64 MiB or 300 s; the job runs once a day over the whole log in one invocation at its own memory size, with the measured run's CPU time and store units per logged event (per person, when the workload gives the people), one GET per object, holding 536 bytes per logged event at its largest; Google Cloud and Spin run no scheduled job",
];

/// Days of retention Cloud Logging includes in its ingestion price.
pub const CLOUD_LOGGING_INCLUDED_DAYS: u32 = 30;

/// What a measured run did in one function.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FunctionRun {
    /// The function.
    pub function: String,
    /// Records it took in (decisions, for score).
    pub records_in: u64,
    /// Bytes of those records.
    pub bytes_in: u64,
    /// Its time, summed, in microseconds.
    pub wall_us: u64,
    /// The units each cloud would bill for its calls, by unit name.
    pub billed: BTreeMap<String, u64>,
    /// Bytes one of its invocations logs on each platform whose logs are
    /// billed: its report line and its cost record line, in that
    /// platform's form.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_bytes: BTreeMap<Platform, u64>,
}

/// What a measured run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Measured {
    /// The events it ingested.
    pub events: u64,
    /// Each function's part, score's included when decisions were made.
    pub functions: Vec<FunctionRun>,
    /// The people the run's state holds.
    pub people: u64,
    /// The bytes its state holds at the end, as DynamoDB sizes items.
    pub stored_bytes: u64,
}

/// The workload to estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// Events a second.
    pub events_per_second: Decimal,
    /// Decisions a second.
    pub decisions_per_second: Decimal,
    /// Memory of every function, in MB (Lambda) or MiB (Cloud Run).
    pub memory_mb: u32,
    /// Lambda's architecture.
    pub arch: Arch,
    /// Cloud Run's vCPUs, in thousandths.
    pub milli_vcpu: u32,
    /// Records per Lambda invocation at most (the event source's batch size).
    pub batch: u32,
    /// Time an invocation waits on stores and streams, in microseconds.
    pub wait_us: u64,
    /// The book's region for each platform.
    pub regions: BTreeMap<Platform, String>,
    /// The people whose state is kept (none: state not estimated).
    pub people: Option<u64>,
    /// How long a stream keeps records, in hours (Kinesis bills beyond 24).
    pub stream_retention_hours: u32,
    /// How long logs are kept, in days.
    pub log_retention_days: u32,
    /// How long the offline log keeps events, in days (the slow lane's
    /// job reads them all on each run).
    pub offline_log_retention_days: u32,
    /// Memory of the slow lane's job, in MB.
    pub slow_lane_memory_mb: u32,
}

/// A line the book could not price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unpriced {
    /// The price item.
    pub item: String,
    /// Its quantity, in the usage's base measure.
    pub quantity: u128,
    /// Why it is not priced.
    pub why: String,
}

/// A month on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformMonth {
    /// The platform.
    pub platform: Platform,
    /// The book's region.
    pub region: String,
    /// The priced lines.
    pub lines: Vec<Line>,
    /// The lines the book could not price.
    pub unpriced: Vec<Unpriced>,
    /// The priced lines' sum: the whole month only when nothing is unpriced.
    pub priced_total: Money,
    /// The priced item costing most.
    pub largest: Option<String>,
    /// What a reader must know beside the money: a modelled run that could
    /// not work as deployed (a job past Lambda's timeout).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl PlatformMonth {
    /// Whether every line was priced.
    #[must_use]
    pub fn complete(&self) -> bool {
        self.unpriced.is_empty()
    }
}

/// A month of a workload on each platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estimate {
    /// Events a second.
    pub events_per_second: Decimal,
    /// Decisions a second.
    pub decisions_per_second: Decimal,
    /// Each platform's month.
    pub platforms: Vec<PlatformMonth>,
    /// The cheapest platform, when every platform's month was priced
    /// whole.
    pub cheapest: Option<Platform>,
}

/// `quantity × numerator / denominator`, rounded to the nearest.
fn scale(quantity: u128, numerator: u128, denominator: u128) -> u128 {
    if denominator == 0 {
        return 0;
    }
    (quantity * numerator + denominator / 2) / denominator
}

/// A month of `per_second` (a decimal rate), in whole things.
fn per_month(per_second: Decimal) -> Result<u128, CostError> {
    Ok(per_second.at_scale(6)? * SECONDS_PER_MONTH / 1_000_000)
}

/// Estimates `workload` on every platform its regions name.
///
/// # Errors
/// A rate out of range.
pub fn estimate(
    book: &PriceBook,
    measured: &Measured,
    workload: &Workload,
) -> Result<Estimate, CostError> {
    let events = per_month(workload.events_per_second)?;
    let decisions = per_month(workload.decisions_per_second)?;
    let mut platforms = Vec::new();
    for (platform, region) in &workload.regions {
        let usage = usage(*platform, measured, workload, events, decisions)?;
        let mut month = month(book, *platform, region, &usage);
        if *platform == Platform::Aws {
            month.notes = slow_lane_notes(measured, workload, events);
        }
        platforms.push(month);
    }
    let cheapest = if platforms.iter().all(PlatformMonth::complete) {
        platforms
            .iter()
            .min_by_key(|p| p.priced_total)
            .map(|p| p.platform)
    } else {
        None
    };
    Ok(Estimate {
        events_per_second: workload.events_per_second,
        decisions_per_second: workload.decisions_per_second,
        platforms,
        cheapest,
    })
}

/// Prices each item on its own, so one the book lacks leaves the rest priced.
fn month(book: &PriceBook, platform: Platform, region: &str, usage: &Usage) -> PlatformMonth {
    let mut lines = Vec::new();
    let mut unpriced = Vec::new();
    for (item, quantity) in &usage.0 {
        let mut one = Usage::default();
        one.add(item, *quantity);
        match price::price_month(book, region, &one, false) {
            Ok(priced) => lines.extend(priced.lines),
            Err(e) => unpriced.push(Unpriced {
                item: item.clone(),
                quantity: *quantity,
                why: e.to_string(),
            }),
        }
    }
    let priced_total = lines.iter().map(|l| l.cost).sum();
    let largest = lines.iter().max_by_key(|l| l.cost).map(|l| l.item.clone());
    PlatformMonth {
        platform,
        region: region.to_owned(),
        lines,
        unpriced,
        priced_total,
        largest,
        notes: Vec::new(),
    }
}

/// One run of the slow lane's job in a month of `events`: what the
/// offline log holds when it runs, and what the run does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SlowLaneRun {
    /// Events a month logs.
    logged_month: u128,
    /// Bytes of a logged event.
    event_bytes: u128,
    /// Events the log holds: its retention's.
    logged: u128,
    /// Objects Firehose writes a day.
    objects_per_day: u128,
    /// Objects the log holds.
    objects: u128,
    /// A run's modelled duration at the job's memory size.
    duration_us: u64,
}

/// The job's run, modelled from the measured run's `job` part.
fn slow_lane_run(
    job: &FunctionRun,
    measured: &Measured,
    workload: &Workload,
    events: u128,
) -> Option<SlowLaneRun> {
    let run_logged = u128::from(job.records_in);
    if run_logged == 0 {
        return None;
    }
    let logged_month = scale(run_logged, events, u128::from(measured.events));
    let event_bytes = u128::from(job.bytes_in).div_ceil(run_logged);
    let kept_s = u128::from(workload.offline_log_retention_days) * 86_400;
    let logged = scale(logged_month, kept_s, SECONDS_PER_MONTH);
    // Firehose writes when its buffer is full or old enough.
    let bytes_per_day = scale(logged_month * event_bytes, 86_400, SECONDS_PER_MONTH);
    let objects_per_day =
        (86_400 / FIREHOSE_BUFFER_S).max(bytes_per_day.div_ceil(FIREHOSE_BUFFER_BYTES));
    let objects = objects_per_day * u128::from(workload.offline_log_retention_days);
    let cpu_us = scale(u128::from(job.wall_us), logged, run_logged);
    let duration_us = sweep::duration_us(
        &sweep::Workload {
            function: job.function.clone(),
            cpu_us: u64::try_from(cpu_us).unwrap_or(u64::MAX),
            wait_us: workload.wait_us,
        },
        workload.slow_lane_memory_mb,
    );
    Some(SlowLaneRun {
        logged_month,
        event_bytes,
        logged,
        objects_per_day,
        objects,
        duration_us,
    })
}

/// The offline log and the slow lane's job on AWS, for a month.
fn slow_lane_usage(
    usage: &mut Usage,
    job: &FunctionRun,
    measured: &Measured,
    workload: &Workload,
    events: u128,
) -> Result<(), CostError> {
    let Some(run) = slow_lane_run(job, measured, workload, events) else {
        return Ok(());
    };
    let runs = |per_run: u128| scale(per_run, SECONDS_PER_MONTH, SLOW_LANE_EVERY_S);
    // Firehose reads each enriched event from its stream and takes it in.
    usage.add(
        "kinesis.on_demand.retrieval",
        run.event_bytes * run.logged_month,
    );
    let billed_in =
        u64::try_from(run.event_bytes).map_or(u128::MAX, |b| u128::from(firehose::ingest_bytes(b)));
    usage.add("firehose.ingest", billed_in * run.logged_month);
    // Its objects, and each run's listing of the log (a thousand keys a
    // call), bill as PUT and LIST requests; reading each object as a GET.
    usage.add(
        "s3.put_requests",
        runs(run.objects_per_day + run.objects.div_ceil(1_000)),
    );
    usage.add("s3.get_requests", runs(run.objects));
    // The log holds its retention's events all month.
    usage.add("s3.storage", run.event_bytes * run.logged * HOURS_PER_MONTH);
    // The job's own store units, by person when the workload says how
    // many, else by logged event.
    let (now, then) = match workload.people {
        Some(people) if measured.people > 0 => (u128::from(people), u128::from(measured.people)),
        _ => (run.logged, u128::from(job.records_in)),
    };
    for (unit, n) in &job.billed {
        if platform_of(unit) != Some(Platform::Aws) {
            continue;
        }
        if let Some((item, per)) = rules::billed_item(unit)? {
            usage.add(item, per * runs(scale(u128::from(*n), now, then)));
        }
    }
    usage.add("lambda.requests", runs(1));
    if let Some(bytes) = job.log_bytes.get(&Platform::Aws) {
        usage.add(LOGS_IN_AWS, runs(u128::from(*bytes)));
    }
    let billed_ms = u128::from(rules::billed_ms(run.duration_us, rules::LAMBDA_STEP_MS));
    usage.add(
        &format!("lambda.duration.{}", workload.arch.name()),
        runs(u128::from(workload.slow_lane_memory_mb) * billed_ms),
    );
    Ok(())
}

/// What the month's slow-lane runs would not survive as deployed.
fn slow_lane_notes(measured: &Measured, workload: &Workload, events: u128) -> Vec<String> {
    let Some(run) = measured
        .functions
        .iter()
        .find(|f| f.function == SLOW_LANE)
        .and_then(|job| slow_lane_run(job, measured, workload, events))
    else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    if run.duration_us > LAMBDA_TIMEOUT_US {
        notes.push(format!(
            "the slow lane's daily run over {} logged events would take about {} s at {} MB, past Lambda's 900 s: the job needs more memory, or a shorter offline_log_retention_days",
            run.logged,
            run.duration_us / 1_000_000,
            workload.slow_lane_memory_mb
        ));
    }
    let held_mb = (run.logged * SLOW_LANE_HELD_BYTES_PER_EVENT) >> 20;
    if held_mb >= u128::from(workload.slow_lane_memory_mb) {
        notes.push(format!(
            "the slow lane's run would hold about {held_mb} MB for its {} logged events in a job of {} MB: it would not fit",
            run.logged, workload.slow_lane_memory_mb
        ));
    }
    notes
}

/// A month's usage on `platform`.
fn usage(
    platform: Platform,
    measured: &Measured,
    workload: &Workload,
    events: u128,
    decisions: u128,
) -> Result<Usage, CostError> {
    let run_events = u128::from(measured.events);
    let mut usage = Usage::default();
    let memory = u128::from(workload.memory_mb);
    let events_per_second = workload.events_per_second.at_scale(6)?;
    for f in &measured.functions {
        let records_in = u128::from(f.records_in);
        if records_in == 0 {
            continue;
        }
        if f.function == SLOW_LANE {
            if platform == Platform::Aws {
                slow_lane_usage(&mut usage, f, measured, workload, events)?;
            }
            continue;
        }
        let is_score = f.function == "score";
        // What the run's counts scale by: a month's decisions over the
        // run's, for score; a month's events over the run's, for the rest.
        let (month, run) = if is_score {
            (decisions, records_in)
        } else {
            (events, run_events)
        };
        let records = scale(records_in, month, run);
        if records == 0 {
            continue;
        }
        // Store and stream units this platform bills, scaled the same way.
        for (unit, n) in &f.billed {
            if platform_of(unit) != Some(platform) {
                continue;
            }
            if let Some((item, per)) = rules::billed_item(unit)? {
                usage.add(item, per * scale(u128::from(*n), month, run));
            }
        }
        let cpu_per_record =
            u64::try_from(u128::from(f.wall_us).div_ceil(records_in)).unwrap_or(u64::MAX);
        let bytes_per_record = f.bytes_in.div_ceil(f.records_in);
        match platform {
            Platform::Aws => {
                // Records an invocation takes: one second of this stage's
                // traffic, within [1, batch]; decisions one each.
                let per_invocation: u128 = if is_score {
                    1
                } else {
                    let stage_per_second =
                        scale(events_per_second, records_in, run_events) / 1_000_000;
                    stage_per_second.clamp(1, u128::from(workload.batch.max(1)))
                };
                let invocations = records.div_ceil(per_invocation);
                let duration = sweep::duration_us(
                    &sweep::Workload {
                        function: f.function.clone(),
                        cpu_us: cpu_per_record
                            .saturating_mul(u64::try_from(per_invocation).unwrap_or(u64::MAX)),
                        wait_us: workload.wait_us,
                    },
                    workload.memory_mb,
                );
                let billed = u128::from(rules::billed_ms(duration, rules::LAMBDA_STEP_MS));
                usage.add("lambda.requests", invocations);
                if let Some(bytes) = f.log_bytes.get(&Platform::Aws) {
                    usage.add(LOGS_IN_AWS, invocations * u128::from(*bytes));
                }
                usage.add(
                    &format!("lambda.duration.{}", workload.arch.name()),
                    memory * billed * invocations,
                );
                if !is_score {
                    usage.add(
                        "kinesis.on_demand.retrieval",
                        u128::from(bytes_per_record) * records,
                    );
                }
                if f.function == "ingest" {
                    // The producers' events entering the first stream.
                    usage.add(
                        "kinesis.on_demand.ingest",
                        u128::from(kinesis::ingest_bytes(bytes_per_record)) * records,
                    );
                }
            }
            Platform::Gcp => {
                // Instance time billed a second: each request's 100 ms
                // until every 100 ms has one (an upper bound: requests
                // arriving together share a slot), or the CPU the requests
                // need once that is more (instances busy throughout).
                let per_second_micro = scale(records, 1_000_000, SECONDS_PER_MONTH);
                let duration = u128::from(cpu_per_record.saturating_add(workload.wait_us));
                let slots_ms = (per_second_micro * 100 / 1_000_000).min(1_000);
                let busy_ms = per_second_micro * duration / 1_000_000_000;
                let billed_ms = slots_ms.max(busy_ms) * SECONDS_PER_MONTH;
                usage.add("cloud_run.requests", records);
                if let Some(bytes) = f.log_bytes.get(&Platform::Gcp) {
                    usage.add(LOGS_IN_GCP, records * u128::from(*bytes));
                }
                usage.add(
                    "cloud_run.request.vcpu_seconds",
                    u128::from(workload.milli_vcpu) * billed_ms,
                );
                usage.add("cloud_run.request.gib_seconds", memory * billed_ms);
                if !is_score {
                    // Each push delivery, at least 1,000 bytes.
                    let delivery = u128::from(pubsub::billable_bytes(bytes_per_record));
                    usage.add("pubsub.throughput", delivery * records);
                    if f.function == "ingest" {
                        // The producers' publishes.
                        usage.add("pubsub.throughput", delivery * records);
                    }
                }
            }
            Platform::Spin => {
                let cpu_ms = u128::from(cpu_per_record) * records / 1_000;
                usage.add("node.hours", 1_000 * cpu_ms);
            }
        }
    }
    if platform == Platform::Aws {
        usage.add(
            "kinesis.on_demand.stream_hours",
            KINESIS_STREAMS * SECONDS_PER_MONTH * 1_000,
        );
        // Records kept past the first day: each stream holds the bytes
        // that entered it in the extra hours, all month.
        let extra_hours = u128::from(workload.stream_retention_hours.saturating_sub(24));
        if extra_hours > 0 {
            let entered = usage.get("kinesis.on_demand.ingest");
            usage.add(
                "kinesis.on_demand.extended_retention",
                entered * extra_hours,
            );
        }
    }
    // The logs kept: a steady month holds the bytes of as many days as
    // the retention keeps (past the days the ingestion price includes).
    let logs = match platform {
        Platform::Aws => Some((LOGS_IN_AWS, "cloudwatch.logs.storage", 0)),
        Platform::Gcp => Some((
            LOGS_IN_GCP,
            "cloud_logging.retention",
            CLOUD_LOGGING_INCLUDED_DAYS,
        )),
        // On the node, within its share.
        Platform::Spin => None,
    };
    if let Some((logs_in, kept, included)) = logs {
        let days = u128::from(workload.log_retention_days.saturating_sub(included));
        let logged = usage.get(logs_in);
        if logged > 0 && days > 0 {
            // A month's bytes over its hours, times the hours kept: what
            // is held, all month (byte-hours).
            let held = scale(logged, days * 24, HOURS_PER_MONTH);
            usage.add(kept, held * HOURS_PER_MONTH);
        }
    }
    // The state kept for the people, all month: as much per person as the
    // run's state held per person (its items live as long as policy's
    // retention says, so the run's end holds what a steady month does).
    if let Some(people) = workload.people.filter(|_| measured.people > 0) {
        let bytes = scale(
            u128::from(measured.stored_bytes),
            u128::from(people),
            u128::from(measured.people),
        );
        let item = match platform {
            Platform::Aws => Some("dynamodb.storage"),
            Platform::Gcp => Some("firestore.storage"),
            // SQLite on the node's own disk, within its share.
            Platform::Spin => None,
        };
        if let Some(item) = item {
            usage.add(item, bytes * HOURS_PER_MONTH);
        }
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> Measured {
        let run = |function: &str, records_in, wall_us, billed: &[(&str, u64)]| FunctionRun {
            function: function.into(),
            records_in,
            bytes_in: records_in * 500,
            wall_us,
            billed: billed.iter().map(|(u, n)| ((*u).to_owned(), *n)).collect(),
            log_bytes: BTreeMap::new(),
        };
        Measured {
            events: 1_000,
            people: 10,
            stored_bytes: 50_000,
            functions: vec![
                run(
                    "ingest",
                    1_000,
                    200_000,
                    &[
                        ("dynamodb_write_units", 1_000),
                        ("firestore_document_writes", 1_000),
                    ],
                ),
                run("score", 10, 5_000, &[("dynamodb_read_units", 30)]),
            ],
        }
    }

    fn workload(events_per_second: &str) -> Workload {
        Workload {
            events_per_second: events_per_second.parse().unwrap(),
            decisions_per_second: "1".parse().unwrap(),
            memory_mb: 1_769,
            arch: Arch::Arm64,
            milli_vcpu: 1_000,
            batch: 100,
            wait_us: 0,
            regions: [
                (Platform::Aws, "aws/us-east-1".to_owned()),
                (Platform::Gcp, "gcp/us-central1".to_owned()),
                (Platform::Spin, "spinkube/aws-us-east-1".to_owned()),
            ]
            .into_iter()
            .collect(),
            people: None,
            stream_retention_hours: 24,
            log_retention_days: 30,
            offline_log_retention_days: 30,
            slow_lane_memory_mb: 1_769,
        }
    }

    fn quantity(usage: &Usage, item: &str) -> u128 {
        usage.get(item)
    }

    #[test]
    fn a_months_usage_scales_the_runs_per_event_counts() {
        let w = workload("10");
        let events = per_month(w.events_per_second).unwrap();
        assert_eq!(events, 26_280_000);
        let decisions = per_month(w.decisions_per_second).unwrap();
        let aws = usage(Platform::Aws, &measured(), &w, events, decisions).unwrap();
        // One write unit per event; 3 read units per decision.
        assert_eq!(quantity(&aws, "dynamodb.on_demand.write_units"), 26_280_000);
        assert_eq!(
            quantity(&aws, "dynamodb.on_demand.read_units"),
            3 * 2_628_000
        );
        // 10 events a second: ten records per ingest invocation, 200 µs
        // each at one vCPU: 2 ms billed; plus a request per decision of
        // 0.5 ms, billed 1 ms.
        assert_eq!(
            quantity(&aws, "lambda.requests"),
            26_280_000 / 10 + 2_628_000
        );
        assert_eq!(
            quantity(&aws, "lambda.duration.arm64"),
            1_769 * (2 * 2_628_000 + 2_628_000)
        );
        // Producers' 500-byte events bill a KiB each.
        assert_eq!(
            quantity(&aws, "kinesis.on_demand.ingest"),
            1_024 * 26_280_000
        );
        assert_eq!(
            quantity(&aws, "kinesis.on_demand.stream_hours"),
            4 * 730 * 3_600_000
        );
        // Firestore units belong to Google Cloud's month, not AWS's.
        assert_eq!(quantity(&aws, "firestore.writes"), 0);
        let gcp = usage(Platform::Gcp, &measured(), &w, events, decisions).unwrap();
        assert_eq!(quantity(&gcp, "firestore.writes"), 26_280_000);
        // Every message and decision a request, each billed 100 ms.
        assert_eq!(quantity(&gcp, "cloud_run.requests"), 26_280_000 + 2_628_000);
        assert_eq!(
            quantity(&gcp, "cloud_run.request.vcpu_seconds"),
            1_000 * 100 * (26_280_000 + 2_628_000)
        );
        // Pushes and publishes of 500 bytes bill 1,000 each.
        assert_eq!(quantity(&gcp, "pubsub.throughput"), 2 * 1_000 * 26_280_000);
        let spin = usage(Platform::Spin, &measured(), &w, events, decisions).unwrap();
        // 200 µs per event and 500 µs per decision of one vCPU.
        assert_eq!(
            quantity(&spin, "node.hours"),
            1_000 * (26_280_000 * 200 / 1_000 + 2_628_000 * 500 / 1_000)
        );
    }

    #[test]
    fn at_a_high_rate_an_invocation_takes_a_whole_batch() {
        let w = workload("100000");
        let events = per_month(w.events_per_second).unwrap();
        let aws = usage(Platform::Aws, &measured(), &w, events, 0).unwrap();
        assert_eq!(quantity(&aws, "lambda.requests"), events / 100);
        // 100 records × 200 µs = 20 ms each.
        assert_eq!(
            quantity(&aws, "lambda.duration.arm64"),
            1_769 * 20 * (events / 100)
        );
        // 100,000 requests of 200 µs a second keep 20 vCPUs busy.
        let gcp = usage(Platform::Gcp, &measured(), &w, events, 0).unwrap();
        assert_eq!(
            quantity(&gcp, "cloud_run.request.vcpu_seconds"),
            1_000 * 20_000 * 2_628_000
        );
    }

    #[test]
    fn retention_and_state_show_as_their_own_lines() {
        let mut w = workload("10");
        let events = per_month(w.events_per_second).unwrap();
        let aws = usage(Platform::Aws, &measured(), &w, events, 0).unwrap();
        assert_eq!(
            quantity(&aws, "dynamodb.storage"),
            0,
            "no people, no state line"
        );
        assert_eq!(quantity(&aws, "kinesis.on_demand.extended_retention"), 0);
        w.people = Some(1_000);
        w.stream_retention_hours = 24 + 73;
        let aws = usage(Platform::Aws, &measured(), &w, events, 0).unwrap();
        // 5,000 bytes a person, for 1,000 people, all 730 hours.
        assert_eq!(quantity(&aws, "dynamodb.storage"), 5_000_000 * 730);
        // A month's producer bytes (a KiB an event) enter in 730 hours;
        // 73 extra hours keep a tenth of them, all month.
        assert_eq!(
            quantity(&aws, "kinesis.on_demand.extended_retention"),
            1_024 * 26_280_000 / 10 * 730
        );
        let gcp = usage(Platform::Gcp, &measured(), &w, events, 0).unwrap();
        assert_eq!(quantity(&gcp, "firestore.storage"), 5_000_000 * 730);
        assert_eq!(quantity(&gcp, "kinesis.on_demand.extended_retention"), 0);
    }

    /// By hand, at 10 events a second: on AWS ingest is invoked once a
    /// second with ten records (2,628,000 invocations a month), on Google
    /// Cloud once a message (26,280,000 requests).
    #[test]
    fn logs_are_their_own_lines_kept_as_long_as_the_retention_says() {
        let mut measured = measured();
        measured.functions[0].log_bytes = [(Platform::Aws, 1_000), (Platform::Gcp, 1_200)].into();
        let mut w = workload("10");
        let events = per_month(w.events_per_second).unwrap();
        let aws = usage(Platform::Aws, &measured, &w, events, 0).unwrap();
        assert_eq!(quantity(&aws, "cloudwatch.logs.ingest"), 2_628_000 * 1_000);
        // 30 of the month's 30.4 days are held, all month: 720 of its 730 hours' bytes.
        assert_eq!(
            quantity(&aws, "cloudwatch.logs.storage"),
            2_628_000_000 / 730 * 720 * 730
        );
        let gcp = usage(Platform::Gcp, &measured, &w, events, 0).unwrap();
        assert_eq!(quantity(&gcp, "cloud_logging.ingest"), 26_280_000 * 1_200);
        assert_eq!(
            quantity(&gcp, "cloud_logging.retention"),
            0,
            "30 days are in the ingestion price"
        );
        let spin = usage(Platform::Spin, &measured, &w, events, 0).unwrap();
        assert!(spin.0.keys().all(|item| !item.contains("log")), "{spin:?}");

        w.log_retention_days = 90;
        let gcp = usage(Platform::Gcp, &measured, &w, events, 0).unwrap();
        // 60 days past the 30 included: 1,440 hours' bytes held.
        assert_eq!(
            quantity(&gcp, "cloud_logging.retention"),
            31_536_000_000 / 730 * 1_440 * 730
        );
        let aws = usage(Platform::Aws, &measured, &w, events, 0).unwrap();
        assert_eq!(
            quantity(&aws, "cloudwatch.logs.storage"),
            2_628_000_000 / 730 * 2_160 * 730
        );
    }

    /// The measured run with its slow-lane run: 800 of its 1,000 events
    /// logged, 2,000 bytes each, read in 80 ms with 20 read and 10 write
    /// units for its 10 people.
    fn with_slow_lane() -> Measured {
        let mut m = measured();
        m.functions.push(FunctionRun {
            function: SLOW_LANE.into(),
            records_in: 800,
            bytes_in: 800 * 2_000,
            wall_us: 80_000,
            billed: [
                ("dynamodb_read_units".to_owned(), 20),
                ("dynamodb_write_units".to_owned(), 10),
                ("firestore_document_reads".to_owned(), 20),
            ]
            .into(),
            log_bytes: BTreeMap::new(),
        });
        m
    }

    /// By hand, at 10 events a second: 8 logged a second, 21,024,000 a
    /// month; 30 days of them (20,736,000) in the log when a run reads it;
    /// 30.4 runs a month.
    #[test]
    fn the_slow_lane_is_its_log_and_a_daily_run_over_it_on_aws_alone() {
        let w = workload("10");
        let events = per_month(w.events_per_second).unwrap();
        let without = usage(Platform::Aws, &measured(), &w, events, 0).unwrap();
        let aws = usage(Platform::Aws, &with_slow_lane(), &w, events, 0).unwrap();
        let more = |item: &str| quantity(&aws, item) - quantity(&without, item);
        // Firehose reads every logged event from the enriched stream and
        // bills each 2,000 bytes as 5 KB.
        assert_eq!(more("kinesis.on_demand.retrieval"), 2_000 * 21_024_000);
        assert_eq!(quantity(&aws, "firehose.ingest"), 5_120 * 21_024_000);
        // The log holds 30 days' events, all month.
        assert_eq!(quantity(&aws, "s3.storage"), 2_000 * 20_736_000 * 730);
        // 1,382,400,000 bytes a day is 21 objects of 64 MiB, fewer than
        // one each 300 s (288): 8,640 objects in the log, read on each of
        // the month's 30.4 runs; written at 288 a day, listed in 9 calls
        // a run.
        assert_eq!(quantity(&aws, "s3.get_requests"), 8_640 * 730 / 24);
        // 297 × 30.42 = 9,033.75.
        assert_eq!(quantity(&aws, "s3.put_requests"), 9_034);
        // The run's units per logged event: 20 reads for 800, so 518,400
        // for the log's 20,736,000, a run.
        assert_eq!(more("dynamodb.on_demand.read_units"), 518_400 * 730 / 24);
        assert_eq!(more("dynamodb.on_demand.write_units"), 259_200 * 730 / 24);
        // One request a run, of 100 µs a logged event at one vCPU:
        // 2,073.6 s, billed to the millisecond.
        assert_eq!(more("lambda.requests"), 30);
        assert_eq!(more("lambda.duration.arm64"), 1_769 * 2_073_600 * 730 / 24);
        // Nothing of it on Google Cloud or Spin.
        for platform in [Platform::Gcp, Platform::Spin] {
            assert_eq!(
                usage(platform, &with_slow_lane(), &w, events, 0).unwrap(),
                usage(platform, &measured(), &w, events, 0).unwrap(),
                "{platform:?}"
            );
        }
    }

    #[test]
    fn a_slow_lane_run_past_lambdas_timeout_or_memory_is_said() {
        let book = PriceBook::default_book().unwrap();
        let mut w = workload("10");
        // 2,073.6 s a run: past 900 s; 20,736,000 events of 536 bytes
        // held, 10,599 MB.
        let e = estimate(&book, &with_slow_lane(), &w).unwrap();
        let aws = |e: &Estimate| {
            e.platforms
                .iter()
                .find(|p| p.platform == Platform::Aws)
                .unwrap()
                .notes
                .clone()
        };
        let notes = aws(&e);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("about 2073 s at 1769 MB"), "{notes:?}");
        assert!(notes[1].contains("about 10599 MB"), "{notes:?}");
        // A tenth of the traffic and a day's log: 6.9 s and 35 MB.
        w.events_per_second = "1".parse().unwrap();
        w.offline_log_retention_days = 1;
        assert_eq!(
            aws(&estimate(&book, &with_slow_lane(), &w).unwrap()),
            Vec::<String>::new()
        );
        // No note elsewhere, and none without a measured slow lane.
        let e = estimate(&book, &measured(), &workload("10")).unwrap();
        assert!(e.platforms.iter().all(|p| p.notes.is_empty()), "{e:?}");
    }

    #[test]
    fn a_platform_with_an_unpriced_line_is_not_compared() {
        let book = PriceBook::default_book().unwrap();
        let e = estimate(&book, &measured(), &workload("10")).unwrap();
        assert_eq!(e.platforms.len(), 3);
        let aws = e
            .platforms
            .iter()
            .find(|p| p.platform == Platform::Aws)
            .unwrap();
        // Lambda is priced; the DynamoDB and Kinesis items are not yet.
        assert!(aws.lines.iter().any(|l| l.item == "lambda.requests"));
        assert!(
            aws.unpriced
                .iter()
                .any(|u| u.item == "dynamodb.on_demand.write_units" && u.quantity == 26_280_000)
        );
        assert!(aws.priced_total > Money::ZERO);
        assert!(!aws.complete());
        assert_eq!(e.cheapest, None, "no comparison from part of the cost");
    }
}
