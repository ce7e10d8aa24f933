//! Rules that span several keys, checked on the typed config after the schema passed.
//!
//! Each rule fails closed: a config whose meaning would be "more open than it looks" (an `open`
//! DM policy without the explicit `"*"`, a Docker sandbox on the host network) is rejected with the
//! exact path and the fix, instead of being quietly tightened or loosened at runtime.

use std::collections::HashSet;

use regex::RegexBuilder;
use serde_json::Value;

use super::issue::{Issue, IssueKind};
use super::path::JsonPath;
use super::schema::Config;
use super::schema::channels::{ChannelAccess, DmPolicy};
use super::schema::common::{SecretInput, SecretSource, ToolPolicy};
use super::schema::gateway::{AuthMode, BindMode, TailscaleMode};
use super::schema::sandbox::SandboxConfig;
use super::schema::secrets::SecretProvider;
use super::schema::tools::{ElevatedAllowFrom, ExecConfig};
use crate::security::redact::{RedactMode, Redactor};

/// What the rules may know about the environment (for credentials supplied by variables).
pub struct RuleContext<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Runs every rule. `doc` is the validated document the config was read from (for finding
/// SecretRefs wherever they appear).
pub fn check(config: &Config, doc: &Value, ctx: &RuleContext<'_>) -> Vec<Issue> {
    let mut issues = Vec::new();
    channels(config, &mut issues);
    gateway(config, ctx, &mut issues);
    hooks(config, &mut issues);
    agents_and_bindings(config, &mut issues);
    tools(config, &mut issues);
    sandboxes(config, &mut issues);
    logging(config, &mut issues);
    mention_patterns(config, &mut issues);
    secret_refs(config, doc, &mut issues);
    plugin_secret_slots(config, &mut issues);
    issues
}

fn root() -> JsonPath {
    JsonPath::root()
}

// ---------------------------------------------------------------------------------------------
// channels

fn channels(config: &Config, issues: &mut Vec<Issue>) {
    let Some(channels) = &config.channels else { return };
    for view in channels.iter() {
        let base = root().key("channels").key(view.id);
        dm_policy_rules(view.id, &base, view.access, None, issues);
        for (account_id, account) in channels.accounts(view.id) {
            let path = base.key("accounts").key(account_id);
            dm_policy_rules(view.id, &path, account, Some(view.access), issues);
        }
    }
    if let Some(telegram) = &channels.telegram {
        let base = root().key("channels").key("telegram");
        telegram_ids(&base, &telegram.access, issues);
        for (id, account) in telegram.accounts.iter().flatten() {
            telegram_ids(&base.key("accounts").key(id.as_str()), &account.access, issues);
        }
        if telegram.webhook_url.is_some() && telegram.webhook_secret.is_none() {
            issues.push(
                Issue::error(
                    IssueKind::MissingKey,
                    base.key("webhookSecret"),
                    "webhookUrl requires webhookSecret (Telegram sends it with every update so forged updates can be refused)",
                )
                .with_hint("set channels.telegram.webhookSecret to a long random string, or remove webhookUrl to use long polling"),
            );
        }
        for (id, account) in telegram.accounts.iter().flatten() {
            if account.webhook_url.is_some() && account.webhook_secret.is_none() && telegram.webhook_secret.is_none() {
                issues.push(Issue::error(
                    IssueKind::MissingKey,
                    base.key("accounts").key(id.as_str()).key("webhookSecret"),
                    "webhookUrl requires webhookSecret on the account or on channels.telegram",
                ));
            }
        }
    }
    if let Some(slack) = &channels.slack
        && slack.mode == Some(super::schema::channels::SlackMode::Http)
        && slack.signing_secret.is_none()
        && slack.access.enabled != Some(false)
    {
        issues.push(Issue::error(
            IssueKind::MissingKey,
            root().key("channels").key("slack").key("signingSecret"),
            "mode \"http\" requires signingSecret (it verifies that events come from Slack)",
        ));
    }
}

/// Telegram matches numeric user ids only: usernames can change hands (CVE-2026-28480), so an
/// `@name` entry never matches anyone. Warn rather than reject, since the entry is harmless.
fn telegram_ids(path: &JsonPath, access: &ChannelAccess, issues: &mut Vec<Issue>) {
    let lists = [
        ("allowFrom", access.allow_from.as_ref()),
        ("groupAllowFrom", access.group_allow_from.as_ref()),
    ];
    for (field, list) in lists {
        for (i, entry) in list.into_iter().flatten().enumerate() {
            let value = entry.normalized();
            let id = value.trim_start_matches("telegram:").trim_start_matches("tg:");
            if id != "*" && !id.is_empty() && !id.chars().all(|c| c.is_ascii_digit() || c == '-') {
                issues.push(
                    Issue::warning(
                        IssueKind::InvalidValue,
                        path.key(field).index(i),
                        format!("\"{value}\" is not a numeric Telegram user id, so it will never match"),
                    )
                    .with_hint("use the numeric id (message @userinfobot, or approve the user with `openclaw pairing approve telegram <code>`)"),
                );
            }
        }
    }
    if let Some(legacy) = access.dm.as_ref().and_then(|d| d.allow_from.as_ref()) {
        for (i, entry) in legacy.iter().enumerate() {
            let value = entry.normalized();
            if value != "*" && !value.chars().all(|c| c.is_ascii_digit() || c == '-') {
                issues.push(
                    Issue::warning(
                        IssueKind::InvalidValue,
                        path.key("dm").key("allowFrom").index(i),
                        format!("\"{value}\" is not a numeric Telegram user id, so it will never match"),
                    )
                    .with_hint("use the numeric id (message @userinfobot to find it)"),
                );
            }
        }
    }
}

fn dm_policy_rules(
    channel: &str,
    path: &JsonPath,
    access: &ChannelAccess,
    parent: Option<&ChannelAccess>,
    issues: &mut Vec<Issue>,
) {
    if let (Some(modern), Some(legacy)) = (access.dm_policy, access.dm.as_ref().and_then(|d| d.policy))
        && modern != legacy
    {
        issues.push(
            Issue::error(
                IssueKind::Conflict,
                path.key("dm").key("policy"),
                format!(
                    "dm.policy is {} but dmPolicy is {}",
                    policy_name(legacy),
                    policy_name(modern)
                ),
            )
            .with_hint("dm.policy is the older spelling of dmPolicy; keep only dmPolicy"),
        );
        return;
    }
    let policy = access
        .effective_dm_policy()
        .or_else(|| parent.and_then(ChannelAccess::effective_dm_policy))
        .unwrap_or(DmPolicy::Pairing);
    let mut allow = access.effective_allow_from();
    if access.allow_from.is_none()
        && access.dm.as_ref().and_then(|d| d.allow_from.as_ref()).is_none()
        && let Some(parent) = parent
    {
        allow = parent.effective_allow_from();
    }
    let target = if access.allow_from.is_none() && access.dm.as_ref().is_some_and(|d| d.allow_from.is_some()) {
        path.key("dm").key("allowFrom")
    } else {
        path.key("allowFrom")
    };
    match policy {
        DmPolicy::Open if !allow.iter().any(|a| a == "*") => issues.push(
            Issue::error(IssueKind::Conflict, target, "dmPolicy \"open\" requires allowFrom to include \"*\"")
                .with_hint(format!(
                    "\"open\" lets anyone DM the bot, so it must be explicit: add \"*\" to channels.{channel}.allowFrom, or use dmPolicy \"pairing\""
                )),
        ),
        DmPolicy::Allowlist if allow.is_empty() => issues.push(
            Issue::error(
                IssueKind::Conflict,
                target,
                "dmPolicy \"allowlist\" requires allowFrom to contain at least one sender ID",
            )
            .with_hint("list the sender ids allowed to DM, or use dmPolicy \"pairing\" so unknown senders can ask for access"),
        ),
        _ => {}
    }
}

fn policy_name(policy: DmPolicy) -> &'static str {
    match policy {
        DmPolicy::Pairing => "\"pairing\"",
        DmPolicy::Allowlist => "\"allowlist\"",
        DmPolicy::Open => "\"open\"",
        DmPolicy::Disabled => "\"disabled\"",
    }
}

