//! The whole per-message decision the ingress makes, access control and routing together, over a
//! mixed stream of messages (run: `cargo bench -p openclaw-core --bench ingress_decisions`).
//! Target: ≥ 200,000 messages per second on one core. Criterion runs on one thread; the
//! throughput it prints is messages per second.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use openclaw_core::access::{AccessSnapshot, ChatType, InboundFacts, admit};
use openclaw_core::config::schema::Config;
use openclaw_core::routing::bindings::{RoutePeer, Router};
use openclaw_core::routing::session_key::ChatKind;

fn config() -> Config {
    serde_json::from_value(serde_json::json!({
        "session": {"dmScope": "per-channel-peer", "identityLinks": {"alice": ["telegram:123456789", "discord:987654321"]}},
        "bindings": [
            {"agentId": "ops", "match": {"channel": "telegram", "peer": {"kind": "group", "id": "-1002"}}},
            {"agentId": "work", "match": {"channel": "telegram", "accountId": "work"}},
            {"agentId": "main", "match": {"channel": "telegram", "accountId": "*"}}
        ],
        "channels": {
            "telegram": {
                "dmPolicy": "pairing",
                "allowFrom": ["123456789", "tg:555"],
                "groupAllowFrom": ["123456789", "42", "43", "44", "45", "46", "47", "48"],
                "groups": {
                    "*": {"requireMention": true},
                    "-1001": {"requireMention": true, "tools": {"deny": ["exec"]},
                              "toolsBySender": {"id:42": {"allow": ["read"]}}}
                },
                "accounts": {"work": {"dmPolicy": "allowlist", "allowFrom": ["9"]}}
            }
        },
        "agents": {"list": [
            {"id": "main", "default": true, "groupChat": {"mentionPatterns": ["@openclaw", "\\bclawd?\\b", "@mybot"]}},
            {"id": "ops", "identity": {"name": "Ops Bot"}},
            {"id": "work"}
        ]}
    }))
    .unwrap()
}

struct Message {
    chat: ChatType,
    chat_id: String,
    sender: String,
    text: String,
    account: &'static str,
}

fn stream() -> Vec<Message> {
    let body = "Could you look at the deploy logs from last night and tell me what failed?";
    (0..1000)
        .map(|i| {
            let (chat, chat_id, sender, text, account) = match i % 8 {
                0 => (
                    ChatType::Direct,
                    "123456789".to_string(),
                    "123456789".to_string(),
                    body.to_string(),
                    "",
                ),
                1 => (
                    ChatType::Direct,
                    format!("{}", 1_000_000 + i % 50),
                    format!("{}", 1_000_000 + i % 50),
                    body.to_string(),
                    "",
                ),
                2 => (
                    ChatType::Direct,
                    format!("{}", 5_000 + i),
                    format!("{}", 5_000 + i),
                    body.to_string(),
                    "",
                ),
                3 => (
                    ChatType::Group,
                    "-1001".to_string(),
                    "42".to_string(),
                    format!("@OpenClaw {body}"),
                    "",
                ),
                4 => (
                    ChatType::Group,
                    "-1001".to_string(),
                    "43".to_string(),
                    body.to_string(),
                    "",
                ),
                5 => (
                    ChatType::Group,
                    "-1002".to_string(),
                    "44".to_string(),
                    format!("hey clawd, {body}"),
                    "",
                ),
                6 => (
                    ChatType::Group,
                    "-1003".to_string(),
                    "999".to_string(),
                    format!("@mybot {body}"),
                    "",
                ),
                _ => (
                    ChatType::Direct,
                    "9".to_string(),
                    "9".to_string(),
                    body.to_string(),
                    "work",
                ),
            };
            Message {
                chat,
                chat_id,
                sender,
                text,
                account,
            }
        })
        .collect()
}

fn decide(router: &Router, snapshot: &AccessSnapshot, m: &Message) -> usize {
    let kind = match m.chat {
        ChatType::Direct => ChatKind::Direct,
        ChatType::Group => ChatKind::Group,
        ChatType::Channel => ChatKind::Channel,
    };
    let peer_id = if m.chat == ChatType::Direct {
        &m.sender
    } else {
        &m.chat_id
    };
    let mut peer = RoutePeer::new("telegram", kind, peer_id);
    peer.account_id = (!m.account.is_empty()).then_some(m.account);
    let route = router.route(&peer);
    let facts = InboundFacts {
        channel: "telegram",
        account_id: m.account,
        chat_type: m.chat,
        chat_id: &m.chat_id,
        guild_id: None,
        sender_id: &m.sender,
        sender_name: Some("Alice Example"),
        sender_username: Some("alice"),
        thread_id: None,
        text: &m.text,
        native_mention_supported: true,
        native_mention: false,
        reply_to_bot: false,
        agent_id: route.as_ref().ok().map(|r| r.agent_id.as_str()),
    };
    let code = admit(snapshot, &facts).code();
    code.len() + route.map(|r| r.session_key.as_str().len()).unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    let config = config();
    let (mut snapshot, _) = AccessSnapshot::new(&config);
    let paired: Vec<String> = (0..50).map(|i| format!("{}", 1_000_000 + i)).collect();
    snapshot.set_paired("telegram", "default", paired.iter().map(String::as_str));
    let router = Router::new(&config);
    let messages = stream();
    let mut group = c.benchmark_group("ingress decisions");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("route + admit, mixed stream of 1000 messages", |b| {
        b.iter(|| {
            let mut sum = 0;
            for m in &messages {
                sum += decide(&router, &snapshot, black_box(m));
            }
            black_box(sum)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
