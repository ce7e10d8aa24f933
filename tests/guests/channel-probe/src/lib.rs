//! Each poll delivers one message whose text is the number of polls this instance has seen, so
//! a test can tell a surviving instance from a rebuilt one. `send` misbehaves on request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use openclaw_plugin_sdk::prelude::*;

static POLLS: AtomicU64 = AtomicU64::new(0);

pub struct Probe;

impl Channel for Probe {
    fn start(config: Value) -> Result<(), ChannelError> {
        if config["fail"].as_bool() == Some(true) {
            return Err(ChannelError::Config("told to fail".into()));
        }
        Ok(())
    }

    fn poll() -> Result<Duration, ChannelError> {
        let n = POLLS.fetch_add(1, Ordering::Relaxed) + 1;
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
