//! Which agent and which session a message belongs to. Pure: keys are built and parsed from
//! strings and config, nothing is looked up on disk.
//!
//! Build a [`Router`] when the config is loaded (log its [`Router::warnings`]), then call
//! [`Router::route`] for every message access control admitted. A [`RouteError`] means the
//! message must not be answered (fail closed). Key grammar and escaping: [`session_key`];
//! binding tiers and the decisions OpenClaw leaves open: [`bindings`].

pub mod bindings;
pub mod identity;
pub mod session_key;
pub mod warnings;

pub use bindings::{AcpMatch, MatchedBy, PeerRef, Route, RouteError, RoutePeer, Router, resolve_route};
pub use session_key::{ChatKind, SessionKey, SessionKind};
