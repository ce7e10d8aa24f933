//! The assistant end to end: the real `openclaw gateway` talking to a local scripted model
//! server over real sockets (OpenAI-compatible and Anthropic wire formats), driven over the
//! operator protocol, `/tools/invoke`, `/v1/chat/completions` and `openclaw agent`. Each test
//! checks what the model was offered and shown, what ran on the host, and what was written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Gateway, Sandbox, mode};
use futures_util::{SinkExt, StreamExt};
use openclaw_test_support::model_server::{ModelServer, Script, Turn};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";
const API_KEY: &str = "sk-test-9f8e7d6c5b4a39281706f5e4d3c2b1a0";

fn sandbox() -> Sandbox {
    Sandbox::new().env("OPENCLAW_DISABLE_BONJOUR", "1")
}

/// A config with one provider `local` (wire format `api`) at the model server and the gateway
/// behind a token; `extra` is merged in at the top level.
fn config(server: &ModelServer, api: &str, model: Value, extra: Value) -> String {
    let base = if api == "anthropic-messages" {
        server.anthropic_base_url()
    } else {
        server.openai_base_url()
    };
    let mut config = json!({
        "gateway": {"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": TOKEN}},
        "models": {"providers": {"local": {"api": api, "baseUrl": base, "apiKey": API_KEY}}},
        "agents": {"defaults": {"model": model}},
    });
    merge(&mut config, extra);
    config.to_string()
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(base), Value::Object(extra)) => {
            for (k, v) in extra {
                match base.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (base, extra) => *base = extra,
    }
}

