//! Telegram end to end: the real `openclaw gateway` running the Telegram WASM channel plugin
//! against a local server speaking the Bot API, a scripted model server, and the real CLI. A
//! stranger is paired, answered in the right session, group messages are gated by mentions, and
//! a gateway killed while answering neither loses nor repeats an answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Gateway, Run, Sandbox, mode};
use openclaw_test_support::model_server::{ModelServer, Script, Turn};
use openclaw_test_support::telegram_server::{SentMessage, TelegramServer};
use openclaw_test_support::{plugin_dir, workspace_root};
use serde_json::{Value, json};

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";
const BOT_TOKEN: &str = "123456789:AAF-e2e_Token-abcdefghijklmnopq";
const API_KEY: &str = "sk-test-9f8e7d6c5b4a39281706f5e4d3c2b1a0";

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

/// A sandbox whose gateway runs the Telegram plugin (pointed at `tg`) with `telegram` as the
/// channel config, and one model `local/m` at `model`.
fn sandbox(tg: &TelegramServer, model: &ModelServer, telegram: Value, extra: Value) -> (Sandbox, tempfile::TempDir) {
    let shipped = std::fs::read_to_string(workspace_root().join("plugins/telegram/openclaw-plugin.toml")).unwrap();
    let dir = plugin_dir("telegram", &tg.local_manifest(&shipped));
    // The token by reference, as the seeds recommend: only the gateway resolves it, and only the
    // Bot API URL slot receives it.
    let sandbox = Sandbox::new()
        .env("OPENCLAW_DISABLE_BONJOUR", "1")
        .env("E2E_TELEGRAM_TOKEN", BOT_TOKEN);
    let mut channel = json!({
        "botToken": {"source": "env", "provider": "default", "id": "E2E_TELEGRAM_TOKEN"},
        "apiRoot": tg.base_url(),
    });
    merge(&mut channel, telegram);
    let mut config = json!({
        "gateway": {"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": TOKEN}},
        "models": {"providers": {"local": {"api": "openai-completions", "baseUrl": model.openai_base_url(), "apiKey": API_KEY}}},
        "agents": {"defaults": {"model": "local/m"}},
        "plugins": {
            "load": {"paths": [dir.path()]},
            "allow": ["telegram"],
            "entries": {"telegram": {"http": {"allowPrivateNetwork": ["127.0.0.1"]}}},
        },
        "channels": {"telegram": channel},
    });
    merge(&mut config, extra);
    sandbox.write_config(&config.to_string());
    (sandbox, dir)
}

async fn cli(sandbox: &Sandbox, args: &[&str]) -> Run {
    let mut command = sandbox.command(args);
    tokio::task::spawn_blocking(move || Run::from(command.output().unwrap()))
        .await
        .unwrap()
}

/// The messages sent to `chat`.
fn sent_to(sent: &[SentMessage], chat: &str) -> Vec<SentMessage> {
    sent.iter().filter(|m| m.chat_id == chat).cloned().collect()
}

fn user_texts(model: &ModelServer) -> Vec<String> {
    model
        .requests()
        .iter()
        .filter_map(|r| {
            r.messages()
                .iter()
                .rev()
                .find(|m| m["role"] == "user")
                .and_then(|m| m["content"].as_str().map(str::to_string))
        })
        .collect()
}

