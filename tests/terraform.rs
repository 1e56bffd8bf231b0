//! The AWS deployment (`terraform/modules/aws`) against the contract the
//! functions rely on, read from the parsed HCL rather than from its text.
//!
//! The module is loaded with `hcl-rs` and evaluated the way Terraform would
//! plan it, as far as that is possible offline: variables take their
//! defaults, locals and `for_each` are evaluated, and every attribute of a
//! resource or data source that only exists after apply (an ARN, a name, a
//! JSON document) stands for itself as a placeholder string such as
//! `aws_kinesis_stream.this["events"].arn`. A placeholder leads back to the
//! resource instance it names, so a policy's resources, a mapping's stream
//! or a function's role can be followed to what they point at.
//!
//! The contract itself (which function reads which stream, which tables it
//! may read or write) is written out by hand below, not derived from HCL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use hcl::eval::{Context, Evaluate, FuncDef, ParamType};
use hcl::expr::TraversalOperator;
use hcl::{Block, Body, Expression, Map, Value};

// ---------------------------------------------------------------------------
// The contract, by hand
// ---------------------------------------------------------------------------

const FUNCTIONS: [&str; 5] = ["ingest", "enrich", "features", "consent", "score"];

const STREAMS: [&str; 4] = ["events", "ingested", "enriched", "consent-changes"];

const TABLES: [&str; 9] = [
    "dedup",
    "identity",
    "feature-inputs",
    "features",
    "consent",
    "audit",
    "dead-letters",
    "tombstones",
    "decisions",
];

const KINESIS_READ: [&str; 5] = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
];
const KINESIS_WRITE: [&str; 2] = ["kinesis:PutRecord", "kinesis:PutRecords"];
const DYNAMODB_READ: [&str; 3] = [
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
];
const DYNAMODB_WRITE: [&str; 4] = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
];
const LOGS_WRITE: [&str; 2] = ["logs:CreateLogStream", "logs:PutLogEvents"];
const KMS_USE: [&str; 2] = ["kms:Decrypt", "kms:GenerateDataKey"];
const XRAY_UPLOAD: [&str; 2] = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Read,
    Write,
    ReadWrite,
}
use Mode::{Read, ReadWrite, Write};

struct Access {
    function: &'static str,
    /// The stream whose records invoke the function.
    trigger: Option<&'static str>,
    /// Streams the function puts records on.
    writes: &'static [&'static str],
    tables: &'static [(&'static str, Mode)],
}

const CONTRACT: [Access; 5] = [
    Access {
        function: "ingest",
        trigger: Some("events"),
        writes: &["ingested"],
        tables: &[("dedup", ReadWrite), ("dead-letters", Write)],
    },
    Access {
        function: "enrich",
        trigger: Some("ingested"),
        writes: &["enriched", "consent-changes"],
        tables: &[
            ("identity", ReadWrite),
            ("audit", Write),
            ("tombstones", Read),
            ("consent", Read),
            ("dead-letters", Write),
        ],
    },
    Access {
        function: "features",
        trigger: Some("enriched"),
        writes: &[],
        tables: &[
            ("feature-inputs", ReadWrite),
            ("features", ReadWrite),
            ("identity", Read),
            ("consent", Read),
            ("tombstones", Read),
            ("dead-letters", Write),
        ],
    },
    Access {
        function: "consent",
        trigger: Some("consent-changes"),
        writes: &[],
        tables: &[
            ("consent", ReadWrite),
            ("audit", Write),
            ("feature-inputs", ReadWrite),
            ("features", ReadWrite),
            ("identity", ReadWrite),
            ("tombstones", ReadWrite),
            ("dead-letters", Write),
        ],
    },
    Access {
        function: "score",
        trigger: None,
        writes: &[],
        tables: &[
            ("identity", Read),
            ("features", Read),
            ("consent", Read),
            ("tombstones", Read),
            ("decisions", ReadWrite),
        ],
    },
];

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn table_actions(mode: Mode) -> BTreeSet<String> {
    match mode {
        Read => set(&DYNAMODB_READ),
        Write => set(&DYNAMODB_WRITE),
        ReadWrite => set(&DYNAMODB_READ)
            .union(&set(&DYNAMODB_WRITE))
            .cloned()
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Loading and evaluating the module
// ---------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn module_dir() -> PathBuf {
    repo_root().join("terraform/modules/aws")
}

/// Every top-level block of every `.tf` file in the module.
fn load_blocks(dir: &Path) -> Vec<Block> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "tf"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .tf files in {}", dir.display());
    let mut blocks = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let body: Body =
            hcl::parse(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", file.display()));
        assert!(
            body.attributes().next().is_none(),
            "{}: top-level attributes are not Terraform",
            file.display()
        );
        blocks.extend(body.into_blocks());
    }
    blocks
}

fn labels(block: &Block) -> Vec<&str> {
    block.labels().iter().map(hcl::BlockLabel::as_str).collect()
}

fn attr<'b>(body: &'b Body, key: &str) -> Option<&'b Expression> {
    body.attributes()
        .find(|a| a.key() == key)
        .map(hcl::Attribute::expr)
}

fn blocks<'b>(body: &'b Body, ident: &'b str) -> impl Iterator<Item = &'b Body> + 'b {
    body.blocks()
        .filter(move |b| b.identifier() == ident)
        .map(Block::body)
}

