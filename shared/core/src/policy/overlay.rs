//! Federated policy: central standards, local enforcement.
//!
//! The base bundle is the central standard. A region or a domain adds an
//! overlay that may only restrict it: `forbid` policies (never `permit`,
//! so nothing the base forbids can become permitted — in Cedar a forbid
//! always wins), and shorter retention for stores. A deployment loads the
//! composition of the base and its own overlay, validated when it loads:
//! an overlay that would widen anything is rejected with the reason.
//!
//! Every policy of an overlay has an `@id` beginning with the overlay's
//! name and a colon (`eu:no-probable-links-in-the-uk`), and no base policy
//! has a colon in its `@id`, so every recorded policy decision names the
//! layer that decided it as well as the policy.

use std::collections::BTreeMap;
use std::str::FromStr;

use cedar_policy::{Effect, PolicySet};
use serde::Deserialize;

use super::{Policy, PolicyLoadError};

/// A restricting layer over the base bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    /// Its name, the prefix of its policies' `@id`s.
    pub name: String,
    /// Its Cedar policies: `forbid` only.
    pub policies: String,
    /// Its changes to entities.
    pub entities: OverlayEntities,
}

/// What an overlay may change in the base's entities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayEntities {
    /// Shorter retention, in days, by store.
    #[serde(default)]
    pub retention_days: BTreeMap<String, i64>,
}

impl Overlay {
    /// An overlay from its two sources: Cedar policies and a JSON object
    /// of entity changes (`{"retention_days": {"dead_letters": 7}}`).
    ///
    /// # Errors
    /// [`PolicyLoadError::Overlay`] when the entity changes do not parse.
    pub fn parse(name: &str, policies: &str, entities: &str) -> Result<Self, PolicyLoadError> {
        let entities = serde_json::from_str(entities)
            .map_err(|e| PolicyLoadError::Overlay(format!("{name}: entities: {e}")))?;
        Ok(Self {
            name: name.to_owned(),
            policies: policies.to_owned(),
            entities,
        })
    }
}

/// The overlays shipped with Tailor, by name.
pub mod shipped {
    /// `(name, policies, entity changes)` of each shipped overlay.
    pub const OVERLAYS: &[(&str, &str, &str)] = &[(
        "eu",
        include_str!("../../../policy/overlays/eu.cedar"),
        include_str!("../../../policy/overlays/eu.json"),
    )];
}

fn refuse(overlay: &str, why: impl std::fmt::Display) -> PolicyLoadError {
    PolicyLoadError::Overlay(format!("{overlay}: {why}"))
}

