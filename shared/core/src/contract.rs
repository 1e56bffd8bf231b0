//! The published JSON Schemas, compiled once per process.
//!
//! The schema files under `events/schemas` are the contract producers code
//! against. They are embedded at build time, so every platform validates
//! against exactly the files in the repository.

use std::sync::OnceLock;

use jsonschema::{Registry, Validator};
use serde_json::Value;

use crate::decode::{self, DecodeError, Limits};
use crate::event::{ContractError, ValidEvent};

const BASE: &str = "https://schemas.tailor.dev/events/v1/";

/// Every schema file, by name.
pub const SCHEMAS: [(&str, &str); 12] = [
    (
        "envelope",
        include_str!("../../../events/schemas/envelope.json"),
    ),
    ("defs", include_str!("../../../events/schemas/defs.json")),
    (
        "signup",
        include_str!("../../../events/schemas/signup.json"),
    ),
    ("login", include_str!("../../../events/schemas/login.json")),
    (
        "add_to_cart",
        include_str!("../../../events/schemas/add_to_cart.json"),
    ),
    (
        "search",
        include_str!("../../../events/schemas/search.json"),
    ),
    (
        "subscription_change",
        include_str!("../../../events/schemas/subscription_change.json"),
    ),
    (
        "content_view",
        include_str!("../../../events/schemas/content_view.json"),
    ),
    (
        "support_escalation",
        include_str!("../../../events/schemas/support_escalation.json"),
    ),
    (
        "checkout",
        include_str!("../../../events/schemas/checkout.json"),
    ),
    (
        "consent_change",
        include_str!("../../../events/schemas/consent_change.json"),
    ),
    (
        "outcome",
        include_str!("../../../events/schemas/outcome.json"),
    ),
];

/// Why a record was rejected by the contract check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The bytes are not a JSON document within limits.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The document breaks the schema: every violation, in order.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Contract(Vec<ContractError>),
}

/// The compiled envelope schema with every per-type schema registered.
pub struct Contract {
    validator: Validator,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Contract")
    }
}

/// Why the embedded schemas could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("event schema {name}: {message}")]
pub struct SchemaLoadError {
    name: String,
    message: String,
}

impl Contract {
    /// Compiles the embedded schemas.
    ///
    /// # Errors
    /// [`SchemaLoadError`] if a schema is not valid JSON or not a valid schema.
    pub fn compile() -> Result<Self, SchemaLoadError> {
        let err = |name: &str, e: &dyn std::fmt::Display| SchemaLoadError {
            name: name.to_owned(),
            message: e.to_string(),
        };
        let mut documents = Vec::with_capacity(SCHEMAS.len());
        for (name, text) in SCHEMAS {
            let value: Value = serde_json::from_str(text).map_err(|e| err(name, &e))?;
            documents.push((format!("{BASE}{name}.json"), value));
        }
        let envelope = documents[0].1.clone();
        let registry = Registry::new()
            .extend(documents)
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|e| err("registry", &e))?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .with_registry(&registry)
            .build(&envelope)
            .map_err(|e| err("envelope", &e))?;
        Ok(Self { validator })
    }

    /// The process-wide contract, compiled on first use.
    ///
    /// # Errors
    /// [`SchemaLoadError`] if the embedded schemas do not compile (a test
    /// keeps them from shipping that way).
    pub fn global() -> Result<&'static Self, &'static SchemaLoadError> {
        static CONTRACT: OnceLock<Result<Contract, SchemaLoadError>> = OnceLock::new();
        CONTRACT.get_or_init(Self::compile).as_ref()
    }

    /// Every schema violation of `document`, empty when it conforms.
    #[must_use]
    pub fn violations(&self, document: &Value) -> Vec<ContractError> {
        self.validator
            .iter_errors(document)
            .map(|e| ContractError {
                pointer: e.instance_path().to_string(),
                rule: format!("{} ({})", e, e.kind().keyword()),
            })
            .collect()
    }

    /// Decodes and checks a record against the schema, then types it.
    ///
    /// # Errors
    /// [`Rejection`] with the decode failure or every schema violation.
    pub fn parse(&self, bytes: &[u8], limits: Limits) -> Result<ValidEvent, Rejection> {
        let document = decode::decode(bytes, limits)?;
        let violations = self.violations(&document);
        if !violations.is_empty() {
            return Err(Rejection::Contract(violations));
        }
        ValidEvent::parse(document).map_err(|e| Rejection::Contract(vec![e]))
    }
}
