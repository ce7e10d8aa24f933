//! The gateway's accept loop. Each connection is served by hyper with a header read timeout (the
//! handshake timeout: a client that does not finish its request head in time, or sits idle
//! between requests, is disconnected), and holds one of a fixed number of places for
//! connections that have not authenticated: an HTTP connection until one of its requests
//! authenticates, a WebSocket until its `connect` succeeds. When every place is taken, a new
//! connection is answered 503 at once and closed, so unauthenticated clients cannot pile up
//! sockets and memory. A stop closes idle connections and lets in-flight requests finish.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tower::ServiceExt;

use super::Gateway;

/// Connections that may be open at once without having authenticated.
pub const MAX_UNAUTHENTICATED_CONNECTIONS: usize = 64;

/// A connection's place among the unauthenticated ones, given back once it authenticates (or
/// closes). Handlers find it in the request's extensions.
#[derive(Debug)]
pub struct Admission(Mutex<Option<OwnedSemaphorePermit>>);

impl Admission {
    fn holding(place: OwnedSemaphorePermit) -> Self {
        Self(Mutex::new(Some(place)))
    }

    /// The connection proved who it is: it no longer counts as unauthenticated.
    pub fn authenticated(&self) {
        // A poisoned lock still holds the permit; releasing it is all that is left to do.
        let mut place = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        place.take();
    }
}

/// Serves `router` on `listener` until `stop` completes, then waits (up to `drain`) for the
/// HTTP requests in flight. WebSocket connections are the gateway's to drain.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    gateway: Arc<Gateway>,
    stop: impl Future<Output = ()>,
    drain: Duration,
) -> bool {
    let places = Arc::new(Semaphore::new(MAX_UNAUTHENTICATED_CONNECTIONS));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(gateway.handshake_timeout);
    // Every connection task holds a sender; when the last one is gone, `open` reports closed.
    let (alive, mut open) = mpsc::channel::<()>(1);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            tracing::warn!(target: openclaw_core::security::SECURITY_TARGET, event = "connection-refused", %peer, "connection turned away: {MAX_UNAUTHENTICATED_CONNECTIONS} connections have not authenticated");
            tokio::spawn(turn_away(stream, gateway.security_headers.clone()));
            continue;
        };
        let admission = Arc::new(Admission::holding(place));
        let router = router.clone();
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(admission.clone());
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
        let mut shutdown = gateway.shutdown_signal();
        let alive = alive.clone();
        tokio::spawn(async move {
            let _alive = alive;
            let mut connection = std::pin::pin!(connection);
            let stopping = async {
                let _ = shutdown.wait_for(|stopping| *stopping).await;
            };
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, "connection ended: {e}");
                    }
                    return;
                }
                () = stopping => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    drop(alive);
    tokio::time::timeout(drain, open.recv()).await.is_ok()
}

/// Answers a connection there is no place for: 503 with the security headers, then close.
async fn turn_away(mut stream: TcpStream, headers: Vec<(HeaderName, HeaderValue)>) {
    let body = serde_json::json!({"ok": false, "error": {
        "type": "unavailable",
        "message": format!("too many connections ({MAX_UNAUTHENTICATED_CONNECTIONS}) have not authenticated; retry shortly"),
    }})
    .to_string();
    let mut text = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 5\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in &headers {
        if let Ok(value) = value.to_str() {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    text.push_str("\r\n");
    text.push_str(&body);
    let send = async {
        stream.write_all(text.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), send).await;
}
