//! Cost records: each invocation priced and logged beside its report, in
//! the form the platform's logs turn into data without extra calls.
//!
//! | platform | form |
//! | --- | --- |
//! | AWS Lambda | a CloudWatch Embedded Metric Format line on stdout: metrics `cost` and `billed_ms` by function, the record beside them |
//! | Cloud Run | a structured log entry (`severity`, `message`, labels) Cloud Logging parses from stdout |
//! | Spin, local | a JSON line (`tailor::cost`) |
//!
//! The record is priced against the price book the build carries, or the
//! reading `TAILOR_PRICE_BOOK` names. Where the book cannot price it (an
//! item not yet sourced), the record is still logged, with its usage and
//! the reason, so a later book can price it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;
use tailor_core::report::InvocationReport;
pub use tailor_cost::billing;
pub use tailor_cost::rules::{self, Measured};
pub use tailor_cost::{Arch, CostRecord, Money, Platform, PriceBook, Sizing};

use crate::config::{ConfigError, Env};

/// How a platform's logs take a cost record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CloudWatch Embedded Metric Format (AWS Lambda).
    Emf,
    /// A Cloud Logging structured entry (Cloud Run).
    CloudLogging,
    /// A JSON line through the log (Spin, local).
    JsonLine,
}

/// The namespace of the metrics AWS makes from the records.
pub const METRIC_NAMESPACE: &str = "Tailor";

/// Prices and logs one process's invocations.
#[derive(Debug)]
pub struct Costing {
    sizing: Sizing,
    book: PriceBook,
    format: Format,
    /// When the process started, until its first invocation takes it: the
    /// init phase that invocation's cold start billed.
    started: Mutex<Option<Instant>>,
    /// The name the platform deployed the function under (the Lambda
    /// function's name), which tells one deployment's metrics from
    /// another's.
    deployed_as: Option<String>,
}

