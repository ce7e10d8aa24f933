//! Background runs (`exec` with `background: true`) and the `process` tool that watches them.
//!
//! A table is meant to be per agent session: ids are only unique within one table, and one
//! session must not see another's processes. Each run is contained exactly like a foreground
//! `exec` (process group, deadline, kill); the table adds bounds on how many run at once, how
//! many finished ones are kept, and how much output each keeps.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::args::parse;
use crate::error::ToolError;
use crate::exec::{Ending, ExecRequest, OutputSink, Stream, spawn_group, supervise};

/// Bounds of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessLimits {
    /// Runs alive at once; `start` refuses beyond it.
    pub max_running: usize,
    /// Entries kept, running or finished; the oldest finished ones are forgotten first.
    pub max_retained: usize,
    /// Output kept per run (stdout and stderr interleaved); older bytes are dropped first.
    pub output_cap_bytes: usize,
}

impl Default for ProcessLimits {
    fn default() -> Self {
        Self {
            max_running: 8,
            max_retained: 32,
            output_cap_bytes: 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessStatus {
    Running,
    Exited { code: i32 },
    Signaled { signal: i32 },
    TimedOut,
    Killed,
    Failed { message: String },
}

impl ProcessStatus {
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Running)
    }

    fn describe(&self) -> String {
        match self {
            Self::Running => "running".into(),
            Self::Exited { code } => format!("exited with code {code}"),
            Self::Signaled { signal } => format!("killed by signal {signal}"),
            Self::TimedOut => "timed out and was killed".into(),
            Self::Killed => "killed on request".into(),
            Self::Failed { message } => format!("failed: {message}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub id: String,
    pub command: String,
    pub pid: u32,
    pub status: ProcessStatus,
    /// Time since start, or from start to end once finished.
    pub runtime: Duration,
}

/// What `poll` returns: the status and the output that arrived since the previous poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessPoll {
    pub status: ProcessStatus,
    pub output: String,
    /// Output that arrived since the previous poll but was pushed out of the ring before it
    /// could be returned.
    pub dropped_bytes: u64,
}

/// The background runs of one session.
pub struct ProcessTable {
    limits: ProcessLimits,
    table: Mutex<Table>,
}

struct Table {
    next_id: u64,
    entries: BTreeMap<u64, Entry>,
}

struct Entry {
    command: String,
    pid: u32,
    started: Instant,
    run: Arc<RunState>,
    /// Dropping or sending ends the run.
    kill: Option<oneshot::Sender<()>>,
    done: watch::Receiver<bool>,
    poll_cursor: u64,
}

/// Resolves when a run started with [`ProcessTable::start_with`] must stop.
pub type Cancel = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where a background run writes its output (stdout and stderr interleaved, as they arrive).
#[derive(Clone)]
pub struct RunOutput(Arc<RunState>);

impl RunOutput {
    pub fn push(&self, bytes: &[u8]) {
        self.0.lock().output.push(bytes);
    }
}

fn current_runtime() -> Result<tokio::runtime::Handle, ToolError> {
    tokio::runtime::Handle::try_current().map_err(|_| ToolError::Process {
        message: "background runs need a Tokio runtime".into(),
    })
}

/// What the supervising task and the table share about one run.
struct RunState {
    inner: Mutex<RunInner>,
}

struct RunInner {
    output: OutputRing,
    status: ProcessStatus,
    ended: Option<Instant>,
}

impl RunState {
    fn lock(&self) -> MutexGuard<'_, RunInner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl OutputSink for RunState {
    fn push(&self, _stream: Stream, bytes: &[u8]) {
        self.lock().output.push(bytes);
    }
}

/// The last `cap` bytes of output, and how many were ever written, so readers can keep an
/// absolute cursor.
struct OutputRing {
    bytes: VecDeque<u8>,
    cap: usize,
    written: u64,
}

impl OutputRing {
    fn new(cap: usize) -> Self {
        Self {
            bytes: VecDeque::new(),
            cap,
            written: 0,
        }
    }

    fn push(&mut self, data: &[u8]) {
        self.written += data.len() as u64;
        let data = &data[data.len().saturating_sub(self.cap)..];
        let overflow = (self.bytes.len() + data.len()).saturating_sub(self.cap);
        self.bytes.drain(..overflow.min(self.bytes.len()));
        self.bytes.extend(data);
    }

    fn first_kept(&self) -> u64 {
        self.written - self.bytes.len() as u64
    }

    /// Bytes from absolute position `cursor` on, and how many before them are gone.
    fn since(&self, cursor: u64) -> (Vec<u8>, u64) {
        let first = self.first_kept();
        let dropped = first.saturating_sub(cursor);
        let skip = usize::try_from(cursor.saturating_sub(first))
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        (self.bytes.iter().skip(skip).copied().collect(), dropped)
    }
}

impl ProcessTable {
    pub fn new(limits: ProcessLimits) -> Self {
        let limits = ProcessLimits {
            max_running: limits.max_running.max(1),
            max_retained: limits.max_retained.max(limits.max_running.max(1)),
            output_cap_bytes: limits.output_cap_bytes,
        };
        Self {
            limits,
            table: Mutex::new(Table {
                next_id: 1,
                entries: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts `req` in the background on this host and returns its id. Must be called inside a
    /// Tokio runtime.
    pub fn start(&self, req: ExecRequest) -> Result<String, ToolError> {
        let runtime = current_runtime()?;
        let mut table = self.lock();
        self.make_room(&mut table)?;
        let spawned = {
            let _context = runtime.enter();
            spawn_group(&req)?
        };
        let pid = spawned.pid();
        let deadline = Instant::now() + req.timeout;
        Ok(self.insert(
            &mut table,
            &runtime,
            req.command,
            pid,
            move |output, cancel| async move {
                match supervise(spawned, deadline, cancel, &*output.0).await {
                    Ok(Ending::Exited(status)) => status_of(status),
                    Ok(Ending::TimedOut(_)) => ProcessStatus::TimedOut,
                    Ok(Ending::Cancelled) => ProcessStatus::Killed,
                    Err(error) => ProcessStatus::Failed {
                        message: error.to_string(),
                    },
                }
            },
        ))
    }

    /// Starts a run that is not a process of this host (a command in a container, say): `run`
    /// gets the output to write to and a future that resolves when the run must stop (a `kill`,
    /// or the table forgetting it), and returns how the run ended. It owns its own deadline.
    /// `pid` is what `list` shows (0 when there is no host process).
    pub fn start_with<F, Fut>(&self, command: String, pid: u32, run: F) -> Result<String, ToolError>
    where
        F: FnOnce(RunOutput, Cancel) -> Fut,
        Fut: Future<Output = ProcessStatus> + Send + 'static,
    {
        let runtime = current_runtime()?;
        let mut table = self.lock();
        self.make_room(&mut table)?;
        Ok(self.insert(&mut table, &runtime, command, pid, run))
    }

    /// Refuses past `max_running`, then forgets the oldest finished runs past `max_retained`.
    fn make_room(&self, table: &mut Table) -> Result<(), ToolError> {
        let running = table
            .entries
            .values()
            .filter(|e| e.run.lock().status.is_running())
            .count();
        if running >= self.limits.max_running {
            return Err(ToolError::Process {
                message: format!(
                    "{running} background processes are already running, the most allowed; poll them until they \
                     finish or kill one first"
                ),
            });
        }
        while table.entries.len() >= self.limits.max_retained {
            let oldest_finished = table
                .entries
                .iter()
                .find(|(_, e)| !e.run.lock().status.is_running())
                .map(|(id, _)| *id);
            match oldest_finished {
                Some(id) => table.entries.remove(&id),
                None => break,
            };
        }
        Ok(())
    }

    fn insert<F, Fut>(
        &self,
        table: &mut Table,
        runtime: &tokio::runtime::Handle,
        command: String,
        pid: u32,
        run: F,
    ) -> String
    where
        F: FnOnce(RunOutput, Cancel) -> Fut,
        Fut: Future<Output = ProcessStatus> + Send + 'static,
    {
        let state = Arc::new(RunState {
            inner: Mutex::new(RunInner {
                output: OutputRing::new(self.limits.output_cap_bytes),
                status: ProcessStatus::Running,
                ended: None,
            }),
        });
        let (kill, killed) = oneshot::channel::<()>();
        let (finished, done) = watch::channel(false);
        let started = Instant::now();
        // A dropped sender (entry removed, table dropped) ends the run too.
        let cancel: Cancel = Box::pin(async {
            let _ = killed.await;
        });
        let running = run(RunOutput(Arc::clone(&state)), cancel);
        let task_state = Arc::clone(&state);
        runtime.spawn(async move {
            let status = running.await;
            {
                let mut inner = task_state.lock();
                inner.status = status;
                inner.ended = Some(Instant::now());
            }
            let _ = finished.send(true);
        });

        let number = table.next_id;
        table.next_id += 1;
        table.entries.insert(
            number,
            Entry {
                command,
                pid,
                started,
                run: state,
                kill: Some(kill),
                done,
                poll_cursor: 0,
            },
        );
        format_id(number)
    }

    /// Status and the output that arrived since the last poll.
    pub fn poll(&self, id: &str) -> Result<ProcessPoll, ToolError> {
        let mut table = self.lock();
        let entry = entry_mut(&mut table, id)?;
        let inner = entry.run.lock();
        let (bytes, dropped_bytes) = inner.output.since(entry.poll_cursor);
        let status = inner.status.clone();
        let written = inner.output.written;
        drop(inner);
        entry.poll_cursor = written;
        Ok(ProcessPoll {
            status,
            output: String::from_utf8_lossy(&bytes).into_owned(),
            dropped_bytes,
        })
    }

    /// The kept output, lines `offset..offset+limit` (0-based; all when not given).
    pub fn log(&self, id: &str, offset: Option<usize>, limit: Option<usize>) -> Result<String, ToolError> {
        let mut table = self.lock();
        let entry = entry_mut(&mut table, id)?;
        let inner = entry.run.lock();
        let (bytes, _) = inner.output.since(0);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let start = offset.unwrap_or(0).min(lines.len());
        let end = limit.map_or(lines.len(), |l| start.saturating_add(l).min(lines.len()));
        Ok(lines[start..end].concat())
    }

    /// Kills the run's whole process group and waits until it is reaped.
    pub async fn kill(&self, id: &str) -> Result<ProcessStatus, ToolError> {
        let kill = entry_mut(&mut self.lock(), id)?.kill.take();
        if let Some(kill) = kill {
            let _ = kill.send(());
        }
        self.wait(id).await
    }

    /// Waits until the run has ended (wrap it in a timeout to bound the wait).
    pub async fn wait(&self, id: &str) -> Result<ProcessStatus, ToolError> {
        let mut done = {
            let mut table = self.lock();
            entry_mut(&mut table, id)?.done.clone()
        };
        let _ = done.wait_for(|finished| *finished).await;
        let mut table = self.lock();
        let entry = entry_mut(&mut table, id)?;
        Ok(entry.run.lock().status.clone())
    }

    /// Forgets a run, first killing it (and waiting for that) if it still runs.
    pub async fn remove(&self, id: &str) -> Result<(), ToolError> {
        self.kill(id).await?;
        let mut table = self.lock();
        if let Some(number) = parse_id(id) {
            table.entries.remove(&number);
        }
        Ok(())
    }

    pub fn list(&self) -> Vec<ProcessInfo> {
        let table = self.lock();
        table
            .entries
            .iter()
            .map(|(number, entry)| {
                let inner = entry.run.lock();
                ProcessInfo {
                    id: format_id(*number),
                    command: entry.command.clone(),
                    pid: entry.pid,
                    status: inner.status.clone(),
                    runtime: inner.ended.unwrap_or_else(Instant::now).duration_since(entry.started),
                }
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct ProcessArgs {
    action: String,
    #[serde(alias = "sessionId", alias = "session_id")]
    id: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// The `process` tool: `{action: list|poll|log|kill|remove, sessionId?, offset?, limit?}`.
pub async fn process_action(table: &ProcessTable, args: &Value) -> Result<String, ToolError> {
    let args: ProcessArgs = parse("process", args)?;
    let id = || {
        args.id.as_deref().ok_or_else(|| ToolError::InvalidArguments {
            tool: "process",
            message: format!("action `{}` needs sessionId (from exec or `list`)", args.action),
        })
    };
    match args.action.as_str() {
        "list" => {
            let runs = table.list();
            if runs.is_empty() {
                return Ok("No background processes.".into());
            }
            Ok(runs
                .iter()
                .map(|r| {
                    format!(
                        "{} pid {} {} ({:.1}s): {}",
                        r.id,
                        r.pid,
                        r.status.describe(),
                        r.runtime.as_secs_f64(),
                        r.command
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"))
        }
        "poll" => {
            let polled = table.poll(id()?)?;
            let mut text = polled.output;
            if polled.dropped_bytes > 0 {
                text.insert_str(
                    0,
                    &format!(
                        "[{} bytes of output were dropped before this poll]\n",
                        polled.dropped_bytes
                    ),
                );
            }
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("[{}]", polled.status.describe()));
            Ok(text)
        }
        "log" => table.log(id()?, args.offset, args.limit),
        "kill" => Ok(format!("[{}]", table.kill(id()?).await?.describe())),
        "remove" => table.remove(id()?).await.map(|()| "Removed.".into()),
        other => Err(ToolError::InvalidArguments {
            tool: "process",
            message: format!("unknown action `{other}`; use list, poll, log, kill or remove"),
        }),
    }
}

fn status_of(status: ExitStatus) -> ProcessStatus {
    match (status.code(), status.signal()) {
        (Some(code), _) => ProcessStatus::Exited { code },
        (None, Some(signal)) => ProcessStatus::Signaled { signal },
        (None, None) => ProcessStatus::Failed {
            message: "ended without a code or a signal".into(),
        },
    }
}

const ID_PREFIX: &str = "proc-";

fn format_id(number: u64) -> String {
    format!("{ID_PREFIX}{number}")
}

fn parse_id(id: &str) -> Option<u64> {
    id.strip_prefix(ID_PREFIX)?.parse().ok()
}

fn unknown(id: &str) -> ToolError {
    ToolError::Process {
        message: format!("no background process `{id}` in this session; `list` shows the ids"),
    }
}

fn entry_mut<'t>(table: &'t mut Table, id: &str) -> Result<&'t mut Entry, ToolError> {
    parse_id(id)
        .and_then(|n| table.entries.get_mut(&n))
        .ok_or_else(|| unknown(id))
}

#[cfg(test)]
mod tests {
    use super::OutputRing;

    #[test]
    fn ring_keeps_the_newest_bytes_and_reports_what_a_reader_missed() {
        let mut ring = OutputRing::new(4);
        ring.push(b"abc");
        assert_eq!(ring.since(0), (b"abc".to_vec(), 0));
        ring.push(b"defgh");
        assert_eq!(ring.since(0), (b"efgh".to_vec(), 4));
        assert_eq!(ring.since(3), (b"efgh".to_vec(), 1));
        assert_eq!(ring.since(6), (b"gh".to_vec(), 0));
        assert_eq!(ring.since(8), (Vec::new(), 0));
    }
}
