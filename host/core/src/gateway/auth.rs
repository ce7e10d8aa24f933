//! Who may use the gateway: resolving the configured credential and checking what a client
//! presents.
//!
//! Precedence is OpenClaw's (server side, config first): `gateway.auth.token` else
//! `OPENCLAW_GATEWAY_TOKEN`, `gateway.auth.password` else `OPENCLAW_GATEWAY_PASSWORD`; the mode is
//! `gateway.auth.mode`, else `password` when only a password exists, else `token`. Secrets are
//! kept only as SHA-256 digests and compared in constant time, so neither the length nor a prefix
//! of the secret leaks through timing.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::schema::gateway::AuthMode;

/// Documentation placeholders that must never become a real credential. The gateway refuses
/// them beyond loopback (they are public) and warns about them on loopback.
pub const PLACEHOLDER_SECRETS: &[&str] = &[
    "replace-with-long-random-token",
    "your-long-random-token",
    "your-token",
    "your-secure-token-here",
    "change-me-to-a-long-random-token",
    "change-me-to-a-strong-password",
    "your-password",
    "secure_random_token",
    "...",
];

/// Whether `value` is one of the [`PLACEHOLDER_SECRETS`].
pub fn is_placeholder(value: &str) -> bool {
    PLACEHOLDER_SECRETS.contains(&value.trim())
}

/// A secret reduced to its digest; Debug shows nothing.
#[derive(Clone)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Constant-time comparison of `presented` against this secret.
    pub fn matches(&self, presented: &str) -> bool {
        let other: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(self.0.ct_eq(&other))
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

/// Where each credential came from, as the operator wrote it (values already resolved).
#[derive(Debug, Default, Clone, Copy)]
pub struct AuthSources<'a> {
    pub mode: Option<AuthMode>,
    pub config_token: Option<&'a str>,
    pub config_password: Option<&'a str>,
    pub env_token: Option<&'a str>,
    pub env_password: Option<&'a str>,
}

/// The credential the gateway checks.
#[derive(Debug, Clone)]
pub enum ResolvedAuth {
    /// Explicit `mode: "none"`: only for loopback binds, and only for clients that are
    /// genuinely local (no forwarding headers).
    None,
    Token(SecretDigest),
    Password(SecretDigest),
}

impl ResolvedAuth {
    pub fn mode_name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Token(_) => "token",
            Self::Password(_) => "password",
        }
    }

    /// A token or password protects the gateway.
    pub fn has_credential(&self) -> bool {
        !matches!(self, Self::None)
    }
}

/// Why the configured auth cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthProblem {
    /// Token mode (explicit or default) and no token anywhere: the caller may generate one on a
    /// loopback bind.
    TokenMissing,
    PasswordMissing,
    BothWithoutMode,
    Empty {
        field: &'static str,
    },
    TrustedProxyUnsupported,
}

impl fmt::Display for AuthProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TokenMissing => write!(
                f,
                "gateway auth mode is token, but no token is configured; set gateway.auth.token or OPENCLAW_GATEWAY_TOKEN (`openclaw doctor --generate-gateway-token` makes one)"
            ),
            Self::PasswordMissing => write!(
                f,
                "gateway auth mode is password, but no password is configured; set gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD"
            ),
            Self::BothWithoutMode => write!(
                f,
                "gateway.auth.token and gateway.auth.password are both configured, but gateway.auth.mode is unset; set gateway.auth.mode to token or password"
            ),
            Self::Empty { field } => write!(f, "gateway.auth.{field} is empty; set a real value or remove it"),
            Self::TrustedProxyUnsupported => write!(
                f,
                "gateway.auth.mode \"trusted-proxy\" is not supported by this gateway yet; use mode \"token\" or \"password\" (the proxy can forward the token)"
            ),
        }
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

fn usable(field: &'static str, value: Option<&str>) -> Result<Option<SecretDigest>, AuthProblem> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Err(AuthProblem::Empty { field }),
        Some(v) => Ok(Some(SecretDigest::of(v))),
    }
}

