//! What `openclaw plugins install`, `update` and `pin` may do to an id, and the grant their load
//! check runs a plugin with.
//!
//! - An id belongs to the source it was installed from (`plugins.installs.<id>.sourcePath`, else
//!   its `spec`). A package with that id from anywhere else is refused unless the operator says
//!   `--replace`: a package that merely claims a popular id must not take it over.
//! - A pinned plugin (`plugins.installs.<id>.pinned`) is replaced by nothing until
//!   `openclaw plugins unpin <id>`; `--replace` does not override that.
//! - The load check (compile, instantiate, list tools) runs code nobody has reviewed yet, so it
//!   runs with no grant at all: no HTTP host, no private network, no secret, no storage, no
//!   sandbox, default limits and an empty configuration.

use serde_json::Value;

use super::grants::{
    DEFAULT_DELIVERED_BYTES_PER_MINUTE, DEFAULT_DELIVERIES_PER_MINUTE, DEFAULT_HOST_CALLS, DEFAULT_HTTP_RESPONSE_BYTES,
    DEFAULT_HTTP_TIMEOUT_MS, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, EffectiveGrant, Limits, Refusal,
};
use super::manifest::Manifest;
use crate::config::schema::plugins::InstallRecord;

/// Where a package comes from, as an install records it.
#[derive(Debug, Clone, Copy)]
pub struct NewSource<'a> {
    /// The canonical path of the directory or archive.
    pub path: &'a str,
    /// The argument as the operator typed it.
    pub spec: &'a str,
}

fn recorded_source(record: &InstallRecord) -> Option<&str> {
    record.source_path.as_deref().or(record.spec.as_deref())
}

/// Whether a package with id `id` from `source` may replace what `record` says is installed.
pub fn may_replace(
    id: &str,
    record: Option<&InstallRecord>,
    source: NewSource<'_>,
    replace: bool,
) -> Result<(), Refusal> {
    let Some(record) = record else {
        return Ok(());
    };
    let installed = format!(
        "version {} from {}",
        record.version.as_deref().unwrap_or("(unknown)"),
        recorded_source(record).unwrap_or("an unrecorded source")
    );
    if record.pinned == Some(true) {
        return Err(Refusal {
            code: "pinned",
            reason: format!("\"{id}\" is pinned ({installed}); install and update do not replace a pinned plugin"),
            fix: format!("`openclaw plugins unpin {id}` first if you mean to replace it"),
        });
    }
    let same = match (record.source_path.as_deref(), record.spec.as_deref()) {
        (Some(path), _) => path == source.path,
        (None, Some(spec)) => spec == source.spec || spec == source.path,
        (None, None) => false,
    };
    if same || replace {
        return Ok(());
    }
    Err(Refusal {
        code: "other-source",
        reason: format!(
            "\"{id}\" is installed ({installed}), and {} is another source that declares the same id",
            source.path
        ),
        fix: format!(
            "if {} is the plugin you want as \"{id}\", install it again with --replace",
            source.path
        ),
    })
}

/// The grant of a load check: nothing but the plugin's own code, under default limits.
pub fn load_check_grant(manifest: &Manifest) -> EffectiveGrant {
    EffectiveGrant {
        plugin_id: manifest.id.clone(),
        kind: manifest.kind,
        http: Vec::new(),
        private_networks: Vec::new(),
        secrets: Vec::new(),
        webhook_secret: None,
        kv_quota_bytes: 0,
        sandbox_exec: false,
        limits: Limits {
            memory_bytes: DEFAULT_MEMORY_MB * 1024 * 1024,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            host_calls: DEFAULT_HOST_CALLS,
            http_response_bytes: DEFAULT_HTTP_RESPONSE_BYTES,
            http_timeout_ms: DEFAULT_HTTP_TIMEOUT_MS,
            deliveries_per_minute: DEFAULT_DELIVERIES_PER_MINUTE,
            delivered_bytes_per_minute: DEFAULT_DELIVERED_BYTES_PER_MINUTE,
        },
        config: Value::Object(Default::default()),
        withheld: vec!["everything: this is the install check, which runs the plugin with no grant".into()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    type Case<'a> = (Option<&'a InstallRecord>, NewSource<'a>, bool, Result<(), &'static str>);

    fn record(value: Value) -> InstallRecord {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_id_belongs_to_its_source_and_a_pin_to_nobody() {
        let from_dir = record(json!({"source": "path", "sourcePath": "/src/a", "spec": "./a", "version": "1.0.0"}));
        let pinned = record(json!({"source": "archive", "sourcePath": "/pkgs/a.tgz", "pinned": true}));
        let spec_only = record(json!({"source": "npm", "spec": "@acme/a@1.0.0"}));
        let from = |path, spec| NewSource { path, spec };
        let elsewhere = from("/tmp/evil/a", "/tmp/evil/a");
        // (installed, new source, --replace, outcome)
        let cases: Vec<Case<'_>> = vec![
            (None, elsewhere, false, Ok(())),
            (Some(&from_dir), from("/src/a", "../src/a"), false, Ok(())),
            (Some(&from_dir), elsewhere, false, Err("other-source")),
            (Some(&from_dir), elsewhere, true, Ok(())),
            (Some(&pinned), from("/pkgs/a.tgz", "a.tgz"), false, Err("pinned")),
            (Some(&pinned), elsewhere, true, Err("pinned")),
            (Some(&spec_only), elsewhere, false, Err("other-source")),
            (Some(&spec_only), from("/x", "@acme/a@1.0.0"), false, Ok(())),
        ];
        for (record, source, replace, expected) in cases {
            let outcome = may_replace("a", record, source, replace);
            assert_eq!(
                outcome.as_ref().map(|_| ()).map_err(|r| r.code),
                expected,
                "{record:?} {source:?} {replace}"
            );
            if let Err(refusal) = outcome {
                assert!(refusal.reason.contains("\"a\""), "{}", refusal.reason);
                let fix = if refusal.code == "pinned" {
                    "openclaw plugins unpin a"
                } else {
                    "--replace"
                };
                assert!(refusal.fix.contains(fix), "{}", refusal.fix);
            }
        }
        let refused = may_replace("a", Some(&from_dir), elsewhere, false).unwrap_err();
        assert!(refused.reason.contains("/src/a") && refused.reason.contains("/tmp/evil/a"));
    }

    #[test]
    fn the_load_check_grants_nothing() {
        let manifest = Manifest::parse(
            "id = \"greedy\"\nversion = \"1.0.0\"\napi = \"0.1.0\"\nkind = \"tool\"\n[component]\nfile = \"g.wasm\"\n\
             [capabilities]\nhttp = [\"api.example.com\"]\nprivate-network = true\nkv-quota-bytes = 4096\nsandbox-exec = true\n\
             [[capabilities.secrets]]\nname = \"T\"\nhosts = [\"api.example.com\"]\nslots = [{ header = \"X-Key\" }]\n[limits]\nmemory-mb = 256\ntimeout-ms = 120000\n",
            "m.toml",
        )
        .unwrap();
        let grant = load_check_grant(&manifest);
        assert!(grant.http.is_empty() && grant.private_networks.is_empty() && grant.secrets.is_empty());
        assert_eq!((grant.kv_quota_bytes, grant.sandbox_exec), (0, false));
        assert_eq!(grant.limits.memory_bytes, 64 << 20);
        assert_eq!(grant.limits.timeout_ms, 10_000);
        assert_eq!(grant.config, json!({}));
    }
}
