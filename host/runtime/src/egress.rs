//! Outbound HTTP for plugins: the `wasi:http` send hook that enforces the grant.
//!
//! Every request, in order: the scheme is http or https and the authority carries no
//! credentials; the host and port match a granted pattern; every `{{secret:NAME}}` placeholder
//! names a secret bound to this host (else nothing is sent); the name is resolved once and every
//! address must be public or inside a network the operator granted (an IP literal is checked the
//! same way); we connect to exactly that address (no second lookup an attacker could rebind);
//! TLS verifies the certificate for the host name; the response must arrive in time and fit the
//! size cap; secret values are scrubbed from its headers and body before the plugin sees it.
//!
//! Redirects are not followed here: a 3xx goes back to the plugin, and following it is a new
//! request that passes every check again.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error as HttpError, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks};

use openclaw_core::plugins::hosts::{self, HostPattern, classify, default_port};

use openclaw_core::security::text::neutralize_controls;

use crate::account::{BODY_CHUNK_BYTES, Charge, MemoryAccount};
use crate::budget::{Admission, Budget, RateWindow};
use crate::secrets::{Destination, LiveBook, Scrubber};

/// The largest request body a plugin may send.
pub const MAX_REQUEST_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Requests one invocation may have in flight at once; more wait their turn (a plugin must not
/// be able to open thousands of connections or DNS lookups from one call).
pub const MAX_CONCURRENT_REQUESTS: usize = 16;

type ResolveFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Name resolution, replaceable so tests can make a granted name point anywhere.
pub trait Resolve: Send + Sync + 'static {
    fn resolve(&self, host: &str, port: u16) -> ResolveFuture;
}

/// The system resolver (getaddrinfo through tokio).
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> ResolveFuture {
        let target = format!("{host}:{port}");
        Box::pin(async move {
            let addrs = tokio::net::lookup_host(target).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A fixed table of names, for tests. Unknown names fail like NXDOMAIN.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver {
    names: Vec<(String, Vec<IpAddr>)>,
}

impl StaticResolver {
    pub fn with(mut self, name: &str, addrs: &[IpAddr]) -> Self {
        self.names.push((name.to_ascii_lowercase(), addrs.to_vec()));
        self
    }
}

impl Resolve for StaticResolver {
    fn resolve(&self, host: &str, _port: u16) -> ResolveFuture {
        let found = self
            .names
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host))
            .map(|(_, addrs)| addrs.clone());
        let host = host.to_string();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host}: no such host")))
        })
    }
}

pub use openclaw_core::security::SECURITY_TARGET;

/// Refused requests of one plugin logged per window.
pub const DENIALS_PER_WINDOW: u64 = 50;
pub const DENIAL_WINDOW: Duration = Duration::from_secs(60);

/// Everything one plugin's outbound HTTP is checked against.
pub struct EgressPolicy {
    /// Refused requests logged per window (see [`deny`]).
    pub denials: RateWindow,
    /// The plugin's idle connections.
    pub pool: ConnectionPool,
    pub plugin_id: String,
    pub hosts: Vec<HostPattern>,
    pub private_networks: Vec<IpNet>,
    /// Read once per request, so a rotation takes effect from the next request on.
    pub secrets: LiveBook,
    /// Shared with the plugin's stores; covers retired values too (see [`LiveBook`]).
    pub scrubber: Scrubber,
    pub response_cap: u64,
    pub timeout: Duration,
    pub resolver: Arc<dyn Resolve>,
    pub tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for EgressPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressPolicy")
            .field("plugin_id", &self.plugin_id)
            .field("hosts", &self.hosts)
            .field("private_networks", &self.private_networks)
            .field("response_cap", &self.response_cap)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The TLS client configuration: the Mozilla root store, verified host names.
pub fn default_tls() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The `wasi:http` hooks of one store.
pub struct EgressHooks {
    pub policy: Arc<EgressPolicy>,
    pub budget: Arc<Budget>,
    pub account: Arc<MemoryAccount>,
    pub in_flight: Arc<tokio::sync::Semaphore>,
}

impl EgressHooks {
    pub fn new(policy: Arc<EgressPolicy>, budget: Arc<Budget>, account: Arc<MemoryAccount>) -> Self {
        Self {
            policy,
            budget,
            account,
            in_flight: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_REQUESTS)),
        }
    }
}

