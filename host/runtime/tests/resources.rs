//! Every host resource a guest can make is counted: what the host holds for a plugin is charged
//! to its memory grant, directory handles and copies are bounded, floods of log lines are rate
//! limited with a count of what was dropped, and a guest that exits or copies too much is
//! reported with that cause. Each attack runs beside a well-behaved plugin that must be served.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, beside, context, hello, hostile_manifest, logged_for};
use openclaw_runtime::CallError;
use openclaw_test_support::TestServer;
use serde_json::{Value, json};

const MIB: u64 = 1 << 20;

/// The tests of this file measure the process's memory, so they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// How far the process's resident memory rose above where it was, at its peak, while `work` ran.
async fn peak_growth<F: std::future::Future>(work: F) -> (F::Output, u64) {
    // Writing 5 to clear_refs resets the peak (VmHWM) to the current resident size.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kib("VmRSS:");
    let out = work.await;
    let peak = status_kib("VmHWM:");
    (out, peak.saturating_sub(before) * 1024)
}

async fn attack(harness: &Harness, plugin: &openclaw_runtime::LoadedPlugin, args: Value) -> Result<Value, CallError> {
    harness
        .runtime
        .call_tool(plugin, "attack", &args.to_string(), &context())
        .await
        .map(|out| serde_json::from_str(&out).unwrap())
}

