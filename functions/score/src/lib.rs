//! The score function: a decision request → a logged, explained decision.
//!
//! It resolves the requested key to its profile through the identity graph,
//! loads the profile's features and consent ledger (a failed load becomes
//! the store-unavailable fallback, never an error to the caller), runs the
//! core's decision step with the model, and appends the record to the
//! decision log, keyed by decision id and sealed under the profile's
//! subject key (an erasure makes it unreadable).
//!
//! The slow lane is read only when the placement reads it and the decision
//! needs it: with the rest when the model takes a slow-lane feature, else
//! after a decision that real-time features could not make (unavailable,
//! missing or stale), which is then made again with the profile's batch
//! score.
//!
//! Store calls run under a latency budget: the reads together get
//! [`Score::store_budget`], and so does the log write. A store slower than
//! that is treated as unavailable, so a caller gets the safe default in
//! bounded time instead of waiting on a degraded store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tailor_core::Timestamp;
use tailor_core::errors::ScoreError;
use tailor_core::features::ProfileState;
use tailor_core::features::is_slow;
use tailor_core::policy::RegionChecks;
use tailor_core::ports::{Store, StoreError, Table, Timer, within};
use tailor_core::score::{
    self, Catalog, DecisionRecord, DecisionRequest, Fallback, Lane, Loaded, LoggedDecision, Model,
    PolicyMemo,
};
use tailor_core::tables::Tables;
use tracing::{info, warn};

/// The function's name in reports and logs.
pub const NAME: &str = "score";

/// The default budget for store calls, per decision: reads together, and
/// the log write.
pub const DEFAULT_STORE_BUDGET: Duration = Duration::from_millis(50);

/// Everything the function needs, created once per process.
pub struct Score<'a, S, T> {
    /// The tables, with the policy and the tokenization key.
    pub tables: Tables<'a, S>,
    /// Policy answers remembered across decisions.
    pub memo: &'a PolicyMemo<'a>,
    /// The decision catalog.
    pub catalog: &'a Catalog,
    /// The model, if one loaded (without one, decisions use rules only).
    pub model: Option<&'a dyn Model>,
    /// A challenger, scored beside the model and logged, never acted on.
    pub challenger: Option<&'a dyn Model>,
    /// Makes decision ids unique within the process.
    pub nonce: &'a AtomicU64,
    /// The platform's timer, which enforces the store budget.
    pub timer: &'a T,
    /// How long the store may take: once for the reads, once for the log write.
    pub store_budget: Duration,
    /// Which regions' data this deployment may process.
    pub regions: &'a RegionChecks,
}

impl<S, T> std::fmt::Debug for Score<'_, S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Score")
            .field("model", &self.model.map(Model::info))
            .field("store_budget", &self.store_budget)
            .finish_non_exhaustive()
    }
}

/// Loads a profile's state and ledger, and evaluates its features as of
/// `now`: windows are measured back from the decision, not from the
/// person's last event. The slow lane is read with them when `slow` says
/// so. Also returns whether the key named someone known.
async fn load<S: Store>(
    tables: Tables<'_, S>,
    key: &str,
    now: Timestamp,
    slow: bool,
) -> (Loaded, bool) {
    let (profile_id, members) = match tables.resolve_person(key).await {
        Ok(Some(r)) => r,
        // Names no one known: nothing personal is read, so nothing is
        // personalized from a guess.
        Ok(None) => {
            let nobody = Loaded {
                profile_id: key.to_owned(),
                features: Ok(None),
                ledger: Ok(tailor_core::consent::Ledger::default()),
                slow: Ok(None),
            };
            return (nobody, false);
        }
        Err(e) => {
            let failed = Loaded {
                profile_id: key.to_owned(),
                features: Err(e.clone().into()),
                ledger: Err(e.clone().into()),
                slow: Err(e.into()),
            };
            return (failed, false);
        }
    };
    let features = match tables.store().get(Table::Features, &profile_id).await {
        Ok(Some(item)) => serde_json::from_slice::<ProfileState>(&item.value)
            .map(|state| Some(state.evaluate(now)))
            .map_err(|e| StoreError::Corrupt(e.to_string()).into()),
        Ok(None) => Ok(None),
        Err(e) => Err(e.into()),
    };
    let ledger = tables.ledger_of(&members).await.map_err(ScoreError::from);
    let slow = if slow {
        tables
            .slow_lane(&profile_id)
            .await
            .map_err(ScoreError::from)
    } else {
        Ok(None)
    };
    let loaded = Loaded {
        profile_id,
        features,
        ledger,
        slow,
    };
    (loaded, true)
}

