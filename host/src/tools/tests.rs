//! The gate in process: every transport's call goes through `Dispatcher::call`, so these cases
//! hold for the agent loop, `/tools/invoke` and the operator protocol alike.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use openclaw_core::config::schema::Config;
use openclaw_core::routing::session_key::SessionKey;
use openclaw_core::security::redact::{RedactMode, Redactor};
use serde_json::{Value, json};

use super::approvals::Approvals;
use super::dispatch::{CallOrigin, Dispatcher, Refusal, Sender, ToolOutcome, Transport};
use crate::events::EventBus;
use crate::plugins::serving::Plugins;
use crate::sessions::SessionStore;
use crate::state::StatePaths;

struct Harness {
    _dir: tempfile::TempDir,
    paths: StatePaths,
    dispatcher: Dispatcher,
}

fn harness(config: Value) -> Harness {
    harness_env(config, &[])
}

/// `env` is the gateway's environment (`DOCKER_HOST`...).
fn harness_env(config: Value, env: &[(&str, &str)]) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let state_dir = home.join(".openclaw");
    std::fs::create_dir_all(&state_dir).unwrap();
    let paths = StatePaths {
        home: home.clone(),
        config_path: state_dir.join("openclaw.json"),
        credentials_dir: state_dir.join("credentials"),
        state_dir: state_dir.clone(),
    };
    std::fs::write(&paths.config_path, config.to_string()).unwrap();
    let config: Config = serde_json::from_value(config).unwrap();
    let redactor = Arc::new(Redactor::new(RedactMode::Tools, &[]).unwrap());
    let sessions = Arc::new(SessionStore::new(&state_dir, None, redactor));
    let approvals = Arc::new(Approvals::new(EventBus::new()));
    let dispatcher = Dispatcher::new(
        Arc::new(config.clone()),
        paths.clone(),
        Arc::new(Plugins::default()),
        sessions,
        approvals,
        Arc::new(crate::sandboxes::Sandboxes::new(
            Arc::new(config.clone()),
            paths.clone(),
            &crate::state::Env::from_pairs(env.iter().copied()),
        )),
    );
    Harness {
        _dir: dir,
        paths,
        dispatcher,
    }
}

fn origin(key: &str, transport: Transport) -> CallOrigin {
    CallOrigin::new(SessionKey::parse(key, "main").unwrap(), transport)
}

async fn call(h: &Harness, origin: &CallOrigin, tool: &str, args: Value) -> ToolOutcome {
    h.dispatcher.call(origin, tool, args, "t1").await
}

#[tokio::test]
async fn policy_then_http_list_then_availability() {
    let h = harness(
        json!({"tools": {"deny": ["sessions_list"], "exec": {"host": "gateway", "security": "full", "ask": "off"}}}),
    );
    let agent = origin("agent:main:main", Transport::Agent);
    let http = origin("agent:main:main", Transport::Http);
    // Denied by policy on every transport, with the config path in the reason.
    for o in [&agent, &http] {
        let out = call(&h, o, "sessions_list", json!({})).await;
        assert!(
            matches!(&out, ToolOutcome::Refused(Refusal::Denied(m)) if m.contains("tools.deny")),
            "{out:?}"
        );
    }
    // `exec` passes the policy but is on the HTTP deny list: refused over HTTP only.
    let out = call(&h, &http, "exec", json!({"command": "echo hi"})).await;
    assert!(
        matches!(&out, ToolOutcome::Refused(Refusal::Denied(m)) if m.contains("over HTTP")),
        "{out:?}"
    );
    let out = call(&h, &agent, "exec", json!({"command": "echo hi"})).await;
    assert!(matches!(&out, ToolOutcome::Done(t) if t.contains("hi")), "{out:?}");
    // The alias goes through the same gate.
    let out = call(&h, &http, "bash", json!({"command": "echo hi"})).await;
    assert!(matches!(out, ToolOutcome::Refused(Refusal::Denied(_))));
    // A tool nobody provides is unavailable, not "denied".
    let out = call(&h, &agent, "browser", json!({})).await;
    assert!(matches!(out, ToolOutcome::Refused(Refusal::Unavailable(_))), "{out:?}");
    // Denied tools are not offered; the HTTP list shapes what HTTP callers are offered.
    let offered: Vec<String> = h.dispatcher.offered(&agent).into_iter().map(|t| t.name).collect();
    assert!(!offered.contains(&"sessions_list".to_string()) && offered.contains(&"exec".to_string()));
    let offered_http: Vec<String> = h.dispatcher.offered(&http).into_iter().map(|t| t.name).collect();
    assert!(!offered_http.contains(&"exec".to_string()) && !offered_http.contains(&"apply_patch".to_string()));
}

