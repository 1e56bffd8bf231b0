//! The functions' access to the tables: one handle, [`Tables`], over the
//! store, the policy that sets every item's expiry, and the key erasure
//! tombstones are kept under. Everything in the core that reads or writes
//! the store is a method of it; the rest of the core is pure rules over
//! values already loaded.
//!
//! - [`state`]: typed, versioned reads and writes; a person's keys, consent
//!   ledger and tombstones; plans applied; features recomputed and committed.
//! - [`settled`]: where the keys a log names stand now, for replays.
//! - [`slow`]: the slow lane's items, kept by the batch run, read by
//!   decisions, removed with the person's consent.
//! - [`subject`]: the subject keys personal fields are sealed under.
//! - [`dead_letter`]: dead letters within their daily budget.
//! - [`cache`]: a store read through once per invocation.

pub mod cache;
pub mod dead_letter;
pub mod settled;
pub mod slow;
pub mod state;
pub mod subject;

use crate::policy::Policy;
use crate::token::TokenKey;

/// How many times a plan that lost a write race is made again from fresh reads.
pub const ATTEMPTS: usize = 3;

/// The tables as a function sees them: its store, the policy in force (every
/// item's expiry is its table's retention), and the tokenization key
/// (tombstones are kept under keyed tokens of the keys they erase).
#[derive(Debug)]
pub struct Tables<'a, S> {
    store: &'a S,
    policy: &'a Policy,
    tokens: &'a TokenKey,
}

impl<S> Clone for Tables<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Tables<'_, S> {}

impl<'a, S> Tables<'a, S> {
    /// The tables of `store`, under `policy` and `tokens`.
    #[must_use]
    pub const fn new(store: &'a S, policy: &'a Policy, tokens: &'a TokenKey) -> Self {
        Self {
            store,
            policy,
            tokens,
        }
    }

    /// The same tables read through `store` instead (a cache of this one's
    /// store, say).
    #[must_use]
    pub const fn over<'b, T>(&self, store: &'b T) -> Tables<'b, T>
    where
        'a: 'b,
    {
        Tables {
            store,
            policy: self.policy,
            tokens: self.tokens,
        }
    }

    /// The store.
    #[must_use]
    pub const fn store(&self) -> &'a S {
        self.store
    }

    /// The policy in force.
    #[must_use]
    pub const fn policy(&self) -> &'a Policy {
        self.policy
    }

    /// The tokenization key.
    #[must_use]
    pub const fn tokens(&self) -> &'a TokenKey {
        self.tokens
    }
}
