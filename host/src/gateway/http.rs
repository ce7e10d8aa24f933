//! HTTP routes on the gateway's port: `/health` (open, says nothing but "alive"),
//! `/tools/invoke` (authenticated), `/webhooks/<plugin>` (verified by the channel's manifest
//! recipe, not by the operator credential), and the WebSocket upgrade at `/` and `/ws`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use openclaw_core::gateway::auth::{AuthOutcome, ResolvedAuth};
use openclaw_core::routing::session_key::SessionKey;
use openclaw_runtime::{CallError, WebhookRequest};
use serde_json::{Value, json};

use super::Gateway;
use super::guard::{Denied, HttpCredential};
use super::serve::Admission;
use crate::state::ids::random_hex;
use crate::tools::dispatch::{CallOrigin, Refusal, ToolOutcome, Transport};

/// Largest request body accepted (tool arguments, webhook payloads).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn router(gateway: Arc<Gateway>) -> Router {
    let admit = axum::middleware::from_fn_with_state(gateway.clone(), super::front::admit);
    let read_body = axum::middleware::from_fn_with_state(gateway.clone(), super::front::read_body);
    let secure_headers = axum::middleware::from_fn_with_state(gateway.clone(), super::front::secure_headers);
    Router::new()
        .route("/health", get(health))
        .route("/tools/invoke", post(tools_invoke))
        .route("/v1/chat/completions", post(super::openai::chat_completions))
        .route("/v1/models", get(super::openai::models))
        .route("/webhooks/{plugin}", any(webhook_route))
        .route("/webhooks/{plugin}/{*rest}", any(webhook_route))
        .route("/", get(super::ws::upgrade))
        .route("/ws", get(super::ws::upgrade))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(read_body)
        .layer(admit)
        .layer(secure_headers)
        .with_state(gateway)
}

pub(super) fn error_body(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"ok": false, "error": {"type": kind, "message": message}})),
    )
        .into_response()
}

async fn not_found() -> Response {
    error_body(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn health() -> Response {
    axum::Json(json!({"ok": true})).into_response()
}

/// The answer to a request that was not admitted.
pub fn denied_response(denied: Denied, auth: &ResolvedAuth) -> Response {
    match denied {
        Denied::Locked(locked) => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({"error": {
                    "message": "Too many failed authentication attempts. Please try again later.",
                    "type": "rate_limited",
                }})),
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&locked.retry_after_secs().to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Denied::Unauthorized(AuthOutcome::NotLocal) => error_body(
            StatusCode::FORBIDDEN,
            "forbidden",
            "gateway auth mode is none, which admits only direct local clients (no proxy headers); configure gateway.auth.token",
        ),
        Denied::Unauthorized(_) => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": {"message": "Unauthorized", "type": "unauthorized"}})),
            )
                .into_response();
            let challenge = match auth {
                ResolvedAuth::Password(_) => "Bearer realm=\"openclaw\", Basic realm=\"openclaw\"",
                _ => "Bearer realm=\"openclaw\"",
            };
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            response
        }
    }
}

