//! Deciding, before any socket is opened, where and how the gateway starts, or why it must not.
//!
//! Everything the decision needs is handed in (the typed config, resolved secret values, the
//! environment's few variables, `--port`/`--bind`, facts about the host), so the exposure rule
//! is tested over generated configs without starting anything.

use std::fmt;

use super::auth::{self, AuthProblem, AuthSources, ResolvedAuth};
use super::bind::{self, BindError, BindRequest, ExposureRefusal, HostFacts, ResolvedBind};
use super::client::TrustedProxies;
use super::host::{HostNames, HostPolicy};
use crate::config::schema::Config;
use crate::config::schema::gateway::{
    AuthMode, BindMode, DEFAULT_PORT, GatewayConfig, GatewayMode, ReloadMode, TailscaleMode,
};

/// The inputs of [`plan_start`].
#[derive(Debug, Clone, Copy)]
pub struct StartInputs<'a> {
    pub config: &'a Config,
    /// `gateway.auth.token` with any SecretRef resolved.
    pub config_token: Option<&'a str>,
    pub config_password: Option<&'a str>,
    pub env_token: Option<&'a str>,
    pub env_password: Option<&'a str>,
    /// `OPENCLAW_GATEWAY_PORT`.
    pub env_port: Option<&'a str>,
    pub cli_port: Option<u16>,
    pub cli_bind: Option<BindRequest>,
    pub facts: &'a HostFacts,
}

/// How the gateway will authenticate.
#[derive(Debug, Clone)]
pub enum AuthPlan {
    Ready(ResolvedAuth),
    /// Token mode without a token, on loopback: the caller generates one, stores it in the
    /// config and tells the operator.
    GenerateToken,
}

/// A decision to start.
#[derive(Debug, Clone)]
pub struct StartPlan {
    pub port: u16,
    pub bind: ResolvedBind,
    pub auth: AuthPlan,
    pub trusted_proxies: TrustedProxies,
    /// The host names requests may address.
    pub hosts: HostPolicy,
    /// Things the operator should know (printed and logged, never fatal).
    pub warnings: Vec<String>,
}

/// Why the gateway refuses to start (exit code 78, like OpenClaw's `EXIT_CONFIG_ERROR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartRefusal {
    RemoteMode,
    BadPortEnv(String),
    Bind(BindError),
    Auth(AuthProblem),
    Exposure(ExposureRefusal),
    PlaceholderExposed { field: &'static str },
    BadTrustedProxy { index: usize, entry: String },
    TailscaleNeedsLoopback,
    FunnelNeedsPassword,
    BadAllowedHost { index: usize, entry: String },
    TlsNotTerminated,
}

impl fmt::Display for StartRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RemoteMode => write!(
                f,
                "gateway start blocked: gateway.mode is \"remote\" (this machine is configured as a client of a gateway elsewhere); set gateway.mode to \"local\" to run the gateway here"
            ),
            Self::BadPortEnv(value) => write!(
                f,
                "OPENCLAW_GATEWAY_PORT=\"{value}\" is not a port; use a number from 1 to 65535 (or host:port)"
            ),
            Self::Bind(e) => e.fmt(f),
            Self::Auth(e) => e.fmt(f),
            Self::Exposure(e) => e.fmt(f),
            Self::PlaceholderExposed { field } => write!(
                f,
                "refusing to bind beyond loopback with the documentation placeholder in gateway.auth.{field}: it is published, so it protects nothing; generate a real token with `openclaw doctor --generate-gateway-token`"
            ),
            Self::BadTrustedProxy { index, entry } => write!(
                f,
                "gateway.trustedProxies[{index}] \"{entry}\" is not an IP address or CIDR (e.g. \"10.0.0.1\" or \"10.0.0.0/8\")"
            ),
            Self::TailscaleNeedsLoopback => write!(
                f,
                "gateway.tailscale.mode serve/funnel requires gateway.bind \"loopback\" (Tailscale is then the only way in)"
            ),
            Self::FunnelNeedsPassword => write!(
                f,
                "tailscale funnel (public internet) requires gateway.auth.mode \"password\"; set it and gateway.auth.password, or use tailscale mode \"serve\""
            ),
            Self::BadAllowedHost { index, entry } => write!(
                f,
                "gateway.allowedHosts[{index}] \"{entry}\" is not a host name or address; write it as \"gw.example.com\", \"*.example.com\" or \"192.168.1.10\" (no scheme or path)"
            ),
            Self::TlsNotTerminated => write!(
                f,
                "gateway.tls.enabled is true, but this gateway does not terminate TLS and would serve plain HTTP; put a reverse proxy (Caddy, nginx) or `tailscale serve` in front for HTTPS, then set gateway.tls.enabled to false"
            ),
        }
    }
}

