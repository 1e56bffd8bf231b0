//! The questions the functions ask of policy, in domain terms.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::json;

use super::{Policy, PolicyDecision};
use crate::event::{EventType, Purpose};

/// The most anonymous ids a policy may let one user claim, and the most
/// an account node lists as probably linked (the identity graph).
/// Past it a new link is not recorded: an erasure could not find it, and a
/// node must stay bounded.
pub const MAX_REFERENCES: usize = 1_000;

/// What minimization does with one personal field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldTreatment {
    /// Kept as sent.
    Raw,
    /// Kept with its identifying part cut off (IP network prefix, URL path only).
    Truncated,
    /// Replaced by a keyed token: joinable, not reversible without the key.
    Token,
    /// Removed.
    Drop,
}

/// The personal fields of the envelope that minimization decides on.
pub const PERSONAL_FIELDS: [&str; 8] = [
    "context.ip",
    "context.user_agent",
    "context.locale",
    "context.page_url",
    "context.referrer",
    "properties.email",
    "properties.query",
    "properties.reason",
];

/// How each personal field is treated for one region, with the policies that said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldPlan {
    /// Field name → treatment and the deciding policies.
    pub fields: BTreeMap<String, (FieldTreatment, Vec<String>)>,
}

impl FieldPlan {
    /// The treatment of `field`; fields the plan does not know are dropped.
    #[must_use]
    pub fn treatment(&self, field: &str) -> FieldTreatment {
        self.fields
            .get(field)
            .map_or(FieldTreatment::Drop, |(t, _)| *t)
    }
}

fn purposes_json(purposes: &[Purpose]) -> serde_json::Value {
    json!(purposes.iter().map(|p| p.as_str()).collect::<Vec<_>>())
}

/// [`Policy::build_features`]'s answers, by event type and the purposes
/// granted and blocked, a bit each. The question has no other input, so
/// each answer is asked of the engine once and kept (at most 640 of
/// them), not once an event.
pub(super) struct FeatureAnswers(Box<[OnceLock<PolicyDecision>]>);

/// Answers per event type: a bit set of granted purposes by one of blocked.
const PER_TYPE: usize = 1 << (2 * Purpose::ALL.len());

impl Default for FeatureAnswers {
    fn default() -> Self {
        Self(
            (0..EventType::ALL.len() * PER_TYPE)
                .map(|_| OnceLock::new())
                .collect(),
        )
    }
}

impl FeatureAnswers {
    /// Where the answer for `event_type`, `granted` and `blocked` is kept.
    fn slot(
        &self,
        event_type: EventType,
        granted: &[Purpose],
        blocked: &[Purpose],
    ) -> Option<&OnceLock<PolicyDecision>> {
        let bits = |purposes: &[Purpose]| {
            purposes
                .iter()
                .fold(0_usize, |m, p| m | (1 << (*p as usize)))
        };
        let kind = EventType::ALL.iter().position(|t| *t == event_type)?;
        self.0
            .get(kind * PER_TYPE + (bits(granted) << Purpose::ALL.len()) + bits(blocked))
    }
}

impl Policy {
    /// May `pipeline` collect an event of `event_type`, given the purposes the
    /// event's consent claim grants?
    #[must_use]
    pub fn collect(
        &self,
        pipeline: &str,
        event_type: EventType,
        granted: &[Purpose],
        region: &str,
    ) -> PolicyDecision {
        self.bundle.decide(
            ("Pipeline", pipeline),
            "collect",
            ("EventType", event_type.as_str()),
            json!({ "granted": purposes_json(granted), "region": region }),
        )
    }

    /// The approved destination for `region`, or the denial that says there is none.
    ///
    /// # Errors
    /// The denying [`PolicyDecision`] when the region is unknown or its
    /// configured destination is not approved.
    pub fn destination(&self, region: &str) -> Result<(String, PolicyDecision), PolicyDecision> {
        let Some(uid) = super::bundle::Bundle::uid("Region", region) else {
            return Err(PolicyDecision::denied(
                "route",
                format!("Region::\"{region}\""),
                "malformed region",
            ));
        };
        let Some(destination) = self.bundle.attr_str(&uid, "destination") else {
            return Err(PolicyDecision::denied(
                "route",
                format!("Region::\"{region}\""),
                "region has no approved destination",
            ));
        };
        let decision = self.bundle.decide(
            ("Region", region),
            "route",
            ("Destination", &destination),
            json!({}),
        );
        if decision.allowed {
            Ok((destination, decision))
        } else {
            Err(decision)
        }
    }

