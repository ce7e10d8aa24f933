//! The gateway's built-in tools.
//!
//! File tools (`read`, `write`, `edit`, `apply_patch`) resolve every path through a handle on the
//! workspace directory: under `tools.fs.workspaceOnly` the kernel (openat2 RESOLVE_BENEATH) keeps
//! resolution inside it, and in any mode the gateway's own state (config, credentials, sessions)
//! is refused by identity, not by spelling. `exec` runs a command the caller has already
//! approved in its own process group, with a scrubbed environment and a hard deadline.
//!
//! This crate does I/O only: it knows nothing of the config file, the gateway or plugins. The
//! gateway passes plain values:
//! - [`Workspace::open`] takes the agent workspace, `tools.fs.workspaceOnly`, and the protected
//!   paths (the state directory, and explicitly the config file and credential files). OpenClaw
//!   keeps `apply_patch` confined by `tools.exec.applyPatch.workspaceOnly` (default true) even when
//!   `tools.fs.workspaceOnly` is off; the gateway gives apply_patch a workspace opened with that flag.
//! - [`run_on_host`] takes an [`ExecRequest`] after the gateway has applied exec policy and
//!   approvals; [`ProcessTable`] (one per session) holds background runs.

mod args;
mod atomic;
mod edit;
mod error;
mod exec;
mod patch;
mod process;
mod read;
mod resolve;
mod specs;
mod text;
mod workspace;
mod write;

pub use edit::edit;
pub use error::ToolError;
pub use exec::{ExecArgs, ExecOutput, ExecRequest, SAFE_PATH, check_env, parse_exec_args, run_on_host};
pub use patch::apply_patch;
pub use process::{
    Cancel, ProcessInfo, ProcessLimits, ProcessPoll, ProcessStatus, ProcessTable, RunOutput, process_action,
};
pub use read::{READ_DEFAULT_LINES, READ_MAX_BYTES, read};
pub use resolve::Resolution;
pub use specs::{ToolSpec, specs};
pub use text::REWRITE_MAX_BYTES;
pub use workspace::Workspace;
pub use write::write;
