//! Every access-control combination of the runtime reference (§1.1–1.5) and every DM, group and
//! command example in the seeds, as data: tests/data/access/*.json5. Each case gives a config (a
//! seed fixture or inline), the pairing-store entries, one inbound message and the decision.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tools_common;

use openclaw_core::access::{AccessSnapshot, ChatType, Decision, InboundFacts, admit};
use openclaw_core::config::schema::{Config, ToolPolicy};
use serde_json::Value;
use tools_common::{case_config, data_dir, strings, table};

/// `unchecked: true` loads an inline config that validation would refuse, to show what the
/// runtime does if one ever gets through.
fn config_of(case: &Value, name: &str) -> Config {
    if case.get("unchecked").and_then(Value::as_bool) == Some(true) {
        return serde_json::from_value(case["config"].clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    case_config(case, name)
}

fn snapshot_of(case: &Value, name: &str) -> AccessSnapshot {
    let config = config_of(case, name);
    let (mut snapshot, _warnings) = AccessSnapshot::new(&config);
    if let Some(store) = case.get("store").and_then(Value::as_object) {
        for (key, entries) in store {
            let (channel, account) = key.split_once(':').unwrap_or((key.as_str(), "default"));
            let entries = strings(Some(entries));
            let known = snapshot.set_paired(channel, account, entries.iter().map(String::as_str));
            assert!(known, "{name}: store for unconfigured account {key}");
        }
    }
    snapshot
}

fn policy_json(policy: Option<&ToolPolicy>) -> Value {
    match policy {
        None => Value::Null,
        Some(p) => {
            let mut out = serde_json::Map::new();
            for (key, list) in [("allow", &p.allow), ("alsoAllow", &p.also_allow), ("deny", &p.deny)] {
                if let Some(list) = list {
                    out.insert(key.into(), list.iter().map(|s| Value::from(s.as_str())).collect());
                }
            }
            Value::Object(out)
        }
    }
}

fn run_case(case: &Value, defaults: &Value) -> Vec<String> {
    let name = case["name"].as_str().unwrap();
    let snapshot = snapshot_of(case, name);
    let mut msg = defaults.as_object().cloned().unwrap_or_default();
    for (key, value) in case.get("msg").and_then(Value::as_object).into_iter().flatten() {
        msg.insert(key.clone(), value.clone());
    }
    let text = |key: &str| msg.get(key).and_then(Value::as_str);
    let flag = |key: &str| msg.get(key).and_then(Value::as_bool).unwrap_or(false);
    let chat_type = match text("chat").unwrap_or("direct") {
        "direct" => ChatType::Direct,
        "group" => ChatType::Group,
        "channel" => ChatType::Channel,
        other => panic!("{name}: unknown chat type {other}"),
    };
    let facts = InboundFacts {
        channel: text("channel").unwrap(),
        account_id: text("account").unwrap_or(""),
        chat_type,
        chat_id: text("chat_id").unwrap_or(""),
        guild_id: text("guild"),
        sender_id: text("sender").unwrap_or(""),
        sender_name: text("name"),
        sender_username: text("username"),
        thread_id: text("thread"),
        text: text("text").unwrap_or(""),
        native_mention_supported: flag("native_supported"),
        native_mention: flag("native"),
        reply_to_bot: flag("reply"),
        agent_id: text("agent"),
    };
    let decision = admit(&snapshot, &facts);
    let expect = &case["expect"];
    let mut failures = Vec::new();
    let want_code = expect["code"].as_str().unwrap();
    if decision.code() != want_code {
        failures.push(format!("code: got {} ({decision}), want {want_code}", decision.code()));
    }
    let admitted = decision.admitted();
    let checks: [(&str, Option<bool>); 4] = [
        ("mentioned", admitted.map(|a| a.mentioned)),
        ("command_authorized", admitted.map(|a| a.command_authorized)),
        ("bypassed", admitted.map(|a| a.mention_bypassed)),
        ("control_command", admitted.map(|a| a.control_command)),
    ];
    for (key, got) in checks {
        if let Some(want) = expect.get(key).and_then(Value::as_bool) {
            match got {
                Some(got) if got == want => {}
                Some(got) => failures.push(format!("{key}: got {got}, want {want}")),
                None => failures.push(format!("{key}: not admitted, cannot check")),
            }
        }
    }
    if let Some(want) = expect.get("tool_policy") {
        let got = policy_json(admitted.and_then(|a| a.tool_policy));
        if &got != want {
            failures.push(format!("tool_policy: got {got}, want {want}"));
        }
    }
    if let Some(want) = expect.get("agent") {
        let got = admitted.and_then(|a| a.group).and_then(|g| g.agent_id());
        if got != want.as_str() {
            failures.push(format!("agent: got {got:?}, want {want}"));
        }
    }
    if let Some(want) = expect.get("display").and_then(Value::as_str)
        && !decision.to_string().contains(want)
    {
        failures.push(format!("display: `{decision}` lacks `{want}`"));
    }
    if matches!(decision, Decision::Drop(_)) && !decision.to_string().starts_with("dropped: ") {
        failures.push(format!(
            "display of a drop must start with `dropped: `, got `{decision}`"
        ));
    }
    failures.into_iter().map(|f| format!("{name}: {f}")).collect()
}

#[test]
fn access_tables() {
    let mut files: Vec<_> = std::fs::read_dir(data_dir().join("access"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json5"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    let mut count = 0;
    for path in files {
        let file = format!("access/{}", path.file_name().unwrap().to_string_lossy());
        let doc = table(&file);
        let defaults = doc.get("defaults").cloned().unwrap_or(Value::Null);
        for case in doc["cases"].as_array().unwrap() {
            count += 1;
            failures.extend(run_case(case, &defaults).into_iter().map(|f| format!("{file}: {f}")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count >= 80, "only {count} cases");
}