fn block<'b>(body: &'b Body, ident: &'b str) -> Option<&'b Body> {
    blocks(body, ident).next()
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Id {
    data: bool,
    ty: String,
    name: String,
    key: Option<String>,
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.data {
            f.write_str("data.")?;
        }
        write!(f, "{}.{}", self.ty, self.name)?;
        if let Some(key) = &self.key {
            write!(f, "[{key:?}]")?;
        }
        Ok(())
    }
}

/// Attributes that only exist after apply, stood in for by placeholders.
const COMPUTED: [&str; 13] = [
    "account_id",
    "arn",
    "function_name",
    "function_url",
    "id",
    "invoke_arn",
    "json",
    "key_id",
    "name",
    "partition",
    "qualified_arn",
    "region",
    "url",
];

struct Instance<'m> {
    id: Id,
    body: &'m Body,
    each_value: Option<Value>,
}

struct World<'m> {
    blocks: &'m [Block],
    vars: Map<String, Value>,
    locals: Map<String, Value>,
    instances: Vec<Instance<'m>>,
    placeholders: BTreeMap<String, (Id, String)>,
}

impl<'m> World<'m> {
    fn new(blocks: &'m [Block]) -> Self {
        let mut world = World {
            blocks,
            vars: Map::new(),
            locals: Map::new(),
            instances: Vec::new(),
            placeholders: BTreeMap::new(),
        };
        for variable in world.top("variable") {
            let name = labels(variable)[0];
            let value = match attr(variable.body(), "default") {
                Some(expr) => expr.evaluate(&Context::new()).unwrap(),
                None => Value::from(format!("var.{name}")),
            };
            world.vars.insert(name.to_owned(), value);
        }
        let mut locals: Vec<(&str, &Expression)> = world
            .top("locals")
            .flat_map(|b| b.body().attributes().map(|a| (a.key(), a.expr())))
            .collect();
        let mut pending: Vec<&Block> = world.top("resource").chain(world.top("data")).collect();
        let mut errors: BTreeMap<String, String> = BTreeMap::new();
        // Evaluate until nothing more can be: Terraform's graph is acyclic,
        // so whatever is left depends on something this harness lacks.
        loop {
            let before = locals.len() + pending.len();
            let ctx = world.context(None);
            let mut done = Vec::new();
            locals.retain(|(name, expr)| match expr.evaluate(&ctx) {
                Ok(value) => {
                    done.push(((*name).to_owned(), value));
                    false
                }
                Err(e) => {
                    errors.insert(format!("local.{name}"), e.to_string());
                    true
                }
            });
            world.locals.extend(done);
            let mut new = Vec::new();
            pending.retain(|b| match world.instantiate(b, &ctx) {
                Ok(instances) => {
                    new.extend(instances);
                    false
                }
                Err(e) => {
                    errors.insert(format!("{} {:?}", b.identifier(), labels(b)), e);
                    true
                }
            });
            for instance in new {
                world.add(instance);
            }
            if locals.len() + pending.len() == before {
                break;
            }
        }
        let stuck: Vec<String> = locals
            .iter()
            .map(|(n, _)| format!("local.{n}"))
            .chain(
                pending
                    .iter()
                    .map(|b| format!("{} {:?}", b.identifier(), labels(b))),
            )
            .map(|k| format!("{k}: {}", errors.get(&k).map_or("?", String::as_str)))
            .collect();
        assert!(
            stuck.is_empty(),
            "could not evaluate:\n{}",
            stuck.join("\n")
        );
        world
    }

    fn top(&self, ident: &'static str) -> impl Iterator<Item = &'m Block> + 'm {
        self.blocks.iter().filter(move |b| b.identifier() == ident)
    }

