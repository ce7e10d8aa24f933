//! Real-daemon tests. They never skip: without a reachable Docker daemon they fail and say why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use openclaw_sandbox::manager::now_ms;
use openclaw_sandbox::prune::PruneReason;
use openclaw_sandbox::spec::PrunePolicy;
use openclaw_sandbox::test_image::TEST_USER;
use openclaw_sandbox::{Engine, EngineEndpoint, EnsureOutcome, ExecRequest, SandboxError, SandboxManager, SandboxSpec};
use serde_json::json;
use support::tls::{Authority, Role, TlsRelay};
use support::{Workspace, cleanup, manager};

/// The names of the containers `manager` lists under `prefix`.
async fn container_names(manager: &SandboxManager, prefix: &str) -> Vec<String> {
    manager
        .list(Some(prefix))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect()
}

async fn run(manager: &SandboxManager, spec: &SandboxSpec, request: ExecRequest) -> openclaw_sandbox::ExecOutput {
    manager
        .exec(spec, &request.timeout(Duration::from_secs(60)))
        .await
        .unwrap()
}

#[tokio::test]
async fn network_none_blocks_egress() {
    let prefix = "oc-test-net-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({}));
    assert_eq!(spec.docker.network, "none");
    let devices = run(&manager, &spec, ExecRequest::new(["cat", "/proc/net/dev"])).await;
    let interfaces: Vec<String> = devices
        .stdout_text()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_string()))
        .collect();
    assert_eq!(interfaces, ["lo"], "{}", devices.stdout_text());
    let egress = run(
        &manager,
        &spec,
        ExecRequest::new(["wget", "-q", "-T", "3", "-O", "-", "http://1.1.1.1/"]),
    )
    .await;
    assert_ne!(egress.exit_code, Some(0), "egress worked: {}", egress.stdout_text());
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn root_filesystem_is_read_only_and_capabilities_are_dropped() {
    let prefix = "oc-test-rofs-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({}));
    let root = run(&manager, &spec, ExecRequest::new(["touch", "/probe"])).await;
    assert_ne!(root.exit_code, Some(0));
    assert!(
        root.stderr_text().contains("Read-only file system"),
        "{}",
        root.stderr_text()
    );
    let tmp = run(&manager, &spec, ExecRequest::new(["touch", "/tmp/probe"])).await;
    assert_eq!(tmp.exit_code, Some(0), "{}", tmp.stderr_text());
    let caps = run(
        &manager,
        &spec,
        ExecRequest::new(["grep", "^CapEff", "/proc/self/status"]),
    )
    .await;
    assert!(
        caps.stdout_text().contains("0000000000000000"),
        "{}",
        caps.stdout_text()
    );
    let nnp = run(
        &manager,
        &spec,
        ExecRequest::new(["grep", "^NoNewPrivs", "/proc/self/status"]),
    )
    .await;
    assert!(nnp.stdout_text().contains('1'), "{}", nnp.stdout_text());
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn the_configured_user_is_not_root() {
    let prefix = "oc-test-user-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({"docker": {"user": TEST_USER}}));
    let id = run(&manager, &spec, ExecRequest::new(["id", "-u"])).await;
    assert_eq!(id.stdout_text().trim(), "1000");
    let gid = run(&manager, &spec, ExecRequest::new(["id", "-g"])).await;
    assert_eq!(gid.stdout_text().trim(), "1000");
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn a_fork_bomb_stops_at_the_pids_limit() {
    let prefix = "oc-test-pids-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({"docker": {"pidsLimit": 24}}));
    let bomb = "i=0; while [ $i -lt 200 ]; do sleep 2 & i=$((i+1)); done; wait; echo finished";
    let out = run(&manager, &spec, ExecRequest::shell(bomb)).await;
    let stderr = out.stderr_text();
    assert!(
        stderr.contains("can't fork") || stderr.contains("Resource temporarily unavailable"),
        "200 processes started under pidsLimit 24: exit {:?}, stderr {stderr}",
        out.exit_code
    );
    // The container survives; once the sleeps end it works normally again.
    let mut recovered = false;
    for _ in 0..50 {
        if let Ok(out) = manager.exec(&spec, &ExecRequest::new(["echo", "alive"])).await
            && out.stdout_text().trim() == "alive"
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "the sandbox did not recover after the fork bomb");
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn the_memory_limit_kills_an_allocation_bomb() {
    let prefix = "oc-test-mem-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({"docker": {"memory": "32m", "memorySwap": "32m"}}));
    assert_eq!(spec.docker.memory, Some(32 << 20));
    let bomb = r#"x=$(head -c 300000000 /dev/zero | tr '\0' a); echo "survived ${#x}""#;
    let out = run(&manager, &spec, ExecRequest::shell(bomb)).await;
    assert!(!out.stdout_text().contains("survived"), "{}", out.stdout_text());
    assert_eq!(out.exit_code, Some(137), "stderr: {}", out.stderr_text());
    let after = run(&manager, &spec, ExecRequest::new(["echo", "alive"])).await;
    assert_eq!(after.stdout_text().trim(), "alive");
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn a_read_only_workspace_cannot_be_written() {
    let prefix = "oc-test-ro-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    std::fs::write(ws.agent().join("notes.txt"), "original").unwrap();
    let spec = ws.spec(prefix, "s", json!({"workspaceAccess": "ro"}));
    let read = run(&manager, &spec, ExecRequest::new(["cat", "/agent/notes.txt"])).await;
    assert_eq!(read.stdout_text(), "original");
    let write = run(&manager, &spec, ExecRequest::shell("echo changed > /agent/notes.txt")).await;
    assert_ne!(write.exit_code, Some(0));
    assert!(
        write.stderr_text().contains("Read-only file system"),
        "{}",
        write.stderr_text()
    );
    let create = run(&manager, &spec, ExecRequest::new(["touch", "/agent/new"])).await;
    assert_ne!(create.exit_code, Some(0));
    assert_eq!(
        std::fs::read_to_string(ws.agent().join("notes.txt")).unwrap(),
        "original"
    );
    assert!(!ws.agent().join("new").exists());
    // The sandbox's own workspace stays writable.
    let scratch = run(&manager, &spec, ExecRequest::new(["touch", "/workspace/scratch"])).await;
    assert_eq!(scratch.exit_code, Some(0), "{}", scratch.stderr_text());
    assert!(spec.sandbox_workspace.join("scratch").exists());
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn a_read_write_workspace_is_the_agent_workspace() {
    let prefix = "oc-test-rw-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({"workspaceAccess": "rw"}));
    let out = run(&manager, &spec, ExecRequest::shell("echo made > /workspace/made.txt")).await;
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr_text());
    assert_eq!(std::fs::read_to_string(ws.agent().join("made.txt")).unwrap(), "made\n");
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn environment_values_with_shell_metacharacters_arrive_verbatim_and_run_nothing() {
    let prefix = "oc-test-env-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let configured = "$(touch /tmp/pwned1); `touch /tmp/pwned2` && touch /tmp/pwned3 | x";
    let per_call = "'; touch /tmp/pwned4; echo \"$(id)\" `touch /tmp/pwned5` ${HOME} \\";
    let spec = ws.spec(
        prefix,
        "s",
        json!({"docker": {"env": {"CONFIGURED": configured, "PATH": "/bin:$(touch /tmp/pwned6)"}}}),
    );
    let out = run(&manager, &spec, ExecRequest::new(["env"]).env("PER_CALL", per_call)).await;
    let env = out.stdout_text();
    assert!(env.lines().any(|l| l == format!("CONFIGURED={configured}")), "{env}");
    assert!(env.lines().any(|l| l == format!("PER_CALL={per_call}")), "{env}");
    assert!(env.lines().any(|l| l == "PATH=/bin:$(touch /tmp/pwned6)"), "{env}");
    let out = run(&manager, &spec, ExecRequest::new(["echo", per_call])).await;
    assert_eq!(out.stdout_text(), format!("{per_call}\n"), "argv is passed as is");
    // Even a shell the caller asked for sees the value as data.
    let out = run(
        &manager,
        &spec,
        ExecRequest::shell("printf '%s' \"$PER_CALL\"").env("PER_CALL", per_call),
    )
    .await;
    assert_eq!(out.stdout_text(), per_call);
    let listing = run(&manager, &spec, ExecRequest::new(["ls", "-a", "/tmp"])).await;
    assert!(!listing.stdout_text().contains("pwned"), "{}", listing.stdout_text());
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn credential_like_variables_from_the_caller_are_dropped() {
    let prefix = "oc-test-secret-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({"docker": {"env": {"ALLOWED_TOKEN": "ok"}}}));
    let request = ExecRequest::new(["env"])
        .env("OPENAI_API_KEY", "sk-secret")
        .env("ALLOWED_TOKEN", "ok2")
        .env("PLAIN", "1");
    let out = run(&manager, &spec, request).await;
    let text = out.stdout_text();
    assert!(!text.contains("sk-secret"), "{text}");
    assert!(text.contains("ALLOWED_TOKEN=ok2"), "{text}");
    assert!(text.contains("PLAIN=1"), "{text}");
    assert_eq!(out.dropped_env.len(), 1);
    assert_eq!(out.dropped_env[0].0, "OPENAI_API_KEY");
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn a_container_is_reused_within_its_scope_and_recreated_after_a_config_change() {
    let prefix = "oc-test-reuse-";
    let manager = manager(prefix).await;
    let manager = manager.with_hot_window(Duration::ZERO);
    let ws = Workspace::new();
    let first = ws.spec(prefix, "agent:main:telegram:dm:1", json!({"scope": "agent"}));
    let other_session = ws.spec(prefix, "agent:main:telegram:dm:2", json!({"scope": "agent"}));
    assert_eq!(first.container_name, other_session.container_name);
    let created = manager.ensure(&first).await.unwrap();
    assert_eq!(created.outcome, EnsureOutcome::Created);
    run(&manager, &first, ExecRequest::new(["touch", "/tmp/kept"])).await;
    let reused = manager.ensure(&other_session).await.unwrap();
    assert_eq!(reused.outcome, EnsureOutcome::Reused);
    assert_eq!(reused.id, created.id);
    let kept = run(&manager, &other_session, ExecRequest::new(["ls", "/tmp/kept"])).await;
    assert_eq!(kept.exit_code, Some(0));

    let changed = ws.spec(
        prefix,
        "agent:main:telegram:dm:1",
        json!({"scope": "agent", "docker": {"pidsLimit": 64}}),
    );
    assert_ne!(changed.config_hash, first.config_hash);
    let recreated = manager.ensure(&changed).await.unwrap();
    assert_eq!(recreated.outcome, EnsureOutcome::Recreated);
    assert_ne!(recreated.id, created.id);
    let fresh = run(&manager, &changed, ExecRequest::new(["ls", "/tmp/kept"])).await;
    assert_ne!(fresh.exit_code, Some(0), "the old container's /tmp survived");
    let listed = manager.list(Some(prefix)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].config_hash.as_deref(), Some(changed.config_hash.as_str()));
    assert_eq!(listed[0].scope_key.as_deref(), Some("agent:main"));
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn a_recently_used_container_is_kept_after_a_config_change_with_a_hint() {
    let prefix = "oc-test-hot-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let first = ws.spec(prefix, "s", json!({}));
    let created = manager.ensure(&first).await.unwrap();
    run(&manager, &first, ExecRequest::new(["true"])).await;
    let changed = ws.spec(prefix, "s", json!({"docker": {"pidsLimit": 64}}));
    let kept = manager.ensure(&changed).await.unwrap();
    assert_eq!(kept.id, created.id);
    match kept.outcome {
        EnsureOutcome::KeptStale { hint } => assert!(hint.contains("openclaw sandbox recreate"), "{hint}"),
        other => panic!("expected the hot container to be kept, got {other:?}"),
    }
    manager.forget_use(&changed.container_name);
    assert_eq!(
        manager.ensure(&changed).await.unwrap().outcome,
        EnsureOutcome::Recreated
    );
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn prune_removes_idle_containers_and_orphans_go_at_start() {
    let prefix = "oc-test-prune-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let a = ws.spec(prefix, "a", json!({"scope": "session"}));
    let b = ws.spec(prefix, "b", json!({"scope": "session"}));
    manager.ensure(&a).await.unwrap();
    manager.ensure(&b).await.unwrap();
    let policy = PrunePolicy {
        idle_hours: 1,
        max_age_days: 0,
    };
    assert!(manager.prune(policy, now_ms(), Some(prefix)).await.unwrap().is_empty());
    let two_hours_later = now_ms() + 2 * 60 * 60 * 1000;
    let mut removed = manager.prune(policy, two_hours_later, Some(prefix)).await.unwrap();
    removed.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        removed,
        vec![
            (a.container_name.clone(), PruneReason::Idle { idle_hours: 1 }),
            (b.container_name.clone(), PruneReason::Idle { idle_hours: 1 })
        ]
    );
    assert!(manager.list(Some(prefix)).await.unwrap().is_empty());

    // A stopped sandbox is an orphan; so is one whose scope is no longer wanted.
    manager.ensure(&a).await.unwrap();
    manager.ensure(&b).await.unwrap();
    manager
        .engine()
        .docker()
        .kill_container(
            &a.container_name,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap();
    let removed = manager.remove_orphans(Some(prefix), |_| true).await.unwrap();
    assert_eq!(removed, vec![a.container_name.clone()]);
    let removed = manager
        .remove_orphans(Some(prefix), |info| info.scope_key.as_deref() != Some("b"))
        .await
        .unwrap();
    assert_eq!(removed, vec![b.container_name.clone()]);
    assert!(!manager.remove(&b.container_name).await.unwrap(), "already gone");
}

#[tokio::test]
async fn twenty_sessions_exec_at_once_without_interfering() {
    let prefix = "oc-test-many-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let specs: Vec<SandboxSpec> = (0..20)
        .map(|i| ws.spec(prefix, &format!("agent:main:group:{i}"), json!({"scope": "session"})))
        .collect();
    let runs = specs.iter().enumerate().map(|(i, spec)| {
        let manager = &manager;
        async move {
            let script = "echo \"$MARK\" > /workspace/mark; sleep 0.3; cat /workspace/mark; echo \"$MARK\" >&2";
            let out = manager
                .exec(spec, &ExecRequest::shell(script).env("MARK", format!("session-{i}")))
                .await
                .unwrap();
            (i, out)
        }
    });
    let results = futures_util::future::join_all(runs).await;
    for (i, out) in results {
        assert_eq!(out.exit_code, Some(0), "session {i}: {}", out.stderr_text());
        assert_eq!(out.stdout_text(), format!("session-{i}\n"));
        assert_eq!(out.stderr_text(), format!("session-{i}\n"));
    }
    assert_eq!(manager.list(Some(prefix)).await.unwrap().len(), 20);

    // And twenty execs into one shared container at once.
    let shared = ws.spec(prefix, "any", json!({"scope": "shared"}));
    let runs = (0..20).map(|i| {
        let manager = &manager;
        let shared = &shared;
        async move {
            let out = manager
                .exec(
                    shared,
                    &ExecRequest::shell("sleep 0.2; echo \"$MARK\"").env("MARK", i.to_string()),
                )
                .await
                .unwrap();
            (i, out)
        }
    });
    for (i, out) in futures_util::future::join_all(runs).await {
        assert_eq!(out.stdout_text(), format!("{i}\n"));
    }
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn a_timeout_kills_the_process_and_its_children() {
    let prefix = "oc-test-timeout-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({}));
    let request =
        ExecRequest::shell("echo started; sleep 1001 & sleep 1002; echo never").timeout(Duration::from_secs(2));
    let out = manager.exec(&spec, &request).await.unwrap();
    assert!(out.timed_out);
    assert!(!out.success());
    assert_eq!(out.stdout_text(), "started\n");
    let ps = run(&manager, &spec, ExecRequest::new(["ps"])).await;
    assert!(!ps.stdout_text().contains("sleep 100"), "{}", ps.stdout_text());
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn output_is_capped_and_the_exit_status_returned() {
    let prefix = "oc-test-cap-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({}));
    let out = run(
        &manager,
        &spec,
        ExecRequest::shell("head -c 100000 /dev/zero | tr '\\0' x; echo err >&2; exit 7").output_limit(1000),
    )
    .await;
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.stdout_truncated);
    assert!(!out.stderr_truncated);
    assert_eq!(out.stderr_text(), "err\n");
    assert_eq!(out.exit_code, Some(7));
    let pwd = run(&manager, &spec, ExecRequest::new(["pwd"]).workdir("/tmp")).await;
    assert_eq!(pwd.stdout_text(), "/tmp\n");
    let missing = run(&manager, &spec, ExecRequest::new(["/no/such/program"])).await;
    assert!(matches!(missing.exit_code, Some(126 | 127)), "{missing:?}");
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn a_missing_image_fails_with_build_instructions() {
    let prefix = "oc-test-noimage-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(
        prefix,
        "s",
        json!({"docker": {"image": "openclaw-sandbox-absent:none"}}),
    );
    let err = manager.exec(&spec, &ExecRequest::new(["true"])).await.unwrap_err();
    assert_eq!(err.code(), "image_missing");
    assert!(
        err.to_string()
            .contains("docker build -t openclaw-sandbox-absent:none host/sandbox/image"),
        "{err}"
    );
}

#[tokio::test]
async fn the_setup_command_runs_once_when_the_container_is_made() {
    let prefix = "oc-test-setup-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(
        prefix,
        "s",
        json!({"docker": {"setupCommand": ["echo once >> /workspace/setup.log"]}}),
    );
    manager.ensure(&spec).await.unwrap();
    manager.ensure(&spec).await.unwrap();
    let log = run(&manager, &spec, ExecRequest::new(["cat", "/workspace/setup.log"])).await;
    assert_eq!(log.stdout_text(), "once\n");
    let failing = ws.spec(
        prefix,
        "t",
        json!({"scope": "session", "docker": {"setupCommand": "exit 3"}}),
    );
    let err = manager.ensure(&failing).await.unwrap_err();
    assert_eq!(err.code(), "setup_failed");
    assert!(
        manager
            .list(Some(prefix))
            .await
            .unwrap()
            .iter()
            .all(|i| i.name != failing.container_name)
    );
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn with_the_daemon_unreachable_exec_fails_closed_with_the_promised_message() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("closed.sock");
    // A socket file nobody listens on: connecting is refused.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let env = BTreeMap::from([("DOCKER_HOST".to_string(), format!("unix://{}", socket.display()))]);
    let err = Engine::connect_with_env(&env, None).await.unwrap_err();
    assert!(matches!(err, SandboxError::Unreachable { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "sandbox required but Docker is unreachable at unix://{}",
            socket.display()
        )),
        "{message}"
    );
    assert!(
        message.ends_with("start Docker or set agents.defaults.sandbox.mode off"),
        "{message}"
    );

    let absent = BTreeMap::from([("DOCKER_HOST".to_string(), "unix:///nonexistent/docker.sock".to_string())]);
    assert_eq!(
        Engine::connect_with_env(&absent, None).await.unwrap_err().code(),
        "docker_unreachable"
    );
    let no_certs = BTreeMap::from([
        ("DOCKER_HOST".to_string(), "tcp://127.0.0.1:2376".to_string()),
        ("DOCKER_TLS_VERIFY".to_string(), "1".to_string()),
        ("DOCKER_CERT_PATH".to_string(), dir.path().display().to_string()),
    ]);
    let err = Engine::connect_with_env(&no_certs, None).await.unwrap_err();
    assert_eq!(err.code(), "docker_endpoint");
    assert!(err.to_string().contains("ca.pem is missing"), "{err}");
    let tcp = BTreeMap::from([("DOCKER_HOST".to_string(), "tcp://127.0.0.1:1".to_string())]);
    let err = Engine::connect_with_env(&tcp, None).await.unwrap_err();
    assert_eq!(err.code(), "docker_unreachable", "{err}");
    assert!(err.to_string().contains("tcp://127.0.0.1:1"), "{err}");
}

#[tokio::test]
async fn the_api_version_is_negotiated_down_to_the_daemons() {
    let engine = support::engine().await;
    let version = engine.api_version();
    let info = engine.docker().version().await.unwrap();
    assert_eq!(
        Some(version),
        info.api_version,
        "the client must speak the daemon's version"
    );
}

#[tokio::test]
async fn a_container_removed_or_stopped_behind_the_managers_back_is_made_again() {
    let prefix = "oc-test-gone-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "s", json!({}));
    assert_eq!(
        run(&manager, &spec, ExecRequest::new(["echo", "1"]))
            .await
            .stdout_text(),
        "1\n"
    );
    let docker = manager.engine().docker();
    docker
        .kill_container(
            &spec.container_name,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap();
    assert_eq!(
        run(&manager, &spec, ExecRequest::new(["echo", "2"]))
            .await
            .stdout_text(),
        "2\n"
    );
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
        .force(true)
        .build();
    docker
        .remove_container(&spec.container_name, Some(options))
        .await
        .unwrap();
    assert_eq!(
        run(&manager, &spec, ExecRequest::new(["echo", "3"]))
            .await
            .stdout_text(),
        "3\n"
    );
    assert_eq!(manager.list(Some(prefix)).await.unwrap().len(), 1);
    cleanup(&manager, prefix).await;
}

#[tokio::test]
async fn a_bind_that_reaches_a_blocked_path_through_a_symlink_is_refused_before_docker_sees_it() {
    let prefix = "oc-test-symlink-";
    let manager = manager(prefix).await;
    let ws = Workspace::new();
    let innocent = ws.dir.path().join("shared-data");
    std::os::unix::fs::symlink("/etc", &innocent).unwrap();
    // The link itself, and a path below it that does not exist yet.
    for source in [innocent.clone(), innocent.join("not-yet/deeper")] {
        let spec = ws.spec(
            prefix,
            "s",
            json!({"docker": {"binds": [format!("{}:/data:ro", source.display())]}}),
        );
        let err = manager.exec(&spec, &ExecRequest::new(["true"])).await.unwrap_err();
        assert_eq!(err.code(), "bad_spec", "{err}");
        assert!(err.to_string().contains("resolves to /etc"), "{err}");
    }
    assert!(
        manager.list(Some(prefix)).await.unwrap().is_empty(),
        "no container was made"
    );
    // A symlink to an ordinary directory is fine.
    let data = ws.dir.path().join("real-data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("hello.txt"), "hi").unwrap();
    let link = ws.dir.path().join("data-link");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let spec = ws.spec(
        prefix,
        "s",
        json!({"docker": {"binds": [format!("{}:/data:ro", link.display())], "user": TEST_USER}}),
    );
    let out = run(&manager, &spec, ExecRequest::new(["cat", "/data/hello.txt"])).await;
    assert_eq!(out.stdout_text(), "hi");
    cleanup(&manager, prefix).await;
}

/// A remote engine through `DOCKER_HOST=tcp://...`: the daemon here listens only on its socket,
/// so a TCP relay in front of it stands in for another machine. Sandboxes are made and used
/// through it exactly as locally.
#[tokio::test]
async fn a_remote_engine_over_tcp_runs_sandboxes() {
    let prefix = "oc-test-tcp-";
    // Also builds the test image and clears leftovers, through the local socket.
    let local = manager(prefix).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let relayed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = relayed.clone();
    let relay = tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::spawn(async move {
                let mut unix = tokio::net::UnixStream::connect(openclaw_sandbox::endpoint::DEFAULT_SOCKET)
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix).await;
            });
        }
    });
    let env = BTreeMap::from([("DOCKER_HOST".to_string(), format!("tcp://127.0.0.1:{port}"))]);
    let engine = Engine::connect_with_env(&env, None).await.unwrap();
    assert!(!engine.endpoint().is_local());
    assert_eq!(engine.api_version(), local.engine().api_version());
    let remote = SandboxManager::new(engine);
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "remote", json!({"docker": {"user": TEST_USER}}));
    let out = run(&remote, &spec, ExecRequest::new(["id", "-u"])).await;
    assert_eq!(out.stdout_text().trim(), "1000");
    assert!(
        relayed.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "nothing went over TCP"
    );
    let names = container_names(&remote, prefix).await;
    assert_eq!(names, vec![spec.container_name.clone()]);
    relay.abort();
    cleanup(&local, prefix).await;
}

/// The same through mutual TLS, as in front of a daemon started with `--tlsverify`: the relay
/// demands a client certificate its CA signed, and the client checks the relay against `ca.pem`
/// by the IP it dials. Both directions must be enforced, not just configured, so each is also
/// broken once and must be turned away before anything reaches the engine.
#[tokio::test]
async fn a_remote_engine_over_mutual_tls_runs_sandboxes() {
    let prefix = "oc-test-tls-";
    let local = manager(prefix).await;
    let pki = tempfile::tempdir().unwrap();
    let ca = Authority::new(pki.path(), "trusted");
    let rogue = Authority::new(pki.path(), "rogue");
    let (server_cert, server_key) = ca.issue(pki.path(), "server", Role::Server);
    let relay = TlsRelay::start(&server_cert, &server_key, &ca.cert).await;
    let env_for = |cert_path: &Path| {
        BTreeMap::from([
            ("DOCKER_HOST".to_string(), format!("tcp://127.0.0.1:{}", relay.port)),
            ("DOCKER_TLS_VERIFY".to_string(), "1".to_string()),
            ("DOCKER_CERT_PATH".to_string(), cert_path.display().to_string()),
        ])
    };
    let ws = Workspace::new();
    let spec = ws.spec(prefix, "remote", json!({"docker": {"user": TEST_USER}}));

    // The refusals run first, so "no container and no completed handshake" means nothing ever
    // got through rather than "nothing more than the good client made".
    // The reason is in the message, so an operator can tell which side refused which cert.
    let refusals = [
        (
            "a client certificate from another CA",
            ca.cert_path(pki.path(), "foreign-client", &rogue),
            "received fatal alert",
        ),
        (
            "an engine certificate that ca.pem did not sign",
            rogue.cert_path(pki.path(), "foreign-engine", &ca),
            "invalid peer certificate",
        ),
    ];
    for (case, cert_path, reason) in refusals {
        let refused_before = relay.refused();
        let attempt = async {
            let engine = Engine::connect_with_env(&env_for(&cert_path), None).await?;
            SandboxManager::new(engine)
                .exec(&spec, &ExecRequest::new(["id", "-u"]).timeout(Duration::from_secs(60)))
                .await
        };
        let err = attempt.await.expect_err(case);
        eprintln!("{case}: {err}");
        assert_eq!(err.code(), "docker_unreachable", "{case}: {err}");
        assert!(err.to_string().contains(reason), "{case}: {err}");
        // The failure must come from the handshake, not from, say, unreadable PEM files on the
        // client: the relay saw the attempt and turned it away (it may log it a moment after the
        // client gave up).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while relay.refused() == refused_before && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(relay.refused() > refused_before, "{case}: the relay saw no handshake");
        assert_eq!(relay.handshakes(), 0, "{case}: a handshake completed");
        assert!(
            local.list(Some(prefix)).await.unwrap().is_empty(),
            "{case}: a container was made"
        );
    }

    let good = ca.cert_path(pki.path(), "good", &ca);
    let engine = Engine::connect_with_env(&env_for(&good), None).await.unwrap();
    assert!(matches!(engine.endpoint(), EngineEndpoint::Tls { .. }));
    assert_eq!(engine.api_version(), local.engine().api_version());
    let remote = SandboxManager::new(engine);
    let out = run(&remote, &spec, ExecRequest::new(["id", "-u"])).await;
    assert_eq!(out.stdout_text().trim(), "1000");
    assert!(relay.handshakes() > 0, "nothing went over TLS");
    let names = container_names(&remote, prefix).await;
    assert_eq!(names, vec![spec.container_name.clone()]);
    eprintln!(
        "mutual TLS: {} handshakes completed, {} refused",
        relay.handshakes(),
        relay.refused()
    );
    drop(relay);
    cleanup(&local, prefix).await;
}
