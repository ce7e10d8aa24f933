//! Finding plugin directories, in OpenClaw's order, and noticing when others could change them.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use openclaw_core::config::schema::Config;
use openclaw_core::plugins::manifest::{MANIFEST_FILE, Manifest};
use openclaw_core::plugins::selection::{Candidate, Origin, Selected, select};

use crate::state::{Env, StatePaths, current_uid, expand_home};

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
    let manifest = fs::read_to_string(&manifest_path)
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(|text| Manifest::parse(&text, MANIFEST_FILE).map_err(|e| e.to_string()));
    let id = match &manifest {
        Ok(m) => m.id.clone(),
        Err(_) => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
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
        unsafe_reason,
    }
}

/// Plugin directories under `root`: `root` itself when it holds a manifest, else each of its
/// subdirectories that does (hidden ones, such as install staging, are skipped).
fn scan(origin: Origin, root: &Path) -> Vec<Candidate> {
    if root.join(MANIFEST_FILE).is_file() {
        return vec![candidate(origin, root)];
    }
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST_FILE).is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| candidate(origin, d)).collect()
}

/// Every candidate, in discovery order.
pub fn candidates(config: Option<&Config>, paths: &StatePaths, env: &Env) -> Vec<Candidate> {
    roots(config, paths, env)
        .into_iter()
        .flat_map(|(origin, root)| scan(origin, &root))
        .collect()
}

/// Discovery plus the selection policy: what each id resolves to and whether it loads.
pub fn discover(config: Option<&Config>, paths: &StatePaths, env: &Env) -> Vec<Selected> {
    let plugins = config.and_then(|c| c.plugins.clone()).unwrap_or_default();
    select(candidates(config, paths, env), &plugins)
}
