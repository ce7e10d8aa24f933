//! `openclaw security audit` with the real binary.
//!
//! The corpus in `tests/fixtures/audit/*.json5` describes whole machines (config, environment,
//! file modes, symlinks, includes, pairing stores, installed plugins) and what the audit must
//! say about them: `must` / `mustNot` are written by hand from OpenClaw's reference and the
//! seeds; `<case>.expected.json` is the golden report (paths relative to `$HOME`), refreshed with
//! `UPDATE_AUDIT_GOLDEN=1` and reviewed like code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{Gateway, Sandbox, fixtures, mode, write_private};
use serde_json::{Value, json};

fn corpus_dir() -> PathBuf {
    fixtures().join("audit")
}

fn parse_mode(value: &Value) -> u32 {
    u32::from_str_radix(value.as_str().expect("modes are octal strings"), 8).expect("octal mode")
}

/// `~/x` is under the home, anything else under the state dir.
fn place(home: &Sandbox, rel: &str) -> PathBuf {
    match rel.strip_prefix("~/") {
        Some(rest) => home.home().join(rest),
        None if rel == "." => home.state_dir(),
        None => home.state_dir().join(rel),
    }
}

fn set_mode(path: &Path, m: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap();
}

/// Builds the machine a case describes.
fn build(case: &Value) -> Sandbox {
    let mut home = Sandbox::new();
    for (k, v) in case["env"].as_object().into_iter().flatten() {
        home = home.env(k, v.as_str().unwrap());
    }
    match (&case["configText"], &case["config"]) {
        (Value::String(text), _) => write_private(&home.config_path(), text),
        (_, Value::Null) => std::fs::create_dir_all(home.state_dir()).unwrap(),
        (_, config) => write_private(&home.config_path(), &serde_json::to_string_pretty(config).unwrap()),
    }
    set_mode(&home.state_dir(), 0o700);
    for (rel, m) in case["dirs"].as_object().into_iter().flatten() {
        let path = place(&home, rel);
        std::fs::create_dir_all(&path).unwrap();
        set_mode(&path, parse_mode(m));
    }
    for (rel, spec) in case["files"].as_object().into_iter().flatten() {
        let path = place(&home, rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, spec["text"].as_str().unwrap_or_default()).unwrap();
        set_mode(&path, spec.get("mode").map(parse_mode).unwrap_or(0o600));
    }
    for (id, spec) in case["plugins"].as_object().into_iter().flatten() {
        let dir = home.state_dir().join("extensions").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        set_mode(&home.state_dir().join("extensions"), 0o755);
        set_mode(&dir, 0o755);
        let manifest = spec["manifest"].as_str().unwrap();
        std::fs::write(dir.join("openclaw-plugin.toml"), manifest).unwrap();
        let file = manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix("file = "))
            .map(|f| f.trim_matches('"').to_string())
            .unwrap_or_else(|| "plugin.wasm".into());
        std::fs::write(dir.join(file), spec["component"].as_str().unwrap_or("component bytes")).unwrap();
    }
    for (rel, target) in case["symlinks"].as_object().into_iter().flatten() {
        let path = place(&home, rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let target = target.as_str().unwrap();
        let target = if target.starts_with('/') {
            PathBuf::from(target)
        } else {
            place(&home, target)
        };
        std::os::unix::fs::symlink(target, &path).unwrap();
    }
    // Modes last: writing files above must not be blocked by a mode under test.
    for (rel, m) in case["modes"].as_object().into_iter().flatten() {
        set_mode(&place(&home, rel), parse_mode(m));
    }
    home
}

fn run_audit(home: &Sandbox, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["security", "audit", "--json"];
    args.extend_from_slice(extra);
    let run = home.run(&args);
    let value = run.json();
    (run.code, value)
}

/// The report with the temporary home written as `$HOME` and the timestamp dropped.
fn normalized(home: &Sandbox, report: &Value) -> Value {
    let text = serde_json::to_string(report).unwrap();
    let text = text.replace(&home.home().display().to_string(), "$HOME");
    let mut value: Value = serde_json::from_str(&text).unwrap();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("ts");
    }
    value
}

