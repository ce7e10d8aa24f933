//! `exec` on the gateway host. The caller has already decided that this command may run here
//! (tool policy, exec security and approvals); this module only runs it, contained: its own
//! process group, a scrubbed environment, capped output, and a deadline after which everything
//! it started is killed.

use std::collections::BTreeMap;
use std::future::Future;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use rustix::process::{Pid, Signal};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::time::Instant;

use crate::args::parse;
use crate::error::ToolError;

/// The only PATH a host command gets: the system directories, never one the model chose.
pub const SAFE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How long output is still collected after the process group was killed. Killed writers close
/// their pipe ends at once; only a process that left the group (setsid) can hold one open, and
/// it does not get to hold the call open.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// Passed to `/bin/sh -c` as one argument.
    pub command: String,
    pub workdir: PathBuf,
    /// Added to the minimal environment; PATH, LD_* and DYLD_* are refused.
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    /// Cap on each of stdout and stderr (so an error message survives a flood of output); the
    /// rest is read and discarded.
    pub max_output_bytes: usize,
}

/// How it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub truncated: bool,
    pub timed_out: bool,
    pub duration: Duration,
}

impl ExecOutput {
    /// The result as the model sees it: output, then a line on how the command ended.
    pub fn to_tool_text(&self) -> String {
        let mut text = String::new();
        text.push_str(&self.stdout);
        if !self.stderr.is_empty() {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&self.stderr);
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        if self.truncated {
            text.push_str("[output truncated: the command printed more than the cap]\n");
        }
        let seconds = self.duration.as_secs_f64();
        match (self.timed_out, self.exit_code, self.signal) {
            (true, _, _) => text.push_str(&format!(
                "[timed out after {seconds:.1}s; the command and its children were killed]"
            )),
            (false, Some(code), _) => text.push_str(&format!("[exit code {code}, {seconds:.1}s]")),
            (false, None, Some(signal)) => text.push_str(&format!("[killed by signal {signal}, {seconds:.1}s]")),
            (false, None, None) => text.push_str(&format!("[ended, {seconds:.1}s]")),
        }
        text
    }
}

/// The model's `exec` arguments that this crate understands. Policy fields (`host`, `security`,
/// `ask`, `elevated`) are the gateway's to read; unknown fields are ignored here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExecArgs {
    pub command: String,
    pub workdir: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Seconds.
    pub timeout: Option<u64>,
    #[serde(default)]
    pub background: bool,
}

pub fn parse_exec_args(args: &Value) -> Result<ExecArgs, ToolError> {
    parse("exec", args)
}

/// Runs `req` and waits for it, for its deadline, or for `cancel`, whichever comes first.
/// Whatever happens, the command's whole process group is killed before this returns, and the
/// shell is reaped.
pub async fn run_on_host(req: ExecRequest, cancel: impl Future<Output = ()>) -> Result<ExecOutput, ToolError> {
    let started = Instant::now();
    let spawned = spawn_group(&req)?;
    let output = CappedOutput::new(req.max_output_bytes);
    let ending = supervise(spawned, started + req.timeout, cancel, &output).await?;
    let duration = started.elapsed();
    let captured = output.into_inner();
    let (status, timed_out) = match ending {
        Ending::Exited(status) => (status, false),
        Ending::TimedOut(status) => (status, true),
        Ending::Cancelled => return Err(ToolError::Cancelled),
    };
    Ok(ExecOutput {
        exit_code: status.code(),
        signal: status.signal(),
        stdout: String::from_utf8_lossy(&captured.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&captured.stderr).into_owned(),
        truncated: captured.truncated,
        timed_out,
        duration,
    })
}

/// Refuses environment entries that would change which code runs rather than what it is told.
pub fn check_env(env: &BTreeMap<String, String>) -> Result<(), ToolError> {
    for (key, value) in env {
        let upper = key.to_ascii_uppercase();
        let problem = if key.is_empty() || key.contains('=') || key.contains('\0') {
            Some("is not a valid variable name".to_owned())
        } else if value.contains('\0') {
            Some("has a NUL byte in its value".to_owned())
        } else if upper == "PATH" {
            Some(format!(
                "cannot be set on the gateway host: PATH is fixed to {SAFE_PATH} so a command name always means the system binary"
            ))
        } else if upper.starts_with("LD_") || upper.starts_with("DYLD_") {
            Some("cannot be set on the gateway host: dynamic-loader variables (LD_*, DYLD_*) would inject code into every program the command runs".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ToolError::Exec {
                message: format!("env `{key}` {problem}"),
            });
        }
    }
    Ok(())
}

/// A spawned shell in a fresh process group, with its output pipes.
pub(crate) struct Spawned {
    child: Child,
    group: GroupKill,
    stdout: ChildStdout,
    stderr: ChildStderr,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.group.leader.as_raw_pid().unsigned_abs()
    }
}

