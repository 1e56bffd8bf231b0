//! Tests of the example (`terraform/examples/aws`): one deployment of the
//! module per residency destination, each in an AWS region of its own.

use std::collections::{BTreeMap, BTreeSet};

use hcl::eval::{Context, Evaluate};
use hcl::{Block, Body, Expression, Map, Value};

use crate::builtins::declare_functions;
use crate::load::{attr, labels, load_example, repo_root, strings};

/// Where each destination of the policy may be kept: the prefix of the AWS
/// regions in that jurisdiction.
const AWS_REGIONS: [(&str, &str); 3] = [
    ("eu-central", "eu-"),
    ("us-east", "us-"),
    ("ap-southeast", "ap-"),
];

/// The destinations the example deploys, one deployment each.
const DEPLOYED: [&str; 2] = ["eu-central", "us-east"];

/// The destination ids of the policy bundle.
fn policy_destinations() -> BTreeSet<String> {
    let path = repo_root().join("shared/policy/entities.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let entities: serde_json::Value = serde_json::from_str(&text).unwrap();
    entities
        .as_array()
        .expect("entities.json is a list")
        .iter()
        .filter(|e| e["uid"]["type"] == "Tailor::Destination")
        .map(|e| e["uid"]["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// The example's variables at their defaults; one without a default stands
/// for itself (`var.NAME`).
fn context(blocks: &[Block]) -> Context<'static> {
    let mut vars = Map::new();
    for variable in blocks.iter().filter(|b| b.identifier() == "variable") {
        let name = labels(variable)[0];
        let value = match attr(variable.body(), "default") {
            Some(expr) => expr.evaluate(&Context::new()).unwrap(),
            None => Value::from(format!("var.{name}")),
        };
        vars.insert(name.to_owned(), value);
    }
    let mut ctx = Context::new();
    ctx.declare_var("var", Value::Object(vars));
    declare_functions(&mut ctx);
    ctx
}

fn string(body: &Body, key: &str, ctx: &Context<'_>, what: &str) -> String {
    let expr = attr(body, key).unwrap_or_else(|| panic!("{what}: {key} is not set"));
    match expr.evaluate(ctx) {
        Ok(Value::String(s)) => s,
        other => panic!("{what}: {key} is {other:?}, not a string"),
    }
}

struct Deployment {
    call: String,
    name: String,
    provider: String,
    region: String,
    destinations: Vec<String>,
}

#[test]
fn the_example_deploys_each_destination_once_in_its_own_region() {
    let blocks = load_example();
    let ctx = context(&blocks);

    let known = policy_destinations();
    assert_eq!(
        known,
        AWS_REGIONS
            .iter()
            .map(|(d, _)| (*d).to_owned())
            .collect::<BTreeSet<_>>(),
        "every destination of the policy needs the AWS regions where its data may be kept"
    );
    let where_kept: BTreeMap<&str, &str> = AWS_REGIONS.into_iter().collect();

    // Provider configurations by address (`aws.eu`), with their region.
    let mut providers = BTreeMap::new();
    for provider in blocks.iter().filter(|b| b.identifier() == "provider") {
        assert_eq!(labels(provider), ["aws"], "only AWS providers");
        let address = match attr(provider.body(), "alias") {
            Some(Expression::String(alias)) => format!("aws.{alias}"),
            None => "aws".to_owned(),
            other => panic!("provider alias {other:?}"),
        };
        let region = string(provider.body(), "region", &ctx, &address);
        assert!(
            providers.insert(address.clone(), region).is_none(),
            "{address} is configured twice"
        );
    }

    let mut deployments = Vec::new();
    for module in blocks.iter().filter(|b| b.identifier() == "module") {
        let call = labels(module)[0].to_owned();
        let body = module.body();
        assert!(
            matches!(attr(body, "source"), Some(Expression::String(s)) if s == "../../modules/aws"),
            "module {call}: the AWS module"
        );
        assert!(
            attr(body, "count").is_none() && attr(body, "for_each").is_none(),
            "module {call}: one instance"
        );
        // Each deployment is given its regional provider explicitly, never
        // the default one by omission.
        let provider = match attr(body, "providers") {
            Some(Expression::Object(map)) => {
                let passed: Vec<(String, String)> = map
                    .iter()
                    .map(|(k, v)| (k.to_string(), hcl::format::to_string(v).unwrap()))
                    .collect();
                assert_eq!(passed.len(), 1, "module {call}: providers {passed:?}");
                assert_eq!(passed[0].0, "aws", "module {call}: providers {passed:?}");
                passed[0].1.clone()
            }
            other => panic!("module {call}: providers is {other:?}, not its regional aws"),
        };
        let region = providers
            .get(&provider)
            .unwrap_or_else(|| panic!("module {call}: no provider {provider}"))
            .clone();
        let name = string(body, "name", &ctx, &format!("module {call}"));
        let destinations = match attr(body, "destinations") {
            Some(expr) => strings(
                Some(expr.evaluate(&ctx).unwrap()),
                &format!("module {call}: destinations"),
            ),
            None => panic!("module {call}: destinations is not set"),
        };
        deployments.push(Deployment {
            call,
            name,
            provider,
            region,
            destinations,
        });
    }

    assert_eq!(deployments.len(), 2, "two deployments of the module");
    let distinct = |what: &str, values: Vec<&String>| {
        let set: BTreeSet<&String> = values.iter().copied().collect();
        assert_eq!(
            set.len(),
            values.len(),
            "deployments share a {what}: {values:?}"
        );
    };
    // Roles are global to the account: each deployment needs its own name.
    distinct("name", deployments.iter().map(|d| &d.name).collect());
    distinct(
        "provider",
        deployments.iter().map(|d| &d.provider).collect(),
    );
    distinct("region", deployments.iter().map(|d| &d.region).collect());
    // No destination is held twice, so no event is taken in by both.
    distinct(
        "destination",
        deployments.iter().flat_map(|d| &d.destinations).collect(),
    );

    let mut held = BTreeSet::new();
    for d in &deployments {
        assert!(
            !d.destinations.is_empty(),
            "module {}: holds no destination",
            d.call
        );
        for destination in &d.destinations {
            let prefix = where_kept
                .get(destination.as_str())
                .unwrap_or_else(|| panic!("module {}: no destination {destination:?}", d.call));
            assert!(
                d.region.starts_with(prefix),
                "module {}: {destination} is kept in {}, outside {prefix}*",
                d.call,
                d.region
            );
            held.insert(destination.as_str());
        }
    }
    assert_eq!(held, BTreeSet::from(DEPLOYED), "destinations deployed");
}

/// The overlay each deployment of the example composes over the central
/// policy bundle (`policy_overlay`); `None` for the central bundle alone.
const OVERLAYS: [(&str, Option<&str>); 2] = [("eu", Some("eu")), ("us", None)];

#[test]
fn the_eu_deployment_composes_the_eu_policy_overlay() {
    let blocks = load_example();
    let ctx = context(&blocks);

    let mut seen = BTreeMap::new();
    for module in blocks.iter().filter(|b| b.identifier() == "module") {
        let call = labels(module)[0].to_owned();
        let overlay = attr(module.body(), "policy_overlay").map(|_| {
            string(
                module.body(),
                "policy_overlay",
                &ctx,
                &format!("module {call}"),
            )
        });
        if let Some(name) = &overlay {
            // The functions compose a shipped overlay only: an unknown one
            // stops them at start-up.
            for ext in ["cedar", "json"] {
                let path = repo_root().join(format!("shared/policy/overlays/{name}.{ext}"));
                assert!(
                    path.is_file(),
                    "module {call}: policy_overlay {name:?}, but {} does not exist",
                    path.display()
                );
            }
        }
        seen.insert(call, overlay);
    }
    let expected: BTreeMap<String, Option<String>> = OVERLAYS
        .iter()
        .map(|(call, overlay)| ((*call).to_owned(), overlay.map(str::to_owned)))
        .collect();
    assert_eq!(seen, expected, "module -> policy_overlay");
    assert!(
        repo_root()
            .join("shared/policy/overlays/eu.cedar")
            .is_file(),
        "the eu overlay is shipped"
    );
}