async fn eventually(what: &str, gw: &Gateway, mut check: impl FnMut() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}\ngateway stderr:\n{}", gw.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stranger_is_paired_then_answered_and_groups_need_a_mention() {
    let tg = TelegramServer::start(BOT_TOKEN).await;
    let model = ModelServer::start(Script::new().model(
        "m",
        [Turn::text("Hello, paired friend!"), Turn::text("Answer for the group")],
    ))
    .await;
    let (sandbox, _dir) = sandbox(
        &tg,
        &model,
        json!({
            "dmPolicy": "pairing",
            "groupPolicy": "allowlist",
            "groupAllowFrom": [777],
            "groups": {"-1001": {"requireMention": true}},
        }),
        json!({}),
    );
    let gw = Gateway::start(&sandbox, &[]);

    // A stranger gets a pairing code, once.
    tg.dm(4242, "hello?");
    let sent = tg.wait_sent(1, Duration::from_secs(20)).await;
    assert_eq!(sent.len(), 1, "{}", gw.stderr());
    assert_eq!(sent[0].chat_id, "4242");
    let code = sent[0]
        .text
        .lines()
        .find_map(|l| l.strip_prefix("Pairing code: "))
        .unwrap_or_else(|| panic!("no code in {:?}", sent[0].text))
        .to_string();
    assert!(sent[0].text.contains("Your Telegram user id: 4242"), "{}", sent[0].text);
    assert!(
        sent[0]
            .text
            .contains(&format!("openclaw pairing approve telegram {code}"))
    );
    tg.dm(4242, "are you there?");

    let listed = cli(&sandbox, &["pairing", "list", "telegram", "--json"]).await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let listed = listed.json();
    assert_eq!(listed["channel"], "telegram");
    assert_eq!(listed["requests"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["requests"][0]["id"], "4242");
    assert_eq!(listed["requests"][0]["code"], code.as_str());
    let pairing_file = sandbox.state_dir().join("credentials/telegram-pairing.json");
    assert_eq!(mode(&pairing_file), 0o600);

    let wrong = cli(&sandbox, &["pairing", "approve", "telegram", "ZZZZ2222"]).await;
    assert_ne!(wrong.code, Some(0));
    assert!(
        wrong
            .stderr
            .contains("No pending pairing request found for code: ZZZZ2222"),
        "{}",
        wrong.stderr
    );
    // Approved through the running gateway, which tells the sender.
    let approved = cli(
        &sandbox,
        &["pairing", "approve", "telegram", &code.to_lowercase(), "--notify"],
    )
    .await;
    assert_eq!(approved.code, Some(0), "{}", approved.stderr);
    assert_eq!(approved.stdout.trim(), "Approved telegram sender 4242.");
    let sent = tg.wait_sent(2, Duration::from_secs(20)).await;
    assert!(sent[1].text.contains("approved"), "{sent:?}");
    assert_eq!(sent[1].chat_id, "4242");
    let allow: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.state_dir().join("credentials/telegram-allowFrom.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(allow, json!({"version": 1, "allowFrom": ["4242"]}));

    // The paired sender now reaches the agent, in the main session (dmScope main), and the
    // reply goes to their chat.
    tg.dm(4242, "what can you do?");
    let sent = tg.wait_sent(3, Duration::from_secs(20)).await;
    let to_stranger = sent_to(&sent, "4242");
    assert_eq!(
        to_stranger.len(),
        3,
        "one code (no resend), the notice, one answer: {sent:?}"
    );
    assert_eq!(to_stranger[2].text, "Hello, paired friend!");
    assert_eq!(
        to_stranger[2].reply_to, None,
        "direct chats are not threaded by default"
    );
    assert_eq!(
        user_texts(&model),
        ["what can you do?"],
        "nothing before pairing reached the model"
    );

    let sessions_path = sandbox.state_dir().join("agents/main/sessions/sessions.json");
    let read_sessions =
        || -> Value { serde_json::from_str(&std::fs::read_to_string(&sessions_path).unwrap()).unwrap() };
    // Changes to an existing session are written behind (within half a second).
    eventually("the session's route is recorded", &gw, || {
        read_sessions()["agent:main:main"]["lastChannel"] == "telegram"
    })
    .await;
    let sessions = read_sessions();
    let main = &sessions["agent:main:main"];
    assert_eq!(main["lastChannel"], "telegram", "{sessions}");
    assert_eq!(main["lastTo"], "4242");
    assert_eq!(main["origin"]["from"], "4242");
    let transcript = sandbox
        .state_dir()
        .join("agents/main/sessions")
        .join(format!("{}.jsonl", main["sessionId"].as_str().unwrap()));
    let lines = std::fs::read_to_string(&transcript).unwrap();
    assert!(lines.contains("what can you do?") && lines.contains("Hello, paired friend!"));
    assert_eq!(mode(&transcript), 0o600);

    // Groups: without a mention nothing happens; with one, the allowlisted sender is answered
    // in the group's session, threaded under their message.
    tg.group(-1001, 777, "no mention in this one");
    tg.group_mention(-2002, 777, "wrong group");
    tg.group_mention(-1001, 999, "a sender not in groupAllowFrom");
    let mentioned = tg.group_mention(-1001, 777, "please answer");
    let sent = tg.wait_sent(4, Duration::from_secs(20)).await;
    let to_group = sent_to(&sent, "-1001");
    assert_eq!(to_group.len(), 1, "{sent:?}");
    assert_eq!(to_group[0].text, "Answer for the group");
    assert!(to_group[0].reply_to.is_some(), "group answers reply to the message");
    let texts = user_texts(&model);
    assert_eq!(
        texts.len(),
        2,
        "only the mentioned, allowed message reached the model: {texts:?}"
    );
    assert!(texts[1].contains("please answer"), "{texts:?}");
    assert!(
        texts[1].contains("no mention in this one"),
        "an unanswered group message is kept as context for the next answer: {texts:?}"
    );
    assert!(
        !texts[1].contains("a sender not in groupAllowFrom") && !texts[1].contains("wrong group"),
        "dropped messages are not context: {texts:?}"
    );
    let sessions = read_sessions();
    assert!(
        sessions.get("agent:main:telegram:group:-1001").is_some(),
        "the group has its own session: {sessions}"
    );
    let _ = mentioned;

    // The journal says why each message was not answered.
    let journal = std::fs::read_to_string(sandbox.state_dir().join("ingress/journal.jsonl")).unwrap();
    for outcome in [
        "history: mention_required",
        "dropped: group_policy_not_allowlisted",
        "pairing: no reply",
        "pairing: code sent",
    ] {
        assert!(journal.contains(outcome), "no `{outcome}` in the journal:\n{journal}");
    }
    assert!(!journal.contains(BOT_TOKEN), "the token is never written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_killed_while_answering_loses_no_message_and_answers_none_twice() {
    const N: i64 = 12;
    let tg = TelegramServer::start(BOT_TOKEN).await;
    // Slow answers, so the kill lands while turns are running.
    let turns: Vec<Turn> = (0..2 * N)
        .map(|i| Turn::text(format!("answer {i}")).delayed(Duration::from_millis(300)))
        .collect();
    let model = ModelServer::start(Script::new().model("m", turns)).await;
    let senders: Vec<i64> = (0..N).map(|i| 5000 + i).collect();
    let (sandbox, _dir) = sandbox(
        &tg,
        &model,
        json!({"dmPolicy": "allowlist", "allowFrom": senders}),
        json!({"session": {"dmScope": "per-channel-peer"}}),
    );
    let mut gw = Gateway::start(&sandbox, &[]);
    for sender in &senders {
        tg.dm(*sender, &format!("question from {sender}"));
    }
    // Kill it hard once some, not all, answers are out.
    eventually("a first answer", &gw, || !tg.sent().is_empty()).await;
    gw.child.kill().unwrap();
    gw.wait(Duration::from_secs(10));
    let before = tg.sent().len();
    assert!(
        before < N as usize,
        "the kill came too late to test anything ({before} answers)"
    );

    let gw = Gateway::start(&sandbox, &[]);
    let journal_path = sandbox.state_dir().join("ingress/journal.jsonl");
    eventually("every message finished", &gw, || {
        let journal = std::fs::read_to_string(&journal_path).unwrap_or_default();
        let finished = journal.matches(r#""step":"done""#).count();
        let seen = journal
            .lines()
            .filter(|l| l.starts_with(r#"{"t":"in""#) || l.starts_with(r#"{"t":"seen""#))
            .count();
        seen > 0 && tg.pending().is_empty() && finished > 0 && pending_in_journal(&journal) == 0
    })
    .await;
    let sent = tg.sent();
    for sender in &senders {
        let answers = sent_to(&sent, &sender.to_string());
        assert!(answers.len() <= 1, "{sender} was answered twice: {answers:?}");
    }
    // A message is answered unless the kill hit between recording its reply and sending it
    // (then it is not sent again); each such message is named in the log.
    let unanswered = senders
        .iter()
        .filter(|s| sent_to(&sent, &s.to_string()).is_empty())
        .count();
    let interrupted = gw.stderr().matches("is not sent again").count();
    assert!(
        unanswered <= interrupted.max(1),
        "{unanswered} senders got no answer, {interrupted} interrupted replies:\n{}",
        gw.stderr()
    );
    // Every question is in its sender's own session (per-channel-peer).
    let sessions: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.state_dir().join("agents/main/sessions/sessions.json")).unwrap(),
    )
    .unwrap();
    for sender in &senders {
        assert!(
            sessions.get(format!("agent:main:telegram:direct:{sender}")).is_some(),
            "no session for {sender}: {sessions}"
        );
    }
}

/// Messages the journal holds that are not finished.
fn pending_in_journal(journal: &str) -> usize {
    let mut open = std::collections::BTreeSet::new();
    for line in journal.lines() {
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match record["t"].as_str() {
            Some("in") => {
                open.insert(record["seq"].as_u64().unwrap_or_default());
            }
            Some("mark") if record["step"] == "done" => {
                open.remove(&record["seq"].as_u64().unwrap_or_default());
            }
            _ => {}
        }
    }
    open.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_mode_is_verified_by_the_gateway_before_the_plugin_sees_a_request() {
    const HOOK_SECRET: &str = "hook-Secret_e2e_0123456789";
    let tg = TelegramServer::start(BOT_TOKEN).await;
    let model = ModelServer::start(Script::new().model("m", [Turn::text("Hello over the webhook")])).await;
    let (sandbox, _dir) = sandbox(
        &tg,
        &model,
        json!({
            "webhookUrl": "https://bot.example.com/telegram-webhook",
            "webhookSecret": HOOK_SECRET,
            "dmPolicy": "allowlist",
            "allowFrom": [4242],
        }),
        json!({}),
    );
    let gw = Gateway::start(&sandbox, &[]);
    // The plugin registered the webhook with the secret the gateway checks; the plugin itself
    // only ever named a placeholder for it.
    eventually("the webhook is registered", &gw, || !tg.webhook().url.is_empty()).await;
    let registered = tg.webhook();
    assert_eq!(registered.url, "https://bot.example.com/telegram-webhook");
    assert_eq!(registered.secret_token.as_deref(), Some(HOOK_SECRET));

    let url = gw.url("/webhooks/telegram");
    let update = openclaw_test_support::telegram_server::dm_update(77, 4242, "over the webhook?");
    let (status, _) = openclaw_test_support::telegram_server::post_webhook(&url, Some("wrong-secret"), &update).await;
    assert_eq!(status, 401);
    let (status, _) = openclaw_test_support::telegram_server::post_webhook(&url, None, &update).await;
    assert_eq!(status, 401);
    assert!(user_texts(&model).is_empty(), "an unverified request reaches nobody");

    let (status, _) = openclaw_test_support::telegram_server::post_webhook(&url, Some(HOOK_SECRET), &update).await;
    assert_eq!(status, 200);
    let sent = tg.wait_sent(1, Duration::from_secs(20)).await;
    assert_eq!(sent[0].chat_id, "4242");
    assert_eq!(sent[0].text, "Hello over the webhook");
    // Telegram retries a webhook it thinks failed: the same update is answered once.
    let (status, _) = openclaw_test_support::telegram_server::post_webhook(&url, Some(HOOK_SECRET), &update).await;
    assert_eq!(status, 200);
    let stranger = openclaw_test_support::telegram_server::dm_update(78, 999, "not on the list");
    let (status, _) = openclaw_test_support::telegram_server::post_webhook(&url, Some(HOOK_SECRET), &stranger).await;
    assert_eq!(status, 200);
    let journal_path = sandbox.state_dir().join("ingress/journal.jsonl");
    eventually("the stranger's message is decided", &gw, || {
        std::fs::read_to_string(&journal_path)
            .unwrap_or_default()
            .contains("dropped: dm_policy_not_allowlisted")
    })
    .await;
    assert_eq!(
        tg.sent().len(),
        1,
        "one answer: the retry is a repeat, the stranger is not allowlisted"
    );
    assert_eq!(user_texts(&model).len(), 1);
    let journal = std::fs::read_to_string(&journal_path).unwrap();
    assert!(!journal.contains(HOOK_SECRET) && !journal.contains(BOT_TOKEN));
}

#[test]
fn a_configured_channel_no_plugin_serves_is_a_warning_at_start() {
    let sandbox = Sandbox::new().env("OPENCLAW_DISABLE_BONJOUR", "1");
    sandbox.write_config(
        &json!({
            "gateway": {"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": TOKEN}},
            "channels": {"telegram": {"botToken": BOT_TOKEN, "dmPolicy": "pairing"}},
        })
        .to_string(),
    );
    let gw = Gateway::start(&sandbox, &[]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !gw.stderr().contains("no running plugin provides channel `telegram`") {
        assert!(std::time::Instant::now() < deadline, "no warning:\n{}", gw.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gw.stderr().contains("plugins.allow"), "the warning names the fix");
    assert!(!gw.stderr().contains(BOT_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn elevated_exec_sees_the_real_channel_sender() {
    let tg = TelegramServer::start(BOT_TOKEN).await;
    let exec = json!({"command": "echo elevated-ran", "elevated": true});
    let model = ModelServer::start(Script::new().model(
        "m",
        [
            Turn::tool_call("exec", exec.clone()),
            Turn::text("first done"),
            Turn::tool_call("exec", exec),
            Turn::text("second done"),
        ],
    ))
    .await;
    let (sandbox, _dir) = sandbox(
        &tg,
        &model,
        json!({
            "groupPolicy": "allowlist",
            "groupAllowFrom": [777, 888],
            "groups": {"-1001": {"requireMention": false}},
        }),
        json!({
            // A group session is not the main session, so it is sandboxed; only `/elevated` may
            // leave the sandbox, and only for the senders tools.elevated.allowFrom names.
            "agents": {"defaults": {"sandbox": {"mode": "non-main"}, "elevatedDefault": "full"}},
            "tools": {"profile": "coding", "elevated": {"enabled": true, "allowFrom": {"telegram": ["777"]}}},
        }),
    );
    let gw = Gateway::start(&sandbox, &[]);
    tg.group(-1001, 777, "run it for me");
    tg.wait_sent(1, Duration::from_secs(30)).await;
    tg.group(-1001, 888, "and for me");
    let sent = tg.wait_sent(2, Duration::from_secs(30)).await;
    assert_eq!(sent[0].text, "first done", "{}", gw.stderr());
    assert_eq!(sent[1].text, "second done");
    let results: Vec<String> = model
        .requests()
        .iter()
        .flat_map(|r| r.tool_results())
        .map(|(_, content, _)| content)
        .collect();
    // Each later request repeats the earlier results; the last request carries both.
    let last: Vec<&String> = results.iter().rev().take(2).collect();
    assert!(last[1].contains("elevated-ran"), "sender 777 is listed: {results:?}");
    assert!(
        last[0].contains("elevated exec denied") && !last[0].contains("elevated-ran"),
        "sender 888 is not: {results:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_one_pinned_owner_only_the_owner_moves_the_main_sessions_last_route() {
    let tg = TelegramServer::start(BOT_TOKEN).await;
    let model = ModelServer::start(Script::new().model("m", [Turn::text("hi owner"), Turn::text("hi friend")])).await;
    let (sandbox, _dir) = sandbox(
        &tg,
        &model,
        json!({"dmPolicy": "pairing", "allowFrom": [4242]}),
        json!({}),
    );
    // A friend approved earlier through pairing (OpenClaw's file, as an existing install has it).
    let credentials = sandbox.state_dir().join("credentials");
    std::fs::create_dir_all(&credentials).unwrap();
    std::fs::write(
        credentials.join("telegram-allowFrom.json"),
        r#"{"version":1,"allowFrom":["5555"]}"#,
    )
    .unwrap();
    let gw = Gateway::start(&sandbox, &[]);
    tg.dm(4242, "owner here");
    tg.wait_sent(1, Duration::from_secs(20)).await;
    tg.dm(5555, "friend here");
    let sent = tg.wait_sent(2, Duration::from_secs(20)).await;
    assert_eq!(
        sent_to(&sent, "5555")[0].text,
        "hi friend",
        "the paired friend is answered"
    );
    let sessions_path = sandbox.state_dir().join("agents/main/sessions/sessions.json");
    eventually("the owner's route is recorded", &gw, || {
        std::fs::read_to_string(&sessions_path).is_ok_and(|t| t.contains("lastTo"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sessions: Value = serde_json::from_str(&std::fs::read_to_string(&sessions_path).unwrap()).unwrap();
    assert_eq!(
        sessions["agent:main:main"]["lastTo"], "4242",
        "a DM from someone else does not move the pinned owner's route: {sessions}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_sent_while_the_session_is_busy_are_collected_into_one_turn() {
    let tg = TelegramServer::start(BOT_TOKEN).await;
    let model = ModelServer::start(Script::new().model(
        "m",
        [
            Turn::text("first answer").delayed(Duration::from_millis(1500)),
            Turn::text("one answer for both"),
        ],
    ))
    .await;
    let (sandbox, _dir) = sandbox(
        &tg,
        &model,
        json!({"dmPolicy": "allowlist", "allowFrom": [4242]}),
        json!({}),
    );
    let gw = Gateway::start(&sandbox, &[]);
    tg.dm(4242, "first question");
    eventually("the first turn is running", &gw, || model.requests().len() == 1).await;
    tg.dm(4242, "second thought");
    tg.dm(4242, "and a third");
    let sent = tg.wait_sent(2, Duration::from_secs(20)).await;
    assert_eq!(sent[0].text, "first answer");
    assert_eq!(sent[1].text, "one answer for both");
    let texts = user_texts(&model);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[1].contains("Queued #1\nsecond thought") && texts[1].contains("Queued #2\nand a third"),
        "{texts:?}"
    );
    let journal_path = sandbox.state_dir().join("ingress/journal.jsonl");
    eventually("both collected messages are recorded as answered", &gw, || {
        std::fs::read_to_string(&journal_path)
            .unwrap_or_default()
            .matches("answered (collected 2)")
            .count()
            == 2
    })
    .await;
}
