//! Properties of the tool-policy pipeline over generated configs (random profiles, allow/deny/
//! alsoAllow lists, byProvider entries, agents, sandbox and subagent lists, drawn from a universe
//! of tool names, groups, plugin ids, globs and odd spellings):
//!
//! - a tool any applied step denies (checked by an independent matcher) is never allowed;
//! - the final set is a subset of every step's output, and every removal is justified by that
//!   step's lists;
//! - `decide` agrees with `allowed`;
//! - adding deny entries never adds a tool (no step re-grants).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use openclaw_core::config::schema::{Config, ToolPolicy};
use openclaw_core::tools::groups;
use openclaw_core::tools::policy::{EffectivePolicy, PluginTool, PolicyContext, ToolCatalog, resolve};
use proptest::prelude::*;
use regex::Regex;
use serde_json::{Map, Value, json};

const POOL: &[&str] = &[
    "exec",
    "process",
    "read",
    "write",
    "edit",
    "apply_patch",
    "web_search",
    "web_fetch",
    "memory_get",
    "sessions_list",
    "sessions_spawn",
    "session_status",
    "browser",
    "canvas",
    "message",
    "cron",
    "gateway",
    "image",
    "tts",
    "group:fs",
    "group:runtime",
    "group:web",
    "group:sessions",
    "group:memory",
    "group:ui",
    "group:automation",
    "group:messaging",
    "group:media",
    "group:openclaw",
    "group:plugins",
    "group:bogus",
    "calc",
    "calc_eval",
    "research",
    "deep_research",
    "slack",
    "*",
    "web_*",
    "*_search",
    "mem*",
    "s*s",
    "BASH",
    " Exec ",
    "Apply-Patch",
    "Group:FS",
    "nonexistent",
];

fn catalog() -> ToolCatalog {
    ToolCatalog::openclaw(vec![
        PluginTool::new("calc", "calc_eval"),
        PluginTool::new("calc", "calc_stats"),
        PluginTool::optional("research", "deep_research"),
        PluginTool::new("slack", "slack"),
        PluginTool::new("telegram", "telegram"),
    ])
}

// ---------------------------------------------------------------------------------------------
// an independent matcher for written entries

fn oracle_canonical(entry: &str) -> String {
    match entry.trim().to_lowercase().as_str() {
        "bash" => "exec".into(),
        "apply-patch" => "apply_patch".into(),
        other => other.to_string(),
    }
}

fn oracle_matches(entry: &str, tool: &str, catalog: &ToolCatalog) -> bool {
    let entry = oracle_canonical(entry);
    let plugin_of = |t: &str| {
        catalog
            .plugins()
            .iter()
            .find(|p| p.name == t)
            .map(|p| p.plugin_id.clone())
    };
    if entry == "*" {
        return true;
    }
    if entry == "group:plugins" {
        return plugin_of(tool).is_some();
    }
    if entry.starts_with("group:") {
        return groups::members(&entry).is_some_and(|m| m.contains(&tool));
    }
    if plugin_of(tool).as_deref() == Some(entry.as_str()) {
        return true;
    }
    if entry.contains('*') {
        let pattern = format!("^{}$", regex::escape(&entry).replace("\\*", ".*"));
        return Regex::new(&pattern).unwrap().is_match(tool);
    }
    entry == tool
}

// ---------------------------------------------------------------------------------------------
// generators

fn list() -> impl Strategy<Value = Option<Vec<&'static str>>> {
    prop::option::weighted(0.5, prop::collection::vec(prop::sample::select(POOL), 0..5))
}

fn profile() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::weighted(
        0.5,
        prop::sample::select(&["minimal", "coding", "messaging", "full"][..]),
    )
}

fn policy_object() -> impl Strategy<Value = Value> {
    (profile(), list(), list(), list()).prop_map(|(profile, allow, also, deny)| {
        let mut object = Map::new();
        if let Some(p) = profile {
            object.insert("profile".into(), json!(p));
        }
        if let Some(a) = allow {
            object.insert("allow".into(), json!(a));
        }
        if let Some(a) = also {
            object.insert("alsoAllow".into(), json!(a));
        }
        if let Some(d) = deny {
            object.insert("deny".into(), json!(d));
        }
        Value::Object(object)
    })
}

fn plain_policy() -> impl Strategy<Value = Value> {
    (list(), list(), list()).prop_map(|(allow, also, deny)| json!({ "allow": allow, "alsoAllow": also, "deny": deny }))
}

fn config() -> impl Strategy<Value = Value> {
    (
        policy_object(),
        policy_object(),
        policy_object(),
        policy_object(),
        policy_object(),
        plain_policy(),
        plain_policy(),
        plain_policy(),
    )
        .prop_map(
            |(global, provider, provider_model, agent, agent_provider, sandbox, agent_sandbox, subagents)| {
                let mut tools = global;
                tools["byProvider"] = json!({ "openai": provider, "OpenAI/GPT-5": provider_model });
                tools["sandbox"] = json!({ "tools": sandbox });
                tools["subagents"] = json!({ "tools": subagents });
                let mut agent_tools = agent;
                agent_tools["byProvider"] = json!({ "openai": agent_provider });
                agent_tools["sandbox"] = json!({ "tools": agent_sandbox });
                json!({ "tools": tools, "agents": { "list": [{ "id": "a1", "tools": agent_tools }] } })
            },
        )
}

