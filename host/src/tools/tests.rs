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
        Arc::new(config),
        paths.clone(),
        Arc::new(Plugins::default()),
        sessions,
        approvals,
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
    let h = harness(json!({
        "agents": {"defaults": {"sandbox": {"mode": "non-main"}}},
        "tools": {
            "exec": {"security": "full", "ask": "off"},
            "elevated": {"enabled": true, "allowFrom": {"telegram": ["123"]}},
        },
    }));
    let marker = h.paths.state_dir.join("workspace").join("ran");
    let command = json!({"command": "echo x > ran"});
    // The main session is not sandboxed under `non-main`: exec runs on the gateway host.
    let main = origin("agent:main:main", Transport::Agent);
    assert!(matches!(
        call(&h, &main, "exec", command.clone()).await,
        ToolOutcome::Done(_)
    ));
    std::fs::remove_file(&marker).unwrap();

    // A group session is sandboxed: no backend, so nothing runs, and it says why.
    let group = origin("agent:main:telegram:group:42", Transport::Agent);
    let out = call(&h, &group, "exec", command.clone()).await;
    assert!(
        matches!(&out, ToolOutcome::Refused(Refusal::Denied(m)) if m.contains("sandbox")),
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
