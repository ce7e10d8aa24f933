//! How to reach one provider: its wire API, endpoint, credentials and patience.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// The wire protocols this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `POST {base}/chat/completions` with `Authorization: Bearer` (OpenAI, Ollama, vLLM,
    /// llama.cpp and the other OpenAI-compatible servers).
    OpenaiCompletions,
    /// `POST {base}/v1/messages` with `x-api-key` (Anthropic).
    AnthropicMessages,
}

impl Api {
    /// The spelling config uses (`models.providers.<id>.api`).
    pub fn config_name(self) -> &'static str {
        match self {
            Self::OpenaiCompletions => "openai-completions",
            Self::AnthropicMessages => "anthropic-messages",
        }
    }
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
pub const DEFAULT_MAX_RETRIES: u32 = 2;
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct ProviderSpec {
    pub id: String,
    pub api: Api,
    /// Without the API's path: `https://api.openai.com/v1`, `https://api.anthropic.com`.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    /// Extra request headers; values are treated as secrets (they often carry tokens).
    pub headers: Vec<(String, SecretString)>,
    /// The longest one attempt may take, from sending the request to the last byte.
    pub timeout: Duration,
    /// The longest wait for the response headers (including connecting) or for the next piece
    /// of a streamed answer. A model that stalls mid-answer is noticed after this, not after
    /// `timeout`.
    pub idle_timeout: Duration,
    /// Further tries of the same model after a transient failure (429, 5xx, connection errors).
    pub max_retries: u32,
    /// The first wait between tries; it doubles each time (with jitter).
    pub backoff: Duration,
}

impl ProviderSpec {
    /// A spec with the default timeouts and retries and no credentials.
    pub fn new(id: impl Into<String>, api: Api, base_url: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            api,
            base_url: base_url.into(),
            api_key: None,
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff: DEFAULT_BACKOFF,
        }
    }

    /// Every secret value this spec sends, for scrubbing text that comes back.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &str> {
        self.api_key
            .iter()
            .chain(self.headers.iter().map(|(_, value)| value))
            .map(|s| s.expose_secret())
    }
}

impl fmt::Debug for ProviderSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self.headers.iter().map(|(name, _)| (name.as_str(), REDACTED)).collect();
        f.debug_struct("ProviderSpec")
            .field("id", &self.id)
            .field("api", &self.api)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| REDACTED))
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .finish()
    }
}

pub(crate) const REDACTED: &str = "[redacted]";

/// Replaces every known secret in text that came from outside (error bodies, transport errors)
/// before it is stored anywhere.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<SecretString>,
}

impl Redactor {
    pub(crate) fn new<'a>(secrets: impl Iterator<Item = &'a str>) -> Self {
        let mut secrets: Vec<&str> = secrets.filter(|s| !s.is_empty()).collect();
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self {
            secrets: secrets.into_iter().map(|s| SecretString::from(s.to_string())).collect(),
        }
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            let secret = secret.expose_secret();
            if text.contains(secret) {
                text = text.replace(secret, REDACTED);
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let mut spec = ProviderSpec::new("openai", Api::OpenaiCompletions, "https://api.openai.com/v1");
        spec.api_key = Some(SecretString::from("sk-very-secret"));
        spec.headers = vec![("x-org".into(), SecretString::from("org-secret"))];
        let debug = format!("{spec:?}");
        assert!(
            !debug.contains("sk-very-secret") && !debug.contains("org-secret"),
            "{debug}"
        );
        assert!(debug.contains("x-org") && debug.contains(REDACTED), "{debug}");
    }

    #[test]
    fn scrub_replaces_longest_secret_first() {
        let redactor = Redactor::new(["abc", "abcdef", ""].into_iter());
        assert_eq!(redactor.scrub("key abcdef and abc"), "key [redacted] and [redacted]");
        assert_eq!(redactor.scrub("nothing here"), "nothing here");
    }
}
