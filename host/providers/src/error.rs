//! What went wrong with a model call, as values a caller can match and a person can read.
//!
//! Every text here has been scrubbed of the configured API keys and header secrets before it
//! was stored, so `Display` and `Debug` are safe to log.

use std::fmt;
use std::time::Duration;

/// One failed try of one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFailure {
    pub provider: String,
    pub model: String,
    pub cause: FailureCause,
}

/// What a wait was for when it ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// Connecting and receiving the response headers.
    Response,
    /// The next piece of a streamed body.
    NextChunk,
    /// The whole exchange.
    Total,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureCause {
    /// The chain names a provider that is not configured.
    UnknownProvider,
    /// The provider answered with an error status; `message` is its own explanation.
    Status {
        status: u16,
        message: String,
    },
    /// No connection could be made.
    Connect {
        detail: String,
    },
    Timeout {
        kind: TimeoutKind,
        after: Duration,
    },
    /// The body is not a chat completion of the provider's API.
    Malformed {
        detail: String,
    },
    /// The connection failed while the answer was being read.
    Transport {
        detail: String,
    },
    /// The provider reported an error inside the stream.
    Stream {
        message: String,
    },
}

impl FailureCause {
    /// Whether trying the same model again may help: rate limits, server errors, and a
    /// connection that could not be made or broke (overloaded providers do all of these).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Connect { .. } | Self::Transport { .. } | Self::Stream { .. } => true,
            Self::UnknownProvider | Self::Timeout { .. } | Self::Malformed { .. } => false,
        }
    }

    /// The cause in a sentence that names `provider`.
    pub fn describe(&self, provider: &str) -> String {
        match self {
            Self::UnknownProvider => {
                format!("provider `{provider}` is not configured (add it under models.providers.{provider})")
            }
            Self::Status { status, message } if message.is_empty() => {
                format!("provider `{provider}` answered HTTP {status}")
            }
            Self::Status { status, message } => format!("provider `{provider}` answered HTTP {status}: {message}"),
            Self::Connect { detail } => format!("could not connect to provider `{provider}`: {detail}"),
            Self::Timeout { kind, after } => {
                let after = after.as_secs_f64();
                match kind {
                    TimeoutKind::Response => format!("provider `{provider}` sent no response within {after}s"),
                    TimeoutKind::NextChunk => {
                        format!("provider `{provider}` stopped sending: nothing arrived for {after}s")
                    }
                    TimeoutKind::Total => format!("provider `{provider}` did not finish within {after}s"),
                }
            }
            Self::Malformed { detail } => {
                format!("provider `{provider}` returned a body that is not a chat completion: {detail}")
            }
            Self::Transport { detail } => format!("the connection to provider `{provider}` failed: {detail}"),
            Self::Stream { message } => format!("provider `{provider}` reported an error: {message}"),
        }
    }
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}: {}",
            self.provider,
            self.model,
            self.cause.describe(&self.provider)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("no model to ask: the model chain is empty (set a primary model)")]
    EmptyChain,
    #[error("{0}")]
    InvalidModelReference(String),
    /// Every model in the chain failed before producing output.
    #[error("no model answered: {}", list(attempts))]
    NoModelAnswered { attempts: Vec<AttemptFailure> },
    /// The model failed after part of its answer had been streamed, so no other model may take
    /// over the turn.
    #[error("the answer of {failure} broke off after output had been streamed")]
    Interrupted {
        failure: AttemptFailure,
        /// Failures before the interrupted attempt.
        attempts: Vec<AttemptFailure>,
    },
    #[error("the model call was cancelled")]
    Cancelled { attempts: Vec<AttemptFailure> },
}

impl ProviderError {
    /// Every failed attempt, oldest first.
    pub fn attempts(&self) -> Vec<AttemptFailure> {
        match self {
            Self::EmptyChain | Self::InvalidModelReference(_) => Vec::new(),
            Self::NoModelAnswered { attempts } | Self::Cancelled { attempts } => attempts.clone(),
            Self::Interrupted { failure, attempts } => {
                let mut all = attempts.clone();
                all.push(failure.clone());
                all
            }
        }
    }
}

fn list(attempts: &[AttemptFailure]) -> String {
    attempts.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_causes_are_the_transient_ones() {
        let status = |status| FailureCause::Status {
            status,
            message: String::new(),
        };
        let table = [
            (status(429), true),
            (status(500), true),
            (status(503), true),
            (status(529), true),
            (status(408), true),
            (status(400), false),
            (status(401), false),
            (status(404), false),
            (
                FailureCause::Connect {
                    detail: "refused".into(),
                },
                true,
            ),
            (
                FailureCause::Timeout {
                    kind: TimeoutKind::Response,
                    after: Duration::from_secs(1),
                },
                false,
            ),
            (FailureCause::Malformed { detail: "x".into() }, false),
            (FailureCause::UnknownProvider, false),
        ];
        for (cause, retryable) in table {
            assert_eq!(cause.is_retryable(), retryable, "{cause:?}");
        }
    }

    #[test]
    fn no_model_answered_names_every_attempt() {
        let error = ProviderError::NoModelAnswered {
            attempts: vec![
                AttemptFailure {
                    provider: "openai".into(),
                    model: "gpt-4o".into(),
                    cause: FailureCause::Status {
                        status: 500,
                        message: "overloaded".into(),
                    },
                },
                AttemptFailure {
                    provider: "local".into(),
                    model: "llama".into(),
                    cause: FailureCause::Malformed {
                        detail: "expected value".into(),
                    },
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "no model answered: openai/gpt-4o: provider `openai` answered HTTP 500: overloaded; local/llama: \
             provider `local` returned a body that is not a chat completion: expected value"
        );
    }
}
