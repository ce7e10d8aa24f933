//! `resolve` against the cases in data/spec_cases.json5, plus properties of names and hashes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use openclaw_core::config::schema::sandbox::{SandboxConfig, SandboxScope, WorkspaceAccess};
use openclaw_sandbox::resolve;
use openclaw_sandbox::spec::{self, SandboxContext, SandboxDecision, SandboxSpec};
use proptest::prelude::*;
use serde_json::{Value, json};

fn observed(spec: &SandboxSpec) -> Value {
    let d = &spec.docker;
    let scope = match spec.scope {
        SandboxScope::Session => "session",
        SandboxScope::Agent => "agent",
        SandboxScope::Shared => "shared",
    };
    json!({
        "scope": scope, "scopeKey": spec.scope_key, "containerName": spec.container_name,
        "image": d.image, "workdir": d.workdir, "readOnlyRoot": d.read_only_root, "tmpfs": d.tmpfs,
        "network": d.network, "user": d.user, "capDrop": d.cap_drop, "env": d.env,
        "setupCommand": d.setup_command, "pidsLimit": d.pids_limit, "memory": d.memory,
        "memorySwap": d.memory_swap, "nanoCpus": d.nano_cpus, "ulimits": d.ulimits,
        "securityOpts": d.security_opts(), "dns": d.dns, "extraHosts": d.extra_hosts,
        "binds": d.binds, "mounts": d.mounts,
        "prune": {"idleHours": spec.prune.idle_hours, "maxAgeDays": spec.prune.max_age_days},
        "allowsWorkspaceWrites": spec.allows_workspace_writes(),
    })
}

fn block(case: &Value, key: &str) -> Option<SandboxConfig> {
    case.get(key).map(|v| serde_json::from_value(v.clone()).unwrap())
}

#[test]
fn resolve_matches_the_case_table() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spec_cases.json5")).unwrap();
    let cases: Vec<Value> = json5::from_str(&text).unwrap();
    assert!(cases.len() >= 20);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let defaults = block(case, "defaults");
        let agent = block(case, "agent");
        let session = case
            .get("session")
            .and_then(Value::as_str)
            .unwrap_or("agent:main:telegram:group:-100");
        let ctx = SandboxContext {
            agent_id: "Main",
            session_key: session,
            is_main_session: case.get("isMain").and_then(Value::as_bool).unwrap_or(false),
            agent_workspace: Path::new("/home/op/ws"),
            home: Path::new("/home/op"),
        };
        let expect = case["expect"].as_object().unwrap();
        match resolve(defaults.as_ref(), agent.as_ref(), &ctx) {
            Err(e) => {
                let field = expect
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{name}: unexpected error {e}"));
                assert_eq!(e.code(), "bad_spec", "{name}");
                assert!(e.to_string().contains(field), "{name}: {e}");
            }
            Ok(SandboxDecision::Host { reason }) => {
                assert_eq!(
                    expect.get("host").and_then(Value::as_str),
                    Some(reason.code()),
                    "{name}"
                );
            }
            Ok(SandboxDecision::Sandboxed(spec)) => {
                assert!(
                    expect.get("host").is_none() && expect.get("error").is_none(),
                    "{name}: was sandboxed"
                );
                let seen = observed(&spec);
                for (key, want) in expect {
                    assert_eq!(&seen[key], want, "{name}: {key}");
                }
            }
        }
    }
}

fn sandboxed(config: Value, session: &str) -> SandboxSpec {
    let config: SandboxConfig = serde_json::from_value(config).unwrap();
    let ctx = SandboxContext {
        agent_id: "main",
        session_key: session,
        is_main_session: false,
        agent_workspace: Path::new("/ws"),
        home: Path::new("/home/op"),
    };
    match resolve(Some(&config), None, &ctx).unwrap() {
        SandboxDecision::Sandboxed(spec) => *spec,
        SandboxDecision::Host { reason } => panic!("{reason}"),
    }
}

#[test]
fn the_config_hash_ignores_map_order_and_follows_every_setting() {
    let base = sandboxed(json!({"mode": "all", "docker": {"env": {"A": "1", "B": "2"}}}), "s");
    let reordered = sandboxed(json!({"mode": "all", "docker": {"env": {"B": "2", "A": "1"}}}), "s");
    assert_eq!(base.config_hash, reordered.config_hash);
    assert_eq!(base.config_hash.len(), 64);
    let variants = [
        json!({"mode": "all", "docker": {"env": {"A": "1", "B": "3"}}}),
        json!({"mode": "all", "docker": {"env": {"A": "1", "B": "2"}, "memory": "1g"}}),
        json!({"mode": "all", "docker": {"env": {"A": "1", "B": "2"}, "network": "bridge"}}),
        json!({"mode": "all", "docker": {"env": {"A": "1", "B": "2"}, "image": "other:tag"}}),
        json!({"mode": "all", "workspaceAccess": "rw", "docker": {"env": {"A": "1", "B": "2"}}}),
        json!({"mode": "all", "workspaceRoot": "/elsewhere", "docker": {"env": {"A": "1", "B": "2"}}}),
    ];
    for variant in variants {
        assert_ne!(
            sandboxed(variant.clone(), "s").config_hash,
            base.config_hash,
            "{variant}"
        );
    }
}

#[test]
fn slugs_follow_openclaw() {
    let key = "agent:main:telegram:dm:123";
    let slug = spec::slugify(key);
    assert!(slug.starts_with("agent-main-telegram-dm-123-"), "{slug}");
    assert_eq!(spec::scope_slug(SandboxScope::Shared, key), "shared");
    assert_eq!(spec::slugify("  AGENT:Main  "), spec::slugify("AGENT:Main"));
    assert!(spec::slugify("AGENT:Main").starts_with("agent-main-"));
    let long = spec::slugify(&"x".repeat(100));
    assert_eq!(long.len(), 32 + 1 + 8);
}

#[test]
fn workspace_mounts_follow_workspace_access() {
    let mounts = spec::workspace_mounts(WorkspaceAccess::Ro, Path::new("/sbx/a"), Path::new("/ws"), "/workspace");
    let binds: Vec<String> = mounts.iter().map(|m| m.bind_entry()).collect();
    assert_eq!(binds, ["/sbx/a:/workspace:rw", "/ws:/agent:ro"]);
}

proptest! {
    #[test]
    fn container_names_are_valid_docker_names(key in "\\PC{0,120}", prefix in "[a-z][a-z0-9-]{0,20}") {
        let name = spec::container_name(&prefix, &spec::slugify(&key));
        prop_assert!(name.len() <= 63);
        prop_assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')));
    }

    #[test]
    fn distinct_keys_get_distinct_slugs(a in "[a-z:]{1,40}", b in "[a-z:]{1,40}") {
        prop_assume!(a.trim() != b.trim());
        prop_assert_ne!(spec::slugify(&a), spec::slugify(&b));
    }
}
