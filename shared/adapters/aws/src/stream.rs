//! Stream-triggered functions on Lambda: a Kinesis batch in, the records
//! to retry out.
//!
//! With `ReportBatchItemFailures` on the event source mapping, Lambda
//! retries from the lowest sequence number reported, so a record that is
//! retried may bring later, already-processed records with it: each record
//! carries its shard and sequence number, functions whose state would not
//! absorb a second application (features) remember the last position
//! applied per shard, and the rest are idempotent per event, so they are
//! acknowledged as duplicates the second time. Records a function dead-letters are acknowledged, so a
//! poison record never blocks its shard.

use aws_lambda_events::event::streams::KinesisEventResponse;
use base64::Engine;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Deserialize;
use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tailor_runtime::Stage;

use crate::platform::Platform;

/// A Kinesis batch as Lambda delivers it: only what the functions read.
///
/// `aws_lambda_events`' `KinesisEvent` reads `approximateArrivalTimestamp`
/// (seconds, as a float) by the digits of its fraction, so `…21.93` comes
/// out as 21.093 s; the arrival time is the received-at time ingest
/// corrects clock skew against, so it is read here as the number it is.
#[derive(Debug, Clone, Deserialize)]
pub struct KinesisBatch {
    /// The records, in shard order.
    #[serde(rename = "Records", default)]
    pub records: Vec<KinesisEntry>,
}

/// One record of a [`KinesisBatch`].
#[derive(Debug, Clone, Deserialize)]
pub struct KinesisEntry {
    /// `shardId-…:sequence`: names the shard the record came from.
    #[serde(rename = "eventID", default)]
    pub event_id: String,
    /// The Kinesis part.
    pub kinesis: KinesisPayload,
}

impl KinesisEntry {
    /// The shard the record came from, when the event names it.
    #[must_use]
    pub fn shard(&self) -> Option<&str> {
        self.event_id
            .split_once(':')
            .map(|(shard, _)| shard)
            .filter(|s| !s.is_empty())
    }
}

/// A record's Kinesis fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisPayload {
    /// The sequence number: what a retry names.
    pub sequence_number: String,
    /// The data, base64.
    pub data: String,
    /// When the stream received it, in seconds since the epoch.
    pub approximate_arrival_timestamp: f64,
}

/// The batch's records, in order: id = sequence number within the shard
/// (the partition), received at the stream's arrival time. A record whose data is not base64 keeps the text
/// as it came, which ingest then dead-letters as malformed.
#[must_use]
pub fn records(event: &KinesisBatch) -> Vec<Record> {
    event
        .records
        .iter()
        .map(|r| Record {
            partition: r.shard().map(str::to_owned),
            id: r.kinesis.sequence_number.clone(),
            bytes: base64::engine::general_purpose::STANDARD
                .decode(&r.kinesis.data)
                .unwrap_or_else(|_| r.kinesis.data.clone().into_bytes()),
            #[allow(
                clippy::cast_possible_truncation,
                reason = "milliseconds since the epoch fit an i64 for any real arrival time"
            )]
            received_at: Timestamp::from_millis(
                (r.kinesis.approximate_arrival_timestamp * 1000.0).round() as i64,
            ),
            may_change_consent: false,
        })
        .collect()
}

/// The response naming every record that asked for a retry: the one place
/// a batch's dispositions become Kinesis `batchItemFailures`.
#[must_use]
pub fn response(outcome: &BatchOutcome) -> KinesisEventResponse {
    let mut response = KinesisEventResponse::default();
    for id in outcome.retries() {
        response.add_failure(id);
    }
    response
}

/// Runs a stream-triggered function: each invocation's deadline bounds the
/// AWS calls, and its report and cost record are logged.
///
/// # Errors
/// The Runtime API could not be reached.
pub async fn serve(platform: &'static Platform, stage: Stage) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisBatch>| async move {
            let began = std::time::Instant::now();
            platform
                .cloud
                .deadline
                .set_from_epoch_millis(event.context.deadline);
            let mut records = records(&event.payload);
            if stage == Stage::Ingest {
                // The stream's producers change consent only where the
                // deployment trusts them with it.
                for record in &mut records {
                    record.may_change_consent = platform.service.stream_consent;
                }
            }
            let outcome = platform.service.functions.invoke(stage, &records).await;
            platform.report(&outcome.report, began, &event.context.request_id);
            Ok::<_, lambda_runtime::Error>(response(&outcome))
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrival_times_keep_their_milliseconds() {
        let batch: KinesisBatch = serde_json::from_value(serde_json::json!({
            "Records": [
                {"kinesis": {"sequenceNumber": "1", "data": "e30=", "approximateArrivalTimestamp": 1_764_000_081.93}},
                {"kinesis": {"sequenceNumber": "2", "data": "not base64!", "approximateArrivalTimestamp": 1_764_000_081.007}}
            ]
        }))
        .unwrap();
        let records = records(&batch);
        assert_eq!(records[0].received_at.as_millis(), 1_764_000_081_930);
        assert_eq!(records[0].bytes, b"{}");
        assert_eq!(records[1].received_at.as_millis(), 1_764_000_081_007);
        assert_eq!(records[1].bytes, b"not base64!");
    }
}
