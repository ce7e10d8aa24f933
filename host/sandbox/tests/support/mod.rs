//! Shared by the real-daemon tests: a connected engine (or a failure naming why), the busybox
//! test image built once, and specs made from config JSON the way the gateway will make them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod tls;

use std::path::{Path, PathBuf};

use openclaw_core::config::schema::sandbox::SandboxConfig;
use openclaw_sandbox::endpoint::DEFAULT_SOCKET;
use openclaw_sandbox::test_image::{TEST_IMAGE, ensure_test_image};
use openclaw_sandbox::{Engine, EngineEndpoint, SandboxContext, SandboxDecision, SandboxManager, SandboxSpec, resolve};

static IMAGE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Never skips: a missing daemon is a failure with the reason.
pub async fn engine() -> Engine {
    match Engine::connect(EngineEndpoint::Unix(PathBuf::from(DEFAULT_SOCKET))).await {
        Ok(engine) => engine,
        Err(e) => panic!("the sandbox tests need a running Docker daemon and were not skipped: {e}"),
    }
}

/// A manager whose containers all start with `prefix`; leftovers of an earlier failed run with
/// that prefix are removed first.
pub async fn manager(prefix: &str) -> SandboxManager {
    let engine = engine().await;
    IMAGE
        .get_or_init(|| async {
            let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("busybox-static");
            if let Err(e) = ensure_test_image(&engine, TEST_IMAGE, &cache).await {
                panic!("{e}");
            }
        })
        .await;
    let manager = SandboxManager::new(engine);
    manager.remove_orphans(Some(prefix), |_| false).await.unwrap();
    manager
}

pub async fn cleanup(manager: &SandboxManager, prefix: &str) {
    manager.remove_orphans(Some(prefix), |_| false).await.unwrap();
}

pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("agent")).unwrap();
        Self { dir }
    }

    pub fn agent(&self) -> PathBuf {
        self.dir.path().join("agent")
    }

    /// A spec for `session` from a `sandbox` config block (JSON). The test image and the
    /// container prefix are filled in unless the block names them.
    pub fn spec(&self, prefix: &str, session: &str, mut block: serde_json::Value) -> SandboxSpec {
        let docker = block
            .as_object_mut()
            .unwrap()
            .entry("docker")
            .or_insert(serde_json::json!({}));
        let docker = docker.as_object_mut().unwrap();
        docker.entry("image").or_insert(TEST_IMAGE.into());
        docker.entry("containerPrefix").or_insert(prefix.into());
        let block = block.as_object_mut().unwrap();
        block.entry("mode").or_insert("all".into());
        block
            .entry("workspaceRoot")
            .or_insert(self.dir.path().join("sandboxes").display().to_string().into());
        let config: SandboxConfig = serde_json::from_value(serde_json::Value::Object(block.clone())).unwrap();
        let agent = self.agent();
        let ctx = SandboxContext {
            agent_id: "main",
            session_key: session,
            is_main_session: false,
            agent_workspace: &agent,
            home: self.dir.path(),
        };
        match resolve(Some(&config), None, &ctx).unwrap() {
            SandboxDecision::Sandboxed(spec) => *spec,
            SandboxDecision::Host { reason } => panic!("expected a sandbox, got {reason}"),
        }
    }
}
