//! The mDNS announcement `_openclaw-gw._tcp`, so apps on the LAN find the gateway.
//!
//! `discovery.mdns.mode`: `minimal` (default) announces only what discovery needs (role, port,
//! transport) under a generic name; `full` adds `cliPath`, `sshPort`, `displayName` and
//! `lanHost`, which tell a LAN observer the user name, install path, SSH availability and host
//! name; `off` (or `OPENCLAW_DISABLE_BONJOUR=1`, or the older `gateway.mdns.enabled: false`)
//! announces nothing.

use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::gateway::MdnsMode;

use crate::state::Env;

pub const SERVICE_TYPE: &str = "_openclaw-gw._tcp.local.";

/// The effective mode.
pub fn mode(config: &Config, env: &Env) -> MdnsMode {
    let disabled_by_env = env
        .get("OPENCLAW_DISABLE_BONJOUR")
        .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
    if disabled_by_env {
        return MdnsMode::Off;
    }
    if let Some(mode) = config
        .discovery
        .as_ref()
        .and_then(|d| d.mdns.as_ref())
        .and_then(|m| m.mode)
    {
        return mode;
    }
    let legacy = config
        .gateway
        .as_ref()
        .and_then(|g| g.mdns.as_ref())
        .and_then(|m| m.enabled);
    if legacy == Some(false) {
        return MdnsMode::Off;
    }
    MdnsMode::Minimal
}

/// What the announcement carries, by mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub instance: String,
    pub host: String,
    pub txt: Vec<(String, String)>,
}

/// The record for `mode` (`None` for off). `hostname` and `cli_path` are the machine's.
pub fn record(mode: MdnsMode, port: u16, hostname: &str, cli_path: &str, ssh_port: u16) -> Option<Record> {
    let mut txt = vec![
        ("role".to_string(), "gateway".to_string()),
        ("gatewayPort".to_string(), port.to_string()),
        ("transport".to_string(), "ws".to_string()),
    ];
    match mode {
        MdnsMode::Off => None,
        MdnsMode::Minimal => Some(Record {
            instance: "OpenClaw Gateway".into(),
            host: "openclaw-gateway.local.".into(),
            txt,
        }),
        MdnsMode::Full => {
            let short = hostname.split('.').next().unwrap_or(hostname).to_string();
            txt.push(("displayName".into(), short.clone()));
            txt.push(("lanHost".into(), format!("{short}.local")));
            txt.push(("cliPath".into(), cli_path.to_string()));
            txt.push(("sshPort".into(), ssh_port.to_string()));
            Some(Record {
                instance: short.clone(),
                host: format!("{short}.local."),
                txt,
            })
        }
    }
}

/// A live announcement; withdrawn when dropped.
pub struct Announcement {
    daemon: mdns_sd::ServiceDaemon,
    fullname: String,
}

impl Drop for Announcement {
    fn drop(&mut self) {
        if let Ok(done) = self.daemon.unregister(&self.fullname) {
            // Give the goodbye packet a moment; never block shutdown on it.
            let _ = done.recv_timeout(std::time::Duration::from_millis(200));
        }
        let _ = self.daemon.shutdown();
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "openclaw".into())
}

/// Starts announcing; failures are logged (discovery is a convenience, never a reason not to
/// serve).
pub fn announce(config: &Config, env: &Env, port: u16) -> Option<Announcement> {
    let mode = mode(config, env);
    let cli_path = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let ssh_port = env
        .get("OPENCLAW_SSH_PORT")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(22);
    let record = record(mode, port, &hostname(), &cli_path, ssh_port)?;
    let daemon = match mdns_sd::ServiceDaemon::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("mDNS unavailable, not announcing: {e}");
            return None;
        }
    };
    let properties: Vec<(&str, &str)> = record.txt.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let info = match mdns_sd::ServiceInfo::new(SERVICE_TYPE, &record.instance, &record.host, "", port, &properties[..])
    {
        Ok(info) => info.enable_addr_auto(),
        Err(e) => {
            tracing::warn!("mDNS record rejected, not announcing: {e}");
            return None;
        }
    };
    let fullname = info.get_fullname().to_string();
    if let Err(e) = daemon.register(info) {
        tracing::warn!("mDNS registration failed: {e}");
        return None;
    }
    tracing::info!(mode = ?mode, "announcing {SERVICE_TYPE} on the local network");
    Some(Announcement { daemon, fullname })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_omits_what_full_reveals() {
        let minimal = record(
            MdnsMode::Minimal,
            18789,
            "alice-laptop",
            "/home/alice/.cargo/bin/openclaw",
            22,
        )
        .unwrap();
        let keys: Vec<&str> = minimal.txt.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["role", "gatewayPort", "transport"]);
        assert!(!format!("{minimal:?}").contains("alice"));
        let full = record(
            MdnsMode::Full,
            18789,
            "alice-laptop",
            "/home/alice/.cargo/bin/openclaw",
            2222,
        )
        .unwrap();
        let get = |k: &str| full.txt.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("cliPath").as_deref(), Some("/home/alice/.cargo/bin/openclaw"));
        assert_eq!(get("sshPort").as_deref(), Some("2222"));
        assert_eq!(get("lanHost").as_deref(), Some("alice-laptop.local"));
        assert!(record(MdnsMode::Off, 1, "h", "/p", 22).is_none());
    }

    #[test]
    fn env_and_legacy_switches() {
        let config: Config =
            serde_json::from_value(serde_json::json!({"discovery": {"mdns": {"mode": "full"}}})).unwrap();
        assert_eq!(mode(&config, &Env::from_pairs([("X", "1")])), MdnsMode::Full);
        assert_eq!(
            mode(&config, &Env::from_pairs([("OPENCLAW_DISABLE_BONJOUR", "1")])),
            MdnsMode::Off
        );
        let legacy: Config =
            serde_json::from_value(serde_json::json!({"gateway": {"mdns": {"enabled": false}}})).unwrap();
        assert_eq!(mode(&legacy, &Env::from_pairs([("X", "1")])), MdnsMode::Off);
        assert_eq!(
            mode(&Config::default(), &Env::from_pairs([("X", "1")])),
            MdnsMode::Minimal
        );
    }
}
