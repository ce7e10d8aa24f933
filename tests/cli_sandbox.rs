//! `openclaw sandbox explain|list|recreate|prune` with the real binary; list, recreate and
//! prune against the real Docker daemon (never skipped) and the busybox test image.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::Sandbox;
use openclaw_core::routing::session_key::SessionKey;
use openclaw_host::sandboxes::Sandboxes;
use openclaw_host::state::{Env, StatePaths};
use openclaw_sandbox::test_image::{TEST_IMAGE, TEST_USER, ensure_test_image};
use openclaw_sandbox::{Engine, EngineEndpoint, ExecRequest, SandboxDecision, SandboxManager};
use serde_json::{Value, json};

fn explain_config(home: &Sandbox) {
    home.write_config(
        &json!({
            "agents": {
                "defaults": {"sandbox": {
                    "mode": "non-main",
                    "scope": "session",
                    "workspaceAccess": "ro",
                    "docker": {"memory": "256m", "pidsLimit": 64, "env": {"API_TOKEN": "s3cret-value"}},
                    "prune": {"idleHours": 2},
                }},
                "list": [{"id": "main"}, {"id": "ops", "sandbox": {"mode": "off"}}],
            },
            "tools": {"sandbox": {"tools": {"deny": ["process"]}}},
        })
        .to_string(),
    );
}

