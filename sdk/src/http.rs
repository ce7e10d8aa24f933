//! Outbound HTTP through standard `wasi:http`, with secrets by placeholder.
//!
//! The gateway checks every request against the plugin's grant (host, resolved address, size,
//! time) and refuses what is not granted with [`HttpError::Denied`], whose message says why.
//!
//! Credentials never enter the plugin: put [`secret`]`("NAME")` where the value goes and the
//! gateway substitutes it, but only in the **slots** the manifest declares for that secret (and
//! the operator did not narrow away), on requests to the secret's hosts. A placeholder anywhere
//! else makes the gateway refuse the whole request before anything is sent, so a token bound to
//! `Authorization: Bearer {}` can never be posted as the text of a message. The slots:
//!
//! | manifest slot | how the request must carry the placeholder |
//! |---|---|
//! | `{ header = "Authorization", template = "Bearer {}" }` | `.header("authorization", &format!("Bearer {}", secret("T")))` |
//! | `{ url-prefix = "https://api.telegram.org/bot{}/" }` | `format!("https://api.telegram.org/bot{}/getMe", secret("T"))` |
//! | `{ query = "key" }` | `format!("https://api.example.com/v1?key={}", secret("T"))` (the whole value) |
//! | `{ form-field = "token" }` | a form body (`content-type: application/x-www-form-urlencoded`) with `token=<placeholder>` |
//! | `{ json-field = "/auth/token" }` | a JSON body (`content-type: application/json`) whose `auth.token` is the placeholder |
//!
//! The value is scrubbed from everything that comes back (response headers and body, in the
//! encodings a server would echo it in).
//!
//! ```no_run
//! use openclaw_plugin_sdk::http::{Request, secret};
//!
//! let response = Request::get("https://api.example.com/v1/me")
//!     .header("authorization", &format!("Bearer {}", secret("EXAMPLE_TOKEN")))
//!     .send()?;
//! let me: serde_json::Value = response.json()?;
//! # Ok::<(), openclaw_plugin_sdk::http::HttpError>(())
//! ```

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// How the gateway marks a refusal whose reason it passes on: `wasi:http`'s `http-request-denied`
/// has no room for a message, so a refusal arrives as `internal-error("denied: <reason>")`.
pub const DENIED_PREFIX: &str = "denied: ";

/// How the gateway marks a limit it reached for this plugin (the responses it holds would pass
/// its memory limit): `internal-error("limit exceeded: <reason>")`.
pub const LIMIT_PREFIX: &str = "limit exceeded: ";

/// The placeholder the gateway replaces with the secret `name`, in the slots the secret is bound
/// to (see the module docs) on requests to its hosts.
pub fn secret(name: &str) -> String {
    format!("{{{{secret:{name}}}}}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
        }
    }
}

/// An HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// `https://host[:port]/path?query` (`http://` for hosts granted as such).
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Time to wait for the first byte; the gateway caps it.
    pub timeout_ms: Option<u32>,
    /// Redirects followed before the 3xx response itself is returned (default 5; 0: none).
    /// Each one is a new request that the gateway checks against the grant again.
    pub max_redirects: u8,
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout_ms: None,
            max_redirects: 5,
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// A JSON body with `content-type: application/json`.
    pub fn json(self, value: &Value) -> Self {
        self.header("content-type", "application/json").body(value.to_string())
    }

    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    /// How many redirects to follow (0 returns the 3xx response as is).
    pub fn max_redirects(mut self, n: u8) -> Self {
        self.max_redirects = n;
        self
    }

    /// Sends the request through the gateway.
    pub fn send(&self) -> Result<Response, HttpError> {
        fetch(self)
    }
}

