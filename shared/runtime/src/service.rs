//! One function of a cloud deployment (a Lambda function, a Cloud Run
//! service), created once per process: its settings read from the
//! environment, the platform's store and publisher connected for it, and
//! the function built over them. A platform brings only how it connects:
//! a [`Cloud`], started as a [`Deployed`].

use std::path::PathBuf;
use std::time::Instant;

use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::ports::{Expiring, Publisher, Store, Topic};
use tailor_core::report::InvocationReport;

use crate::cost::{Costing, Format, Platform, Sizing};
use crate::http::Backend;
use crate::{Capabilities, Env, Function, Functions, Settings, Stage, StartupError, TokioTimer};

/// One function over a platform's store and publisher.
pub struct Service<S, P> {
    /// The function, over the platform's store and publisher.
    pub functions: Functions<S, P, TokioTimer>,
    /// Whether the ingest stream's producers may change consent
    /// (`TAILOR_STREAM_CONSENT`).
    pub stream_consent: bool,
}

impl<S, P> std::fmt::Debug for Service<S, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("functions", &self.functions)
            .field("stream_consent", &self.stream_consent)
            .finish()
    }
}

/// What a platform connects its store and publisher for.
#[derive(Debug, Clone)]
pub struct Wiring {
    /// The topics the function publishes to.
    pub outputs: &'static [Topic],
}

/// The model directory a package or image carries: `models/conversion-v1`
/// beside the binary (`TAILOR_MODEL_DIR` overrides it).
#[must_use]
pub fn packaged_model_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("models/conversion-v1")))
        .unwrap_or_else(|| PathBuf::from("models/conversion-v1"))
}

impl<S: Expiring, P: Publisher> Service<S, P> {
    /// Reads the settings for `function` through `env`, has `connect` make
    /// the store and publisher for it, and builds the function over them.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing or could not be connected.
    pub async fn start<F, C>(
        env: &Env<F>,
        function: Function,
        connect: C,
    ) -> Result<Self, StartupError>
    where
        F: Fn(&str) -> Option<String>,
        C: AsyncFnOnce(Wiring) -> Result<(S, P), StartupError>,
    {
        let settings = Settings::from_env(env, &[function], packaged_model_dir())?;
        let wiring = Wiring {
            outputs: function.outputs(),
        };
        let (store, publisher) = connect(wiring).await?;
        let functions = Functions::build(
            &settings,
            &[function],
            Capabilities {
                store,
                publisher,
                timer: TokioTimer,
            },
        )?;
        Ok(Self {
            functions,
            stream_consent: settings.stream_consent,
        })
    }
}

/// A cloud platform's start-up: what it reads from the environment and
/// keeps (its configuration, shared handles), and the store and publisher
/// it connects for a function.
pub trait Cloud: Sized + Send + Sync + 'static {
    /// The platform's store.
    type Store: Expiring + 'static;
    /// The platform's publisher.
    type Publisher: Publisher + 'static;

    /// Reads the platform's variables through `env`, before the runtime's.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing or malformed.
    fn configure<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, StartupError>;

    /// How the platform's logs take a cost record.
    const COST_FORMAT: Format;

    /// How the platform bills the function: its size and region, as the
    /// platform or the deployment tells it through `env`. `None` where it
    /// does not say: the function runs, without cost records.
    fn sizing<F: Fn(&str) -> Option<String>>(&self, env: &Env<F>) -> Option<Sizing>;

    /// The name the platform deployed the function under, where it says
    /// (a Lambda function's name): cost metrics carry it, so one
    /// deployment's alarms see only its own.
    fn deployed_name<F: Fn(&str) -> Option<String>>(&self, env: &Env<F>) -> Option<String> {
        let _ = env;
        None
    }

    /// Connects the store and publisher `wiring` asks for, reading any
    /// further variable (the topics) through `env`.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing or could not be connected.
    fn connect<F: Fn(&str) -> Option<String>>(
        &self,
        env: &Env<F>,
        wiring: Wiring,
    ) -> impl Future<Output = Result<(Self::Store, Self::Publisher), StartupError>>;
}

/// One function deployed on a cloud: what the platform keeps, and the
/// function over its store and publisher.
#[derive(Debug)]
pub struct Deployed<C: Cloud> {
    /// What the platform read and keeps.
    pub cloud: C,
    /// The function.
    pub service: Service<C::Store, C::Publisher>,
    /// Prices each invocation, where the platform says how it is billed.
    pub cost: Option<Costing>,
}

impl<C: Cloud> Deployed<C> {
    /// Reads the process environment and starts `function`.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing.
    pub async fn init(function: Function) -> Result<Self, StartupError> {
        Self::init_with(&Env::configured()?, function).await
    }

    /// As [`Deployed::init`], reading variables through `env`.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing.
    pub async fn init_with<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        function: Function,
    ) -> Result<Self, StartupError> {
        let started = Instant::now();
        let cloud = C::configure(env)?;
        let cost = match cloud.sizing(env) {
            Some(sizing) => Some(
                Costing::from_env(env, sizing, C::COST_FORMAT, started)?
                    .deployed_as(cloud.deployed_name(env)),
            ),
            None => {
                tracing::warn!(
                    "the environment does not say how this function is billed: no cost records"
                );
                None
            }
        };
        let service = Service::start(env, function, async |wiring| {
            cloud.connect(env, wiring).await
        })
        .await?;
        Ok(Self {
            cloud,
            service,
            cost,
        })
    }

    /// Logs one invocation's report and its cost record: the invocation
    /// began at `began`.
    pub fn report(&self, report: &InvocationReport, began: Instant, request_id: &str) {
        crate::report::emit_priced(report, self.cost.as_ref(), began, request_id);
    }
}

/// A deployed function serves the API as its service does, and logs each
/// decision's own report with its cost record: a process serving many
/// requests at once (Cloud Run) cannot take a decision's calls from the
/// store's meter, which counts them all.
impl<C: Cloud> Backend for Deployed<C> {
    type Store = C::Store;
    type Publisher = C::Publisher;
    type Timer = TokioTimer;

    fn functions(&self) -> &Functions<C::Store, C::Publisher, TokioTimer> {
        &self.service.functions
    }

    fn accept(&self, records: Vec<Record>) -> impl Future<Output = BatchOutcome> + Send {
        self.service.accept(records)
    }

    fn billed_as(&self) -> Option<Platform> {
        self.cost.as_ref().map(|cost| cost.sizing().platform)
    }

    fn decided(&self, report: &InvocationReport, began: Instant) {
        let id = report.decision_id.as_deref().unwrap_or_default();
        self.report(report, began, id);
    }
}

impl<S: Store, P: Publisher> Backend for Service<S, P> {
    type Store = S;
    type Publisher = P;
    type Timer = TokioTimer;

    fn functions(&self) -> &Functions<S, P, TokioTimer> {
        &self.functions
    }

    /// Ingest alone: on a cloud platform the later stages run from their
    /// own streams or subscriptions.
    async fn accept(&self, records: Vec<Record>) -> BatchOutcome {
        self.functions.invoke(Stage::Ingest, &records).await
    }
}
