//! `tailor serve`: the pipeline behind a local HTTP API.
//!
//! - `POST /v1/events`: one JSON event, or JSON Lines (`application/x-ndjson`).
//! - `POST /v1/consent`: one `consent_change` event; answers with its completion record.
//! - `GET /v1/profiles/{id}`: a profile's features and consent state; `id` is a
//!   profile id (`p_…`) or any linked key (`user:…`, `anon:…`).
//! - `GET /healthz`: liveness.
//!
//! Requests are processed one at a time (one writer per profile, trivially).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::consent::Ledger;
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::ports::{Clock, Store, Table};
use tailor_core::state;
use tailor_local::SystemClock;
use tokio::sync::Mutex;

use super::validate::records;
use crate::pipeline::{LocalPipeline, RunReport};

/// Shared server state.
struct App {
    pipeline: Mutex<LocalPipeline>,
}

/// The HTTP status for a request's dispositions: the one place this
/// transport maps outcomes. Any retry → 503 (the client should resend);
/// every record dead-lettered → 413 for an oversize single record, else 422;
/// otherwise 202, with per-record dispositions in the body.
#[must_use]
pub fn status_for(outcome: &BatchOutcome) -> StatusCode {
    let ds: Vec<Disposition> = outcome.dispositions.iter().map(|(_, d)| *d).collect();
    if ds.iter().any(|d| !d.acknowledges()) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if !ds.is_empty()
        && ds
            .iter()
            .all(|d| matches!(d, Disposition::DeadLettered { .. }))
    {
        if ds
            == [Disposition::DeadLettered {
                reason: DeadLetterReason::TooLarge,
            }]
        {
            return StatusCode::PAYLOAD_TOO_LARGE;
        }
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    StatusCode::ACCEPTED
}

/// The router over a pipeline.
pub fn router(pipeline: LocalPipeline) -> Router {
    let app = Arc::new(App {
        pipeline: Mutex::new(pipeline),
    });
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/v1/events", post(events))
        .route("/v1/consent", post(consent))
        .route("/v1/profiles/{id}", get(profile))
        .route("/v1/decide", post(decide))
        .route("/v1/decisions/{id}", get(decision))
        .with_state(app)
}

fn split(headers: &HeaderMap, body: &[u8]) -> Vec<Vec<u8>> {
    let ndjson = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("ndjson") || v.contains("jsonl"));
    let name = if ndjson { "body.jsonl" } else { "body.json" };
    records(std::path::Path::new(name), body)
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

async fn ingest(app: &App, bodies: Vec<Vec<u8>>) -> BatchOutcome {
    let now = SystemClock.now();
    let records: Vec<Record> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| Record {
            id: format!("record:{i}"),
            bytes,
            received_at: now,
        })
        .collect();
    let pipeline = app.pipeline.lock().await;
    let mut report = RunReport::default();
    let outcome = pipeline.process(&records, &mut report).await;
    if let Err(e) = pipeline.flush() {
        // Not durable: the client must send again.
        tracing::warn!(error = %e, "flush failed");
        let mut failed = outcome;
        for (_, d) in &mut failed.dispositions {
            *d = Disposition::Retry;
        }
        return failed;
    }
    outcome
}

fn outcome_body(outcome: &BatchOutcome) -> Value {
    json!({ "records": outcome.dispositions.iter().map(|(id, d)| json!({"id": id, "outcome": d})).collect::<Vec<_>>() })
}

async fn events(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let outcome = ingest(&app, split(&headers, &body)).await;
    (status_for(&outcome), Json(outcome_body(&outcome))).into_response()
}

async fn consent(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    // The same limits as any record, before parsing.
    let is_consent = tailor_core::decode::decode(&body, tailor_core::decode::Limits::default())
        .ok()
        .is_some_and(|v| v.get("event_type").and_then(Value::as_str) == Some("consent_change"));
    if !is_consent {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": "expected one consent_change event"})),
        )
            .into_response();
    }
    let event_id = tailor_core::decode::decode(&body, tailor_core::decode::Limits::default())
        .ok()
        .and_then(|v| v.get("event_id").and_then(Value::as_str).map(str::to_owned));
    let outcome = ingest(&app, vec![body.to_vec()]).await;
    let status = status_for(&outcome);
    let pipeline = app.pipeline.lock().await;
    let completion = match event_id {
        Some(id) => pipeline
            .store()
            .get(Table::Audit, &format!("consent/{id}"))
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let completion: Value = completion
        .and_then(|i| serde_json::from_slice(&i.value).ok())
        .unwrap_or(Value::Null);
    let mut body = outcome_body(&outcome);
    body["completion"] = completion;
    (status, Json(body)).into_response()
}

async fn profile(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let pipeline = app.pipeline.lock().await;
    match profile_view(pipeline.store(), &id).await {
        Ok(Some(view)) => Json(view).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no features for this profile"})),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "profile lookup failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "store unavailable"})),
            )
                .into_response()
        }
    }
}

/// A profile's features, consent state and age; `None` when it has no features.
async fn profile_view(
    store: &impl Store,
    id: &str,
) -> Result<Option<Value>, tailor_core::ports::StoreError> {
    let (profile_id, keys) = state::resolve(store, id).await?;
    let Some(item) = store.get(Table::Features, &profile_id).await? else {
        return Ok(None);
    };
    let features: Value = serde_json::from_slice(&item.value)
        .map_err(|e| tailor_core::ports::StoreError::Corrupt(e.to_string()))?;
    let ledger: Ledger = state::ledger_of(store, &keys).await?;
    let age_s = features
        .get("as_of")
        .and_then(Value::as_str)
        .and_then(|t| Timestamp::parse(t).ok())
        .map(|t| SystemClock.now().millis_since(t) / 1000);
    Ok(Some(json!({
        "profile_id": profile_id,
        "keys": keys.len(),
        "consent": ledger.current(),
        "features_age_s": age_s,
        "features": features,
    })))
}

async fn decide(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let request = tailor_core::decode::decode(&body, tailor_core::decode::Limits::default())
        .map_err(|e| e.to_string())
        .and_then(|v| {
            serde_json::from_value::<tailor_core::score::DecisionRequest>(v)
                .map_err(|e| e.to_string())
        });
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"error": e}))).into_response();
        }
    };
    let pipeline = app.pipeline.lock().await;
    let (record, logged) = pipeline.decide(&request, SystemClock.now()).await;
    if let Err(e) = logged {
        // The safe choice is still returned; the client learns it was not logged.
        tracing::warn!(error = %e, "decision not logged");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "decision not logged", "decision": record})),
        )
            .into_response();
    }
    Json(record).into_response()
}

async fn decision(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let pipeline = app.pipeline.lock().await;
    match pipeline.decision(&id).await {
        Ok(Some(record)) => Json(record).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such decision"})),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "decision lookup failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "store unavailable"})),
            )
                .into_response()
        }
    }
}
