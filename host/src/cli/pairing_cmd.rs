//! `openclaw pairing list|approve`: the DM pairing requests strangers made, and letting one in.
//!
//! Both work on the files in `credentials/` whether the gateway runs or not; `approve --notify`
//! goes through the running gateway, which tells the sender on the channel they wrote from.

use clap::{Args, Subcommand};
use openclaw_core::config::schema::Config;
use serde_json::{Value, json};

use super::operator::{Client, Target, block_on};
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::ingress::pairing_service;
use crate::ingress::pairing_store::PairingStore;
use crate::output;

#[derive(Debug, Args)]
pub struct PairingArgs {
    #[command(subcommand)]
    command: PairingCommand,
}

#[derive(Debug, Subcommand)]
enum PairingCommand {
    /// Show pending pairing requests (newest last).
    List {
        /// Channel (`telegram`, ...); optional when exactly one channel is configured.
        channel: Option<String>,
        #[arg(long = "channel", conflicts_with = "channel")]
        channel_flag: Option<String>,
        /// Only this account's requests.
        #[arg(long)]
        account: Option<String>,
        /// Print JSON (`{channel, requests}`).
        #[arg(long)]
        json: bool,
    },
    /// Approve a pairing code: its sender may DM the assistant from now on.
    Approve {
        /// `<channel> <code>`, or `<code>` alone when exactly one channel is configured.
        #[arg(num_args = 1..=2, required = true, value_names = ["CHANNEL", "CODE"])]
        args: Vec<String>,
        #[arg(long = "channel")]
        channel_flag: Option<String>,
        /// Only a request of this account.
        #[arg(long)]
        account: Option<String>,
        /// Tell the sender on the channel (needs the running gateway).
        #[arg(long)]
        notify: bool,
        /// Gateway WebSocket URL for `--notify` (default: the running gateway of this state directory).
        #[arg(long)]
        url: Option<String>,
        /// Gateway token for `--notify` (default: OPENCLAW_GATEWAY_TOKEN, else gateway.auth.token).
        #[arg(long)]
        token: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn config(ctx: &Context) -> Config {
    crate::config::load(&ctx.paths, &ctx.env)
        .ok()
        .and_then(|loaded| loaded.config().cloned())
        .unwrap_or_default()
}

pub fn run(ctx: &Context, args: PairingArgs) -> u8 {
    let store = PairingStore::new(&ctx.paths.credentials_dir);
    match args.command {
        PairingCommand::List {
            channel,
            channel_flag,
            account,
            json,
        } => {
            let channel = match pairing_service::resolve_channel(&config(ctx), channel.or(channel_flag).as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    output::fail(json, &e, None);
                    return EXIT_USAGE;
                }
            };
            match pairing_service::list(&store, &channel, account.as_deref()) {
                Ok(value) if json => {
                    output::print_json(&value);
                    EXIT_OK
                }
                Ok(value) => {
                    print_list(&channel, &value);
                    EXIT_OK
                }
                Err(e) => {
                    output::fail(json, &e, None);
                    EXIT_FAILED
                }
            }
        }
        PairingCommand::Approve {
            args,
            channel_flag,
            account,
            notify,
            url,
            token,
            json,
        } => {
            let (given_channel, code) = match (args.as_slice(), channel_flag) {
                ([channel, code], None) => (Some(channel.clone()), code.clone()),
                ([code], flag) => (flag, code.clone()),
                (_, Some(_)) => {
                    output::fail(
                        json,
                        "give the channel once: `--channel <c> <code>` or `<channel> <code>`",
                        None,
                    );
                    return EXIT_USAGE;
                }
                _ => {
                    output::fail(json, "usage: openclaw pairing approve <channel> <code>", None);
                    return EXIT_USAGE;
                }
            };
            let channel = match pairing_service::resolve_channel(&config(ctx), given_channel.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    output::fail(json, &e, None);
                    return EXIT_USAGE;
                }
            };
            if notify {
                return approve_through_gateway(ctx, &channel, &code, account, url, token, json);
            }
            match pairing_service::approve(&store, &channel, &code, account.as_deref()) {
                Ok(approved) => {
                    if json {
                        output::print_json(&json!({
                            "channel": channel,
                            "approved": {"id": approved.id, "accountId": approved.account_id},
                        }));
                    } else {
                        println!("Approved {channel} sender {}.", approved.id);
                    }
                    EXIT_OK
                }
                Err(e) => {
                    output::fail(
                        json,
                        &e,
                        Some("`openclaw pairing list` shows the pending codes; a code expires after 60 minutes"),
                    );
                    EXIT_FAILED
                }
            }
        }
    }
}

fn print_list(channel: &str, value: &Value) {
    let requests = value["requests"].as_array().cloned().unwrap_or_default();
    if requests.is_empty() {
        println!("No pending {channel} pairing requests.");
        return;
    }
    let id_label = match channel {
        "telegram" => "Telegram user id",
        "whatsapp" | "signal" => "Phone number",
        _ => "Sender id",
    };
    println!("Pairing requests ({})", requests.len());
    println!("{:<10} {:<20} {:<32} Requested", "Code", id_label, "Meta");
    for r in requests {
        let field = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        println!(
            "{:<10} {:<20} {:<32} {}",
            field("code"),
            field("id"),
            r.get("meta").map(Value::to_string).unwrap_or_default(),
            field("createdAt")
        );
    }
}

fn approve_through_gateway(
    ctx: &Context,
    channel: &str,
    code: &str,
    account: Option<String>,
    url: Option<String>,
    token: Option<String>,
    json_mode: bool,
) -> u8 {
    let target = match Target::resolve(ctx, url, token) {
        Ok(t) => t,
        Err(e) => {
            output::fail(
                json_mode,
                &format!("--notify needs the running gateway: {e}"),
                Some("approve without --notify to only record the approval"),
            );
            return EXIT_FAILED;
        }
    };
    let params = json!({"channel": channel, "code": code, "account": account, "notify": true});
    let outcome = block_on(async move {
        let mut client = Client::connect(&target).await?;
        client
            .request("pairing.approve", params, &mut |_, _| {})
            .await
            .map_err(|e| e.to_string())
    });
    match outcome {
        Ok(Ok(value)) => {
            if json_mode {
                output::print_json(&value);
            } else {
                println!(
                    "Approved {channel} sender {}.",
                    value["approved"]["id"].as_str().unwrap_or_default()
                );
                if value["notified"]["sent"] != json!(true) {
                    eprintln!(
                        "warning: the sender was not notified: {}",
                        value["notified"]["error"].as_str().unwrap_or("unknown error")
                    );
                }
            }
            EXIT_OK
        }
        Ok(Err(e)) | Err(e) => {
            output::fail(json_mode, &e, None);
            EXIT_FAILED
        }
    }
}
