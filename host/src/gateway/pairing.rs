//! The operator protocol's `pairing.list` and `pairing.approve`; `openclaw pairing` uses the same
//! service (`ingress::pairing_service`) on the files directly, and this method when it should
//! notify the sender through the running channel.

use openclaw_runtime::OutboundMessage;
use serde_json::{Value, json};

use super::Gateway;
use super::methods::{Methods, RpcError, Scope};
use crate::ingress::pairing_service;

pub fn register(methods: &mut Methods) {
    methods.register("pairing.list", Scope::Read, |gw, params| async move {
        let channel = channel_param(&gw, &params)?;
        let account = params.get("account").and_then(Value::as_str).map(str::to_string);
        let store = gw.pairing.clone();
        tokio::task::spawn_blocking(move || pairing_service::list(&store, &channel, account.as_deref()))
            .await
            .map_err(|e| RpcError::unavailable(e.to_string()))?
            .map_err(RpcError::unavailable)
    });
    methods.register("pairing.approve", Scope::Admin, |gw, params| async move {
        let channel = channel_param(&gw, &params)?;
        let Some(code) = params.get("code").and_then(Value::as_str).map(str::to_string) else {
            return Err(RpcError::invalid_params("params.code is required"));
        };
        let account = params.get("account").and_then(Value::as_str).map(str::to_string);
        let notify = params.get("notify").and_then(Value::as_bool).unwrap_or(false);
        let store = gw.pairing.clone();
        let approved = {
            let channel = channel.clone();
            tokio::task::spawn_blocking(move || pairing_service::approve(&store, &channel, &code, account.as_deref()))
                .await
                .map_err(|e| RpcError::unavailable(e.to_string()))?
                .map_err(RpcError::invalid_params)?
        };
        tracing::info!(target: openclaw_core::security::SECURITY_TARGET, event = "pairing-approved", channel = %channel, sender = %approved.id, "pairing approved");
        let mut notified = Value::Null;
        if notify {
            notified = match gw.plugins.channel_account(&channel, &approved.account_id) {
                None => json!({"sent": false, "error": format!("channel {channel} (account {}) is not running", approved.account_id)}),
                Some(account) => {
                    let message = OutboundMessage {
                        account_id: approved.account_id.clone(),
                        chat_id: approved.id.clone(),
                        thread_id: None,
                        reply_to: None,
                        text: pairing_service::approved_notice().to_string(),
                    };
                    match account.send(message).await {
                        Ok(_) => json!({"sent": true}),
                        Err(e) => json!({"sent": false, "error": e.to_string()}),
                    }
                }
            };
        }
        Ok(json!({
            "channel": channel,
            "approved": {"id": approved.id, "accountId": approved.account_id},
            "notified": notified,
        }))
    });
}

fn channel_param(gw: &Gateway, params: &Value) -> Result<String, RpcError> {
    pairing_service::resolve_channel(&gw.config, params.get("channel").and_then(Value::as_str))
        .map_err(RpcError::invalid_params)
}
