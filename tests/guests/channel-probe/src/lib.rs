//! Each poll delivers one message whose text is the number of polls this instance has seen, so
//! a test can tell a surviving instance from a rebuilt one. `send` misbehaves on request, and
//! `start` fails on request: always (`fail: true`) or for the first N starts (`failStarts: N`,
//! counted in key-value storage, which outlives the instance). With `deliver: {count, bytes}` each
//! poll delivers `count` messages of `bytes` bytes instead (to try the gateway's caps).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use openclaw_plugin_sdk::prelude::*;

static POLLS: AtomicU64 = AtomicU64::new(0);
/// `deliver.count` and `deliver.bytes` from the config (0: the normal one small message).
static FLOOD_COUNT: AtomicU64 = AtomicU64::new(0);
static FLOOD_BYTES: AtomicU64 = AtomicU64::new(0);

pub struct Probe;

impl Channel for Probe {
    fn start(config: Value) -> Result<(), ChannelError> {
        FLOOD_COUNT.store(config["deliver"]["count"].as_u64().unwrap_or(0), Ordering::Relaxed);
        FLOOD_BYTES.store(config["deliver"]["bytes"].as_u64().unwrap_or(0), Ordering::Relaxed);
        if config["fail"].as_bool() == Some(true) {
            return Err(ChannelError::Config("told to fail".into()));
        }
        if let Some(failing) = config["failStarts"].as_u64() {
            let platform = |e: HostError| ChannelError::Platform(e.to_string());
            let previous = kv::get("starts")
                .map_err(platform)?
                .and_then(|v| String::from_utf8(v).ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            let this = previous + 1;
            kv::set("starts", this.to_string().as_bytes()).map_err(platform)?;
            if this <= failing {
                return Err(ChannelError::Retry(format!(
                    "start {this} of the first {failing} fails on purpose"
                )));
            }
        }
        Ok(())
    }

    fn poll() -> Result<Duration, ChannelError> {
        let n = POLLS.fetch_add(1, Ordering::Relaxed) + 1;
        let count = FLOOD_COUNT.load(Ordering::Relaxed);
        if count > 0 {
            let text = "f".repeat(FLOOD_BYTES.load(Ordering::Relaxed) as usize);
            for i in 0..count {
                let message = InboundMessage::direct("probe-user", format!("m{n}-{i}"), text.clone());
                openclaw_plugin_sdk::channel::deliver(&message)
                    .map_err(|e| ChannelError::Platform(format!("delivery {i} of poll {n}: {e}")))?;
            }
            return Ok(Duration::from_millis(1));
        }
        let message = InboundMessage::direct("probe-user", format!("m{n}"), n.to_string());
        openclaw_plugin_sdk::channel::deliver(&message)?;
        Ok(Duration::from_millis(1))
    }

    fn handle_webhook(request: WebhookRequest) -> Result<WebhookResponse, ChannelError> {
        // Echo what arrived, so the test sees the host passed it through intact.
        let body = json!({
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "header": request.header("x-probe"),
            "headers": request.headers,
            "body": String::from_utf8_lossy(&request.body),
        });
        Ok(WebhookResponse {
            status: 202,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        })
    }

    fn send(message: OutboundMessage) -> Result<SendReceipt, ChannelError> {
        match message.text.as_str() {
            "panic" => panic!("probe told to panic"),
            "spin" => loop {
                std::hint::black_box(());
            },
            text => Ok(SendReceipt {
                message_id: format!("sent:{text}"),
            }),
        }
    }
}

export_channel!(Probe);