impl WasiHttpHooks for EgressHooks {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        Arc::new(forbidden_header)
    }

    // A body written but not sent holds at most two small chunks (see `crate::account`).
    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        1
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        BODY_CHUNK_BYTES
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        let policy = self.policy.clone();
        let within_budget = self.budget.spend();
        let budget_message = self.budget.exhausted_message();
        let in_flight = self.in_flight.clone();
        let account = self.account.clone();
        Box::new(async move {
            if !within_budget {
                deny(&policy, &budget_message);
                return Err(HttpError::ConnectionLimitReached);
            }
            let _permit = in_flight
                .acquire_owned()
                .await
                .map_err(|_| HttpError::ConnectionLimitReached)?;
            let response = send(&policy, request, options, &account).await?;
            let done: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

/// Logs a refused request as a security event, at most [`DENIALS_PER_WINDOW`] per plugin per
/// window; the rest are counted and reported once, so a plugin cannot flood the log.
fn deny(policy: &EgressPolicy, reason: &str) {
    match policy.denials.admit(Instant::now()) {
        Admission::Suppress => return,
        Admission::AdmitAfterSuppressed(count) => report_suppressed_denials(policy, count),
        Admission::Admit => {}
    }
    let reason = neutralize_controls(reason);
    tracing::warn!(target: SECURITY_TARGET, plugin = %policy.plugin_id, event = "egress-denied", "HTTP request refused: {reason}");
}

fn report_suppressed_denials(policy: &EgressPolicy, count: u64) {
    tracing::warn!(
        target: SECURITY_TARGET,
        plugin = %policy.plugin_id,
        event = "egress-denied",
        suppressed = count,
        "{count} more refused HTTP requests of this plugin were not logged (more than {} in {} s)",
        policy.denials.limit(),
        policy.denials.window().as_secs()
    );
}

impl EgressPolicy {
    /// Reports refused requests the rate limit kept out of the log and nobody reported yet.
    pub fn report_suppressed_denials(&self) {
        let count = self.denials.take_suppressed();
        if count > 0 {
            report_suppressed_denials(self, count);
        }
    }
}

/// Marks a refusal that carries its reason to the guest: `wasi:http`'s `http-request-denied`
/// has no room for one, so the reason travels as `internal-error("denied: ...")`, which the SDK
/// turns back into `HttpError::Denied`.
pub const DENIED_PREFIX: &str = "denied: ";

fn denied(policy: &EgressPolicy, reason: String) -> HttpError {
    deny(policy, &reason);
    HttpError::InternalError(Some(format!("{DENIED_PREFIX}{reason}")))
}

/// Where a request goes, after the checks on its URL.
struct Target {
    scheme: &'static str,
    host: String,
    port: u16,
}

fn target_of(policy: &EgressPolicy, uri: &http::Uri) -> Result<Target, HttpError> {
    let scheme = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => "https",
        Some(s) if s.eq_ignore_ascii_case("http") => "http",
        other => {
            return Err(denied(policy, format!("scheme {other:?} is not http or https")));
        }
    };
    let authority = uri.authority().ok_or(HttpError::HttpRequestUriInvalid)?;
    if authority.as_str().contains('@') {
        return Err(denied(
            policy,
            "URLs with credentials (user@host) are not allowed".into(),
        ));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let port = authority.port_u16().unwrap_or_else(|| default_port(scheme));
    Ok(Target { scheme, host, port })
}

fn describe(ip: IpAddr) -> String {
    format!(
        "{ip} ({})",
        serde_json::to_value(classify(ip))
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    )
}

async fn resolve(policy: &EgressPolicy, target: &Target, deadline: Instant) -> Result<Vec<IpAddr>, HttpError> {
    let addrs = if let Ok(ip) = target.host.parse::<IpAddr>() {
        vec![ip]
    } else {
        let lookup = policy.resolver.resolve(&target.host, target.port);
        match tokio::time::timeout_at(deadline.into(), lookup).await {
            Err(_) => return Err(HttpError::DnsTimeout),
            Ok(Err(e)) => {
                tracing::debug!(target: "openclaw::plugins", plugin = %policy.plugin_id, "resolving {}: {e}", target.host);
                return Err(HttpError::DnsError {
                    rcode: Some("NXDOMAIN".into()),
                    info_code: None,
                });
            }
            Ok(Ok(addrs)) => addrs,
        }
    };
    if addrs.is_empty() {
        return Err(HttpError::DestinationNotFound);
    }
    // Every answer must be allowed: a name that mixes public and private answers is how DNS
    // rebinding works, and we would not know which one a retry connects to.
    if let Some(bad) = addrs
        .iter()
        .find(|ip| !hosts::address_allowed(**ip, &policy.private_networks))
    {
        // The log names the address; the plugin only learns its class, so it cannot use the
        // gateway to map the private network's names to addresses.
        let fix = format!(
            "private, loopback and link-local addresses are refused unless the operator lists them in \
             plugins.entries.{}.http.allowPrivateNetwork",
            policy.plugin_id
        );
        deny(
            policy,
            &format!("{} resolves to {}; {fix}", target.host, describe(*bad)),
        );
        let class = serde_json::to_value(classify(*bad))
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        return Err(HttpError::InternalError(Some(format!(
            "{DENIED_PREFIX}{} resolves to a {class} address; {fix}",
            target.host
        ))));
    }
    Ok(addrs)
}

async fn collect_request_body(body: WasiBody, deadline: Instant) -> Result<Bytes, HttpError> {
    let mut body = body;
    let mut out = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline.into(), body.frame()).await {
            Err(_) => return Err(HttpError::ConnectionWriteTimeout),
            Ok(None) => break,
            Ok(Some(frame)) => frame?,
        };
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > MAX_REQUEST_BODY_BYTES {
                return Err(HttpError::HttpRequestBodySize(Some(MAX_REQUEST_BODY_BYTES as u64)));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Idle connections kept per plugin (each to one checked address of one host).
pub const POOL_CONNECTIONS: usize = 8;
/// How long an idle pooled connection may wait for its next request.
pub const POOL_IDLE: Duration = Duration::from_secs(30);

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// One HTTP/1.1 connection: the handle requests are sent on, and the connection's own future,
/// which the request's task polls while it waits (no task of its own, so no hop between tasks on
/// every read and write). It is not polled while the connection sits idle in the pool; whatever
/// happened meanwhile (the server closed it) is seen the first time it is polled again.
struct Connection {
    sender: Sender,
    driver: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    peer: SocketAddr,
}

impl Connection {
    /// Awaits `work` while driving the connection.
    async fn drive<F: Future>(&mut self, work: F) -> F::Output {
        let Some(driver) = self.driver.as_mut() else {
            return work.await;
        };
        tokio::pin!(work);
        tokio::select! {
            biased;
            out = &mut work => out,
            () = driver => {
                // The connection ended; `work` ends too (its request fails or completes).
                self.driver = None;
                work.await
            }
        }
    }

    /// Whether the connection can carry another request: driven once (which is when a close by
    /// the server shows), it did not end and it is ready. Never waits.
    async fn usable(&mut self) -> bool {
        let Some(driver) = self.driver.as_mut() else {
            return false;
        };
        if self.sender.is_closed() {
            return false;
        }
        let sender = &mut self.sender;
        let state = std::future::poll_fn(|cx| {
            if driver.as_mut().poll(cx).is_ready() {
                return std::task::Poll::Ready(None);
            }
            std::task::Poll::Ready(Some(matches!(sender.poll_ready(cx), std::task::Poll::Ready(Ok(())))))
        })
        .await;
        match state {
            None => {
                self.driver = None;
                false
            }
            Some(ready) => ready,
        }
    }
}

/// Idle HTTP/1.1 connections of one plugin, keyed by scheme, host name (the TLS name) and the
/// exact address that passed the checks. A request reuses one only when that address is among
/// the addresses its own name resolution just checked: reuse never skips a check, it skips the
/// TCP and TLS handshakes. Pools are never shared between plugins.
#[derive(Default)]
pub struct ConnectionPool {
    idle: std::sync::Mutex<Vec<Pooled>>,
}

struct Pooled {
    scheme: &'static str,
    host: String,
    connection: Connection,
    since: Instant,
}

impl ConnectionPool {
    fn take(&self, target: &Target, addrs: &[IpAddr]) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        idle.retain(|p| p.since.elapsed() < POOL_IDLE && !p.connection.sender.is_closed());
        let at = idle.iter().rposition(|p| {
            p.scheme == target.scheme
                && p.host == target.host
                && p.connection.peer.port() == target.port
                && addrs.contains(&p.connection.peer.ip())
        })?;
        Some(idle.swap_remove(at).connection)
    }

    fn put(&self, target: &Target, connection: Connection) {
        if connection.driver.is_none() || connection.sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() >= POOL_CONNECTIONS {
            idle.remove(0);
        }
        idle.push(Pooled {
            scheme: target.scheme,
            host: target.host.clone(),
            connection,
            since: Instant::now(),
        });
    }
}

async fn connect(
    policy: &EgressPolicy,
    target: &Target,
    addrs: &[IpAddr],
    connect_deadline: Instant,
) -> Result<(Box<dyn Stream>, SocketAddr), HttpError> {
    let mut last_error = HttpError::ConnectionRefused;
    let mut tcp = None;
    for ip in addrs {
        let peer = SocketAddr::new(*ip, target.port);
        match tokio::time::timeout_at(connect_deadline.into(), TcpStream::connect(peer)).await {
            Err(_) => return Err(HttpError::ConnectionTimeout),
            Ok(Ok(stream)) => {
                tcp = Some((stream, peer));
                break;
            }
            Ok(Err(e)) => last_error = HttpError::Connect(e),
        }
    }
    let (tcp, peer) = tcp.ok_or(last_error)?;
    let _ = tcp.set_nodelay(true);
    if target.scheme == "http" {
        return Ok((Box::new(tcp), peer));
    }
    let name = rustls::pki_types::ServerName::try_from(target.host.clone()).map_err(HttpError::InvalidDnsNameError)?;
    let connector = tokio_rustls::TlsConnector::from(policy.tls.clone());
    match tokio::time::timeout_at(connect_deadline.into(), connector.connect(name, tcp)).await {
        Err(_) => Err(HttpError::ConnectionTimeout),
        Ok(Err(e)) => Err(HttpError::Tls(e)),
        Ok(Ok(stream)) => Ok((Box::new(stream), peer)),
    }
}

fn min_opt(a: Duration, b: Option<Duration>) -> Duration {
    b.map_or(a, |b| a.min(b))
}

/// One request, however the guest sent it (`wasi:http`, or the one-call `http.fetch` import).
pub(crate) struct Outgoing {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// The time limits a guest asked for; each is capped by the plugin's HTTP time limit.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Timeouts {
    pub connect: Option<Duration>,
    pub first_byte: Option<Duration>,
    pub between_bytes: Option<Duration>,
}

impl From<Option<RequestOptions>> for Timeouts {
    fn from(options: Option<RequestOptions>) -> Self {
        Self {
            connect: options.and_then(|o| o.connect_timeout),
            first_byte: options.and_then(|o| o.first_byte_timeout),
            between_bytes: options.and_then(|o| o.between_bytes_timeout),
        }
    }
}

/// A whole response, checked and scrubbed.
pub(crate) struct Incoming {
    pub parts: http::response::Parts,
    pub body: Bytes,
}

/// Checks the destination against the grant, before anything else is read or sent.
fn granted_target(policy: &EgressPolicy, uri: &http::Uri) -> Result<Target, HttpError> {
    let target = target_of(policy, uri)?;
    if !hosts::allowed(&policy.hosts, &target.host, target.port, target.scheme) {
        let granted = if policy.hosts.is_empty() {
            "no host at all".to_string()
        } else {
            policy
                .hosts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(denied(
            policy,
            format!(
                "{}:{} is not in the grant (granted: {granted}); the manifest must request it and \
                 plugins.entries.{}.http.allow must not exclude it",
                target.host, target.port, policy.plugin_id
            ),
        ));
    }
    Ok(target)
}

/// The `wasi:http` path: the guest's request body is collected, the request exchanged, and the
/// response handed back as a body that stays charged to the store's memory account until the
/// guest drops it.
async fn send(
    policy: &EgressPolicy,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    account: &Arc<MemoryAccount>,
) -> Result<http::Response<WasiBody>, HttpError> {
    let started = Instant::now();
    let deadline = started + policy.timeout;
    let (parts, body) = request.into_parts();
    granted_target(policy, &parts.uri)?;
    let body = collect_request_body(body, deadline).await?;
    let outgoing = Outgoing {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body,
    };
    let Incoming { mut parts, body } = exchange(policy, outgoing, options.into(), started).await?;
    // The response stays in host memory until the guest drops it: charge it to the grant.
    let held = body.len() as u64
        + parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().len() + v.len()) as u64)
            .sum::<u64>();
    let Some(charge) = account.charge(held) else {
        let reason = format!(
            "limit exceeded: holding this {held}-byte response would take the plugin past its {} MiB memory limit \
             (with its memory and the responses it still holds); read and drop responses before fetching more",
            account.limit() >> 20
        );
        deny(policy, &reason);
        return Err(HttpError::InternalError(Some(reason)));
    };
    parts.headers.remove(header::TRANSFER_ENCODING);
    let body: WasiBody = Charged {
        inner: Full::new(body),
        _charge: charge,
    }
    .map_err(|never| match never {})
    .boxed_unsync();
    Ok(http::Response::from_parts(parts, body))
}

/// Everything between a guest's request and the response it gets, whichever way it came: the
/// grant, `Range`, placeholders in their slots, name resolution and the address check, a pooled
/// or new connection, the caps, the coding check and scrubbing.
pub(crate) async fn exchange(
    policy: &EgressPolicy,
    request: Outgoing,
    timeouts: Timeouts,
    started: Instant,
) -> Result<Incoming, HttpError> {
    let deadline = started + policy.timeout;
    let Outgoing {
        method,
        uri,
        headers: request_headers,
        body,
    } = request;
    let target = granted_target(policy, &uri)?;
    let book = policy.secrets.current();
    // Retired values count: a server may still echo a value the plugin held before a rotation.
    let holds_secrets = !book.is_empty() || !policy.scrubber.is_empty();
    if book.places_secrets()
        && let Some(name) = [header::RANGE, header::IF_RANGE]
            .into_iter()
            .find(|h| request_headers.contains_key(h))
    {
        return Err(denied(
            policy,
            format!(
                "a plugin holding secrets may not send `{name}`: a partial response could carry a piece of a \
                 secret past the scrubber"
            ),
        ));
    }
    // Placeholders: filled in their slots for this host, or the request is refused.
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let destination = Destination {
        scheme: target.scheme,
        host: &target.host,
        port: target.port,
    };
    let filled = book
        .fill(destination, &path, &request_headers, &body)
        .map_err(|refused| denied(policy, refused.0))?;
    let used_secret = filled.is_some();
    let (path, mut headers, body) = match filled {
        Some(filled) => (filled.path_and_query, filled.headers, Bytes::from(filled.body)),
        None => (path, request_headers, body),
    };

    let addrs = resolve(policy, &target, deadline).await?;
    if used_secret && target.scheme == "http" && addrs.iter().any(|ip| classify(*ip).is_public()) {
        return Err(denied(
            policy,
            format!(
                "a secret would travel unencrypted to {} over http; use https",
                target.host
            ),
        ));
    }

    let pooled = match policy.pool.take(&target, &addrs) {
        Some(mut pooled) => pooled.usable().await.then_some(pooled),
        None => None,
    };
    let mut connection = match pooled {
        Some(pooled) => pooled,
        None => {
            let connect_deadline = started + min_opt(policy.timeout, timeouts.connect);
            let (stream, peer) = connect(policy, &target, &addrs, connect_deadline.min(deadline)).await?;
            let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            Connection {
                sender,
                driver: Some(Box::pin(async move {
                    let _ = driver.await;
                })),
                peer,
            }
        }
    };

    // The plugin cannot choose a compressed response: compressed bytes would hide a reflected
    // secret from the scrubber.
    if holds_secrets {
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    }
    headers.remove(header::TRANSFER_ENCODING);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    if body.is_empty() && matches!(method, http::Method::GET | http::Method::HEAD) {
        headers.remove(header::CONTENT_LENGTH);
    }
    let mut outgoing = http::Request::new(Full::new(body));
    *outgoing.method_mut() = method;
    *outgoing.uri_mut() = http::Uri::builder()
        .path_and_query(path)
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    *outgoing.headers_mut() = headers;

    let first_byte_deadline = started + min_opt(policy.timeout, timeouts.first_byte);
    let request = connection.sender.send_request(outgoing);
    let response = match connection
        .drive(crate::deadline::within(first_byte_deadline.min(deadline), request))
        .await
    {
        Err(_) => return Err(HttpError::ConnectionReadTimeout),
        Ok(result) => result?,
    };
    let (mut parts, mut incoming) = response.into_parts();
    let mut collected = BytesMut::new();
    loop {
        let frame_deadline = match timeouts.between_bytes {
            Some(gap) => (Instant::now() + gap).min(deadline),
            None => deadline,
        };
        let frame = match connection
            .drive(crate::deadline::within(frame_deadline, incoming.frame()))
            .await
        {
            Err(_) => return Err(HttpError::ConnectionReadTimeout),
            Ok(None) => break,
            Ok(Some(frame)) => frame?,
        };
        if let Ok(data) = frame.into_data() {
            if (collected.len() + data.len()) as u64 > policy.response_cap {
                deny(
                    policy,
                    &format!(
                        "response from {} is larger than the {}-byte cap (plugins.entries.{}.limits.httpResponseBytes)",
                        target.host, policy.response_cap, policy.plugin_id
                    ),
                );
                return Err(HttpError::HttpResponseBodySize(Some(policy.response_cap)));
            }
            collected.extend_from_slice(&data);
        }
    }
    // The whole response was read: the connection can serve this plugin's next request.
    policy.pool.put(&target, connection);

    if holds_secrets && let Some(coding) = encoded_body(&parts.headers) {
        return Err(denied(
            policy,
            format!(
                "{} answered with {coding} although identity was asked for; an encoded response cannot be \
                 checked for secrets",
                target.host
            ),
        ));
    }

    let body = match policy.scrubber.scrub_bytes(&collected) {
        std::borrow::Cow::Borrowed(_) => collected.freeze(),
        std::borrow::Cow::Owned(scrubbed) => Bytes::from(scrubbed),
    };
    let mut scrubbed_headers = policy.scrubber.scrub_headers(&parts.headers);
    scrubbed_headers.remove(header::TRANSFER_ENCODING);
    scrubbed_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    parts.headers = scrubbed_headers;
    Ok(Incoming { parts, body })
}

/// A response body whose bytes stay charged to the store's memory account until it is dropped.
struct Charged {
    inner: Full<Bytes>,
    _charge: Charge,
}

impl http_body::Body for Charged {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A content or transfer coding other than identity (and chunked framing, which hyper removes),
/// in any of the response's `content-encoding` / `transfer-encoding` headers or list items.
fn encoded_body(headers: &http::HeaderMap) -> Option<String> {
    for (name, harmless) in [
        (header::CONTENT_ENCODING, &["identity"][..]),
        (header::TRANSFER_ENCODING, &["identity", "chunked"][..]),
    ] {
        for value in headers.get_all(&name) {
            let text = String::from_utf8_lossy(value.as_bytes());
            for coding in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if !harmless.iter().any(|h| coding.eq_ignore_ascii_case(h)) {
                    return Some(format!("{name}: {coding}"));
                }
            }
        }
    }
    None
}

/// Header names a plugin may not set: the defaults of wasi-http (hop-by-hop, proxy, host) plus
/// `te`, which would let it steer the connection.
pub fn forbidden_header(name: &HeaderName) -> bool {
    wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(name) || name == header::TE
}

/// Methods the one-call `fetch` accepts.
const FETCH_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// A request through the one-call `fetch` import, as plain data.
#[derive(Debug, Clone)]
pub(crate) struct FetchRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout_ms: Option<u32>,
}

