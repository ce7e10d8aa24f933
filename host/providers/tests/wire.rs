//! Both wire APIs against the scripted model server over real sockets: streamed text, tool
//! call round trips in the right shapes, and the headers each API requires.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APIS, ask, chain, run, spec, text_of, wire};
use openclaw_providers::{Api, ChatRequest, Message, Providers, StopReason, StreamEvent, ToolCall, ToolDef, Usage};
use openclaw_test_support::model_server::{ModelServer, Script, Turn};
use secrecy::SecretString;
use serde_json::json;

#[tokio::test]
async fn text_reply_is_streamed_as_ordered_deltas() {
    let reply = "Hello there — streamed in pieces, with ünïcode ✓ and 🦀 crabs.";
    for api in APIS {
        let server = ModelServer::start(Script::new().model("m", [Turn::text(reply).usage(11, 5)])).await;
        let mut provider = spec(&server, "p", api);
        provider.api_key = Some(SecretString::from("sk-test"));
        let providers = Providers::new(vec![provider]);

        let (result, events) = run(&providers, &chain(&["p/m"]), &ask("hi")).await;
        let completion = result.unwrap();

        assert!(events.len() > 5, "{api:?}: expected many deltas, got {events:?}");
        assert!(events.iter().all(|e| matches!(e, StreamEvent::TextDelta(_))));
        assert_eq!(text_of(&events), reply, "{api:?}: deltas out of order or lost");
        assert_eq!(completion.text, reply);
        assert_eq!(completion.stop, StopReason::EndTurn);
        assert!(completion.tool_calls.is_empty());
        assert_eq!(
            completion.usage,
            Usage {
                input_tokens: 11,
                output_tokens: 5
            }
        );
        assert_eq!((completion.provider.as_str(), completion.model.as_str()), ("p", "m"));
        assert!(completion.attempts.is_empty());

        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.api, wire(api));
        assert!(request.stream);
        assert_eq!(request.system().as_deref(), Some("You are a test."));
        match api {
            Api::OpenaiCompletions => {
                assert_eq!(request.path, "/v1/chat/completions");
                assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
                assert_eq!(request.header("x-api-key"), None);
                assert_eq!(request.messages()[1], json!({"role": "user", "content": "hi"}));
            }
            Api::AnthropicMessages => {
                assert_eq!(request.path, "/v1/messages");
                assert_eq!(request.header("x-api-key"), Some("sk-test"));
                assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
                assert_eq!(request.header("authorization"), None);
                assert_eq!(
                    request.messages(),
                    vec![json!({"role": "user", "content": [{"type": "text", "text": "hi"}]})]
                );
                assert_eq!(request.body["max_tokens"], 4096);
            }
        }
    }
}

fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "read".into(),
            description: "Read a file".into(),
            parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
        },
        ToolDef {
            name: "list".into(),
            description: "List a directory".into(),
            parameters: json!({"type": "object", "properties": {}}),
        },
    ]
}

#[tokio::test]
async fn tool_calls_round_trip_in_each_apis_shape() {
    for api in APIS {
        let server = ModelServer::start(
            Script::new().model(
                "m",
                [
                    Turn::tool_calls([("read", json!({"path": "a.txt"})), ("list", json!({"dir": "/nope"}))])
                        .with_text("Let me look."),
                    Turn::text("a.txt says hello."),
                ],
            ),
        )
        .await;
        let providers = Providers::new(vec![spec(&server, "p", api)]);
        let mut request = ChatRequest {
            tools: tools(),
            max_tokens: Some(256),
            ..ask("What is in a.txt?")
        };

        let (first, events) = run(&providers, &chain(&["p/m"]), &request).await;
        let first = first.unwrap();
        assert_eq!(first.stop, StopReason::ToolUse, "{api:?}");
        assert_eq!(first.text, "Let me look.");
        let calls: Vec<(&str, serde_json::Value)> = first
            .tool_calls
            .iter()
            .map(|c| (c.name.as_str(), serde_json::from_str(&c.arguments).unwrap()))
            .collect();
        assert_eq!(
            calls,
            vec![("read", json!({"path": "a.txt"})), ("list", json!({"dir": "/nope"}))]
        );
        // Text first, then each call once it is complete.
        let streamed_calls: Vec<&ToolCall> = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ToolCall(call) => Some(call),
                StreamEvent::TextDelta(_) => None,
            })
            .collect();
        assert_eq!(streamed_calls, first.tool_calls.iter().collect::<Vec<_>>());
        assert!(matches!(events.last(), Some(StreamEvent::ToolCall(_))));
        assert_eq!(text_of(&events), "Let me look.");

        request.messages.push(Message::Assistant {
            text: first.text.clone(),
            tool_calls: first.tool_calls.clone(),
        });
        let (read, list) = (&first.tool_calls[0], &first.tool_calls[1]);
        request.messages.push(Message::ToolResult {
            call_id: read.id.clone(),
            name: read.name.clone(),
            content: "hello".into(),
            is_error: false,
        });
        request.messages.push(Message::ToolResult {
            call_id: list.id.clone(),
            name: list.name.clone(),
            content: "no such directory".into(),
            is_error: true,
        });
        let (second, _) = run(&providers, &chain(&["p/m"]), &request).await;
        // The server answers 400 to a tool result that does not answer a call in the shape
        // its API requires, so success here already checks the wire shape.
        assert_eq!(second.unwrap().text, "a.txt says hello.", "{api:?}");

        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].tool_names(), vec!["read", "list"]);
        assert_eq!(requests[1].tool_names(), vec!["read", "list"]);
        let results = requests[1].tool_results();
        let error_flag = api == Api::AnthropicMessages; // Chat Completions has no error flag.
        assert_eq!(
            results,
            vec![
                (read.id.clone(), "hello".to_string(), false),
                (list.id.clone(), "no such directory".to_string(), error_flag)
            ]
        );
        let messages = requests[1].messages();
        match api {
            Api::OpenaiCompletions => {
                assert_eq!(messages[2]["tool_calls"][0]["function"]["name"], "read");
                assert_eq!(
                    messages[3],
                    json!({"role": "tool", "tool_call_id": read.id, "content": "hello"})
                );
                assert_eq!(
                    requests[0].body["tools"][0]["function"]["parameters"]["required"],
                    json!(["path"])
                );
                assert_eq!(requests[0].body["max_tokens"], 256);
            }
            Api::AnthropicMessages => {
                assert_eq!(messages.len(), 3, "both results go back in one user turn: {messages:?}");
                assert_eq!(messages[1]["content"][1]["type"], "tool_use");
                assert_eq!(messages[1]["content"][1]["input"], json!({"path": "a.txt"}));
                assert_eq!(messages[2]["role"], "user");
                assert_eq!(
                    requests[0].body["tools"][0]["input_schema"]["required"],
                    json!(["path"])
                );
                assert_eq!(requests[0].body["max_tokens"], 256);
            }
        }
    }
}

