//! Which Docker engine to talk to: the local socket by default, or a remote one named by the
//! usual `DOCKER_HOST` / `DOCKER_TLS_VERIFY` / `DOCKER_CERT_PATH` settings. The settings come in
//! as a map so the gateway decides where they come from (process env, config, tests).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::SandboxError;

pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEndpoint {
    /// A unix socket on this machine.
    Unix(PathBuf),
    /// Plain TCP (`tcp://host:port` without `DOCKER_TLS_VERIFY`).
    Tcp { address: String },
    /// TCP with mutual TLS: the client proves itself with `cert.pem`/`key.pem` and checks the
    /// engine against `ca.pem`.
    Tls {
        address: String,
        ca: PathBuf,
        cert: PathBuf,
        key: PathBuf,
    },
}

impl fmt::Display for EngineEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Tcp { address } => write!(f, "tcp://{address}"),
            Self::Tls { address, .. } => write!(f, "tcp://{address} (TLS)"),
        }
    }
}

impl EngineEndpoint {
    /// Reads `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` from `env`. `home` is where
    /// `~/.docker` lives when `DOCKER_CERT_PATH` is unset.
    pub fn from_env(env: &BTreeMap<String, String>, home: Option<&Path>) -> Result<Self, SandboxError> {
        let host = env.get("DOCKER_HOST").map(|h| h.trim()).filter(|h| !h.is_empty());
        let Some(host) = host else {
            return Ok(Self::Unix(PathBuf::from(DEFAULT_SOCKET)));
        };
        if let Some(path) = host.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(SandboxError::Endpoint {
                    reason: format!("DOCKER_HOST {host:?} is not an absolute socket path"),
                    fix: "write it as unix:///path/to/docker.sock".into(),
                });
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        let address = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("https://"))
            .or_else(|| host.strip_prefix("http://"));
        let Some(address) = address.map(|a| a.trim_end_matches('/')) else {
            return Err(SandboxError::Endpoint {
                reason: format!("DOCKER_HOST {host:?} uses a scheme this gateway does not speak"),
                fix: "use unix:///path/to/docker.sock or tcp://host:port (ssh:// is not supported)".into(),
            });
        };
        if address.is_empty() || !address.contains(':') {
            return Err(SandboxError::Endpoint {
                reason: format!("DOCKER_HOST {host:?} has no host:port"),
                fix: "write it as tcp://host:2376".into(),
            });
        }
        let tls = env
            .get("DOCKER_TLS_VERIFY")
            .is_some_and(|v| !v.trim().is_empty() && v.trim() != "0");
        if !tls {
            return Ok(Self::Tcp {
                address: address.to_string(),
            });
        }
        let cert_dir = match env.get("DOCKER_CERT_PATH").filter(|p| !p.trim().is_empty()) {
            Some(dir) => PathBuf::from(dir.trim()),
            None => match home {
                Some(home) => home.join(".docker"),
                None => {
                    return Err(SandboxError::Endpoint {
                        reason: "DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor a home directory is known"
                            .into(),
                        fix: "set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem".into(),
                    });
                }
            },
        };
        Ok(Self::Tls {
            address: address.to_string(),
            ca: cert_dir.join("ca.pem"),
            cert: cert_dir.join("cert.pem"),
            key: cert_dir.join("key.pem"),
        })
    }

    /// True when bind-mount sources are paths on this machine, so the gateway can create them.
    pub fn is_local(&self) -> bool {
        matches!(self, Self::Unix(_))
    }
}
