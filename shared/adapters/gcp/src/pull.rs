//! Streaming pull, for high-volume stages: the official client's
//! subscriber keeps a stream of messages open, messages are gathered into
//! batches (up to `TAILOR_PULL_BATCH`, waiting at most `TAILOR_PULL_WAIT_MS`
//! once the first is in), the stage runs once per batch, and each message
//! is acknowledged or not by its own record's disposition, by the rule push
//! answers by ([`Disposition::acknowledges`]): a retry is not acknowledged,
//! so Pub/Sub delivers it again and, after the subscription's
//! `max_delivery_attempts`, moves it to the dead-letter topic.
//!
//! A message's record is the one push builds: id = the message id,
//! received at its publish time.

use std::time::Duration;

use google_cloud_pubsub::client::Subscriber;
use google_cloud_pubsub::model::Message;
use google_cloud_pubsub::subscriber::handler::Handler;
use tailor_core::Timestamp;
use tailor_core::batch::Record;
use tailor_core::disposition::Disposition;
use tailor_core::ports::Clock;
use tailor_runtime::{Stage, WallClock};

use crate::config::Pull;
use crate::platform::GcpService;
use tailor_runtime::cost::Costing;

/// A subscriber client: at `emulator` (`http://host:port`) with anonymous
/// credentials when given, else Google's endpoint and default credentials.
///
/// # Errors
/// The client cannot be created (no credentials found, say).
pub async fn subscriber(emulator: Option<&str>) -> Result<Subscriber, String> {
    let mut builder = Subscriber::builder();
    if let Some(endpoint) = emulator {
        builder = builder
            .with_endpoint(endpoint)
            .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build());
    }
    builder
        .build()
        .await
        .map_err(|e| format!("Pub/Sub subscriber: {e}"))
}

/// The record a pulled message carries: id = its message id, received at
/// its publish time (else `now`), its data as it came.
#[must_use]
pub fn record(message: &Message, now: Timestamp) -> Record {
    let received_at = message.publish_time.as_ref().map_or(now, |t| {
        Timestamp::from_millis(
            t.seconds()
                .saturating_mul(1000)
                .saturating_add(i64::from(t.nanos()) / 1_000_000),
        )
    });
    Record {
        partition: None,
        id: message.message_id.clone(),
        bytes: message.data.to_vec(),
        received_at,
        // Set by the caller from the deployment's trust in the topic's
        // publishers: see [`tailor_runtime::Service::stream_consent`].
        may_change_consent: false,
    }
}

/// Pulls `pull`'s subscription through `stage` until `stop` completes: one
/// invocation per batch, each message acknowledged or not by its record's
/// disposition. A batch in progress when `stop` completes is finished.
///
/// # Errors
/// The subscription's stream failed or ended (the process exits, and the
/// platform starts it again; unacknowledged messages are delivered again).
pub async fn run(
    service: &GcpService,
    cost: Option<&Costing>,
    stage: Stage,
    subscriber: &Subscriber,
    pull: &Pull,
    stop: impl Future<Output = ()>,
) -> Result<(), String> {
    let outstanding = i64::try_from(pull.batch.saturating_mul(2)).unwrap_or(i64::MAX);
    let mut stream = subscriber
        .subscribe(&pull.subscription)
        .set_max_outstanding_messages(outstanding)
        .build();
    let wait = Duration::from_millis(pull.wait_ms);
    let mut stop = std::pin::pin!(stop);
    loop {
        let first = tokio::select! {
            () = &mut stop => return Ok(()),
            next = stream.next() => next,
        };
        let first = first
            .ok_or_else(|| format!("{}: the message stream ended", pull.subscription))?
            .map_err(|e| format!("{}: {e}", pull.subscription))?;
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + wait;
        while batch.len() < pull.batch {
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(message))) => batch.push(message),
                Ok(Some(Err(e))) => {
                    // The batch so far is still answered; the stream's
                    // next failure ends the loop above.
                    tracing::warn!(error = %e, "pulling a message failed");
                    break;
                }
                Ok(None) | Err(_) => break,
            }
        }
        invoke(service, cost, stage, batch).await;
    }
}

/// One invocation over a pulled batch; each message acknowledged or not.
async fn invoke(
    service: &GcpService,
    cost: Option<&Costing>,
    stage: Stage,
    batch: Vec<(Message, Handler)>,
) {
    let began = std::time::Instant::now();
    let now = WallClock.now();
    let (records, handlers): (Vec<Record>, Vec<Handler>) = batch
        .into_iter()
        .map(|(message, handler)| {
            let mut record = record(&message, now);
            if stage == Stage::Ingest {
                record.may_change_consent = service.stream_consent;
            }
            (record, handler)
        })
        .unzip();
    let outcome = service.functions.invoke(stage, &records).await;
    if let Some(first) = records.first() {
        tailor_runtime::report::emit_priced(&outcome.report, cost, began, &first.id);
    }
    // One disposition per record, in order; a record without one is
    // delivered again.
    let mut dispositions = outcome.dispositions.iter().map(|(_, d)| *d);
    for handler in handlers {
        if dispositions.next().is_some_and(Disposition::acknowledges) {
            handler.ack();
        } else {
            handler.nack();
        }
    }
}
