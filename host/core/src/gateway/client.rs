//! Which address a request really comes from, and whether it is a direct local client.
//!
//! `X-Forwarded-For` is believed only from a peer listed in `gateway.trustedProxies`; then the
//! list is walked right to left and the first hop that is neither loopback nor a trusted proxy
//! is the client. A peer that is not trusted gets no say: its forwarding headers are ignored
//! for the address, and their mere presence means the request is not "local" (a same-host
//! reverse proxy would otherwise make the whole internet look like localhost).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// `gateway.trustedProxies`, parsed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses IPs and CIDRs; `Err` names the first entry that is neither (with its index).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, (usize, String)> {
        let mut nets = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let text = entry.as_ref().trim();
            let net = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| (i, text.to_string()))?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// `::ffff:1.2.3.4` (what a dual-stack socket reports for IPv4 clients) is `1.2.3.4`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Parses an address as proxies write it: `1.2.3.4`, `1.2.3.4:567`, `::1`, `[::1]:567`.
pub fn parse_ip_literal(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sock) = text.parse::<SocketAddr>() {
        return Some(canonical(sock.ip()));
    }
    text.strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .and_then(|inner| inner.parse::<Ipv6Addr>().ok())
        .map(|v6| canonical(IpAddr::V6(v6)))
}

/// The forwarding headers of one request (every `X-Forwarded-For` value, in order).
#[derive(Debug, Clone, Default)]
pub struct ForwardingHeaders<'a> {
    pub forwarded_for: Vec<&'a str>,
    pub real_ip: Option<&'a str>,
    /// `Forwarded`, `X-Forwarded-Proto` or `X-Forwarded-Host` was present.
    pub other_forwarding: bool,
}

impl ForwardingHeaders<'_> {
    pub fn any(&self) -> bool {
        !self.forwarded_for.is_empty() || self.real_ip.is_some() || self.other_forwarding
    }
}

/// Where a request comes from, as far as the gateway can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The socket peer.
    pub peer: IpAddr,
    /// The client behind a trusted proxy, or the peer itself. `None` when a trusted proxy did
    /// not say who the client is: never guessed, never the proxy's own address.
    pub client: Option<IpAddr>,
    /// A loopback peer with no forwarding headers at all.
    pub local_direct: bool,
    /// The peer is a trusted proxy.
    pub via_trusted_proxy: bool,
}

