//! The background process table with real processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::assert_group_gone;
use openclaw_tools::{ExecRequest, ProcessLimits, ProcessStatus, ProcessTable, process_action};
use serde_json::json;

fn request(command: &str, workdir: &Path) -> ExecRequest {
    ExecRequest {
        command: command.to_owned(),
        workdir: workdir.to_path_buf(),
        env: BTreeMap::new(),
        timeout: Duration::from_secs(60),
        max_output_bytes: 0,
    }
}

async fn finished(table: &ProcessTable, id: &str) -> ProcessStatus {
    tokio::time::timeout(Duration::from_secs(30), table.wait(id))
        .await
        .expect("run did not finish")
        .unwrap()
}

#[tokio::test]
async fn poll_returns_new_output_once_and_the_final_status() {
    let dir = tempfile::tempdir().unwrap();
    let table = ProcessTable::new(ProcessLimits::default());
    let id = table
        .start(request("echo one; echo two >&2; exit 4", dir.path()))
        .unwrap();
    assert_eq!(finished(&table, &id).await, ProcessStatus::Exited { code: 4 });
    let first = table.poll(&id).unwrap();
    assert_eq!(first.status, ProcessStatus::Exited { code: 4 });
    let mut lines: Vec<&str> = first.output.lines().collect();
    lines.sort();
    assert_eq!(lines, ["one", "two"]);
    assert_eq!(table.poll(&id).unwrap().output, "");
    // log still has everything, windowed by line.
    assert_eq!(table.log(&id, Some(1), Some(1)).unwrap().lines().count(), 1);
    assert_eq!(table.log(&id, None, None).unwrap().lines().count(), 2);
}

#[tokio::test]
async fn kill_ends_the_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let table = ProcessTable::new(ProcessLimits::default());
    let id = table
        .start(request("echo $$; sleep 100 & sleep 100", dir.path()))
        .unwrap();
    let leader = table.list().into_iter().find(|p| p.id == id).unwrap().pid;
    assert_eq!(table.list()[0].status, ProcessStatus::Running);
    let status = tokio::time::timeout(Duration::from_secs(30), table.kill(&id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, ProcessStatus::Killed);
    assert_group_gone(i32::try_from(leader).unwrap());
}

#[tokio::test]
async fn timeout_and_remove_also_end_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let table = ProcessTable::new(ProcessLimits::default());
    let mut req = request("sleep 100 & sleep 100", dir.path());
    req.timeout = Duration::from_millis(300);
    let id = table.start(req).unwrap();
    let leader = table.list()[0].pid;
    assert_eq!(finished(&table, &id).await, ProcessStatus::TimedOut);
    assert_group_gone(i32::try_from(leader).unwrap());

    let id = table.start(request("sleep 100 & sleep 100", dir.path())).unwrap();
    let leader = table.list().into_iter().find(|p| p.id == id).unwrap().pid;
    table.remove(&id).await.unwrap();
    assert!(table.poll(&id).is_err());
    assert_group_gone(i32::try_from(leader).unwrap());
}

#[tokio::test]
async fn bounds_running_retained_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let table = ProcessTable::new(ProcessLimits {
        max_running: 2,
        max_retained: 3,
        output_cap_bytes: 1000,
    });
    let flood = table.start(request("yes | head -c 100000", dir.path())).unwrap();
    assert_eq!(finished(&table, &flood).await, ProcessStatus::Exited { code: 0 });
    let polled = table.poll(&flood).unwrap();
    assert_eq!(polled.output.len(), 1000);
    assert_eq!(polled.dropped_bytes, 99_000);

    let a = table.start(request("sleep 100", dir.path())).unwrap();
    let b = table.start(request("sleep 100", dir.path())).unwrap();
    let refused = table.start(request("sleep 100", dir.path())).unwrap_err().to_string();
    assert!(refused.contains("already running"), "{refused}");
    table.kill(&a).await.unwrap();
    // Room to run again; the table keeps 3 entries, so the oldest finished one (the flood) goes.
    let c = table.start(request("true", dir.path())).unwrap();
    let ids: Vec<String> = table.list().into_iter().map(|p| p.id).collect();
    assert_eq!(ids, [a.clone(), b.clone(), c]);
    table.kill(&b).await.unwrap();
}

#[tokio::test]
async fn the_process_tool_speaks_json() {
    let dir = tempfile::tempdir().unwrap();
    let table = ProcessTable::new(ProcessLimits::default());
    assert_eq!(
        process_action(&table, &json!({ "action": "list" })).await.unwrap(),
        "No background processes."
    );
    let id = table.start(request("echo hi", dir.path())).unwrap();
    finished(&table, &id).await;
    let listed = process_action(&table, &json!({ "action": "list" })).await.unwrap();
    assert!(
        listed.contains(&id) && listed.contains("exited with code 0") && listed.contains("echo hi"),
        "{listed}"
    );
    let polled = process_action(&table, &json!({ "action": "poll", "sessionId": id }))
        .await
        .unwrap();
    assert_eq!(polled, "hi\n[exited with code 0]");
    let missing = process_action(&table, &json!({ "action": "poll" }))
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("sessionId"), "{missing}");
    let unknown = process_action(&table, &json!({ "action": "poll", "sessionId": "proc-99" }))
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("proc-99"), "{unknown}");
    let bad = process_action(&table, &json!({ "action": "frob" }))
        .await
        .unwrap_err()
        .to_string();
    assert!(bad.contains("list, poll, log, kill or remove"), "{bad}");
}

#[test]
fn start_outside_a_runtime_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let table = ProcessTable::new(ProcessLimits::default());
    let error = table.start(request("true", dir.path())).unwrap_err().to_string();
    assert!(error.contains("Tokio runtime"), "{error}");
}
