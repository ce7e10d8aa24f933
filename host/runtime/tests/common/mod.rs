//! A runtime in a private temporary state directory, and plugins loaded the way the gateway
//! loads them: manifest parsed, grant decided by the pure policy from an operator config.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use openclaw_core::config::schema::plugins::PluginsConfig;
use openclaw_core::plugins::grants::{Decision, decide};
use openclaw_core::plugins::manifest::Manifest;
use openclaw_runtime::egress::Resolve;
use openclaw_runtime::{CallContext, LoadError, LoadedPlugin, PluginSource, Runtime, RuntimeOptions};
use secrecy::SecretString;
use serde_json::Value;

pub struct Harness {
    pub runtime: Runtime,
    pub state: tempfile::TempDir,
}

impl Harness {
    pub fn new() -> Self {
        Self::build(|_| {})
    }

    pub fn with_resolver(resolver: impl Resolve) -> Self {
        let resolver: Arc<dyn Resolve> = Arc::new(resolver);
        Self::build(move |o| o.resolver = resolver)
    }

    pub fn build(configure: impl FnOnce(&mut RuntimeOptions)) -> Self {
        let state = tempfile::tempdir().unwrap();
        let mut options = RuntimeOptions::under_state_dir(state.path());
        // Tests load many plugins in parallel; a small pool keeps the reservation modest.
        options.engine.max_instances = 64;
        configure(&mut options);
        Self {
            runtime: Runtime::new(options).unwrap(),
            state,
        }
    }

    /// Loads `package` with `manifest` under the operator's `plugins` config.
    pub async fn try_load(
        &self,
        package: &str,
        manifest: &str,
        plugins: Value,
        secrets: &[(&str, &str)],
    ) -> (Result<Arc<LoadedPlugin>, LoadError>, tempfile::TempDir) {
        let dir = openclaw_test_support::plugin_dir(package, manifest);
        let result = self.load_dir(dir.path(), plugins, secrets, None).await;
        (result, dir)
    }

    pub async fn load(
        &self,
        package: &str,
        manifest: &str,
        plugins: Value,
        secrets: &[(&str, &str)],
    ) -> (Arc<LoadedPlugin>, tempfile::TempDir) {
        let (result, dir) = self.try_load(package, manifest, plugins, secrets).await;
        (result.unwrap_or_else(|e| panic!("load failed: {e}")), dir)
    }

    pub async fn load_dir(
        &self,
        dir: &std::path::Path,
        plugins: Value,
        secrets: &[(&str, &str)],
        pinned: Option<String>,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let text = std::fs::read_to_string(dir.join("openclaw-plugin.toml")).unwrap();
        let manifest = Manifest::parse(&text, "openclaw-plugin.toml").unwrap();
        let plugins: PluginsConfig = serde_json::from_value(plugins).unwrap();
        let grant = match decide(&manifest, &plugins) {
            Decision::Load(grant) => *grant,
            Decision::Refuse(refusal) => panic!("grant refused: {refusal:?}"),
        };
        let values: BTreeMap<String, SecretString> = secrets
            .iter()
            .map(|(k, v)| (k.to_string(), SecretString::from(v.to_string())))
            .collect();
        let source = PluginSource {
            dir: dir.to_path_buf(),
            manifest,
            pinned_sha256: pinned,
        };
        self.runtime.load(&source, grant, values).await
    }
}

pub fn context() -> CallContext {
    CallContext {
        agent_id: "main".into(),
        session_key: "agent:main:main".into(),
        channel: None,
        call_id: "test-call".into(),
        sandbox_exec: true,
    }
}

pub const HELLO_MANIFEST: &str = r#"
id = "hello-tool"
version = "0.1.0"
api = "0.1.0"
kind = "tool"
[component]
file = "hello_tool.wasm"
[capabilities]
kv-quota-bytes = 65536
"#;

/// The well-behaved plugin every hostile test runs beside.
pub async fn hello(harness: &Harness) -> (Arc<LoadedPlugin>, tempfile::TempDir) {
    harness
        .load(
            "hello-tool",
            HELLO_MANIFEST,
            serde_json::json!({"allow": ["hello-tool"]}),
            &[],
        )
        .await
}

/// Calls hello while `attack` runs: the neighbour must be served normally.
pub async fn beside<F: std::future::Future>(harness: &Harness, hello: &LoadedPlugin, attack: F) -> F::Output {
    let neighbour = async {
        // Start after the attack is under way.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        harness
            .runtime
            .call_tool(hello, "hello", r#"{"name":"neighbour"}"#, &context())
            .await
    };
    let (outcome, neighbour) = tokio::join!(attack, neighbour);
    let neighbour = neighbour.unwrap_or_else(|e| panic!("the well-behaved plugin was affected: {e}"));
    assert!(neighbour.contains("neighbour"), "{neighbour}");
    outcome
}

/// A hostile manifest with `extra` appended to `[capabilities]`.
pub fn hostile_manifest(id: &str, capabilities: &str) -> String {
    format!(
        r#"
id = "{id}"
version = "0.1.0"
api = "0.1.0"
kind = "tool"
[component]
file = "hostile_tool.wasm"
[capabilities]
{capabilities}
"#
    )
}

/// One event the runtime logged, as a test sees it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub target: String,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

impl Logged {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

static LOGGED: std::sync::Mutex<Vec<Logged>> = std::sync::Mutex::new(Vec::new());

struct Capture;

#[derive(Default)]
struct Visitor(Vec<(String, String)>, String);

impl tracing::field::Visit for Visitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.1 = text;
        } else {
            self.0
                .push((field.name().to_string(), text.trim_matches('"').to_string()));
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.1 = value.to_string();
        } else {
            self.0.push((field.name().to_string(), value.to_string()));
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut visitor = Visitor::default();
        event.record(&mut visitor);
        LOGGED.lock().unwrap_or_else(|e| e.into_inner()).push(Logged {
            target: event.metadata().target().to_string(),
            message: visitor.1,
            fields: visitor.0,
        });
    }
}

/// Starts capturing every event of the test process (once); returns those logged for `plugin`.
pub fn logged_for(plugin: &str) -> Vec<Logged> {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture));
    });
    LOGGED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|l| l.field("plugin") == Some(plugin))
        .cloned()
        .collect()
}
