//! Every whole-config example in the seed documents (transcribed into tests/fixtures/seeds/)
//! validates, and means what its document says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use openclaw_core::config::check::check;
use openclaw_core::config::parse::parse;
use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::channels::DmPolicy;
use openclaw_core::config::schema::common::{ModelRef, SecretInput, SecretSource, ToolProfile};
use openclaw_core::config::schema::gateway::{AuthMode, BindMode, MdnsMode, TailscaleMode};
use openclaw_core::config::schema::logging::LogFileSetting;
use openclaw_core::config::schema::sandbox::{SandboxMode, SandboxScope, WorkspaceAccess};
use openclaw_core::config::schema::session::{DmScope, PeerKind};
use openclaw_core::config::schema::tools::{ElevatedAllowFrom, ExecAsk, ExecSecurity};
use openclaw_core::security::redact::RedactMode;

const TOKEN: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c";
const PASSWORD: &str = "a-long-operator-password-from-env";

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seeds")
}

fn env(name: &str) -> Option<String> {
    match name {
        "OPENCLAW_GATEWAY_TOKEN" => Some(TOKEN.into()),
        "OPENCLAW_GATEWAY_PASSWORD" => Some(PASSWORD.into()),
        _ => None,
    }
}

fn load(name: &str) -> Config {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = parse(&text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let checked = check(parsed.value, &env, &[]);
    let errors: Vec<String> = checked
        .issues
        .iter()
        .filter(|i| i.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{name} should validate, got: {errors:#?}");
    checked.config.unwrap()
}

fn literal(input: &Option<SecretInput>) -> &str {
    match input {
        Some(SecretInput::Literal(value)) => value.expose(),
        other => panic!("expected a literal secret, got {other:?}"),
    }
}

fn strings(list: &Option<Vec<String>>) -> Vec<&str> {
    list.as_deref().unwrap_or_default().iter().map(String::as_str).collect()
}

type Meaning = fn(&Config);

/// What each seed example means, checked on the typed config.
fn meanings() -> BTreeMap<&'static str, Meaning> {
    let mut m: BTreeMap<&'static str, Meaning> = BTreeMap::new();
    m.insert("000-gateway-auth.json5", |c| {
        let auth = c.gateway.as_ref().unwrap().auth.as_ref().unwrap();
        assert_eq!(auth.mode, Some(AuthMode::Token));
        assert_eq!(literal(&auth.token), "replace-with-long-random-token");
    });
    m.insert("000-dm-scope.json5", |c| {
        assert_eq!(c.session.as_ref().unwrap().dm_scope(), DmScope::PerChannelPeer)
    });
    m.insert("000-group-mention.json5", group_mention);
    m.insert("000-deny-dangerous.json5", deny_dangerous);
    m.insert("000-per-agent-tools.json5", |c| {
        let agent = &c.agents().list()[0];
        assert_eq!(agent.id, "support");
        let tools = agent.tools.as_ref().unwrap();
        assert_eq!(tools.profile, Some(ToolProfile::Messaging));
        assert_eq!(strings(&tools.allow), ["slack"]);
    });
    m.insert("000-by-provider.json5", |c| {
        let tools = c.tools.as_ref().unwrap();
        assert_eq!(tools.profile, Some(ToolProfile::Coding));
        let by = tools.by_provider.as_ref().unwrap();
        assert_eq!(by["google-antigravity"].profile, Some(ToolProfile::Minimal));
    });
    m.insert("000-secretref.json5", |c| {
        let provider = &c.models.as_ref().unwrap().providers.as_ref().unwrap()["openai"];
        match provider.api_key.as_ref().unwrap() {
            SecretInput::Ref(r) => {
                assert_eq!(r.source, SecretSource::Env);
                assert_eq!(r.provider.as_deref(), Some("default"));
                assert_eq!(r.id, "OPENAI_API_KEY");
            }
            other => panic!("expected a SecretRef, got {other:?}"),
        }
    });
    m.insert("000-network-hardening.json5", |c| {
        assert_eq!(c.gateway().bind(), BindMode::Loopback);
        assert_eq!(
            c.gateway().mode,
            Some(openclaw_core::config::schema::gateway::GatewayMode::Local)
        );
    });
    m.insert("000-hardened-baseline.json5", hardened_baseline);
    m.insert("004-hardened-baseline.json", hardened_baseline);
    m.insert("004-key-settings.json", |c| {
        assert_eq!(c.gateway().bind(), BindMode::Loopback);
        assert_eq!(
            literal(&c.gateway().auth.as_ref().unwrap().token),
            "your-secure-token-here"
        );
        let channels = c.channels.as_ref().unwrap();
        assert_eq!(
            channels.whatsapp.as_ref().unwrap().access.effective_allow_from(),
            ["+15555550123"]
        );
        assert_eq!(
            channels.telegram.as_ref().unwrap().access.effective_allow_from(),
            ["123456789"]
        );
    });
    m.insert("001-reverse-proxy.json5", |c| {
        let g = c.gateway();
        assert_eq!(strings(&g.trusted_proxies), ["127.0.0.1"]);
        let auth = g.auth.as_ref().unwrap();
        assert_eq!(auth.mode, Some(AuthMode::Password));
        assert_eq!(
            literal(&auth.password),
            PASSWORD,
            "${{OPENCLAW_GATEWAY_PASSWORD}} is read from the environment"
        );
    });
    m.insert("001-dm-scope.json5", |c| {
        assert_eq!(c.session.as_ref().unwrap().dm_scope(), DmScope::PerChannelPeer)
    });
    m.insert("001-mdns-minimal.json5", |c| {
        assert_eq!(c.mdns_mode(), MdnsMode::Minimal)
    });
    m.insert("001-mdns-off.json5", |c| assert_eq!(c.mdns_mode(), MdnsMode::Off));
    m.insert("001-mdns-full.json5", |c| assert_eq!(c.mdns_mode(), MdnsMode::Full));
    m.insert("001-ws-token.json5", |c| {
        let auth = c.gateway().auth.clone().unwrap();
        assert_eq!(auth.mode, Some(AuthMode::Token));
        assert_eq!(literal(&auth.token), "your-token");
    });
    m.insert("001-dm-pairing.json5", |c| {
        let wa = c.channels.as_ref().unwrap().whatsapp.as_ref().unwrap();
        assert_eq!(wa.access.effective_dm_policy(), Some(DmPolicy::Pairing));
    });
    m.insert("001-groups-require-mention.json", group_mention);
    m.insert("001-secure-baseline.json5", |c| {
        let g = c.gateway();
        assert_eq!((g.bind(), g.port()), (BindMode::Loopback, 18789));
        assert_eq!(literal(&g.auth.as_ref().unwrap().token), "your-long-random-token");
        let wa = c.channels.as_ref().unwrap().whatsapp.as_ref().unwrap();
        assert_eq!(wa.access.effective_dm_policy(), Some(DmPolicy::Pairing));
        assert_eq!(wa.access.groups.as_ref().unwrap()["*"].require_mention, Some(true));
    });
    m.insert("001-agent-personal.json5", |c| {
        let a = &c.agents().list()[0];
        assert_eq!(
            (a.id.as_str(), a.workspace.as_deref()),
            ("personal", Some("~/.openclaw/workspace-personal"))
        );
        assert_eq!(a.sandbox.as_ref().unwrap().mode, Some(SandboxMode::Off));
    });
    m.insert("001-agent-family.json5", |c| {
        let a = &c.agents().list()[0];
        let sandbox = a.sandbox.as_ref().unwrap();
        assert_eq!(sandbox.mode, Some(SandboxMode::All));
        assert_eq!(sandbox.scope, Some(SandboxScope::Agent));
        assert_eq!(sandbox.workspace_access, Some(WorkspaceAccess::Ro));
        let tools = a.tools.as_ref().unwrap();
        assert_eq!(strings(&tools.allow), ["read"]);
        assert!(strings(&tools.deny).contains(&"apply_patch"));
    });
    m.insert("001-agent-public.json5", |c| {
        let a = &c.agents().list()[0];
        assert_eq!(
            a.sandbox.as_ref().unwrap().workspace_access,
            Some(WorkspaceAccess::None)
        );
        let tools = a.tools.as_ref().unwrap();
        assert!(strings(&tools.allow).contains(&"telegram"));
        assert!(strings(&tools.deny).contains(&"exec"));
    });
    m.insert("002-tailscale-serve.json", |c| {
        let g = c.gateway();
        assert_eq!(g.bind(), BindMode::Loopback);
        assert_eq!(g.tailscale.as_ref().unwrap().mode, Some(TailscaleMode::Serve));
    });
    m.insert("002-tailscale-funnel.json", |c| {
        let g = c.gateway();
        assert_eq!(g.tailscale.as_ref().unwrap().mode, Some(TailscaleMode::Funnel));
        assert_eq!(g.auth.as_ref().unwrap().mode, Some(AuthMode::Password));
    });
    m.insert("002-mdns.json", |c| assert_eq!(c.mdns_mode(), MdnsMode::Minimal));
    m.insert("002-reverse-proxy.json", |c| {
        let g = c.gateway();
        assert_eq!(strings(&g.trusted_proxies), ["127.0.0.1"]);
        assert_eq!(g.auth.as_ref().unwrap().mode, Some(AuthMode::Password));
    });
    m.insert("002-token-auth.json", |c| {
        assert_eq!(literal(&c.gateway().auth.as_ref().unwrap().token), TOKEN);
    });
    m.insert("002-password-auth.json", |c| {
        assert_eq!(literal(&c.gateway().auth.as_ref().unwrap().password), PASSWORD);
    });
    m.insert("002-tailscale-identity.json", |c| {
        assert_eq!(c.gateway().auth.as_ref().unwrap().allow_tailscale, Some(true));
    });
    m.insert("002-dm-policies.json", |c| {
        let ch = c.channels.as_ref().unwrap();
        assert_eq!(
            ch.whatsapp.as_ref().unwrap().access.effective_dm_policy(),
            Some(DmPolicy::Pairing)
        );
        let tg = &ch.telegram.as_ref().unwrap().access;
        assert_eq!(tg.effective_dm_policy(), Some(DmPolicy::Allowlist));
        assert_eq!(
            tg.effective_allow_from(),
            ["123456"],
            "the legacy dm.allowFrom feeds the allowlist"
        );
    });
    m.insert("002-group-mention.json", group_mention);
    m.insert("002-tools-global.json", |c| {
        let tools = c.tools.as_ref().unwrap();
        assert_eq!(strings(&tools.allow), ["read", "write", "exec"]);
        assert_eq!(strings(&tools.deny), ["browser", "web_fetch"]);
    });
    m.insert("002-elevated.json", elevated_agents_main);
    m.insert("002-dm-scope.json", |c| {
        assert_eq!(c.session.as_ref().unwrap().dm_scope(), DmScope::PerChannelPeer)
    });
    m.insert("002-sandbox.json", |c| {
        let s = c.agents().defaults.clone().unwrap().sandbox.unwrap();
        assert_eq!(
            (s.mode, s.scope, s.workspace_access),
            (
                Some(SandboxMode::All),
                Some(SandboxScope::Session),
                Some(WorkspaceAccess::None)
            )
        );
    });
    m.insert("002-logging.json", |c| {
        let l = c.logging();
        assert_eq!(l.redact_mode(), RedactMode::Tools);
        assert_eq!(l.patterns(), ["password=.*", "api[_-]?key=.*", "secret-.*"]);
    });
    m.insert("002-lockdown.json", |c| {
        assert_eq!(c.gateway().bind(), BindMode::Loopback);
        let wa = c.channels.as_ref().unwrap().whatsapp.as_ref().unwrap();
        assert_eq!(wa.access.effective_dm_policy(), Some(DmPolicy::Disabled));
    });
    m.insert("002-disable-elevated.json", |c| {
        match c
            .tools
            .as_ref()
            .unwrap()
            .elevated
            .as_ref()
            .unwrap()
            .allow_from
            .as_ref()
            .unwrap()
        {
            ElevatedAllowFrom::Agents(ids) => assert!(ids.is_empty(), "an empty list allows no agent"),
            other => panic!("{other:?}"),
        }
    });
    m.insert("002-secure-baseline.json", |c| {
        let g = c.gateway();
        assert_eq!((g.bind(), g.port()), (BindMode::Loopback, 18789));
        assert_eq!(literal(&g.auth.as_ref().unwrap().token), TOKEN);
        assert_eq!(c.mdns_mode(), MdnsMode::Minimal);
        let ch = c.channels.as_ref().unwrap();
        assert_eq!(
            ch.telegram.as_ref().unwrap().access.groups.as_ref().unwrap()["*"].require_mention,
            Some(true)
        );
        let s = c.agents().defaults.clone().unwrap().sandbox.unwrap();
        assert_eq!(s.mode, Some(SandboxMode::NonMain));
        elevated_agents_main(c);
        assert_eq!(c.logging().redact_mode(), RedactMode::Tools);
    });
    m.insert("002-agent-profiles.json5", |c| {
        let ids: Vec<&str> = c
            .agents
            .as_ref()
            .unwrap()
            .list()
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(ids, ["personal", "family", "public"]);
        let public = &c.agents().list()[2];
        assert_eq!(
            public.sandbox.as_ref().unwrap().workspace_access,
            Some(WorkspaceAccess::None)
        );
    });
    m.insert("003-gateway.json5", |c| {
        let g = c.gateway();
        assert_eq!(g.bind(), BindMode::Loopback, "\"127.0.0.1\" means loopback");
        assert_eq!(g.port(), 18789);
        assert_eq!(
            literal(&g.auth.as_ref().unwrap().token),
            TOKEN,
            "process.env.OPENCLAW_GATEWAY_TOKEN is read"
        );
        let ui = g.control_ui.as_ref().unwrap();
        assert_eq!((ui.enabled, ui.allow_insecure_auth), (Some(true), Some(false)));
    });
    m.insert("003-channels.json5", |c| {
        let ch = c.channels.as_ref().unwrap();
        let wa = &ch.whatsapp.as_ref().unwrap().access;
        assert_eq!(wa.effective_dm_policy(), Some(DmPolicy::Pairing));
        assert_eq!(wa.effective_allow_from(), ["+15551234567", "+15559876543"]);
        let tg = &ch.telegram.as_ref().unwrap().access;
        assert_eq!(tg.effective_dm_policy(), Some(DmPolicy::Pairing));
        assert_eq!(tg.effective_allow_from(), ["@yourhandle"]);
        let discord = ch.discord.as_ref().unwrap();
        let guild = &discord.guilds.as_ref().unwrap()["GUILD_ID"];
        assert_eq!(guild.require_mention, Some(true));
        let admin = &guild.channels.as_ref().unwrap()["ADMIN_CHANNEL_ID"];
        assert_eq!((admin.require_mention, admin.allow), (Some(false), Some(true)));
    });
    m.insert("003-session.json5", |c| {
        assert_eq!(c.session.as_ref().unwrap().dm_scope(), DmScope::PerChannelPeer)
    });
    m.insert("003-commands.json5", |c| {
        let commands = c.commands.as_ref().unwrap();
        for toggle in [commands.reasoning.as_ref().unwrap(), commands.verbose.as_ref().unwrap()] {
            assert_eq!(toggle.enabled, Some(true));
            assert_eq!(strings(&toggle.allowed_channels), ["telegram-dm"]);
        }
    });
    m.insert("003-sandbox.json5", |c| {
        let s = c.agents().defaults.clone().unwrap().sandbox.unwrap();
        assert_eq!(
            (s.mode, s.scope),
            (Some(SandboxMode::NonMain), Some(SandboxScope::Agent))
        );
        let d = s.docker.unwrap();
        assert_eq!(d.image.as_deref(), Some("openclaw/agent:latest"));
        assert_eq!(d.network.as_deref(), Some("none"));
        assert_eq!(d.user.as_deref(), Some("1000:1000"));
        assert_eq!(strings(&d.cap_drop), ["ALL"]);
        assert_eq!(
            (d.read_only_root, d.pids_limit, d.cpus),
            (Some(true), Some(256), Some(1.0))
        );
        assert_eq!(d.apparmor_profile.as_deref(), Some("openclaw-sandbox"));
        let p = s.prune.unwrap();
        assert_eq!((p.idle_hours, p.max_age_days), (Some(24), Some(7)));
    });
    m.insert("003-tool-restrictions.json5", |c| {
        let defaults = c.agents().defaults.clone().unwrap().sandbox.unwrap();
        let tools = defaults.tools.unwrap();
        assert!(strings(&tools.deny).contains(&"bash"));
        let public = &c.agents().list()[0];
        let tools = public.sandbox.as_ref().unwrap().tools.as_ref().unwrap();
        assert_eq!(strings(&tools.allow), ["read", "web_search", "message"]);
    });
    m.insert("003-elevated.json5", |c| {
        let e = c.tools.as_ref().unwrap().elevated.as_ref().unwrap();
        assert_eq!(e.enabled, Some(true));
        match e.allow_from.as_ref().unwrap() {
            ElevatedAllowFrom::BySender(map) => {
                assert_eq!(map["whatsapp"][0].normalized(), "+15551234567");
                assert_eq!(map["telegram"][0].normalized(), "@yourusername");
            }
            other => panic!("{other:?}"),
        }
    });
    m.insert("003-exec-approvals.json5", |c| {
        let exec = c.tools.as_ref().unwrap().exec.as_ref().unwrap();
        assert_eq!(exec.require_approval, Some(true));
        let approvals = exec.approvals.as_ref().unwrap();
        assert_eq!((approvals.enabled, approvals.timeout_seconds), (Some(true), Some(300)));
        assert!(strings(&approvals.patterns).contains(&"git push --force"));
        assert!(strings(&exec.safe_binaries).contains(&"git status"));
    });
    m.insert("003-models.json5", |c| {
        let agents = c.agents();
        let model = |m: &Option<ModelRef>| m.as_ref().unwrap().ids().join(",");
        assert_eq!(
            model(&agents.defaults.as_ref().unwrap().model),
            "anthropic/claude-opus-4-6"
        );
        assert_eq!(model(&agents.list()[2].model), "anthropic/claude-haiku-4-5");
        assert_eq!(
            agents.default_agent_id(),
            "public",
            "the first agent answers unmatched messages"
        );
    });
    m.insert("003-mdns.json5", |c| {
        assert_eq!(
            c.mdns_mode(),
            MdnsMode::Off,
            "gateway.mdns.enabled: false disables mDNS"
        )
    });
    m.insert("003-logging.json5", |c| {
        let l = c.logging();
        assert_eq!(l.redact_mode(), RedactMode::Tools);
        match l.file.as_ref().unwrap() {
            LogFileSetting::Options(o) => {
                assert_eq!(o.path.as_deref(), Some("~/.openclaw/logs/gateway.log"));
                assert_eq!(o.max_files, Some(5));
            }
            other => panic!("{other:?}"),
        }
        let sessions = l.sessions.as_ref().unwrap();
        assert_eq!(
            (sessions.log_tools, sessions.log_costs, sessions.retention),
            (Some(true), Some(true), Some(90))
        );
    });
    m.insert("003-multi-tenant.json5", |c| {
        let bindings = c.bindings.as_ref().unwrap();
        assert_eq!(bindings.len(), 2);
        let peer = bindings[0].match_.peer.as_ref().unwrap();
        assert_eq!(peer.kind.canonical(), PeerKind::Direct, "kind \"dm\" is a direct chat");
        assert_eq!(
            (bindings[1].agent_id.as_str(), peer.id.as_str()),
            ("user2", "+1555USER1")
        );
    });
    m
}

fn group_mention(c: &Config) {
    let wa = c.channels.as_ref().unwrap().whatsapp.as_ref().unwrap();
    assert_eq!(wa.access.groups.as_ref().unwrap()["*"].require_mention, Some(true));
    let main = &c.agents().list()[0];
    assert_eq!(main.id, "main");
    let patterns = main.group_chat.as_ref().unwrap().mention_patterns.as_ref().unwrap();
    assert_eq!(patterns[0], "@openclaw");
}

fn deny_dangerous(c: &Config) {
    let tools = c.tools.as_ref().unwrap();
    assert_eq!(tools.profile, Some(ToolProfile::Messaging));
    assert_eq!(
        strings(&tools.deny),
        [
            "group:automation",
            "group:runtime",
            "group:fs",
            "sessions_spawn",
            "sessions_send"
        ]
    );
    assert_eq!(tools.fs.as_ref().unwrap().workspace_only, Some(true));
    let exec = tools.exec.as_ref().unwrap();
    assert_eq!(
        (exec.security, exec.ask),
        (Some(ExecSecurity::Deny), Some(ExecAsk::Always))
    );
    assert_eq!(tools.elevated.as_ref().unwrap().enabled, Some(false));
}

fn hardened_baseline(c: &Config) {
    let g = c.gateway();
    assert_eq!(g.bind(), BindMode::Loopback);
    assert_eq!(g.auth.as_ref().unwrap().mode, Some(AuthMode::Token));
    assert_eq!(c.session.as_ref().unwrap().dm_scope(), DmScope::PerChannelPeer);
    deny_dangerous(c);
    let wa = c.channels.as_ref().unwrap().whatsapp.as_ref().unwrap();
    assert_eq!(wa.access.effective_dm_policy(), Some(DmPolicy::Pairing));
}

fn elevated_agents_main(c: &Config) {
    let e = c.tools.as_ref().unwrap().elevated.as_ref().unwrap();
    assert_eq!(e.require_approval, Some(true));
    match e.allow_from.as_ref().unwrap() {
        ElevatedAllowFrom::Agents(ids) => assert_eq!(ids, &["main"], "a list names the agents allowed elevated access"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_seed_example_validates_and_means_what_it_says() {
    let meanings = meanings();
    let mut files: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert!(files.len() >= 50, "fixtures missing: {files:?}");
    for file in &files {
        let meaning = meanings
            .get(file.as_str())
            .unwrap_or_else(|| panic!("{file} has no meaning assertion"));
        meaning(&load(file));
    }
    assert_eq!(
        meanings.len(),
        files.len(),
        "a meaning is registered for a fixture that does not exist"
    );
}

#[test]
fn missing_env_var_in_a_seed_names_the_variable_and_path() {
    let text = std::fs::read_to_string(fixtures_dir().join("002-token-auth.json")).unwrap();
    let checked = check(parse(&text, "f").unwrap().value, &|_: &str| None, &[]);
    let error = checked.issues.iter().find(|i| i.is_error()).unwrap();
    assert_eq!(error.path.to_string(), "gateway.auth.token");
    assert!(error.message.contains("OPENCLAW_GATEWAY_TOKEN"), "{error}");
}
