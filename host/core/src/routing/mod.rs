//! Which agent and which session a message belongs to. Pure: keys are built and parsed from
//! strings and config, nothing is looked up on disk.

pub mod bindings;
pub mod identity;
pub mod session_key;
pub mod warnings;

pub use bindings::{AcpMatch, MatchedBy, PeerRef, Route, RouteError, RoutePeer, Router, resolve_route};
pub use session_key::{ChatKind, SessionKey, SessionKind};
