//! Commands in the agent's Docker sandbox (needs the `sandbox-exec` grant).

use crate::HostError;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecRequest {
    pub argv: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    pub env: Vec<(String, String)>,
    pub workdir: Option<String>,
    pub timeout_ms: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecResult {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub truncated: bool,
}

/// Runs `argv` in the sandbox.
pub fn exec(request: &ExecRequest) -> Result<ExecResult, HostError> {
    crate::host::with(|host| host.sandbox_exec(request))
}
