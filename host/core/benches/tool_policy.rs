//! How long resolving an agent's tool policy and deciding one tool call take, over a 50-tool
//! catalog with a realistic config (run: `cargo bench -p openclaw-core --bench tool_policy`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use openclaw_core::config::check::check;
use openclaw_core::config::schema::{Config, ToolPolicy};
use openclaw_core::tools::names::CORE_TOOLS;
use openclaw_core::tools::policy::{PluginTool, PolicyContext, ToolCatalog, resolve};

/// 29 built-in tools + 21 plugin tools (channel tools, tool plugins, two optional) = 50.
fn catalog() -> ToolCatalog {
    let mut plugins = vec![
        PluginTool::new("telegram", "telegram"),
        PluginTool::new("whatsapp", "whatsapp"),
        PluginTool::new("whatsapp", "whatsapp_login"),
        PluginTool::new("slack", "slack"),
        PluginTool::new("discord", "discord"),
        PluginTool::optional("research", "deep_research"),
        PluginTool::optional("research", "paper_search"),
    ];
    for i in 0..7 {
        plugins.push(PluginTool::new("calc", format!("calc_op_{i}")));
    }
    for i in 0..7 {
        plugins.push(PluginTool::new("github", format!("github_{i}")));
    }
    let catalog = ToolCatalog::openclaw(plugins);
    assert_eq!(CORE_TOOLS.len() + catalog.plugins().len(), 50);
    catalog
}

fn config() -> Config {
    let doc = serde_json::json!({
        "tools": {
            "profile": "coding",
            "alsoAllow": ["browser", "calc", "github_*", "deep_research"],
            "deny": ["group:automation", "nodes", "github_5"],
            "byProvider": {
                "openai": { "deny": ["code_execution"] },
                "google-antigravity": { "profile": "minimal" },
                "anthropic/claude-opus-4-6": { "deny": ["x_search", "tts"] }
            },
            "sandbox": { "tools": { "allow": ["group:fs", "group:runtime", "group:sessions", "browser", "calc"] } }
        },
        "agents": {
            "defaults": { "sandbox": { "mode": "non-main" } },
            "list": [
                { "id": "main", "default": true },
                {
                    "id": "support",
                    "tools": {
                        "profile": "messaging",
                        "alsoAllow": ["slack", "telegram"],
                        "deny": ["sessions_send"],
                        "byProvider": { "anthropic": { "deny": ["message"] } }
                    }
                },
                { "id": "coder", "tools": { "deny": ["web_fetch", "WEB_*"], "byProvider": { "Anthropic": { "allow": ["*"], "deny": ["github_1"] } } } }
            ]
        }
    });
    let checked = check(doc, &|_| None, &[]);
    assert!(!checked.has_errors(), "{:#?}", checked.issues);
    checked.config.unwrap()
}

fn tool_policy(c: &mut Criterion) {
    let catalog = catalog();
    let config = config();
    let group = ToolPolicy {
        allow: None,
        also_allow: None,
        deny: Some(vec!["calc_op_3".into()]),
    };
    let ctx = PolicyContext {
        agent_id: "coder",
        provider: Some("anthropic"),
        model: Some("claude-opus-4-6"),
        group: Some(&group),
        sandboxed: true,
        subagent: false,
    };
    c.bench_function("tool policy: resolve (50 tools, 9 steps)", |b| {
        b.iter(|| resolve(black_box(&config), black_box(&ctx), black_box(&catalog)))
    });
    let unsandboxed = PolicyContext {
        agent_id: "support",
        sandboxed: false,
        group: None,
        ..ctx
    };
    c.bench_function("tool policy: resolve (50 tools, profile agent)", |b| {
        b.iter(|| resolve(black_box(&config), black_box(&unsandboxed), black_box(&catalog)))
    });

    let policy = resolve(&config, &ctx, &catalog);
    assert!(policy.is_allowed("exec") && !policy.is_allowed("browser"));
    c.bench_function("tool policy: decide (allowed, canonical name)", |b| {
        b.iter(|| policy.decide(black_box("exec")))
    });
    c.bench_function("tool policy: decide (denied, with reason)", |b| {
        b.iter(|| policy.decide(black_box("browser")))
    });
    c.bench_function("tool policy: decide (alias spelling `Bash`)", |b| {
        b.iter(|| policy.decide(black_box("Bash")))
    });
    c.bench_function("tool policy: decide (unknown tool)", |b| {
        b.iter(|| policy.decide(black_box("no_such_tool")))
    });
}

criterion_group!(benches, tool_policy);
criterion_main!(benches);
