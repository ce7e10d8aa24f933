//! Webhook hooks, the OpenAI-compatible HTTP endpoints, and secrets written into the config.

use serde_json::Value;

use super::facts::{AuditInput, is_env_placeholder};
use super::gateway::{exposure, literal_or_env};
use super::{Finding, Severity, crit_if};
use crate::config::schema::gateway::AuthMode;

pub fn collect(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let x = exposure(input);
    let hooks = input.config.hooks.clone().unwrap_or_default();
    if hooks.enabled == Some(true) {
        let token = literal_or_env(input, hooks.token.as_ref());
        if let Some(token) = &token {
            if token.chars().count() < 24 {
                out.push(Finding::new(
                    "hooks.token_too_short",
                    Severity::Warn,
                    "Hooks token looks short",
                    format!(
                        "hooks.token is {} characters long; use 24 or more random characters.",
                        token.chars().count()
                    ),
                ));
            }
            let same_token = x.resolved_token.as_deref() == Some(token.as_str()) && x.mode != Some(AuthMode::Password);
            let same_password = x.resolved_password.as_deref() == Some(token.as_str())
                && matches!(x.mode, Some(AuthMode::Password | AuthMode::TrustedProxy));
            if same_token || same_password {
                out.push(
                    Finding::new(
                        "hooks.token_reuse_gateway_token",
                        Severity::Critical,
                        "Hooks token reuses the Gateway token/password",
                        "hooks.token equals the gateway's credential: anyone who can send a webhook can also operate the gateway.",
                    )
                    .fix("Give hooks their own token (e.g. `openssl rand -hex 24`)."),
                );
            }
        }
        if hooks.path.as_deref().map(str::trim) == Some("/") {
            out.push(
                Finding::new(
                    "hooks.path_root",
                    Severity::Critical,
                    "Hooks base path is '/'",
                    "hooks.path=\"/\" would shadow every other HTTP route.",
                )
                .fix("Use a dedicated path such as \"/hooks\"."),
            );
        }
        if hooks.default_session_key.as_deref().is_none_or(|k| k.trim().is_empty()) {
            out.push(
                Finding::new(
                    "hooks.default_session_key_unset",
                    Severity::Warn,
                    "hooks.defaultSessionKey is not configured",
                    "Hook runs without a session key each get a fresh session; related events do not share context.",
                )
                .fix("Set hooks.defaultSessionKey, e.g. \"hook:ingress\"."),
            );
        }
        let agents = hooks.allowed_agent_ids.as_ref();
        if agents.is_none_or(|ids| ids.iter().any(|i| i.trim() == "*")) {
            out.push(
                Finding::new(
                    "hooks.allowed_agent_ids_unrestricted",
                    crit_if(x.remotely_exposed),
                    "Hook agent routing allows any configured agent",
                    "hooks.allowedAgentIds is unset or contains \"*\": a webhook may pick any agent, including ones with broad tools.",
                )
                .fix("Set hooks.allowedAgentIds to the agents hooks should reach (or [] for none)."),
            );
        }
        if hooks.allow_request_session_key == Some(true) {
            out.push(
                Finding::new(
                    "hooks.request_session_key_enabled",
                    crit_if(x.remotely_exposed),
                    "External hook payloads may override sessionKey",
                    "hooks.allowRequestSessionKey=true lets a webhook payload choose the session it lands in.",
                )
                .fix("Disable it, or restrict hooks.allowedSessionKeyPrefixes."),
            );
            if hooks
                .allowed_session_key_prefixes
                .as_ref()
                .is_none_or(|p| p.iter().all(|p| p.trim().is_empty()))
            {
                out.push(
                    Finding::new(
                        "hooks.request_session_key_prefixes_missing",
                        crit_if(x.remotely_exposed),
                        "Request sessionKey override is enabled without prefix restrictions",
                        "hooks.allowRequestSessionKey=true with no hooks.allowedSessionKeyPrefixes: a payload can write into any session, including the main one.",
                    )
                    .fix("Set hooks.allowedSessionKeyPrefixes, e.g. [\"hook:\"]."),
                );
            }
        }
    }

    let endpoints = input
        .config
        .gateway()
        .http
        .as_ref()
        .and_then(|h| h.endpoints.clone())
        .unwrap_or_default();
    let chat = endpoints.chat_completions.as_ref().and_then(|e| e.enabled) == Some(true);
    let responses = endpoints.responses.as_ref().and_then(|e| e.enabled) == Some(true);
    if x.mode == Some(AuthMode::None) {
        let mut routes = vec!["/tools/invoke"];
        if chat {
            routes.push("/v1/chat/completions");
        }
        if responses {
            routes.push("/v1/responses");
        }
        out.push(
            Finding::new(
                "gateway.http.no_auth",
                crit_if(x.remotely_exposed),
                "Gateway HTTP APIs are reachable without auth",
                format!(
                    "gateway.auth.mode=\"none\" leaves {} callable without credentials.",
                    routes.join(", ")
                ),
            )
            .fix("Set gateway.auth.mode to \"token\" (or \"password\")."),
        );
    }
    if chat || responses {
        out.push(Finding::new(
            "gateway.http.session_key_override_enabled",
            Severity::Info,
            "HTTP API session-key override is enabled",
            "The OpenAI-compatible HTTP endpoints accept x-openclaw-session-key, so a caller with the gateway credential can write into any session.",
        ));
    }
}

pub fn secrets_in_config(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let literal = |path: &[&str]| match input.raw_at(path) {
        Some(Value::String(s)) => !s.trim().is_empty() && !is_env_placeholder(s),
        _ => false,
    };
    if literal(&["gateway", "auth", "password"]) {
        out.push(
            Finding::new(
                "config.secrets.gateway_password_in_config",
                Severity::Warn,
                "Gateway password is stored in config",
                "gateway.auth.password is a plaintext value in the config file.",
            )
            .fix("Use OPENCLAW_GATEWAY_PASSWORD or a SecretRef ({source: \"env\", id: \"...\"}) instead."),
        );
    }
    if input.raw_at(&["hooks", "enabled"]) == Some(&Value::Bool(true)) && literal(&["hooks", "token"]) {
        out.push(Finding::new(
            "config.secrets.hooks_token_in_config",
            Severity::Info,
            "Hooks token is stored in config",
            "hooks.token is a plaintext value in the config file; a SecretRef keeps it out of backups and pastes.",
        ));
    }
}
