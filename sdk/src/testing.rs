//! Unit-testing plugin logic natively, without a gateway.
//!
//! Compiled for your machine (`cargo test`), host calls go to a [`MockHost`] installed on the
//! test's thread: give it the plugin's configuration and an HTTP responder, call your [`Tool`]
//! functions directly, then look at what was logged, stored, requested or delivered.
//!
//! ```
//! use openclaw_plugin_sdk::prelude::*;
//! use openclaw_plugin_sdk::testing::MockHost;
//!
//! let host = MockHost::new()
//!     .config(json!({"greeting": "Hi"}))
//!     .http(|request| {
//!         assert!(request.url.starts_with("https://api.example.com/"));
//!         Ok(Response { status: 200, headers: vec![], body: b"{\"ok\":true}".to_vec() })
//!     })
//!     .install();
//! // ... call `YourTool::call("name", json!({...}), &CallContext::default())` here ...
//! assert!(host.requests().is_empty());
//! ```
//!
//! To run the *built component* under the real gateway host, use
//! `openclaw plugins run <plugin-dir> --build --tool <name> --args '{...}'`.
//!
//! [`Tool`]: crate::Tool

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value;

use crate::HostError;
use crate::channel::InboundMessage;
use crate::host::{HostApi, Level};
use crate::http::{HttpError, Request, Response};
use crate::sandbox::{ExecRequest, ExecResult};

type HttpResponder = Box<dyn FnMut(&Request) -> Result<Response, HttpError>>;
type ExecResponder = Box<dyn FnMut(&ExecRequest) -> Result<ExecResult, HostError>>;

#[derive(Default)]
struct State {
    config: Value,
    kv: BTreeMap<String, Vec<u8>>,
    kv_quota: Option<usize>,
    logs: Vec<(Level, String)>,
    requests: Vec<Request>,
    delivered: Vec<InboundMessage>,
    now_ms: u64,
    monotonic_ns: u64,
    http: Option<HttpResponder>,
    exec: Option<ExecResponder>,
}

/// A stand-in gateway for native tests. Build it, then [`MockHost::install`] it.
pub struct MockHost {
    state: State,
}

impl Default for MockHost {
    fn default() -> Self {
        Self::new()
    }
}

impl MockHost {
    pub fn new() -> Self {
        Self {
            state: State {
                config: Value::Object(Default::default()),
                now_ms: 1_700_000_000_000,
                ..State::default()
            },
        }
    }

    /// The plugin configuration `config::get` returns.
    pub fn config(mut self, config: Value) -> Self {
        self.state.config = config;
        self
    }

    /// Answers outbound HTTP; without one, every request is [`HttpError::Denied`] (like a plugin
    /// with no HTTP grant).
    pub fn http(mut self, responder: impl FnMut(&Request) -> Result<Response, HttpError> + 'static) -> Self {
        self.state.http = Some(Box::new(responder));
        self
    }

    /// Answers sandbox exec; without one, exec is [`HostError::NotAvailable`].
    pub fn exec(mut self, responder: impl FnMut(&ExecRequest) -> Result<ExecResult, HostError> + 'static) -> Self {
        self.state.exec = Some(Box::new(responder));
        self
    }

    /// Limits key-value storage to `bytes` (keys plus values), like the gateway's quota.
    pub fn kv_quota(mut self, bytes: usize) -> Self {
        self.state.kv_quota = Some(bytes);
        self
    }

    /// Fixes the clock.
    pub fn now_ms(mut self, now_ms: u64) -> Self {
        self.state.now_ms = now_ms;
        self
    }

    /// Installs the mock on this thread; it stays until the returned handle is dropped.
    pub fn install(self) -> MockHandle {
        let shared = Rc::new(RefCell::new(self.state));
        crate::host::install(Box::new(Installed(shared.clone())));
        MockHandle { shared }
    }
}

struct Installed(Rc<RefCell<State>>);

fn kv_usage(kv: &BTreeMap<String, Vec<u8>>) -> usize {
    kv.iter().map(|(k, v)| k.len() + v.len()).sum()
}

