//! exec on the host with real processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::assert_group_gone;
use openclaw_tools::{ExecRequest, SAFE_PATH, ToolError, parse_exec_args, run_on_host};
use serde_json::json;

fn request(command: &str, workdir: &Path) -> ExecRequest {
    ExecRequest {
        command: command.to_owned(),
        workdir: workdir.to_path_buf(),
        env: BTreeMap::new(),
        timeout: Duration::from_secs(30),
        max_output_bytes: 64 * 1024,
    }
}

async fn run(req: ExecRequest) -> Result<openclaw_tools::ExecOutput, ToolError> {
    run_on_host(req, std::future::pending()).await
}

/// The shell's pid is the process group id: the commands print it first.
fn leader_of(stdout: &str) -> i32 {
    stdout.lines().next().unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn reports_exit_code_stdout_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(request("echo out; echo err >&2; exit 3", dir.path()))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.signal), (Some(3), None));
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    assert!(!out.truncated && !out.timed_out);
    assert!(
        out.to_tool_text()
            .ends_with(&format!("[exit code 3, {:.1}s]", out.duration.as_secs_f64()))
    );

    let killed = run(request("kill -TERM $$", dir.path())).await.unwrap();
    assert_eq!((killed.exit_code, killed.signal), (None, Some(15)));
}

#[tokio::test]
async fn runs_in_the_workdir_with_a_minimal_environment_and_no_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().canonicalize().unwrap();
    let mut req = request("pwd; cat; env | sort", &workdir);
    req.env.insert("EXTRA".into(), "1".into());
    let out = run(req).await.unwrap();
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next().unwrap(), workdir.display().to_string());
    let names: Vec<&str> = lines.map(|l| l.split('=').next().unwrap()).collect();
    // sh itself adds PWD (and dash may add OLDPWD/SHLVL-like bookkeeping); nothing of ours leaks.
    for name in &names {
        assert!(
            ["EXTRA", "HOME", "LANG", "PATH", "PWD", "OLDPWD", "SHLVL", "_"].contains(name),
            "leaked {name}: {names:?}"
        );
    }
    assert!(names.contains(&"EXTRA") && names.contains(&"PATH"));
    assert!(out.stdout.contains(&format!("PATH={SAFE_PATH}\n")), "{}", out.stdout);
    assert!(
        std::env::vars().any(|(k, _)| k.starts_with("CARGO")),
        "the test runner should have CARGO_* set"
    );
}

#[tokio::test]
async fn timeout_kills_the_whole_group_including_background_children() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request("echo $$; sleep 100 & sleep 100", dir.path());
    req.timeout = Duration::from_millis(500);
    let out = run(req).await.unwrap();
    assert!(out.timed_out);
    assert_eq!(out.signal, Some(9));
    // Far below the sleeps: neither the foreground nor the background sleeper held the call.
    assert!(out.duration < Duration::from_secs(20), "{:?}", out.duration);
    assert_group_gone(leader_of(&out.stdout));
}

#[tokio::test]
async fn a_background_child_does_not_outlive_a_shell_that_exits() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(request("echo $$; sleep 100 & echo started", dir.path()))
        .await
        .unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert!(out.duration < Duration::from_secs(20), "{:?}", out.duration);
    assert_group_gone(leader_of(&out.stdout));
}

#[tokio::test]
async fn output_is_capped_while_the_flood_is_drained() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request("yes | head -c 20000000; echo done >&2", dir.path());
    req.max_output_bytes = 4096;
    let out = run(req).await.unwrap();
    // Exit 0 means `yes` was never blocked on a full pipe: we kept reading past the cap.
    assert_eq!(out.exit_code, Some(0));
    assert!(!out.timed_out);
    assert!(out.truncated);
    assert_eq!(out.stdout.len(), 4096);
    assert!(out.stdout.starts_with("y\ny\n"));
    assert_eq!(out.stderr, "done\n");
}

#[tokio::test]
async fn env_values_arrive_verbatim_and_are_never_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwn");
    let value = format!("$(touch {}); `touch {}` \"'\\n", marker.display(), marker.display());
    let mut req = request("printf %s \"$X\"", dir.path());
    req.env.insert("X".into(), value.clone());
    let out = run(req).await.unwrap();
    assert_eq!(out.stdout, value);
    assert!(!marker.exists());
}

#[tokio::test]
async fn loader_and_path_overrides_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    for key in [
        "PATH",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "ld_audit",
        "DYLD_INSERT_LIBRARIES",
        "",
        "A=B",
    ] {
        let mut req = request(&format!("touch {}", marker.display()), dir.path());
        req.env.insert(key.into(), "/tmp/evil".into());
        let error = run(req).await.unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, ToolError::Exec { .. }), "{key}: {error:?}");
        assert!(message.contains(&format!("`{key}`")), "{message}");
    }
    assert!(!marker.exists());
}

#[tokio::test]
async fn cancel_kills_the_group_and_reports_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let req = request(
        &format!("echo $$ > {}; sleep 100 & sleep 100", pid_file.display()),
        dir.path(),
    );
    let pid_path = pid_file.clone();
    let cancel = async move {
        while !pid_path.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let result = run_on_host(req, cancel).await;
    assert!(matches!(result, Err(ToolError::Cancelled)), "{result:?}");
    let leader: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert_group_gone(leader);
}

#[tokio::test]
async fn dropping_the_call_kills_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let req = request(
        &format!("echo $$ > {}.tmp; mv {0}.tmp {0}; sleep 100", pid_file.display()),
        dir.path(),
    );
    let call = tokio::spawn(run_on_host(req, std::future::pending()));
    while !pid_file.exists() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    call.abort();
    let _ = call.await;
    let leader: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert_group_gone(leader);
}

#[tokio::test]
async fn refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let missing = run(request("true", &dir.path().join("nope")))
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("workdir") && missing.contains("nope"), "{missing}");
    let mut req = request("true", dir.path());
    req.timeout = Duration::ZERO;
    assert!(run(req).await.unwrap_err().to_string().contains("timeout"));
}

#[test]
fn parses_exec_arguments() {
    let args = parse_exec_args(&json!({
        "command": "ls", "workdir": "sub", "env": { "A": "1" }, "timeout": 5, "background": true, "host": "gateway"
    }))
    .unwrap();
    assert_eq!(args.command, "ls");
    assert_eq!(args.workdir.as_deref(), Some("sub"));
    assert_eq!(args.env.get("A").map(String::as_str), Some("1"));
    assert_eq!((args.timeout, args.background), (Some(5), true));
    assert!(
        parse_exec_args(&json!({ "workdir": "x" }))
            .unwrap_err()
            .to_string()
            .contains("command")
    );
}
