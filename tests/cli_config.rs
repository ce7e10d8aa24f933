//! `openclaw config ...`, `openclaw doctor --generate-gateway-token` and `openclaw --version`,
//! run as the real binary against private state directories.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Sandbox, fixtures, mode, write_private};

const TOKEN: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c";

#[test]
fn version_and_usage_errors() {
    let sb = Sandbox::new();
    let run = sb.run(&["--version"]);
    assert_eq!(run.code, Some(0));
    assert_eq!(run.stdout.trim(), format!("openclaw {}", env!("CARGO_PKG_VERSION")));
    let json = sb.run(&["version", "--json"]).json();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));

    for args in [
        &["config", "bogus"][..],
        &["config", "get"],
        &["nonsense"],
        &["config", "validate", "--nope"],
    ] {
        let run = sb.run(args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
    }
    let run = sb.run(&["config", "get", "gateway..port"]);
    assert_eq!(run.code, Some(2), "a malformed path is a usage error");
    assert!(run.stderr.contains("empty key between dots"), "{}", run.stderr);
}

#[test]
fn every_seed_example_validates_through_the_cli() {
    let mut count = 0;
    for entry in std::fs::read_dir(fixtures().join("seeds")).unwrap() {
        let path = entry.unwrap().path();
        let sb = Sandbox::new()
            .env("OPENCLAW_GATEWAY_TOKEN", TOKEN)
            .env("OPENCLAW_GATEWAY_PASSWORD", "from-the-environment");
        sb.write_config(&std::fs::read_to_string(&path).unwrap());
        let run = sb.run(&["config", "validate", "--json"]);
        let report = run.json();
        assert_eq!(run.code, Some(0), "{}: {report:#}", path.display());
        assert_eq!(report["valid"], true);
        assert!(report.get("issues").is_none(), "{report:#}");
        count += 1;
    }
    assert!(count >= 50);
}

