//! How long one access decision takes for typical inbound messages (run:
//! `cargo bench -p openclaw-core --bench access`). The target is the whole access + routing
//! decision at ≥ 200,000 messages per second on one core, i.e. well under 5 µs here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use openclaw_core::access::{AccessSnapshot, ChatType, InboundFacts, admit};
use openclaw_core::config::schema::Config;

fn config() -> Config {
    serde_json::from_value(serde_json::json!({
        "channels": {
            "telegram": {
                "dmPolicy": "pairing",
                "allowFrom": ["123456789", "tg:555"],
                "groupAllowFrom": ["123456789", "42", "43", "44", "45", "46", "47", "48"],
                "groups": {
                    "*": { "requireMention": true },
                    "-1001": { "requireMention": true, "tools": { "deny": ["exec"] },
                               "toolsBySender": { "id:42": { "allow": ["read"] } },
                               "topics": { "7": { "agentId": "ops" } } }
                },
                "accounts": { "work": { "dmPolicy": "allowlist", "allowFrom": ["9"] } }
            },
            "whatsapp": { "dmPolicy": "pairing", "groups": { "*": { "requireMention": true } } }
        },
        "agents": { "list": [
            { "id": "main", "groupChat": { "mentionPatterns": ["@openclaw", "\\bclawd?\\b", "@mybot"] } },
            { "id": "ops", "identity": { "name": "Ops Bot", "emoji": "🛠" } }
        ] }
    }))
    .unwrap()
}

fn facts<'m>(chat_type: ChatType, sender: &'m str, text: &'m str) -> InboundFacts<'m> {
    InboundFacts {
        channel: "telegram",
        account_id: "",
        chat_type,
        chat_id: "-1001",
        guild_id: None,
        sender_id: sender,
        sender_name: Some("Alice Example"),
        sender_username: Some("alice"),
        thread_id: None,
        text,
        native_mention_supported: true,
        native_mention: false,
        reply_to_bot: false,
        agent_id: None,
    }
}

fn bench(c: &mut Criterion) {
    let (mut snapshot, _) = AccessSnapshot::new(&config());
    let paired: Vec<String> = (0..50).map(|i| format!("{}", 1_000_000 + i)).collect();
    snapshot.set_paired("telegram", "default", paired.iter().map(String::as_str));

    let body = "Could you look at the deploy logs from last night and tell me what failed?";
    let mentioned = format!("@OpenClaw {body}");
    let cases = [
        ("dm allowlisted", facts(ChatType::Direct, "123456789", body)),
        ("dm paired (50 in store)", facts(ChatType::Direct, "1000049", body)),
        ("dm stranger (challenge)", facts(ChatType::Direct, "999", body)),
        ("group mentioned by pattern", facts(ChatType::Group, "42", &mentioned)),
        ("group unmentioned (history)", facts(ChatType::Group, "42", body)),
        ("group sender not allowed", facts(ChatType::Group, "999", &mentioned)),
    ];
    for (name, msg) in &cases {
        c.bench_function(&format!("admit: {name}"), |b| {
            b.iter(|| black_box(admit(&snapshot, black_box(msg)).code()))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
