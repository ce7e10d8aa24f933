//! The labels every sandbox container carries, so the gateway can find, match and prune its
//! containers with nothing but the engine's own records.

use std::collections::HashMap;

use crate::spec::SandboxSpec;

pub const SANDBOX: &str = "openclaw.sandbox";
/// OpenClaw's name for the scope key label (it held the session key before scopes existed).
pub const SCOPE_KEY: &str = "openclaw.sessionKey";
pub const CONFIG_HASH: &str = "openclaw.configHash";
pub const CREATED_AT_MS: &str = "openclaw.createdAtMs";
/// Docker labels cannot change after creation, so this is the last use known when the
/// container was made; the manager keeps fresher times in memory.
pub const LAST_USED_AT_MS: &str = "openclaw.lastUsedAtMs";
pub const IMAGE: &str = "openclaw.image";

pub fn for_container(spec: &SandboxSpec, now_ms: u64) -> HashMap<String, String> {
    HashMap::from([
        (SANDBOX.to_string(), "1".to_string()),
        (SCOPE_KEY.to_string(), spec.scope_key.clone()),
        (CONFIG_HASH.to_string(), spec.config_hash.clone()),
        (CREATED_AT_MS.to_string(), now_ms.to_string()),
        (LAST_USED_AT_MS.to_string(), now_ms.to_string()),
        (IMAGE.to_string(), spec.docker.image.clone()),
    ])
}

/// The filter that finds our containers and nothing else.
pub fn sandbox_filter() -> String {
    format!("{SANDBOX}=1")
}
