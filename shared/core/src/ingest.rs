//! The ingest step: from raw bytes to an accepted, minimized, routed event.
//!
//! [`Ingestor::prepare`] is pure. It decodes within limits, checks the
//! contract, normalizes time (UTC, clock skew corrected from `sent_at` against
//! the receipt time), minimizes personal fields as policy says, gates on the
//! consent the event carries, tags late events against their type's allowed
//! lateness, and routes by region. De-duplication needs the ledger and is
//! done by the function with [`dedup_key`] and a put-if-absent write.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::contract::{Contract, Rejection};
use crate::decode::{DecodeError, Limits};
use crate::disposition::{DeadLetterReason, Disposition};
use crate::event::{ContractError, Event, EventType, Properties, Purpose, ValidEvent};
use crate::policy::{FieldPlan, FieldTreatment, Policy, PolicyDecision, Residency};
use crate::token::TokenKey;

/// Skew smaller than this is treated as transit time, not a wrong clock.
pub const SKEW_TOLERANCE_MS: i64 = 2 * Timestamp::SECOND;

/// How far after its receipt a record's own times (`sent_at`,
/// `occurred_at`) may lie. A clock wrong by more than this is not skew to
/// correct: the record is dead-lettered as future-dated, and no clock
/// (a replay's, an expiry clock) ever moves to a time beyond this bound.
pub const FUTURE_LIMIT_MS: i64 = Timestamp::DAY;

/// An event ingest accepted: minimized, in UTC, with its routing and lateness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingested {
    /// The minimized event. Dropped personal fields are absent (or empty where
    /// the contract requires the field), so it no longer claims to satisfy the contract.
    pub event: Event,
    /// When the platform received it.
    pub received_at: Timestamp,
    /// `occurred_at` corrected for the producer's clock skew, in UTC.
    pub occurred_at: Timestamp,
    /// How far the producer's clock was behind (positive) or ahead (negative).
    pub skew_ms: i64,
    /// Whether it arrived later than its type allows.
    pub late: bool,
    /// The approved destination for its region.
    pub destination: String,
    /// Keyed tokens of personal fields that policy keeps as tokens.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tokens: BTreeMap<String, String>,
    /// The policy checks that admitted it.
    pub policies: Vec<PolicyDecision>,
}

impl Ingested {
    /// The earlier of the time the producer reported and the corrected
    /// time: where consent and erasure are concerned, an event counts as
    /// before a revocation or an erasure if either time is before it, since
    /// a correction cannot tell a slow clock from a delivery that waited.
    #[must_use]
    pub fn earliest(&self) -> Timestamp {
        self.event.occurred_at.min(self.occurred_at)
    }

    /// The later of the reported and the corrected time: a revocation or
    /// an erasure counts from it, so it never blocks less than either
    /// clock says.
    #[must_use]
    pub fn latest(&self) -> Timestamp {
        self.event.occurred_at.max(self.occurred_at)
    }

    /// How far the correction moved the event later (zero when it moved it
    /// earlier or not at all).
    #[must_use]
    pub fn shifted_ms(&self) -> i64 {
        self.occurred_at.millis_since(self.event.occurred_at).max(0)
    }
}

/// Why ingest did not accept a record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    /// The bytes are not a JSON document within limits.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The document breaks the contract.
    #[error("contract: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Contract(Vec<ContractError>),
    /// The event's consent does not permit collecting it.
    #[error("consent does not permit collecting {event_type} events")]
    ConsentDenied {
        /// The event type.
        event_type: String,
        /// The denying check.
        decision: Box<PolicyDecision>,
        /// The event with personal fields minimized, kept instead of the original bytes.
        minimized: Box<Event>,
    },
    /// The region has no approved destination.
    #[error("region {region:?} has no approved destination")]
    NoDestination {
        /// The region.
        region: String,
        /// The denying check.
        decision: Box<PolicyDecision>,
        /// The event with personal fields minimized, kept instead of the
        /// original bytes: they may not be stored outside an approved destination.
        minimized: Box<Event>,
    },
    /// The event id (within its producer kind) was already used by a
    /// different event: a conflict, not a repeat.
    #[error("event id {event_id} was already used by a different event")]
    EventIdReused {
        /// The id.
        event_id: String,
    },
    /// The region's approved destination is not held by this deployment.
    #[error(
        "region {region:?} is approved for {destination:?}, which this deployment does not hold"
    )]
    OutOfRegion {
        /// The region.
        region: String,
        /// Its approved destination.
        destination: String,
    },
    /// A consent change from a producer not trusted with consent: an HTTP
    /// caller without `consent:write`, or a stream whose producers are not
    /// configured to send consent changes.
    #[error("this producer may not change consent")]
    ConsentNotPermitted,
    /// A time the event gives lies more than [`FUTURE_LIMIT_MS`] after its receipt.
    #[error("{field} {at} is more than a day after the record was received ({received_at})")]
    FutureDated {
        /// `sent_at` or `occurred_at`.
        field: &'static str,
        /// The time given.
        at: Timestamp,
        /// When the record was received.
        received_at: Timestamp,
    },
}

