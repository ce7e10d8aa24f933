//! Errors that name the cause and the fix.

use std::time::Duration;

/// Everything that can stop a sandboxed tool call. Every variant fails closed: the caller must
/// not fall back to running the command on the host.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "sandbox required but Docker is unreachable at {endpoint} ({cause}): start Docker or set agents.defaults.sandbox.mode off"
    )]
    Unreachable { endpoint: String, cause: String },

    #[error("the Docker endpoint is not usable: {reason}; {fix}")]
    Endpoint { reason: String, fix: String },

    #[error(
        "sandbox image {image} is missing on the Docker engine at {endpoint}: build it with `docker build -t {image} host/sandbox/image` (nothing is pulled), or set agents.defaults.sandbox.docker.image"
    )]
    ImageMissing { image: String, endpoint: String },

    #[error("sandbox config is not usable: {field}: {reason}")]
    Spec { field: String, reason: String },

    #[error("exec request refused: {0}")]
    BadRequest(String),

    #[error("sandbox setup command failed in {container} (exit {exit_code:?}): {stderr}")]
    SetupFailed {
        container: String,
        exit_code: Option<i64>,
        stderr: String,
    },

    #[error("the Docker engine refused {action} for {container}: {cause}")]
    Engine {
        action: &'static str,
        container: String,
        cause: String,
    },

    #[error("sandbox container {container} is gone or stopped: it is recreated on the next call")]
    NotRunning { container: String },

    #[error("the exec in {container} did not stop within {waited:?} after it was killed")]
    KillFailed { container: String, waited: Duration },

    #[error("sandbox registry {path}: {cause}; {fix}")]
    Registry {
        path: String,
        cause: String,
        fix: &'static str,
    },
}

impl SandboxError {
    /// A stable code for logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "docker_unreachable",
            Self::Endpoint { .. } => "docker_endpoint",
            Self::ImageMissing { .. } => "image_missing",
            Self::Spec { .. } => "bad_spec",
            Self::BadRequest(_) => "bad_request",
            Self::SetupFailed { .. } => "setup_failed",
            Self::Engine { .. } => "engine",
            Self::KillFailed { .. } => "kill_failed",
            Self::NotRunning { .. } => "not_running",
            Self::Registry { .. } => "registry",
        }
    }

    pub(crate) fn engine(action: &'static str, container: &str, err: impl std::fmt::Display) -> Self {
        Self::Engine {
            action,
            container: container.to_string(),
            cause: err.to_string(),
        }
    }
}
