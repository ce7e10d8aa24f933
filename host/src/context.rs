//! What every command and the gateway get: the environment snapshot and where the state lives.

use crate::state::{Env, StatePaths};

/// The environment snapshot taken at start-up and the state paths resolved from it.
pub struct Context {
    pub env: Env,
    pub paths: StatePaths,
}
