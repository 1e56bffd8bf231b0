//! Per-key feature inputs: bounded, time-bucketed aggregates of events.
//!
//! A key's inputs do not grow with its activity. Events are folded into
//! buckets whose width depends on how far they lie behind the key's newest
//! event: five minutes within the last hour, an hour within the last day,
//! a day within the last [`HORIZON_MS`]; older buckets are dropped. As the
//! newest event moves on, fine buckets are merged into coarser ones. Sums
//! are kept in integer micro-units, so addition is exact and commutative.
//!
//! The result is a pure function of the set of events applied: every rule
//! (which bucket an event lands in, when buckets merge or drop, which cart
//! lines and sessions are kept under their caps) depends on the events and
//! the newest event time, never on the order they came in. A bucket keeps
//! digests of its events' ids ([`MAX_IDS`] per key), so an event applied
//! again is a no-op; the features function adds delivery positions and a
//! commit point for what this bounded memory cannot cover.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::event::{EventType, Properties, Severity, SubscriptionChangeKind};
use crate::ingest::Ingested;

/// Event types features are built from.
pub const FEATURE_TYPES: [EventType; 8] = [
    EventType::Signup,
    EventType::Login,
    EventType::AddToCart,
    EventType::Search,
    EventType::SubscriptionChange,
    EventType::ContentView,
    EventType::SupportEscalation,
    EventType::Checkout,
];

/// How far behind a key's newest event its buckets are kept (the longest window).
pub const HORIZON_MS: i64 = 30 * Timestamp::DAY;
/// The bucket widths, finest first, each with how far behind the newest
/// event it is used: a bucket moves to the next width once its start is
/// further behind than this.
pub const TIERS: [(i64, i64); 3] = [
    (5 * Timestamp::MINUTE, Timestamp::HOUR),
    (Timestamp::HOUR, Timestamp::DAY),
    (Timestamp::DAY, HORIZON_MS),
];
/// The most buckets a key can hold: each tier's span over its width, plus
/// the bucket straddling each boundary.
pub const MAX_BUCKETS: usize = 13 + 24 + 31;
/// How far behind the newest event session ids are kept (the 7-day window
/// and the day it may start in).
pub const SESSION_SPAN_MS: i64 = 8 * Timestamp::DAY;
/// The most session digests a bucket keeps (the smallest ones).
pub const MAX_SESSIONS_PER_BUCKET: usize = 16;
/// The most open-cart lines kept (the newest).
pub const MAX_CART_LINES: usize = 32;
/// The most event-id digests a key keeps (those of its newest buckets):
/// they make an event delivered again after the ingest ledger forgot it
/// (a replay of an old stream in another order) a no-op.
pub const MAX_IDS: usize = 256;
/// The most transport partitions whose position is remembered.
pub const MAX_PARTITIONS: usize = 16;
/// The longest subscription plan name kept, in bytes.
pub const MAX_PLAN_LEN: usize = 64;
/// The largest a serialized [`KeyInputs`] (and so a profile's state) can
/// be, whatever the activity: every part above is capped. A test drives one
/// key with 100,000 events and checks it.
pub const MAX_BYTES: usize = 24 * 1024;

/// What features need of one event: small, and free of personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The event id (orders subscription changes made at the same moment).
    pub id: String,
    /// When it happened (skew-corrected, UTC).
    pub at: Timestamp,
    /// Its type.
    pub kind: EventType,
    /// How far skew correction moved it later than its producer reported
    /// ([`Ingested::shifted_ms`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shift_ms: i64,
    /// A short digest of the session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<u32>,
    /// Money involved: cart line value, order total or recurring revenue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// Units involved: items added or ordered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u32>,
    /// Escalation severity, 0 (low) to 3 (critical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<u8>,
    /// Subscription plan and state after a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<(String, SubscriptionChangeKind)>,
}

