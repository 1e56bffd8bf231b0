//! Cost records summed: by platform and function, with what each costs per
//! invocation and per million records, what could not be priced and why,
//! and a month's projection at a stated event rate.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::decimal::{Decimal, Money};
use crate::record::CostRecord;
use crate::rules::Platform;

/// Seconds in a billing month (730 hours, as providers price by the month).
pub const SECONDS_PER_MONTH: u64 = 730 * 3_600;

/// One platform's function, summed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The platform.
    pub platform: Platform,
    /// The function.
    pub function: String,
    /// Memory, in MB (or MiB); the largest seen.
    pub memory_mb: u32,
    /// Invocations.
    pub invocations: u64,
    /// Records the invocations took in.
    pub records_in: u64,
    /// Invocations priced.
    pub priced: u64,
    /// What the priced invocations cost.
    pub cost: Money,
    /// Invocations not priced, by reason.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unpriced: BTreeMap<String, u64>,
}

impl Group {
    /// The cost of one priced invocation, on average.
    #[must_use]
    pub fn per_invocation(&self) -> Option<Money> {
        share(self.cost, self.priced, 1)
    }

    /// The cost of a million records taken in, where every invocation was
    /// priced.
    #[must_use]
    pub fn per_million_records(&self) -> Option<Money> {
        if self.priced < self.invocations {
            return None;
        }
        share(self.cost, self.records_in, 1_000_000)
    }
}

/// `cost / n × scale`, rounded to 10⁻¹⁵.
fn share(cost: Money, n: u64, scale: i128) -> Option<Money> {
    (n > 0).then(|| Money::from_femto(div_round(cost.femto().saturating_mul(scale), i128::from(n))))
}

/// `n / d` for a non-negative `n` and a positive `d`, rounded half up.
const fn div_round(n: i128, d: i128) -> i128 {
    (n + d / 2) / d
}

/// Records summed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The price book the records were priced with.
    pub book: String,
    /// Its currency.
    pub currency: String,
    /// By platform, then function.
    pub groups: Vec<Group>,
    /// What every priced invocation cost.
    pub total: Money,
    /// Invocations not priced.
    pub unpriced: u64,
    /// Each decision's own cost, by decision id: the records of score
    /// requests that name the decision they made and were priced.
    pub decisions: BTreeMap<String, Money>,
}

impl Summary {
    /// Sums `records` (already priced, or noted as unpriced) of `book`.
    #[must_use]
    pub fn of(records: &[CostRecord], book: &str, currency: &str) -> Self {
        let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
        let mut decisions = BTreeMap::new();
        for r in records {
            if let (Some(id), Some(total)) = (&r.decision_id, r.total) {
                decisions.insert(id.clone(), total);
            }
            let key = (r.platform.book_name().to_owned(), r.function.clone());
            let group = groups.entry(key).or_insert_with(|| Group {
                platform: r.platform,
                function: r.function.clone(),
                memory_mb: 0,
                invocations: 0,
                records_in: 0,
                priced: 0,
                cost: Money::ZERO,
                unpriced: BTreeMap::new(),
            });
            group.memory_mb = group.memory_mb.max(r.memory_mb);
            group.invocations += 1;
            group.records_in += r.records_in;
            match (r.total, &r.unpriced) {
                (Some(total), _) => {
                    group.priced += 1;
                    group.cost += total;
                }
                (None, why) => {
                    let why = why.clone().unwrap_or_else(|| "not priced".into());
                    *group.unpriced.entry(why).or_default() += 1;
                }
            }
        }
        let groups: Vec<Group> = groups.into_values().collect();
        Self {
            book: book.to_owned(),
            currency: currency.to_owned(),
            total: groups.iter().map(|g| g.cost).sum(),
            unpriced: groups
                .iter()
                .map(|g| g.unpriced.values().sum::<u64>())
                .sum(),
            groups,
            decisions,
        }
    }

    /// What a decision cost on average over the decisions whose own cost
    /// is known, each the exact cost of the request that made it.
    #[must_use]
    pub fn per_decision(&self) -> Option<Money> {
        share(self.decisions_total(), self.decisions.len() as u64, 1)
    }