/// Spawns `/bin/sh -c command` as the leader of a new process group. Must run inside a Tokio
/// runtime.
pub(crate) fn spawn_group(req: &ExecRequest) -> Result<Spawned, ToolError> {
    check_env(&req.env)?;
    if req.timeout.is_zero() {
        return Err(ToolError::Exec {
            message: "the timeout must be greater than zero".into(),
        });
    }
    if !req.workdir.is_dir() {
        return Err(ToolError::Exec {
            message: format!("workdir `{}` is not an existing directory", req.workdir.display()),
        });
    }
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(&req.command)
        .current_dir(&req.workdir)
        .env_clear()
        .env("PATH", SAFE_PATH)
        .env(
            "LANG",
            std::env::var_os("LANG")
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| "C.UTF-8".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Group id = the shell's pid, so one kill reaches everything it starts.
        .process_group(0)
        .kill_on_drop(true);
    if let Some(home) = std::env::var_os("HOME") {
        command.env("HOME", home);
    }
    command.envs(&req.env);
    let mut child = command.spawn().map_err(|e| ToolError::Exec {
        message: format!("could not start /bin/sh: {e}"),
    })?;
    let leader = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw)
        .ok_or_else(|| ToolError::Exec {
            message: "the shell exited before its pid could be read".into(),
        })?;
    let group = GroupKill { leader, armed: true };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ToolError::Exec {
            message: "the shell's output pipes were not created".into(),
        });
    };
    Ok(Spawned {
        child,
        group,
        stdout,
        stderr,
    })
}

/// Kills the process group when dropped, so a caller that drops the future mid-run (instead of
/// cancelling) still leaves nothing running.
struct GroupKill {
    leader: Pid,
    armed: bool,
}

impl GroupKill {
    fn kill(&mut self) {
        // ESRCH: the group is already empty.
        let _ = rustix::process::kill_process_group(self.leader, Signal::KILL);
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        if self.armed {
            self.kill();
        }
    }
}

/// Why supervision stopped, with the shell's status.
pub(crate) enum Ending {
    Exited(ExitStatus),
    TimedOut(ExitStatus),
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// Where a run's output goes.
pub(crate) trait OutputSink: Sync {
    fn push(&self, stream: Stream, bytes: &[u8]);
}

/// Runs a spawned group to its end: the shell exits, the deadline passes, or `cancel` resolves.
/// Then the whole group is killed (the call owns everything it started; a background job the
/// model wants to keep belongs in the process table), the shell reaped, and the pipes drained.
pub(crate) async fn supervise(
    spawned: Spawned,
    deadline: Instant,
    cancel: impl Future<Output = ()>,
    sink: &dyn OutputSink,
) -> Result<Ending, ToolError> {
    let Spawned {
        mut child,
        mut group,
        stdout,
        stderr,
    } = spawned;
    let reading = async {
        tokio::join!(pump(stdout, Stream::Stdout, sink), pump(stderr, Stream::Stderr, sink));
    };
    tokio::pin!(reading);
    tokio::pin!(cancel);
    let expiry = tokio::time::sleep_until(deadline);
    tokio::pin!(expiry);

    enum Why {
        Exited(std::io::Result<ExitStatus>),
        TimedOut,
        Cancelled,
    }
    let mut drained = false;
    let why = loop {
        tokio::select! {
            () = &mut reading, if !drained => drained = true,
            status = child.wait() => break Why::Exited(status),
            () = &mut expiry => break Why::TimedOut,
            () = &mut cancel => break Why::Cancelled,
        }
    };
    group.kill();
    let reap = |result: std::io::Result<ExitStatus>| {
        result.map_err(|e| ToolError::Exec {
            message: format!("waiting for the shell failed: {e}"),
        })
    };
    let ending = match why {
        Why::Exited(status) => Ending::Exited(reap(status)?),
        Why::TimedOut => Ending::TimedOut(reap(child.wait().await)?),
        Why::Cancelled => {
            reap(child.wait().await)?;
            Ending::Cancelled
        }
    };
    // The shell is reaped: its pid, and so the group id, may be reused from here on.
    group.armed = false;
    if !drained {
        let _ = tokio::time::timeout(DRAIN_GRACE, &mut reading).await;
    }
    Ok(ending)
}

/// Copies a pipe into the sink until EOF. The sink may drop bytes, but the pipe is always read,
/// so a chatty command never blocks on a full pipe.
async fn pump(mut pipe: impl AsyncRead + Unpin, stream: Stream, sink: &dyn OutputSink) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => sink.push(stream, &buffer[..n]),
        }
    }
}

/// Output of a foreground run: each stream up to the cap.
struct CappedOutput {
    cap: usize,
    captured: Mutex<Captured>,
}

#[derive(Default)]
struct Captured {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    truncated: bool,
}

impl CappedOutput {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            captured: Mutex::new(Captured::default()),
        }
    }

    fn into_inner(self) -> Captured {
        self.captured
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl OutputSink for CappedOutput {
    fn push(&self, stream: Stream, bytes: &[u8]) {
        let mut captured = self.captured.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Captured {
            stdout,
            stderr,
            truncated,
        } = &mut *captured;
        let target = match stream {
            Stream::Stdout => stdout,
            Stream::Stderr => stderr,
        };
        let kept = bytes.len().min(self.cap.saturating_sub(target.len()));
        if kept < bytes.len() {
            *truncated = true;
        }
        target.extend_from_slice(&bytes[..kept]);
    }
}
