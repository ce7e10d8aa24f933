//! The Telegram channel plugin, built as a component, under the real runtime against a local
//! Bot API server: real sockets, the real grant, the token filled in by the host.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, logged_for};
use openclaw_runtime::inbound::{InboundReceiver, inbound_queue_with};
use openclaw_runtime::{
    CallError, ChannelInstance, ChatType, InboundMessage, LoadedPlugin, OutboundMessage, WebhookRequest,
};
use openclaw_test_support::telegram_server::{BotIdentity, Fault, TelegramServer, dm_update};
use openclaw_test_support::workspace_root;
use serde_json::{Value, json};

const TOKEN: &str = "123456789:AAF-test_Token-abcdefghijklmnopq";
const HOOK_SECRET: &str = "hook-Secret_0123456789";

/// The shipped manifest, pointed at the local server.
fn manifest_for(server: &TelegramServer) -> String {
    server.local_manifest(
        &std::fs::read_to_string(workspace_root().join("plugins/telegram/openclaw-plugin.toml")).unwrap(),
    )
}

struct Running {
    channel: Arc<ChannelInstance>,
    inbound: InboundReceiver,
    plugin: Arc<LoadedPlugin>,
    _dir: tempfile::TempDir,
}

async fn load(
    harness: &Harness,
    server: &TelegramServer,
    config: Value,
    token: &str,
) -> (Arc<LoadedPlugin>, tempfile::TempDir) {
    let mut config = config;
    config["apiRoot"] = json!(server.base_url());
    harness
        .load(
            "telegram",
            &manifest_for(server),
            json!({"allow": ["telegram"], "entries": {"telegram": {
                "config": config,
                "http": {"allowPrivateNetwork": ["127.0.0.1"]},
                "secrets": {"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_WEBHOOK_SECRET": HOOK_SECRET}
            }}}),
            &[("TELEGRAM_BOT_TOKEN", token), ("TELEGRAM_WEBHOOK_SECRET", HOOK_SECRET)],
        )
        .await
}

async fn running_with_queue(harness: &Harness, server: &TelegramServer, config: Value, queue: usize) -> Running {
    let (plugin, dir) = load(harness, server, config, TOKEN).await;
    let (tx, inbound) = inbound_queue_with(queue, 1 << 20);
    Running {
        channel: ChannelInstance::new(plugin.clone(), tx).unwrap(),
        inbound,
        plugin,
        _dir: dir,
    }
}

async fn running(harness: &Harness, server: &TelegramServer, config: Value) -> Running {
    running_with_queue(harness, server, config, 64).await
}

fn drain(inbound: &mut InboundReceiver) -> Vec<InboundMessage> {
    std::iter::from_fn(|| inbound.try_recv()).collect()
}

fn channel_message(result: Result<impl std::fmt::Debug, CallError>) -> String {
    match result {
        Err(CallError::Channel { message, .. }) => message,
        other => panic!("expected a channel error, got {other:?}"),
    }
}

