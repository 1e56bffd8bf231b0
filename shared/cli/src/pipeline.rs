//! The local pipeline: ingest → enrich → features / consent, chained in one
//! process over the embedded store.
//!
//! Each batch runs through every function before the next batch starts, the
//! way a stream of small Lambda or Cloud Run invocations would. Records a
//! function asks to retry are delivered to it again, up to [`ATTEMPTS`]
//! times, as Lambda does for a Kinesis batch; what still fails is reported.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use std::sync::atomic::AtomicU64;
use tailor_consent::Consent;
use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::contract::Contract;
use tailor_core::decode::Limits;
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::ingest::Ingestor;
use tailor_core::policy::Policy;
use tailor_core::ports::{Clock, Metered, Table, Topic};
use tailor_core::report::InvocationReport;
use tailor_core::score::{Catalog, DecisionRecord, DecisionRequest, Model, PolicyMemo};
use tailor_core::state;
use tailor_core::token::TokenKey;
use tailor_enrich::Enrich;
use tailor_features::Features;
use tailor_ingest::Ingest;
use tailor_local::{LocalStore, Queue, ReplayClock};
use tailor_model::LoadedModel;
use tailor_score::Score;

/// How many times a record asking for a retry is delivered again.
pub const ATTEMPTS: usize = 3;

/// The functions, in pipeline order.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Ingest,
    Enrich,
    Features,
    Consent,
}

impl Stage {
    const fn name(self) -> &'static str {
        match self {
            Self::Ingest => tailor_ingest::NAME,
            Self::Enrich => tailor_enrich::NAME,
            Self::Features => tailor_features::NAME,
            Self::Consent => tailor_consent::NAME,
        }
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
    fn absorb(&mut self, outcome: &BatchOutcome) {
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

/// The functions wired to the local platform.
pub struct LocalPipeline {
    policy: &'static Policy,
    ingestor: Ingestor<'static>,
    store: Metered<LocalStore>,
    queue: Queue,
    clock: Arc<ReplayClock>,
    catalog: Catalog,
    model: Option<LoadedModel>,
    challenger: Option<LoadedModel>,
    nonce: AtomicU64,
    memo: PolicyMemo<'static>,
}

impl std::fmt::Debug for LocalPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalPipeline").finish_non_exhaustive()
    }
}

/// How a pipeline is set up.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Where state lives; `None` keeps it in memory.
    pub state: Option<std::path::PathBuf>,
    /// The tokenization key.
    pub key: TokenKey,
    /// Record limits.
    pub limits: Limits,
    /// Expire items by the replayed records' time (true) or the wall clock.
    pub replay_clock: bool,
}

impl LocalPipeline {
    /// Loads policy and schemas and opens the store.
    ///
    /// # Errors
    /// Policy, schema or store set-up fails.
    pub fn open(config: PipelineConfig) -> anyhow::Result<Self> {
        let policy: &'static Policy = Box::leak(Box::new(Policy::shipped()?));
        let contract = Contract::global().map_err(|e| anyhow::anyhow!("{e}"))?;
        let clock = Arc::new(ReplayClock::new(Timestamp::from_millis(0)));
        let store = match &config.state {
            Some(path) => LocalStore::open(path)?,
            None => LocalStore::in_memory()?,
        };
        let store = if config.replay_clock {
            store.with_clock(Box::new(Arc::clone(&clock)))
        } else {
            store
        };
        Ok(Self {
            policy,
            ingestor: Ingestor::new(contract, policy, config.limits, config.key),
            store: Metered::new(store),
            queue: Queue::new(),
            clock,
            catalog: Catalog::shipped()?,
            model: None,
            challenger: None,
            nonce: AtomicU64::new(0),
            memo: PolicyMemo::new(policy),
        })
    }

    /// Uses `model` for decisions (without one, decisions use rules only).
    #[must_use]
    pub fn with_model(mut self, model: Option<LoadedModel>) -> Self {
        self.model = model;
        self
    }

    /// Scores every decision with `challenger` too, logging its score beside
    /// the decision; it is never acted on.
    #[must_use]
    pub fn with_challenger(mut self, challenger: Option<LoadedModel>) -> Self {
        self.challenger = challenger;
        self
    }

    /// The model decisions use, if any.
    #[must_use]
    pub const fn model(&self) -> Option<&LoadedModel> {
        self.model.as_ref()
    }

