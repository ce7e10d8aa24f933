//! Helpers shared by the runtime and end-to-end tests: building real guest components and
//! running local HTTP servers that stand in for the internet.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;

pub mod model_server;
pub mod telegram_server;

/// The workspace root (where `Cargo.toml` with `[workspace]` lives).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where guests are built: a `guests` directory inside the build directory, so host and guest
/// builds never fight over one lock and CI's kept build directory caches both.
pub fn guest_target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("guests")
}

static BUILT: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();

/// Builds workspace package `package` for `wasm32-wasip2` in release mode (once per test
/// process; cargo's own lock serialises concurrent test binaries) and returns the component.
pub fn build_guest(package: &str) -> PathBuf {
    let built = BUILT.get_or_init(|| Mutex::new(BTreeMap::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(package) {
        return path.clone();
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = guest_target_dir();
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            package,
            "--target-dir",
        ])
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build guest {package}: {e}"));
    assert!(
        output.status.success(),
        "building guest {package} failed (is the wasm32-wasip2 target installed? `rustup target add wasm32-wasip2`):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = target_dir
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(
        path.is_file(),
        "cargo built {package} but {} is missing",
        path.display()
    );
    built.insert(package.to_string(), path.clone());
    path
}

/// The manifest of the `hostile-tool` guest allowed to call `host` (a test server) and to send
/// the secret `API_TOKEN` there as a bearer token; `extra` is appended (more secrets, ...).
pub fn hostile_tool_manifest(host: &str, extra: &str) -> String {
    format!(
        "id = \"hostile\"\nversion = \"0.1.0\"\napi = \"0.1.0\"\nkind = \"tool\"\n[component]\nfile = \"hostile_tool.wasm\"\n\
         [capabilities]\nhttp = [\"{host}\"]\nprivate-network = true\n\
         [[capabilities.secrets]]\nname = \"API_TOKEN\"\nhosts = [\"{host}\"]\nslots = [{{ header = \"Authorization\", template = \"Bearer {{}}\" }}]\n{extra}"
    )
}

/// A plugin directory holding `manifest` and the built component of `package` (under the file
/// name the manifest gives), plus optional extra files.
pub fn plugin_dir(package: &str, manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let component = build_guest(package);
    let file = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("file = "))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| format!("{}.wasm", package.replace('-', "_")));
    std::fs::copy(&component, dir.path().join(file)).unwrap_or_else(|e| panic!("copy component: {e}"));
    std::fs::write(dir.path().join("openclaw-plugin.toml"), manifest).unwrap_or_else(|e| panic!("write manifest: {e}"));
    dir
}

