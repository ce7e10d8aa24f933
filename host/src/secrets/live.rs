//! The gateway's resolved secrets as a swappable snapshot: resolved at start, re-resolved by
//! `secrets reload` from the same config snapshot (the config file is not read again, nothing is
//! written), and replaced whole. Consumers keep their own derived values (provider clients,
//! plugin secret books, the auth digest) and the reload replaces those too; this snapshot is what
//! the next reload compares against.

use std::sync::{Arc, PoisonError, RwLock};

use openclaw_core::config::schema::Config;
use serde_json::Value;

use super::{ResolvedSecrets, SecretError, resolve_all};
use crate::state::Env;

pub struct SecretsRuntime {
    config: Arc<Config>,
    /// The checked config document the gateway started with.
    document: Value,
    env: Env,
    current: RwLock<Arc<ResolvedSecrets>>,
    /// One reload at a time: each builds from the snapshot the previous one left.
    reloading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SecretsRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsRuntime")
            .field("current", &self.current())
            .finish_non_exhaustive()
    }
}

impl SecretsRuntime {
    pub fn new(config: Arc<Config>, document: Value, env: Env, resolved: ResolvedSecrets) -> Self {
        Self {
            config,
            document,
            env,
            current: RwLock::new(Arc::new(resolved)),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The snapshot in force.
    pub fn current(&self) -> Arc<ResolvedSecrets> {
        // Replaced whole under the lock, so a poisoned lock still holds a complete snapshot.
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Held for the whole of a reload.
    pub async fn begin_reload(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reloading.lock().await
    }

    /// Resolves every reference of the config snapshot again. Off the async threads: file reads
    /// and exec resolvers block (an exec resolver for up to its timeout).
    pub async fn resolve(&self) -> (ResolvedSecrets, Vec<SecretError>) {
        let (config, document, env) = (self.config.clone(), self.document.clone(), self.env.clone());
        match tokio::task::spawn_blocking(move || resolve_all(&config, &document, &env)).await {
            Ok(outcome) => outcome,
            Err(e) => (
                ResolvedSecrets::default(),
                vec![SecretError {
                    path: openclaw_core::config::path::JsonPath::root(),
                    provider: String::new(),
                    message: format!("resolving was interrupted: {e}"),
                    hint: Some("run `openclaw secrets reload` again".into()),
                }],
            ),
        }
    }

    /// Puts a new snapshot in force.
    pub fn replace(&self, next: ResolvedSecrets) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_core::config::path::JsonPath;
    use std::os::unix::fs::PermissionsExt;

    fn runtime_for(file: &std::path::Path) -> SecretsRuntime {
        let document = serde_json::json!({
            "secrets": {"providers": {"vault": {"source": "file", "path": file.display().to_string(), "mode": "singleValue"}}},
            "models": {"providers": {"local": {"baseUrl": "http://127.0.0.1:1/v1", "apiKey": {"source": "file", "provider": "vault", "id": "value"}}}},
        });
        let config: Config = serde_json::from_value(document.clone()).unwrap();
        let (resolved, errors) = resolve_all(&config, &document, &Env::default());
        assert!(errors.is_empty(), "{errors:?}");
        SecretsRuntime::new(Arc::new(config), document, Env::default(), resolved)
    }

    #[tokio::test]
    async fn a_reload_resolves_from_the_snapshot_and_swaps_only_when_told() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("key");
        std::fs::write(&file, "sk-first-000000\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let live = runtime_for(&file);
        let path = JsonPath::parse("models.providers.local.apiKey").unwrap();
        let before = live.current();
        assert_eq!(before.get(&path).unwrap().expose(), "sk-first-000000");

        std::fs::write(&file, "sk-second-00000\n").unwrap();
        let _held = live.begin_reload().await;
        let (next, errors) = live.resolve().await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(next.changed_from(&before), vec![path.clone()]);
        assert_eq!(
            live.current().get(&path).unwrap().expose(),
            "sk-first-000000",
            "not yet swapped"
        );
        live.replace(next);
        assert_eq!(live.current().get(&path).unwrap().expose(), "sk-second-00000");
        assert_eq!(
            before.get(&path).unwrap().expose(),
            "sk-first-000000",
            "old snapshots stay whole"
        );

        std::fs::remove_file(&file).unwrap();
        let (_, errors) = live.resolve().await;
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, path);
    }
}
