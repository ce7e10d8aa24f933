//! The model chain: one HTTP client, retries with backoff, fallback to the next model while
//! nothing has been streamed, timeouts and cancellation.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use tokio::sync::watch;
use tokio::time::timeout;

use crate::answer::{Answer, Emitter, error_message, excerpt};
use crate::config::{ProviderConfigError, SecretResolver};
use crate::error::{AttemptFailure, FailureCause, ProviderError, TimeoutKind};
use crate::spec::{Api, ProviderSpec, Redactor};
use crate::sse::SseParser;
use crate::types::{ChatRequest, Completion, StreamEvent};
use crate::{anthropic, openai, retry};
use openclaw_core::config::schema::models::ModelsConfig;

/// Connecting is bounded for every provider alike; the per-provider `idle_timeout` bounds the
/// wait for the response headers, connecting included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// An error body is read up to this much: enough for any explanation, not a memory sink.
const MAX_ERROR_BODY: usize = 64 << 10;
/// How long the rest of a finished stream may take to arrive before its connection is dropped.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// A non-streamed answer is read up to this much.
const MAX_WHOLE_BODY: usize = 32 << 20;

/// The configured model providers. Cheap to clone: every clone shares one HTTP client and its
/// connection pool.
#[derive(Clone)]
pub struct Providers {
    inner: Arc<Inner>,
}

struct Inner {
    /// Building the client fails only if TLS cannot start; every call then reports why.
    client: Result<reqwest::Client, String>,
    specs: BTreeMap<String, ProviderSpec>,
    redactor: Redactor,
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Providers")
            .field("specs", &self.inner.specs.values().collect::<Vec<_>>())
            .finish()
    }
}

/// How a failed attempt ended, and what the provider asked about retrying.
struct Failed {
    cause: FailureCause,
    requested_wait: Option<Duration>,
}

impl From<FailureCause> for Failed {
    fn from(cause: FailureCause) -> Self {
        Self {
            cause,
            requested_wait: None,
        }
    }
}

impl Providers {
    pub fn new(specs: Vec<ProviderSpec>) -> Self {
        let redactor = Redactor::new(specs.iter().flat_map(ProviderSpec::secrets));
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // A redirect would carry `x-api-key` or custom secret headers to wherever it
            // points; model APIs do not redirect, so a 3xx is reported instead of followed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("openclaw/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the HTTP client could not start: {e}"));
        let specs = specs.into_iter().map(|spec| (spec.id.clone(), spec)).collect();
        Self {
            inner: Arc::new(Inner {
                client,
                specs,
                redactor,
            }),
        }
    }

    /// Providers from `models` (see [`crate::config::BUILT_IN`] for the defaults);
    /// `resolve` turns a secret setting into its value given the setting's JSON path.
    pub fn from_config(
        models: Option<&ModelsConfig>,
        resolve: SecretResolver<'_>,
    ) -> Result<Self, ProviderConfigError> {
        crate::config::specs(models, resolve).map(Self::new)
    }

    /// Splits `"provider/model"` at the first slash (model ids may contain more slashes).
    pub fn parse_model(reference: &str) -> Result<(String, String), String> {
        match reference.trim().split_once('/') {
            Some((provider, model)) if !provider.is_empty() && !model.is_empty() => {
                Ok((provider.to_string(), model.to_string()))
            }
            _ => Err(format!(
                "model `{reference}` must be written `provider/model` (for example `openai/gpt-4o` or `ollama/llama3.1`)"
            )),
        }
    }

    /// The configured provider ids.
    pub fn provider_ids(&self) -> impl Iterator<Item = &str> {
        self.inner.specs.keys().map(String::as_str)
    }

