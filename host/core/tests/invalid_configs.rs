//! Invalid configs are rejected with the exact JSON path, what was expected and how to fix it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use openclaw_core::config::check::check;
use openclaw_core::config::issue::{Issue, IssueKind};
use openclaw_core::config::parse::parse;

struct Case {
    name: &'static str,
    config: &'static str,
    path: &'static str,
    kind: IssueKind,
    /// Substring of the message.
    message: &'static str,
    /// Substring of the hint, or of the allowed values when the hint is `None`.
    hint: Option<&'static str>,
    allowed: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "a secret slot names exactly one place",
        config: r#"{ plugins: { entries: { demo: { secrets: { TOKEN: { value: "t", slots: [ { query: "key", formField: "token" } ] } } } } } }"#,
        path: "plugins.entries.demo.secrets.TOKEN.slots[0]",
        kind: IssueKind::InvalidValue,
        message: "exactly one of",
        hint: Some("urlPrefix"),
        allowed: &[],
    },
    Case {
        name: "a URL prefix slot needs the value mark",
        config: r#"{ plugins: { entries: { demo: { secrets: { TOKEN: { value: "t", slots: [ { urlPrefix: "https://api.telegram.org/bot" } ] } } } } } }"#,
        path: "plugins.entries.demo.secrets.TOKEN.slots[0]",
        kind: IssueKind::InvalidValue,
        message: "must contain `{}`",
        hint: None,
        allowed: &[],
    },
    Case {
        name: "bad enum lists every allowed value",
        config: r#"{ gateway: { bind: "public" } }"#,
        path: "gateway.bind",
        kind: IssueKind::InvalidValue,
        message: "invalid value \"public\"",
        hint: Some("\"127.0.0.1\" means loopback"),
        allowed: &["loopback", "lan", "tailnet", "auto", "custom"],
    },
    Case {
        name: "enum typo suggests the closest value",
        config: r#"{ channels: { telegram: { dmPolicy: "paring" } } }"#,
        path: "channels.telegram.dmPolicy",
        kind: IssueKind::InvalidValue,
        message: "invalid value \"paring\"",
        hint: Some("did you mean \"pairing\"?"),
        allowed: &["pairing", "allowlist", "open", "disabled"],
    },
    Case {
        name: "unknown key suggests the closest key",
        config: r#"{ gateway: { bnd: "loopback" } }"#,
        path: "gateway.bnd",
        kind: IssueKind::UnknownKey,
        message: "unknown key \"bnd\"",
        hint: Some("did you mean \"bind\"?"),
        allowed: &["bind", "port", "auth"],
    },
    Case {
        name: "misplaced gateway token points at gateway.auth.token",
        config: r#"{ gateway: { token: "abc" } }"#,
        path: "gateway.token",
        kind: IssueKind::UnknownKey,
        message: "unknown key \"token\"",
        hint: Some("gateway.auth.token"),
        allowed: &[],
    },
    Case {
        name: "unknown top-level section",
        config: r#"{ gatway: { port: 1 } }"#,
        path: "gatway",
        kind: IssueKind::UnknownKey,
        message: "unknown key \"gatway\"",
        hint: Some("did you mean \"gateway\"?"),
        allowed: &[],
    },
    Case {
        name: "unknown channel id",
        config: r#"{ channels: { telgram: {} } }"#,
        path: "channels.telgram",
        kind: IssueKind::UnknownKey,
        message: "unknown key \"telgram\"",
        hint: Some("did you mean \"telegram\"?"),
        allowed: &[],
    },
    Case {
        name: "wrong type names both types",
        config: r#"{ gateway: { port: "eighteen" } }"#,
        path: "gateway.port",
        kind: IssueKind::WrongType,
        message: "expected an integer, got a string \"eighteen\"",
        hint: None,
        allowed: &[],
    },
    Case {
        name: "number out of range",
        config: r#"{ gateway: { port: 70000 } }"#,
        path: "gateway.port",
        kind: IssueKind::OutOfRange,
        message: "between 1 and 65535",
        hint: None,
        allowed: &[],
    },
    Case {
        name: "secret of the wrong shape shows the right shape",
        config: r#"{ gateway: { auth: { token: 12345 } } }"#,
        path: "gateway.auth.token",
        kind: IssueKind::WrongType,
        message: "expected a string or a SecretRef object, got an integer",
        hint: Some("{source: \"env\", provider: \"default\", id: \"MY_VAR\"}"),
        allowed: &[],
    },
    Case {
        name: "unknown SecretRef source",
        config: r#"{ gateway: { auth: { token: { source: "vault", provider: "default", id: "X" } } } }"#,
        path: "gateway.auth.token.source",
        kind: IssueKind::InvalidValue,
        message: "invalid value \"vault\"",
        hint: None,
        allowed: &["env", "file", "exec"],
    },
    Case {
        name: "env SecretRef id must be a variable name",
        config: r#"{ models: { providers: { openai: { apiKey: { source: "env", provider: "default", id: "openai" } } } } }"#,
        path: "models.providers.openai.apiKey.id",
        kind: IssueKind::InvalidValue,
        message: "invalid env secret id \"openai\"",
        hint: None,
        allowed: &[],
    },
    Case {
        name: "SecretRef to an undefined provider",
        config: r#"{ gateway: { auth: { token: { source: "file", provider: "vault", id: "/gateway/token" } } } }"#,
        path: "gateway.auth.token.provider",
        kind: IssueKind::InvalidValue,
        message: "unknown secret provider \"vault\"",
        hint: Some("define it under secrets.providers.vault"),
        allowed: &[],
    },
    Case {
        name: "secret provider with an unknown source",
        config: r#"{ secrets: { providers: { vault: { source: "hashicorp" } } } }"#,
        path: "secrets.providers.vault.source",
        kind: IssueKind::InvalidValue,
        message: "invalid value \"hashicorp\"",
        hint: None,
        allowed: &["env", "file", "exec"],
    },
    Case {
        name: "exec provider needs an absolute command",
        config: r#"{ secrets: { providers: { vault: { source: "exec", command: "vault-resolver" } } } }"#,
        path: "secrets.providers.vault.command",
        kind: IssueKind::InvalidValue,
        message: "must be an absolute path",
        hint: Some("without a shell or PATH lookup"),
        allowed: &[],
    },
    Case {
        name: "open DMs require the explicit wildcard",
        config: r#"{ channels: { telegram: { dmPolicy: "open", allowFrom: ["123"] } } }"#,
        path: "channels.telegram.allowFrom",
        kind: IssueKind::Conflict,
        message: "dmPolicy \"open\" requires allowFrom to include \"*\"",
        hint: Some("add \"*\" to channels.telegram.allowFrom"),
        allowed: &[],
    },
    Case {
        name: "allowlist DMs require a sender",
        config: r#"{ channels: { whatsapp: { dmPolicy: "allowlist" } } }"#,
        path: "channels.whatsapp.allowFrom",
        kind: IssueKind::Conflict,
        message: "requires allowFrom to contain at least one sender ID",
        hint: Some("dmPolicy \"pairing\""),
        allowed: &[],
    },
    Case {
        name: "account-level open policy inherits allowFrom but still needs the wildcard",
        config: r#"{ channels: { telegram: { allowFrom: ["1"], accounts: { work: { dmPolicy: "open" } } } } }"#,
        path: "channels.telegram.accounts.work.allowFrom",
        kind: IssueKind::Conflict,
        message: "requires allowFrom to include \"*\"",
        hint: None,
        allowed: &[],
    },
    Case {
        name: "dmPolicy and the older dm.policy disagree",
        config: r#"{ channels: { discord: { dmPolicy: "pairing", dm: { policy: "open" } } } }"#,
        path: "channels.discord.dm.policy",
        kind: IssueKind::Conflict,
        message: "dm.policy is \"open\" but dmPolicy is \"pairing\"",
        hint: Some("keep only dmPolicy"),
        allowed: &[],
    },
    Case {
        name: "elevated allowFrom as a single string is ambiguous: show both right shapes",
        config: r#"{ tools: { elevated: { allowFrom: "main" } } }"#,
        path: "tools.elevated.allowFrom",
        kind: IssueKind::WrongType,
        message: "expected an object of channel → sender ids or a list of agent ids, got a string",
        hint: None,
        allowed: &[],
    },
    Case {
        name: "elevated allowFrom list names an unknown agent",
        config: r#"{ tools: { elevated: { allowFrom: ["ops"] } } }"#,
        path: "tools.elevated.allowFrom[0]",
        kind: IssueKind::InvalidValue,
        message: "unknown agent \"ops\"",
        hint: Some("{telegram: [\"123456789\"]}"),
        allowed: &["main"],
    },
    Case {
        name: "binding to an agent that does not exist",
        config: r#"{ agents: { list: [{ id: "home" }] }, bindings: [{ agentId: "work", match: { channel: "slack" } }] }"#,
        path: "bindings[0].agentId",
        kind: IssueKind::InvalidValue,
        message: "unknown agent \"work\"",
        hint: Some("add the agent to agents.list"),
        allowed: &["home"],
    },
    Case {
        name: "agent without an id",
        config: r#"{ agents: { list: [{ name: "Helper" }] } }"#,
        path: "agents.list[0].id",
        kind: IssueKind::MissingKey,
        message: "missing required key \"id\"",
        hint: None,
        allowed: &[],
    },
    Case {
        name: "duplicate agent ids",
        config: r#"{ agents: { list: [{ id: "main" }, { id: "Main" }] } }"#,
        path: "agents.list[1].id",
        kind: IssueKind::Conflict,
        message: "is used twice",
        hint: None,
        allowed: &[],
    },
    Case {
        name: "newer keyed agents shape explains the list shape",
        config: r#"{ agents: { entries: { main: {} } } }"#,
        path: "agents.entries",
        kind: IssueKind::UnknownKey,
        message: "unknown key \"entries\"",
        hint: Some("agents.list: [{id: \"main\", ...}]"),
        allowed: &[],
    },
    Case {
        name: "sandbox on the host network is refused",
        config: r#"{ agents: { defaults: { sandbox: { docker: { network: "host" } } } } }"#,
        path: "agents.defaults.sandbox.docker.network",
        kind: IssueKind::InvalidValue,
        message: "network \"host\"",
        hint: Some("use \"none\" (default) or \"bridge\""),
        allowed: &[],
    },
    Case {
        name: "seccomp unconfined is refused",
        config: r#"{ agents: { list: [{ id: "a", sandbox: { docker: { seccompProfile: "Unconfined" } } }] } }"#,
        path: "agents.list[0].sandbox.docker.seccompProfile",
        kind: IssueKind::InvalidValue,
        message: "\"unconfined\"",
        hint: Some("Docker's default profile"),
        allowed: &[],
    },
    Case {
        name: "docker socket bind is refused",
        config: r#"{ agents: { defaults: { sandbox: { docker: { binds: ["/var/run/docker.sock:/var/run/docker.sock"] } } } } }"#,
        path: "agents.defaults.sandbox.docker.binds[0]",
        kind: IssueKind::Unsafe,
        message: "exposes host secrets or control",
        hint: Some("dedicated directory"),
        allowed: &[],
    },
    Case {
        name: "a bind over the sandbox workspace is refused",
        config: r#"{ agents: { defaults: { sandbox: { docker: { binds: ["/srv/data:/workspace/data:ro"] } } } } }"#,
        path: "agents.defaults.sandbox.docker.binds[0]",
        kind: IssueKind::Unsafe,
        message: "shadows the sandbox workspace",
        hint: Some("dangerouslyAllowReservedContainerTargets"),
        allowed: &[],
    },
    Case {
        name: "a bind over /agent is refused for an agent too",
        config: r#"{ agents: { list: [{ id: "main", sandbox: { docker: { binds: ["/srv/data:/agent"] } } }] } }"#,
        path: "agents.list[0].sandbox.docker.binds[0]",
        kind: IssueKind::Unsafe,
        message: "bind target /agent",
        hint: Some("/data"),
        allowed: &[],
    },
    Case {
        name: "token and password without a mode",
        config: r#"{ gateway: { auth: { token: "0123456789abcdef0123456789abcdef", password: "a-password" } } }"#,
        path: "gateway.auth.mode",
        kind: IssueKind::Conflict,
        message: "both set but gateway.auth.mode is unset",
        hint: Some("set gateway.auth.mode"),
        allowed: &["token", "password"],
    },
    Case {
        name: "funnel requires password auth",
        config: r#"{ gateway: { tailscale: { mode: "funnel" }, auth: { mode: "token", token: "0123456789abcdef0123456789abcdef" } } }"#,
        path: "gateway.auth.mode",
        kind: IssueKind::Conflict,
        message: "requires gateway.auth.mode \"password\"",
        hint: Some("tailscale mode \"serve\""),
        allowed: &[],
    },
    Case {
        name: "auth none off loopback",
        config: r#"{ gateway: { bind: "lan", auth: { mode: "none" }, controlUi: { enabled: false } } }"#,
        path: "gateway.auth.mode",
        kind: IssueKind::Conflict,
        message: "only allowed on a loopback bind",
        hint: Some("OPENCLAW_GATEWAY_TOKEN"),
        allowed: &[],
    },
    Case {
        name: "custom bind needs an address",
        config: r#"{ gateway: { bind: "custom", auth: { token: "0123456789abcdef0123456789abcdef" }, controlUi: { enabled: false } } }"#,
        path: "gateway.customBindHost",
        kind: IssueKind::MissingKey,
        message: "bind \"custom\" requires gateway.customBindHost",
        hint: Some("IPv4 address"),
        allowed: &[],
    },
    Case {
        name: "non-loopback Control UI needs origins",
        config: r#"{ gateway: { bind: "lan", auth: { token: "0123456789abcdef0123456789abcdef" } } }"#,
        path: "gateway.controlUi.allowedOrigins",
        kind: IssueKind::MissingKey,
        message: "requires explicit allowed origins",
        hint: Some("gateway.controlUi.enabled to false"),
        allowed: &[],
    },
    Case {
        name: "telegram webhook without its secret",
        config: r#"{ channels: { telegram: { webhookUrl: "https://bot.example.com/tg" } } }"#,
        path: "channels.telegram.webhookSecret",
        kind: IssueKind::MissingKey,
        message: "webhookUrl requires webhookSecret",
        hint: Some("long polling"),
        allowed: &[],
    },
    Case {
        name: "hooks token reusing the gateway token",
        config: r#"{ gateway: { auth: { token: "0123456789abcdef0123456789abcdef" } }, hooks: { enabled: true, token: "0123456789abcdef0123456789abcdef" } }"#,
        path: "hooks.token",
        kind: IssueKind::Conflict,
        message: "must not be the gateway token",
        hint: Some("generate a separate one"),
        allowed: &[],
    },
    Case {
        name: "bad redaction pattern names its index",
        config: r#"{ logging: { redactPatterns: ["token=.*", "(unclosed"] } }"#,
        path: "logging.redactPatterns[1]",
        kind: IssueKind::InvalidValue,
        message: "invalid pattern",
        hint: None,
        allowed: &[],
    },
    Case {
        name: "bad mention pattern",
        config: r#"{ agents: { list: [{ id: "main", groupChat: { mentionPatterns: ["@bot(" ] } }] } }"#,
        path: "agents.list[0].groupChat.mentionPatterns[0]",
        kind: IssueKind::InvalidValue,
        message: "invalid mention pattern",
        hint: Some("escape"),
        allowed: &[],
    },
    Case {
        name: "allow and alsoAllow together",
        config: r#"{ tools: { allow: ["read"], alsoAllow: ["exec"] } }"#,
        path: "tools.alsoAllow",
        kind: IssueKind::Conflict,
        message: "cannot set both allow and alsoAllow",
        hint: Some("profile + alsoAllow"),
        allowed: &[],
    },
    Case {
        name: "root auth is not the gateway auth",
        config: r#"{ auth: { token: "x" } }"#,
        path: "auth.token",
        kind: IssueKind::UnknownKey,
        message: "unknown key \"token\"",
        hint: Some("gateway.auth"),
        allowed: &[],
    },
    Case {
        name: "null instead of removing a key",
        config: r#"{ gateway: { port: null } }"#,
        path: "gateway.port",
        kind: IssueKind::WrongType,
        message: "null is not allowed here",
        hint: Some("remove the key"),
        allowed: &[],
    },
    Case {
        name: "plugin channel key that looks like a typo of an access key",
        config: r#"{ channels: { matrix: { dmPolicyy: "open", homeserver: "https://m.org" } } }"#,
        path: "channels.matrix.dmPolicyy",
        kind: IssueKind::UnknownKey,
        message: "unknown key \"dmPolicyy\"",
        hint: Some("did you mean \"dmPolicy\"?"),
        allowed: &[],
    },
    Case {
        name: "missing environment variable",
        config: r#"{ gateway: { auth: { token: "${UNSET_TOKEN_FOR_TEST}" } } }"#,
        path: "gateway.auth.token",
        kind: IssueKind::MissingEnvVar,
        message: "environment variable UNSET_TOKEN_FOR_TEST is not set",
        hint: Some("export UNSET_TOKEN_FOR_TEST=..."),
        allowed: &[],
    },
    Case {
        name: "legacy gateway.mdns contradicting discovery",
        config: r#"{ gateway: { mdns: { enabled: false } }, discovery: { mdns: { mode: "full" } } }"#,
        path: "gateway.mdns.enabled",
        kind: IssueKind::Conflict,
        message: "contradicts discovery.mdns.mode",
        hint: Some("keep only discovery.mdns.mode"),
        allowed: &[],
    },
];

