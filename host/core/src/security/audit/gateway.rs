//! Gateway exposure and auth: bind, shared secret, Control UI origins, proxies, Tailscale, mDNS,
//! dangerous flags, the HTTP tool surface; and the `--deep` probe of the running gateway.

use super::facts::{AuditInput, DeepFacts};
use super::{Finding, Severity, crit_if};
use crate::config::schema::common::SecretInput;
use crate::config::schema::gateway::{AuthMode, BindMode, TailscaleMode};
use crate::config::schema::{Config, MdnsMode};
use crate::gateway::http_tools::DEFAULT_HTTP_DENY;

/// The auth facts every exposure check shares (OpenClaw's derived booleans).
pub struct Exposure {
    pub bind: BindMode,
    pub exposed: bool,
    pub tailscale: TailscaleMode,
    pub remotely_exposed: bool,
    pub mode: Option<AuthMode>,
    pub has_shared_secret: bool,
    pub has_gateway_auth: bool,
    pub control_ui: bool,
    /// The token the server checks, when it can be known here.
    pub resolved_token: Option<String>,
    pub resolved_password: Option<String>,
}

/// A secret's value when the audit can know it: a literal, or an env reference set here.
pub(crate) fn literal_or_env(input: &AuditInput<'_>, secret: Option<&SecretInput>) -> Option<String> {
    match secret? {
        SecretInput::Literal(l) => {
            let v = l.expose().trim();
            (!v.is_empty()).then(|| v.to_string())
        }
        SecretInput::Ref(r) if r.source == crate::config::schema::SecretSource::Env => {
            input.env(&r.id).map(str::to_string)
        }
        SecretInput::Ref(_) => None,
    }
}

pub fn exposure(input: &AuditInput<'_>) -> Exposure {
    let config: &Config = input.config;
    let gateway = config.gateway();
    let bind = gateway.bind();
    let tailscale = gateway
        .tailscale
        .as_ref()
        .and_then(|t| t.mode)
        .unwrap_or(TailscaleMode::Off);
    let auth = gateway.auth.clone().unwrap_or_default();
    let mode = auth.mode;
    let env_token = input.env("OPENCLAW_GATEWAY_TOKEN");
    let env_password = input.env("OPENCLAW_GATEWAY_PASSWORD");
    let remote_token = gateway.remote.as_ref().and_then(|r| r.token.as_ref()).is_some();
    let token_can_win = auth.token.is_some() || env_token.is_some() || remote_token;
    let password_configured = auth.password.is_some() || env_password.is_some();
    let password_can_win = mode == Some(AuthMode::Password)
        || (!matches!(mode, Some(AuthMode::Token | AuthMode::None | AuthMode::TrustedProxy)) && !token_can_win);
    let has_shared_secret = match mode {
        Some(AuthMode::Token) => token_can_win,
        Some(AuthMode::Password) => password_configured,
        Some(AuthMode::None | AuthMode::TrustedProxy) => false,
        None => token_can_win || (password_can_win && password_configured),
    };
    let has_gateway_auth =
        has_shared_secret || (auth.allow_tailscale == Some(true) && tailscale == TailscaleMode::Serve);
    let control_ui = gateway.control_ui.as_ref().and_then(|u| u.enabled) != Some(false);
    let resolved_token = literal_or_env(input, auth.token.as_ref()).or_else(|| env_token.map(str::to_string));
    let resolved_password = literal_or_env(input, auth.password.as_ref()).or_else(|| env_password.map(str::to_string));
    let exposed = bind != BindMode::Loopback;
    Exposure {
        bind,
        exposed,
        tailscale,
        remotely_exposed: exposed || matches!(tailscale, TailscaleMode::Serve | TailscaleMode::Funnel),
        mode,
        has_shared_secret,
        has_gateway_auth,
        control_ui,
        resolved_token,
        resolved_password,
    }
}

