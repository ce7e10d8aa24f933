//! Provider specs from `models.providers`, with the built-in defaults of well-known providers.

use openclaw_core::config::schema::common::SecretInput;
use openclaw_core::config::schema::models::{ModelProviderConfig, ModelsConfig, ModelsMode, ProviderApi};
use secrecy::SecretString;

use crate::spec::{Api, ProviderSpec};

/// A provider setting that cannot be used, with the JSON path to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ProviderConfigError {
    pub path: String,
    pub message: String,
}

/// Providers the gateway knows without configuration: id, API, endpoint.
pub const BUILT_IN: &[(&str, Api, &str)] = &[
    ("openai", Api::OpenaiCompletions, "https://api.openai.com/v1"),
    ("anthropic", Api::AnthropicMessages, "https://api.anthropic.com"),
    ("ollama", Api::OpenaiCompletions, "http://127.0.0.1:11434/v1"),
];

const SUPPORTED_APIS: &str = "openai-completions, anthropic-messages";

/// The resolver turns a secret setting into its value; `Ok(None)` means "not set".
pub type SecretResolver<'a> = &'a dyn Fn(&SecretInput, &str) -> Result<Option<String>, String>;

pub(crate) fn specs(
    models: Option<&ModelsConfig>,
    resolve: SecretResolver<'_>,
) -> Result<Vec<ProviderSpec>, ProviderConfigError> {
    let configured = models.and_then(|m| m.providers.as_ref());
    let replace = models.and_then(|m| m.mode) == Some(ModelsMode::Replace);
    let mut specs = Vec::new();
    if !replace {
        for (id, api, base_url) in BUILT_IN {
            if !configured.is_some_and(|c| c.contains_key(*id)) {
                specs.push(ProviderSpec::new(*id, *api, *base_url));
            }
        }
    }
    for (id, provider) in configured.into_iter().flatten() {
        specs.push(spec(id, provider, resolve)?);
    }
    Ok(specs)
}

fn api_name(api: ProviderApi) -> &'static str {
    match api {
        ProviderApi::OpenaiCompletions => "openai-completions",
        ProviderApi::OpenaiResponses => "openai-responses",
        ProviderApi::OpenaiCodexResponses => "openai-codex-responses",
        ProviderApi::AnthropicMessages => "anthropic-messages",
        ProviderApi::GoogleGenerativeAi => "google-generative-ai",
        ProviderApi::GithubCopilot => "github-copilot",
        ProviderApi::BedrockConverseStream => "bedrock-converse-stream",
        ProviderApi::Ollama => "ollama",
        ProviderApi::AzureOpenaiResponses => "azure-openai-responses",
    }
}