#[test]
fn explain_shows_mode_scope_mounts_limits_and_where_each_tool_runs() {
    let home = Sandbox::new();
    explain_config(&home);
    let run = home.run(&[
        "sandbox",
        "explain",
        "--session",
        "agent:main:telegram:group:-100123",
        "--json",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["agentId"], "main");
    assert_eq!(report["mode"], "non-main");
    assert_eq!(report["sandboxed"], true);
    assert_eq!(report["scope"], "session");
    assert_eq!(report["workspaceAccess"], "ro");
    let container = &report["container"];
    assert!(
        container["name"].as_str().unwrap().starts_with("openclaw-sbx-"),
        "{container}"
    );
    assert_eq!(container["network"], "none");
    assert_eq!(container["readOnlyRoot"], true);
    assert_eq!(container["memory"], 256 * 1024 * 1024);
    assert_eq!(container["pidsLimit"], 64);
    assert_eq!(container["capDrop"], json!(["ALL"]));
    // Environment values may be secrets: only their names are shown.
    assert_eq!(container["envKeys"], json!(["API_TOKEN"]));
    assert!(!run.stdout.contains("s3cret-value"));
    let mounts = container["mounts"].as_array().unwrap();
    assert!(
        mounts.iter().any(|m| m["target"] == "/agent" && m["readOnly"] == true),
        "{mounts:?}"
    );
    assert_eq!(report["prune"]["idleHours"], 2);
    let runs = |tool: &str| -> Value {
        report["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tool"] == tool)
            .cloned()
            .unwrap_or_else(|| panic!("{tool} missing from {}", report["tools"]))
    };
    assert_eq!(
        runs("exec")["runs"],
        format!("sandbox container {}", container["name"].as_str().unwrap())
    );
    assert_eq!(runs("process")["runs"], "denied");
    assert!(runs("process")["reason"].as_str().unwrap().contains("sandbox"));
    assert_eq!(runs("write")["runs"], "refused");
    assert!(
        runs("read")["runs"]
            .as_str()
            .unwrap()
            .starts_with("gateway, confined to ")
    );
    let policy = &report["sandboxToolPolicy"];
    assert_eq!(policy["applied"], true);
    assert!(
        policy["sources"].to_string().contains("tools.sandbox.tools.deny"),
        "{policy}"
    );

    // The main session stays on the host under non-main; so does every session of `ops`.
    let main = home.run(&["sandbox", "explain", "--json"]).json();
    assert_eq!(main["sessionKey"], "agent:main:main");
    assert_eq!(main["sandboxed"], false);
    assert_eq!(
        main["hostReason"],
        "not sandboxed: the main session under mode non-main"
    );
    let exec = main["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "exec")
        .unwrap()
        .clone();
    assert_eq!(exec["runs"], "gateway host");
    let ops = home.run(&["sandbox", "explain", "--agent", "ops", "--json"]).json();
    assert_eq!(ops["mode"], "off");
    assert_eq!(ops["modeSource"], "agent");
    assert_eq!(ops["sandboxed"], false);

    // The text form says the same.
    let text = home.run(&["sandbox", "explain", "--session", "agent:main:telegram:group:-100123"]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert!(text.stdout.contains("sandboxed: yes, scope session"), "{}", text.stdout);
    assert!(text.stdout.contains("-> /agent (ro)"), "{}", text.stdout);
    assert!(text.stdout.contains("fix-it:"), "{}", text.stdout);
}

#[test]
fn explain_refuses_unknown_agents_bad_keys_and_unsupported_backends() {
    let home = Sandbox::new();
    explain_config(&home);
    let unknown = home.run(&["sandbox", "explain", "--agent", "nobody"]);
    assert_eq!(unknown.code, Some(1));
    assert!(unknown.stderr.contains("no agent \"nobody\""), "{}", unknown.stderr);
    let bad = home.run(&["sandbox", "explain", "--session", "agent::", "--json"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stdout);
    assert_eq!(bad.json()["ok"], false);
    let mismatch = home.run(&["sandbox", "explain", "--agent", "ops", "--session", "agent:main:x"]);
    assert_eq!(mismatch.code, Some(2));

    // A backend we do not have fails closed, and explain says so.
    home.write_config(&json!({"agents": {"defaults": {"sandbox": {"mode": "all", "backend": "ssh"}}}}).to_string());
    let report = home.run(&["sandbox", "explain", "--json"]).json();
    assert_eq!(report["sandboxed"], true);
    assert!(report["error"].as_str().unwrap().contains("\"ssh\""), "{report}");
    let exec = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "exec")
        .unwrap()
        .clone();
    assert_eq!(exec["runs"], "fails closed");

    // The operator may send exec to the gateway even from a sandboxed session; explain says so.
    home.write_config(
        &json!({"agents": {"defaults": {"sandbox": {"mode": "all"}}}, "tools": {"exec": {"host": "gateway"}}})
            .to_string(),
    );
    let report = home.run(&["sandbox", "explain", "--json"]).json();
    let exec = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "exec")
        .unwrap()
        .clone();
    assert_eq!(exec["runs"], "gateway host", "{exec}");
    assert!(exec["reason"].as_str().unwrap().contains("tools.exec.host"), "{exec}");
}

#[test]
fn list_recreate_and_prune_without_a_daemon_fail_with_the_cause() {
    let home = Sandbox::new().env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    explain_config(&home);
    for args in [
        &["sandbox", "list", "--json"][..],
        &["sandbox", "recreate", "--all", "--json"][..],
        &["sandbox", "prune", "--json"][..],
    ] {
        let run = home.run(args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stdout);
        let message = run.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains("/nonexistent/docker.sock"), "{args:?}: {message}");
    }
    let usage = home.run(&["sandbox", "recreate"]);
    assert_eq!(usage.code, Some(2));
    assert!(
        usage.stderr.contains("--all, --session <key> or --agent <id>"),
        "{}",
        usage.stderr
    );
}

/// Makes containers through the same code the gateway runs, for the config in `home`.
struct Live {
    sandboxes: Arc<Sandboxes>,
}

impl Live {
    async fn new(home: &Sandbox) -> Self {
        let engine = Engine::connect(EngineEndpoint::Unix(openclaw_sandbox::endpoint::DEFAULT_SOCKET.into()))
            .await
            .unwrap_or_else(|e| panic!("the sandbox tests need a running Docker daemon and were not skipped: {e}"));
        let cache = std::env::temp_dir().join("openclaw-test-busybox-static");
        ensure_test_image(&engine, TEST_IMAGE, &cache).await.unwrap();
        let env = Env::from_pairs([("HOME", home.home().display().to_string())]);
        let paths = StatePaths::resolve(&env).unwrap();
        let loaded = openclaw_host::config::load(&paths, &env).unwrap();
        let config = loaded.config().cloned().unwrap();
        Self {
            sandboxes: Arc::new(Sandboxes::new(Arc::new(config), paths, &env)),
        }
    }

