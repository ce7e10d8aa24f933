//! Shared by the tool-policy, exec and elevated table tests: configs come from the seed
//! fixtures or inline table entries, and are validated by the real config checker first.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use openclaw_core::config::check::check;
use openclaw_core::config::parse::parse;
use openclaw_core::config::schema::Config;
use serde_json::Value;

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn seeds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seeds")
}

fn env(name: &str) -> Option<String> {
    match name {
        "OPENCLAW_GATEWAY_TOKEN" => Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c".into()),
        "OPENCLAW_GATEWAY_PASSWORD" => Some("a-long-operator-password-from-env".into()),
        _ => None,
    }
}

fn checked(doc: Value, what: &str) -> Config {
    let result = check(doc, &env, &[]);
    let errors: Vec<String> = result
        .issues
        .iter()
        .filter(|i| i.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{what} must be a valid config, got: {errors:#?}");
    result.config.unwrap()
}

/// A seed fixture, parsed and validated like `openclaw config validate` does.
pub fn fixture(name: &str) -> Config {
    let path = seeds_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = parse(&text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    checked(parsed.value, name)
}

/// A table case's config: `fixture` (a seed file) or inline `config` (default `{}`).
pub fn case_config(case: &Value, name: &str) -> Config {
    match case.get("fixture").and_then(Value::as_str) {
        Some(file) => fixture(file),
        None => checked(
            case.get("config")
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default())),
            name,
        ),
    }
}

/// A JSON5 table from tests/data/<path>.
pub fn table(path: &str) -> Value {
    let path = data_dir().join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    json5::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}