    fn instantiate(
        &self,
        block: &'m Block,
        ctx: &Context<'_>,
    ) -> Result<Vec<Instance<'m>>, String> {
        let l = labels(block);
        let (ty, name) = (l[0].to_owned(), l[1].to_owned());
        let data = block.identifier() == "data";
        let id = |key: Option<String>| Id {
            data,
            ty: ty.clone(),
            name: name.clone(),
            key,
        };
        let body = block.body();
        let Some(for_each) = attr(body, "for_each") else {
            return Ok(vec![Instance {
                id: id(None),
                body,
                each_value: None,
            }]);
        };
        let value = for_each.evaluate(ctx).map_err(|e| e.to_string())?;
        match value {
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(key) => Ok(Instance {
                        id: id(Some(key.clone())),
                        body,
                        each_value: Some(Value::String(key)),
                    }),
                    other => Err(format!("for_each element {other} is not a string")),
                })
                .collect(),
            Value::Object(map) => Ok(map
                .into_iter()
                .map(|(key, value)| Instance {
                    id: id(Some(key)),
                    body,
                    each_value: Some(value),
                })
                .collect()),
            other => Err(format!("for_each is neither a set nor a map: {other}")),
        }
    }

    fn add(&mut self, instance: Instance<'m>) {
        for attr in COMPUTED {
            self.placeholders.insert(
                format!("{}.{attr}", instance.id),
                (instance.id.clone(), attr.to_owned()),
            );
        }
        self.instances.push(instance);
    }

    fn attrs(id: &Id) -> Value {
        Value::Object(
            COMPUTED
                .iter()
                .map(|a| ((*a).to_owned(), Value::from(format!("{id}.{a}"))))
                .collect(),
        )
    }

    fn context(&self, each: Option<&Instance<'_>>) -> Context<'static> {
        let mut resources: Map<String, Value> = Map::new();
        let mut data: Map<String, Value> = Map::new();
        for instance in &self.instances {
            let root = if instance.id.data {
                &mut data
            } else {
                &mut resources
            };
            let by_name = object(root, &instance.id.ty);
            match &instance.id.key {
                None => {
                    by_name.insert(instance.id.name.clone(), Self::attrs(&instance.id));
                }
                Some(key) => {
                    object(by_name, &instance.id.name)
                        .insert(key.clone(), Self::attrs(&instance.id));
                }
            }
        }
        let mut ctx = Context::new();
        ctx.declare_var("var", Value::Object(self.vars.clone()));
        ctx.declare_var("local", Value::Object(self.locals.clone()));
        ctx.declare_var("data", Value::Object(data));
        for (ty, value) in resources {
            ctx.declare_var(ty, value);
        }
        if let Some(Instance {
            id: Id { key: Some(key), .. },
            each_value: Some(value),
            ..
        }) = each
        {
            let mut each = Map::new();
            each.insert("key".to_owned(), Value::from(key.clone()));
            each.insert("value".to_owned(), value.clone());
            ctx.declare_var("each", Value::Object(each));
        }
        declare_functions(&mut ctx);
        ctx
    }

    fn instances(&self, ty: &str) -> impl Iterator<Item = &Instance<'m>> {
        self.instances
            .iter()
            .filter(move |i| !i.id.data && i.id.ty == ty)
    }

    fn instance(&self, id: &Id) -> &Instance<'m> {
        self.instances
            .iter()
            .find(|i| &i.id == id)
            .unwrap_or_else(|| panic!("no instance {id}"))
    }

    /// Evaluates `key` of `body` (the instance's body or a block inside it)
    /// in the instance's context.
    fn eval_in(&self, instance: &Instance<'_>, body: &Body, key: &str) -> Option<Value> {
        attr(body, key).map(|expr| {
            expr.evaluate(&self.context(Some(instance)))
                .unwrap_or_else(|e| panic!("{}.{key}: {e}", instance.id))
        })
    }

    /// Evaluates the attribute at `path`: block identifiers, then the key.
    fn eval(&self, instance: &Instance<'_>, path: &[&str]) -> Option<Value> {
        let (key, blocks_path) = path.split_last().expect("a path");
        let mut body = instance.body;
        for ident in blocks_path {
            body = block(body, ident)?;
        }
        self.eval_in(instance, body, key)
    }

    fn string(&self, instance: &Instance<'_>, path: &[&str]) -> String {
        match self.eval(instance, path) {
            Some(Value::String(s)) => s,
            other => panic!(
                "{}.{}: expected a string, got {other:?}",
                instance.id,
                path.join(".")
            ),
        }
    }

    /// The instance and attribute a placeholder stands for.
    fn resolve(&self, placeholder: &str) -> Option<(&Instance<'m>, &str)> {
        self.placeholders
            .get(placeholder)
            .map(|(id, attr)| (self.instance(id), attr.as_str()))
    }

    /// The instance of type `ty` that `value` refers to (through `attr`).
    fn follow(&self, value: &str, ty: &str, attr: &str, what: &str) -> &Instance<'m> {
        match self.resolve(value) {
            Some((instance, a)) if instance.id.ty == ty && a == attr => instance,
            _ => panic!("{what}: expected a reference to a {ty}'s {attr}, got {value:?}"),
        }
    }

    /// Resource name without the deployment prefix: `tailor-events` is `events`.
    fn logical(&self, instance: &Instance<'_>, path: &[&str]) -> String {
        let full = self.string(instance, path);
        let prefix = format!("{}-", self.deployment_name());
        full.strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{}: name {full:?} lacks the prefix {prefix:?}", instance.id))
            .to_owned()
    }

    fn deployment_name(&self) -> &str {
        self.vars["name"].as_str().expect("var.name is a string")
    }

    /// Instances of `ty`, by the name they get without the deployment prefix.
    fn by_logical(&self, ty: &str, path: &[&str]) -> BTreeMap<String, &Instance<'m>> {
        let mut out = BTreeMap::new();
        for instance in self.instances(ty) {
            let name = self.logical(instance, path);
            assert!(
                out.insert(name.clone(), instance).is_none(),
                "two {ty} named {name:?}"
            );
        }
        out
    }

    fn functions(&self) -> BTreeMap<String, &Instance<'m>> {
        self.by_logical("aws_lambda_function", &["function_name"])
    }

    /// Which function an instance's `function_name` attribute points at.
    fn function_of(&self, instance: &Instance<'_>) -> String {
        let value = self.string(instance, &["function_name"]);
        let (target, _) = self
            .resolve(&value)
            .filter(|(i, a)| {
                i.id.ty == "aws_lambda_function" && matches!(*a, "arn" | "function_name")
            })
            .unwrap_or_else(|| {
                panic!("{}: function_name {value:?} is not a function", instance.id)
            });
        self.logical(target, &["function_name"])
    }

    fn kms_key(&self) -> &Instance<'m> {
        let keys: Vec<_> = self.instances("aws_kms_key").collect();
        assert_eq!(keys.len(), 1, "one KMS key for the deployment");
        keys[0]
    }

    fn is_kms_key(&self, value: &str) -> bool {
        self.resolve(value)
            .is_some_and(|(i, a)| i.id == self.kms_key().id && matches!(a, "arn" | "id" | "key_id"))
    }
}

