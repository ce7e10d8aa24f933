//! Sandbox exec cost against the raw engine (run: `cargo bench -p openclaw-sandbox`; needs a
//! Docker daemon and the docker CLI for the CLI baselines).
//!
//! Warm: one exec of `true` into a running sandbox, through the manager, through the bare API
//! calls a `docker exec` makes (create, start attached, inspect), and through the docker CLI.
//! Cold: a new container plus its first exec (with and without its removal), against
//! `docker run` of the image (with and without `--rm`), and against `docker run --rm` with every
//! setting the sandbox container has.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecResults};
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::StreamExt;
use openclaw_core::config::schema::sandbox::SandboxConfig;
use openclaw_sandbox::endpoint::DEFAULT_SOCKET;
use openclaw_sandbox::test_image::{TEST_IMAGE, ensure_test_image};
use openclaw_sandbox::{
    Engine, EngineEndpoint, ExecRequest, SandboxContext, SandboxDecision, SandboxManager, SandboxSpec, resolve,
};
use serde_json::json;

fn spec(dir: &Path, prefix: &str, session: &str) -> SandboxSpec {
    let config: SandboxConfig = serde_json::from_value(json!({
        "mode": "all", "scope": "session", "workspaceRoot": dir.join("sandboxes").display().to_string(),
        "docker": {"image": TEST_IMAGE, "containerPrefix": prefix}
    }))
    .unwrap();
    let agent = dir.join("agent");
    std::fs::create_dir_all(&agent).unwrap();
    let ctx = SandboxContext {
        agent_id: "main",
        session_key: session,
        is_main_session: false,
        agent_workspace: &agent,
        home: dir,
    };
    match resolve(Some(&config), None, &ctx).unwrap() {
        SandboxDecision::Sandboxed(spec) => *spec,
        SandboxDecision::Host { .. } => unreachable!(),
    }
}

/// `docker run [--rm] [--name N] --network none --read-only --cap-drop ALL --init <image> true`.
fn cold_run_args(name: Option<&str>, remove: bool) -> Vec<&str> {
    let mut args = vec!["run"];
    if remove {
        args.push("--rm");
    }
    if let Some(name) = name {
        args.extend(["--name", name]);
    }
    args.extend([
        "--network",
        "none",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--init",
        TEST_IMAGE,
        "true",
    ]);
    args
}

fn docker_cli(args: &[&str]) {
    let status = Command::new("docker").args(args).output().unwrap().status;
    assert!(status.success(), "docker {args:?}");
}

fn exec(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prefix = "oc-bench-";
    let manager = rt.block_on(async {
        let engine = Engine::connect(EngineEndpoint::Unix(PathBuf::from(DEFAULT_SOCKET)))
            .await
            .unwrap();
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("busybox-static");
        ensure_test_image(&engine, TEST_IMAGE, &cache).await.unwrap();
        let manager = SandboxManager::new(engine);
        manager.remove_orphans(Some(prefix), |_| false).await.unwrap();
        manager
    });
    let warm = spec(dir.path(), prefix, "warm");
    rt.block_on(manager.ensure(&warm)).unwrap();
    let request = ExecRequest::new(["true"]).timeout(Duration::from_secs(30));

    let mut group = c.benchmark_group("sandbox");
    group.sample_size(30);
    group.bench_function("warm exec: manager", |b| {
        b.iter(|| {
            let out = rt.block_on(manager.exec(&warm, &request)).unwrap();
            assert_eq!(out.exit_code, Some(0));
        })
    });
    group.bench_function("warm exec: raw API create+start+inspect", |b| {
        let docker = manager.engine().docker();
        b.iter(|| {
            rt.block_on(async {
                let created = docker
                    .create_exec(
                        &warm.container_name,
                        CreateExecOptions {
                            cmd: Some(vec!["true".to_string()]),
                            attach_stdout: Some(true),
                            attach_stderr: Some(true),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                if let StartExecResults::Attached { mut output, .. } =
                    docker.start_exec(&created.id, None).await.unwrap()
                {
                    while output.next().await.is_some() {}
                }
                docker.inspect_exec(&created.id).await.unwrap();
            })
        })
    });
    group.bench_function("warm exec: docker exec CLI", |b| {
        b.iter(|| docker_cli(&["exec", &warm.container_name, "true"]))
    });

    group.sample_size(10);
    let mut round = 0u64;
    group.bench_function("cold: manager ensure + first exec + remove", |b| {
        b.iter(|| {
            round += 1;
            let cold = spec(dir.path(), prefix, &format!("cold-{round}"));
            rt.block_on(async {
                let out = manager.exec(&cold, &request).await.unwrap();
                assert_eq!(out.exit_code, Some(0));
                manager.remove(&cold.container_name).await.unwrap();
            })
        })
    });
    group.bench_function("cold: docker run --rm CLI", |b| {
        b.iter(|| docker_cli(&cold_run_args(None, true)))
    });
    // The same pair without the removal in the timing: what a session waits for on its first
    // call (the container is removed much later, by prune), against `docker run` of the image.
    group.bench_function("cold: manager ensure + first exec", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let cold = spec(dir.path(), prefix, &format!("cold-{round}"));
                let started = std::time::Instant::now();
                let out = rt.block_on(manager.exec(&cold, &request)).unwrap();
                total += started.elapsed();
                assert_eq!(out.exit_code, Some(0));
                rt.block_on(manager.remove(&cold.container_name)).unwrap();
            }
            total
        })
    });
    group.bench_function("cold: docker run CLI", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let name = format!("{prefix}run-{i}");
                let started = std::time::Instant::now();
                docker_cli(&cold_run_args(Some(&name), false));
                total += started.elapsed();
                docker_cli(&["rm", "-f", &name]);
            }
            total
        })
    });
    // `docker run` with every setting the sandbox container has (tmpfs mounts, the workspace
    // bind, no-new-privileges, workdir, env): the same container, made by the CLI.
    let workspace = dir.path().join("run-workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    let bind = format!("{}:/workspace", workspace.display());
    group.bench_function("cold: docker run --rm CLI, same settings", |b| {
        b.iter(|| {
            docker_cli(&[
                "run",
                "--rm",
                "--network",
                "none",
                "--read-only",
                "--cap-drop",
                "ALL",
                "--init",
                "--security-opt",
                "no-new-privileges",
                "--tmpfs",
                "/tmp",
                "--tmpfs",
                "/var/tmp",
                "--tmpfs",
                "/run",
                "-v",
                &bind,
                "-w",
                "/workspace",
                "-e",
                "LANG=C.UTF-8",
                TEST_IMAGE,
                "true",
            ])
        })
    });
    group.finish();
    rt.block_on(manager.remove_orphans(Some(prefix), |_| false)).unwrap();
}

criterion_group!(benches, exec);
criterion_main!(benches);
