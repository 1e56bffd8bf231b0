//! Dead letters kept within their daily budget, sealed for the person
//! they name ([`crate::dead_letter`]).

use super::{ATTEMPTS, Tables};
use crate::batch::Record;
use crate::dead_letter::{
    DAILY_BUDGET_BYTES, DeadLetter, Volume, is_decode, key, subject_of, volume_key,
};
use crate::disposition::{DeadLetterReason, Disposition};
use crate::errors::StepError;
use crate::plan::Loaded;
use crate::ports::{Store, StoreError, Table};

impl<S: Store> Tables<'_, S> {
    /// Sets `payload` aside as `letter` (made by [`DeadLetter::new`] from it;
    /// see [`crate::dead_letter`]) within the daily budget; returns the reason it is
    /// dead-lettered under.
    ///
    /// Every byte kept that may name a person is sealed for them, or not kept:
    /// a letter whose bytes name no subject readable here (not UTF-8, not
    /// JSON, no subject, cut short) keeps only its length and digest, and of
    /// its detail only what a decode error says, which quotes nothing. The
    /// person's subject key is made only once the letter is known to be within
    /// the budget: a record refused for volume writes nothing but a count.
    ///
    /// # Errors
    /// The store's error; the record should then be retried.
    pub async fn keep_dead_letter(
        &self,
        mut letter: DeadLetter,
        payload: &[u8],
    ) -> Result<DeadLetterReason, StoreError> {
        let (function, reason) = (letter.function.clone(), letter.reason);
        let mut seal_for = None;
        if !letter.withheld {
            let detail = std::mem::take(&mut letter.detail);
            let prefix = std::mem::take(&mut letter.prefix);
            match subject_of(payload) {
                Some((profile, keys)) => {
                    let tombstones = self.tombstones(&keys).await?;
                    if tombstones.iter().all(|t| t.value.is_none()) {
                        seal_for = Some((profile, (detail, prefix)));
                    }
                }
                None if is_decode(reason) => letter.detail = detail,
                None => {}
            }
        }
        self.bounded(
            DAILY_BUDGET_BYTES,
            letter,
            &key(&function, reason, payload),
            seal_for,
        )
        .await
    }

    /// [`Self::keep_dead_letter`] with a budget of `budget` bytes a day, for a letter already
    /// stripped of whatever must not be kept in the clear.
    ///
    /// # Errors
    /// The store's error.
    pub async fn keep_dead_letter_within(
        &self,
        budget: u64,
        letter: DeadLetter,
        key: &str,
    ) -> Result<DeadLetterReason, StoreError> {
        self.bounded(budget, letter, key, None).await
    }

    /// Keeps `letter` under `key` if the day's budget has room, sealing
    /// `seal_for`'s `(detail, prefix)` for its profile only then; otherwise
    /// counts it by its reason.
    async fn bounded(
        &self,
        budget: u64,
        mut letter: DeadLetter,
        key: &str,
        seal_for: Option<(String, (String, String))>,
    ) -> Result<DeadLetterReason, StoreError> {
        if self.store.get(Table::DeadLetters, key).await?.is_some() {
            // Kept before: a redelivery of the same record.
            return Ok(letter.reason);
        }
        let bytes = serde_json::to_vec(&letter)
            .map_err(|e| StoreError::Corrupt(format!("dead letter: {e}")))?;
        // What sealing adds: the sealed text in base64, and its envelope.
        let sealed_size = seal_for
            .as_ref()
            .map_or(0, |(_, (d, p))| (d.len() + p.len()) * 4 / 3 + 256);
        let size = (key.len() + bytes.len() + sealed_size) as u64;
        let volume_key = volume_key(&letter.function, letter.at);
        let mut written = false;
        for attempt in 1..=ATTEMPTS {
            let mut volume: Loaded<Volume> = self.load(Table::DeadLetters, &volume_key).await?;
            let within = written || volume.value.bytes.saturating_add(size) <= budget;
            if within && !written {
                if let Some((profile, secret)) = &seal_for {
                    letter.sealed = Some(self.seal(profile, letter.at, secret).await?);
                }
                self.append(Table::DeadLetters, key, &letter, letter.at)
                    .await?;
                written = true;
            }
            if within {
                volume.value.bytes += size;
                volume.value.letters += 1;
            } else {
                *volume.value.refused.entry(letter.reason).or_default() += 1;
            }
            let saved = self
                .save(
                    Table::DeadLetters,
                    &volume_key,
                    &volume.value,
                    letter.at,
                    volume.precondition(),
                )
                .await;
            match saved {
                Ok(_) if within => return Ok(letter.reason),
                Ok(_) => return Ok(DeadLetterReason::VolumeExceeded),
                Err(StoreError::Conflict { .. }) if attempt < ATTEMPTS => {}
                // The letter is kept; only its count is missing.
                Err(StoreError::Conflict { .. }) if within => return Ok(letter.reason),
                Err(e) => return Err(e),
            }
        }
        Ok(letter.reason)
    }

    /// Sets `record` aside (see [`Self::keep_dead_letter`]) and returns what it becomes:
    /// dead-lettered, or retried when the letter itself cannot be written.
    pub async fn set_aside(
        &self,
        function: &str,
        reason: DeadLetterReason,
        detail: &str,
        record: &Record,
    ) -> Disposition {
        let letter = DeadLetter::new(function, reason, detail, &record.bytes, record.received_at);
        match self.keep_dead_letter(letter, &record.bytes).await {
            Ok(reason) => Disposition::DeadLettered { reason },
            Err(e) => e.disposition(),
        }
    }

    /// What a record becomes when its step failed with `error`: set aside with
    /// the error's reason when the error dead-letters it (retried instead if
    /// the letter cannot be written), else the error's disposition.
    pub async fn settle<E: StepError>(
        &self,
        function: &str,
        record: &Record,
        error: &E,
    ) -> Disposition {
        match error.disposition() {
            Disposition::DeadLettered { reason } => {
                self.set_aside(function, reason, &error.to_string(), record)
                    .await
            }
            other => other,
        }
    }
}
