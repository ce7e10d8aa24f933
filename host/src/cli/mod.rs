//! The `openclaw` command line.
//!
//! Exit codes: 0 success, 1 invalid config or failed check, 2 usage error (clap's own code for
//! bad arguments). Every command that reports takes `--json` and then prints exactly one JSON
//! document on stdout, whatever the outcome.

mod config_cmd;
pub(crate) mod doctor;
mod gateway_cmd;
pub(crate) mod output;
pub(crate) mod plugins_cmd;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use openclaw_core::config::schema::{Config, root_schema};
use openclaw_core::config::validate::secret_literals;
use openclaw_core::security::redact::{RedactMode, Redactor};
use tracing::level_filters::LevelFilter;

use crate::config::Loaded;
use crate::logging::{self, LogSettings};
use crate::state::{Env, StatePaths};

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for an invalid config or a failed check.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for a usage error.
pub const EXIT_USAGE: u8 = 2;

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
    /// Read, check and change the config (~/.openclaw/openclaw.json, or $OPENCLAW_CONFIG_PATH).
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Check the installation and fix what is safe to fix.
    Doctor(doctor::DoctorArgs),
    /// Run (the default), inspect and stop the gateway server (HTTP and WebSocket on one port).
    Gateway(gateway_cmd::GatewayArgs),
    /// Install, inspect and manage WebAssembly plugins.
    #[command(subcommand)]
    Plugins(plugins_cmd::PluginsCommand),
    /// Print the version.
    Version {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What every command gets: where things are and the environment snapshot.
pub struct Context {
    pub env: Env,
    pub paths: StatePaths,
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
        Command::Config(command) => config_cmd::run(&ctx, command),
        Command::Doctor(args) => doctor::run(&ctx, args),
        Command::Gateway(command) => gateway_cmd::run(&ctx, command),
        Command::Plugins(command) => plugins_cmd::run(&ctx, command),
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

/// Starts logging with the config's settings (defaults when it is invalid), scrubbing every
/// plaintext secret the config holds. One-shot commands show only warnings on stderr. Returns the
/// redactor so command output that may carry secrets (resolver errors) is masked the same way.
pub fn init_logging(ctx: &Context, loaded: Option<&Loaded>) -> Arc<Redactor> {
    init_logging_with(ctx, loaded, &[])
}

/// Like [`init_logging`], also scrubbing `extra` exact values (resolved secrets).
pub fn init_logging_with(ctx: &Context, loaded: Option<&Loaded>, extra: &[&str]) -> Arc<Redactor> {
    init_logging_at(ctx, loaded, extra, LevelFilter::WARN)
}

/// Logging for the long-running gateway: informational lines on stderr too, every resolved
/// secret scrubbed.
pub fn init_logging_gateway(
    ctx: &Context,
    loaded: &Loaded,
    resolved: &crate::secrets::ResolvedSecrets,
) -> Arc<Redactor> {
    let extra: Vec<&str> = resolved.exposed_values().collect();
    init_logging_at(ctx, Some(loaded), &extra, LevelFilter::INFO)
}

fn init_logging_at(
    ctx: &Context,
    loaded: Option<&Loaded>,
    extra: &[&str],
    console_default: LevelFilter,
) -> Arc<Redactor> {
    let config = loaded.and_then(Loaded::config).cloned().unwrap_or_else(Config::default);
    let logging_config = config.logging();
    let settings = LogSettings::from_config(logging_config, &ctx.env, console_default);
    let known: Vec<String> = loaded
        .map(|l| {
            secret_literals(root_schema(), &l.checked.resolved)
                .into_iter()
                .map(|(_, v)| v)
                .collect()
        })
        .unwrap_or_default();
    let values = || known.iter().map(String::as_str).chain(extra.iter().copied());
    let redactor = Redactor::with_known_secrets(logging_config.redact_mode(), logging_config.patterns(), values())
        .or_else(|_| Redactor::with_known_secrets(RedactMode::Tools, &[], values()))
        .unwrap_or_else(|_| fallback_redactor());
    let redactor = Arc::new(redactor);
    logging::init(&settings, redactor.clone());
    redactor
}

/// The defaults-only redactor; its patterns are fixed and covered by tests, so this cannot fail
/// in practice, but a failure must still not leave output unredacted.
fn fallback_redactor() -> Redactor {
    match Redactor::new(RedactMode::Tools, &[]) {
        Ok(redactor) => redactor,
        Err(err) => {
            eprintln!("error: the built-in redaction patterns do not compile ({err}); refusing to continue");
            std::process::exit(i32::from(EXIT_FAILED));
        }
    }
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
