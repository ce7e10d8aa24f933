//! `secrets.reload` (scope admin): re-resolve every SecretRef of the gateway's config snapshot
//! and swap what uses them, all or nothing.
//!
//! Every new value is built first: the snapshot, the gateway's auth digest, the model providers
//! and every running plugin's secret book. Any reference on an active surface that resolved
//! before and does not now, or a consumer that cannot be built, refuses the whole reload and the
//! gateway keeps the values it had. Only then is each consumer swapped, by steps that cannot
//! fail, so there is no half-applied state. The config file is not read again and nothing is
//! written. Values never appear in the answer or the log; paths do.

use std::collections::BTreeSet;

use openclaw_core::config::path::JsonPath;
use openclaw_core::config::schema::common::SecretInput;
use openclaw_core::gateway::auth::{AuthSources, ResolvedAuth, placeholder_in_use, resolve_auth};
use openclaw_core::security::SECURITY_TARGET;
use openclaw_core::security::secrets_reload::{RefFailure, judge};
use serde_json::{Value, json};

use super::Gateway;
use super::methods::{Methods, RpcError, Scope};
use crate::secrets::ResolvedSecrets;

pub fn register(methods: &mut Methods) {
    methods.register("secrets.reload", Scope::Admin, |gw, _| async move { reload(&gw).await });
}

fn auth_path(field: &str) -> JsonPath {
    JsonPath::root().key("gateway").key("auth").key(field)
}

/// The credential the new snapshot gives, when gateway.auth takes one from a SecretRef; `None`
/// when nothing there is a reference (the credential in force stays, a generated one included).
/// The precedence is the start's: `openclaw_core::gateway::auth::resolve_auth`.
fn next_auth(gw: &Gateway, resolved: &ResolvedSecrets) -> Result<Option<ResolvedAuth>, String> {
    let auth = gw
        .config
        .gateway
        .as_ref()
        .and_then(|g| g.auth.clone())
        .unwrap_or_default();
    let is_ref = |input: &Option<SecretInput>| matches!(input, Some(SecretInput::Ref(_)));
    if !is_ref(&auth.token) && !is_ref(&auth.password) {
        return Ok(None);
    }
    let value = |input: &Option<SecretInput>, field: &str| -> Result<Option<String>, String> {
        let Some(input) = input else { return Ok(None) };
        match resolved.value_of(input, &auth_path(field)) {
            Some(v) => Ok(Some(v.expose().to_string())),
            None => Err(format!(
                "gateway.auth.{field}: the SecretRef did not resolve; fix it (`openclaw secrets audit` shows why) so the gateway is never left without its credential"
            )),
        }
    };
    let token = value(&auth.token, "token")?;
    let password = value(&auth.password, "password")?;
    let env = gw.secrets.env();
    let sources = AuthSources {
        mode: auth.mode,
        config_token: token.as_deref(),
        config_password: password.as_deref(),
        env_token: env.get("OPENCLAW_GATEWAY_TOKEN"),
        env_password: env.get("OPENCLAW_GATEWAY_PASSWORD"),
    };
    let next = resolve_auth(&sources).map_err(|problem| problem.to_string())?;
    if let Some(field) = placeholder_in_use(&sources, &next)
        && !gw.bind.is_loopback()
    {
        return Err(format!(
            "gateway.auth.{field} now resolves to the documentation placeholder, which protects nothing beyond loopback; generate a real one with `openclaw doctor --generate-gateway-token`"
        ));
    }
    Ok(Some(next))
}

async fn reload(gw: &Gateway) -> Result<Value, RpcError> {
    let _one_at_a_time = gw.secrets.begin_reload().await;
    let before = gw.secrets.current();
    let (next, errors) = gw.secrets.resolve().await;
    let redact = |text: &str| gw.redactor.redact(text).into_owned();
    let in_force: BTreeSet<JsonPath> = before.paths().cloned().collect();
    let failures = errors
        .into_iter()
        .map(|e| RefFailure {
            path: e.path,
            message: redact(&e.message),
            hint: e.hint,
        })
        .collect();
    let mut verdict = judge(gw.secrets.document(), &in_force, failures);

    // Build every consumer's new value before swapping any.
    let mut problems: Vec<String> = Vec::new();
    let auth = next_auth(gw, &next).unwrap_or_else(|e| {
        problems.push(e);
        None
    });
    let providers = crate::agents::providers_from(gw.secrets.config(), &next);
    if let Err(e) = &providers
        && gw.agents.providers().is_ok()
    {
        problems.push(format!("models.providers: {}", redact(e)));
    }
    let plugins = match gw
        .plugins
        .prepare_secrets(gw.secrets.config(), gw.secrets.document(), gw.secrets.env(), &next)
    {
        Ok(prepared) => Some(prepared),
        Err(failed) => {
            problems.extend(failed.iter().map(|f| redact(f)));
            None
        }
    };

    let blocked = !verdict.ok() || !problems.is_empty();
    let (Some(plugins), false) = (plugins, blocked) else {
        let mut message = if verdict.ok() {
            "secrets reload refused: the new secrets cannot be put in use; the gateway keeps the secrets it had (nothing was changed)".to_string()
        } else {
            verdict.error_message()
        };
        for problem in &problems {
            message.push_str(&format!("\n  {problem}"));
        }
        let paths: Vec<String> = verdict.blocking.iter().map(|f| f.path.to_string()).collect();
        tracing::warn!(
            target: SECURITY_TARGET,
            event = "secrets-reload-refused",
            paths = %paths.join(","),
            "secrets reload refused; the last-known-good secrets stay in force: {}",
            message.replace('\n', " ")
        );
        return Err(RpcError {
            code: "SECRETS_UNRESOLVED",
            message,
        });
    };

    // Swap. The redactor learns the new values first, so no log line can carry one unscrubbed.
    gw.redactor.add_known_secrets(next.exposed_values());
    let restart_required = plugins.restart_required.clone();
    plugins.commit();
    if providers.is_ok() || gw.agents.providers().is_err() {
        gw.agents.replace_providers(providers);
    }
    if let Some(auth) = auth {
        gw.guard.set_auth(auth);
    }
    let changed: Vec<String> = next.changed_from(&before).iter().map(ToString::to_string).collect();
    let refs = next.len();
    gw.secrets.replace(next);
    verdict.warnings.extend(
        restart_required
            .iter()
            .map(|p| format!("{p}: a channel webhook secret is given to the platform when the channel starts; the old one stays in use until the gateway restarts")),
    );
    tracing::warn!(
        target: SECURITY_TARGET,
        event = "secrets-reload",
        refs,
        changed = %changed.join(","),
        warnings = verdict.warnings.len(),
        "secrets reloaded: {refs} reference(s) resolved, {} changed",
        changed.len()
    );
    Ok(json!({
        "ok": true,
        "refsResolved": refs,
        "changed": changed,
        "restartRequired": restart_required,
        "warningCount": verdict.warnings.len(),
        "warnings": verdict.warnings,
    }))
}
