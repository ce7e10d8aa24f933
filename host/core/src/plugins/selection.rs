//! Which discovered plugin is used for each id, and whether it may load. Pure: the I/O that
//! finds candidates (directories, manifests, digests, permissions) happens in the host.
//!
//! Discovery searches OpenClaw's roots in its order: `plugins.load.paths`, the workspace's
//! `.openclaw/extensions`, `~/.openclaw/extensions`, then bundled plugins. Unlike OpenClaw, the
//! order never decides who owns an id:
//! - two directories declaring the same id are a refusal naming both (`duplicate-id`): neither
//!   loads until one is left, even when an install record names one of them, because the copy
//!   that would otherwise lose is exactly what an impostor looks like, and only the operator
//!   knows which one is theirs (the same directory reached from two roots is one plugin);
//! - a candidate whose files others could modify does not load (`unsafe-path`);
//! - when `plugins.installs.<id>` records where the plugin is, a copy found anywhere else does
//!   not load in its place (`install-path-mismatch`), the recorded component digest is checked
//!   at every load, and the recorded manifest digest here (`manifest-changed`);
//! - a workspace plugin (the agent can write the workspace) loads only when the operator pinned
//!   its digests in `plugins.installs.<id>` (`workspace-not-pinned`), because a cloned repository
//!   must not be able to bring code that runs (OpenClaw #11031).
//!
//! OpenClaw JavaScript plugins (`openclaw.plugin.json`) found in the same roots never load here
//! and are reported as such; `plugins.allow` and `plugins.entries` ids that match nothing found
//! are warnings.

use serde::Serialize;

use super::grants::{Decision, EffectiveGrant, Refusal, decide};
use super::manifest::Manifest;
use crate::config::schema::plugins::{InstallRecord, PluginsConfig};
use crate::config::validate::closest;

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
    /// SHA-256 of the manifest file's bytes, the same bytes `manifest` was parsed from (`None`
    /// when it could not be read or parsed).
    pub manifest_sha256: Option<String>,
    /// Why others could change its files (`None`: it is private enough).
    pub unsafe_reason: Option<String>,
}

/// An OpenClaw JavaScript plugin (a directory with `openclaw.plugin.json`): found and
/// reported, never loaded.
#[derive(Debug, Clone, Serialize)]
pub struct ForeignPlugin {
    /// The manifest's `id`, or the directory name when it has none.
    pub id: String,
    pub name: Option<String>,
    pub version: Option<String>,
    pub origin: Origin,
    pub dir: String,
}

/// `status` of an OpenClaw JavaScript plugin.
pub const NOT_WEBASSEMBLY: &str = "not-webassembly";

impl ForeignPlugin {
    /// Why it does not load and what to do instead.
    pub fn refusal(&self, plugins: &PluginsConfig) -> Refusal {
        let id = &self.id;
        let named = if plugins.allow.iter().flatten().any(|a| a == id) {
            " (plugins.allow names it)"
        } else {
            ""
        };
        Refusal {
            code: NOT_WEBASSEMBLY,
            reason: format!(
                "\"{id}\" at {} is an OpenClaw JavaScript plugin (openclaw.plugin.json); this gateway runs \
                 WebAssembly components only, so it does not load{named}",
                self.dir
            ),
            fix: format!(
                "look for a WebAssembly build of \"{id}\" (a directory with openclaw-plugin.toml) or build one with \
                 openclaw-plugin-sdk; or keep running it under OpenClaw"
            ),
        }
    }
}

/// The outcome for one id.
#[derive(Debug, Clone, Serialize)]
pub struct Selected {
    /// The candidate that loads, or (when refused) the first one found.
    pub candidate: Candidate,
    /// The digest the component must have: from the install record when there is one.
    pub pinned_sha256: Option<String>,
    pub decision: Decision,
    /// Other directories declaring the same id. When there are any, nothing loads for the id.
    pub duplicates: Vec<Candidate>,
}

