//! How long routing one admitted message takes (agent, session key, reason) over a realistic
//! config: five agents, a dozen bindings across the tiers, identity links and a Telegram topic
//! route (run: `cargo bench -p openclaw-core --bench routing`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use openclaw_core::config::check::check;
use openclaw_core::config::schema::Config;
use openclaw_core::routing::session_key::ChatKind;
use openclaw_core::routing::{PeerRef, RoutePeer, Router};

fn config() -> Config {
    let doc = serde_json::json!({
        "session": {
            "dmScope": "per-channel-peer",
            "identityLinks": {
                "alice": ["telegram:111111111", "discord:222222222222222222", "whatsapp:+15550001111"],
                "bob": ["telegram:333333333", "slack:U0BOB"],
                "carol": ["signal:+15550002222", "whatsapp:+15550003333"],
            },
        },
        "agents": { "list": [
            { "id": "main", "default": true },
            { "id": "work" },
            { "id": "family" },
            { "id": "public" },
            { "id": "coder" },
        ] },
        "channels": {
            "telegram": { "groups": { "-1001234567890": { "topics": { "42": { "agentId": "coder" } } } } },
        },
        "bindings": [
            { "agentId": "family", "match": { "channel": "whatsapp", "peer": { "kind": "group", "id": "120363000000000000@g.us" } } },
            { "agentId": "family", "match": { "channel": "telegram", "peer": { "kind": "direct", "id": "444444444" } } },
            { "agentId": "work", "match": { "channel": "slack", "accountId": "*", "peer": { "kind": "channel", "id": "C0WORK" } } },
            { "agentId": "public", "match": { "channel": "discord", "accountId": "*", "guildId": "900000000000000001", "roles": ["900000000000000010"] } },
            { "agentId": "public", "match": { "channel": "discord", "accountId": "*", "guildId": "900000000000000002" } },
            { "agentId": "work", "match": { "channel": "slack", "accountId": "*", "teamId": "T0WORK" } },
            { "agentId": "work", "match": { "channel": "whatsapp", "accountId": "biz" }, "session": { "dmScope": "per-account-channel-peer" } },
            { "agentId": "public", "match": { "channel": "discord", "accountId": "*" } },
            { "agentId": "main", "match": { "channel": "telegram" } },
            { "agentId": "coder", "type": "acp", "match": { "channel": "discord", "peer": { "kind": "channel", "id": "950000000000000000" } } },
        ],
    });
    let checked = check(doc, &|_| None, &[]);
    assert!(!checked.has_errors(), "{:#?}", checked.issues);
    checked.config.unwrap()
}

fn bench(c: &mut Criterion) {
    let config = config();
    let router = Router::new(&config);
    assert!(router.warnings().is_empty(), "{:?}", router.warnings());
    let roles = vec!["900000000000000010".to_string()];
    let messages = [
        // Linked Telegram DM: account tier, identity link.
        RoutePeer::new("telegram", ChatKind::Direct, "111111111"),
        // Unlinked WhatsApp DM on a business account: account binding with its own dmScope.
        RoutePeer {
            account_id: Some("biz"),
            ..RoutePeer::new("whatsapp", ChatKind::Direct, "+15559998888")
        },
        // Discord guild channel, sender with the bound role.
        RoutePeer {
            guild_id: Some("900000000000000001"),
            roles: &roles,
            ..RoutePeer::new("discord", ChatKind::Channel, "960000000000000000")
        },
        // Slack thread in a bound channel, inherited by parent.
        RoutePeer {
            parent_peer: Some(PeerRef {
                kind: ChatKind::Channel,
                id: "C0WORK",
            }),
            thread_id: Some("1700000000.000100"),
            team_id: Some("T0WORK"),
            ..RoutePeer::new("slack", ChatKind::Channel, "C0WORK-thread")
        },
        // Telegram forum topic with its own agent.
        RoutePeer {
            thread_id: Some("42"),
            ..RoutePeer::new("telegram", ChatKind::Group, "-1001234567890")
        },
        // WhatsApp group, exact peer.
        RoutePeer::new("whatsapp", ChatKind::Group, "120363000000000000@g.us"),
        // Unbound channel: default agent.
        RoutePeer::new("imessage", ChatKind::Direct, "someone@example.com"),
    ];
    for m in &messages {
        router.route(m).unwrap();
    }

    let mut group = c.benchmark_group("routing");
    group.bench_function("route/telegram_dm_linked", |b| {
        b.iter(|| router.route(black_box(&messages[0])).unwrap())
    });
    group.bench_function("route/discord_guild_roles", |b| {
        b.iter(|| router.route(black_box(&messages[2])).unwrap())
    });
    group.bench_function("route/slack_thread_parent", |b| {
        b.iter(|| router.route(black_box(&messages[3])).unwrap())
    });
    group.bench_function("route/telegram_topic", |b| {
        b.iter(|| router.route(black_box(&messages[4])).unwrap())
    });
    group.bench_function("route/mixed_7_messages", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(router.route(black_box(m)).unwrap());
            }
        })
    });
    group.bench_function("router_new", |b| b.iter(|| Router::new(black_box(&config))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
