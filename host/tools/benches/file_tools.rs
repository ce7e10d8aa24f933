//! What confinement costs per file-tool call, and what a host exec costs
//! (run: `cargo bench -p openclaw-tools`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use openclaw_tools::{ExecRequest, Resolution, Workspace, read, run_on_host, write};
use serde_json::json;

const DEEP: &str = "a/b/c/d/e/f/g/h/file.txt";

fn reads(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/b/c/d/e/f/g/h")).unwrap();
    std::fs::write(dir.path().join("file.txt"), "hello\n".repeat(100)).unwrap();
    std::fs::write(dir.path().join(DEEP), "hello\n".repeat(100)).unwrap();
    let state = tempfile::tempdir().unwrap();
    for (label, workspace_only, resolution, protected) in [
        ("workspaceOnly openat2", true, Resolution::Kernel, vec![]),
        ("workspaceOnly walk", true, Resolution::Walk, vec![]),
        (
            "unconfined + 3 protected",
            false,
            Resolution::Kernel,
            vec![state.path().to_path_buf(); 3],
        ),
    ] {
        let ws = Workspace::open(dir.path(), workspace_only, protected)
            .unwrap()
            .with_resolution(resolution);
        for path in ["file.txt", DEEP] {
            let args = json!({ "path": path });
            c.bench_function(&format!("read {label} depth {}", path.matches('/').count()), |b| {
                b.iter(|| read(&ws, black_box(&args)).unwrap())
            });
        }
    }
    let ws = Workspace::open(dir.path(), true, Vec::new()).unwrap();
    let args = json!({ "path": "written.txt", "content": "hello\n".repeat(100) });
    c.bench_function("write (atomic, fsync) workspaceOnly", |b| {
        b.iter(|| write(&ws, black_box(&args)).unwrap())
    });
}

fn exec(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let req = ExecRequest {
        command: "true".into(),
        workdir: dir.path().to_path_buf(),
        env: BTreeMap::new(),
        timeout: Duration::from_secs(10),
        max_output_bytes: 64 * 1024,
    };
    c.bench_function("exec `true` on the host", |b| {
        b.iter(|| {
            runtime
                .block_on(run_on_host(req.clone(), std::future::pending()))
                .unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = reads, exec
}
criterion_main!(benches);
