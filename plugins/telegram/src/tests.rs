//! The channel against the SDK's mock host, with a scripted Bot API behind its HTTP responder.
//! (The built component against a real Bot API server is tested in host/runtime/tests.)

use std::cell::RefCell;
use std::rc::Rc;

use openclaw_plugin_sdk::testing::{MockHandle, MockHost};

use super::*;

/// Answers by method: the `result` for that method, or a full `(status, body)` override.
type Script = Rc<RefCell<Vec<(&'static str, u16, Value)>>>;

fn method_of(request: &Request) -> String {
    request.url.rsplit('/').next().unwrap_or_default().to_string()
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(request.body.as_deref().unwrap_or_default()).unwrap()
}

fn bot_api(script: Script) -> MockHost {
    MockHost::new().http(move |request| {
        assert!(
            request
                .url
                .starts_with("https://api.telegram.org/bot{{secret:TELEGRAM_BOT_TOKEN}}/"),
            "{}",
            request.url
        );
        let method = method_of(request);
        let mut script = script.borrow_mut();
        let scripted = script.iter().position(|(m, _, _)| *m == method);
        let (status, body) = match scripted {
            Some(i) => {
                let (_, status, body) = script.remove(i);
                (status, body)
            }
            None => match method.as_str() {
                "getMe" => (
                    200,
                    json!({"ok": true, "result": {"id": 777, "is_bot": true, "first_name": "Claw", "username": "ClawBot"}}),
                ),
                "getWebhookInfo" => (200, json!({"ok": true, "result": {"url": "", "pending_update_count": 0}})),
                "getUpdates" => (200, json!({"ok": true, "result": []})),
                "sendMessage" => {
                    let n = body_of(request)["text"].as_str().unwrap().len();
                    (200, json!({"ok": true, "result": {"message_id": 1000 + n, "date": 1, "chat": {"id": 1, "type": "private"}}}))
                }
                other => (200, json!({"ok": true, "result": other == "setWebhook" || other == "deleteWebhook"})),
            },
        };
        Ok(Response {
            status,
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        })
    })
}

fn ok(result: Value) -> Value {
    json!({"ok": true, "result": result})
}

fn dm(update_id: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {"message_id": update_id * 10, "date": 1700000000,
           "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "first_name": "Ada"}, "text": text}})
}

fn started(script: &Script, config: Value) -> MockHandle {
    let host = bot_api(script.clone()).install();
    Telegram::start(config).unwrap();
    host
}

fn methods(host: &MockHandle) -> Vec<String> {
    host.requests().iter().map(method_of).collect()
}

#[test]
fn polls_delivers_and_keeps_the_offset() {
    let script: Script = Default::default();
    script
        .borrow_mut()
        .push(("getUpdates", 200, ok(json!([dm(100, "hi"), dm(101, "there")]))));
    let host = started(&script, json!({"pollTimeoutSeconds": 7}));
    assert_eq!(methods(&host), ["getMe", "getWebhookInfo"]);
    assert_eq!(Telegram::poll().unwrap(), Duration::ZERO);
    let delivered = host.delivered();
    assert_eq!(
        delivered.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["hi", "there"]
    );
    assert_eq!(delivered[0].message_id, "1000");
    assert_eq!(
        host.kv().get("offset:default"),
        None,
        "the offset is saved when the next poll starts, after the gateway stored the batch"
    );
    let first = &host.requests()[2];
    assert_eq!(
        body_of(first),
        json!({"timeout": 7, "allowed_updates": ["message", "edited_message", "channel_post"]})
    );
    assert_eq!(first.timeout_ms, Some(22_000));
    Telegram::poll().unwrap();
    assert_eq!(body_of(&host.requests()[3])["offset"], 102);
    assert_eq!(
        host.kv().get("offset:default").map(Vec::as_slice),
        Some(&br#"{"offset":102,"savedAtMs":1700000000000}"#[..])
    );
}

#[test]
fn a_restart_resumes_from_the_saved_offset_unless_it_is_stale() {
    let script: Script = Default::default();
    let host = started(&script, json!({"accountId": "work"}));
    let now = clock::now_ms();
    let saved =
        |offset: i64, saved_at_ms: u64| kv::set_json("offset:work", &SavedOffset { offset, saved_at_ms }).unwrap();
    saved(555, now - 1000);
    Telegram::start(json!({"accountId": "work"})).unwrap();
    Telegram::poll().unwrap();
    assert_eq!(body_of(host.requests().last().unwrap())["offset"], 555);
    // Telegram forgets updates after a day and may restart its ids after a quiet week: an old
    // offset could only hide new updates.
    saved(777, now - offset::OFFSET_LIFETIME_MS - 1);
    Telegram::start(json!({"accountId": "work"})).unwrap();
    Telegram::poll().unwrap();
    assert!(body_of(host.requests().last().unwrap()).get("offset").is_none());
}

#[test]
fn start_failures_say_what_to_do() {
    let script: Script = Default::default();
    script.borrow_mut().push((
        "getMe",
        401,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
    ));
    let _host = bot_api(script.clone()).install();
    match Telegram::start(json!({})) {
        Err(ChannelError::Config(m)) => assert_eq!(
            m,
            "the bot token was refused by Telegram; check channels.telegram.botToken"
        ),
        other => panic!("{other:?}"),
    }
    script.borrow_mut().push((
        "getMe",
        502,
        json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
    ));
    assert!(matches!(Telegram::start(json!({})), Err(ChannelError::Retry(_))));
}

#[test]
fn too_many_requests_keeps_polling_quiet_for_retry_after() {
    let script: Script = Default::default();
    let host = started(&script, json!({}));
    script.borrow_mut().push((
        "getUpdates",
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 30", "parameters": {"retry_after": 30}}),
    ));
    match Telegram::poll() {
        Err(ChannelError::Retry(m)) => assert!(m.contains("retry after 30 s"), "{m}"),
        other => panic!("{other:?}"),
    }
    let calls = host.requests().len();
    // The mock clock stands still: the whole wait is still ahead, and Telegram is not asked.
    assert_eq!(Telegram::poll().unwrap(), Duration::from_secs(30));
    assert_eq!(host.requests().len(), calls);
}

#[test]
fn a_conflict_names_the_fix() {
    let script: Script = Default::default();
    let _host = started(&script, json!({}));
    script.borrow_mut().push((
        "getUpdates",
        409,
        json!({"ok": false, "error_code": 409, "description": "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}),
    ));
    match Telegram::poll() {
        Err(ChannelError::Config(m)) => assert!(m.contains("webhookUrl") && m.contains("deleteWebhook"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn polling_mode_removes_a_left_over_webhook() {
    let script: Script = Default::default();
    script.borrow_mut().push((
        "getWebhookInfo",
        200,
        ok(json!({"url": "https://old.example.com/hook"})),
    ));
    let host = started(&script, json!({}));
    assert_eq!(methods(&host), ["getMe", "getWebhookInfo", "deleteWebhook"]);
    assert_eq!(body_of(&host.requests()[2]), json!({"drop_pending_updates": false}));
}

#[test]
fn long_replies_are_split_and_only_the_first_part_replies() {
    let script: Script = Default::default();
    let host = started(&script, json!({"linkPreview": false, "textChunkLimit": 4000}));
    let text: String = "word ".repeat(2000);
    let receipt = Telegram::send(OutboundMessage {
        account_id: "default".into(),
        chat_id: "-100123".into(),
        thread_id: Some("55".into()),
        reply_to: Some("9".into()),
        text: text.clone(),
    })
    .unwrap();
    let sends: Vec<Value> = host
        .requests()
        .iter()
        .filter(|r| method_of(r) == "sendMessage")
        .map(body_of)
        .collect();
    assert_eq!(sends.len(), 3);
    assert_eq!(sends[0]["chat_id"], -100123);
    assert_eq!(sends[0]["reply_parameters"]["message_id"], 9);
    assert!(sends[1].get("reply_parameters").is_none() && sends[2].get("reply_parameters").is_none());
    for send in &sends {
        assert_eq!(send["message_thread_id"], 55);
        assert_eq!(send["link_preview_options"], json!({"is_disabled": true}));
        assert!(send["text"].as_str().unwrap().len() <= 4000);
    }
    let last_len = sends[2]["text"].as_str().unwrap().len();
    assert_eq!(receipt.message_id, (1000 + last_len).to_string());
    let joined: Vec<&str> = sends.iter().map(|s| s["text"].as_str().unwrap()).collect();
    assert!(
        joined.join(" ").trim_end() == text.trim_end(),
        "the parts joined are the text"
    );
}

#[test]
fn send_failures_map_to_what_the_gateway_does() {
    let script: Script = Default::default();
    let _host = started(&script, json!({}));
    let message = |chat: &str, text: &str| OutboundMessage {
        account_id: "default".into(),
        chat_id: chat.into(),
        thread_id: None,
        reply_to: None,
        text: text.into(),
    };
    script.borrow_mut().push((
        "sendMessage",
        400,
        json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}),
    ));
    match Telegram::send(message("5", "hi")) {
        Err(ChannelError::Platform(m)) => assert!(m.contains("Bad Request: chat not found"), "{m}"),
        other => panic!("{other:?}"),
    }
    script.borrow_mut().push((
        "sendMessage",
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}}),
    ));
    assert!(matches!(
        Telegram::send(message("5", "hi")),
        Err(ChannelError::Retry(_))
    ));
    assert!(matches!(
        Telegram::send(message("5", " \n")),
        Err(ChannelError::Platform(_))
    ));
    assert!(matches!(
        Telegram::send(message("not a chat", "hi")),
        Err(ChannelError::Platform(_))
    ));
    assert_eq!(Telegram::send(message("@news", "hi")).unwrap().message_id, "1002");
}

#[test]
fn webhook_mode_registers_with_the_secret_placeholder_and_takes_updates() {
    let script: Script = Default::default();
    let host = started(
        &script,
        json!({"webhookUrl": "https://gw.example.com/webhooks/telegram"}),
    );
    assert_eq!(methods(&host), ["getMe", "setWebhook"]);
    assert_eq!(
        body_of(&host.requests()[1]),
        json!({"url": "https://gw.example.com/webhooks/telegram", "secret_token": "{{secret:TELEGRAM_WEBHOOK_SECRET}}",
               "allowed_updates": ["message", "edited_message", "channel_post"]})
    );
    assert_eq!(Telegram::poll().unwrap(), WEBHOOK_MODE_POLL);
    assert_eq!(host.requests().len(), 2, "no getUpdates in webhook mode");

    let post = |body: &str| WebhookRequest {
        method: "POST".into(),
        body: body.as_bytes().to_vec(),
        ..WebhookRequest::default()
    };
    let answer = Telegram::handle_webhook(post(&dm(7, "via hook").to_string())).unwrap();
    assert_eq!((answer.status, answer.body.as_slice()), (200, &b"ok"[..]));
    assert_eq!(host.delivered()[0].text, "via hook");
    for bad in ["", "{", "[]", r#"{"message": {}}"#] {
        assert_eq!(Telegram::handle_webhook(post(bad)).unwrap().status, 400, "{bad}");
    }
    let get = WebhookRequest {
        method: "GET".into(),
        ..WebhookRequest::default()
    };
    assert_eq!(Telegram::handle_webhook(get).unwrap().status, 405);
    // An update with nothing to answer is still a success for Telegram.
    let sticker = json!({"update_id": 8, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"},
                         "from": {"id": 1, "first_name": "A"}, "sticker": {}}});
    assert_eq!(
        Telegram::handle_webhook(post(&sticker.to_string())).unwrap().status,
        200
    );
    assert_eq!(host.delivered().len(), 1);
}