fn allow(id: &str, entry: Value) -> Value {
    json!({"allow": [id], "entries": {id: entry}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_host_holds_for_a_plugin_is_charged_to_its_memory_grant() {
    let _serial = SERIAL.lock().await;
    let server = TestServer::start().await;
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let capabilities = format!("http = [\"{}\"]\nprivate-network = true", server.host_port());
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("holder", &capabilities),
            allow(
                "holder",
                json!({"limits": {"memoryMb": 32, "timeoutMs": 60000}, "http": {"allowPrivateNetwork": ["127.0.0.1"]}}),
            ),
            &[],
        )
        .await;
    let grant = 32 * MIB;
    // Header fields filled to their limit, bodies written and never sent, responses kept unread:
    // none of it is guest memory, all of it is host memory. The guest may be stopped when its
    // resource table is full; either way, the host's memory must not rise far past the grant
    // (the slack covers the guest's own memory and the neighbour's call).
    for (what, n, size, path) in [
        ("fields", 16384, 4 * 1024, "/"),
        ("unsent", 4096, 64 * 1024, "/"),
        ("responses", 64, 0, "/big?bytes=1048576"),
    ] {
        let args = json!({"op": "hold", "what": what, "n": n, "size": size,
                          "authority": server.host_port(), "path": path});
        let (out, growth) = peak_growth(beside(&harness, &hello, attack(&harness, &plugin, args))).await;
        assert!(
            growth <= 2 * grant,
            "{what}: the host grew by {} MiB for a plugin granted 32 MiB: {out:?}",
            growth / MIB
        );
        match out {
            Ok(report) => {
                assert!(
                    !report["refusal"].is_null(),
                    "{what}: nothing was ever refused: {report}"
                );
                assert!(report["accepted_bytes"].as_u64().unwrap() <= grant, "{what}: {report}");
            }
            Err(CallError::ResourceLimit { entries, .. }) => assert_eq!(entries, 512, "{what}"),
            Err(CallError::HeaderLimit { limit_kib, .. }) => assert_eq!(limit_kib, 16, "{what}"),
            Err(other) => panic!("{what}: {other}"),
        }
    }
    // Held responses are refused with the reason, while a reasonable number still fits.
    let out = attack(
        &harness,
        &plugin,
        json!({"op": "hold", "what": "responses", "n": 64, "authority": server.host_port(), "path": "/big?bytes=1048576"}),
    )
    .await
    .unwrap();
    assert!(out["refusal"].as_str().unwrap().contains("memory limit"), "{out}");
    assert!(out["kept"].as_u64().unwrap() >= 8, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_handles_are_bounded() {
    let _serial = SERIAL.lock().await;
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let dir = openclaw_test_support::plugin_dir("hostile-tool", &hostile_manifest("dirs", ""));
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    let plugin = harness
        .load_dir(
            dir.path(),
            allow("dirs", json!({"limits": {"memoryMb": 16}})),
            &[],
            None,
        )
        .await
        .unwrap();
    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let before = fds();
    let out = beside(
        &harness,
        &hello,
        attack(
            &harness,
            &plugin,
            json!({"op": "dir-handles", "path": "/assets", "n": 100_000}),
        ),
    )
    .await;
    match out {
        Err(CallError::ResourceLimit { entries: 256, .. }) => {}
        other => panic!("expected the resource limit, got {other:?}"),
    }
    // The handles went with the instance.
    assert!(fds() <= before + 16, "{} descriptors left open", fds() - before);
    let small = attack(
        &harness,
        &plugin,
        json!({"op": "dir-handles", "path": "/assets", "n": 50}),
    )
    .await
    .unwrap();
    assert_eq!(small["kept"], 50, "ordinary use still works: {small}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_assets_for_a_link_after_load_exposes_nothing() {
    let _serial = SERIAL.lock().await;
    let harness = Harness::new();
    let dir = openclaw_test_support::plugin_dir("hostile-tool", &hostile_manifest("swap", ""));
    let assets = dir.path().join("assets");
    std::fs::create_dir(&assets).unwrap();
    std::fs::write(assets.join("ok.txt"), "the asset it shipped").unwrap();
    let plugin = harness
        .load_dir(dir.path(), allow("swap", json!({})), &[], None)
        .await
        .unwrap();
    let read = |path: &str| json!({"op": "read", "path": path});
    let before = attack(&harness, &plugin, read("/assets/ok.txt")).await.unwrap();
    assert_eq!(before["value"], "the asset it shipped");

    // Someone who can write the plugin directory swaps assets/ for a link to a private place.
    let private = tempfile::tempdir().unwrap();
    std::fs::write(private.path().join("ok.txt"), "private data").unwrap();
    std::fs::write(private.path().join("id_rsa"), "private key").unwrap();
    std::fs::rename(&assets, dir.path().join("assets.old")).unwrap();
    std::os::unix::fs::symlink(private.path(), &assets).unwrap();

    for path in ["/assets/id_rsa", "/assets/ok.txt"] {
        let out = attack(&harness, &plugin, read(path)).await.unwrap();
        assert!(
            !out.to_string().contains("private"),
            "{path} read through the swapped-in link: {out}"
        );
    }
    let still = attack(&harness, &plugin, read("/assets/ok.txt")).await.unwrap();
    assert_eq!(
        still["value"], "the asset it shipped",
        "the loaded directory is still served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exits_stack_overflows_and_copy_floods_are_reported_with_their_cause() {
    let _serial = SERIAL.lock().await;
    let harness = Harness::new();
    let (hello, _h) = hello(&harness).await;
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("causes", ""),
            allow(
                "causes",
                json!({"limits": {"memoryMb": 16, "hostCalls": 100000, "timeoutMs": 60000}}),
            ),
            &[],
        )
        .await;
    // wasi:cli/exit carries success or failure only, so exit(3) arrives as status 1.
    let exit = beside(
        &harness,
        &hello,
        attack(&harness, &plugin, json!({"op": "exit", "status": 3})),
    )
    .await;
    match &exit {
        Err(CallError::Exited { status: 1, .. }) => {}
        other => panic!("expected Exited(1), got {other:?}"),
    }
    assert!(exit.unwrap_err().to_string().contains("exited (status 1)"));

    let overflow = attack(&harness, &plugin, json!({"op": "recurse"})).await;
    let message = overflow.unwrap_err().to_string();
    assert!(message.contains("stack overflow"), "{message}");

    // 1000 log lines of 1 MiB: the host cuts each to 16 KiB, but would copy 1 GB to do so.
    let flood = beside(
        &harness,
        &hello,
        attack(&harness, &plugin, json!({"op": "copy-flood", "mb": 1, "n": 1000})),
    )
    .await;
    match flood {
        Err(CallError::CopyLimit { limit_mb: 64, .. }) => {}
        other => panic!("expected the copy limit, got {other:?}"),
    }
    let after = attack(&harness, &plugin, json!({"op": "env"})).await.unwrap();
    assert_eq!(after["ok"], true, "the plugin works again on the next call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_floods_are_rate_limited_with_a_count_and_escapes_neutralised() {
    let _serial = SERIAL.lock().await;
    logged_for("");
    let harness = Harness::new();
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("chatty", ""),
            allow("chatty", json!({"limits": {"hostCalls": 100000}})),
            &[],
        )
        .await;
    let out = attack(
        &harness,
        &plugin,
        json!({"op": "log", "text": "\u{1b}[2J\u{1b}]0;owned\u{7}line\r\nforged: admin logged in", "n": 5000}),
    )
    .await
    .unwrap();
    assert_eq!(out["logged"], 5000);
    let logged = logged_for("chatty");
    let lines: Vec<_> = logged.iter().filter(|l| l.message.contains("forged")).collect();
    assert!(
        lines.len() <= 200,
        "{} of 5000 flood lines reached the log",
        lines.len()
    );
    let suppressed: u64 = logged
        .iter()
        .filter_map(|l| l.field("suppressed").and_then(|n| n.parse::<u64>().ok()))
        .sum();
    assert_eq!(
        suppressed + lines.len() as u64,
        5000,
        "every dropped line is counted: {:?}",
        logged.iter().map(|l| &l.message).collect::<Vec<_>>()
    );
    for line in lines {
        assert!(
            !line.message.chars().any(char::is_control),
            "control characters reached the log: {:?}",
            line.message
        );
        assert!(line.message.contains("\\u{1b}[2J"), "{:?}", line.message);
    }
}
