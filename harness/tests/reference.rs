//! The scenario format is described three times: by the parser, by the JSON Schema editors use,
//! and by scenarios/README.md for people. These tests keep the three saying the same thing.

mod common;
use common::root;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn schema() -> Value {
    serde_json::to_value(schemars::schema_for!(djbench::scenario::ScenarioFile)).unwrap()
}

fn readme() -> String {
    std::fs::read_to_string(root().join("scenarios/README.md")).unwrap()
}

#[derive(Debug, Default)]
struct Key {
    default: Option<Value>,
    required: bool,
}

/// Every key the schema allows, as a dotted path (`modes[].server`).
fn schema_keys(node: &Value, defs: &Value, path: &str, out: &mut BTreeMap<String, Key>) {
    if let Some(target) = node.get("$ref").and_then(Value::as_str) {
        let name = target.trim_start_matches("#/$defs/");
        schema_keys(&defs[name], defs, path, out);
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, child) in props {
            let child_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            out.insert(
                child_path.clone(),
                Key {
                    default: child.get("default").cloned(),
                    required: required.contains(&name.as_str()),
                },
            );
            schema_keys(child, defs, &child_path, out);
        }
    }
    if let Some(items) = node.get("items") {
        schema_keys(items, defs, &format!("{path}[]"), out);
    }
    for combinator in ["anyOf", "oneOf", "allOf"] {
        for alternative in node
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            schema_keys(alternative, defs, path, out);
        }
    }
}

/// Rows of the README's `| key | type | default | meaning |` tables: key → default cell.
fn readme_keys(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut in_key_table = false;
    for line in text.lines() {
        if !line.starts_with('|') {
            in_key_table = false;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        if cells.first() == Some(&"key") {
            in_key_table = true;
            continue;
        }
        if in_key_table && cells.len() == 4 && cells[0].starts_with('`') {
            let key = cells[0].trim_matches('`').to_owned();
            assert!(
                out.insert(key.clone(), cells[2].to_owned()).is_none(),
                "{key} twice"
            );
        }
    }
    out
}

#[test]
fn the_readme_documents_exactly_the_keys_of_the_schema() {
    let schema = schema();
    let mut keys = BTreeMap::new();
    schema_keys(&schema, &schema["$defs"], "", &mut keys);
    let documented = readme_keys(&readme());
    let in_schema: Vec<&String> = keys.keys().collect();
    let in_readme: Vec<&String> = documented.keys().collect();
    assert!(
        in_schema.len() >= 40,
        "the schema walk found only {in_schema:?}"
    );
    assert_eq!(
        in_readme, in_schema,
        "scenarios/README.md and the schema disagree on the keys"
    );
}

#[test]
fn the_readme_states_the_schemas_defaults_and_required_keys() {
    let schema = schema();
    let mut keys = BTreeMap::new();
    schema_keys(&schema, &schema["$defs"], "", &mut keys);
    let documented = readme_keys(&readme());
    for (path, key) in &keys {
        let cell = documented
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not in scenarios/README.md"));
        if key.required {
            assert_eq!(cell, "required", "{path} is required by the schema");
            continue;
        }
        assert_ne!(cell, "required", "{path} is optional in the schema");
        let literal = match &key.default {
            Some(Value::String(s)) if s.is_empty() => "\"\"".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => {
                let f = n.as_f64().unwrap();
                if f.fract() == 0.0 {
                    format!("{}", f as i64)
                } else {
                    f.to_string()
                }
            }
            Some(Value::Bool(b)) => b.to_string(),
            _ => continue, // lists and mappings are described in words
        };
        assert_eq!(cell, &format!("`{literal}`"), "default of {path}");
    }
}

/// The ```yaml blocks of a Markdown file.
fn yaml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn every_example_in_the_readmes_is_a_valid_scenario() {
    let top = std::fs::read_to_string(root().join("README.md")).unwrap();
    let blocks: Vec<(&str, String)> = yaml_blocks(&readme())
        .into_iter()
        .map(|b| ("scenarios/README.md", b))
        .chain(yaml_blocks(&top).into_iter().map(|b| ("README.md", b)))
        .collect();
    assert!(blocks.len() >= 3);
    for (i, (file, block)) in blocks.iter().enumerate() {
        let name = PathBuf::from(format!("{file} example {}", i + 1));
        if let Err(invalid) = djbench::scenario::parse(&name, block.as_bytes()) {
            panic!("{}", invalid.render(false));
        }
    }
}

fn yaml_as_json(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn the_schema_accepts_every_shipped_scenario_and_readme_example() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let mut documents: Vec<(String, String)> = yaml_blocks(&readme())
        .into_iter()
        .enumerate()
        .map(|(i, b)| (format!("README example {}", i + 1), b))
        .collect();
    for entry in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            documents.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    for (name, text) in documents {
        let errors: Vec<String> = validator
            .iter_errors(&yaml_as_json(&text))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

#[test]
fn the_schema_rejects_what_the_parser_rejects_field_by_field() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    for (name, text) in [
        ("unknown key", "name: x\nworkload: {duraton: 3s}\n"),
        ("bad duration", "name: x\nworkload: {duration: 3}\n"),
        (
            "zero workers",
            "name: x\nmodes: [{mode: free_threaded, web_workers: 0}]\n",
        ),
        ("negative rate", "name: x\nworkload: {rate: -5}\n"),
        ("unknown mode", "name: x\nmodes: [uwsgi]\n"),
        (
            "bad percentage",
            "name: x\nthresholds: {error_rate: 0.01}\n",
        ),
        ("missing name", "description: x\n"),
        (
            "status out of range",
            "name: x\nworkload: {endpoints: [{path: /x, status: 42}]}\n",
        ),
        (
            "method in lower case",
            "name: x\nworkload: {endpoints: [{path: /x, method: post}]}\n",
        ),
        (
            "header value not text",
            "name: x\nworkload: {endpoints: [{path: /x, headers: {X-A: [1]}}]}\n",
        ),
    ] {
        let json = yaml_as_json(text);
        assert!(
            !validator.is_valid(&json),
            "the schema accepts {name}: {json}"
        );
        assert!(
            djbench::scenario::parse(Path::new("t.yaml"), text.as_bytes()).is_err(),
            "the parser accepts {name}"
        );
    }
}
