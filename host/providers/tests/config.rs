//! Providers built from `models.providers` config reach the scripted server with the secrets
//! the resolver supplies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Mutex;

use common::{ask, chain, run};
use openclaw_core::config::schema::common::SecretInput;
use openclaw_core::config::schema::models::ModelsConfig;
use openclaw_providers::Providers;
use openclaw_test_support::model_server::{ModelServer, Script, Turn};
use serde_json::json;

#[tokio::test]
async fn configured_providers_send_their_resolved_key_and_headers() {
    let server = ModelServer::start(
        Script::new()
            .api_key("sk-resolved")
            .model("llama", [Turn::text("from local")])
            .model("claude", [Turn::text("from claude")]),
    )
    .await;
    let models: ModelsConfig = serde_json::from_value(json!({
        "providers": {
            "local": {
                "api": "openai-completions",
                "baseUrl": server.openai_base_url(),
                "apiKey": {"source": "env", "provider": "default", "id": "LOCAL_KEY"},
                "headers": {"x-team": "blue"},
            },
            "claude": {"api": "anthropic-messages", "baseUrl": server.anthropic_base_url(), "apiKey": "sk-resolved"},
            "wrong": {"api": "openai-completions", "baseUrl": server.openai_base_url(), "apiKey": "sk-wrong"},
        }
    }))
    .unwrap();
    let asked = Mutex::new(Vec::new());
    let resolve = |input: &SecretInput, path: &str| {
        asked.lock().unwrap().push(path.to_string());
        Ok(match input {
            SecretInput::Literal(literal) => Some(literal.expose().to_string()),
            SecretInput::Ref(reference) if reference.id == "LOCAL_KEY" => Some("sk-resolved".to_string()),
            SecretInput::Ref(_) => None,
        })
    };
    let providers = Providers::from_config(Some(&models), &resolve).unwrap();

    let (local, _) = run(&providers, &chain(&["local/llama"]), &ask("hi")).await;
    assert_eq!(local.unwrap().text, "from local");
    let (claude, _) = run(&providers, &chain(&["claude/claude"]), &ask("hi")).await;
    assert_eq!(claude.unwrap().text, "from claude");
    let (wrong, _) = run(&providers, &chain(&["wrong/llama"]), &ask("hi")).await;
    assert_eq!(
        wrong.unwrap_err().to_string(),
        "no model answered: wrong/llama: provider `wrong` answered HTTP 401: invalid api key"
    );

    let requests = server.requests();
    assert_eq!(requests[0].header("authorization"), Some("Bearer sk-resolved"));
    assert_eq!(requests[0].header("x-team"), Some("blue"));
    assert_eq!(requests[1].header("x-api-key"), Some("sk-resolved"));
    let mut asked = asked.into_inner().unwrap();
    asked.sort();
    assert_eq!(
        asked,
        vec![
            "models.providers.claude.apiKey",
            "models.providers.local.apiKey",
            "models.providers.local.headers.x-team",
            "models.providers.wrong.apiKey",
        ]
    );
}

/// The seed's SecretRef example: `openai` needs no baseUrl or api, only its key.
#[test]
fn seed_openai_secret_ref_example_builds_a_provider() {
    let models: ModelsConfig = serde_json::from_value(json!({
        "providers": {"openai": {"apiKey": {"source": "env", "provider": "default", "id": "OPENAI_API_KEY"}}}
    }))
    .unwrap();
    let resolve = |_: &SecretInput, _: &str| Ok(Some("sk-seed".to_string()));
    let providers = Providers::from_config(Some(&models), &resolve).unwrap();
    assert_eq!(
        providers.provider_ids().collect::<Vec<_>>(),
        vec!["anthropic", "ollama", "openai"]
    );
    let debug = format!("{providers:?}");
    assert!(
        debug.contains("https://api.openai.com/v1") && !debug.contains("sk-seed"),
        "{debug}"
    );

    let failing = |_: &SecretInput, _: &str| Err("environment variable OPENAI_API_KEY is not set".to_string());
    let error = Providers::from_config(Some(&models), &failing).unwrap_err();
    assert_eq!(
        error.to_string(),
        "models.providers.openai.apiKey: environment variable OPENAI_API_KEY is not set"
    );
}