/// The field (`token` or `password`) whose resolved value is a documentation placeholder.
pub fn placeholder_in_use(sources: &AuthSources<'_>, auth: &ResolvedAuth) -> Option<&'static str> {
    let (field, config, env) = match auth {
        ResolvedAuth::None => return None,
        ResolvedAuth::Token(_) => ("token", sources.config_token, sources.env_token),
        ResolvedAuth::Password(_) => ("password", sources.config_password, sources.env_password),
    };
    config.or(env).filter(|v| is_placeholder(v)).map(|_| field)
}

/// Resolves the credential the server checks.
pub fn resolve_auth(sources: &AuthSources<'_>) -> Result<ResolvedAuth, AuthProblem> {
    // An empty env variable is treated as unset (a common shell accident), a configured empty
    // string as a mistake.
    let token = match sources.config_token {
        Some(v) => Some(v),
        None => non_empty(sources.env_token),
    };
    let password = match sources.config_password {
        Some(v) => Some(v),
        None => non_empty(sources.env_password),
    };
    let mode = match sources.mode {
        Some(mode) => mode,
        None if sources.config_token.is_some() && sources.config_password.is_some() => {
            return Err(AuthProblem::BothWithoutMode);
        }
        None if password.is_some() && token.is_none() => AuthMode::Password,
        None => AuthMode::Token,
    };
    match mode {
        AuthMode::None => Ok(ResolvedAuth::None),
        AuthMode::Token => usable("token", token)?
            .map(ResolvedAuth::Token)
            .ok_or(AuthProblem::TokenMissing),
        AuthMode::Password => usable("password", password)?
            .map(ResolvedAuth::Password)
            .ok_or(AuthProblem::PasswordMissing),
        AuthMode::TrustedProxy => Err(AuthProblem::TrustedProxyUnsupported),
    }
}

/// What a client presented.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    pub token: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// The outcome of checking a client. Only [`AuthOutcome::Mismatch`] counts against the rate
/// limit: a client that sent nothing has guessed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    Ok,
    Missing,
    Mismatch,
    /// Mode `none` and the client is not a direct local one.
    NotLocal,
}

impl AuthOutcome {
    /// OpenClaw's `details.code` for the connect error.
    pub fn code(self, auth: &ResolvedAuth) -> &'static str {
        match (self, auth) {
            (Self::Ok, _) => "OK",
            (Self::Missing, ResolvedAuth::Password(_)) => "AUTH_PASSWORD_MISSING",
            (Self::Missing, _) => "AUTH_TOKEN_MISSING",
            (Self::Mismatch, ResolvedAuth::Password(_)) => "AUTH_PASSWORD_MISMATCH",
            (Self::Mismatch, _) => "AUTH_TOKEN_MISMATCH",
            (Self::NotLocal, _) => "AUTH_REQUIRED",
        }
    }
}