impl From<Rejection> for IngestError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Decode(d) => Self::Decode(d),
            Rejection::Contract(c) => Self::Contract(c),
        }
    }
}

impl IngestError {
    /// The reason this error dead-letters its record under.
    #[must_use]
    pub const fn reason(&self) -> DeadLetterReason {
        match self {
            Self::Decode(d) => d.reason(),
            Self::Contract(_) => DeadLetterReason::Contract,
            Self::ConsentDenied { .. } => DeadLetterReason::ConsentDenied,
            Self::NoDestination { .. } => DeadLetterReason::NoDestination,
            Self::EventIdReused { .. } => DeadLetterReason::EventIdReused,
            Self::FutureDated { .. } => DeadLetterReason::FutureDated,
            Self::OutOfRegion { .. } => DeadLetterReason::OutOfRegion,
            Self::ConsentNotPermitted => DeadLetterReason::ConsentNotPermitted,
        }
    }

    /// Every ingest error is permanent for its record: dead-letter it.
    #[must_use]
    pub const fn disposition(&self) -> Disposition {
        Disposition::DeadLettered {
            reason: self.reason(),
        }
    }
}

/// The de-duplication key of an event: its id, scoped by producer kind so two
/// systems' id spaces cannot collide.
#[must_use]
pub fn dedup_key(event: &Event) -> String {
    format!("{:?}/{}", event.source.kind, event.event_id).to_lowercase()
}

/// A digest of what an event says (its type, time, subject, properties and
/// producer), kept in the de-duplication ledger: a repeat has the same
/// digest; another event under the same id has a different one.
#[must_use]
pub fn content_digest(event: &Event) -> String {
    let body = serde_json::to_string(&(
        &event.event_type,
        &event.occurred_at,
        &event.subject,
        &event.properties,
        &event.source.name,
    ))
    .unwrap_or_default();
    crate::token::digest(&[&event.event_id, &body], 16)
}

/// A de-duplication ledger entry: when the event was received, and its
/// [`content_digest`] (absent in entries written before digests were kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerMark {
    /// When it was received.
    pub received_at: Timestamp,
    /// Its content digest.
    #[serde(default)]
    pub digest: Option<String>,
}

impl LedgerMark {
    /// The mark in a stored ledger item; an older entry (a bare time) has no digest.
    #[must_use]
    pub fn read(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok().or_else(|| {
            serde_json::from_slice(bytes).ok().map(|received_at| Self {
                received_at,
                digest: None,
            })
        })
    }
}

/// The ingest step, configured once per process.
pub struct Ingestor<'p> {
    contract: &'p Contract,
    policy: &'p Policy,
    limits: Limits,
    key: TokenKey,
    regions: BTreeMap<String, RegionPolicy>,
    residency: Residency,
}

/// Policy answers for one region: they depend only on the region, the
/// event type and the purposes claimed, never on the event. The plan and
/// route are computed with the ingestor; each collection decision the
/// first time an event asks for it, then kept (a process that sees a few
/// event types never evaluates the rest, which keeps start-up short).
struct RegionPolicy {
    plan: FieldPlan,
    route: Result<(String, PolicyDecision), PolicyDecision>,
    /// By event type (its place in [`EventType::ALL`]) and the bit set of
    /// purposes claimed.
    collect: Vec<OnceLock<PolicyDecision>>,
}

