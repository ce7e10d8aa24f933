//! `gateway.*` and `discovery.*`: the network face of the assistant.

use schemars::JsonSchema;
use serde::Deserialize;

use super::common::{Opaque, SecretInput, accept_opaque_keys};

/// Default port for HTTP and WebSocket.
pub const DEFAULT_PORT: u16 = 18789;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GatewayMode {
    /// This machine runs the gateway.
    Local,
    /// The CLI talks to a gateway elsewhere (`gateway.remote`).
    Remote,
}

/// Where the gateway listens. An IP literal is also accepted and read as the matching mode
/// (`"127.0.0.1"` is `loopback`, `"0.0.0.0"` is `lan`, any other address is `custom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BindMode {
    /// 127.0.0.1 only (default): nothing off this machine can connect.
    Loopback,
    /// 0.0.0.0: every interface. Requires a token or password.
    Lan,
    /// The host's Tailscale address (100.64.0.0/10). Requires a token or password.
    Tailnet,
    /// 0.0.0.0 inside a container, 127.0.0.1 otherwise.
    Auto,
    /// `gateway.customBindHost`. Requires a token or password unless it is a loopback address.
    Custom,
}

impl BindMode {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Lan => "lan",
            Self::Tailnet => "tailnet",
            Self::Auto => "auto",
            Self::Custom => "custom",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// No authentication. Only possible on a loopback bind.
    None,
    /// A shared bearer token (recommended).
    Token,
    /// A shared password (HTTP Basic or the WebSocket connect frame).
    Password,
    /// An identity-aware reverse proxy in `gateway.trustedProxies` authenticates users.
    TrustedProxy,
}

