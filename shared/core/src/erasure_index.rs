//! Which keys may have an erasure tombstone, so that a tombstone that
//! cannot exist is not read.
//!
//! Every function reads the tombstones of the keys it handles, and almost
//! every read finds nothing; yet a read of a missing item is billed as one
//! of a present item. The index lists the tombstones written: sixteen
//! shards, by the first digit of the tombstone's token, each listing a
//! truncated token (48 bits) and the erasure's time, and each bounded to
//! one read unit ([`MAX_LISTED`] listings). Reading the tombstones of many
//! keys then costs a read per shard they fall in, plus a read per key
//! listed; of one key, a read either way.
//!
//! Why a key the index does not list has no tombstone to read:
//! - An erasure lists its keys (a conditional write of each shard) before
//!   it writes their tombstones ([`crate::erasure::plan`]). A reader that
//!   finds a key unlisted read the shard before that listing, so a read of
//!   the tombstone at the same moment would have found nothing either.
//! - A shard with no room for a listing is marked full instead, until the
//!   tombstone it could not list has expired; every key of a full shard
//!   has its tombstone read.
//! - A listing is dropped only well after its tombstone expired (the
//!   tombstones' retention and [`PRUNE_MARGIN_MS`] after the erasure), and a
//!   shard item outlives every tombstone it lists: it expires the
//!   tombstones' retention after its latest erasure.
//!
//! A truncated token shared by two keys costs a read, never a miss. The
//! index holds keyed tokens of keys, as the tombstones do: nothing in it
//! names a person.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Listings a shard holds at most: about 30 bytes each as JSON, so a shard
/// stays within one strongly consistent read unit (4 KB).
pub const MAX_LISTED: usize = 100;

/// Hex digits of a tombstone's token kept in a listing.
const LISTED_DIGITS: usize = 12;

/// How long after its tombstone's expiry a listing is kept: more than the
/// furthest an erasure's time may lie ahead of the clock items expire by
/// ([`crate::ingest::FUTURE_LIMIT_MS`]), so a listing never goes before
/// its tombstone.
pub const PRUNE_MARGIN_MS: i64 = 2 * Timestamp::DAY;

/// The index shard a tombstone's token falls in.
#[must_use]
pub fn shard_key(token: &str) -> String {
    let digit = digits(token).chars().next().unwrap_or('0');
    format!("shard-{digit}")
}

/// The token's digits after its `tok_` prefix.
fn digits(token: &str) -> &str {
    token.strip_prefix("tok_").unwrap_or(token)
}

/// What a shard lists.
fn listing(token: &str) -> &str {
    let digits = digits(token);
    digits.get(..LISTED_DIGITS).unwrap_or(digits)
}

/// One shard of the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexShard {
    /// Each listed tombstone's truncated token, with its erasure's time
    /// (milliseconds since the epoch).
    #[serde(default)]
    pub listed: BTreeMap<String, i64>,
    /// When the shard had no room, the latest erasure it could not list:
    /// until that tombstone has expired, every key of the shard may have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_since: Option<i64>,
}

impl IndexShard {
    /// Whether the tombstone under `token` may exist.
    #[must_use]
    pub fn may_hold(&self, token: &str) -> bool {
        self.full_since.is_some() || self.listed.contains_key(listing(token))
    }

    /// Lists the tombstone under `token`, written for an erasure at
    /// `erased_at`, after letting go of what expired before `horizon` (an
    /// erasure's time less the tombstones' retention). Returns whether the
    /// shard changed.
    pub fn list(&mut self, token: &str, erased_at: Timestamp, horizon: Timestamp) -> bool {
        let before = self.clone();
        let gone = horizon.as_millis().saturating_sub(PRUNE_MARGIN_MS);
        self.listed.retain(|_, at| *at >= gone);
        if self.full_since.is_some_and(|at| at < gone) {
            self.full_since = None;
        }
        let at = erased_at.as_millis();
        let key = listing(token);
        if let Some(listed) = self.listed.get_mut(key) {
            *listed = (*listed).max(at);
        } else if self.listed.len() < MAX_LISTED {
            self.listed.insert(key.to_owned(), at);
        } else {
            self.full_since = Some(self.full_since.map_or(at, |since| since.max(at)));
        }
        *self != before
    }

