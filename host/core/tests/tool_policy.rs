//! Every tool-policy example in the seeds and the runtime reference resolves to the documented
//! set (table: tests/data/tool_policy/cases.json5).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tools_common;

use std::collections::BTreeSet;

use openclaw_core::config::schema::ToolPolicy;
use openclaw_core::tools::names::CORE_TOOLS;
use openclaw_core::tools::policy::{PluginTool, PolicyContext, Step, ToolCatalog, ToolDecision, resolve};
use serde_json::Value;
use tools_common::{case_config, strings, table};

fn plugins(list: &Value) -> Vec<PluginTool> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| PluginTool {
            plugin_id: p["plugin"].as_str().unwrap().into(),
            name: p["tool"].as_str().unwrap().into(),
            optional: p.get("optional").and_then(Value::as_bool).unwrap_or(false),
        })
        .collect()
}

fn step(name: &str) -> Step {
    serde_json::from_value(Value::String(name.into())).unwrap_or_else(|_| panic!("unknown step {name}"))
}

/// Runs one case; returns the failures (empty when it passes).
fn run_case(case: &Value, default_plugins: &Value) -> Vec<String> {
    let name = case["name"].as_str().unwrap();
    let config = case_config(case, name);
    let catalog_plugins = plugins(case.get("plugins").unwrap_or(default_plugins));
    let catalog = match case.get("core") {
        Some(core) => ToolCatalog::new(strings(Some(core)), catalog_plugins),
        None => ToolCatalog::openclaw(catalog_plugins),
    };
    let ctx_json = case.get("context").cloned().unwrap_or(Value::Null);
    let group: Option<ToolPolicy> = ctx_json
        .get("group")
        .map(|g| serde_json::from_value(g.clone()).unwrap());
    let text = |key: &str| ctx_json.get(key).and_then(Value::as_str);
    let flag = |key: &str| ctx_json.get(key).and_then(Value::as_bool).unwrap_or(false);
    let ctx = PolicyContext {
        agent_id: text("agent").unwrap_or("main"),
        provider: text("provider"),
        model: text("model"),
        group: group.as_ref(),
        sandboxed: flag("sandboxed"),
        subagent: flag("subagent"),
    };
    let policy = resolve(&config, &ctx, &catalog);
    let allowed = policy.allowed();
    let expect = &case["expect"];
    let mut failures = Vec::new();

    if let Some(list) = expect.get("allowed") {
        let want = strings(Some(list));
        if allowed != want {
            failures.push(format!("allowed: got {allowed:?}, want {want:?}"));
        }
    }
    if let Some(except) = expect.get("all_except") {
        let except: BTreeSet<String> = strings(Some(except)).into_iter().collect();
        let enabled: BTreeSet<String> = catalog
            .core()
            .map(str::to_string)
            .chain(catalog.plugins().iter().filter(|p| !p.optional).map(|p| p.name.clone()))
            .collect();
        let want: Vec<String> = enabled.difference(&except).cloned().collect();
        if allowed != want {
            let got: BTreeSet<String> = allowed.iter().cloned().collect();
            let want: BTreeSet<String> = want.into_iter().collect();
            failures.push(format!(
                "allowed: missing {:?}, unexpected {:?}",
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    if let Some(count) = expect.get("allowed_count").and_then(Value::as_u64)
        && allowed.len() as u64 != count
    {
        failures.push(format!("allowed: {} tools, want {count}: {allowed:?}", allowed.len()));
    }
    for (tool, want) in expect.get("decisions").and_then(Value::as_object).into_iter().flatten() {
        let want = want.as_str().unwrap();
        let got = policy.decide(tool);
        let ok = match (&got, want) {
            (ToolDecision::Allow, "allow") => true,
            (ToolDecision::Deny { step: s, .. }, want) if want != "allow" => *s == step(want),
            _ => false,
        };
        if !ok {
            failures.push(format!("decide({tool}): got {got:?}, want {want}"));
        }
    }
    for (tool, want) in expect.get("reasons").and_then(Value::as_object).into_iter().flatten() {
        let want = want.as_str().unwrap();
        match policy.decide(tool) {
            ToolDecision::Deny { reason, .. } if reason == want => {}
            other => failures.push(format!("decide({tool}): got {other:?}, want reason {want:?}")),
        }
    }
    for want in strings(expect.get("warnings")) {
        if !policy.warnings().iter().any(|w| w.contains(&want)) {
            failures.push(format!(
                "no warning contains {want:?}; warnings: {:#?}",
                policy.warnings()
            ));
        }
    }
    if expect.get("no_warnings").and_then(Value::as_bool) == Some(true) && !policy.warnings().is_empty() {
        failures.push(format!("expected no warnings, got {:#?}", policy.warnings()));
    }
    failures
}

#[test]
fn every_tool_policy_example_resolves_as_documented() {
    let table = table("tool_policy/cases.json5");
    let cases = table["cases"].as_array().unwrap();
    assert!(cases.len() >= 60, "the table lost cases: {}", cases.len());
    let mut report = Vec::new();
    for case in cases {
        let failures = run_case(case, &table["default_plugins"]);
        if !failures.is_empty() {
            report.push(format!(
                "{}:\n  {}",
                case["name"].as_str().unwrap(),
                failures.join("\n  ")
            ));
        }
    }
    assert!(
        report.is_empty(),
        "{} case(s) failed:\n{}",
        report.len(),
        report.join("\n")
    );
}

#[test]
fn every_seed_fixture_with_tool_policy_is_in_the_table() {
    let table = table("tool_policy/cases.json5");
    let covered: BTreeSet<&str> = table["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.get("fixture").and_then(Value::as_str))
        .collect();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seeds");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let has_tool_lists = ["allow", "deny", "profile", "byProvider"]
            .iter()
            .any(|key| text.contains(&format!("{key}:")) || text.contains(&format!("\"{key}\":")));
        let tool_related = text.contains("tools");
        if has_tool_lists && tool_related {
            assert!(
                covered.contains(name.as_str()),
                "seed fixture {name} has a tool policy but no table case"
            );
        }
    }
}

#[test]
fn explain_names_each_step_and_its_sources() {
    let config = tools_common::fixture("003-tool-restrictions.json5");
    let catalog = ToolCatalog::openclaw(vec![PluginTool::new("telegram", "telegram")]);
    let ctx = PolicyContext {
        agent_id: "public",
        sandboxed: true,
        ..PolicyContext::default()
    };
    let policy = resolve(&config, &ctx, &catalog);
    let reports = policy.explain();
    assert_eq!(
        reports.iter().map(|r| r.step).collect::<Vec<_>>(),
        Step::PIPELINE.to_vec(),
        "one report per pipeline step, in order"
    );
    let sandbox = &reports[7];
    assert!(sandbox.applied);
    assert_eq!(
        sandbox.sources,
        [
            "agents.list[0].sandbox.tools.allow",
            "agents.list[0].sandbox.tools.deny"
        ]
    );
    assert_eq!(
        sandbox.allow.as_deref(),
        Some(
            &[
                "read".to_string(),
                "web_search".into(),
                "message".into(),
                "image".into()
            ][..]
        )
    );
    assert_eq!(sandbox.remaining, 4);
    assert!(
        sandbox
            .removed
            .iter()
            .any(|r| r.tool == "exec" && r.reason.contains("`exec`"))
    );
    assert!(reports[..7].iter().all(|r| !r.applied && r.removed.is_empty()));
    assert!(!reports[8].applied, "not a subagent");
    // Reports account for every tool exactly once.
    let removed: usize = reports.iter().map(|r| r.removed.len()).sum();
    assert_eq!(removed + policy.allowed().len(), CORE_TOOLS.len() + 1);
}