    async fn touch(&self, session: &str) -> String {
        let key = SessionKey::parse(session, "main").unwrap();
        let SandboxDecision::Sandboxed(spec) = self.sandboxes.decide(key.agent_id(), &key).unwrap() else {
            panic!("{session} is not sandboxed");
        };
        let out = self.sandboxes.exec(&spec, &ExecRequest::shell("id -u")).await.unwrap();
        assert_eq!(out.stdout_text().trim(), "1000");
        spec.container_name.clone()
    }

    async fn manager(&self) -> Arc<SandboxManager> {
        self.sandboxes.manager().await.unwrap()
    }
}

fn live_config(home: &Sandbox, prefix: &str, extra_env: Option<&str>) {
    let mut docker = json!({"image": TEST_IMAGE, "containerPrefix": prefix, "user": TEST_USER});
    if let Some(value) = extra_env {
        docker["env"] = json!({"EXTRA": value});
    }
    home.write_config(
        &json!({"agents": {
            "defaults": {"sandbox": {"mode": "all", "scope": "session", "docker": docker}},
            "list": [{"id": "main"}, {"id": "ops"}],
        }})
        .to_string(),
    );
}

fn names(value: &Value, key: &str) -> Vec<String> {
    let mut names: Vec<String> = value[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v["name"].as_str().unwrap().to_string())
        })
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_containers_and_stale_config_then_recreate_and_prune_remove_them() {
    let prefix = format!("oc-clisbx-{}-", std::process::id());
    let home = Sandbox::new();
    live_config(&home, &prefix, None);
    let live = Live::new(&home).await;
    let a = live.touch("agent:main:telegram:direct:1").await;
    let b = live.touch("agent:main:telegram:direct:2").await;
    let c = live.touch("agent:ops:main").await;

    let listed = home.run(&["sandbox", "list", "--json"]);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let listed = listed.json();
    let ours: Vec<&Value> = listed["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with(&prefix))
        .collect();
    assert_eq!(ours.len(), 3, "{listed}");
    for row in &ours {
        assert_eq!(row["status"], "running");
        assert_eq!(row["configMatches"], true, "{row}");
        assert_eq!(row["image"], TEST_IMAGE);
        assert_eq!(row["backend"], "docker");
    }
    let text = home.run(&["sandbox", "list"]);
    assert!(
        text.stdout.contains(&a) && text.stdout.contains("current"),
        "{}",
        text.stdout
    );

    // A changed config makes every container stale.
    live_config(&home, &prefix, Some("1"));
    let stale = home.run(&["sandbox", "list", "--json"]).json();
    let stale_rows: Vec<&Value> = stale["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with(&prefix))
        .collect();
    assert!(stale_rows.iter().all(|r| r["configMatches"] == false), "{stale}");

    // Just used: kept unless forced.
    let kept = home.run(&[
        "sandbox",
        "recreate",
        "--session",
        "agent:main:telegram:direct:1",
        "--json",
    ]);
    assert_eq!(kept.code, Some(0), "{}", kept.stderr);
    assert_eq!(names(&kept.json(), "keptInUse"), vec![a.clone()]);
    let forced = home
        .run(&[
            "sandbox",
            "recreate",
            "--session",
            "agent:main:telegram:direct:1",
            "--force",
            "--json",
        ])
        .json();
    assert_eq!(names(&forced, "removed"), vec![a.clone()]);
    let by_agent = home
        .run(&["sandbox", "recreate", "--agent", "ops", "--force", "--json"])
        .json();
    assert_eq!(names(&by_agent, "removed"), vec![c.clone()]);
    let left: Vec<String> = live
        .manager()
        .await
        .list(Some(&prefix))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(left, vec![b.clone()]);

    // Nothing is idle yet: prune keeps b, and says so.
    let pruned = home.run(&["sandbox", "prune", "--json"]);
    assert_eq!(pruned.code, Some(0), "{}", pruned.stderr);
    assert!(!names(&pruned.json(), "removed").contains(&b));
    // The registry records what is left.
    let registry: Value =
        serde_json::from_str(&std::fs::read_to_string(home.state_dir().join("sandbox/containers.json")).unwrap())
            .unwrap();
    assert!(registry["entries"].to_string().contains(&b), "{registry}");
    assert_eq!(common::mode(&home.state_dir().join("sandbox/containers.json")), 0o600);

    let all = home.run(&["sandbox", "recreate", "--all", "--force", "--json"]).json();
    assert!(names(&all, "removed").contains(&b));
    assert!(live.manager().await.list(Some(&prefix)).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_follows_each_agents_policy() {
    let prefix = format!("oc-prunesbx-{}-", std::process::id());
    let home = Sandbox::new();
    home.write_config(
        &json!({"agents": {
            "defaults": {"sandbox": {"mode": "all", "scope": "agent", "prune": {"idleHours": 48, "maxAgeDays": 0},
                "docker": {"image": TEST_IMAGE, "containerPrefix": prefix, "user": TEST_USER}}},
            "list": [{"id": "main"}, {"id": "ops", "sandbox": {"prune": {"idleHours": 1}}}],
        }})
        .to_string(),
    );
    let live = Live::new(&home).await;
    let main = live.touch("agent:main:main").await;
    let ops = live.touch("agent:ops:main").await;
    // Three hours on: only ops (idleHours 1) is idle; main's 48 h have not passed.
    let later = openclaw_sandbox::manager::now_ms() + 3 * 3600 * 1000;
    let removed = live.sandboxes.prune(later).await.unwrap();
    let removed: Vec<String> = removed.into_iter().map(|(info, _)| info.name).collect();
    assert_eq!(removed, vec![ops.clone()]);
    let removed = live.sandboxes.prune(later + 48 * 3600 * 1000).await.unwrap();
    assert_eq!(removed.into_iter().map(|(i, _)| i.name).collect::<Vec<_>>(), vec![main]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_removes_its_stopped_containers_at_start_and_records_uses_at_stop() {
    let prefix = format!("oc-upkeepsbx-{}-", std::process::id());
    let home = Sandbox::new().env("OPENCLAW_DISABLE_BONJOUR", "1");
    live_config(&home, &prefix, None);
    let live = Live::new(&home).await;
    let kept = live.touch("agent:main:telegram:direct:1").await;
    let stopped = live.touch("agent:main:telegram:direct:2").await;
    let manager = live.manager().await;
    manager
        .engine()
        .docker()
        .stop_container(&stopped, None::<bollard::query_parameters::StopContainerOptions>)
        .await
        .unwrap();
    // Another gateway's stopped container (other prefix) is not ours to remove.
    let foreign_prefix = format!("oc-foreignsbx-{}-", std::process::id());
    let foreign_home = Sandbox::new();
    live_config(&foreign_home, &foreign_prefix, None);
    let foreign_live = Live::new(&foreign_home).await;
    let foreign = foreign_live.touch("agent:main:main").await;
    manager
        .engine()
        .docker()
        .stop_container(&foreign, None::<bollard::query_parameters::StopContainerOptions>)
        .await
        .unwrap();

    let mut gateway = common::Gateway::start(&home, &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let names: Vec<String> = manager
            .list(Some(&prefix))
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        if names == vec![kept.clone()] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stopped container never removed: {names:?}\n{}",
            gateway.stderr()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let stop = home.run(&["gateway", "stop", "--json"]);
    assert_eq!(stop.code, Some(0), "{}{}", stop.stdout, stop.stderr);
    assert!(gateway.wait(std::time::Duration::from_secs(30)).is_some());
    let registry: Value =
        serde_json::from_str(&std::fs::read_to_string(home.state_dir().join("sandbox/containers.json")).unwrap())
            .unwrap();
    let entries = registry["entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["containerName"] == kept.as_str()),
        "{registry}"
    );
    assert!(
        !entries.iter().any(|e| e["containerName"] == stopped.as_str()),
        "{registry}"
    );

    let foreign_left = manager.list(Some(&foreign_prefix)).await.unwrap();
    assert_eq!(foreign_left.len(), 1, "another prefix's container was touched");
    manager.remove_orphans(Some(&foreign_prefix), |_| false).await.unwrap();
    manager.remove_orphans(Some(&prefix), |_| false).await.unwrap();
}
