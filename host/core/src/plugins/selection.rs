//! Which discovered plugin is used for each id, and whether it may load. Pure: the I/O that
//! finds candidates (directories, manifests, permissions) happens in the host.
//!
//! Discovery follows OpenClaw's order: `plugins.load.paths`, the workspace's
//! `.openclaw/extensions`, `~/.openclaw/extensions`, then bundled plugins; the first candidate for
//! an id wins and later ones are reported as shadowed. On top of the grant decision:
//! - a candidate whose files others could modify does not load (`unsafe-path`);
//! - a workspace plugin needs `plugins.entries.<id>.enabled: true` as well as `plugins.allow`,
//!   because a cloned repository must not be able to bring code that runs (OpenClaw #11031);
//! - when `plugins.installs.<id>` records where the plugin was installed, a copy found anywhere
//!   else does not load in its place (`shadowed-install`), and the recorded digest is the pin.

use serde::Serialize;

use super::grants::{Decision, EffectiveGrant, Refusal, decide};
use super::manifest::Manifest;
use crate::config::schema::plugins::PluginsConfig;

/// Where a candidate was found, in discovery order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// `plugins.load.paths`.
    Config,
    /// `<workspace>/.openclaw/extensions`.
    Workspace,
    /// `~/.openclaw/extensions` (where `openclaw plugins install` puts plugins).
    Global,
    /// Shipped with the gateway.
    Bundled,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Workspace => "workspace",
            Self::Global => "global",
            Self::Bundled => "bundled",
        }
    }
}

/// A plugin directory found on disk.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// The id from the manifest, or the directory name when the manifest is unreadable.
    pub id: String,
    pub origin: Origin,
    /// The plugin directory, canonicalised by the host.
    pub dir: String,
    #[serde(skip)]
    pub manifest: Result<Manifest, String>,
    /// Why others could change its files (`None`: it is private enough).
    pub unsafe_reason: Option<String>,
}

/// The outcome for one id.
#[derive(Debug, Clone, Serialize)]
pub struct Selected {
    pub candidate: Candidate,
    /// The digest the component must have: from the install record when there is one.
    pub pinned_sha256: Option<String>,
    pub decision: Decision,
    /// Other candidates with the same id, found later, that do not load.
    pub shadowed: Vec<Candidate>,
}

impl Selected {
    pub fn grant(&self) -> Option<&EffectiveGrant> {
        match &self.decision {
            Decision::Load(grant) => Some(grant),
            Decision::Refuse(_) => None,
        }
    }
}

fn refuse(code: &'static str, reason: String, fix: String) -> Decision {
    Decision::Refuse(Refusal { code, reason, fix })
}

