//! Plugin runtime benchmarks through the full host path, with medians and p99.
//!
//! `cargo bench -p openclaw-runtime --bench plugin_calls` (add `-- quick` for fewer samples,
//! `-- calls` for the call loops only, `-- egress` for the floor and the egress loops only).
//!
//! - tool call: `Runtime::call_tool` = tool lookup + fresh store (limits, deadline, budget,
//!   egress hooks) + pooled instantiate + call + output scrubbing + JSON check + drop;
//! - cached load: `Runtime::load` of a plugin whose compiled form is cached = read + SHA-256
//!   verify + deserialize + link + list its tools (one instantiation);
//! - compile: the same load with an empty cache (Cranelift);
//! - egress call with a secret: a tool call whose guest sends one request through `wasi:http` to a
//!   local server, with the `Authorization: Bearer {}` slot filled from a placeholder, and the
//!   server's echo of the header scrubbed on the way back (connect + request + response over
//!   loopback, a new connection per request, as the runtime does);
//! - key-value write with 10 and with 10,000 keys in the store (a write touches only its file);
//! - 1000 live channel instances, each started and polled once: RSS growth.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openclaw_core::config::schema::plugins::PluginsConfig;
use openclaw_core::plugins::grants::{Decision, decide};
use openclaw_core::plugins::manifest::Manifest;
use openclaw_runtime::{CallContext, ChannelInstance, PluginSource, Runtime, RuntimeOptions};
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<44} n={:<6} median {:>10.1?}  p99 {:>10.1?}  min {:>10.1?}",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[0]
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

struct Plugin {
    source: PluginSource,
    plugins: PluginsConfig,
    _dir: tempfile::TempDir,
}

fn plugin(package: &str, manifest: &str) -> Plugin {
    let dir = openclaw_test_support::plugin_dir(package, manifest);
    let manifest = Manifest::parse(manifest, "openclaw-plugin.toml").unwrap();
    // Installed plugins are pinned; loads verify against the pin.
    let pinned = openclaw_state::ids::sha256_hex(&std::fs::read(dir.path().join(&manifest.component.file)).unwrap());
    let plugins: PluginsConfig = serde_json::from_value(json!({"allow": [manifest.id]})).unwrap();
    Plugin {
        source: PluginSource {
            dir: dir.path().to_path_buf(),
            manifest,
            pinned_sha256: Some(pinned),
        },
        plugins,
        _dir: dir,
    }
}

async fn load(runtime: &Runtime, plugin: &Plugin) -> Arc<openclaw_runtime::LoadedPlugin> {
    load_with(runtime, plugin, BTreeMap::new()).await
}

