//! Webhook in → transcript on disk, through the real gateway binary.
//!
//! The gateway runs the Telegram plugin in webhook mode against a local Bot API server and a
//! local model server that answers at once. Many Telegram updates are POSTed to
//! `/webhooks/telegram` with the secret-token header, from several concurrent clients. Measured:
//! - **accepted**: webhook requests answered 200 per second; each answer means the host verified
//!   the secret, the plugin parsed the update, and the message was `fdatasync`ed into the ingress
//!   journal;
//! - **answered**: messages per second through the whole pipeline: access control, routing, the
//!   agent turn (the user message and the reply appended to the session's transcript), and the
//!   reply sent back through the plugin to the Bot API server. The model is a local server that
//!   answers at once in one SSE chunk (the test suite's scripted server streams in 1 ms pieces,
//!   which would measure its pauses).
//!
//! Run: `cargo bench -p openclaw --bench webhook_ingress` (`-- quick` for fewer messages).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use openclaw_test_support::telegram_server::{TelegramServer, dm_update};
use openclaw_test_support::{plugin_dir, workspace_root};
use serde_json::json;

const BOT_TOKEN: &str = "123456789:AAF-bench_Token-abcdefghijklmnopq";
const HOOK_SECRET: &str = "bench-hook-Secret_0123456789";
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_gateway(home: &std::path::Path) -> (Killed, u16) {
    use std::io::{BufRead, BufReader};
    // `BENCH_GATEWAY_BIN` runs another build of the gateway (a baseline in the same run).
    let binary = std::env::var_os("BENCH_GATEWAY_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_openclaw").into());
    let mut child = Command::new(binary)
        .args(["gateway", "run", "--port", "0"])
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OPENCLAW_DISABLE_BONJOUR", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        // Kept, so a gateway that dies under load says why (`BENCH_GATEWAY_STDERR=path`).
        .stderr(match std::env::var_os("BENCH_GATEWAY_STDERR") {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            None => Stdio::null(),
        })
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut port = 0;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("openclaw gateway listening on ") {
            port = rest
                .split_whitespace()
                .next()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            break;
        }
    }
    assert!(port > 0, "the gateway did not start");
    // The gateway keeps writing to stdout; a closed pipe would end it at its next line.
    std::thread::spawn(move || {
        let mut rest = String::new();
        for line in lines.map_while(Result::ok) {
            rest.push_str(&line);
            rest.push('\n');
        }
        if let Some(path) = std::env::var_os("BENCH_GATEWAY_STDOUT") {
            let _ = std::fs::write(path, rest);
        }
    });
    (Killed(child), port)
}

/// An OpenAI-compatible model that answers "ok" at once, in one SSE chunk.
async fn model(_body: axum::body::Bytes) -> axum::response::Response {
    let chunk = json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]});
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(axum::body::Body::from(format!("data: {chunk}\n\ndata: [DONE]\n\n")))
        .unwrap()
}