fn errors_of(config: &str) -> Vec<Issue> {
    let parsed = parse(config, "test.json5").unwrap_or_else(|e| panic!("fixture does not parse: {e}"));
    check(parsed.value, &|_: &str| None, &[])
        .issues
        .into_iter()
        .filter(Issue::is_error)
        .collect()
}

#[test]
fn invalid_configs_name_the_path_and_the_fix() {
    assert!(CASES.len() >= 15);
    for case in CASES {
        let errors = errors_of(case.config);
        let issue = errors
            .iter()
            .find(|i| i.path.to_string() == case.path)
            .unwrap_or_else(|| panic!("{}: no error at {}; got {errors:#?}", case.name, case.path));
        assert_eq!(issue.kind, case.kind, "{}: {issue}", case.name);
        assert!(
            issue.message.contains(case.message),
            "{}: message {:?}",
            case.name,
            issue.message
        );
        if let Some(hint) = case.hint {
            let got = issue.hint.as_deref().unwrap_or_default();
            assert!(got.contains(hint), "{}: hint {got:?} lacks {hint:?}", case.name);
        }
        for allowed in case.allowed {
            assert!(
                issue.allowed.iter().any(|a| a == allowed),
                "{}: allowed {:?} lacks {allowed}",
                case.name,
                issue.allowed
            );
        }
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let errors = errors_of(r#"{ gateway: { bind: "public", port: "x", bnd: 1 }, tools: { profile: "safe" } }"#);
    let paths: Vec<String> = errors.iter().map(|i| i.path.to_string()).collect();
    assert_eq!(paths, ["gateway.bind", "gateway.port", "gateway.bnd", "tools.profile"]);
}

#[test]
fn syntax_errors_give_line_and_column() {
    let err = parse(
        "{\n  gateway: {\n    port: 18789\n    bind: \"lan\"\n  }\n}\n",
        "openclaw.json",
    )
    .unwrap_err();
    assert_eq!(err.kind, IssueKind::Syntax);
    let location = err.location.clone().unwrap();
    assert_eq!(
        (location.file.as_str(), location.line, location.column),
        ("openclaw.json", 4, 5)
    );
    assert_eq!(err.hint.as_deref(), Some("add a comma after the value on line 3"));
    assert_eq!(
        err.to_string(),
        "openclaw.json:4:5: JSON5 syntax error: expected comma. add a comma after the value on line 3"
    );
}

#[test]
fn telegram_usernames_in_allowlists_are_flagged() {
    let parsed = parse(r#"{ channels: { telegram: { allowFrom: ["123456789", "@yourhandle", "tg:42"], dm: { allowFrom: ["@other"] } } } }"#, "t").unwrap();
    let checked = check(parsed.value, &|_: &str| None, &[]);
    assert!(checked.config.is_some(), "a warning does not invalidate the config");
    let warnings: Vec<String> = checked
        .issues
        .iter()
        .filter(|i| i.severity == openclaw_core::config::issue::Severity::Warning)
        .map(|i| i.path.to_string())
        .collect();
    assert_eq!(
        warnings,
        ["channels.telegram.allowFrom[1]", "channels.telegram.dm.allowFrom[0]"]
    );
}

#[test]
fn break_glass_flags_let_the_operator_through_and_nothing_else() {
    // Reserved targets: allowed only with dangerouslyAllowReservedContainerTargets.
    let flagged = errors_of(
        r#"{ agents: { defaults: { sandbox: { docker: { dangerouslyAllowReservedContainerTargets: true, binds: ["/srv/data:/workspace/data:ro"] } } } } }"#,
    );
    assert!(flagged.is_empty(), "{flagged:?}");
    // The flag does not open the Docker socket.
    let socket = errors_of(
        r#"{ agents: { defaults: { sandbox: { docker: { dangerouslyAllowReservedContainerTargets: true, binds: ["/var/run/docker.sock:/workspace/docker.sock"] } } } } }"#,
    );
    assert_eq!(socket.len(), 1, "{socket:?}");
    assert!(socket[0].message.contains("exposes host secrets"), "{socket:?}");
    // A bind elsewhere needs no flag; a custom workdir is reserved too.
    assert!(
        errors_of(r#"{ agents: { defaults: { sandbox: { docker: { binds: ["/srv/data:/data:ro"] } } } } }"#).is_empty()
    );
    let workdir = errors_of(
        r#"{ agents: { defaults: { sandbox: { docker: { workdir: "/home/sandbox", binds: ["/srv/data:/home/sandbox"] } } } } }"#,
    );
    assert_eq!(workdir.len(), 1, "{workdir:?}");
}
