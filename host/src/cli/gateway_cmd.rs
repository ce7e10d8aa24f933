//! `openclaw gateway run | status | stop`.

use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::json;

use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK};
use crate::gateway::run::{self, RunOptions};
use crate::output::{fail, print_json};
use crate::running::{self, probe_health};

/// `openclaw gateway` alone runs the gateway, as in OpenClaw.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GatewayArgs {
    #[command(subcommand)]
    command: Option<GatewayCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Run the gateway in the foreground (Ctrl-C or `openclaw gateway stop` ends it gracefully).
    Run(RunArgs),
    /// Is a gateway running on this state directory, and is it healthy?
    Status(StatusArgs),
    /// Stop the running gateway: in-flight requests finish, then it exits.
    Stop(StopArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Port for HTTP and WebSocket (default: OPENCLAW_GATEWAY_PORT, gateway.port, 18789; 0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// loopback | lan | tailnet | auto | custom, or an IP address (default: gateway.bind, loopback).
    #[arg(long)]
    bind: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for the gateway to finish its work and exit.
    #[arg(long, default_value_t = 40)]
    timeout: u64,
}

pub fn run(ctx: &Context, args: GatewayArgs) -> u8 {
    let command = args.command.unwrap_or(GatewayCommand::Run(args.run));
    match command {
        GatewayCommand::Run(args) => run::run(
            ctx,
            RunOptions {
                port: args.port,
                bind: args.bind,
            },
        ),
        GatewayCommand::Status(args) => status(ctx, args),
        GatewayCommand::Stop(args) => stop(ctx, args),
    }
}

fn running_pid(ctx: &Context) -> Option<u32> {
    running::running_pid(&ctx.paths)
}

fn status(ctx: &Context, args: StatusArgs) -> u8 {
    let info = running::read(&running::path(&ctx.paths));
    let Some(pid) = running_pid(ctx) else {
        if args.json {
            print_json(&json!({"running": false, "stateDir": ctx.paths.state_dir}));
        } else {
            println!("gateway is not running (state dir {})", ctx.paths.state_dir.display());
            println!("  start it with `openclaw gateway run`");
        }
        return EXIT_FAILED;
    };
    let health = info.as_ref().map(|i| probe_health(&i.host, i.port));
    let healthy = matches!(health, Some(Ok(true)));
    if args.json {
        print_json(&json!({
            "running": true,
            "pid": pid,
            "host": info.as_ref().map(|i| i.host.clone()),
            "port": info.as_ref().map(|i| i.port),
            "bind": info.as_ref().map(|i| i.bind.clone()),
            "startedAt": info.as_ref().map(|i| i.started_at.clone()),
            "version": info.as_ref().map(|i| i.version.clone()),
            "healthy": healthy,
            "healthError": health.and_then(|h| h.err()),
        }));
    } else {
        match &info {
            Some(i) => println!(
                "gateway is running: pid {pid}, listening on {}:{} (bind {}), since {}, {}",
                i.host,
                i.port,
                i.bind,
                i.started_at,
                if healthy { "healthy" } else { "NOT answering /health" }
            ),
            None => println!("gateway is running: pid {pid} (starting up; no address recorded yet)"),
        }
    }
    if healthy || info.is_none() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

fn stop(ctx: &Context, args: StopArgs) -> u8 {
    let Some(pid) = running_pid(ctx) else {
        if args.json {
            print_json(&json!({"ok": true, "stopped": false, "running": false}));
        } else {
            println!("gateway is not running; nothing to stop");
        }
        return EXIT_OK;
    };
    let Some(target) = rustix::process::Pid::from_raw(pid as i32) else {
        fail(args.json, &format!("the lock file names an invalid pid {pid}"), None);
        return EXIT_FAILED;
    };
    if let Err(e) = rustix::process::kill_process(target, rustix::process::Signal::TERM) {
        fail(
            args.json,
            &format!("could not signal the gateway (pid {pid}): {e}"),
            Some("is it running as another user? stop it from that account"),
        );
        return EXIT_FAILED;
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    while Instant::now() < deadline {
        if running_pid(ctx).is_none() {
            if args.json {
                print_json(&json!({"ok": true, "stopped": true, "pid": pid}));
            } else {
                println!("gateway stopped (pid {pid})");
            }
            return EXIT_OK;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    fail(
        args.json,
        &format!("the gateway (pid {pid}) is still running after {}s", args.timeout),
        Some("it may be finishing long requests; wait, or run stop again"),
    );
    EXIT_FAILED
}
