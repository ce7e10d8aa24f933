//! `openclaw secrets audit`: reads the config, the auth profiles, legacy `auth.json` files and
//! the state dir's `.env`, resolves every reference read-only, and classifies with
//! `openclaw_core::security::secrets_audit`.

use std::path::{Path, PathBuf};

use openclaw_core::config::check::UnsetVariables;
use openclaw_core::config::issue::IssueKind;
use openclaw_core::config::rules::find_secret_refs;
use openclaw_core::config::schema::{SecretSource, root_schema};
use openclaw_core::security::secrets_audit::{
    self as rules, SecretCode, SecretFinding, SecretSeverity, SecretsSummary,
};
use serde_json::{Value, json};

use crate::config;
use crate::context::Context;
use crate::secrets::resolve_refs;

/// The largest store file read.
const MAX_STORE_BYTES: u64 = 4 * 1024 * 1024;

pub struct SecretsAudit {
    pub summary: SecretsSummary,
    pub report: Value,
}

fn unresolved(
    file: &Path,
    json_path: impl Into<String>,
    message: impl Into<String>,
    provider: Option<String>,
) -> SecretFinding {
    SecretFinding {
        code: SecretCode::RefUnresolved,
        severity: SecretSeverity::Error,
        file: file.display().to_string(),
        json_path: json_path.into(),
        message: message.into(),
        provider,
        profile_id: None,
    }
}