fn object<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    match entry {
        Value::Object(inner) => inner,
        _ => unreachable!("always an object"),
    }
}

fn declare_functions(ctx: &mut Context<'_>) {
    ctx.declare_func(
        "toset",
        FuncDef::builder().param(ParamType::Any).build(|args| {
            let mut seen = Vec::new();
            for item in args[0].as_array().ok_or("toset takes a list")? {
                if !seen.contains(item) {
                    seen.push(item.clone());
                }
            }
            Ok(Value::Array(seen))
        }),
    );
    ctx.declare_func(
        "lookup",
        FuncDef::builder()
            .param(ParamType::Any)
            .param(ParamType::String)
            .param(ParamType::Any)
            .build(|args| {
                let map = args[0].as_object().ok_or("lookup takes a map")?;
                let key = args[1].as_str().unwrap_or_default();
                Ok(map.get(key).unwrap_or(&args[2]).clone())
            }),
    );
    ctx.declare_func(
        "merge",
        FuncDef::builder()
            .variadic_param(ParamType::Any)
            .build(|args| {
                let mut out = Map::new();
                for arg in args.iter() {
                    let map = arg.as_object().ok_or("merge takes maps")?;
                    out.extend(map.clone());
                }
                Ok(Value::Object(out))
            }),
    );
    ctx.declare_func(
        "tostring",
        FuncDef::builder().param(ParamType::Any).build(|args| {
            Ok(match &args[0] {
                Value::String(s) => Value::from(s.clone()),
                Value::Number(n) => Value::from(n.to_string()),
                Value::Bool(b) => Value::from(b.to_string()),
                other => return Err(format!("tostring of {other}")),
            })
        }),
    );
    ctx.declare_func(
        "upper",
        FuncDef::builder().param(ParamType::String).build(|args| {
            Ok(Value::from(
                args[0].as_str().unwrap_or_default().to_uppercase(),
            ))
        }),
    );
    ctx.declare_func(
        "floor",
        FuncDef::builder().param(ParamType::Number).build(|args| {
            let n = args[0].as_f64().ok_or("floor takes a number")?.floor();
            // Whole numbers come back as integers so `floor(x) == x` holds
            // for an integer x.
            #[allow(clippy::cast_possible_truncation, reason = "n is whole")]
            Ok(if n.abs() < 1e15 {
                Value::from(n as i64)
            } else {
                Value::from(n)
            })
        }),
    );
}

fn strings(value: Option<Value>, what: &str) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => panic!("{what}: {other} is not a string"),
            })
            .collect(),
        other => panic!("{what}: expected a list of strings, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Statement {
    actions: Vec<String>,
    resources: Vec<String>,
}

impl World<'_> {
    /// The statements of an `aws_iam_policy_document` referred to by its
    /// `json`, including those of the documents it merges.
    fn statements(&self, json: &str, what: &str) -> Vec<Statement> {
        let Some((doc, "json")) = self
            .resolve(json)
            .filter(|(i, _)| i.id.data && i.id.ty == "aws_iam_policy_document")
        else {
            panic!("{what}: expected an aws_iam_policy_document's json, got {json:?}")
        };
        let mut out = Vec::new();
        for key in ["source_policy_documents", "override_policy_documents"] {
            if let Some(value) = self.eval(doc, &[key]) {
                for source in strings(Some(value), &format!("{}.{key}", doc.id)) {
                    out.extend(self.statements(&source, what));
                }
            }
        }
        for statement in blocks(doc.body, "statement") {
            let at = format!("{} statement", doc.id);
            let effect = self.eval_in(doc, statement, "effect");
            assert!(
                effect.is_none() || effect == Some(Value::from("Allow")),
                "{at}: only Allow statements are expected, got {effect:?}"
            );
            for key in ["not_actions", "not_resources"] {
                assert!(attr(statement, key).is_none(), "{at}: {key} is not allowed");
            }
            assert!(
                block(statement, "principals").is_none(),
                "{at}: an identity policy names no principals"
            );
            out.push(Statement {
                actions: strings(self.eval_in(doc, statement, "actions"), &at),
                resources: strings(self.eval_in(doc, statement, "resources"), &at),
            });
        }
        out
    }
}

/// What one role's policies grant, by target.
#[derive(Debug, Default, PartialEq, Eq)]
struct Grants {
    streams: BTreeMap<String, BTreeSet<String>>,
    tables: BTreeMap<String, BTreeSet<String>>,
    queues: BTreeMap<Id, BTreeSet<String>>,
    log_streams: BTreeMap<Id, BTreeSet<String>>,
    kms: BTreeSet<String>,
    unscoped: BTreeSet<String>,
}

