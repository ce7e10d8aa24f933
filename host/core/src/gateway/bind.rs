//! Where the gateway listens, and whether it may listen there with the auth it has.
//!
//! The rule that matters (OpenClaw's "gateway exposure" claim, made stricter): the gateway
//! listens on an address other machines can reach only when a token or password is configured.
//! `auth.mode = "none"` is loopback-only, and a missing token is generated only for loopback,
//! because an operator who did not choose a credential cannot have given it to a remote client.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;

use crate::config::schema::gateway::BindMode;

/// Tailscale's CGNAT range, where tailnet addresses live.
pub fn tailnet_range() -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10)
}

/// What the host looks like, gathered by the caller (interfaces, container markers).
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// Addresses of the machine's interfaces.
    pub interface_addrs: Vec<IpAddr>,
    /// Running inside a container (`/.dockerenv`, cgroup markers): `auto` then binds every
    /// interface so the published port works.
    pub in_container: bool,
    /// This machine's host name (requests may name it, and `<name>.local`).
    pub host_name: Option<String>,
}

/// How the operator asked to bind: a mode, or (`--bind 10.0.0.5`) an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindRequest {
    Mode(BindMode),
    Address(IpAddr),
}

impl BindRequest {
    /// Parses `--bind`: a mode name or an IP literal.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let mode = match text {
            "loopback" => BindMode::Loopback,
            "lan" => BindMode::Lan,
            "tailnet" => BindMode::Tailnet,
            "auto" => BindMode::Auto,
            "custom" => BindMode::Custom,
            other => {
                return other.parse::<IpAddr>().map(Self::Address).map_err(|_| {
                    format!(
                        "`{other}` is not a bind mode or an IP address; expected one of loopback, lan, tailnet, auto, custom, or an address such as 192.168.1.10"
                    )
                });
            }
        };
        Ok(Self::Mode(mode))
    }
}

/// Why no listen address could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindError {
    CustomHostMissing,
    CustomHostInvalid(String),
    NoTailnetAddress,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CustomHostMissing => write!(
                f,
                "gateway.bind=custom requires gateway.customBindHost (the address to listen on, e.g. \"192.168.1.10\")"
            ),
            Self::CustomHostInvalid(host) => write!(
                f,
                "gateway.customBindHost \"{host}\" is not an IP address; give one of this machine's addresses, e.g. \"192.168.1.10\""
            ),
            Self::NoTailnetAddress => write!(
                f,
                "gateway.bind=tailnet needs a Tailscale address (100.64.0.0/10) on this machine and there is none; start Tailscale (`tailscale up`) or choose another bind mode"
            ),
        }
    }
}

/// The address chosen, with the mode it came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedBind {
    pub mode: BindMode,
    pub ip: IpAddr,
}

impl ResolvedBind {
    /// Only loopback addresses are unreachable from other machines; every other address, the
    /// wildcard included, is treated as exposed.
    pub fn is_loopback(&self) -> bool {
        self.ip.is_loopback()
    }
}

/// Picks the listen address for `request`.
pub fn resolve_bind(
    request: BindRequest,
    custom_host: Option<&str>,
    facts: &HostFacts,
) -> Result<ResolvedBind, BindError> {
    let mode = match request {
        BindRequest::Address(ip) => {
            return Ok(ResolvedBind {
                mode: if ip.is_loopback() {
                    BindMode::Loopback
                } else {
                    BindMode::Custom
                },
                ip,
            });
        }
        BindRequest::Mode(mode) => mode,
    };
    let ip = match mode {
        BindMode::Loopback => IpAddr::V4(Ipv4Addr::LOCALHOST),
        BindMode::Lan => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        BindMode::Auto if facts.in_container => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        BindMode::Auto => IpAddr::V4(Ipv4Addr::LOCALHOST),
        BindMode::Tailnet => facts
            .interface_addrs
            .iter()
            .find(|ip| matches!(ip, IpAddr::V4(v4) if tailnet_range().contains(v4)))
            .copied()
            .ok_or(BindError::NoTailnetAddress)?,
        BindMode::Custom => {
            let host = custom_host.map(str::trim).ok_or(BindError::CustomHostMissing)?;
            host.parse::<IpAddr>()
                .map_err(|_| BindError::CustomHostInvalid(host.to_string()))?
        }
    };
    Ok(ResolvedBind { mode, ip })
}

/// Whether the gateway may listen at `bind` with `credential_configured` (a token or password
/// the operator set). `Err` carries the refusal the operator sees.
pub fn check_exposure(bind: &ResolvedBind, credential_configured: bool) -> Result<(), ExposureRefusal> {
    if bind.is_loopback() || credential_configured {
        Ok(())
    } else {
        Err(ExposureRefusal { bind: *bind })
    }
}

