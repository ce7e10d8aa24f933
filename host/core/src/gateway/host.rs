//! Which host names a request may address (the defence against DNS rebinding).
//!
//! A web page the operator visits can make its own name (`evil.example`) resolve to 127.0.0.1 or
//! to the gateway's LAN address; the browser then treats the gateway as part of that page's site
//! and lets the page read its answers. What the page cannot change is the `Host` header the
//! browser sends: it names the page's host. So the gateway answers only requests naming a host it
//! is known by:
//! - a loopback name (`localhost`, `*.localhost`, which browsers resolve to loopback themselves)
//!   or a loopback address (`127.0.0.0/8`, `[::1]`);
//! - the address it listens on; for a wildcard bind (`0.0.0.0`, `::`), any address of this
//!   machine's interfaces;
//! - this machine's host name, and `<name>.local`;
//! - the host of an entry in `gateway.controlUi.allowedOrigins`, or an entry of
//!   `gateway.allowedHosts` (exact, or `*.example.com` for its subdomains).
//!
//! Behind a trusted proxy (`gateway.trustedProxies`) the public name travels in
//! `X-Forwarded-Host` (the last value, the one the proxy set) and is checked the same way: a
//! proxy that forwards whatever `Host` it received would otherwise carry a rebinding attack
//! through. From any other peer `X-Forwarded-Host` is ignored and `Host` is checked. The port is
//! not part of the decision (proxies rewrite it).

use std::fmt;
use std::net::IpAddr;

use super::client::canonical;
use super::origin::parse_origin;

/// Why a request's host was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRefusal {
    Missing,
    Malformed(String),
    NotAllowed { host: String, forwarded: bool },
}

impl fmt::Display for HostRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "the request has no Host header; send the gateway's address as Host"),
            Self::Malformed(host) => write!(f, "Host `{host}` is not a host name or address"),
            Self::NotAllowed { host, forwarded } => {
                let header = if *forwarded {
                    "X-Forwarded-Host (from a trusted proxy)"
                } else {
                    "Host"
                };
                write!(
                    f,
                    "{header} `{host}` is not a name this gateway answers to (a page on another site may be \
                     trying DNS rebinding); if it is your gateway's public name, add it to gateway.allowedHosts \
                     (or its origin to gateway.controlUi.allowedOrigins)"
                )
            }
        }
    }
}

/// A host as requests name it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    Ip(IpAddr),
}

/// Parses `name`, `name:port`, `1.2.3.4[:port]` or `[v6][:port]` into a lowercase host without
/// port or trailing dot; `None` if it is none of these.
fn parse_host(text: &str) -> Option<Host> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return inner.parse::<IpAddr>().ok().map(|ip| Host::Ip(canonical(ip)));
    }
    let name = match text.rsplit_once(':') {
        Some((name, port)) if is_port(port) => name,
        Some(_) => return None,
        None => text,
    };
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Some(Host::Ip(canonical(ip)));
    }
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then_some(Host::Name(name))
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The hosts a gateway answers to.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    names: Vec<String>,
    /// `*.example.com` as `.example.com`.
    suffixes: Vec<String>,
    addresses: Vec<IpAddr>,
}

/// What [`HostPolicy::new`] is built from.
#[derive(Debug, Clone, Copy)]
pub struct HostNames<'a> {
    /// The address the gateway listens on.
    pub bind_ip: IpAddr,
    /// Addresses of this machine's interfaces.
    pub interface_addrs: &'a [IpAddr],
    /// This machine's host name.
    pub machine_name: Option<&'a str>,
    /// `gateway.allowedHosts`.
    pub allowed_hosts: &'a [String],
    /// `gateway.controlUi.allowedOrigins`.
    pub allowed_origins: &'a [String],
}

