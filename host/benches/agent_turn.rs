//! The gateway's own cost per agent turn, and the memory an idle session costs.
//!
//! A turn with one tool call is two model requests. The model here is a local server that
//! answers at once (one SSE chunk), so what remains is the gateway: session store and
//! transcript writes, history, tool policy, the tool call, and the provider client. Reported:
//! - the whole turn;
//! - the turn minus the time spent waiting in the provider client (`model_time`);
//! - the loopback floor: the same two requests sent with a bare HTTP client.
//!
//! Memory: RSS growth after many sessions were used once and left idle, per session.
//!
//! Run: `cargo bench -p openclaw --bench agent_turn` (`-- quick` for fewer rounds).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use openclaw_core::config::schema::Config;
use openclaw_core::routing::session_key::SessionKey;
use openclaw_core::security::redact::{RedactMode, Redactor};
use openclaw_host::agents::{self, TurnRequest};
use openclaw_host::events::EventBus;
use openclaw_host::plugins::serving::Plugins;
use openclaw_host::secrets::ResolvedSecrets;
use openclaw_host::state::StatePaths;
use openclaw_host::tools::Transport;
use serde_json::{Value, json};

fn sse(value: Value) -> String {
    format!("data: {value}\n\ndata: [DONE]\n\n")
}

