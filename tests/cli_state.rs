//! State safety with the real binary: a crash mid-write loses nothing, concurrent writers lose
//! nothing, and the state directory stays private.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::process::ExitStatusExt;

use common::{Sandbox, mode};

#[test]
fn crash_between_write_and_rename_leaves_the_old_config_intact() {
    let sb = Sandbox::new();
    assert_eq!(sb.run(&["config", "set", "gateway.port", "19100"]).code, Some(0));
    let before = sb.read_config();

    // The debug build aborts right after the new file is written and fsynced, before rename.
    let status = sb
        .command(&["config", "set", "gateway.port", "19200"])
        .env("OPENCLAW_FAILPOINT", "atomic-write-before-rename")
        .status()
        .unwrap();
    assert_eq!(
        status.signal(),
        Some(6),
        "the writer was killed (SIGABRT) mid-write: {status:?}"
    );
    assert_eq!(sb.read_config(), before, "the config is the old one, whole");
    assert_eq!(sb.run(&["config", "get", "gateway.port"]).stdout.trim(), "19100");
    let leftovers = |sb: &Sandbox| {
        std::fs::read_dir(sb.state_dir())
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter(|n| n.contains(".tmp."))
            .count()
    };
    assert!(leftovers(&sb) >= 1, "the crashed writer's temp file is still there");

    // The next write succeeds and sweeps the dead writer's temp file.
    assert_eq!(sb.run(&["config", "set", "gateway.port", "19300"]).code, Some(0));
    assert_eq!(sb.run(&["config", "get", "gateway.port"]).stdout.trim(), "19300");
    assert_eq!(leftovers(&sb), 0);
    assert_eq!(mode(&sb.config_path()), 0o600);
}

#[test]
fn concurrent_writers_lose_no_update() {
    let sb = Sandbox::new();
    assert_eq!(sb.run(&["config", "set", "gateway.port", "19100"]).code, Some(0));
    let children: Vec<_> = (0..8)
        .map(|i| {
            sb.command(&["config", "set", &format!("env.vars.WRITER_{i}"), &format!("value-{i}")])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let vars = sb.run(&["config", "get", "env.vars", "--json"]).json();
    for i in 0..8 {
        assert_eq!(vars[format!("WRITER_{i}")], format!("value-{i}"), "{vars:#}");
    }
}

#[test]
fn symlinked_state_dir_is_flagged_by_doctor() {
    let sb = Sandbox::new();
    let real = sb.dir.path().join("real-state");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&real, sb.state_dir()).unwrap();
    assert_eq!(sb.run(&["config", "set", "gateway.port", "19100"]).code, Some(0));
    assert!(real.join("openclaw.json").exists(), "writes land in the link's target");
    let report = sb.run(&["doctor", "--json"]).json();
    let state = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "state_dir.perms")
        .unwrap()
        .clone();
    assert_eq!(state["status"], "warn", "{report:#}");
    assert!(state["message"].as_str().unwrap().contains("is a symlink"));
}
