//! A connection to one Docker engine, with the API version agreed with the daemon (an older
//! daemon such as 20.10 speaks 1.41; the client must not assume its own newest version).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use bollard::Docker;

use crate::endpoint::EngineEndpoint;
use crate::error::SandboxError;

/// Long enough for any single request; exec deadlines are enforced by the manager itself.
const CLIENT_TIMEOUT_SECS: u64 = 3600;
/// How long connecting may take before the engine counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: EngineEndpoint,
}

impl Engine {
    /// Connects, negotiates the API version and pings. Any failure is `Unreachable`, naming the
    /// endpoint and the fix, so a required sandbox fails closed.
    pub async fn connect(endpoint: EngineEndpoint) -> Result<Self, SandboxError> {
        let unreachable = |cause: String| SandboxError::Unreachable {
            endpoint: endpoint.to_string(),
            cause,
        };
        let client = match &endpoint {
            EngineEndpoint::Unix(path) => Docker::connect_with_unix(
                &path.display().to_string(),
                CLIENT_TIMEOUT_SECS,
                bollard::API_DEFAULT_VERSION,
            ),
            EngineEndpoint::Tcp { address } => {
                Docker::connect_with_http(address, CLIENT_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            }
            EngineEndpoint::Tls { address, ca, cert, key } => {
                for (what, path) in [("ca.pem", ca), ("cert.pem", cert), ("key.pem", key)] {
                    if !path.is_file() {
                        return Err(SandboxError::Endpoint {
                            reason: format!("DOCKER_TLS_VERIFY is set but {what} is missing at {}", path.display()),
                            fix: "point DOCKER_CERT_PATH at the directory with ca.pem, cert.pem and key.pem".into(),
                        });
                    }
                }
                Docker::connect_with_ssl(
                    address,
                    key,
                    cert,
                    ca,
                    CLIENT_TIMEOUT_SECS,
                    bollard::API_DEFAULT_VERSION,
                )
            }
        }
        .map_err(|e| unreachable(with_causes(&e)))?;
        let negotiated = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let docker = client.negotiate_version().await?;
            docker.ping().await?;
            Ok::<_, bollard::errors::Error>(docker)
        })
        .await
        .map_err(|_| unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| unreachable(with_causes(&e)))?;
        Ok(Self {
            docker: negotiated,
            endpoint,
        })
    }

    /// `EngineEndpoint::from_env` then `connect`.
    pub async fn connect_with_env(env: &BTreeMap<String, String>, home: Option<&Path>) -> Result<Self, SandboxError> {
        Self::connect(EngineEndpoint::from_env(env, home)?).await
    }

    pub fn endpoint(&self) -> &EngineEndpoint {
        &self.endpoint
    }

    /// The API version agreed with the daemon, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        self.docker.client_version().to_string()
    }

    /// The raw client, for callers (tests, benchmarks) that need an API this crate does not wrap.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }
}

/// bollard says only "client error (Connect)" when the connection fails; the reason (refused,
/// an unknown issuer, a certificate the engine would not take) is further down the source chain.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// 404 from the engine: the named object does not exist.
pub(crate) fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }
    )
}

/// 404 from a create: the image is not on the engine (a missing network is a 404 too, with
/// another message).
pub(crate) fn is_missing_image(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError { status_code: 404, message }
            if message.to_ascii_lowercase().contains("image")
    )
}

/// 409 from the engine: a container with that name already exists.
pub(crate) fn is_conflict(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }
    )
}