#[tokio::test]
async fn consecutive_turns_reuse_one_connection() {
    for api in APIS {
        let server = ModelServer::start(Script::new().model(
            "m",
            [Turn::text("one"), Turn::tool_call("t", json!({})), Turn::text("three")],
        ))
        .await;
        let providers = Providers::new(vec![spec(&server, "p", api)]);
        for _ in 0..3 {
            let (result, _) = run(&providers, &chain(&["p/m"]), &ask("hi")).await;
            result.unwrap();
            // The rest of a finished stream is read in the background before the connection
            // returns to the pool.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(server.connections(), 1, "{api:?}");
    }
}

#[tokio::test]
async fn output_cap_is_reported_as_max_tokens() {
    for api in APIS {
        let server = ModelServer::start(Script::new().model("m", [Turn::text("cut sho").truncated()])).await;
        let providers = Providers::new(vec![spec(&server, "p", api)]);
        let (result, _) = run(&providers, &chain(&["p/m"]), &ask("hi")).await;
        assert_eq!(result.unwrap().stop, StopReason::MaxTokens, "{api:?}");
    }
}

#[tokio::test]
async fn model_ids_with_slashes_reach_the_server_whole() {
    let server = ModelServer::start(Script::new().model("meta-llama/llama-3.1-8b", [Turn::text("ok")])).await;
    let providers = Providers::new(vec![spec(&server, "vllm", Api::OpenaiCompletions)]);
    let (result, _) = run(&providers, &chain(&["vllm/meta-llama/llama-3.1-8b"]), &ask("hi")).await;
    assert_eq!(result.unwrap().model, "meta-llama/llama-3.1-8b");
    assert_eq!(server.requests()[0].model, "meta-llama/llama-3.1-8b");
}

/// The scripted server answers without streaming when asked to, in each API's shape (for
/// tests elsewhere that call it with stream off).
#[tokio::test]
async fn model_server_answers_whole_json_when_not_streaming() {
    let server = ModelServer::start(
        Script::new()
            .model("m", [Turn::tool_call("read", json!({"path": "a"})).with_text("hi")])
            .model("c", [Turn::text("hello")]),
    )
    .await;
    let client = reqwest::Client::new();
    let openai: serde_json::Value = client
        .post(format!("{}/chat/completions", server.openai_base_url()))
        .body(json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(openai["choices"][0]["message"]["content"], "hi");
    assert_eq!(
        openai["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        r#"{"path":"a"}"#
    );
    assert_eq!(openai["choices"][0]["finish_reason"], "tool_calls");
    let anthropic: serde_json::Value = client
        .post(format!("{}/v1/messages", server.anthropic_base_url()))
        .header("anthropic-version", "2023-06-01")
        .body(json!({"model": "c", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anthropic["content"], json!([{"type": "text", "text": "hello"}]));
    assert_eq!(anthropic["stop_reason"], "end_turn");

    // A conversation the real API would refuse is refused and takes no turn.
    server.push("c", Turn::text("unused"));
    let refused = client
        .post(format!("{}/v1/messages", server.anthropic_base_url()))
        .body(json!({"model": "c", "max_tokens": 10, "messages": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("anthropic-version header is required")
    );
    assert_eq!(server.remaining("c"), 1);
}

/// `start_blocking` serves from its own thread, for tests that are not async.
#[test]
fn model_server_runs_without_a_runtime_of_the_caller() {
    use std::io::{Read, Write};
    let server = ModelServer::start_blocking(Script::new().model("m", [Turn::text("plain hello")]));
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}).to_string();
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    write!(
        stream,
        "POST /chat/completions HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("plain hello"), "{response}");
    assert_eq!(server.requests().len(), 1);
}
