//! The gateway's network policy, as pure functions: where it may listen, who is authenticated,
//! which client address a request really comes from, how failed attempts are limited, which
//! browser origins and host names a request may carry, which tools HTTP may invoke, and which
//! settings this gateway does not implement. The server in the
//! `openclaw` crate feeds them sockets and headers and acts on their answers.

pub mod auth;
pub mod bind;
pub mod client;
pub mod frame_cap;
pub mod headers;
pub mod host;
pub mod http_tools;
pub mod origin;
pub mod plan;
pub mod rate_limit;
