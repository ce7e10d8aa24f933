//! Advice for keys that are in the wrong place, beyond "did you mean".
//!
//! These are the mistakes OpenClaw users actually make (and that OpenClaw's own CLI hints at):
//! a gateway token written at `gateway.token`, gateway auth written at the root `auth`, newer
//! OpenClaw shapes that this gateway reads in their older form.

use super::path::JsonPath;

/// A specific fix for `key` found under `parent`, if we know one.
pub fn moved_key_hint(parent: &JsonPath, key: &str) -> Option<String> {
    let parent = parent.to_string();
    let hint = match (parent.as_str(), key) {
        ("gateway", "token") => "the gateway token goes in gateway.auth.token (or the OPENCLAW_GATEWAY_TOKEN variable)",
        ("gateway", "password") => "the gateway password goes in gateway.auth.password (or OPENCLAW_GATEWAY_PASSWORD)",
        ("gateway", "rateLimit") => "rate limiting is configured at gateway.auth.rateLimit",
        ("gateway", "allowedOrigins") => "allowed origins are configured at gateway.controlUi.allowedOrigins",
        ("gateway", "trustedProxy") => {
            "the proxy list is gateway.trustedProxies; trusted-proxy auth settings are gateway.auth.trustedProxy"
        }
        ("<root>", "mdns") => "mDNS is configured at discovery.mdns.mode (\"off\", \"minimal\" or \"full\")",
        ("<root>", "sandbox") => "sandboxing is configured per agent: agents.defaults.sandbox or agents.list[].sandbox",
        ("<root>", "dmPolicy" | "allowFrom" | "groupPolicy") => {
            "access policies are per channel, for example channels.telegram.dmPolicy"
        }
        ("<root>", "elevated") => "elevated exec is configured at tools.elevated",
        ("auth", "token" | "password" | "mode") => {
            "root `auth` holds model-provider profiles; the gateway's own auth is gateway.auth"
        }
        ("agents", "entries") => {
            "agents.entries is the keyed shape of OpenClaw 2026.5+; this gateway reads agents.list: [{id: \"main\", ...}]"
        }
        ("tools", "sandboxTools") => "sandbox tool policy is tools.sandbox.tools",
        _ => return None,
    };
    Some(hint.to_string())
}

/// Extra advice for an invalid value at `path`, beyond the list of allowed values.
pub fn value_hint(path: &JsonPath) -> Option<&'static str> {
    match path.to_string().as_str() {
        "gateway.bind" => Some("an IP address is also accepted: \"127.0.0.1\" means loopback, \"0.0.0.0\" means lan"),
        "logging.redactSensitive" => {
            Some("\"tools\" (the default) masks secrets; \"full\" also hides whole sensitive fields")
        }
        _ => None,
    }
}
