//! Finding plugin directories, in OpenClaw's order, and noticing when others could change them
//! and when a directory holds an OpenClaw JavaScript plugin instead.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::manifest_file;
use crate::state::{Env, StatePaths, current_uid, expand_home};
use openclaw_core::config::parse::parse_value;
use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::common::{SecretInput, SecretLiteral};
use openclaw_core::config::schema::plugins::{PluginSecretBinding, PluginsConfig};
use openclaw_core::plugins::manifest::MANIFEST_FILE;
use openclaw_core::plugins::selection::{self, Candidate, Discovery, ForeignPlugin, Origin, same_dir};

/// The manifest of an OpenClaw JavaScript plugin.
pub const OPENCLAW_JS_MANIFEST: &str = "openclaw.plugin.json";

/// Where bundled plugins live: `$OPENCLAW_BUNDLED_PLUGINS_DIR`, else `share/openclaw/plugins`
/// beside the binary's directory.
pub fn bundled_dir(env: &Env) -> Option<PathBuf> {
    if let Some(dir) = env.get("OPENCLAW_BUNDLED_PLUGINS_DIR") {
        return Some(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.join("share").join("openclaw").join("plugins"))
}

/// The directory `openclaw plugins install` installs into.
pub fn extensions_dir(paths: &StatePaths) -> PathBuf {
    paths.extensions_dir()
}

/// The search roots, in order, with their origin.
pub fn roots(config: Option<&Config>, paths: &StatePaths, env: &Env) -> Vec<(Origin, PathBuf)> {
    let home = paths.home.clone();
    let mut roots = Vec::new();
    let plugins = config.and_then(|c| c.plugins.as_ref());
    for path in plugins
        .and_then(|p| p.load.as_ref())
        .and_then(|l| l.paths.as_ref())
        .into_iter()
        .flatten()
    {
        roots.push((Origin::Config, expand_home(path, &home)));
    }
    let workspace = config
        .and_then(|c| c.agents.as_ref())
        .and_then(|a| a.defaults.as_ref())
        .and_then(|d| d.workspace.clone())
        .map(|w| expand_home(&w, &home))
        .unwrap_or_else(|| paths.state_dir.join("workspace"));
    roots.push((Origin::Workspace, workspace.join(".openclaw").join("extensions")));
    roots.push((Origin::Global, extensions_dir(paths)));
    if let Some(bundled) = bundled_dir(env) {
        roots.push((Origin::Bundled, bundled));
    }
    roots
}

/// Why others could modify `path` (or what it points into), if they could.
pub fn unsafe_reason(path: &Path) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    let me = current_uid();
    if meta.uid() != me && meta.uid() != 0 {
        return Some(format!(
            "{} is owned by uid {}, not by you (uid {me}) or root",
            path.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 && !meta.file_type().is_symlink() {
        return Some(format!(
            "{} is writable by {} (mode {:o})",
            path.display(),
            if meta.mode() & 0o002 != 0 {
                "everyone"
            } else {
                "its group"
            },
            meta.mode() & 0o777
        ));
    }
    None
}

fn candidate(origin: Origin, dir: &Path) -> Candidate {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let manifest_path = dir.join(MANIFEST_FILE);
    // One read: the digest is of exactly the bytes the manifest is parsed from. The refusal
    // names the file itself, so only the problem is kept.
    let read = manifest_file::read(&dir);
    let manifest_sha256 = read.as_ref().ok().map(|file| file.sha256.clone());
    let manifest = read.map(|file| file.manifest).map_err(|e| e.problem());
    let id = match &manifest {
        Ok(m) => m.id.clone(),
        Err(_) => dir_name(&dir),
    };
    // Bundled plugins are installed by the system (root-owned, read-only) and are trusted as
    // shipped; everything else must be private to the operator.
    let unsafe_reason = if origin == Origin::Bundled {
        None
    } else {
        let component = manifest.as_ref().ok().map(|m| dir.join(&m.component.file));
        std::iter::once(dir.clone())
            .chain(std::iter::once(manifest_path))
            .chain(component)
            .find_map(|p| unsafe_reason(&p))
    };
    Candidate {
        id,
        origin,
        dir: dir.display().to_string(),
        manifest,
        manifest_sha256,
        unsafe_reason,
    }
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// An OpenClaw JavaScript plugin: its id, name and version from `openclaw.plugin.json` (JSON5)
/// when it says, else the directory name. Nothing else in it matters here.
fn foreign(origin: Origin, dir: &Path) -> ForeignPlugin {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let manifest: Option<serde_json::Value> = fs::read_to_string(dir.join(OPENCLAW_JS_MANIFEST))
        .ok()
        .and_then(|text| parse_value(&text).ok());
    let field = |key: &str| {
        manifest
            .as_ref()
            .and_then(|m| m.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    ForeignPlugin {
        id: field("id").unwrap_or_else(|| dir_name(&dir)),
        name: field("name"),
        version: field("version"),
        origin,
        dir: dir.display().to_string(),
    }
}

/// What `root` holds: `root` itself when it is a plugin, else each of its subdirectories that
/// is one (hidden ones, such as install staging, are skipped). A directory with our manifest is
/// a WebAssembly plugin; one with only OpenClaw's is a JavaScript plugin.
fn scan(origin: Origin, root: &Path) -> (Vec<Candidate>, Vec<ForeignPlugin>) {
    let classify = |dir: &Path| {
        if dir.join(MANIFEST_FILE).is_file() {
            Some(Ok(candidate(origin, dir)))
        } else if dir.join(OPENCLAW_JS_MANIFEST).is_file() {
            Some(Err(foreign(origin, dir)))
        } else {
            None
        }
    };
    let found: Vec<Result<Candidate, ForeignPlugin>> = match classify(root) {
        Some(one) => vec![one],
        None => {
            let Ok(entries) = fs::read_dir(root) else {
                return (Vec::new(), Vec::new());
            };
            let mut dirs: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .collect();
            dirs.sort();
            dirs.iter().filter_map(|d| classify(d)).collect()
        }
    };
    let mut candidates = Vec::new();
    let mut foreign = Vec::new();
    for item in found {
        match item {
            Ok(c) => candidates.push(c),
            Err(f) => foreign.push(f),
        }
    }
    (candidates, foreign)
}

/// Every candidate and JavaScript plugin, in discovery order.
pub fn candidates(config: Option<&Config>, paths: &StatePaths, env: &Env) -> (Vec<Candidate>, Vec<ForeignPlugin>) {
    let mut candidates = Vec::new();
    let mut foreign: Vec<ForeignPlugin> = Vec::new();
    for (origin, root) in roots(config, paths, env) {
        let (c, f) = scan(origin, &root);
        candidates.extend(c);
        for plugin in f {
            if !foreign.iter().any(|known| same_dir(&known.dir, &plugin.dir)) {
                foreign.push(plugin);
            }
        }
    }
    (candidates, foreign)
}

/// Discovery plus the selection policy: what each id resolves to and whether it loads, the
/// JavaScript plugins found, and warnings.
pub fn discover(config: Option<&Config>, paths: &StatePaths, env: &Env) -> Discovery {
    let mut plugins = config.and_then(|c| c.plugins.clone()).unwrap_or_default();
    let (candidates, foreign) = candidates(config, paths, env);
    if let Some(config) = config {
        bind_channel_secrets(&mut plugins, config, &candidates);
    }
    selection::discover(candidates, foreign, &plugins)
}

/// A channel plugin's manifest may take secrets from the channel's own config (`botToken`),
/// where OpenClaw operators already keep them. When that channel is configured, such a secret
/// counts as bound for the grant (its hosts and slots are the manifest's); its value is read per
/// account when the channel starts, and a missing one stops that account with the keys to set.
fn bind_channel_secrets(plugins: &mut PluginsConfig, config: &Config, candidates: &[Candidate]) {
    let configured: Vec<String> = config
        .channels
        .as_ref()
        .map(|c| c.iter().into_iter().map(|v| v.id.to_string()).collect())
        .unwrap_or_default();
    for candidate in candidates {
        let Ok(manifest) = &candidate.manifest else { continue };
        let Some(section) = &manifest.channel else { continue };
        if section.secrets.is_empty() || !configured.contains(&section.id) {
            continue;
        }
        let entry = plugins
            .entries
            .get_or_insert_with(Default::default)
            .entry(manifest.id.clone())
            .or_default();
        let bindings = entry.secrets.get_or_insert_with(Default::default);
        for source in &section.secrets {
            bindings
                .entry(source.name.clone())
                .or_insert_with(|| PluginSecretBinding::Value(SecretInput::Literal(SecretLiteral::new(""))));
        }
    }
}
