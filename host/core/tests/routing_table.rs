//! Every routing rule (binding tiers, accounts, dmScope forms, identity links, topics and
//! threads) and the seeds' session and binding examples route as documented, and session keys in
//! every old and new form parse into their parts (table: tests/data/routing/cases.json5).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tools_common;

use openclaw_core::config::check::check;
use openclaw_core::config::schema::Config;
use openclaw_core::routing::session_key::{ChatKind, SessionKey, SessionKind};
use openclaw_core::routing::{PeerRef, RoutePeer, Router};
use serde_json::Value;
use tools_common::{fixture, table};

fn validated(doc: Value, what: &str) -> Config {
    let result = check(doc, &|_| None, &[]);
    let errors: Vec<String> = result
        .issues
        .iter()
        .filter(|i| i.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{what}: config must be valid, got: {errors:#?}");
    result.config.unwrap()
}

fn case_config(case: &Value, tables: &Value, name: &str) -> Config {
    if let Some(file) = case.get("fixture").and_then(Value::as_str) {
        return fixture(file);
    }
    if let Some(doc) = case.get("unchecked_config") {
        return serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    match case.get("config") {
        Some(Value::String(named)) => validated(tables[format!("{named}_config")].clone(), name),
        Some(doc) => validated(doc.clone(), name),
        None => panic!("{name}: give fixture, config or unchecked_config"),
    }
}

fn kind(text: &str) -> ChatKind {
    match text {
        "direct" => ChatKind::Direct,
        "group" => ChatKind::Group,
        "channel" => ChatKind::Channel,
        other => panic!("unknown kind {other}"),
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Runs one routing case; returns its failures.
fn run_case(case: &Value, tables: &Value) -> Vec<String> {
    let name = case["name"].as_str().unwrap();
    let config = case_config(case, tables, name);
    let router = Router::new(&config);
    let m = &case["msg"];
    let roles: Vec<String> = m
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|r| r.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    let parent = m.get("parent").map(|p| PeerRef {
        kind: kind(p["kind"].as_str().unwrap()),
        id: p["id"].as_str().unwrap(),
    });
    let msg = RoutePeer {
        channel: text(m, "channel").unwrap(),
        account_id: text(m, "account"),
        kind: kind(text(m, "kind").unwrap()),
        peer_id: text(m, "peer").unwrap(),
        parent_peer: parent,
        thread_id: text(m, "thread"),
        guild_id: text(m, "guild"),
        team_id: text(m, "team"),
        roles: &roles,
    };
    let want = &case["expect"];
    let mut fails = Vec::new();
    let mut check_eq = |what: &str, got: String, expected: &str| {
        if got != expected {
            fails.push(format!("{name}: {what} is {got:?}, want {expected:?}"));
        }
    };

    let warnings: Vec<&str> = router.warnings().iter().map(|w| w.code()).collect();
    let want_warnings: Vec<&str> = want
        .get("warnings")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|w| w.as_str().unwrap()).collect())
        .unwrap_or_default();
    check_eq("warnings", format!("{warnings:?}"), &format!("{want_warnings:?}"));
    for w in router.warnings() {
        assert!(!w.to_string().is_empty());
    }

    let result = router.route(&msg);
    let matched_by = match &result {
        Ok(route) => route.matched_by,
        Err(openclaw_core::routing::RouteError::UnknownAgent { matched_by, .. }) => *matched_by,
    };
    if let Some(code) = text(want, "matched_by") {
        check_eq("matched_by", matched_by.code().to_string(), code);
    }
    let binding = want.get("binding").and_then(Value::as_u64).map(|b| b as usize);
    check_eq(
        "binding",
        format!("{:?}", matched_by.binding()),
        &format!("{binding:?}"),
    );

    match (&result, text(want, "error")) {
        (Err(e), Some(code)) => {
            check_eq("error", e.code().to_string(), code);
            assert!(e.to_string().starts_with("not routed: "), "{name}: {e}");
        }
        (Err(e), None) => check_eq("outcome", format!("refused ({e})"), "a route"),
        (Ok(route), Some(code)) => check_eq("outcome", format!("routed to {route:?}"), code),
        (Ok(route), None) => {
            check_eq("agent", route.agent_id.clone(), text(want, "agent").unwrap());
            check_eq("key", route.session_key.to_string(), text(want, "key").unwrap());
            check_eq("key agent", route.session_key.agent_id().to_string(), &route.agent_id);
            let main = format!("agent:{}:main", route.agent_id);
            check_eq(
                "main_key",
                route.main_session_key.to_string(),
                text(want, "main_key").unwrap_or(&main),
            );
            if let Some(scope) = text(want, "dm_scope") {
                check_eq("dm_scope", json_name(&route.dm_scope), scope);
            }
            if let Some(scope) = text(want, "group_scope") {
                check_eq("group_scope", json_name(&route.group_scope), scope);
            }
            // Every key the router builds parses back to itself.
            let reparsed = SessionKey::parse(route.session_key.as_str(), "main").unwrap();
            check_eq("reparsed key", reparsed.to_string(), route.session_key.as_str());
        }
    }
    if let Some(acp) = want.get("acp") {
        let got = router
            .acp_binding(&msg)
            .map(|a| serde_json::json!({"binding": a.binding, "agent": a.agent_id}))
            .unwrap_or(Value::Null);
        check_eq("acp", got.to_string(), &acp.to_string());
    }
    fails
}

/// The config spelling of a scope (`per-channel-peer`).
fn json_name<T: std::fmt::Debug>(value: &T) -> String {
    let debug = format!("{value:?}");
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[test]
fn routing_table() {
    let tables = table("routing/cases.json5");
    let cases = tables["cases"].as_array().unwrap();
    assert!(cases.len() >= 60, "the table lost cases");
    let fails: Vec<String> = cases.iter().flat_map(|c| run_case(c, &tables)).collect();
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}

#[test]
fn session_key_table() {
    let tables = table("routing/cases.json5");
    let mut fails = Vec::new();
    for case in tables["keys"].as_array().unwrap() {
        let key = case["key"].as_str().unwrap();
        let want = &case["expect"];
        let parsed = SessionKey::parse(key, text(case, "default_agent").unwrap_or("main"));
        let parsed = match (parsed, want.get("error").is_some()) {
            (Err(_), true) => continue,
            (Err(e), false) => {
                fails.push(format!("{key:?}: {e}"));
                continue;
            }
            (Ok(k), true) => {
                fails.push(format!("{key:?}: parsed as {k}, want an error"));
                continue;
            }
            (Ok(k), false) => k,
        };
        let mut check_eq = |what: &str, got: Option<String>, expected: Option<&str>| {
            if got.as_deref() != expected {
                fails.push(format!("{key:?}: {what} is {got:?}, want {expected:?}"));
            }
        };
        let kind = match parsed.kind() {
            SessionKind::Main => "main",
            SessionKind::Direct => "direct",
            SessionKind::Group => "group",
            SessionKind::Channel => "channel",
            SessionKind::Other => "other",
        };
        check_eq("agent", Some(parsed.agent_id().into()), text(want, "agent"));
        check_eq("kind", Some(kind.into()), text(want, "kind"));
        check_eq("channel", parsed.channel().map(Into::into), text(want, "channel"));
        check_eq("account", parsed.account_id().map(Into::into), text(want, "account"));
        check_eq("peer", parsed.peer_id().map(Into::into), text(want, "peer"));
        check_eq("topic", parsed.topic_id().map(Into::into), text(want, "topic"));
        check_eq("thread", parsed.thread_id().map(Into::into), text(want, "thread"));
        let legacy = want.get("legacy").and_then(Value::as_bool).unwrap_or(false);
        check_eq(
            "legacy",
            Some(parsed.parts().legacy_dm.to_string()),
            Some(&legacy.to_string()),
        );
        check_eq(
            "is_direct",
            Some(parsed.is_direct().to_string()),
            Some(&(kind == "direct").to_string()),
        );
        if let Some(scope) = text(want, "dm_scope") {
            check_eq("dm_scope", parsed.dm_scope().map(|s| json_name(&s)), Some(scope));
        }
        if let Some(printed) = text(want, "text") {
            check_eq("text", Some(parsed.to_string()), Some(printed));
        }
    }
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}
