//! The gateway's network policy, as pure functions: where it may listen, who is authenticated,
//! which client address a request really comes from, how failed attempts are limited, which
//! browser origins may open a WebSocket and which tools HTTP may invoke. The server in the
//! `openclaw` crate feeds them sockets and headers and acts on their answers.

pub mod auth;
pub mod bind;
pub mod client;
pub mod http_tools;
pub mod origin;
pub mod plan;
pub mod rate_limit;