fn spec(
    id: &str,
    provider: &ModelProviderConfig,
    resolve: SecretResolver<'_>,
) -> Result<ProviderSpec, ProviderConfigError> {
    let at = |field: &str| format!("models.providers.{id}.{field}");
    let built_in = BUILT_IN.iter().find(|(known, _, _)| *known == id);
    let api = match provider.api {
        Some(ProviderApi::OpenaiCompletions) => Api::OpenaiCompletions,
        Some(ProviderApi::AnthropicMessages) => Api::AnthropicMessages,
        Some(ProviderApi::Ollama) => {
            return Err(ProviderConfigError {
                path: at("api"),
                message: format!(
                    "`ollama` (the native Ollama API) is not supported; supported values: {SUPPORTED_APIS}. \
                     Ollama also speaks openai-completions at http://<host>:11434/v1"
                ),
            });
        }
        Some(other) => {
            return Err(ProviderConfigError {
                path: at("api"),
                message: format!(
                    "`{}` is not supported; supported values: {SUPPORTED_APIS}",
                    api_name(other)
                ),
            });
        }
        None => match built_in {
            Some((_, api, _)) => *api,
            None => {
                return Err(ProviderConfigError {
                    path: at("api"),
                    message: format!(
                        "not set, and `{id}` is not a provider this gateway knows; set one of: {SUPPORTED_APIS}"
                    ),
                });
            }
        },
    };
    let base_url = match (&provider.base_url, built_in) {
        (Some(url), _) => url.trim().to_string(),
        (None, Some((_, _, url))) => url.to_string(),
        (None, None) => {
            return Err(ProviderConfigError {
                path: at("baseUrl"),
                message: format!("required for provider `{id}` (for example \"http://127.0.0.1:8000/v1\")"),
            });
        }
    };
    match reqwest::Url::parse(&base_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
        Ok(url) => {
            return Err(ProviderConfigError {
                path: at("baseUrl"),
                message: format!("`{}` is not an http or https URL", url.scheme()),
            });
        }
        Err(e) => {
            return Err(ProviderConfigError {
                path: at("baseUrl"),
                message: format!("not a URL: {e}"),
            });
        }
    }
    let secret = |input: &SecretInput, path: String| match resolve(input, &path) {
        Ok(value) => Ok(value.filter(|v| !v.is_empty()).map(SecretString::from)),
        Err(message) => Err(ProviderConfigError { path, message }),
    };
    let mut spec = ProviderSpec::new(id, api, base_url);
    if let Some(key) = &provider.api_key {
        spec.api_key = secret(key, at("apiKey"))?;
        if let Some(key) = &spec.api_key
            && reqwest::header::HeaderValue::from_str(secrecy::ExposeSecret::expose_secret(key)).is_err()
        {
            return Err(ProviderConfigError {
                path: at("apiKey"),
                message: "contains characters a header cannot carry (a line break or control character?)".into(),
            });
        }
    }
    for (name, value) in provider.headers.iter().flatten() {
        let path = at(&format!("headers.{name}"));
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(ProviderConfigError {
                path,
                message: "not a valid HTTP header name".into(),
            });
        }
        let Some(value) = secret(value, path.clone())? else {
            continue;
        };
        if reqwest::header::HeaderValue::from_str(secrecy::ExposeSecret::expose_secret(&value)).is_err() {
            return Err(ProviderConfigError {
                path,
                message: "the value contains characters a header cannot carry".into(),
            });
        }
        spec.headers.push((name.clone(), value));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(json: serde_json::Value) -> ModelsConfig {
        serde_json::from_value(json).unwrap()
    }

    fn literal_resolver(input: &SecretInput, _path: &str) -> Result<Option<String>, String> {
        match input {
            SecretInput::Literal(literal) => Ok(Some(literal.expose().to_string())),
            SecretInput::Ref(reference) => Err(format!("environment variable {} is not set", reference.id)),
        }
    }

    #[test]
    fn built_ins_come_with_their_defaults_unless_replaced() {
        let all = specs(None, &literal_resolver).unwrap();
        let ids: Vec<_> = all
            .iter()
            .map(|s| (s.id.as_str(), s.api, s.base_url.as_str()))
            .collect();
        assert_eq!(ids, BUILT_IN.to_vec());
        let replaced = specs(
            Some(&models(serde_json::json!({
                "mode": "replace",
                "providers": {"local": {"api": "openai-completions", "baseUrl": "http://127.0.0.1:8000/v1"}}
            }))),
            &literal_resolver,
        )
        .unwrap();
        assert_eq!(replaced.len(), 1);
        assert_eq!(replaced[0].id, "local");
    }

    #[test]
    fn configured_provider_overrides_the_built_in_and_carries_its_secrets() {
        let all = specs(
            Some(&models(serde_json::json!({
                "providers": {"openai": {"apiKey": "sk-literal", "headers": {"OpenAI-Organization": "org-1"}}}
            }))),
            &literal_resolver,
        )
        .unwrap();
        let openai: Vec<_> = all.iter().filter(|s| s.id == "openai").collect();
        assert_eq!(openai.len(), 1);
        assert_eq!(openai[0].base_url, "https://api.openai.com/v1");
        assert_eq!(openai[0].secrets().collect::<Vec<_>>(), vec!["sk-literal", "org-1"]);
    }

    #[test]
    fn unusable_settings_name_the_path_and_the_fix() {
        let table = [
            (
                serde_json::json!({"p": {"api": "openai-responses", "baseUrl": "http://h/v1"}}),
                "models.providers.p.api: `openai-responses` is not supported; supported values: openai-completions, anthropic-messages",
            ),
            (
                serde_json::json!({"p": {"api": "ollama", "baseUrl": "http://h:11434"}}),
                "models.providers.p.api: `ollama` (the native Ollama API) is not supported",
            ),
            (
                serde_json::json!({"p": {"baseUrl": "http://h/v1"}}),
                "models.providers.p.api: not set, and `p` is not a provider this gateway knows",
            ),
            (
                serde_json::json!({"p": {"api": "openai-completions"}}),
                "models.providers.p.baseUrl: required for provider `p`",
            ),
            (
                serde_json::json!({"p": {"api": "openai-completions", "baseUrl": "ftp://h"}}),
                "models.providers.p.baseUrl: `ftp` is not an http or https URL",
            ),
            (
                serde_json::json!({"p": {"api": "openai-completions", "baseUrl": "not a url"}}),
                "models.providers.p.baseUrl: not a URL",
            ),
            (
                serde_json::json!({"openai": {"apiKey": {"source": "env", "id": "OPENAI_API_KEY"}}}),
                "models.providers.openai.apiKey: environment variable OPENAI_API_KEY is not set",
            ),
            (
                serde_json::json!({"openai": {"apiKey": "line\nbreak"}}),
                "models.providers.openai.apiKey: contains characters a header cannot carry",
            ),
            (
                serde_json::json!({"openai": {"headers": {"bad header": "v"}}}),
                "models.providers.openai.headers.bad header: not a valid HTTP header name",
            ),
        ];
        for (providers, expected) in table {
            let config = models(serde_json::json!({ "providers": providers }));
            let error = specs(Some(&config), &literal_resolver).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{providers}: {error}");
            assert!(!error.contains("line\nbreak"), "{error}");
        }
    }
}
