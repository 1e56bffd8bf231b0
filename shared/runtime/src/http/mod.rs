//! The HTTP API, defined once over any platform.
//!
//! | route | serves |
//! | --- | --- |
//! | `POST /v1/events` | one JSON event, or JSON Lines (`application/x-ndjson`) of at most [`MAX_RECORDS`] records (more is 413, none processed): per-record outcomes; past [`SUMMARY_OVER`] records, counts by outcome and reason plus only the records not accepted |
//! | `POST /v1/consent` | one `consent_change`: its outcome and completion record |
//! | `GET /v1/profiles/{id}` | a profile's features and consent state; `id` is a profile id (`p_…`) or any linked key (`user:…`, `anon:…`) |
//! | `POST /v1/decide` | a decision request → the logged decision as its caller acts on it: id, placement, action, reasons, top signals by name, fallback, model, policy summary; never the person's feature values |
//! | `GET /v1/decisions/{id}` | a logged decision, whole: inputs, score, every policy check |
//! | `GET /healthz` | liveness |
//!
//! Every route is authenticated ([`access`]): a bearer key with the
//! route's scope, or the platform's own IAM in front; browsers on other
//! origins are refused, and bodies must be JSON or JSON Lines.
//!
//! A platform serves the routes it offers ([`Routes`]) by turning its
//! request into an [`http::Request`], calling [`handle`], and turning the
//! [`http::Response`] back: `tailor serve` and Cloud Run through axum
//! ([`serve`], native), a Lambda Function URL and a Spin component by
//! converting their own types. [`status_for`] is the one place a batch's
//! dispositions become an HTTP status.
//!
//! A request's work and its answer are bounded: a body by [`MAX_BODY`],
//! its records by [`MAX_RECORDS`], the answer listing them by
//! [`SUMMARY_OVER`]. Where the platform serves a socket itself, so is the
//! time a client may take and the connections it may hold
//! ([`ServeLimits`]).

pub mod access;
#[cfg(not(target_arch = "wasm32"))]
mod serve;
mod views;

pub use access::{Access, ApiKey, Scope};

#[cfg(not(target_arch = "wasm32"))]
pub use serve::{
    BODY_TIMEOUT, HEADER_TIMEOUT, MAX_CONNECTIONS, ServeLimits, router, serve, serve_router,
    serve_with,
};

use std::time::Instant;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::decode::{Limits, decode};
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::ports::{Clock, Publisher, Store, StoreError, Timer};
use tailor_core::report::InvocationReport;
use tailor_core::score::{DecisionRecord, DecisionRequest};
use tailor_cost::rules::Platform;
use tailor_score::Score;

use crate::clock::WallClock;
use crate::function::Function;
use crate::functions::Functions;
use crate::tally::tally;

/// The largest request body any route reads; larger is 413 before parsing.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The most records one `POST /v1/events` takes; more is 413 before any
/// record is built, so one request's work (and the time it holds the
/// pipeline) stays bounded.
pub const MAX_RECORDS: usize = 1_000;

/// Past this many records, an events answer summarizes: counts by outcome
/// and dead-letter reason, and only the records not accepted.
pub const SUMMARY_OVER: usize = 100;

/// Which routes a platform serves (`/healthz` always).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routes {
    /// `POST /v1/events`.
    pub events: bool,
    /// `POST /v1/consent`.
    pub consent: bool,
    /// `GET /v1/profiles/{id}`.
    pub profiles: bool,
    /// `POST /v1/decide` and `GET /v1/decisions/{id}`.
    pub decisions: bool,
}

impl Routes {
    /// `/healthz` alone.
    pub const NONE: Self = Self {
        events: false,
        consent: false,
        profiles: false,
        decisions: false,
    };
    /// Every route: a platform that runs the whole pipeline in one place.
    pub const ALL: Self = Self {
        events: true,
        consent: true,
        profiles: true,
        decisions: true,
    };
    /// The score function's routes.
    pub const SCORE: Self = Self {
        events: false,
        consent: false,
        profiles: false,
        decisions: true,
    };
}

/// What the API runs on: a platform's functions, and how it takes events in.
pub trait Backend: Send + Sync {
    /// The platform's store.
    type Store: Store;
    /// The platform's publisher.
    type Publisher: Publisher;
    /// The platform's timer.
    type Timer: Timer;

