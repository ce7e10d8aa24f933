//! The hostile suite: a real guest component tries every escape; each attempt must end in a
//! typed error or a contained trap while a well-behaved plugin beside it is served normally.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;

use common::{Harness, beside, context, hello, hostile_manifest};
use openclaw_runtime::CallError;
use openclaw_runtime::egress::StaticResolver;
use openclaw_test_support::TestServer;
use serde_json::{Value, json};

async fn attack(harness: &Harness, plugin: &openclaw_runtime::LoadedPlugin, args: Value) -> Result<Value, CallError> {
    harness
        .runtime
        .call_tool(plugin, "attack", &args.to_string(), &context())
        .await
        .map(|out| serde_json::from_str(&out).unwrap())
}

fn error_starts(out: &Value, prefix: &str) -> bool {
    out["error"].as_str().is_some_and(|e| e.starts_with(prefix))
}

fn error_contains(out: &Value, part: &str) -> bool {
    out["error"].as_str().is_some_and(|e| e.contains(part))
}

fn allow(id: &str, entry: Value) -> Value {
    json!({"allow": [id], "entries": {id: entry}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_host_files_environment_or_sockets() {
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let (plugin, _d) = harness
        .load("hostile-tool", &hostile_manifest("fs", ""), allow("fs", json!({})), &[])
        .await;
    let server = TestServer::start().await;

    for args in [
        json!({"op": "read", "path": "/etc/passwd"}),
        json!({"op": "read", "path": "../../../../etc/passwd"}),
        json!({"op": "readdir", "path": "/"}),
        json!({"op": "write", "path": "/tmp/owned-by-plugin"}),
        json!({"op": "tcp", "path": server.host_port()}),
    ] {
        let out = beside(&harness, &hello, attack(&harness, &plugin, args.clone()))
            .await
            .unwrap();
        assert_eq!(out["ok"], false, "{args} → {out}");
    }
    assert!(!std::path::Path::new("/tmp/owned-by-plugin").exists());
    assert!(
        server.hits().is_empty(),
        "a socket reached the server: {:?}",
        server.hits()
    );
    let env = attack(&harness, &plugin, json!({"op": "env"})).await.unwrap();
    assert_eq!(env["vars"], 0, "host environment leaked: {env}");
    assert_eq!(env["args"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_preopen_cannot_be_escaped() {
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let dir = openclaw_test_support::plugin_dir("hostile-tool", &hostile_manifest("assets", ""));
    let assets = dir.path().join("assets");
    std::fs::create_dir(&assets).unwrap();
    std::fs::write(assets.join("ok.txt"), "readable asset").unwrap();
    std::fs::write(dir.path().join("private.txt"), "outside the preopen").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", assets.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("../private.txt", assets.join("rel-link")).unwrap();
    std::os::unix::fs::symlink("/", assets.join("root-link")).unwrap();
    let plugin = harness
        .load_dir(dir.path(), allow("assets", json!({})), &[], None)
        .await
        .unwrap();

    let ok = attack(&harness, &plugin, json!({"op": "read", "path": "/assets/ok.txt"}))
        .await
        .unwrap();
    assert_eq!(ok["value"], "readable asset", "{ok}");
    for path in [
        "/assets/../private.txt",
        "/assets/../../../../etc/passwd",
        "/assets/abs-link",
        "/assets/rel-link",
        "/assets/root-link/etc/passwd",
        "/etc/passwd",
    ] {
        let out = beside(
            &harness,
            &hello,
            attack(&harness, &plugin, json!({"op": "read", "path": path})),
        )
        .await
        .unwrap();
        assert_eq!(out["ok"], false, "{path} → {out}");
    }
    let write = attack(&harness, &plugin, json!({"op": "write", "path": "/assets/new.txt"}))
        .await
        .unwrap();
    assert_eq!(write["ok"], false, "{write}");
    assert!(!assets.join("new.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_only_to_granted_hosts_and_public_addresses() {
    let granted = TestServer::start().await;
    let other = TestServer::start().await;
    let resolver = StaticResolver::default()
        .with("metadata.test", &["169.254.169.254".parse::<IpAddr>().unwrap()])
        .with("intranet.test", &["10.1.2.3".parse::<IpAddr>().unwrap()])
        .with(
            "mixed.test",
            &["93.184.216.34".parse::<IpAddr>().unwrap(), "10.9.9.9".parse().unwrap()],
        )
        .with("rebind.test", &["127.0.0.2".parse::<IpAddr>().unwrap()]);
    let harness = Harness::with_resolver(resolver);
    let (hello, _h) = hello(&harness).await;
    let port = granted.addr.port();
    let capabilities = format!(
        r#"http = ["{g}", "localhost:{port}", "metadata.test:80", "intranet.test:80", "mixed.test:80", "rebind.test:{port}", "169.254.169.254:80"]
private-network = true"#,
        g = granted.host_port()
    );
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("net", &capabilities),
            allow("net", json!({"http": {"allowPrivateNetwork": ["127.0.0.1/32"]}})),
            &[],
        )
        .await;
    let get = |url: String| json!({"op": "http", "url": url});

    // Control: the granted host answers.
    let ok = attack(&harness, &plugin, get(granted.url("/hello"))).await.unwrap();
    assert_eq!(ok["status"], 200, "{ok}");

    // Ungranted host (another port on the same machine).
    let out = beside(&harness, &hello, attack(&harness, &plugin, get(other.url("/hello"))))
        .await
        .unwrap();
    assert!(error_starts(&out, "request denied"), "{out}");
    assert!(other.hits().is_empty());

    // Names that resolve to link-local, private, mixed or not-granted loopback addresses.
    for url in [
        "http://metadata.test/latest/meta-data".to_string(),
        "http://intranet.test/".to_string(),
        "http://mixed.test/".to_string(),
        format!("http://rebind.test:{port}/hello"),
        "http://169.254.169.254/latest/meta-data".to_string(),
    ] {
        let out = beside(&harness, &hello, attack(&harness, &plugin, get(url.clone())))
            .await
            .unwrap();
        assert!(error_starts(&out, "request denied"), "{url} → {out}");
    }

    // Redirects from the granted host are new requests, checked again.
    let via = |to: &str| get(granted.url(&format!("/redirect?status=302&to={to}")));
    let followed = attack(&harness, &plugin, via(&granted.url("/hello"))).await.unwrap();
    assert_eq!(followed["body"], "hello from the test server", "{followed}");
    for to in [
        other.url("/hello"),
        "http://169.254.169.254/latest/meta-data".to_string(),
        format!("http://rebind.test:{port}/hello"),
        "http://metadata.test/".to_string(),
    ] {
        let out = beside(&harness, &hello, attack(&harness, &plugin, via(&to)))
            .await
            .unwrap();
        assert!(error_starts(&out, "request denied"), "redirect to {to} → {out}");
    }
    assert!(other.hits().is_empty(), "{:?}", other.hits());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_through_dns_needs_an_explicit_grant() {
    let server = TestServer::start().await;
    let harness = Harness::new();
    let port = server.addr.port();
    let capabilities = format!("http = [\"localhost:{port}\"]\nprivate-network = true");
    // The system resolver answers localhost with a loopback address.
    let (denied, _d1) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("lo", &capabilities),
            allow("lo", json!({})),
            &[],
        )
        .await;
    let url = format!("http://localhost:{port}/hello");
    let out = attack(&harness, &denied, json!({"op": "http", "url": url}))
        .await
        .unwrap();
    assert!(error_starts(&out, "request denied"), "{out}");
    assert!(server.hits().is_empty());

    let (granted, _d2) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("lo2", &capabilities),
            allow("lo2", json!({"http": {"allowPrivateNetwork": ["127.0.0.0/8", "::1"]}})),
            &[],
        )
        .await;
    let out = attack(&harness, &granted, json!({"op": "http", "url": url}))
        .await
        .unwrap();
    assert_eq!(out["status"], 200, "{out}");
}

/// A plugin with `API_TOKEN` bound to `bound` in two slots: `Authorization: Bearer {}` and the
/// `key` query parameter.
async fn secret_plugin(
    harness: &Harness,
    id: &str,
    bound: &TestServer,
    unbound: &TestServer,
    secret: &str,
) -> (std::sync::Arc<openclaw_runtime::LoadedPlugin>, tempfile::TempDir) {
    let capabilities = format!(
        r#"http = ["{b}", "{u}"]
private-network = true
[[capabilities.secrets]]
name = "API_TOKEN"
hosts = ["{b}"]
slots = [{{ header = "Authorization", template = "Bearer {{}}" }}, {{ query = "key" }}]"#,
        b = bound.host_port(),
        u = unbound.host_port()
    );
    harness
        .load(
            "hostile-tool",
            &hostile_manifest(id, &capabilities),
            allow(
                id,
                json!({
                    "http": {"allowPrivateNetwork": ["127.0.0.1"]},
                    "secrets": {"API_TOKEN": secret}
                }),
            ),
            &[("API_TOKEN", secret)],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_plugin() {
    const SECRET: &str = "sk-live-9f8e7d6c5b4a39281706";
    let bound = TestServer::start().await;
    let unbound = TestServer::start().await;
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let (plugin, _d) = secret_plugin(&harness, "sec", &bound, &unbound, SECRET).await;
    let auth = json!({"authorization": "Bearer {{secret:API_TOKEN}}"});
    // What the guest received is checked inside the guest too, because the tool's output is
    // scrubbed again on the way out and would hide a leak in the HTTP path.
    let needles = json!([SECRET, "c2stbGl2ZS05ZjhlN2Q2YzViNGEzOTI4MTcwNg"]);
    let request = |url: String| json!({"op": "http", "url": url, "headers": auth, "needles": needles});
    let mut outputs = Vec::new();

    // The bound host gets the value; what comes back is scrubbed, in every common encoding.
    for path in ["/echo", "/echo-base64", "/echo-header"] {
        let out = beside(&harness, &hello, attack(&harness, &plugin, request(bound.url(path))))
            .await
            .unwrap();
        assert_eq!(out["status"], 200, "{path} → {out}");
        outputs.push(out.to_string());
    }
    assert!(outputs[0].contains("[redacted:API_TOKEN]"), "{}", outputs[0]);
    assert!(outputs[1].contains("[redacted:API_TOKEN]"), "{}", outputs[1]);
    assert!(outputs[2].contains("[redacted:API_TOKEN]"), "{}", outputs[2]);
    let in_query = attack(
        &harness,
        &plugin,
        json!({"op": "http", "url": bound.url("/echo?key={{secret:API_TOKEN}}"), "needles": needles}),
    )
    .await
    .unwrap();
    assert_eq!(in_query["status"], 200, "{in_query}");
    outputs.push(in_query.to_string());
    assert!(
        bound.hits().iter().any(|h| h.contains(SECRET)),
        "the bound host should have received the value: {:?}",
        bound.hits()
    );

    // Any other host gets nothing at all, not even the request.
    for out in [
        attack(&harness, &plugin, request(unbound.url("/echo"))).await.unwrap(),
        attack(
            &harness,
            &plugin,
            json!({"op": "http", "url": unbound.url("/echo?key={{secret:API_TOKEN}}")}),
        )
        .await
        .unwrap(),
        // A redirect from the bound host to another one does not carry the secret along.
        attack(
            &harness,
            &plugin,
            json!({"op": "http", "url": bound.url(&format!("/redirect?status=307&to={}", unbound.url("/echo"))), "headers": auth}),
        )
        .await
        .unwrap(),
    ] {
        outputs.push(out.to_string());
    }
    assert!(outputs[4].contains("request denied"), "{}", outputs[4]);
    assert!(outputs[5].contains("request denied"), "{}", outputs[5]);
    assert!(
        unbound.received().iter().all(|r| !r.contains(SECRET)),
        "{:?}",
        unbound.hits()
    );
    assert!(unbound.hits().len() <= 1, "{:?}", unbound.hits());

    // A compressed answer cannot be checked, so it is refused; so is one that hides its coding
    // in a second content-encoding header.
    for path in ["/gzip", "/multi-encoding"] {
        let out = attack(&harness, &plugin, request(bound.url(path))).await.unwrap();
        assert!(error_starts(&out, "request denied"), "{path} → {out}");
        assert!(error_contains(&out, "content-encoding: gzip"), "{path} → {out}");
    }
    // The placeholder itself is only a name.
    let placeholder = attack(&harness, &plugin, json!({"op": "placeholder"})).await.unwrap();
    assert_eq!(placeholder["value"], "{{secret:API_TOKEN}}");

    for out in &outputs {
        assert!(!out.contains("\"saw_needle\":true"), "the guest saw the secret: {out}");
        assert!(!out.contains(SECRET), "secret leaked to the plugin: {out}");
        assert!(
            !out.contains("c2stbGl2ZS05ZjhlN2Q2YzViNGEzOTI4MTcwNg"),
            "base64 leaked: {out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_goes_only_into_the_slots_it_is_bound_to() {
    const SECRET: &str = "tg-123456:AAE-slot-bound-token";
    let bound = TestServer::start().await;
    let unbound = TestServer::start().await;
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let (plugin, _d) = secret_plugin(&harness, "slots", &bound, &unbound, SECRET).await;
    let json_body = json!({"content-type": "application/json"});
    let form_body = json!({"content-type": "application/x-www-form-urlencoded"});
    // Each is a request to the secret's own host, with the placeholder outside both slots. On a
    // host-wide binding every one of them would carry the token to the platform.
    let misplaced = [
        // The bot token as the text of a chat message.
        json!({"op": "http", "method": "POST", "url": bound.url("/sendMessage"), "headers": json_body,
               "body": r#"{"chat_id": 42, "text": "{{secret:API_TOKEN}}"}"#}),
        json!({"op": "http", "method": "POST", "url": bound.url("/sendMessage"), "headers": form_body,
               "body": "chat_id=42&text=%7B%7Bsecret%3AAPI_TOKEN%7D%7D"}),
        json!({"op": "http", "method": "POST", "url": bound.url("/sendMessage"),
               "body": "text={{secret:API_TOKEN}}"}),
        json!({"op": "http", "url": bound.url("/echo"), "headers": {"x-token": "{{secret:API_TOKEN}}"}}),
        json!({"op": "http", "url": bound.url("/echo"), "headers": {"authorization": "Basic {{secret:API_TOKEN}}"}}),
        json!({"op": "http", "url": bound.url("/echo?text={{secret:API_TOKEN}}")}),
        json!({"op": "http", "url": bound.url("/echo?key=prefix{{secret:API_TOKEN}}")}),
        json!({"op": "http", "url": bound.url("/{{secret:API_TOKEN}}/echo")}),
    ];
    for args in misplaced {
        let out = beside(&harness, &hello, attack(&harness, &plugin, args.clone()))
            .await
            .unwrap();
        assert!(error_starts(&out, "request denied"), "{args} → {out}");
        assert!(
            error_contains(
                &out,
                "secret \"API_TOKEN\" may only be placed in: header `Authorization: Bearer {}`, query parameter `key`"
            ),
            "the error names the secret and its slots: {out}"
        );
    }
    assert!(
        bound.received().is_empty(),
        "a refused request must not be sent at all: {:?}",
        bound.hits()
    );
    // The slots themselves work.
    for args in [
        json!({"op": "http", "url": bound.url("/echo"), "headers": {"authorization": "Bearer {{secret:API_TOKEN}}"}}),
        json!({"op": "http", "url": bound.url("/echo?key={{secret:API_TOKEN}}")}),
    ] {
        let out = attack(&harness, &plugin, args.clone()).await.unwrap();
        assert_eq!(out["status"], 200, "{args} → {out}");
    }
    let received = bound.received();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.contains(SECRET)), "{received:?}");

    // The operator can narrow the slots: with only the header left, the query slot is refused.
    let capabilities = format!(
        r#"http = ["{b}"]
private-network = true
[[capabilities.secrets]]
name = "API_TOKEN"
hosts = ["{b}"]
slots = [{{ header = "Authorization", template = "Bearer {{}}" }}, {{ query = "key" }}]"#,
        b = bound.host_port(),
    );
    let (narrowed, _n) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("narrowed", &capabilities),
            allow(
                "narrowed",
                json!({
                    "http": {"allowPrivateNetwork": ["127.0.0.1"]},
                    "secrets": {"API_TOKEN": {"value": SECRET, "slots": [{"header": "Authorization", "template": "Bearer {}"}]}}
                }),
            ),
            &[("API_TOKEN", SECRET)],
        )
        .await;
    let out = attack(
        &harness,
        &narrowed,
        json!({"op": "http", "url": bound.url("/echo?key={{secret:API_TOKEN}}")}),
    )
    .await
    .unwrap();
    assert!(
        error_contains(&out, "may only be placed in: header `Authorization: Bearer {}`;"),
        "{out}"
    );
    assert_eq!(bound.received().len(), 2, "nothing more was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflected_secrets_are_scrubbed_in_every_common_spelling() {
    // Characters every encoder treats differently: `/`, `+`, `:`, `=`, `&`, a space, a non-ASCII
    // letter; and a second secret made only of header-name characters, for the header-name echo.
    const SECRET: &str = "sk/li+ve:9f8e=7d6c&5b4a 3928ä1706";
    const TOKEN_CHARS: &str = "sk-live-9f8e7d6c5b4a39281706";
    let bound = TestServer::start().await;
    let unbound = TestServer::start().await;
    let harness = Harness::new();
    for (secret, id) in [(SECRET, "spell"), (TOKEN_CHARS, "spell-token")] {
        let (plugin, _d) = secret_plugin(&harness, id, &bound, &unbound, secret).await;
        for form in openclaw_test_support::REFLECT_FORMS {
            if *form == "header-name" && secret == SECRET {
                continue; // not a valid header name
            }
            let url = bound.url(&format!("/reflect?as={form}&key={{{{secret:API_TOKEN}}}}"));
            let out = attack(&harness, &plugin, json!({"op": "http", "url": url}))
                .await
                .unwrap();
            assert_eq!(out["status"], 200, "{form} → {out}");
            let reflected = bound.received().len();
            assert!(reflected > 0);
            let seen = format!("{}{}", out["headers"], out["body"]);
            assert!(
                seen.contains("[redacted:API_TOKEN]") || *form == "header-name",
                "{id}: {form} was not scrubbed: {out}"
            );
            let leaked = json!(out).to_string();
            assert!(!leaked.contains("9f8e"), "{id}: {form} leaked: {out}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_requests_are_refused_while_the_plugin_holds_a_secret() {
    let bound = TestServer::start().await;
    let unbound = TestServer::start().await;
    let harness = Harness::new();
    let (plugin, _d) = secret_plugin(&harness, "range", &bound, &unbound, "range-secret-0123456789").await;
    for header in ["range", "if-range"] {
        let out = attack(
            &harness,
            &plugin,
            json!({"op": "http", "url": bound.url("/reflect?key={{secret:API_TOKEN}}"), "headers": {header: "bytes=0-3"}}),
        )
        .await
        .unwrap();
        assert!(error_starts(&out, "request denied"), "{header} → {out}");
        assert!(error_contains(&out, header), "{out}");
    }
    assert!(bound.received().is_empty());
    // A plugin without secrets may ask for ranges.
    let capabilities = format!("http = [\"{}\"]\nprivate-network = true", bound.host_port());
    let (plain, _p) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("plain", &capabilities),
            allow("plain", json!({"http": {"allowPrivateNetwork": ["127.0.0.1"]}})),
            &[],
        )
        .await;
    let out = attack(
        &harness,
        &plain,
        json!({"op": "http", "url": bound.url("/hello"), "headers": {"range": "bytes=0-3"}}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], 200, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_loop_is_stopped_at_the_deadline() {
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("spin", ""),
            allow("spin", json!({"limits": {"timeoutMs": 300}})),
            &[],
        )
        .await;
    let started = std::time::Instant::now();
    let out = beside(&harness, &hello, attack(&harness, &plugin, json!({"op": "spin"}))).await;
    assert!(matches!(out, Err(CallError::Timeout { limit_ms: 300, .. })), "{out:?}");
    // The deadline is enforced, not merely eventually noticed (generous bound for a busy CI).
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The plugin still works after its instance was discarded.
    let again = attack(&harness, &plugin, json!({"op": "env"})).await.unwrap();
    assert_eq!(again["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_allocation_is_stopped_at_the_memory_limit() {
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("mem", ""),
            allow("mem", json!({"limits": {"memoryMb": 32}})),
            &[],
        )
        .await;
    let out = beside(
        &harness,
        &hello,
        attack(&harness, &plugin, json!({"op": "alloc", "mb": 4096})),
    )
    .await;
    match out {
        Err(CallError::OutOfMemory { limit_mb: 32, .. }) => {}
        other => panic!("expected OutOfMemory, got {other:?}"),
    }
    // A guest that asks politely gets a clean refusal instead.
    let polite = attack(&harness, &plugin, json!({"op": "try-alloc", "mb": 64}))
        .await
        .unwrap();
    assert_eq!(polite["ok"], false, "{polite}");
    let fits = attack(&harness, &plugin, json!({"op": "alloc", "mb": 8}))
        .await
        .unwrap();
    assert_eq!(fits["allocated_mb"], 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_call_floods_are_refused_past_the_budget() {
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("flood", "kv-quota-bytes = 4096"),
            allow("flood", json!({"limits": {"hostCalls": 500}})),
            &[],
        )
        .await;
    let out = beside(
        &harness,
        &hello,
        attack(&harness, &plugin, json!({"op": "flood-kv", "n": 20000})),
    )
    .await
    .unwrap();
    assert_eq!(out["refused"], 20000 - 500, "{out}");
    assert!(error_contains(&out, "host-call budget of 500"), "{out}");
    let logs = beside(
        &harness,
        &hello,
        attack(&harness, &plugin, json!({"op": "flood-log", "n": 200000})),
    )
    .await
    .unwrap();
    assert_eq!(logs["ok"], true, "{logs}");
    // The budget is per call: the next call starts fresh.
    let next = attack(&harness, &plugin, json!({"op": "flood-kv", "n": 10}))
        .await
        .unwrap();
    assert_eq!(next["refused"], 0, "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_and_stack_overflows_are_contained() {
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("crash", ""),
            allow("crash", json!({})),
            &[],
        )
        .await;
    let panic = beside(&harness, &hello, attack(&harness, &plugin, json!({"op": "panic"}))).await;
    match panic {
        Err(CallError::Crashed { ref detail, .. }) => {
            assert!(detail.contains("hostile plugin panics on purpose"), "{panic:?}")
        }
        other => panic!("expected Crashed, got {other:?}"),
    }
    let overflow = beside(&harness, &hello, attack(&harness, &plugin, json!({"op": "recurse"}))).await;
    assert!(matches!(overflow, Err(CallError::Crashed { .. })), "{overflow:?}");
    let after = attack(&harness, &plugin, json!({"op": "env"})).await.unwrap();
    assert_eq!(after["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_quota_and_sandbox_refusals_are_typed() {
    let harness = Harness::new();
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("quota", "kv-quota-bytes = 4096\nsandbox-exec = true"),
            allow("quota", json!({})),
            &[],
        )
        .await;
    let fill = attack(&harness, &plugin, json!({"op": "kv-fill"})).await.unwrap();
    assert!(error_starts(&fill, "limit exceeded"), "{fill}");
    // Each key costs its bytes, its value and the per-key overhead.
    assert_eq!(fill["stored"], 4096 / (512 + 5 + 256), "{fill}");
    // Requested but not granted by the operator.
    let exec = attack(&harness, &plugin, json!({"op": "sandbox"})).await.unwrap();
    assert!(error_starts(&exec, "denied"), "{exec}");

    let (granted, _d2) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("exec", "sandbox-exec = true"),
            allow("exec", json!({"sandboxExec": true})),
            &[],
        )
        .await;
    let exec = attack(&harness, &granted, json!({"op": "sandbox"})).await.unwrap();
    assert!(error_starts(&exec, "not available"), "{exec}");
    // Granted, but the tool policy does not allow `exec` for the calling agent: the grant does
    // not hold for this call.
    let mut no_exec = context();
    no_exec.sandbox_exec = false;
    let refused = harness
        .runtime
        .call_tool(&granted, "attack", &json!({"op": "sandbox"}).to_string(), &no_exec)
        .await
        .map(|out| serde_json::from_str::<Value>(&out).unwrap())
        .unwrap();
    assert!(
        error_starts(&refused, "denied") && error_contains(&refused, "tool policy"),
        "{refused}"
    );
    // No kv requested: denied, not a trap.
    let no_kv = attack(&harness, &granted, json!({"op": "flood-kv", "n": 1}))
        .await
        .unwrap();
    assert!(error_starts(&no_kv, "denied"), "{no_kv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_survives_from_one_call_to_the_next() {
    let harness = Harness::new();
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("fresh", ""),
            allow("fresh", json!({})),
            &[],
        )
        .await;
    // Statics start over: every call gets a fresh instance.
    for _ in 0..3 {
        let out = attack(&harness, &plugin, json!({"op": "count"})).await.unwrap();
        assert_eq!(out["value"], 1, "{out}");
    }
    // Memory a call dirtied is reset before its slot is reused (the pool keeps pages resident
    // and rewrites them): a later call finds no trace of it.
    let control = attack(&harness, &plugin, json!({"op": "find-residue"})).await.unwrap();
    assert_eq!(control["found"], false);
    let scanner_works = attack(&harness, &plugin, json!({"op": "residue-then-find"}))
        .await
        .unwrap();
    assert_eq!(
        scanner_works["found"], true,
        "the scan must see residue within one call"
    );
    for _ in 0..4 {
        let left = attack(&harness, &plugin, json!({"op": "residue", "mb": 4}))
            .await
            .unwrap();
        assert_eq!(left["left"], 4 << 20);
        let found = attack(&harness, &plugin, json!({"op": "find-residue"})).await.unwrap();
        assert_eq!(found["found"], false, "a previous call's memory was visible");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_per_call_are_capped() {
    let server = TestServer::start().await;
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let capabilities = format!("http = [\"{}\"]\nprivate-network = true", server.host_port());
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("burst", &capabilities),
            allow("burst", json!({"http": {"allowPrivateNetwork": ["127.0.0.1"]}})),
            &[],
        )
        .await;
    let args = json!({"op": "burst", "authority": server.host_port(), "path": "/slow?ms=200", "n": 40});
    let out = beside(&harness, &hello, attack(&harness, &plugin, args)).await.unwrap();
    assert_eq!(out["value"], "40", "{out}");
    let peak = server.max_in_flight();
    // The cap is 16 (egress::MAX_CONCURRENT_REQUESTS); they did run concurrently up to it.
    assert!((2..=16).contains(&peak), "peak {peak} requests in flight");
}

/// A name whose answers the test can change between requests.
#[derive(Clone, Default)]
struct Switching(std::sync::Arc<std::sync::Mutex<Vec<IpAddr>>>);

impl openclaw_runtime::egress::Resolve for Switching {
    fn resolve(
        &self,
        _host: &str,
        _port: u16,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        let answer = self.0.lock().unwrap().clone();
        Box::pin(async move { Ok(answer) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_connection_never_skips_the_address_check() {
    let server = TestServer::start().await;
    let port = server.addr.port();
    let dns = Switching::default();
    *dns.0.lock().unwrap() = vec!["127.0.0.1".parse().unwrap()];
    let harness = Harness::with_resolver(dns.clone());
    let capabilities = format!("http = [\"pooled.test:{port}\"]\nprivate-network = true");
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("pool", &capabilities),
            allow("pool", json!({"http": {"allowPrivateNetwork": ["127.0.0.1/32"]}})),
            &[],
        )
        .await;
    let url = format!("http://pooled.test:{port}/hello");
    for _ in 0..3 {
        let out = attack(&harness, &plugin, json!({"op": "http", "url": url}))
            .await
            .unwrap();
        assert_eq!(out["status"], 200, "{out}");
    }
    assert_eq!(server.hits().len(), 3);
    // The name now points at an address the grant does not cover: an idle connection to the
    // old address exists, and it must not carry the request.
    *dns.0.lock().unwrap() = vec!["127.0.0.2".parse().unwrap()];
    let out = attack(&harness, &plugin, json!({"op": "http", "url": url}))
        .await
        .unwrap();
    assert!(error_starts(&out, "request denied"), "{out}");
    assert_eq!(
        server.hits().len(),
        3,
        "the request went out over the pooled connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_requests_refuse_headers_a_plugin_may_not_set() {
    let server = TestServer::start().await;
    let harness = Harness::new();
    let capabilities = format!("http = [\"{}\"]\nprivate-network = true", server.host_port());
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("shape", &capabilities),
            allow("shape", json!({"http": {"allowPrivateNetwork": ["127.0.0.1"]}})),
            &[],
        )
        .await;
    for header in ["connection", "transfer-encoding", "host", "te", "upgrade"] {
        let out = attack(
            &harness,
            &plugin,
            json!({"op": "http", "url": server.url("/hello"), "headers": {header: "x"}}),
        )
        .await
        .unwrap();
        assert!(
            error_contains(&out, &format!("may not set the `{header}` header")),
            "{header}: {out}"
        );
    }
    assert!(server.hits().is_empty(), "{:?}", server.hits());
    let ok = attack(&harness, &plugin, json!({"op": "http", "url": server.url("/hello")}))
        .await
        .unwrap();
    assert_eq!(ok["status"], 200, "{ok}");
}