impl Summary {
    /// The summary of an event, or `None` for types features do not use.
    #[must_use]
    pub fn of(ingested: &Ingested) -> Option<Self> {
        let e = &ingested.event;
        let mut s = Self {
            id: e.event_id.clone(),
            at: ingested.occurred_at,
            kind: e.event_type,
            shift_ms: ingested.shifted_ms(),
            session: e.subject.session_id.as_deref().map(session_digest),
            amount: None,
            units: None,
            severity: None,
            plan: None,
        };
        match &e.properties {
            Properties::ConsentChange(_) | Properties::Outcome(_) => return None,
            Properties::AddToCart(a) => {
                s.amount = Some(f64::from(a.quantity) * a.unit_price);
                s.units = Some(a.quantity);
            }
            Properties::Checkout(c) => {
                s.amount = Some(c.total);
                s.units = Some(c.items);
            }
            Properties::SubscriptionChange(c) => {
                s.amount = c.mrr;
                s.plan = Some((truncate(&c.plan, MAX_PLAN_LEN), c.change));
            }
            Properties::SupportEscalation(x) => {
                s.severity = Some(match x.severity {
                    Severity::Low => 0,
                    Severity::Medium => 1,
                    Severity::High => 2,
                    Severity::Critical => 3,
                });
            }
            _ => {}
        }
        Some(s)
    }
}

/// A session id as four bytes of its digest: enough to count distinct
/// sessions, and names nothing.
fn session_digest(session: &str) -> u32 {
    let hex = crate::token::digest(&["session", session], 4);
    u32::from_str_radix(&hex, 16).unwrap_or(0)
}

fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Money in integer micro-units, so sums are exact in any order.
#[allow(
    clippy::cast_possible_truncation,
    reason = "amounts are bounded by the contract far below i64::MAX micro-units"
)]
fn micros(amount: f64) -> i64 {
    if amount.is_finite() {
        (amount * 1e6).round() as i64
    } else {
        0
    }
}

/// The index of a feature type in [`FEATURE_TYPES`].
fn slot(kind: EventType) -> Option<usize> {
    FEATURE_TYPES.iter().position(|k| *k == kind)
}

/// Aggregates of the events in one time bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// Its width in minutes.
    pub minutes: u32,
    /// Events per type, in [`FEATURE_TYPES`] order.
    pub counts: [u32; FEATURE_TYPES.len()],
    /// Order totals, in micro-units.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub revenue: i64,
    /// The highest escalation severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<u8>,
    /// Digests of the sessions seen (the smallest, up to [`MAX_SESSIONS_PER_BUCKET`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<u32>,
    /// Digests of the ids of the events it holds, sorted (within the key's
    /// [`MAX_IDS`], newest buckets first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<u64>,
}

/// Adds `x` to the sorted set `v`, if absent.
fn insert_sorted<T: Ord>(v: &mut Vec<T>, x: T) {
    if let Err(at) = v.binary_search(&x) {
        v.insert(at, x);
    }
}

/// Merges `bucket` into the one starting at `start`, or places it there.
fn absorb_into(buckets: &mut BTreeMap<i64, Bucket>, start: i64, bucket: Bucket) {
    match buckets.entry(start) {
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(bucket);
        }
        std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().absorb(&bucket),
    }
}

/// The digest an event id is remembered by.
fn id_digest(id: &str) -> u64 {
    let hex = crate::token::digest(&["event", id], 8);
    u64::from_str_radix(&hex, 16).unwrap_or(0)
}

const fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl Bucket {
    /// Adds an event; its session only if `sessions` (the bucket is recent
    /// enough for the 7-day window).
    fn add(&mut self, s: &Summary, sessions: bool) {
        if let Some(i) = slot(s.kind) {
            self.counts[i] = self.counts[i].saturating_add(1);
        }
        if s.kind == EventType::Checkout {
            self.revenue = self.revenue.saturating_add(micros(s.amount.unwrap_or(0.0)));
        }
        if let Some(sev) = s.severity {
            self.severity = self.severity.max(Some(sev));
        }
        if let Some(session) = s.session.filter(|_| sessions) {
            self.add_sessions(&[session]);
        }
        insert_sorted(&mut self.ids, id_digest(&s.id));
    }

    fn absorb(&mut self, other: &Self) {
        self.minutes = self.minutes.max(other.minutes);
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a = a.saturating_add(b);
        }
        self.revenue = self.revenue.saturating_add(other.revenue);
        self.severity = self.severity.max(other.severity);
        self.add_sessions(&other.sessions);
        for id in &other.ids {
            insert_sorted(&mut self.ids, *id);
        }
    }

    fn add_sessions(&mut self, sessions: &[u32]) {
        for s in sessions {
            insert_sorted(&mut self.sessions, *s);
        }
        self.sessions.truncate(MAX_SESSIONS_PER_BUCKET);
    }

    /// How many events it holds.
    #[must_use]
    pub fn events(&self) -> u64 {
        self.counts.iter().map(|n| u64::from(*n)).sum()
    }
}