impl World<'_> {
    fn grants(&self, statements: &[Statement], function: &str) -> Grants {
        let mut grants = Grants::default();
        for statement in statements {
            let actions: BTreeSet<String> = statement.actions.iter().cloned().collect();
            for resource in &statement.resources {
                if resource == "*" {
                    grants.unscoped.extend(actions.iter().cloned());
                    continue;
                }
                let (base, log_streams) = match resource.strip_suffix(":*") {
                    Some(base) => (base, true),
                    None => (resource.as_str(), false),
                };
                let Some((target, "arn")) = self.resolve(base) else {
                    panic!(
                        "{function}: resource {resource:?} is not the ARN of a resource in the module"
                    )
                };
                let entry = match (target.id.ty.as_str(), log_streams) {
                    ("aws_cloudwatch_log_group", true) => {
                        grants.log_streams.entry(target.id.clone()).or_default()
                    }
                    ("aws_kinesis_stream", false) => grants
                        .streams
                        .entry(self.logical(target, &["name"]))
                        .or_default(),
                    ("aws_dynamodb_table", false) => grants
                        .tables
                        .entry(self.logical(target, &["name"]))
                        .or_default(),
                    ("aws_sqs_queue", false) => grants.queues.entry(target.id.clone()).or_default(),
                    ("aws_kms_key", false) => &mut grants.kms,
                    _ => panic!("{function}: unexpected grant on {resource:?}"),
                };
                entry.extend(actions.iter().cloned());
            }
        }
        grants
    }
}

// ---------------------------------------------------------------------------
// Variables that bound a setting
// ---------------------------------------------------------------------------

impl World<'_> {
    /// The variable an attribute is set from (`var.NAME`).
    fn variable_of(&self, instance: &Instance<'_>, key: &str) -> &Block {
        let expr =
            attr(instance.body, key).unwrap_or_else(|| panic!("{}: {key} is not set", instance.id));
        let name = match expr {
            Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
                (Expression::Variable(v), [TraversalOperator::GetAttr(name)])
                    if v.as_str() == "var" =>
                {
                    name.to_string()
                }
                _ => panic!("{}: {key} is not set from a variable", instance.id),
            },
            _ => panic!("{}: {key} is not set from a variable", instance.id),
        };
        self.top("variable")
            .find(|b| labels(b)[0] == name)
            .unwrap_or_else(|| panic!("no variable {name}"))
    }

    /// Whether every validation of `variable` accepts `value`.
    fn accepts(&self, variable: &Block, value: i64) -> bool {
        let name = labels(variable)[0];
        let mut vars = self.vars.clone();
        vars.insert(name.to_owned(), Value::from(value));
        let mut ctx = Context::new();
        ctx.declare_var("var", Value::Object(vars));
        declare_functions(&mut ctx);
        blocks(variable.body(), "validation").all(|validation| {
            let condition = attr(validation, "condition").expect("a validation has a condition");
            condition
                .evaluate(&ctx)
                .unwrap_or_else(|e| panic!("variable {name}: {e}"))
                == Value::Bool(true)
        })
    }

    /// The setting comes from a variable whose validation admits exactly
    /// `min..=max` (in particular not -1, "forever") and whose default lies
    /// in that range.
    fn assert_bounded(&self, instance: &Instance<'_>, key: &str, min: i64, max: i64) {
        let variable = self.variable_of(instance, key);
        let name = labels(variable)[0];
        let default = self.vars[name]
            .as_i64()
            .unwrap_or_else(|| panic!("variable {name} has no whole-number default"));
        assert!(
            (min..=max).contains(&default),
            "variable {name}: default {default} outside {min}..={max}"
        );
        for value in [min, max, default] {
            assert!(
                self.accepts(variable, value),
                "variable {name} rejects {value}"
            );
        }
        for value in [-1, min - 1, max + 1] {
            assert!(
                !self.accepts(variable, value),
                "variable {name} accepts {value}"
            );
        }
    }
}

