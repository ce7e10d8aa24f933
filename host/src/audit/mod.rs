//! The security audit service: gathers facts (file modes, plugins, pairing stores, probes),
//! runs the pure checks in `openclaw_core::security::audit`, and carries out `--fix`.

pub mod probe;
pub mod secrets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use openclaw_core::config::check::UnsetVariables;
use openclaw_core::config::issue::IssueKind;
use openclaw_core::config::path::JsonPath;
use openclaw_core::config::schema::Config;
use openclaw_core::plugins::grants::Decision;
use openclaw_core::security::audit::fix::{ChmodAction, chmod_plan, config_fixes};
use openclaw_core::security::audit::{
    self, Audit, AuditInput, DeepFacts, FsFacts, PathFact, PathKind, PathRole, Summary,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{self, Loaded, edit};
use crate::context::Context;
use crate::ingress::pairing_store::PairingStore;
use crate::plugins::discover::discover;
use crate::tools::builtin::ExecApprovalsStore;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub deep: bool,
    pub fix: bool,
}

/// What `--fix` did, in OpenClaw's FixResult shape.
#[derive(Debug, Clone, Default)]
pub struct FixResult {
    pub config_written: bool,
    pub backup: Option<PathBuf>,
    pub changes: Vec<String>,
    pub actions: Vec<ChmodAction>,
    pub errors: Vec<String>,
}

impl FixResult {
    pub fn to_json(&self, ctx: &Context) -> Value {
        json!({
            "ok": self.errors.is_empty(),
            "stateDir": ctx.paths.state_dir,
            "configPath": ctx.paths.config_path,
            "configWritten": self.config_written,
            "backup": self.backup,
            "changes": self.changes,
            "actions": self.actions,
            "errors": self.errors,
        })
    }
}

/// One audit run.
pub struct Outcome {
    pub fix: Option<FixResult>,
    /// `None` when the config could not be read or is invalid (see `invalid`).
    pub audit: Option<Audit>,
    pub invalid: Option<String>,
    pub deep: Option<DeepFacts>,
    pub secret_diagnostics: Vec<String>,
    pub ts: i64,
}

impl Outcome {
    pub fn summary(&self) -> Summary {
        self.audit.as_ref().map(|a| a.summary).unwrap_or_default()
    }

    /// The report in OpenClaw's JSON shape (`ts`, `summary`, `findings`, then `suppressedFindings`
    /// and `deep` when present).
    pub fn report_json(&self) -> Value {
        let Some(audit) = &self.audit else {
            return json!({"ts": self.ts, "summary": Summary::default(), "findings": []});
        };
        let mut report = json!({
            "ts": self.ts,
            "summary": audit.summary,
            "findings": audit.findings,
        });
        if !audit.suppressed.is_empty() {
            report["suppressedFindings"] = json!(audit.suppressed);
        }
        if let Some(deep) = &self.deep {
            report["deep"] = json!({
                "gateway": deep.gateway,
                "docker": deep.docker.as_ref().map(|r| match r {
                    Ok(version) => json!({"ok": true, "apiVersion": version}),
                    Err(e) => json!({"ok": false, "error": e}),
                }),
            });
        }
        report
    }
}

fn env_map(ctx: &Context) -> BTreeMap<String, String> {
    ctx.env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// `lstat`, then the target's kind and mode for a symlink. Missing paths are facts too.
pub fn path_fact(role: PathRole, path: &Path) -> PathFact {
    use std::os::unix::fs::PermissionsExt;
    let text = path.display().to_string();
    let missing = |symlink| PathFact {
        role,
        path: text.clone(),
        kind: PathKind::Missing,
        mode: 0,
        symlink,
    };
    let Ok(link) = std::fs::symlink_metadata(path) else {
        return missing(false);
    };
    let symlink = link.file_type().is_symlink();
    let meta = if symlink {
        match std::fs::metadata(path) {
            Ok(m) => m,
            Err(_) => return missing(true),
        }
    } else {
        link
    };
    let kind = if meta.is_file() {
        PathKind::File
    } else if meta.is_dir() {
        PathKind::Dir
    } else {
        PathKind::Other
    };
    PathFact {
        role,
        path: text,
        kind,
        mode: meta.permissions().mode() & 0o7777,
        symlink,
    }
}

/// Files and symlinks in `dir` ending in `suffix`, sorted (links are reported, never followed
/// by `--fix`).
fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
        })
        .collect();
    out.sort();
    out
}