#[test]
fn missing_config_file_is_reported() {
    let sb = Sandbox::new();
    let run = sb.run(&["config", "validate"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("Config file not found"), "{}", run.stderr);
    let run = sb.run(&["config", "validate", "--json"]);
    assert_eq!(run.code, Some(1));
    let report = run.json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"]["message"], "file not found");
    assert_eq!(report["valid"], false);
    assert_eq!(report["path"], sb.config_path().to_str().unwrap());
}

#[test]
fn invalid_config_reports_path_allowed_values_and_hint() {
    let sb = Sandbox::new();
    sb.write_config(
        r#"{ gateway: { bind: "public", bnd: 1 }, channels: { telegram: { dmPolicy: "open", allowFrom: ["1"] } } }"#,
    );
    let run = sb.run(&["config", "validate", "--json"]);
    assert_eq!(run.code, Some(1));
    let report = run.json();
    assert_eq!(report["valid"], false);
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"]["type"], "cli_error");
    let issues = report["issues"].as_array().unwrap();
    let at = |path: &str| {
        issues
            .iter()
            .find(|e| e["path"] == path)
            .unwrap_or_else(|| panic!("no issue at {path}: {issues:#?}"))
    };
    assert_eq!(at("gateway.bind")["kind"], "invalid_value");
    assert_eq!(
        at("gateway.bind")["allowedValues"],
        serde_json::json!(["loopback", "lan", "tailnet", "auto", "custom"])
    );
    assert_eq!(at("gateway.bnd")["hint"], "did you mean \"bind\"?");
    assert_eq!(
        at("channels.telegram.allowFrom")["message"],
        "dmPolicy \"open\" requires allowFrom to include \"*\""
    );

    let human = sb.run(&["config", "validate"]);
    assert_eq!(human.code, Some(1));
    assert!(human.stderr.contains("OpenClaw config is invalid"), "{}", human.stderr);
    assert!(
        human.stderr.contains("× gateway.bnd: unknown key \"bnd\""),
        "{}",
        human.stderr
    );
    assert!(
        human
            .stderr
            .contains("× gateway.bind: invalid value \"public\" (allowed values: \"loopback\", \"lan\""),
        "{}",
        human.stderr
    );
    assert!(human.stderr.contains("3 errors"), "{}", human.stderr);
}

#[test]
fn syntax_error_gives_file_line_and_column() {
    let sb = Sandbox::new();
    sb.write_config("{\n  gateway: {\n    port: 18789\n    bind: \"lan\"\n  }\n}\n");
    let run = sb.run(&["config", "validate"]);
    assert_eq!(run.code, Some(1));
    let expected = format!("{}:4:5: JSON5 syntax error: expected comma", sb.config_path().display());
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(
        run.stderr.contains("add a comma after the value on line 3"),
        "{}",
        run.stderr
    );
    let report = sb.run(&["config", "validate", "--json"]).json();
    let issue = &report["issues"][0];
    assert_eq!(issue["kind"], "syntax");
    assert_eq!((issue["line"].as_u64(), issue["column"].as_u64()), (Some(4), Some(5)));
    assert_eq!(issue["sourceFile"], sb.config_path().to_str().unwrap());
}

#[test]
fn process_env_seed_syntax_is_read_from_the_environment() {
    let sb = Sandbox::new().env("OPENCLAW_GATEWAY_TOKEN", TOKEN);
    sb.write_config(&std::fs::read_to_string(fixtures().join("seeds/003-gateway.json5")).unwrap());
    let report = sb.run(&["config", "validate", "--json", "--verbose"]).json();
    assert_eq!(report["valid"], true);
    let notes = report["notes"].to_string();
    assert!(notes.contains("process.env.OPENCLAW_GATEWAY_TOKEN"), "{notes}");
    assert!(notes.contains("read as bind: \\\"loopback\\\""), "{notes}");

    let missing = Sandbox::new();
    missing.write_config(&std::fs::read_to_string(fixtures().join("seeds/003-gateway.json5")).unwrap());
    let run = missing.run(&["config", "validate", "--json"]);
    assert_eq!(run.code, Some(1));
    let error = &run.json()["issues"][0];
    assert_eq!(error["path"], "gateway.auth.token");
    assert_eq!(error["kind"], "missing_env_var");
    assert!(error["message"].as_str().unwrap().contains("OPENCLAW_GATEWAY_TOKEN"));
}

#[test]
fn config_path_and_state_dir_overrides() {
    let sb = Sandbox::new();
    let custom = sb.dir.path().join("elsewhere/my-config.json5");
    write_private(&custom, "{ gateway: { port: 20001 } }");
    let state = sb.dir.path().join("state");
    let sb = sb
        .env("OPENCLAW_CONFIG_PATH", custom.to_str().unwrap())
        .env("OPENCLAW_STATE_DIR", state.to_str().unwrap());
    let run = sb.run(&["config", "get", "gateway.port"]);
    assert_eq!((run.code, run.stdout.trim()), (Some(0), "20001"));
    let paths = sb.run(&["config", "file", "--json"]).json();
    assert_eq!(paths["path"], custom.to_str().unwrap());
    assert_eq!(sb.run(&["config", "file"]).stdout.trim(), custom.to_str().unwrap());
    assert_eq!(paths["stateDir"], state.to_str().unwrap());

    let missing = Sandbox::new().env("OPENCLAW_CONFIG_PATH", "/nonexistent/openclaw.json");
    let run = missing.run(&["config", "validate"]);
    assert_eq!(
        run.code,
        Some(1),
        "an explicit config path that does not exist is an error"
    );
    assert!(
        run.stderr
            .contains("OPENCLAW_CONFIG_PATH names a file that does not exist"),
        "{}",
        run.stderr
    );
}

#[test]
fn includes_are_merged_and_confined() {
    let sb = Sandbox::new();
    write_private(
        &sb.state_dir().join("channels.json5"),
        "{ telegram: { dmPolicy: 'allowlist', allowFrom: ['42'] } }",
    );
    sb.write_config("{ channels: { $include: './channels.json5' } }");
    let run = sb.run(&["config", "get", "channels.telegram.allowFrom", "--json"]);
    assert_eq!(run.json(), serde_json::json!(["42"]));
    let report = sb.run(&["config", "validate", "--json"]).json();
    assert_eq!(report["includes"].as_array().unwrap().len(), 1);

    sb.write_config("{ $include: '../../outside.json5' }");
    let run = sb.run(&["config", "validate", "--json"]);
    assert_eq!(run.code, Some(1));
    let error = &run.json()["issues"][0];
    assert_eq!(error["kind"], "include");
    assert_eq!(error["path"], "$include");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("outside the config directory")
    );
}