impl RegionPolicy {
    fn new(policy: &Policy, region: &str) -> Self {
        Self {
            plan: policy.field_plan(region),
            route: policy.destination(region),
            collect: (0..EventType::ALL.len() << Purpose::ALL.len())
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    /// The decision to collect `event_type` with the purposes in `mask`.
    fn collect(
        &self,
        policy: &Policy,
        region: &str,
        event_type: EventType,
        mask: u8,
    ) -> Option<&PolicyDecision> {
        let kind = EventType::ALL.iter().position(|t| *t == event_type)?;
        let slot = self
            .collect
            .get((kind << Purpose::ALL.len()) | usize::from(mask))?;
        Some(
            slot.get_or_init(|| {
                policy.collect("ingest", event_type, &Purpose::in_mask(mask), region)
            }),
        )
    }
}

impl std::fmt::Debug for Ingestor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<'p> Ingestor<'p> {
    /// An ingestor over a compiled contract and a loaded policy. Policy
    /// answers are computed once for every region the policy knows:
    /// minimization plans and routes here, each collection decision when
    /// an event first needs it.
    #[must_use]
    pub fn new(contract: &'p Contract, policy: &'p Policy, limits: Limits, key: TokenKey) -> Self {
        let regions = policy
            .regions()
            .into_iter()
            .map(|r| {
                let answers = RegionPolicy::new(policy, &r);
                (r, answers)
            })
            .collect();
        Self {
            contract,
            policy,
            limits,
            key,
            regions,
            residency: Residency::everywhere(),
        }
    }

    /// The same ingestor, holding only `residency`'s destinations: an event
    /// approved for another is refused before anything else is done with it.
    #[must_use]
    pub fn with_residency(mut self, residency: Residency) -> Self {
        self.residency = residency;
        self
    }

    /// The tokenization key.
    #[must_use]
    pub const fn tokens(&self) -> &TokenKey {
        &self.key
    }

    /// Whether this deployment holds the data of the region a record's
    /// bytes name, however it is spelled: case, surrounding space and
    /// full-width forms are folded, and a sub-region (`eu-de`) counts as
    /// its region when the policy does not name it itself. A record that
    /// names no region readable here — not JSON, no region, one the policy
    /// does not know — is not held: residency is decided before anything is
    /// kept, so such a record leaves at most its digest.
    #[must_use]
    pub fn holds_region_of(&self, bytes: &[u8]) -> bool {
        let Ok(value) = crate::decode::decode(bytes, self.limits) else {
            return false;
        };
        let Some(raw) = value.get("region").and_then(serde_json::Value::as_str) else {
            return false;
        };
        let region = fold_region(raw);
        let parent = region.split(['-', '_']).next().unwrap_or_default();
        let answers = self
            .regions
            .get(&region)
            .or_else(|| self.regions.get(parent));
        answers.is_some_and(|a| {
            a.route
                .as_ref()
                .is_ok_and(|(destination, _)| self.residency.holds(destination))
        })
    }

    /// The limits applied to every record.
    #[must_use]
    pub const fn limits(&self) -> Limits {
        self.limits
    }

    /// Runs every check of ingest but de-duplication on one record.
    ///
    /// # Errors
    /// [`IngestError`] naming why the record cannot be accepted.
    pub fn prepare(&self, bytes: &[u8], received_at: Timestamp) -> Result<Ingested, IngestError> {
        let event = self.contract.parse(bytes, self.limits)?;
        self.admit(event, received_at)
    }

    /// Runs every check of ingest but de-duplication on one delivered
    /// record, its producer's rights among them: a consent change from a
    /// producer not trusted with consent is refused, whatever route
    /// carried it.
    ///
    /// # Errors
    /// [`IngestError::ConsentNotPermitted`], or as [`Self::prepare`].
    pub fn prepare_record(&self, record: &crate::batch::Record) -> Result<Ingested, IngestError> {
        let event = self.contract.parse(&record.bytes, self.limits)?;
        if event.event_type == EventType::ConsentChange && !record.may_change_consent {
            return Err(IngestError::ConsentNotPermitted);
        }
        self.admit(event, record.received_at)
    }

    /// The checks after parsing, for an event already known to be valid.
    ///
    /// # Errors
    /// [`IngestError::ConsentDenied`] or [`IngestError::NoDestination`].
    pub fn admit(
        &self,
        event: ValidEvent,
        received_at: Timestamp,
    ) -> Result<Ingested, IngestError> {
        let event = event.into_inner();
        let horizon = received_at.add_millis(FUTURE_LIMIT_MS);
        for (field, at) in [
            ("sent_at", event.sent_at),
            ("occurred_at", Some(event.occurred_at)),
        ] {
            if let Some(at) = at.filter(|at| *at > horizon) {
                return Err(IngestError::FutureDated {
                    field,
                    at,
                    received_at,
                });
            }
        }
        let answers = self.regions.get(&event.region);
        // Residency first: an event for another region's destination is
        // not minimized, gated or kept here at all.
        if let Some(Ok((destination, _))) = answers.map(|a| &a.route)
            && !self.residency.holds(destination)
        {
            return Err(IngestError::OutOfRegion {
                region: event.region.clone(),
                destination: destination.clone(),
            });
        }
        let (minimized, tokens) = minimize(event, answers.map(|a| &a.plan), &self.key);

        let mask = Purpose::mask(&minimized.consent.purposes);
        let collect = answers
            .and_then(|a| {
                a.collect(self.policy, &minimized.region, minimized.event_type, mask)
                    .cloned()
            })
            .unwrap_or_else(|| {
                self.policy.collect(
                    "ingest",
                    minimized.event_type,
                    &minimized.consent.purposes,
                    &minimized.region,
                )
            });
        if !collect.allowed {
            return Err(IngestError::ConsentDenied {
                event_type: minimized.event_type.to_string(),
                decision: Box::new(collect),
                minimized: Box::new(minimized),
            });
        }
        let route = match answers {
            Some(a) => a.route.clone(),
            None => self.policy.destination(&minimized.region),
        };
        let (destination, route) = match route {
            Ok(r) => r,
            Err(decision) => {
                return Err(IngestError::NoDestination {
                    region: minimized.region.clone(),
                    decision: Box::new(decision),
                    minimized: Box::new(minimized),
                });
            }
        };

        // A server-side producer's clock is trusted: its times are kept as
        // given. Elsewhere a gap between `sent_at` and receipt may be a
        // slow clock or a delivery that waited in a queue; it places the
        // event for features, while consent and erasure ordering take the
        // earlier of the two times ([`Ingested::earliest`]).
        let trusted = minimized.source.kind.clock_trusted();
        let skew_ms = minimized.sent_at.filter(|_| !trusted).map_or(0, |sent| {
            let skew = received_at.millis_since(sent);
            if skew.abs() < SKEW_TOLERANCE_MS {
                0
            } else {
                skew
            }
        });
        // A corrected time never lies after the receipt.
        let occurred_at = minimized.occurred_at.add_millis(skew_ms).min(received_at);
        let late = received_at.millis_since(occurred_at)
            > self.policy.allowed_lateness_ms(minimized.event_type);

        Ok(Ingested {
            event: minimized,
            received_at,
            occurred_at,
            skew_ms,
            late,
            destination,
            tokens,
            policies: vec![route, collect],
        })
    }
}

/// A region name as it is meant: surrounding space trimmed, full-width
/// letters and digits as their ASCII forms, lower case.
fn fold_region(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            // The full-width forms of ASCII '!'..='~'.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_lowercase()
}

/// Keeps the network part of an address: /24 for IPv4, /48 for IPv6.
fn truncate_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], 0, 0, 0, 0, 0])
        }
    }
}

