//! Helpers for the provider tests: specs pointing at the scripted model server, and a call
//! that collects what was streamed.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use openclaw_providers::{Api, ChatRequest, Completion, Message, ProviderError, ProviderSpec, Providers, StreamEvent};
use openclaw_test_support::model_server::{ModelServer, WireApi};
use tokio::sync::watch;

pub const APIS: [Api; 2] = [Api::OpenaiCompletions, Api::AnthropicMessages];

/// A spec for provider `id` speaking `api` to `server`, with test-sized waits.
pub fn spec(server: &ModelServer, id: &str, api: Api) -> ProviderSpec {
    let base_url = match api {
        Api::OpenaiCompletions => server.openai_base_url(),
        Api::AnthropicMessages => server.anthropic_base_url(),
    };
    let mut spec = ProviderSpec::new(id, api, base_url);
    spec.backoff = Duration::from_millis(10);
    spec.idle_timeout = Duration::from_secs(10);
    spec.timeout = Duration::from_secs(30);
    spec
}

pub fn wire(api: Api) -> WireApi {
    match api {
        Api::OpenaiCompletions => WireApi::OpenAi,
        Api::AnthropicMessages => WireApi::Anthropic,
    }
}

pub fn other(api: Api) -> Api {
    match api {
        Api::OpenaiCompletions => Api::AnthropicMessages,
        Api::AnthropicMessages => Api::OpenaiCompletions,
    }
}

pub fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        system: "You are a test.".into(),
        messages: vec![Message::User { text: text.into() }],
        tools: Vec::new(),
        max_tokens: None,
    }
}

pub fn chain(models: &[&str]) -> Vec<String> {
    models.iter().map(|m| m.to_string()).collect()
}

/// One `complete` call that is never cancelled; returns its result and what it streamed.
pub async fn run(
    providers: &Providers,
    chain: &[String],
    request: &ChatRequest,
) -> (Result<Completion, ProviderError>, Vec<StreamEvent>) {
    let (_keep, cancel) = watch::channel(false);
    let mut events = Vec::new();
    let result = providers
        .complete(chain, request, &mut |event| events.push(event), &cancel)
        .await;
    (result, events)
}

pub fn text_of(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta(t) => Some(t.as_str()),
            StreamEvent::ToolCall(_) => None,
        })
        .collect()
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
