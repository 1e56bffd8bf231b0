//! Stream functions on Cloud Run: one Pub/Sub message per request, pushed
//! by a push subscription (the wrapped JSON body) or delivered by Eventarc
//! (a CloudEvent in binary mode: `ce-*` headers, the same body), on one
//! route, `POST /push`.
//!
//! The message's disposition becomes the answer in one place,
//! [`status_for`]: accepted, duplicate and dead-lettered are acknowledged
//! (2xx), a retry is not (503), so Pub/Sub redelivers it with the
//! subscription's backoff, and after `max_delivery_attempts` moves it to
//! the dead-letter topic. A body that is not a push envelope still goes
//! through the function as a record, which dead-letters it with its reason
//! and acknowledges it: a poison message never comes back.
//!
//! Pub/Sub delivers at least once and may deliver an acknowledged message
//! again; records carry no partition (Pub/Sub has no positions to compare),
//! and every step is idempotent per event id (see the README's guarantees).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tailor_runtime::Stage;

use crate::oidc::PushVerifier;
use crate::platform::GcpService;
use tailor_runtime::cost::Costing;

/// The largest push body read: Pub/Sub's 10 MB message, base64, wrapped.
pub const MAX_PUSH_BODY: usize = 14 * 1024 * 1024;

/// A push request's body. Pub/Sub sends some names in both spellings at
/// once (`messageId` and `message_id`, …), so each spelling is read on its
/// own and either is taken; everything but the message is optional.
#[derive(Debug, Clone, Deserialize)]
pub struct PushBody {
    /// The message.
    pub message: PushMessage,
    /// The subscription it came through.
    #[serde(default)]
    pub subscription: Option<String>,
    /// Which delivery this is (set when the subscription has a dead-letter policy).
    #[serde(default, rename = "deliveryAttempt")]
    delivery_attempt: Option<u32>,
    #[serde(default, rename = "delivery_attempt")]
    delivery_attempt_snake: Option<u32>,
}

impl PushBody {
    /// Which delivery this is, in either spelling.
    #[must_use]
    pub fn delivery_attempt(&self) -> Option<u32> {
        self.delivery_attempt.or(self.delivery_attempt_snake)
    }
}

/// The message of a [`PushBody`].
#[derive(Debug, Clone, Deserialize)]
pub struct PushMessage {
    /// The data, base64.
    #[serde(default)]
    pub data: Option<String>,
    /// The attributes.
    #[serde(default)]
    pub attributes: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, rename = "messageId")]
    message_id: Option<String>,
    #[serde(default, rename = "message_id")]
    message_id_snake: Option<String>,
    #[serde(default, rename = "publishTime")]
    publish_time: Option<String>,
    #[serde(default, rename = "publish_time")]
    publish_time_snake: Option<String>,
    #[serde(default, rename = "orderingKey")]
    ordering_key: Option<String>,
    #[serde(default, rename = "ordering_key")]
    ordering_key_snake: Option<String>,
}

impl PushMessage {
    /// The id Pub/Sub gave it.
    #[must_use]
    pub fn message_id(&self) -> Option<&str> {
        self.message_id
            .as_deref()
            .or(self.message_id_snake.as_deref())
    }

    /// When Pub/Sub received it (RFC 3339).
    #[must_use]
    pub fn publish_time(&self) -> Option<&str> {
        self.publish_time
            .as_deref()
            .or(self.publish_time_snake.as_deref())
    }

    /// Its ordering key.
    #[must_use]
    pub fn ordering_key(&self) -> Option<&str> {
        self.ordering_key
            .as_deref()
            .or(self.ordering_key_snake.as_deref())
    }
}

/// The record a push request carries: id = the message id (or the
/// CloudEvent's `ce-id`), received at its publish time (else `now`). A body
/// that is not a push envelope, or data that is not base64, is kept as it
/// came, for the function to dead-letter.
#[must_use]
pub fn record(headers: &http::HeaderMap, body: &[u8], now: Timestamp) -> Record {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let parsed = serde_json::from_slice::<PushBody>(body).ok();
    let message = parsed.as_ref().map(|p| &p.message);
    let id = message
        .and_then(|m| m.message_id().map(str::to_owned))
        .or_else(|| header("ce-id"))
        .unwrap_or_else(|| "unidentified".to_owned());
    let received_at = message
        .and_then(|m| m.publish_time())
        .or(header("ce-time").as_deref())
        .and_then(|t| Timestamp::parse(t).ok())
        .unwrap_or(now);
    let bytes = match message {
        Some(m) => {
            let data = m.data.as_deref().unwrap_or_default();
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap_or_else(|_| data.as_bytes().to_vec())
        }
        None => body.to_vec(),
    };
    Record {
        partition: None,
        id,
        bytes,
        received_at,
        // The topic's publishers change consent only where the deployment
        // trusts them with it: see [`tailor_runtime::Service::stream_consent`].
        may_change_consent: false,
    }
}

