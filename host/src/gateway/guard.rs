//! The one place HTTP and WebSocket requests are authenticated: who the client is (through
//! trusted proxies), whether it is locked out, and whether its credential matches.

use std::net::SocketAddr;
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use openclaw_core::gateway::auth::{AuthOutcome, Presented, ResolvedAuth, authorize};
use openclaw_core::gateway::client::{ClientAddr, ForwardingHeaders, TrustedProxies, resolve_client};
use openclaw_core::gateway::rate_limit::{Locked, RateLimitSettings, RateLimiter};
use openclaw_core::security::SECURITY_TARGET;

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    Locked(Locked),
    Unauthorized(AuthOutcome),
}

pub struct Guard {
    /// Replaced by `secrets reload` when gateway.auth.token or .password is a SecretRef; each
    /// check reads it once, so a new credential is required from the next request on.
    auth: RwLock<ResolvedAuth>,
    trusted: TrustedProxies,
    allow_real_ip_fallback: bool,
    limiter: Mutex<RateLimiter>,
}

fn header_values<'h>(headers: &'h HeaderMap, name: &str) -> impl Iterator<Item = &'h str> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok())
}

impl Guard {
    pub fn new(
        auth: ResolvedAuth,
        trusted: TrustedProxies,
        allow_real_ip_fallback: bool,
        limits: RateLimitSettings,
    ) -> Self {
        Self {
            auth: RwLock::new(auth),
            trusted,
            allow_real_ip_fallback,
            limiter: Mutex::new(RateLimiter::new(limits)),
        }
    }

    /// The credential checked now.
    pub fn auth(&self) -> ResolvedAuth {
        // Replaced whole under the lock, so a poisoned lock still holds a complete value.
        self.auth
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Puts a re-resolved credential in force (`secrets reload`).
    pub fn set_auth(&self, auth: ResolvedAuth) {
        *self.auth.write().unwrap_or_else(std::sync::PoisonError::into_inner) = auth;
    }

    pub fn limits(&self) -> RateLimitSettings {
        self.with_limiter(|l| l.settings())
    }

    fn with_limiter<T>(&self, f: impl FnOnce(&mut RateLimiter) -> T) -> T {
        // A panic while holding the lock cannot leave the limiter half-updated in a way that
        // opens it, so a poisoned lock is still used.
        let mut guard = self.limiter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Who sent a request arriving from `peer` with `headers`.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> ClientAddr {
        let forwarded = ForwardingHeaders {
            forwarded_for: header_values(headers, "x-forwarded-for").collect(),
            real_ip: header_values(headers, "x-real-ip").next(),
            other_forwarding: ["forwarded", "x-forwarded-proto", "x-forwarded-host"]
                .iter()
                .any(|h| headers.contains_key(*h)),
        };
        resolve_client(peer.ip(), &forwarded, &self.trusted, self.allow_real_ip_fallback)
    }

    /// Checks `presented` for `client`, counting a wrong credential against it.
    pub fn admit(&self, client: &ClientAddr, presented: &Presented<'_>) -> Result<(), Denied> {
        let key = client.rate_key();
        let loopback = client.client.unwrap_or(client.peer).is_loopback();
        let now = Instant::now();
        let auth = self.auth();
        let outcome = self.with_limiter(|limiter| {
            limiter.check(&key, loopback, now).map_err(Denied::Locked)?;
            match authorize(&auth, presented, client.local_direct) {
                AuthOutcome::Ok => {
                    limiter.record_success(&key);
                    Ok(())
                }
                AuthOutcome::Mismatch => {
                    limiter.record_failure(&key, loopback, now);
                    Err(Denied::Unauthorized(AuthOutcome::Mismatch))
                }
                other => Err(Denied::Unauthorized(other)),
            }
        });
        // Security events: the log keeps them past its cap (see `logging`).
        match &outcome {
            Err(Denied::Unauthorized(AuthOutcome::Mismatch)) => {
                tracing::warn!(target: SECURITY_TARGET, event = "auth-failed", client = %key, "authentication failed: the credential does not match");
            }
            Err(Denied::Locked(locked)) => {
                tracing::warn!(
                    target: SECURITY_TARGET,
                    event = "auth-locked",
                    client = %key,
                    "authentication refused: too many failures, locked for {} s",
                    locked.retry_after_secs()
                );
            }
            _ => {}
        }
        outcome
    }

    /// Drops stale limiter entries (called periodically).
    pub fn prune(&self) {
        self.with_limiter(|l| l.prune(Instant::now()));
    }
}

/// What an HTTP request presents: `Authorization: Bearer <secret>` (tried as the token or the
/// password, whichever mode is active) or `Basic` (its password part).
pub struct HttpCredential(Option<String>, Option<String>);

impl HttpCredential {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return Self(None, None);
        };
        let value = value.trim();
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            Self(Some(rest.to_string()), Some(rest.to_string()))
        } else if scheme.eq_ignore_ascii_case("basic") {
            let password = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_string()));
            Self(None, password)
        } else {
            Self(None, None)
        }
    }

    pub fn presented(&self) -> Presented<'_> {
        Presented {
            token: self.0.as_deref(),
            password: self.1.as_deref(),
        }
    }
}
