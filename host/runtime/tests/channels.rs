//! Channel plugins: a long-lived instance that keeps its state, delivers inbound messages, sends
//! with secrets it never sees, and is rebuilt with backoff after it crashes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::Harness;
use openclaw_runtime::inbound::{InboundReceiver, inbound_queue, inbound_queue_with};
use openclaw_runtime::{CallError, ChannelInstance, OutboundMessage, WebhookRequest};
use openclaw_test_support::TestServer;
use serde_json::json;

fn outbound(text: &str) -> OutboundMessage {
    OutboundMessage {
        account_id: "default".into(),
        chat_id: "u1".into(),
        thread_id: None,
        reply_to: Some("1".into()),
        text: text.into(),
    }
}

const PROBE: &str = r#"
id = "probe"
version = "0.1.0"
api = "0.1.0"
kind = "channel"
[component]
file = "channel_probe.wasm"
[channel]
id = "probe"
"#;

async fn probe(
    harness: &Harness,
    entry: serde_json::Value,
) -> (std::sync::Arc<ChannelInstance>, InboundReceiver, tempfile::TempDir) {
    let (plugin, dir) = harness
        .load(
            "channel-probe",
            PROBE,
            json!({"allow": ["probe"], "entries": {"probe": entry}}),
            &[],
        )
        .await;
    let (tx, rx) = inbound_queue();
    (ChannelInstance::new(plugin, tx).unwrap(), rx, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_survives_between_calls_and_is_rebuilt_after_a_crash() {
    let harness = Harness::new();
    let (channel, mut inbound, _dir) = probe(&harness, json!({"limits": {"timeoutMs": 500}})).await;

    for expected in ["1", "2", "3"] {
        channel.poll().await.unwrap();
        assert_eq!(inbound.recv().await.unwrap().text, expected, "state kept between polls");
    }
    assert_eq!(channel.starts(), 1);
    assert_eq!(channel.send(outbound("hi")).await.unwrap().message_id, "sent:hi");

    let crash = channel.send(outbound("panic")).await;
    assert!(matches!(crash, Err(CallError::Crashed { .. })), "{crash:?}");
    // Rebuilding waits for the backoff.
    let early = channel.poll().await;
    assert!(matches!(early, Err(CallError::BackingOff { .. })), "{early:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    channel.poll().await.unwrap();
    assert_eq!(
        inbound.recv().await.unwrap().text,
        "1",
        "a new instance starts from scratch"
    );
    assert_eq!(channel.starts(), 2);

    // A stuck call is stopped at the deadline and the instance replaced too.
    let stuck = channel.send(outbound("spin")).await;
    assert!(
        matches!(stuck, Err(CallError::Timeout { limit_ms: 500, .. })),
        "{stuck:?}"
    );
    let early = channel.send(outbound("hi")).await;
    assert!(matches!(early, Err(CallError::BackingOff { .. })), "{early:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_errors_are_reported_and_retried_with_backoff() {
    let harness = Harness::new();
    let (channel, _inbound, _dir) = probe(&harness, json!({"config": {"fail": true}})).await;
    let first = channel.start().await;
    match first {
        Err(CallError::Channel { ref message, .. }) => assert!(message.contains("told to fail"), "{first:?}"),
        other => panic!("expected a channel error, got {other:?}"),
    }
    assert!(matches!(channel.poll().await, Err(CallError::BackingOff { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_inbound_queue_is_a_typed_refusal() {
    let harness = Harness::new();
    let (plugin, _dir) = harness
        .load("channel-probe", PROBE, json!({"allow": ["probe"]}), &[])
        .await;
    let (tx, mut rx) = inbound_queue_with(1, 1 << 20);
    let channel = ChannelInstance::new(plugin, tx).unwrap();
    channel.poll().await.unwrap();
    let full = channel.poll().await;
    match full {
        Err(CallError::Channel { ref message, .. }) => assert!(message.contains("queue"), "{full:?}"),
        other => panic!("expected the queue-full refusal, got {other:?}"),
    }
    assert_eq!(rx.recv().await.unwrap().text, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minimal_channel_polls_delivers_and_sends_with_a_secret_it_never_sees() {
    const TOKEN: &str = "inbox-token-0123456789abcdef";
    let server = TestServer::start().await;
    server.set_inbox_token(TOKEN);
    server.push_inbox("u1", "hello gateway");
    server.push_inbox("u2", "second");
    let manifest = std::fs::read_to_string(
        openclaw_test_support::workspace_root().join("examples/minimal-channel/openclaw-plugin.toml"),
    )
    .unwrap()
    .replace("inbox.example.com", &server.host_port())
    .replace("http = [", "private-network = true\nhttp = [");
    let harness = Harness::new();
    let (plugin, _dir) = harness
        .load(
            "minimal-channel",
            &manifest,
            json!({
                "allow": ["minimal-channel"],
                "entries": {"minimal-channel": {
                    "config": {"baseUrl": server.url("/inbox"), "pollSeconds": 1},
                    "http": {"allowPrivateNetwork": ["127.0.0.1"]},
                    "secrets": {"INBOX_TOKEN": TOKEN}
                }}
            }),
            &[("INBOX_TOKEN", TOKEN)],
        )
        .await;
    let (tx, mut inbound) = inbound_queue();
    let channel = ChannelInstance::new(plugin, tx).unwrap();

    assert_eq!(channel.poll().await.unwrap(), Duration::from_secs(1));
    let first = inbound.recv().await.unwrap();
    let second = inbound.recv().await.unwrap();
    assert_eq!((first.sender_id.as_str(), first.text.as_str()), ("u1", "hello gateway"));
    assert_eq!(second.text, "second");
    // The offset is kept: nothing is delivered twice.
    channel.poll().await.unwrap();
    assert!(inbound.try_recv().is_none());
    server.push_inbox("u1", "third");
    channel.poll().await.unwrap();
    assert_eq!(inbound.recv().await.unwrap().text, "third");

    let receipt = channel.send(outbound("a reply")).await.unwrap();
    assert_eq!(receipt.message_id, "m1");
    assert_eq!(
        server.sent(),
        [json!({"chat": "u1", "text": "a reply", "replyTo": "1"})]
    );
}

const HOOK_SECRET: &str = "hook-Verif1cation/Secret+42";

/// The probe with a webhook verified by the `X-Probe-Secret` header against secret `HOOK`.
async fn webhook_probe(harness: &Harness) -> (std::sync::Arc<ChannelInstance>, tempfile::TempDir) {
    let manifest =
        format!("{PROBE}[channel.webhook]\nkind = \"header-equals\"\nheader = \"X-Probe-Secret\"\nsecret = \"HOOK\"\n");
    let (plugin, dir) = harness
        .load(
            "channel-probe",
            &manifest,
            json!({"allow": ["probe"], "entries": {"probe": {"secrets": {"HOOK": HOOK_SECRET}}}}),
            &[("HOOK", HOOK_SECRET)],
        )
        .await;
    let (tx, _rx) = inbound_queue();
    (ChannelInstance::new(plugin, tx).unwrap(), dir)
}

fn webhook(headers: &[(&str, &str)], path: &str, query: &str, body: &str) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path: path.into(),
        query: query.into(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.as_bytes().to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_reach_the_plugin_and_its_answer_comes_back() {
    let harness = Harness::new();
    let (channel, _dir) = webhook_probe(&harness).await;
    let response = channel
        .handle_webhook(webhook(
            &[("X-Probe", "yes"), ("X-Probe-Secret", HOOK_SECRET)],
            "/updates",
            "a=1",
            r#"{"update_id": 1}"#,
        ))
        .await
        .unwrap();
    assert_eq!(response.status, 202);
    let echoed: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        echoed,
        json!({"method": "POST", "path": "/updates", "query": "a=1", "header": "yes",
               "headers": [["X-Probe", "yes"]], "body": "{\"update_id\": 1}"})
    );
    // A channel without a recipe takes no webhook at all.
    let (plain, _inbound, _plain_dir) = probe(&harness, json!({})).await;
    let none = plain.handle_webhook(webhook(&[], "/", "", "")).await;
    assert!(matches!(none, Err(CallError::NoWebhook { .. })), "{none:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_requests_are_verified_and_reach_the_plugin_scrubbed() {
    let harness = Harness::new();
    let (channel, _dir) = webhook_probe(&harness).await;
    // Unverified requests never reach the plugin.
    for headers in [vec![], vec![("X-Probe-Secret", "wrong")]] {
        let refused = channel.handle_webhook(webhook(&headers, "/", "", "{}")).await;
        assert!(matches!(refused, Err(CallError::WebhookRefused { .. })), "{refused:?}");
    }
    // A verified request carrying the secret elsewhere (a platform echoing it, a forged path):
    // the plugin sees none of it, and not the verification header either.
    let encoded = "hook-Verif1cation%2FSecret%2B42";
    let response = channel
        .handle_webhook(webhook(
            &[
                ("X-Probe-Secret", HOOK_SECRET),
                ("x-probe", HOOK_SECRET),
                ("x-other", &format!("token={encoded}")),
            ],
            &format!("/u/{encoded}/x"),
            &format!("secret={encoded}"),
            &format!(r#"{{"secret_token": "{HOOK_SECRET}", "escaped": "hook-Verif1cation\/Secret+42"}}"#),
        ))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&response.body).into_owned();
    for leak in ["Verif1cation", "Secret+42", "X-Probe-Secret"] {
        assert!(
            !text.to_lowercase().contains(&leak.to_lowercase()),
            "{leak} reached the plugin: {text}"
        );
    }
    let echoed: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(echoed["header"], "[redacted:HOOK]", "{echoed}");
    assert_eq!(echoed["path"], "/u/[redacted:HOOK]/x", "{echoed}");
    assert_eq!(echoed["query"], "secret=[redacted:HOOK]", "{echoed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_capped_per_message_per_queue_and_per_window() {
    let harness = Harness::new();
    // One message larger than the per-message cap.
    let (big, mut big_rx, _d1) = probe(&harness, json!({"config": {"deliver": {"count": 1, "bytes": 1 << 20}}})).await;
    let refused = big.poll().await;
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("larger than the 262144-byte cap"), "{message}");
    assert!(big_rx.try_recv().is_none(), "the oversized message was queued");

    // A poll that fills the queue faster than the gateway drains it stops at the byte cap.
    let (flood, mut flood_rx, _d2) = probe(
        &harness,
        json!({"config": {"deliver": {"count": 200, "bytes": 200 * 1024}}}),
    )
    .await;
    let refused = flood.poll().await.unwrap_err().to_string();
    assert!(refused.contains("inbound queue for this channel is full"), "{refused}");
    let mut queued = 0usize;
    while let Some(m) = flood_rx.try_recv() {
        queued += m.text.len();
    }
    assert!(
        queued <= openclaw_runtime::inbound::QUEUE_BYTES,
        "{queued} bytes queued"
    );
    assert!(queued >= 1 << 20, "the queue still takes a fair amount: {queued}");

    // The host-call budget of a channel covers a window, not one poll: quick polls do not refill it.
    let (steady, mut steady_rx, _d3) = probe(
        &harness,
        json!({"limits": {"hostCalls": 5}, "config": {"deliver": {"count": 1, "bytes": 10}}}),
    )
    .await;
    let mut delivered = 0;
    let mut refusal = None;
    for _ in 0..20 {
        match steady.poll().await {
            Ok(_) => {}
            Err(e) => {
                refusal = Some(e.to_string());
                break;
            }
        }
        while steady_rx.try_recv().is_some() {
            delivered += 1;
        }
    }
    let refusal = refusal.expect("20 polls in a few milliseconds were all served from a budget of 5");
    assert!(refusal.contains("host-call budget of 5"), "{refusal}");
    assert_eq!(delivered, 5);
    // The per-minute intake is the grant's: an operator limit of 3 admits 3 within the window,
    // and the refusal names the setting that raises it.
    let (metered, mut metered_rx, _d4) = probe(
        &harness,
        json!({"limits": {"deliveriesPerMinute": 3}, "config": {"deliver": {"count": 1, "bytes": 10}}}),
    )
    .await;
    let mut delivered = 0;
    let mut refusal = None;
    for _ in 0..10 {
        if let Err(e) = metered.poll().await {
            refusal = Some(e.to_string());
            break;
        }
        while metered_rx.try_recv().is_some() {
            delivered += 1;
        }
    }
    let refusal = refusal.expect("10 deliveries in a minute passed a limit of 3");
    assert!(refusal.contains("at most 3 messages"), "{refusal}");
    assert!(refusal.contains("limits.deliveriesPerMinute"), "{refusal}");
    assert_eq!(delivered, 3);
}
