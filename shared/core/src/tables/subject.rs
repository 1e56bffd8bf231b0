//! The subject keys personal fields are sealed under
//! ([`crate::subject`]): made on first use for a profile's month, read to
//! open what was sealed, and deleted when the person is erased.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ATTEMPTS, Tables};
use crate::Timestamp;
use crate::plan::Loaded;
use crate::ports::{Precondition, Store, StoreError, Table};
use crate::subject::{MONTHS_KEPT, Sealed, SubjectKey, id_key, month, month_start, of_key};

impl<S: Store> Tables<'_, S> {
    /// The key `profile_id` seals records anchored at `at` with, made on first use.
    ///
    /// # Errors
    /// The store's error.
    pub async fn subject_key(
        &self,
        profile_id: &str,
        at: Timestamp,
    ) -> Result<SubjectKey, StoreError> {
        let of = of_key(profile_id, &month(at));
        let anchor = month_start(at);
        for _ in 0..ATTEMPTS {
            let current: Loaded<Option<SubjectKey>> = self.load(Table::Subjects, &of).await?;
            if let Some(key) = current.value {
                return Ok(key);
            }
            let key = SubjectKey::generate()?;
            // By id first: a key in use can always be opened.
            self.save(
                Table::Subjects,
                &id_key(&key.id),
                &key,
                anchor,
                Precondition::Absent,
            )
            .await?;
            match self
                .save(Table::Subjects, &of, &key, anchor, Precondition::Absent)
                .await
            {
                Ok(_) => return Ok(key),
                // Another writer made the month's key first: use theirs (this
                // one, unused, expires on its own).
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict {
            table: Table::Subjects,
        })
    }

    /// Seals `value` for `profile_id`, anchored at `at`.
    ///
    /// # Errors
    /// The store's error, or `Unavailable` without randomness.
    pub async fn seal<T: Serialize>(
        &self,
        profile_id: &str,
        at: Timestamp,
        value: &T,
    ) -> Result<Sealed, StoreError> {
        Ok(self.subject_key(profile_id, at).await?.seal(value)?)
    }

    /// Opens a sealed value; `None` when its key is gone (the person was erased,
    /// or the key expired with everything sealed under it).
    ///
    /// # Errors
    /// The store's error, or `Corrupt` when the value does not open.
    pub async fn open<T: DeserializeOwned>(
        &self,
        sealed: &Sealed,
    ) -> Result<Option<T>, StoreError> {
        let key: Loaded<Option<SubjectKey>> =
            self.load(Table::Subjects, &id_key(&sealed.key)).await?;
        match key.value {
            Some(key) => Ok(Some(key.open(sealed)?)),
            None => Ok(None),
        }
    }

    /// Deletes every key of `profile_ids` from the [`MONTHS_KEPT`] months up to
    /// the month after `now`; returns how many keys were deleted.
    ///
    /// # Errors
    /// The store's error; deleting again is safe.
    pub async fn forget_subjects(
        &self,
        profile_ids: &[String],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut months = Vec::new();
        let mut at = month_start(now).add_millis(32 * Timestamp::DAY);
        for _ in 0..=MONTHS_KEPT {
            at = month_start(at);
            months.push(month(at));
            at = at.add_millis(-Timestamp::DAY);
        }
        let mut deleted = 0;
        for profile_id in profile_ids {
            let keys: Vec<String> = months.iter().map(|m| of_key(profile_id, m)).collect();
            let items = self.store.get_many(Table::Subjects, &keys).await?;
            for (of, item) in keys.iter().zip(items) {
                let Some(item) = item else { continue };
                let key: SubjectKey = serde_json::from_slice(&item.value)
                    .map_err(|e| StoreError::Corrupt(format!("subjects: {e}")))?;
                self.store.delete(Table::Subjects, &id_key(&key.id)).await?;
                self.store.delete(Table::Subjects, of).await?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}
