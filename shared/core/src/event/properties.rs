//! The `properties` object of each event type.

use serde::{Deserialize, Serialize};

use super::error::ContractError;
use super::{EventType, Purpose};

/// Type-specific fields, one variant per [`EventType`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Properties {
    /// See [`Signup`].
    Signup(Signup),
    /// See [`Login`].
    Login(Login),
    /// See [`AddToCart`].
    AddToCart(AddToCart),
    /// See [`Search`].
    Search(Search),
    /// See [`SubscriptionChange`].
    SubscriptionChange(SubscriptionChange),
    /// See [`ContentView`].
    ContentView(ContentView),
    /// See [`SupportEscalation`].
    SupportEscalation(SupportEscalation),
    /// See [`Checkout`].
    Checkout(Checkout),
    /// See [`ConsentChange`].
    ConsentChange(ConsentChange),
    /// See [`Outcome`].
    Outcome(Outcome),
}

impl Properties {
    /// Types `value` as the properties of `event_type`.
    ///
    /// # Errors
    /// [`ContractError`] when the object does not have that type's shape.
    pub fn from_value(
        event_type: EventType,
        value: serde_json::Value,
    ) -> Result<Self, ContractError> {
        fn typed<T: serde::de::DeserializeOwned>(
            value: serde_json::Value,
        ) -> Result<T, ContractError> {
            serde_json::from_value(value).map_err(|e| ContractError::at("/properties", e))
        }
        Ok(match event_type {
            EventType::Signup => Self::Signup(typed(value)?),
            EventType::Login => Self::Login(typed(value)?),
            EventType::AddToCart => Self::AddToCart(typed(value)?),
            EventType::Search => Self::Search(typed(value)?),
            EventType::SubscriptionChange => Self::SubscriptionChange(typed(value)?),
            EventType::ContentView => Self::ContentView(typed(value)?),
            EventType::SupportEscalation => Self::SupportEscalation(typed(value)?),
            EventType::Checkout => Self::Checkout(typed(value)?),
            EventType::ConsentChange => Self::ConsentChange(typed(value)?),
            EventType::Outcome => Self::Outcome(typed(value)?),
        })
    }

    /// The event type these properties belong to.
    #[must_use]
    pub const fn event_type(&self) -> EventType {
        match self {
            Self::Signup(_) => EventType::Signup,
            Self::Login(_) => EventType::Login,
            Self::AddToCart(_) => EventType::AddToCart,
            Self::Search(_) => EventType::Search,
            Self::SubscriptionChange(_) => EventType::SubscriptionChange,
            Self::ContentView(_) => EventType::ContentView,
            Self::SupportEscalation(_) => EventType::SupportEscalation,
            Self::Checkout(_) => EventType::Checkout,
            Self::ConsentChange(_) => EventType::ConsentChange,
            Self::Outcome(_) => EventType::Outcome,
        }
    }
}

/// How an account was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum SignupMethod {
    Email,
    Google,
    Apple,
    Sso,
}

/// `signup` properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signup {
    /// How the account was created.
    pub method: SignupMethod,
    /// The address given at signup; tokenized or dropped at ingest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The plan chosen at signup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// A referral code, if one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_code: Option<String>,
}

/// How a user authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum LoginMethod {
    Password,
    Google,
    Apple,
    Sso,
    MagicLink,
}

/// `login` properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// How the user authenticated.
    pub method: LoginMethod,
}

/// `add_to_cart` properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddToCart {
    /// The cart.
    pub cart_id: String,
    /// The product added.
    pub product_id: String,
    /// How many, 1 to 1000.
    pub quantity: u32,
    /// Price of one unit, 0 to 10,000,000.
    pub unit_price: f64,
    /// ISO 4217 code.
    pub currency: String,
    /// Product category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// `search` properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// The query text, 1 to 256 characters; not kept past ingest.
    pub query: String,
    /// How many results came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<u32>,
    /// The category searched in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// What happened to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum SubscriptionChangeKind {
    Start,
    Upgrade,
    Downgrade,
    Renew,
    Cancel,
    Pause,
    Resume,
}

/// `subscription_change` properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    /// The plan after the change.
    pub plan: String,
    /// What changed.
    pub change: SubscriptionChangeKind,
    /// Monthly recurring revenue after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrr: Option<f64>,
    /// ISO 4217 code of `mrr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `content_view` properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentView {
    /// The content.
    pub content_id: String,
    /// Its category.
    pub category: String,
    /// Time spent on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
}

/// How severe an escalation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// Where an escalation came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum SupportChannel {
    Email,
    Chat,
    Phone,
    Web,
}

/// `support_escalation` properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportEscalation {
    /// The ticket.
    pub ticket_id: String,
    /// How severe.
    pub severity: Severity,
    /// Where it came in.
    pub channel: SupportChannel,
    /// Free text; dropped at ingest (it may hold anything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `checkout` properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkout {
    /// The order.
    pub order_id: String,
    /// The cart checked out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cart_id: Option<String>,
    /// Order total.
    pub total: f64,
    /// ISO 4217 code.
    pub currency: String,
    /// Number of items, 1 to 10,000.
    pub items: u32,
}

/// What a consent change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    /// The purposes are granted from now on.
    Grant,
    /// The purposes are withdrawn; data collected for them is deleted.
    Revoke,
    /// Everything about the person is erased and their identity unlinked.
    Erase,
}

/// Who recorded a consent change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ConsentSource {
    Cmp,
    Settings,
    Support,
    Api,
}

/// `consent_change` properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentChange {
    /// Grant, revoke or erase.
    pub action: ConsentAction,
    /// The purposes affected (at least one for grant and revoke).
    pub purposes: Vec<Purpose>,
    /// Who recorded it.
    pub source: ConsentSource,
    /// The privacy policy version the person saw.
    pub policy_version: String,
}

/// What a person did with a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum OutcomeKind {
    Impression,
    Click,
    Convert,
    Dismiss,
    Unsubscribe,
}

/// `outcome` properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// The decision this outcome follows.
    pub decision_id: String,
    /// What happened.
    pub kind: OutcomeKind,
    /// Where the decision was shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
    /// The action that was shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Value attributed to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}