impl Selected {
    pub fn grant(&self) -> Option<&EffectiveGrant> {
        match &self.decision {
            Decision::Load(grant) => Some(grant),
            Decision::Refuse(_) => None,
        }
    }
}

/// Something the operator should hear about, though nothing is refused because of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
    pub fix: String,
}

/// Everything discovery found, decided.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    /// One per id, in discovery order.
    pub plugins: Vec<Selected>,
    pub foreign: Vec<ForeignPlugin>,
    pub warnings: Vec<Warning>,
}

impl Discovery {
    /// The outcome for `id`, if a WebAssembly plugin declares it.
    pub fn find(&self, id: &str) -> Option<&Selected> {
        self.plugins.iter().find(|s| s.candidate.id == id)
    }
}

/// Refusal codes that mean something is wrong with what is on disk (rather than a plugin the
/// operator simply has not allowed): worth telling the operator loudly.
pub const IDENTITY_REFUSALS: &[&str] = &[
    "duplicate-id",
    "invalid-manifest",
    "unsafe-path",
    "install-path-mismatch",
    "manifest-changed",
    "workspace-not-pinned",
];

pub fn is_identity_refusal(code: &str) -> bool {
    IDENTITY_REFUSALS.contains(&code)
}

fn refuse(code: &'static str, reason: String, fix: String) -> Decision {
    Decision::Refuse(Refusal { code, reason, fix })
}