/// An HTTP response (the whole body, capped by the gateway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| HttpError::Failed(format!("the response is not the expected JSON: {e}")))
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request did not produce a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The gateway refused it (host not granted, private address, a secret outside its slots or
    /// hosts); the message says which.
    Denied(String),
    /// The URL or a header is malformed.
    Invalid(String),
    /// No answer in time.
    Timeout(String),
    /// The response was larger than the gateway's cap.
    TooLarge(String),
    /// The call's host-call budget is used up.
    LimitExceeded(String),
    /// Connection or protocol failure.
    Failed(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(m) => write!(f, "request denied: {m}"),
            Self::Invalid(m) => write!(f, "invalid request: {m}"),
            Self::Timeout(m) => write!(f, "timed out: {m}"),
            Self::TooLarge(m) => write!(f, "response too large: {m}"),
            Self::LimitExceeded(m) => write!(f, "limit exceeded: {m}"),
            Self::Failed(m) => write!(f, "request failed: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl HttpError {
    /// How the gateway's answer to `http.fetch` reads for a plugin (see the WIT: a cap on the
    /// response starts with "response too large", a timeout with "timed out").
    pub fn from_host(error: crate::HostError) -> Self {
        match error {
            crate::HostError::Denied(m) => Self::Denied(m),
            crate::HostError::Invalid(m) => Self::Invalid(m),
            crate::HostError::LimitExceeded(m) if m.starts_with("response too large") => Self::TooLarge(m),
            crate::HostError::LimitExceeded(m) => Self::LimitExceeded(m),
            crate::HostError::Failed(m) if m.starts_with("timed out") => Self::Timeout(m),
            crate::HostError::Failed(m) | crate::HostError::NotAvailable(m) => Self::Failed(m),
        }
    }
}

/// Sends `request` through the gateway, following redirects as browsers do: 303 (and 301/302
/// after a POST) turn into a GET without a body, 307/308 repeat the request. When a redirect
/// leaves the original scheme, host and port, credentials are not carried along: the
/// `authorization`, `cookie` and `proxy-authorization` headers and any header or body holding a
/// secret placeholder are dropped.
pub fn fetch(request: &Request) -> Result<Response, HttpError> {
    let mut current = request.clone();
    let mut redirects = 0u8;
    loop {
        let response = crate::host::with(|host| host.http_send(&current))?;
        let location = match response.status {
            301 | 302 | 303 | 307 | 308 => response.header("location").map(str::to_string),
            _ => None,
        };
        let Some(location) = location else {
            return Ok(response);
        };
        if redirects >= current.max_redirects {
            return Ok(response);
        }
        redirects += 1;
        current = redirected(&current, response.status, &location)?;
    }
}

fn origin(url: &UrlParts) -> (String, String) {
    (url.scheme.clone(), url.authority.to_ascii_lowercase())
}

/// The request to send after a `status` redirect to `location`.
pub(crate) fn redirected(previous: &Request, status: u16, location: &str) -> Result<Request, HttpError> {
    let base = split_url(&previous.url)?;
    let url = resolve_location(&base, location);
    let target = split_url(&url)?;
    let mut next = previous.clone();
    next.url = url;
    let to_get = status == 303 || ((status == 301 || status == 302) && previous.method == Method::Post);
    if to_get {
        next.method = if previous.method == Method::Head {
            Method::Head
        } else {
            Method::Get
        };
        next.body = None;
        next.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type") && !k.eq_ignore_ascii_case("content-length"));
    }
    if origin(&base) != origin(&target) {
        next.headers.retain(|(k, v)| {
            let k = k.to_ascii_lowercase();
            k != "authorization" && k != "cookie" && k != "proxy-authorization" && !v.contains("{{secret:")
        });
        if next
            .body
            .as_ref()
            .is_some_and(|b| b.windows(9).any(|w| w == b"{{secret:"))
        {
            next.body = None;
        }
    }
    Ok(next)
}

fn resolve_location(base: &UrlParts, location: &str) -> String {
    let location = location.trim();
    if location.contains("://") {
        return location.to_string();
    }
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{}://{rest}", base.scheme);
    }
    if location.starts_with('/') {
        return format!("{}://{}{location}", base.scheme, base.authority);
    }
    // Relative to the directory of the current path.
    let path = base.path_with_query.split('?').next().unwrap_or("/");
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{}://{}{dir}{location}", base.scheme, base.authority)
}

/// The parts of a URL `wasi:http` wants separately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlParts {
    pub scheme: String,
    pub authority: String,
    pub path_with_query: String,
}

pub(crate) fn split_url(url: &str) -> Result<UrlParts, HttpError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| HttpError::Invalid(format!("\"{url}\" has no scheme (https://...)")))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(HttpError::Invalid(format!("scheme \"{scheme}\" is not http or https")));
    }
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(HttpError::Invalid(format!(
            "\"{url}\" needs a host and must not carry credentials"
        )));
    }
    let path = path.split('#').next().unwrap_or("/");
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Ok(UrlParts {
        scheme,
        authority: authority.to_string(),
        path_with_query: if path.is_empty() { "/".into() } else { path },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts() {
        let p = split_url("https://api.example.com:8443/v1/x?y=1#frag").unwrap();
        assert_eq!(
            p,
            UrlParts {
                scheme: "https".into(),
                authority: "api.example.com:8443".into(),
                path_with_query: "/v1/x?y=1".into()
            }
        );
        assert_eq!(split_url("http://h").unwrap().path_with_query, "/");
        assert_eq!(split_url("http://h?q=1").unwrap().path_with_query, "/?q=1");
        assert!(split_url("ftp://h/").is_err());
        assert!(split_url("https://user:pw@h/").is_err());
        assert!(split_url("h/x").is_err());
    }

    #[test]
    fn redirects_drop_credentials_across_origins() {
        let request = Request::post("https://api.example.com/v1/upload")
            .header("authorization", &format!("Bearer {}", secret("TOKEN")))
            .header("x-trace", "1")
            .body("payload");
        let same = redirected(&request, 307, "/v2/upload").unwrap();
        assert_eq!(same.url, "https://api.example.com/v2/upload");
        assert_eq!(same.method, Method::Post);
        assert_eq!(same.headers.len(), 2);
        let other = redirected(&request, 302, "https://cdn.example.net/x").unwrap();
        assert_eq!(other.method, Method::Get);
        assert_eq!(other.body, None);
        assert_eq!(other.headers, [("x-trace".to_string(), "1".to_string())]);
        let relative = redirected(&Request::get("http://h:8080/a/b?q"), 301, "c").unwrap();
        assert_eq!(relative.url, "http://h:8080/a/c");
        let scheme_relative = redirected(&Request::get("https://h/a"), 308, "//g/z").unwrap();
        assert_eq!(scheme_relative.url, "https://g/z");
    }

    #[test]
    fn placeholder_shape() {
        assert_eq!(secret("API_TOKEN"), "{{secret:API_TOKEN}}");
    }
}
