//! Installing, updating, pinning and removing plugins in `~/.openclaw/extensions`, with the
//! install record in `plugins.installs.<id>`.
//!
//! An id belongs to the source it was installed from, and a pinned plugin to nobody else (see
//! `openclaw_core::plugins::install_policy`); a tool name belongs to one plugin. The load check
//! runs the package with no grant, and never runs a denied one.
//!
//! An install never leaves a half-installed plugin: the package is unpacked into a private
//! staging directory beside the target, checked (API version, digest), compiled and
//! instantiated there; only then is it renamed into place. An existing version is renamed aside
//! first and restored if anything after that fails (including writing the record), so an upgrade
//! to a broken package leaves the old version installed and loading. A crash between the two
//! renames is repaired by the next plugins command (the aside copy is put back).

use std::fs;
use std::path::{Path, PathBuf};

use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::plugins::{InstallRecord, PluginsConfig};
use openclaw_core::plugins::grants::{Decision, decide};
use openclaw_core::plugins::install_policy::{NewSource, load_check_grant, may_replace};
use openclaw_core::plugins::manifest::{MANIFEST_FILE, Manifest, api_compatible, host_api};
use openclaw_core::plugins::tool_names::{install_clash_message, installed_clash};
use openclaw_runtime::PluginSource;
use openclaw_runtime::cache::CacheDir;
use serde_json::{Map, Value, json};

use super::discover::extensions_dir;
use super::manifest_file;
use super::package::{PackageError, Staged, StagingDir, is_archive, stage};
use crate::config::edit::{EditError, modify};
use crate::state::ids::{random_hex, sha256_hex};
use crate::state::{Env, StateLock, StatePaths, ensure_private_dir};

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0}")]
    Package(#[from] PackageError),
    #[error(
        "\"{plugin}\" was built for plugin API {plugin_api}, but this gateway implements plugin API {host_api}; \
         install a version built for {host_api} (rebuild it with openclaw-plugin-sdk {host_api})"
    )]
    Api {
        plugin: String,
        plugin_api: String,
        host_api: String,
    },
    #[error(
        "\"{plugin}\": the component's sha256 is {actual}, but the package manifest says {expected}; \
         the package was modified after it was packed. Refusing to install it"
    )]
    Digest {
        plugin: String,
        expected: String,
        actual: String,
    },
    #[error("\"{plugin}\" does not load, so it was not installed{kept}: {message}")]
    Load {
        plugin: String,
        message: String,
        kept: String,
    },
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Other(String),
}