    /// Asks the models of `chain` in order (`"provider/model"`, primary first) until one
    /// answers, streaming its output to `on_event` as it arrives.
    ///
    /// A model is retried after transient failures and the next one asked after any failure,
    /// but only while nothing has been streamed: once output went out, a failure ends the turn
    /// with [`ProviderError::Interrupted`]. The call stops promptly once `cancel` holds `true`.
    pub async fn complete(
        &self,
        chain: &[String],
        request: &ChatRequest,
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
        cancel: &watch::Receiver<bool>,
    ) -> Result<Completion, ProviderError> {
        if chain.is_empty() {
            return Err(ProviderError::EmptyChain);
        }
        let chain = chain
            .iter()
            .map(|reference| Self::parse_model(reference))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ProviderError::InvalidModelReference)?;
        let mut cancel = cancel.clone();
        let mut out = Emitter::new(on_event);
        let mut attempts = Vec::new();
        for (provider, model) in chain {
            let Some(spec) = self.inner.specs.get(&provider) else {
                attempts.push(AttemptFailure {
                    provider,
                    model,
                    cause: FailureCause::UnknownProvider,
                });
                continue;
            };
            let body = match spec.api {
                Api::OpenaiCompletions => openai::request_body(&model, request),
                Api::AnthropicMessages => anthropic::request_body(&model, request),
            };
            let body = body.to_string();
            for retry in 0..=spec.max_retries {
                let result = tokio::select! {
                    biased;
                    () = cancelled(&mut cancel) => return Err(ProviderError::Cancelled { attempts }),
                    result = self.attempt(spec, &body, &mut out) => result,
                };
                let failed = match result {
                    Ok(answer) => {
                        return Ok(Completion {
                            stop: answer.stop_reason(),
                            text: answer.text,
                            tool_calls: answer.tool_calls,
                            usage: answer.usage,
                            provider,
                            model,
                            attempts,
                        });
                    }
                    Err(failed) => failed,
                };
                let failure = AttemptFailure {
                    provider: provider.clone(),
                    model: model.clone(),
                    cause: failed.cause,
                };
                if out.emitted {
                    return Err(ProviderError::Interrupted { failure, attempts });
                }
                let again = failure.cause.is_retryable() && retry < spec.max_retries;
                if !again {
                    tracing::warn!(provider = %provider, model = %model, "model failed: {failure}");
                    attempts.push(failure);
                    break;
                }
                let wait = retry::wait_before_retry(spec.backoff, retry, failed.requested_wait, retry::jitter());
                tracing::warn!(provider = %provider, model = %model, "model failed, retrying in {wait:?}: {failure}");
                attempts.push(failure);
                tokio::select! {
                    biased;
                    () = cancelled(&mut cancel) => return Err(ProviderError::Cancelled { attempts }),
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
        Err(ProviderError::NoModelAnswered { attempts })
    }

    /// One request to one model, bounded by the spec's total timeout.
    async fn attempt(&self, spec: &ProviderSpec, body: &str, out: &mut Emitter<'_>) -> Result<Answer, Failed> {
        match timeout(spec.timeout, self.exchange(spec, body, out)).await {
            Ok(result) => result.map_err(|failed| Failed {
                cause: self.scrub(failed.cause),
                ..failed
            }),
            Err(_) => Err(FailureCause::Timeout {
                kind: TimeoutKind::Total,
                after: spec.timeout,
            }
            .into()),
        }
    }

    async fn exchange(&self, spec: &ProviderSpec, body: &str, out: &mut Emitter<'_>) -> Result<Answer, Failed> {
        let client = self
            .inner
            .client
            .as_ref()
            .map_err(|e| FailureCause::Connect { detail: e.clone() })?;
        let path = match spec.api {
            Api::OpenaiCompletions => openai::PATH,
            Api::AnthropicMessages => anthropic::PATH,
        };
        let url = format!("{}{path}", spec.base_url.trim_end_matches('/'));
        let request = client.post(&url).headers(request_headers(spec)?).body(body.to_string());
        let mut response = match timeout(spec.idle_timeout, request.send()).await {
            Err(_) => {
                return Err(FailureCause::Timeout {
                    kind: TimeoutKind::Response,
                    after: spec.idle_timeout,
                }
                .into());
            }
            Ok(Err(e)) => return Err(transport_failure(&e).into()),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if !status.is_success() {
            let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok());
            let requested_wait = retry::requested_wait(header("retry-after-ms"), header("retry-after"));
            // The explanation is best effort: a status is reported even if its body stalls.
            let body = read_body(&mut response, spec.idle_timeout, MAX_ERROR_BODY)
                .await
                .unwrap_or_default();
            return Err(Failed {
                cause: FailureCause::Status {
                    status: status.as_u16(),
                    message: error_message(&body),
                },
                requested_wait,
            });
        }
        let streamed = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
        if !streamed {
            let body = read_body(&mut response, spec.idle_timeout, MAX_WHOLE_BODY).await?;
            let body = String::from_utf8_lossy(&body);
            return Ok(match spec.api {
                Api::OpenaiCompletions => openai::decode_whole(&body, out)?,
                Api::AnthropicMessages => anthropic::decode_whole(&body, out)?,
            });
        }
        let mut decoder = Decoder::new(spec.api);
        let mut parser = SseParser::new();
        loop {
            let chunk = match timeout(spec.idle_timeout, response.chunk()).await {
                Err(_) => {
                    return Err(FailureCause::Timeout {
                        kind: TimeoutKind::NextChunk,
                        after: spec.idle_timeout,
                    }
                    .into());
                }
                Ok(Err(e)) => return Err(transport_failure(&e).into()),
                Ok(Ok(None)) => return Ok(decoder.finish()?),
                Ok(Ok(Some(chunk))) => chunk,
            };
            let events = parser
                .push(&chunk)
                .map_err(|e| FailureCause::Malformed { detail: e.to_string() })?;
            for event in events {
                if decoder.event(event, out)? {
                    release(response).await;
                    return Ok(decoder.finish()?);
                }
            }
        }
    }

    /// The cause with credentials replaced, then cut to message length (in that order, so a
    /// cut never splits a secret).
    fn scrub(&self, cause: FailureCause) -> FailureCause {
        let scrub = |text: String| excerpt(&self.inner.redactor.scrub(&text));
        match cause {
            FailureCause::Status { status, message } => FailureCause::Status {
                status,
                message: scrub(message),
            },
            FailureCause::Connect { detail } => FailureCause::Connect { detail: scrub(detail) },
            FailureCause::Malformed { detail } => FailureCause::Malformed { detail: scrub(detail) },
            FailureCause::Transport { detail } => FailureCause::Transport { detail: scrub(detail) },
            FailureCause::Stream { message } => FailureCause::Stream {
                message: scrub(message),
            },
            other @ (FailureCause::UnknownProvider | FailureCause::Timeout { .. }) => other,
        }
    }
}

enum Decoder {
    Openai(openai::StreamDecoder),
    Anthropic(anthropic::StreamDecoder),
}

impl Decoder {
    fn new(api: Api) -> Self {
        match api {
            Api::OpenaiCompletions => Self::Openai(openai::StreamDecoder::default()),
            Api::AnthropicMessages => Self::Anthropic(anthropic::StreamDecoder::default()),
        }
    }

    fn event(&mut self, event: crate::sse::SseEvent, out: &mut Emitter<'_>) -> Result<bool, FailureCause> {
        match self {
            Self::Openai(decoder) => decoder.event(event, out),
            Self::Anthropic(decoder) => decoder.event(event, out),
        }
    }

    fn finish(self) -> Result<Answer, FailureCause> {
        match self {
            Self::Openai(decoder) => decoder.finish(),
            Self::Anthropic(decoder) => decoder.finish(),
        }
    }
}

/// Resolves once `cancel` holds `true`; never if its sender is gone without cancelling.
async fn cancelled(cancel: &mut watch::Receiver<bool>) {
    loop {
        if *cancel.borrow_and_update() {
            return;
        }
        if cancel.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn request_headers(spec: &ProviderSpec) -> Result<HeaderMap, FailureCause> {
    let invalid = |name: &str| FailureCause::Connect {
        detail: format!("the value of header `{name}` cannot be sent (it contains a line break or control character)"),
    };
    let secret_value = |name: &str, value: &str| {
        let mut value = HeaderValue::from_str(value).map_err(|_| invalid(name))?;
        value.set_sensitive(true);
        Ok::<_, FailureCause>(value)
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("text/event-stream, application/json"),
    );
    match spec.api {
        Api::OpenaiCompletions => {
            if let Some(key) = &spec.api_key {
                let value = format!("Bearer {}", key.expose_secret());
                headers.insert(header::AUTHORIZATION, secret_value("authorization", &value)?);
            }
        }
        Api::AnthropicMessages => {
            headers.insert("anthropic-version", HeaderValue::from_static(anthropic::VERSION));
            if let Some(key) = &spec.api_key {
                headers.insert("x-api-key", secret_value("x-api-key", key.expose_secret())?);
            }
        }
    }
    for (name, value) in &spec.headers {
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| FailureCause::Connect {
            detail: format!("`{name}` is not a valid header name"),
        })?;
        headers.insert(header_name, secret_value(name, value.expose_secret())?);
    }
    Ok(headers)
}

/// A body read in full, bounded in size and in the wait for each piece.
async fn read_body(response: &mut reqwest::Response, idle: Duration, limit: usize) -> Result<Vec<u8>, Failed> {
    let mut body = Vec::new();
    loop {
        match timeout(idle, response.chunk()).await {
            Err(_) => {
                return Err(FailureCause::Timeout {
                    kind: TimeoutKind::NextChunk,
                    after: idle,
                }
                .into());
            }
            Ok(Err(e)) => return Err(transport_failure(&e).into()),
            Ok(Ok(None)) => return Ok(body),
            Ok(Ok(Some(chunk))) => {
                let room = limit.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= limit {
                    return Ok(body);
                }
            }
        }
    }
}

/// Reads what follows the end of a stream (usually only the closing chunk), so the connection
/// goes back to the pool instead of being closed unread. What has already arrived is read at
/// once, without waiting: usually that is the end of the body, and the connection is back in
/// the pool before the next request of the turn needs one. A body still open is left to
/// [`drain`] in the background.
async fn release(mut response: reqwest::Response) {
    loop {
        // A zero timeout polls the read once: it finishes only what is already buffered.
        match timeout(Duration::ZERO, response.chunk()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) | Ok(Err(_)) => return,
            Err(_) => {
                tokio::spawn(drain(response));
                return;
            }
        }
    }
}

/// Reads the rest of a body in the background (bounded by `DRAIN_TIMEOUT`).
async fn drain(mut response: reqwest::Response) {
    let _ = timeout(DRAIN_TIMEOUT, async {
        let mut left = MAX_ERROR_BODY;
        while let Ok(Some(chunk)) = response.chunk().await {
            left = left.saturating_sub(chunk.len());
            if left == 0 {
                break;
            }
        }
    })
    .await;
}

/// A reqwest error as a cause: the innermost reason (for example "Connection refused") is what
/// a person needs, and the URL says where.
fn transport_failure(error: &reqwest::Error) -> FailureCause {
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let mut detail = innermost.to_string();
    if let Some(url) = error.url() {
        detail = format!("{detail} ({})", url_without_secrets(url));
    }
    if error.is_connect() {
        FailureCause::Connect { detail }
    } else {
        FailureCause::Transport { detail }
    }
}

/// The URL without user info or query, which is where credentials hide in a URL.
fn url_without_secrets(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_model_table() {
        let table: &[(&str, Option<(&str, &str)>)] = &[
            ("openai/gpt-4o", Some(("openai", "gpt-4o"))),
            (
                "openrouter/meta-llama/llama-3.1-8b",
                Some(("openrouter", "meta-llama/llama-3.1-8b")),
            ),
            (" ollama/llama3 ", Some(("ollama", "llama3"))),
            ("gpt-4o", None),
            ("/gpt-4o", None),
            ("openai/", None),
            ("", None),
        ];
        for (reference, expected) in table {
            let parsed = Providers::parse_model(reference);
            let parsed = parsed.as_ref().map(|(p, m)| (p.as_str(), m.as_str())).ok();
            assert_eq!(parsed, *expected, "{reference}");
        }
        let error = Providers::parse_model("gpt-4o").unwrap_err();
        assert!(error.contains("`gpt-4o` must be written `provider/model`"), "{error}");
    }

    #[test]
    fn url_in_errors_loses_user_info_and_query() {
        let url = reqwest::Url::parse("https://user:pw@example.com/v1/chat/completions?key=abc").unwrap();
        assert_eq!(url_without_secrets(&url), "https://example.com/v1/chat/completions");
    }

    #[test]
    fn a_secret_straddling_the_message_limit_is_scrubbed_whole() {
        let secret = "sk-0123456789abcdefghijklmnopqrstuvwxyz";
        let mut spec = ProviderSpec::new("p", Api::OpenaiCompletions, "http://127.0.0.1:1");
        spec.api_key = Some(secret.into());
        let providers = Providers::new(vec![spec]);
        for offset in crate::answer::EXCERPT_CHARS - secret.len()..crate::answer::EXCERPT_CHARS + 2 {
            let message = format!("{}{secret} and more", "x".repeat(offset));
            let body = serde_json::json!({"error": {"message": message}}).to_string();
            let cause = FailureCause::Status {
                status: 401,
                message: error_message(body.as_bytes()),
            };
            let shown = providers.scrub(cause).describe("p");
            // Not even a prefix of the key may survive the cut.
            assert!(!shown.contains(&secret[..8]), "offset {offset}: {shown}");
        }
    }

    #[test]
    fn request_headers_mark_credentials_sensitive() {
        let mut spec = ProviderSpec::new("a", Api::AnthropicMessages, "http://127.0.0.1:1");
        spec.api_key = Some("sk-ant".into());
        spec.headers = vec![("x-extra".into(), "tok".into())];
        let headers = request_headers(&spec).unwrap();
        assert_eq!(headers["anthropic-version"], "2023-06-01");
        assert!(headers["x-api-key"].is_sensitive());
        assert!(headers["x-extra"].is_sensitive());
        assert!(!format!("{headers:?}").contains("sk-ant"));
    }
}
