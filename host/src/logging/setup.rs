//! Starting logging for a command or the gateway: the config's settings, and a redactor that
//! knows every plaintext secret the config holds.

use std::sync::Arc;

use openclaw_core::config::schema::{Config, root_schema};
use openclaw_core::config::validate::secret_literals;
use openclaw_core::security::redact::{RedactMode, Redactor};
use tracing::level_filters::LevelFilter;

use super::LogSettings;
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
    super::init(&settings, redactor.clone());
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