impl HostApi for Installed {
    fn log(&mut self, level: Level, message: &str) {
        self.0.borrow_mut().logs.push((level, message.to_string()));
    }
    fn now_ms(&mut self) -> u64 {
        self.0.borrow().now_ms
    }
    fn monotonic_ns(&mut self) -> u64 {
        let mut state = self.0.borrow_mut();
        state.monotonic_ns += 1_000;
        state.monotonic_ns
    }
    fn config_json(&mut self) -> String {
        self.0.borrow().config.to_string()
    }
    fn kv_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.0.borrow().kv.get(key).cloned())
    }
    fn kv_set(&mut self, key: &str, value: &[u8]) -> Result<(), HostError> {
        if key.is_empty() || key.len() > 256 {
            return Err(HostError::Invalid("keys are 1 to 256 bytes".into()));
        }
        let mut state = self.0.borrow_mut();
        let mut next = state.kv.clone();
        next.insert(key.to_string(), value.to_vec());
        if let Some(quota) = state.kv_quota
            && kv_usage(&next) > quota
        {
            return Err(HostError::LimitExceeded(format!("key-value quota of {quota} bytes")));
        }
        state.kv = next;
        Ok(())
    }
    fn kv_delete(&mut self, key: &str) -> Result<bool, HostError> {
        Ok(self.0.borrow_mut().kv.remove(key).is_some())
    }
    fn kv_list(&mut self, prefix: &str) -> Result<Vec<String>, HostError> {
        Ok(self
            .0
            .borrow()
            .kv
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
    fn sandbox_exec(&mut self, request: &ExecRequest) -> Result<ExecResult, HostError> {
        let mut state = self.0.borrow_mut();
        match state.exec.as_mut() {
            Some(responder) => responder(request),
            None => Err(HostError::NotAvailable("no sandbox in this test".into())),
        }
    }
    fn deliver(&mut self, message: &InboundMessage) -> Result<(), HostError> {
        self.0.borrow_mut().delivered.push(message.clone());
        Ok(())
    }
    fn http_send(&mut self, request: &Request) -> Result<Response, HttpError> {
        crate::http::split_url(&request.url)?;
        let mut state = self.0.borrow_mut();
        state.requests.push(request.clone());
        match state.http.as_mut() {
            Some(responder) => responder(request),
            None => Err(HttpError::Denied("no HTTP responder in this test".into())),
        }
    }
}

/// Access to what the plugin did while the mock was installed. Dropping it uninstalls the mock.
pub struct MockHandle {
    shared: Rc<RefCell<State>>,
}

impl MockHandle {
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.shared.borrow().logs.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.borrow().requests.clone()
    }

    pub fn delivered(&self) -> Vec<InboundMessage> {
        self.shared.borrow().delivered.clone()
    }

    pub fn kv(&self) -> BTreeMap<String, Vec<u8>> {
        self.shared.borrow().kv.clone()
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        crate::host::uninstall();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    struct Counter;

    impl Tool for Counter {
        fn tools() -> Vec<ToolSpec> {
            vec![ToolSpec::new("count", "Counts calls", json!({"type": "object"}))]
        }

        fn call(name: &str, _args: Value, ctx: &CallContext) -> Result<Value, ToolError> {
            if name != "count" {
                return Err(ToolError::unknown_tool(name));
            }
            let key = format!("count:{}", ctx.session_key);
            let n: u64 = kv::get_json(&key)?.unwrap_or(0) + 1;
            kv::set_json(&key, &n)?;
            log_info!("count is now {n}");
            let greeting: String = config::get_json()["greeting"].as_str().unwrap_or("hi").into();
            let page = Request::get("https://api.example.com/x").send()?;
            Ok(json!({"count": n, "greeting": greeting, "status": page.status}))
        }
    }

    #[test]
    fn a_tool_runs_against_the_mock_host() {
        let host = MockHost::new()
            .config(json!({"greeting": "hello"}))
            .http(|_| {
                Ok(Response {
                    status: 204,
                    headers: vec![],
                    body: vec![],
                })
            })
            .install();
        let ctx = CallContext {
            session_key: "s1".into(),
            ..CallContext::default()
        };
        assert_eq!(
            Counter::call("count", json!({}), &ctx).unwrap(),
            json!({"count": 1, "greeting": "hello", "status": 204})
        );
        assert_eq!(Counter::call("count", json!({}), &ctx).unwrap()["count"], 2);
        assert_eq!(host.logs().last().unwrap().1, "count is now 2");
        assert_eq!(host.requests().len(), 2);
        assert!(matches!(
            Counter::call("nope", json!({}), &ctx),
            Err(ToolError::InvalidArgs(_))
        ));
    }

    #[test]
    fn denials_and_quotas_surface_as_errors() {
        let _host = MockHost::new().kv_quota(10).install();
        assert!(matches!(kv::set("k", b"0123456789"), Err(HostError::LimitExceeded(_))));
        assert!(matches!(Request::get("https://x/").send(), Err(HttpError::Denied(_))));
        assert!(matches!(Request::get("not a url").send(), Err(HttpError::Invalid(_))));
    }
}