/// Items added to the cart since the last checkout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// The latest checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<Timestamp>,
    /// Lines added after it (the newest [`MAX_CART_LINES`]), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<CartLine>,
}

/// One item added to the cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CartLine {
    /// When.
    pub at: Timestamp,
    /// Units added.
    pub units: u32,
    /// The line's value, in micro-units.
    pub value: i64,
}

impl Cart {
    fn add(&mut self, s: &Summary) {
        match s.kind {
            EventType::AddToCart if self.checkout.is_none_or(|c| s.at > c) => {
                let line = CartLine {
                    at: s.at,
                    units: s.units.unwrap_or(0),
                    value: micros(s.amount.unwrap_or(0.0)),
                };
                let at = self.lines.partition_point(|l| *l <= line);
                self.lines.insert(at, line);
                self.cap();
            }
            EventType::Checkout if self.checkout.is_none_or(|c| s.at > c) => {
                self.checkout = Some(s.at);
                self.lines.retain(|l| l.at > s.at);
            }
            _ => {}
        }
    }

    fn cap(&mut self) {
        let over = self.lines.len().saturating_sub(MAX_CART_LINES);
        self.lines.drain(..over);
    }

    fn is_empty(&self) -> bool {
        self.checkout.is_none() && self.lines.is_empty()
    }
}

/// The latest subscription change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// The change's event id (orders changes made at the same moment).
    pub id: String,
    /// When.
    pub at: Timestamp,
    /// The plan after it.
    pub plan: String,
    /// What changed.
    pub change: SubscriptionChangeKind,
    /// Recurring revenue after it, in micro-units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrr: Option<i64>,
}

/// The feature inputs of one identity key (or, merged, of a profile).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyInputs {
    /// The newest event applied: bucket widths and the horizon are measured from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<Timestamp>,
    /// Everything at or before this time was purged (a revocation): nothing
    /// from then is kept, and a bucket that starts by then is dropped whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<Timestamp>,
    /// The furthest skew correction moved any event applied later than
    /// its producer reported: a purge through `t` removes through `t` plus
    /// this, so an event reported before a revocation is never kept for a
    /// correction that placed it after.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shift_ms: i64,
    /// Buckets by start time (milliseconds since the epoch).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub buckets: BTreeMap<i64, Bucket>,
    /// The newest event of each type within the horizon.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub last: BTreeMap<EventType, Timestamp>,
    /// The open cart.
    #[serde(default, skip_serializing_if = "Cart::is_empty")]
    pub cart: Cart,
    /// The latest subscription change ever seen, kept past the horizon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Subscription>,
    /// Per transport partition, the position of the last record applied
    /// (where the transport has positions): a redelivery at or before it
    /// changes nothing. Bookkeeping of delivery, not of features.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub applied: BTreeMap<String, String>,
}

/// Whether sequence `a` comes after `b`: positions are decimal numbers of
/// any length (a Kinesis sequence number has up to 56 digits).
#[must_use]
pub fn position_after(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// The start of the bucket of width `width` holding `t`.
const fn floor_to(t: i64, width: i64) -> i64 {
    t.div_euclid(width) * width
}

/// The bucket (start, width) for an event or bucket starting at `t` when the
/// newest event is `newest`: the finest tier whose span still reaches it;
/// `None` when it is past the horizon.
fn place(t: i64, newest: i64, from_tier: usize) -> Option<(i64, i64)> {
    TIERS[from_tier..].iter().find_map(|(width, span)| {
        let start = floor_to(t, *width);
        (start >= newest - span).then_some((start, *width))
    })
}

fn tier_of(width_minutes: u32) -> usize {
    TIERS
        .iter()
        .position(|(w, _)| *w == i64::from(width_minutes) * Timestamp::MINUTE)
        .unwrap_or(TIERS.len() - 1)
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "tier widths are a few thousand minutes"
)]
const fn minutes(width: i64) -> u32 {
    (width / Timestamp::MINUTE) as u32
}

