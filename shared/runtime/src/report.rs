//! Invocation reports: logged once per invocation, and summed over a run.

use std::collections::BTreeMap;

use serde::Serialize;
use tailor_core::batch::BatchOutcome;
use tailor_core::report::InvocationReport;

/// Logs an invocation's report as one JSON line (target `tailor::report`),
/// the record cost review and dashboards read.
pub fn emit(report: &InvocationReport, request_id: &str) {
    tracing::info!(
        target: "tailor::report",
        request_id = %request_id,
        report = %serde_json::to_string(report).unwrap_or_default(),
        "invocation report"
    );
}

/// Logs an invocation's report and, where the process prices its
/// invocations, its cost record: the invocation began at `began`.
pub fn emit_priced(
    report: &InvocationReport,
    cost: Option<&crate::cost::Costing>,
    began: std::time::Instant,
    request_id: &str,
) {
    emit(report, request_id);
    if let Some(cost) = cost {
        cost.emit(report, began, request_id);
    }
}

/// Totals of a run, per function.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// One report per function, summed over invocations.
    pub functions: BTreeMap<String, InvocationReport>,
    /// Invocations made, per function.
    pub invocations: BTreeMap<String, u64>,
    /// Records that still asked for a retry after every attempt.
    pub unresolved: u64,
}

impl RunReport {
    /// Adds one invocation's outcome.
    pub fn absorb(&mut self, outcome: &BatchOutcome) {
        let name = outcome.report.function.clone();
        self.functions
            .entry(name.clone())
            .or_insert_with(|| InvocationReport::new(&name))
            .absorb(&outcome.report);
        *self.invocations.entry(name).or_default() += 1;
    }

    /// The report of one function (empty if it never ran).
    #[must_use]
    pub fn function(&self, name: &str) -> InvocationReport {
        self.functions
            .get(name)
            .cloned()
            .unwrap_or_else(|| InvocationReport::new(name))
    }
}
