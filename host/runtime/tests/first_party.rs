//! The first-party plugins as built components under the real runtime.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, context};
use openclaw_runtime::CallError;
use openclaw_test_support::{TestServer, workspace_root};
use serde_json::{Value, json};

fn manifest(plugin: &str) -> String {
    std::fs::read_to_string(
        workspace_root()
            .join("plugins")
            .join(plugin)
            .join("openclaw-plugin.toml"),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_fetch_reaches_only_operator_listed_hosts() {
    let allowed = TestServer::start().await;
    let other = TestServer::start().await;
    let harness = Harness::new();
    // The shipped manifest asks for operator-chosen hosts; loopback needs its own grant, which
    // this plugin does not request, so the test grants it through a copy of the manifest.
    let manifest = manifest("web-fetch").replace("\nhttp = [\"*\"]", "\nhttp = [\"*\"]\nprivate-network = true");
    let (plugin, _d) = harness
        .load(
            "web-fetch",
            &manifest,
            json!({"allow": ["web-fetch"], "entries": {"web-fetch": {
                "http": {"allow": [allowed.host_port()], "allowPrivateNetwork": ["127.0.0.1"]}
            }}}),
            &[],
        )
        .await;
    assert_eq!(plugin.tools[0].name, "web_fetch");
    let fetch = |url: String| {
        let harness = &harness;
        let plugin = plugin.clone();
        async move {
            harness
                .runtime
                .call_tool(&plugin, "web_fetch", &json!({"url": url}).to_string(), &context())
                .await
        }
    };
    let page: Value = serde_json::from_str(&fetch(allowed.url("/hello")).await.unwrap()).unwrap();
    assert_eq!(page["status"], 200);
    assert_eq!(page["text"], "hello from the test server");
    let denied = fetch(other.url("/hello")).await;
    assert!(matches!(denied, Err(CallError::Denied { .. })), "{denied:?}");
    assert!(other.hits().is_empty());
    let bad = fetch("file:///etc/passwd".into()).await;
    assert!(matches!(bad, Err(CallError::InvalidArgs { .. })), "{bad:?}");

    // The shipped manifest alone, with no operator list, reaches nothing.
    let (unlisted, _d2) = harness
        .load("web-fetch", &manifest, json!({"allow": ["web-fetch"]}), &[])
        .await;
    assert!(unlisted.grant().http.is_empty());
    let denied = harness
        .runtime
        .call_tool(
            &unlisted,
            "web_fetch",
            &json!({"url": allowed.url("/hello")}).to_string(),
            &context(),
        )
        .await;
    assert!(matches!(denied, Err(CallError::Denied { .. })), "{denied:?}");
}

#[tokio::test]
async fn calc_runs_with_an_empty_grant() {
    let harness = Harness::new();
    let (plugin, _d) = harness
        .load("calc", &manifest("calc"), json!({"allow": ["calc"]}), &[])
        .await;
    let grant = plugin.grant();
    assert!(grant.http.is_empty() && grant.secrets.is_empty() && grant.kv_quota_bytes == 0 && !grant.sandbox_exec);
    let out = harness
        .runtime
        .call_tool(
            &plugin,
            "calculate",
            r#"{"expression": "(1.5e3 + 20) * 4 / sqrt(16)"}"#,
            &context(),
        )
        .await
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["result"], 1520.0);
    let err = harness
        .runtime
        .call_tool(&plugin, "calculate", r#"{"expression": "1/0"}"#, &context())
        .await;
    assert!(
        matches!(err, Err(CallError::InvalidArgs { ref message, .. }) if message.contains("division by zero")),
        "{err:?}"
    );
}