impl ClientAddr {
    /// The key failed attempts are counted under. IPv6 clients are counted per /64, the block a
    /// single host is usually given, so rotating addresses inside it buys nothing. A trusted
    /// proxy that named no client is counted as itself.
    pub fn rate_key(&self) -> String {
        match self.client.unwrap_or(self.peer) {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }
}

/// Resolves the client of a request from `peer`.
pub fn resolve_client(
    peer: IpAddr,
    headers: &ForwardingHeaders<'_>,
    trusted: &TrustedProxies,
    allow_real_ip_fallback: bool,
) -> ClientAddr {
    let peer = canonical(peer);
    let local_direct = peer.is_loopback() && !headers.any();
    if !trusted.contains(peer) {
        return ClientAddr {
            peer,
            client: Some(peer),
            local_direct,
            via_trusted_proxy: false,
        };
    }
    let hops: Vec<&str> = headers
        .forwarded_for
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect();
    let mut client = None;
    let mut unparsable = false;
    for hop in hops.iter().rev() {
        match parse_ip_literal(hop) {
            Some(ip) if ip.is_loopback() || trusted.contains(ip) => continue,
            Some(ip) => {
                client = Some(ip);
                break;
            }
            None => {
                // A hop we cannot read may be a client's forgery; stop rather than look past it.
                unparsable = true;
                break;
            }
        }
    }
    if client.is_none() && !unparsable && hops.is_empty() && allow_real_ip_fallback {
        client = headers.real_ip.and_then(parse_ip_literal);
    }
    ClientAddr {
        peer,
        client,
        local_direct,
        via_trusted_proxy: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff<'a>(values: &[&'a str]) -> ForwardingHeaders<'a> {
        ForwardingHeaders {
            forwarded_for: values.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn untrusted_peers_cannot_choose_their_address() {
        let trusted = TrustedProxies::parse(&["10.0.0.1"]).unwrap();
        let got = resolve_client(ip("203.0.113.9"), &xff(&["1.2.3.4"]), &trusted, true);
        assert_eq!(got.client, Some(ip("203.0.113.9")));
        assert!(!got.local_direct);
        // A loopback peer with spoofed headers is not local.
        let got = resolve_client(ip("127.0.0.1"), &xff(&["127.0.0.1"]), &trusted, false);
        assert_eq!(got.client, Some(ip("127.0.0.1")));
        assert!(!got.local_direct);
        let only_proto = ForwardingHeaders {
            other_forwarding: true,
            ..Default::default()
        };
        assert!(!resolve_client(ip("127.0.0.1"), &only_proto, &trusted, false).local_direct);
        assert!(resolve_client(ip("127.0.0.1"), &ForwardingHeaders::default(), &trusted, false).local_direct);
    }

    #[test]
    fn trusted_proxies_are_walked_right_to_left() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1"]).unwrap();
        let cases: &[(&[&str], Option<&str>)] = &[
            (&["198.51.100.7"], Some("198.51.100.7")),
            // The client wrote the left part; the proxy appended the real address.
            (&["6.6.6.6, 198.51.100.7"], Some("198.51.100.7")),
            (&["6.6.6.6", "198.51.100.7, 10.0.0.5"], Some("198.51.100.7")),
            (&["[2001:db8::1]:443"], Some("2001:db8::1")),
            (&["198.51.100.7:5555"], Some("198.51.100.7")),
            (&["garbage, 10.0.0.9"], None),
            // Only proxies and loopback: nobody to name, and the proxy is not the client.
            (&["127.0.0.1, 10.0.0.3"], None),
            (&[], None),
        ];
        for (values, want) in cases {
            let got = resolve_client(ip("127.0.0.1"), &xff(values), &trusted, false);
            assert_eq!(got.client, want.map(ip), "{values:?}");
            assert!(got.via_trusted_proxy);
        }
    }

    #[test]
    fn real_ip_only_when_allowed() {
        let trusted = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
        let headers = ForwardingHeaders {
            real_ip: Some("198.51.100.8"),
            ..Default::default()
        };
        assert_eq!(resolve_client(ip("127.0.0.1"), &headers, &trusted, false).client, None);
        assert_eq!(
            resolve_client(ip("127.0.0.1"), &headers, &trusted, true).client,
            Some(ip("198.51.100.8"))
        );
    }

    #[test]
    fn mapped_addresses_and_bad_entries() {
        let trusted = TrustedProxies::parse(&["192.0.2.1"]).unwrap();
        assert!(trusted.contains(ip("::ffff:192.0.2.1")));
        assert_eq!(
            TrustedProxies::parse(&["10.0.0.1", "proxy.local"]).err(),
            Some((1, "proxy.local".into()))
        );
    }

    #[test]
    fn ipv6_clients_share_a_key_per_64() {
        let a = resolve_client(
            ip("2001:db8:1:2::1"),
            &ForwardingHeaders::default(),
            &TrustedProxies::default(),
            false,
        );
        let b = resolve_client(
            ip("2001:db8:1:2:ffff::9"),
            &ForwardingHeaders::default(),
            &TrustedProxies::default(),
            false,
        );
        let c = resolve_client(
            ip("2001:db8:1:3::1"),
            &ForwardingHeaders::default(),
            &TrustedProxies::default(),
            false,
        );
        assert_eq!(a.rate_key(), b.rate_key());
        assert_ne!(a.rate_key(), c.rate_key());
        assert_eq!(
            resolve_client(
                ip("::ffff:198.51.100.1"),
                &ForwardingHeaders::default(),
                &TrustedProxies::default(),
                false
            )
            .rate_key(),
            "198.51.100.1"
        );
    }
}