    /// The functions.
    fn functions(&self) -> &Functions<Self::Store, Self::Publisher, Self::Timer>;

    /// Takes records in through ingest, and on through every later stage
    /// where the platform chains them in-process. Returns each record's
    /// disposition: acknowledged only once every step it triggered is final.
    fn accept(&self, records: Vec<Record>) -> impl Future<Output = BatchOutcome> + Send;

    /// Makes the writes so far durable, where the platform defers that
    /// (the embedded store); nothing to do elsewhere.
    ///
    /// # Errors
    /// The store could not make them durable.
    fn commit(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Now, for requests.
    fn now(&self) -> Timestamp {
        WallClock.now()
    }

    /// The platform whose bill a decision's report counts its store calls
    /// in (its units by that platform's names); none by default, where
    /// store calls are not billed per call or not priced.
    fn billed_as(&self) -> Option<Platform> {
        None
    }

    /// A decision `POST /v1/decide` made, with its own report: its store
    /// calls alone, counted apart from the requests served beside it, and
    /// its time since `began`. A platform logs it here with its cost
    /// record; nothing by default.
    fn decided(&self, report: &InvocationReport, began: Instant) {
        let _ = (report, began);
    }
}

/// The HTTP status for a request's dispositions: any retry → 503 (the
/// client should resend); every record dead-lettered → 413 for an oversize
/// single record, 403 when every one was a consent change the caller may
/// not make, else 422; otherwise 202, with per-record dispositions in
/// the body.
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
        if ds.iter().all(|d| {
            *d == Disposition::DeadLettered {
                reason: DeadLetterReason::ConsentNotPermitted,
            }
        }) {
            return StatusCode::FORBIDDEN;
        }
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    StatusCode::ACCEPTED
}

/// A JSON response.
#[must_use]
pub fn reply(status: StatusCode, body: &Value) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body.to_string().into_bytes());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn error(status: StatusCode, message: &str) -> http::Response<Vec<u8>> {
    reply(status, &json!({ "error": message }))
}

fn unavailable(e: &StoreError, what: &str) -> http::Response<Vec<u8>> {
    tracing::warn!(error = %e, "{what} failed");
    error(StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
}

/// The records of a request body: JSON Lines for `application/x-ndjson`
/// (or `jsonl`), one per non-empty line; otherwise the whole body is one.
/// `None` when there are more than `max`, found before any is copied.
#[must_use]
pub fn split(content_type: Option<&str>, body: &[u8], max: usize) -> Option<Vec<Vec<u8>>> {
    let ndjson = content_type.is_some_and(|v| v.contains("ndjson") || v.contains("jsonl"));
    if !ndjson {
        return (max > 0).then(|| vec![body.to_vec()]);
    }
    let lines = || {
        body.split(|b| *b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
    };
    if lines().nth(max).is_some() {
        return None;
    }
    Some(
        lines()
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line).to_vec())
            .collect(),
    )
}

/// Per-record outcomes as a response body: every record's, or past
/// [`SUMMARY_OVER`] records a `summary` (counts by outcome and
/// dead-letter reason) and only the records not accepted.
#[must_use]
pub fn outcome_body(outcome: &BatchOutcome) -> Value {
    let listed = |(id, d): &(String, Disposition)| json!({"id": id, "outcome": d});
    let ds = &outcome.dispositions;
    if ds.len() <= SUMMARY_OVER {
        return json!({ "records": ds.iter().map(listed).collect::<Vec<_>>() });
    }
    let (mut accepted, mut duplicate, mut retry) = (0_usize, 0_usize, 0_usize);
    let mut dead = std::collections::BTreeMap::<&str, usize>::new();
    for (_, d) in ds {
        match d {
            Disposition::Accepted { duplicate: false } => accepted += 1,
            Disposition::Accepted { duplicate: true } => duplicate += 1,
            Disposition::DeadLettered { reason } => *dead.entry(reason.as_str()).or_default() += 1,
            Disposition::Retry => retry += 1,
        }
    }
    let not_accepted: Vec<Value> = ds
        .iter()
        .filter(|(_, d)| !matches!(d, Disposition::Accepted { .. }))
        .map(listed)
        .collect();
    json!({
        "summary": {
            "records": ds.len(),
            "accepted": accepted,
            "duplicate": duplicate,
            "dead_lettered": dead,
            "retry": retry,
        },
        "records": not_accepted,
    })
}

