//! Feature values of a profile, evaluated from its keys' inputs at the time they are read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::inputs::{Bucket, FEATURE_TYPES, KeyInputs};
use crate::Timestamp;
use crate::event::{EventType, SubscriptionChangeKind};

/// The windows counts are kept over.
pub const WINDOWS: [(&str, i64); 4] = [
    ("1h", Timestamp::HOUR),
    ("24h", Timestamp::DAY),
    ("7d", 7 * Timestamp::DAY),
    ("30d", 30 * Timestamp::DAY),
];

/// One feature value and the time of the newest event behind it, so readers know its age.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    /// The value: a number, or a string for categorical features.
    pub value: serde_json::Value,
    /// When the newest contributing event happened.
    pub updated_at: Timestamp,
}

/// A profile's online features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileFeatures {
    /// The profile.
    pub profile_id: String,
    /// The time the windows are measured back from: when they were read.
    pub as_of: Timestamp,
    /// Features by name.
    pub features: BTreeMap<String, Feature>,
    /// Digest of the state the values were evaluated from.
    pub inputs_hash: String,
}

fn number(v: f64, at: Timestamp) -> Feature {
    // `+ 0.0` turns the -0.0 an empty float sum yields into 0.0.
    let value = serde_json::Number::from_f64((v * 1e6).round() / 1e6 + 0.0)
        .map_or(serde_json::Value::Null, serde_json::Value::Number);
    Feature {
        value,
        updated_at: at,
    }
}

fn text(v: &str, at: Timestamp) -> Feature {
    Feature {
        value: serde_json::Value::String(v.to_owned()),
        updated_at: at,
    }
}

/// A profile's online state: its members' inputs merged. This is what the
/// features table holds; feature values are evaluated from it at the time
/// they are read ([`ProfileState::evaluate`]), so a window is always
/// measured back from the moment of the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileState {
    /// The profile.
    pub profile_id: String,
    /// The key whose own profile this is (`user:…`, or an `anon:…` key
    /// nobody has claimed): how a request that names the person by profile
    /// id finds their keys, and so their consent. `None` in state written
    /// before it was kept; such a profile id names no one until its next
    /// recompute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Its members' inputs, merged.
    pub inputs: KeyInputs,
}

impl ProfileState {
    /// The state of a profile with these members' inputs; `None` when
    /// nothing is kept.
    #[must_use]
    pub fn of(profile_id: &str, inputs: &[KeyInputs]) -> Option<Self> {
        let mut merged = KeyInputs::merged(inputs);
        // Delivery bookkeeping stays with the keys' inputs.
        merged.applied.clear();
        for bucket in merged.buckets.values_mut() {
            bucket.ids.clear();
        }
        (!merged.is_empty()).then(|| Self {
            profile_id: profile_id.to_owned(),
            owner: None,
            inputs: merged,
        })
    }

    /// The state with its owner: the member key whose own profile it is.
    #[must_use]
    pub fn owned_by(mut self, members: &[String]) -> Self {
        self.owner = members
            .iter()
            .find(|k| crate::identity::own_profile(k).as_deref() == Some(self.profile_id.as_str()))
            .cloned();
        self
    }

    /// The newest event behind it.
    #[must_use]
    pub const fn newest(&self) -> Option<Timestamp> {
        self.inputs.newest
    }

    /// The features as of `at`: each window covers the buckets that start
    /// within it and not after `at` (a window's edge falls on a bucket
    /// boundary, so it covers up to one bucket less than its width).
    #[must_use]
    pub fn evaluate(&self, at: Timestamp) -> ProfileFeatures {
        evaluate(&self.profile_id, &self.inputs, at)
    }
}

/// Computes a profile's features from its member keys' inputs, evaluated at
/// `as_of` (default: the newest input). `None` when there are no inputs.
#[must_use]
pub fn compute(
    profile_id: &str,
    inputs: &[KeyInputs],
    as_of: Option<Timestamp>,
) -> Option<ProfileFeatures> {
    let state = ProfileState::of(profile_id, inputs)?;
    let at = as_of.or(state.newest())?;
    Some(state.evaluate(at))
}

