//! One request's platform: the component's function, built over the SQLite
//! store and an in-process mailbox, serving the HTTP API's routes for it.
//!
//! Spin starts a fresh instance for every request, so this is built per
//! request, from the component's variables. The stages chain in-process:
//! the `ingest` component runs ingest, then enrich, features and consent
//! over what each published, and answers each record only once every step
//! it triggered is final (the runtime's
//! [`take_in`](tailor_runtime::Functions::take_in)). A record some step
//! could not finish is answered 503, and its resend runs every step again.
//!
//! | component (`function`) | routes | functions built | WebAssembly ([`wasm_of`]) |
//! | --- | --- | --- | --- |
//! | `ingest` | `POST /v1/events` | ingest, enrich, features, consent | `tailor-stream.wasm` |
//! | `consent` | `POST /v1/consent` | ingest, enrich, features, consent | `tailor-stream.wasm` |
//! | `features` | `GET /v1/profiles/{id}` | features | `tailor-stream.wasm` |
//! | `score` | `POST /v1/decide`, `GET /v1/decisions/{id}` | score | `tailor-score.wasm` |
//! | `enrich` | `/healthz` only | enrich | `tailor-stream.wasm` |
//!
//! Every component answers `GET /healthz`. A WebAssembly build holds only
//! the functions its components run: the stream's has no model engine, and
//! refuses to start score, as score's refuses the rest.

use std::sync::Arc;

use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::ports::Timer;
use tailor_core::report::InvocationReport;
use tailor_runtime::cost::{Arch, Costing, Format, Measured, Platform as Billed, Sizing};
use tailor_runtime::http::{self, Access, Api, ApiKey, Backend, Routes};
use tailor_runtime::{
    Capabilities, ClockMode, Env, Function, Functions, Mailbox, Replay, RunReport, Settings,
    StartupError,
};

use crate::sql::{Database, SqlStore};

/// How a SpinKube node is billed: a share of the node's hour, in the
/// region the deployment names (`TAILOR_COST_REGION`, the Spin variable
/// `cost_region`, such as `aws-us-east-1`); none when it names none.
fn sizing<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Option<Sizing> {
    let region = env
        .get("TAILOR_COST_REGION")
        .filter(|r| !r.trim().is_empty())?;
    Some(Sizing {
        platform: Billed::Spin,
        region: format!("spinkube/{}", region.trim()),
        memory_mb: 0,
        arch: Arch::default(),
        milli_vcpu: 1_000,
    })
}

/// The WebAssembly file whose build holds `function`, as
/// `infra/spin/build.sh` names it: the stream stages chain in-process, so
/// they share one build; score has its own, the only one with a model
/// engine.
#[must_use]
pub const fn wasm_of(function: Function) -> &'static str {
    match function {
        Function::Score => "tailor-score.wasm",
        Function::Ingest | Function::Enrich | Function::Features | Function::Consent => {
            "tailor-stream.wasm"
        }
    }
}

/// Where the component finds its model: the files its manifest mounts.
pub const MODEL_DIR: &str = "/models/conversion-v1";

/// How many expired items a request deletes, at most, after its work.
pub const SWEEP_PER_REQUEST: u32 = 100;

/// Waits by blocking the instance once the wait is awaited: a Spin
/// instance serves one request, so nothing else is waiting to run while a
/// retry pauses. Spin's SQLite calls block too, so a deadline raced against
/// one (score's store budget) is only polled if the call is still pending,
/// which it never is: the budget bounds nothing here, and the platform's
/// request timeout bounds the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PauseTimer;

/// A pause until an instant.
#[derive(Debug)]
pub struct Pause {
    until: std::time::Instant,
}

impl Future for Pause {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let left = self
            .until
            .saturating_duration_since(std::time::Instant::now());
        if !left.is_zero() {
            std::thread::sleep(left);
        }
        std::task::Poll::Ready(())
    }
}

impl Timer for PauseTimer {
    fn sleep(&self, duration: std::time::Duration) -> impl Future<Output = ()> + Send {
        Pause {
            until: std::time::Instant::now() + duration,
        }
    }
}

/// The functions of a Spin component.
pub type SpinFunctions<D> = Functions<SqlStore<D>, Mailbox, PauseTimer>;

/// A component's function over its database, and the API it serves.
pub struct SpinPlatform<D: Database> {
    functions: SpinFunctions<D>,
    api: Api,
    replay: bool,
    /// Prices each stage a request ran, where the deployment names the
    /// node's region (`cost_region`).
    cost: Option<Costing>,
}

