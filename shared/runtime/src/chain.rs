//! The stages chained in one process: ingest, then enrich over what ingest
//! published, then features and consent over what enrich published — the
//! way a stream of small invocations would run them, one batch at a time.
//!
//! The local platform runs every batch this way, and so can any platform
//! whose publisher can be read back in-process (an [`Inbox`]); test
//! harnesses use it to drive a cloud platform's stores and streams without
//! its event source mappings.

use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::ports::{Publisher, Store, Timer, Topic};

use crate::function::Stage;
use crate::functions::Functions;
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

    /// Takes records in for a caller waiting on the answer (an HTTP
    /// request), who sends again what it is told to: ingest runs once, so a
    /// record it could not take (a store error on its ledger entry) is
    /// answered `Retry` and nothing else is; the later stages run with the
    /// redelivery policy. A record is acknowledged only when every step it
    /// triggered is final. When a later step's is not, each record ingest
    /// had newly accepted is answered `Retry` too and forgotten by ingest,
    /// so that its resend runs every step again instead of being
    /// acknowledged as a repeat. A lone record that a later step set aside
    /// is answered with that step's reason.
    pub async fn take_in(&self, records: &[Record], report: &mut RunReport) -> BatchOutcome {
        let mut outcome = self.invoke(Stage::Ingest, records).await;
        report.absorb(&outcome);
        let chained = Chained {
            ingest: outcome.clone(),
            downstream: self.drain(report).await,
        };
        if chained.downstream_settled() {
            if let [(_, answer)] = outcome.dispositions.as_mut_slice()
                && *answer == Disposition::ACCEPTED
                && let Some(reason) = chained.set_aside_downstream()
            {
                *answer = Disposition::DeadLettered { reason };
            }
            return outcome;
        }
        let accepted: Vec<Record> = records
            .iter()
            .zip(&outcome.dispositions)
            .filter(|(_, (_, d))| *d == Disposition::ACCEPTED)
            .map(|(r, _)| r.clone())
            .collect();
        if let Err(e) = self.forget(&accepted).await {
            tracing::warn!(error = %e, "ingest could not forget unfinished records; a resend may be taken as a repeat");
        }
        for (_, d) in &mut outcome.dispositions {
            if *d == Disposition::ACCEPTED {
                *d = Disposition::Retry;
            }
        }
        outcome
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
    /// The reason a later stage set a record aside for, if one did.
    #[must_use]
    pub fn set_aside_downstream(&self) -> Option<DeadLetterReason> {
        self.downstream
            .iter()
            .flat_map(|(_, o)| &o.dispositions)
            .find_map(|(_, d)| match d {
                Disposition::DeadLettered { reason } => Some(*reason),
                _ => None,
            })
    }

    /// Whether every record of every stage reached a final disposition:
    /// nothing is left for a retry, and nothing was set aside because its
    /// retries ran out.
    #[must_use]
    pub fn settled(&self) -> bool {
        is_final(&self.ingest) && self.downstream_settled()
    }

    /// Whether every record of every later stage reached a final
    /// disposition, as [`Chained::settled`] says.
    #[must_use]
    pub fn downstream_settled(&self) -> bool {
        self.downstream.iter().all(|(_, o)| is_final(o))
    }
}

/// Whether every record of `outcome` is final: acknowledged, and not set
/// aside because its retries ran out.
fn is_final(outcome: &BatchOutcome) -> bool {
    outcome.dispositions.iter().all(|(_, d)| {
        d.acknowledges()
            && *d
                != Disposition::DeadLettered {
                    reason: DeadLetterReason::RetriesExhausted,
                }
    })
}

/// An in-process publisher: one FIFO queue per topic, read back by the
/// stage that takes it ([`Inbox`]). What a platform that chains its stages
/// in one process publishes to.
#[derive(Debug, Default)]
pub struct Mailbox {
    topics: std::sync::Mutex<std::collections::BTreeMap<Topic, Vec<Vec<u8>>>>,
}

impl Mailbox {
    /// An empty mailbox.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes every message of `topic`, oldest first.
    #[must_use]
    pub fn drain(&self, topic: Topic) -> Vec<Vec<u8>> {
        self.topics
            .lock()
            .map(|mut t| t.remove(&topic).unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Publisher for Mailbox {
    async fn publish(
        &self,
        topic: Topic,
        _key: &str,
        payload: Vec<u8>,
    ) -> Result<(), tailor_core::ports::PublishError> {
        self.topics
            .lock()
            .map_err(|_| tailor_core::ports::PublishError("mailbox lock poisoned".into()))?
            .entry(topic)
            .or_default()
            .push(payload);
        Ok(())
    }
}

impl Inbox for Mailbox {
    async fn take(&self, topic: Topic, now: tailor_core::Timestamp) -> Vec<Record> {
        let label = match topic {
            Topic::Ingested => "ingested",
            Topic::Enriched => "enriched",
            Topic::ConsentChanges => "consent",
        };
        self.drain(topic)
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| Record {
                partition: None,
                id: format!("{label}:{i}"),
                bytes,
                received_at: now,
                may_change_consent: false,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailbox_gives_each_topic_back_in_order_once() {
        let mailbox = Mailbox::new();
        let publish = |topic, payload: &str| {
            futures_lite(mailbox.publish(topic, "k", payload.as_bytes().to_vec())).unwrap();
        };
        publish(Topic::Ingested, "a");
        publish(Topic::Enriched, "x");
        publish(Topic::Ingested, "b");
        let now = tailor_core::Timestamp::from_millis(7);
        let taken = futures_lite(mailbox.take(Topic::Ingested, now));
        let got: Vec<(&str, &[u8], i64)> = taken
            .iter()
            .map(|r| (r.id.as_str(), r.bytes.as_slice(), r.received_at.as_millis()))
            .collect();
        assert_eq!(
            got,
            vec![("ingested:0", &b"a"[..], 7), ("ingested:1", &b"b"[..], 7)]
        );
        assert!(futures_lite(mailbox.take(Topic::Ingested, now)).is_empty());
        assert_eq!(mailbox.drain(Topic::Enriched), vec![b"x".to_vec()]);
    }

    /// Runs a future that never waits.
    fn futures_lite<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("the mailbox never waits"),
        }
    }
}
