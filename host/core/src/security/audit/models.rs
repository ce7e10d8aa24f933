//! Model hygiene: legacy and weak models resist prompt injection worse; small local models should
//! run sandboxed without web tools.

use super::facts::AuditInput;
use super::tools::agent_sandbox_modes;
use super::{Finding, Severity, first_n};
use crate::config::schema::Config;
use crate::config::schema::sandbox::SandboxMode;
use crate::tools::policy::{PolicyContext, ToolCatalog, resolve};

const LEGACY: &[&str] = &["gpt-3.5", "claude-instant", "claude-2", "gpt-4-0314", "gpt-4-0613"];
/// Parameter counts at or below this (in billions) count as small.
const SMALL_PARAMS_B: f64 = 300.0;

/// Every text model the config names, with where (image models are listed separately).
fn text_models(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let agents = config.agents();
    if let Some(m) = agents.defaults.as_ref().and_then(|d| d.model.as_ref()) {
        out.extend(m.ids().into_iter().map(str::to_string));
    }
    for agent in agents.list() {
        if let Some(m) = &agent.model {
            out.extend(m.ids().into_iter().map(str::to_string));
        }
    }
    out.dedup();
    out
}

fn image_models(config: &Config) -> Vec<String> {
    config
        .agents()
        .defaults
        .as_ref()
        .and_then(|d| d.image_model.as_ref())
        .map(|m| m.ids().into_iter().map(str::to_string).collect())
        .unwrap_or_default()
}

fn model_name(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_lowercase()
}

pub fn is_legacy(id: &str) -> bool {
    let name = model_name(id);
    LEGACY.iter().any(|l| name.contains(l))
}

/// Version numbers in a model name (`claude-3-5-sonnet` → [3, 5]; dates are not versions).
fn versions(rest: &str) -> Vec<u32> {
    rest.split(['-', '.', '_', ':'])
        .filter(|t| !t.is_empty() && t.len() <= 2 && t.chars().all(|c| c.is_ascii_digit()))
        .filter_map(|t| t.parse().ok())
        .collect()
}

pub fn is_weak_tier(id: &str) -> bool {
    let name = model_name(id);
    if name.contains("haiku") {
        return true;
    }
    if let Some(rest) = name.strip_prefix("gpt-") {
        let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return major.parse::<u32>().is_ok_and(|m| m < 5);
    }
    if let Some(rest) = name.strip_prefix("claude-") {
        let v = versions(rest);
        return match v.as_slice() {
            [] => false,
            [major] => *major <= 4,
            [major, minor, ..] => (*major, *minor) < (4, 5),
        };
    }
    false
}

/// The parameter count in billions a model id states (`qwen2.5:14b` → 14, `mixtral-8x7b` → 56).
pub fn inferred_params_b(id: &str) -> Option<f64> {
    let name = model_name(id);
    let bytes = name.as_bytes();
    let mut best: Option<f64> = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit()
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'.' || bytes[i - 1] == b'x')
        {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let number = &name[start..i];
            let after_b =
                i < bytes.len() && bytes[i] == b'b' && (i + 1 == bytes.len() || !bytes[i + 1].is_ascii_alphabetic());
            if after_b && let Ok(mut value) = number.parse::<f64>() {
                // `8x7b`: experts times size.
                if start >= 2 && bytes[start - 1] == b'x' {
                    let experts: String = name[..start - 1]
                        .chars()
                        .rev()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    let experts: String = experts.chars().rev().collect();
                    if let Ok(n) = experts.parse::<f64>() {
                        value *= n;
                    }
                }
                best = Some(best.map_or(value, |b: f64| b.max(value)));
            }
        } else {
            i += 1;
        }
    }
    best
}