impl HostPolicy {
    /// Builds the policy; `Err` names the first `gateway.allowedHosts` entry that is not a host
    /// (with its index).
    pub fn new(facts: &HostNames<'_>) -> Result<Self, (usize, String)> {
        let mut policy = Self::default();
        let bind = canonical(facts.bind_ip);
        if bind.is_unspecified() {
            policy
                .addresses
                .extend(facts.interface_addrs.iter().map(|ip| canonical(*ip)));
        } else {
            policy.addresses.push(bind);
        }
        if let Some(Host::Name(name)) = facts.machine_name.and_then(parse_host) {
            policy.names.push(format!("{name}.local"));
            policy.names.push(name);
        }
        for (index, entry) in facts.allowed_hosts.iter().enumerate() {
            let trimmed = entry.trim();
            if let Some(rest) = trimmed.strip_prefix("*.") {
                match parse_host(rest) {
                    Some(Host::Name(name)) if name.contains('.') => policy.suffixes.push(format!(".{name}")),
                    _ => return Err((index, entry.clone())),
                }
                continue;
            }
            match parse_host(trimmed) {
                Some(Host::Name(name)) => policy.names.push(name),
                Some(Host::Ip(ip)) => policy.addresses.push(ip),
                None => return Err((index, entry.clone())),
            }
        }
        for origin in facts.allowed_origins {
            match parse_origin(origin).and_then(|(host, _)| parse_host(&host)) {
                Some(Host::Name(name)) => policy.names.push(name),
                Some(Host::Ip(ip)) => policy.addresses.push(ip),
                // `*` and malformed origins name no host; the origin check reports them.
                None => {}
            }
        }
        Ok(policy)
    }

    fn allows(&self, host: &Host) -> bool {
        match host {
            Host::Ip(ip) => ip.is_loopback() || self.addresses.contains(ip),
            Host::Name(name) => {
                name == "localhost"
                    || name.ends_with(".localhost")
                    || self.names.iter().any(|n| n == name)
                    || self.suffixes.iter().any(|s| name.ends_with(s.as_str()))
            }
        }
    }