#[derive(Debug, Clone)]
struct Ctx {
    agent: &'static str,
    provider: Option<&'static str>,
    model: Option<&'static str>,
    group: Option<Value>,
    sandboxed: bool,
    subagent: bool,
}

fn ctx() -> impl Strategy<Value = Ctx> {
    (
        prop::sample::select(&["a1", "A1", "main"][..]),
        prop::option::of(prop::sample::select(&["openai", "OpenAI", "anthropic"][..])),
        prop::option::of(prop::sample::select(&["gpt-5", "gpt-4"][..])),
        prop::option::weighted(0.4, plain_policy()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(agent, provider, model, group, sandboxed, subagent)| Ctx {
            agent,
            provider,
            model,
            group,
            sandboxed,
            subagent,
        })
}

fn run(config_json: &Value, c: &Ctx, catalog: &ToolCatalog) -> EffectivePolicy {
    let config: Config = serde_json::from_value(config_json.clone()).unwrap();
    let group: Option<ToolPolicy> = c.group.clone().map(|g| serde_json::from_value(g).unwrap());
    let ctx = PolicyContext {
        agent_id: c.agent,
        provider: c.provider,
        model: c.model,
        group: group.as_ref(),
        sandboxed: c.sandboxed,
        subagent: c.subagent,
    };
    resolve(&config, &ctx, catalog)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn denied_is_never_allowed_and_steps_only_filter(config_json in config(), c in ctx()) {
        let catalog = catalog();
        let policy = run(&config_json, &c, &catalog);
        let allowed: BTreeSet<String> = policy.allowed().into_iter().collect();
        let reports = policy.explain();

        // The tools the pipeline started from: everything in the catalog that was not an
        // un-named optional tool.
        let mut universe: BTreeSet<String> = allowed.clone();
        for report in &reports {
            for removal in &report.removed {
                prop_assert!(universe.insert(removal.tool.clone()), "{} removed twice", removal.tool);
            }
        }
        let mut output = universe.clone();
        for report in &reports {
            for removal in &report.removed {
                output.remove(&removal.tool);
                // Every removal is justified by this step's lists (independent matcher).
                let denied = report.deny.iter().any(|e| oracle_matches(e, &removal.tool, &catalog));
                let listed = report
                    .allow
                    .as_ref()
                    .is_none_or(|a| a.iter().any(|e| oracle_matches(e, &removal.tool, &catalog)));
                prop_assert!(denied || !listed, "{:?} removed {} without cause", report.step, removal.tool);
            }
            prop_assert_eq!(report.remaining, output.len());
            prop_assert!(allowed.is_subset(&output), "final set not within {:?}'s output", report.step);
            if report.applied {
                for tool in &allowed {
                    prop_assert!(
                        !report.deny.iter().any(|e| oracle_matches(e, tool, &catalog)),
                        "{} allowed although {:?} denies it", tool, report.step
                    );
                    if let Some(allow) = &report.allow {
                        prop_assert!(
                            allow.iter().any(|e| oracle_matches(e, tool, &catalog)),
                            "{} allowed although {:?}'s allowlist omits it", tool, report.step
                        );
                    }
                }
            }
        }
        prop_assert_eq!(&output, &allowed);

        // decide agrees with allowed, for every tool in the catalog and for strangers.
        let names: Vec<String> = catalog
            .core()
            .map(str::to_string)
            .chain(catalog.plugins().iter().map(|p| p.name.clone()))
            .chain(["no_such_tool".to_string(), "BASH".into(), " Read ".into()])
            .collect();
        for name in names {
            let canonical = openclaw_core::tools::names::canonical(&name);
            prop_assert_eq!(policy.decide(&name).is_allowed(), allowed.contains(&canonical), "{}", name);
        }
    }

    #[test]
    fn adding_deny_entries_never_adds_a_tool(
        config_json in config(),
        c in ctx(),
        extra in prop::collection::vec(prop::sample::select(POOL), 1..4),
        at_agent in any::<bool>(),
    ) {
        let catalog = catalog();
        let before: BTreeSet<String> = run(&config_json, &c, &catalog).allowed().into_iter().collect();
        let mut stricter = config_json.clone();
        let target = if at_agent { &mut stricter["agents"]["list"][0]["tools"] } else { &mut stricter["tools"] };
        let mut deny: Vec<Value> = target.get("deny").and_then(Value::as_array).cloned().unwrap_or_default();
        deny.extend(extra.iter().map(|e| json!(e)));
        target["deny"] = Value::Array(deny);
        let after: BTreeSet<String> = run(&stricter, &c, &catalog).allowed().into_iter().collect();
        prop_assert!(after.is_subset(&before), "denying {:?} added {:?}", extra, after.difference(&before).collect::<Vec<_>>());
        let applies = !at_agent || c.agent.eq_ignore_ascii_case("a1");
        for entry in extra.iter().filter(|_| applies) {
            for tool in &after {
                prop_assert!(!oracle_matches(entry, tool, &catalog), "{} allowed although denied by {:?}", tool, entry);
            }
        }
    }
}