/// Why `fetch` did not produce a response, as the guest is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    Denied(String),
    Invalid(String),
    LimitExceeded(String),
    Failed(String),
}

impl From<HttpError> for FetchError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::InternalError(Some(m)) => match m.strip_prefix(DENIED_PREFIX) {
                Some(reason) => Self::Denied(reason.to_string()),
                None => match m.strip_prefix("limit exceeded: ") {
                    Some(reason) => Self::LimitExceeded(reason.to_string()),
                    None => Self::Failed(m),
                },
            },
            HttpError::HttpRequestDenied => Self::Denied("the gateway refused this request".into()),
            HttpError::ConnectionLimitReached => Self::LimitExceeded(
                "this call used up its host-call budget (plugins.entries.<id>.limits.hostCalls)".into(),
            ),
            HttpError::HttpResponseBodySize(cap) => Self::LimitExceeded(format!(
                "response too large: over the {}-byte cap (plugins.entries.<id>.limits.httpResponseBytes)",
                cap.unwrap_or_default()
            )),
            HttpError::DnsTimeout
            | HttpError::ConnectionTimeout
            | HttpError::ConnectionReadTimeout
            | HttpError::ConnectionWriteTimeout => Self::Failed("timed out: no answer in time".into()),
            HttpError::HttpRequestUriInvalid => Self::Invalid("the URL is not valid".into()),
            HttpError::HttpRequestBodySize(cap) => Self::Invalid(format!(
                "the request body is larger than {} bytes",
                cap.unwrap_or(MAX_REQUEST_BODY_BYTES as u64)
            )),
            HttpError::DnsError { .. } | HttpError::DestinationNotFound => {
                Self::Failed("the host name does not resolve".into())
            }
            HttpError::ConnectionRefused => Self::Failed("the connection was refused".into()),
            other => Self::Failed(format!("{other:?}")),
        }
    }
}

