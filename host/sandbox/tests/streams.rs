//! Real-daemon tests of stdin, streamed output, cancellation and the registry seeded from a
//! live manager. They never skip: without a reachable Docker daemon they fail and say why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use openclaw_sandbox::{ExecRequest, OutputStream, Registry, SandboxManager, SandboxSpec};
use serde_json::json;
use support::{Workspace, cleanup, manager};

const LIMIT: Duration = Duration::from_secs(60);

async fn run(manager: &SandboxManager, spec: &SandboxSpec, request: ExecRequest) -> openclaw_sandbox::ExecOutput {
    let out = manager.exec(spec, &request.timeout(LIMIT)).await.unwrap();
    assert!(!out.timed_out, "the exec hit its deadline: {out:?}");
    out
}

/// The gateway spawns these futures on a multi-threaded runtime.
fn sendable<F: std::future::Future + Send>(future: F) -> F {
    future
}

#[tokio::test]
async fn stdin_reaches_the_process_byte_for_byte_and_then_ends() {
    let prefix = "oc-test-stdin-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({}));

    let binary: Vec<u8> = (0..=255u8).chain([0, 0, b'\n', 0, 255]).collect();
    let out = run(&manager, &spec, ExecRequest::new(["cat"]).stdin(binary.clone())).await;
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr_text());
    assert_eq!(out.stdout, binary);

    let mib: Vec<u8> = (0..1024 * 1024)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let out = run(
        &manager,
        &spec,
        ExecRequest::new(["cat"])
            .stdin(mib.clone())
            .output_limit(2 * 1024 * 1024),
    )
    .await;
    assert!(!out.stdout_truncated);
    assert_eq!(out.stdout.len(), mib.len());
    assert!(out.stdout == mib, "1 MiB came back altered");

    let out = run(&manager, &spec, ExecRequest::new(["wc", "-c"]).stdin(mib.clone())).await;
    assert_eq!(out.stdout_text().trim(), (1024 * 1024).to_string());

    let out = run(&manager, &spec, ExecRequest::new(["wc", "-c"]).stdin(Vec::new())).await;
    assert_eq!(out.stdout_text().trim(), "0");

    // Without stdin the process reads EOF at once instead of waiting for input.
    let out = run(&manager, &spec, ExecRequest::new(["cat"])).await;
    assert_eq!(out.exit_code, Some(0));
    assert!(out.stdout.is_empty());
    let out = run(&manager, &spec, ExecRequest::shell("read line; echo \"read exit $?\"")).await;
    assert_eq!(out.stdout_text(), "read exit 1\n");
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn a_process_that_writes_a_lot_before_reading_stdin_does_not_deadlock() {
    let prefix = "oc-test-stdin-flood-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({}));
    let input = vec![b'x'; 1024 * 1024];
    // 8 MiB out before a byte is read, then the whole of stdin counted, on stderr.
    let request = ExecRequest::shell("head -c 8388608 /dev/zero; wc -c >&2").stdin(input);
    let out = run(&manager, &spec, request).await;
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr_text());
    assert!(out.stdout_truncated);
    assert_eq!(out.stderr_text().trim(), (1024 * 1024).to_string());

    // A process that never reads stdin still finishes; what it did not read is dropped.
    let out = run(
        &manager,
        &spec,
        ExecRequest::new(["echo", "ignored"]).stdin(vec![b'y'; 4 * 1024 * 1024]),
    )
    .await;
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout_text(), "ignored\n");
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn output_is_streamed_in_order_while_the_process_runs() {
    let prefix = "oc-test-stream-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({}));
    manager.ensure(&spec).await.unwrap();

    // Order, and every byte both streamed and kept.
    let mut chunks: Vec<(OutputStream, Vec<u8>)> = Vec::new();
    let finished = AtomicBool::new(false);
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let request = ExecRequest::shell("for i in 1 2 3; do echo $i; sleep 0.3; done; echo done >&2").timeout(LIMIT);
    let mut on_output = |stream: OutputStream, bytes: &[u8]| {
        let _ = seen_tx.send(());
        chunks.push((stream, bytes.to_vec()));
    };
    let exec = async {
        let out = manager
            .exec_streaming(&spec, &request, &mut on_output, std::future::pending())
            .await
            .unwrap();
        finished.store(true, Ordering::SeqCst);
        out
    };
    // Read outside the exec: if chunks were handed over only at the end, the exec would have
    // finished by the time this side sees the first one.
    let watch = async {
        let _ = seen_rx.recv().await;
        !finished.load(Ordering::SeqCst)
    };
    let (out, seen_while_running) = tokio::join!(exec, watch);
    assert!(seen_while_running, "the first chunk came only after the exec ended");
    let stdout: Vec<u8> = chunks
        .iter()
        .filter(|(s, _)| *s == OutputStream::Stdout)
        .flat_map(|(_, b)| b.clone())
        .collect();
    let stderr: Vec<u8> = chunks
        .iter()
        .filter(|(s, _)| *s == OutputStream::Stderr)
        .flat_map(|(_, b)| b.clone())
        .collect();
    assert_eq!(stdout, b"1\n2\n3\n");
    assert_eq!(stderr, b"done\n");
    assert_eq!(out.stdout, stdout);
    assert_eq!(out.stderr, stderr);
    assert!(!out.cancelled && !out.timed_out);

    // Proof without clocks: the command waits for a file that the test creates only after it
    // has received the first chunk, so a buffered implementation would hang until the deadline.
    let (first_tx, mut first_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let request =
        ExecRequest::shell("echo waiting; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo released").timeout(LIMIT);
    let mut forward = |_: OutputStream, bytes: &[u8]| {
        let _ = first_tx.send(bytes.to_vec());
    };
    let exec = sendable(manager.exec_in_streaming(
        &spec.container_name,
        &spec.docker.env,
        &request,
        &mut forward,
        std::future::pending(),
    ));
    let release = async {
        let first = first_rx.recv().await.unwrap();
        assert_eq!(first, b"waiting\n");
        let touched = manager
            .exec_in(
                &spec.container_name,
                &spec.docker.env,
                &ExecRequest::new(["touch", "/tmp/go"]).timeout(LIMIT),
            )
            .await
            .unwrap();
        assert_eq!(touched.exit_code, Some(0));
    };
    let (out, ()) = tokio::join!(exec, release);
    let out = out.unwrap();
    assert!(
        !out.timed_out,
        "the first chunk was not streamed before the process ended"
    );
    assert_eq!(out.stdout_text(), "waiting\nreleased\n");
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn cancelling_kills_the_process_and_its_children() {
    let prefix = "oc-test-cancel-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({}));
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
    let mut ready_tx = Some(ready_tx);
    let mut on_output = |_: OutputStream, _: &[u8]| {
        if let Some(tx) = ready_tx.take() {
            let _ = tx.send(());
        }
    };
    // Cancelled only once the command has started, so the kill has something to find; the
    // deadline is far beyond the test's patience, so only the cancel can end it.
    let request =
        ExecRequest::shell("echo started; sleep 301 & sleep 300; echo never").timeout(Duration::from_secs(3600));
    let cancel = async {
        let _ = ready_rx.await;
    };
    let out = sendable(manager.exec_streaming(&spec, &request, &mut on_output, cancel))
        .await
        .unwrap();
    assert!(out.cancelled);
    assert!(!out.timed_out);
    assert!(!out.success());
    assert_eq!(out.stdout_text(), "started\n");
    let ps = run(&manager, &spec, ExecRequest::new(["ps"])).await;
    assert!(!ps.stdout_text().contains("sleep 30"), "{}", ps.stdout_text());

    // Cancelled before it started: nothing runs.
    let out = manager
        .exec_streaming(
            &spec,
            &ExecRequest::shell("touch /tmp/ran").timeout(LIMIT),
            &mut |_, _| {},
            std::future::ready(()),
        )
        .await
        .unwrap();
    assert!(out.cancelled);
    assert_eq!(out.exit_code, None);
    let ran = run(&manager, &spec, ExecRequest::new(["ls", "/tmp/ran"])).await;
    assert_ne!(ran.exit_code, Some(0), "a cancelled exec ran");
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn the_registry_carries_last_use_across_a_restart() {
    let prefix = "oc-test-registry-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "agent:main:x", json!({"scope": "session"}));
    run(&manager, &spec, ExecRequest::new(["true"])).await;
    let path = ws.dir.path().join("state").join("sandbox").join("containers.json");
    let mut registry = Registry::load(&path).unwrap();
    registry.replace_entries(manager.registry_entries(Some(prefix)).await.unwrap());
    let entry = registry.get(&spec.container_name).unwrap().clone();
    assert_eq!(entry.session_key, spec.scope_key);
    assert_eq!(entry.image, spec.docker.image);
    assert_eq!(entry.config_hash.as_deref(), Some(spec.config_hash.as_str()));
    assert!(entry.last_used_at_ms >= entry.created_at_ms);
    let later = entry.last_used_at_ms + 60 * 60 * 1000;
    registry.upsert_use(
        &spec.container_name,
        &spec.scope_key,
        &spec.docker.image,
        &spec.config_hash,
        entry.created_at_ms,
        later,
    );
    registry.save().unwrap();

    // A new process: the engine only knows the creation time; the registry knows the use.
    let restarted = support::manager("oc-test-registry-none-").await;
    restarted.seed_from_registry(&Registry::load(&path).unwrap());
    let listed = restarted.list(Some(prefix)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_ms, later);
    cleanup(&manager, prefix).await;
}
