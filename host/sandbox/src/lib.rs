//! Docker sandboxes for heavy tools, through the Docker Engine API.
//!
//! - [`spec`]: pure: from `agents.defaults.sandbox` and an agent's `sandbox` to a
//!   [`spec::SandboxDecision`] (host, or a [`spec::SandboxSpec`] with every hardened setting).
//! - [`endpoint`] and [`engine`]: which daemon, and a version-negotiated connection to it.
//! - [`manager`]: containers per scope, exec with caps and deadlines, list, remove, prune.
//! - [`registry`]: the persisted list of containers and their last use (`containers.json`).
//! - [`test_image`]: a small image built with no registry, for tests.

pub mod endpoint;
pub mod engine;
pub mod env;
pub mod error;
pub mod exec;
pub mod labels;
pub mod manager;
pub mod prune;
pub mod registry;
pub mod spec;
pub mod test_image;

pub use endpoint::EngineEndpoint;
pub use engine::Engine;
pub use error::SandboxError;
pub use exec::{ExecOutput, ExecRequest, OutputStream};
pub use manager::{EnsureOutcome, Ensured, SandboxInfo, SandboxManager};
pub use registry::{Registry, RegistryEntry};
pub use spec::{SandboxContext, SandboxDecision, SandboxSpec, resolve};
