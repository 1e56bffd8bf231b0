//! Policy as code, evaluated by the Cedar policy engine.
//!
//! Three files under `shared/policy` make up a policy bundle: the Cedar schema
//! (`tailor.cedarschema`), the policies (`policies.cedar`) and the entities
//! with their attributes (`entities.json`: regions and their destinations,
//! event types and their purposes and allowed lateness, personal fields and
//! their categories, stores and their retention). [`Policy::load`] parses all
//! three and validates the policies and entities against the schema, so a
//! bundle that loads is internally consistent.
//!
//! Every check returns a [`PolicyDecision`] naming the policies that decided
//! it. Evaluation errors deny: the engine fails closed.

mod bundle;
mod checks;
pub mod overlay;

use serde::{Deserialize, Serialize};

pub use bundle::PolicyLoadError;
pub use checks::{FieldPlan, FieldTreatment, MAX_REFERENCES, PERSONAL_FIELDS};
pub use overlay::Overlay;

use bundle::Bundle;

/// The policy bundle shipped with Tailor, embedded at build time.
///
/// The schema and policies are written in Cedar's syntax; beside each is
/// the same in Cedar's JSON format, which is what a process loads at start
/// (it parses in half the time). A test keeps each JSON form equal to its
/// source and rewrites it when asked (`TAILOR_BLESS_POLICY=1 cargo test -p
/// tailor-core json_forms`), so only the text is ever edited by hand.
pub mod shipped {
    /// The Cedar schema.
    pub const SCHEMA: &str = include_str!("../../../policy/tailor.cedarschema");
    /// The policies.
    pub const POLICIES: &str = include_str!("../../../policy/policies.cedar");
    /// The entities.
    pub const ENTITIES: &str = include_str!("../../../policy/entities.json");
    /// [`SCHEMA`] in Cedar's JSON schema format.
    pub const SCHEMA_JSON: &str = include_str!("../../../policy/tailor.cedarschema.json");
    /// [`POLICIES`] in Cedar's JSON policy format.
    pub const POLICIES_JSON: &str = include_str!("../../../policy/policies.cedar.json");
}

/// Where a deployment may keep data: the destinations it holds. An event
/// or a decision whose region's approved destination is another is never
/// stored or processed here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Residency(Option<std::collections::BTreeSet<String>>);

impl Residency {
    /// Every destination: a deployment that holds every region (the local
    /// platform, by default).
    #[must_use]
    pub const fn everywhere() -> Self {
        Self(None)
    }

    /// Only `destinations`.
    #[must_use]
    pub fn only<I: IntoIterator<Item = String>>(destinations: I) -> Self {
        Self(Some(destinations.into_iter().collect()))
    }

    /// Whether data approved for `destination` may be held here.
    #[must_use]
    pub fn holds(&self, destination: &str) -> bool {
        self.0.as_ref().is_none_or(|d| d.contains(destination))
    }

    /// The destinations held, `None` for every one.
    #[must_use]
    pub const fn destinations(&self) -> Option<&std::collections::BTreeSet<String>> {
        self.0.as_ref()
    }

    /// Per region of `policy`, whether this deployment may process its data:
    /// its approved destination (the `route` check) is one held here.
    /// Computed once; a region the bundle does not name is refused.
    #[must_use]
    pub fn checks(&self, policy: &Policy) -> RegionChecks {
        let checks = policy
            .regions()
            .into_iter()
            .map(|region| {
                let decision = match policy.destination(&region) {
                    Ok((destination, decision)) if self.holds(&destination) => decision,
                    Ok((destination, _)) => PolicyDecision::denied(
                        "route",
                        format!("Region::\"{region}\""),
                        format!("approved for {destination}, which this deployment does not hold"),
                    ),
                    Err(decision) => decision,
                };
                (region, decision)
            })
            .collect();
        RegionChecks(checks)
    }
}

/// Whether each region's data may be processed here ([`Residency::checks`]).
#[derive(Debug, Clone, Default)]
pub struct RegionChecks(std::collections::BTreeMap<String, PolicyDecision>);

impl RegionChecks {
    /// The check for `region`: allowed only for a held region.
    #[must_use]
    pub fn check(&self, region: &str) -> PolicyDecision {
        self.0.get(region).cloned().unwrap_or_else(|| {
            PolicyDecision::denied("route", format!("Region::\"{region}\""), "unknown region")
        })
    }
}

/// The outcome of one policy check, as recorded in audit and decision records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDecision {
    /// The action checked, such as `collect`.
    pub action: String,
    /// The resource it was checked on, such as `EventType::"login"`.
    pub resource: String,
    /// Whether it was allowed.
    pub allowed: bool,
    /// The `@id`s of the policies that determined the result (empty when
    /// nothing permitted it and it was denied by default).
    pub policies: Vec<String>,
    /// Evaluation errors; any error denies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl PolicyDecision {
    /// A denial that never reached the engine, such as for an unknown entity.
    pub(crate) fn denied(action: &str, resource: String, why: impl Into<String>) -> Self {
        Self {
            action: action.to_owned(),
            resource,
            allowed: false,
            policies: Vec::new(),
            errors: vec![why.into()],
        }
    }
}

/// A loaded, validated policy bundle. Cheap to share; evaluation is pure.
pub struct Policy {
    bundle: Bundle,
    /// [`Policy::build_features`]'s answers, each kept once asked.
    features: checks::FeatureAnswers,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("policies", &self.bundle.policy_ids())
            .finish()
    }
}

impl Policy {
    /// Loads and validates a bundle from its three sources.
    ///
    /// # Errors
    /// [`PolicyLoadError`] when any file does not parse, or the policies or
    /// entities do not validate against the schema.
    pub fn load(schema: &str, policies: &str, entities: &str) -> Result<Self, PolicyLoadError> {
        Ok(Self {
            bundle: Bundle::load(schema, policies, entities)?,
            features: checks::FeatureAnswers::default(),
        })
    }

    /// The bundle shipped with Tailor, from its JSON forms; its policies are
    /// validated against its schema by the tests, not at every start.
    ///
    /// # Errors
    /// [`PolicyLoadError`] if the shipped bundle is inconsistent (a test keeps it from being).
    pub fn shipped() -> Result<Self, PolicyLoadError> {
        Ok(Self {
            bundle: Bundle::load_shipped(
                shipped::SCHEMA_JSON,
                shipped::POLICIES_JSON,
                shipped::ENTITIES,
            )?,
            features: checks::FeatureAnswers::default(),
        })
    }

    /// Every region the bundle names.
    #[must_use]
    pub fn regions(&self) -> Vec<String> {
        self.bundle.ids_of("Region")
    }

    /// Every destination the bundle names, sorted.
    #[must_use]
    pub fn destinations(&self) -> Vec<String> {
        self.bundle.ids_of("Destination")
    }

    /// The `@id`s of all loaded policies.
    #[must_use]
    pub fn policy_ids(&self) -> Vec<String> {
        self.bundle.policy_ids()
    }
}