impl From<EditError> for InstallError {
    fn from(e: EditError) -> Self {
        Self::Config(match e {
            EditError::Unreadable(f) => format!("cannot read the config {}: {}", f.path.display(), f.issue.message),
            EditError::Path(m) => m,
            EditError::Invalid(loaded) => format!(
                "the config would become invalid: {}",
                loaded
                    .issues()
                    .map(|i| format!("{}: {}", i.path, i.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            EditError::State(s) => s.to_string(),
        })
    }
}

fn other(e: impl std::fmt::Display) -> InstallError {
    InstallError::Other(e.to_string())
}

/// What to install.
#[derive(Debug, Clone)]
pub struct InstallRequest {
    /// A plugin directory or a package archive.
    pub source: PathBuf,
    /// The argument as the operator typed it (recorded as `spec`).
    pub spec: String,
    pub pin: bool,
    /// Use the directory in place instead of copying it.
    pub link: bool,
    /// With `link`: add the directory to `plugins.load.paths` (an update of a plugin used in
    /// place leaves that list as the operator has it).
    pub add_load_path: bool,
    /// Replace a plugin with the same id installed from another source.
    pub replace: bool,
}

/// What an install did.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Installed {
    pub id: String,
    pub version: String,
    pub sha256: String,
    pub install_path: PathBuf,
    pub previous_version: Option<String>,
    pub tools: Vec<String>,
    pub record: Value,
    /// Whether the operator still has to allow it before it runs.
    pub needs_allow: bool,
    /// What keeps it from loading although it was installed (another copy of its id).
    pub warnings: Vec<String>,
}

/// Serialises plugin installs of this state directory.
fn install_lock(paths: &StatePaths) -> Result<StateLock, InstallError> {
    let dir = extensions_dir(paths);
    ensure_private_dir(&paths.state_dir).map_err(other)?;
    ensure_private_dir(&dir).map_err(other)?;
    StateLock::acquire_blocking(&dir.join(".lock")).map_err(other)
}

/// Repairs what an interrupted install left: an aside copy whose replacement never arrived is
/// put back; other leftovers are removed. Call with the install lock held.
pub fn recover(paths: &StatePaths) -> Vec<String> {
    let dir = extensions_dir(paths);
    let mut notes = Vec::new();
    let Ok(entries) = fs::read_dir(&dir) else {
        return notes;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".staging-") {
            let _ = fs::remove_dir_all(entry.path());
        } else if let Some(rest) = name.strip_prefix('.')
            && let Some((id, _)) = rest.split_once(".previous-")
        {
            let target = dir.join(id);
            if target.exists() {
                let _ = fs::remove_dir_all(entry.path());
            } else if fs::rename(entry.path(), &target).is_ok() {
                notes.push(format!("restored {id} after an interrupted install"));
            }
        }
    }
    notes
}

/// [`recover`] under the install lock, when there is an extensions directory at all (read-only
/// commands call this so they never report a half-finished install).
pub fn recover_if_needed(paths: &StatePaths) -> Vec<String> {
    if !extensions_dir(paths).is_dir() {
        return Vec::new();
    }
    match install_lock(paths) {
        Ok(_lock) => recover(paths),
        Err(_) => Vec::new(),
    }
}

/// The operator's plugin settings with `id` allowed, to check that they are valid for this
/// package (its config schema, the host patterns) before it is installed.
fn trial_plugins(config: Option<&Config>, id: &str) -> PluginsConfig {
    let mut plugins = config.and_then(|c| c.plugins.clone()).unwrap_or_default();
    plugins.enabled = Some(true);
    plugins.allow = Some(vec![id.to_string()]);
    plugins.deny = None;
    if let Some(entry) = plugins.entries.as_mut().and_then(|e| e.get_mut(id)) {
        entry.enabled = None;
    }
    plugins
}

/// Compiles, instantiates and lists the tools of the plugin in `dir`, and returns their names.
/// Nobody has reviewed the plugin yet, so it runs with no grant at all
/// ([`load_check_grant`]); the operator's settings for it are only validated. A denied plugin
/// is refused without running.
pub fn check_loads(
    config: Option<&Config>,
    paths: &StatePaths,
    dir: &Path,
    manifest: &Manifest,
    pinned_sha256: Option<String>,
) -> Result<Vec<String>, String> {
    if denied(config, &manifest.id) {
        return Err(format!(
            "\"{}\" is in plugins.deny, so none of its code runs",
            manifest.id
        ));
    }
    if let Decision::Refuse(refusal) = decide(manifest, &trial_plugins(config, &manifest.id)) {
        return Err(format!("{} ({})", refusal.reason, refusal.fix));
    }
    let runtime = super::loader::runtime(paths, None)?;
    let source = PluginSource {
        dir: dir.to_path_buf(),
        manifest: manifest.clone(),
        pinned_sha256,
    };
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let loaded = tokio
        .block_on(runtime.load(&source, load_check_grant(manifest), Default::default()))
        .map_err(|e| e.to_string())?;
    Ok(loaded.tools.iter().map(|t| t.name.clone()).collect())
}

/// Refuses `tools` of `id` when another installed plugin provides one of them.
fn check_tool_names(config: Option<&Config>, id: &str, tools: &[String]) -> Result<(), String> {
    let installs = config
        .and_then(|c| c.plugins.as_ref())
        .and_then(|p| p.installs.as_ref());
    match installed_clash(id, tools, installs) {
        Some((tool, other)) => Err(install_clash_message(id, tool, other)),
        None => Ok(()),
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn object<'a>(doc: &'a mut Value, keys: &[&str]) -> Result<&'a mut Map<String, Value>, String> {
    let mut here = doc;
    for key in keys {
        let map = here
            .as_object_mut()
            .ok_or_else(|| format!("{key}'s parent in the config is not an object"))?;
        here = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    here.as_object_mut()
        .ok_or_else(|| format!("{} in the config is not an object", keys.join(".")))
}

fn check_package(staged: &Staged, from_archive: bool) -> Result<(), InstallError> {
    let manifest = &staged.manifest;
    let host = host_api();
    if !api_compatible(&manifest.api, &host) {
        return Err(InstallError::Api {
            plugin: manifest.id.clone(),
            plugin_api: manifest.api.to_string(),
            host_api: host.to_string(),
        });
    }
    match &manifest.component.sha256 {
        Some(expected) if !expected.eq_ignore_ascii_case(&staged.sha256) => Err(InstallError::Digest {
            plugin: manifest.id.clone(),
            expected: expected.clone(),
            actual: staged.sha256.clone(),
        }),
        None if from_archive => Err(InstallError::Other(format!(
            "the package of \"{}\" does not record its component's sha256; create packages with `openclaw plugins pack`",
            manifest.id
        ))),
        _ => Ok(()),
    }
}

/// Installs (or upgrades) a plugin.
pub fn install(
    config: Option<&Config>,
    paths: &StatePaths,
    env: &Env,
    request: &InstallRequest,
) -> Result<Installed, InstallError> {
    let _lock = install_lock(paths)?;
    recover(paths);
    let ext = extensions_dir(paths);
    let source = request
        .source
        .canonicalize()
        .map_err(|e| InstallError::Other(format!("{}: {e}", request.source.display())))?;
    let from_archive = is_archive(&source);
    if request.link && from_archive {
        return Err(InstallError::Other(
            "--link needs a plugin directory, not an archive".into(),
        ));
    }
    let staging = StagingDir::beside(&ext, "new")?;
    let staged = stage(&source, &staging.path)?;
    check_package(&staged, from_archive)?;
    let id = staged.manifest.id.clone();
    // Before anything of the package runs.
    if denied(config, &id) {
        return Err(InstallError::Other(format!(
            "\"{id}\" is in plugins.deny, so it was not installed and none of its code ran; remove it from \
             plugins.deny first if you mean to install it"
        )));
    }
    let previous = config
        .and_then(|c| c.plugins.as_ref())
        .and_then(|p| p.installs.as_ref())
        .and_then(|i| i.get(&id))
        .cloned();
    let source_text = source.display().to_string();
    let new_source = NewSource {
        path: &source_text,
        spec: &request.spec,
    };
    if let Err(refusal) = may_replace(&id, previous.as_ref(), new_source, request.replace) {
        return Err(InstallError::Other(format!("{}; {}", refusal.reason, refusal.fix)));
    }
    let previous_version = previous.as_ref().and_then(|r| r.version.clone());
    let kept = if previous.is_some() {
        format!(
            "; version {} stays installed",
            previous_version.as_deref().unwrap_or("(unknown)")
        )
    } else {
        String::new()
    };

    // The package must load before anything is replaced.
    let check_dir = if request.link {
        source.clone()
    } else {
        staged.dir.clone()
    };
    let tools =
        check_loads(config, paths, &check_dir, &staged.manifest, None).map_err(|message| InstallError::Load {
            plugin: id.clone(),
            message,
            kept: kept.clone(),
        })?;
    check_tool_names(config, &id, &tools).map_err(InstallError::Other)?;

    let manifest_sha256 = staged.manifest_sha256.clone();
    if request.link {
        // The directory is used in place: what is recorded must be what is there.
        let in_place = read_regular(&source.join(MANIFEST_FILE)).map_err(InstallError::Other)?;
        if sha256_hex(&in_place) != manifest_sha256 {
            return Err(InstallError::Other(format!(
                "{}/{MANIFEST_FILE} changed while it was being installed; nothing was installed, try again",
                source.display()
            )));
        }
    }

    let install_path = if request.link { source.clone() } else { ext.join(&id) };
    let mut aside: Option<PathBuf> = None;
    if !request.link {
        if install_path.exists() {
            let suffix = random_hex(4).map_err(other)?;
            let backup = ext.join(format!(".{id}.previous-{suffix}"));
            fs::rename(&install_path, &backup).map_err(other)?;
            aside = Some(backup);
        }
        if let Err(e) = fs::rename(&staged.dir, &install_path) {
            if let Some(backup) = &aside {
                let _ = fs::rename(backup, &install_path);
            }
            return Err(other(format!("moving the plugin into {}: {e}", install_path.display())));
        }
        let _ = staging.keep();
    }

    let mut record = json!({
        "source": if request.link { "path" } else if from_archive { "archive" } else { "path" },
        "spec": request.spec,
        "sourcePath": source.display().to_string(),
        "installPath": install_path.display().to_string(),
        "version": staged.manifest.version.to_string(),
        "sha256": staged.sha256,
        "manifestSha256": manifest_sha256,
        "apiVersion": staged.manifest.api.to_string(),
        "tools": tools,
        "installedAt": now_rfc3339(),
    });
    if request.pin {
        record["pinned"] = json!(true);
    }
    let link_path = install_path.display().to_string();
    let written = modify(paths, env, |doc| {
        object(doc, &["plugins", "installs"])?.insert(id.clone(), record.clone());
        if request.link && request.add_load_path {
            let load = object(doc, &["plugins", "load"])?;
            let list = load.entry("paths").or_insert_with(|| json!([]));
            let items = list.as_array_mut().ok_or("plugins.load.paths is not an array")?;
            if !items.iter().any(|p| p.as_str() == Some(link_path.as_str())) {
                items.push(json!(link_path));
            }
        }
        Ok(true)
    });
    if let Err(e) = written {
        if !request.link {
            let _ = fs::remove_dir_all(&install_path);
            if let Some(backup) = &aside {
                let _ = fs::rename(backup, &install_path);
            }
        }
        return Err(e.into());
    }
    if let Some(backup) = aside {
        let _ = fs::remove_dir_all(backup);
    }
    let needs_allow = !allowed(config, &id);
    let warnings = crate::config::load(paths, env)
        .ok()
        .and_then(|loaded| loaded.config().cloned())
        .map(|now| super::discover::discover(Some(&now), paths, env))
        .and_then(|found| match found.find(&id).map(|s| &s.decision) {
            Some(Decision::Refuse(r)) if r.code == "duplicate-id" => Some(vec![format!("{}; {}", r.reason, r.fix)]),
            _ => None,
        })
        .unwrap_or_default();
    Ok(Installed {
        id,
        version: staged.manifest.version.to_string(),
        sha256: staged.sha256.clone(),
        install_path,
        previous_version,
        tools,
        record,
        needs_allow,
        warnings,
    })
}

/// What `uninstall` removes.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removal {
    pub id: String,
    pub config_changes: Vec<String>,
    pub delete_dir: Option<PathBuf>,
    /// The plugin's key-value data (`plugins/data/<id>`), deleted unless files are kept.
    pub delete_data: Option<PathBuf>,
    /// Compiled copies of its component in the compile cache.
    pub delete_cached: Vec<PathBuf>,
    pub dry_run: bool,
}

/// Removes a plugin: its entry, install record, allowlist membership and linked load path, and
/// (unless `keep_files`, or the plugin was linked in place) its install directory.
pub fn uninstall(
    config: Option<&Config>,
    paths: &StatePaths,
    env: &Env,
    id: &str,
    dry_run: bool,
    keep_files: bool,
) -> Result<Removal, InstallError> {
    let _lock = install_lock(paths)?;
    recover(paths);
    let plugins = config.and_then(|c| c.plugins.clone()).unwrap_or_default();
    let record = plugins.installs.as_ref().and_then(|i| i.get(id)).cloned();
    let install_path = record.as_ref().and_then(|r| r.install_path.clone()).map(PathBuf::from);
    let ext = extensions_dir(paths);
    let mut changes = Vec::new();
    if plugins.entries.as_ref().is_some_and(|e| e.contains_key(id)) {
        changes.push(format!("remove plugins.entries.{id}"));
    }
    if record.is_some() {
        changes.push(format!("remove plugins.installs.{id}"));
    }
    if plugins.allow.as_ref().is_some_and(|a| a.iter().any(|x| x == id)) {
        changes.push(format!("remove \"{id}\" from plugins.allow"));
    }
    let linked = install_path.as_ref().map(|p| p.display().to_string()).filter(|p| {
        plugins
            .load
            .as_ref()
            .and_then(|l| l.paths.as_ref())
            .is_some_and(|paths| paths.iter().any(|x| x == p))
    });
    if let Some(p) = &linked {
        changes.push(format!("remove {p} from plugins.load.paths"));
    }
    // Only directories we installed are deleted; a linked directory is the operator's.
    let delete_dir = install_path
        .filter(|p| !keep_files && p.starts_with(&ext) && p.exists())
        .or_else(|| {
            let default = ext.join(id);
            (!keep_files && record.is_none() && default.join("openclaw-plugin.toml").exists()).then_some(default)
        });
    let data = paths.state_dir.join("plugins").join("data").join(id);
    let delete_data = (!keep_files && data.is_dir()).then_some(data);
    let cache = CacheDir::under_state_dir(&paths.state_dir);
    let cached_sha256 = record.as_ref().and_then(|r| r.sha256.clone()).filter(|_| !keep_files);
    let delete_cached = cached_sha256
        .as_deref()
        .map(|sha| cache.files_of(sha))
        .unwrap_or_default();
    if changes.is_empty() && delete_dir.is_none() {
        return Err(InstallError::Other(format!(
            "\"{id}\" is not installed (no plugins.installs.{id}, entry or directory in {})",
            ext.display()
        )));
    }
    if !dry_run {
        if !changes.is_empty() {
            modify(paths, env, |doc| {
                let Some(plugins) = doc.get_mut("plugins").and_then(Value::as_object_mut) else {
                    return Ok(false);
                };
                for key in ["entries", "installs"] {
                    if let Some(map) = plugins.get_mut(key).and_then(Value::as_object_mut) {
                        map.remove(id);
                    }
                }
                if let Some(allow) = plugins.get_mut("allow").and_then(Value::as_array_mut) {
                    allow.retain(|x| x.as_str() != Some(id));
                }
                if let (Some(linked), Some(paths)) = (
                    &linked,
                    plugins
                        .get_mut("load")
                        .and_then(|l| l.get_mut("paths"))
                        .and_then(Value::as_array_mut),
                ) {
                    paths.retain(|x| x.as_str() != Some(linked.as_str()));
                }
                Ok(true)
            })?;
        }
        if let Some(dir) = &delete_dir {
            fs::remove_dir_all(dir).map_err(|e| other(format!("deleting {}: {e}", dir.display())))?;
        }
        if let Some(dir) = &delete_data {
            fs::remove_dir_all(dir).map_err(|e| other(format!("deleting {}: {e}", dir.display())))?;
        }
        if let Some(sha) = &cached_sha256 {
            cache.forget(sha);
        }
    }
    Ok(Removal {
        id: id.to_string(),
        config_changes: changes,
        delete_dir,
        delete_data,
        delete_cached,
        dry_run,
    })
}

/// The state of one installed plugin's files against its record.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub id: String,
    pub ok: bool,
    pub install_path: Option<String>,
    pub recorded_sha256: Option<String>,
    pub actual_sha256: Option<String>,
    pub problem: Option<String>,
}

