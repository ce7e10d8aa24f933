//! Incident response with the real binary: `openclaw logs` (the end of the gateway's file log,
//! redacted), `openclaw status [--all]` (a pasteable diagnosis that never shows a secret) and
//! `openclaw channels logout` (forget a channel account's stored state, name the tokens to
//! revoke, never edit the config).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{Gateway, Run, Sandbox};
use openclaw_runtime::kv::KvStore;
use serde_json::{Value, json};

const GATEWAY_TOKEN: &str = "gw-literal-token-7f3a9c2e1d5b8a40";
const BOT_TOKEN: &str = "123456789:AAF-base_Token-abcdefghijklmnopq";
const WORK_BOT_TOKEN: &str = "987654321:AAF-work_Token-abcdefghijklmnopq";
const API_KEY: &str = "sk-live-abcdefghijklmnopqrstuvwxyz0123";
/// A key the config does not hold: only the patterns can catch it.
const OTHER_KEY: &str = "sk-other-abcdefghijklmnop4321";

fn sandbox() -> Sandbox {
    Sandbox::new().env("OPENCLAW_DISABLE_BONJOUR", "1")
}

fn log_path(sb: &Sandbox) -> PathBuf {
    sb.dir.path().join("logs").join("gateway.log")
}

/// A gateway behind a literal token, a Telegram channel with a base and a per-account bot token,
/// a model provider with a literal API key, an agent with a model and a sandbox mode, and the
/// file log in the sandbox.
fn incident_config(sb: &Sandbox) -> Value {
    json!({
        "gateway": {"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": GATEWAY_TOKEN}},
        "channels": {"telegram": {
            "botToken": BOT_TOKEN,
            "accounts": {
                "work": {"botToken": WORK_BOT_TOKEN},
                "home": {"dmPolicy": "allowlist", "allowFrom": ["4242"]}
            }
        }},
        "models": {"providers": {"openai": {"apiKey": API_KEY}}},
        "agents": {"list": [
            {"id": "main", "default": true, "model": {"primary": "openai/gpt-4o", "fallbacks": ["openai/gpt-4o-mini"]}},
            {"id": "ops", "sandbox": {"mode": "all"}}
        ]},
        "logging": {"file": log_path(sb).display().to_string()},
    })
}

fn write(sb: &Sandbox, config: &Value) {
    sb.write_config(&serde_json::to_string_pretty(config).unwrap());
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [GATEWAY_TOKEN, BOT_TOKEN, WORK_BOT_TOKEN, API_KEY, OTHER_KEY] {
        assert!(!text.contains(secret), "{what} shows the secret {secret}:\n{text}");
    }
}