impl Policy {
    /// The base bundle (`schema`, `policies`, `entities`) composed with
    /// `overlay`, validated: the overlay's policies are all `forbid`, each
    /// `@id` is `<overlay>:…`, the base has no `:` in its `@id`s, and each
    /// retention it sets is for a store the base names and no longer than
    /// the base's.
    ///
    /// # Errors
    /// [`PolicyLoadError::Overlay`] naming what the overlay may not do, or
    /// the composition's own load error.
    pub fn compose(
        schema: &str,
        policies: &str,
        entities: &str,
        overlay: &Overlay,
    ) -> Result<Self, PolicyLoadError> {
        let name = overlay.name.as_str();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(refuse(
                name,
                "an overlay's name is lower-case letters, digits and '-'",
            ));
        }
        let base =
            PolicySet::from_str(policies).map_err(|e| PolicyLoadError::Policies(e.to_string()))?;
        if let Some(id) = base
            .policies()
            .filter_map(|p| p.annotation("id"))
            .find(|id| id.contains(':'))
        {
            return Err(refuse(
                name,
                format!("base policy {id:?} has a ':' in its @id, which names layers"),
            ));
        }
        let layer = PolicySet::from_str(&overlay.policies)
            .map_err(|e| refuse(name, format!("policies: {e}")))?;
        for policy in layer.policies() {
            let id = policy.annotation("id").unwrap_or_default();
            if policy.effect() != Effect::Forbid {
                return Err(refuse(
                    name,
                    format!("policy {id:?} permits: an overlay may only forbid"),
                ));
            }
            if !id.starts_with(&format!("{name}:")) {
                return Err(refuse(
                    name,
                    format!("policy @id {id:?} must begin with \"{name}:\""),
                ));
            }
        }
        let mut composed: serde_json::Value =
            serde_json::from_str(entities).map_err(|e| PolicyLoadError::Entities(e.to_string()))?;
        for (store, days) in &overlay.entities.retention_days {
            let entity = composed.as_array_mut().and_then(|all| {
                all.iter_mut().find(|e| {
                    e["uid"]["type"] == "Tailor::Store" && e["uid"]["id"] == store.as_str()
                })
            });
            let Some(entity) = entity else {
                return Err(refuse(
                    name,
                    format!("retention for {store:?}, a store the base does not name"),
                ));
            };
            let base_days = entity["attrs"]["retention_days"].as_i64().unwrap_or(0);
            if *days < 1 || *days > base_days {
                return Err(refuse(
                    name,
                    format!(
                        "retention of {store} {days} days: at least 1, at most the base's {base_days}"
                    ),
                ));
            }
            entity["attrs"]["retention_days"] = serde_json::json!(days);
        }
        Self::load(
            schema,
            &format!("{policies}\n{}", overlay.policies),
            &composed.to_string(),
        )
    }

    /// The shipped bundle composed with the shipped overlay `name`.
    ///
    /// # Errors
    /// [`PolicyLoadError::Overlay`] for an unknown name or an invalid overlay.
    pub fn shipped_with(name: &str) -> Result<Self, PolicyLoadError> {
        let Some((_, policies, entities)) = shipped::OVERLAYS.iter().find(|(n, _, _)| *n == name)
        else {
            let known: Vec<&str> = shipped::OVERLAYS.iter().map(|(n, _, _)| *n).collect();
            return Err(refuse(
                name,
                format!("no such overlay (there are: {})", known.join(", ")),
            ));
        };
        Self::compose(
            super::shipped::SCHEMA,
            super::shipped::POLICIES,
            super::shipped::ENTITIES,
            &Overlay::parse(name, policies, entities)?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Purpose;

    fn compose(overlay: &Overlay) -> Result<Policy, PolicyLoadError> {
        Policy::compose(
            super::super::shipped::SCHEMA,
            super::super::shipped::POLICIES,
            super::super::shipped::ENTITIES,
            overlay,
        )
    }

    fn overlay(policies: &str, entities: &str) -> Overlay {
        Overlay::parse("test", policies, entities).unwrap()
    }

    #[test]
    fn every_shipped_overlay_composes() {
        for (name, _, _) in shipped::OVERLAYS {
            Policy::shipped_with(name).unwrap();
        }
        assert!(Policy::shipped_with("nowhere").is_err());
    }

    #[test]
    fn an_overlay_that_permits_is_rejected() {
        let widen = overlay(
            "@id(\"test:links-everywhere\")\npermit (principal, action == Tailor::Action::\"link_probabilistic\", resource);",
            "{}",
        );
        let err = compose(&widen).unwrap_err().to_string();
        assert!(err.contains("may only forbid"), "{err}");
    }

    #[test]
    fn an_overlay_policy_names_its_layer() {
        let unnamed = overlay(
            "@id(\"no-links\")\nforbid (principal, action == Tailor::Action::\"link_probabilistic\", resource);",
            "{}",
        );
        let err = compose(&unnamed).unwrap_err().to_string();
        assert!(err.contains("must begin with \"test:\""), "{err}");
    }

    #[test]
    fn an_overlay_may_shorten_retention_never_lengthen_it() {
        let shorter = compose(&overlay("", r#"{"retention_days": {"dead_letters": 7}}"#)).unwrap();
        assert_eq!(
            shorter.retention_ms("dead_letters"),
            7 * crate::Timestamp::DAY
        );
        let longer = compose(&overlay("", r#"{"retention_days": {"dead_letters": 70}}"#));
        assert!(
            longer
                .unwrap_err()
                .to_string()
                .contains("at most the base's 14")
        );
        let unknown = compose(&overlay("", r#"{"retention_days": {"elsewhere": 1}}"#));
        assert!(unknown.is_err());
        let other = Overlay::parse("test", "", r#"{"destinations": {}}"#);
        assert!(other.is_err(), "only what an overlay may change parses");
    }

    #[test]
    fn a_decision_names_the_layer_and_the_policy_that_decided_it() {
        let local = compose(&overlay(
            "@id(\"test:no-marketing-decisions-in-the-eu\")\nforbid (principal, action == Tailor::Action::\"decide\", resource == Tailor::Purpose::\"marketing\") when { context.region == \"eu\" };",
            "{}",
        ))
        .unwrap();
        let all = Purpose::ALL;
        let eu = local.decide(Purpose::Marketing, &all, &[], "eu", true);
        assert!(!eu.allowed);
        assert_eq!(
            eu.policies,
            vec!["test:no-marketing-decisions-in-the-eu".to_owned()]
        );
        let us = local.decide(Purpose::Marketing, &all, &[], "us", true);
        assert!(us.allowed, "the base still decides elsewhere: {us:?}");
        assert!(us.policies.iter().all(|p| !p.contains(':')));
    }
}
