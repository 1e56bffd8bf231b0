//! The slow lane's items: written by the batch run, read by decisions,
//! removed with a revocation of personalization or an erasure.

use super::Tables;
use crate::identity::own_profile;
use crate::ports::{Precondition, Store, StoreError, Table};
use crate::score::SlowLane;

impl<S: Store> Tables<'_, S> {
    /// Keeps `lane`, replacing the previous run's, expiring the table's
    /// retention after its computation. `members` are the keys whose
    /// events it was computed from.
    ///
    /// Write, then check: once written, the members' erasure tombstones
    /// are read, and if any is there the lane is deleted again. An erasure
    /// writes its tombstones before it deletes lanes, so whichever order
    /// the two run in, no lane of an erased person is left behind.
    /// Returns whether the lane was kept.
    ///
    /// # Errors
    /// The store's error; the lane may then be kept without the check, and
    /// the caller runs it again.
    pub async fn keep_slow_lane(
        &self,
        lane: &SlowLane,
        members: &[String],
    ) -> Result<bool, StoreError> {
        self.save(
            Table::SlowLane,
            &lane.profile_id,
            lane,
            lane.computed_at,
            Precondition::None,
        )
        .await?;
        let erased = self
            .tombstones(members)
            .await?
            .iter()
            .any(|t| t.value.is_some());
        if erased {
            self.store.delete(Table::SlowLane, &lane.profile_id).await?;
        }
        Ok(!erased)
    }

    /// A profile's slow lane, if one is kept.
    ///
    /// # Errors
    /// The store's error, or `Corrupt` for an unreadable item.
    pub async fn slow_lane(&self, profile_id: &str) -> Result<Option<SlowLane>, StoreError> {
        self.store
            .get(Table::SlowLane, profile_id)
            .await?
            .map(|item| {
                serde_json::from_slice(&item.value).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    /// The ids slow lanes of the profile with `members` are kept under:
    /// the profile's own, and each member key's own profile (a lane
    /// computed before a merge moved the key), those that hold one.
    ///
    /// # Errors
    /// The store's error.
    pub async fn slow_lanes_of(
        &self,
        profile_id: &str,
        members: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = std::iter::once(profile_id.to_owned())
            .chain(members.iter().filter_map(|k| own_profile(k)))
            .collect();
        ids.sort();
        ids.dedup();
        let items = self.store.get_many(Table::SlowLane, &ids).await?;
        Ok(ids
            .into_iter()
            .zip(items)
            .filter_map(|(id, item)| item.map(|_| id))
            .collect())
    }

    /// Deletes the slow lanes of the profile with `members` (for a
    /// revocation of personalization: they were computed from what it no
    /// longer allows). Returns how many went.
    ///
    /// # Errors
    /// The store's error; the lanes not yet deleted stay.
    pub async fn drop_slow_lanes(
        &self,
        profile_id: &str,
        members: &[String],
    ) -> Result<u64, StoreError> {
        let ids = self.slow_lanes_of(profile_id, members).await?;
        for id in &ids {
            self.store.delete(Table::SlowLane, id).await?;
        }
        Ok(ids.len() as u64)
    }
}