impl KeyInputs {
    /// Folds an event in. Returns whether anything changed (an event at or
    /// before the purge floor, or past the horizon, changes nothing).
    pub fn apply(&mut self, s: &Summary) -> bool {
        if self.floor.is_some_and(|f| s.at <= f) {
            return false;
        }
        let mut changed = false;
        if let Some((plan, change)) = &s.plan {
            let newer = self
                .subscription
                .as_ref()
                .is_none_or(|cur| (cur.at, &cur.id) < (s.at, &s.id));
            if newer {
                self.subscription = Some(Subscription {
                    id: s.id.clone(),
                    at: s.at,
                    plan: plan.clone(),
                    change: *change,
                    mrr: s.amount.map(micros),
                });
                changed = true;
            }
        }
        let newest = self.newest.map_or(s.at, |n| n.max(s.at));
        let Some((start, width)) = place(s.at.as_millis(), newest.as_millis(), 0) else {
            return changed;
        };
        if self
            .buckets
            .get(&start)
            .is_some_and(|b| b.ids.binary_search(&id_digest(&s.id)).is_ok())
        {
            return changed;
        }
        let moved = self.newest != Some(newest);
        self.newest = Some(newest);
        self.shift_ms = self.shift_ms.max(s.shift_ms);
        let last = self.last.entry(s.kind).or_insert(s.at);
        *last = (*last).max(s.at);
        self.cart.add(s);
        if self.floor.is_none_or(|f| start > f.as_millis()) {
            let bucket = self.buckets.entry(start).or_insert_with(|| Bucket {
                minutes: minutes(width),
                ..Bucket::default()
            });
            bucket.add(s, start >= newest.as_millis() - SESSION_SPAN_MS);
        }
        if moved {
            self.settle();
        } else {
            self.cap_ids();
        }
        true
    }

    /// Keeps the ids of the newest buckets, [`MAX_IDS`] in all: whole
    /// buckets, newest first, so what is kept depends on the buckets alone.
    fn cap_ids(&mut self) {
        let mut kept = 0;
        for bucket in self.buckets.values_mut().rev() {
            if kept + bucket.ids.len() > MAX_IDS {
                bucket.ids.clear();
                kept = MAX_IDS;
            } else {
                kept += bucket.ids.len();
            }
        }
    }

    /// Re-buckets for the current newest event and purge floor: merges
    /// buckets that fell behind their tier into the next, drops what is
    /// past the horizon or at or before the floor, and trims sessions,
    /// cart lines and last-seen times that no window can read.
    fn settle(&mut self) {
        let Some(newest) = self.newest.map(Timestamp::as_millis) else {
            return;
        };
        let floor = self.floor.map(Timestamp::as_millis);
        let buckets = std::mem::take(&mut self.buckets);
        for (start, mut bucket) in buckets {
            let Some((to, width)) = place(start, newest, tier_of(bucket.minutes)) else {
                continue;
            };
            if floor.is_some_and(|f| to <= f) {
                continue;
            }
            if to < newest - SESSION_SPAN_MS {
                bucket.sessions.clear();
            }
            bucket.minutes = minutes(width);
            absorb_into(&mut self.buckets, to, bucket);
        }
        self.cap_ids();
        let floor_t = floor.unwrap_or(i64::MIN);
        let kept = |t: Timestamp| {
            floor_to(t.as_millis(), Timestamp::DAY) >= newest - HORIZON_MS
                && t.as_millis() > floor_t
        };
        self.last.retain(|_, t| kept(*t));
        self.cart.lines.retain(|l| kept(l.at));
        // A checkout past the horizon precedes every line kept: forgotten,
        // as if it had come after the horizon had passed it.
        if self.cart.checkout.is_some_and(|c| !kept(c)) {
            self.cart.checkout = None;
        }
        if self
            .subscription
            .as_ref()
            .is_some_and(|s| s.at.as_millis() <= floor_t)
        {
            self.subscription = None;
        }
        if newest <= floor_t {
            // Everything applied was purged: as if none of it had come.
            self.newest = None;
        }
    }