#[allow(
    clippy::cast_precision_loss,
    reason = "micro-unit sums far below 2^53 are exact as f64"
)]
fn money(micros: i64) -> f64 {
    micros as f64 / 1e6
}

fn evaluate(profile_id: &str, s: &KeyInputs, at: Timestamp) -> ProfileFeatures {
    let t = at.as_millis();
    // What is known is as fresh as the newest event: an empty window is
    // dated by it.
    let known = s.newest.map_or(at, |n| n.min(at));
    let in_window = |width: i64| {
        s.buckets
            .range(t - width..=t)
            .map(|(_, b)| b)
            .collect::<Vec<&Bucket>>()
    };
    let last_within = |kind: EventType, width: i64| {
        s.last
            .get(&kind)
            .copied()
            .filter(|l| l.as_millis() > t - width && *l <= at)
    };
    let mut f = BTreeMap::new();
    for (name, width) in WINDOWS {
        let window = in_window(width);
        for (i, kind) in FEATURE_TYPES.iter().enumerate() {
            let n: u64 = window.iter().map(|b| u64::from(b.counts[i])).sum();
            let updated = last_within(*kind, width).unwrap_or(known);
            #[allow(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
            f.insert(format!("count_{name}.{kind}"), number(n as f64, updated));
        }
    }
    for kind in FEATURE_TYPES {
        if let Some(last) = s.last.get(&kind).filter(|l| **l <= at) {
            f.insert(format!("last_at.{kind}"), text(&last.to_string(), *last));
        }
    }

    let week_ms = 7 * Timestamp::DAY;
    let week = in_window(week_ms);
    let mut sessions: Vec<u32> = week
        .iter()
        .flat_map(|b| b.sessions.iter().copied())
        .collect();
    sessions.sort_unstable();
    sessions.dedup();
    let events_7d: u64 = week.iter().map(|b| b.events()).sum();
    let newest_7d = FEATURE_TYPES
        .iter()
        .filter_map(|k| last_within(*k, week_ms))
        .max()
        .unwrap_or(known);
    #[allow(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
    {
        f.insert(
            "sessions_7d".into(),
            number(sessions.len() as f64, newest_7d),
        );
        let per_session = if sessions.is_empty() {
            0.0
        } else {
            events_7d as f64 / sessions.len() as f64
        };
        f.insert(
            "events_per_session_7d".into(),
            number(per_session, newest_7d),
        );
    }

    // The open cart: items added since the last checkout.
    let open: Vec<_> = s.cart.lines.iter().filter(|l| l.at <= at).collect();
    let open_at = open.last().map_or(known, |l| l.at);
    f.insert(
        "cart_open_items".into(),
        number(open.iter().map(|l| f64::from(l.units)).sum(), open_at),
    );
    f.insert(
        "cart_open_value".into(),
        number(money(open.iter().map(|l| l.value).sum()), open_at),
    );

    let month_ms = 30 * Timestamp::DAY;
    let month = in_window(month_ms);
    let orders_at = last_within(EventType::Checkout, month_ms).unwrap_or(known);
    f.insert(
        "revenue_30d".into(),
        number(money(month.iter().map(|b| b.revenue).sum()), orders_at),
    );
    let esc_at = last_within(EventType::SupportEscalation, month_ms).unwrap_or(known);
    let max_sev = month
        .iter()
        .filter_map(|b| b.severity)
        .max()
        .map_or(-1.0, f64::from);
    f.insert("support_max_severity_30d".into(), number(max_sev, esc_at));

    if let Some(sub) = s.subscription.as_ref().filter(|sub| sub.at <= at) {
        let status = match sub.change {
            SubscriptionChangeKind::Cancel => "cancelled",
            SubscriptionChangeKind::Pause => "paused",
            _ => "active",
        };
        f.insert("subscription_plan".into(), text(&sub.plan, sub.at));
        f.insert("subscription_status".into(), text(status, sub.at));
        f.insert(
            "subscription_mrr".into(),
            number(money(sub.mrr.unwrap_or(0)), sub.at),
        );
    }

    let state = serde_json::to_vec(s).unwrap_or_default();
    ProfileFeatures {
        profile_id: profile_id.to_owned(),
        as_of: at,
        features: f,
        inputs_hash: crate::token::digest_bytes(&state, 16),
    }
}
