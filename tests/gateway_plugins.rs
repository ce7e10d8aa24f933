//! The real `openclaw gateway` starting plugins: a tool name two plugins provide is served by
//! neither, a workspace plugin changed after it was pinned does not load, OpenClaw JavaScript
//! plugins and ids that match no plugin are reported, a channel whose first start fails is
//! retried, and the compile cache keeps only what installed plugins use.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Gateway, Sandbox};
use openclaw_test_support::{build_guest, plugin_dir, workspace_root};
use serde_json::{Value, json};

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

const HELLO: &str = r#"id = "hello-tool"
version = "0.1.0"
api = "0.1.0"
kind = "tool"
[component]
file = "hello_tool.wasm"
[capabilities]
kv-quota-bytes = 1024
"#;

const PROBE: &str = r#"id = "probe"
version = "0.1.0"
api = "0.1.0"
kind = "channel"
[component]
file = "channel_probe.wasm"
[capabilities]
kv-quota-bytes = 1024
[channel]
id = "probe"
"#;

/// A running gateway (see `tests/common`).
struct Running(Gateway);

impl std::ops::Deref for Running {
    type Target = Gateway;
    fn deref(&self) -> &Gateway {
        &self.0
    }
}

impl Running {
    fn start(sandbox: &Sandbox) -> Self {
        Self(Gateway::start(sandbox, &[]))
    }