/// What a platform's API serves, and to whom.
#[derive(Debug, Clone)]
pub struct Api {
    /// The routes served.
    pub routes: Routes,
    /// Who may call them.
    pub access: Access,
}

fn refused(refusal: access::Refusal) -> http::Response<Vec<u8>> {
    match refusal {
        access::Refusal::Unauthenticated => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "an API key is needed (Authorization: Bearer …)",
            );
            r.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
            r
        }
        access::Refusal::Forbidden => error(StatusCode::FORBIDDEN, "not allowed"),
    }
}

/// Whether a POST body's declared type is one the route reads: JSON, or
/// JSON Lines where a route takes several records.
fn readable(request: &http::Request<Vec<u8>>, lines: bool) -> bool {
    let Some(kind) = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
    else {
        return false;
    };
    kind == "application/json"
        || (lines && matches!(kind.as_str(), "application/x-ndjson" | "application/jsonl"))
}

/// Answers one request: the caller checked first (so an unauthenticated
/// caller learns nothing about the routes), then the route, its method,
/// the key's scope and the body's type.
pub async fn handle<B: Backend>(
    backend: &B,
    api: &Api,
    request: http::Request<Vec<u8>>,
) -> http::Response<Vec<u8>> {
    let caller = match api.access.authenticate(request.headers()) {
        Ok(caller) => caller,
        Err(refusal) => return refused(refusal),
    };
    if request.body().len() > MAX_BODY {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    }
    let routes = api.routes;
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let Some((route, allowed)) = Route::of(&segments, routes) else {
        return error(StatusCode::NOT_FOUND, "no such route");
    };
    if request.method() != allowed {
        let mut r = error(StatusCode::METHOD_NOT_ALLOWED, &format!("use {allowed}"));
        if let Ok(v) = http::HeaderValue::from_str(allowed.as_str()) {
            r.headers_mut().insert(http::header::ALLOW, v);
        }
        return r;
    }
    if let Err(refusal) = caller.allows(route.scope()) {
        return refused(refusal);
    }
    if request.method() == Method::POST && !readable(&request, matches!(route, Route::Events)) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/json (or application/x-ndjson for several events)",
        );
    }
    match route {
        Route::Health => reply(StatusCode::OK, &json!({"status": "ok"})),
        Route::Events => {
            // Consent changes need `consent:write` whatever route carries
            // them: ingest refuses one from a caller without it.
            let may_change_consent = caller.allows(Some(Scope::ConsentWrite)).is_ok();
            events(backend, &request, may_change_consent).await
        }
        Route::Consent => consent(backend, request.body()).await,
        Route::Profile(id) => profile(backend, &id).await,
        Route::Decide => decide_route(backend, request.body()).await,
        Route::Decision(id) => decision(backend, &id).await,
    }
}

/// A route the platform serves, with what its path names.
enum Route {
    Health,
    Events,
    Consent,
    Profile(String),
    Decide,
    Decision(String),
}

impl Route {
    /// The scope a key needs for the route (`None`: any key).
    const fn scope(&self) -> Option<Scope> {
        match self {
            Self::Health => None,
            Self::Events => Some(Scope::EventsWrite),
            Self::Consent => Some(Scope::ConsentWrite),
            Self::Profile(_) => Some(Scope::ProfilesRead),
            Self::Decide => Some(Scope::Decide),
            Self::Decision(_) => Some(Scope::DecisionsRead),
        }
    }

    /// The route at `segments` and the method it takes, if `routes` serves it.
    fn of(segments: &[&str], routes: Routes) -> Option<(Self, Method)> {
        let route = match segments {
            ["healthz"] => (Self::Health, Method::GET),
            ["v1", "events"] if routes.events => (Self::Events, Method::POST),
            ["v1", "consent"] if routes.consent => (Self::Consent, Method::POST),
            ["v1", "profiles", id] if routes.profiles => {
                (Self::Profile((*id).to_owned()), Method::GET)
            }
            ["v1", "decide"] if routes.decisions => (Self::Decide, Method::POST),
            ["v1", "decisions", id] if routes.decisions => {
                (Self::Decision((*id).to_owned()), Method::GET)
            }
            _ => return None,
        };
        Some(route)
    }
}