/// A URL without its query and fragment (where personal data tends to sit).
fn truncate_url(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].to_owned()
}

/// Applies a minimization plan; fields of an unknown region are all dropped.
fn minimize(
    mut event: Event,
    plan: Option<&FieldPlan>,
    key: &TokenKey,
) -> (Event, BTreeMap<String, String>) {
    let treat = |field: &str| plan.map_or(FieldTreatment::Drop, |p| p.treatment(field));
    let mut tokens = BTreeMap::new();
    let mut apply =
        |field: &str, value: Option<String>, truncate: fn(&str) -> String| -> Option<String> {
            let value = value?;
            match treat(field) {
                FieldTreatment::Raw => Some(value),
                FieldTreatment::Truncated => Some(truncate(&value)),
                FieldTreatment::Token => {
                    tokens.insert(field.to_owned(), key.token(field, &value));
                    None
                }
                FieldTreatment::Drop => None,
            }
        };
    if let Some(ctx) = event.context.as_mut() {
        ctx.user_agent = apply("context.user_agent", ctx.user_agent.take(), str::to_owned);
        ctx.locale = apply("context.locale", ctx.locale.take(), str::to_owned);
        ctx.page_url = apply("context.page_url", ctx.page_url.take(), truncate_url);
        ctx.referrer = apply("context.referrer", ctx.referrer.take(), truncate_url);
        ctx.ip = match (ctx.ip, treat("context.ip")) {
            (Some(ip), FieldTreatment::Raw) => Some(ip),
            (Some(ip), FieldTreatment::Truncated) => Some(truncate_ip(ip)),
            _ => None,
        };
    }
    match &mut event.properties {
        Properties::Signup(s) => s.email = apply("properties.email", s.email.take(), str::to_owned),
        Properties::Search(s) => {
            s.query = apply(
                "properties.query",
                Some(std::mem::take(&mut s.query)),
                str::to_owned,
            )
            .unwrap_or_default();
        }
        Properties::SupportEscalation(s) => {
            s.reason = apply("properties.reason", s.reason.take(), str::to_owned);
        }
        _ => {}
    }
    (event, tokens)
}