pub fn collect(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let x = exposure(input);
    let gateway = input.config.gateway();
    let bind = x.bind.as_str();
    let ui = gateway.control_ui.clone().unwrap_or_default();
    let auth = gateway.auth.clone().unwrap_or_default();
    let trusted_proxies: Vec<&String> = gateway
        .trusted_proxies
        .iter()
        .flatten()
        .filter(|p| !p.trim().is_empty())
        .collect();

    let allowed_http: Vec<String> = gateway
        .tools
        .as_ref()
        .and_then(|t| t.allow.as_ref())
        .into_iter()
        .flatten()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| DEFAULT_HTTP_DENY.contains(&t.as_str()))
        .collect();
    if !allowed_http.is_empty() {
        out.push(
            Finding::new(
                "gateway.tools_invoke_http.dangerous_allow",
                crit_if(x.exposed || x.tailscale == TailscaleMode::Funnel),
                "Gateway HTTP /tools/invoke re-enables dangerous tools",
                format!(
                    "gateway.tools.allow includes {}; any holder of the gateway credential can run them over HTTP (bind={bind}).",
                    allowed_http.join(", ")
                ),
            )
            .fix("Remove them from gateway.tools.allow, or keep the gateway on loopback/tailnet and treat the token as full admin access."),
        );
    }

    if x.exposed && !x.has_shared_secret && x.mode != Some(AuthMode::TrustedProxy) {
        out.push(
            Finding::new(
                "gateway.bind_no_auth",
                Severity::Critical,
                "Gateway binds beyond loopback without auth",
                format!("gateway.bind=\"{bind}\" but no gateway.auth token or password is configured."),
            )
            .fix("Set gateway.auth (token mode: `openclaw doctor --generate-gateway-token`) or bind to loopback."),
        );
    }

    if x.bind == BindMode::Loopback && x.control_ui && trusted_proxies.is_empty() {
        out.push(
            Finding::new(
                "gateway.trusted_proxies_missing",
                Severity::Warn,
                "Reverse proxy headers are not trusted",
                "gateway.bind is loopback and gateway.trustedProxies is empty. If you expose the gateway through a reverse proxy, \
                 set trustedProxies so forwarded client addresses are believed only from it; requests carrying forwarding headers \
                 are otherwise never treated as local.",
            )
            .fix("Set gateway.trustedProxies to your proxy's address, or keep the gateway local-only."),
        );
    }

    if x.bind == BindMode::Loopback && x.control_ui && !x.has_gateway_auth {
        out.push(
            Finding::new(
                "gateway.loopback_no_auth",
                Severity::Critical,
                "Gateway auth missing on loopback",
                "gateway.bind is loopback but no gateway auth secret is configured; any local process (or a reverse proxy in front) can reach the gateway.",
            )
            .fix("Set gateway.auth.token (`openclaw doctor --generate-gateway-token`)."),
        );
    }

    let origins: Vec<String> = ui
        .allowed_origins
        .iter()
        .flatten()
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    let host_fallback = ui.dangerously_allow_host_header_origin_fallback == Some(true);
    if x.exposed && x.control_ui && origins.is_empty() && !host_fallback {
        out.push(
            Finding::new(
                "gateway.control_ui.allowed_origins_required",
                Severity::Critical,
                "Non-loopback Control UI missing explicit allowed origins",
                format!("gateway.bind=\"{bind}\" and gateway.controlUi.allowedOrigins is empty."),
            )
            .fix("Set gateway.controlUi.allowedOrigins to the exact origins that serve the UI (e.g. https://gateway.example.com)."),
        );
    }
    if origins.iter().any(|o| o == "*") {
        out.push(
            Finding::new(
                "gateway.control_ui.allowed_origins_wildcard",
                crit_if(x.exposed),
                "Control UI allowed origins contains wildcard",
                "gateway.controlUi.allowedOrigins contains \"*\": any web page can open a browser session to the gateway.",
            )
            .fix("Replace \"*\" with the exact origins."),
        );
    }
    if host_fallback {
        out.push(
            Finding::new(
                "gateway.control_ui.host_header_origin_fallback",
                crit_if(x.exposed),
                "DANGEROUS: Host-header origin fallback enabled",
                "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback=true accepts an Origin that merely matches the Host header (DNS rebinding).",
            )
            .fix("Set it to false and list gateway.controlUi.allowedOrigins."),
        );
    }

    if gateway.allow_real_ip_fallback == Some(true) {
        const LOCAL: &[&str] = &["127.0.0.1", "::1", "127.0.0.1/32", "::1/128"];
        let wide_proxy =
            x.mode == Some(AuthMode::TrustedProxy) && trusted_proxies.iter().any(|p| !LOCAL.contains(&p.trim()));
        out.push(
            Finding::new(
                "gateway.real_ip_fallback_enabled",
                crit_if(x.exposed || wide_proxy),
                "X-Real-IP fallback is enabled",
                "gateway.allowRealIpFallback=true: the client address may be taken from X-Real-IP when X-Forwarded-For is absent.",
            )
            .fix("Keep it false unless your proxy always overwrites X-Real-IP."),
        );
    }

    if input.config.mdns_mode() == MdnsMode::Full {
        out.push(
            Finding::new(
                "discovery.mdns_full_mode",
                crit_if(x.exposed),
                "mDNS full mode can leak host metadata",
                "discovery.mdns.mode=\"full\" advertises the CLI path and SSH port on the local network.",
            )
            .fix("Set discovery.mdns.mode to \"minimal\" (the default) or \"off\"."),
        );
    }
    match x.tailscale {
        TailscaleMode::Funnel => out.push(
            Finding::new(
                "gateway.tailscale_funnel",
                Severity::Critical,
                "Tailscale Funnel exposure enabled",
                "gateway.tailscale.mode=\"funnel\" publishes the gateway on the public internet.",
            )
            .fix("Prefer tailscale.mode=\"serve\" (tailnet only) or \"off\"."),
        ),
        TailscaleMode::Serve => out.push(Finding::new(
            "gateway.tailscale_serve",
            Severity::Info,
            "Tailscale Serve exposure enabled",
            "gateway.tailscale.mode=\"serve\" exposes the gateway to your tailnet.",
        )),
        TailscaleMode::Off => {}
    }
    if ui.allow_insecure_auth == Some(true) {
        out.push(
            Finding::new(
                "gateway.control_ui.insecure_auth",
                Severity::Warn,
                "Control UI insecure auth toggle enabled",
                "gateway.controlUi.allowInsecureAuth=true lets the UI authenticate over plain HTTP from non-local origins.",
            )
            .fix("Disable it; use HTTPS (tailscale serve) or localhost."),
        );
    }
    if ui.dangerously_disable_device_auth == Some(true) {
        out.push(
            Finding::new(
                "gateway.control_ui.device_auth_disabled",
                Severity::Critical,
                "DANGEROUS: Control UI device auth disabled",
                "gateway.controlUi.dangerouslyDisableDeviceAuth=true skips device identity checks for the Control UI.",
            )
            .fix("Set it to false unless this is a deliberate break-glass."),
        );
    }

    let flags = dangerous_flags(input);
    if !flags.is_empty() {
        out.push(
            Finding::new(
                "config.insecure_or_dangerous_flags",
                Severity::Warn,
                "Insecure or dangerous config flags enabled",
                format!("Detected {} enabled flag(s): {}.", flags.len(), flags.join(", ")),
            )
            .fix("Disable these flags when you are not actively debugging."),
        );
    }

    if x.mode == Some(AuthMode::Token)
        && let Some(token) = &x.resolved_token
        && token.trim().chars().count() < 24
    {
        out.push(Finding::new(
            "gateway.token_too_short",
            Severity::Warn,
            "Gateway token looks short",
            format!(
                "gateway auth token is {} characters long; prefer 24 or more random characters (`openclaw doctor --generate-gateway-token` makes 48).",
                token.trim().chars().count()
            ),
        ));
    }

    // Ours: the seeds' example tokens are copied verbatim surprisingly often; the gateway
    // refuses to start with one, so the audit says so before a restart does.
    let placeholder = [("token", &x.resolved_token), ("password", &x.resolved_password)]
        .into_iter()
        .find(|(_, v)| v.as_deref().is_some_and(crate::gateway::auth::is_placeholder));
    if let Some((field, _)) = placeholder {
        out.push(
            Finding::new(
                "gateway.auth_placeholder",
                Severity::Critical,
                "Gateway credential is a documentation placeholder",
                format!("gateway.auth.{field} is an example value from the docs; anyone who read them knows it, and the gateway refuses to start with it."),
            )
            .fix("Run `openclaw doctor --generate-gateway-token` (or set a long random value)."),
        );
    }

    if x.mode == Some(AuthMode::TrustedProxy) {
        let tp = auth.trusted_proxy.clone();
        out.push(
            Finding::new(
                "gateway.trusted_proxy_auth",
                Severity::Critical,
                "Trusted-proxy auth mode enabled",
                "gateway.auth.mode=\"trusted-proxy\" delegates authentication to the reverse proxy: whoever reaches the gateway \
                 directly from a trusted proxy address is believed.",
            )
            .fix("Make sure the proxy terminates TLS and authenticates, trustedProxies lists only it, and a firewall blocks direct access to the gateway port."),
        );
        if trusted_proxies.is_empty() {
            out.push(
                Finding::new(
                    "gateway.trusted_proxy_no_proxies",
                    Severity::Critical,
                    "Trusted-proxy auth enabled but no trusted proxies configured",
                    "gateway.auth.mode=\"trusted-proxy\" with an empty gateway.trustedProxies: no request can authenticate.",
                )
                .fix("Set gateway.trustedProxies to the proxy's address."),
            );
        }
        if tp.as_ref().is_none_or(|t| t.user_header.trim().is_empty()) {
            out.push(
                Finding::new(
                    "gateway.trusted_proxy_no_user_header",
                    Severity::Critical,
                    "Trusted-proxy auth missing userHeader config",
                    "gateway.auth.trustedProxy.userHeader is not set.",
                )
                .fix("Set gateway.auth.trustedProxy.userHeader (e.g. \"x-forwarded-user\")."),
            );
        }
        if tp.as_ref().and_then(|t| t.allow_loopback) == Some(true) {
            out.push(
                Finding::new(
                    "gateway.trusted_proxy_allow_loopback",
                    Severity::Warn,
                    "Trusted-proxy auth allows loopback proxy sources",
                    "gateway.auth.trustedProxy.allowLoopback=true: any local process can act as the proxy.",
                )
                .fix("Use it only when the proxy runs on the same host and that host is the trust boundary."),
            );
        }
        if tp
            .as_ref()
            .and_then(|t| t.allow_users.as_ref())
            .is_none_or(|u| u.is_empty())
        {
            out.push(
                Finding::new(
                    "gateway.trusted_proxy_no_allowlist",
                    Severity::Warn,
                    "Trusted-proxy auth allows all authenticated users",
                    "gateway.auth.trustedProxy.allowUsers is empty: every user the proxy authenticates is an operator.",
                )
                .fix("Set gateway.auth.trustedProxy.allowUsers."),
            );
        }
    }

    if x.exposed && x.mode != Some(AuthMode::TrustedProxy) && auth.rate_limit.is_none() {
        out.push(
            Finding::new(
                "gateway.auth_no_rate_limit",
                Severity::Warn,
                "No auth rate limiting configured",
                format!("gateway.bind=\"{bind}\" and gateway.auth.rateLimit is not set."),
            )
            .fix("Set gateway.auth.rateLimit, e.g. {maxAttempts: 10, windowMs: 60000, lockoutMs: 300000}."),
        );
    }
}