    /// The latest erasure the shard lists or could not list: the shard
    /// item expires the tombstones' retention after it.
    #[must_use]
    pub fn latest(&self) -> Option<Timestamp> {
        self.listed
            .values()
            .copied()
            .chain(self.full_since)
            .max()
            .map(Timestamp::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = Timestamp::DAY;

    /// A token whose listing is `n`'s, in shard 0.
    fn token(n: u64) -> String {
        format!("tok_0{n:011x}{}", "0".repeat(20))
    }

    fn at(day: i64) -> Timestamp {
        Timestamp::from_millis(day * DAY)
    }

    #[test]
    fn a_listed_token_is_held_and_an_unlisted_one_is_not() {
        let mut shard = IndexShard::default();
        assert!(!shard.may_hold(&token(1)));
        assert!(shard.list(&token(1), at(100), at(60)));
        assert!(shard.may_hold(&token(1)));
        assert!(!shard.may_hold(&token(2)));
        // Listed again: no change to write.
        assert!(!shard.list(&token(1), at(90), at(60)));
        assert_eq!(shard.latest(), Some(at(100)));
    }

    #[test]
    fn tokens_fall_in_shards_by_their_first_digit() {
        assert_eq!(shard_key("tok_a1b2"), "shard-a");
        assert_eq!(shard_key(&token(1)), "shard-0");
        assert_eq!(listing(&token(1)), "000000000001");
        assert_eq!(shard_key("tok_"), "shard-0");
    }

    #[test]
    fn a_full_shard_holds_every_token_until_what_it_could_not_list_expires() {
        let mut shard = IndexShard::default();
        for n in 0..MAX_LISTED {
            shard.list(&token(n as u64), at(100), at(60));
        }
        assert_eq!(shard.full_since, None);
        assert!(shard.list(&token(1_000), at(101), at(61)));
        assert_eq!(shard.full_since, Some(101 * DAY));
        assert!(shard.may_hold(&token(5_000)), "a full shard holds anything");
        assert_eq!(shard.latest(), Some(at(101)));
        // Long after everything listed expired, the shard is exact again.
        let horizon = at(101 + 3);
        assert!(shard.list(&token(2_000), at(200), horizon));
        assert_eq!(shard.full_since, None);
        assert!(shard.may_hold(&token(2_000)));
        assert!(!shard.may_hold(&token(5_000)));
    }

    #[test]
    fn a_listing_outlives_its_tombstone_by_the_margin() {
        let mut shard = IndexShard::default();
        shard.list(&token(1), at(10), at(0));
        // The tombstone of day 10 expired at the horizon of day 10; the
        // listing stays through the margin.
        shard.list(&token(2), at(50), at(10).add_millis(PRUNE_MARGIN_MS - 1));
        assert!(shard.may_hold(&token(1)));
        shard.list(&token(3), at(50), at(10).add_millis(PRUNE_MARGIN_MS + 1));
        assert!(!shard.may_hold(&token(1)));
        assert!(shard.may_hold(&token(2)) && shard.may_hold(&token(3)));
    }

    #[test]
    fn a_full_shard_stays_within_one_read_unit() {
        let mut shard = IndexShard::default();
        // Erasures of this century: 13 digits of milliseconds each.
        for n in 0..=MAX_LISTED {
            shard.list(&token(0xfff_ffff_ffff - n as u64), at(20_000), at(0));
        }
        assert!(shard.full_since.is_some());
        let bytes = serde_json::to_vec(&shard).unwrap();
        assert!(bytes.len() <= 4_000, "{} bytes", bytes.len());
    }
}