fn same_dir(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Picks a candidate per id (first in discovery order) and decides whether it loads.
/// `candidates` must already be in discovery order; the result keeps that order.
pub fn select(candidates: Vec<Candidate>, plugins: &PluginsConfig) -> Vec<Selected> {
    let mut selected: Vec<Selected> = Vec::new();
    for candidate in candidates {
        if let Some(existing) = selected.iter_mut().find(|s| s.candidate.id == candidate.id) {
            existing.shadowed.push(candidate);
            continue;
        }
        let id = candidate.id.clone();
        let record = plugins.installs.as_ref().and_then(|i| i.get(&id));
        let entry_enabled = plugins
            .entries
            .as_ref()
            .and_then(|e| e.get(&id))
            .and_then(|e| e.enabled);
        let decision = match &candidate.manifest {
            Err(message) => refuse(
                "invalid-manifest",
                format!("{}/openclaw-plugin.toml: {message}", candidate.dir),
                "fix the manifest or remove the directory".into(),
            ),
            Ok(_) if candidate.unsafe_reason.is_some() => refuse(
                "unsafe-path",
                candidate.unsafe_reason.clone().unwrap_or_default(),
                format!("make {} and its files writable only by you (chmod go-w)", candidate.dir),
            ),
            Ok(_)
                if record
                    .and_then(|r| r.install_path.as_deref())
                    .is_some_and(|installed| !same_dir(installed, &candidate.dir)) =>
            {
                let installed = record.and_then(|r| r.install_path.clone()).unwrap_or_default();
                refuse(
                    "shadowed-install",
                    format!(
                        "\"{id}\" is installed at {installed}, but a different copy at {} ({} origin) comes first",
                        candidate.dir,
                        candidate.origin.as_str()
                    ),
                    format!("remove {} or `openclaw plugins uninstall {id}`", candidate.dir),
                )
            }
            Ok(_) if candidate.origin == Origin::Workspace && entry_enabled != Some(true) => refuse(
                "workspace-not-enabled",
                format!(
                    "\"{id}\" comes from the workspace ({}); workspace plugins stay off until enabled explicitly",
                    candidate.dir
                ),
                format!("review it, then `openclaw plugins enable {id}`"),
            ),
            Ok(manifest) => decide(manifest, plugins),
        };
        let pinned_sha256 = record.and_then(|r| r.sha256.clone());
        selected.push(Selected {
            candidate,
            pinned_sha256,
            decision,
            shadowed: Vec::new(),
        });
    }
    selected
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(id: &str) -> Manifest {
        Manifest::parse(
            &format!(
                "id = \"{id}\"\nversion = \"1.0.0\"\napi = \"0.1.0\"\nkind = \"tool\"\n[component]\nfile = \"p.wasm\"\n"
            ),
            "m.toml",
        )
        .unwrap()
    }

    fn candidate(id: &str, origin: Origin, dir: &str) -> Candidate {
        Candidate {
            id: id.into(),
            origin,
            dir: dir.into(),
            manifest: Ok(manifest(id)),
            unsafe_reason: None,
        }
    }

    fn codes(selected: &[Selected]) -> Vec<(String, &'static str)> {
        selected
            .iter()
            .map(|s| {
                let code = match &s.decision {
                    Decision::Load(_) => "load",
                    Decision::Refuse(r) => r.code,
                };
                (s.candidate.id.clone(), code)
            })
            .collect()
    }

    fn plugins(value: serde_json::Value) -> PluginsConfig {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn first_candidate_wins_and_the_rest_are_shadowed() {
        let selected = select(
            vec![
                candidate("a", Origin::Config, "/dev/a"),
                candidate("b", Origin::Global, "/home/u/.openclaw/extensions/b"),
                candidate("a", Origin::Global, "/home/u/.openclaw/extensions/a"),
                candidate("a", Origin::Bundled, "/usr/share/openclaw/plugins/a"),
            ],
            &plugins(json!({"allow": ["a", "b"]})),
        );
        assert_eq!(codes(&selected), [("a".into(), "load"), ("b".into(), "load")]);
        assert_eq!(selected[0].candidate.dir, "/dev/a");
        assert_eq!(selected[0].shadowed.len(), 2);
    }

    #[test]
    fn host_level_refusals() {
        let mut bad_manifest = candidate("broken", Origin::Global, "/x/broken");
        bad_manifest.manifest = Err("line 1, column 1: expected a table".into());
        let mut writable = candidate("open", Origin::Global, "/x/open");
        writable.unsafe_reason = Some("/x/open is writable by others".into());
        let cases = vec![
            bad_manifest,
            writable,
            candidate("ws", Origin::Workspace, "/proj/.openclaw/extensions/ws"),
            candidate("ws-ok", Origin::Workspace, "/proj/.openclaw/extensions/ws-ok"),
            candidate("inst", Origin::Workspace, "/proj/.openclaw/extensions/inst"),
            candidate("inst2", Origin::Global, "/home/u/.openclaw/extensions/inst2/"),
        ];
        let config = plugins(json!({
            "allow": ["broken", "open", "ws", "ws-ok", "inst", "inst2"],
            "entries": {"ws-ok": {"enabled": true}, "inst": {"enabled": true}},
            "installs": {
                "inst": {"source": "path", "installPath": "/home/u/.openclaw/extensions/inst", "sha256": "a".repeat(64)},
                "inst2": {"source": "archive", "installPath": "/home/u/.openclaw/extensions/inst2", "sha256": "b".repeat(64)}
            }
        }));
        let selected = select(cases, &config);
        assert_eq!(
            codes(&selected),
            [
                ("broken".into(), "invalid-manifest"),
                ("open".into(), "unsafe-path"),
                ("ws".into(), "workspace-not-enabled"),
                ("ws-ok".into(), "load"),
                ("inst".into(), "shadowed-install"),
                ("inst2".into(), "load"),
            ]
        );
        assert_eq!(selected[5].pinned_sha256.as_deref(), Some("b".repeat(64).as_str()));
        // Grant refusals still apply after the host-level checks.
        let none = select(vec![candidate("a", Origin::Global, "/a")], &plugins(json!({})));
        assert_eq!(codes(&none), [("a".into(), "not-allowed")]);
    }
}