impl Costing {
    /// Costing for a function sized by `sizing`, logged in `format`, whose
    /// process started at `started`; the book is `TAILOR_PRICE_BOOK`'s
    /// reading when set, else the one the build carries.
    ///
    /// # Errors
    /// `TAILOR_PRICE_BOOK` names a file that cannot be read or is not a
    /// valid reading.
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        sizing: Sizing,
        format: Format,
        started: Instant,
    ) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            name: "TAILOR_PRICE_BOOK",
            reason,
        };
        let book = match env.get("TAILOR_PRICE_BOOK") {
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| invalid(format!("{path}: {e}")))?;
                PriceBook::parse(&text).map_err(|e| invalid(format!("{path}: {e}")))?
            }
            None => PriceBook::default_book().map_err(|e| invalid(e.to_string()))?,
        };
        Ok(Self::new(sizing, book, format, started))
    }

    /// Costing against `book`.
    #[must_use]
    pub const fn new(sizing: Sizing, book: PriceBook, format: Format, started: Instant) -> Self {
        Self {
            sizing,
            book,
            format,
            started: Mutex::new(Some(started)),
            deployed_as: None,
        }
    }

    /// The same, its records naming the function as the platform deployed
    /// it (`name`), where it says.
    #[must_use]
    pub fn deployed_as(mut self, name: Option<String>) -> Self {
        self.deployed_as = name;
        self
    }

    /// The sizing.
    #[must_use]
    pub const fn sizing(&self) -> &Sizing {
        &self.sizing
    }

    /// The record of one invocation that began at `began`: priced, or
    /// noted as unpriced. The first invocation of the process carries its
    /// init phase.
    ///
    /// # Errors
    /// A billed unit no rule names (a store or publisher that reports a
    /// unit the cost model does not know).
    pub fn record(
        &self,
        report: &InvocationReport,
        began: Instant,
    ) -> Result<CostRecord, tailor_cost::CostError> {
        let init = self
            .started
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .map(|started| began.saturating_duration_since(started));
        let measured = Measured {
            duration_us: micros(began.elapsed()),
            init_us: init.map(micros),
        };
        self.priced(report, &measured)
    }

    fn priced(
        &self,
        report: &InvocationReport,
        measured: &Measured,
    ) -> Result<CostRecord, tailor_cost::CostError> {
        Ok(CostRecord::measure(&self.sizing, report, measured)?.priced_or_noted(&self.book))
    }

    /// Logs the cost record of one invocation (see [`Costing::record`]).
    pub fn emit(&self, report: &InvocationReport, began: Instant, request_id: &str) {
        self.log(self.record(report, began), request_id);
    }

    /// Logs the cost record of one invocation whose measurements the
    /// platform took itself (a Spin request's stages, each from its
    /// report's wall time).
    pub fn emit_measured(&self, report: &InvocationReport, measured: &Measured, request_id: &str) {
        self.log(self.priced(report, measured), request_id);
    }

    fn log(&self, record: Result<CostRecord, tailor_cost::CostError>, request_id: &str) {
        match record {
            Ok(record) => {
                let line = line(
                    self.format,
                    &record,
                    self.deployed_as.as_deref(),
                    request_id,
                    epoch_millis(),
                );
                match self.format {
                    // The platform's log agent reads these from stdout as
                    // they are, one JSON object a line.
                    Format::Emf | Format::CloudLogging => println!("{line}"),
                    Format::JsonLine => {
                        tracing::info!(target: "tailor::cost", request_id = %request_id, cost = %line, "cost record");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, request_id = %request_id, "no cost record"),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn epoch_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One cost record as `format` logs it, at `now_ms` (Unix milliseconds),
/// of a function the platform deployed as `deployed_as`, where it says.
#[must_use]
pub fn line(
    format: Format,
    record: &CostRecord,
    deployed_as: Option<&str>,
    request_id: &str,
    now_ms: u64,
) -> String {
    let value = match format {
        Format::Emf => {
            // A metric value is a number: `cost_amount` is the record's
            // exact `total` as one, for dashboards and alarms. An unpriced
            // record carries no cost metric.
            let amount = record.total.and_then(|t| t.to_string().parse::<f64>().ok());
            let mut metrics = vec![json!({"Name": "billed_ms", "Unit": "Milliseconds"})];
            if amount.is_some() {
                metrics.push(json!({"Name": "cost_amount", "Unit": "None"}));
            }
            // By function across deployments, and by the deployed
            // function's own name (one deployment's alarms).
            let dimensions = match deployed_as {
                Some(_) => json!([["function"], ["function_name"]]),
                None => json!([["function"]]),
            };
            let mut entry = json!({
                "_aws": {
                    "Timestamp": now_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": METRIC_NAMESPACE,
                        "Dimensions": dimensions,
                        "Metrics": metrics,
                    }],
                },
                "function": record.function,
                "billed_ms": record.billed_ms,
                "request_id": request_id,
                "cost": record,
            });
            if let Some(amount) = amount {
                entry["cost_amount"] = json!(amount);
            }
            if let Some(name) = deployed_as {
                entry["function_name"] = json!(name);
            }
            entry
        }
        Format::CloudLogging => json!({
            "severity": if record.unpriced.is_some() { "WARNING" } else { "INFO" },
            "message": "cost record",
            "logging.googleapis.com/labels": {"function": record.function, "kind": "cost"},
            "request_id": request_id,
            "cost": record,
        }),
        Format::JsonLine => json!({"request_id": request_id, "cost": record}),
    };
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn sizing() -> Sizing {
        Sizing {
            platform: Platform::Aws,
            region: "aws/us-east-1".into(),
            memory_mb: 128,
            arch: Arch::Arm64,
            milli_vcpu: 1_000,
        }
    }

    fn record(billed: &[(&str, u64)]) -> CostRecord {
        let mut report = InvocationReport::new("score");
        for (unit, n) in billed {
            report.billed.insert((*unit).to_owned(), *n);
        }
        let measured = Measured {
            duration_us: 12_300,
            ..Measured::default()
        };
        CostRecord::measure(&sizing(), &report, &measured)
            .expect("measured")
            .priced_or_noted(&PriceBook::default_book().expect("book"))
    }

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).expect("one JSON object")
    }

    #[test]
    fn an_emf_line_names_its_metrics_and_carries_each_as_a_number() {
        let priced = record(&[]);
        let emf = parse(&line(
            Format::Emf,
            &priced,
            Some("prod-score"),
            "req-1",
            1_700_000_000_000,
        ));
        let directive = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(emf["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(directive["Namespace"], METRIC_NAMESPACE);
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .map(|m| m["Name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, ["billed_ms", "cost_amount"]);
        assert_eq!(emf["billed_ms"], 13);
        // 128 MB × 13 ms at 0.0000133334 per GB-s, and a request.
        assert_eq!(emf["cost"]["total"], "0.000000221666775");
        assert!((emf["cost_amount"].as_f64().expect("number") - 2.216_667_75e-7).abs() < 1e-15);
        assert_eq!(emf["function"], "score");
        assert_eq!(emf["request_id"], "req-1");
        assert_eq!(
            directive["Dimensions"],
            json!([["function"], ["function_name"]])
        );
        assert_eq!(emf["function_name"], "prod-score");
    }

    #[test]
    fn an_unpriced_record_logs_its_usage_and_why_and_no_cost_metric() {
        let unpriced = record(&[("dynamodb_read_units", 3)]);
        let emf = parse(&line(Format::Emf, &unpriced, None, "req-2", 0));
        let names: Vec<&str> = emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .map(|m| m["Name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, ["billed_ms"]);
        assert!(emf.get("cost_amount").is_none());
        assert_eq!(emf["cost"]["usage"]["dynamodb.on_demand.read_units"], 3);
        assert!(
            emf["cost"]["unpriced"]
                .as_str()
                .is_some_and(|why| why.contains("dynamodb.on_demand.read_units"))
        );
        let logged = parse(&line(Format::CloudLogging, &unpriced, None, "req-2", 0));
        assert_eq!(logged["severity"], "WARNING");
        let logged = parse(&line(Format::CloudLogging, &record(&[]), None, "req-3", 0));
        assert_eq!(logged["severity"], "INFO");
        assert_eq!(logged["logging.googleapis.com/labels"]["function"], "score");
        assert_eq!(logged["cost"]["function"], "score");
    }

    #[test]
    fn only_the_first_invocation_carries_the_init_phase() {
        let started = Instant::now();
        let costing = Costing::new(
            sizing(),
            PriceBook::default_book().expect("book"),
            Format::JsonLine,
            started,
        );
        let report = InvocationReport::new("score");
        let first = costing.record(&report, Instant::now()).expect("record");
        let second = costing.record(&report, Instant::now()).expect("record");
        assert!(first.init_billed_ms.is_some());
        assert_eq!(second.init_billed_ms, None);
    }
}
