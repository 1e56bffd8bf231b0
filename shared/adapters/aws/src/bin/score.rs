//! The score function on Lambda, behind a Function URL: decision requests
//! in, logged and explained decisions out. The model is loaded once, at
//! init; a model that does not load leaves decisions to the rules (each
//! record says so), it does not stop the function.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use tailor_aws::config::{ConfigError, Env};
use tailor_aws::dynamo::WallClock;
use tailor_aws::platform::{Platform, Run, StartupError, exit, keep};
use tailor_aws::url::{TokioTimer, route};
use tailor_core::ports::Clock;
use tailor_core::score::{Catalog, Model, PolicyMemo};
use tailor_model::{EngineChoice, LoadedModel};
use tailor_score::Score;

/// The model directory: `TAILOR_MODEL_DIR`, else `models/conversion-v1`
/// beside the binary (where the package puts it).
fn model_dir<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> PathBuf {
    (env.0)("TAILOR_MODEL_DIR").map_or_else(
        || {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|d| d.join("models/conversion-v1")))
                .unwrap_or_else(|| PathBuf::from("models/conversion-v1"))
        },
        PathBuf::from,
    )
}

fn engine<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<EngineChoice, ConfigError> {
    match (env.0)("TAILOR_ENGINE").as_deref().map(str::trim) {
        None | Some("" | "auto") => Ok(EngineChoice::Auto),
        Some("ort") => Ok(EngineChoice::Ort),
        Some("tract") => Ok(EngineChoice::Tract),
        Some(other) => Err(ConfigError::Invalid {
            name: "TAILOR_ENGINE",
            reason: format!("{other:?}: expected auto, ort or tract"),
        }),
    }
}

async fn run() -> Run {
    let env = Env::process();
    let platform = keep(Platform::init_with(&env).await?);
    let budget = Duration::from_millis(env.parsed("TAILOR_STORE_BUDGET_MS", 50u64)?);
    let choice = engine(&env)?;
    let catalog = keep(Catalog::shipped().map_err(|e| StartupError::Policy(e.to_string()))?);
    let dir = model_dir(&env);
    let model: Option<&'static LoadedModel> = match LoadedModel::load(&dir, choice) {
        Ok(m) => {
            tracing::info!(model = ?m.info(), "model loaded");
            Some(keep(m))
        }
        Err(e) => {
            tracing::error!(error = %e, dir = %dir.display(), "model not loaded; decisions use rules only");
            None
        }
    };
    let memo = keep(PolicyMemo::new(&platform.policy));
    let score = keep(Score {
        policy: &platform.policy,
        memo,
        catalog,
        store: &platform.store,
        model: model.map(|m| m as &dyn Model),
        challenger: None,
        nonce: keep(AtomicU64::new(0)),
        timer: &TokioTimer,
        store_budget: budget,
    });
    let handler = service_fn(
        move |event: LambdaEvent<LambdaFunctionUrlRequest>| async move {
            platform
                .deadline
                .set_from_epoch_millis(event.context.deadline);
            let response = route(score, &event.payload, WallClock.now()).await;
            let mut report = tailor_core::report::InvocationReport::new(tailor_score::NAME);
            platform.account(&mut report);
            tracing::info!(
                target: "tailor::report",
                request_id = %event.context.request_id,
                status = response.status_code,
                read_capacity_units = report.read_capacity_units,
                write_capacity_units = report.write_capacity_units,
                "invocation report"
            );
            Ok::<_, lambda_runtime::Error>(response)
        },
    );
    Ok(lambda_runtime::run(handler).await)
}

#[tokio::main]
async fn main() -> ExitCode {
    tailor_aws::init_logs();
    exit(run().await)
}