/// The records of a request, received `now`, from a caller that may (or
/// may not) change consent.
fn records_of(bodies: Vec<Vec<u8>>, now: Timestamp, may_change_consent: bool) -> Vec<Record> {
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| Record {
            partition: None,
            id: format!("record:{i}"),
            bytes,
            received_at: now,
            may_change_consent,
        })
        .collect()
}

async fn events<B: Backend>(
    backend: &B,
    request: &http::Request<Vec<u8>>,
    may_change_consent: bool,
) -> http::Response<Vec<u8>> {
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    // Counted before any record is built or any step runs.
    let Some(bodies) = split(content_type, request.body(), MAX_RECORDS) else {
        return reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({
                "error": format!("too many records: at most {MAX_RECORDS} per request"),
                "max_records": MAX_RECORDS,
            }),
        );
    };
    let records = records_of(bodies, backend.now(), may_change_consent);
    let outcome = backend.accept(records).await;
    reply(status_for(&outcome), &outcome_body(&outcome))
}

async fn consent<B: Backend>(backend: &B, body: &[u8]) -> http::Response<Vec<u8>> {
    // The same limits as any record, before parsing.
    let event = decode(body, Limits::default()).ok();
    let is_consent = event
        .as_ref()
        .is_some_and(|v| v.get("event_type").and_then(Value::as_str) == Some("consent_change"));
    if !is_consent {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "expected one consent_change event",
        );
    }
    let outcome = backend
        .accept(records_of(vec![body.to_vec()], backend.now(), true))
        .await;
    // The completion of this very request (ingest has checked the contract).
    let completion = match &parsed_event(body) {
        Some(event) => views::completion(backend.functions().store(), event)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let mut body = outcome_body(&outcome);
    body["completion"] = completion.unwrap_or(Value::Null);
    reply(status_for(&outcome), &body)
}

/// `body` as ingest's contract parses it. The contract is ingest's, so a
/// process built without ingest (which accepts no event) parses none, and
/// does not link the schema validator.
#[cfg(feature = "ingest")]
fn parsed_event(body: &[u8]) -> Option<tailor_core::event::ValidEvent> {
    let contract = tailor_core::contract::Contract::global().ok()?;
    contract.parse(body, Limits::default()).ok()
}

#[cfg(not(feature = "ingest"))]
const fn parsed_event(_: &[u8]) -> Option<tailor_core::event::ValidEvent> {
    None
}

async fn profile<B: Backend>(backend: &B, id: &str) -> http::Response<Vec<u8>> {
    let functions = backend.functions();
    match views::profile(functions.tables(), id, backend.now()).await {
        Ok(Some(view)) => reply(StatusCode::OK, &view),
        Ok(None) => error(StatusCode::NOT_FOUND, "no features for this profile"),
        Err(e) => unavailable(&e, "profile lookup"),
    }
}

async fn decide_route<B: Backend>(backend: &B, body: &[u8]) -> http::Response<Vec<u8>> {
    let began = Instant::now();
    let functions = backend.functions();
    // This request's store calls, apart from those of requests beside it.
    let tally = tally(functions.store(), backend.billed_as());
    let Some(score) = functions.score_over(&tally) else {
        return error(StatusCode::NOT_FOUND, "no such route");
    };
    let request = decode(body, Limits::default())
        .map_err(|e| e.to_string())
        .and_then(|v| serde_json::from_value::<DecisionRequest>(v).map_err(|e| e.to_string()));
    let request = match request {
        Ok(r) => r,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, &e),
    };
    let (record, logged) = decided(backend, &score, &request, backend.now()).await;
    let mut report = Function::Score.answered(tally.take());
    report.decision_id = Some(record.decision_id.clone());
    report.wall_us = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
    backend.decided(&report, began);
    // What the caller acts on; the whole record (the person's inputs
    // among it) is for `decisions:read`, at `GET /v1/decisions/{id}`.
    let answer = views::decision_answer(&record);
    let mut response = match logged {
        Ok(()) => reply(StatusCode::OK, &answer),
        Err(e) => {
            // The safe choice is still returned; the client learns it was not logged.
            tracing::warn!(error = %e, "decision not logged");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"error": "decision not logged", "decision": answer}),
            )
        }
    };
    response
        .extensions_mut()
        .insert(Decided(record.decision_id));
    response
}