pub fn collect(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let config = input.config;
    let all: Vec<String> = text_models(config).into_iter().chain(image_models(config)).collect();
    let legacy: Vec<String> = all.iter().filter(|m| is_legacy(m)).cloned().collect();
    if !legacy.is_empty() {
        out.push(
            Finding::new(
                "models.legacy",
                Severity::Warn,
                "Some configured models look legacy",
                format!(
                    "older models follow injected instructions more readily: {}",
                    first_n(&legacy, 12)
                ),
            )
            .fix("Use a current model for agents that read untrusted input."),
        );
    }
    let weak: Vec<String> = text_models(config).into_iter().filter(|m| is_weak_tier(m)).collect();
    if !weak.is_empty() {
        out.push(
            Finding::new(
                "models.weak_tier",
                Severity::Warn,
                "Some configured models are below recommended tiers",
                format!("below GPT-5 / Claude 4.5 class: {}", first_n(&weak, 12)),
            )
            .fix("Prefer GPT-5+ or Claude 4.5+ for agents with tools or untrusted input."),
        );
    }

    let catalog = ToolCatalog::openclaw(Vec::new());
    let default_model = config.agents().defaults.as_ref().and_then(|d| d.model.as_ref());
    let mut unsafe_small = Vec::new();
    let mut safe_small = Vec::new();
    for (agent_id, mode) in agent_sandbox_modes(config) {
        let agent = crate::tools::find_agent(config, &agent_id).map(|(_, a)| a);
        let Some(model) = agent.and_then(|a| a.model.as_ref()).or(default_model) else {
            continue;
        };
        for id in model.ids() {
            let Some(params) = inferred_params_b(id) else { continue };
            if params > SMALL_PARAMS_B {
                continue;
            }
            let policy = resolve(
                config,
                &PolicyContext {
                    agent_id: &agent_id,
                    model: Some(id),
                    sandboxed: mode == SandboxMode::All,
                    ..PolicyContext::default()
                },
                &catalog,
            );
            let web = ["web_search", "web_fetch", "browser"]
                .iter()
                .any(|t| policy.is_allowed(t));
            let line = format!("{agent_id}: {id} (~{params}B)");
            if mode == SandboxMode::All && !web {
                safe_small.push(line);
            } else {
                unsafe_small.push(line);
            }
        }
    }
    if !unsafe_small.is_empty() || !safe_small.is_empty() {
        let mut detail = String::from("Small models are easier to steer with injected instructions.");
        if !unsafe_small.is_empty() {
            detail.push_str(&format!(
                " Not sandboxed with sandbox.mode=\"all\" or web tools allowed: {}.",
                first_n(&unsafe_small, 12)
            ));
        }
        if !safe_small.is_empty() {
            detail.push_str(&format!(" Sandboxed without web tools: {}.", first_n(&safe_small, 12)));
        }
        out.push(
            Finding::new(
                "models.small_params",
                if unsafe_small.is_empty() {
                    Severity::Info
                } else {
                    Severity::Critical
                },
                "Small models require sandboxing and web tools disabled",
                detail,
            )
            .fix("For those agents: sandbox.mode=\"all\" and tools.deny [\"group:web\", \"browser\"]."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_and_sizes() {
        assert!(is_weak_tier("anthropic/claude-3-5-sonnet-20241022"));
        assert!(is_weak_tier("anthropic/claude-sonnet-4-20250514"));
        assert!(is_weak_tier("anthropic/claude-opus-4-1"));
        assert!(!is_weak_tier("anthropic/claude-sonnet-4-5"));
        assert!(!is_weak_tier("anthropic/claude-opus-4-6"));
        assert!(is_weak_tier("anthropic/claude-haiku-4-5"));
        assert!(is_weak_tier("openai/gpt-4o"));
        assert!(is_weak_tier("openai/gpt-4.1"));
        assert!(!is_weak_tier("openai/gpt-5.2"));
        assert!(is_legacy("openai/gpt-3.5-turbo"));
        assert!(!is_legacy("openai/gpt-5"));
        assert_eq!(inferred_params_b("ollama/qwen2.5:14b"), Some(14.0));
        assert_eq!(inferred_params_b("ollama/llama-3.1-70b-instruct"), Some(70.0));
        assert_eq!(inferred_params_b("mistral/mixtral-8x7b"), Some(56.0));
        assert_eq!(inferred_params_b("ollama/deepseek-r1:671b"), Some(671.0));
        assert_eq!(inferred_params_b("anthropic/claude-opus-4-6"), None);
        assert_eq!(inferred_params_b("openai/gpt-5"), None);
    }
}
