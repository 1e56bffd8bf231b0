//! The typed event envelope, mirroring the published JSON Schemas in `events/schemas`.
//!
//! An [`Event`] is plain data: anyone may build one (the generator does). Only
//! [`ValidEvent::parse`] and [`ValidEvent::try_from`] produce a [`ValidEvent`],
//! which is what every step downstream of ingest accepts. The checks here are
//! the same rules the schemas state; `tests/contract.rs` runs every sample
//! through both and fails on any disagreement.

mod check;
mod error;
mod properties;

use std::fmt;
use std::net::IpAddr;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

pub use error::ContractError;
pub use properties::{
    AddToCart, Checkout, ConsentAction, ConsentChange, ConsentSource, ContentView, Login,
    LoginMethod, Outcome, OutcomeKind, Properties, Search, Severity, Signup, SignupMethod,
    SubscriptionChange, SubscriptionChangeKind, SupportChannel, SupportEscalation,
};

use crate::Timestamp;

/// The kinds of event the contract defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// A new account was created.
    Signup,
    /// A known user authenticated.
    Login,
    /// A product was put in a cart.
    AddToCart,
    /// A search was run.
    Search,
    /// A subscription started, changed or ended.
    SubscriptionChange,
    /// A piece of content was viewed.
    ContentView,
    /// A support case was escalated.
    SupportEscalation,
    /// An order was placed.
    Checkout,
    /// Consent was granted, revoked, or erasure requested.
    ConsentChange,
    /// What happened after a decision was shown.
    Outcome,
}

impl EventType {
    /// Every event type, in contract order.
    pub const ALL: [Self; 10] = [
        Self::Signup,
        Self::Login,
        Self::AddToCart,
        Self::Search,
        Self::SubscriptionChange,
        Self::ContentView,
        Self::SupportEscalation,
        Self::Checkout,
        Self::ConsentChange,
        Self::Outcome,
    ];

    /// The contract's name for this type.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Login => "login",
            Self::AddToCart => "add_to_cart",
            Self::Search => "search",
            Self::SubscriptionChange => "subscription_change",
            Self::ContentView => "content_view",
            Self::SupportEscalation => "support_escalation",
            Self::Checkout => "checkout",
            Self::ConsentChange => "consent_change",
            Self::Outcome => "outcome",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A purpose personal data may be processed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Measuring how the product is used.
    Analytics,
    /// Tailoring what a person sees.
    Personalization,
    /// Contacting a person about offers.
    Marketing,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Self; 3] = [Self::Analytics, Self::Personalization, Self::Marketing];

    /// The contract's name for this purpose.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Analytics => "analytics",
            Self::Personalization => "personalization",
            Self::Marketing => "marketing",
        }
    }

    /// `purposes` as a set of bits, one per purpose: a compact key for
    /// answers kept per purpose set.
    #[must_use]
    pub fn mask(purposes: &[Self]) -> u8 {
        purposes.iter().fold(0, |m, p| m | (1 << (*p as u8)))
    }

    /// The purposes whose bits `mask` ([`Self::mask`]) holds, in order.
    #[must_use]
    pub fn in_mask(mask: u8) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|p| mask & (1 << (*p as u8)) != 0)
            .collect()
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who an event is about. At least one of `anonymous_id` and `user_id` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// A device or browser key, set before anyone logs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<String>,
    /// The product's own user key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The billing or organisation account the user belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The session the event happened in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// The consent the producer's consent platform recorded when the event happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentClaim {
    /// Purposes granted at the time of the event.
    pub purposes: Vec<Purpose>,
    /// Version of the consent platform's configuration that recorded them.
    pub cmp_version: String,
}

impl ConsentClaim {
    /// Whether the claim grants `purpose`.
    #[must_use]
    pub fn grants(&self, purpose: Purpose) -> bool {
        self.purposes.contains(&purpose)
    }
}

/// The system that produced an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A web SDK.
    Web,
    /// An iOS SDK.
    Ios,
    /// An Android SDK.
    Android,
    /// A backend service.
    Server,
    /// A CRM system.
    Crm,
    /// A billing system.
    Billing,
    /// A support tool.
    Support,
}

impl SourceKind {
    /// Whether the producer's clock is trusted: server-side systems keep
    /// their clocks synchronized, so their times are taken as given and
    /// never corrected by `sent_at`. Client SDKs' clocks are not.
    #[must_use]
    pub const fn clock_trusted(self) -> bool {
        matches!(
            self,
            Self::Server | Self::Crm | Self::Billing | Self::Support
        )
    }
}