/// Calls `session_status` when the conversation does not end in a tool result, else answers.
async fn model(body: Bytes) -> axum::response::Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let last_is_tool = request["messages"]
        .as_array()
        .and_then(|m| m.last())
        .is_some_and(|m| m["role"] == "tool");
    let chunk = if last_is_tool {
        json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "done"}, "finish_reason": "stop"}]})
    } else {
        json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "session_status", "arguments": "{}"}}]}, "finish_reason": "tool_calls"}]})
    };
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(axum::body::Body::from(sse(chunk)))
        .unwrap()
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let median = percentile(&samples, 0.5);
    println!(
        "{name:<44} min {:>8.1} µs   median {:>8.1} µs   p90 {:>8.1} µs",
        samples[0].as_secs_f64() * 1e6,
        median.as_secs_f64() * 1e6,
        percentile(&samples, 0.9).as_secs_f64() * 1e6
    );
    median
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let rounds = if quick { 200 } else { 1000 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, Router::new().route("/v1/chat/completions", post(model))).await.unwrap();
        });

        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join(".openclaw");
        std::fs::create_dir_all(&state_dir).unwrap();
        let paths = StatePaths {
            home: dir.path().to_path_buf(),
            config_path: state_dir.join("openclaw.json"),
            credentials_dir: state_dir.join("credentials"),
            state_dir: state_dir.clone(),
        };
        let config: Config = serde_json::from_value(json!({
            "models": {"providers": {"fast": {"api": "openai-completions", "baseUrl": format!("http://{addr}/v1"), "apiKey": "sk-bench-0123456789abcdef"}}},
            "agents": {"defaults": {"model": "fast/m"}, "list": [{"id": "main", "default": true}, {"id": "fresh"}]},
            "tools": {"profile": "coding", "deny": ["group:runtime"]},
        }))
        .unwrap();
        let redactor = Arc::new(Redactor::with_known_secrets(RedactMode::Tools, &[], ["sk-bench-0123456789abcdef"]).unwrap());
        let config = Arc::new(config);
        let sandboxes = Arc::new(openclaw_host::sandboxes::Sandboxes::new(
            config.clone(),
            paths.clone(),
            &openclaw_host::state::Env::from_pairs(Vec::<(String, String)>::new()),
        ));
        let service = agents::build(
            &config,
            &paths,
            &ResolvedSecrets::default(),
            Arc::new(Plugins::default()),
            redactor,
            EventBus::new(),
            sandboxes,
        );
        let turn = |key: SessionKey, n: usize| {
            let service = service.clone();
            async move {
                let request = TurnRequest {
                    session_key: key,
                    message: "what is my session status?".into(),
                    transport: Transport::Operator,
                    channel: None,
                    sender: None,
                    run_id: format!("run-{n}"),
                    commands_allowed: true,
                    group_tools: None,
                };
                let started = Instant::now();
                let result = service.run_turn(request, &|_| {}).await.unwrap();
                assert_eq!(result.tool_calls, 1);
                (started.elapsed(), result.model_time)
            }
        };

        // The bare floor: the same two requests with a plain client on a kept-alive connection.
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/v1/chat/completions");
        let first = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "q"}]});
        let second = json!({"model": "m", "stream": true, "messages": [{"role": "tool", "content": "r", "tool_call_id": "call_1"}]});

        let (mut totals, mut own) = (Vec::new(), Vec::new());
        let (mut new_totals, mut new_own) = (Vec::new(), Vec::new());
        let mut floors = Vec::new();
        let mut session_keys = 0usize;
        // Ongoing conversations: 100 sessions, each 5 turns old after the warm-up, so a measured
        // turn carries 5 to 5 + rounds/100 earlier turns of history (each turn is 4 transcript
        // entries). A turn's cost grows with its history (it is read, and sent to the model).
        let ongoing: Vec<SessionKey> = (0..100).map(|n| SessionKey::new("main", &format!("bench:ongoing:{n}")).unwrap()).collect();
        for n in 0..ongoing.len() * 5 {
            session_keys += 1;
            let _ = turn(ongoing[n % ongoing.len()].clone(), n).await;
        }
        // Interleave the cases and the floor so all see the same machine speed.
        for n in 0..rounds {
            let (total, model_time) = turn(ongoing[n % ongoing.len()].clone(), n).await;
            totals.push(total);
            own.push(total.saturating_sub(model_time));
            session_keys += 1;
            // New sessions go to another agent, so the ongoing agent's store keeps its size.
            let (total, model_time) = turn(SessionKey::new("fresh", &format!("bench:new:{n}")).unwrap(), n).await;
            new_totals.push(total);
            new_own.push(total.saturating_sub(model_time));
            let started = Instant::now();
            for body in [&first, &second] {
                let _ = client.post(&url).json(body).send().await.unwrap().bytes().await.unwrap();
            }
            floors.push(started.elapsed());
        }
        println!(
            "agent turn with one tool call ({rounds} rounds of each case; ongoing sessions hold 5 to {} earlier turns)",
            5 + rounds / 100
        );
        let total = report("ongoing session: whole turn", totals);
        let own = report("ongoing session: minus provider client", own);
        let new_total = report("new session: whole turn", new_totals);
        let new_own = report("new session: minus provider client", new_own);
        let floor = report("loopback floor (the 2 requests, bare client)", floors);
        println!(
            "gateway overhead, ongoing session: {:.1} µs excluding the provider client, {:.1} µs including it (median turn − median floor)",
            own.as_secs_f64() * 1e6,
            total.saturating_sub(floor).as_secs_f64() * 1e6
        );
        println!(
            "gateway overhead, new session (its entry is written with fsync): {:.1} µs excluding the provider client, {:.1} µs including it",
            new_own.as_secs_f64() * 1e6,
            new_total.saturating_sub(floor).as_secs_f64() * 1e6
        );

        // Idle sessions: use many sessions once, then measure what stays resident.
        let idle = if quick { 1000 } else { 5000 };
        let before = rss_bytes();
        for n in 0..idle {
            session_keys += 1;
            let _ = turn(SessionKey::new("fresh", &format!("idle:{n}")).unwrap(), n).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = rss_bytes();
        println!(
            "idle sessions: {idle} used once; RSS {:.1} MiB → {:.1} MiB; {:.2} KiB per idle session ({session_keys} sessions in all)",
            before as f64 / 1048576.0,
            after as f64 / 1048576.0,
            after.saturating_sub(before) as f64 / idle as f64 / 1024.0
        );
    });
}
