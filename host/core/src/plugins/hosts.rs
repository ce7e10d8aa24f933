//! Egress policy as data: host patterns, and which IP addresses a plugin may never reach.
//!
//! A pattern is an exact host (`api.example.com`), an exact host and port (`api.example.com:8443`)
//! or one leading wildcard label (`*.example.com`, which matches `a.example.com` but neither
//! `example.com` nor `a.b.example.com`). Without a port a pattern allows the scheme's default port
//! only (443 for https, 80 for http). IP literals are allowed as hosts.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::Serialize;

/// One allowed destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPattern {
    /// `*.suffix` when true; then `host` is the suffix.
    wildcard: bool,
    host: String,
    port: Option<u16>,
}

impl Serialize for HostPattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Splits `host[:port]` / `[v6][:port]` into a lower-case host and an optional port.
pub fn split_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let text = text.trim().to_ascii_lowercase();
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("\"{text}\": missing `]` after an IPv6 address"))?;
        host.parse::<Ipv6Addr>()
            .map_err(|_| format!("\"{host}\" is not an IPv6 address"))?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port.parse::<u16>().map_err(|_| format!("\"{port}\" is not a port"))?),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected \"{after}\" after the address")),
        };
        return Ok((host.to_string(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            let port = port.parse::<u16>().map_err(|_| format!("\"{port}\" is not a port"))?;
            Ok((host.trim_end_matches('.').to_string(), Some(port)))
        }
        Some(_) => Err(format!("\"{text}\": write IPv6 addresses in brackets, e.g. [::1]:8080")),
        None => Ok((text.trim_end_matches('.').to_string(), None)),
    }
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed.contains("://") || trimmed.contains('/') || trimmed.contains('@') || trimmed.contains(' ') {
            return Err(format!(
                "\"{text}\" must be a host (api.example.com), host:port or *.domain, without scheme, path or credentials"
            ));
        }
        let (host, port) = split_host_port(trimmed)?;
        if port == Some(0) {
            return Err(format!("\"{text}\": port 0 is not a destination"));
        }
        if host.parse::<IpAddr>().is_ok() {
            return Ok(Self {
                wildcard: false,
                host,
                port,
            });
        }
        let (wildcard, name) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host.as_str()),
        };
        if name.contains('*') || host == "*" {
            return Err(format!(
                "\"{text}\": only one leading wildcard label is allowed (*.example.com); list hosts explicitly"
            ));
        }
        let labels: Vec<&str> = name.split('.').collect();
        if !labels.iter().all(|l| valid_label(l)) {
            return Err(format!("\"{text}\" is not a valid host name"));
        }
        if wildcard && labels.len() < 2 {
            return Err(format!(
                "\"{text}\" is too broad: a wildcard needs at least two labels after it (*.example.com)"
            ));
        }
        Ok(Self {
            wildcard,
            host: name.to_string(),
            port,
        })
    }

    /// Whether a request to `host:port` over `scheme` may go here.
    pub fn matches(&self, host: &str, port: u16, scheme: &str) -> bool {
        let port_ok = match self.port {
            Some(p) => p == port,
            None => port == default_port(scheme),
        };
        if !port_ok {
            return false;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if self.wildcard {
            host.strip_suffix(&self.host)
                .and_then(|prefix| prefix.strip_suffix('.'))
                .is_some_and(valid_label)
        } else {
            host == self.host
        }
    }

    /// True when every destination `other` allows is also allowed by `self`.
    pub fn covers(&self, other: &HostPattern) -> bool {
        let ports = match (self.port, other.port) {
            (Some(a), Some(b)) => a == b,
            (None, None) => true,
            (None, Some(b)) => b == 443 || b == 80,
            (Some(_), None) => false,
        };
        if !ports {
            return false;
        }
        match (self.wildcard, other.wildcard) {
            (false, false) => self.host == other.host,
            (true, true) => self.host == other.host,
            (true, false) => other
                .host
                .strip_suffix(&self.host)
                .and_then(|p| p.strip_suffix('.'))
                .is_some_and(valid_label),
            (false, true) => false,
        }
    }
}