/// `gateway.auth.rateLimit`. Unlike OpenClaw, limiting is on by default for every bind,
/// loopback included: a local process guessing tokens is still guessing tokens.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitConfig {
    /// Failed attempts per client address within `windowMs` before lockout.
    #[schemars(range(min = 1), extend("default" = 10))]
    pub max_attempts: Option<u32>,
    /// Sliding window for counting failures, in milliseconds.
    #[schemars(range(min = 1), extend("default" = 60000))]
    pub window_ms: Option<u64>,
    /// How long a locked-out address is refused, in milliseconds.
    #[schemars(extend("default" = 300000))]
    pub lockout_ms: Option<u64>,
    /// Skip limiting for loopback clients (OpenClaw's default; ours is `false`).
    #[schemars(extend("default" = false))]
    pub exempt_loopback: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrustedProxyAuthConfig {
    /// Header carrying the authenticated user (e.g. `x-forwarded-user`).
    #[schemars(length(min = 1))]
    pub user_header: String,
    /// Headers that must be present and non-empty on every request.
    pub required_headers: Option<Vec<String>>,
    /// Users allowed in; empty means every user the proxy authenticated.
    pub allow_users: Option<Vec<String>>,
    /// Accept a proxy running on loopback.
    pub allow_loopback: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewayAuthConfig {
    /// Auth strategy; when unset: `password` if only a password is set, otherwise `token`.
    pub mode: Option<AuthMode>,
    /// Shared token. `OPENCLAW_GATEWAY_TOKEN` is used when this is unset.
    pub token: Option<SecretInput>,
    /// Shared password. `OPENCLAW_GATEWAY_PASSWORD` is used when this is unset.
    pub password: Option<SecretInput>,
    /// Accept Tailscale Serve identity headers (verified with `tailscale whois`).
    pub allow_tailscale: Option<bool>,
    pub rate_limit: Option<RateLimitConfig>,
    pub trusted_proxy: Option<TrustedProxyAuthConfig>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ControlUiConfig {
    /// Serve the Control UI.
    #[schemars(extend("default" = true))]
    pub enabled: Option<bool>,
    pub base_path: Option<String>,
    pub root: Option<String>,
    /// Browser origins allowed to open the WebSocket (`https://host:port`); required for a
    /// non-loopback bind.
    pub allowed_origins: Option<Vec<String>>,
    /// DANGEROUS: trust the Host header as the origin.
    pub dangerously_allow_host_header_origin_fallback: Option<bool>,
    /// Let a localhost Control UI connect with the token alone (no device identity).
    pub allow_insecure_auth: Option<bool>,
    /// DANGEROUS: skip device identity checks for the Control UI.
    pub dangerously_disable_device_auth: Option<bool>,
    pub embed_sandbox: Option<EmbedSandbox>,
    pub allow_external_embed_urls: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EmbedSandbox {
    Strict,
    Scripts,
    Trusted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TailscaleMode {
    Off,
    /// Tailnet-only HTTPS in front of a loopback gateway.
    Serve,
    /// Public HTTPS; requires password auth.
    Funnel,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TailscaleConfig {
    #[schemars(extend("default" = "off"))]
    pub mode: Option<TailscaleMode>,
    pub reset_on_exit: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RemoteTransport {
    Ssh,
    Direct,
}

/// Client settings for reaching a gateway on another machine; they do not protect this one.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RemoteConfig {
    pub url: Option<String>,
    pub transport: Option<RemoteTransport>,
    pub token: Option<SecretInput>,
    pub password: Option<SecretInput>,
    /// SHA-256 fingerprint of the remote TLS certificate.
    pub tls_fingerprint: Option<String>,
    pub ssh_target: Option<String>,
    pub ssh_identity: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReloadMode {
    Off,
    Restart,
    Hot,
    Hybrid,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReloadConfig {
    #[schemars(extend("default" = "hybrid"))]
    pub mode: Option<ReloadMode>,
    pub debounce_ms: Option<u64>,
    pub deferral_timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsConfig {
    pub enabled: Option<bool>,
    pub auto_generate: Option<bool>,
    pub cert_path: Option<String>,
    pub key_path: Option<String>,
    pub ca_path: Option<String>,
}

/// `gateway.http.endpoints.<name>`: one of OpenClaw's OpenAI-compatible HTTP endpoints, off
/// unless enabled. `chatCompletions` is served; `responses` is not yet (enabling it is a start-up
/// warning). Their limits are accepted so an OpenClaw config loads.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = http_endpoint_compat)]
pub struct HttpEndpointConfig {
    #[schemars(extend("default" = false))]
    pub enabled: Option<bool>,
    #[serde(flatten)]
    #[schemars(skip)]
    pub compat: Opaque,
}

fn http_endpoint_compat(schema: &mut schemars::Schema) {
    accept_opaque_keys(
        schema,
        &[
            "maxBodyBytes",
            "maxImageParts",
            "maxTotalImageBytes",
            "maxUrlParts",
            "images",
            "files",
        ],
    );
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpEndpointsConfig {
    /// `POST /v1/chat/completions`.
    pub chat_completions: Option<HttpEndpointConfig>,
    /// `POST /v1/responses`.
    pub responses: Option<HttpEndpointConfig>,
}

/// `false`, the only boolean `strictTransportSecurity` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disabled;

impl<'de> Deserialize<'de> for Disabled {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match bool::deserialize(deserializer)? {
            false => Ok(Self),
            true => Err(serde::de::Error::custom(
                "expected false or a header value such as \"max-age=31536000\"",
            )),
        }
    }
}

impl JsonSchema for Disabled {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Disabled".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"const": false, "title": "false"})
    }
}

/// `Strict-Transport-Security`: a header value, or `false` for none.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StrictTransportSecurity {
    #[schemars(title = "a header value such as \"max-age=31536000; includeSubDomains\"")]
    Value(#[schemars(regex(pattern = r"^[ -~]*$"))] String),
    Off(Disabled),
}

impl StrictTransportSecurity {
    /// The header value to send, if any (`false` and an empty string send none).
    pub fn header(&self) -> Option<&str> {
        match self {
            Self::Value(v) if !v.trim().is_empty() => Some(v.trim()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecurityHeadersConfig {
    /// Sent on every HTTP response when it is a string (meaningful when a TLS proxy serves the
    /// gateway). `false` or absent: not sent.
    pub strict_transport_security: Option<StrictTransportSecurity>,
}

/// `gateway.http`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewayHttpConfig {
    pub endpoints: Option<HttpEndpointsConfig>,
    pub security_headers: Option<SecurityHeadersConfig>,
}

/// Which tools `POST /tools/invoke` may run, on top of the built-in HTTP deny list.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewayToolsConfig {
    /// Tools removed from the default HTTP deny list (`exec`, `sessions_spawn`, ...). Dangerous.
    pub allow: Option<Vec<String>>,
    /// Extra tools denied over HTTP.
    pub deny: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeBrowserMode {
    Auto,
    Manual,
    Off,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeBrowserConfig {
    pub mode: Option<NodeBrowserMode>,
    pub node: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeCommandsConfig {
    pub allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodesConfig {
    pub browser: Option<NodeBrowserConfig>,
    /// Extra `node.invoke` commands allowed (audited).
    pub allow_commands: Option<Vec<String>>,
    /// Node commands always blocked (exact names).
    pub deny_commands: Option<Vec<String>>,
    /// Newer spelling of `allowCommands` / `denyCommands`.
    pub commands: Option<NodeCommandsConfig>,
    /// Node pairing policy (newer OpenClaw).
    pub pairing: Option<Opaque>,
}

/// `gateway.mdns`, an older spelling from some guides: `{enabled: false}` is
/// `discovery.mdns.mode: "off"`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LegacyMdnsConfig {
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = gateway_compat)]
pub struct GatewayConfig {
    /// Port for HTTP and WebSocket (`--port`, then `OPENCLAW_GATEWAY_PORT`, then this).
    #[schemars(range(min = 1), extend("default" = 18789))]
    pub port: Option<u16>,
    /// `local` runs the gateway here; `openclaw gateway run` requires it.
    pub mode: Option<GatewayMode>,
    #[schemars(extend("default" = "loopback"))]
    pub bind: Option<BindMode>,
    /// IPv4 address used when `bind` is `custom`.
    pub custom_bind_host: Option<String>,
    pub auth: Option<GatewayAuthConfig>,
    /// Reverse proxies (IPs or CIDRs) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Option<Vec<String>>,
    /// Use `X-Real-IP` when a trusted proxy sent no `X-Forwarded-For`.
    #[schemars(extend("default" = false))]
    pub allow_real_ip_fallback: Option<bool>,
    pub control_ui: Option<ControlUiConfig>,
    pub tailscale: Option<TailscaleConfig>,
    pub remote: Option<RemoteConfig>,
    pub reload: Option<ReloadConfig>,
    pub tls: Option<TlsConfig>,
    pub http: Option<GatewayHttpConfig>,
    /// Host names the gateway also answers to (`gw.example.com`, `*.example.com`), beyond
    /// loopback names, the address it listens on, this machine's name and the hosts of
    /// `controlUi.allowedOrigins`. A request naming any other host is refused (DNS rebinding).
    /// Not an OpenClaw key.
    pub allowed_hosts: Option<Vec<String>>,
    pub tools: Option<GatewayToolsConfig>,
    pub nodes: Option<NodesConfig>,
    /// Older spelling of `discovery.mdns` (see [`LegacyMdnsConfig`]).
    pub mdns: Option<LegacyMdnsConfig>,
    #[serde(flatten)]
    #[schemars(skip)]
    pub compat: Opaque,
}

fn gateway_compat(schema: &mut schemars::Schema) {
    accept_opaque_keys(
        schema,
        &[
            "webchat",
            "channelHealthCheckMinutes",
            "channelStaleEventThresholdMinutes",
            "channelMaxRestartsPerHour",
            "push",
        ],
    );
}

impl GatewayConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_PORT)
    }

    pub fn bind(&self) -> BindMode {
        self.bind.unwrap_or(BindMode::Loopback)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MdnsMode {
    /// No announcement.
    Off,
    /// Default: role, port and transport only.
    Minimal,
    /// Also `cliPath` and `sshPort` (leaks the install path and SSH availability).
    Full,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MdnsConfig {
    #[schemars(extend("default" = "minimal"))]
    pub mode: Option<MdnsMode>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WideAreaConfig {
    pub enabled: Option<bool>,
    pub domain: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiscoveryConfig {
    pub mdns: Option<MdnsConfig>,
    pub wide_area: Option<WideAreaConfig>,
}
