//! Stream-triggered functions on Lambda: a Kinesis batch in, the records
//! to retry out.
//!
//! With `ReportBatchItemFailures` on the event source mapping, Lambda
//! retries from the lowest sequence number reported, so a record that is
//! retried may bring later, already-processed records with it: every
//! function is idempotent per event, so they are acknowledged as duplicates
//! the second time. Records a function dead-letters are acknowledged, so a
//! poison record never blocks its shard.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use lambda_runtime::{LambdaEvent, service_fn};
use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tracing::info;

use crate::platform::Platform;

/// The batch's records, in order: id = sequence number, received at the
/// stream's arrival time.
#[must_use]
pub fn records(event: &KinesisEvent) -> Vec<Record> {
    event
        .records
        .iter()
        .map(|r| Record {
            id: r.kinesis.sequence_number.clone(),
            bytes: r.kinesis.data.0.clone(),
            received_at: Timestamp::from_millis(
                r.kinesis.approximate_arrival_timestamp.0.timestamp_millis(),
            ),
        })
        .collect()
}

/// The response naming every record that asked for a retry.
#[must_use]
pub fn response(outcome: &BatchOutcome) -> KinesisEventResponse {
    let mut response = KinesisEventResponse::default();
    for id in outcome.retries() {
        response.add_failure(id);
    }
    response
}

/// Runs a stream-triggered function: each invocation's deadline bounds the
/// AWS calls, the store's capacity units join the invocation report, and
/// the report is logged (as JSON, one line per invocation) for cost review.
///
/// # Errors
/// The Runtime API could not be reached.
pub async fn serve<F, Fut>(
    platform: &'static Platform,
    handle: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Vec<Record>) -> Fut + Send + Sync,
    Fut: Future<Output = BatchOutcome> + Send,
{
    let handle = &handle;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            platform
                .deadline
                .set_from_epoch_millis(event.context.deadline);
            let records = records(&event.payload);
            if let Some(clock) = &platform.arrival {
                for r in &records {
                    clock.advance(r.received_at);
                }
            }
            let mut outcome = handle(records).await;
            platform.account(&mut outcome.report);
            info!(
                target: "tailor::report",
                request_id = %event.context.request_id,
                report = %serde_json::to_string(&outcome.report).unwrap_or_default(),
                "invocation report"
            );
            Ok::<_, lambda_runtime::Error>(response(&outcome))
        },
    ))
    .await
}
