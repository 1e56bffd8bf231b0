//! The redelivery policy of platforms that deliver in-process: a record
//! that asks for a retry is delivered again, up to [`ATTEMPTS`] times in
//! all (as Lambda does for a stream batch), and one that still asks is set
//! aside as `retries_exhausted` with its bytes, like a stream's on-failure
//! destination, so it can be replayed and is never lost.
//!
//! Platforms whose transport redelivers (Kinesis, Pub/Sub) leave this to
//! the transport and map each invocation's outcome instead.

use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::dead_letter;
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::ports::{Publisher, Store, Timer};
use tailor_core::tables::Tables;

use crate::function::Stage;
use crate::functions::Functions;
use crate::report::RunReport;

/// How many times a record is delivered, the first time included.
pub const ATTEMPTS: usize = 3;

impl<S: Store, P: Publisher, T: Timer> Functions<S, P, T> {
    /// Delivers `records` to `stage`, then the records that asked for a
    /// retry, up to [`ATTEMPTS`] deliveries; what still fails is set aside.
    /// Every invocation's report joins `report`. Returns the final
    /// disposition of every record, in input order.
    pub async fn deliver(
        &self,
        stage: Stage,
        records: &[Record],
        report: &mut RunReport,
    ) -> BatchOutcome {
        let mut outcome = self.invoke(stage, records).await;
        report.absorb(&outcome);
        for _ in 1..ATTEMPTS {
            let retry: Vec<Record> = records
                .iter()
                .zip(&outcome.dispositions)
                .filter(|(_, (_, d))| !d.acknowledges())
                .map(|(r, _)| r.clone())
                .collect();
            if retry.is_empty() {
                break;
            }
            let next = self.invoke(stage, &retry).await;
            report.absorb(&next);
            let mut updated = next.dispositions.into_iter();
            for slot in &mut outcome.dispositions {
                if !slot.1.acknowledges()
                    && let Some((_, d)) = updated.next()
                {
                    slot.1 = d;
                }
            }
        }
        for (record, (_, disposition)) in records.iter().zip(&mut outcome.dispositions) {
            if disposition.acknowledges() {
                continue;
            }
            report.unresolved += 1;
            let detail = format!("{} still failing after {ATTEMPTS} attempts", stage.name());
            let letter = dead_letter::DeadLetter::new(
                stage.name(),
                DeadLetterReason::RetriesExhausted,
                &detail,
                &record.bytes,
                record.received_at,
            );
            let kept = Tables::new(self.store().inner(), self.policy(), self.tokens())
                .keep_dead_letter(letter, &record.bytes)
                .await;
            if let Ok(reason) = kept {
                *disposition = Disposition::DeadLettered { reason };
            }
        }
        outcome
    }
}