/// Parses `OPENCLAW_GATEWAY_PORT`: `18789`, `0.0.0.0:18789` or `[::]:18789` (compose files leak
/// the latter forms).
pub fn parse_port_env(value: &str) -> Option<u16> {
    let value = value.trim();
    value
        .parse::<u16>()
        .ok()
        .or_else(|| value.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()))
}

/// Decides how to start.
pub fn plan_start(inputs: &StartInputs<'_>) -> Result<StartPlan, StartRefusal> {
    let gateway = inputs.config.gateway.clone().unwrap_or_default();
    let mut warnings = Vec::new();
    match gateway.mode {
        Some(GatewayMode::Remote) => return Err(StartRefusal::RemoteMode),
        Some(GatewayMode::Local) => {}
        None => warnings.push(
            "gateway.mode is unset; running as \"local\" (set gateway.mode: \"local\" to make this explicit)"
                .to_string(),
        ),
    }
    let env_port = match inputs.env_port.filter(|v| !v.trim().is_empty()) {
        Some(value) => Some(parse_port_env(value).ok_or_else(|| StartRefusal::BadPortEnv(value.to_string()))?),
        None => None,
    };
    let port = inputs.cli_port.or(env_port).or(gateway.port).unwrap_or(DEFAULT_PORT);

    let tailscale = gateway
        .tailscale
        .as_ref()
        .and_then(|t| t.mode)
        .unwrap_or(TailscaleMode::Off);
    let request = inputs.cli_bind.unwrap_or(BindRequest::Mode(gateway.bind()));
    let bind =
        bind::resolve_bind(request, gateway.custom_bind_host.as_deref(), inputs.facts).map_err(StartRefusal::Bind)?;
    let auth_config = gateway.auth.clone().unwrap_or_default();
    if tailscale != TailscaleMode::Off {
        if !bind.is_loopback() {
            return Err(StartRefusal::TailscaleNeedsLoopback);
        }
        if tailscale == TailscaleMode::Funnel && auth_config.mode != Some(AuthMode::Password) {
            return Err(StartRefusal::FunnelNeedsPassword);
        }
        let command = if tailscale == TailscaleMode::Serve {
            "serve"
        } else {
            "funnel"
        };
        warnings.push(format!(
            "gateway.tailscale.mode is \"{command}\": this gateway does not run `tailscale` itself; publish port {port} with `tailscale {command} {port}`, and add the machine's ts.net name to gateway.allowedHosts so requests naming it are answered"
        ));
    }

    let sources = AuthSources {
        mode: auth_config.mode,
        config_token: inputs.config_token,
        config_password: inputs.config_password,
        env_token: inputs.env_token,
        env_password: inputs.env_password,
    };
    let auth = match auth::resolve_auth(&sources) {
        Ok(auth) => {
            bind::check_exposure(&bind, auth.has_credential()).map_err(StartRefusal::Exposure)?;
            if let Some(field) = auth::placeholder_in_use(&sources, &auth) {
                if !bind.is_loopback() {
                    return Err(StartRefusal::PlaceholderExposed { field });
                }
                warnings.push(format!(
                    "gateway.auth.{field} is a documentation placeholder; replace it (`openclaw doctor --generate-gateway-token`)"
                ));
            }
            if matches!(auth, ResolvedAuth::None) {
                warnings.push(
                    "gateway auth mode=none: only direct local clients (loopback, no proxy headers) are admitted"
                        .to_string(),
                );
            }
            AuthPlan::Ready(auth)
        }
        // Only on loopback: a token nobody chose cannot have been given to a remote client.
        Err(AuthProblem::TokenMissing) if bind.is_loopback() => AuthPlan::GenerateToken,
        Err(AuthProblem::TokenMissing) => {
            return Err(StartRefusal::Exposure(ExposureRefusal { bind }));
        }
        Err(problem) => return Err(StartRefusal::Auth(problem)),
    };
    let entries = gateway.trusted_proxies.clone().unwrap_or_default();
    let trusted_proxies =
        TrustedProxies::parse(&entries).map_err(|(index, entry)| StartRefusal::BadTrustedProxy { index, entry })?;
    if bind.mode == BindMode::Auto && !bind.is_loopback() {
        warnings.push("gateway.bind=auto chose every interface (a container was detected)".to_string());
    }
    if gateway.custom_bind_host.is_some() && bind.mode != BindMode::Custom {
        warnings.push(format!(
            "gateway.customBindHost is used only with bind \"custom\"; this start binds {} (bind={})",
            bind.ip,
            bind.mode.as_str()
        ));
    }
    warnings.extend(unimplemented_settings(&gateway)?);
    let ui = gateway.control_ui.clone().unwrap_or_default();
    let hosts = HostPolicy::new(&HostNames {
        bind_ip: bind.ip,
        interface_addrs: &inputs.facts.interface_addrs,
        machine_name: inputs.facts.host_name.as_deref(),
        allowed_hosts: gateway.allowed_hosts.as_deref().unwrap_or_default(),
        allowed_origins: ui.allowed_origins.as_deref().unwrap_or_default(),
    })
    .map_err(|(index, entry)| StartRefusal::BadAllowedHost { index, entry })?;
    Ok(StartPlan {
        port,
        bind,
        auth,
        trusted_proxies,
        hosts,
        warnings,
    })
}