fn outbound(chat_id: &str, text: &str) -> OutboundMessage {
    OutboundMessage {
        account_id: "default".into(),
        chat_id: chat_id.into(),
        thread_id: None,
        reply_to: None,
        text: text.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_delivers_every_kind_of_chat_with_its_fields() {
    let server = TelegramServer::start(TOKEN).await;
    let bot = server.bot();
    let harness = Harness::new();
    let mut t = running(
        &harness,
        &server,
        json!({"accountId": "default", "pollTimeoutSeconds": 0}),
    )
    .await;

    let dm = server.dm(42, "hello");
    let group = server.group(-100, 43, "lunch?");
    let mention = server.group_mention(-100, 44, "status?");
    let reply = server.reply_to_bot(-100, 45, "thanks");
    let forum = -1_000_000_000_009;
    let topic = server.topic(forum, 46, 7, "in the topic");
    let post = server.channel_post(-1_000_000_000_777, "news");
    assert_eq!(
        t.channel.poll().await.unwrap(),
        openclaw_runtime::channel::MIN_POLL_INTERVAL
    );
    let got = drain(&mut t.inbound);
    assert_eq!(got.len(), 6, "{got:?}");

    let by_id = |id: i64| got.iter().find(|m| m.message_id == id.to_string()).unwrap();
    let m = by_id(dm);
    assert_eq!(
        (m.chat_type, m.chat_id.as_str(), m.sender_id.as_str(), m.text.as_str()),
        (ChatType::Direct, "42", "42", "hello")
    );
    assert_eq!(m.account_id, "default");
    assert_eq!(m.sender_name.as_deref(), Some("User 42"));
    assert!(!m.mentioned && !m.reply_to_bot && m.thread_id.is_none());
    assert!(m.timestamp_ms > 1_700_000_000_000);
    let extra: Value = serde_json::from_str(m.extra.as_deref().unwrap()).unwrap();
    assert_eq!(extra, json!({"updateId": dm, "username": "user42"}));

    let m = by_id(group);
    assert_eq!(
        (m.chat_type, m.chat_id.as_str(), m.sender_id.as_str()),
        (ChatType::Group, "-100", "43")
    );
    assert!(!m.mentioned && !m.reply_to_bot);
    let extra: Value = serde_json::from_str(m.extra.as_deref().unwrap()).unwrap();
    assert_eq!(extra["chatTitle"], "Group -100");

    let m = by_id(mention);
    assert!(m.mentioned && !m.reply_to_bot, "{m:?}");
    assert_eq!(m.text, format!("@{} status?", bot.username));

    let m = by_id(reply);
    assert!(m.reply_to_bot && !m.mentioned, "{m:?}");

    let m = by_id(topic);
    assert_eq!((m.chat_type, m.thread_id.as_deref()), (ChatType::Group, Some("7")));
    assert!(!m.reply_to_bot, "the topic's opening message is no reply");

    let m = by_id(post);
    assert_eq!(
        (m.chat_type, m.chat_id.as_str(), m.sender_id.as_str()),
        (ChatType::Channel, "-1000000000777", "-1000000000777")
    );

    // getMe first; then (polling mode) a look at the webhook; then the poll.
    let methods: Vec<String> = server.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(methods, ["getMe", "getWebhookInfo", "getUpdates"]);
    let poll = &server.calls_of("getUpdates")[0];
    assert_eq!(poll.params["timeout"], 0);
    assert_eq!(
        poll.params["allowed_updates"],
        json!(["message", "edited_message", "channel_post"])
    );
    assert!(poll.params.get("offset").is_none());
    assert!(server.calls().iter().all(|c| c.authorized));

    // The next poll confirms the batch.
    t.channel.poll().await.unwrap();
    assert_eq!(server.calls_of("getUpdates")[1].params["offset"], post + 1);
    assert!(server.pending().is_empty());
    assert!(drain(&mut t.inbound).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_answers_when_an_update_arrives() {
    let server = Arc::new(TelegramServer::start(TOKEN).await);
    let harness = Harness::new();
    let mut t = running(&harness, &server, json!({"pollTimeoutSeconds": 10})).await;
    t.channel.start().await.unwrap();
    let pusher = {
        let server = server.clone();
        tokio::spawn(async move {
            // Push once the poll is waiting.
            while server.calls_of("getUpdates").is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            server.dm(42, "while you waited")
        })
    };
    t.channel.poll().await.unwrap();
    let pushed = pusher.await.unwrap();
    let got = t.inbound.recv().await.unwrap();
    assert_eq!(
        (got.message_id, got.text),
        (pushed.to_string(), "while you waited".to_string())
    );
    assert_eq!(server.calls_of("getUpdates")[0].params["timeout"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offset_is_kept_so_a_new_instance_does_not_deliver_again() {
    let server = TelegramServer::start(TOKEN).await;
    let harness = Harness::new();
    let mut first = running(&harness, &server, json!({"pollTimeoutSeconds": 0})).await;
    server.dm(42, "one");
    let two = server.dm(42, "two");
    first.channel.poll().await.unwrap();
    assert_eq!(drain(&mut first.inbound).len(), 2);
    // Telegram has not been told yet: only the next getUpdates confirms.
    assert_eq!(server.pending().len(), 2);

    // A crash before the gateway stored the batch must not lose it: a new instance (a restart)
    // gets it again, and the gateway's journal drops what it already had.
    let (tx, mut inbound) = inbound_queue_with(64, 1 << 20);
    let again = ChannelInstance::new(first.plugin.clone(), tx).unwrap();
    again.poll().await.unwrap();
    let texts: Vec<String> = drain(&mut inbound).into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["one", "two"]);
    // The next poll (the gateway stores what a poll delivered before it polls again) saves the
    // offset, so an instance started after it resumes there.
    again.poll().await.unwrap();
    let (tx, mut inbound) = inbound_queue_with(64, 1 << 20);
    let second = ChannelInstance::new(first.plugin.clone(), tx).unwrap();
    second.poll().await.unwrap();
    assert!(drain(&mut inbound).is_empty(), "nothing is delivered twice");
    assert_eq!(server.calls_of("getUpdates").last().unwrap().params["offset"], two + 1);
    let three = server.dm(42, "three");
    second.poll().await.unwrap();
    let got = drain(&mut inbound);
    assert_eq!(got.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["three"]);
    assert_eq!(got[0].message_id, three.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_keeps_the_offset_at_the_refused_update() {
    let server = TelegramServer::start(TOKEN).await;
    let harness = Harness::new();
    let mut t = running_with_queue(&harness, &server, json!({"pollTimeoutSeconds": 0}), 1).await;
    let ids = [server.dm(42, "1"), server.dm(42, "2"), server.dm(42, "3")];
    let offsets = || -> Vec<Value> {
        server
            .calls_of("getUpdates")
            .iter()
            .map(|c| c.params["offset"].clone())
            .collect()
    };
    let mut texts = Vec::new();
    // The queue holds one message: each poll delivers one and is refused the next.
    for round in 0..2 {
        let refused = channel_message(t.channel.poll().await);
        assert!(
            refused.starts_with("temporarily unavailable:") && refused.contains("queue"),
            "{refused}"
        );
        texts.extend(drain(&mut t.inbound).into_iter().map(|m| m.text));
        if round > 0 {
            assert_eq!(
                offsets()[round],
                ids[round - 1] + 1,
                "asked again from the refused update"
            );
        }
    }
    t.channel.poll().await.unwrap();
    assert_eq!(offsets()[2], ids[1] + 1);
    texts.extend(drain(&mut t.inbound).into_iter().map(|m| m.text));
    assert_eq!(texts, ["1", "2", "3"], "each update once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_replies_arrive_in_order_and_only_the_first_part_replies() {
    let server = TelegramServer::start(TOKEN).await;
    let harness = Harness::new();
    let t = running(&harness, &server, json!({"linkPreview": false})).await;

    let text: String = (0..10_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let receipt = t
        .channel
        .send(OutboundMessage {
            thread_id: Some("7".into()),
            reply_to: Some("5".into()),
            ..outbound("-1000000000009", &text)
        })
        .await
        .unwrap();
    let sent = server.sent();
    assert_eq!(
        sent.iter().map(|s| s.text.len()).collect::<Vec<_>>(),
        [4000, 4000, 2000]
    );
    assert_eq!(sent.iter().map(|s| s.text.as_str()).collect::<String>(), text);
    assert_eq!(
        sent.iter().map(|s| s.reply_to).collect::<Vec<_>>(),
        [Some(5), None, None]
    );
    assert!(
        sent.iter()
            .all(|s| s.thread_id == Some(7) && s.link_preview_disabled && s.chat_id == "-1000000000009")
    );
    assert_eq!(receipt.message_id, sent[2].message_id.to_string());

    // 4096 emoji are 8192 UTF-16 units: cut between emoji, never inside one.
    let emoji = "😀".repeat(4096);
    t.channel.send(outbound("42", &emoji)).await.unwrap();
    let parts: Vec<String> = server.sent()[3..].iter().map(|s| s.text.clone()).collect();
    assert_eq!(
        parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
        [2000, 2000, 96]
    );
    assert_eq!(parts.concat(), emoji);
    assert!(server.sent()[3..].iter().all(|s| s.reply_to.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_a_configuration_error() {
    let server = TelegramServer::start(TOKEN).await;
    let harness = Harness::new();
    let (plugin, _dir) = load(&harness, &server, json!({}), "123456789:not-the-token").await;
    let (tx, _inbound) = inbound_queue_with(8, 1 << 20);
    let channel = ChannelInstance::new(plugin, tx).unwrap();
    assert_eq!(
        channel_message(channel.start().await),
        "configuration: the bot token was refused by Telegram; check channels.telegram.botToken"
    );
    assert_eq!(server.calls().len(), 1);
    assert!(!server.calls()[0].authorized);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_server_errors_are_temporary_and_refusals_are_not() {
    let server = TelegramServer::start(TOKEN).await;
    let harness = Harness::new();
    let t = running(&harness, &server, json!({"pollTimeoutSeconds": 0})).await;
    t.channel.start().await.unwrap();

    server.fail_next("getUpdates", Fault::RetryAfter(30));
    let limited = channel_message(t.channel.poll().await);
    assert!(
        limited.starts_with("temporarily unavailable:") && limited.contains("retry after 30 s"),
        "{limited}"
    );
    // Until retry_after has passed the plugin does not ask again; it tells the host how long to
    // wait instead.
    let polls = server.calls_of("getUpdates").len();
    let wait = t.channel.poll().await.unwrap();
    assert!(
        wait > Duration::from_secs(20) && wait <= Duration::from_secs(30),
        "{wait:?}"
    );
    assert_eq!(server.calls_of("getUpdates").len(), polls);

    server.fail_next("sendMessage", Fault::RetryAfter(2));
    let limited = channel_message(t.channel.send(outbound("42", "hi")).await);
    assert!(limited.starts_with("temporarily unavailable:"), "{limited}");
    server.fail_next("sendMessage", Fault::ServerError);
    let failed = channel_message(t.channel.send(outbound("42", "hi")).await);
    assert!(failed.starts_with("temporarily unavailable:"), "{failed}");
    server.fail_next("sendMessage", Fault::Api(400, "Bad Request: chat not found".into()));
    let refused = channel_message(t.channel.send(outbound("42", "hi")).await);
    assert!(
        refused.starts_with("platform:") && refused.contains("Bad Request: chat not found"),
        "{refused}"
    );
    assert!(server.sent().is_empty());
    assert_eq!(
        t.channel.send(outbound("42", "hi")).await.unwrap().message_id,
        server.sent()[0].message_id.to_string()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_left_by_another_program_is_named_in_the_error() {
    let server = TelegramServer::start(TOKEN).await;
    let harness = Harness::new();
    let t = running(&harness, &server, json!({"pollTimeoutSeconds": 0})).await;
    t.channel.start().await.unwrap();
    server.set_webhook("https://elsewhere.example.com/hook");
    let conflict = channel_message(t.channel.poll().await);
    assert!(
        conflict.starts_with("configuration:") && conflict.contains("webhookUrl") && conflict.contains("deleteWebhook"),
        "{conflict}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_registers_the_secret_and_delivers_posted_updates() {
    let server = TelegramServer::start(TOKEN).await;
    let harness = Harness::new();
    let mut t = running(
        &harness,
        &server,
        json!({"webhookUrl": "https://gw.example.com/webhooks/telegram"}),
    )
    .await;
    t.channel.start().await.unwrap();
    let webhook = server.webhook();
    assert_eq!(webhook.url, "https://gw.example.com/webhooks/telegram");
    assert_eq!(
        webhook.secret_token.as_deref(),
        Some(HOOK_SECRET),
        "the host filled in the secret"
    );
    assert_eq!(
        webhook.allowed_updates,
        Some(json!(["message", "edited_message", "channel_post"]))
    );
    assert_eq!(t.channel.poll().await.unwrap(), Duration::from_secs(3600));
    assert!(server.calls_of("getUpdates").is_empty());

    let request = |secret: &str, body: String| WebhookRequest {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("X-Telegram-Bot-Api-Secret-Token".into(), secret.into()),
        ],
        body: body.into_bytes(),
    };
    let update = dm_update(5000, 42, "through the hook");
    let answer = t
        .channel
        .handle_webhook(request(HOOK_SECRET, update.to_string()))
        .await
        .unwrap();
    assert_eq!((answer.status, answer.body.as_slice()), (200, &b"ok"[..]));
    let got = t.inbound.recv().await.unwrap();
    assert_eq!(
        (got.text.as_str(), got.message_id.as_str()),
        ("through the hook", "5000")
    );

    let forged = t.channel.handle_webhook(request("wrong", update.to_string())).await;
    assert!(matches!(forged, Err(CallError::WebhookRefused { .. })), "{forged:?}");
    let malformed = t
        .channel
        .handle_webhook(request(HOOK_SECRET, "{not json".into()))
        .await
        .unwrap();
    assert_eq!(malformed.status, 400);
    assert!(drain(&mut t.inbound).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_reaches_the_plugin() {
    let server = TelegramServer::start(TOKEN).await;
    // A bot whose name is the token, and a user who pastes it: the host scrubs both from what
    // the plugin reads.
    server.set_bot(BotIdentity {
        username: TOKEN.into(),
        ..BotIdentity::default()
    });
    server.dm(42, &format!("my token is {TOKEN}"));
    let harness = Harness::new();
    logged_for("telegram");
    let mut t = running(&harness, &server, json!({"pollTimeoutSeconds": 0})).await;
    t.channel.poll().await.unwrap();
    let got = t.inbound.recv().await.unwrap();
    assert!(
        !got.text.contains(TOKEN) && got.text.starts_with("my token is "),
        "{}",
        got.text
    );

    // The placeholder is refused anywhere but the URL prefix: a reply cannot carry the token.
    let leak = channel_message(t.channel.send(outbound("42", "{{secret:TELEGRAM_BOT_TOKEN}}")).await);
    assert!(leak.starts_with("denied:"), "{leak}");
    assert!(server.calls_of("sendMessage").is_empty());

    let logged = logged_for("telegram");
    assert!(
        logged.iter().any(|l| l.message.contains("started for account default")),
        "{logged:?}"
    );
    for line in &logged {
        assert!(!format!("{line:?}").contains(TOKEN), "{line:?}");
    }
}