/// Where an event came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// What kind of producer sent it.
    pub kind: SourceKind,
    /// The producer's name.
    pub name: String,
    /// The producer's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Request context a client SDK attaches. Personal fields here are minimized at ingest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The client's IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// The client's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The client's locale, such as `en-GB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The page the event happened on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    /// The page that linked to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
}

/// One product event as producers send it (contract version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawEvent")]
pub struct Event {
    /// Producer-chosen unique id; the de-duplication key.
    pub event_id: String,
    /// What happened; always agrees with `properties`.
    pub event_type: EventType,
    /// Contract version, `1.x`.
    pub schema_version: String,
    /// When it happened, by the producer's clock.
    pub occurred_at: Timestamp,
    /// When the producer sent it, by the same clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    /// Who it is about.
    pub subject: Subject,
    /// The residency region the person's data belongs to.
    pub region: String,
    /// Consent recorded with the event.
    pub consent: ConsentClaim,
    /// Who sent it.
    pub source: Source,
    /// Client context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    /// Type-specific fields.
    pub properties: Properties,
}

/// The envelope as it arrives, before `properties` is typed by `event_type`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    event_id: String,
    event_type: EventType,
    schema_version: String,
    occurred_at: Timestamp,
    #[serde(default)]
    sent_at: Option<Timestamp>,
    subject: Subject,
    region: String,
    consent: ConsentClaim,
    source: Source,
    #[serde(default)]
    context: Option<Context>,
    properties: serde_json::Value,
}

impl TryFrom<RawEvent> for Event {
    type Error = ContractError;

    fn try_from(raw: RawEvent) -> Result<Self, Self::Error> {
        let properties = Properties::from_value(raw.event_type, raw.properties)?;
        Ok(Self {
            event_id: raw.event_id,
            event_type: raw.event_type,
            schema_version: raw.schema_version,
            occurred_at: raw.occurred_at,
            sent_at: raw.sent_at,
            subject: raw.subject,
            region: raw.region,
            consent: raw.consent,
            source: raw.source,
            context: raw.context,
            properties,
        })
    }
}

impl Event {
    /// Builds an event from an already parsed JSON value, typing `properties`
    /// by `event_type`. Does not check the contract's value rules; see [`ValidEvent`].
    ///
    /// # Errors
    /// [`ContractError`] when the shape does not match the contract.
    pub fn from_value(value: serde_json::Value) -> Result<Self, ContractError> {
        let raw: RawEvent = serde_json::from_value(value).map_err(ContractError::shape)?;
        Self::try_from(raw)
    }

    /// The event as a JSON value in contract form.
    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// An event that satisfies every rule of the contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidEvent(Event);

impl ValidEvent {
    /// Parses and checks a JSON document against the typed contract.
    ///
    /// # Errors
    /// [`ContractError`] naming the first rule the document breaks.
    ///
    /// # Examples
    /// ```
    /// use tailor_core::event::ValidEvent;
    /// let doc = serde_json::json!({
    ///     "event_id": "evt-0001-abcd", "event_type": "login", "schema_version": "1.0",
    ///     "occurred_at": "2026-11-20T09:14:03Z", "subject": {"user_id": "u-1"},
    ///     "region": "eu", "consent": {"purposes": ["analytics"], "cmp_version": "v1"},
    ///     "source": {"kind": "web", "name": "shop"}, "properties": {"method": "password"}
    /// });
    /// assert!(ValidEvent::parse(doc).is_ok());
    /// ```
    pub fn parse(value: serde_json::Value) -> Result<Self, ContractError> {
        Self::try_from(Event::from_value(value)?)
    }

    /// The checked event.
    #[must_use]
    pub fn into_inner(self) -> Event {
        self.0
    }
}

impl TryFrom<Event> for ValidEvent {
    type Error = ContractError;

    fn try_from(event: Event) -> Result<Self, Self::Error> {
        check::event(&event)?;
        Ok(Self(event))
    }
}

impl Deref for ValidEvent {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Purpose;

    #[test]
    fn every_set_of_purposes_comes_back_from_its_mask() {
        let mut masks = std::collections::BTreeSet::new();
        for bits in 0..(1u8 << Purpose::ALL.len()) {
            let set: Vec<Purpose> = Purpose::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, p)| p)
                .collect();
            let mask = Purpose::mask(&set);
            assert_eq!(Purpose::in_mask(mask), set, "{set:?}");
            assert!(masks.insert(mask), "two sets share the mask {mask}");
        }
        // A purpose named twice is the same set.
        let twice = [Purpose::Marketing, Purpose::Analytics, Purpose::Marketing];
        assert_eq!(
            Purpose::in_mask(Purpose::mask(&twice)),
            [Purpose::Analytics, Purpose::Marketing]
        );
    }
}
