//! `openclaw approvals list|approve|deny`: answer the exec approvals a running gateway waits
//! for. An unanswered request is denied when its timeout passes.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::operator::{Client, Target, block_on};
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK};
use crate::output;

#[derive(Debug, Args)]
pub struct ApprovalsArgs {
    #[command(subcommand)]
    command: ApprovalsCommand,
    /// Gateway WebSocket URL (default: the running gateway of this state directory).
    #[arg(long, global = true)]
    url: Option<String>,
    /// Gateway token (default: OPENCLAW_GATEWAY_TOKEN, else gateway.auth.token).
    #[arg(long, global = true)]
    token: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ApprovalsCommand {
    /// Show the commands waiting for a decision.
    List,
    /// Let a waiting command run.
    Approve {
        id: String,
        /// Also allow this binary from now on (adds it to ~/.openclaw/exec-approvals.json).
        #[arg(long)]
        always: bool,
    },
    /// Refuse a waiting command.
    Deny { id: String },
}

pub fn run(ctx: &Context, args: ApprovalsArgs) -> u8 {
    let json_mode = args.json;
    let target = match Target::resolve(ctx, args.url, args.token) {
        Ok(t) => t,
        Err(e) => {
            output::fail(json_mode, &e, None);
            return EXIT_FAILED;
        }
    };
    let (method, params) = match &args.command {
        ApprovalsCommand::List => ("exec.approval.list", json!({})),
        ApprovalsCommand::Approve { id, always } => (
            "exec.approval.resolve",
            json!({"id": id, "decision": if *always { "allow-always" } else { "allow-once" }}),
        ),
        ApprovalsCommand::Deny { id } => ("exec.approval.resolve", json!({"id": id, "decision": "deny"})),
    };
    let outcome = block_on(async move {
        let mut client = Client::connect(&target).await?;
        client
            .request(method, params, &mut |_, _| {})
            .await
            .map_err(|e| e.to_string())
    });
    match outcome {
        Ok(Ok(value)) => {
            if json_mode {
                output::print_json(&value);
            } else if let Some(pending) = value.get("pending").and_then(Value::as_array) {
                if pending.is_empty() {
                    println!("no exec approvals are waiting");
                }
                for p in pending {
                    let field = |name: &str| p.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
                    println!(
                        "{}  agent {}  session {}\n    {}\n    why: {}",
                        field("id"),
                        field("agentId"),
                        field("sessionKey"),
                        field("command"),
                        field("reason")
                    );
                }
            } else {
                println!(
                    "{} {}",
                    value.get("decision").and_then(Value::as_str).unwrap_or_default(),
                    value.get("command").and_then(Value::as_str).unwrap_or_default()
                );
            }
            EXIT_OK
        }
        Ok(Err(e)) | Err(e) => {
            output::fail(json_mode, &e, None);
            EXIT_FAILED
        }
    }
}