pub(super) fn authenticate(gateway: &Gateway, peer: SocketAddr, headers: &HeaderMap) -> Result<(), Denied> {
    let client = gateway.guard.client(peer, headers);
    let credential = HttpCredential::from_headers(headers);
    gateway.guard.admit(&client, &credential.presented())
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvokeRequest {
    tool: String,
    #[serde(default)]
    args: Option<Value>,
    #[serde(default)]
    session_key: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

async fn tools_invoke(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    admission: Option<Extension<Arc<Admission>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(denied) = authenticate(&gateway, peer, &headers) {
        return denied_response(denied, &gateway.guard.auth());
    }
    if let Some(Extension(admission)) = admission {
        admission.authenticated();
    }
    let request: InvokeRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("the body must be JSON {{\"tool\": \"<name>\", \"args\": {{...}}}}: {e}"),
            );
        }
    };
    let args = request.args.unwrap_or_else(|| json!({}));
    if !args.is_object() {
        return error_body(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`args` must be a JSON object",
        );
    }
    let dispatcher = gateway.dispatcher();
    let default_agent = gateway.agents.default_agent_id();
    let key = match request.session_key.as_deref() {
        Some(text) => match SessionKey::parse(text, &default_agent) {
            Ok(key) => key,
            Err(e) => return error_body(StatusCode::BAD_REQUEST, "invalid_request", &format!("sessionKey: {e}")),
        },
        None => SessionKey::main(&default_agent),
    };
    if !gateway.agents.knows_agent(key.agent_id()) {
        return error_body(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("sessionKey: agent `{}` is not configured (agents.list)", key.agent_id()),
        );
    }
    let origin = CallOrigin::new(key, Transport::Http);
    if request.dry_run {
        return match dispatcher.gate(&origin, &request.tool) {
            Ok((name, _)) => axum::Json(json!({"ok": true, "dryRun": true, "tool": name})).into_response(),
            Err(refusal) => refusal_response(&refusal),
        };
    }
    let call_id = format!("http-{}", uuid_like());
    match dispatcher.call(&origin, &request.tool, args, &call_id).await {
        ToolOutcome::Done(output) => {
            let result = serde_json::from_str::<Value>(&output).unwrap_or(Value::String(output));
            axum::Json(json!({"ok": true, "result": result})).into_response()
        }
        ToolOutcome::Refused(refusal) => refusal_response(&refusal),
        ToolOutcome::Failed(message) => error_body(StatusCode::BAD_GATEWAY, "tool_error", &message),
    }
}

fn refusal_response(refusal: &Refusal) -> Response {
    match refusal {
        Refusal::Denied(message) => error_body(StatusCode::FORBIDDEN, "forbidden", message),
        Refusal::Unavailable(message) => error_body(StatusCode::NOT_FOUND, "not_found", message),
    }
}

/// A random id for calls (16 hex characters from the OS CSPRNG).
pub fn uuid_like() -> String {
    random_hex(8).unwrap_or_else(|_| {
        // Ids only label logs; a clock-based fallback is fine.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{nanos:016x}")
    })
}

async fn webhook_route(
    State(gateway): State<Arc<Gateway>>,
    Path(params): Path<Vec<(String, String)>>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    admission: Option<Extension<Arc<Admission>>>,
    body: Bytes,
) -> Response {
    let plugin_id = params
        .iter()
        .find(|(k, _)| k == "plugin")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let rest = params
        .iter()
        .find(|(k, _)| k == "rest")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let Some((channel, rest)) = gateway.plugins.webhook_target(plugin_id, rest) else {
        return not_found().await;
    };
    // Fail closed: a channel without a verification recipe has no webhook route.
    if !matches!(channel.instance.webhook_ready(), Ok(true)) {
        return not_found().await;
    }
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
        .collect();
    let _work = gateway.begin_work();
    // The runtime verifies the request with the manifest's recipe before the plugin sees it.
    let request = WebhookRequest {
        method: method.as_str().to_string(),
        path: format!("/{rest}"),
        query: uri.query().unwrap_or_default().to_string(),
        headers: pairs,
        body: body.to_vec(),
    };
    let handled = channel.instance.handle_webhook(request).await;
    // What the request delivered is on disk before the platform hears it was taken.
    channel.commit_delivered().await;
    match handled {
        Ok(reply) => {
            // A verified platform is as good as an authenticated client: its connection no longer
            // counts against the cap on unauthenticated ones.
            if let Some(Extension(admission)) = admission {
                admission.authenticated();
            }
            let mut response = Response::new(Body::from(reply.body));
            *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
            for (name, value) in reply.headers {
                if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                    response.headers_mut().append(name, value);
                }
            }
            response
        }
        Err(CallError::WebhookRefused { reason, .. }) => {
            tracing::warn!(target: openclaw_core::security::SECURITY_TARGET, event = "webhook-refused", plugin = plugin_id, "webhook refused: {reason}");
            StatusCode::UNAUTHORIZED.into_response()
        }
        Err(e) => {
            tracing::error!(plugin = plugin_id, "webhook handler failed: {e}");
            StatusCode::BAD_GATEWAY.into_response()
        }
    }
}
