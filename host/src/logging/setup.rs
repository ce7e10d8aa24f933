//! Starting logging for a command or the gateway: the config's settings, and a redactor that
//! knows every plaintext secret the config holds; and the stricter redactor for reports
//! ([`report_redactor`]).

use std::sync::Arc;

use openclaw_core::config::rules::find_secret_refs;
use openclaw_core::config::schema::common::SecretSource;
use openclaw_core::config::schema::logging::LoggingConfig;
use openclaw_core::config::schema::{Config, root_schema};
use openclaw_core::config::validate::secret_literals;
use openclaw_core::security::redact::{RedactMode, Redactor};
use tracing::level_filters::LevelFilter;

use super::{FileTarget, LogSettings};
use crate::config::Loaded;
use crate::context::Context;
use crate::exit::EXIT_FAILED;
use crate::secrets::ResolvedSecrets;

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
pub fn init_logging_gateway(ctx: &Context, loaded: &Loaded, resolved: &ResolvedSecrets) -> Arc<Redactor> {
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
    let known = config_secret_literals(loaded);
    let values = || known.iter().map(String::as_str).chain(extra.iter().copied());
    let redactor = Redactor::with_known_secrets(logging_config.redact_mode(), logging_config.patterns(), values())
        .or_else(|_| Redactor::with_known_secrets(RedactMode::Tools, &[], values()))
        .unwrap_or_else(|_| fallback_redactor());
    let redactor = Arc::new(redactor);
    super::init(&settings, redactor.clone());
    redactor
}

/// Where the logger writes its file, from `logging.*`: a valid config's, else the `logging`
/// block of an invalid one when that block reads, else the defaults.
pub fn file_target(ctx: &Context, loaded: Option<&Loaded>) -> FileTarget {
    let logging = match loaded {
        Some(loaded) => match loaded.config() {
            Some(config) => config.logging().clone(),
            None => loaded
                .checked
                .resolved
                .get("logging")
                .and_then(|v| serde_json::from_value::<LoggingConfig>(v.clone()).ok())
                .unwrap_or_default(),
        },
        None => LoggingConfig::default(),
    };
    LogSettings::from_config(&logging, &ctx.env, LevelFilter::WARN).file
}

/// Every plaintext secret the config holds (valid or not: an invalid config still holds them).
fn config_secret_literals(loaded: Option<&Loaded>) -> Vec<String> {
    loaded
        .map(|l| {
            secret_literals(root_schema(), &l.checked.resolved)
                .into_iter()
                .map(|(_, v)| v)
                .collect()
        })
        .unwrap_or_default()
}

/// An environment variable whose name marks a secret (`OPENCLAW_GATEWAY_TOKEN`,
/// `TELEGRAM_BOT_TOKEN`, `OPENAI_API_KEY`, ...), as the env-assignment redaction pattern reads it.
fn secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD"]
        .iter()
        .any(|suffix| upper.ends_with(suffix))
}

/// The redactor for output meant to be read by others (`openclaw status`, `openclaw logs`): the
/// config's patterns, and never `off` whatever `logging.redactSensitive` says, since this output
/// gets pasted into tickets; it scrubs the config's plaintext secrets, the values of the
/// environment variables its `source: "env"` SecretRefs name, and of every variable whose name
/// marks a secret. SecretRefs of other sources are not resolved (that could run commands); the
/// gateway's logger already scrubbed their values when it wrote its lines.
pub fn report_redactor(ctx: &Context, loaded: Option<&Loaded>) -> Arc<Redactor> {
    let config = loaded.and_then(Loaded::config).cloned().unwrap_or_else(Config::default);
    let logging_config = config.logging();
    let mode = match logging_config.redact_mode() {
        RedactMode::Full => RedactMode::Full,
        RedactMode::Off | RedactMode::Tools => RedactMode::Tools,
    };
    let mut known = config_secret_literals(loaded);
    if let Some(loaded) = loaded {
        for found in find_secret_refs(&loaded.checked.resolved) {
            if found.source == SecretSource::Env
                && let Some(value) = ctx.env.get(&found.id)
            {
                known.push(value.to_string());
            }
        }
    }
    for (name, value) in ctx.env.iter() {
        if secret_env_name(name) {
            known.push(value.trim().to_string());
        }
    }
    let values = || known.iter().map(String::as_str);
    let redactor = Redactor::with_known_secrets(mode, logging_config.patterns(), values())
        .or_else(|_| Redactor::with_known_secrets(mode, &[], values()))
        .unwrap_or_else(|_| fallback_redactor());
    Arc::new(redactor)
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