#[test]
fn set_validates_before_writing_and_keeps_a_backup() {
    let sb = Sandbox::new();
    // First write creates a private state dir and file.
    let run = sb.run(&["config", "set", "gateway.port", "19001"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(mode(&sb.state_dir()), 0o700);
    assert_eq!(mode(&sb.config_path()), 0o600);
    assert!(!common::Sandbox::new().config_path().exists());

    let before = sb.read_config();
    let run = sb.run(&["config", "set", "gateway.bind", "public", "--json"]);
    assert_eq!(run.code, Some(1));
    let report = run.json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["issues"][0]["path"], "gateway.bind");
    assert_eq!(sb.read_config(), before, "an invalid change writes nothing");

    let run = sb.run(&["config", "set", "session.dmScope", "per-channel-peer"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let backup = std::fs::read_to_string(sb.state_dir().join("openclaw.json.bak")).unwrap();
    assert_eq!(backup, before, "the previous version is kept as .bak");
    assert_eq!(mode(&sb.state_dir().join("openclaw.json.bak")), 0o600);
    assert_eq!(mode(&sb.config_path()), 0o600);
    let run = sb.run(&["config", "get", "session.dmScope"]);
    assert_eq!(run.stdout.trim(), "per-channel-peer");

    // JSON5 values, strings forced with --string, unknown paths refused.
    assert_eq!(
        sb.run(&["config", "set", "tools.deny", "['exec', 'process']"]).code,
        Some(0)
    );
    assert_eq!(
        sb.run(&["config", "get", "tools.deny", "--json"]).json(),
        serde_json::json!(["exec", "process"])
    );
    // Keys of one variant of a union (here a file secret provider) are settable by path.
    let run = sb.run(&[
        "config",
        "set",
        "secrets.providers.vault",
        "{source: 'file', path: '/etc/openclaw/secrets.json'}",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let run = sb.run(&["config", "set", "secrets.providers.vault.mode", "singleValue"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let run = sb.run(&["config", "set", "gateway.prot", "1"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("did you mean gateway.port?"), "{}", run.stderr);
    assert_eq!(sb.run(&["config", "unset", "tools.deny"]).code, Some(0));
    assert_eq!(sb.run(&["config", "unset", "tools.deny"]).code, Some(1));
}

#[test]
fn set_keeps_includes_and_says_when_comments_are_lost() {
    let sb = Sandbox::new();
    write_private(&sb.state_dir().join("base.json5"), "{ gateway: { port: 18000 } }");
    sb.write_config("// my config\n{ $include: 'base.json5' }\n");
    let run = sb.run(&["config", "set", "gateway.bind", "loopback"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("comments and JSON5 formatting are only in the backup"),
        "{}",
        run.stdout
    );
    let written: serde_json::Value = serde_json::from_str(&sb.read_config()).unwrap();
    assert_eq!(written["$include"], "base.json5", "the include stays an include");
    assert_eq!(sb.run(&["config", "get", "gateway.port"]).stdout.trim(), "18000");
}

#[test]
fn get_masks_secrets_and_shows_defaults() {
    let sb = Sandbox::new();
    sb.write_config(&format!(
        r#"{{ gateway: {{ auth: {{ mode: "token", token: "{TOKEN}" }} }} }}"#
    ));
    let run = sb.run(&["config", "get", "gateway.auth"]);
    assert!(!run.stdout.contains(TOKEN), "{}", run.stdout);
    assert!(run.stdout.contains("e3b0c4…934c"), "{}", run.stdout);
    let run = sb.run(&["config", "get", "gateway.auth.token", "--reveal"]);
    assert_eq!(run.stdout.trim(), TOKEN);

    let run = sb.run(&["config", "get", "gateway.port", "--json"]);
    assert_eq!(run.code, Some(1), "an unset path is a failure, as in OpenClaw");
    let report = run.json();
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["error"]["message"],
        "Config path is valid but unset: gateway.port; the default 18789 applies"
    );
    let run = sb.run(&["config", "get", "gateway.prot"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("Unknown config path: gateway.prot"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("did you mean gateway.port?"), "{}", run.stderr);
}

#[test]
fn generate_gateway_token() {
    let sb = Sandbox::new();
    let run = sb.run(&["doctor", "--generate-gateway-token"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let token = run.stdout.trim().to_string();
    assert_eq!(token.len(), 48);
    assert!(
        token.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{token}"
    );
    assert_eq!(
        sb.run(&["config", "get", "gateway.auth.token", "--reveal"])
            .stdout
            .trim(),
        token
    );
    assert_eq!(sb.run(&["config", "get", "gateway.auth.mode"]).stdout.trim(), "token");
    assert_eq!(mode(&sb.config_path()), 0o600);

    let again = sb.run(&["doctor", "--generate-gateway-token", "--json"]).json();
    assert_eq!(again["replaced"], true);
    assert_ne!(again["token"], token.as_str(), "each run draws fresh randomness");

    let managed = Sandbox::new();
    managed.write_config(r#"{ gateway: { auth: { token: { source: "env", provider: "default", id: "GW_TOKEN" } } } }"#);
    let before = managed.read_config();
    let run = managed.run(&["doctor", "--generate-gateway-token"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("managed by a SecretRef"), "{}", run.stderr);
    assert_eq!(managed.read_config(), before);
}

#[test]
fn validate_warns_about_a_readable_config() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    sb.write_config("{}");
    std::fs::set_permissions(sb.config_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = sb.run(&["config", "validate", "--json"]);
    assert_eq!(run.code, Some(0), "a warning does not fail validation");
    let warning = &run.json()["warnings"][0];
    assert_eq!(warning["kind"], "unsafe");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("readable by group or others (mode 0644)")
    );
    assert!(warning["hint"].as_str().unwrap().starts_with("run `chmod 600"));
}

#[test]
fn doctor_reports_loose_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    sb.write_config("{}");
    std::fs::set_permissions(sb.config_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = sb.run(&["doctor", "--json"]);
    assert_eq!(run.code, Some(1));
    let report = run.json();
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "config.perms")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "fail");
    assert!(check["fix"].as_str().unwrap().starts_with("chmod 600"));
}

#[test]
fn resolver_errors_are_redacted_in_output_and_logs() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let resolver = sb.dir.path().join("resolver.sh");
    std::fs::write(
        &resolver,
        "#!/bin/sh\necho 'upstream rejected key sk-live-abcdefghijklmnopqrstuvwxyz0123' >&2\nexit 4\n",
    )
    .unwrap();
    std::fs::set_permissions(&resolver, std::fs::Permissions::from_mode(0o700)).unwrap();
    let log = sb.dir.path().join("logs/gateway.jsonl");
    sb.write_config(&format!(
        r#"{{
          secrets: {{ providers: {{ vault: {{ source: "exec", command: "{}" }} }} }},
          models: {{ providers: {{ openai: {{ apiKey: {{ source: "exec", provider: "vault", id: "openai/key" }} }} }} }},
          logging: {{ file: "{}" }},
        }}"#,
        resolver.display(),
        log.display()
    ));
    let run = sb.run(&["config", "validate", "--resolve-secrets", "--json"]);
    assert_eq!(run.code, Some(1));
    let report = run.json();
    let error = &report["secrets"]["errors"][0];
    assert_eq!(error["path"], "models.providers.openai.apiKey");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("exit status: 4"), "{message}");
    assert!(message.contains("sk-liv…0123"), "{message}");
    assert!(!run.stdout.contains("abcdefghijklmnopqrstuvwxyz"));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("secret not resolved"), "{logged}");
    assert!(!logged.contains("abcdefghijklmnopqrstuvwxyz"), "{logged}");
    assert_eq!(mode(&log), 0o600);
}

/// Values that are secrets by their key name (as OpenClaw decides it) in sections the schema does
/// not type, and plugin secrets in every form, are masked by `config get`; `--reveal` shows them;
/// `${VAR}` references and SecretRefs stay visible as what they are.
const NAMED_SECRETS: &[&str] = &[
    "sk-env-vars-api-key-0123456789",
    "ghp-inline-env-token-0123456789",
    "plugin-config-api-key-0123456789",
    "plugin-config-client-secret-01234",
    "plugin-env-service-token-0123456789",
    "scoped-plugin-secret-value-0123456789",
    "plain-plugin-secret-value-0123456789",
    "talk-section-api-key-0123456789",
];

fn named_secrets_config() -> String {
    serde_json::json!({
        "env": {
            "vars": {"ACME_API_KEY": NAMED_SECRETS[0], "REGION": "eu-west-1"},
            "GITHUB_TOKEN": NAMED_SECRETS[1],
            "FROM_SHELL_TOKEN": "${SHELL_PROVIDED_TOKEN}",
        },
        "plugins": {"entries": {"web-fetch": {
            "config": {
                "apiKey": NAMED_SECRETS[2],
                "oauth": {"clientSecret": NAMED_SECRETS[3], "clientId": "visible-client-id"},
                "maxTokens": 1000,
                "mode": "fast",
            },
            "env": {"SERVICE_TOKEN": NAMED_SECRETS[4], "LOG_LEVEL": "debug"},
            "secrets": {
                "BOT_TOKEN": {"value": NAMED_SECRETS[5], "hosts": ["api.telegram.org"]},
                "OTHER": NAMED_SECRETS[6],
                "FROM_ENV": "${SHELL_PROVIDED_TOKEN}",
                "BY_REF": {"source": "env", "provider": "default", "id": "PLUGIN_REF_VAR"},
            },
        }}},
        "talk": {"apiKey": NAMED_SECRETS[7], "voiceId": "visible-voice"},
    })
    .to_string()
}

#[test]
fn get_masks_secrets_by_key_name_and_every_plugin_secret_form() {
    let sb = Sandbox::new().env("SHELL_PROVIDED_TOKEN", "shell-token-value-0123456789");
    sb.write_config(&named_secrets_config());
    for path in ["env", "plugins", "talk", "plugins.entries.web-fetch.secrets.BOT_TOKEN"] {
        let run = sb.run(&["config", "get", path, "--json"]);
        assert_eq!(run.code, Some(0), "{path}: {}", run.stderr);
        for secret in NAMED_SECRETS {
            assert!(!run.stdout.contains(secret), "{path} shows {secret}:\n{}", run.stdout);
        }
    }
    let env = sb.run(&["config", "get", "env", "--json"]).json();
    assert_eq!(env["vars"]["REGION"], "eu-west-1");
    assert_eq!(env["vars"]["ACME_API_KEY"], "sk-env…6789");
    assert_eq!(env["FROM_SHELL_TOKEN"], "${SHELL_PROVIDED_TOKEN}");
    let entry = sb.run(&["config", "get", "plugins.entries.web-fetch", "--json"]).json();
    assert_eq!(entry["config"]["oauth"]["clientId"], "visible-client-id");
    assert_eq!(entry["config"]["maxTokens"], 1000);
    assert_eq!(entry["config"]["mode"], "fast");
    assert_eq!(entry["env"]["LOG_LEVEL"], "debug");
    assert_eq!(entry["secrets"]["BOT_TOKEN"]["hosts"][0], "api.telegram.org");
    assert_eq!(entry["secrets"]["FROM_ENV"], "${SHELL_PROVIDED_TOKEN}");
    assert_eq!(entry["secrets"]["BY_REF"]["id"], "PLUGIN_REF_VAR");
    assert_eq!(
        sb.run(&["config", "get", "talk.voiceId"]).stdout.trim(),
        "visible-voice"
    );
    let one = sb.run(&["config", "get", "plugins.entries.web-fetch.secrets.BOT_TOKEN.value"]);
    assert_eq!(one.stdout.trim(), "scoped…6789");

    let revealed = sb.run(&["config", "get", "plugins", "--json", "--reveal"]);
    for secret in &NAMED_SECRETS[2..7] {
        assert!(revealed.stdout.contains(secret), "--reveal hides {secret}");
    }
}

/// The log scrubber knows every such value: a resolver error that quotes them is masked in the
/// command's output and in the log file.
#[test]
fn secrets_known_by_key_name_are_scrubbed_from_logs() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new().env("SHELL_PROVIDED_TOKEN", "shell-token-value-0123456789");
    let resolver = sb.dir.path().join("resolver.sh");
    std::fs::write(
        &resolver,
        format!(
            "#!/bin/sh\necho 'failed near {}' >&2\nexit 4\n",
            NAMED_SECRETS.join(" ")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&resolver, std::fs::Permissions::from_mode(0o700)).unwrap();
    let log = sb.dir.path().join("logs/gateway.jsonl");
    let mut doc: serde_json::Value = serde_json::from_str(&named_secrets_config()).unwrap();
    doc["secrets"] = serde_json::json!({"providers": {"vault": {"source": "exec", "command": resolver}}});
    doc["models"] = serde_json::json!({"providers": {"openai": {"apiKey": {"source": "exec", "provider": "vault", "id": "openai/key"}}}});
    doc["logging"] = serde_json::json!({"file": log});
    doc["plugins"]["entries"]["web-fetch"]["secrets"]
        .as_object_mut()
        .unwrap()
        .remove("BY_REF");
    sb.write_config(&doc.to_string());
    let run = sb.run(&["config", "validate", "--resolve-secrets", "--json"]);
    let report = run.json();
    assert_eq!(
        report["secrets"]["errors"][0]["path"], "models.providers.openai.apiKey",
        "{report:#}"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("secret not resolved"), "{logged}");
    for secret in NAMED_SECRETS {
        assert!(!run.stdout.contains(secret), "output shows {secret}:\n{}", run.stdout);
        assert!(!logged.contains(secret), "log shows {secret}:\n{logged}");
    }
}

/// `config set` from a shell that lacks a variable the file refers to: the references are
/// written back as they were, the edit succeeds with a warning naming the variable, and the
/// edited value is still validated.
#[test]
fn set_keeps_references_the_editing_shell_cannot_resolve() {
    let sb = Sandbox::new();
    sb.write_config(
        r#"{ gateway: { mode: "local", auth: { token: "${OPENCLAW_GATEWAY_TOKEN}" } },
             hooks: { token: "prefix-${HOOKS_TOKEN_PART}" } }"#,
    );
    let run = sb.run(&["config", "set", "gateway.port", "19002"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("OPENCLAW_GATEWAY_TOKEN"), "{}", run.stdout);
    let written: serde_json::Value = serde_json::from_str(&sb.read_config()).unwrap();
    assert_eq!(written["gateway"]["auth"]["token"], "${OPENCLAW_GATEWAY_TOKEN}");
    assert_eq!(written["hooks"]["token"], "prefix-${HOOKS_TOKEN_PART}");
    assert_eq!(written["gateway"]["port"], 19002);

    let run = sb.run(&["config", "set", "gateway.password", "${SOME_PASSWORD}", "--json"]);
    assert_eq!(run.code, Some(1), "an unknown key is still refused");
    let before = sb.read_config();
    let run = sb.run(&["config", "set", "gateway.bind", "public", "--json"]);
    assert_eq!(run.code, Some(1), "the edited value is still validated");
    assert_eq!(run.json()["issues"][0]["path"], "gateway.bind");
    assert_eq!(sb.read_config(), before);

    let run = sb.run(&["config", "set", "hooks.token", "${HOOKS_TOKEN_FROM_VAULT}"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let written: serde_json::Value = serde_json::from_str(&sb.read_config()).unwrap();
    assert_eq!(written["hooks"]["token"], "${HOOKS_TOKEN_FROM_VAULT}");
    // Where the variable is set, it is still read and checked as before.
    let run = sb.run(&["config", "validate", "--json"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.json()["issues"][0]["kind"], "missing_env_var");
}
