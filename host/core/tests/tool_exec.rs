//! Exec policy: command analysis, decisions across security × ask × host × approvals file,
//! safe bins, the seeds' exec keys, elevated levels and refused env overrides
//! (tables: tests/data/exec/).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tools_common;

use std::collections::BTreeMap;

use openclaw_core::config::schema::agents::ElevatedLevel;
use openclaw_core::tools::approvals_file::{AllowlistEntry, ExecApprovalsFile, migrate_legacy_default};
use openclaw_core::tools::exec::{
    ExecDecision, ExecPolicy, analyze_command, ask_name, check_exec_env, decide_exec, decide_exec_without_approver,
    elevated_exec_policy, exec_policy, security_name,
};
use serde_json::{Value, json};
use tools_common::{case_config, strings, table};

#[test]
fn command_analysis_table() {
    let cases = table("exec/analysis.json5");
    let mut failures = Vec::new();
    for case in cases.as_array().unwrap() {
        let command = case["command"].as_str().unwrap();
        let analysis = analyze_command(command);
        match case.get("rejected").and_then(Value::as_str) {
            Some(want) => match &analysis.rejection {
                Some(reason) if reason.contains(want) => {}
                other => failures.push(format!(
                    "{command:?}: want rejection containing {want:?}, got {other:?}"
                )),
            },
            None => {
                let want: Vec<Vec<String>> = serde_json::from_value(case["argv"].clone()).unwrap();
                let got: Vec<Vec<String>> = analysis.segments.iter().map(|s| s.argv.clone()).collect();
                if analysis.rejection.is_some() || got != want {
                    failures.push(format!(
                        "{command:?}: want {want:?}, got {got:?} ({:?})",
                        analysis.rejection
                    ));
                }
                if let Some(joiners) = case.get("joiners") {
                    let got: Vec<Value> = analysis
                        .segments
                        .iter()
                        .map(|s| serde_json::to_value(s.joined_by).unwrap())
                        .collect();
                    if &Value::Array(got.clone()) != joiners {
                        failures.push(format!("{command:?}: joiners {got:?}, want {joiners}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn level(name: &str) -> ElevatedLevel {
    serde_json::from_value(json!(name)).unwrap()
}

fn check_policy(policy: &ExecPolicy, want: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    let host = serde_json::to_value(policy.host).unwrap();
    let mut expect = |key: &str, got: Value| {
        if let Some(w) = want.get(key)
            && *w != got
        {
            failures.push(format!("policy.{key}: got {got}, want {w}"));
        }
    };
    expect("host", host);
    expect("node", json!(policy.node));
    expect("security", json!(security_name(policy.security)));
    expect("ask", json!(ask_name(policy.ask)));
    expect("ask_fallback", json!(security_name(policy.ask_fallback)));
    expect("approval_timeout_secs", json!(policy.approval_timeout.as_secs()));
    expect("safe_bins", json!(policy.safe_bins));
    expect("trusted_dirs", json!(policy.trusted_dirs));
    expect("require_approval", json!(policy.require_approval));
    expect("security_source", json!(policy.sources.security));
    failures
}

#[test]
fn exec_decision_table() {
    let data = table("exec/decisions.json5");
    let paths: BTreeMap<String, String> = serde_json::from_value(data["resolve"].clone()).unwrap();
    let resolve = |bin: &str| paths.get(bin).cloned();
    let mut report = Vec::new();
    for case in data["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let config = case_config(case, name);
        let agent = case.get("agent").and_then(Value::as_str).unwrap_or("main");
        let mut file: Option<ExecApprovalsFile> = case
            .get("approvals")
            .map(|f| ExecApprovalsFile::parse(&f.to_string()).unwrap_or_else(|e| panic!("{name}: {e}")));
        if case.get("migrate").and_then(Value::as_bool) == Some(true) {
            assert!(
                migrate_legacy_default(file.as_mut().unwrap()),
                "{name}: nothing migrated"
            );
        }
        let sandbox_active = case.get("sandbox_active").and_then(Value::as_bool).unwrap_or(false);
        let policy = match case.get("elevated").and_then(Value::as_str) {
            Some(l) => elevated_exec_policy(&config, agent, file.as_ref(), level(l)).unwrap(),
            None => exec_policy(&config, agent, file.as_ref(), sandbox_active),
        };
        let allowlist: Vec<AllowlistEntry> = match case.get("allowlist") {
            Some(list) => serde_json::from_value(list.clone()).unwrap(),
            None => file.as_ref().map(|f| f.resolve(agent).allowlist).unwrap_or_default(),
        };
        let mut failures = case.get("policy").map(|p| check_policy(&policy, p)).unwrap_or_default();
        let no_ui = case.get("without_approver").and_then(Value::as_bool) == Some(true);
        for (command, want) in case["commands"].as_object().unwrap() {
            let got = if no_ui {
                decide_exec_without_approver(&policy, command, &resolve, &allowlist)
            } else {
                decide_exec(&policy, command, &resolve, &allowlist)
            };
            let ok = match (want, &got) {
                (Value::String(w), ExecDecision::Run) => w == "run",
                (Value::Array(w), ExecDecision::Ask { reason }) => {
                    w[0] == "ask" && reason.contains(w[1].as_str().unwrap())
                }
                (Value::Array(w), ExecDecision::Deny { reason }) => {
                    w[0] == "deny" && reason.contains(w[1].as_str().unwrap())
                }
                _ => false,
            };
            if !ok {
                failures.push(format!("{command:?}: got {got:?}, want {want}"));
            }
        }
        if !failures.is_empty() {
            report.push(format!("{name}:\n  {}", failures.join("\n  ")));
        }
    }
    assert!(
        report.is_empty(),
        "{} case(s) failed:\n{}",
        report.len(),
        report.join("\n")
    );
}

#[test]
fn elevated_off_has_no_exec_policy() {
    let config = tools_common::fixture("003-elevated.json5");
    assert_eq!(elevated_exec_policy(&config, "main", None, ElevatedLevel::Off), None);
}

#[test]
fn host_env_overrides_are_refused() {
    let cases: &[(&[&str], Option<&[&str]>)] = &[
        (&["HOME", "LANG", "PATHEXT", "MY_LD_FLAG", "TERM"], None),
        (&["PATH"], Some(&["`PATH`"])),
        (&["Path"], Some(&["`Path`"])),
        (&["LD_PRELOAD", "HOME"], Some(&["`LD_PRELOAD`"])),
        (&["ld_library_path"], Some(&["`ld_library_path`"])),
        (
            &["DYLD_INSERT_LIBRARIES", "LD_AUDIT"],
            Some(&["`DYLD_INSERT_LIBRARIES`", "`LD_AUDIT`"]),
        ),
    ];
    for (keys, refused) in cases {
        let env: BTreeMap<String, String> = keys.iter().map(|k| (k.to_string(), "x".to_string())).collect();
        match (check_exec_env(&env), refused) {
            (Ok(()), None) => {}
            (Err(message), Some(names)) => {
                for name in *names {
                    assert!(message.contains(name), "{keys:?}: {message}");
                }
                assert!(message.contains("absolute path"), "the error says the fix: {message}");
            }
            (got, want) => panic!("{keys:?}: got {got:?}, want refusal of {want:?}"),
        }
    }
}

#[test]
fn approvals_file_round_trips_and_keeps_unknown_keys() {
    let text = r#"{
      "version": 1,
      "socket": { "path": "~/.openclaw/exec-approvals.sock", "token": "s3cret-token" },
      "defaults": { "security": "deny", "ask": "on-miss", "askFallback": "deny", "autoAllowSkills": false },
      "agents": {
        "main": {
          "security": "allowlist", "ask": "on-miss", "askFallback": "deny", "autoAllowSkills": true,
          "allowlist": [
            { "id": "0b7c", "pattern": "/usr/bin/git", "lastUsedAt": 1767225600000,
              "lastUsedCommand": "git status", "lastResolvedPath": "/usr/bin/git", "argPattern": "status.*",
              "futureField": [1, 2] }
          ]
        }
      },
      "laterTopLevel": { "x": true }
    }"#;
    let file = ExecApprovalsFile::parse(text).unwrap();
    let original: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        serde_json::to_value(&file).unwrap(),
        original,
        "nothing is lost on rewrite"
    );
    let main = &file.agents["main"];
    assert!(
        main.extra.is_empty(),
        "known keys are typed, not kept twice: {:?}",
        main.extra
    );
    assert_eq!(main.allowlist[0].extra.keys().collect::<Vec<_>>(), ["futureField"]);
    assert_eq!(file.extra.keys().collect::<Vec<_>>(), ["laterTopLevel"]);
    let resolved = file.resolve("MAIN");
    assert!(resolved.auto_allow_skills);
    assert_eq!(resolved.allowlist.len(), 1);
    assert_eq!(resolved.allowlist[0].arg_pattern.as_deref(), Some("status.*"));
    assert!(
        !format!("{file:?}").contains("s3cret-token"),
        "the socket token never shows in debug output"
    );
}

#[test]
fn approvals_file_errors_name_the_fix() {
    let wrong_version = ExecApprovalsFile::parse(r#"{"version": 2}"#).unwrap_err();
    assert!(
        wrong_version.contains("version 2") && wrong_version.contains("version 1"),
        "{wrong_version}"
    );
    let bad = ExecApprovalsFile::parse(r#"{"version": 1, "defaults": {"security": "yolo"}}"#).unwrap_err();
    assert!(bad.contains("yolo") || bad.contains("unknown variant"), "{bad}");
    assert!(bad.contains("remove it"), "{bad}");
}

#[test]
fn legacy_default_agent_migrates_to_main() {
    let mut file = ExecApprovalsFile::parse(
        r#"{"version": 1, "agents": {
            "default": {"security": "allowlist", "ask": "always", "allowlist": [{"pattern": "/usr/bin/git"}, {"pattern": "/bin/ls"}]},
            "main": {"ask": "off", "allowlist": [{"pattern": "/BIN/LS"}]}
        }}"#,
    )
    .unwrap();
    assert!(migrate_legacy_default(&mut file));
    assert!(!file.agents.contains_key("default"));
    let main = &file.agents["main"];
    assert_eq!(
        serde_json::to_value(&main.policy).unwrap(),
        json!({"security": "allowlist", "ask": "off"}),
        "main's own settings win; missing ones come from default"
    );
    let patterns: Vec<&str> = main.allowlist.iter().map(|e| e.pattern.as_str()).collect();
    assert_eq!(patterns, ["/BIN/LS", "/usr/bin/git"], "joined without duplicates");
    assert!(!migrate_legacy_default(&mut file), "running it again changes nothing");

    let mut only_legacy =
        ExecApprovalsFile::parse(r#"{"version": 1, "agents": {"default": {"ask": "always"}}}"#).unwrap();
    assert!(migrate_legacy_default(&mut only_legacy));
    assert_eq!(
        strings(Some(&json!(only_legacy.agents.keys().collect::<Vec<_>>()))),
        ["main"]
    );
}

#[test]
fn home_relative_patterns_expand() {
    let file =
        ExecApprovalsFile::parse(r#"{"version": 1, "agents": {"main": {"allowlist": [{"pattern": "~/bin/*"}]}}}"#)
            .unwrap()
            .with_home("/home/me/");
    let entry = &file.resolve("main").allowlist[0];
    assert_eq!(entry.pattern, "/home/me/bin/*");
    assert!(entry.matches("/home/me/bin/tool", &[]));
}
