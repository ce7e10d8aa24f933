//! Every inbound channel message crosses one pipeline: the durable journal, access control
//! (DM pairing, allowlists, group policy, mention gating), routing (bindings, session keys), the
//! agent loop in the routed session, and the reply back to the chat it came from.

pub mod journal;
pub mod pairing_service;
pub mod pairing_store;
pub mod pipeline;