impl<D: Database> std::fmt::Debug for SpinPlatform<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpinPlatform")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl<D: Database> SpinPlatform<D> {
    /// Reads the component's variables through `env` (`TAILOR_FUNCTION`,
    /// `TAILOR_API_KEYS` and the runtime's), opens the store on `database`
    /// and builds the function.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing or malformed, or the store
    /// could not be opened.
    pub fn open<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        database: D,
    ) -> Result<Self, StartupError> {
        let name = env.required(
            "TAILOR_FUNCTION",
            "the function this component runs: ingest, enrich, features, consent or score",
        )?;
        let function = Function::named(name.trim()).ok_or_else(|| {
            StartupError::Other(format!(
                "TAILOR_FUNCTION is {name:?}: ingest, enrich, features, consent or score"
            ))
        })?;
        let keys = env.required(
            "TAILOR_API_KEYS",
            "the API's keys, one `name sha256-hex scope,…` per line",
        )?;
        let keys = ApiKey::parse_all(&keys)
            .map_err(|e| StartupError::Other(format!("TAILOR_API_KEYS: {e}")))?;
        let (functions, routes) = match function {
            Function::Ingest => (
                &Function::STREAM[..],
                Routes {
                    events: true,
                    ..Routes::NONE
                },
            ),
            Function::Consent => (
                &Function::STREAM[..],
                Routes {
                    consent: true,
                    ..Routes::NONE
                },
            ),
            Function::Features => (
                &[Function::Features][..],
                Routes {
                    profiles: true,
                    ..Routes::NONE
                },
            ),
            Function::Score => (&[Function::Score][..], Routes::SCORE),
            Function::Enrich => (&[Function::Enrich][..], Routes::NONE),
        };
        let settings = Settings::from_env(env, functions, MODEL_DIR.into())?;
        let mut platform = Self::build(&settings, functions, routes, Access::keys(keys), database)?;
        platform.cost = sizing(env)
            .map(|sizing| {
                Costing::from_env(env, sizing, Format::JsonLine, std::time::Instant::now())
            })
            .transpose()?;
        Ok(platform)
    }

    /// Builds `functions` from `settings` over `database`, serving `routes`
    /// to callers `access` lets in.
    ///
    /// # Errors
    /// The store could not be opened, or the functions could not be built.
    pub fn build(
        settings: &Settings,
        functions: &[Function],
        routes: Routes,
        access: Access,
        database: D,
    ) -> Result<Self, StartupError> {
        let store = SqlStore::open(database, Arc::new(tailor_runtime::WallClock))
            .map_err(|e| StartupError::Other(format!("the SQLite store: {e}")))?;
        let functions = Functions::build(
            settings,
            functions,
            Capabilities {
                store,
                publisher: Mailbox::new(),
                timer: PauseTimer,
            },
        )?;
        Ok(Self {
            functions,
            api: Api { routes, access },
            replay: settings.clock == ClockMode::Arrival,
            cost: None,
        })
    }

    /// Answers one request (a decision's is reported through
    /// [`Backend::decided`]), then sweeps expired items.
    pub async fn serve(&self, request: ::http::Request<Vec<u8>>) -> ::http::Response<Vec<u8>> {
        let response = http::handle(self, &self.api, request).await;
        if let Err(e) = self.functions.store().inner().sweep(SWEEP_PER_REQUEST) {
            tracing::warn!(error = %e, "expired items not swept");
        }
        response
    }

    /// Logs one stage's report and, where the deployment is priced, its
    /// cost record, measured by the report's wall time.
    fn report(&self, report: &InvocationReport) {
        tailor_runtime::report::emit(report, "spin");
        if let Some(cost) = &self.cost {
            let measured = Measured {
                duration_us: report.wall_us,
                ..Measured::default()
            };
            cost.emit_measured(report, &measured, "spin");
        }
    }

    /// The functions.
    #[must_use]
    pub const fn functions(&self) -> &SpinFunctions<D> {
        &self.functions
    }
}

impl<D: Database> Backend for SpinPlatform<D> {
    type Store = SqlStore<D>;
    type Publisher = Mailbox;
    type Timer = PauseTimer;

    fn functions(&self) -> &SpinFunctions<D> {
        &self.functions
    }

    /// Every stage in-process. With the arrival clock (replaying a recorded
    /// stream), each record counts as received at its own time, as a
    /// replay does.
    async fn accept(&self, mut records: Vec<Record>) -> BatchOutcome {
        if self.replay {
            Replay::new("").retime(&mut records);
        }
        let mut report = RunReport::default();
        let outcome = self.functions.take_in(&records, &mut report).await;
        for invocation in report.functions.values() {
            self.report(invocation);
        }
        outcome
    }

    /// A decision's report, with its cost record where the deployment is
    /// priced.
    fn decided(&self, report: &InvocationReport, _: std::time::Instant) {
        self.report(report);
    }
}
