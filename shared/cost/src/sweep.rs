//! A Lambda memory sweep: a function's duration and cost modelled at each
//! memory size from the CPU time one invocation needs, in the manner of
//! aws-lambda-power-tuning but without deploying anything.
//!
//! The model, stated in every sweep ([`ASSUMPTIONS`]):
//!
//! - Lambda gives a function CPU in proportion to its memory: 1,769 MB is
//!   one vCPU ([`FULL_VCPU_MB`]). Below it an invocation's CPU time
//!   stretches by `1769 / memory`; above it a single-threaded handler gains
//!   nothing (more vCPUs, one thread).
//! - The time an invocation waits (store and stream round trips) does not
//!   depend on memory.
//! - Duration is billed up to the next millisecond, at the book's price per
//!   GB-second for the architecture, plus the price of one request.
//! - Store and stream units do not depend on memory, so they are left out:
//!   the sweep compares sizes, and those lines are the same at each.
//!
//! The cheapest size is the one with the lowest cost per invocation (the
//! smaller on a tie); the fastest is the one with the shortest duration
//! (the cheaper on a tie); the fastest within a budget is the fastest whose
//! cost per million invocations is at most the budget.

use serde::Serialize;
use tailor_core::report::InvocationReport;

use crate::CostError;
use crate::book::PriceBook;
use crate::decimal::Money;
use crate::price;
use crate::rules::{self, Arch, Measured, Platform, Sizing};

/// Lambda's memory at which a function has one full vCPU, in MB.
pub const FULL_VCPU_MB: u32 = 1_769;

/// The sizes swept by default, in MB: the power-tuning tool's list and the
/// one-vCPU point.
pub const LAMBDA_SIZES_MB: [u32; 8] = [128, 256, 512, 1_024, 1_536, 1_769, 2_048, 3_008];

/// The model's assumptions, as a report states them.
pub const ASSUMPTIONS: [&str; 4] = [
    "CPU in proportion to memory: 1,769 MB is one vCPU; below it, CPU time stretches by 1769/memory; above it a single-threaded handler gains nothing",
    "time spent waiting on stores and streams does not change with memory",
    "duration billed up to the next millisecond at the book's GB-second price for the architecture, plus one request",
    "store and stream units are the same at every size and are left out of the comparison",
];

/// What one invocation of a function needs, measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// The function.
    pub function: String,
    /// CPU time per invocation with at least one full vCPU, in
    /// microseconds.
    pub cpu_us: u64,
    /// Time per invocation spent waiting, in microseconds.
    pub wait_us: u64,
}

/// One memory size's modelled duration and cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizeCost {
    /// Memory, in MB.
    pub memory_mb: u32,
    /// Modelled duration of one invocation, in microseconds.
    pub duration_us: u64,
    /// The duration billed, in milliseconds.
    pub billed_ms: u64,
    /// Duration and request cost of one invocation.
    pub per_invocation: Money,
    /// The same for a million invocations.
    pub per_million: Money,
}

/// One function's sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// What was measured.
    pub workload: Workload,
    /// The book's region priced in.
    pub region: String,
    /// The architecture priced.
    pub arch: Arch,
    /// Each size, smallest first.
    pub sizes: Vec<SizeCost>,
    /// The cheapest size, in MB.
    pub cheapest_mb: u32,
    /// The fastest size, in MB.
    pub fastest_mb: u32,
    /// The fastest size whose cost per million invocations is within the
    /// budget, when one was given and some size meets it.
    pub fastest_within_budget_mb: Option<u32>,
}

/// The modelled duration of `workload` at `memory_mb`, in microseconds.
#[must_use]
pub fn duration_us(workload: &Workload, memory_mb: u32) -> u64 {
    let cpu = if memory_mb >= FULL_VCPU_MB {
        workload.cpu_us
    } else {
        (workload.cpu_us * u64::from(FULL_VCPU_MB)).div_ceil(u64::from(memory_mb.max(1)))
    };
    cpu + workload.wait_us
}

