//! `openclaw channels logout --channel <c> [--account <a>] [--json]`: parse, run the logout
//! service, render.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::channels::logout::{self, Credential, Outcome, Plan, Refusal};
use crate::config;
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK};
use crate::logging::setup::{init_logging, report_redactor};
use crate::output::{fail, failure_json, print_json_redacted, print_text_redacted};

#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    /// Contain a channel: forget what its plugin stored for the account(s) and name every
    /// credential to revoke (the config is not changed). Stop the gateway first.
    Logout(LogoutArgs),
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The channel (`telegram`, ...), as configured under `channels.<id>`.
    #[arg(long)]
    channel: String,
    /// Only this account (default: every account of the channel).
    #[arg(long)]
    account: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, command: ChannelsCommand) -> u8 {
    match command {
        ChannelsCommand::Logout(args) => logout_cmd(ctx, args),
    }
}

fn credentials_json(plan: &Plan) -> Vec<Value> {
    plan.credentials.iter().map(Credential::to_json).collect()
}

fn credential_lines(plan: &Plan) -> Vec<String> {
    if plan.credentials.is_empty() {
        return vec![format!(
            "No credential of channels.{} is set in the config or this shell's environment.",
            plan.channel
        )];
    }
    let mut out = vec!["Credentials that stay valid until you revoke them:".to_string()];
    for c in &plan.credentials {
        let kind = match c.kind {
            "config" => "in the config",
            "secretRef" => "a SecretRef in the config",
            "file" => "a file named in the config",
            _ => "an environment variable",
        };
        let detail = c.detail.as_deref().map(|d| format!(", {d}")).unwrap_or_default();
        out.push(format!("  account {}: {} ({kind}{detail})", c.account, c.location));
        out.push(format!("    {}", c.fix));
    }
    out
}

fn logout_cmd(ctx: &Context, args: LogoutArgs) -> u8 {
    let loaded = match config::load(&ctx.paths, &ctx.env) {
        Ok(loaded) => loaded,
        Err(failure) => {
            init_logging(ctx, None);
            let redactor = report_redactor(ctx, None);
            fail(
                args.json,
                &redactor.redact(&failure.issue.to_string()),
                Some("fix the config (`openclaw config validate`), then log out again"),
            );
            return EXIT_FAILED;
        }
    };
    init_logging(ctx, Some(&loaded));
    let redactor = report_redactor(ctx, Some(&loaded));
    let Some(config) = loaded.config() else {
        let first = loaded
            .issues()
            .find(|i| i.is_error())
            .map(|i| i.to_string())
            .unwrap_or_default();
        fail(
            args.json,
            &redactor.redact(&format!(
                "{} does not validate ({first}), so its channels cannot be read",
                ctx.paths.config_path.display()
            )),
            Some("run `openclaw config validate` for the full list, fix it, then log out again"),
        );
        return EXIT_FAILED;
    };
    let result = logout::logout(
        ctx,
        config,
        &loaded.checked.resolved,
        &args.channel,
        args.account.as_deref(),
    );
    let (value, text, code) = match result {
        Ok(outcome) => (success_json(&outcome), success_text(&outcome), EXIT_OK),
        Err(Refusal::Unknown { message, hint }) | Err(Refusal::Failed { message, hint }) => {
            fail(args.json, &redactor.redact(&message), Some(&hint));
            return EXIT_FAILED;
        }
        Err(Refusal::GatewayRunning { holder, plan }) => {
            let message = format!(
                "a gateway ({holder}) is running on this state directory and holds the {} plugin's state; nothing was removed",
                plan.channel
            );
            let hint = format!(
                "stop it first with `openclaw gateway stop` (its channels stop with it), then run `openclaw channels logout --channel {}` again",
                plan.channel
            );
            let mut value = failure_json(&message);
            value["hint"] = json!(hint);
            value["channel"] = json!(plan.channel);
            value["accounts"] = json!(plan.accounts);
            value["credentials"] = json!(credentials_json(&plan));
            value["configChanged"] = json!(false);
            if !args.json {
                eprintln!("error: {}", redactor.redact(&message));
                eprintln!("  {hint}");
            }
            (value, credential_lines(&plan).join("\n") + "\n", EXIT_FAILED)
        }
    };
    if args.json {
        print_json_redacted(&value, &redactor);
    } else {
        print_text_redacted(&text, &redactor);
    }
    code
}

fn success_json(outcome: &Outcome) -> Value {
    let plan = &outcome.plan;
    json!({
        "ok": true,
        "channel": plan.channel,
        "accounts": plan.accounts,
        "plugin": plan.plugin,
        "store": plan.store,
        "removed": outcome.removed,
        "credentials": credentials_json(plan),
        "configChanged": false,
    })
}

fn success_text(outcome: &Outcome) -> String {
    let plan = &outcome.plan;
    let mut out = vec![format!(
        "Logged out {} ({} {}).",
        plan.channel,
        if plan.accounts.len() == 1 {
            "account"
        } else {
            "accounts"
        },
        plan.accounts.join(", ")
    )];
    if outcome.removed.is_empty() {
        out.push(format!("  Nothing was stored for it in {}.", plan.store.display()));
    } else {
        out.push(format!(
            "  Removed the plugin's stored state: {} (from {}).",
            outcome.removed.join(", "),
            plan.store.display()
        ));
    }
    out.extend(credential_lines(plan));
    out.push(
        "The config was not changed; the channel runs again at the next gateway start if a credential is still set."
            .into(),
    );
    out.join("\n") + "\n"
}