// ---------------------------------------------------------------------------------------------
// gateway

use crate::gateway::auth::PLACEHOLDER_SECRETS;

fn literal(input: &Option<SecretInput>) -> Option<&str> {
    match input {
        Some(SecretInput::Literal(value)) => Some(value.expose()),
        _ => None,
    }
}

fn gateway(config: &Config, ctx: &RuleContext<'_>, issues: &mut Vec<Issue>) {
    let Some(gateway) = &config.gateway else { return };
    let base = root().key("gateway");
    let legacy_mdns = gateway.mdns.as_ref().and_then(|m| m.enabled);
    let mdns_mode = config
        .discovery
        .as_ref()
        .and_then(|d| d.mdns.as_ref())
        .and_then(|m| m.mode);
    if let (Some(enabled), Some(mode)) = (legacy_mdns, mdns_mode)
        && enabled != (mode != super::schema::gateway::MdnsMode::Off)
    {
        issues.push(
            Issue::error(
                IssueKind::Conflict,
                base.key("mdns").key("enabled"),
                "gateway.mdns.enabled contradicts discovery.mdns.mode",
            )
            .with_hint(
                "gateway.mdns is an older spelling; keep only discovery.mdns.mode (\"off\", \"minimal\" or \"full\")",
            ),
        );
    }
    let auth = gateway.auth.clone().unwrap_or_default();
    let auth_path = base.key("auth");
    let has_token = auth.token.is_some() || (ctx.env)("OPENCLAW_GATEWAY_TOKEN").is_some();
    let has_password = auth.password.is_some() || (ctx.env)("OPENCLAW_GATEWAY_PASSWORD").is_some();

    if auth.mode.is_none() && auth.token.is_some() && auth.password.is_some() {
        issues.push(
            Issue::error(
                IssueKind::Conflict,
                auth_path.key("mode"),
                "gateway.auth.token and gateway.auth.password are both set but gateway.auth.mode is unset",
            )
            .with_allowed(vec!["token".into(), "password".into()])
            .with_hint("set gateway.auth.mode to say which one clients must present"),
        );
    }
    match auth.mode {
        Some(AuthMode::Password) if !has_password => issues.push(
            Issue::error(
                IssueKind::MissingKey,
                auth_path.key("password"),
                "gateway.auth.mode is \"password\" but no password is configured",
            )
            .with_hint("set gateway.auth.password (a SecretRef is best) or the OPENCLAW_GATEWAY_PASSWORD variable"),
        ),
        Some(AuthMode::TrustedProxy) => {
            if auth.trusted_proxy.is_none() {
                issues.push(
                    Issue::error(
                        IssueKind::MissingKey,
                        auth_path.key("trustedProxy"),
                        "auth mode \"trusted-proxy\" requires gateway.auth.trustedProxy.userHeader",
                    )
                    .with_hint("name the header your proxy puts the authenticated user in, e.g. {userHeader: \"x-forwarded-user\"}"),
                );
            }
            if gateway.trusted_proxies.as_ref().is_none_or(Vec::is_empty) {
                issues.push(Issue::error(
                    IssueKind::MissingKey,
                    base.key("trustedProxies"),
                    "auth mode \"trusted-proxy\" requires the proxy addresses in gateway.trustedProxies",
                ));
            }
            if auth.token.is_some() {
                issues.push(
                    Issue::error(
                        IssueKind::Conflict,
                        auth_path.key("token"),
                        "a token cannot be combined with auth mode \"trusted-proxy\"",
                    )
                    .with_hint("remove gateway.auth.token, or switch gateway.auth.mode to \"token\""),
                );
            }
        }
        _ => {}
    }
    for (field, value) in [("token", literal(&auth.token)), ("password", literal(&auth.password))] {
        let Some(value) = value else { continue };
        let path = auth_path.key(field);
        if PLACEHOLDER_SECRETS.contains(&value.trim()) {
            let fix = if field == "token" {
                "generate a real one with `openclaw doctor --generate-gateway-token`"
            } else {
                "choose a long random password, ideally supplied through OPENCLAW_GATEWAY_PASSWORD"
            };
            issues.push(
                Issue::warning(
                    IssueKind::InvalidValue,
                    path,
                    format!("the {field} is a documentation placeholder"),
                )
                .with_hint(fix),
            );
        } else if field == "token" && value.trim().chars().count() < 24 {
            issues.push(
                Issue::warning(IssueKind::OutOfRange, path, "the token is shorter than 24 characters")
                    .with_hint("use `openclaw doctor --generate-gateway-token` (48 hex characters)"),
            );
        }
        if field == "password" || field == "token" {
            issues.push(
                Issue::note(
                    IssueKind::Unsafe,
                    auth_path.key(field),
                    format!("the {field} is stored in the config file in plain text"),
                )
                .with_hint(format!(
                    "prefer {{source: \"env\", provider: \"default\", id: \"OPENCLAW_GATEWAY_{}\"}}",
                    field.to_ascii_uppercase()
                )),
            );
        }
    }

    let bind = gateway.bind();
    let custom_host = gateway.custom_bind_host.as_deref();
    let custom_is_loopback = custom_host
        .and_then(|h| h.parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback());
    if bind == BindMode::Custom {
        match custom_host {
            None => issues.push(
                Issue::error(
                    IssueKind::MissingKey,
                    base.key("customBindHost"),
                    "bind \"custom\" requires gateway.customBindHost",
                )
                .with_hint("give the IPv4 address to listen on, e.g. \"192.168.1.10\""),
            ),
            Some(host) if host.parse::<std::net::Ipv4Addr>().is_err() => issues.push(Issue::error(
                IssueKind::InvalidValue,
                base.key("customBindHost"),
                format!("\"{host}\" is not an IPv4 address (dotted quad, e.g. \"192.168.1.10\")"),
            )),
            _ => {}
        }
    }
    let exposed =
        matches!(bind, BindMode::Lan | BindMode::Tailnet) || (bind == BindMode::Custom && !custom_is_loopback);
    if auth.mode == Some(AuthMode::None) && exposed {
        issues.push(
            Issue::error(
                IssueKind::Conflict,
                auth_path.key("mode"),
                "auth mode \"none\" is only allowed on a loopback bind",
            )
            .with_hint("set gateway.auth.token (or OPENCLAW_GATEWAY_TOKEN), or bind \"loopback\""),
        );
    } else if exposed && !has_token && !has_password && auth.mode != Some(AuthMode::TrustedProxy) {
        issues.push(
            Issue::warning(
                IssueKind::MissingKey,
                auth_path.key("token"),
                "the gateway binds beyond loopback without a token or password and will refuse to start",
            )
            .with_hint("set gateway.auth.token (or OPENCLAW_GATEWAY_TOKEN); `openclaw doctor --generate-gateway-token` makes one"),
        );
    }
    let ui = gateway.control_ui.clone().unwrap_or_default();
    if exposed
        && ui.enabled != Some(false)
        && ui
            .allowed_origins
            .as_ref()
            .is_none_or(|o| o.iter().all(|s| s.trim().is_empty()))
        && ui.dangerously_allow_host_header_origin_fallback != Some(true)
    {
        issues.push(
            Issue::error(
                IssueKind::MissingKey,
                base.key("controlUi").key("allowedOrigins"),
                "a non-loopback Control UI requires explicit allowed origins",
            )
            .with_hint("list the browser origins that may connect, e.g. [\"https://gateway.example.ts.net\"], or set gateway.controlUi.enabled to false"),
        );
    }
    if let Some(tailscale) = gateway.tailscale.as_ref().and_then(|t| t.mode) {
        if matches!(tailscale, TailscaleMode::Serve | TailscaleMode::Funnel) && bind != BindMode::Loopback {
            issues.push(
                Issue::error(
                    IssueKind::Conflict,
                    base.key("bind"),
                    "Tailscale serve/funnel requires bind \"loopback\" (Tailscale is the only way in)",
                )
                .with_hint("set gateway.bind to \"loopback\""),
            );
        }
        if tailscale == TailscaleMode::Funnel && auth.mode != Some(AuthMode::Password) {
            issues.push(
                Issue::error(
                    IssueKind::Conflict,
                    auth_path.key("mode"),
                    "Tailscale funnel (public internet) requires gateway.auth.mode \"password\"",
                )
                .with_hint(
                    "set gateway.auth.mode to \"password\" and gateway.auth.password, or use tailscale mode \"serve\"",
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// hooks

fn hooks(config: &Config, issues: &mut Vec<Issue>) {
    let Some(hooks) = &config.hooks else { return };
    if hooks.enabled != Some(true) {
        return;
    }
    let base = root().key("hooks");
    if hooks.path.as_deref().map(str::trim) == Some("/") {
        issues.push(
            Issue::error(
                IssueKind::InvalidValue,
                base.key("path"),
                "the hooks path cannot be \"/\" (it would shadow every route)",
            )
            .with_hint("use \"/hooks\""),
        );
    }
    let gateway_token = config
        .gateway
        .as_ref()
        .and_then(|g| g.auth.as_ref())
        .and_then(|a| literal(&a.token));
    if let (Some(hook), Some(gateway)) = (literal(&hooks.token), gateway_token)
        && hook == gateway
    {
        issues.push(
            Issue::error(
                IssueKind::Conflict,
                base.key("token"),
                "hooks.token must not be the gateway token",
            )
            .with_hint("a leaked webhook token would otherwise give full operator access; generate a separate one"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// agents and bindings

fn agents_and_bindings(config: &Config, issues: &mut Vec<Issue>) {
    let agents = config.agents();
    let mut seen: HashSet<String> = HashSet::new();
    let mut defaults = 0;
    for (i, agent) in agents.list().iter().enumerate() {
        let path = root().key("agents").key("list").index(i);
        let id = agent.id.to_ascii_lowercase();
        if !seen.insert(id.clone()) {
            issues.push(Issue::error(
                IssueKind::Conflict,
                path.key("id"),
                format!(
                    "agent id \"{}\" is used twice (ids are compared case-insensitively)",
                    agent.id
                ),
            ));
        }
        if agent.default == Some(true) {
            defaults += 1;
            if defaults > 1 {
                issues.push(
                    Issue::warning(
                        IssueKind::Conflict,
                        path.key("default"),
                        "more than one agent has default: true; the first one wins",
                    )
                    .with_hint("keep default: true on one agent"),
                );
            }
        }
    }
    let known = agents.ids();
    let known_list = known.clone();
    for (i, binding) in config.bindings.iter().flatten().enumerate() {
        let id = binding.agent_id.to_ascii_lowercase();
        if !known.contains(&id) {
            issues.push(
                Issue::error(
                    IssueKind::InvalidValue,
                    root().key("bindings").index(i).key("agentId"),
                    format!("unknown agent \"{}\"", binding.agent_id),
                )
                .with_allowed(known_list.clone())
                .with_hint("add the agent to agents.list or route to an existing one"),
            );
        }
    }
    if let Some(ElevatedAllowFrom::Agents(ids)) = config
        .tools
        .as_ref()
        .and_then(|t| t.elevated.as_ref())
        .and_then(|e| e.allow_from.as_ref())
    {
        for (i, id) in ids.iter().enumerate() {
            if !known.contains(&id.to_ascii_lowercase()) {
                issues.push(
                    Issue::error(
                        IssueKind::InvalidValue,
                        root().key("tools").key("elevated").key("allowFrom").index(i),
                        format!("unknown agent \"{id}\" (a list here names the agents allowed elevated exec)"),
                    )
                    .with_allowed(known_list.clone())
                    .with_hint("to allow senders instead, write an object: {telegram: [\"123456789\"]}"),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// tools

fn policy_rules(
    path: &JsonPath,
    allow: &Option<Vec<String>>,
    also_allow: &Option<Vec<String>>,
    issues: &mut Vec<Issue>,
) {
    if allow.as_ref().is_some_and(|a| !a.is_empty()) && also_allow.as_ref().is_some_and(|a| !a.is_empty()) {
        issues.push(
            Issue::error(
                IssueKind::Conflict,
                path.key("alsoAllow"),
                "tools policy cannot set both allow and alsoAllow in the same scope",
            )
            .with_hint("merge alsoAllow into allow, or remove allow and use profile + alsoAllow"),
        );
    }
}

fn tool_policy_rules(path: &JsonPath, policy: &ToolPolicy, issues: &mut Vec<Issue>) {
    policy_rules(path, &policy.allow, &policy.also_allow, issues);
}

fn exec_rules(path: &JsonPath, exec: &ExecConfig, issues: &mut Vec<Issue>) {
    if exec.mode.is_some() && (exec.security.is_some() || exec.ask.is_some()) {
        issues.push(
            Issue::error(
                IssueKind::Conflict,
                path.key("mode"),
                "exec mode cannot be combined with security or ask",
            )
            .with_hint("mode sets both; keep either mode or security + ask"),
        );
    }
}

fn tools(config: &Config, issues: &mut Vec<Issue>) {
    if let Some(tools) = &config.tools {
        let base = root().key("tools");
        policy_rules(&base, &tools.allow, &tools.also_allow, issues);
        for (provider, policy) in tools.by_provider.iter().flatten() {
            policy_rules(
                &base.key("byProvider").key(provider.as_str()),
                &policy.allow,
                &policy.also_allow,
                issues,
            );
        }
        if let Some(exec) = &tools.exec {
            exec_rules(&base.key("exec"), exec, issues);
        }
        if let Some(policy) = tools.sandbox.as_ref().and_then(|s| s.tools.as_ref()) {
            tool_policy_rules(&base.key("sandbox").key("tools"), policy, issues);
        }
    }
    for (i, agent) in config.agents().list().iter().enumerate() {
        let Some(tools) = &agent.tools else { continue };
        let base = root().key("agents").key("list").index(i).key("tools");
        policy_rules(&base, &tools.allow, &tools.also_allow, issues);
        if let Some(exec) = &tools.exec {
            exec_rules(&base.key("exec"), exec, issues);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// sandboxes

/// Host paths a sandbox must never see (the Docker socket is host root).
const BLOCKED_BIND_SOURCES: &[&str] = &[
    "/",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/root",
    "/boot",
    "/run",
    "/var/run",
    "/private/etc",
    "/private/var/run",
];
const BLOCKED_HOME_DIRS: &[&str] = &[
    ".aws",
    ".cargo",
    ".config",
    ".docker",
    ".gnupg",
    ".netrc",
    ".npm",
    ".ssh",
    ".openclaw",
];

/// Whether a bind source (an absolute host path) exposes host secrets or control: the Docker
/// socket, system directories, or credential directories anywhere in the path. The sandbox
/// backend asks again with the path resolved through symlinks before it creates a container.
pub fn bind_source_blocked(source: &str) -> bool {
    let normalized = source.trim().trim_end_matches('/');
    let normalized = if normalized.is_empty() { "/" } else { normalized };
    normalized.ends_with("docker.sock")
        || BLOCKED_BIND_SOURCES
            .iter()
            .any(|b| normalized == *b || (*b != "/" && normalized.starts_with(&format!("{b}/"))))
        || BLOCKED_HOME_DIRS
            .iter()
            .any(|dir| normalized.split('/').any(|part| part == *dir))
}

fn sandboxes(config: &Config, issues: &mut Vec<Issue>) {
    let agents = config.agents();
    let global_sandbox_tools = config
        .tools
        .as_ref()
        .and_then(|t| t.sandbox.as_ref())
        .and_then(|s| s.tools.as_ref());
    if let Some(sandbox) = agents.defaults.as_ref().and_then(|d| d.sandbox.as_ref()) {
        let path = root().key("agents").key("defaults").key("sandbox");
        sandbox_rules(&path, sandbox, issues);
        if sandbox.tools.is_some() && global_sandbox_tools.is_some() {
            issues.push(
                Issue::error(
                    IssueKind::Conflict,
                    path.key("tools"),
                    "the sandbox tool policy is set both here and at tools.sandbox.tools",
                )
                .with_hint("keep one of the two"),
            );
        }
    }
    for (i, agent) in agents.list().iter().enumerate() {
        let Some(sandbox) = &agent.sandbox else { continue };
        let path = root().key("agents").key("list").index(i).key("sandbox");
        sandbox_rules(&path, sandbox, issues);
        let agent_sandbox_tools = agent
            .tools
            .as_ref()
            .and_then(|t| t.sandbox.as_ref())
            .and_then(|s| s.tools.as_ref());
        if sandbox.tools.is_some() && agent_sandbox_tools.is_some() {
            issues.push(
                Issue::error(
                    IssueKind::Conflict,
                    path.key("tools"),
                    "this agent's sandbox tool policy is set both here and at tools.sandbox.tools",
                )
                .with_hint("keep one of the two"),
            );
        }
    }
}

/// The rules for one `sandbox` block at `path` (dangerous network, profiles and binds, perSession
/// against scope, its tool policy). The sandbox backend checks the blocks it builds a container
/// from again, so a config that skipped validation still cannot reach Docker.
pub fn sandbox_block_issues(path: &JsonPath, sandbox: &SandboxConfig) -> Vec<Issue> {
    let mut issues = Vec::new();
    sandbox_rules(path, sandbox, &mut issues);
    issues
}

fn sandbox_rules(path: &JsonPath, sandbox: &SandboxConfig, issues: &mut Vec<Issue>) {
    if let (Some(per_session), Some(scope)) = (sandbox.per_session, sandbox.scope) {
        use super::schema::sandbox::SandboxScope;
        let implied = if per_session {
            SandboxScope::Session
        } else {
            SandboxScope::Shared
        };
        if implied != scope {
            issues.push(
                Issue::error(
                    IssueKind::Conflict,
                    path.key("perSession"),
                    "perSession contradicts scope",
                )
                .with_hint("perSession is the older spelling of scope; keep only scope"),
            );
        }
    }
    if let Some(policy) = &sandbox.tools {
        tool_policy_rules(&path.key("tools"), policy, issues);
    }
    let Some(docker) = &sandbox.docker else { return };
    let docker_path = path.key("docker");
    if let Some(network) = docker.network.as_deref() {
        let lower = network.trim().to_ascii_lowercase();
        if lower == "host" {
            issues.push(
                Issue::error(
                    IssueKind::InvalidValue,
                    docker_path.key("network"),
                    "network \"host\" gives the sandbox the host's network stack",
                )
                .with_hint("use \"none\" (default) or \"bridge\""),
            );
        } else if lower.starts_with("container:") && docker.dangerously_allow_container_namespace_join != Some(true) {
            issues.push(
                Issue::error(
                    IssueKind::InvalidValue,
                    docker_path.key("network"),
                    "network \"container:...\" joins another container's namespace",
                )
                .with_hint(
                    "use \"none\" or \"bridge\"; dangerouslyAllowContainerNamespaceJoin exists for break-glass only",
                ),
            );
        }
    }
    for (field, value) in [
        ("seccompProfile", &docker.seccomp_profile),
        ("apparmorProfile", &docker.apparmor_profile),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("unconfined"))
        {
            issues.push(
                Issue::error(
                    IssueKind::InvalidValue,
                    docker_path.key(field),
                    "\"unconfined\" switches the kernel filter off",
                )
                .with_hint("remove it (Docker's default profile applies) or name a custom profile"),
            );
        }
    }
    for (i, bind) in docker.binds.iter().flatten().enumerate() {
        let bind_path = docker_path.key("binds").index(i);
        let mut parts = bind.split(':');
        let source = parts.next().unwrap_or_default().trim();
        let target = parts.next().map(str::trim);
        if !source.starts_with('/') || target.is_none_or(str::is_empty) {
            issues.push(
                Issue::error(
                    IssueKind::InvalidValue,
                    bind_path,
                    format!("bind \"{bind}\" must be /absolute/host/path:/container/path[:ro]"),
                )
                .with_hint("relative host paths depend on the gateway's working directory; write the absolute path"),
            );
            continue;
        }
        let target = target.unwrap_or_default().trim_end_matches('/');
        let reserved = ["/workspace", "/agent"]
            .iter()
            .chain(docker.workdir.as_deref().map(|w| w.trim_end_matches('/')).iter())
            .any(|r| !r.is_empty() && (target == *r || target.starts_with(&format!("{r}/"))));
        if reserved && docker.dangerously_allow_reserved_container_targets != Some(true) {
            issues.push(
                Issue::error(
                    IssueKind::Unsafe,
                    bind_path.clone(),
                    format!("bind target {target} shadows the sandbox workspace (/workspace, /agent or the workdir)"),
                )
                .with_hint(
                    "mount it elsewhere (e.g. /data); dangerouslyAllowReservedContainerTargets exists for break-glass only",
                ),
            );
        }
        if bind_source_blocked(source) {
            issues.push(
                Issue::error(
                    IssueKind::Unsafe,
                    bind_path,
                    format!("bind source {source} exposes host secrets or control to the sandbox"),
                )
                .with_hint("mount a dedicated directory instead"),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// logging and patterns

fn logging(config: &Config, issues: &mut Vec<Issue>) {
    let logging = config.logging();
    let patterns = logging.patterns();
    if patterns.is_empty() {
        return;
    }
    if let Err(err) = Redactor::new(RedactMode::Tools, patterns) {
        let path = root().key("logging").key("redactPatterns");
        let path = if err.index == usize::MAX {
            path
        } else {
            path.index(err.index)
        };
        issues.push(Issue::error(
            IssueKind::InvalidValue,
            path,
            format!("invalid pattern: {}", err.reason),
        ));
    }
}

fn mention_patterns(config: &Config, issues: &mut Vec<Issue>) {
    let mut check = |path: JsonPath, patterns: &[String]| {
        for (i, pattern) in patterns.iter().enumerate() {
            if let Err(err) = RegexBuilder::new(pattern).case_insensitive(true).build() {
                let reason = err.to_string();
                let reason = reason.lines().last().unwrap_or(&reason).trim().to_string();
                issues.push(
                    Issue::error(IssueKind::InvalidValue, path.index(i), format!("invalid mention pattern: {reason}"))
                        .with_hint("patterns are regular expressions (look-around is not supported); escape `.`, `+`, `(` to match them literally"),
                );
            }
        }
    };
    if let Some(patterns) = config
        .messages
        .as_ref()
        .and_then(|m| m.group_chat.as_ref())
        .and_then(|g| g.mention_patterns.as_ref())
    {
        check(root().key("messages").key("groupChat").key("mentionPatterns"), patterns);
    }
    for (i, agent) in config.agents().list().iter().enumerate() {
        if let Some(patterns) = agent.group_chat.as_ref().and_then(|g| g.mention_patterns.as_ref()) {
            check(
                root()
                    .key("agents")
                    .key("list")
                    .index(i)
                    .key("groupChat")
                    .key("mentionPatterns"),
                patterns,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// secret references

/// A SecretRef found in the document, with where it is.
#[derive(Debug, Clone)]
pub struct FoundRef {
    pub path: JsonPath,
    pub source: SecretSource,
    pub provider: Option<String>,
    pub id: String,
}

/// Every SecretRef object in `doc` (objects of exactly `{source, provider?, id}` with a known
/// source). Used both to check them and to resolve them.
pub fn find_secret_refs(doc: &Value) -> Vec<FoundRef> {
    fn walk(value: &Value, path: &mut JsonPath, out: &mut Vec<FoundRef>) {
        match value {
            Value::Object(map) => {
                let shaped = map.keys().all(|k| matches!(k.as_str(), "source" | "provider" | "id"))
                    && map.contains_key("source")
                    && map.contains_key("id");
                if shaped {
                    let source = match map.get("source").and_then(Value::as_str) {
                        Some("env") => Some(SecretSource::Env),
                        Some("file") => Some(SecretSource::File),
                        Some("exec") => Some(SecretSource::Exec),
                        _ => None,
                    };
                    if let (Some(source), Some(id)) = (source, map.get("id").and_then(Value::as_str)) {
                        out.push(FoundRef {
                            path: path.clone(),
                            source,
                            provider: map.get("provider").and_then(Value::as_str).map(str::to_string),
                            id: id.to_string(),
                        });
                        return;
                    }
                }
                for (key, item) in map {
                    path.push_key(key.clone());
                    walk(item, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push_index(i);
                    walk(item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut JsonPath::root(), &mut out);
    out
}

fn valid_env_name(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && bytes[0].is_ascii_uppercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
}

fn valid_alias(alias: &str) -> bool {
    let bytes = alias.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
}

fn valid_json_pointer(id: &str) -> bool {
    if id == "value" {
        return true;
    }
    let Some(rest) = id.strip_prefix('/') else { return false };
    // `~` may only appear as the escapes `~0` and `~1`.
    let bytes = rest.as_bytes();
    bytes
        .iter()
        .enumerate()
        .all(|(i, b)| *b != b'~' || matches!(bytes.get(i + 1), Some(b'0' | b'1')))
}

fn valid_exec_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 256
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'))
        && id.split('/').all(|segment| segment != "." && segment != "..")
}

fn secret_refs(config: &Config, doc: &Value, issues: &mut Vec<Issue>) {
    let secrets = config.secrets.clone().unwrap_or_default();
    let providers = secrets.providers.clone().unwrap_or_default();
    let defaults = secrets.defaults.clone().unwrap_or_default();
    for (alias, provider) in &providers {
        let path = root().key("secrets").key("providers").key(alias.as_str());
        if !valid_alias(alias) {
            issues.push(Issue::error(
                IssueKind::InvalidValue,
                path.clone(),
                format!("provider alias \"{alias}\" must be a lower-case letter followed by letters, digits, `_` or `-` (max 64)"),
            ));
        }
        match provider {
            SecretProvider::File { path: file, .. } => {
                if !(file.starts_with('/') || file.starts_with("~/")) {
                    issues.push(Issue::error(
                        IssueKind::InvalidValue,
                        path.key("path"),
                        format!("\"{file}\" must be an absolute path (or start with ~/)"),
                    ));
                }
            }
            SecretProvider::Exec { command, pass_env, .. } => {
                if !command.starts_with('/') {
                    issues.push(
                        Issue::error(
                            IssueKind::InvalidValue,
                            path.key("command"),
                            format!("\"{command}\" must be an absolute path"),
                        )
                        .with_hint(
                            "resolvers run without a shell or PATH lookup; write e.g. /usr/local/bin/my-resolver",
                        ),
                    );
                }
                for (i, name) in pass_env.iter().flatten().enumerate() {
                    if !valid_env_name(name) {
                        issues.push(Issue::error(
                            IssueKind::InvalidValue,
                            path.key("passEnv").index(i),
                            format!("\"{name}\" is not an environment variable name (A-Z, 0-9, _)"),
                        ));
                    }
                }
            }
            SecretProvider::Env { .. } => {}
        }
    }
    for found in find_secret_refs(doc) {
        let alias = found
            .provider
            .clone()
            .unwrap_or_else(|| defaults.alias_for(found.source).to_string());
        let id_path = found.path.key("id");
        match providers.get(&alias) {
            Some(provider) if provider.source() != found.source => issues.push(
                Issue::error(
                    IssueKind::Conflict,
                    found.path.key("source"),
                    format!(
                        "source is \"{}\" but provider \"{alias}\" is a {} provider",
                        found.source,
                        provider.source()
                    ),
                )
                .with_hint("make the source match the provider, or name a provider of that source"),
            ),
            None if !(alias == "default" && found.source == SecretSource::Env) => {
                let mut known: Vec<String> = providers.keys().cloned().collect();
                if !known.iter().any(|k| k == "default") {
                    known.push("default".into());
                }
                issues.push(
                    Issue::error(
                        IssueKind::InvalidValue,
                        found.path.key("provider"),
                        format!("unknown secret provider \"{alias}\""),
                    )
                    .with_allowed(known)
                    .with_hint(format!(
                        "define it under secrets.providers.{alias} with source \"{}\"",
                        found.source
                    )),
                );
            }
            _ => {}
        }
        let (valid, expected) = match found.source {
            SecretSource::Env => (
                valid_env_name(&found.id),
                "an environment variable name (A-Z, 0-9, _), e.g. \"OPENAI_API_KEY\"",
            ),
            SecretSource::File => (
                valid_json_pointer(&found.id),
                "an absolute JSON pointer (\"/providers/openai/apiKey\") or \"value\"",
            ),
            SecretSource::Exec => (
                valid_exec_id(&found.id),
                "letters, digits and . _ : / - with no . or .. segments",
            ),
        };
        if !valid {
            issues.push(Issue::error(
                IssueKind::InvalidValue,
                id_path,
                format!(
                    "invalid {} secret id \"{}\": expected {expected}",
                    found.source, found.id
                ),
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// plugins

/// Operator slot narrowing (`plugins.entries.<id>.secrets.<NAME>.slots`) must at least be made of
/// valid slots; whether the manifest declares them is known only once the plugin is found.
fn plugin_secret_slots(config: &Config, issues: &mut Vec<Issue>) {
    use crate::plugins::slots::{CONFIG_KEYS, SlotSpec};
    let entries = config.plugins.as_ref().and_then(|p| p.entries.as_ref());
    for (id, entry) in entries.into_iter().flatten() {
        for (name, binding) in entry.secrets.iter().flatten() {
            for (i, slot) in binding.slots().unwrap_or_default().iter().enumerate() {
                if let Err(message) = SlotSpec::from(slot).to_slot(&CONFIG_KEYS) {
                    let path = root()
                        .key("plugins")
                        .key("entries")
                        .key(id.as_str())
                        .key("secrets")
                        .key(name.as_str())
                        .key("slots")
                        .index(i);
                    issues.push(Issue::error(IssueKind::InvalidValue, path, message).with_hint(
                        "a slot is one of {\"header\": NAME, \"template\": \"Bearer {}\"}, {\"urlPrefix\": \"https://host/path{}/\"}, {\"query\": NAME}, {\"formField\": NAME}, {\"jsonField\": \"/pointer\"}",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_id_shapes() {
        assert!(valid_env_name("OPENAI_API_KEY"));
        assert!(!valid_env_name("openai"));
        assert!(valid_json_pointer("/a/b~1c"));
        assert!(valid_json_pointer("value"));
        assert!(!valid_json_pointer("a/b"));
        assert!(!valid_json_pointer("/a~2"));
        assert!(valid_exec_id("vault:prod/openai"));
        assert!(!valid_exec_id("a/../b"));
        assert!(!valid_exec_id("-x"));
    }
}