/// Sweeps `workload` over `sizes` (MB) on Lambda in `region` with `arch`.
///
/// # Errors
/// A region or price item the book lacks, or no sizes.
pub fn lambda(
    book: &PriceBook,
    region: &str,
    arch: Arch,
    workload: &Workload,
    sizes: &[u32],
    budget_per_million: Option<Money>,
) -> Result<Sweep, CostError> {
    let mut sizes: Vec<u32> = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    let mut rows = Vec::with_capacity(sizes.len());
    for memory_mb in sizes {
        let sizing = Sizing {
            platform: Platform::Aws,
            region: region.to_owned(),
            memory_mb,
            arch,
            milli_vcpu: 1_000,
        };
        let duration_us = duration_us(workload, memory_mb);
        let measured = Measured {
            duration_us,
            init_us: None,
        };
        let usage = rules::usage(
            &sizing,
            &InvocationReport::new(&workload.function),
            &measured,
        )?;
        let priced = price::price(book, region, &usage)?;
        let per_million = price::price(book, region, &usage.times(1_000_000))?.total;
        rows.push(SizeCost {
            memory_mb,
            duration_us,
            billed_ms: rules::billed_ms(duration_us, rules::LAMBDA_STEP_MS),
            per_invocation: priced.total,
            per_million,
        });
    }
    let cheapest_mb = rows
        .iter()
        .min_by_key(|r| (r.per_million, r.memory_mb))
        .map(|r| r.memory_mb)
        .ok_or_else(|| CostError::Invalid("a sweep needs at least one size".to_owned()))?;
    let fastest = |within: Option<Money>| {
        rows.iter()
            .filter(|r| within.is_none_or(|b| r.per_million <= b))
            .min_by_key(|r| (r.duration_us, r.per_million))
            .map(|r| r.memory_mb)
    };
    let fastest_mb = fastest(None).unwrap_or(cheapest_mb);
    let fastest_within_budget_mb = budget_per_million.and_then(|b| fastest(Some(b)));
    Ok(Sweep {
        workload: workload.clone(),
        region: region.to_owned(),
        arch,
        sizes: rows,
        cheapest_mb,
        fastest_mb,
        fastest_within_budget_mb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::Decimal;

    fn book() -> PriceBook {
        PriceBook::default_book().unwrap()
    }

    /// `w` swept over the default sizes on arm64 in us-east-1.
    fn swept(w: &Workload, budget: Option<Money>) -> Sweep {
        lambda(
            &book(),
            "aws/us-east-1",
            Arch::Arm64,
            w,
            &LAMBDA_SIZES_MB,
            budget,
        )
        .unwrap()
    }

    fn work(cpu_us: u64, wait_us: u64) -> Workload {
        Workload {
            function: "enrich".into(),
            cpu_us,
            wait_us,
        }
    }

    #[test]
    fn cpu_time_stretches_below_one_vcpu_and_not_above() {
        let w = work(10_000, 2_000);
        // 10 ms of CPU at 128 MB: 10 × 1769 / 128 = 138.203… ms, rounded up.
        assert_eq!(duration_us(&w, 128), 138_204 + 2_000);
        assert_eq!(duration_us(&w, 1_769), 12_000);
        assert_eq!(duration_us(&w, 3_008), 12_000);
    }

    #[test]
    fn a_sweep_prices_each_size_from_the_book() {
        let w = work(10_000, 2_000);
        let sweep = swept(&w, None);
        assert_eq!(sweep.sizes.len(), LAMBDA_SIZES_MB.len());
        // 140.204 ms at 128 MB is billed as 141 ms; 12 ms at one vCPU as 12.
        assert_eq!(sweep.sizes[0].billed_ms, 141);
        assert_eq!(sweep.sizes[5].billed_ms, 12);
        // Each size costs its memory × billed time at the book's duration
        // price plus one request, and nothing else.
        let b = book();
        for row in &sweep.sizes {
            let mb_ms = u128::from(row.memory_mb) * u128::from(row.billed_ms);
            let expected = price::price(&b, "aws/us-east-1", &{
                let mut u = price::Usage::default();
                u.add("lambda.duration.arm64", mb_ms);
                u.add("lambda.requests", 1);
                u
            })
            .unwrap()
            .total;
            assert_eq!(row.per_invocation, expected, "{row:?}");
            assert!(row.per_invocation > Money::ZERO);
        }
        // A CPU-bound function costs about the same below one vCPU (memory
        // and time trade off) and more above it; the fastest is at one vCPU
        // or more, the smallest such on a tie in time goes to the cheaper.
        assert_eq!(sweep.fastest_mb, 1_769);
        assert!(sweep.cheapest_mb < 1_769, "{sweep:?}");
    }

    #[test]
    fn a_waiting_function_is_cheapest_small_and_a_budget_picks_the_fastest_it_allows() {
        // 1 ms of CPU, 20 ms waiting on stores: memory buys almost nothing.
        let w = work(1_000, 20_000);
        let sweep = swept(&w, None);
        assert_eq!(sweep.cheapest_mb, 128);
        assert_eq!(sweep.fastest_mb, 1_769);
        let at = |mb: u32| sweep.sizes.iter().find(|r| r.memory_mb == mb).unwrap();
        // A budget between the 512 MB and 1,024 MB costs allows 512 MB at most.
        let budget = at(512).per_million;
        assert!(at(1_024).per_million > budget);
        let within = swept(&w, Some(budget));
        assert_eq!(within.fastest_within_budget_mb, Some(512));
        // No size meets a budget below the cheapest.
        let none = swept(&w, Some(Money::of(Decimal::new(0, 0).unwrap()).unwrap()));
        assert_eq!(none.fastest_within_budget_mb, None);
    }

    #[test]
    fn a_region_without_lambda_prices_is_an_error() {
        assert!(matches!(
            lambda(
                &book(),
                "aws/eu-west-1",
                Arch::Arm64,
                &work(1, 1),
                &[128],
                None
            ),
            Err(CostError::UnknownRegion { .. } | CostError::UnknownItem { .. })
        ));
    }
}
