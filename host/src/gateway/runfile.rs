//! `<state>/gateway.run.json`: how `openclaw gateway status` and `stop` find a running gateway.
//! The lock file (`gateway.lock`) is the truth about whether one runs; this file says where.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::state::{StatePaths, write_private};

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