/// Refusing to listen beyond loopback without a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureRefusal {
    pub bind: ResolvedBind,
}

impl fmt::Display for ExposureRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = self.bind.mode.as_str();
        write!(
            f,
            "refusing to bind gateway to {} (bind={mode}) without auth: anyone who can reach this address could use the assistant. \
             Set gateway.auth.token (or the OPENCLAW_GATEWAY_TOKEN variable; `openclaw doctor --generate-gateway-token` makes one) \
             or gateway.auth.password (or OPENCLAW_GATEWAY_PASSWORD), or bind \"loopback\"",
            self.bind.ip
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(addrs: &[&str], in_container: bool) -> HostFacts {
        HostFacts {
            interface_addrs: addrs.iter().filter_map(|a| a.parse().ok()).collect(),
            in_container,
            host_name: None,
        }
    }

    #[test]
    fn modes_resolve_to_the_documented_addresses() {
        let host = facts(&["127.0.0.1", "192.168.1.7", "100.101.102.103"], false);
        let cases: &[(BindRequest, Option<&str>, &str)] = &[
            (BindRequest::Mode(BindMode::Loopback), None, "127.0.0.1"),
            (BindRequest::Mode(BindMode::Lan), None, "0.0.0.0"),
            (BindRequest::Mode(BindMode::Auto), None, "127.0.0.1"),
            (BindRequest::Mode(BindMode::Tailnet), None, "100.101.102.103"),
            (BindRequest::Mode(BindMode::Custom), Some("192.168.1.7"), "192.168.1.7"),
            (
                BindRequest::Address("10.1.2.3".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))),
                None,
                "10.1.2.3",
            ),
        ];
        for (request, custom, want) in cases {
            let got = resolve_bind(*request, *custom, &host).map(|b| b.ip.to_string());
            assert_eq!(got.as_deref(), Ok(*want), "{request:?}");
        }
        let in_container = facts(&[], true);
        assert_eq!(
            resolve_bind(BindRequest::Mode(BindMode::Auto), None, &in_container).map(|b| b.ip.to_string()),
            Ok("0.0.0.0".to_string())
        );
    }

    #[test]
    fn tailnet_without_a_tailscale_address_is_an_error() {
        let host = facts(&["127.0.0.1", "192.168.1.7", "100.63.255.255", "100.128.0.1"], false);
        assert_eq!(
            resolve_bind(BindRequest::Mode(BindMode::Tailnet), None, &host),
            Err(BindError::NoTailnetAddress)
        );
        assert!(BindError::NoTailnetAddress.to_string().contains("100.64.0.0/10"));
    }

    #[test]
    fn custom_needs_a_valid_host() {
        let host = facts(&[], false);
        assert_eq!(
            resolve_bind(BindRequest::Mode(BindMode::Custom), None, &host),
            Err(BindError::CustomHostMissing)
        );
        assert_eq!(
            resolve_bind(BindRequest::Mode(BindMode::Custom), Some("my-host"), &host),
            Err(BindError::CustomHostInvalid("my-host".into()))
        );
    }

    #[test]
    fn exposure_needs_a_credential_beyond_loopback() {
        let host = facts(&["100.100.1.1"], false);
        for mode in [BindMode::Lan, BindMode::Tailnet] {
            let bind = resolve_bind(BindRequest::Mode(mode), None, &host).unwrap_or(ResolvedBind {
                mode,
                ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            });
            assert!(check_exposure(&bind, false).is_err(), "{mode:?}");
            assert!(check_exposure(&bind, true).is_ok(), "{mode:?}");
        }
        let loopback = ResolvedBind {
            mode: BindMode::Custom,
            ip: "127.0.0.2".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        };
        assert!(check_exposure(&loopback, false).is_ok());
        let v6_any = ResolvedBind {
            mode: BindMode::Custom,
            ip: "::".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        };
        assert!(check_exposure(&v6_any, false).is_err());
        let message = check_exposure(&v6_any, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("gateway.auth.token") && message.contains("OPENCLAW_GATEWAY_TOKEN"));
    }

    #[test]
    fn bind_flag_parses_modes_and_addresses() {
        assert_eq!(BindRequest::parse("lan"), Ok(BindRequest::Mode(BindMode::Lan)));
        assert!(matches!(BindRequest::parse("::1"), Ok(BindRequest::Address(_))));
        let err = BindRequest::parse("everywhere").err().unwrap_or_default();
        assert!(err.contains("loopback, lan, tailnet, auto, custom"));
    }
}
