//! `--deep`: ask the running gateway (is it there, does it refuse a request without
//! credentials, does it listen where the config says) and the Docker engine a required sandbox
//! would use. A failed probe is a finding, never a crash.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::gateway::BindMode;
use openclaw_core::config::schema::sandbox::SandboxMode;
use openclaw_core::security::audit::tools::agent_sandbox_modes;
use openclaw_core::security::audit::{DeepFacts, ProbeOutcome};

use crate::context::Context;
use crate::running;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Where the config says the gateway listens (`host:port`), when that is a fixed address.
fn expected_address(ctx: &Context, config: &Config) -> Option<String> {
    let gateway = config.gateway();
    let port = ctx
        .env
        .get("OPENCLAW_GATEWAY_PORT")
        .and_then(openclaw_core::gateway::plan::parse_port_env)
        .unwrap_or_else(|| gateway.port());
    let host = match gateway.bind() {
        BindMode::Loopback => "127.0.0.1".to_string(),
        BindMode::Lan => "0.0.0.0".to_string(),
        BindMode::Custom => gateway.custom_bind_host.clone()?,
        BindMode::Tailnet | BindMode::Auto => return None,
    };
    Some(format!("{host}:{port}"))
}

pub fn gateway(ctx: &Context, config: &Config) -> ProbeOutcome {
    let expected = expected_address(ctx, config);
    let Some(info) = running::read(&running::path(&ctx.paths)) else {
        return ProbeOutcome {
            attempted: false,
            url: None,
            ok: false,
            error: Some(format!(
                "no running gateway found ({} is missing); start it with `openclaw gateway run`",
                running::path(&ctx.paths).display()
            )),
            unauthenticated_status: None,
            listening: None,
            expected,
        };
    };
    let listening = format!("{}:{}", info.host, info.port);
    // A host that does not parse was written by another version; loopback is where it listens.
    let addr =
        running::local_addr(&info.host, info.port).unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], info.port)));
    let url = format!("http://{addr}");
    let failed = |error: String| ProbeOutcome {
        attempted: true,
        url: Some(url.clone()),
        ok: false,
        error: Some(error),
        unauthenticated_status: None,
        listening: Some(listening.clone()),
        expected: expected.clone(),
    };
    match running::http_status(
        addr,
        &format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        TIMEOUT,
    ) {
        Ok(200) => {}
        Ok(code) => return failed(format!("GET {url}/health answered HTTP {code}")),
        Err(e) => return failed(e),
    }
    let body = r#"{"tool":"session_status","args":{}}"#;
    let unauthenticated = running::http_status(
        addr,
        &format!(
            "POST /tools/invoke HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        TIMEOUT,
    );
    match unauthenticated {
        Ok(code) => ProbeOutcome {
            attempted: true,
            url: Some(url),
            ok: true,
            error: None,
            unauthenticated_status: Some(code),
            listening: Some(listening),
            expected,
        },
        Err(e) => failed(e),
    }
}

/// The engine a required sandbox would use: `Ok(api version)` or why it cannot be used.
pub fn docker(ctx: &Context, config: &Config) -> Option<Result<String, String>> {
    if agent_sandbox_modes(config).iter().all(|(_, m)| *m == SandboxMode::Off) {
        return None;
    }
    let sandboxes = crate::sandboxes::Sandboxes::new(Arc::new(config.clone()), ctx.paths.clone(), &ctx.env);
    let endpoint = match sandboxes.endpoint() {
        Ok(endpoint) => endpoint,
        Err(e) => return Some(Err(e.to_string())),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return Some(Err(format!("cannot start the async runtime: {e}"))),
    };
    Some(runtime.block_on(async {
        match tokio::time::timeout(TIMEOUT, openclaw_sandbox::Engine::connect(endpoint)).await {
            Ok(Ok(engine)) => Ok(engine.api_version()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {}s", TIMEOUT.as_secs())),
        }
    }))
}

pub fn deep(ctx: &Context, config: &Config) -> DeepFacts {
    DeepFacts {
        gateway: Some(gateway(ctx, config)),
        docker: docker(ctx, config),
    }
}
