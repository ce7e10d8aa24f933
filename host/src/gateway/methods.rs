//! The operator protocol's methods. Each is registered by name with the scope it needs; the
//! WebSocket transport knows nothing about them, so later features (pairing, sessions, chat,
//! audit) add methods here without touching the transport.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Value, json};

use super::Gateway;

/// What a caller may do. Shared-secret operators hold every scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Read,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "operator.read",
            Self::Admin => "operator.admin",
        }
    }
}

/// A method's failure, sent back as `{ok: false, error: {code, message}}`.
#[derive(Debug, Clone)]
pub struct RpcError {
    pub code: &'static str,
    pub message: String,
}

impl RpcError {
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self {
            code: "INVALID_REQUEST",
            message: message.into(),
        }
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            code: "UNAVAILABLE",
            message: message.into(),
        }
    }
}

pub type MethodFuture = Pin<Box<dyn Future<Output = Result<Value, RpcError>> + Send>>;
type Handler = Arc<dyn Fn(Arc<Gateway>, Value) -> MethodFuture + Send + Sync>;

#[derive(Clone)]
pub struct Method {
    pub scope: Scope,
    handler: Handler,
}

/// The method table.
#[derive(Clone, Default)]
pub struct Methods {
    table: BTreeMap<&'static str, Method>,
}

impl Methods {
    pub fn register<F, Fut>(&mut self, name: &'static str, scope: Scope, handler: F)
    where
        F: Fn(Arc<Gateway>, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, RpcError>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |gateway, params| Box::pin(handler(gateway, params)));
        self.table.insert(name, Method { scope, handler });
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.table.keys().copied().collect()
    }

    pub fn get(&self, name: &str) -> Option<&Method> {
        self.table.get(name)
    }

    /// The methods of this issue: status, health, config.get, plugins.list.
    pub fn builtin() -> Self {
        let mut methods = Self::default();
        methods.register("health", Scope::Read, |gw, _| async move { Ok(gw.health()) });
        methods.register("status", Scope::Read, |gw, _| async move { Ok(gw.status()) });
        methods.register("config.get", Scope::Read, |gw, params| async move {
            config_get(&gw, &params)
        });
        methods.register(
            "plugins.list",
            Scope::Read,
            |gw, _| async move { Ok(gw.plugins_json()) },
        );
        super::chat::register(&mut methods);
        super::pairing::register(&mut methods);
        super::secrets_reload::register(&mut methods);
        methods
    }
}

impl Method {
    pub fn call(&self, gateway: Arc<Gateway>, params: Value) -> MethodFuture {
        (self.handler)(gateway, params)
    }
}

/// `config.get`: the whole config, or the value at `params.path`, with every secret replaced.
fn config_get(gateway: &Gateway, params: &Value) -> Result<Value, RpcError> {
    let redacted = gateway.redacted_config();
    let Some(path) = params.get("path").and_then(Value::as_str) else {
        return Ok(json!({"path": gateway.config_path(), "hash": gateway.config_hash(), "config": redacted}));
    };
    let parsed = openclaw_core::config::path::JsonPath::parse(path)
        .map_err(|e| RpcError::invalid_params(format!("params.path: {e}")))?;
    let value = crate::config::edit::get(&redacted, &parsed)
        .cloned()
        .ok_or_else(|| RpcError::invalid_params(format!("`{path}` is not set in the config")))?;
    Ok(json!({"path": gateway.config_path(), "hash": gateway.config_hash(), "key": path, "value": value}))
}