/// A local HTTP server standing in for remote APIs. Every request it receives is recorded, so a
/// test can prove a refused request never reached it.
///
/// Besides the generic routes it speaks a tiny "inbox" chat API (`/inbox/updates?offset=N`,
/// `POST /inbox/send`) for channel tests; it requires `authorization: Bearer <inbox token>`.
pub struct TestServer {
    pub addr: SocketAddr,
    state: ServerState,
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Received {
    /// Whether `needle` appears anywhere in the request: URI, header names and values, body.
    pub fn contains(&self, needle: &str) -> bool {
        let needle = needle.as_bytes();
        let has = |hay: &[u8]| hay.windows(needle.len().max(1)).any(|w| w == needle);
        has(self.uri.as_bytes()) || self.headers.iter().any(|(k, v)| has(k.as_bytes()) || has(v)) || has(&self.body)
    }
}

/// `value` percent-encoded, keeping alphanumerics and `keep`; `plus` writes a space as `+`.
fn percent_encode(value: &str, keep: &str, lower: bool, plus: bool) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || keep.as_bytes().contains(&b) {
            out.push(b as char);
        } else if b == b' ' && plus {
            out.push('+');
        } else if lower {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The spellings `/reflect?as=<form>` can give a value: what common encoders write.
pub const REFLECT_FORMS: &[&str] = &[
    "raw",
    "python-quote",
    "python-quote-plus",
    "js-encode-uri-component",
    "js-encode-uri",
    "form",
    "percent-lower",
    "json",
    "json-escaped-slash",
    "json-all-u",
    "html-entities",
    "base64",
    "base64-basic-auth",
    "base64url",
    "header-value",
    "header-name",
];

fn reflect(form: &str, value: &str) -> Response {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let body = match form {
        "raw" => value.to_string(),
        "python-quote" => percent_encode(value, "_.-~/", false, false),
        "python-quote-plus" => percent_encode(value, "_.-~", false, true),
        "js-encode-uri-component" => percent_encode(value, "-_.!~*'()", false, false),
        "js-encode-uri" => percent_encode(value, "-_.!~*'();/?:@&=+$,#", false, false),
        "form" => percent_encode(value, "*-._", false, true),
        "percent-lower" => percent_encode(value, "", true, false),
        "json" => serde_json::json!({ "echo": value }).to_string(),
        "json-escaped-slash" => format!("{{\"echo\": \"{}\"}}", value.replace('/', "\\/")),
        "json-all-u" => value.encode_utf16().map(|u| format!("\\u{u:04x}")).collect(),
        "html-entities" => value.chars().map(|c| format!("&#{};", c as u32)).collect(),
        "base64" => STANDARD.encode(value),
        "base64-basic-auth" => STANDARD.encode(format!("user:{value}")),
        "base64url" => URL_SAFE_NO_PAD.encode(value),
        "header-value" => {
            let mut response = "see headers".into_response();
            if let Ok(v) = HeaderValue::from_str(&percent_encode(value, "-_.~", false, false)) {
                response.headers_mut().insert("x-reflected", v);
            }
            return response;
        }
        "header-name" => {
            let mut response = "see headers".into_response();
            if let Ok(name) = axum::http::HeaderName::from_bytes(format!("x-{value}").as_bytes()) {
                response.headers_mut().insert(name, HeaderValue::from_static("1"));
            }
            return response;
        }
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    body.into_response()
}

#[derive(Clone, Default)]
struct ServerState {
    received: Arc<Mutex<Vec<Received>>>,
    hits: Arc<Mutex<Vec<String>>>,
    inbox: Arc<Mutex<Vec<serde_json::Value>>>,
    sent: Arc<Mutex<Vec<serde_json::Value>>>,
    inbox_token: Arc<Mutex<Option<String>>>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    max_in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a request as in flight for as long as it lives.
struct InFlight(ServerState);

impl InFlight {
    fn start(state: &ServerState) -> Self {
        use std::sync::atomic::Ordering;
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn inbox(
    state: &ServerState,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let expected = state
        .inbox_token
        .lock()
        .ok()
        .and_then(|t| t.clone())
        .unwrap_or_default();
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if presented != format!("Bearer {expected}") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match path {
        "/inbox/updates" => {
            let offset: u64 = query.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
            let messages = state.inbox.lock().map(|m| m.clone()).unwrap_or_default();
            let pending: Vec<_> = messages
                .into_iter()
                .filter(|m| m["id"].as_u64().is_some_and(|id| id >= offset))
                .collect();
            axum::Json(pending).into_response()
        }
        "/inbox/send" => {
            let message: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let mut sent = match state.sent.lock() {
                Ok(sent) => sent,
                Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            };
            sent.push(message);
            axum::Json(serde_json::json!({"id": format!("m{}", sent.len())})).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn handle(
    State(state): State<ServerState>,
    Query(query): Query<BTreeMap<String, String>>,
    request: Request,
) -> Response {
    let _in_flight = InFlight::start(&state);
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let path = parts.uri.path().to_string();
    if let Ok(mut hits) = state.hits.lock() {
        hits.push(format!("{} {}", parts.method, parts.uri));
    }
    if let Ok(mut received) = state.received.lock() {
        received.push(Received {
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
            body: body.to_vec(),
        });
    }
    let headers_json = |headers: &HeaderMap| {
        headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                )
            })
            .collect::<serde_json::Map<_, _>>()
    };
    if path.starts_with("/inbox/") {
        return inbox(&state, &path, &query, &parts.headers, &body);
    }
    match path.as_str() {
        "/hello" => "hello from the test server".into_response(),
        "/echo" => axum::Json(serde_json::json!({
            "method": parts.method.to_string(),
            "uri": parts.uri.to_string(),
            "headers": headers_json(&parts.headers),
            "body": String::from_utf8_lossy(&body),
        }))
        .into_response(),
        "/echo-base64" => {
            let auth = parts
                .headers
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes().to_vec())
                .unwrap_or_default();
            let token = auth.strip_prefix(b"Bearer ").unwrap_or(&auth).to_vec();
            base64::engine::general_purpose::STANDARD.encode(token).into_response()
        }
        "/echo-header" => {
            let mut response = "see headers".into_response();
            if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
                response.headers_mut().insert("x-reflected", auth.clone());
            }
            response
        }
        "/redirect" => {
            let status = query.get("status").and_then(|s| s.parse().ok()).unwrap_or(302);
            let to = query.get("to").cloned().unwrap_or_default();
            let mut response = StatusCode::from_u16(status)
                .unwrap_or(StatusCode::FOUND)
                .into_response();
            if let Ok(location) = HeaderValue::from_str(&to) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        "/big" => {
            let n = query.get("bytes").and_then(|s| s.parse().ok()).unwrap_or(1024usize);
            vec![b'x'; n].into_response()
        }
        "/slow" => {
            let ms = query.get("ms").and_then(|s| s.parse().ok()).unwrap_or(1000u64);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            "finally".into_response()
        }
        "/reflect" => {
            // The secret comes from `Authorization: Bearer <v>` or `?key=<v>`.
            let from_header = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_string);
            let value = from_header.or_else(|| query.get("key").cloned()).unwrap_or_default();
            reflect(query.get("as").map_or("raw", String::as_str), &value)
        }
        "/multi-encoding" => {
            // Two content-encoding headers: a checker that reads only the first sees identity.
            let mut response = "not really compressed".into_response();
            response
                .headers_mut()
                .append(header::CONTENT_ENCODING, HeaderValue::from_static("identity"));
            response
                .headers_mut()
                .append(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response
        }
        "/gzip" => {
            let mut response = serde_json::json!({"headers": headers_json(&parts.headers)})
                .to_string()
                .into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

impl TestServer {
    /// Starts the server on 127.0.0.1 with an ephemeral port, on the current tokio runtime.
    pub async fn start() -> Self {
        let state = ServerState::default();
        let app = Router::new().fallback(any(handle)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind test server: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("local_addr: {e}"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state }
    }

    /// Sets the token the inbox API requires.
    pub fn set_inbox_token(&self, token: &str) {
        if let Ok(mut t) = self.state.inbox_token.lock() {
            *t = Some(token.to_string());
        }
    }

    /// Queues an inbox message from `from` (ids count up from 1).
    pub fn push_inbox(&self, from: &str, text: &str) {
        if let Ok(mut inbox) = self.state.inbox.lock() {
            let id = inbox.len() as u64 + 1;
            inbox.push(serde_json::json!({"id": id, "from": from, "chat": from, "text": text}));
        }
    }

    /// Messages posted to `/inbox/send`.
    pub fn sent(&self) -> Vec<serde_json::Value> {
        self.state.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `127.0.0.1:<port>`, as a grant names it.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// The most requests that were being handled at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every request received so far, in full.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Requests received so far (`METHOD /path?query`).
    pub fn hits(&self) -> Vec<String> {
        self.state.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }
}
