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

fn secrets_audit(home: &Sandbox, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["secrets", "audit", "--json"];
    args.extend_from_slice(extra);
    let run = home.run(&args);
    (run.code, run.json())
}

fn codes_at(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["jsonPath"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn secrets_audit_finds_plaintext_unresolved_shadowed_and_residue_with_openclaw_exit_codes() {
    let home = Sandbox::new();
    home.write_config(
        r#"{
          gateway: {mode: "local", auth: {mode: "token", token: "0123456789abcdef0123456789abcdef"}},
          secrets: {providers: {vault: {source: "exec", command: "/usr/bin/true"}}},
          models: {providers: {
            anthropic: {api: "anthropic-messages", baseUrl: "https://api.anthropic.com", apiKey: {source: "env", id: "ANTHROPIC_API_KEY"}},
            openai: {api: "openai-completions", baseUrl: "https://api.openai.com/v1", apiKey: "${OPENAI_API_KEY}"},
            groq: {api: "openai-completions", baseUrl: "https://api.groq.com/openai/v1", apiKey: {source: "exec", provider: "vault", id: "groq"}},
          }},
        }"#,
    );
    let agent = home.state_dir().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    std::fs::write(
        agent.join("auth-profiles.json"),
        r#"{"profiles":{"anthropic:default":{"type":"api_key","provider":"anthropic","key":"sk-ant-plain"},"openai:me":{"type":"oauth","provider":"openai","access":"a","refresh":"r"}}}"#,
    )
    .unwrap();
    std::fs::write(agent.join("auth.json"), r#"{"anthropic":{"api_key":"sk-ant-legacy"}}"#).unwrap();
    std::fs::write(
        home.state_dir().join(".env"),
        "OPENAI_API_KEY=sk-plain\nLOG_LEVEL=debug\n",
    )
    .unwrap();

    // Unset variables: the references do not resolve, exit 2.
    let (code, report) = secrets_audit(&home, &[]);
    assert_eq!(code, Some(2), "{report}");
    assert_eq!(report["status"], "unresolved");
    let found = codes_at(&report);
    for want in [
        ("PLAINTEXT_FOUND", "gateway.auth.token"),
        ("REF_UNRESOLVED", "models.providers.openai.apiKey"),
        ("REF_UNRESOLVED", "models.providers.anthropic.apiKey"),
        ("PLAINTEXT_FOUND", "profiles.anthropic:default.key"),
        ("REF_SHADOWED", "profiles.anthropic:default.key"),
        ("LEGACY_RESIDUE", "profiles.openai:me"),
        ("LEGACY_RESIDUE", "anthropic"),
        ("PLAINTEXT_FOUND", "$env.OPENAI_API_KEY"),
    ] {
        assert!(
            found.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} missing: {found:?}"
        );
    }
    assert!(!found.iter().any(|(_, p)| p == "$env.LOG_LEVEL"));
    assert_eq!(report["resolution"]["skippedExecRefs"], 1, "{report}");
    assert_eq!(report["resolution"]["resolvabilityComplete"], false);
    assert_eq!(report["filesScanned"].as_array().unwrap().len(), 4, "{report}");
    // No secret value is ever printed.
    let text = report.to_string();
    for secret in [
        "0123456789abcdef0123456789abcdef",
        "sk-ant-plain",
        "sk-ant-legacy",
        "sk-plain",
    ] {
        assert!(!text.contains(secret), "{secret} printed");
    }

    // With the variables set, only findings remain: exit 0, and 1 under --check.
    let home = home.env("ANTHROPIC_API_KEY", "a-key").env("OPENAI_API_KEY", "o-key");
    let (code, report) = secrets_audit(&home, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["status"], "findings");
    assert_eq!(secrets_audit(&home, &["--check"]).0, Some(1));

    // A broken store is an unresolved finding, not a crash.
    std::fs::write(agent.join("auth-profiles.json"), "{not json").unwrap();
    let (code, report) = secrets_audit(&home, &[]);
    assert_eq!(code, Some(2), "{report}");

    // Clean: references only, nothing in the stores.
    let clean = Sandbox::new().env("GW_TOKEN", "0123456789abcdef0123456789abcdef");
    clean.write_config(r#"{gateway: {mode: "local", auth: {mode: "token", token: "${GW_TOKEN}"}}}"#);
    let (code, report) = secrets_audit(&clean, &["--check"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["status"], "clean");
    assert_eq!(report["resolution"]["refsChecked"], 0);
}

#[test]
fn secrets_apply_writes_references_scrubs_residues_and_refuses_bad_plans() {
    let home = Sandbox::new().env("OPENAI_API_KEY", "sk-old-plaintext");
    home.write_config(
        r#"{
          gateway: {mode: "local", auth: {mode: "token", token: "0123456789abcdef0123456789abcdef"}},
          models: {providers: {openai: {api: "openai-completions", baseUrl: "https://api.openai.com/v1", apiKey: "sk-old-plaintext"}}},
        }"#,
    );
    let agent = home.state_dir().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    std::fs::write(
        agent.join("auth-profiles.json"),
        r#"{"profiles":{"openai:default":{"type":"api_key","provider":"openai","key":"sk-old-plaintext"},"anthropic:default":{"type":"api_key","provider":"anthropic","key":"sk-ant"}}}"#,
    )
    .unwrap();
    std::fs::write(agent.join("auth.json"), r#"{"openai":{"api_key":"sk-old-plaintext"}}"#).unwrap();
    // The variable the new reference reads stays; a copy under another name is scrubbed.
    std::fs::write(
        home.state_dir().join(".env"),
        "OPENAI_API_KEY=sk-old-plaintext\nOLD_OPENAI=sk-old-plaintext\nLOG=1\n",
    )
    .unwrap();
    let plan = home.dir.path().join("plan.json");
    std::fs::write(
        &plan,
        json!({
            "version": 1, "protocolVersion": 1, "generatedAt": "2026-12-02T00:00:00Z", "generatedBy": "manual",
            "targets": [{"type": "models.providers.apiKey", "path": "models.providers.openai.apiKey",
                         "ref": {"source": "env", "provider": "default", "id": "OPENAI_API_KEY"}, "providerId": "openai"}],
        })
        .to_string(),
    )
    .unwrap();
    let before = home.read_config();
    let dry = home.run(&[
        "secrets",
        "apply",
        "--from",
        plan.to_str().unwrap(),
        "--dry-run",
        "--json",
    ]);
    assert_eq!(dry.code, Some(0), "{}", dry.stdout);
    assert_eq!(dry.json()["dryRun"], true);
    assert_eq!(home.read_config(), before, "a dry run wrote the config");

    let (_, audit_before) = secrets_audit(&home, &[]);
    assert!(
        audit_before["summary"]["plaintextCount"].as_u64().unwrap() >= 3,
        "{audit_before}"
    );
    let run = home.run(&["secrets", "apply", "--from", plan.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let config: Value = json5::from_str(&home.read_config()).unwrap();
    assert_eq!(
        config["models"]["providers"]["openai"]["apiKey"],
        json!({"source": "env", "provider": "default", "id": "OPENAI_API_KEY"})
    );
    assert!(home.state_dir().join("openclaw.json.bak").exists());
    let profiles = std::fs::read_to_string(agent.join("auth-profiles.json")).unwrap();
    assert!(
        !profiles.contains("sk-old-plaintext") && profiles.contains("anthropic:default"),
        "{profiles}"
    );
    assert!(
        !std::fs::read_to_string(agent.join("auth.json"))
            .unwrap()
            .contains("sk-old")
    );
    assert_eq!(
        std::fs::read_to_string(home.state_dir().join(".env")).unwrap(),
        "OPENAI_API_KEY=sk-old-plaintext\nLOG=1\n"
    );
    let (code, after) = secrets_audit(&home, &[]);
    assert_eq!(code, Some(0), "{after}");
    let plain: Vec<(String, String)> = codes_at(&after)
        .into_iter()
        .filter(|(c, _)| c == "PLAINTEXT_FOUND")
        .collect();
    assert!(!plain.iter().any(|(_, p)| p.contains("openai")), "{plain:?}");

    // Bad plans change nothing and say why.
    for (bad, want) in [
        (
            json!({"version": 1, "protocolVersion": 1, "targets": [{"type": "models.providers.apiKey", "path": "gateway.auth.token", "ref": {"source": "env", "id": "X"}}]}),
            "not a models.providers.apiKey target",
        ),
        (json!({"version": 2, "protocolVersion": 1, "targets": []}), "version"),
        (
            json!({"version": 1, "protocolVersion": 1, "targets": [{"type": "models.providers.apiKey", "path": "models.providers.openai.apiKey", "ref": {"source": "exec", "provider": "vault", "id": "openai"}}],
                "providerUpserts": {"vault": {"source": "exec", "command": "/usr/bin/true"}}}),
            "--allow-exec",
        ),
    ] {
        std::fs::write(&plan, bad.to_string()).unwrap();
        let config_before = home.read_config();
        let run = home.run(&["secrets", "apply", "--from", plan.to_str().unwrap(), "--json"]);
        assert_eq!(run.code, Some(1), "{}", run.stdout);
        assert!(run.stdout.contains(want), "{want}: {}", run.stdout);
        assert_eq!(home.read_config(), config_before);
    }
}
