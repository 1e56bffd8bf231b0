//! Loading the module's `.tf` files, and reading attributes and blocks of
//! a parsed body.

use std::path::{Path, PathBuf};

use hcl::{Block, Body, Expression, Value};

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub(crate) fn module_dir() -> PathBuf {
    repo_root().join("terraform/modules/aws")
}

/// Every top-level block of every `.tf` file in `dir`.
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

pub(crate) fn labels(block: &Block) -> Vec<&str> {
    block.labels().iter().map(hcl::BlockLabel::as_str).collect()
}

pub(crate) fn attr<'b>(body: &'b Body, key: &str) -> Option<&'b Expression> {
    body.attributes()
        .find(|a| a.key() == key)
        .map(hcl::Attribute::expr)
}

pub(crate) fn blocks<'b>(body: &'b Body, ident: &'b str) -> impl Iterator<Item = &'b Body> + 'b {
    body.blocks()
        .filter(move |b| b.identifier() == ident)
        .map(Block::body)
}

pub(crate) fn block<'b>(body: &'b Body, ident: &'b str) -> Option<&'b Body> {
    blocks(body, ident).next()
}

pub(crate) fn strings(value: Option<Value>, what: &str) -> Vec<String> {
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

pub(crate) fn load() -> Vec<Block> {
    load_blocks(&module_dir())
}

/// The example that composes the module (`terraform/examples/aws`).
pub(crate) fn load_example() -> Vec<Block> {
    load_blocks(&repo_root().join("terraform/examples/aws"))
}
