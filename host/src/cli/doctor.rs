//! `openclaw doctor`: checks the installation (state and config permissions, gateway auth, the
//! plugins found); `--generate-gateway-token` makes a gateway token.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use clap::Args;
use openclaw_core::config::path::JsonPath;
use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::common::SecretInput;
use openclaw_core::config::schema::gateway::{AuthMode, BindMode};
use openclaw_core::plugins::grants::Decision;
use openclaw_core::plugins::selection::is_identity_refusal;
use serde_json::{Value, json};

use crate::config::{self, edit};
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK};
use crate::gateway::token::new_token;
use crate::logging::setup::init_logging;
use crate::output::{fail, print_json};
use crate::plugins::discover::discover;
use crate::state::current_uid;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Generate a gateway token (24 random bytes from the OS, as 48 hex characters) and write it to
    /// gateway.auth.token, replacing a plaintext token that is already there.
    #[arg(long)]
    generate_gateway_token: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: DoctorArgs) -> u8 {
    if args.generate_gateway_token {
        generate_token(ctx, args.json)
    } else {
        checks(ctx, args.json)
    }
}

fn generate_token(ctx: &Context, json_mode: bool) -> u8 {
    init_logging(ctx, None);
    let current = config::load(&ctx.paths, &ctx.env).ok();
    let auth = current
        .as_ref()
        .and_then(|l| l.config())
        .and_then(|c| c.gateway.as_ref())
        .and_then(|g| g.auth.clone())
        .unwrap_or_default();
    if let Some(SecretInput::Ref(reference)) = &auth.token {
        fail(
            json_mode,
            &format!(
                "gateway.auth.token is managed by a SecretRef ({} provider, id {}); not overwriting it",
                reference.source, reference.id
            ),
            Some("rotate the secret where the reference points, then restart the gateway"),
        );
        return EXIT_FAILED;
    }
    if auth.mode == Some(AuthMode::Password) || auth.mode == Some(AuthMode::TrustedProxy) {
        fail(
            json_mode,
            "gateway.auth.mode is not \"token\", so a token would not be used",
            Some("switch with `openclaw config set gateway.auth.mode token` first"),
        );
        return EXIT_FAILED;
    }
    let token = match new_token() {
        Ok(token) => token,
        Err(err) => {
            fail(
                json_mode,
                &format!("the operating system's random source failed: {err}"),
                None,
            );
            return EXIT_FAILED;
        }
    };
    let replaced = auth.token.is_some();
    let token_value = Value::String(token.clone());
    let result = edit::modify(&ctx.paths, &ctx.env, |doc| {
        edit::set(
            doc,
            &JsonPath::parse("gateway.auth.token").map_err(|e| e.to_string())?,
            token_value,
        )?;
        if auth.mode.is_none() {
            edit::set(
                doc,
                &JsonPath::parse("gateway.auth.mode").map_err(|e| e.to_string())?,
                json!("token"),
            )?;
        }
        Ok(true)
    });
    match result {
        Ok(Some(written)) => {
            tracing::info!(file = %written.path.display(), replaced, "generated a new gateway token");
            if json_mode {
                print_json(&json!({
                    "ok": true,
                    "token": token,
                    "path": "gateway.auth.token",
                    "file": written.path,
                    "replaced": replaced,
                }));
            } else {
                println!("{token}");
                eprintln!(
                    "{} gateway.auth.token in {}. Restart the gateway and give clients the new token.",
                    if replaced { "Replaced" } else { "Wrote" },
                    written.path.display()
                );
            }
            EXIT_OK
        }
        Ok(None) => EXIT_OK,
        Err(edit::EditError::Invalid(loaded)) => {
            let first = loaded
                .issues()
                .find(|i| i.is_error())
                .map(ToString::to_string)
                .unwrap_or_default();
            fail(
                json_mode,
                "the config is invalid; fix it before generating a token",
                Some(&first),
            );
            EXIT_FAILED
        }
        Err(err) => {
            fail(json_mode, &format!("{err:?}"), None);
            EXIT_FAILED
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

struct Finding {
    id: &'static str,
    status: Status,
    message: String,
    fix: Option<String>,
}

fn perms_finding(id: &'static str, path: &std::path::Path, want: u32, what: &str) -> Finding {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let finding = perms_of_target(id, path, want, what);
    if is_link && finding.status == Status::Ok {
        let target = fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
        return Finding {
            id,
            status: Status::Warn,
            message: format!(
                "{what} {} is a symlink to {target} (its target is private)",
                path.display()
            ),
            fix: Some(
                "keep the state on a local, private path; a link can be re-pointed by whoever controls it".into(),
            ),
        };
    }
    finding
}

fn perms_of_target(id: &'static str, path: &std::path::Path, want: u32, what: &str) -> Finding {
    match fs::metadata(path) {
        Err(_) => Finding {
            id,
            status: Status::Ok,
            message: format!("{what} {} does not exist yet", path.display()),
            fix: None,
        },
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if meta.uid() != current_uid() {
                Finding {
                    id,
                    status: Status::Fail,
                    message: format!("{what} {} is owned by uid {}, not you", path.display(), meta.uid()),
                    fix: Some(format!("chown {} {}", current_uid(), path.display())),
                }
            } else if mode & 0o077 != 0 {
                Finding {
                    id,
                    status: Status::Fail,
                    message: format!(
                        "{what} {} is accessible by group or others (mode {mode:04o})",
                        path.display()
                    ),
                    fix: Some(format!("chmod {want:o} {}", path.display())),
                }
            } else {
                Finding {
                    id,
                    status: Status::Ok,
                    message: format!("{what} {} is private ({mode:04o})", path.display()),
                    fix: None,
                }
            }
        }
    }
}

/// What discovery says about plugins that an operator must act on: plugins that cannot run here
/// (OpenClaw JavaScript plugins), identity refusals (two copies of an id, a changed or unpinned
/// plugin), and settings naming ids nothing declares. Nothing is loaded.
fn plugin_findings(ctx: &Context, config: &Config) -> Vec<Finding> {
    let discovery = discover(Some(config), &ctx.paths, &ctx.env);
    let plugins = config.plugins.clone().unwrap_or_default();
    let mut findings = Vec::new();
    for plugin in &discovery.foreign {
        let refusal = plugin.refusal(&plugins);
        findings.push(Finding {
            id: "plugins.javascript",
            status: Status::Warn,
            message: refusal.reason,
            fix: Some(refusal.fix),
        });
    }
    for selected in &discovery.plugins {
        if let Decision::Refuse(refusal) = &selected.decision
            && is_identity_refusal(refusal.code)
        {
            findings.push(Finding {
                id: "plugins.identity",
                status: Status::Warn,
                message: format!("{} ({}): {}", selected.candidate.id, refusal.code, refusal.reason),
                fix: Some(refusal.fix.clone()),
            });
        }
    }
    for warning in &discovery.warnings {
        findings.push(Finding {
            id: "plugins.unknown-id",
            status: Status::Warn,
            message: warning.message.clone(),
            fix: Some(warning.fix.clone()),
        });
    }
    if findings.is_empty() {
        findings.push(Finding {
            id: "plugins",
            status: Status::Ok,
            message: format!(
                "{} plugin(s) found, {} loading; no plugin issues detected",
                discovery.plugins.len(),
                discovery.plugins.iter().filter(|s| s.grant().is_some()).count()
            ),
            fix: None,
        });
    }
    findings
}

fn checks(ctx: &Context, json_mode: bool) -> u8 {
    let mut findings = vec![
        perms_finding("state_dir.perms", &ctx.paths.state_dir, 0o700, "state directory"),
        perms_finding("config.perms", &ctx.paths.config_path, 0o600, "config file"),
    ];
    let loaded = config::load(&ctx.paths, &ctx.env);
    init_logging(ctx, loaded.as_ref().ok());
    match &loaded {
        Err(failure) => findings.push(Finding {
            id: "config.valid",
            status: Status::Fail,
            message: format!("config cannot be read: {}", failure.issue),
            fix: Some("run `openclaw config validate` for details".into()),
        }),
        Ok(loaded) => match loaded.config() {
            None => findings.push(Finding {
                id: "config.valid",
                status: Status::Fail,
                message: format!(
                    "config has {} error(s), first: {}",
                    loaded.issues().filter(|i| i.is_error()).count(),
                    loaded
                        .issues()
                        .find(|i| i.is_error())
                        .map(ToString::to_string)
                        .unwrap_or_default()
                ),
                fix: Some("run `openclaw config validate` for the full list".into()),
            }),
            Some(config) => {
                findings.push(Finding {
                    id: "config.valid",
                    status: Status::Ok,
                    message: format!("config {} is valid", loaded.path().display()),
                    fix: None,
                });
                let gateway = config.gateway();
                let auth = gateway.auth.clone().unwrap_or_default();
                let has_secret = auth.token.is_some()
                    || auth.password.is_some()
                    || ctx.env.get("OPENCLAW_GATEWAY_TOKEN").is_some()
                    || ctx.env.get("OPENCLAW_GATEWAY_PASSWORD").is_some();
                let exposed = matches!(gateway.bind(), BindMode::Lan | BindMode::Tailnet | BindMode::Custom);
                findings.push(match (has_secret, exposed) {
                    (true, _) => Finding {
                        id: "gateway.auth",
                        status: Status::Ok,
                        message: "gateway auth has a shared secret".into(),
                        fix: None,
                    },
                    (false, true) => Finding {
                        id: "gateway.auth",
                        status: Status::Fail,
                        message: "the gateway binds beyond loopback without a token or password".into(),
                        fix: Some("openclaw doctor --generate-gateway-token".into()),
                    },
                    (false, false) => Finding {
                        id: "gateway.auth",
                        status: Status::Warn,
                        message: "no gateway token yet (the gateway generates one at first start)".into(),
                        fix: Some("openclaw doctor --generate-gateway-token".into()),
                    },
                });
                findings.extend(plugin_findings(ctx, config));
            }
        },
    }
    let failed = findings.iter().any(|f| f.status == Status::Fail);
    if json_mode {
        print_json(&json!({
            "ok": !failed,
            "checks": findings.iter().map(|f| json!({
                "id": f.id, "status": f.status.name(), "message": f.message, "fix": f.fix,
            })).collect::<Vec<_>>(),
        }));
    } else {
        for f in &findings {
            println!("[{}] {}: {}", f.status.name(), f.id, f.message);
            if let Some(fix) = &f.fix
                && f.status != Status::Ok
            {
                println!("       fix: {fix}");
            }
        }
    }
    if failed { EXIT_FAILED } else { EXIT_OK }
}