fn load() -> Vec<Block> {
    load_blocks(&module_dir())
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn every_function_is_a_provided_al2023_arm64_lambda() {
    let module = load();
    let world = World::new(&module);
    let functions = world.functions();
    assert_eq!(
        functions.keys().cloned().collect::<BTreeSet<_>>(),
        set(&FUNCTIONS)
    );
    let log_groups: BTreeMap<String, &Instance<'_>> = world
        .instances("aws_cloudwatch_log_group")
        .map(|g| (world.string(g, &["name"]), g))
        .collect();
    for (name, f) in &functions {
        assert_eq!(world.string(f, &["runtime"]), "provided.al2023", "{name}");
        assert_eq!(world.string(f, &["handler"]), "bootstrap", "{name}");
        assert_eq!(
            strings(world.eval(f, &["architectures"]), name),
            ["arm64"],
            "{name}"
        );
        assert_eq!(
            world.string(f, &["tracing_config", "mode"]),
            "Active",
            "{name}"
        );
        assert_eq!(
            world.string(f, &["logging_config", "log_format"]),
            "JSON",
            "{name}"
        );
        assert!(
            world.is_kms_key(&world.string(f, &["kms_key_arn"])),
            "{name}: environment encrypted with the deployment key"
        );
        // Logs go to the function's own group, encrypted and bounded.
        let group_name = world.string(f, &["logging_config", "log_group"]);
        let group = world.follow(&group_name, "aws_cloudwatch_log_group", "name", name);
        let full_name = format!("{}-{name}", world.deployment_name());
        assert_eq!(
            log_groups
                .get(&format!("/aws/lambda/{full_name}"))
                .map(|g| &g.id),
            Some(&group.id),
            "{name}: log group /aws/lambda/{full_name}"
        );
        assert!(
            world.is_kms_key(&world.string(group, &["kms_key_id"])),
            "{name}: log group key"
        );
        assert!(
            world.eval(group, &["retention_in_days"]).is_some(),
            "{name}: log retention"
        );
    }
}

#[test]
fn stream_functions_consume_their_trigger_with_partial_batch_failures() {
    let module = load();
    let world = World::new(&module);
    let mut seen = BTreeMap::new();
    let mut queues = BTreeSet::new();
    for mapping in world.instances("aws_lambda_event_source_mapping") {
        let function = world.function_of(mapping);
        let source = world.string(mapping, &["event_source_arn"]);
        let stream = world.follow(&source, "aws_kinesis_stream", "arn", &function);
        let stream = world.logical(stream, &["name"]);
        assert!(
            seen.insert(function.clone(), stream).is_none(),
            "{function} has two event source mappings"
        );

        let at = format!("{} ({function})", mapping.id);
        assert_eq!(
            strings(world.eval(mapping, &["function_response_types"]), &at),
            ["ReportBatchItemFailures"],
            "{at}"
        );
        assert_eq!(
            world.eval(mapping, &["bisect_batch_on_function_error"]),
            Some(Value::Bool(true)),
            "{at}"
        );
        assert_eq!(
            world.string(mapping, &["starting_position"]),
            "TRIM_HORIZON",
            "{at}"
        );
        world.assert_bounded(mapping, "maximum_retry_attempts", 0, 10_000);
        world.assert_bounded(mapping, "maximum_record_age_in_seconds", 60, 604_800);

        let destination = world.string(
            mapping,
            &["destination_config", "on_failure", "destination_arn"],
        );
        let queue = world.follow(&destination, "aws_sqs_queue", "arn", &at);
        assert!(
            queues.insert(queue.id.clone()),
            "{at}: dead-letter queue shared"
        );
        assert!(
            world.is_kms_key(&world.string(queue, &["kms_master_key_id"])),
            "{at}: queue encrypted with the deployment key"
        );
        assert_eq!(
            world.eval(queue, &["message_retention_seconds"]),
            Some(Value::from(1_209_600)),
            "{at}: queue keeps messages 14 days"
        );
    }
    let expected: BTreeMap<String, String> = CONTRACT
        .iter()
        .filter_map(|a| a.trigger.map(|t| (a.function.to_owned(), t.to_owned())))
        .collect();
    assert_eq!(seen, expected, "function -> trigger stream");
}

#[test]
fn score_has_an_iam_authenticated_function_url() {
    let module = load();
    let world = World::new(&module);
    let urls: Vec<_> = world.instances("aws_lambda_function_url").collect();
    assert_eq!(urls.len(), 1, "exactly one Function URL");
    assert_eq!(world.function_of(urls[0]), "score");
    assert_eq!(world.string(urls[0], &["authorization_type"]), "AWS_IAM");
    assert_eq!(
        world.instances("aws_lambda_permission").count(),
        0,
        "no resource policy opens a function to other principals"
    );
}

#[test]
fn each_role_grants_exactly_the_contracted_access() {
    let module = load();
    let world = World::new(&module);
    for ty in [
        "aws_iam_role_policy_attachment",
        "aws_iam_policy_attachment",
        "aws_iam_policy",
    ] {
        assert_eq!(
            world.instances(ty).count(),
            0,
            "{ty}: roles carry only their inline policy"
        );
    }
    let functions = world.functions();
    let mut roles = BTreeSet::new();
    for access in &CONTRACT {
        let name = access.function;
        let function = functions[name];
        let role = world.follow(
            &world.string(function, &["role"]),
            "aws_iam_role",
            "arn",
            name,
        );
        assert!(
            roles.insert(role.id.clone()),
            "{name}: role shared with another function"
        );
        for key in ["managed_policy_arns", "inline_policy"] {
            assert!(
                attr(role.body, key).is_none(),
                "{}: {key} is not expected",
                role.id
            );
        }

        // Only Lambda assumes the role.
        let trust_doc = world.follow(
            &world.string(role, &["assume_role_policy"]),
            "aws_iam_policy_document",
            "json",
            name,
        );
        let trust: Vec<&Body> = blocks(trust_doc.body, "statement").collect();
        assert!(!trust.is_empty(), "{name}: the role has a trust policy");
        for statement in trust {
            let principals = block(statement, "principals").expect("a trust principal");
            assert_eq!(
                world.eval_in(trust_doc, principals, "type"),
                Some(Value::from("Service"))
            );
            assert_eq!(
                strings(world.eval_in(trust_doc, principals, "identifiers"), name),
                ["lambda.amazonaws.com"]
            );
            assert_eq!(
                strings(world.eval_in(trust_doc, statement, "actions"), name),
                ["sts:AssumeRole"]
            );
        }

        // Everything the role's policies allow.
        let mut statements = Vec::new();
        for policy in world.instances("aws_iam_role_policy") {
            let target = world.string(policy, &["role"]);
            if world.resolve(&target).is_some_and(|(i, _)| i.id == role.id) {
                statements.extend(world.statements(&world.string(policy, &["policy"]), name));
            }
        }
        let grants = world.grants(&statements, name);

        let mut streams: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        if let Some(trigger) = access.trigger {
            streams.insert(trigger.to_owned(), set(&KINESIS_READ));
        }
        for stream in access.writes {
            streams
                .entry((*stream).to_owned())
                .or_default()
                .extend(set(&KINESIS_WRITE));
        }
        assert_eq!(grants.streams, streams, "{name}: streams");

        let tables: BTreeMap<String, BTreeSet<String>> = access
            .tables
            .iter()
            .map(|(t, mode)| ((*t).to_owned(), table_actions(*mode)))
            .collect();
        assert_eq!(grants.tables, tables, "{name}: tables");

        let queues: BTreeMap<Id, BTreeSet<String>> = world
            .instances("aws_lambda_event_source_mapping")
            .filter(|m| world.function_of(m) == name)
            .map(|m| {
                let arn = world.string(m, &["destination_config", "on_failure", "destination_arn"]);
                let queue = world.follow(&arn, "aws_sqs_queue", "arn", name);
                (queue.id.clone(), set(&["sqs:SendMessage"]))
            })
            .collect();
        assert_eq!(
            queues.len(),
            usize::from(access.trigger.is_some()),
            "{name}: queues"
        );
        assert_eq!(grants.queues, queues, "{name}: dead-letter queue");

        let group = world.follow(
            &world.string(function, &["logging_config", "log_group"]),
            "aws_cloudwatch_log_group",
            "name",
            name,
        );
        assert_eq!(
            grants.log_streams,
            BTreeMap::from([(group.id.clone(), set(&LOGS_WRITE))]),
            "{name}: logs only to its own group"
        );
        assert_eq!(grants.kms, set(&KMS_USE), "{name}: the deployment key");
        assert_eq!(
            grants.unscoped,
            set(&XRAY_UPLOAD),
            "{name}: only X-Ray, which has no resource-level permissions, on \"*\""
        );
    }
}

#[test]
fn every_table_has_ttl_pitr_and_customer_managed_encryption() {
    let module = load();
    let world = World::new(&module);
    let tables = world.by_logical("aws_dynamodb_table", &["name"]);
    assert_eq!(
        tables.keys().cloned().collect::<BTreeSet<_>>(),
        set(&TABLES)
    );
    for (name, t) in &tables {
        assert_eq!(
            world.string(t, &["billing_mode"]),
            "PAY_PER_REQUEST",
            "{name}"
        );
        assert_eq!(world.string(t, &["hash_key"]), "pk", "{name}");
        assert!(attr(t.body, "range_key").is_none(), "{name}: no sort key");
        let attributes: Vec<(Option<Value>, Option<Value>)> = blocks(t.body, "attribute")
            .map(|a| (world.eval_in(t, a, "name"), world.eval_in(t, a, "type")))
            .collect();
        assert_eq!(
            attributes,
            [(Some(Value::from("pk")), Some(Value::from("S")))],
            "{name}: pk is a string"
        );
        assert_eq!(world.string(t, &["ttl", "attribute_name"]), "ttl", "{name}");
        assert_eq!(
            world.eval(t, &["ttl", "enabled"]),
            Some(Value::Bool(true)),
            "{name}"
        );
        assert_eq!(
            world.eval(t, &["point_in_time_recovery", "enabled"]),
            Some(Value::Bool(true)),
            "{name}: point-in-time recovery"
        );
        assert_eq!(
            world.eval(t, &["server_side_encryption", "enabled"]),
            Some(Value::Bool(true)),
            "{name}: encryption"
        );
        assert!(
            world.is_kms_key(&world.string(t, &["server_side_encryption", "kms_key_arn"])),
            "{name}: encrypted with the deployment key"
        );
        assert!(
            world.eval(t, &["deletion_protection_enabled"]).is_some(),
            "{name}: deletion protection is set"
        );
    }
}

#[test]
fn streams_are_on_demand_and_encrypted_with_the_deployment_key() {
    let module = load();
    let world = World::new(&module);
    let streams = world.by_logical("aws_kinesis_stream", &["name"]);
    assert_eq!(
        streams.keys().cloned().collect::<BTreeSet<_>>(),
        set(&STREAMS)
    );
    for (name, s) in &streams {
        assert_eq!(
            world.string(s, &["stream_mode_details", "stream_mode"]),
            "ON_DEMAND",
            "{name}"
        );
        assert_eq!(world.string(s, &["encryption_type"]), "KMS", "{name}");
        assert!(
            world.is_kms_key(&world.string(s, &["kms_key_id"])),
            "{name}"
        );
    }
    let key = world.kms_key();
    assert_eq!(
        world.eval(key, &["enable_key_rotation"]),
        Some(Value::Bool(true))
    );
    assert!(
        attr(key.body, "policy").is_some(),
        "the key has a key policy"
    );
}

#[test]
fn functions_get_the_environment_their_binaries_read() {
    let module = load();
    let world = World::new(&module);
    let functions = world.functions();
    let stream_name = |env: &Map<String, Value>, key: &str, function: &str| -> String {
        let value = env
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{function}: {key} is not set"));
        let stream = world.follow(value, "aws_kinesis_stream", "name", function);
        world.logical(stream, &["name"])
    };
    for (name, f) in &functions {
        let env = match world.eval(f, &["environment", "variables"]) {
            Some(Value::Object(env)) => env,
            other => panic!("{name}: environment variables are {other:?}"),
        };
        let get = |key: &str| env.get(key).and_then(Value::as_str).map(str::to_owned);
        assert_eq!(
            get("TAILOR_TABLE_PREFIX").as_deref(),
            Some(world.deployment_name()),
            "{name}: tables are named <prefix>-<table>"
        );
        assert_eq!(get("TAILOR_LOG"), Some("info".to_owned()), "{name}");
        let token = get("TAILOR_TOKEN_KEY");
        let layers = strings(world.eval(f, &["layers"]), name);
        match name.as_str() {
            "ingest" => {
                assert_eq!(
                    stream_name(&env, "TAILOR_STREAM_INGESTED", name),
                    "ingested"
                );
                assert_eq!(token.as_deref(), Some("var.token_key"), "{name}: token key");
            }
            "enrich" => {
                assert_eq!(
                    stream_name(&env, "TAILOR_STREAM_ENRICHED", name),
                    "enriched"
                );
                assert_eq!(
                    stream_name(&env, "TAILOR_STREAM_CONSENT_CHANGES", name),
                    "consent-changes"
                );
            }
            "score" => {
                assert_eq!(
                    get("ORT_DYLIB_PATH").as_deref(),
                    Some("/opt/lib/libonnxruntime.so")
                );
                assert_eq!(
                    get("TAILOR_MODEL_DIR").as_deref(),
                    Some("/var/task/models/conversion-v1")
                );
                assert_eq!(get("TAILOR_ENGINE").as_deref(), Some("auto"));
                assert_eq!(get("TAILOR_STORE_BUDGET_MS").as_deref(), Some("50"));
                assert_eq!(layers.len(), 1, "score ships ONNX Runtime in one layer");
                let layer = world.follow(&layers[0], "aws_lambda_layer_version", "arn", name);
                assert_eq!(
                    strings(world.eval(layer, &["compatible_architectures"]), name),
                    ["arm64"]
                );
                assert_eq!(
                    strings(world.eval(layer, &["compatible_runtimes"]), name),
                    ["provided.al2023"]
                );
            }
            _ => {}
        }
        if name != "ingest" {
            assert_eq!(token, None, "{name}: only ingest holds the token key");
        }
        if name != "score" {
            assert!(layers.is_empty(), "{name}: no layers");
        }
    }
}

#[test]
fn every_variable_has_a_type_and_description() {
    let module = load();
    let mut count = 0;
    for variable in module.iter().filter(|b| b.identifier() == "variable") {
        let name = labels(variable)[0];
        assert!(
            attr(variable.body(), "type").is_some(),
            "variable {name}: no type"
        );
        match attr(variable.body(), "description") {
            Some(Expression::String(s)) if !s.trim().is_empty() => {}
            other => panic!("variable {name}: no description ({other:?})"),
        }
        count += 1;
    }
    assert!(count > 0, "the module has variables");
    for output in module.iter().filter(|b| b.identifier() == "output") {
        let name = labels(output)[0];
        assert!(
            matches!(attr(output.body(), "description"), Some(Expression::String(s)) if !s.trim().is_empty()),
            "output {name}: no description"
        );
    }
}

/// The rows of the markdown table under `## {heading}`, split into cells.
fn readme_table(readme: &str, heading: &str) -> BTreeMap<String, Vec<String>> {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with(heading) && s[heading.len()..].starts_with('\n'))
        .unwrap_or_else(|| panic!("README.md has no section {heading:?}"));
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_owned())
            .collect();
        let name = cells[0].trim_matches('`').to_owned();
        assert!(
            rows.insert(name.clone(), cells).is_none(),
            "{heading}: {name} twice"
        );
    }
    rows
}