fn workspace(sandbox: &Sandbox) -> PathBuf {
    sandbox.state_dir().join("workspace")
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An operator connection that keeps the events it sees.
struct Operator {
    ws: Ws,
    events: Vec<Value>,
    next: u64,
}

impl Operator {
    async fn connect(gw: &Gateway) -> Self {
        let (mut ws, _) = tokio_tungstenite::connect_async(gw.ws_url()).await.unwrap();
        let challenge = Self::read(&mut ws).await;
        assert_eq!(challenge["event"], "connect.challenge");
        let connect = json!({"type": "req", "id": "c", "method": "connect", "params": {
            "minProtocol": 3, "maxProtocol": 3, "role": "operator",
            "client": {"id": "test", "version": "1"}, "auth": {"token": TOKEN},
        }});
        ws.send(Message::Text(connect.to_string().into())).await.unwrap();
        let hello = Self::read(&mut ws).await;
        assert_eq!(hello["ok"], true, "{hello}");
        Self {
            ws,
            events: Vec::new(),
            next: 0,
        }
    }

    async fn read(ws: &mut Ws) -> Value {
        loop {
            match tokio::time::timeout(Duration::from_secs(60), ws.next())
                .await
                .expect("no frame in 60 s")
            {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    }

    async fn send(&mut self, method: &str, params: Value) -> String {
        self.next += 1;
        let id = format!("r{}", self.next);
        let frame = json!({"type": "req", "id": id, "method": method, "params": params});
        self.ws.send(Message::Text(frame.to_string().into())).await.unwrap();
        id
    }

    /// Reads frames until the response to `id`; events are kept.
    async fn response(&mut self, id: &str) -> Value {
        loop {
            let frame = Self::read(&mut self.ws).await;
            if frame["type"] == "event" {
                self.events.push(frame);
            } else if frame["type"] == "res" && frame["id"] == id {
                return frame;
            }
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params).await;
        self.response(&id).await
    }

    /// Reads until an event named `name` arrives (or one already kept matches).
    async fn event(&mut self, name: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["event"] == name) {
            return self.events.remove(i);
        }
        loop {
            let frame = Self::read(&mut self.ws).await;
            if frame["type"] == "event" && frame["event"] == name {
                return frame;
            }
            self.events.push(frame);
        }
    }
}

fn transcript_lines(dir: &Path) -> Vec<Value> {
    let sessions = dir.join("agents/main/sessions");
    let store: Value = serde_json::from_str(&std::fs::read_to_string(sessions.join("sessions.json")).unwrap()).unwrap();
    let entry = &store["agent:main:main"];
    let id = entry["sessionId"].as_str().unwrap();
    let path = sessions.join(format!("{id}.jsonl"));
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&sessions.join("sessions.json")), 0o600);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_tool_runs_and_its_result_reaches_the_model() {
    let server = ModelServer::start(Script::new().model(
        "m1",
        [
            Turn::tool_call("read", json!({"path": "notes.txt"})),
            Turn::text("The note says: buy milk."),
        ],
    ))
    .await;
    let sandbox = sandbox();
    sandbox.write_config(&config(
        &server,
        "openai-completions",
        json!("local/m1"),
        json!({"tools": {"fs": {"workspaceOnly": true}}}),
    ));
    std::fs::create_dir_all(workspace(&sandbox)).unwrap();
    // The note also holds the provider's API key: the gateway knows it, so it is scrubbed from
    // the tool result before the model or the transcript sees it.
    std::fs::write(
        workspace(&sandbox).join("notes.txt"),
        format!("buy milk\nkey={API_KEY}\n"),
    )
    .unwrap();
    let gw = Gateway::start(&sandbox, &[]);
    let mut op = Operator::connect(&gw).await;
    let res = op.call("agent", json!({"message": "What does my note say?"})).await;
    assert_eq!(res["ok"], true, "{res}\n{}", gw.stderr());
    assert_eq!(res["payload"]["text"], "The note says: buy milk.");
    assert_eq!(res["payload"]["toolCalls"], 1);

    // The model was offered `read`, told the security rules, shown the file, and sent the key.
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].tool_names().contains(&"read".to_string()));
    assert!(requests[0].system().unwrap().contains("Never reveal API keys"));
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );
    let results = requests[1].tool_results();
    assert_eq!(results.len(), 1);
    assert!(results[0].1.contains("buy milk"), "{results:?}");
    assert!(
        !results[0].1.contains(API_KEY),
        "the key reached the model: {results:?}"
    );

    // Deltas streamed as `chat` events, then the final state.
    let deltas: String = op
        .events
        .iter()
        .filter(|e| e["event"] == "chat" && e["payload"]["state"] == "delta")
        .map(|e| e["payload"]["delta"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(deltas, "The note says: buy milk.");
    let final_event = op.event("chat").await;
    assert!(["final", "delta"].contains(&final_event["payload"]["state"].as_str().unwrap()));

    // The transcript: header, user, assistant tool call, tool result, assistant answer.
    let lines = transcript_lines(&sandbox.state_dir());
    assert_eq!(lines[0]["type"], "session");
    assert_eq!(lines[0]["version"], 3);
    let roles: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l["message"]["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "toolResult", "assistant"]);
    assert_eq!(lines[2]["parentId"], lines[1]["id"]);
    assert_eq!(lines[2]["message"]["content"][0]["type"], "toolCall");
    assert!(
        lines[3]["message"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("buy milk")
    );
    let on_disk = std::fs::read_to_string(
        sandbox
            .state_dir()
            .join("agents/main/sessions")
            .join(format!("{}.jsonl", lines[0]["id"].as_str().unwrap())),
    )
    .unwrap();
    assert!(!on_disk.contains(API_KEY), "the key reached the transcript");

    // History over the protocol, and a second turn sees the first one.
    let history = op.call("chat.history", json!({})).await;
    assert_eq!(history["payload"]["messages"].as_array().unwrap().len(), 4, "{history}");
    server.push("m1", Turn::text("Still milk."));
    let again = op.call("agent", json!({"message": "And now?"})).await;
    assert_eq!(again["payload"]["text"], "Still milk.");
    let third = &server.requests()[2];
    let user_texts: Vec<String> = third
        .messages()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].to_string())
        .collect();
    assert_eq!(user_texts.len(), 2, "the second turn carries the first: {user_texts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_tool_is_never_offered_and_a_call_to_it_is_refused_with_the_reason() {
    let server = ModelServer::start(Script::new().model(
        "claude",
        [
            Turn::tool_call("exec", json!({"command": "touch pwned"})),
            Turn::text("I could not run that."),
        ],
    ))
    .await;
    let sandbox = sandbox();
    sandbox.write_config(&config(
        &server,
        "anthropic-messages",
        json!("local/claude"),
        json!({"tools": {"deny": ["exec"], "exec": {"host": "gateway", "security": "full", "ask": "off"}}}),
    ));
    let gw = Gateway::start(&sandbox, &[]);
    let mut op = Operator::connect(&gw).await;
    let res = op.call("agent", json!({"message": "run it"})).await;
    assert_eq!(res["payload"]["text"], "I could not run that.", "{res}");
    let requests = server.requests();
    assert!(
        !requests[0].tool_names().contains(&"exec".to_string()),
        "{:?}",
        requests[0].tool_names()
    );
    assert!(requests[0].header("x-api-key") == Some(API_KEY));
    let results = requests[1].tool_results();
    assert_eq!(results.len(), 1);
    assert!(results[0].2, "the refusal is an error result");
    assert!(
        results[0].1.contains("not allowed") && results[0].1.contains("tools.deny"),
        "{results:?}"
    );
    assert!(!workspace(&sandbox).join("pwned").exists(), "the tool never ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_that_needs_approval_runs_once_approved_and_never_when_denied_or_unanswered() {
    let marker = |n: u32| json!({"command": format!("echo ran > marker-{n}")});
    let server = ModelServer::start(Script::new().model(
        "m",
        [
            Turn::tool_call("exec", marker(1)),
            Turn::text("one"),
            Turn::tool_call("exec", marker(2)),
            Turn::text("two"),
            Turn::tool_call("exec", marker(3)),
            Turn::text("three"),
        ],
    ))
    .await;
    let sandbox = sandbox();
    sandbox.write_config(&config(
        &server,
        "openai-completions",
        json!("local/m"),
        json!({"tools": {"exec": {"host": "gateway", "security": "full", "ask": "always", "approvals": {"timeoutSeconds": 2}}}}),
    ));
    let gw = Gateway::start(&sandbox, &[]);
    let mut op = Operator::connect(&gw).await;
    let ws = workspace(&sandbox);

    for (n, decision) in [(1, Some("allow-once")), (2, Some("deny")), (3, None)] {
        let turn = op.send("agent", json!({"message": format!("run {n}")})).await;
        let requested = op.event("exec.approval.requested").await;
        let id = requested["payload"]["id"].as_str().unwrap().to_string();
        assert!(
            requested["payload"]["command"]
                .as_str()
                .unwrap()
                .contains(&format!("marker-{n}"))
        );
        if let Some(decision) = decision {
            let mut other = Operator::connect(&gw).await;
            let listed = other.call("exec.approval.list", json!({})).await;
            assert_eq!(listed["payload"]["pending"][0]["id"], id.as_str(), "{listed}");
            let resolved = other
                .call("exec.approval.resolve", json!({"id": id, "decision": decision}))
                .await;
            assert_eq!(resolved["ok"], true, "{resolved}");
        }
        let done = op.response(&turn).await;
        assert_eq!(done["ok"], true, "{done}");
    }
    assert_eq!(std::fs::read_to_string(ws.join("marker-1")).unwrap().trim(), "ran");
    assert!(!ws.join("marker-2").exists(), "a denied command never runs");
    assert!(!ws.join("marker-3").exists(), "an unanswered command never runs");
    let results: Vec<(String, String, bool)> = server
        .requests()
        .iter()
        .flat_map(|r| r.tool_results())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let text = format!("{results:?}");
    assert!(text.contains("the operator denied"), "{text}");
    assert!(text.contains("no operator approved"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_falls_over_and_garbage_is_a_clear_error_that_writes_only_the_failed_turn() {
    let server = ModelServer::start(
        Script::new()
            .model("broken", std::iter::repeat_n(Turn::status(500), 8))
            .model("backup", [Turn::text("from the backup")])
            .model("junk", [Turn::garbage()]),
    )
    .await;
    let sandbox = sandbox();
    sandbox.write_config(&config(
        &server,
        "openai-completions",
        json!({"primary": "local/broken", "fallbacks": ["local/backup"]}),
        json!({"agents": {"list": [{"id": "main"}, {"id": "junky", "model": "local/junk"}]}}),
    ));
    let gw = Gateway::start(&sandbox, &[]);
    let mut op = Operator::connect(&gw).await;
    let res = op.call("agent", json!({"message": "hello"})).await;
    assert_eq!(res["payload"]["text"], "from the backup", "{res}");
    assert_eq!(res["payload"]["model"], "backup");

    let res = op.call("agent", json!({"message": "hello", "agentId": "junky"})).await;
    assert_eq!(res["ok"], false);
    let message = res["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("local") && message.contains("junk"),
        "names the provider and model: {message}"
    );
    assert!(!message.contains(API_KEY));
    let sessions = sandbox.state_dir().join("agents/junky/sessions");
    let store: Value = serde_json::from_str(&std::fs::read_to_string(sessions.join("sessions.json")).unwrap()).unwrap();
    let id = store["agent:junky:main"]["sessionId"].as_str().unwrap();
    let lines: Vec<Value> = std::fs::read_to_string(sessions.join(format!("{id}.jsonl")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "header, the user message, the failed turn: {lines:?}");
    assert_eq!(lines[2]["message"]["stopReason"], "error");
    assert!(lines[2]["message"]["content"].as_array().unwrap().is_empty());
}

/// The seeds' `find ~` incident under the seeds' hardened baseline: the model asks to list the
/// home directory and to read the gateway's own config; nothing about either leaves the gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_find_home_incident_leaks_nothing_under_the_hardened_baseline() {
    let server = ModelServer::start(Script::new().model(
        "m",
        [
            Turn::tool_calls([
                ("exec", json!({"command": "find ~"})),
                ("read", json!({"path": "~/.openclaw/openclaw.json"})),
                ("bash", json!({"command": "cat ~/.openclaw/openclaw.json"})),
                (
                    "apply_patch",
                    json!({"input": "*** Begin Patch\n*** Add File: ../../x\n+x\n*** End Patch"}),
                ),
            ]),
            Turn::text("Sorry, I can't share that."),
        ],
    ))
    .await;
    let sandbox = sandbox();
    let hardened = json!({
        "gateway": {"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": TOKEN}},
        "session": {"dmScope": "per-channel-peer"},
        "tools": {
            "profile": "messaging",
            "deny": ["group:automation", "group:runtime", "group:fs", "sessions_spawn", "sessions_send"],
            "fs": {"workspaceOnly": true},
            "exec": {"security": "deny", "ask": "always"},
            "elevated": {"enabled": false},
        },
        "channels": {"whatsapp": {"dmPolicy": "pairing", "groups": {"*": {"requireMention": true}}}},
        "models": {"providers": {"local": {"api": "openai-completions", "baseUrl": server.openai_base_url(), "apiKey": API_KEY}}},
        "agents": {"defaults": {"model": "local/m"}},
    });
    sandbox.write_config(&hardened.to_string());
    std::fs::write(sandbox.home().join("diary-secret-project.txt"), "private").unwrap();
    let gw = Gateway::start(&sandbox, &[]);
    let mut op = Operator::connect(&gw).await;
    let res = op
        .call("agent", json!({"message": "Run find ~ and show me your config"}))
        .await;
    assert_eq!(res["ok"], true, "{res}");

    let requests = server.requests();
    let offered = requests[0].tool_names();
    for tool in ["exec", "process", "read", "write", "edit", "apply_patch"] {
        assert!(!offered.contains(&tool.to_string()), "{tool} offered: {offered:?}");
    }
    let results = requests[1].tool_results();
    assert_eq!(results.len(), 4);
    // The OpenAI wire format has no error flag for tool results: the refusal is in the text.
    assert!(
        results.iter().all(|(_, text, _)| text.contains("is not allowed")),
        "{results:?}"
    );
    let everything: String = requests.iter().map(|r| r.body.to_string()).collect();
    for leak in [TOKEN, "diary-secret-project", "\"auth\"", ".openclaw/agents"] {
        assert!(!everything.contains(leak), "`{leak}` reached the model");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_invoke_obeys_the_agent_tool_policy() {
    let server = ModelServer::start(Script::new()).await;
    let sandbox = sandbox();
    sandbox.write_config(&config(
        &server,
        "openai-completions",
        json!("local/m"),
        json!({"tools": {"deny": ["sessions_list"]}}),
    ));
    let gw = Gateway::start(&sandbox, &[]);
    let client = reqwest::Client::new();
    let invoke = |tool: &str| {
        client
            .post(gw.url("/tools/invoke"))
            .bearer_auth(TOKEN)
            .json(&json!({"tool": tool, "args": {}}))
            .send()
    };
    let denied = invoke("sessions_list").await.unwrap();
    assert_eq!(denied.status(), 403);
    let body: Value = denied.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("tools.deny"),
        "{body}"
    );
    let allowed = invoke("session_status").await.unwrap();
    assert_eq!(allowed.status(), 200);
    let body: Value = allowed.json().await.unwrap();
    assert_eq!(body["result"]["sessionKey"], "agent:main:main", "{body}");
    // Exec is on OpenClaw's HTTP deny list even where the policy allows it.
    let exec = invoke("exec").await.unwrap();
    assert_eq!(exec.status(), 403);
    let missing = invoke("no_such_tool").await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_endpoint_is_off_by_default_and_answers_when_enabled() {
    let server =
        ModelServer::start(Script::new().model("m", [Turn::text("plain answer"), Turn::text("streamed answer")])).await;
    let sandbox = sandbox();
    sandbox.write_config(&config(&server, "openai-completions", json!("local/m"), json!({})));
    let gw = Gateway::start(&sandbox, &[]);
    let client = reqwest::Client::new();
    let body = json!({"model": "openclaw", "messages": [{"role": "user", "content": "hi"}]});
    let off = client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 404);
    let unauthenticated = client
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    drop(gw);

    sandbox.write_config(&config(
        &server,
        "openai-completions",
        json!("local/m"),
        json!({"gateway": {"http": {"endpoints": {"chatCompletions": {"enabled": true}}}}}),
    ));
    let gw = Gateway::start(&sandbox, &[]);
    let unauthenticated = client
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let models: Value = client
        .get(gw.url("/v1/models"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        models["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "openclaw:main"),
        "{models}"
    );

    let answer: Value = client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["choices"][0]["message"]["content"], "plain answer", "{answer}");

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let response = client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(TOKEN)
        .json(&streamed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    let mut content = String::new();
    for line in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
        if line == "[DONE]" {
            break;
        }
        let chunk: Value = serde_json::from_str(line).unwrap();
        assert_eq!(chunk["object"], "chat.completion.chunk");
        if let Some(delta) = chunk["choices"][0]["delta"]["content"].as_str() {
            content.push_str(delta);
        }
    }
    assert_eq!(content, "streamed answer");
    assert!(text.trim_end().ends_with("data: [DONE]"));
}

#[test]
fn openclaw_agent_streams_the_reply_through_the_running_gateway() {
    let server = ModelServer::start_blocking(
        Script::new().model("m", [Turn::text("Hello from the model"), Turn::text("json reply")]),
    );
    let sandbox = sandbox();
    sandbox.write_config(&config(&server, "openai-completions", json!("local/m"), json!({})));
    let _gw = Gateway::start(&sandbox, &[]);
    let run = sandbox.run(&["agent", "--message", "hi"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout.trim(), "Hello from the model");
    let run = sandbox.run(&["agent", "-m", "again", "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["text"], "json reply");
    assert_eq!(json["sessionKey"], "agent:main:main");

    // Session commands are answered by the gateway, not the model.
    let status = sandbox.run(&["agent", "-m", "/status"]);
    assert!(
        status.stdout.contains("Session: agent:main:main") && status.stdout.contains("local/m"),
        "{}",
        status.stdout
    );
    let before = sandbox.run(&["agent", "-m", "/status", "--json"]).json()["sessionId"].clone();
    let reset = sandbox.run(&["agent", "-m", "/new"]);
    assert!(reset.stdout.contains("new session"), "{}", reset.stdout);
    let after = sandbox.run(&["agent", "-m", "/status", "--json"]).json()["sessionId"].clone();
    assert_ne!(before, after);
    let archived = std::fs::read_dir(sandbox.state_dir().join("agents/main/sessions"))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains(".jsonl.reset."));
    assert!(archived, "the old transcript is kept as *.reset.<ts>");
    assert_eq!(server.requests().len(), 2, "session commands never reach the model");

    // No gateway: a clear error.
    let other = self::sandbox();
    let run = other.run(&["agent", "-m", "hi"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("openclaw gateway"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_send_runs_a_turn_in_another_session_and_never_in_its_own() {
    let server = ModelServer::start(Script::new().model(
        "m",
        [
            Turn::tool_calls([
                (
                    "sessions_send",
                    json!({"sessionKey": "agent:main:work", "message": "ping"}),
                ),
                (
                    "sessions_send",
                    json!({"sessionKey": "agent:main:main", "message": "loop"}),
                ),
            ]),
            Turn::text("pong"),
            Turn::text("work said pong"),
        ],
    ))
    .await;
    let sandbox = sandbox();
    sandbox.write_config(&config(&server, "openai-completions", json!("local/m"), json!({})));
    let gw = Gateway::start(&sandbox, &[]);
    let mut op = Operator::connect(&gw).await;
    let res = op.call("agent", json!({"message": "ask the work session"})).await;
    assert_eq!(res["payload"]["text"], "work said pong", "{res}");
    let results = server.requests()[2].tool_results();
    assert!(results[0].1.contains("pong"), "{results:?}");
    assert!(results[1].1.contains("itself"), "{results:?}");
    let sessions = op.call("sessions.list", json!({})).await;
    let keys: Vec<&str> = sessions["payload"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"agent:main:work") && keys.contains(&"agent:main:main"),
        "{keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_never_stops_calling_tools_is_stopped_and_the_session_goes_on() {
    let server = ModelServer::start(Script::new().model(
        "m",
        std::iter::repeat_n(Turn::tool_call("session_status", json!({})), 16).chain([Turn::text("back to normal")]),
    ))
    .await;
    let sandbox = sandbox();
    sandbox.write_config(&config(&server, "anthropic-messages", json!("local/m"), json!({})));
    let gw = Gateway::start(&sandbox, &[]);
    let mut op = Operator::connect(&gw).await;
    let res = op.call("agent", json!({"message": "loop"})).await;
    assert_eq!(res["ok"], true, "{res}");
    assert!(
        res["payload"]["text"]
            .as_str()
            .unwrap()
            .contains("stopped after 16 rounds"),
        "{res}"
    );
    assert_eq!(res["payload"]["toolCalls"], 15, "the last round's calls are not run");
    assert_eq!(server.requests().len(), 16);
    // The next turn is accepted by the (strict) Anthropic wire format: the unanswered calls got
    // a result in the history.
    let res = op.call("agent", json!({"message": "hello?"})).await;
    assert_eq!(res["payload"]["text"], "back to normal", "{res}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_abort_stops_a_turn_that_waits_for_the_model() {
    let server = ModelServer::start(Script::new().model("m", [Turn::hang(), Turn::text("after the abort")])).await;
    let sandbox = sandbox();
    sandbox.write_config(&config(&server, "openai-completions", json!("local/m"), json!({})));
    let gw = Gateway::start(&sandbox, &[]);
    let mut op = Operator::connect(&gw).await;
    let started = op.call("chat.send", json!({"message": "take your time"})).await;
    assert_eq!(started["payload"]["status"], "started", "{started}");
    let run_id = started["payload"]["runId"].as_str().unwrap().to_string();
    // Wait until the model was asked, then abort.
    for _ in 0..200 {
        if !server.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let aborted = op.call("chat.abort", json!({})).await;
    assert_eq!(aborted["payload"]["aborted"], true, "{aborted}");
    assert_eq!(aborted["payload"]["runIds"][0], run_id.as_str());
    let event = loop {
        let event = op.event("chat").await;
        if event["payload"]["state"] != "delta" {
            break event;
        }
    };
    assert_eq!(event["payload"]["state"], "aborted", "{event}");
    assert_eq!(event["payload"]["runId"], run_id.as_str());
    // The session goes on.
    let res = op.call("agent", json!({"message": "again"})).await;
    assert_eq!(res["payload"]["text"], "after the abort", "{res}");
}

#[test]
fn openclaw_approvals_lists_and_answers_a_waiting_command() {
    let server = ModelServer::start_blocking(Script::new().model(
        "m",
        [
            Turn::tool_call("exec", json!({"command": "echo approved > by-cli"})),
            Turn::text("done"),
        ],
    ));
    let sandbox = sandbox();
    sandbox.write_config(&config(
        &server,
        "openai-completions",
        json!("local/m"),
        json!({"tools": {"exec": {"host": "gateway", "security": "full", "ask": "always"}}}),
    ));
    let _gw = Gateway::start(&sandbox, &[]);
    let turn = sandbox.command(&["agent", "-m", "run it", "--json"]);
    let waiting = std::thread::spawn(move || {
        let mut turn = turn;
        common::Run::from(turn.output().unwrap())
    });
    let id = (0..300)
        .find_map(|_| {
            let listed = sandbox.run(&["approvals", "list", "--json"]).json();
            let id = listed["pending"][0]["id"].as_str().map(str::to_string);
            if id.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            id
        })
        .expect("the command never waited for approval");
    let text = sandbox.run(&["approvals", "list"]);
    assert!(text.stdout.contains("echo approved > by-cli"), "{}", text.stdout);
    let approved = sandbox.run(&["approvals", "approve", &id]);
    assert_eq!(approved.code, Some(0), "{}", approved.stderr);
    let turn = waiting.join().unwrap();
    assert_eq!(turn.code, Some(0), "{}", turn.stderr);
    assert_eq!(turn.json()["text"], "done");
    assert!(workspace(&sandbox).join("by-cli").exists());
    let again = sandbox.run(&["approvals", "deny", &id]);
    assert_eq!(again.code, Some(1), "an answered request cannot be answered again");
    assert!(again.stderr.contains("no pending approval"), "{}", again.stderr);
}
