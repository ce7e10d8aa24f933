//! Is a gateway running on this state directory, where does it listen, and does it answer?
//!
//! The lock file (`gateway.lock`) is the truth about whether one runs; `<state>/gateway.run.json`
//! (written by the gateway once it listens) says where. Shared by `gateway status | stop`,
//! `status`, `channels logout`, the operator client and the audit's `--deep` probe, so none of
//! them has to reach into the gateway server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::state::{StateLock, StatePaths, write_private};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    pub pid: u32,
    pub host: String,
    pub port: u16,
    pub bind: String,
    pub started_at: String,
    pub version: String,
}

/// `<state>/gateway.run.json`.
pub fn path(paths: &StatePaths) -> PathBuf {
    paths.state_dir.join("gateway.run.json")
}

pub fn write(path: &Path, info: &RunInfo) -> Result<(), String> {
    let text = serde_json::to_vec_pretty(info).map_err(|e| e.to_string())?;
    write_private(path, &text).map_err(|e| e.to_string())
}

pub fn read(path: &Path) -> Option<RunInfo> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The pid of the running gateway, if one holds the state directory's lock.
pub fn running_pid(paths: &StatePaths) -> Option<u32> {
    let lock_path = paths.gateway_lock_path();
    if !lock_path.exists() {
        return None;
    }
    match StateLock::acquire(&lock_path, &paths.state_dir) {
        // We got the lock: nobody holds it. Dropping it releases it again.
        Ok(_) => None,
        Err(_) => std::fs::read_to_string(&lock_path).ok()?.trim().parse().ok(),
    }
}

/// The address to reach a gateway that recorded `host` (an unspecified bind is reached on
/// loopback).
pub fn local_addr(host: &str, port: u16) -> Result<SocketAddr, String> {
    let ip: std::net::IpAddr = host.parse().map_err(|e| format!("{e}"))?;
    let ip = if ip.is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        ip
    };
    Ok(SocketAddr::new(ip, port))
}

/// Sends one HTTP/1.1 `request` and returns the response's status code.
pub fn http_status(addr: SocketAddr, request: &str, timeout: Duration) -> Result<u16, String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut head = Vec::with_capacity(64);
    stream.take(64).read_to_end(&mut head).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&head);
    text.strip_prefix("HTTP/1.1 ")
        .or_else(|| text.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{addr} did not answer HTTP"))
}

/// `GET /health` over plain HTTP/1.1 with a short timeout: `Ok(true)` when it answers 200.
pub fn probe_health(host: &str, port: u16) -> Result<bool, String> {
    let addr = local_addr(host, port)?;
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    Ok(http_status(addr, &request, Duration::from_secs(2))? == 200)
}

/// What a command reports about the gateway of this state directory.
#[derive(Debug, Clone)]
pub struct Liveness {
    /// The lock holder's pid; `None` when no gateway runs.
    pub pid: Option<u32>,
    /// Where it listens (absent while it starts up).
    pub info: Option<RunInfo>,
    /// The `/health` probe, when there was an address to probe.
    pub health: Option<Result<bool, String>>,
}

impl Liveness {
    pub fn running(&self) -> bool {
        self.pid.is_some()
    }

    pub fn healthy(&self) -> bool {
        matches!(self.health, Some(Ok(true)))
    }
}

/// Is a gateway running here, and does it answer `/health`?
pub fn liveness(paths: &StatePaths) -> Liveness {
    let Some(pid) = running_pid(paths) else {
        return Liveness {
            pid: None,
            info: None,
            health: None,
        };
    };
    let info = read(&path(paths));
    let health = info.as_ref().map(|i| probe_health(&i.host, i.port));
    Liveness {
        pid: Some(pid),
        info,
        health,
    }
}