fn done_count(journal: &std::path::Path) -> usize {
    std::fs::read_to_string(journal)
        .map(|t| t.matches(r#""step":"done""#).count())
        .unwrap_or(0)
}

/// A number from the environment, else `default`.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let senders: i64 = env_or("BENCH_SENDERS", 50);
    let per_sender: i64 = env_or("BENCH_PER_SENDER", if quick { 10 } else { 40 });
    let total = (senders * per_sender) as usize;
    let clients: usize = env_or("BENCH_CLIENTS", 32);
    // `agents.defaults.maxConcurrent`: turns at once across the sessions.
    let turns: u64 = env_or("BENCH_TURNS", 4);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let tg = TelegramServer::start(BOT_TOKEN).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let model_addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(model));
            axum::serve(listener, app).await.unwrap();
        });
        let shipped =
            std::fs::read_to_string(workspace_root().join("plugins/telegram/openclaw-plugin.toml")).unwrap();
        let plugin = plugin_dir("telegram", &tg.local_manifest(&shipped));
        let home = tempfile::tempdir().unwrap();
        let state = home.path().join(".openclaw");
        std::fs::create_dir_all(&state).unwrap();
        let config = json!({
            "gateway": {"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": TOKEN}},
            "models": {"providers": {"local": {"api": "openai-completions", "baseUrl": format!("http://{model_addr}/v1"), "apiKey": "sk-bench-0123456789abcdef"}}},
            "agents": {"defaults": {"model": "local/m", "maxConcurrent": turns}},
            "session": {"dmScope": "per-channel-peer"},
            "logging": {"level": "warn"},
            "plugins": {
                "load": {"paths": [plugin.path()]},
                "allow": ["telegram"],
                // A busy bot's intake: the per-minute flood guards raised for this channel.
                "entries": {"telegram": {
                    "http": {"allowPrivateNetwork": ["127.0.0.1"]},
                    "limits": {"deliveriesPerMinute": 10_000_000, "deliveredBytesPerMinute": 1u64 << 34, "hostCalls": 1_000_000},
                }},
            },
            "channels": {"telegram": {
                "botToken": BOT_TOKEN, "apiRoot": tg.base_url(),
                "webhookUrl": "https://bot.example.com/telegram-webhook", "webhookSecret": HOOK_SECRET,
                "dmPolicy": "open", "allowFrom": ["*"],
            }},
        });
        std::fs::write(state.join("openclaw.json"), config.to_string()).unwrap();
        let (_gateway, port) = start_gateway(home.path());
        let url = format!("http://127.0.0.1:{port}/webhooks/telegram");
        let journal = state.join("ingress/journal.jsonl");

        let updates: Vec<serde_json::Value> = (0..total as i64)
            .map(|i| dm_update(1_000 + i, 9_000 + (i % senders), &format!("message {i}")))
            .collect();
        let started = Instant::now();
        let mut queue = updates.into_iter();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(std::iter::from_fn(move || queue.next())));
        // Telegram keeps its webhook connections open (up to 40 by default); so do the clients.
        let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let queue = queue.clone();
            let url = url.clone();
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let mut deferred = 0u64;
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some(update) = next else { break };
                    // A 503 is the gateway's backpressure; Telegram sends the update again later.
                    loop {
                        let response = client
                            .post(&url)
                            .header("X-Telegram-Bot-Api-Secret-Token", HOOK_SECRET)
                            .json(&update)
                            .send()
                            .await
                            .unwrap_or_else(|e| panic!("webhook request failed: {e:?}"));
                        let status = response.status();
                        // Reading the body to its end is what returns the connection to the
                        // pool; a dropped unread response closes it.
                        let body = response.bytes().await.unwrap();
                        if status == 503 {
                            if deferred == 0 {
                                eprintln!("first 503: {}", String::from_utf8_lossy(&body));
                            }
                            deferred += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                        break;
                    }
                }
                deferred
            }));
        }
        let mut deferred = 0;
        for task in tasks {
            deferred += task.await.unwrap();
        }
        let accepted = started.elapsed();
        let deadline = Instant::now() + Duration::from_secs(600);
        while done_count(&journal) < total {
            assert!(Instant::now() < deadline, "not every message was answered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let answered = started.elapsed();
        let replies = tg.sent().len();
        println!(
            "webhook_ingress: {total} messages from {senders} senders, {clients} concurrent clients, maxConcurrent {turns}\n  \
             accepted (verified, parsed, fsynced in the journal): {:>7.0} messages/s ({:.2} s)\n  \
             answered (access, routing, turn, transcript, reply sent): {:>7.0} messages/s ({:.2} s)\n  \
             deferred with 503 (backpressure, sent again): {deferred}\n  \
             turns (replies sent; a sender's messages queued behind a turn share the next one): {replies}",
            total as f64 / accepted.as_secs_f64(),
            accepted.as_secs_f64(),
            total as f64 / answered.as_secs_f64(),
            answered.as_secs_f64(),
        );
        assert!(replies > 0, "replies were sent");
    });
}