/// The install records of `ids` (all of them when `ids` is empty); an id without a record is an
/// error.
fn recorded(config: Option<&Config>, ids: &[String]) -> Result<Vec<(String, InstallRecord)>, InstallError> {
    let installs = config
        .and_then(|c| c.plugins.as_ref())
        .and_then(|p| p.installs.clone())
        .unwrap_or_default();
    if let Some(id) = ids.iter().find(|id| !installs.contains_key(*id)) {
        return Err(InstallError::Other(format!(
            "\"{id}\" has no install record (plugins.installs.{id}); install it first"
        )));
    }
    Ok(installs
        .iter()
        .filter(|(id, _)| ids.is_empty() || ids.contains(id))
        .map(|(id, record)| (id.clone(), record.clone()))
        .collect())
}

/// Recomputes the digest of each installed plugin (all of them when `ids` is empty).
pub fn verify(config: Option<&Config>, ids: &[String]) -> Result<Vec<Verification>, InstallError> {
    let mut out = Vec::new();
    for (id, record) in &recorded(config, ids)? {
        let mut v = Verification {
            id: id.clone(),
            ok: false,
            install_path: record.install_path.clone(),
            recorded_sha256: record.sha256.clone(),
            actual_sha256: None,
            problem: None,
        };
        let result = (|| -> Result<(), String> {
            let dir = PathBuf::from(record.install_path.as_deref().ok_or("the record has no installPath")?);
            let manifest_file = manifest_file::read(&dir).map_err(|e| e.to_string())?;
            let manifest = &manifest_file.manifest;
            let bytes = fs::read(dir.join(&manifest.component.file)).map_err(|e| format!("component: {e}"))?;
            let actual = sha256_hex(&bytes);
            v.actual_sha256 = Some(actual.clone());
            let recorded = record
                .sha256
                .as_deref()
                .ok_or("the record has no sha256 to check against")?;
            if actual != recorded {
                return Err(format!(
                    "the component changed since it was installed (sha256 {actual}, recorded {recorded}); reinstall it"
                ));
            }
            if let Some(recorded_manifest) = &record.manifest_sha256 {
                let actual_manifest = &manifest_file.sha256;
                if actual_manifest != recorded_manifest {
                    return Err(format!(
                        "the manifest changed since it was installed or pinned (sha256 {actual_manifest}, recorded \
                         {recorded_manifest}); review it, then reinstall or `openclaw plugins pin {id}`"
                    ));
                }
            }
            if let Some(in_manifest) = &manifest.component.sha256
                && in_manifest != &actual
            {
                return Err(format!(
                    "the manifest's sha256 {in_manifest} does not match the component"
                ));
            }
            Ok(())
        })();
        match result {
            Ok(()) => v.ok = true,
            Err(problem) => v.problem = Some(problem),
        }
        out.push(v);
    }
    Ok(out)
}