    /// The newest event time, if any.
    #[must_use]
    pub const fn newest(&self) -> Option<Timestamp> {
        self.newest
    }

    /// Whether an event at `at` lies behind every bucket this key keeps: it
    /// changes no online state (the offline log has it for the backfill).
    #[must_use]
    pub fn past_horizon(&self, at: Timestamp) -> bool {
        self.newest
            .is_some_and(|n| place(at.as_millis(), n.as_millis(), 0).is_none())
    }

    /// What the item's expiry is measured from: its newest event, or the
    /// subscription change kept past the horizon.
    #[must_use]
    pub fn anchor(&self) -> Timestamp {
        self.newest
            .max(self.subscription.as_ref().map(|s| s.at))
            .unwrap_or(Timestamp::from_millis(0))
    }

    /// Removes everything at or before `t` (a revocation), and whatever
    /// skew correction may have moved past it ([`Self::shift_ms`]);
    /// returns how many events went.
    pub fn remove_through(&mut self, t: Timestamp) -> usize {
        let t = t.add_millis(self.shift_ms);
        if self.floor.is_some_and(|f| f >= t) {
            return 0;
        }
        let before = self.events();
        self.floor = Some(t);
        self.settle();
        usize::try_from(before - self.events()).unwrap_or(usize::MAX)
    }

    /// How many events the buckets hold, plus the subscription change.
    #[must_use]
    pub fn events(&self) -> u64 {
        self.buckets.values().map(Bucket::events).sum::<u64>()
            + u64::from(self.subscription.is_some())
    }

    /// Whether nothing is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
            && self.last.is_empty()
            && self.cart.is_empty()
            && self.subscription.is_none()
    }

    /// Whether the record at `position` in `partition` was applied before.
    #[must_use]
    pub fn has_applied(&self, partition: &str, position: &str) -> bool {
        self.applied
            .get(partition)
            .is_some_and(|last| !position_after(position, last))
    }

    /// Notes that the record at `position` in `partition` was applied.
    pub fn note_applied(&mut self, partition: &str, position: &str) {
        let entry = self.applied.entry(partition.to_owned()).or_default();
        if position_after(position, entry) {
            position.clone_into(entry);
        }
        while self.applied.len() > MAX_PARTITIONS {
            // The partition furthest behind goes first: partitions are
            // retired by resharding, and positions grow over time.
            let oldest = self
                .applied
                .iter()
                .min_by(|a, b| (a.1.len(), a.1).cmp(&(b.1.len(), b.1)))
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.applied.remove(&k),
                None => break,
            };
        }
    }

    /// The inputs of several keys as one: what a profile's features are
    /// evaluated from. The result does not depend on the order of `parts`.
    #[must_use]
    pub fn merged<'a>(parts: impl IntoIterator<Item = &'a Self>) -> Self {
        let parts: Vec<&Self> = parts.into_iter().collect();
        let mut out = Self {
            newest: parts.iter().filter_map(|p| p.newest).max(),
            floor: parts.iter().filter_map(|p| p.floor).max(),
            shift_ms: parts.iter().map(|p| p.shift_ms).max().unwrap_or(0),
            ..Self::default()
        };
        for p in &parts {
            for (start, bucket) in &p.buckets {
                absorb_into(&mut out.buckets, *start, bucket.clone());
            }
            for (kind, t) in &p.last {
                let e = out.last.entry(*kind).or_insert(*t);
                *e = (*e).max(*t);
            }
            out.cart.checkout = out.cart.checkout.max(p.cart.checkout);
            if let Some(sub) = &p.subscription
                && out
                    .subscription
                    .as_ref()
                    .is_none_or(|cur| (cur.at, &cur.id) < (sub.at, &sub.id))
            {
                out.subscription = Some(sub.clone());
            }
        }
        let checkout = out.cart.checkout;
        let mut lines: Vec<CartLine> = parts
            .iter()
            .flat_map(|p| p.cart.lines.iter().copied())
            .filter(|l| checkout.is_none_or(|c| l.at > c))
            .collect();
        lines.sort_unstable();
        out.cart.lines = lines;
        out.cart.cap();
        out.settle();
        out
    }
}