impl<S: Store, T: Timer> Score<'_, S, T> {
    /// Decides and logs. The decision is returned even when logging fails
    /// (with the error), so a caller can still show the safe choice. A
    /// request for a region this deployment does not hold gets the
    /// placement's default (fallback `out_of_region`), reads nothing and is
    /// not logged: nothing about the person may be kept outside their region.
    ///
    /// # Errors
    /// The store's error when the decision could not be logged.
    pub async fn decide(
        &self,
        request: &DecisionRequest,
        now: Timestamp,
    ) -> (DecisionRecord, Result<(), StoreError>) {
        // Residency first: a request for a region held elsewhere reads
        // nothing and is not logged here.
        let region = self.regions.check(&request.region);
        if !region.allowed {
            let id = score::decision_id(
                "",
                &request.placement,
                now,
                self.nonce.fetch_add(1, Ordering::Relaxed),
            );
            let record = score::out_of_region(id, now, request, self.catalog, region);
            info!(step = NAME, decision = %record.decision_id, "decision for a region held elsewhere: the default, not logged");
            return (record, Ok(()));
        }
        // The slow lane is read with the rest when the model takes one of
        // its features; otherwise only when the decision needs its batch
        // score, so a decision made from fresh features costs no more reads.
        let reads_slow = self
            .catalog
            .placements
            .get(&request.placement)
            .is_some_and(|p| p.reads(Lane::Slow));
        let slow_inputs = self
            .model
            .is_some_and(|m| m.features().iter().any(|n| is_slow(n)));
        let over_budget = || ScoreError::OverBudget {
            ms: u64::try_from(self.store_budget.as_millis()).unwrap_or(u64::MAX),
        };
        let started = Instant::now();
        let (mut loaded, known) = within(
            self.timer.sleep(self.store_budget),
            load(
                self.tables,
                &request.profile,
                now,
                reads_slow && slow_inputs,
            ),
        )
        .await
        .unwrap_or_else(|| {
            let late = Loaded {
                profile_id: request.profile.clone(),
                features: Err(over_budget()),
                ledger: Err(over_budget()),
                slow: Err(over_budget()),
            };
            (late, false)
        });
        let mut load_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let id = score::decision_id(
            &loaded.profile_id,
            &request.placement,
            now,
            self.nonce.fetch_add(1, Ordering::Relaxed),
        );
        let decide = |loaded: &Loaded| {
            score::decide_with(
                id.clone(),
                now,
                request,
                loaded,
                self.catalog,
                self.memo,
                self.model,
            )
        };
        let mut record = decide(&loaded);
        if known
            && reads_slow
            && !slow_inputs
            && loaded.ledger.is_ok()
            && record
                .fallback
                .is_some_and(Fallback::batch_score_may_replace)
        {
            let started = Instant::now();
            loaded.slow = within(
                self.timer.sleep(self.store_budget),
                self.tables.slow_lane(&loaded.profile_id),
            )
            .await
            .map_or_else(|| Err(over_budget()), |r| r.map_err(ScoreError::from));
            load_us += u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            record = decide(&loaded);
        }
        if let Some(challenger) = self.challenger {
            score::shadow(&mut record, challenger);
        }
        record.latency_us.insert("load".into(), load_us);
        let logged = within(
            self.timer.sleep(self.store_budget),
            log(self.tables, &record),
        )
        .await
        .unwrap_or_else(|| {
            Err(StoreError::Unavailable(format!(
                "decision log write exceeded the {} ms budget",
                self.store_budget.as_millis()
            )))
        });
        match &logged {
            Ok(()) => {
                info!(step = NAME, decision = %record.decision_id, action = %record.action, fallback = ?record.fallback, "decision made");
            }
            Err(e) => warn!(step = NAME, error = %e, "decision not logged"),
        }
        (record, logged)
    }

    /// A logged decision.
    ///
    /// # Errors
    /// The store's error, or `Corrupt` for an unreadable record.
    pub async fn fetch(&self, decision_id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        fetch(self.tables, decision_id).await
    }
}

/// Appends `record` to the decision log, sealed under its profile's subject key.
///
/// # Errors
/// The store's error.
pub async fn log<S: Store>(
    tables: Tables<'_, S>,
    record: &DecisionRecord,
) -> Result<(), StoreError> {
    let logged = LoggedDecision {
        decision_id: record.decision_id.clone(),
        at: record.at,
        sealed: tables.seal(&record.profile_id, record.at, record).await?,
    };
    tables
        .append(Table::Decisions, &record.decision_id, &logged, record.at)
        .await
}

/// A logged decision, read from the decision log; `None` when there
/// is none, or when its person has been erased since.
///
/// # Errors
/// The store's error, or `Corrupt` for an unreadable record.
pub async fn fetch<S: Store>(
    tables: Tables<'_, S>,
    decision_id: &str,
) -> Result<Option<DecisionRecord>, StoreError> {
    match tables.store().get(Table::Decisions, decision_id).await? {
        Some(item) => {
            let logged: LoggedDecision = serde_json::from_slice(&item.value)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tables.open(&logged.sealed).await
        }
        None => Ok(None),
    }
}