/// The default port of a scheme.
pub fn default_port(scheme: &str) -> u16 {
    if scheme.eq_ignore_ascii_case("http") { 80 } else { 443 }
}

/// The destinations allowed by both lists: for each pair, the narrower pattern when one covers
/// the other.
pub fn intersect(requested: &[HostPattern], allowed: &[HostPattern]) -> Vec<HostPattern> {
    let mut out: Vec<HostPattern> = Vec::new();
    for r in requested {
        for a in allowed {
            let narrower = if a.covers(r) {
                Some(r)
            } else if r.covers(a) {
                Some(a)
            } else {
                None
            };
            if let Some(p) = narrower
                && !out.contains(p)
            {
                out.push(p.clone());
            }
        }
    }
    out.sort();
    out
}

/// Whether any pattern allows `host:port` over `scheme`.
pub fn allowed(patterns: &[HostPattern], host: &str, port: u16, scheme: &str) -> bool {
    patterns.iter().any(|p| p.matches(host, port, scheme))
}

/// Where an address points, for egress decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressClass {
    /// Routable on the internet.
    Public,
    Loopback,
    /// RFC 1918, unique-local IPv6, carrier-grade NAT.
    Private,
    /// 169.254.0.0/16 (cloud metadata lives here) and fe80::/10.
    LinkLocal,
    Unspecified,
    Multicast,
    /// Documentation, benchmarking, reserved and other special-purpose ranges.
    Reserved,
}

