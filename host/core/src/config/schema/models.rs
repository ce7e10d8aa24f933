//! `models.*`: model providers and their credentials.

use schemars::JsonSchema;
use serde::Deserialize;

use super::common::{IdMap, Opaque, SecretInput};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelsMode {
    /// Add these providers to the built-in catalog.
    Merge,
    /// Use only these providers.
    Replace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderApi {
    OpenaiCompletions,
    OpenaiResponses,
    OpenaiCodexResponses,
    AnthropicMessages,
    GoogleGenerativeAi,
    GithubCopilot,
    BedrockConverseStream,
    Ollama,
    AzureOpenaiResponses,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderAuth {
    ApiKey,
    AwsSdk,
    Oauth,
    Token,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelInput {
    Text,
    Image,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModelDefinition {
    #[schemars(length(min = 1))]
    pub id: String,
    pub name: Option<String>,
    pub api: Option<ProviderApi>,
    pub reasoning: Option<bool>,
    pub input: Option<Vec<ModelInput>>,
    pub cost: Option<Opaque>,
    pub context_window: Option<f64>,
    pub context_tokens: Option<u64>,
    pub max_tokens: Option<f64>,
    pub headers: Option<IdMap<String>>,
    pub compat: Option<Opaque>,
}

/// `models.providers.<id>`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModelProviderConfig {
    /// Endpoint URL; optional for providers the gateway knows (openai, anthropic, ...).
    pub base_url: Option<String>,
    /// API key (prefer a SecretRef; `openclaw secrets audit` flags literals).
    pub api_key: Option<SecretInput>,
    pub auth: Option<ProviderAuth>,
    /// Wire protocol.
    pub api: Option<ProviderApi>,
    /// Static request headers; values may be SecretRefs.
    pub headers: Option<IdMap<SecretInput>>,
    pub auth_header: Option<bool>,
    /// Transport overrides (auth, proxy, TLS; accepted for compatibility).
    pub request: Option<Opaque>,
    #[serde(rename = "injectNumCtxForOpenAICompat")]
    pub inject_num_ctx_for_openai_compat: Option<bool>,
    pub models: Option<Vec<ModelDefinition>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModelsConfig {
    pub mode: Option<ModelsMode>,
    pub providers: Option<IdMap<ModelProviderConfig>>,
}