fn description(block: &Block) -> String {
    match attr(block.body(), "description") {
        Some(Expression::String(s)) => s.clone(),
        other => panic!("{:?}: description is {other:?}", labels(block)),
    }
}

#[test]
fn readme_documents_every_input_and_output() {
    let module = load();
    let readme = std::fs::read_to_string(module_dir().join("README.md")).unwrap();

    let mut inputs = readme_table(&readme, "Inputs");
    for variable in module.iter().filter(|b| b.identifier() == "variable") {
        let name = labels(variable)[0];
        let row = inputs
            .remove(name)
            .unwrap_or_else(|| panic!("Inputs: no row for {name}"));
        assert_eq!(
            row.len(),
            4,
            "Inputs: {name}: name, type, default, description"
        );
        let body = variable.body();
        let ty = hcl::format::to_string(attr(body, "type").unwrap()).unwrap();
        assert_eq!(row[1], format!("`{ty}`"), "Inputs: {name}: type");
        let default = attr(body, "default").map_or_else(
            || "required".to_owned(),
            |d| format!("`{}`", hcl::format::to_string(d).unwrap()),
        );
        assert_eq!(row[2], default, "Inputs: {name}: default");
        assert_eq!(row[3], description(variable), "Inputs: {name}: description");
    }
    assert!(
        inputs.is_empty(),
        "Inputs: no such variables: {:?}",
        inputs.keys()
    );

    let mut outputs = readme_table(&readme, "Outputs");
    for output in module.iter().filter(|b| b.identifier() == "output") {
        let name = labels(output)[0];
        let row = outputs
            .remove(name)
            .unwrap_or_else(|| panic!("Outputs: no row for {name}"));
        assert_eq!(row.len(), 2, "Outputs: {name}: name, description");
        assert_eq!(row[1], description(output), "Outputs: {name}: description");
    }
    assert!(
        outputs.is_empty(),
        "Outputs: no such outputs: {:?}",
        outputs.keys()
    );
}

#[test]
fn terraform_is_formatted() {
    let dir = repo_root().join("terraform");
    match Command::new("terraform")
        .args(["fmt", "-check", "-recursive", "-diff"])
        .arg(&dir)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "terraform fmt -check failed; run `terraform fmt -recursive terraform`:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "terraform is not on PATH, and CI requires the format check"
            );
            println!("skipped: terraform is not on PATH");
        }
        Err(e) => panic!("running terraform: {e}"),
    }
}
