//! The front door every HTTP request passes, before any route (the WebSocket upgrade and the
//! webhooks included): the host it names (DNS rebinding), the browser origin it carries, a body
//! that must arrive whole within the body timeout, and the security headers on whatever answer
//! goes back. The decisions are the pure ones in `openclaw_core::gateway::{host, origin,
//! headers}`; this module only applies them.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use openclaw_core::gateway::origin::{OriginPolicy, check_origin};
use openclaw_core::security::SECURITY_TARGET;
use serde_json::json;

use super::Gateway;

fn header<'h>(request: &'h Request, name: &str) -> Option<&'h str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Refuses a request that names a foreign host (421) or carries a browser origin that is not
/// allowed (403), on every route.
pub async fn admit(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let client = gateway.guard.client(peer, request.headers());
    let host = header(&request, header::HOST.as_str());
    if let Err(refusal) = gateway
        .hosts
        .check(host, header(&request, "x-forwarded-host"), client.via_trusted_proxy)
    {
        tracing::warn!(target: SECURITY_TARGET, event = "request-refused", peer = %peer, "request refused: {refusal}");
        return (
            StatusCode::MISDIRECTED_REQUEST,
            axum::Json(json!({"ok": false, "error": {"type": "misdirected_request", "message": refusal.to_string()}})),
        )
            .into_response();
    }
    let policy = OriginPolicy {
        allowed: &gateway.allowed_origins,
        host_header_fallback: gateway.host_header_origin_fallback,
    };
    if let Err(refusal) = check_origin(
        header(&request, header::ORIGIN.as_str()),
        host,
        client.local_direct,
        &policy,
    ) {
        tracing::warn!(target: SECURITY_TARGET, event = "request-refused", peer = %peer, "request refused: {refusal}");
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"ok": false, "error": {"type": "forbidden", "code": "CONTROL_UI_ORIGIN_NOT_ALLOWED", "message": refusal.to_string()}})),
        )
            .into_response();
    }
    next.run(request).await
}

/// Reads the request body whole, within the body timeout and the size cap, so a client that
/// trickles its body (or never sends it) holds nothing for long, and handlers get it complete.
pub async fn read_body(State(gateway): State<Arc<Gateway>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let limit = super::http::MAX_BODY_BYTES;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let bytes = match tokio::time::timeout(gateway.body_timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            if std::error::Error::source(&e).is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>()) {
                return too_large(limit);
            }
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"ok": false, "error": {"type": "invalid_request", "message": format!("the request body could not be read: {e}")}})),
            )
                .into_response();
        }
        Err(_) => {
            let message = format!(
                "the request body did not arrive within {} ms; send it whole and promptly",
                gateway.body_timeout.as_millis()
            );
            let mut response = (
                StatusCode::REQUEST_TIMEOUT,
                axum::Json(json!({"ok": false, "error": {"type": "timeout", "message": message}})),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
            return response;
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn too_large(limit: usize) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        axum::Json(json!({"ok": false, "error": {"type": "too_large", "message": format!("the request body exceeds {limit} bytes")}})),
    )
        .into_response()
}

/// Adds the security headers to every answer, refusals included.
pub async fn secure_headers(State(gateway): State<Arc<Gateway>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in &gateway.security_headers {
        headers.insert(name.clone(), value.clone());
    }
    response
}
