//! What a caller asks to run in a sandbox and what comes back.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::env::EnvRefusal;

/// OpenClaw's exec tool default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
/// Per stream; the rest of the output is read and discarded so the process never blocks.
pub const DEFAULT_OUTPUT_LIMIT: usize = 200 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// Run as is: no shell unless `argv` names one (see [`ExecRequest::shell`]).
    pub argv: Vec<String>,
    /// Added to the container's environment as API entries, after sanitizing.
    pub env: BTreeMap<String, String>,
    /// Default: the container's workdir.
    pub workdir: Option<String>,
    /// Default: the container's user.
    pub user: Option<String>,
    pub timeout: Duration,
    /// Bytes kept of stdout and of stderr each.
    pub output_limit: usize,
    /// Written to the process's stdin, which is then closed so the process sees EOF. `None`
    /// leaves stdin unattached: a process reading it gets EOF at once.
    pub stdin: Option<Vec<u8>>,
}

impl ExecRequest {
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
            workdir: None,
            user: None,
            timeout: DEFAULT_TIMEOUT,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            stdin: None,
        }
    }

    /// `/bin/sh -c <command>`: only when the caller wants shell syntax.
    pub fn shell(command: impl Into<String>) -> Self {
        Self::new(["/bin/sh".to_string(), "-c".to_string(), command.into()])
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn workdir(mut self, dir: impl Into<String>) -> Self {
        self.workdir = Some(dir.into());
        self
    }

    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }
}

/// Which stream a chunk of streamed output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// `None` when the engine could not tell (e.g. the process outlived its kill).
    pub exit_code: Option<i64>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// The deadline passed and every process of this exec was killed.
    pub timed_out: bool,
    /// The caller cancelled and every process of this exec was killed (or it never started).
    pub cancelled: bool,
    /// Caller variables that were not passed, with the reason.
    pub dropped_env: Vec<(String, EnvRefusal)>,
}

impl ExecOutput {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.cancelled
    }
}

/// Keeps the first `limit` bytes of a stream and remembers whether more came.
#[derive(Debug, Default)]
pub(crate) struct CappedBuffer {
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

impl CappedBuffer {
    pub fn push(&mut self, chunk: &[u8], limit: usize) {
        let room = limit.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_buffer_keeps_the_first_bytes_and_flags_the_rest() {
        let mut buf = CappedBuffer::default();
        buf.push(b"hello ", 8);
        buf.push(b"world", 8);
        buf.push(b"!", 8);
        assert_eq!(buf.bytes, b"hello wo");
        assert!(buf.truncated);
    }

    #[test]
    fn shell_is_explicit() {
        let req = ExecRequest::shell("echo $HOME");
        assert_eq!(req.argv, ["/bin/sh", "-c", "echo $HOME"]);
        assert_eq!(ExecRequest::new(["ls", "-l"]).argv, ["ls", "-l"]);
    }
}