    /// May features be built from an event of `event_type` for a profile
    /// whose event grants `granted` and whose consent ledger blocks `blocked`?
    #[must_use]
    pub fn build_features(
        &self,
        event_type: EventType,
        granted: &[Purpose],
        blocked: &[Purpose],
    ) -> PolicyDecision {
        let ask = || {
            self.bundle.decide(
                ("Pipeline", "features"),
                "build_features",
                ("EventType", event_type.as_str()),
                json!({ "granted": purposes_json(granted), "blocked": purposes_json(blocked) }),
            )
        };
        // The context is two sets: their order and repeats do not change
        // the answer, so it is kept by their bits.
        match self.features.slot(event_type, granted, blocked) {
            Some(slot) => slot.get_or_init(ask).clone(),
            None => ask(),
        }
    }

    /// May keys be linked by likelihood in `region` for `purpose` at this confidence?
    #[must_use]
    pub fn link_probabilistic(
        &self,
        region: &str,
        purpose: Purpose,
        confidence_pct: i64,
    ) -> PolicyDecision {
        self.bundle.decide(
            ("Region", region),
            "link_probabilistic",
            ("Purpose", purpose.as_str()),
            json!({ "confidence_pct": confidence_pct }),
        )
    }

    /// May `model`, approved for `approved` purposes, serve a decision for `purpose`?
    #[must_use]
    pub fn serve_model(
        &self,
        model: &str,
        purpose: Purpose,
        approved: &[String],
    ) -> PolicyDecision {
        self.bundle.decide(
            ("Model", model),
            "serve_model",
            ("Purpose", purpose.as_str()),
            json!({ "approved": approved }),
        )
    }

    /// May a decision be personalized for `purpose`?
    #[must_use]
    pub fn decide(
        &self,
        purpose: Purpose,
        granted: &[Purpose],
        blocked: &[Purpose],
        region: &str,
        adult: bool,
    ) -> PolicyDecision {
        self.bundle.decide(
            ("Pipeline", "score"),
            "decide",
            ("Purpose", purpose.as_str()),
            json!({
                "granted": purposes_json(granted),
                "blocked": purposes_json(blocked),
                "region": region,
                "adult": adult,
            }),
        )
    }

    /// May a model read `feature` when deciding for `purpose`?
    #[must_use]
    pub fn use_feature(&self, purpose: Purpose, feature: &str) -> PolicyDecision {
        self.bundle.decide(
            ("Purpose", purpose.as_str()),
            "use_feature",
            ("Feature", feature),
            json!({}),
        )
    }

    /// May `offer` be shown, whatever the model says?
    #[must_use]
    pub fn show(
        &self,
        purpose: Purpose,
        offer: &str,
        support_severity: i64,
        open_cart_items: i64,
    ) -> PolicyDecision {
        self.bundle.decide(
            ("Purpose", purpose.as_str()),
            "show",
            ("Offer", offer),
            json!({ "support_severity": support_severity, "open_cart_items": open_cart_items }),
        )
    }

    /// How minimization treats each personal field for events of `region`.
    /// The most useful treatment any policy permits wins: raw, then
    /// truncated, then token; with none permitted the field is dropped.
    #[must_use]
    pub fn field_plan(&self, region: &str) -> FieldPlan {
        let mut fields = BTreeMap::new();
        for field in PERSONAL_FIELDS {
            let mut chosen = (FieldTreatment::Drop, Vec::new());
            for (action, treatment) in [
                ("keep_raw", FieldTreatment::Raw),
                ("keep_truncated", FieldTreatment::Truncated),
                ("keep_token", FieldTreatment::Token),
            ] {
                let d = self
                    .bundle
                    .decide(("Region", region), action, ("Field", field), json!({}));
                if d.allowed {
                    chosen = (treatment, d.policies);
                    break;
                }
            }
            fields.insert(field.to_owned(), chosen);
        }
        FieldPlan { fields }
    }