fn check_ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["checkId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn corpus_cases_give_the_expected_findings() {
    let update = std::env::var_os("UPDATE_AUDIT_GOLDEN").is_some();
    let mut names: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json5"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 40,
        "the corpus has {} cases; keep at least 40",
        names.len()
    );
    let mut failures = Vec::new();
    for path in &names {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let case: Value =
            json5::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let home = build(&case);
        let extra: Vec<&str> = case["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a.as_str().unwrap())
            .collect();
        let (code, report) = run_audit(&home, &extra);
        let want_exit = case["exit"].as_i64().unwrap_or(0) as i32;
        if code != Some(want_exit) {
            failures.push(format!("{name}: exit {code:?}, want {want_exit}\n{report}"));
            continue;
        }
        let report = normalized(&home, &report);
        let body = if report.get("report").is_some() {
            report["report"].clone()
        } else {
            report.clone()
        };
        if body.get("findings").is_some() {
            let ids = check_ids(&body);
            for id in case["must"].as_array().into_iter().flatten() {
                let id = id.as_str().unwrap();
                if !ids.iter().any(|i| i == id) {
                    failures.push(format!("{name}: missing {id}; got {ids:?}"));
                }
            }
            for id in case["mustNot"].as_array().into_iter().flatten() {
                let id = id.as_str().unwrap();
                if ids.iter().any(|i| i == id) {
                    failures.push(format!("{name}: unexpected {id}"));
                }
            }
            for (id, severity) in case["severity"].as_object().into_iter().flatten() {
                let got = body["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["checkId"] == id.as_str());
                if got.map(|f| &f["severity"]) != Some(severity) {
                    failures.push(format!(
                        "{name}: {id} severity {:?}, want {severity}",
                        got.map(|f| &f["severity"])
                    ));
                }
            }
        }
        let golden = path.with_file_name(format!("{name}.expected.json"));
        if update {
            std::fs::write(&golden, serde_json::to_string_pretty(&report).unwrap() + "\n").unwrap();
        } else {
            match std::fs::read_to_string(&golden) {
                Ok(text) => {
                    let want: Value = serde_json::from_str(&text).unwrap();
                    if want != report {
                        failures.push(format!(
                            "{name}: report differs from {}\n got: {}",
                            golden.display(),
                            serde_json::to_string_pretty(&report).unwrap()
                        ));
                    }
                }
                Err(_) => failures.push(format!(
                    "{name}: no golden {} (UPDATE_AUDIT_GOLDEN=1)",
                    golden.display()
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every seed config audits: a config the gateway accepts exits 0 with a well-formed report (an
/// unset `${VAR}` is a secret diagnostic there, not an error), anything else exits 1.
#[test]
fn every_seed_config_audits_without_error() {
    let mut audited = 0;
    for entry in std::fs::read_dir(fixtures().join("seeds")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let home = Sandbox::new();
        home.write_config(&text);
        let validate = home.run(&["config", "validate", "--json"]);
        let (code, report) = run_audit(&home, &[]);
        if validate.code == Some(0) {
            assert_eq!(code, Some(0), "{}: {report}", path.display());
        }
        match code {
            Some(0) => {
                let s = &report["summary"];
                let counted =
                    s["critical"].as_u64().unwrap() + s["warn"].as_u64().unwrap() + s["info"].as_u64().unwrap();
                assert_eq!(
                    counted as usize,
                    report["findings"].as_array().unwrap().len(),
                    "{}",
                    path.display()
                );
                assert!(check_ids(&report).contains(&"summary.attack_surface".to_string()));
                audited += 1;
            }
            _ => {
                assert_eq!(code, Some(1), "{}: {report}", path.display());
                assert_eq!(report["error"]["type"], "invalid_config", "{}", path.display());
            }
        }
    }
    assert!(audited >= 20, "only {audited} seed configs audited");
}

const OPEN_CONFIG: &str = r#"{
  gateway: {mode: "local", auth: {mode: "token", token: "0123456789abcdef0123456789abcdef"}},
  channels: {telegram: {botToken: "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678", groupPolicy: "open",
    accounts: {work: {groupPolicy: "open"}}}},
  logging: {redactSensitive: "off"},
}"#;

#[test]
fn fix_tightens_keeps_a_backup_reports_the_state_after_and_is_idempotent() {
    let home = Sandbox::new();
    home.write_config(OPEN_CONFIG);
    let sessions = home.state_dir().join("agents/main/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    std::fs::write(sessions.join("sessions.json"), "{}").unwrap();
    std::fs::write(sessions.join("abc.jsonl"), "{}\n").unwrap();
    set_mode(&sessions.join("sessions.json"), 0o644);
    set_mode(&sessions.join("abc.jsonl"), 0o664);
    set_mode(&sessions, 0o755);
    let creds = home.state_dir().join("credentials");
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::write(creds.join("telegram-allowFrom.json"), r#"{"version":1,"allowFrom":[]}"#).unwrap();
    set_mode(&creds.join("telegram-allowFrom.json"), 0o644);
    set_mode(&creds, 0o755);
    // A symlinked credentials file is never chmodded through.
    let outside = home.dir.path().join("outside.json");
    std::fs::write(&outside, "{}").unwrap();
    set_mode(&outside, 0o644);
    std::os::unix::fs::symlink(&outside, creds.join("linked.json")).unwrap();
    set_mode(&home.state_dir(), 0o755);
    set_mode(&home.config_path(), 0o644);

    let (before_code, before) = run_audit(&home, &[]);
    assert_eq!(before_code, Some(0));
    let before_ids = check_ids(&before);
    for id in [
        "logging.redact_off",
        "fs.state_dir.perms_readable",
        "fs.config.perms_world_readable",
        "fs.sessions_store.perms_readable",
    ] {
        assert!(
            before_ids.contains(&id.to_string()),
            "{id} missing before: {before_ids:?}"
        );
    }

    let (code, fixed) = run_audit(&home, &["--fix"]);
    assert_eq!(code, Some(0), "{fixed}");
    let fix = &fixed["fix"];
    assert_eq!(fix["ok"], true, "{fix}");
    assert_eq!(fix["configWritten"], true);
    assert_eq!(
        fix["changes"],
        json!([
            "logging.redactSensitive=off -> \"tools\"",
            "channels.telegram.groupPolicy=open -> allowlist",
            "channels.telegram.accounts.work.groupPolicy=open -> allowlist",
        ])
    );
    let backup = home.state_dir().join("openclaw.json.bak");
    assert!(
        std::fs::read_to_string(&backup)
            .unwrap()
            .contains("redactSensitive: \"off\"")
    );
    let config: Value = json5::from_str(&home.read_config()).unwrap();
    assert_eq!(config["logging"]["redactSensitive"], "tools");
    assert_eq!(
        config["channels"]["telegram"]["accounts"]["work"]["groupPolicy"],
        "allowlist"
    );
    assert_eq!(mode(&home.state_dir()), 0o700);
    assert_eq!(mode(&home.config_path()), 0o600);
    assert_eq!(mode(&creds), 0o700);
    assert_eq!(mode(&creds.join("telegram-allowFrom.json")), 0o600);
    assert_eq!(mode(&sessions), 0o700);
    assert_eq!(mode(&sessions.join("sessions.json")), 0o600);
    assert_eq!(mode(&sessions.join("abc.jsonl")), 0o600);
    assert_eq!(mode(&outside), 0o644, "a symlink's target must not be chmodded");
    let skipped: Vec<&Value> = fix["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["skipped"] == "symlink")
        .collect();
    assert_eq!(skipped.len(), 1, "{fix}");
    // OpenClaw reports the stale pre-fix findings; this report is the state after fixing.
    let after_ids = check_ids(&fixed["report"]);
    for id in [
        "logging.redact_off",
        "fs.state_dir.perms_readable",
        "fs.config.perms_world_readable",
        "fs.sessions_store.perms_readable",
        "security.exposure.open_groups_with_elevated",
    ] {
        assert!(
            !after_ids.contains(&id.to_string()),
            "{id} still reported after --fix: {after_ids:?}"
        );
    }

    let backup_before = std::fs::read_to_string(&backup).unwrap();
    let config_before = home.read_config();
    let (code, again) = run_audit(&home, &["--fix"]);
    assert_eq!(code, Some(0));
    assert_eq!(again["fix"]["configWritten"], false);
    assert_eq!(again["fix"]["changes"], json!([]));
    assert!(
        again["fix"]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["ok"] == false),
        "the second run changed something: {}",
        again["fix"]
    );
    assert_eq!(home.read_config(), config_before);
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), backup_before);
    assert_eq!(
        normalized(&home, &again["report"])["findings"],
        normalized(&home, &fixed["report"])["findings"]
    );
}

#[test]
fn fix_never_loosens_a_mode() {
    let home = Sandbox::new();
    home.write_config(r#"{gateway: {auth: {mode: "token", token: "0123456789abcdef0123456789abcdef"}}}"#);
    // Owner-only but read-only: --fix must not add the owner's write bit.
    let store = home.state_dir().join("agents/main/sessions/sessions.json");
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    std::fs::write(&store, "{}").unwrap();
    set_mode(&store, 0o440);
    set_mode(store.parent().unwrap(), 0o500);
    let (code, out) = run_audit(&home, &["--fix"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(mode(&store), 0o400);
    assert_eq!(mode(store.parent().unwrap()), 0o500);
    set_mode(store.parent().unwrap(), 0o700);
}

#[test]
fn invalid_config_exits_1_and_fail_on_exits_3_only_at_that_level() {
    let home = Sandbox::new();
    home.write_config(r#"{gateway: {bind: "everywhere"}}"#);
    let (code, report) = run_audit(&home, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["error"]["type"], "invalid_config");
    assert!(
        report["error"]["message"].as_str().unwrap().contains("gateway.bind"),
        "{report}"
    );

    let home = Sandbox::new();
    home.write_config(
        r#"{gateway: {mode: "local", auth: {mode: "token", token: "0123456789abcdef0123456789abcdef"}}}"#,
    );
    assert_eq!(run_audit(&home, &[]).0, Some(0));
    assert_eq!(run_audit(&home, &["--fail-on", "critical"]).0, Some(0));
    // A default install still has gateway.trusted_proxies_missing (warn), as in OpenClaw.
    assert_eq!(run_audit(&home, &["--fail-on", "warn"]).0, Some(3));
    let text = home.run(&["security", "audit"]);
    assert_eq!(text.code, Some(0));
    assert!(
        text.stdout
            .starts_with("OpenClaw security audit\nSummary: 0 critical · 1 warn · 1 info"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("gateway.trusted_proxies_missing Reverse proxy headers are not trusted")
    );
}

#[test]
fn deep_probe_reports_a_stopped_gateway_as_a_finding() {
    let home = Sandbox::new();
    home.write_config(
        r#"{gateway: {mode: "local", auth: {mode: "token", token: "0123456789abcdef0123456789abcdef"}}}"#,
    );
    let (code, report) = run_audit(&home, &["--deep"]);
    assert_eq!(code, Some(0), "{report}");
    let probe = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["checkId"] == "gateway.probe_failed");
    assert!(probe.is_some(), "{report}");
    assert_eq!(report["deep"]["gateway"]["ok"], false);
    assert_eq!(report["deep"]["gateway"]["attempted"], false);
}

#[test]
fn deep_probe_checks_the_running_gateway_refuses_strangers_and_listens_where_configured() {
    let home = Sandbox::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    home.write_config(&format!(
        r#"{{gateway: {{mode: "local", port: {port}, auth: {{mode: "token", token: "0123456789abcdef0123456789abcdef"}}}}}}"#
    ));
    let gateway =
        Gateway::try_start(&home, &["--port", &port.to_string()]).unwrap_or_else(|(c, e)| panic!("{c:?} {e}"));
    assert_eq!(gateway.port, port);
    let (code, report) = run_audit(&home, &["--deep"]);
    assert_eq!(code, Some(0), "{report}");
    let deep = &report["deep"]["gateway"];
    assert_eq!(deep["ok"], true, "{report}");
    assert_eq!(deep["unauthenticatedStatus"], 401, "{report}");
    assert_eq!(deep["listening"], format!("127.0.0.1:{port}"));
    let ids = check_ids(&report);
    for id in [
        "gateway.probe_failed",
        "gateway.probe_unauthenticated_accepted",
        "gateway.probe_bind_mismatch",
    ] {
        assert!(!ids.contains(&id.to_string()), "{id}: {report}");
    }
    // The config now names another port than the one the running gateway uses.
    home.write_config(
        r#"{gateway: {mode: "local", port: 1, auth: {mode: "token", token: "0123456789abcdef0123456789abcdef"}}}"#,
    );
    let (_, report) = run_audit(&home, &["--deep"]);
    assert!(
        check_ids(&report).contains(&"gateway.probe_bind_mismatch".to_string()),
        "{report}"
    );
    drop(gateway);
}
