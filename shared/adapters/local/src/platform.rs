//! The local platform: the five functions over the embedded store and an
//! in-process queue, each batch chained through every stage in one process
//! (the runtime's [`chain`](tailor_runtime::chain)), the way a stream of
//! small invocations would run it.

use std::path::Path;

use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::disposition::Disposition;
use tailor_core::policy::Policy;
use tailor_core::ports::{StoreError, Table, Topic};
use tailor_core::score::{DecisionRecord, DecisionRequest};
use tailor_runtime::http::Backend;
use tailor_runtime::{
    Capabilities, Function, Functions, LoadedModel, RunReport, Settings, TokioTimer,
};

use crate::{LocalStore, Queue};

/// The functions wired to the local platform.
pub struct LocalPlatform {
    functions: Functions<LocalStore, Queue, TokioTimer>,
    /// One batch at a time through the chain: one writer per profile.
    chain: tokio::sync::Mutex<()>,
    /// The list of exports erasures must reach, once tracked.
    exports: std::sync::Mutex<Option<std::path::PathBuf>>,
}

impl std::fmt::Debug for LocalPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalPlatform")
            .field("functions", &self.functions)
            .finish_non_exhaustive()
    }
}

impl LocalPlatform {
    /// Opens the store at `state` (in memory when `None`) and builds
    /// `functions` from `settings`. With [`ClockMode::Arrival`], items
    /// expire by the time of the records replayed, so replays are
    /// deterministic.
    ///
    /// # Errors
    /// The store cannot be opened, or the functions cannot be built.
    pub fn open(
        state: Option<&Path>,
        settings: &Settings,
        functions: &[Function],
    ) -> anyhow::Result<Self> {
        Self::assemble(Self::open_store(state)?, Queue::new(), settings, functions)
    }

    /// [`Self::open`], with the store and the queue counting what each
    /// call would bill on each cloud (DynamoDB and Kinesis, Firestore and
    /// Pub/Sub units, by the formulas those adapters count with): the
    /// reports' `billed` then say what the run would cost on each.
    ///
    /// # Errors
    /// The store cannot be opened, or the functions cannot be built.
    pub fn open_counting_cloud_units(
        state: Option<&Path>,
        settings: &Settings,
        functions: &[Function],
    ) -> anyhow::Result<Self> {
        Self::assemble(
            Self::open_store(state)?.counting_cloud_units(),
            Queue::new().counting_cloud_units(),
            settings,
            functions,
        )
    }

    fn open_store(state: Option<&Path>) -> anyhow::Result<LocalStore> {
        Ok(match state {
            Some(path) => LocalStore::open(path)?,
            None => LocalStore::in_memory()?,
        })
    }

    fn assemble(
        store: LocalStore,
        publisher: Queue,
        settings: &Settings,
        functions: &[Function],
    ) -> anyhow::Result<Self> {
        let capabilities = Capabilities {
            store,
            publisher,
            timer: TokioTimer,
        };
        Ok(Self {
            functions: Functions::build(settings, functions, capabilities)?,
            chain: tokio::sync::Mutex::new(()),
            exports: std::sync::Mutex::new(None),
        })
    }

    /// The functions.
    #[must_use]
    pub const fn functions(&self) -> &Functions<LocalStore, Queue, TokioTimer> {
        &self.functions
    }

    /// The policy in force.
    #[must_use]
    pub const fn policy(&self) -> &'static Policy {
        self.functions.policy()
    }

    /// The store.
    #[must_use]
    pub const fn store(&self) -> &LocalStore {
        self.functions.store().inner()
    }

    /// The model decisions use, if any.
    #[must_use]
    pub fn model(&self) -> Option<&LoadedModel> {
        self.functions.model()
    }

    /// Archives enriched events (the offline log the backfill reads) to
    /// `path`, appending to what it holds unless `fresh`.
    ///
    /// # Errors
    /// The file cannot be opened or created.
    pub fn archive_enriched(&self, path: &Path, fresh: bool) -> std::io::Result<()> {
        self.functions
            .publisher()
            .archive(Topic::Enriched, path, fresh)
    }

    /// Makes erasures reach the exports listed in `list` (see
    /// [`crate::offline::purge::record_export`]) as well as the offline log.
    pub fn track_exports(&self, list: &Path) {
        if let Ok(mut exports) = self.exports.lock() {
            *exports = Some(list.to_owned());
        }
    }

    /// Runs one batch of raw records through every function; returns
    /// ingest's final disposition of each.
    pub async fn process(&self, records: &[Record], report: &mut RunReport) -> BatchOutcome {
        let _one_at_a_time = self.chain.lock().await;
        self.functions.chain(records, report).await.ingest
    }

    /// Makes all state so far durable.
    ///
    /// # Errors
    /// The store or an archive cannot be flushed.
    pub fn flush(&self) -> anyhow::Result<()> {
        self.store().flush()?;
        let exports = self.exports.lock().ok().and_then(|e| e.clone());
        crate::offline::purge::erased_from_archive(
            self.store(),
            self.functions.publisher(),
            exports.as_deref(),
        )?;
        self.functions.publisher().flush()?;
        Ok(())
    }

    /// Makes, logs and returns a decision; it is durable before this returns.
    ///
    /// # Errors
    /// The decision could not be logged (it is still returned), or this
    /// platform was opened without score.
    pub async fn decide(
        &self,
        request: &DecisionRequest,
        now: Timestamp,
    ) -> Result<(DecisionRecord, Result<(), StoreError>), NoScore> {
        tailor_runtime::http::decide(self, request, now)
            .await
            .ok_or(NoScore)
    }

    /// A logged decision.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn decision(&self, id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        self.functions.decision(id).await
    }

    /// The feature state as canonical JSON lines: every per-key input and
    /// every profile's features, by key, without storage versions.
    ///
    /// # Errors
    /// The store cannot be read.
    pub fn feature_state(&self) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        for table in [Table::FeatureInputs, Table::Features] {
            for (key, item) in self.store().scan(table)? {
                let value: serde_json::Value = serde_json::from_slice(&item.value)?;
                serde_json::to_writer(&mut out, &(table.as_str(), key, value, item.expires_at))?;
                out.push(b'\n');
            }
        }
        Ok(out)
    }
}

/// The platform was opened without the score function.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("this platform was opened without the score function")]
pub struct NoScore;

impl Backend for LocalPlatform {
    type Store = LocalStore;
    type Publisher = Queue;
    type Timer = TokioTimer;

    fn functions(&self) -> &Functions<LocalStore, Queue, TokioTimer> {
        &self.functions
    }

    async fn accept(&self, records: Vec<Record>) -> BatchOutcome {
        let mut report = RunReport::default();
        let mut outcome = {
            // One request at a time, its whole batch under the lock: work
            // bounded by the HTTP API's cap on records a request
            // (`tailor_runtime::http::MAX_RECORDS`).
            let _one_at_a_time = self.chain.lock().await;
            self.functions.take_in(&records, &mut report).await
        };
        if let Err(e) = self.flush() {
            // Not durable: the client must send again.
            tracing::warn!(error = %e, "flush failed");
            for (_, d) in &mut outcome.dispositions {
                *d = Disposition::Retry;
            }
        }
        outcome
    }

    fn commit(&self) -> Result<(), StoreError> {
        self.store().flush()
    }
}
