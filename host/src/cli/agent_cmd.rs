//! `openclaw agent --message "..."`: one turn through the running gateway, the same path a web
//! chat uses (the operator protocol's `agent` method). The reply streams to stdout as it comes.

use std::io::Write;

use clap::Args;
use serde_json::{Value, json};

use super::operator::{Client, Target, block_on};
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK};
use crate::output;

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The message to send.
    #[arg(long, short = 'm')]
    message: String,
    /// Which agent answers (default: the default agent).
    #[arg(long = "agent")]
    agent: Option<String>,
    /// The session (default: the agent's main session, `agent:<id>:main`).
    #[arg(long = "session")]
    session: Option<String>,
    /// Gateway WebSocket URL (default: the running gateway of this state directory).
    #[arg(long)]
    url: Option<String>,
    /// Gateway token (default: OPENCLAW_GATEWAY_TOKEN, else gateway.auth.token).
    #[arg(long)]
    token: Option<String>,
    /// Print one JSON document with the result instead of streaming text.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: AgentArgs) -> u8 {
    let target = match Target::resolve(ctx, args.url.clone(), args.token.clone()) {
        Ok(t) => t,
        Err(e) => {
            output::fail(args.json, &e, None);
            return EXIT_FAILED;
        }
    };
    let json_mode = args.json;
    let outcome = block_on(async move {
        let mut client = Client::connect(&target).await?;
        let run_id = crate::state::ids::random_hex(8).map_err(|e| e.to_string())?;
        let mut params = json!({"message": args.message, "idempotencyKey": run_id});
        if let Some(agent) = &args.agent {
            params["agentId"] = json!(agent);
        }
        if let Some(session) = &args.session {
            params["sessionKey"] = json!(session);
        }
        let mut streamed = false;
        let mut on_event = |name: &str, payload: &Value| {
            if json_mode || name != "chat" || payload.get("runId").and_then(Value::as_str) != Some(run_id.as_str()) {
                return;
            }
            if let Some(delta) = payload.get("delta").and_then(Value::as_str) {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(delta.as_bytes());
                let _ = out.flush();
                streamed = true;
            }
        };
        let result = client
            .request("agent", params, &mut on_event)
            .await
            .map_err(|e| e.to_string());
        Ok::<_, String>((result, streamed))
    });
    match outcome {
        Ok(Ok((Ok(result), streamed))) => {
            if json_mode {
                output::print_json(&result);
            } else if streamed {
                println!();
            } else {
                println!("{}", result.get("text").and_then(Value::as_str).unwrap_or_default());
            }
            if result.get("status").and_then(Value::as_str) == Some("aborted") {
                EXIT_FAILED
            } else {
                EXIT_OK
            }
        }
        Ok(Ok((Err(e), _))) | Ok(Err(e)) | Err(e) => {
            output::fail(json_mode, &e, None);
            EXIT_FAILED
        }
    }
}