fn append(path: &Path, lines: &[&str]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// openclaw logs

/// Log lines holding secrets: the config's gateway token, an `sk-` key, a bot token, a field
/// named `token`, and a line that is not JSON.
fn leaky_lines() -> Vec<String> {
    vec![
        json!({"time": "2026-05-02T10:00:00.000Z", "level": "info", "target": "openclaw::gateway", "message": "first line"}).to_string(),
        json!({"time": "2026-05-02T10:00:01.000Z", "level": "warn", "target": "openclaw::gateway",
               "message": format!("client sent {GATEWAY_TOKEN}"), "token": "abcdefghijklmnopqrstuvwx"}).to_string(),
        json!({"time": "2026-05-02T10:00:02.000Z", "level": "error", "target": "openclaw::providers",
               "message": format!("provider refused OPENAI_API_KEY={API_KEY}, then {OTHER_KEY}")}).to_string(),
        format!("not json: https://api.telegram.org/bot{BOT_TOKEN}/getUpdates"),
    ]
}

#[test]
fn logs_shows_the_last_lines_with_every_secret_masked() {
    let sb = sandbox();
    write(&sb, &incident_config(&sb));
    let lines = leaky_lines();
    append(&log_path(&sb), &lines.iter().map(String::as_str).collect::<Vec<_>>());

    let run = sb.run(&["logs", "--limit", "3"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_no_secret("logs", &run.stdout);
    let shown: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(shown.len(), 3, "{}", run.stdout);
    assert!(
        !run.stdout.contains("first line"),
        "--limit 3 shows the last three lines only"
    );
    assert_eq!(
        shown[0],
        "2026-05-02T10:00:01.000Z  warn openclaw::gateway: client sent [redacted] token=abcdef…uvwx"
    );
    assert_eq!(
        shown[1],
        "2026-05-02T10:00:02.000Z error openclaw::providers: provider refused OPENAI_API_KEY=[redacted], then sk-oth…4321"
    );
    assert_eq!(shown[2], "not json: https://api.telegram.org/bot[redacted]/getUpdates");
    assert!(
        run.stderr.contains(&log_path(&sb).display().to_string()),
        "{}",
        run.stderr
    );

    // The default limit (200) shows all four.
    assert_eq!(sb.run(&["logs"]).stdout.lines().count(), 4);
}

#[test]
fn logs_json_is_one_object_per_line_and_wraps_plain_text() {
    let sb = sandbox();
    write(&sb, &incident_config(&sb));
    let lines = leaky_lines();
    append(&log_path(&sb), &lines.iter().map(String::as_str).collect::<Vec<_>>());

    let run = sb.run(&["logs", "--json", "--limit", "3"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_no_secret("logs --json", &run.stdout);
    let objects: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert_eq!(objects.len(), 3);
    assert!(objects.iter().all(Value::is_object));
    assert_eq!(objects[0]["level"], "warn");
    assert_eq!(objects[0]["message"], "client sent [redacted]");
    assert_eq!(objects[0]["token"], "abcdef…uvwx");
    assert_eq!(
        objects[1]["message"],
        "provider refused OPENAI_API_KEY=[redacted], then sk-oth…4321"
    );
    assert_eq!(
        objects[2]["message"],
        "not json: https://api.telegram.org/bot[redacted]/getUpdates"
    );
    assert_eq!(
        objects[2].as_object().unwrap().len(),
        1,
        "a plain line becomes {{message}}"
    );
}

#[test]
fn logs_redaction_cannot_be_switched_off_and_knows_the_environments_secrets() {
    let env_token = "env-gateway-token-0a1b2c3d4e5f";
    // A variable whose name says nothing, known only because a SecretRef names it.
    let referenced = "plain-looking-credential-9z8y7x";
    let sb = sandbox()
        .env("OPENCLAW_GATEWAY_TOKEN", env_token)
        .env("MODEL_CRED", referenced);
    let mut config = incident_config(&sb);
    config["logging"]["redactSensitive"] = json!("off");
    config["models"]["providers"]["other"] =
        json!({"apiKey": {"source": "env", "provider": "default", "id": "MODEL_CRED"}});
    write(&sb, &config);
    append(
        &log_path(&sb),
        &[&format!("{OTHER_KEY} {env_token} {GATEWAY_TOKEN} {referenced}")],
    );
    for args in [&["logs"][..], &["logs", "--json"][..]] {
        let run = sb.run(args);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_no_secret("logs with redactSensitive off", &run.stdout);
        assert!(!run.stdout.contains(env_token), "{}", run.stdout);
        assert!(!run.stdout.contains(referenced), "{}", run.stdout);
        assert!(
            run.stdout.contains("sk-oth…4321 [redacted] [redacted] [redacted]"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn logs_reads_only_the_end_of_a_huge_file() {
    let sb = sandbox();
    write(&sb, &incident_config(&sb));
    // A 4 GiB sparse file: reading it whole would take minutes and gigabytes.
    let path = sb.dir.path().join("huge.log");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(4 << 30).unwrap();
    drop(file);
    append(&path, &["\nlast but one", &format!("last {API_KEY} {OTHER_KEY}")]);

    let run = sb.run(&["logs", "--file", path.to_str().unwrap(), "--limit", "2"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "last but one\nlast [redacted] sk-oth…4321\n");
    assert!(run.stderr.contains("only its last 8 MiB were read"), "{}", run.stderr);
}

#[test]
fn logs_without_a_file_names_the_path_and_how_to_enable_it() {
    let sb = sandbox();
    write(&sb, &incident_config(&sb));
    let run = sb.run(&["logs"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .contains(&format!("no log file at {}", log_path(&sb).display())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("logging.file"), "{}", run.stderr);

    let json = sb.run(&["logs", "--json"]);
    assert_eq!(json.code, Some(1));
    let doc = json.json();
    assert_eq!(doc["ok"], false);
    assert!(
        doc["error"]["message"].as_str().unwrap().contains("gateway.log"),
        "{doc:#}"
    );
    assert!(doc["hint"].as_str().unwrap().contains("--file"), "{doc:#}");

    let mut config = incident_config(&sb);
    config["logging"] = json!({"file": {"enabled": false}});
    write(&sb, &config);
    let off = sb.run(&["logs"]);
    assert_eq!(off.code, Some(1));
    assert!(off.stderr.contains("file logging is off"), "{}", off.stderr);
    assert!(
        off.stderr.contains("openclaw config set logging.file.enabled true"),
        "{}",
        off.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// openclaw status

#[test]
fn status_all_shows_the_gateway_and_never_a_secret() {
    let sb = with_telegram_manifest(sandbox());
    write(&sb, &incident_config(&sb));
    let gw = Gateway::start(&sb, &[]);
    let pid = gw.child.id();

    let text = sb.run(&["status", "--all"]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert_no_secret("status --all", &text.stdout);
    assert_no_secret("status --all (stderr)", &text.stderr);
    assert!(
        text.stdout
            .contains(&format!("running: pid {pid} on 127.0.0.1:{} (bind loopback)", gw.port)),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains(", healthy"), "{}", text.stdout);
    assert!(
        text.stdout.contains(
            "telegram: accounts home (dmPolicy allowlist, groupPolicy allowlist); work (dmPolicy pairing, groupPolicy allowlist)"
        ),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("main (default): model openai/gpt-4o (fallbacks openai/gpt-4o-mini), sandbox off"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("ops: model none configured, sandbox all"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("telegram (channel, bundled): not-allowed"),
        "{}",
        text.stdout
    );

    let json = sb.run(&["status", "--all", "--json"]);
    assert_eq!(json.code, Some(0), "{}", json.stderr);
    assert_no_secret("status --all --json", &json.stdout);
    let doc = json.json();
    assert_eq!(doc["gateway"]["running"], true, "{doc:#}");
    assert_eq!(doc["gateway"]["pid"], pid);
    assert_eq!(doc["gateway"]["port"], gw.port);
    assert_eq!(doc["gateway"]["healthy"], true);
    assert_eq!(doc["config"]["valid"], true);
    assert_eq!(doc["config"]["path"], sb.config_path().display().to_string());
    assert_eq!(doc["stateDir"], sb.state_dir().display().to_string());
    assert_eq!(doc["channels"][0]["id"], "telegram");
    assert_eq!(doc["channels"][0]["accounts"][0]["id"], "home");
    assert_eq!(doc["channels"][0]["accounts"][0]["dmPolicy"], "allowlist");
    assert_eq!(doc["agents"][1]["id"], "ops");
    assert_eq!(doc["agents"][1]["sandboxMode"], "all");
    assert_eq!(
        doc["plugins"][0],
        json!({"id": "telegram", "kind": "channel", "format": "wasm", "origin": "bundled", "status": "not-allowed", "loads": false})
    );
    assert_eq!(doc["logFile"]["path"], log_path(&sb).display().to_string());
    assert_eq!(doc["logFile"]["exists"], true, "the gateway writes its log: {doc:#}");
    let summary = &doc["securityAudit"]["summary"];
    assert!(summary["critical"].is_u64() && summary["warn"].is_u64(), "{doc:#}");
    assert!(doc["securityAudit"]["critical"].is_array());

    // The short form and its JSON: the same facts, the same discretion.
    let short = sb.run(&["status"]);
    assert_eq!(short.code, Some(0));
    assert_no_secret("status", &short.stdout);
    assert!(
        short.stdout.contains(&format!("running: pid {pid}")),
        "{}",
        short.stdout
    );
    assert!(short.stdout.contains("openclaw status --all"), "{}", short.stdout);
    let short_json = sb.run(&["status", "--json"]);
    assert_no_secret("status --json", &short_json.stdout);
    let short_doc = short_json.json();
    assert_eq!(short_doc["gateway"]["running"], true);
    for key in ["config", "channels", "agents", "plugins", "logFile"] {
        assert_eq!(
            short_doc[key], doc[key],
            "status --json is the whole report too ({key})"
        );
    }

    // What the gateway logged is readable through `logs`, and as redacted.
    let logs = sb.run(&["logs", "--json"]);
    assert_eq!(logs.code, Some(0), "{}", logs.stderr);
    assert_no_secret("logs of a running gateway", &logs.stdout);
    assert!(logs.stdout.contains("gateway listening"), "{}", logs.stdout);
}

#[test]
fn status_masks_a_secret_that_reached_a_path_and_reports_a_stopped_gateway() {
    let sb = sandbox();
    let mut config = incident_config(&sb);
    // A secret where status prints something: the redactor is the last line of defence.
    let leaky = sb.dir.path().join(format!("logs-{OTHER_KEY}")).join("gateway.log");
    config["logging"] = json!({"file": leaky.display().to_string()});
    write(&sb, &config);
    for args in [&["status", "--all"][..], &["status", "--all", "--json"][..]] {
        let run = sb.run(args);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_no_secret("status with a secret in a path", &run.stdout);
        assert!(run.stdout.contains("logs-sk-oth…4321"), "{}", run.stdout);
    }
    let doc = sb.run(&["status", "--all", "--json"]).json();
    assert_eq!(doc["gateway"]["running"], false);
    assert_eq!(doc["gateway"]["pid"], Value::Null);
    assert_eq!(doc["logFile"]["exists"], false);
    let text = sb.run(&["status", "--all"]).stdout;
    assert!(text.contains("Gateway     not running"), "{text}");
}

#[test]
fn status_reports_an_invalid_config_and_still_succeeds() {
    let sb = sandbox();
    let mut config = incident_config(&sb);
    config["gateway"]["port"] = json!("not a port");
    write(&sb, &config);
    let run = sb.run(&["status", "--all", "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_no_secret("status of an invalid config", &run.stdout);
    let doc = run.json();
    assert_eq!(doc["config"]["valid"], false);
    assert!(doc["config"]["errors"].as_u64().unwrap() >= 1);
    assert!(
        doc["config"]["firstError"].as_str().unwrap().contains("gateway.port"),
        "{doc:#}"
    );
    assert_eq!(doc["channels"], Value::Null);
    assert_eq!(doc["agents"], Value::Null);
    assert!(doc["securityAudit"]["error"].is_string(), "{doc:#}");
    let text = sb.run(&["status", "--all"]);
    assert_no_secret("status of an invalid config", &text.stdout);
    assert!(
        text.stdout.contains(": INVALID (1 error); first: gateway.port"),
        "{}",
        text.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// openclaw channels logout

/// The shipped Telegram manifest as a bundled plugin (its channel secrets: `botToken`,
/// `tokenFile`, `TELEGRAM_BOT_TOKEN`). Discovery reads the manifest; nothing is loaded.
fn with_telegram_manifest(sb: Sandbox) -> Sandbox {
    let bundled = sb.dir.path().join("bundled");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/telegram/openclaw-plugin.toml");
    std::fs::create_dir_all(bundled.join("telegram")).unwrap();
    std::fs::copy(shipped, bundled.join("telegram/openclaw-plugin.toml")).unwrap();
    let dir = bundled.display().to_string();
    sb.env("OPENCLAW_BUNDLED_PLUGINS_DIR", &dir)
}

fn store_dir(sb: &Sandbox) -> PathBuf {
    sb.state_dir().join("plugins/data/telegram/kv")
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Stores keys in the Telegram plugin's key-value store the way the runtime does.
fn store_keys(sb: &Sandbox, keys: &[&str]) {
    let dir = store_dir(sb);
    block_on(async {
        let store = KvStore::open(&dir, 1 << 20).unwrap();
        for key in keys {
            store
                .set(key, br#"{"offset":42,"savedAtMs":1}"#.to_vec())
                .await
                .unwrap();
        }
    });
}

fn stored_keys(sb: &Sandbox) -> Vec<String> {
    let dir = store_dir(sb);
    block_on(async { KvStore::open(&dir, 1 << 20).unwrap().list_keys("").await })
}

fn pairing_files(sb: &Sandbox) -> Vec<(PathBuf, String)> {
    let credentials = sb.state_dir().join("credentials");
    let files = [
        credentials.join("telegram-pairing.json"),
        credentials.join("telegram-allowFrom.json"),
    ];
    common::write_private(&files[0], r#"{"version":1,"requests":[]}"#);
    common::write_private(&files[1], r#"{"version":1,"allowFrom":["4242"]}"#);
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect()
}

fn logout(sb: &Sandbox, args: &[&str]) -> Run {
    let mut all = vec!["channels", "logout"];
    all.extend_from_slice(args);
    sb.run(&all)
}

#[test]
fn logout_forgets_the_accounts_stored_state_and_names_the_token_to_revoke() {
    let sb = with_telegram_manifest(sandbox());
    write(&sb, &incident_config(&sb));
    store_keys(&sb, &["offset:work", "offset:home"]);
    let pairing = pairing_files(&sb);
    let config_before = sb.read_config();

    let run = logout(&sb, &["--channel", "telegram", "--account", "work", "--json"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_no_secret("channels logout --json", &run.stdout);
    let doc = run.json();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["channel"], "telegram");
    assert_eq!(doc["accounts"], json!(["work"]));
    assert_eq!(doc["plugin"], "telegram");
    assert_eq!(doc["removed"], json!(["offset:work"]));
    assert_eq!(doc["configChanged"], false);
    let credentials = doc["credentials"].as_array().unwrap();
    assert_eq!(credentials.len(), 1, "{doc:#}");
    assert_eq!(credentials[0]["location"], "channels.telegram.accounts.work.botToken");
    assert_eq!(credentials[0]["kind"], "config");
    let fix = credentials[0]["fix"].as_str().unwrap();
    assert!(fix.contains("@BotFather") && fix.contains("/revoke"), "{fix}");
    assert!(
        fix.contains("openclaw config unset channels.telegram.accounts.work.botToken"),
        "{fix}"
    );

    assert_eq!(stored_keys(&sb), ["offset:home"], "only the work account's state went");
    assert_eq!(sb.read_config(), config_before, "the config is never edited");
    for (file, text) in &pairing {
        assert_eq!(
            &std::fs::read_to_string(file).unwrap(),
            text,
            "{} was kept",
            file.display()
        );
    }

    // Text: the channel-level token the home account inherits, and what to do about it.
    let text = logout(&sb, &["--channel", "telegram", "--account", "home"]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert_no_secret("channels logout", &text.stdout);
    assert!(
        text.stdout.contains("Logged out telegram (account home)."),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("offset:home"), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("account home: channels.telegram.botToken (in the config)"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("@BotFather (send `/revoke`"), "{}", text.stdout);
    assert!(text.stdout.contains("The config was not changed"), "{}", text.stdout);
    assert!(stored_keys(&sb).is_empty());
}

#[test]
fn logout_of_the_whole_channel_clears_its_store_and_names_file_and_env_tokens() {
    let sb = with_telegram_manifest(sandbox()).env("TELEGRAM_BOT_TOKEN", BOT_TOKEN);
    let token_file = sb.dir.path().join("bot-token");
    common::write_private(&token_file, WORK_BOT_TOKEN);
    let mut config = incident_config(&sb);
    config["channels"] = json!({"telegram": {"tokenFile": token_file.display().to_string()}});
    write(&sb, &config);
    store_keys(&sb, &["offset:default", "chat-cache"]);

    let run = logout(&sb, &["--channel", "telegram", "--json"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_no_secret("channels logout", &run.stdout);
    let doc = run.json();
    assert_eq!(doc["accounts"], json!(["default"]));
    assert_eq!(doc["removed"], json!(["chat-cache", "offset:default"]));
    let kinds: Vec<(&str, &str)> = doc["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["location"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("file", "channels.telegram.tokenFile"), ("env", "TELEGRAM_BOT_TOKEN")],
        "{doc:#}"
    );
    assert_eq!(doc["credentials"][0]["detail"], token_file.display().to_string());
    assert!(
        doc["credentials"][1]["fix"]
            .as_str()
            .unwrap()
            .contains("remove TELEGRAM_BOT_TOKEN from the gateway's environment"),
        "{doc:#}"
    );
    assert!(stored_keys(&sb).is_empty());
    assert!(token_file.exists(), "the token file is the operator's to delete");
}

#[test]
fn logout_without_a_channel_plugin_names_the_channels_secret_keys() {
    // No plugin provides the channel: the store of a plugin named like it, and every key of the
    // channel that names a secret (a literal, or a SecretRef whose value lives elsewhere).
    let sb = sandbox();
    let mut config = incident_config(&sb);
    config["channels"]["telegram"]["accounts"]["work"]["botToken"] =
        json!({"source": "env", "provider": "default", "id": "WORK_TG_TOKEN"});
    write(&sb, &config);
    store_keys(&sb, &["offset:work", "offset:home"]);
    let run = logout(&sb, &["--channel", "telegram", "--account", "work", "--json"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_no_secret("channels logout", &run.stdout);
    let doc = run.json();
    assert_eq!(doc["plugin"], Value::Null);
    assert_eq!(doc["removed"], json!(["offset:work"]));
    assert_eq!(
        doc["credentials"],
        json!([{
            "account": "work", "kind": "secretRef", "location": "channels.telegram.accounts.work.botToken",
            "detail": "source env, id WORK_TG_TOKEN",
            "fix": "revoke the bot token with @BotFather (send `/revoke` and pick the bot; a new token is issued), then replace the value the SecretRef at channels.telegram.accounts.work.botToken points to; the config itself holds no value"
        }])
    );
    assert_eq!(stored_keys(&sb), ["offset:home"]);
}

#[test]
fn logout_refuses_an_unknown_channel_or_account_naming_the_configured_ones() {
    let sb = with_telegram_manifest(sandbox());
    write(&sb, &incident_config(&sb));
    let run = logout(&sb, &["--channel", "slack"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("channel `slack` is not configured (configured: telegram)"),
        "{}",
        run.stderr
    );
    let json = logout(&sb, &["--channel", "slack", "--json"]);
    assert_eq!(json.code, Some(1));
    assert_eq!(json.json()["ok"], false);

    let account = logout(&sb, &["--channel", "telegram", "--account", "nope", "--json"]);
    assert_eq!(account.code, Some(1));
    let doc = account.json();
    assert_eq!(
        doc["error"]["message"],
        "channel `telegram` has no account `nope` (its accounts: home, work)"
    );
}

#[test]
fn logout_while_the_gateway_runs_removes_nothing_and_says_to_stop_it() {
    let sb = with_telegram_manifest(sandbox());
    write(&sb, &incident_config(&sb));
    store_keys(&sb, &["offset:work"]);
    let mut gw = Gateway::start(&sb, &[]);
    let pid = gw.child.id();

    let run = logout(&sb, &["--channel", "telegram", "--account", "work"]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!("a gateway (pid {pid}) is running")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("openclaw gateway stop"), "{}", run.stderr);
    assert!(
        run.stdout.contains("channels.telegram.accounts.work.botToken"),
        "the tokens to revoke are named anyway: {}",
        run.stdout
    );
    assert_no_secret("channels logout", &run.stdout);
    let json = logout(&sb, &["--channel", "telegram", "--account", "work", "--json"]);
    assert_eq!(json.code, Some(1));
    let doc = json.json();
    assert_eq!(doc["ok"], false);
    assert_eq!(
        doc["credentials"][0]["location"],
        "channels.telegram.accounts.work.botToken"
    );
    assert_eq!(stored_keys(&sb), ["offset:work"], "nothing was removed");

    // Contain: stop the gateway, then log out.
    assert_eq!(sb.run(&["gateway", "stop"]).code, Some(0));
    assert_eq!(gw.wait(std::time::Duration::from_secs(20)), Some(0));
    let run = logout(&sb, &["--channel", "telegram", "--account", "work"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(stored_keys(&sb).is_empty());
}