    fn score(&self) -> Score<'_, Metered<LocalStore>, TokioTimer> {
        Score {
            policy: self.policy,
            memo: &self.memo,
            catalog: &self.catalog,
            store: &self.store,
            model: self.model.as_ref().map(|m| m as &dyn Model),
            challenger: self.challenger.as_ref().map(|m| m as &dyn Model),
            nonce: &self.nonce,
            timer: &TokioTimer,
            store_budget: tailor_score::DEFAULT_STORE_BUDGET,
        }
    }

    /// Makes, logs and returns a decision.
    ///
    /// # Errors
    /// The decision could not be logged (it is still returned in the error's context).
    pub async fn decide(
        &self,
        request: &DecisionRequest,
        now: Timestamp,
    ) -> (DecisionRecord, Result<(), tailor_core::ports::StoreError>) {
        let out = self.score().decide(request, now).await;
        if out.1.is_ok()
            && let Err(e) = self.store.inner().flush()
        {
            return (out.0, Err(e));
        }
        out
    }

    /// A logged decision.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn decision(
        &self,
        id: &str,
    ) -> Result<Option<DecisionRecord>, tailor_core::ports::StoreError> {
        self.score().fetch(id).await
    }

    /// Archives enriched events (the offline log the backfill reads) to
    /// `path`, appending to what it holds unless `fresh`.
    ///
    /// # Errors
    /// The file cannot be opened or created.
    pub fn archive_enriched(&self, path: &Path, fresh: bool) -> std::io::Result<()> {
        self.queue.archive(Topic::Enriched, path, fresh)
    }

    /// The policy in force.
    #[must_use]
    pub const fn policy(&self) -> &'static Policy {
        self.policy
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &LocalStore {
        self.store.inner()
    }

    /// Runs one batch of raw records through every function.
    pub async fn process(&self, records: &[Record], report: &mut RunReport) -> BatchOutcome {
        for r in records {
            self.clock.advance(r.received_at);
        }
        let first = self.deliver(report, records, Stage::Ingest).await;
        let ingested = self.take(Topic::Ingested, "ingested");
        self.deliver(report, &ingested, Stage::Enrich).await;
        let enriched = self.take(Topic::Enriched, "enriched");
        self.deliver(report, &enriched, Stage::Features).await;
        let changes = self.take(Topic::ConsentChanges, "consent");
        self.deliver(report, &changes, Stage::Consent).await;
        first
    }

    /// Makes all state so far durable.
    ///
    /// # Errors
    /// The store or an archive cannot be flushed.
    pub fn flush(&self) -> anyhow::Result<()> {
        self.store.inner().flush()?;
        self.queue.flush()?;
        Ok(())
    }

    fn take(&self, topic: Topic, label: &str) -> Vec<Record> {
        let now = self.clock.now();
        self.queue
            .drain(topic)
            .into_iter()
            .enumerate()
            .map(|(i, m)| Record {
                id: format!("{label}:{i}"),
                bytes: m.payload,
                received_at: now,
            })
            .collect()
    }

    /// Delivers a batch, then the records that asked for a retry, up to [`ATTEMPTS`] times.
    /// Returns the final disposition of every record, in input order.
    /// One invocation of one function.
    async fn invoke(&self, stage: Stage, batch: &[Record]) -> BatchOutcome {
        match stage {
            Stage::Ingest => {
                Ingest {
                    ingestor: &self.ingestor,
                    policy: self.policy,
                    store: &self.store,
                    publisher: &self.queue,
                }
                .handle(batch)
                .await
            }
            Stage::Enrich => {
                Enrich {
                    policy: self.policy,
                    store: &self.store,
                    publisher: &self.queue,
                }
                .handle(batch)
                .await
            }
            Stage::Features => {
                Features {
                    policy: self.policy,
                    store: &self.store,
                }
                .handle(batch)
                .await
            }
            Stage::Consent => {
                Consent {
                    policy: self.policy,
                    store: &self.store,
                }
                .handle(batch)
                .await
            }
        }
    }

    async fn deliver(
        &self,
        report: &mut RunReport,
        records: &[Record],
        stage: Stage,
    ) -> BatchOutcome {
        let first = self.invoke(stage, records).await;
        report.absorb(&first);
        let mut outcome = first;
        for _ in 1..ATTEMPTS {
            let retry: Vec<Record> = records
                .iter()
                .zip(&outcome.dispositions)
                .filter(|(_, (_, d))| !d.acknowledges())
                .map(|(r, _)| r.clone())
                .collect();
            if retry.is_empty() {
                break;
            }
            let next = self.invoke(stage, &retry).await;
            report.absorb(&next);
            let mut updated = next.dispositions.into_iter();
            for slot in &mut outcome.dispositions {
                if !slot.1.acknowledges()
                    && let Some((_, d)) = updated.next()
                {
                    slot.1 = d;
                }
            }
        }
        // Like a stream's on-failure destination: what still fails is set
        // aside with its bytes, so it can be replayed, never lost.
        for (record, (_, disposition)) in records.iter().zip(&mut outcome.dispositions) {
            if disposition.acknowledges() {
                continue;
            }
            report.unresolved += 1;
            let reason = DeadLetterReason::RetriesExhausted;
            let detail = format!("{} still failing after {ATTEMPTS} attempts", stage.name());
            let kept = state::dead_letter(
                self.store.inner(),
                self.policy,
                stage.name(),
                reason,
                detail,
                &record.bytes,
                record.received_at,
            )
            .await;
            if kept.is_ok() {
                *disposition = Disposition::DeadLettered { reason };
            }
        }
        outcome
    }

    /// The feature state as canonical JSON lines: every per-key input and
    /// every profile's features, by key, without storage versions.
    ///
    /// # Errors
    /// The store cannot be read.
    pub fn feature_state(&self) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        for table in [Table::FeatureInputs, Table::Features] {
            for (key, item) in self.store.inner().scan(table)? {
                let value: serde_json::Value = serde_json::from_slice(&item.value)?;
                serde_json::to_writer(&mut out, &(table.as_str(), key, value, item.expires_at))?;
                out.push(b'\n');
            }
        }
        Ok(out)
    }
}

/// The core's timer port on tokio.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

impl tailor_core::ports::Timer for TokioTimer {
    fn sleep(&self, duration: std::time::Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}
