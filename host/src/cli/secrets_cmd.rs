//! `openclaw secrets audit | apply | reload`: parse, call the secrets service (or, for
//! `reload`, the running gateway's `secrets.reload`), render.

use std::path::PathBuf;

use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;

use super::operator::{Client, Target, block_on};

use crate::audit::secrets;
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK};
use crate::output::{fail, print_json};

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Find plaintext credentials and references that do not resolve (read-only). Exit 2 when a
    /// reference does not resolve; with --check, 1 when anything is found.
    Audit(AuditArgs),
    /// Apply a plan (OpenClaw's `secrets configure --plan-out` format): write its SecretRefs and
    /// provider changes into the config (validated, .bak kept), then scrub the plaintext they
    /// replace from ~/.openclaw/.env, auth profiles and legacy auth.json. One-way.
    Apply(ApplyArgs),
    /// Re-resolve every SecretRef in the running gateway and swap its runtime snapshot (gateway
    /// RPC `secrets.reload`). All or nothing: when an active reference does not resolve, the
    /// gateway keeps the secrets it had. The config is neither re-read nor written.
    Reload(ReloadArgs),
}

#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// Gateway WebSocket URL (default: the running gateway of this state directory).
    #[arg(long)]
    url: Option<String>,
    /// Gateway token (default: OPENCLAW_GATEWAY_TOKEN, else gateway.auth.token). After rotating
    /// the gateway token itself, pass the one the gateway still uses.
    #[arg(long)]
    token: Option<String>,
    /// How long to wait for the gateway's answer, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    timeout: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file.
    #[arg(long)]
    from: PathBuf,
    /// Check the plan and show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Allow plans that configure or reference exec secret providers.
    #[arg(long)]
    allow_exec: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Exit 1 when any finding remains (for CI).
    #[arg(long)]
    check: bool,
    /// Also run exec providers to check their references (they are skipped and counted otherwise).
    #[arg(long)]
    allow_exec: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, command: SecretsCommand) -> u8 {
    match command {
        SecretsCommand::Audit(args) => audit(ctx, args),
        SecretsCommand::Apply(args) => apply(ctx, args),
        SecretsCommand::Reload(args) => reload(ctx, args),
    }
}

fn reload(ctx: &Context, args: ReloadArgs) -> u8 {
    let target = match Target::resolve(ctx, args.url, args.token) {
        Ok(target) => target,
        Err(e) => {
            fail(args.json, &e, None);
            return EXIT_FAILED;
        }
    };
    let limit = Duration::from_millis(args.timeout.max(1));
    let call = async {
        let mut client = Client::connect(&target).await?;
        client
            .request("secrets.reload", json!({}), &mut |_, _| {})
            .await
            .map_err(|e| e.message)
    };
    let outcome = block_on(async { tokio::time::timeout(limit, call).await })
        .and_then(|r| r.map_err(|_| format!("the gateway did not answer within {} ms; raise --timeout", args.timeout)))
        .and_then(|r| r);
    let result = match outcome {
        Ok(result) => result,
        Err(e) => {
            // The CLI resolves gateway.auth.token from the config, which after a rotation is
            // the new value the gateway does not know yet.
            let hint = e.contains("refused this client").then_some(
                "if you rotated the gateway's own token or password, pass the one it still uses (--token); the reload puts the new one in force",
            );
            fail(args.json, &e, hint);
            return EXIT_FAILED;
        }
    };
    if args.json {
        print_json(&result);
        return EXIT_OK;
    }
    let list = |key: &str| -> Vec<String> {
        result[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let changed = list("changed");
    println!(
        "Secrets reloaded: {} reference(s) resolved, {} changed.",
        result["refsResolved"].as_u64().unwrap_or(0),
        changed.len()
    );
    for path in changed {
        println!("changed: {path}");
    }
    for path in list("restartRequired") {
        println!("restart required: {path}");
    }
    for warning in list("warnings") {
        println!("warning: {warning}");
    }
    EXIT_OK
}

fn apply(ctx: &Context, args: ApplyArgs) -> u8 {
    match secrets::apply(ctx, &args.from, args.dry_run, args.allow_exec) {
        Ok(result) => {
            if args.json {
                print_json(&result);
            } else {
                let verb = if args.dry_run { "would change" } else { "changed" };
                for change in result["changes"].as_array().into_iter().flatten() {
                    println!("{verb}: {}", change.as_str().unwrap_or_default());
                }
                for s in result["scrubbed"].as_array().into_iter().flatten() {
                    println!(
                        "{} from {}: {}",
                        if args.dry_run { "would scrub" } else { "scrubbed" },
                        s["file"].as_str().unwrap_or_default(),
                        s["removed"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                if !args.dry_run {
                    println!(
                        "Restart the gateway (or `openclaw gateway stop` and start it) so it resolves the new references."
                    );
                }
            }
            EXIT_OK
        }
        Err(e) => {
            fail(args.json, &e.message, e.hint.as_deref());
            EXIT_FAILED
        }
    }
}

fn audit(ctx: &Context, args: AuditArgs) -> u8 {
    let result = secrets::run(ctx, args.allow_exec);
    if args.json {
        print_json(&result.report);
    } else {
        let s = result.summary;
        println!("Secrets audit: {}", s.status());
        println!(
            "plaintext {} · unresolved {} · shadowed {} · legacy {}",
            s.plaintext_count, s.unresolved_ref_count, s.shadowed_ref_count, s.legacy_residue_count
        );
        let skipped = result.report["resolution"]["skippedExecRefs"].as_u64().unwrap_or(0);
        if skipped > 0 {
            println!("{skipped} exec reference(s) not checked (run with --allow-exec to run their resolvers)");
        }
        for f in result.report["findings"].as_array().into_iter().flatten() {
            let path = f["jsonPath"].as_str().unwrap_or_default();
            println!(
                "[{}] {}{}{}: {}",
                f["code"].as_str().unwrap_or_default(),
                f["file"].as_str().unwrap_or_default(),
                if path.is_empty() { "" } else { " " },
                path,
                f["message"].as_str().unwrap_or_default()
            );
        }
    }
    result.summary.exit_code(args.check)
}