/// The state tree's modes, in the order `--fix` narrows them.
pub fn fs_facts(ctx: &Context, config: &Config, includes: &[PathBuf]) -> FsFacts {
    let paths = &ctx.paths;
    let targets = audit::fs::targets(
        config,
        &paths.state_dir.display().to_string(),
        &paths.config_path.display().to_string(),
        &paths.credentials_dir.display().to_string(),
        &paths.home.display().to_string(),
    );
    let mut facts = Vec::new();
    for (role, path) in targets {
        let path = PathBuf::from(path);
        facts.push(path_fact(role, &path));
        match role {
            PathRole::Config => {
                for include in includes {
                    facts.push(path_fact(PathRole::Include, include));
                }
            }
            PathRole::CredentialsDir => {
                for file in files_in(&path, ".json") {
                    facts.push(path_fact(PathRole::CredentialFile, &file));
                }
            }
            PathRole::SessionsStore => {
                if let Some(dir) = path.parent() {
                    for file in files_in(dir, ".jsonl") {
                        facts.push(path_fact(PathRole::Transcript, &file));
                    }
                }
            }
            _ => {}
        }
    }
    FsFacts { paths: facts }
}

fn pairing_allow_from(ctx: &Context, config: &Config) -> BTreeMap<String, Vec<String>> {
    let store = PairingStore::new(&ctx.paths.credentials_dir);
    let mut out = BTreeMap::new();
    let Some(channels) = config.channels.as_ref() else {
        return out;
    };
    for view in channels.iter() {
        let mut senders: Vec<String> = store.allow_from(view.id, crate::channels::accounts::DEFAULT_ACCOUNT);
        for (account, _) in channels.accounts(view.id) {
            for s in store.allow_from(view.id, account) {
                if !senders.contains(&s) {
                    senders.push(s);
                }
            }
        }
        out.insert(view.id.to_string(), senders);
    }
    out
}

fn sha256_file(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    Some(format!("{:x}", hasher.finalize()))
}

fn load(ctx: &Context) -> Result<Loaded, String> {
    let loaded = config::load_with(&ctx.paths, &ctx.env, UnsetVariables::KeepReferences)
        .map_err(|f| format!("{}: {}", f.path.display(), f.issue))?;
    if !loaded.is_valid() {
        let errors: Vec<String> = loaded
            .issues()
            .filter(|i| i.is_error())
            .map(ToString::to_string)
            .collect();
        return Err(format!(
            "{} is invalid ({} error(s)): {}",
            loaded.path().display(),
            errors.len(),
            errors.first().cloned().unwrap_or_default()
        ));
    }
    Ok(loaded)
}