/// The answer to a push request, the one place push decides it: 200
/// (acknowledged) when every record it carried ended in a disposition that
/// [`acknowledges`](tailor_core::disposition::Disposition::acknowledges)
/// it, else 503 (Pub/Sub delivers it again, and after
/// `max_delivery_attempts` moves it to the dead-letter topic). Pull
/// acknowledges each message by the same rule.
#[must_use]
pub fn status_for(outcome: &BatchOutcome) -> StatusCode {
    if outcome.dispositions.iter().all(|(_, d)| d.acknowledges()) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

struct App {
    service: &'static GcpService,
    cost: Option<&'static Costing>,
    stage: Stage,
    verifier: Option<PushVerifier>,
}

fn answer(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = Response::new(axum::body::Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

async fn push(State(app): State<Arc<App>>, request: Request) -> Response {
    let began = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    if parts.method != http::Method::POST {
        return answer(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "use POST"}),
        );
    }
    if let Some(verifier) = &app.verifier
        && let Err(e) = verifier.check(&parts.headers).await
    {
        tracing::warn!(error = %e, "push request refused");
        return answer(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "not a verified push request"}),
        );
    }
    // Served by the runtime, the body is already read within its limits.
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PUSH_BODY).await else {
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"error": "push body too large"}),
        );
    };
    let now = tailor_core::ports::Clock::now(&tailor_runtime::WallClock);
    let mut record = record(&parts.headers, &bytes, now);
    if app.stage == Stage::Ingest {
        record.may_change_consent = app.service.stream_consent;
    }
    let outcome = app
        .service
        .functions
        .invoke(app.stage, std::slice::from_ref(&record))
        .await;
    tailor_runtime::report::emit_priced(&outcome.report, app.cost, began, &record.id);
    answer(
        status_for(&outcome),
        &tailor_runtime::http::outcome_body(&outcome),
    )
}

async fn not_found() -> Response {
    answer(StatusCode::NOT_FOUND, &json!({"error": "no such route"}))
}

/// The router of a stream function: `POST /push`, nothing else.
pub fn router(
    service: &'static GcpService,
    cost: Option<&'static Costing>,
    stage: Stage,
    verifier: Option<PushVerifier>,
) -> Router {
    Router::new()
        .route("/push", axum::routing::any(push))
        .fallback(not_found)
        .with_state(Arc::new(App {
            service,
            cost,
            stage,
            verifier,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("2026-12-01T00:00:00Z").unwrap()
    }

    #[test]
    fn a_push_body_in_either_spelling_gives_its_record() {
        for body in [
            json!({"message": {"data": "e30=", "messageId": "m-1", "publishTime": "2026-11-30T10:00:00.123Z", "orderingKey": "u-1"}, "subscription": "projects/p/subscriptions/s", "deliveryAttempt": 2}),
            json!({"message": {"data": "e30=", "message_id": "m-1", "publish_time": "2026-11-30T10:00:00.123Z"}, "delivery_attempt": 2}),
            // Pub/Sub's own push body carries both spellings at once.
            json!({"message": {"data": "e30=", "messageId": "m-1", "message_id": "m-1", "publishTime": "2026-11-30T10:00:00.123Z", "publish_time": "2026-11-30T10:00:00.123Z"}, "subscription": "projects/p/subscriptions/s"}),
        ] {
            let r = record(&http::HeaderMap::new(), body.to_string().as_bytes(), now());
            assert_eq!(r.id, "m-1");
            assert_eq!(r.bytes, b"{}");
            assert_eq!(
                r.received_at,
                Timestamp::parse("2026-11-30T10:00:00.123Z").unwrap()
            );
            assert_eq!(r.partition, None);
        }
    }

    #[test]
    fn a_cloudevent_names_its_record_by_its_headers() {
        let mut headers = http::HeaderMap::new();
        headers.insert("ce-id", "ce-7".parse().unwrap());
        headers.insert("ce-time", "2026-11-30T11:00:00Z".parse().unwrap());
        headers.insert(
            "ce-type",
            "google.cloud.pubsub.topic.v1.messagePublished"
                .parse()
                .unwrap(),
        );
        let body = json!({"message": {"data": "e30="}});
        let r = record(&headers, body.to_string().as_bytes(), now());
        assert_eq!(r.id, "ce-7");
        assert_eq!(
            r.received_at,
            Timestamp::parse("2026-11-30T11:00:00Z").unwrap()
        );
    }

    #[test]
    fn what_is_not_a_push_envelope_is_kept_as_it_came() {
        let r = record(&http::HeaderMap::new(), b"not json", now());
        assert_eq!(
            (r.id.as_str(), r.bytes.as_slice(), r.received_at),
            ("unidentified", &b"not json"[..], now())
        );
        let body = json!({"message": {"data": "not base64!", "messageId": "m-2"}});
        let r = record(&http::HeaderMap::new(), body.to_string().as_bytes(), now());
        assert_eq!(r.bytes, b"not base64!");
    }
}