impl AddressClass {
    pub fn is_public(self) -> bool {
        self == Self::Public
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let o = ip.octets();
    match o {
        [127, ..] => AddressClass::Loopback,
        [0, ..] => AddressClass::Unspecified,
        [10, ..] | [192, 168, ..] => AddressClass::Private,
        [172, b, ..] if (16..=31).contains(&b) => AddressClass::Private,
        [100, b, ..] if (64..=127).contains(&b) => AddressClass::Private,
        [169, 254, ..] => AddressClass::LinkLocal,
        [224..=239, ..] => AddressClass::Multicast,
        [255, 255, 255, 255] => AddressClass::Reserved,
        [240..=255, ..] => AddressClass::Reserved,
        [192, 0, 0, _] | [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => AddressClass::Reserved,
        [198, 18..=19, ..] => AddressClass::Reserved,
        [192, 88, 99, _] => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address that decides.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return classify_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    if s[0] == 0x2002 {
        return classify_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    match s[0] {
        x if x & 0xfe00 == 0xfc00 => AddressClass::Private,
        x if x & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        x if x & 0xff00 == 0xff00 => AddressClass::Multicast,
        0x2001 if s[1] == 0x0db8 => AddressClass::Reserved,
        0x0100 if s[1..4] == [0, 0, 0] => AddressClass::Reserved,
        // IPv4-compatible (deprecated) ::a.b.c.d
        0 if s[1..6] == [0, 0, 0, 0, 0] => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

/// Classifies an address.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Parses operator-granted private destinations (`127.0.0.1`, `10.0.0.0/8`, `::1`).
pub fn parse_networks(items: &[String]) -> Result<Vec<IpNet>, String> {
    items
        .iter()
        .map(|item| {
            let item = item.trim();
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("\"{item}\" is not an IP address or CIDR (10.0.0.0/8)"))
        })
        .collect()
}

/// Whether a plugin may connect to `ip`: public addresses always (the host name was already
/// checked), anything else only inside an operator-granted network.
pub fn address_allowed(ip: IpAddr, private_grants: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        other => other,
    };
    classify(ip).is_public() || private_grants.iter().any(|net| net.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> HostPattern {
        HostPattern::parse(s).unwrap()
    }

    #[test]
    fn patterns_parse_and_print() {
        for text in [
            "api.example.com",
            "api.example.com:8443",
            "*.example.com",
            "127.0.0.1:9000",
            "[::1]:8080",
            "10.0.0.5",
        ] {
            assert_eq!(p(text).to_string(), text);
        }
        assert_eq!(p("API.Example.COM.").to_string(), "api.example.com");
        for bad in [
            "https://a.com",
            "a.com/x",
            "*",
            "*.com",
            "a.*.com",
            "*.*.com",
            "u@a.com",
            "a_b.com",
            ":80",
            "a.com:0",
            "a.com:99999",
            "::1",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn matching_table() {
        let cases = [
            ("api.example.com", "api.example.com", 443, "https", true),
            ("api.example.com", "API.example.com.", 443, "https", true),
            ("api.example.com", "api.example.com", 8443, "https", false),
            ("api.example.com", "api.example.com", 80, "http", true),
            ("api.example.com", "evil-api.example.com", 443, "https", false),
            ("api.example.com", "api.example.com.evil.org", 443, "https", false),
            ("api.example.com:8443", "api.example.com", 8443, "https", true),
            ("api.example.com:8443", "api.example.com", 443, "https", false),
            ("*.example.com", "a.example.com", 443, "https", true),
            ("*.example.com", "example.com", 443, "https", false),
            ("*.example.com", "a.b.example.com", 443, "https", false),
            ("*.example.com", "aexample.com", 443, "https", false),
            ("127.0.0.1:9000", "127.0.0.1", 9000, "http", true),
            ("[::1]:8080", "[::1]", 8080, "http", true),
        ];
        for (pattern, host, port, scheme, expected) in cases {
            assert_eq!(
                p(pattern).matches(host, port, scheme),
                expected,
                "{pattern} vs {host}:{port} ({scheme})"
            );
        }
    }

    #[test]
    fn intersection_keeps_the_narrower() {
        let requested = [p("*.example.com"), p("api.other.org"), p("x.third.net:8443")];
        let allowed_ = [p("api.example.com"), p("*.other.org"), p("x.third.net")];
        let got: Vec<String> = intersect(&requested, &allowed_)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["api.example.com", "api.other.org"]);
        assert!(intersect(&requested, &[]).is_empty(), "empty means deny");
    }

    #[test]
    fn address_classes() {
        let cases = [
            ("8.8.8.8", AddressClass::Public),
            ("127.0.0.1", AddressClass::Loopback),
            ("127.5.5.5", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.32.0.1", AddressClass::Public),
            ("192.168.1.1", AddressClass::Private),
            ("100.64.0.1", AddressClass::Private),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("0.0.0.0", AddressClass::Unspecified),
            ("224.0.0.1", AddressClass::Multicast),
            ("198.18.0.1", AddressClass::Reserved),
            ("::1", AddressClass::Loopback),
            ("::", AddressClass::Unspecified),
            ("fd00::1", AddressClass::Private),
            ("fe80::1", AddressClass::LinkLocal),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::ffff:169.254.169.254", AddressClass::LinkLocal),
            ("64:ff9b::a9fe:a9fe", AddressClass::LinkLocal),
            ("2002:7f00:1::", AddressClass::Loopback),
            ("2606:4700::1111", AddressClass::Public),
        ];
        for (ip, class) in cases {
            assert_eq!(classify(ip.parse().unwrap()), class, "{ip}");
        }
    }

    #[test]
    fn private_grants() {
        let grants = parse_networks(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        assert!(address_allowed("127.0.0.1".parse().unwrap(), &grants));
        assert!(address_allowed("::ffff:127.0.0.1".parse().unwrap(), &grants));
        assert!(!address_allowed("127.0.0.2".parse().unwrap(), &grants));
        assert!(address_allowed("10.9.9.9".parse().unwrap(), &grants));
        assert!(!address_allowed("169.254.169.254".parse().unwrap(), &grants));
        assert!(address_allowed("93.184.216.34".parse().unwrap(), &[]));
        assert!(parse_networks(&["not-an-ip".into()]).is_err());
    }
}