/// Whether two canonical directory paths name the same directory.
pub fn same_dir(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn where_found(candidate: &Candidate) -> String {
    format!("{} ({})", candidate.dir, candidate.origin.as_str())
}

/// "a, b and c".
fn listing(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn duplicate_refusal(id: &str, group: &[&Candidate], installed_at: Option<&str>) -> Decision {
    let found: Vec<String> = group.iter().map(|c| where_found(c)).collect();
    let count = if group.len() == 2 {
        "two".to_string()
    } else {
        group.len().to_string()
    };
    let installed = installed_at.filter(|path| group.iter().any(|c| same_dir(path, &c.dir)));
    let mut reason = format!("{count} plugins declare the id \"{id}\": {}", listing(&found));
    let fix = match installed {
        Some(path) => {
            reason.push_str(&format!("; plugins.installs.{id} records {path} as the installed one"));
            let others: Vec<String> = group
                .iter()
                .filter(|c| !same_dir(path, &c.dir))
                .map(|c| c.dir.clone())
                .collect();
            format!(
                "nothing loads as \"{id}\" until one copy is left: delete {} if you did not put it there, or \
                 `openclaw plugins uninstall {id}` to give up the installed one",
                listing(&others)
            )
        }
        None => format!(
            "nothing loads as \"{id}\" until one copy is left: delete or move all but one of {} (or take its \
             directory out of plugins.load.paths)",
            listing(&group.iter().map(|c| c.dir.clone()).collect::<Vec<_>>())
        ),
    };
    refuse("duplicate-id", reason, fix)
}

fn decide_one(candidate: Candidate, duplicates: Vec<Candidate>, plugins: &PluginsConfig) -> Selected {
    let id = candidate.id.clone();
    let record: Option<&InstallRecord> = plugins.installs.as_ref().and_then(|i| i.get(&id));
    let installed_at = record.and_then(|r| r.install_path.as_deref());
    let at_record = installed_at.is_some_and(|path| same_dir(path, &candidate.dir));
    let decision = if !duplicates.is_empty() {
        let group: Vec<&Candidate> = std::iter::once(&candidate).chain(duplicates.iter()).collect();
        duplicate_refusal(&id, &group, installed_at)
    } else {
        match &candidate.manifest {
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
            Ok(_) if installed_at.is_some() && !at_record => refuse(
                "install-path-mismatch",
                format!(
                    "\"{id}\" is installed at {}, but the copy found is {}; only the installed copy loads",
                    installed_at.unwrap_or_default(),
                    where_found(&candidate)
                ),
                format!(
                    "reinstall \"{id}\", or `openclaw plugins uninstall {id}` and then pin (`openclaw plugins pin {id}`) \
                     or install the copy at {}",
                    candidate.dir
                ),
            ),
            Ok(_) if at_record && manifest_changed(record, &candidate) => refuse(
                "manifest-changed",
                format!(
                    "{}/openclaw-plugin.toml changed since it was installed or pinned (sha256 {}, recorded {} in \
                     plugins.installs.{id}.manifestSha256)",
                    candidate.dir,
                    candidate.manifest_sha256.as_deref().unwrap_or("unknown"),
                    record.and_then(|r| r.manifest_sha256.as_deref()).unwrap_or_default(),
                ),
                format!(
                    "if you changed it, review it and `openclaw plugins pin {id}` (or reinstall it); otherwise restore it"
                ),
            ),
            Ok(_)
                if candidate.origin == Origin::Workspace
                    && !(at_record && record.is_some_and(|r| r.sha256.is_some())) =>
            {
                refuse(
                    "workspace-not-pinned",
                    format!(
                        "\"{id}\" comes from the workspace ({}), which the agent can write; a workspace plugin loads \
                         only with its digests pinned in plugins.installs.{id}",
                        candidate.dir
                    ),
                    format!("review it, then `openclaw plugins pin {id}`"),
                )
            }
            Ok(manifest) => decide(manifest, plugins),
        }
    };
    // A record for another directory pins nothing here (that candidate is refused anyway).
    let pinned_sha256 = record
        .filter(|_| installed_at.is_none() || at_record)
        .and_then(|r| r.sha256.clone());
    Selected {
        candidate,
        pinned_sha256,
        decision,
        duplicates,
    }
}

fn manifest_changed(record: Option<&InstallRecord>, candidate: &Candidate) -> bool {
    match record.and_then(|r| r.manifest_sha256.as_deref()) {
        Some(recorded) => !candidate
            .manifest_sha256
            .as_deref()
            .is_some_and(|actual| actual.eq_ignore_ascii_case(recorded)),
        None => false,
    }
}

/// Decides every id. `candidates` must be in discovery order; the result keeps that order.
pub fn select(candidates: Vec<Candidate>, plugins: &PluginsConfig) -> Vec<Selected> {
    // The same directory reached from two roots (a load path naming an installed plugin) is one
    // plugin, found first where it was found first.
    let mut unique: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        if !unique.iter().any(|u| same_dir(&u.dir, &candidate.dir)) {
            unique.push(candidate);
        }
    }
    let mut groups: Vec<(Candidate, Vec<Candidate>)> = Vec::new();
    for candidate in unique {
        match groups.iter_mut().find(|(first, _)| first.id == candidate.id) {
            Some((_, rest)) => rest.push(candidate),
            None => groups.push((candidate, Vec::new())),
        }
    }
    groups
        .into_iter()
        .map(|(candidate, duplicates)| decide_one(candidate, duplicates, plugins))
        .collect()
}

/// Ids the operator named in `plugins.allow` or `plugins.entries` that nothing found declares
/// (a typo, or a plugin that is not installed): warned about, since the setting does nothing.
pub fn unknown_ids(plugins: &PluginsConfig, selected: &[Selected], foreign: &[ForeignPlugin]) -> Vec<Warning> {
    let known: Vec<&str> = selected
        .iter()
        .map(|s| s.candidate.id.as_str())
        .chain(foreign.iter().map(|f| f.id.as_str()))
        .collect();
    let allowed = plugins.allow.iter().flatten().map(|id| ("plugins.allow names", id));
    let entries = plugins
        .entries
        .iter()
        .flat_map(|e| e.keys())
        .map(|id| ("plugins.entries has", id));
    allowed
        .chain(entries)
        .filter(|(_, id)| !known.contains(&id.as_str()))
        .map(|(setting, id)| {
            let key = if setting.starts_with("plugins.allow") {
                "plugins.allow".to_string()
            } else {
                format!("plugins.entries.{id}")
            };
            let fix = match closest(id, known.iter().copied()) {
                Some(near) => format!("did you mean \"{near}\"? Fix the id in {key}, or remove it"),
                None => {
                    format!("install the plugin (`openclaw plugins install <dir|package>`), or remove it from {key}")
                }
            };
            Warning {
                code: "unknown-plugin-id",
                message: format!("{setting} \"{id}\", but no plugin with that id was found"),
                fix,
            }
        })
        .collect()
}

/// Selection, the JavaScript plugins found, and the warnings about both.
pub fn discover(candidates: Vec<Candidate>, foreign: Vec<ForeignPlugin>, plugins: &PluginsConfig) -> Discovery {
    let selected = select(candidates, plugins);
    let warnings = unknown_ids(plugins, &selected, &foreign);
    Discovery {
        plugins: selected,
        foreign,
        warnings,
    }
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
            manifest_sha256: Some("m".repeat(64)),
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

    fn refusal(selected: &Selected) -> &Refusal {
        match &selected.decision {
            Decision::Refuse(r) => r,
            Decision::Load(_) => panic!("{} loads", selected.candidate.id),
        }
    }

    fn plugins(value: serde_json::Value) -> PluginsConfig {
        serde_json::from_value(value).unwrap()
    }

    const HOME: &str = "/home/u/.openclaw/extensions";

    #[test]
    fn one_id_in_two_directories_loads_from_neither_and_names_both() {
        let installed = format!("{HOME}/a");
        let cases = [
            // (candidates, install record of "a", what the refusal must name)
            (
                vec![
                    candidate("a", Origin::Config, "/dev/a"),
                    candidate("a", Origin::Config, "/dev/a-copy"),
                ],
                None,
                vec!["/dev/a (config)", "/dev/a-copy (config)"],
            ),
            (
                vec![
                    candidate("a", Origin::Workspace, "/proj/.openclaw/extensions/a"),
                    candidate("a", Origin::Global, &installed),
                ],
                Some(installed.clone()),
                vec![
                    "/proj/.openclaw/extensions/a (workspace)",
                    "records /home/u/.openclaw/extensions/a",
                ],
            ),
            (
                vec![
                    candidate("a", Origin::Global, &installed),
                    candidate("a", Origin::Bundled, "/usr/share/openclaw/plugins/a"),
                    candidate("a", Origin::Config, "/dev/a"),
                ],
                Some(installed.clone()),
                vec![
                    "3 plugins",
                    "/usr/share/openclaw/plugins/a (bundled)",
                    "/dev/a (config)",
                ],
            ),
        ];
        for (candidates, install_path, named) in cases {
            let mut config = json!({"allow": ["a"], "entries": {"a": {"enabled": true}}});
            if let Some(path) = &install_path {
                config["installs"] = json!({"a": {"source": "path", "installPath": path, "sha256": "a".repeat(64)}});
            }
            let selected = select(candidates.clone(), &plugins(config));
            assert_eq!(codes(&selected), [("a".into(), "duplicate-id")]);
            let refused = refusal(&selected[0]);
            for text in named {
                assert!(refused.reason.contains(text), "{text} in {}", refused.reason);
            }
            assert_eq!(selected[0].duplicates.len(), candidates.len() - 1);
            if install_path.is_some() {
                // The fix names the copies to delete, not the installed one.
                assert!(!refused.fix.contains(&installed), "{}", refused.fix);
            }
        }
    }

    #[test]
    fn one_directory_reached_twice_is_one_plugin() {
        let dir = format!("{HOME}/a");
        let selected = select(
            vec![
                candidate("a", Origin::Config, &format!("{dir}/")),
                candidate("a", Origin::Global, &dir),
                candidate("b", Origin::Global, &format!("{HOME}/b")),
            ],
            &plugins(json!({"allow": ["a", "b"]})),
        );
        assert_eq!(codes(&selected), [("a".into(), "load"), ("b".into(), "load")]);
        assert_eq!(selected[0].candidate.origin, Origin::Config);
        assert!(selected[0].duplicates.is_empty());
    }

    #[test]
    fn host_level_refusals() {
        let mut bad_manifest = candidate("broken", Origin::Global, "/x/broken");
        bad_manifest.manifest = Err("line 1, column 1: expected a table".into());
        let mut writable = candidate("open", Origin::Global, "/x/open");
        writable.unsafe_reason = Some("/x/open is writable by others".into());
        let mut edited = candidate("edited", Origin::Workspace, "/proj/.openclaw/extensions/edited");
        edited.manifest_sha256 = Some("e".repeat(64));
        let cases = vec![
            bad_manifest,
            writable,
            // Enabled is not enough for the workspace: the digest must be pinned.
            candidate("ws", Origin::Workspace, "/proj/.openclaw/extensions/ws"),
            candidate("ws-pinned", Origin::Workspace, "/proj/.openclaw/extensions/ws-pinned"),
            edited,
            candidate("moved", Origin::Workspace, "/proj/.openclaw/extensions/moved"),
            candidate("inst", Origin::Global, &format!("{HOME}/inst/")),
        ];
        let record = |path: &str| json!({"source": "path", "installPath": path, "sha256": "b".repeat(64), "manifestSha256": "m".repeat(64)});
        let config = plugins(json!({
            "allow": ["broken", "open", "ws", "ws-pinned", "edited", "moved", "inst"],
            "entries": {"ws": {"enabled": true}},
            "installs": {
                "ws-pinned": record("/proj/.openclaw/extensions/ws-pinned"),
                "edited": record("/proj/.openclaw/extensions/edited"),
                "moved": record(&format!("{HOME}/moved")),
                "inst": record(&format!("{HOME}/inst")),
            }
        }));
        let selected = select(cases, &config);
        assert_eq!(
            codes(&selected),
            [
                ("broken".into(), "invalid-manifest"),
                ("open".into(), "unsafe-path"),
                ("ws".into(), "workspace-not-pinned"),
                ("ws-pinned".into(), "load"),
                ("edited".into(), "manifest-changed"),
                ("moved".into(), "install-path-mismatch"),
                ("inst".into(), "load"),
            ]
        );
        assert!(refusal(&selected[2]).fix.contains("openclaw plugins pin ws"));
        assert_eq!(selected[3].pinned_sha256.as_deref(), Some("b".repeat(64).as_str()));
        assert_eq!(selected[5].pinned_sha256, None);
        assert_eq!(selected[6].pinned_sha256.as_deref(), Some("b".repeat(64).as_str()));
        // Grant refusals still apply after the host-level checks.
        let none = select(vec![candidate("a", Origin::Global, "/a")], &plugins(json!({})));
        assert_eq!(codes(&none), [("a".into(), "not-allowed")]);
    }

    #[test]
    fn javascript_plugins_and_unknown_ids() {
        let js = ForeignPlugin {
            id: "voice-call".into(),
            name: None,
            version: None,
            origin: Origin::Global,
            dir: format!("{HOME}/voice-call"),
        };
        let config = plugins(json!({
            "allow": ["calc", "voice-call", "clac", "ghost"],
            "deny": ["never-installed"],
            "entries": {"calc": {}, "phantom": {"enabled": true}},
        }));
        let found = discover(vec![candidate("calc", Origin::Global, "/c")], vec![js.clone()], &config);
        let refused = js.refusal(&config);
        assert_eq!(refused.code, NOT_WEBASSEMBLY);
        assert!(refused.reason.contains("WebAssembly") && refused.reason.contains("plugins.allow names it"));
        assert!(refused.fix.contains("OpenClaw"));
        let warned: Vec<(&str, &str)> = found
            .warnings
            .iter()
            .map(|w| (w.message.as_str(), w.fix.as_str()))
            .collect();
        assert_eq!(warned.len(), 3, "{warned:?}");
        assert!(warned[0].0.contains("plugins.allow names \"clac\"") && warned[0].1.contains("did you mean \"calc\""));
        assert!(warned[1].0.contains("\"ghost\"") && warned[1].1.contains("remove it from plugins.allow"));
        assert!(
            warned[2].0.contains("plugins.entries has \"phantom\"") && warned[2].1.contains("plugins.entries.phantom")
        );
    }
}
