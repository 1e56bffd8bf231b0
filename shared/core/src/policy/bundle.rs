//! Parsing and validating a policy bundle, and running one authorization.

use std::collections::BTreeMap;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, Schema, ValidationMode, Validator,
};

use super::PolicyDecision;

/// Why a policy bundle could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyLoadError {
    /// The Cedar schema does not parse.
    #[error("policy schema: {0}")]
    Schema(String),
    /// The policies do not parse.
    #[error("policies: {0}")]
    Policies(String),
    /// A policy has no `@id` annotation, or two share one.
    #[error("policy {0}: every policy needs a unique @id annotation")]
    PolicyId(String),
    /// The policies do not validate against the schema.
    #[error("policies do not validate against the schema: {0}")]
    Validation(String),
    /// The entities do not parse or do not conform to the schema.
    #[error("entities: {0}")]
    Entities(String),
    /// An overlay would widen the base, or is not well-formed.
    #[error("policy overlay {0}")]
    Overlay(String),
}

pub(super) struct Bundle {
    schema: Schema,
    policies: PolicySet,
    entities: Entities,
    /// Engine-assigned id → the policy's `@id` annotation.
    names: BTreeMap<PolicyId, String>,
    authorizer: Authorizer,
}

impl Bundle {
    /// A bundle from its text sources: the Cedar schema and policies in
    /// Cedar's own syntax.
    pub(super) fn load(
        schema: &str,
        policies: &str,
        entities: &str,
    ) -> Result<Self, PolicyLoadError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(schema)
            .map_err(|e| PolicyLoadError::Schema(e.to_string()))?;
        let policies =
            PolicySet::from_str(policies).map_err(|e| PolicyLoadError::Policies(e.to_string()))?;
        Self::assemble(schema, policies, entities)
    }

    /// A bundle from the schema and policies in Cedar's JSON formats,
    /// validated: the tests' check of the forms [`Self::load_shipped`]
    /// reads at every start.
    #[cfg(test)]
    pub(super) fn load_json(
        schema: &str,
        policies: &str,
        entities: &str,
    ) -> Result<Self, PolicyLoadError> {
        let (schema, policies) = Self::parse_json(schema, policies)?;
        Self::assemble(schema, policies, entities)
    }

    /// The shipped bundle from its JSON forms, which parse in about half
    /// the time of the text (no grammar to run), without validating its
    /// policies against its schema: they are compiled into the binary, and
    /// the tests validate exactly these bytes
    /// (`the_shipped_json_forms_validate`), so a start need not do it again
    /// (about 0.4 ms of every cold start). The `@id`s and the entities are
    /// still checked, which the bundle's lookups rely on.
    pub(super) fn load_shipped(
        schema: &str,
        policies: &str,
        entities: &str,
    ) -> Result<Self, PolicyLoadError> {
        let (schema, policies) = Self::parse_json(schema, policies)?;
        Self::build(schema, policies, entities)
    }

    fn parse_json(schema: &str, policies: &str) -> Result<(Schema, PolicySet), PolicyLoadError> {
        let schema =
            Schema::from_json_str(schema).map_err(|e| PolicyLoadError::Schema(e.to_string()))?;
        let policies = PolicySet::from_json_str(policies)
            .map_err(|e| PolicyLoadError::Policies(e.to_string()))?;
        Ok((schema, policies))
    }

    /// Checks the `@id`s, validates the policies and entities against the
    /// schema: whatever form the sources came in, a bundle that loads is
    /// internally consistent.
    fn assemble(
        schema: Schema,
        policies: PolicySet,
        entities: &str,
    ) -> Result<Self, PolicyLoadError> {
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors: Vec<String> = result
                .validation_errors()
                .map(ToString::to_string)
                .collect();
            return Err(PolicyLoadError::Validation(errors.join("; ")));
        }
        Self::build(schema, policies, entities)
    }

    /// The bundle from parsed policies: their `@id`s checked, the entities
    /// parsed against the schema.
    fn build(schema: Schema, policies: PolicySet, entities: &str) -> Result<Self, PolicyLoadError> {
        let mut names = BTreeMap::new();
        for policy in policies.policies() {
            let name = policy
                .annotation("id")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| PolicyLoadError::PolicyId(policy.id().to_string()))?;
            if names.values().any(|n: &String| n == name) {
                return Err(PolicyLoadError::PolicyId(name.to_owned()));
            }
            names.insert(policy.id().clone(), name.to_owned());
        }
        let entities = Entities::from_json_str(entities, Some(&schema))
            .map_err(|e| PolicyLoadError::Entities(e.to_string()))?;
        Ok(Self {
            schema,
            policies,
            entities,
            names,
            authorizer: Authorizer::new(),
        })
    }

    pub(super) fn policy_ids(&self) -> Vec<String> {
        self.names.values().cloned().collect()
    }

    pub(super) fn uid(kind: &str, id: &str) -> Option<EntityUid> {
        let name = EntityTypeName::from_str(&format!("Tailor::{kind}")).ok()?;
        Some(EntityUid::from_type_name_and_id(name, EntityId::new(id)))
    }

    /// The ids of every entity of `kind`, sorted.
    pub(super) fn ids_of(&self, kind: &str) -> Vec<String> {
        let wanted = format!("Tailor::{kind}");
        let mut ids: Vec<String> = self
            .entities
            .iter()
            .map(cedar_policy::Entity::uid)
            .filter(|uid| uid.type_name().to_string() == wanted)
            .map(|uid| uid.id().unescaped().to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// Whether an entity exists in the bundle.
    pub(super) fn has(&self, uid: &EntityUid) -> bool {
        self.entities.get(uid).is_some()
    }

    /// A string attribute of an entity.
    pub(super) fn attr_str(&self, uid: &EntityUid, attr: &str) -> Option<String> {
        let entity = self.entities.get(uid)?;
        match entity.attr(attr)?.ok()? {
            cedar_policy::EvalResult::String(s) => Some(s),
            _ => None,
        }
    }

    /// A whole-number attribute of an entity.
    pub(super) fn attr_long(&self, uid: &EntityUid, attr: &str) -> Option<i64> {
        let entity = self.entities.get(uid)?;
        match entity.attr(attr)?.ok()? {
            cedar_policy::EvalResult::Long(n) => Some(n),
            _ => None,
        }
    }

    /// Runs one authorization. Any failure to build the request, and any
    /// evaluation error, denies.
    pub(super) fn decide(
        &self,
        principal: (&str, &str),
        action: &str,
        resource: (&str, &str),
        context: serde_json::Value,
    ) -> PolicyDecision {
        let resource_label = format!("{}::\"{}\"", resource.0, resource.1);
        let (Some(p), Some(a), Some(r)) = (
            Self::uid(principal.0, principal.1),
            Self::uid("Action", action),
            Self::uid(resource.0, resource.1),
        ) else {
            return PolicyDecision::denied(action, resource_label, "malformed entity reference");
        };
        if !self.has(&r) {
            return PolicyDecision::denied(action, resource_label, "unknown resource");
        }
        let context = match Context::from_json_value(context, Some((&self.schema, &a))) {
            Ok(c) => c,
            Err(e) => return PolicyDecision::denied(action, resource_label, e.to_string()),
        };
        let request = match Request::new(p, a, r, context, Some(&self.schema)) {
            Ok(r) => r,
            Err(e) => return PolicyDecision::denied(action, resource_label, e.to_string()),
        };
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &self.entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        let policies = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        PolicyDecision {
            action: action.to_owned(),
            resource: resource_label,
            allowed: response.decision() == Decision::Allow && errors.is_empty(),
            policies,
            errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::str::FromStr;

    use cedar_policy::{PolicySet, SchemaFragment};

    use super::super::{Policy, shipped};

    /// Compares a stored JSON form with the one derived from its text
    /// source; with `TAILOR_BLESS_POLICY` set, rewrites a stale one.
    fn check(file: &str, stored: &str, derived: &serde_json::Value) {
        let stored: serde_json::Value = serde_json::from_str(stored).unwrap();
        if &stored == derived {
            return;
        }
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../policy")
            .join(file);
        if std::env::var_os("TAILOR_BLESS_POLICY").is_some() {
            let mut text = serde_json::to_string_pretty(derived).unwrap();
            text.push('\n');
            std::fs::write(&path, text).unwrap();
            return;
        }
        panic!(
            "{} is not its text source's JSON form; rewrite it with\n    \
             TAILOR_BLESS_POLICY=1 cargo test -p tailor-core json_forms",
            path.display()
        );
    }

    #[test]
    fn the_json_forms_are_the_text_sources() {
        let (schema, _) = SchemaFragment::from_cedarschema_str(shipped::SCHEMA).unwrap();
        check(
            "tailor.cedarschema.json",
            shipped::SCHEMA_JSON,
            &schema.to_json_value().unwrap(),
        );
        let policies = PolicySet::from_str(shipped::POLICIES).unwrap();
        check(
            "policies.cedar.json",
            shipped::POLICIES_JSON,
            &policies.to_json().unwrap(),
        );
    }

    /// What lets a start skip validation ([`super::Bundle::load_shipped`]):
    /// the JSON forms compiled in validate against their schema.
    #[test]
    fn the_shipped_json_forms_validate() {
        super::Bundle::load_json(
            shipped::SCHEMA_JSON,
            shipped::POLICIES_JSON,
            shipped::ENTITIES,
        )
        .unwrap();
        // What a start no longer checks: a policy the schema does not admit
        // is refused by validation, and loaded by the shipped path.
        let mut text = shipped::POLICIES.to_owned();
        text.push_str(
            "\n@id(\"nonsense\")\npermit(principal, action, resource) \
             when { principal.no_such_attribute };\n",
        );
        let bad = PolicySet::from_str(&text)
            .unwrap()
            .to_json()
            .unwrap()
            .to_string();
        assert!(matches!(
            super::Bundle::load_json(shipped::SCHEMA_JSON, &bad, shipped::ENTITIES),
            Err(super::super::PolicyLoadError::Validation(_))
        ));
        assert!(super::Bundle::load_shipped(shipped::SCHEMA_JSON, &bad, shipped::ENTITIES).is_ok());
    }

    #[test]
    fn the_shipped_bundle_loads_the_same_from_either_form() {
        let text = Policy::load(shipped::SCHEMA, shipped::POLICIES, shipped::ENTITIES).unwrap();
        let json = Policy::shipped().unwrap();
        assert_eq!(text.policy_ids(), json.policy_ids());
        assert!(json.policy_ids().len() > 5, "{:?}", json.policy_ids());
        assert_eq!(text.regions(), json.regions());
    }
}
