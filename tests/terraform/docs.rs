//! Tests of how the module documents itself (variables, outputs, README)
//! and of its formatting.

use std::collections::BTreeMap;
use std::process::Command;

use hcl::{Block, Expression};

use crate::load::{attr, labels, load, module_dir, repo_root};

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