/// `agents/*/agent/<name>` files that exist, sorted.
fn agent_files(state_dir: &Path, name: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(state_dir.join("agents")) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("agent").join(name))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn read_json(path: &Path, findings: &mut Vec<SecretFinding>) -> Option<Value> {
    let text = match config::read_capped(path, MAX_STORE_BYTES) {
        Ok(text) => text,
        Err(e) => {
            findings.push(unresolved(
                path,
                "",
                format!("cannot read {}: {e}", path.display()),
                None,
            ));
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(value) => Some(value),
        Err(e) => {
            findings.push(unresolved(
                path,
                "",
                format!("{} is not valid JSON: {e}", path.display()),
                None,
            ));
            None
        }
    }
}

pub fn run(ctx: &Context, allow_exec: bool) -> SecretsAudit {
    let mut findings: Vec<SecretFinding> = Vec::new();
    let mut files: Vec<String> = Vec::new();
    let mut refs_checked = 0usize;
    let mut skipped_exec = 0usize;
    let config_path = ctx.paths.config_path.clone();
    let mut ref_providers: Vec<String> = Vec::new();
    match config::load_with(&ctx.paths, &ctx.env, UnsetVariables::KeepReferences) {
        Err(failure) => findings.push(unresolved(&failure.path, "", failure.issue.to_string(), None)),
        Ok(loaded) => {
            if matches!(loaded.origin, config::Origin::File(_)) {
                files.push(config_path.display().to_string());
            }
            files.extend(loaded.includes.iter().map(|p| p.display().to_string()));
            if !loaded.is_valid() {
                let first = loaded
                    .issues()
                    .find(|i| i.is_error())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                findings.push(unresolved(
                    &config_path,
                    "",
                    format!("the config is invalid: {first}"),
                    None,
                ));
            }
            let file = config_path.display().to_string();
            findings.extend(rules::config_plaintext(root_schema(), &loaded.merged, &file));
            for issue in loaded.issues().filter(|i| i.kind == IssueKind::MissingEnvVar) {
                refs_checked += 1;
                findings.push(unresolved(
                    &config_path,
                    issue.path.to_string(),
                    issue.message.clone(),
                    Some("env".into()),
                ));
            }
            if let Some(config) = loaded.config() {
                let all = find_secret_refs(&loaded.checked.resolved);
                let (exec, checkable): (Vec<_>, Vec<_>) = all
                    .into_iter()
                    .partition(|r| r.source == SecretSource::Exec && !allow_exec);
                skipped_exec = exec.len();
                refs_checked += checkable.len();
                let secrets = config.secrets.clone().unwrap_or_default();
                let (_, errors) = resolve_refs(
                    &checkable,
                    &secrets.providers.unwrap_or_default(),
                    &secrets.defaults.unwrap_or_default(),
                    &ctx.env,
                );
                for e in errors {
                    let mut message = e.message;
                    if let Some(hint) = e.hint {
                        message.push_str(&format!(" ({hint})"));
                    }
                    findings.push(unresolved(&config_path, e.path.to_string(), message, Some(e.provider)));
                }
            }
            if let Some(Value::Object(providers)) = loaded.merged.pointer("/models/providers") {
                for (name, p) in providers {
                    let key = p.get("apiKey");
                    let is_ref = key.is_some_and(|k| {
                        k.is_object()
                            || k.as_str()
                                .is_some_and(|s| openclaw_core::config::env_subst::whole_var_ref(s).is_some())
                    });
                    if is_ref {
                        ref_providers.push(name.clone());
                    }
                }
            }
        }
    }
    for path in agent_files(&ctx.paths.state_dir, "auth-profiles.json") {
        files.push(path.display().to_string());
        if let Some(doc) = read_json(&path, &mut findings) {
            findings.extend(rules::auth_profiles(&doc, &path.display().to_string(), &ref_providers));
        }
    }
    for path in agent_files(&ctx.paths.state_dir, "auth.json") {
        files.push(path.display().to_string());
        if let Some(doc) = read_json(&path, &mut findings) {
            findings.extend(rules::legacy_auth(&doc, &path.display().to_string()));
        }
    }
    let dotenv = ctx.paths.state_dir.join(".env");
    if dotenv.is_file() {
        files.push(dotenv.display().to_string());
        match config::read_capped(&dotenv, MAX_STORE_BYTES) {
            Ok(text) => findings.extend(rules::dotenv(&text, &dotenv.display().to_string())),
            Err(e) => findings.push(unresolved(
                &dotenv,
                "",
                format!("cannot read {}: {e}", dotenv.display()),
                None,
            )),
        }
    }
    let summary = SecretsSummary::of(&findings);
    let report = json!({
        "version": 1,
        "status": summary.status(),
        "resolution": {
            "refsChecked": refs_checked,
            "skippedExecRefs": skipped_exec,
            "resolvabilityComplete": skipped_exec == 0,
        },
        "filesScanned": files,
        "summary": summary,
        "findings": findings,
    });
    SecretsAudit { summary, report }
}

/// Why `secrets apply` did nothing, with the fix.
pub struct ApplyError {
    pub message: String,
    pub hint: Option<String>,
}

fn apply_error(message: impl Into<String>, hint: Option<&str>) -> ApplyError {
    ApplyError {
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}

/// The provider a target's credential belongs to (`providerId`, else `models.providers.<id>`).
fn target_provider(target: &openclaw_core::security::secrets_plan::PlanTarget) -> Option<String> {
    target.provider_id.clone().or_else(|| match target.path.as_slice() {
        [a, b, id, _] if a == "models" && b == "providers" => Some(id.clone()),
        _ => None,
    })
}

/// `openclaw secrets apply --from <plan> [--dry-run]`: writes the plan's references and provider
/// changes into the config (validated first, `.bak` kept), then scrubs the plaintext they replace
/// from `.env`, auth profiles and legacy `auth.json` (one-way, as in OpenClaw).
pub fn apply(ctx: &Context, plan_path: &Path, dry_run: bool, allow_exec: bool) -> Result<Value, ApplyError> {
    use openclaw_core::config::path::JsonPath;
    use openclaw_core::security::secrets_plan::{parse, scrub_auth_profiles, scrub_dotenv};

    let text = config::read_capped(plan_path, MAX_STORE_BYTES)
        .map_err(|e| apply_error(format!("cannot read the plan {}: {e}", plan_path.display()), None))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        apply_error(
            format!("{} is not JSON: {e}", plan_path.display()),
            Some("a plan is the JSON file `openclaw secrets configure --plan-out` writes"),
        )
    })?;
    let plan = parse(&doc).map_err(|errors| {
        apply_error(
            format!("the plan is not valid: {}", errors.join("; ")),
            Some("fix the listed fields; nothing was changed"),
        )
    })?;
    if plan.uses_exec() && !dry_run && !allow_exec {
        return Err(apply_error(
            "the plan configures or references an exec secret provider",
            Some("review the commands it would run, then re-run with --allow-exec"),
        ));
    }
    let loaded = config::load_with(&ctx.paths, &ctx.env, UnsetVariables::KeepReferences).map_err(|f| {
        apply_error(
            f.issue.to_string(),
            Some("fix the config first (`openclaw config validate`)"),
        )
    })?;
    let pointer = |path: &[String]| format!("/{}", path.join("/"));
    let migrated: Vec<String> = plan
        .targets
        .iter()
        .filter_map(|t| loaded.merged.pointer(&pointer(&t.path)).and_then(Value::as_str))
        .filter(|v| !v.trim().is_empty() && openclaw_core::config::env_subst::whole_var_ref(v).is_none())
        .map(str::to_string)
        .collect();
    let mut changes: Vec<String> = Vec::new();
    for (alias, _) in &plan.provider_upserts {
        changes.push(format!("secrets.providers.{alias}: upsert"));
    }
    for alias in &plan.provider_deletes {
        changes.push(format!("secrets.providers.{alias}: delete"));
    }
    for t in &plan.targets {
        changes.push(format!("{}: -> {}", t.path.join("."), t.reference));
    }
    let edit = |doc: &mut Value| -> Result<bool, String> {
        for (alias, provider) in &plan.provider_upserts {
            let path = JsonPath::root().key("secrets").key("providers").key(alias);
            config::edit::set(doc, &path, provider.clone())?;
        }
        for alias in &plan.provider_deletes {
            config::edit::unset(doc, &JsonPath::root().key("secrets").key("providers").key(alias));
        }
        for t in &plan.targets {
            let mut path = JsonPath::root();
            for key in &t.path {
                path = path.key(key);
            }
            config::edit::set(doc, &path, t.reference.clone())?;
        }
        Ok(true)
    };
    let mut scrubbed: Vec<Value> = Vec::new();
    if dry_run {
        let mut top = loaded.top.clone();
        edit(&mut top).map_err(|e| apply_error(e, None))?;
        let text = serde_json::to_string_pretty(&top).map_err(|e| apply_error(e.to_string(), None))?;
        let after = config::load_text_with(&text, loaded.path(), &ctx.env, UnsetVariables::KeepReferences)
            .map_err(|f| apply_error(f.issue.to_string(), None))?;
        if !after.is_valid() {
            let first = after
                .issues()
                .find(|i| i.is_error())
                .map(ToString::to_string)
                .unwrap_or_default();
            return Err(apply_error(
                format!("the plan would make the config invalid: {first}"),
                None,
            ));
        }
    } else {
        config::edit::modify(&ctx.paths, &ctx.env, edit).map_err(|e| apply_error(e.to_string(), None))?;
    }
    let providers: Vec<String> = plan.targets.iter().filter_map(target_provider).collect();
    let dotenv_path = ctx.paths.state_dir.join(".env");
    if plan.scrub_env && dotenv_path.is_file() {
        let text = config::read_capped(&dotenv_path, MAX_STORE_BYTES).map_err(|e| apply_error(e.to_string(), None))?;
        let (new_text, removed) = scrub_dotenv(&text, &migrated, &plan.env_ids());
        if !removed.is_empty() {
            if !dry_run {
                crate::state::write_atomic(&dotenv_path, new_text.as_bytes(), crate::state::FILE_MODE)
                    .map_err(|e| apply_error(e.to_string(), None))?;
            }
            scrubbed.push(json!({"file": dotenv_path, "removed": removed}));
        }
    }
    let mut stores: Vec<(PathBuf, bool)> = Vec::new();
    if plan.scrub_auth_profiles {
        stores.extend(
            agent_files(&ctx.paths.state_dir, "auth-profiles.json")
                .into_iter()
                .map(|p| (p, true)),
        );
    }
    if plan.scrub_legacy_auth_json {
        stores.extend(
            agent_files(&ctx.paths.state_dir, "auth.json")
                .into_iter()
                .map(|p| (p, false)),
        );
    }
    for (path, profiles) in stores {
        let mut ignored = Vec::new();
        let Some(mut doc) = read_json(&path, &mut ignored) else {
            continue;
        };
        let mut removed: Vec<String> = Vec::new();
        for provider in &providers {
            if profiles {
                removed.extend(scrub_auth_profiles(&mut doc, provider));
            } else if let Some(map) = doc.as_object_mut()
                && map.remove(provider).is_some()
            {
                removed.push(provider.clone());
            }
        }
        if removed.is_empty() {
            continue;
        }
        if !dry_run {
            let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| apply_error(e.to_string(), None))?;
            crate::state::write_atomic(&path, &bytes, crate::state::FILE_MODE)
                .map_err(|e| apply_error(e.to_string(), None))?;
        }
        scrubbed.push(json!({"file": path, "removed": removed}));
    }
    Ok(json!({
        "ok": true,
        "dryRun": dry_run,
        "configPath": ctx.paths.config_path,
        "changes": changes,
        "scrubbed": scrubbed,
    }))
}
