//! The `openclaw` command line.
//!
//! Exit codes ([`crate::exit`]): 0 success, 1 invalid config or failed check, 2 usage error (clap's own code for
//! bad arguments). Every command that reports takes `--json` and then prints exactly one JSON
//! document on stdout, whatever the outcome; the one exception is `logs --json`, which prints
//! line-delimited JSON (one object per log line) as OpenClaw's does.

mod agent_cmd;
mod approvals_cmd;
mod channels_cmd;
mod config_cmd;
mod doctor;
mod gateway_cmd;
mod logs_cmd;
mod operator;
mod pairing_cmd;
mod plugins_cmd;
mod sandbox_cmd;
mod secrets_cmd;
mod security_cmd;
mod status_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::output;
use crate::state::{Env, StatePaths};

#[derive(Debug, Parser)]
#[command(
    name = "openclaw",
    version,
    about = "A security-first OpenClaw gateway whose channels and tools are WebAssembly plugins",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send one message to an agent through the running gateway and print the reply.
    Agent(agent_cmd::AgentArgs),
    /// Answer exec approvals the running gateway waits for.
    Approvals(approvals_cmd::ApprovalsArgs),
    /// Channels: `channels logout --channel <c> [--account <a>]` (incident containment).
    #[command(subcommand)]
    Channels(channels_cmd::ChannelsCommand),
    /// Read, check and change the config (~/.openclaw/openclaw.json, or $OPENCLAW_CONFIG_PATH).
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Check the installation and fix what is safe to fix.
    Doctor(doctor::DoctorArgs),
    /// Run (the default), inspect and stop the gateway server (HTTP and WebSocket on one port).
    Gateway(gateway_cmd::GatewayArgs),
    /// The end of the gateway's file log, redacted (`--json`: one JSON object per line).
    Logs(logs_cmd::LogsArgs),
    /// DM pairing: list the codes strangers were given, approve one.
    Pairing(pairing_cmd::PairingArgs),
    /// Install, inspect and manage WebAssembly plugins.
    #[command(subcommand)]
    Plugins(plugins_cmd::PluginsCommand),
    /// Docker sandboxes: list them, explain where an agent's tools run, recreate, prune.
    Sandbox(sandbox_cmd::SandboxArgs),
    /// Secrets: `secrets audit [--check]`, `secrets apply --from PLAN [--dry-run]`, `secrets reload`.
    #[command(subcommand)]
    Secrets(secrets_cmd::SecretsCommand),
    /// Security checks: `security audit [--deep] [--fix] [--json] [--fail-on LEVEL]`.
    #[command(subcommand)]
    Security(security_cmd::SecurityCommand),
    /// A pasteable diagnosis (`--all` for every detail); secrets are never shown.
    Status(status_cmd::StatusArgs),
    /// Print the version.
    Version {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` are successes; everything else is a usage error.
            let code = if err.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let env = Env::from_process();
    let paths = match StatePaths::resolve(&env) {
        Ok(paths) => paths,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let ctx = Context { env, paths };
    let code = match cli.command {
        Command::Agent(args) => agent_cmd::run(&ctx, args),
        Command::Approvals(args) => approvals_cmd::run(&ctx, args),
        Command::Channels(command) => channels_cmd::run(&ctx, command),
        Command::Config(command) => config_cmd::run(&ctx, command),
        Command::Doctor(args) => doctor::run(&ctx, args),
        Command::Gateway(command) => gateway_cmd::run(&ctx, command),
        Command::Logs(args) => logs_cmd::run(&ctx, args),
        Command::Pairing(args) => pairing_cmd::run(&ctx, args),
        Command::Plugins(command) => plugins_cmd::run(&ctx, command),
        Command::Sandbox(args) => sandbox_cmd::run(&ctx, args),
        Command::Secrets(command) => secrets_cmd::run(&ctx, command),
        Command::Security(command) => security_cmd::run(&ctx, command),
        Command::Status(args) => status_cmd::run(&ctx, args),
        Command::Version { json } => {
            if json {
                output::print_json(&serde_json::json!({
                    "name": "openclaw",
                    "version": env!("CARGO_PKG_VERSION"),
                    "pluginApi": "openclaw:plugin@0.1.0",
                }));
            } else {
                println!("openclaw {}", env!("CARGO_PKG_VERSION"));
            }
            EXIT_OK
        }
    };
    ExitCode::from(code)
}

/// `openclaw plugins list | head` closes our stdout early; Rust's print macros then panic with
/// "Broken pipe". Exit quietly instead, as Unix tools do.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
}
