//! `secrets.*`: where SecretRefs are resolved from.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::common::SecretSource;

/// File providers read this much at most by default (1 MiB).
pub const DEFAULT_FILE_MAX_BYTES: u64 = 1024 * 1024;
/// Exec providers may print this much at most by default (1 MiB).
pub const DEFAULT_EXEC_MAX_OUTPUT_BYTES: u64 = 1024 * 1024;
/// Default timeout for file and exec providers.
pub const DEFAULT_PROVIDER_TIMEOUT_MS: u64 = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum FileMode {
    /// The file is a JSON document; the ref id is a JSON pointer into it.
    #[serde(rename = "json")]
    Json,
    /// The whole file (trailing newline removed) is the secret; the ref id is `"value"`.
    #[serde(rename = "singleValue")]
    SingleValue,
}

/// One entry of `secrets.providers`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "source", rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretProvider {
    /// Environment variables of the gateway process.
    Env {
        /// Only these variable names may be read through this provider.
        #[serde(default)]
        allowlist: Option<Vec<String>>,
    },
    /// A private file owned by the gateway user.
    File {
        /// Absolute path (`~` allowed). The file must not be readable or writable by group or others.
        #[schemars(length(min = 1))]
        path: String,
        #[serde(default)]
        #[schemars(extend("default" = "json"))]
        mode: Option<FileMode>,
        #[serde(default, rename = "timeoutMs")]
        #[schemars(range(min = 1, max = 120000), extend("default" = 5000))]
        timeout_ms: Option<u64>,
        #[serde(default, rename = "maxBytes")]
        #[schemars(range(min = 1, max = 20971520), extend("default" = 1048576))]
        max_bytes: Option<u64>,
        /// Skip the ownership and permission checks (not recommended).
        #[serde(default, rename = "allowInsecurePath")]
        allow_insecure_path: Option<bool>,
    },
    /// A resolver command, run without a shell and with a minimal environment.
    Exec {
        /// Absolute path of the resolver.
        #[schemars(length(min = 1))]
        command: String,
        #[serde(default)]
        args: Option<Vec<String>>,
        #[serde(default, rename = "timeoutMs")]
        #[schemars(range(min = 1, max = 120000), extend("default" = 5000))]
        timeout_ms: Option<u64>,
        #[serde(default, rename = "noOutputTimeoutMs")]
        #[schemars(range(min = 1, max = 120000))]
        no_output_timeout_ms: Option<u64>,
        #[serde(default, rename = "maxOutputBytes")]
        #[schemars(range(min = 1, max = 20971520), extend("default" = 1048576))]
        max_output_bytes: Option<u64>,
        /// Require the JSON protocol on stdout (default). With `false` and a single id, raw
        /// stdout is the value.
        #[serde(default, rename = "jsonOnly")]
        #[schemars(extend("default" = true))]
        json_only: Option<bool>,
        /// Variables set for the resolver.
        #[serde(default)]
        env: Option<BTreeMap<String, String>>,
        /// Variables copied from the gateway's environment (nothing else is inherited).
        #[serde(default, rename = "passEnv")]
        pass_env: Option<Vec<String>>,
        /// The command must live inside one of these directories.
        #[serde(default, rename = "trustedDirs")]
        trusted_dirs: Option<Vec<String>>,
        #[serde(default, rename = "allowInsecurePath")]
        allow_insecure_path: Option<bool>,
        #[serde(default, rename = "allowSymlinkCommand")]
        allow_symlink_command: Option<bool>,
    },
}

impl SecretProvider {
    pub fn source(&self) -> SecretSource {
        match self {
            Self::Env { .. } => SecretSource::Env,
            Self::File { .. } => SecretSource::File,
            Self::Exec { .. } => SecretSource::Exec,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretDefaults {
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]{0,63}$"))]
    pub env: Option<String>,
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]{0,63}$"))]
    pub file: Option<String>,
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]{0,63}$"))]
    pub exec: Option<String>,
}

impl SecretDefaults {
    /// The provider alias a ref without `provider` uses.
    pub fn alias_for(&self, source: SecretSource) -> &str {
        let configured = match source {
            SecretSource::Env => self.env.as_deref(),
            SecretSource::File => self.file.as_deref(),
            SecretSource::Exec => self.exec.as_deref(),
        };
        configured.unwrap_or("default")
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretResolution {
    #[schemars(range(min = 1, max = 16))]
    pub max_provider_concurrency: Option<u32>,
    #[schemars(range(min = 1, max = 4096))]
    pub max_refs_per_provider: Option<u32>,
    #[schemars(range(min = 1, max = 5242880))]
    pub max_batch_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Named providers; the alias `default` is implied for `env` when absent.
    pub providers: Option<BTreeMap<String, SecretProvider>>,
    pub defaults: Option<SecretDefaults>,
    pub resolution: Option<SecretResolution>,
}
