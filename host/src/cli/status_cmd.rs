//! `openclaw status [--all] [--json]`: the diagnosis to paste into a ticket or an incident report.
//! The status service gathers it; everything printed goes through the report redactor first.

use clap::Args;
use serde_json::Value;

use crate::config;
use crate::context::Context;
use crate::exit::EXIT_OK;
use crate::logging::setup::{init_logging, report_redactor};
use crate::output::{print_json_redacted, print_text_redacted};
use crate::status;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The full diagnosis: every channel account, agent, plugin and critical finding (pasteable;
    /// secrets are never shown).
    #[arg(long)]
    all: bool,
    /// Print JSON (the whole report, with or without --all).
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: StatusArgs) -> u8 {
    let loaded = config::load(&ctx.paths, &ctx.env).ok();
    init_logging(ctx, loaded.as_ref());
    let redactor = report_redactor(ctx, loaded.as_ref());
    let report = status::report(ctx);
    if args.json {
        print_json_redacted(&report, &redactor);
    } else {
        print_text_redacted(&render(&report, args.all), &redactor);
    }
    EXIT_OK
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "?".into(),
        other => other.to_string(),
    }
}

fn count(n: u64, word: &str) -> String {
    crate::output::plural(n as usize, word)
}

fn config_line(config: &Value) -> String {
    let path = text(&config["path"]);
    if config["valid"] == Value::Bool(true) {
        let missing = if config["exists"] == Value::Bool(false) {
            " (no file: OpenClaw's defaults)"
        } else {
            ""
        };
        let warnings = config["warnings"].as_u64().unwrap_or(0);
        let warnings = if warnings > 0 {
            format!(", {}", count(warnings, "warning"))
        } else {
            String::new()
        };
        format!("{path}{missing}: valid{warnings}")
    } else {
        format!(
            "{path}: INVALID ({}); first: {}; run `openclaw config validate` for all",
            count(config["errors"].as_u64().unwrap_or(0), "error"),
            text(&config["firstError"])
        )
    }
}

fn gateway_line(gateway: &Value) -> String {
    if gateway["running"] != Value::Bool(true) {
        return "not running (start it with `openclaw gateway run`)".into();
    }
    let pid = text(&gateway["pid"]);
    if gateway["host"].is_null() {
        return format!("running: pid {pid} (starting up; no address recorded yet)");
    }
    let health = if gateway["healthy"] == Value::Bool(true) {
        "healthy".to_string()
    } else {
        match gateway["healthError"].as_str() {
            Some(e) => format!("NOT answering /health ({e})"),
            None => "NOT answering /health".to_string(),
        }
    };
    format!(
        "running: pid {pid} on {}:{} (bind {}) since {}, {health}",
        text(&gateway["host"]),
        text(&gateway["port"]),
        text(&gateway["bind"]),
        text(&gateway["startedAt"]),
    )
}

fn log_line(log: &Value) -> String {
    if log["enabled"] == Value::Bool(false) {
        return "file logging is off (logging.file.enabled)".into();
    }
    if log["exists"] == Value::Bool(true) {
        return format!("{} ({} bytes)", text(&log["path"]), text(&log["bytes"]));
    }
    format!("{} (not written yet)", text(&log["path"]))
}

fn security_line(audit: &Value) -> String {
    let s = &audit["summary"];
    let mut line = format!(
        "{} critical · {} warn · {} info",
        text(&s["critical"]),
        text(&s["warn"]),
        text(&s["info"])
    );
    if let Some(error) = audit["error"].as_str() {
        line.push_str(&format!(" (not audited: {error})"));
    }
    line
}

fn account_text(account: &Value) -> String {
    let mut out = text(&account["id"]);
    if account["enabled"] == Value::Bool(false) {
        out.push_str(" (disabled)");
    } else {
        out.push_str(&format!(
            " (dmPolicy {}, groupPolicy {})",
            text(&account["dmPolicy"]),
            text(&account["groupPolicy"])
        ));
    }
    out
}

/// The report for a person: one line per topic, then (with `all`) the details.
fn render(report: &Value, all: bool) -> String {
    let mut out = Vec::new();
    out.push(format!("OpenClaw status: openclaw {}", text(&report["version"])));
    out.push(format!("State dir   {}", text(&report["stateDir"])));
    out.push(format!("Config      {}", config_line(&report["config"])));
    out.push(format!("Gateway     {}", gateway_line(&report["gateway"])));
    out.push(format!("Log file    {}", log_line(&report["logFile"])));
    out.push(format!("Security    {}", security_line(&report["securityAudit"])));
    let channels = report["channels"].as_array();
    let agents = report["agents"].as_array();
    if !all {
        let ids = |list: Option<&Vec<Value>>| match list {
            None => "? (the config does not validate)".to_string(),
            Some(list) if list.is_empty() => "none".to_string(),
            Some(list) => list.iter().map(|c| text(&c["id"])).collect::<Vec<_>>().join(", "),
        };
        out.push(format!("Channels    {}", ids(channels)));
        out.push(format!("Agents      {}", ids(agents)));
        out.push(String::new());
        out.push("Full diagnosis (pasteable, secrets redacted): openclaw status --all".into());
        return out.join("\n") + "\n";
    }
    out.push(String::new());
    out.push("Channels".into());
    match channels {
        None => out.push("  ? (the config does not validate)".into()),
        Some(list) if list.is_empty() => out.push("  none configured".into()),
        Some(list) => {
            for channel in list {
                let accounts: Vec<String> = channel["accounts"]
                    .as_array()
                    .map(|a| a.iter().map(account_text).collect())
                    .unwrap_or_default();
                let disabled = if channel["enabled"] == Value::Bool(false) {
                    " (disabled)"
                } else {
                    ""
                };
                out.push(format!(
                    "  {}{disabled}: accounts {}",
                    text(&channel["id"]),
                    accounts.join("; ")
                ));
            }
        }
    }
    out.push("Agents".into());
    match agents {
        None => out.push("  ? (the config does not validate)".into()),
        Some(list) => {
            for agent in list {
                let default = if agent["default"] == Value::Bool(true) {
                    " (default)"
                } else {
                    ""
                };
                let model = agent["model"].as_str().unwrap_or("none configured");
                let fallbacks: Vec<String> = agent["fallbacks"]
                    .as_array()
                    .map(|f| f.iter().map(text).collect())
                    .unwrap_or_default();
                let fallbacks = if fallbacks.is_empty() {
                    String::new()
                } else {
                    format!(" (fallbacks {})", fallbacks.join(", "))
                };
                out.push(format!(
                    "  {}{default}: model {model}{fallbacks}, sandbox {}",
                    text(&agent["id"]),
                    text(&agent["sandboxMode"])
                ));
            }
        }
    }
    out.push("Plugins".into());
    match report["plugins"].as_array() {
        Some(list) if !list.is_empty() => {
            for plugin in list {
                let kind = plugin["kind"].as_str().unwrap_or("openclaw-js");
                out.push(format!(
                    "  {} ({kind}, {}): {}",
                    text(&plugin["id"]),
                    text(&plugin["origin"]),
                    text(&plugin["status"])
                ));
            }
        }
        _ => out.push("  none found".into()),
    }
    out.push("Critical findings".into());
    match report["securityAudit"]["critical"].as_array() {
        Some(list) if !list.is_empty() => {
            for id in list {
                out.push(format!("  {}", text(id)));
            }
            out.push("  details: openclaw security audit".into());
        }
        _ => out.push("  none".into()),
    }
    out.join("\n") + "\n"
}