    /// Checks a request's `Host` (and, from a trusted proxy, its `X-Forwarded-Host`).
    pub fn check(
        &self,
        host: Option<&str>,
        forwarded_host: Option<&str>,
        via_trusted_proxy: bool,
    ) -> Result<(), HostRefusal> {
        let forwarded = forwarded_host
            .filter(|_| via_trusted_proxy)
            .and_then(|value| value.rsplit(',').next())
            .map(str::trim)
            .filter(|value| !value.is_empty());
        let (text, is_forwarded) = match (forwarded, host) {
            (Some(value), _) => (value, true),
            (None, Some(value)) => (value, false),
            (None, None) => return Err(HostRefusal::Missing),
        };
        let Some(parsed) = parse_host(text) else {
            return Err(HostRefusal::Malformed(text.to_string()));
        };
        if self.allows(&parsed) {
            Ok(())
        } else {
            Err(HostRefusal::NotAllowed {
                host: text.to_string(),
                forwarded: is_forwarded,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn policy(bind: &str, allowed_hosts: &[&str], origins: &[&str]) -> HostPolicy {
        let interfaces = ips(&["127.0.0.1", "192.168.1.7", "fe80::1", "100.101.102.103"]);
        let hosts: Vec<String> = allowed_hosts.iter().map(|s| s.to_string()).collect();
        let origins: Vec<String> = origins.iter().map(|s| s.to_string()).collect();
        HostPolicy::new(&HostNames {
            bind_ip: bind.parse().unwrap(),
            interface_addrs: &interfaces,
            machine_name: Some("Workstation"),
            allowed_hosts: &hosts,
            allowed_origins: &origins,
        })
        .unwrap()
    }

    #[test]
    fn loopback_bind() {
        let p = policy(
            "127.0.0.1",
            &["gw.example.com", "*.corp.example"],
            &["https://control.example.org:8443", "*"],
        );
        let cases: &[(&str, bool)] = &[
            ("127.0.0.1:18789", true),
            ("127.0.0.1", true),
            ("127.1.2.3:80", true),
            ("localhost:18789", true),
            ("LOCALHOST", true),
            ("localhost.", true),
            ("app.localhost:3000", true),
            ("[::1]:18789", true),
            ("[::ffff:127.0.0.1]:18789", true),
            ("workstation", true),
            ("workstation.local:18789", true),
            ("gw.example.com", true),
            ("GW.Example.Com:443", true),
            ("a.corp.example", true),
            ("b.a.corp.example", true),
            ("control.example.org", true),
            // DNS rebinding: names a page controls.
            ("evil.example:18789", false),
            ("localhost.evil.example", false),
            ("127.0.0.1.evil.example", false),
            ("gw.example.com.evil.example", false),
            ("corp.example", false),
            ("evilcorp.example", false),
            // Not this gateway's address (bound to loopback only).
            ("192.168.1.7:18789", false),
            ("example.org", false),
            // Malformed.
            ("", false),
            ("a b", false),
            ("host:port", false),
            ("[::1", false),
            ("::1", false),
            ("user@localhost", false),
        ];
        for (host, want) in cases {
            assert_eq!(p.check(Some(host), None, false).is_ok(), *want, "{host}");
        }
        assert_eq!(p.check(None, None, false), Err(HostRefusal::Missing));
    }

    #[test]
    fn wildcard_and_specific_binds() {
        let any = policy("0.0.0.0", &[], &[]);
        for (host, want) in [
            ("192.168.1.7:18789", true),
            ("100.101.102.103", true),
            ("[fe80::1]", true),
            ("192.168.1.8", false),
            ("10.0.0.1", false),
        ] {
            assert_eq!(any.check(Some(host), None, false).is_ok(), want, "{host}");
        }
        let custom = policy("192.168.1.7", &[], &[]);
        assert!(custom.check(Some("192.168.1.7:18789"), None, false).is_ok());
        assert!(custom.check(Some("100.101.102.103"), None, false).is_err());
    }

    #[test]
    fn forwarded_host_counts_only_from_a_trusted_proxy() {
        let p = policy("127.0.0.1", &["gw.example.com"], &[]);
        // A trusted proxy that rewrote Host to the upstream: its X-Forwarded-Host is checked.
        assert!(p.check(Some("127.0.0.1:18789"), Some("gw.example.com"), true).is_ok());
        assert_eq!(
            p.check(Some("127.0.0.1:18789"), Some("evil.example"), true),
            Err(HostRefusal::NotAllowed {
                host: "evil.example".into(),
                forwarded: true
            })
        );
        // The proxy appended what it received: the last value is the one it vouches for.
        assert!(
            p.check(Some("127.0.0.1"), Some("evil.example, gw.example.com"), true)
                .is_ok()
        );
        assert!(
            p.check(Some("127.0.0.1"), Some("gw.example.com, evil.example"), true)
                .is_err()
        );
        // A proxy that kept the public Host and set no X-Forwarded-Host.
        assert!(p.check(Some("gw.example.com"), None, true).is_ok());
        assert!(p.check(Some("evil.example"), None, true).is_err());
        // From anyone else, X-Forwarded-Host neither helps nor hurts.
        assert!(p.check(Some("evil.example"), Some("localhost"), false).is_err());
        assert!(p.check(Some("localhost"), Some("evil.example"), false).is_ok());
    }

    #[test]
    fn bad_allowed_hosts_are_named() {
        for bad in ["https://gw.example.com", "*.com", "*", "gw example", "a/b"] {
            let hosts = vec!["ok.example".to_string(), bad.to_string()];
            let got = HostPolicy::new(&HostNames {
                bind_ip: "127.0.0.1".parse().unwrap(),
                interface_addrs: &[],
                machine_name: None,
                allowed_hosts: &hosts,
                allowed_origins: &[],
            });
            assert_eq!(got.err(), Some((1, bad.to_string())), "{bad}");
        }
    }
}