async fn load_with(
    runtime: &Runtime,
    plugin: &Plugin,
    secrets: BTreeMap<String, secrecy::SecretString>,
) -> Arc<openclaw_runtime::LoadedPlugin> {
    let grant = match decide(&plugin.source.manifest, &plugin.plugins) {
        Decision::Load(g) => *g,
        Decision::Refuse(r) => panic!("{r:?}"),
    };
    runtime.load(&plugin.source, grant, secrets).await.unwrap()
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let calls = if quick { 2_000 } else { 20_000 };
    let loads = if quick { 200 } else { 2_000 };
    let compiles = if quick { 5 } else { 30 };
    // `-- calls` runs only the tool-call loops (for profiling).
    let calls_only = std::env::args().any(|a| a == "calls");
    // `-- egress` runs only the floor and the egress loops (for profiling the egress path).
    let egress_only = std::env::args().any(|a| a == "egress");
    let calls_only = calls_only || egress_only;
    let (compiles, loads) = if calls_only { (0, 0) } else { (compiles, loads) };

    let calc = plugin(
        "calc",
        &std::fs::read_to_string(openclaw_test_support::workspace_root().join("plugins/calc/openclaw-plugin.toml"))
            .unwrap(),
    );
    let hostile = plugin(
        "hostile-tool",
        "id = \"echo\"\nversion = \"0.1.0\"\napi = \"0.1.0\"\nkind = \"tool\"\n[component]\nfile = \"hostile_tool.wasm\"\n",
    );
    let probe = plugin(
        "channel-probe",
        "id = \"probe\"\nversion = \"0.1.0\"\napi = \"0.1.0\"\nkind = \"channel\"\n[component]\nfile = \"channel_probe.wasm\"\n[channel]\nid = \"probe\"\n",
    );
    let state = tempfile::tempdir().unwrap();
    let mut options = RuntimeOptions::under_state_dir(state.path());
    options.engine.max_instances = 1100;
    let runtime = Runtime::new(options).unwrap();
    println!(
        "allocator: {:?}; guest sizes: calc {} B, hostile {} B, probe {} B",
        runtime.engine().allocator(),
        std::fs::metadata(calc.source.component_path()).unwrap().len(),
        std::fs::metadata(hostile.source.component_path()).unwrap().len(),
        std::fs::metadata(probe.source.component_path()).unwrap().len(),
    );
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    if std::env::args().any(|a| a == "kv") || !calls_only {
        tokio.block_on(kv_writes(state.path(), if quick { 300 } else { 2_000 }));
        if std::env::args().any(|a| a == "kv") {
            return;
        }
    }
    if std::env::args().any(|a| a == "instances") {
        // A process holding only the engine, one channel plugin and its instances.
        tokio.block_on(async {
            let probe_plugin = load(&runtime, &probe).await;
            live_instances(&probe_plugin).await;
        });
        return;
    }
    tokio.block_on(async {
        let context = CallContext {
            agent_id: "main".into(),
            session_key: "agent:main:main".into(),
            channel: None,
            call_id: "bench".into(),
            sandbox_exec: true,
        };

        // Compile (no cache): a fresh cache directory each time.
        let mut samples = Vec::new();
        for i in 0..compiles {
            let dir = state.path().join(format!("nocache-{i}"));
            let mut options = RuntimeOptions::under_state_dir(&dir);
            options.engine.on_demand = true;
            let cold = Runtime::new(options).unwrap();
            let started = Instant::now();
            let loaded = load(&cold, &hostile).await;
            samples.push(started.elapsed());
            assert_eq!(loaded.cache, openclaw_runtime::cache::CacheOutcome::Compiled);
        }
        if !samples.is_empty() {
            report("load, compiling (hostile, 369 KB)", samples);
        }

        let calc_plugin = load(&runtime, &calc).await;
        if !calls_only {
            let path = calc.source.component_path();
            let mut read = Vec::new();
            let mut hash = Vec::new();
            for _ in 0..200 {
                let t = Instant::now();
                let bytes = std::fs::read(&path).unwrap();
                read.push(t.elapsed());
                let t = Instant::now();
                std::hint::black_box(openclaw_state::ids::sha256_hex(&bytes));
                hash.push(t.elapsed());
            }
            report("  part: read component (calc)", read);
            report("  part: sha256 (calc)", hash);
            let cache = runtime.cache().dir().unwrap().to_path_buf();
            let file = std::fs::read_dir(&cache)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .unwrap();
            let mut de = Vec::new();
            for _ in 0..200 {
                let t = Instant::now();
                #[allow(unsafe_code)]
                let c = unsafe { wasmtime::component::Component::deserialize_file(runtime.engine().engine(), &file) }
                    .unwrap();
                de.push(t.elapsed());
                drop(c);
            }
            report("  part: deserialize_file", de);
        }
        let echo_plugin = load(&runtime, &hostile).await;
        let mut samples = Vec::with_capacity(loads);
        for _ in 0..loads {
            let started = Instant::now();
            let loaded = load(&runtime, &calc).await;
            samples.push(started.elapsed());
            assert_eq!(loaded.cache, openclaw_runtime::cache::CacheOutcome::Hit);
        }
        if !calls_only {
            report("load, cached (calc)", samples);
        }
        let mut samples = Vec::with_capacity(loads);
        for _ in 0..loads {
            let started = Instant::now();
            load(&runtime, &hostile).await;
            samples.push(started.elapsed());
        }
        if !calls_only {
            report("load, cached (hostile)", samples);
        }

        for (name, plugin, tool, args) in [
            (
                "tool call: calc 2+2",
                &calc_plugin,
                "calculate",
                r#"{"expression":"2+2"}"#.to_string(),
            ),
            (
                "tool call: echo 1 KiB JSON",
                &echo_plugin,
                "echo",
                json!({"text": "x".repeat(1000)}).to_string(),
            ),
        ] {
            if egress_only {
                continue;
            }
            for _ in 0..200 {
                runtime.call_tool(plugin, tool, &args, &context).await.unwrap();
            }
            let mut samples = Vec::with_capacity(calls);
            for _ in 0..calls {
                let started = Instant::now();
                let out = runtime.call_tool(plugin, tool, &args, &context).await.unwrap();
                samples.push(started.elapsed());
                std::hint::black_box(out);
            }
            report(name, samples);
        }

        // Egress with a secret in its slot and the echo scrubbed, against a lean local server (the
        // test server records every request, which would dominate the figure).
        let server = EchoServer::start().await;
        // The floor of this run: the same request from a plain hyper client on a kept-alive
        // connection polled in the request's task, as the runtime does, with no plugin at all.
        report(
            "floor: plain hyper GET, kept alive (no plugin)",
            server.floor(if quick { 2_000 } else { 10_000 }).await,
        );
        let secret = "sk-bench-0123456789abcdef0123456789";
        let egress_manifest = format!(
            "id = \"egress\"\nversion = \"0.1.0\"\napi = \"0.1.0\"\nkind = \"tool\"\n[component]\nfile = \"hostile_tool.wasm\"\n\
             [capabilities]\nhttp = [\"{host}\"]\nprivate-network = true\n\
             [[capabilities.secrets]]\nname = \"API_TOKEN\"\nhosts = [\"{host}\"]\n\
             slots = [{{ header = \"Authorization\", template = \"Bearer {{}}\" }}]\n",
            host = server.host_port()
        );
        let mut egress = plugin("hostile-tool", &egress_manifest);
        egress.plugins = serde_json::from_value(json!({"allow": ["egress"], "entries": {"egress": {
            "http": {"allowPrivateNetwork": ["127.0.0.1"]},
            "secrets": {"API_TOKEN": secret},
        }}}))
        .unwrap();
        let egress_plugin = load_with(
            &runtime,
            &egress,
            BTreeMap::from([("API_TOKEN".to_string(), secrecy::SecretString::from(secret))]),
        )
        .await;
        let args = json!({"op": "http", "url": server.url(),
                          "headers": {"authorization": "Bearer {{secret:API_TOKEN}}"}})
        .to_string();
        let first = runtime.call_tool(&egress_plugin, "attack", &args, &context).await.unwrap();
        assert!(first.contains("[redacted:API_TOKEN]") && !first.contains(secret), "{first}");
        for _ in 0..200 {
            runtime.call_tool(&egress_plugin, "attack", &args, &context).await.unwrap();
        }
        let egress_calls = (calls / 4).max(500);
        let mut samples = Vec::with_capacity(egress_calls);
        for _ in 0..egress_calls {
            let started = Instant::now();
            let out = runtime.call_tool(&egress_plugin, "attack", &args, &context).await.unwrap();
            samples.push(started.elapsed());
            std::hint::black_box(out);
        }
        report("egress call with a secret (slot + scrub)", samples);
        // The same request without a secret in the grant, as the baseline of this run.
        let plain_manifest = format!(
            "id = \"plain\"\nversion = \"0.1.0\"\napi = \"0.1.0\"\nkind = \"tool\"\n[component]\nfile = \"hostile_tool.wasm\"\n\
             [capabilities]\nhttp = [\"{host}\"]\nprivate-network = true\n",
            host = server.host_port()
        );
        let mut plain = plugin("hostile-tool", &plain_manifest);
        plain.plugins = serde_json::from_value(json!({"allow": ["plain"], "entries": {"plain": {
            "http": {"allowPrivateNetwork": ["127.0.0.1"]},
        }}}))
        .unwrap();
        let plain_plugin = load(&runtime, &plain).await;
        let plain_args = json!({"op": "http", "url": server.url()}).to_string();
        for _ in 0..200 {
            runtime.call_tool(&plain_plugin, "attack", &plain_args, &context).await.unwrap();
        }
        let mut samples = Vec::with_capacity(egress_calls);
        for _ in 0..egress_calls {
            let started = Instant::now();
            let out = runtime.call_tool(&plain_plugin, "attack", &plain_args, &context).await.unwrap();
            samples.push(started.elapsed());
            std::hint::black_box(out);
        }
        report("egress call, no secret (baseline)", samples);
        println!(
            "{:<44} {} connections for {} requests (idle connections are reused)",
            "  egress connections opened",
            server.connections(),
            2 * (egress_calls + 200) + 1
        );

        if egress_only {
            return;
        }
        // Concurrency: two calls at a time on two worker threads.
        let started = Instant::now();
        let total = calls;
        let mut handles = Vec::new();
        let runtime = Arc::new(runtime);
        for _ in 0..2 {
            let runtime = runtime.clone();
            let plugin = calc_plugin.clone();
            let context = context.clone();
            handles.push(tokio::spawn(async move {
                for _ in 0..total / 2 {
                    runtime
                        .call_tool(&plugin, "calculate", r#"{"expression":"2+2"}"#, &context)
                        .await
                        .unwrap();
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let elapsed = started.elapsed();
        println!(
            "{:<44} {:.0} calls/s",
            "tool call throughput, 2 tasks",
            total as f64 / elapsed.as_secs_f64()
        );

        if calls_only {
            return;
        }
        let probe_plugin = load(&runtime, &probe).await;
        live_instances(&probe_plugin).await;
    });
}

/// Starts 1000 channel instances, polls each once and keeps them alive; reports RSS. They share
/// one inbound queue, as a gateway's instances of one channel do.
async fn live_instances(plugin: &Arc<openclaw_runtime::LoadedPlugin>) {
    let (tx, mut rx) = openclaw_runtime::inbound::inbound_queue();
    let before = rss_kib();
    let mut channels = Vec::new();
    for _ in 0..1000 {
        let channel = ChannelInstance::new(plugin.clone(), tx.clone()).unwrap();
        channel.poll().await.unwrap();
        rx.recv().await.unwrap();
        channels.push(channel);
    }
    let after = rss_kib();
    println!(
        "{:<44} RSS {} MiB -> {} MiB (+{:.1} MiB, {:.1} KiB per instance)",
        "1000 live channel instances (polled once)",
        before / 1024,
        after / 1024,
        (after - before) as f64 / 1024.0,
        (after - before) as f64 / 1000.0
    );
}

/// A minimal HTTP/1.1 server with keep-alive that echoes the `Authorization` header back in
/// `x-reflected` (what a server reflecting credentials does), standing in for a remote API.
struct EchoServer {
    addr: std::net::SocketAddr,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl EchoServer {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = tcp.set_nodelay(true);
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(|request: http::Request<hyper::body::Incoming>| async move {
                            let mut response =
                                http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"ok")));
                            if let Some(auth) = request.headers().get(http::header::AUTHORIZATION) {
                                response.headers_mut().insert("x-reflected", auth.clone());
                            }
                            Ok::<_, std::convert::Infallible>(response)
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Self { addr, connections }
    }

    /// Round trips of a plain hyper client to this server on one kept-alive connection.
    async fn floor(&self, n: usize) -> Vec<Duration> {
        use http_body_util::BodyExt;
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
        let mut connection = Box::pin(connection);
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n + 200 {
            let started = Instant::now();
            let request = http::Request::builder()
                .uri("/echo")
                .header("host", self.host_port())
                .header("authorization", "Bearer sk-bench-0123456789abcdef0123456789")
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap();
            let work = async {
                sender.ready().await.unwrap();
                let response = sender.send_request(request).await.unwrap();
                response.into_body().collect().await.unwrap()
            };
            tokio::select! {
                _ = work => {}
                _ = &mut connection => panic!("the connection closed"),
            }
            samples.push(started.elapsed());
        }
        samples.split_off(200)
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn host_port(&self) -> String {
        self.addr.to_string()
    }

    fn url(&self) -> String {
        format!("http://{}/echo", self.addr)
    }
}

/// `KvStore::set` of a 64-byte value with `keys` keys already stored.
async fn kv_writes(state: &std::path::Path, samples: usize) {
    for keys in [10usize, 10_000] {
        let dir = state.join(format!("kv-{keys}"));
        let store = openclaw_runtime::kv::KvStore::open(&dir, 64 << 20).unwrap();
        for i in 0..keys {
            store.set(&format!("key-{i}"), vec![7; 64]).await.unwrap();
        }
        let mut times = Vec::with_capacity(samples);
        for i in 0..samples {
            let started = Instant::now();
            store.set(&format!("key-{}", i % keys), vec![8; 64]).await.unwrap();
            times.push(started.elapsed());
        }
        report(&format!("kv set, {keys} keys in the store"), times);
    }
}