/// The decision a response answered with, for the platform's report of
/// the request (so the request's cost record names the decision it paid
/// for): an extension on every response of `POST /v1/decide` that made
/// one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided(pub String);

/// Makes a decision for `request` at `now` and logs it durably: the
/// platform's commit follows the log, so a decision its caller is told was
/// logged survives a crash. `None` where this process does not run score.
/// The second part is the log's outcome (the decision stands either way:
/// on a failed log it is returned, not kept).
pub async fn decide<B: Backend>(
    backend: &B,
    request: &DecisionRequest,
    now: Timestamp,
) -> Option<(DecisionRecord, Result<(), StoreError>)> {
    let score = backend.functions().score()?;
    Some(decided(backend, &score, request, now).await)
}

async fn decided<B: Backend, X: Store>(
    backend: &B,
    score: &Score<'_, X, B::Timer>,
    request: &DecisionRequest,
    now: Timestamp,
) -> (DecisionRecord, Result<(), StoreError>) {
    let (record, mut logged) = score.decide(request, now).await;
    if logged.is_ok() {
        logged = backend.commit();
    }
    (record, logged)
}

async fn decision<B: Backend>(backend: &B, id: &str) -> http::Response<Vec<u8>> {
    let Some(score) = backend.functions().score() else {
        return error(StatusCode::NOT_FOUND, "no such route");
    };
    match score.fetch(id).await {
        Ok(Some(record)) => reply(StatusCode::OK, &json!(record)),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such decision"),
        Err(e) => unavailable(&e, "decision lookup"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(ds: &[Disposition]) -> BatchOutcome {
        BatchOutcome {
            dispositions: ds.iter().map(|d| (String::new(), *d)).collect(),
            report: tailor_core::report::InvocationReport::default(),
        }
    }

    #[test]
    fn statuses_follow_the_dispositions() {
        let dead = |reason| Disposition::DeadLettered { reason };
        assert_eq!(
            status_for(&outcome(&[Disposition::ACCEPTED, Disposition::Retry])),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status_for(&outcome(&[dead(DeadLetterReason::TooLarge)])),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            status_for(&outcome(&[
                dead(DeadLetterReason::TooLarge),
                dead(DeadLetterReason::MalformedJson)
            ])),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status_for(&outcome(&[
                Disposition::DUPLICATE,
                dead(DeadLetterReason::MalformedJson)
            ])),
            StatusCode::ACCEPTED
        );
    }

    #[test]
    fn json_lines_split_on_non_blank_lines_and_json_stays_whole() {
        let body = b"{\"a\":1}\r\n\n  \n{\"b\":2}";
        assert_eq!(
            split(Some("application/x-ndjson"), body, 2),
            Some(vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()])
        );
        assert_eq!(
            split(Some("application/json"), body, 1),
            Some(vec![body.to_vec()])
        );
    }

    #[test]
    fn more_records_than_the_cap_are_refused_before_any_is_copied() {
        let body = b"{}\n{}\n\n{}\n";
        assert_eq!(
            split(Some("application/x-ndjson"), body, 3).map(|r| r.len()),
            Some(3)
        );
        assert_eq!(split(Some("application/x-ndjson"), body, 2), None);
        assert_eq!(split(Some("application/json"), body, 0), None);
    }

    #[test]
    fn a_long_batch_is_answered_with_counts_and_the_records_not_accepted() {
        let dead = Disposition::DeadLettered {
            reason: DeadLetterReason::Contract,
        };
        let mut ds = vec![Disposition::ACCEPTED; SUMMARY_OVER];
        assert_eq!(
            outcome_body(&outcome(&ds))["records"]
                .as_array()
                .map(Vec::len),
            Some(SUMMARY_OVER)
        );
        ds.extend([Disposition::DUPLICATE, dead, dead]);
        let body = outcome_body(&outcome(&ds));
        assert_eq!(
            body["summary"],
            json!({"records": SUMMARY_OVER + 3, "accepted": SUMMARY_OVER, "duplicate": 1, "dead_lettered": {"contract": 2}, "retry": 0})
        );
        assert_eq!(body["records"].as_array().map(Vec::len), Some(2));
        assert_eq!(body["records"][0]["outcome"]["reason"], "contract");
    }
}
