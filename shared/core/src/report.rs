//! The invocation report: what one invocation did and what it used.
//!
//! Every function returns one per invocation. It is the input to the cost
//! model (store units, bytes, duration) and to operations dashboards
//! (dispositions by reason).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::disposition::{DeadLetterReason, Disposition};

const fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Counts of one invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationReport {
    /// The function.
    pub function: String,
    /// Records received.
    pub records_in: u64,
    /// Bytes of the records received (what a stream bills as read).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes_in: u64,
    /// Records accepted for the first time.
    pub accepted: u64,
    /// Records accepted as repeats of ones already applied.
    pub duplicates: u64,
    /// Records dead-lettered, by reason.
    pub dead_lettered: BTreeMap<DeadLetterReason, u64>,
    /// Records to be delivered again.
    pub retried: u64,
    /// Policy enforcements that denied something, by the `@id` of the
    /// deciding policy (`default_deny` when no policy permitted it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policy_blocks: BTreeMap<String, u64>,
    /// Events older than every bucket their key keeps (more than 30 days
    /// behind its newest event): accepted, changing no online state; the
    /// offline log and the backfill have them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub past_horizon: u64,
    /// Messages published for the next function.
    pub records_out: u64,
    /// Bytes published.
    pub bytes_out: u64,
    /// Store reads (items).
    pub store_reads: u64,
    /// Store writes (items).
    pub store_writes: u64,
    /// Bytes written to stores.
    pub store_write_bytes: u64,
    /// The units the platform's store bills by, by unit name (such as
    /// `dynamodb_read_units`); none on a store that does not bill per call.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub billed: BTreeMap<String, u64>,
    /// Wall time of the invocation, in microseconds.
    pub wall_us: u64,
    /// The decision a score request made, so its cost is the decision's
    /// own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
}

impl InvocationReport {
    /// An empty report for `function`.
    #[must_use]
    pub fn new(function: &str) -> Self {
        Self {
            function: function.to_owned(),
            ..Self::default()
        }
    }

    /// Counts one record's disposition.
    pub fn count(&mut self, disposition: Disposition) {
        match disposition {
            Disposition::Accepted { duplicate: false } => self.accepted += 1,
            Disposition::Accepted { duplicate: true } => self.duplicates += 1,
            Disposition::DeadLettered { reason } => {
                *self.dead_lettered.entry(reason).or_default() += 1;
            }
            Disposition::Retry => self.retried += 1,
        }
    }

    /// Adds another report's counts into this one.
    pub fn absorb(&mut self, other: &Self) {
        self.records_in += other.records_in;
        self.bytes_in += other.bytes_in;
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        for (reason, n) in &other.dead_lettered {
            *self.dead_lettered.entry(*reason).or_default() += n;
        }
        self.retried += other.retried;
        for (policy, n) in &other.policy_blocks {
            *self.policy_blocks.entry(policy.clone()).or_default() += n;
        }
        self.past_horizon += other.past_horizon;
        self.records_out += other.records_out;
        self.bytes_out += other.bytes_out;
        self.store_reads += other.store_reads;
        self.store_writes += other.store_writes;
        self.store_write_bytes += other.store_write_bytes;
        for (unit, n) in &other.billed {
            *self.billed.entry(unit.clone()).or_default() += n;
        }
        self.wall_us += other.wall_us;
    }

    /// Counts one denial under the policies that decided it.
    pub fn count_block(&mut self, decision: &crate::policy::PolicyDecision) {
        if decision.policies.is_empty() {
            *self
                .policy_blocks
                .entry("default_deny".to_owned())
                .or_default() += 1;
        }
        for policy in &decision.policies {
            *self.policy_blocks.entry(policy.clone()).or_default() += 1;
        }
    }

    /// Adds billed units.
    pub fn bill(&mut self, units: &[(&'static str, u64)]) {
        for (unit, n) in units {
            *self.billed.entry((*unit).to_owned()).or_default() += n;
        }
    }

    /// Adds what the store was used for.
    pub fn meter(&mut self, meter: crate::ports::Meter) {
        let crate::ports::Meter {
            reads,
            writes,
            write_bytes,
            billed,
        } = meter;
        self.store_reads += reads;
        self.store_writes += writes;
        self.store_write_bytes += write_bytes;
        for (unit, n) in billed {
            *self.billed.entry(unit.to_owned()).or_default() += n;
        }
    }

    /// The amount billed of `unit` (0 when none).
    #[must_use]
    pub fn billed(&self, unit: &str) -> u64 {
        self.billed.get(unit).copied().unwrap_or(0)
    }

    /// Records dead-lettered, all reasons.
    #[must_use]
    pub fn dead_lettered_total(&self) -> u64 {
        self.dead_lettered.values().sum()
    }
}
