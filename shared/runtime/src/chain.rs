//! The stages chained in one process: ingest, then enrich over what ingest
//! published, then features and consent over what enrich published — the
//! way a stream of small invocations would run them, one batch at a time.
//!
//! The local platform runs every batch this way, and so can any platform
//! whose publisher can be read back in-process (an [`Inbox`]); test
//! harnesses use it to drive a cloud platform's stores and streams without
//! its event source mappings.

use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::ports::{Publisher, Store, Timer, Topic};

use crate::functions::{Functions, Stage};
use crate::report::RunReport;

/// A publisher whose messages can be taken back, as records, by the stage
/// that reads them.
pub trait Inbox: Send + Sync {
    /// Everything published to `topic` since the last call, as records
    /// received at `now`.
    fn take(
        &self,
        topic: Topic,
        now: tailor_core::Timestamp,
    ) -> impl Future<Output = Vec<Record>> + Send;
}

impl<S: Store, P: Publisher + Inbox, T: Timer> Functions<S, P, T> {
    /// Runs one batch through every stage, each with the redelivery policy
    /// ([`Functions::deliver`]); returns ingest's outcome and, per later
    /// stage, its outcome.
    pub async fn chain(&self, records: &[Record], report: &mut RunReport) -> Chained {
        let ingest = self.deliver(Stage::Ingest, records, report).await;
        Chained {
            ingest,
            downstream: self.drain(report).await,
        }
    }

    /// Runs what ingest has published through the later stages, in order,
    /// each with the redelivery policy; returns each stage's outcome.
    pub async fn drain(&self, report: &mut RunReport) -> Vec<(Stage, BatchOutcome)> {
        let mut downstream = Vec::new();
        for stage in [Stage::Enrich, Stage::Features, Stage::Consent] {
            let Some(topic) = stage.input() else {
                continue;
            };
            let now = tailor_core::ports::Clock::now(self.clock());
            let batch = self.publisher().take(topic, now).await;
            if batch.is_empty() {
                continue;
            }
            downstream.push((stage, self.deliver(stage, &batch, report).await));
        }
        downstream
    }
}

/// What a batch did in every stage.
#[derive(Debug, Clone, Default)]
pub struct Chained {
    /// Ingest's final dispositions of the input records.
    pub ingest: BatchOutcome,
    /// Each later stage that received records, with its final outcome.
    pub downstream: Vec<(Stage, BatchOutcome)>,
}

impl Chained {
    /// Whether every record of every stage reached a final disposition:
    /// nothing is left for a retry, and nothing was set aside because its
    /// retries ran out.
    #[must_use]
    pub fn settled(&self) -> bool {
        std::iter::once(&self.ingest)
            .chain(self.downstream.iter().map(|(_, o)| o))
            .all(|o| {
                o.dispositions.iter().all(|(_, d)| {
                    d.acknowledges()
                        && *d
                            != tailor_core::disposition::Disposition::DeadLettered {
                                reason:
                                    tailor_core::disposition::DeadLetterReason::RetriesExhausted,
                            }
                })
            })
    }
}
