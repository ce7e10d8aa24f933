//! `openclaw security audit`: parse, run the audit service, render.

use clap::{Args, Subcommand, ValueEnum};
use openclaw_core::security::audit::{Finding, Severity};
use serde_json::json;

use crate::audit::{self, Options, Outcome};
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK};
use crate::output::print_json;

/// Exit status when findings at the `--fail-on` level remain (distinct from an invalid config).
pub const EXIT_FINDINGS: u8 = 3;

#[derive(Debug, Subcommand)]
pub enum SecurityCommand {
    /// Check the config and the state directory for common footguns.
    Audit(AuditArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FailOn {
    Critical,
    Warn,
    Info,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Also probe the running gateway (is it up, does it refuse unauthenticated requests, does it
    /// listen where the config says) and the Docker engine a required sandbox uses.
    #[arg(long)]
    deep: bool,
    /// Apply the safe fixes first (groupPolicy open→allowlist, redactSensitive off→tools, chmod
    /// the state tree), keeping a .bak of the config; the report shows the state after fixing.
    #[arg(long)]
    fix: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Exit 3 when findings at this severity or above remain (for scripts and CI).
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
}

pub fn run(ctx: &Context, command: SecurityCommand) -> u8 {
    match command {
        SecurityCommand::Audit(args) => audit_cmd(ctx, args),
    }
}

fn audit_cmd(ctx: &Context, args: AuditArgs) -> u8 {
    let outcome = audit::run(
        ctx,
        Options {
            deep: args.deep,
            fix: args.fix,
        },
    );
    if args.json {
        let report = outcome.report_json();
        let mut value = match &outcome.fix {
            Some(fix) => json!({"fix": fix.to_json(ctx), "report": report}),
            None => report,
        };
        value["secretDiagnostics"] = json!(outcome.secret_diagnostics);
        if let Some(invalid) = &outcome.invalid {
            value["ok"] = json!(false);
            value["error"] = json!({"type": "invalid_config", "message": invalid});
            value["hint"] = json!("run `openclaw config validate` for the full list, fix it, then re-run the audit");
        }
        print_json(&value);
    } else {
        print_text(ctx, &outcome, args.deep);
    }
    if outcome.invalid.is_some() {
        return EXIT_FAILED;
    }
    let level = args.fail_on.map(|f| match f {
        FailOn::Critical => Severity::Critical,
        FailOn::Warn => Severity::Warn,
        FailOn::Info => Severity::Info,
    });
    match level {
        Some(level) if outcome.summary().reaches(level) => EXIT_FINDINGS,
        _ => EXIT_OK,
    }
}

fn print_text(ctx: &Context, outcome: &Outcome, deep: bool) {
    println!("OpenClaw security audit");
    if let Some(invalid) = &outcome.invalid {
        eprintln!("error: {invalid}");
        eprintln!("  run `openclaw config validate` for the full list, fix it, then re-run the audit");
    }
    let s = outcome.summary();
    println!("Summary: {} critical · {} warn · {} info", s.critical, s.warn, s.info);
    if !deep {
        println!("Run deeper: openclaw security audit --deep");
    }
    for d in &outcome.secret_diagnostics {
        println!("[secrets] {d}");
    }
    if let Some(fix) = &outcome.fix {
        println!();
        println!("FIX");
        let applied: Vec<_> = fix.actions.iter().filter(|a| a.ok).collect();
        if fix.changes.is_empty() && applied.is_empty() && fix.errors.is_empty() {
            println!("Fixes: no changes applied");
        }
        for change in &fix.changes {
            println!("  {change}");
        }
        if let Some(backup) = &fix.backup {
            println!("  previous config kept as {}", backup.display());
        }
        for action in &fix.actions {
            match (action.ok, action.skipped, &action.error) {
                (true, _, _) => println!("  chmod {:o} {}", action.mode, action.path),
                (false, Some("missing") | Some("already"), _) => {}
                (false, Some(why), _) => println!("  skip chmod {:o} {} ({why})", action.mode, action.path),
                (false, None, Some(e)) => println!("  chmod {:o} {} failed: {e}", action.mode, action.path),
                (false, None, None) => {}
            }
        }
        for e in &fix.errors {
            println!("  error: {e}");
        }
        let _ = ctx;
    }
    let Some(audit) = &outcome.audit else {
        return;
    };
    for (severity, heading) in [
        (Severity::Critical, "CRITICAL"),
        (Severity::Warn, "WARN"),
        (Severity::Info, "INFO"),
    ] {
        let findings: Vec<&Finding> = audit.findings.iter().filter(|f| f.severity == severity).collect();
        if findings.is_empty() {
            continue;
        }
        println!();
        println!("{heading}");
        for f in findings {
            println!("{} {}", f.check_id, f.title);
            for line in f.detail.lines() {
                println!("  {line}");
            }
            if let Some(fix) = &f.remediation {
                println!("  Fix: {fix}");
            }
        }
    }
    if !audit.suppressed.is_empty() {
        println!();
        println!("SUPPRESSED ({})", audit.suppressed.len());
        for s in &audit.suppressed {
            let reason = s.suppression.reason.as_deref().unwrap_or("no reason given");
            println!("{} {} ({reason})", s.finding.check_id, s.finding.title);
        }
    }
}
