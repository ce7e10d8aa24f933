//! Which agent and which session a message belongs to. Pure: keys are built and parsed from
//! strings and config, nothing is looked up on disk.

pub mod session_key;