/// Runs the audit (after `--fix` when asked, so the report shows the state after fixing).
pub fn run(ctx: &Context, options: Options) -> Outcome {
    let fix = options.fix.then(|| apply_fixes(ctx));
    let ts = chrono::Utc::now().timestamp_millis();
    let loaded = match load(ctx) {
        Ok(loaded) => loaded,
        Err(invalid) => {
            return Outcome {
                fix,
                audit: None,
                invalid: Some(invalid),
                deep: None,
                secret_diagnostics: Vec::new(),
                ts,
            };
        }
    };
    let Some(config) = loaded.config() else {
        return Outcome {
            fix,
            audit: None,
            invalid: Some("the config is invalid".into()),
            deep: None,
            secret_diagnostics: Vec::new(),
            ts,
        };
    };
    let secret_diagnostics: Vec<String> = loaded
        .issues()
        .filter(|i| i.kind == IssueKind::MissingEnvVar)
        .map(ToString::to_string)
        .collect();
    let env = env_map(ctx);
    let facts = fs_facts(ctx, config, &loaded.includes);
    let approvals = ExecApprovalsStore::new(&ctx.paths.state_dir).load().ok().flatten();
    let discovery = discover(Some(config), &ctx.paths, &ctx.env);
    let component_digests: BTreeMap<String, String> = discovery
        .plugins
        .iter()
        .filter(|s| s.pinned_sha256.is_some() && matches!(s.decision, Decision::Load(_)))
        .filter_map(|s| {
            let manifest = s.candidate.manifest.as_ref().ok()?;
            let digest = sha256_file(&Path::new(&s.candidate.dir).join(&manifest.component.file))?;
            Some((s.candidate.id.clone(), digest))
        })
        .collect();
    let deep = options.deep.then(|| probe::deep(ctx, config));
    let state_dir = ctx.paths.state_dir.display().to_string();
    let config_path = ctx.paths.config_path.display().to_string();
    let input = AuditInput {
        config,
        raw: &loaded.merged,
        env: &env,
        state_dir: &state_dir,
        config_path: &config_path,
        fs: Some(facts),
        approvals: approvals.as_ref(),
        discovery: Some(&discovery),
        component_digests,
        pairing_allow_from: pairing_allow_from(ctx, config),
        deep: deep.clone(),
    };
    let result = audit::run(&input);
    Outcome {
        fix,
        audit: Some(result),
        invalid: None,
        deep,
        secret_diagnostics,
        ts,
    }
}

/// `--fix`: the safe config edits (kept as `.bak`), then the chmods. An invalid config skips
/// the edits and still narrows permissions.
pub fn apply_fixes(ctx: &Context) -> FixResult {
    let mut result = FixResult::default();
    let (config, includes) = match load(ctx) {
        Ok(loaded) => {
            let fixes = config_fixes(&loaded.merged);
            if !fixes.is_empty() {
                let edits = fixes.clone();
                let written = edit::modify(&ctx.paths, &ctx.env, move |doc| {
                    for fix in &edits {
                        let mut path = JsonPath::root();
                        for key in &fix.path {
                            path = path.key(key);
                        }
                        edit::set(doc, &path, fix.to.clone())?;
                    }
                    Ok(true)
                });
                match written {
                    Ok(Some(written)) => {
                        result.config_written = true;
                        result.backup = written.backup;
                        result.changes = fixes.into_iter().map(|f| f.change).collect();
                    }
                    Ok(None) => {}
                    Err(e) => result.errors.push(format!("config: {e}")),
                }
            }
            (loaded.config().cloned().unwrap_or_default(), loaded.includes.clone())
        }
        Err(e) => {
            result.errors.push(e);
            (Config::default(), Vec::new())
        }
    };
    let facts = fs_facts(ctx, &config, &includes);
    for mut action in chmod_plan(&facts) {
        if action.ok
            && let Err(e) = narrow_mode(Path::new(&action.path), action.mode)
        {
            action.ok = false;
            action.error = Some(e);
            result.errors.push(format!(
                "chmod {:o} {}: {}",
                action.mode,
                action.path,
                action.error.clone().unwrap_or_default()
            ));
        }
        result.actions.push(action);
    }
    result
}

/// Sets `mode` on `path` through a descriptor opened without following symlinks, so a path
/// swapped for a link after the plan was made is refused rather than followed.
fn narrow_mode(path: &Path, mode: u32) -> Result<(), String> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| e.to_string())?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| e.to_string())?;
    // Only group and other bits are ever removed, whatever happened since the plan.
    let narrowed = (stat.st_mode & 0o7777) & !0o077;
    debug_assert!(narrowed & !mode & 0o777 == 0 || mode == 0);
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(narrowed)).map_err(|e| e.to_string())
}
