//! Gateway speed and memory, measured on the real release binary:
//! - launch to port open with three cached plugins (web-fetch, calc, hello-tool),
//! - idle RSS after start,
//! - authenticated HTTP request latency on loopback (keep-alive): `/tools/invoke` with
//!   `dryRun` (auth + routing) and a real `calc` call (auth + plugin call in a fresh store).
//!
//! Run: `cargo bench -p openclaw --bench gateway`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use openclaw_test_support::{plugin_dir, workspace_root};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_openclaw");
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

fn manifest(plugin: &str, dir: &str) -> String {
    std::fs::read_to_string(workspace_root().join(dir).join(plugin).join("openclaw-plugin.toml")).unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn(home: &std::path::Path, port: u16) -> Child {
    Command::new(BIN)
        .args(["gateway", "run", "--port", &port.to_string()])
        .env_clear()
        .env("HOME", home)
        .env("OPENCLAW_DISABLE_BONJOUR", "1")
        .env("OPENCLAW_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// Waits until `GET /health` answers 200: the port is bound before plugins load, so a bare TCP
/// connect would succeed too early; the server answers only once everything is loaded.
fn wait_open(port: u16, limit: Duration) -> Duration {
    use std::io::{Read, Write};
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.starts_with("HTTP/1.1 200")
            {
                return started.elapsed();
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    panic!("gateway did not answer /health");
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// `VmRSS` with its anonymous and file-backed parts (the binary's own pages are file-backed).
fn rss(pid: u32) -> String {
    format!(
        "{} KiB (anon {} KiB, file {} KiB)",
        status_kib(pid, "VmRSS:"),
        status_kib(pid, "RssAnon:"),
        status_kib(pid, "RssFile:")
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<44} p50 {:>9.1?}  p99 {:>9.1?}  min {:>9.1?}  (n={})",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[0],
        samples.len()
    );
}

fn main() {
    let dirs = [
        plugin_dir("web-fetch", &manifest("web-fetch", "plugins")),
        plugin_dir("calc", &manifest("calc", "plugins")),
        plugin_dir("hello-tool", &manifest("hello-tool", "examples")),
    ];
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join(".openclaw");
    std::fs::create_dir_all(&state).unwrap();
    let ids = ["web-fetch", "calc", "hello-tool"];
    let config = json!({
        "gateway": {"mode": "local", "auth": {"token": TOKEN}},
        "plugins": {"load": {"paths": dirs.iter().map(|d| d.path()).collect::<Vec<_>>()}, "allow": ids},
    });
    std::fs::write(state.join("openclaw.json"), config.to_string()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(state.join("openclaw.json"), std::fs::Permissions::from_mode(0o600)).unwrap();

    // Warm the compile cache once.
    let port = free_port();
    let child = spawn(home.path(), port);
    wait_open(port, Duration::from_secs(60));
    stop(child);

    let mut launches = Vec::new();
    for _ in 0..15 {
        let port = free_port();
        let started = Instant::now();
        let child = spawn(home.path(), port);
        wait_open(port, Duration::from_secs(30));
        launches.push(started.elapsed());
        stop(child);
    }
    report("launch to /health answering (3 cached plugins)", launches);

    let port = free_port();
    let child = spawn(home.path(), port);
    wait_open(port, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    println!("{:<44} {}", "idle RSS (3 plugins loaded)", rss(child.id()));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/tools/invoke");
        for (name, body) in [
            (
                "authenticated /tools/invoke dryRun",
                json!({"tool": "calculate", "dryRun": true}),
            ),
            (
                "authenticated /tools/invoke calculate",
                json!({"tool": "calculate", "args": {"expression": "6*7"}}),
            ),
        ] {
            let mut samples = Vec::new();
            for i in 0..2200 {
                let started = Instant::now();
                let response = client
                    .post(&url)
                    .header("authorization", format!("Bearer {TOKEN}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let _ = response.bytes().await.unwrap();
                assert_eq!(status, 200);
                if i >= 200 {
                    samples.push(started.elapsed());
                }
            }
            report(name, samples);
        }
        let mut samples = Vec::new();
        for _ in 0..2000 {
            let started = Instant::now();
            let response = client
                .get(format!("http://127.0.0.1:{port}/health"))
                .send()
                .await
                .unwrap();
            let _ = response.bytes().await.unwrap();
            samples.push(started.elapsed());
        }
        report("unauthenticated /health", samples);
    });
    println!("{:<44} {}", "RSS after 6200 requests", rss(child.id()));
    stop(child);
}