    async fn invoke(&self, tool: &str, args: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/tools/invoke", self.port))
            .bearer_auth(TOKEN)
            .json(&json!({"tool": tool, "args": args}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

fn sandbox_with(plugins: Value) -> Sandbox {
    let sandbox = Sandbox::new().env("OPENCLAW_DISABLE_BONJOUR", "1");
    sandbox.write_config(
        &json!({"gateway": {"mode": "local", "auth": {"mode": "token", "token": TOKEN}}, "plugins": plugins})
            .to_string(),
    );
    sandbox
}

fn manifest_with_id(manifest: &str, id: &str) -> String {
    manifest.replacen("id = \"hello-tool\"", &format!("id = \"{id}\""), 1)
}

/// Waits (up to a generous limit, for a slow machine) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_two_plugins_provide_is_served_by_neither() {
    let first = plugin_dir("hello-tool", &manifest_with_id(HELLO, "hello-a"));
    let second = plugin_dir("hello-tool", &manifest_with_id(HELLO, "hello-b"));
    let calc = workspace_root().join("plugins/calc");
    let calc_dir = plugin_dir(
        "calc",
        &std::fs::read_to_string(calc.join("openclaw-plugin.toml")).unwrap(),
    );
    let sandbox = sandbox_with(json!({
        "load": {"paths": [first.path(), second.path(), calc_dir.path()]},
        "allow": ["hello-a", "hello-b", "calc"],
    }));
    let gw = Running::start(&sandbox);
    let (status, reply) = gw.invoke("hello", json!({"name": "Ada"})).await;
    assert_eq!(status, 404, "{reply}");
    let stderr = gw.stderr();
    let clash = stderr
        .lines()
        .find(|l| l.contains("`hello`"))
        .unwrap_or_else(|| panic!("no clash reported:\n{stderr}"));
    assert!(clash.contains("hello-a") && clash.contains("hello-b"), "{clash}");
    // Everything else is served.
    let (status, reply) = gw.invoke("calculate", json!({"expression": "6 * 7"})).await;
    assert_eq!((status, &reply["result"]["result"]), (200, &json!(42.0)), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_workspace_plugin_changed_afterwards_does_not_load() {
    let sandbox = sandbox_with(json!({"allow": ["hello-tool"]}));
    let dir = sandbox
        .home()
        .join(".openclaw/workspace/.openclaw/extensions/hello-tool");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(build_guest("hello-tool"), dir.join("hello_tool.wasm")).unwrap();
    std::fs::write(dir.join("openclaw-plugin.toml"), HELLO).unwrap();
    let pin = sandbox.run(&["plugins", "pin", "hello-tool"]);
    assert_eq!(pin.code, Some(0), "{}{}", pin.stdout, pin.stderr);
    {
        let gw = Running::start(&sandbox);
        let (status, reply) = gw.invoke("hello", json!({"name": "Ada"})).await;
        assert_eq!(status, 200, "pinned, it loads: {reply}");
    }
    // The agent swaps the component for another one.
    std::fs::copy(build_guest("calc"), dir.join("hello_tool.wasm")).unwrap();
    let gw = Running::start(&sandbox);
    let (status, reply) = gw.invoke("calculate", json!({"expression": "1 + 1"})).await;
    assert_eq!(status, 404, "{reply}");
    let stderr = gw.stderr();
    assert!(stderr.contains("sha256"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_plugins_and_unknown_ids_are_reported_at_start() {
    let sandbox = sandbox_with(json!({"allow": ["voice-call", "ghost"], "entries": {"phantom": {"enabled": true}}}));
    let js = sandbox.state_dir().join("extensions/voice-call");
    std::fs::create_dir_all(&js).unwrap();
    std::fs::write(
        js.join("openclaw.plugin.json"),
        r#"{"id": "voice-call", "configSchema": {}}"#,
    )
    .unwrap();
    let gw = Running::start(&sandbox);
    let stderr = gw.stderr();
    let voice = stderr
        .lines()
        .find(|l| l.contains("voice-call"))
        .unwrap_or_else(|| panic!("the JavaScript plugin is not reported:\n{stderr}"));
    assert!(voice.contains("WebAssembly") && voice.contains("OpenClaw"), "{voice}");
    for id in ["ghost", "phantom"] {
        assert!(
            stderr.lines().any(|l| l.contains(id) && l.contains("no plugin")),
            "{id} is not reported:\n{stderr}"
        );
    }
}

/// Messages the ingress journal at `path` took.
fn journal_messages(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| l.starts_with(r#"{"t":"in""#)).count())
        .unwrap_or(0)
}

#[test]
fn a_channel_whose_first_start_fails_is_retried() {
    let probe = plugin_dir("channel-probe", PROBE);
    let sandbox = sandbox_with(json!({
        "load": {"paths": [probe.path()]},
        "allow": ["probe"],
        "entries": {"probe": {"config": {"failStarts": 1}}},
    }));
    let gw = Running::start(&sandbox);
    let journal = sandbox.state_dir().join("ingress/journal.jsonl");
    eventually(
        &format!("the channel delivers after its retried start:\n{}", gw.stderr()),
        || journal_messages(&journal) > 0,
    );
    let stderr = gw.stderr();
    assert!(stderr.contains("fails on purpose"), "{stderr}");
}

/// The compiled-component files in `cache`, by name.
fn cwasm_names(cache: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cwasm"))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compile_cache_keeps_only_what_installed_plugins_use() {
    let sandbox = sandbox_with(json!({"allow": ["hello-tool"]}));
    let hello = plugin_dir("hello-tool", HELLO);
    let install = sandbox.run(&["plugins", "install", hello.path().to_str().unwrap()]);
    assert_eq!(install.code, Some(0), "{}{}", install.stdout, install.stderr);
    // The install's load check compiled the component: `<sha256>-<engine>.cwasm`.
    let cache = sandbox.state_dir().join("plugins/cache");
    let compiled = cwasm_names(&cache);
    assert_eq!(compiled.len(), 1, "{compiled:?}");
    let (digest, engine) = compiled[0].trim_end_matches(".cwasm").split_once('-').unwrap();
    let (digest, engine) = (digest.to_string(), engine.to_string());
    // What a plugin uninstalled by hand left behind, and code an older engine compiled.
    let gone = "ab".repeat(32);
    let bytes = std::fs::read(cache.join(&compiled[0])).unwrap();
    for stale in [format!("{gone}-{engine}.cwasm"), format!("{digest}-older.cwasm")] {
        std::fs::write(cache.join(stale), &bytes).unwrap();
    }
    std::fs::create_dir_all(cache.join("verified")).unwrap();
    std::fs::write(cache.join("verified").join(&gone), "memo").unwrap();

    let gw = Running::start(&sandbox);
    let (status, reply) = gw.invoke("hello", json!({"name": "Ada"})).await;
    assert_eq!(status, 200, "the installed plugin still loads: {reply}");
    assert_eq!(cwasm_names(&cache), [compiled[0].clone()], "{}", gw.stderr());
    assert!(
        !cache.join("verified").join(&gone).exists(),
        "the stale memo is removed"
    );
    assert!(
        cache.join("verified").join(&digest).exists(),
        "the memo of the pinned component in use stays"
    );
}

/// Plugin tools cross the same gate as built-in ones: a plugin id in `tools.deny` denies every
/// tool of that plugin (403 with the config key), `group:plugins` reaches all of them, and
/// other plugins keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_tools_obey_the_tool_policy_by_plugin_id_and_group() {
    let hello = plugin_dir("hello-tool", HELLO);
    let calc = workspace_root().join("plugins/calc");
    let calc_dir = plugin_dir(
        "calc",
        &std::fs::read_to_string(calc.join("openclaw-plugin.toml")).unwrap(),
    );
    let sandbox = Sandbox::new().env("OPENCLAW_DISABLE_BONJOUR", "1");
    let write = |tools: Value| {
        sandbox.write_config(
            &json!({
                "gateway": {"mode": "local", "auth": {"mode": "token", "token": TOKEN}},
                "plugins": {"load": {"paths": [hello.path(), calc_dir.path()]}, "allow": ["hello-tool", "calc"]},
                "tools": tools,
            })
            .to_string(),
        )
    };
    write(json!({"deny": ["calc"]}));
    let gw = Running::start(&sandbox);
    let (status, reply) = gw.invoke("calculate", json!({"expression": "6 * 7"})).await;
    assert_eq!(status, 403, "{reply}");
    assert!(
        reply["error"]["message"].as_str().unwrap().contains("tools.deny"),
        "{reply}"
    );
    let (status, reply) = gw.invoke("hello", json!({"name": "Ada"})).await;
    assert_eq!(status, 200, "{reply}");
    drop(gw);

    write(json!({"deny": ["group:plugins"]}));
    let gw = Running::start(&sandbox);
    for tool in ["calculate", "hello"] {
        let (status, reply) = gw.invoke(tool, json!({})).await;
        assert_eq!(status, 403, "{tool}: {reply}");
    }
    // Built-in tools are not plugin tools.
    let (status, reply) = gw.invoke("session_status", json!({})).await;
    assert_eq!(status, 200, "{reply}");
}

/// `message` sends through a running channel plugin's `send`, and the tool policy decides it
/// like any other tool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_tool_sends_through_the_channel_and_obeys_the_policy() {
    let probe = tokio::task::spawn_blocking(|| plugin_dir("channel-probe", PROBE))
        .await
        .unwrap();
    let sandbox = Sandbox::new().env("OPENCLAW_DISABLE_BONJOUR", "1");
    let write = |tools: Value| {
        sandbox.write_config(
            &json!({
                "gateway": {"mode": "local", "auth": {"mode": "token", "token": TOKEN}},
                "plugins": {"load": {"paths": [probe.path()]}, "allow": ["probe"]},
                "tools": tools,
            })
            .to_string(),
        )
    };
    write(json!({}));
    let gw = Running::start(&sandbox);
    let (status, reply) = gw
        .invoke(
            "message",
            json!({"channel": "probe", "to": "chat-1", "text": "hi there"}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["messageId"], "sent:hi there");
    let (status, reply) = gw
        .invoke("message", json!({"channel": "nowhere", "to": "x", "text": "hi"}))
        .await;
    assert_eq!(status, 502, "{reply}");
    drop(gw);

    write(json!({"deny": ["group:messaging"]}));
    let gw = Running::start(&sandbox);
    let (status, reply) = gw
        .invoke("message", json!({"channel": "probe", "to": "chat-1", "text": "hi"}))
        .await;
    assert_eq!(status, 403, "{reply}");
}

/// A plugin granted sandbox exec runs its commands in a Docker container of the caller's agent,
/// never on the host, even where the agent's own tools run on the host (mode `off`); a plugin
/// without the grant is refused. Real daemon, busybox test image, never skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_sandbox_exec_runs_in_a_container_never_on_the_host() {
    use openclaw_sandbox::test_image::{TEST_IMAGE, ensure_test_image};
    let engine = openclaw_sandbox::Engine::connect(openclaw_sandbox::EngineEndpoint::Unix(
        openclaw_sandbox::endpoint::DEFAULT_SOCKET.into(),
    ))
    .await
    .unwrap_or_else(|e| panic!("this test needs a running Docker daemon and is not skipped: {e}"));
    ensure_test_image(
        &engine,
        TEST_IMAGE,
        &std::env::temp_dir().join("openclaw-test-busybox-static"),
    )
    .await
    .unwrap();
    let prefix = format!("oc-plugsbx-{}-", std::process::id());
    let hostile = plugin_dir(
        "hostile-tool",
        &std::fs::read_to_string(workspace_root().join("tests/guests/hostile/openclaw-plugin.toml")).unwrap(),
    );
    let config = |granted: bool| {
        json!({
            "gateway": {"mode": "local", "auth": {"mode": "token", "token": TOKEN}},
            "plugins": {"load": {"paths": [hostile.path()]}, "allow": ["hostile"],
                "entries": {"hostile": {"sandboxExec": granted}}},
            "agents": {"defaults": {"sandbox": {"mode": "off",
                "docker": {"image": TEST_IMAGE, "containerPrefix": prefix}}}},
        })
    };
    let sandbox = Sandbox::new().env("OPENCLAW_DISABLE_BONJOUR", "1");
    sandbox.write_config(&config(true).to_string());
    {
        let gw = Running::start(&sandbox);
        let (status, reply) = gw.invoke("attack", json!({"op": "sandbox"})).await;
        assert_eq!(status, 200, "{reply}");
        let result = &reply["result"];
        assert_eq!(result["ok"], true, "{reply}");
        // The busybox image's passwd, not this machine's.
        let passwd = result["value"].as_str().unwrap();
        assert!(passwd.contains("sandbox:x:1000:1000"), "{passwd}");
        assert_ne!(passwd, std::fs::read_to_string("/etc/passwd").unwrap());
    }
    let manager = openclaw_sandbox::SandboxManager::new(engine);
    let made = manager.list(Some(&prefix)).await.unwrap();
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].scope_key.as_deref(), Some("agent:main"));

    sandbox.write_config(&config(false).to_string());
    {
        let gw = Running::start(&sandbox);
        let (_, reply) = gw.invoke("attack", json!({"op": "sandbox"})).await;
        assert_eq!(reply["result"]["ok"], false, "{reply}");
        assert!(
            reply["result"]["error"]
                .as_str()
                .unwrap_or_default()
                .contains("not granted"),
            "{reply}"
        );
    }
    manager.remove_orphans(Some(&prefix), |_| false).await.unwrap();
}
