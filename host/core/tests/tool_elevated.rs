//! Elevated gating: every seed example and entry format (table: tests/data/elevated/cases.json5),
//! and the formal model's claim that elevated needs both the global and the agent gate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tools_common;

use openclaw_core::config::schema::Config;
use openclaw_core::tools::elevated::{elevated_allowed, elevated_requires_approval};
use serde_json::{Value, json};
use tools_common::{case_config, strings, table};

#[test]
fn elevated_table() {
    let mut failures = Vec::new();
    for case in table("elevated/cases.json5").as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let config = case_config(case, name);
        let agent = case.get("agent").and_then(Value::as_str).unwrap_or("main");
        let sender = strings(case.get("sender"));
        let sender: Vec<&str> = sender.iter().map(String::as_str).collect();
        let got = elevated_allowed(&config, agent, case["channel"].as_str().unwrap(), &sender);
        let ok = match (&got, case.get("error").and_then(Value::as_str)) {
            (Ok(()), None) => case["ok"] == json!(true),
            (Err(e), Some(want)) => e.contains(want),
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Formal claim B4: elevated is allowed iff the global gate AND the agent's gate allow it, for
/// every combination of switch and list at both levels.
#[test]
fn elevated_needs_both_gates() {
    let switches = [None, Some(true), Some(false)];
    // None: no list; Some(true): the sender is listed; Some(false): a list without the sender.
    let lists = [None, Some(true), Some(false)];
    let mut checked = 0;
    for global_on in switches {
        for agent_on in switches {
            for global_list in lists {
                for agent_list in lists {
                    let list = |listed: bool| {
                        if listed {
                            json!({"telegram": ["42"]})
                        } else {
                            json!({"telegram": ["7"]})
                        }
                    };
                    let mut global = json!({});
                    if let Some(on) = global_on {
                        global["enabled"] = json!(on);
                    }
                    if let Some(listed) = global_list {
                        global["allowFrom"] = list(listed);
                    }
                    let mut agent = json!({});
                    if let Some(on) = agent_on {
                        agent["enabled"] = json!(on);
                    }
                    if let Some(listed) = agent_list {
                        agent["allowFrom"] = list(listed);
                    }
                    let config: Config = serde_json::from_value(json!({
                        "tools": { "elevated": global },
                        "agents": { "list": [{ "id": "main", "tools": { "elevated": agent } }] },
                    }))
                    .unwrap();
                    let global_gate = global_on != Some(false) && global_list == Some(true);
                    let agent_gate = agent_on != Some(false) && agent_list != Some(false);
                    let got = elevated_allowed(&config, "main", "telegram", &["42"]);
                    assert_eq!(
                        got.is_ok(),
                        global_gate && agent_gate,
                        "global {global_on:?}/{global_list:?}, agent {agent_on:?}/{agent_list:?}: {got:?}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 81);
}

#[test]
fn require_approval_from_either_level() {
    assert!(elevated_requires_approval(
        &tools_common::fixture("002-elevated.json"),
        "main"
    ));
    assert!(!elevated_requires_approval(
        &tools_common::fixture("003-elevated.json5"),
        "main"
    ));
    let config: Config = serde_json::from_value(json!({
        "agents": { "list": [{ "id": "ops", "tools": { "elevated": { "requireApproval": true } } }] }
    }))
    .unwrap();
    assert!(elevated_requires_approval(&config, "OPS"));
    assert!(!elevated_requires_approval(&config, "main"));
}
