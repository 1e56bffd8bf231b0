//! The five functions, built once per process from [`Settings`] and the
//! platform's [`Capabilities`], and invoked by stage.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::OnceLock;
#[cfg(feature = "score")]
use std::sync::atomic::AtomicU64;
#[cfg(feature = "score")]
use std::time::Duration;

#[cfg(feature = "consent")]
use tailor_consent::Consent;
use tailor_core::batch::{BatchOutcome, Invocation, Record};
#[cfg(feature = "ingest")]
use tailor_core::contract::Contract;
use tailor_core::disposition::Disposition;
#[cfg(feature = "score")]
use tailor_core::event::Purpose;
#[cfg(feature = "ingest")]
use tailor_core::ingest::Ingestor;
use tailor_core::policy::Policy;
#[cfg(feature = "score")]
use tailor_core::policy::RegionChecks;
use tailor_core::ports::{Expiring, Metered, Publisher, Store, StoreError, Timer};
use tailor_core::report::InvocationReport;
use tailor_core::score::DecisionRecord;
#[cfg(feature = "score")]
use tailor_core::score::{Catalog, Model, PolicyMemo};
use tailor_core::tables::Tables;
use tailor_core::token::TokenKey;
#[cfg(feature = "enrich")]
use tailor_enrich::Enrich;
#[cfg(feature = "features")]
use tailor_features::Features;
#[cfg(feature = "ingest")]
use tailor_ingest::Ingest;
#[cfg(feature = "score")]
use tailor_model::LoadedModel;
use tailor_score::Score;

use crate::clock::ExpiryClock;
#[cfg(feature = "score")]
use crate::config::ModelSettings;
use crate::config::Settings;
use crate::function::{Function, Stage};
use crate::startup::StartupError;

/// What a platform gives the functions: its store, its publisher and its
/// timer. The store is given the functions' clock when they are built.
#[derive(Debug)]
pub struct Capabilities<S, P, T> {
    /// State.
    pub store: S,
    /// The streams between functions.
    pub publisher: P,
    /// Waiting, for latency budgets.
    pub timer: T,
}

/// The policy bundle shipped with Tailor, loaded and validated once per process.
///
/// # Errors
/// [`StartupError::Policy`] when it does not load.
pub fn shipped_policy() -> Result<&'static Policy, StartupError> {
    policy_for(None)
}

/// The shipped bundle composed with the shipped overlay `overlay` (the
/// base alone for `None`), loaded and validated once per process and
/// overlay.
///
/// # Errors
/// [`StartupError::Policy`] when it does not load, or the overlay is
/// unknown or would widen the base.
pub fn policy_for(overlay: Option<&str>) -> Result<&'static Policy, StartupError> {
    type Loaded = Result<&'static Policy, String>;
    static POLICIES: OnceLock<std::sync::Mutex<BTreeMap<Option<String>, Loaded>>> = OnceLock::new();
    let mut policies = POLICIES
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| StartupError::Policy("policy cache poisoned".to_owned()))?;
    policies
        .entry(overlay.map(str::to_owned))
        .or_insert_with(|| {
            let policy = match overlay {
                None => Policy::shipped(),
                Some(name) => Policy::shipped_with(name),
            };
            // Once per overlay for the life of the process.
            policy
                .map(|p| &*Box::leak(Box::new(p)))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(StartupError::Policy)
}

/// What score needs beyond the store: built only in a process that runs it.
#[cfg(feature = "score")]
struct Decider {
    catalog: Catalog,
    model: Option<LoadedModel>,
    challenger: Option<LoadedModel>,
    memo: PolicyMemo<'static>,
    regions: RegionChecks,
    nonce: AtomicU64,
    store_budget: Duration,
}

/// A build without score has no decider.
#[cfg(not(feature = "score"))]
enum Decider {}

#[cfg(not(feature = "score"))]
impl Decider {
    fn score<'a, X, S, P, T>(&self, _: &'a Functions<S, P, T>, _: &'a X) -> Score<'a, X, T> {
        match *self {}
    }
}

/// Loads a model, or says why decisions go without it. A model without a
/// valid approval, or one that policy does not let serve every purpose
/// its approval lists, is refused: a start-up error, not a quiet fallback.
#[cfg(feature = "score")]
fn load(
    dir: &std::path::Path,
    settings: &ModelSettings,
    role: &str,
    policy: &Policy,
) -> Result<Option<LoadedModel>, StartupError> {
    match LoadedModel::load(dir, settings.engine) {
        Ok(model) => {
            let name = model.info().name;
            for purpose in model.approved_purposes() {
                let allowed = Purpose::ALL
                    .into_iter()
                    .find(|p| p.as_str() == purpose)
                    .map(|p| policy.serve_model(&name, p, model.approved_purposes()))
                    .is_some_and(|d| d.allowed);
                if !allowed {
                    return Err(StartupError::Other(format!(
                        "{role} model {name}: policy does not let it serve {purpose:?}"
                    )));
                }
            }
            tracing::info!(model = ?model.info(), role, "model loaded");
            Ok(Some(model))
        }
        Err(e @ tailor_model::ModelError::NotApproved(_)) => Err(StartupError::Other(format!(
            "{role} model in {}: {e}",
            dir.display()
        ))),
        Err(e) => {
            tracing::error!(error = %e, dir = %dir.display(), role, "model not loaded");
            Ok(None)
        }
    }
}

#[cfg(feature = "score")]
impl Decider {
    fn build(settings: &Settings, policy: &'static Policy) -> Result<Self, StartupError> {
        let model = &settings.model;
        Ok(Self {
            catalog: Catalog::shipped().map_err(|e| StartupError::Policy(e.to_string()))?,
            model: load(&model.dir, model, "champion", policy)?,
            challenger: match model.challenger.as_deref() {
                Some(dir) => load(dir, model, "challenger", policy)?,
                None => None,
            },
            memo: PolicyMemo::new(policy),
            regions: settings.residency.checks(policy),
            nonce: AtomicU64::new(0),
            store_budget: settings.store_budget,
        })
    }

    /// The score function over `store` (`functions`' own, or one reading
    /// through it), with `functions`' policy, timer and key.
    fn score<'a, X, S, P, T>(
        &'a self,
        functions: &'a Functions<S, P, T>,
        store: &'a X,
    ) -> Score<'a, X, T> {
        Score {
            tables: Tables::new(store, functions.policy, &functions.tokens),
            memo: &self.memo,
            catalog: &self.catalog,
            model: self.model.as_ref().map(|m| m as &dyn Model),
            challenger: self.challenger.as_ref().map(|m| m as &dyn Model),
            nonce: &self.nonce,
            timer: &functions.timer,
            store_budget: self.store_budget,
            regions: &self.regions,
        }
    }
}

