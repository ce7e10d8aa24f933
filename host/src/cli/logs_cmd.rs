//! `openclaw logs [--limit N] [--json] [--file PATH]`: the end of the gateway's file log, every
//! line redacted.
//!
//! `--json` prints line-delimited JSON, as OpenClaw's `logs --json` does: one JSON object per log
//! line (a line that is not JSON becomes `{"message": ...}`), so `openclaw logs --json` can be
//! streamed and cut with standard tools. This is the one reporting command whose `--json` output
//! is not a single document; a failure is still one failure document.

use std::path::PathBuf;

use chrono::Local;
use clap::Args;

use crate::config;
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK};
use crate::logging::setup::{file_target, init_logging, report_redactor};
use crate::logging::tail::{self, MAX_TAIL_BYTES};
use crate::output::fail;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// How many lines to show, from the end.
    #[arg(long, default_value_t = 200)]
    limit: usize,
    /// Line-delimited JSON: one object per log line (`{"message": ...}` for a line that is not JSON).
    #[arg(long)]
    json: bool,
    /// Read this file instead of the gateway's log (default: today's /tmp/openclaw/openclaw-YYYY-MM-DD.log,
    /// else the newest one there, or `logging.file`).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: LogsArgs) -> u8 {
    let (loaded, unreadable) = match config::load(&ctx.paths, &ctx.env) {
        Ok(loaded) => (Some(loaded), None),
        Err(failure) => (None, Some(failure)),
    };
    init_logging(ctx, loaded.as_ref());
    let redactor = report_redactor(ctx, loaded.as_ref());
    if let Some(failure) = unreadable
        && args.file.is_none()
    {
        let warning = format!(
            "warning: {} cannot be read ({}); looking where the logger writes by default",
            failure.path.display(),
            failure.issue.message
        );
        eprintln!("{}", redactor.redact(&warning));
    }
    let target = file_target(ctx, loaded.as_ref());
    let today = Local::now().date_naive();
    let (path, tail) = match tail::read_gateway_log(&target, args.file.as_deref(), today, args.limit) {
        Ok(found) => found,
        Err(no) => {
            fail(args.json, &redactor.redact(&no.message), Some(&no.hint));
            return EXIT_FAILED;
        }
    };
    let shown = redactor.redact(&path.display().to_string()).into_owned();
    if tail.truncated {
        eprintln!(
            "openclaw logs: {shown} ({} bytes; only its last {} MiB were read)",
            tail.size,
            MAX_TAIL_BYTES >> 20
        );
    } else {
        eprintln!("openclaw logs: {shown}");
    }
    for line in &tail.lines {
        if args.json {
            println!("{}", tail::redacted_json(line, &redactor));
        } else {
            println!("{}", tail::redacted_text(line, &redactor));
        }
    }
    EXIT_OK
}