/// Sets `plugins.entries.<id>.enabled` and, when enabling, adds the id to `plugins.allow`.
pub fn set_enabled(
    paths: &StatePaths,
    env: &Env,
    config: Option<&Config>,
    id: &str,
    enabled: bool,
) -> Result<bool, InstallError> {
    if enabled
        && config
            .and_then(|c| c.plugins.as_ref())
            .and_then(|p| p.deny.as_ref())
            .is_some_and(|d| d.iter().any(|x| x == id))
    {
        return Err(InstallError::Other(format!(
            "\"{id}\" is in plugins.deny, which wins over enabling; remove it from plugins.deny first"
        )));
    }
    let written = modify(paths, env, |doc| {
        let mut changed = false;
        let entry = object(doc, &["plugins", "entries", id])?;
        if entry.get("enabled") != Some(&json!(enabled)) {
            entry.insert("enabled".into(), json!(enabled));
            changed = true;
        }
        if enabled {
            let plugins = object(doc, &["plugins"])?;
            let allow = plugins.entry("allow").or_insert_with(|| json!([]));
            let items = allow.as_array_mut().ok_or("plugins.allow is not an array")?;
            if !items.iter().any(|x| x.as_str() == Some(id)) {
                items.push(json!(id));
                changed = true;
            }
        }
        Ok(changed)
    })?;
    Ok(written.is_some())
}

