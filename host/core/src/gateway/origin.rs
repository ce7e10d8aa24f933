//! Which browser origins may open the operator WebSocket.
//!
//! A request without an `Origin` header is not from a browser (CLI, apps) and is not subject to
//! this check; it must still authenticate. A browser page must come from
//! `gateway.controlUi.allowedOrigins`, or be a loopback page talking to a direct local gateway,
//! or (dangerous, opt-in) name the same host as the `Host` header. This stops a web page the
//! operator happens to visit from driving the gateway with cross-site WebSocket requests.

/// Why an origin was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginRefusal {
    Malformed(String),
    NotAllowed(String),
}

impl std::fmt::Display for OriginRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(origin) => write!(f, "origin `{origin}` is not a valid browser origin"),
            Self::NotAllowed(origin) => write!(
                f,
                "origin `{origin}` is not allowed; add it to gateway.controlUi.allowedOrigins"
            ),
        }
    }
}

/// The inputs of the decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct OriginPolicy<'a> {
    pub allowed: &'a [String],
    pub host_header_fallback: bool,
}

/// Splits `scheme://host[:port]` into (host, full lowercased origin); `None` if malformed.
pub(crate) fn parse_origin(origin: &str) -> Option<(String, String)> {
    let lower = origin.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let host = if let Some(v6) = rest.strip_prefix('[') {
        format!("[{}]", v6.split(']').next()?)
    } else {
        rest.rsplit_once(':').map_or(rest, |(h, _)| h).to_string()
    };
    if host.is_empty() {
        return None;
    }
    Some((host, lower))
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host == "[::1]" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks the `Origin` of a WebSocket upgrade. `host_header` is the request's `Host`.
pub fn check_origin(
    origin: Option<&str>,
    host_header: Option<&str>,
    local_direct: bool,
    policy: &OriginPolicy<'_>,
) -> Result<(), OriginRefusal> {
    let Some(origin) = origin else { return Ok(()) };
    let Some((host, normalized)) = parse_origin(origin) else {
        // Includes the literal `null` of sandboxed frames and file:// pages.
        return Err(OriginRefusal::Malformed(origin.to_string()));
    };
    let listed = policy
        .allowed
        .iter()
        .map(|a| a.trim().trim_end_matches('/').to_ascii_lowercase())
        .any(|a| a == "*" || a == normalized);
    if listed {
        return Ok(());
    }
    if policy.host_header_fallback
        && host_header.is_some_and(|h| {
            let h = h.trim().to_ascii_lowercase();
            normalized.ends_with(&format!("://{h}"))
        })
    {
        return Ok(());
    }
    if local_direct && is_loopback_host(&host) {
        return Ok(());
    }
    Err(OriginRefusal::NotAllowed(origin.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_table() {
        let allowed = vec![
            "https://control.example.com".to_string(),
            "http://10.0.0.2:18789/".to_string(),
        ];
        let policy = OriginPolicy {
            allowed: &allowed,
            host_header_fallback: false,
        };
        let cases: &[(Option<&str>, bool, bool)] = &[
            (None, false, true),
            (Some("https://control.example.com"), false, true),
            (Some("HTTPS://Control.Example.com"), false, true),
            (Some("http://10.0.0.2:18789"), false, true),
            (Some("https://control.example.com.evil.net"), false, false),
            (Some("https://evil.example"), true, false),
            (Some("null"), true, false),
            (Some("file://"), true, false),
            (Some("http://localhost:18789"), true, true),
            (Some("http://127.0.0.1:5173"), true, true),
            (Some("http://[::1]:5173"), true, true),
            // A loopback page through a proxy (not direct) is just another page.
            (Some("http://localhost:18789"), false, false),
        ];
        for (origin, local, ok) in cases {
            assert_eq!(
                check_origin(*origin, Some("gw:18789"), *local, &policy).is_ok(),
                *ok,
                "{origin:?} local={local}"
            );
        }
    }

    #[test]
    fn wildcard_and_host_fallback() {
        let star = vec!["*".to_string()];
        let policy = OriginPolicy {
            allowed: &star,
            host_header_fallback: false,
        };
        assert!(check_origin(Some("https://anything.example"), None, false, &policy).is_ok());
        let fallback = OriginPolicy {
            allowed: &[],
            host_header_fallback: true,
        };
        assert!(
            check_origin(
                Some("https://gw.example:8443"),
                Some("gw.example:8443"),
                false,
                &fallback
            )
            .is_ok()
        );
        assert!(check_origin(Some("https://evil.example"), Some("gw.example:8443"), false, &fallback).is_err());
    }
}