/// The functions of one process over one platform's capabilities.
pub struct Functions<S, P, T> {
    policy: &'static Policy,
    store: Metered<S>,
    publisher: P,
    #[cfg_attr(
        not(feature = "score"),
        expect(dead_code, reason = "only score waits on the timer")
    )]
    timer: T,
    clock: ExpiryClock,
    #[cfg(feature = "ingest")]
    ingestor: Option<Ingestor<'static>>,
    decider: Option<Decider>,
    tokens: TokenKey,
}

impl<S, P, T> std::fmt::Debug for Functions<S, P, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Functions");
        #[cfg(feature = "ingest")]
        debug.field("ingest", &self.ingestor.is_some());
        debug
            .field("score", &self.decider.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Store, P: Publisher, T: Timer> Functions<S, P, T> {
    /// Builds `functions` once: the policy bundle, and what each needs
    /// (ingest: the compiled contract and the key; score: the catalog and
    /// the model, whose failure to load leaves decisions to the rules, each
    /// record saying so).
    ///
    /// # Errors
    /// The policy, catalog or contract does not load, or ingest has no key.
    pub fn build(
        settings: &Settings,
        functions: &[Function],
        capabilities: Capabilities<S, P, T>,
    ) -> Result<Self, StartupError>
    where
        S: Expiring,
    {
        let clock = ExpiryClock::new(settings.clock);
        let policy = policy_for(settings.policy_overlay.as_deref())?;
        let known = policy.destinations();
        if let Some(unknown) = settings
            .residency
            .destinations()
            .and_then(|held| held.iter().find(|d| !known.contains(d)))
        {
            return Err(StartupError::Other(format!(
                "TAILOR_DESTINATIONS names {unknown:?}, which the policy does not know (it knows {})",
                known.join(", ")
            )));
        }
        // Every function reads or writes tombstones, which are kept under
        // keyed tokens.
        let tokens = settings.token_key.clone().ok_or_else(|| {
            StartupError::Other("the functions need a tokenization key".to_owned())
        })?;
        if let Some(missing) = functions.iter().find(|f| !f.built()) {
            return Err(StartupError::Other(format!(
                "this build does not hold the {} function",
                missing.name()
            )));
        }
        #[cfg(feature = "ingest")]
        let ingestor = if functions.contains(&Function::Ingest) {
            let contract = Contract::global().map_err(|e| StartupError::Policy(e.to_string()))?;
            Some(
                Ingestor::new(contract, policy, settings.limits, tokens.clone())
                    .with_residency(settings.residency.clone()),
            )
        } else {
            None
        };
        #[cfg(feature = "score")]
        let decider = if functions.contains(&Function::Score) {
            Some(Decider::build(settings, policy)?)
        } else {
            None
        };
        #[cfg(not(feature = "score"))]
        let decider = None;
        Ok(Self {
            policy,
            // The store expires items by the functions' clock, by
            // construction.
            store: Metered::new(capabilities.store.expiring_by(Arc::new(clock.clone()))),
            publisher: capabilities.publisher,
            timer: capabilities.timer,
            clock,
            #[cfg(feature = "ingest")]
            ingestor,
            decider,
            tokens,
        })
    }

    /// The tokenization key.
    #[must_use]
    pub const fn tokens(&self) -> &TokenKey {
        &self.tokens
    }

    /// The policy in force.
    #[must_use]
    pub const fn policy(&self) -> &'static Policy {
        self.policy
    }

    /// The store, metered.
    #[must_use]
    pub const fn store(&self) -> &Metered<S> {
        &self.store
    }

    /// The report of one request `function` answered: one record in, and
    /// what the store did for it since the last report (the counts are
    /// taken, so the next request starts from zero).
    #[must_use]
    pub fn answered(&self, function: Function) -> InvocationReport {
        function.answered(self.store.take())
    }

    /// The tables: the metered store under the policy and the key.
    #[must_use]
    pub const fn tables(&self) -> Tables<'_, Metered<S>> {
        Tables::new(&self.store, self.policy, &self.tokens)
    }

    /// The publisher.
    #[must_use]
    pub const fn publisher(&self) -> &P {
        &self.publisher
    }

    /// The clock items expire by.
    #[must_use]
    pub const fn clock(&self) -> &ExpiryClock {
        &self.clock
    }

    /// The model decisions use, if one loaded.
    #[cfg(feature = "score")]
    #[must_use]
    pub fn model(&self) -> Option<&LoadedModel> {
        self.decider.as_ref().and_then(|d| d.model.as_ref())
    }

    /// A logged decision, opened under its profile's subject key, whether or
    /// not this process runs score: an operator's read, outside any
    /// invocation's report.
    ///
    /// # Errors
    /// The store's error, or `Corrupt` for an unreadable record.
    pub async fn decision(&self, id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        let tables = Tables::new(self.store.inner(), self.policy, &self.tokens);
        tailor_score::fetch(tables, id).await
    }

    /// The score function, in a process that runs it.
    #[must_use]
    pub fn score(&self) -> Option<Score<'_, Metered<S>, T>> {
        self.score_over(&self.store)
    }

    /// The score function reading and writing through `store`, which
    /// passes its calls on to this process's store (a
    /// [`Tally`](crate::tally::Tally) of one request's calls), in a process
    /// that runs it.
    #[must_use]
    pub fn score_over<'a, X>(&'a self, store: &'a X) -> Option<Score<'a, X, T>> {
        Some(self.decider.as_ref()?.score(self, store))
    }

    /// Makes ingest forget `records` it accepted (see `Ingest::forget`).
    ///
    /// # Errors
    /// The store's error.
    pub async fn forget(&self, records: &[Record]) -> Result<(), StoreError> {
        #[cfg(feature = "ingest")]
        if let Some(ingest) = self.ingest() {
            return ingest.forget(records).await;
        }
        let _ = records;
        Ok(())
    }

    /// The ingest function, in a process built to run it.
    #[cfg(feature = "ingest")]
    fn ingest(&self) -> Option<Ingest<'_, S, P>> {
        self.ingestor.as_ref().map(|ingestor| Ingest {
            ingestor,
            tables: self.tables(),
            publisher: &self.publisher,
            now: tailor_core::ports::Clock::now(&self.clock),
        })
    }

    /// One invocation of `stage` over `records`: every record gets exactly
    /// one disposition. A stage this process was not built for retries
    /// every record (a deployment error, not the records').
    pub async fn invoke(&self, stage: Stage, records: &[Record]) -> BatchOutcome {
        self.clock.observe(records);
        let mut outcome = self.run(stage, records).await;
        outcome.report.bill(&self.publisher.take_billed());
        outcome
    }

    async fn run(&self, stage: Stage, records: &[Record]) -> BatchOutcome {
        match stage {
            #[cfg(feature = "ingest")]
            Stage::Ingest => match self.ingest() {
                Some(ingest) => ingest.handle(records).await,
                None => self.not_built(stage, records),
            },
            #[cfg(feature = "enrich")]
            Stage::Enrich => {
                Enrich {
                    tables: self.tables(),
                    publisher: &self.publisher,
                }
                .handle(records)
                .await
            }
            #[cfg(feature = "features")]
            Stage::Features => {
                Features {
                    tables: self.tables(),
                }
                .handle(records)
                .await
            }
            #[cfg(feature = "consent")]
            Stage::Consent => {
                Consent {
                    tables: self.tables(),
                }
                .handle(records)
                .await
            }
            #[allow(
                unreachable_patterns,
                reason = "reached only in a build without every function"
            )]
            _ => self.not_built(stage, records),
        }
    }

    /// Every record of a stage this process was not built to run asks
    /// again: a deployment error, not the records'.
    fn not_built(&self, stage: Stage, records: &[Record]) -> BatchOutcome {
        tracing::error!(
            step = stage.name(),
            "this process was not built to run {}",
            stage.name()
        );
        let mut invocation = Invocation::begin(stage.name(), records);
        for record in records {
            invocation.record(record, Disposition::Retry);
        }
        invocation.finish(self.store.take())
    }
}
