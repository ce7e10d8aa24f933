//! `openclaw secrets reload` against the real gateway: a rotated model API key, plugin secret
//! and gateway token are in force from the next request on; a reference that stops resolving
//! refuses the whole reload, names its path and leaves the last-known-good values in force; an
//! old plugin secret stays scrubbed after its rotation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Gateway, Sandbox, write_private};
use openclaw_test_support::model_server::{ModelServer, Script, Turn};
use openclaw_test_support::{TestServer, hostile_tool_manifest, plugin_dir};
use serde_json::{Value, json};

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

fn sandbox() -> Sandbox {
    Sandbox::new().env("OPENCLAW_DISABLE_BONJOUR", "1")
}

/// A single-value secret file provider named `alias` at `path`.
fn file_provider(path: &Path) -> Value {
    json!({"source": "file", "path": path.display().to_string(), "mode": "singleValue"})
}

fn file_ref(alias: &str) -> Value {
    json!({"source": "file", "provider": alias, "id": "value"})
}

fn authorization_of_last(server: &ModelServer) -> String {
    let requests = server.requests();
    requests
        .last()
        .unwrap()
        .header("authorization")
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_rotated_model_key_is_used_by_the_next_request_and_a_broken_ref_keeps_the_last_good_one() {
    const FIRST: &str = "sk-first-key-00000000000000000001";
    const SECOND: &str = "sk-second-key-0000000000000000002";
    let server = ModelServer::start_blocking(Script::new().model(
        "m",
        [
            Turn::text("one"),
            Turn::text("two"),
            Turn::text("three"),
            Turn::text("four"),
        ],
    ));
    let sandbox = sandbox();
    let key_file = sandbox.home().join("secrets/model-key");
    write_private(&key_file, FIRST);
    sandbox.write_config(
        &json!({
            "gateway": {"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": TOKEN}},
            "secrets": {"providers": {"keyfile": file_provider(&key_file)}},
            "models": {"providers": {"local": {"api": "openai-completions", "baseUrl": server.openai_base_url(), "apiKey": file_ref("keyfile")}}},
            "agents": {"defaults": {"model": "local/m"}},
        })
        .to_string(),
    );

    // No gateway yet: a clear error, not a hang.
    let run = sandbox.run(&["secrets", "reload"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.stderr.contains("no gateway is running"), "{}", run.stderr);

    let gw = Gateway::start(&sandbox, &[]);
    let run = sandbox.run(&["agent", "-m", "hi"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(authorization_of_last(&server), format!("Bearer {FIRST}"));

    std::fs::write(&key_file, SECOND).unwrap();
    let run = sandbox.run(&["secrets", "reload", "--json"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let result = run.json();
    assert_eq!(result["ok"], true);
    assert_eq!(result["changed"], json!(["models.providers.local.apiKey"]));
    assert_eq!(result["refsResolved"], 1);
    assert_eq!(result["warningCount"], 0);
    assert!(
        !run.stdout.contains(FIRST) && !run.stdout.contains(SECOND),
        "{}",
        run.stdout
    );
    let run = sandbox.run(&["agent", "-m", "again"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(authorization_of_last(&server), format!("Bearer {SECOND}"));

    // Group-readable: refused by the file provider; the reload names the path, cause and fix,
    // and the last-known-good key stays in use.
    std::fs::write(&key_file, "sk-never-used-000000000000000003").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let run = sandbox.run(&["secrets", "reload"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        run.stderr.contains("models.providers.local.apiKey")
            && run.stderr.contains("readable or writable by group or others")
            && run.stderr.contains("chmod 600"),
        "{}",
        run.stderr
    );
    // Removed: the same, in JSON.
    std::fs::remove_file(&key_file).unwrap();
    let run = sandbox.run(&["secrets", "reload", "--json"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let message = run.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("models.providers.local.apiKey") && message.contains("cannot read secret file"),
        "{message}"
    );
    let run = sandbox.run(&["agent", "-m", "still"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(authorization_of_last(&server), format!("Bearer {SECOND}"));

    let log = gw.stderr();
    assert!(
        log.contains("secrets reloaded") && log.contains("secrets reload refused"),
        "{log}"
    );
    assert!(!log.contains(FIRST) && !log.contains(SECOND), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_plugin_secret_is_sent_next_and_the_old_one_stays_scrubbed() {
    const OLD: &str = "plugin-token-old-0a1b2c3d4e5f";
    const NEW: &str = "plugin-token-new-6a7b8c9d0e1f";
    let server = TestServer::start().await;
    let host = server.host_port();
    let manifest = hostile_tool_manifest(&host, "");
    let dir = plugin_dir("hostile-tool", &manifest);
    let sandbox = sandbox();
    let token_file = sandbox.home().join("secrets/plugin-token");
    write_private(&token_file, OLD);
    sandbox.write_config(
        &json!({
            "gateway": {"mode": "local", "auth": {"mode": "token", "token": TOKEN}},
            "secrets": {"providers": {"vault": file_provider(&token_file)}},
            "plugins": {"load": {"paths": [dir.path()]}, "allow": ["hostile"],
                "entries": {"hostile": {
                    "http": {"allowPrivateNetwork": ["127.0.0.1"]},
                    "secrets": {"API_TOKEN": file_ref("vault")},
                }}},
        })
        .to_string(),
    );
    let gw = Gateway::start(&sandbox, &[]);
    let invoke = |args: Value| {
        let url = gw.url("/tools/invoke");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(TOKEN)
                .json(&json!({"tool": "attack", "args": args}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.json::<Value>().await.unwrap()["result"].clone()
        }
    };
    let with_secret = json!({"op": "http", "url": server.url("/echo"),
        "headers": {"authorization": "Bearer {{secret:API_TOKEN}}"}});
    let last_authorization = || {
        let received = server.received();
        let (_, value) = received
            .last()
            .unwrap()
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .clone();
        String::from_utf8(value).unwrap()
    };

    let result = invoke(with_secret.clone()).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(last_authorization(), format!("Bearer {OLD}"));

    std::fs::write(&token_file, NEW).unwrap();
    let run = sandbox.run(&["secrets", "reload", "--json"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.json()["changed"],
        json!(["plugins.entries.hostile.secrets.API_TOKEN"])
    );

    let result = invoke(with_secret).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(last_authorization(), format!("Bearer {NEW}"));
    let echoed: Value = serde_json::from_str(result["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["headers"]["authorization"], "Bearer [redacted:API_TOKEN]");

    // A response echoing the rotated-out value: the plugin never sees it.
    let result =
        invoke(json!({"op": "http", "url": format!("{}?old={OLD}", server.url("/echo")), "needles": [OLD]})).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["saw_needle"], false, "{result}");
    assert!(
        result["body"].as_str().unwrap().contains("[redacted:API_TOKEN]"),
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_gateway_token_is_accepted_after_reload_and_the_old_one_refused() {
    const OLD: &str = "gateway-token-old-000000000000000000000001";
    const NEW: &str = "gateway-token-new-000000000000000000000002";
    let sandbox = sandbox();
    let token_file = sandbox.home().join("secrets/gateway-token");
    write_private(&token_file, OLD);
    sandbox.write_config(
        &json!({
            "gateway": {"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": file_ref("gw")}},
            "secrets": {"providers": {"gw": file_provider(&token_file)}},
        })
        .to_string(),
    );
    let gw = Gateway::start(&sandbox, &[]);
    let url = gw.url("/tools/invoke");
    let health = |token: &str| {
        let request = reqwest::Client::new()
            .post(url.clone())
            .bearer_auth(token)
            .json(&json!({"tool": "nope", "args": {}}));
        async move { request.send().await.unwrap().status().as_u16().to_string() }
    };
    assert_ne!(health(OLD).await, "401");
    assert_eq!(health(NEW).await, "401");

    std::fs::write(&token_file, NEW).unwrap();
    // The CLI reads the new token from the config's reference; the gateway does not know it yet.
    let run = sandbox.run(&["secrets", "reload"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.stderr.contains("--token"), "{}", run.stderr);
    let run = sandbox.run(&["secrets", "reload", "--token", OLD, "--json"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["changed"], json!(["gateway.auth.token"]));

    assert_eq!(health(OLD).await, "401");
    assert_ne!(health(NEW).await, "401");
    let run = sandbox.run(&["secrets", "reload", "--token", OLD]);
    assert_eq!(
        run.code,
        Some(1),
        "the old token is refused over the operator protocol too"
    );
    let run = sandbox.run(&["secrets", "reload"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Secrets reloaded: 1 reference(s) resolved, 0 changed."),
        "{}",
        run.stdout
    );
}