    /// What a million events cost: every priced record's total over the
    /// events ingest took in. `None` when some were not priced or none
    /// carried an event.
    #[must_use]
    pub fn per_million_events(&self) -> Option<Money> {
        if self.unpriced > 0 {
            return None;
        }
        share(self.total, self.events(), 1_000_000)
    }

    /// What a million decisions cost, each at its own request's cost.
    #[must_use]
    pub fn per_million_decisions(&self) -> Option<Money> {
        share(
            self.decisions_total(),
            self.decisions.len() as u64,
            1_000_000,
        )
    }

    fn decisions_total(&self) -> Money {
        self.decisions.values().copied().sum()
    }

    /// The records the ingest functions took in: the events the summed
    /// stretch carried.
    #[must_use]
    pub fn events(&self) -> u64 {
        self.groups
            .iter()
            .filter(|g| g.function == "ingest")
            .map(|g| g.records_in)
            .sum()
    }

    /// What a month costs at `events_per_second`, if the summed records'
    /// cost per event holds: `None` when they carried no event or some
    /// were not priced (a projection from part of the cost would be low).
    #[must_use]
    pub fn month_at(&self, events_per_second: Decimal) -> Option<Money> {
        if self.unpriced > 0 {
            return None;
        }
        let events = self.events();
        if events == 0 {
            return None;
        }
        // total × rate × seconds / events, with the rate's decimals.
        let rate = events_per_second.at_scale(6).ok()?;
        let numerator = self
            .total
            .femto()
            .checked_mul(i128::try_from(rate).ok()?)?
            .checked_mul(i128::from(SECONDS_PER_MONTH))?;
        Some(Money::from_femto(div_round(
            numerator,
            i128::from(events) * 1_000_000,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::PriceBook;
    use crate::rules::{Arch, Measured, Sizing};
    use tailor_core::report::InvocationReport;

    fn record(function: &str, records_in: u64, duration_us: u64) -> CostRecord {
        let mut report = InvocationReport::new(function);
        report.records_in = records_in;
        let sizing = Sizing {
            platform: Platform::Aws,
            region: "aws/us-east-1".into(),
            memory_mb: 1_024,
            arch: Arch::Arm64,
            milli_vcpu: 1_000,
        };
        let measured = Measured {
            duration_us,
            ..Measured::default()
        };
        CostRecord::of(
            &PriceBook::default_book().expect("book"),
            &sizing,
            &report,
            &measured,
        )
        .expect("priced")
    }

    #[test]
    fn records_sum_by_function_and_project_a_month() {
        // Two ingest invocations of 100 records and 10 ms each at 1,024 MB
        // arm64: each 0.01 GB-s × 0.0000133334 + 0.0000002 = 0.000000333334.
        let records = [record("ingest", 100, 10_000), record("ingest", 100, 10_000)];
        let summary = Summary::of(&records, "b", "USD");
        assert_eq!(summary.groups.len(), 1);
        let ingest = &summary.groups[0];
        assert_eq!((ingest.invocations, ingest.records_in), (2, 200));
        assert_eq!(summary.total.to_string(), "0.000000666668");
        assert_eq!(
            ingest.per_invocation().expect("priced").to_string(),
            "0.000000333334"
        );
        // 0.000000666668 / 200 × 1e6 = 0.00333334
        assert_eq!(
            ingest.per_million_records().expect("priced").to_string(),
            "0.00333334"
        );
        // At 100 events a second for 2,628,000 s: 0.00333334 × 262.8.
        let month = summary
            .month_at("100".parse().expect("rate"))
            .expect("month");
        assert_eq!(month.fixed(6), "0.876002");
    }

    #[test]
    fn a_projection_from_part_of_the_cost_is_refused() {
        let mut unpriced = record("ingest", 10, 1_000);
        unpriced.total = None;
        unpriced.unpriced = Some("no price".into());
        let summary = Summary::of(&[record("ingest", 10, 1_000), unpriced], "b", "USD");
        assert_eq!(summary.unpriced, 1);
        assert_eq!(summary.month_at("1".parse().expect("rate")), None);
        assert_eq!(summary.groups[0].per_million_records(), None);
    }
}
