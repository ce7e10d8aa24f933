//! The one place that talks to the gateway. In a component (`wasm32`) every function calls the
//! host import; compiled natively (your unit tests) it calls the [`crate::testing::MockHost`]
//! installed on the current thread, so plugin logic can be tested with `cargo test`.

use crate::{HostError, http};

/// Log levels, as the gateway's logger knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Everything a plugin can ask of its host. Implemented by the real imports in a component and by
/// [`crate::testing::MockHost`] natively.
pub trait HostApi {
    fn log(&mut self, level: Level, message: &str);
    fn now_ms(&mut self) -> u64;
    fn monotonic_ns(&mut self) -> u64;
    fn config_json(&mut self) -> String;
    fn kv_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, HostError>;
    fn kv_set(&mut self, key: &str, value: &[u8]) -> Result<(), HostError>;
    fn kv_delete(&mut self, key: &str) -> Result<bool, HostError>;
    fn kv_list(&mut self, prefix: &str) -> Result<Vec<String>, HostError>;
    fn sandbox_exec(&mut self, request: &crate::sandbox::ExecRequest) -> Result<crate::sandbox::ExecResult, HostError>;
    fn deliver(&mut self, message: &crate::channel::InboundMessage) -> Result<(), HostError>;
    fn http_send(&mut self, request: &http::Request) -> Result<http::Response, http::HttpError>;
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    //! Host calls through the component imports. The tool and channel worlds import the same
    //! interfaces under different generated modules; the tool world's copy is used for the shared
    //! ones (wit-component keeps only the imports a plugin actually calls).

    use super::*;
    use crate::bindings::channel_world::openclaw::plugin as ch;
    use crate::bindings::tool_world::openclaw::plugin as tw;

    fn host_error(e: tw::types::HostError) -> HostError {
        match e {
            tw::types::HostError::Denied(m) => HostError::Denied(m),
            tw::types::HostError::NotAvailable(m) => HostError::NotAvailable(m),
            tw::types::HostError::LimitExceeded(m) => HostError::LimitExceeded(m),
            tw::types::HostError::Invalid(m) => HostError::Invalid(m),
            tw::types::HostError::Failed(m) => HostError::Failed(m),
        }
    }

    fn channel_host_error(e: ch::types::HostError) -> HostError {
        match e {
            ch::types::HostError::Denied(m) => HostError::Denied(m),
            ch::types::HostError::NotAvailable(m) => HostError::NotAvailable(m),
            ch::types::HostError::LimitExceeded(m) => HostError::LimitExceeded(m),
            ch::types::HostError::Invalid(m) => HostError::Invalid(m),
            ch::types::HostError::Failed(m) => HostError::Failed(m),
        }
    }

    pub struct Imports;

    impl HostApi for Imports {
        fn log(&mut self, level: Level, message: &str) {
            let level = match level {
                Level::Trace => tw::log::Level::Trace,
                Level::Debug => tw::log::Level::Debug,
                Level::Info => tw::log::Level::Info,
                Level::Warn => tw::log::Level::Warn,
                Level::Error => tw::log::Level::Error,
            };
            tw::log::log(level, message);
        }
        fn now_ms(&mut self) -> u64 {
            tw::clock::now_ms()
        }
        fn monotonic_ns(&mut self) -> u64 {
            tw::clock::monotonic_ns()
        }
        fn config_json(&mut self) -> String {
            tw::config::get()
        }
        fn kv_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, HostError> {
            tw::kv::get(key).map_err(host_error)
        }
        fn kv_set(&mut self, key: &str, value: &[u8]) -> Result<(), HostError> {
            tw::kv::set(key, value).map_err(host_error)
        }
        fn kv_delete(&mut self, key: &str) -> Result<bool, HostError> {
            tw::kv::delete(key).map_err(host_error)
        }
        fn kv_list(&mut self, prefix: &str) -> Result<Vec<String>, HostError> {
            tw::kv::list_keys(prefix).map_err(host_error)
        }
        fn sandbox_exec(
            &mut self,
            request: &crate::sandbox::ExecRequest,
        ) -> Result<crate::sandbox::ExecResult, HostError> {
            let request = tw::sandbox::ExecRequest {
                argv: request.argv.clone(),
                stdin: request.stdin.clone(),
                env: request.env.clone(),
                workdir: request.workdir.clone(),
                timeout_ms: request.timeout_ms,
            };
            tw::sandbox::exec(&request)
                .map(|r| crate::sandbox::ExecResult {
                    exit_code: r.exit_code,
                    stdout: r.stdout,
                    stderr: r.stderr,
                    truncated: r.truncated,
                })
                .map_err(host_error)
        }
        fn deliver(&mut self, message: &crate::channel::InboundMessage) -> Result<(), HostError> {
            use ch::channel_types::{ChatType, InboundMessage};
            let message = InboundMessage {
                account_id: message.account_id.clone(),
                chat_type: match message.chat_type {
                    crate::channel::ChatType::Direct => ChatType::Direct,
                    crate::channel::ChatType::Group => ChatType::Group,
                    crate::channel::ChatType::Channel => ChatType::Channel,
                },
                chat_id: message.chat_id.clone(),
                sender_id: message.sender_id.clone(),
                sender_name: message.sender_name.clone(),
                message_id: message.message_id.clone(),
                thread_id: message.thread_id.clone(),
                text: message.text.clone(),
                mentioned: message.mentioned,
                reply_to_bot: message.reply_to_bot,
                timestamp_ms: message.timestamp_ms,
                extra: message.extra.as_ref().map(|v| v.to_string()),
            };
            ch::inbound::deliver(&message).map_err(channel_host_error)
        }
        fn http_send(&mut self, request: &http::Request) -> Result<http::Response, http::HttpError> {
            // One host call per request (the `http` interface), not a dozen wasi:http resources.
            let outgoing = tw::http::Request {
                method: request.method.as_str().to_string(),
                url: request.url.clone(),
                headers: request.headers.clone(),
                body: request.body.clone().unwrap_or_default(),
                timeout_ms: request.timeout_ms,
            };
            tw::http::fetch(&outgoing)
                .map(|r| http::Response {
                    status: r.status,
                    headers: r.headers,
                    body: r.body,
                })
                .map_err(|e| http::HttpError::from_host(host_error(e)))
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::*;

    std::thread_local! {
        pub static MOCK: std::cell::RefCell<Option<Box<dyn HostApi>>> = const { std::cell::RefCell::new(None) };
    }
}

/// Installs `host` for the current thread (native builds only; see [`crate::testing`]).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn install(host: Box<dyn HostApi>) -> Option<Box<dyn HostApi>> {
    native::MOCK.with(|mock| mock.borrow_mut().replace(host))
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn uninstall() -> Option<Box<dyn HostApi>> {
    native::MOCK.with(|mock| mock.borrow_mut().take())
}

/// Runs `f` with the host: the imports in a component, the installed mock natively.
pub(crate) fn with<R>(f: impl FnOnce(&mut dyn HostApi) -> R) -> R {
    #[cfg(target_arch = "wasm32")]
    {
        f(&mut wasm::Imports)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        native::MOCK.with(|mock| {
            let mut guard = mock.borrow_mut();
            match guard.as_mut() {
                Some(host) => f(host.as_mut()),
                None => panic!(
                    "openclaw-plugin-sdk: no host. Natively, install one with \
                     `openclaw_plugin_sdk::testing::MockHost::new().install()` in your test"
                ),
            }
        })
    }
}