    /// How late an event of `event_type` may arrive before it is tagged late,
    /// in milliseconds. Unknown types get no allowance.
    #[must_use]
    pub fn allowed_lateness_ms(&self, event_type: EventType) -> i64 {
        super::bundle::Bundle::uid("EventType", event_type.as_str())
            .and_then(|uid| self.bundle.attr_long(&uid, "allowed_lateness_hours"))
            .map_or(0, |h| h.saturating_mul(crate::Timestamp::HOUR))
    }

    /// The most anonymous ids one user may claim (the identity store's
    /// `max_anonymous_per_user`, at most [`MAX_REFERENCES`]);
    /// past it the least recently claimed is let go. A bundle that does
    /// not say gets the most.
    #[must_use]
    pub fn max_anonymous_per_user(&self) -> usize {
        super::bundle::Bundle::uid("Store", "identity")
            .and_then(|uid| self.bundle.attr_long(&uid, "max_anonymous_per_user"))
            .and_then(|n| usize::try_from(n).ok())
            .map_or(MAX_REFERENCES, |n| n.clamp(1, MAX_REFERENCES))
    }

    /// How long items of `store` live, in milliseconds. A store the policy
    /// does not name gets one day, so nothing is ever kept without a limit.
    #[must_use]
    pub fn retention_ms(&self, store: &str) -> i64 {
        super::bundle::Bundle::uid("Store", store)
            .and_then(|uid| self.bundle.attr_long(&uid, "retention_days"))
            .map_or(crate::Timestamp::DAY, |d| {
                d.saturating_mul(crate::Timestamp::DAY)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::shipped().unwrap()
    }

    /// Every combination's kept answer is the engine's, however the sets
    /// were ordered or repeated when it was first asked: a slot shared by
    /// two combinations would give one of them the other's answer.
    #[test]
    fn a_kept_feature_answer_is_the_engines_own() {
        let p = policy();
        let of = |bits: usize| -> Vec<Purpose> {
            Purpose::ALL
                .into_iter()
                .filter(|q| bits & (1 << (*q as usize)) != 0)
                .collect()
        };
        let mut allowed = 0;
        for event_type in EventType::ALL {
            for g in 0..8 {
                for b in 0..8 {
                    let (granted, blocked) = (of(g), of(b));
                    // First asked with the sets reversed and repeated.
                    let mut shuffled: Vec<Purpose> = granted.iter().rev().copied().collect();
                    shuffled.extend(granted.first());
                    let kept = p.build_features(event_type, &shuffled, &blocked);
                    let engine = p.bundle.decide(
                        ("Pipeline", "features"),
                        "build_features",
                        ("EventType", event_type.as_str()),
                        json!({ "granted": purposes_json(&granted), "blocked": purposes_json(&blocked) }),
                    );
                    assert_eq!(kept, engine, "{event_type:?} {granted:?} {blocked:?}");
                    assert_eq!(p.build_features(event_type, &granted, &blocked), engine);
                    allowed += usize::from(engine.allowed);
                }
            }
        }
        // Some are allowed, not all: the answers differ by combination.
        assert!(
            allowed > 0 && allowed < EventType::ALL.len() * 64,
            "{allowed}"
        );
    }

    #[test]
    fn shipped_bundle_validates_against_its_schema() {
        let ids = policy().policy_ids();
        assert!(ids.contains(&"collect-with-consent".to_owned()), "{ids:?}");
    }

    #[test]
    fn collecting_behaviour_needs_the_analytics_purpose() {
        let p = policy();
        let denied = p.collect("ingest", EventType::AddToCart, &[Purpose::Marketing], "eu");
        assert!(!denied.allowed);
        assert!(denied.policies.is_empty());
        let allowed = p.collect("ingest", EventType::AddToCart, &[Purpose::Analytics], "eu");
        assert!(allowed.allowed);
        assert_eq!(allowed.policies, vec!["collect-with-consent".to_owned()]);
    }

    #[test]
    fn consent_changes_are_collected_without_consent() {
        let d = policy().collect("ingest", EventType::ConsentChange, &[], "eu");
        assert!(d.allowed);
        assert_eq!(d.policies, vec!["collect-legal-obligation".to_owned()]);
    }

    #[test]
    fn regions_route_only_to_their_approved_destination() {
        let p = policy();
        assert_eq!(p.destination("eu").unwrap().0, "eu-central");
        assert!(p.destination("br").is_err());
    }

    #[test]
    fn revocation_forbids_features_even_with_a_grant_on_the_event() {
        let d = policy().build_features(
            EventType::ContentView,
            &[Purpose::Personalization],
            &[Purpose::Personalization],
        );
        assert!(!d.allowed);
        assert_eq!(
            d.policies,
            vec!["features-stop-after-revocation".to_owned()]
        );
    }

    #[test]
    fn minimization_differs_by_regime() {
        let p = policy();
        let eu = p.field_plan("eu");
        let us = p.field_plan("us");
        assert_eq!(eu.treatment("context.ip"), FieldTreatment::Truncated);
        assert_eq!(eu.treatment("properties.email"), FieldTreatment::Token);
        assert_eq!(eu.treatment("context.user_agent"), FieldTreatment::Drop);
        assert_eq!(us.treatment("context.user_agent"), FieldTreatment::Raw);
        assert_eq!(eu.treatment("properties.reason"), FieldTreatment::Drop);
    }

    #[test]
    fn probabilistic_linking_is_off_by_default() {
        assert!(
            !policy()
                .link_probabilistic("us", Purpose::Personalization, 99)
                .allowed
        );
    }

    #[test]
    fn a_policy_without_an_id_is_rejected() {
        let err = Policy::load(
            super::super::shipped::SCHEMA,
            "permit(principal, action, resource);",
            super::super::shipped::ENTITIES,
        );
        assert!(matches!(
            err,
            Err(super::super::PolicyLoadError::PolicyId(_))
        ));
    }

    #[test]
    fn a_policy_naming_an_unknown_attribute_fails_validation() {
        let err = Policy::load(
            super::super::shipped::SCHEMA,
            "@id(\"x\") permit(principal, action == Tailor::Action::\"collect\", resource) when { resource.nonsense };",
            super::super::shipped::ENTITIES,
        );
        assert!(
            matches!(err, Err(super::super::PolicyLoadError::Validation(_))),
            "{err:?}"
        );
    }

    #[test]
    fn a_question_the_bundle_cannot_answer_is_denied_with_the_error() {
        // Entities without the login event type: the engine cannot evaluate
        // collection of logins, and must fail closed.
        let entities: Vec<serde_json::Value> =
            serde_json::from_str(super::super::shipped::ENTITIES).unwrap();
        let without_login: Vec<serde_json::Value> = entities
            .into_iter()
            .filter(|e| e["uid"]["id"] != "login")
            .collect();
        let p = Policy::load(
            super::super::shipped::SCHEMA,
            super::super::shipped::POLICIES,
            &serde_json::to_string(&without_login).unwrap(),
        )
        .unwrap();
        let d = p.collect("ingest", EventType::Login, &Purpose::ALL, "eu");
        assert!(!d.allowed);
        assert!(!d.errors.is_empty());
        assert!(
            p.collect("ingest", EventType::Search, &Purpose::ALL, "eu")
                .allowed
        );
    }

    #[test]
    fn every_store_has_a_retention() {
        let p = policy();
        for table in crate::ports::Table::ALL {
            let store = table.retention_store();
            assert!(p.retention_ms(store) > 0, "{store}");
        }
    }

    #[test]
    fn subject_keys_outlive_everything_sealed_under_them() {
        // A key serves a month and is kept from the month's start, so it
        // must outlive the longest-kept sealed table by a month.
        let p = policy();
        let sealed = ["decisions", "audit", "dead_letters"]
            .iter()
            .map(|s| p.retention_ms(s))
            .max()
            .unwrap();
        assert!(p.retention_ms("subjects") >= sealed + 31 * crate::Timestamp::DAY);
        let months = i64::from(crate::subject::MONTHS_KEPT) * 28 * crate::Timestamp::DAY;
        assert!(
            months >= p.retention_ms("subjects"),
            "erasure looks back far enough"
        );
    }
}