/// The one-call path: checks the request's shape (method, absolute URL, header names and values,
/// no header a plugin may not set, body size), then exchanges it like any other. The response is
/// copied into the guest at once, so the host holds nothing afterwards.
pub(crate) async fn fetch(
    policy: &EgressPolicy,
    request: FetchRequest,
) -> Result<(u16, Vec<(String, String)>, Vec<u8>), FetchError> {
    let started = Instant::now();
    let method = request.method.trim().to_ascii_uppercase();
    if !FETCH_METHODS.contains(&method.as_str()) {
        return Err(FetchError::Invalid(format!(
            "method \"{}\" is not one of {}",
            request.method,
            FETCH_METHODS.join(", ")
        )));
    }
    let method = http::Method::from_bytes(method.as_bytes())
        .map_err(|_| FetchError::Invalid(format!("method \"{}\" is not valid", request.method)))?;
    let uri: http::Uri = request
        .url
        .parse()
        .map_err(|_| FetchError::Invalid(format!("\"{}\" is not a valid URL", request.url)))?;
    let authority = uri
        .authority()
        .filter(|_| uri.scheme().is_some())
        .ok_or_else(|| FetchError::Invalid(format!("\"{}\" needs a scheme and a host (https://...)", request.url)))?
        .clone();
    if request.body.len() > MAX_REQUEST_BODY_BYTES {
        return Err(FetchError::Invalid(format!(
            "the request body is larger than {MAX_REQUEST_BODY_BYTES} bytes"
        )));
    }
    let mut headers = HeaderMap::with_capacity(request.headers.len() + 1);
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| FetchError::Invalid(format!("\"{name}\" is not a header name")))?;
        if forbidden_header(&name) {
            return Err(FetchError::Invalid(format!("a plugin may not set the `{name}` header")));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| FetchError::Invalid(format!("the value of `{name}` is not a valid header value")))?;
        headers.append(name, value);
    }
    let host = HeaderValue::from_str(authority.as_str())
        .map_err(|_| FetchError::Invalid(format!("\"{}\" is not a valid host", authority.as_str())))?;
    headers.insert(header::HOST, host);
    let outgoing = Outgoing {
        method,
        uri,
        headers,
        body: Bytes::from(request.body),
    };
    let timeouts = Timeouts {
        first_byte: request.timeout_ms.map(|ms| Duration::from_millis(u64::from(ms))),
        ..Timeouts::default()
    };
    let Incoming { parts, body } = exchange(policy, outgoing, timeouts, started).await?;
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok((parts.status.as_u16(), headers, body.to_vec()))
}