/// Checks `presented` against `auth`. `local_direct` is true only for a loopback peer that sent
/// no forwarding headers; it matters only for mode `none`.
pub fn authorize(auth: &ResolvedAuth, presented: &Presented<'_>, local_direct: bool) -> AuthOutcome {
    let (expected, value) = match auth {
        ResolvedAuth::None => {
            return if local_direct {
                AuthOutcome::Ok
            } else {
                AuthOutcome::NotLocal
            };
        }
        ResolvedAuth::Token(digest) => (digest, presented.token),
        ResolvedAuth::Password(digest) => (digest, presented.password),
    };
    match value {
        None => AuthOutcome::Missing,
        Some("") => AuthOutcome::Missing,
        Some(v) if expected.matches(v) => AuthOutcome::Ok,
        Some(_) => AuthOutcome::Mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources<'a>(
        mode: Option<AuthMode>,
        token: Option<&'a str>,
        password: Option<&'a str>,
        env_token: Option<&'a str>,
        env_password: Option<&'a str>,
    ) -> AuthSources<'a> {
        AuthSources {
            mode,
            config_token: token,
            config_password: password,
            env_token,
            env_password,
        }
    }

    const T: &str = "0123456789abcdef0123456789abcdef";
    const P: &str = "a long and strong password";

    #[test]
    fn mode_and_source_precedence() {
        let cases: &[(AuthSources<'_>, Result<&str, AuthProblem>)] = &[
            (sources(None, Some(T), None, None, None), Ok("token")),
            (sources(None, None, Some(P), None, None), Ok("password")),
            (sources(None, None, None, Some(T), None), Ok("token")),
            (sources(None, None, None, None, Some(P)), Ok("password")),
            (sources(None, None, None, Some(T), Some(P)), Ok("token")),
            (
                sources(None, Some(T), Some(P), None, None),
                Err(AuthProblem::BothWithoutMode),
            ),
            (
                sources(Some(AuthMode::Password), Some(T), Some(P), None, None),
                Ok("password"),
            ),
            (
                sources(Some(AuthMode::Token), None, Some(P), None, None),
                Err(AuthProblem::TokenMissing),
            ),
            (sources(None, None, None, None, None), Err(AuthProblem::TokenMissing)),
            (
                sources(None, None, None, Some(""), None),
                Err(AuthProblem::TokenMissing),
            ),
            (
                sources(Some(AuthMode::Password), None, None, None, None),
                Err(AuthProblem::PasswordMissing),
            ),
            (sources(Some(AuthMode::None), None, None, None, None), Ok("none")),
            (
                sources(None, Some("replace-with-long-random-token"), None, None, None),
                Ok("token"),
            ),
            (
                sources(None, Some("  "), None, None, None),
                Err(AuthProblem::Empty { field: "token" }),
            ),
            (
                sources(Some(AuthMode::TrustedProxy), None, None, None, None),
                Err(AuthProblem::TrustedProxyUnsupported),
            ),
        ];
        for (input, want) in cases {
            let got = resolve_auth(input).map(|a| a.mode_name());
            assert_eq!(got, want.clone(), "{input:?}");
        }
    }

    #[test]
    fn config_wins_over_env() {
        let auth = resolve_auth(&sources(None, Some(T), None, Some("other-token-from-the-env-xx"), None)).unwrap();
        assert_eq!(
            authorize(
                &auth,
                &Presented {
                    token: Some(T),
                    password: None
                },
                false
            ),
            AuthOutcome::Ok
        );
        assert_eq!(
            authorize(
                &auth,
                &Presented {
                    token: Some("other-token-from-the-env-xx"),
                    password: None
                },
                false
            ),
            AuthOutcome::Mismatch
        );
    }

    #[test]
    fn presented_credentials() {
        let token = resolve_auth(&sources(None, Some(T), None, None, None)).unwrap();
        let password = resolve_auth(&sources(None, None, Some(P), None, None)).unwrap();
        let none = resolve_auth(&sources(Some(AuthMode::None), None, None, None, None)).unwrap();
        let p = |token, password| Presented { token, password };
        assert_eq!(authorize(&token, &p(Some(T), None), false), AuthOutcome::Ok);
        assert_eq!(authorize(&token, &p(None, None), false), AuthOutcome::Missing);
        assert_eq!(authorize(&token, &p(Some(""), None), false), AuthOutcome::Missing);
        assert_eq!(authorize(&token, &p(Some("x"), None), false), AuthOutcome::Mismatch);
        assert_eq!(
            authorize(&token, &p(Some(&T[..31]), None), false),
            AuthOutcome::Mismatch
        );
        // A token is not a password and vice versa.
        assert_eq!(authorize(&token, &p(None, Some(T)), false), AuthOutcome::Missing);
        assert_eq!(authorize(&password, &p(None, Some(P)), false), AuthOutcome::Ok);
        assert_eq!(authorize(&password, &p(Some(P), None), false), AuthOutcome::Missing);
        assert_eq!(authorize(&none, &p(None, None), true), AuthOutcome::Ok);
        assert_eq!(authorize(&none, &p(None, None), false), AuthOutcome::NotLocal);
        assert_eq!(AuthOutcome::Mismatch.code(&password), "AUTH_PASSWORD_MISMATCH");
        assert_eq!(AuthOutcome::Missing.code(&token), "AUTH_TOKEN_MISSING");
    }

    #[test]
    fn placeholders_are_flagged() {
        let input = sources(None, Some("replace-with-long-random-token"), None, None, None);
        let auth = resolve_auth(&input).unwrap();
        assert_eq!(placeholder_in_use(&input, &auth), Some("token"));
        let input = sources(None, None, None, None, Some("your-password"));
        let auth = resolve_auth(&input).unwrap();
        assert_eq!(placeholder_in_use(&input, &auth), Some("password"));
        let input = sources(None, Some(T), None, None, None);
        let auth = resolve_auth(&input).unwrap();
        assert_eq!(placeholder_in_use(&input, &auth), None);
    }

    #[test]
    fn digests_never_print() {
        let auth = resolve_auth(&sources(None, Some(T), None, None, None)).unwrap();
        assert!(!format!("{auth:?}").contains(T));
    }
}