/// Gateway settings the schema accepts that this gateway does not act on. Ignoring one is a
/// refusal where it would leave the operator less protected than the setting says (TLS), and a
/// warning where it grants or changes nothing here.
pub fn unimplemented_settings(gateway: &GatewayConfig) -> Result<Vec<String>, StartRefusal> {
    let mut warnings = Vec::new();
    if let Some(tls) = &gateway.tls {
        if tls.enabled == Some(true) {
            return Err(StartRefusal::TlsNotTerminated);
        }
        let set: Vec<&str> = [
            ("autoGenerate", tls.auto_generate.is_some()),
            ("certPath", tls.cert_path.is_some()),
            ("keyPath", tls.key_path.is_some()),
            ("caPath", tls.ca_path.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(key, _)| *key)
        .collect();
        if !set.is_empty() {
            warnings.push(format!(
                "gateway.tls.{} has no effect: this gateway does not terminate TLS (use a reverse proxy or `tailscale serve` for HTTPS)",
                set.join(", gateway.tls.")
            ));
        }
    }
    let auth = gateway.auth.clone().unwrap_or_default();
    if auth.allow_tailscale == Some(true) {
        warnings.push(
            "gateway.auth.allowTailscale is true, but Tailscale identity headers are not accepted here (not implemented): every client still needs the token or password".to_string(),
        );
    }
    if auth.trusted_proxy.is_some() && auth.mode != Some(AuthMode::TrustedProxy) {
        warnings.push(
            "gateway.auth.trustedProxy is read only with auth mode \"trusted-proxy\"; it has no effect".to_string(),
        );
    }
    if let Some(ui) = &gateway.control_ui {
        let no_ui = [
            ("enabled", ui.enabled == Some(true)),
            ("basePath", ui.base_path.is_some()),
            ("root", ui.root.is_some()),
            ("allowInsecureAuth", ui.allow_insecure_auth == Some(true)),
            (
                "dangerouslyDisableDeviceAuth",
                ui.dangerously_disable_device_auth == Some(true),
            ),
            ("embedSandbox", ui.embed_sandbox.is_some()),
            ("allowExternalEmbedUrls", ui.allow_external_embed_urls == Some(true)),
        ];
        for (key, set) in no_ui {
            if set {
                warnings.push(format!(
                    "gateway.controlUi.{key} has no effect: this gateway serves no Control UI yet"
                ));
            }
        }
    }
    if gateway.tailscale.as_ref().and_then(|t| t.reset_on_exit) == Some(true) {
        warnings.push(
            "gateway.tailscale.resetOnExit has no effect: this gateway does not run `tailscale serve`/`funnel` itself, so it has nothing to reset".to_string(),
        );
    }
    if gateway.remote.is_some() {
        warnings.push(
            "gateway.remote is client configuration for reaching another gateway; no command here uses it yet, and it does not affect this gateway".to_string(),
        );
    }
    if let Some(reload) = &gateway.reload
        && (reload.mode.is_some_and(|m| m != ReloadMode::Off)
            || reload.debounce_ms.is_some()
            || reload.deferral_timeout_ms.is_some())
    {
        warnings.push(
            "gateway.reload is not implemented: config changes (a rotated token included) take effect only when the gateway restarts".to_string(),
        );
    }
    if gateway.nodes.is_some() {
        warnings
            .push("gateway.nodes has no effect: this gateway has no nodes yet, so no node command can run".to_string());
    }
    if let Some(endpoints) = gateway.http.as_ref().and_then(|h| h.endpoints.as_ref()) {
        // `chatCompletions` is served (gateway/openai.rs); only `responses` is not.
        for (key, endpoint, route) in [("responses", &endpoints.responses, "/v1/responses")] {
            if endpoint.as_ref().and_then(|e| e.enabled) == Some(true) {
                warnings.push(format!(
                    "gateway.http.endpoints.{key}.enabled: this gateway does not serve POST {route} yet (it answers 404)"
                ));
            }
        }
    }
    for key in gateway.compat.keys() {
        warnings.push(format!(
            "gateway.{key} is accepted for compatibility with OpenClaw but has no effect here"
        ));
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::config::schema::gateway::{GatewayAuthConfig, GatewayConfig, TailscaleConfig};

    fn config(gateway: GatewayConfig) -> Config {
        Config {
            gateway: Some(gateway),
            ..Config::default()
        }
    }

    fn inputs<'a>(config: &'a Config, facts: &'a HostFacts) -> StartInputs<'a> {
        StartInputs {
            config,
            config_token: None,
            config_password: None,
            env_token: None,
            env_password: None,
            env_port: None,
            cli_port: None,
            cli_bind: None,
            facts,
        }
    }

    #[test]
    fn port_precedence() {
        let facts = HostFacts::default();
        let cfg = config(GatewayConfig {
            port: Some(20000),
            ..Default::default()
        });
        let mut i = inputs(&cfg, &facts);
        assert_eq!(plan_start(&i).unwrap().port, 20000);
        i.env_port = Some("[::]:20001");
        assert_eq!(plan_start(&i).unwrap().port, 20001);
        i.cli_port = Some(20002);
        assert_eq!(plan_start(&i).unwrap().port, 20002);
        i.cli_port = None;
        i.env_port = Some("eighty");
        assert_eq!(plan_start(&i).err(), Some(StartRefusal::BadPortEnv("eighty".into())));
        let empty = Config::default();
        assert_eq!(plan_start(&inputs(&empty, &facts)).unwrap().port, 18789);
    }

    #[test]
    fn first_run_on_loopback_generates_a_token_and_lan_refuses() {
        let facts = HostFacts::default();
        let empty = Config::default();
        let plan = plan_start(&inputs(&empty, &facts)).unwrap();
        assert!(matches!(plan.auth, AuthPlan::GenerateToken));
        let mut i = inputs(&empty, &facts);
        i.cli_bind = Some(BindRequest::Mode(BindMode::Lan));
        assert!(matches!(plan_start(&i), Err(StartRefusal::Exposure(_))));
        i.env_token = Some("0123456789abcdef0123456789abcdef");
        assert!(plan_start(&i).is_ok());
    }

    #[test]
    fn remote_mode_tailscale_and_placeholders() {
        let facts = HostFacts::default();
        let remote = config(GatewayConfig {
            mode: Some(GatewayMode::Remote),
            ..Default::default()
        });
        assert_eq!(
            plan_start(&inputs(&remote, &facts)).err(),
            Some(StartRefusal::RemoteMode)
        );
        let funnel = config(GatewayConfig {
            tailscale: Some(TailscaleConfig {
                mode: Some(TailscaleMode::Funnel),
                reset_on_exit: None,
            }),
            ..Default::default()
        });
        assert_eq!(
            plan_start(&inputs(&funnel, &facts)).err(),
            Some(StartRefusal::FunnelNeedsPassword)
        );
        let lan = config(GatewayConfig {
            bind: Some(BindMode::Lan),
            ..Default::default()
        });
        let mut i = inputs(&lan, &facts);
        i.config_token = Some("replace-with-long-random-token");
        assert_eq!(
            plan_start(&i).err(),
            Some(StartRefusal::PlaceholderExposed { field: "token" })
        );
        let loopback = Config::default();
        let mut i = inputs(&loopback, &facts);
        i.config_token = Some("replace-with-long-random-token");
        let plan = plan_start(&i).unwrap();
        assert!(plan.warnings.iter().any(|w| w.contains("placeholder")));
    }

    #[test]
    fn bad_trusted_proxy_names_the_entry() {
        let facts = HostFacts::default();
        let cfg = config(GatewayConfig {
            trusted_proxies: Some(vec!["127.0.0.1".into(), "nginx".into()]),
            ..Default::default()
        });
        let mut i = inputs(&cfg, &facts);
        i.env_token = Some("0123456789abcdef0123456789abcdef");
        assert_eq!(
            plan_start(&i).err(),
            Some(StartRefusal::BadTrustedProxy {
                index: 1,
                entry: "nginx".into()
            })
        );
    }

    /// Every gateway setting the schema accepts and this gateway does not act on: refused when
    /// ignoring it would leave the operator less protected than it says, a warning naming the key
    /// otherwise.
    #[test]
    fn unimplemented_settings_refuse_or_warn() {
        let cases: &[(serde_json::Value, Result<&str, StartRefusal>)] = &[
            (json!({"tls": {"enabled": true}}), Err(StartRefusal::TlsNotTerminated)),
            (
                json!({"tls": {"enabled": false, "certPath": "/c.pem"}}),
                Ok("gateway.tls.certPath"),
            ),
            (
                json!({"auth": {"allowTailscale": true}}),
                Ok("gateway.auth.allowTailscale"),
            ),
            (
                json!({"auth": {"trustedProxy": {"userHeader": "x-user"}}}),
                Ok("gateway.auth.trustedProxy"),
            ),
            (json!({"controlUi": {"enabled": true}}), Ok("gateway.controlUi.enabled")),
            (
                json!({"controlUi": {"basePath": "/ui"}}),
                Ok("gateway.controlUi.basePath"),
            ),
            (json!({"controlUi": {"root": "/srv/ui"}}), Ok("gateway.controlUi.root")),
            (
                json!({"controlUi": {"allowInsecureAuth": true}}),
                Ok("gateway.controlUi.allowInsecureAuth"),
            ),
            (
                json!({"controlUi": {"dangerouslyDisableDeviceAuth": true}}),
                Ok("gateway.controlUi.dangerouslyDisableDeviceAuth"),
            ),
            (
                json!({"controlUi": {"embedSandbox": "strict"}}),
                Ok("gateway.controlUi.embedSandbox"),
            ),
            (
                json!({"controlUi": {"allowExternalEmbedUrls": true}}),
                Ok("gateway.controlUi.allowExternalEmbedUrls"),
            ),
            (
                json!({"tailscale": {"resetOnExit": true}}),
                Ok("gateway.tailscale.resetOnExit"),
            ),
            (json!({"remote": {"url": "wss://gw.example"}}), Ok("gateway.remote")),
            (json!({"reload": {"mode": "hybrid"}}), Ok("gateway.reload")),
            (json!({"nodes": {"denyCommands": ["system.run"]}}), Ok("gateway.nodes")),
            (
                json!({"http": {"endpoints": {"responses": {"enabled": true, "maxBodyBytes": 1}}}}),
                Ok("gateway.http.endpoints.responses"),
            ),
            (json!({"webchat": {}}), Ok("gateway.webchat")),
            (json!({"push": {}}), Ok("gateway.push")),
            (
                json!({"channelMaxRestartsPerHour": 3}),
                Ok("gateway.channelMaxRestartsPerHour"),
            ),
        ];
        for (config, want) in cases {
            let gateway: GatewayConfig = serde_json::from_value(config.clone()).unwrap();
            match (unimplemented_settings(&gateway), want) {
                (Ok(warnings), Ok(key)) => assert!(
                    warnings.iter().any(|w| w.starts_with(key)),
                    "{config}: no warning starting with {key}: {warnings:?}"
                ),
                (Err(got), Err(want)) => assert_eq!(&got, want, "{config}"),
                (got, _) => panic!("{config}: {got:?}"),
            }
        }
        // Settings that are implemented, or off, say nothing.
        let quiet: GatewayConfig = serde_json::from_value(json!({
            "controlUi": {"enabled": false, "allowedOrigins": ["https://a.example"], "allowInsecureAuth": false},
            "tls": {"enabled": false},
            "reload": {"mode": "off"},
            "http": {"endpoints": {"chatCompletions": {"enabled": true}},
                     "securityHeaders": {"strictTransportSecurity": "max-age=63072000"}},
            "allowedHosts": ["gw.example.com"],
            "tools": {"deny": ["exec"]},
        }))
        .unwrap();
        assert_eq!(unimplemented_settings(&quiet), Ok(Vec::new()));
        assert!(StartRefusal::TlsNotTerminated.to_string().contains("tailscale serve"));
    }

    #[test]
    fn a_custom_bind_host_without_bind_custom_is_a_warning() {
        let facts = HostFacts::default();
        let cfg = config(GatewayConfig {
            custom_bind_host: Some("192.168.1.10".into()),
            ..Default::default()
        });
        let plan = plan_start(&inputs(&cfg, &facts)).unwrap();
        assert!(
            plan.warnings.iter().any(|w| w.starts_with("gateway.customBindHost")),
            "{:?}",
            plan.warnings
        );
    }

    #[test]
    fn allowed_hosts_are_checked_before_listening() {
        let facts = HostFacts {
            host_name: Some("box".into()),
            ..HostFacts::default()
        };
        let cfg = config(GatewayConfig {
            allowed_hosts: Some(vec!["gw.example.com".into(), "https://gw.example.com/".into()]),
            ..Default::default()
        });
        assert_eq!(
            plan_start(&inputs(&cfg, &facts)).err(),
            Some(StartRefusal::BadAllowedHost {
                index: 1,
                entry: "https://gw.example.com/".into()
            })
        );
        let cfg = config(GatewayConfig {
            allowed_hosts: Some(vec!["gw.example.com".into()]),
            ..Default::default()
        });
        let plan = plan_start(&inputs(&cfg, &facts)).unwrap();
        for host in ["gw.example.com", "box.local:18789", "localhost:18789"] {
            assert!(plan.hosts.check(Some(host), None, false).is_ok(), "{host}");
        }
        assert!(plan.hosts.check(Some("evil.example"), None, false).is_err());
    }

    fn bind_modes() -> impl Strategy<Value = BindMode> {
        prop_oneof![
            Just(BindMode::Loopback),
            Just(BindMode::Lan),
            Just(BindMode::Tailnet),
            Just(BindMode::Auto),
            Just(BindMode::Custom),
        ]
    }

    fn auth_modes() -> impl Strategy<Value = Option<AuthMode>> {
        prop_oneof![
            Just(None),
            Just(Some(AuthMode::None)),
            Just(Some(AuthMode::Token)),
            Just(Some(AuthMode::Password)),
            Just(Some(AuthMode::TrustedProxy)),
        ]
    }

    fn secret() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            Just(Some(String::new())),
            Just(Some("replace-with-long-random-token".to_string())),
            "[a-f0-9]{8,48}".prop_map(Some),
        ]
    }

    fn custom_host() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            Just(Some("127.0.0.1".to_string())),
            Just(Some("127.0.0.9".to_string())),
            Just(Some("0.0.0.0".to_string())),
            Just(Some("192.168.1.10".to_string())),
            Just(Some("::".to_string())),
            Just(Some("::1".to_string())),
            Just(Some("not-an-ip".to_string())),
        ]
    }

    fn cli_bind() -> impl Strategy<Value = Option<BindRequest>> {
        prop_oneof![
            Just(None),
            bind_modes().prop_map(|m| Some(BindRequest::Mode(m))),
            Just(Some(BindRequest::Address(IpAddr::from([0, 0, 0, 0])))),
            Just(Some(BindRequest::Address(IpAddr::from([10, 1, 2, 3])))),
            Just(Some(BindRequest::Address(IpAddr::from([127, 0, 0, 1])))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// OpenClaw's formal "gateway exposure" claim: the gateway listens on an address other
        /// machines can reach only if a token or password is configured, and auth mode none
        /// never leaves loopback.
        #[test]
        fn no_exposure_without_a_credential(
            bind in bind_modes(),
            mode in auth_modes(),
            token in secret(),
            password in secret(),
            env_token in secret(),
            env_password in secret(),
            custom in custom_host(),
            cli in cli_bind(),
            in_container in any::<bool>(),
            tailnet in any::<bool>(),
            tailscale in prop_oneof![Just(None), Just(Some(TailscaleMode::Off)), Just(Some(TailscaleMode::Serve)), Just(Some(TailscaleMode::Funnel))],
        ) {
            let cfg = config(GatewayConfig {
                bind: Some(bind),
                custom_bind_host: custom,
                tailscale: tailscale.map(|m| TailscaleConfig { mode: Some(m), reset_on_exit: None }),
                auth: Some(GatewayAuthConfig { mode, ..Default::default() }),
                ..Default::default()
            });
            let facts = HostFacts {
                interface_addrs: if tailnet { vec![IpAddr::from([100, 90, 1, 2])] } else { vec![IpAddr::from([192, 168, 1, 10])] },
                in_container,
                host_name: None,
            };
            let i = StartInputs {
                config: &cfg,
                config_token: token.as_deref(),
                config_password: password.as_deref(),
                env_token: env_token.as_deref(),
                env_password: env_password.as_deref(),
                env_port: None,
                cli_port: None,
                cli_bind: cli,
                facts: &facts,
            };
            if let Ok(plan) = plan_start(&i) {
                if !plan.bind.is_loopback() {
                    let credential = match &plan.auth {
                        AuthPlan::Ready(auth) => auth.has_credential(),
                        AuthPlan::GenerateToken => false,
                    };
                    prop_assert!(credential, "listens on {} without a credential: {:?}", plan.bind.ip, plan.auth);
                    let operator_set = [&token, &password, &env_token, &env_password]
                        .iter()
                        .any(|s| s.as_deref().is_some_and(|v| !v.trim().is_empty() && !auth::is_placeholder(v)));
                    prop_assert!(operator_set, "exposed with a credential the operator did not set");
                }
                if let AuthPlan::Ready(ResolvedAuth::None) = plan.auth {
                    prop_assert!(plan.bind.is_loopback());
                }
            }
        }
    }
}