/// Flags that switch a protection off, as `path=value`.
pub fn dangerous_flags(input: &AuditInput<'_>) -> Vec<String> {
    use serde_json::Value;
    let mut flags = Vec::new();
    let is_true = |path: &[&str]| input.raw_at(path) == Some(&Value::Bool(true));
    for key in [
        "allowInsecureAuth",
        "dangerouslyAllowHostHeaderOriginFallback",
        "dangerouslyDisableDeviceAuth",
    ] {
        if is_true(&["gateway", "controlUi", key]) {
            flags.push(format!("gateway.controlUi.{key}=true"));
        }
    }
    if is_true(&["hooks", "gmail", "allowUnsafeExternalContent"]) {
        flags.push("hooks.gmail.allowUnsafeExternalContent=true".into());
    }
    if let Some(Value::Array(mappings)) = input.raw_at(&["hooks", "mappings"]) {
        for (i, m) in mappings.iter().enumerate() {
            if m.get("allowUnsafeExternalContent") == Some(&Value::Bool(true)) {
                flags.push(format!("hooks.mappings[{i}].allowUnsafeExternalContent=true"));
            }
        }
    }
    if input.raw_at(&["tools", "exec", "applyPatch", "workspaceOnly"]) == Some(&Value::Bool(false)) {
        flags.push("tools.exec.applyPatch.workspaceOnly=false".into());
    }
    // Our sandbox break-glass switches.
    let mut docker_blocks: Vec<(String, &Value)> = Vec::new();
    if let Some(d) = input.raw_at(&["agents", "defaults", "sandbox", "docker"]) {
        docker_blocks.push(("agents.defaults.sandbox.docker".into(), d));
    }
    if let Some(Value::Array(list)) = input.raw_at(&["agents", "list"]) {
        for (i, agent) in list.iter().enumerate() {
            if let Some(d) = agent.get("sandbox").and_then(|s| s.get("docker")) {
                docker_blocks.push((format!("agents.list[{i}].sandbox.docker"), d));
            }
        }
    }
    for (path, docker) in docker_blocks {
        if let Value::Object(map) = docker {
            for (key, value) in map {
                if key.starts_with("dangerously") && value == &Value::Bool(true) {
                    flags.push(format!("{path}.{key}=true"));
                }
            }
        }
    }
    flags
}