#[tokio::test]
async fn exec_in_a_sandboxed_session_fails_closed_and_elevated_needs_an_allowlisted_sender() {
    // No Docker engine at this address: a sandboxed call must fail, never run on the host.
    let h = harness_env(
        json!({
            "agents": {"defaults": {"sandbox": {"mode": "non-main"}}},
            "tools": {
                "exec": {"security": "full", "ask": "off"},
                "elevated": {"enabled": true, "allowFrom": {"telegram": ["123"]}},
            },
        }),
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    let marker = h.paths.state_dir.join("workspace").join("ran");
    let command = json!({"command": "echo x > ran"});
    // The main session is not sandboxed under `non-main`: exec runs on the gateway host.
    let main = origin("agent:main:main", Transport::Agent);
    assert!(matches!(
        call(&h, &main, "exec", command.clone()).await,
        ToolOutcome::Done(_)
    ));
    std::fs::remove_file(&marker).unwrap();

    // A group session is sandboxed: the engine is unreachable, so nothing runs, and it says
    // why and what to do.
    let group = origin("agent:main:telegram:group:42", Transport::Agent);
    let out = call(&h, &group, "exec", command.clone()).await;
    assert!(
        matches!(&out, ToolOutcome::Failed(m) if m.contains("sandbox required but Docker is unreachable at unix:///nonexistent/docker.sock")
            && m.contains("start Docker or set agents.defaults.sandbox.mode off")
            && m.contains("not run on the host")),
        "{out:?}"
    );
    let mut gateway_host = command.clone();
    gateway_host["host"] = json!("gateway");
    let out = call(&h, &group, "exec", gateway_host).await;
    assert!(
        matches!(out, ToolOutcome::Refused(_)),
        "a sandboxed session cannot pick the host itself"
    );
    assert!(!marker.exists());

    // Elevated: only for a sender tools.elevated.allowFrom names.
    let mut elevated = command.clone();
    elevated["elevated"] = json!(true);
    let out = call(&h, &group, "exec", elevated.clone()).await;
    assert!(
        matches!(&out, ToolOutcome::Refused(Refusal::Denied(m)) if m.contains("allowFrom")),
        "{out:?}"
    );
    let mut stranger = group.clone();
    stranger.sender = Some(Sender {
        channel: "telegram".into(),
        ids: vec!["999".into()],
    });
    let out = call(&h, &stranger, "exec", elevated.clone()).await;
    assert!(matches!(out, ToolOutcome::Refused(_)), "{out:?}");
    assert!(!marker.exists());
    let mut owner = group.clone();
    owner.sender = Some(Sender {
        channel: "telegram".into(),
        ids: vec!["123".into()],
    });
    let out = call(&h, &owner, "exec", elevated).await;
    assert!(matches!(out, ToolOutcome::Done(_)), "{out:?}");
    assert!(marker.exists());
}

#[tokio::test]
async fn file_tools_never_reach_the_gateway_state_even_without_workspace_confinement() {
    let h = harness(json!({"tools": {"fs": {"workspaceOnly": false}}}));
    let o = origin("agent:main:main", Transport::Agent);
    let config = h.paths.config_path.display().to_string();
    for (tool, args) in [
        ("read", json!({"path": config})),
        ("read", json!({"path": "~/.openclaw/openclaw.json"})),
        ("read", json!({"path": "../openclaw.json"})),
        (
            "write",
            json!({"path": "~/.openclaw/exec-approvals.json", "content": "{}"}),
        ),
        ("edit", json!({"path": config, "oldText": "tools", "newText": "x"})),
    ] {
        let out = call(&h, &o, tool, args.clone()).await;
        assert!(out.is_error(), "{tool} {args}: {out:?}");
    }
    assert!(!h.paths.state_dir.join("exec-approvals.json").exists());
    // The workspace itself (inside the state directory) stays usable.
    let out = call(&h, &o, "write", json!({"path": "a.txt", "content": "hello"})).await;
    assert!(matches!(out, ToolOutcome::Done(_)), "{out:?}");
    let out = call(&h, &o, "read", json!({"path": "a.txt"})).await;
    assert!(matches!(&out, ToolOutcome::Done(t) if t.contains("hello")), "{out:?}");
}

#[tokio::test]
async fn background_runs_belong_to_their_agent() {
    let h = harness(json!({
        "agents": {"list": [{"id": "main"}, {"id": "other"}]},
        "tools": {"exec": {"host": "gateway", "security": "full", "ask": "off"}},
    }));
    let main = origin("agent:main:main", Transport::Agent);
    let other = origin("agent:other:main", Transport::Agent);
    let out = call(&h, &main, "exec", json!({"command": "sleep 30", "background": true})).await;
    let ToolOutcome::Done(text) = out else {
        panic!("{out:?}")
    };
    let id = text.split('`').nth(1).unwrap().to_string();
    let theirs = call(&h, &other, "process", json!({"action": "kill", "sessionId": id})).await;
    assert!(theirs.is_error(), "another agent cannot stop it: {theirs:?}");
    let listed = call(&h, &main, "process", json!({"action": "list"})).await;
    assert!(listed.text().contains(&id), "{listed:?}");
    let killed = call(&h, &main, "process", json!({"action": "kill", "sessionId": id})).await;
    assert!(!killed.is_error(), "{killed:?}");
}

/// The real daemon and the busybox test image (built once, without a registry). Never skipped.
async fn sandbox_harness(prefix: &str, sandbox: Value) -> Harness {
    use openclaw_sandbox::test_image::{TEST_IMAGE, ensure_test_image};
    static IMAGE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let engine = openclaw_sandbox::Engine::connect(openclaw_sandbox::EngineEndpoint::Unix(
        openclaw_sandbox::endpoint::DEFAULT_SOCKET.into(),
    ))
    .await
    .unwrap_or_else(|e| panic!("the sandbox tests need a running Docker daemon and were not skipped: {e}"));
    IMAGE
        .get_or_init(|| async {
            let cache = std::env::temp_dir().join("openclaw-test-busybox-static");
            if let Err(e) = ensure_test_image(&engine, TEST_IMAGE, &cache).await {
                panic!("{e}");
            }
        })
        .await;
    let manager = openclaw_sandbox::SandboxManager::new(engine);
    manager.remove_orphans(Some(prefix), |_| false).await.unwrap();
    let mut block = sandbox;
    block["docker"]["image"] = json!(TEST_IMAGE);
    block["docker"]["containerPrefix"] = json!(prefix);
    harness(json!({
        "agents": {"defaults": {"sandbox": block}},
        "tools": {"exec": {"security": "full", "ask": "off"}},
    }))
}

async fn remove_sandboxes(h: &Harness, prefix: &str) {
    let manager = h.dispatcher.builtins().sandboxes().manager().await.unwrap();
    manager.remove_orphans(Some(prefix), |_| false).await.unwrap();
}

fn done_json(out: &ToolOutcome) -> Value {
    match out {
        ToolOutcome::Done(text) => serde_json::from_str(text).unwrap(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn sandboxed_exec_and_file_tools_work_in_the_sessions_container() {
    let prefix = format!("oc-tools-{}-", std::process::id());
    let h = sandbox_harness(&prefix, json!({"mode": "all", "scope": "session"})).await;
    let session = origin("agent:main:telegram:group:7", Transport::Agent);

    // It runs in the container: its own hostname and passwd, HOME at the workdir.
    let out = call(&h, &session, "exec", json!({"command": "cat /etc/hostname; grep ^sandbox: /etc/passwd; echo \"home=$HOME shell=$OPENCLAW_SHELL\"; pwd"})).await;
    let result = done_json(&out);
    let stdout = result["stdout"].as_str().unwrap();
    assert_eq!(result["exitCode"], 0, "{result}");
    assert!(result["sandbox"].as_str().unwrap().starts_with(&prefix), "{result}");
    assert!(
        stdout.contains("sandbox:x:1000:1000"),
        "the test image's passwd: {stdout}"
    );
    assert!(stdout.contains("home=/workspace shell=exec\n/workspace"), "{stdout}");
    let host_name = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    assert_ne!(stdout.lines().next().unwrap_or_default(), host_name.trim());

    // The file tools and exec see the same workspace: the sandbox's own, not the agent's.
    let out = call(
        &h,
        &session,
        "write",
        json!({"path": "note.txt", "content": "from the write tool"}),
    )
    .await;
    assert!(matches!(out, ToolOutcome::Done(_)), "{out:?}");
    let out = call(
        &h,
        &session,
        "exec",
        json!({"command": "cat note.txt && echo from exec > made.txt"}),
    )
    .await;
    assert_eq!(done_json(&out)["stdout"], "from the write tool");
    let out = call(&h, &session, "read", json!({"path": "made.txt"})).await;
    assert!(
        matches!(&out, ToolOutcome::Done(t) if t.contains("from exec")),
        "{out:?}"
    );
    assert!(!h.paths.state_dir.join("workspace").join("note.txt").exists());

    // A custom PATH reaches the shell as a variable, never as command text.
    let hostile_path = "/opt/bin\"; touch /workspace/pwned; echo \"";
    let out = call(
        &h,
        &session,
        "exec",
        json!({"command": "echo \"$PATH\"", "env": {"PATH": hostile_path, "NOTE": "$(touch /workspace/pwned2)"}}),
    )
    .await;
    let result = done_json(&out);
    assert!(
        result["stdout"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{hostile_path}:")),
        "{result}"
    );
    let out = call(&h, &session, "exec", json!({"command": "ls"})).await;
    let listing = done_json(&out)["stdout"].as_str().unwrap().to_string();
    assert!(!listing.contains("pwned"), "{listing}");

    // Another session has its own container and workspace.
    let other = origin("agent:main:telegram:group:8", Transport::Agent);
    let out = call(&h, &other, "exec", json!({"command": "ls; echo done"})).await;
    let result = done_json(&out);
    assert_eq!(result["stdout"], "done\n", "{result}");
    assert_ne!(
        result["sandbox"],
        done_json(&call(&h, &session, "exec", json!({"command": "true"})).await)["sandbox"]
    );

    // A timeout kills the command in the container.
    let out = call(&h, &session, "exec", json!({"command": "sleep 30", "timeout": 1})).await;
    assert_eq!(done_json(&out)["timedOut"], true);

    remove_sandboxes(&h, &prefix).await;
}

#[tokio::test]
async fn a_read_only_workspace_sandbox_refuses_the_writing_tools() {
    let prefix = format!("oc-tools-ro-{}-", std::process::id());
    let h = sandbox_harness(&prefix, json!({"mode": "all", "workspaceAccess": "ro"})).await;
    let session = origin("agent:main:main", Transport::Agent);
    let agent_workspace = h.paths.state_dir.join("workspace");
    std::fs::create_dir_all(&agent_workspace).unwrap();
    std::fs::write(agent_workspace.join("mine.txt"), "agent file").unwrap();
    for (tool, args) in [
        ("write", json!({"path": "x.txt", "content": "x"})),
        ("edit", json!({"path": "x.txt", "oldText": "x", "newText": "y"})),
    ] {
        let out = call(&h, &session, tool, args).await;
        assert!(
            matches!(&out, ToolOutcome::Refused(Refusal::Denied(m)) if m.contains("workspaceAccess is \"ro\"")),
            "{tool}: {out:?}"
        );
    }
    // The agent workspace is visible read-only at /agent; writing there fails in the container.
    let out = call(
        &h,
        &session,
        "exec",
        json!({"command": "cat /agent/mine.txt; echo y > /agent/mine.txt"}),
    )
    .await;
    let result = done_json(&out);
    assert!(result["stdout"].as_str().unwrap().contains("agent file"), "{result}");
    assert_ne!(result["exitCode"], 0, "{result}");
    assert_eq!(
        std::fs::read_to_string(agent_workspace.join("mine.txt")).unwrap(),
        "agent file"
    );
    remove_sandboxes(&h, &prefix).await;
}

#[tokio::test]
async fn background_runs_in_the_sandbox_stream_and_stop_on_kill() {
    let prefix = format!("oc-tools-bg-{}-", std::process::id());
    let h = sandbox_harness(&prefix, json!({"mode": "all"})).await;
    let session = origin("agent:main:main", Transport::Agent);
    let out = call(
        &h,
        &session,
        "exec",
        json!({"command": "echo first; sleep 300", "background": true}),
    )
    .await;
    let ToolOutcome::Done(text) = out else {
        panic!("{out:?}")
    };
    let id = text.split('`').nth(1).unwrap().to_string();
    // The first line arrives while the command still runs.
    let mut seen = String::new();
    for _ in 0..200 {
        let out = call(&h, &session, "process", json!({"action": "poll", "sessionId": id})).await;
        seen.push_str(out.text());
        if seen.contains("first") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen.contains("first") && seen.contains("[running]"), "{seen}");
    let out = call(&h, &session, "process", json!({"action": "kill", "sessionId": id})).await;
    assert!(out.text().contains("killed on request"), "{out:?}");
    // Nothing of it is left in the container.
    let out = call(
        &h,
        &session,
        "exec",
        json!({"command": "ps -o args | grep -c '[s]leep 300' || true"}),
    )
    .await;
    assert_eq!(done_json(&out)["stdout"], "0\n");
    remove_sandboxes(&h, &prefix).await;
}
