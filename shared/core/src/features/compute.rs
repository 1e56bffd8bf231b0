//! Feature values of a profile, computed from its keys' inputs.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::inputs::{KeyInputs, Summary};
use crate::Timestamp;
use crate::event::{EventType, SubscriptionChangeKind};
use crate::token::digest;

/// The windows counts are kept over.
pub const WINDOWS: [(&str, i64); 4] = [
    ("1h", Timestamp::HOUR),
    ("24h", Timestamp::DAY),
    ("7d", 7 * Timestamp::DAY),
    ("30d", 30 * Timestamp::DAY),
];

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
    /// The time windows are measured back from (the newest input's time unless given).
    pub as_of: Timestamp,
    /// Features by name.
    pub features: BTreeMap<String, Feature>,
    /// Digest of the inputs the values were computed from.
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

/// Computes a profile's features from its member keys' inputs, measured back
/// from `as_of` (default: the newest input). `None` when there are no inputs.
#[must_use]
pub fn compute(
    profile_id: &str,
    inputs: &[KeyInputs],
    as_of: Option<Timestamp>,
) -> Option<ProfileFeatures> {
    let mut events: Vec<&Summary> = inputs.iter().flat_map(|i| i.events.values()).collect();
    events.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    events.dedup_by(|a, b| a.id == b.id);
    let subscription = inputs
        .iter()
        .filter_map(|i| i.subscription.as_ref())
        .max_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    let newest = events
        .last()
        .map(|e| e.at)
        .max(subscription.map(|s| s.at))?;
    let as_of = as_of.unwrap_or(newest);
    let mut f = BTreeMap::new();

    for (name, width) in WINDOWS {
        let from = as_of.add_millis(-width);
        let window: Vec<&&Summary> = events
            .iter()
            .filter(|e| e.at > from && e.at <= as_of)
            .collect();
        for kind in FEATURE_TYPES {
            let of_kind = window.iter().filter(|e| e.kind == kind);
            let (n, last) = of_kind.fold((0u32, None), |(n, _), e| (n + 1, Some(e.at)));
            f.insert(
                format!("count_{name}.{kind}"),
                number(f64::from(n), last.unwrap_or(as_of)),
            );
        }
    }

    for kind in FEATURE_TYPES {
        if let Some(last) = events
            .iter()
            .rev()
            .find(|e| e.kind == kind && e.at <= as_of)
        {
            f.insert(
                format!("last_at.{kind}"),
                text(&last.at.to_string(), last.at),
            );
        }
    }

    let week: Vec<&&Summary> = events
        .iter()
        .filter(|e| e.at > as_of.add_millis(-7 * Timestamp::DAY) && e.at <= as_of)
        .collect();
    let sessions: BTreeSet<&str> = week.iter().filter_map(|e| e.session.as_deref()).collect();
    let last_week = week.last().map_or(as_of, |e| e.at);
    f.insert(
        "sessions_7d".into(),
        number(sessions.len() as f64, last_week),
    );
    let per_session = if sessions.is_empty() {
        0.0
    } else {
        week.len() as f64 / sessions.len() as f64
    };
    f.insert(
        "events_per_session_7d".into(),
        number(per_session, last_week),
    );

    // The open cart: items added since the last checkout.
    let last_checkout = events
        .iter()
        .rev()
        .find(|e| e.kind == EventType::Checkout)
        .map(|e| e.at);
    let open: Vec<&&Summary> = events
        .iter()
        .filter(|e| e.kind == EventType::AddToCart && last_checkout.is_none_or(|c| e.at > c))
        .collect();
    let open_at = open.last().map_or(as_of, |e| e.at);
    f.insert(
        "cart_open_items".into(),
        number(
            open.iter().filter_map(|e| e.units).map(f64::from).sum(),
            open_at,
        ),
    );
    f.insert(
        "cart_open_value".into(),
        number(open.iter().filter_map(|e| e.amount).sum(), open_at),
    );

    let month: Vec<&&Summary> = events
        .iter()
        .filter(|e| e.at > as_of.add_millis(-30 * Timestamp::DAY) && e.at <= as_of)
        .collect();
    let orders: Vec<&&&Summary> = month
        .iter()
        .filter(|e| e.kind == EventType::Checkout)
        .collect();
    let orders_at = orders.last().map_or(as_of, |e| e.at);
    f.insert(
        "revenue_30d".into(),
        number(orders.iter().filter_map(|e| e.amount).sum(), orders_at),
    );
    let escalations: Vec<&&&Summary> = month
        .iter()
        .filter(|e| e.kind == EventType::SupportEscalation)
        .collect();
    let esc_at = escalations.last().map_or(as_of, |e| e.at);
    let max_sev = escalations
        .iter()
        .filter_map(|e| e.severity)
        .max()
        .map_or(-1.0, f64::from);
    f.insert("support_max_severity_30d".into(), number(max_sev, esc_at));

    if let Some(sub) = subscription
        && let Some((plan, change)) = &sub.plan
    {
        let status = match change {
            SubscriptionChangeKind::Cancel => "cancelled",
            SubscriptionChangeKind::Pause => "paused",
            _ => "active",
        };
        f.insert("subscription_plan".into(), text(plan, sub.at));
        f.insert("subscription_status".into(), text(status, sub.at));
        f.insert(
            "subscription_mrr".into(),
            number(sub.amount.unwrap_or(0.0), sub.at),
        );
    }

    let mut ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    ids.extend(subscription.map(|s| s.id.clone()));
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    Some(ProfileFeatures {
        profile_id: profile_id.to_owned(),
        as_of,
        features: f,
        inputs_hash: digest(&refs, 16),
    })
}