pub fn deep(_input: &AuditInput<'_>, deep: &DeepFacts, out: &mut Vec<Finding>) {
    let Some(probe) = &deep.gateway else {
        return;
    };
    if !probe.ok {
        out.push(
            Finding::new(
                "gateway.probe_failed",
                Severity::Warn,
                "Gateway probe failed (deep)",
                probe.error.clone().unwrap_or_else(|| "the gateway did not answer".into()),
            )
            .fix("Run \"openclaw status --all\" to debug connectivity/auth, then re-run \"openclaw security audit --deep\"."),
        );
        return;
    }
    if let Some(status) = probe.unauthenticated_status
        && status != 401
        && status != 403
    {
        out.push(
            Finding::new(
                "gateway.probe_unauthenticated_accepted",
                Severity::Critical,
                "Running gateway answers unauthenticated requests",
                format!(
                    "{} answered HTTP {status} to a request without credentials (expected 401).",
                    probe.url.clone().unwrap_or_default()
                ),
            )
            .fix("Set gateway.auth (token or password) and restart the gateway."),
        );
    }
    if let (Some(listening), Some(expected)) = (&probe.listening, &probe.expected)
        && listening != expected
    {
        out.push(
            Finding::new(
                "gateway.probe_bind_mismatch",
                Severity::Warn,
                "Running gateway listens on a different address than the config says",
                format!("the running gateway listens on {listening}; the config says {expected}."),
            )
            .fix("Restart the gateway (`openclaw gateway stop`, then start it) so it runs with the current config."),
        );
    }
}