/// What `update` would do or did for one plugin.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOutcome {
    pub id: String,
    /// `up-to-date`, `updated`, `would-update`, `pinned`, `failed`.
    pub status: &'static str,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    pub message: Option<String>,
}

/// Re-installs plugins from their recorded source when it changed.
pub fn update(
    config: Option<&Config>,
    paths: &StatePaths,
    env: &Env,
    ids: &[String],
    dry_run: bool,
) -> Result<Vec<UpdateOutcome>, InstallError> {
    let mut outcomes = Vec::new();
    for (id, record) in &recorded(config, ids)? {
        let mut outcome = UpdateOutcome {
            id: id.clone(),
            status: "failed",
            from_version: record.version.clone(),
            to_version: None,
            message: None,
        };
        let Some(source) = record.source_path.clone().or_else(|| record.spec.clone()) else {
            outcome.message = Some("the record names no source to update from".into());
            outcomes.push(outcome);
            continue;
        };
        let source = PathBuf::from(source);
        let ext = extensions_dir(paths);
        let peek = StagingDir::beside(&ext, "peek").and_then(|s| {
            let staged = stage(&source, &s.path)?;
            Ok((s, staged))
        });
        let (_staging, staged) = match peek {
            Ok(p) => p,
            Err(e) => {
                outcome.message = Some(format!("{}: {e}", source.display()));
                outcomes.push(outcome);
                continue;
            }
        };
        outcome.to_version = Some(staged.manifest.version.to_string());
        if staged.manifest.id != *id {
            outcome.message = Some(format!(
                "{} now holds plugin \"{}\", not \"{id}\"; it is not installed over \"{id}\" (to add it as a plugin \
                 of its own: `openclaw plugins install {}`)",
                source.display(),
                staged.manifest.id,
                source.display()
            ));
        } else if record.sha256.as_deref() == Some(staged.sha256.as_str()) {
            outcome.status = "up-to-date";
        } else if record.pinned == Some(true) {
            outcome.status = "pinned";
            outcome.message = Some(format!(
                "pinned at {}; `openclaw plugins unpin {id}` lets update move it",
                record.version.as_deref().unwrap_or("its version")
            ));
        } else if dry_run {
            outcome.status = "would-update";
        } else {
            let request = InstallRequest {
                source: source.clone(),
                spec: record.spec.clone().unwrap_or_else(|| source.display().to_string()),
                pin: false,
                link: record.install_path.as_deref() == record.source_path.as_deref() && record.install_path.is_some(),
                add_load_path: false,
                replace: false,
            };
            match install(config, paths, env, &request) {
                Ok(_) => outcome.status = "updated",
                Err(e) => outcome.message = Some(e.to_string()),
            }
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// What `pin` recorded.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pinned {
    pub id: String,
    pub origin: &'static str,
    pub dir: String,
    pub sha256: String,
    pub manifest_sha256: String,
    /// The component digest recorded before, when pinning changed it.
    pub previous_sha256: Option<String>,
    pub tools: Vec<String>,
    pub record: Value,
    /// Whether the operator still has to allow it before it runs.
    pub needs_allow: bool,
}

fn denied(config: Option<&Config>, id: &str) -> bool {
    config
        .and_then(|c| c.plugins.as_ref())
        .and_then(|p| p.deny.as_ref())
        .is_some_and(|d| d.iter().any(|x| x == id))
}

/// The bytes of a regular file (a symlink is refused: what it points to can change).
fn read_regular(path: &Path) -> Result<Vec<u8>, String> {
    let meta = fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.file_type().is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Records the discovered copy of `id` as the one that may load: the SHA-256 of its component
/// and of its manifest go into `plugins.installs.<id>` (with its tools, after a load check with
/// no grant), and it is marked pinned, so `install` and `update` leave it alone. This is how a
/// workspace plugin is allowed to load, and how any plugin's current files are accepted after
/// review. `expected_sha256`, when given, must be the component's digest.
pub fn pin(
    config: Option<&Config>,
    paths: &StatePaths,
    env: &Env,
    id: &str,
    expected_sha256: Option<&str>,
) -> Result<Pinned, InstallError> {
    let _lock = install_lock(paths)?;
    recover(paths);
    let discovery = super::discover::discover(config, paths, env);
    let Some(found) = discovery.find(id) else {
        let hint = if discovery.foreign.iter().any(|f| f.id == id) {
            " (an OpenClaw JavaScript plugin has that id; it cannot run here, so there is nothing to pin)"
        } else {
            ""
        };
        return Err(InstallError::Other(format!(
            "no plugin \"{id}\" was found{hint}; `openclaw plugins list` shows what was discovered"
        )));
    };
    let candidate = &found.candidate;
    if let Decision::Refuse(refusal) = &found.decision
        && matches!(
            refusal.code,
            "duplicate-id" | "invalid-manifest" | "unsafe-path" | "install-path-mismatch"
        )
    {
        return Err(InstallError::Other(format!(
            "not pinning \"{id}\": {}; {}",
            refusal.reason, refusal.fix
        )));
    }
    if denied(config, id) {
        return Err(InstallError::Other(format!(
            "\"{id}\" is in plugins.deny; pinning runs its code to list its tools, so it is not pinned. \
             Remove it from plugins.deny first if you mean to use it"
        )));
    }
    let manifest = candidate.manifest.clone().map_err(InstallError::Other)?;
    let dir = PathBuf::from(&candidate.dir);
    let manifest_bytes = read_regular(&dir.join(MANIFEST_FILE)).map_err(InstallError::Other)?;
    let manifest_sha256 = sha256_hex(&manifest_bytes);
    if candidate.manifest_sha256.as_deref() != Some(manifest_sha256.as_str()) {
        return Err(InstallError::Other(format!(
            "{}/{MANIFEST_FILE} changed while it was being pinned; nothing was pinned, try again",
            candidate.dir
        )));
    }
    let component = read_regular(&dir.join(&manifest.component.file)).map_err(InstallError::Other)?;
    let sha256 = sha256_hex(&component);
    if let Some(expected) = expected_sha256
        && !expected.eq_ignore_ascii_case(&sha256)
    {
        return Err(InstallError::Other(format!(
            "the component {} has sha256 {sha256}, not {expected}; nothing was pinned",
            dir.join(&manifest.component.file).display()
        )));
    }
    // The runtime checks the component against `sha256` as it loads it, so what is listed is
    // what was hashed.
    let tools =
        check_loads(config, paths, &dir, &manifest, Some(sha256.clone())).map_err(|message| InstallError::Load {
            plugin: id.to_string(),
            message,
            kept: "; nothing was pinned".into(),
        })?;
    check_tool_names(config, id, &tools).map_err(InstallError::Other)?;
    let previous = config
        .and_then(|c| c.plugins.as_ref())
        .and_then(|p| p.installs.as_ref())
        .and_then(|i| i.get(id))
        .cloned();
    let previous_sha256 = previous
        .as_ref()
        .and_then(|r| r.sha256.clone())
        .filter(|recorded| recorded != &sha256);
    let mut record = json!({
        "version": manifest.version.to_string(),
        "sha256": sha256,
        "manifestSha256": manifest_sha256,
        "apiVersion": manifest.api.to_string(),
        "tools": tools,
        "pinned": true,
    });
    if previous.is_none() {
        for (key, value) in [
            ("source", json!("path")),
            ("sourcePath", json!(candidate.dir)),
            ("installPath", json!(candidate.dir)),
            ("installedAt", json!(now_rfc3339())),
        ] {
            record[key] = value;
        }
    }
    let written = modify(paths, env, |doc| {
        let entry = object(doc, &["plugins", "installs", id])?;
        if let Value::Object(fields) = &record {
            for (key, value) in fields {
                entry.insert(key.clone(), value.clone());
            }
        }
        record = Value::Object(entry.clone());
        Ok(true)
    });
    written?;
    Ok(Pinned {
        id: id.to_string(),
        origin: candidate.origin.as_str(),
        dir: candidate.dir.clone(),
        sha256,
        manifest_sha256,
        previous_sha256,
        tools,
        record,
        needs_allow: !allowed(config, id),
    })
}

/// Clears `plugins.installs.<id>.pinned`, so `install` (with `--replace` for another source)
/// and `update` may replace the plugin. Its recorded digests stay and still gate loading.
/// Returns whether anything changed.
pub fn unpin(config: Option<&Config>, paths: &StatePaths, env: &Env, id: &str) -> Result<bool, InstallError> {
    let _lock = install_lock(paths)?;
    recorded(config, &[id.to_string()])?;
    let written = modify(paths, env, |doc| {
        let entry = object(doc, &["plugins", "installs", id])?;
        Ok(entry.remove("pinned").is_some())
    })?;
    Ok(written.is_some())
}

fn allowed(config: Option<&Config>, id: &str) -> bool {
    config
        .and_then(|c| c.plugins.as_ref())
        .and_then(|p| p.allow.as_ref())
        .is_some_and(|a| a.iter().any(|x| x == id))
}
