//! The summary, synced-folder and file-permission checks, and the list of paths they (and
//! `--fix`) look at.

use serde_json::Value;

use super::facts::{AuditInput, FsFacts, PathFact, PathKind, PathRole};
use super::{Finding, Severity};
use crate::config::schema::Config;
use crate::config::schema::logging::LogFileSetting;

const TRUST_MODEL_LINE: &str =
    "trust model: personal assistant (one trusted operator boundary), not hostile multi-tenant on one shared gateway";

pub fn summary(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let mut open = 0;
    let mut allowlist = 0;
    if let Some(Value::Object(channels)) = input.raw_at(&["channels"]) {
        for (id, channel) in channels {
            if id == "defaults" {
                continue;
            }
            match channel.get("groupPolicy").and_then(Value::as_str) {
                Some("open") => open += 1,
                Some("allowlist") => allowlist += 1,
                _ => {}
            }
        }
    }
    let on_off = |on: bool| if on { "enabled" } else { "disabled" };
    let elevated = input.raw_at(&["tools", "elevated", "enabled"]) != Some(&Value::Bool(false));
    let webhooks = input.raw_at(&["hooks", "enabled"]) == Some(&Value::Bool(true));
    let internal = input.raw_at(&["hooks", "internal", "enabled"]) != Some(&Value::Bool(false));
    let browser = input.raw_at(&["browser", "enabled"]) != Some(&Value::Bool(false));
    let detail = [
        format!("groups: open={open}, allowlist={allowlist}"),
        format!("tools.elevated: {}", on_off(elevated)),
        format!("hooks.webhooks: {}", on_off(webhooks)),
        format!("hooks.internal: {}", on_off(internal)),
        format!("browser control: {}", on_off(browser)),
        TRUST_MODEL_LINE.to_string(),
    ]
    .join("\n");
    out.push(Finding::new(
        "summary.attack_surface",
        Severity::Info,
        "Attack surface summary",
        detail,
    ));
}

pub fn synced_dir(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    const SYNCED: &[&str] = &["icloud", "dropbox", "google drive", "googledrive", "onedrive"];
    let looks_synced = |path: &str| {
        let lower = path.to_lowercase();
        SYNCED.iter().any(|s| lower.contains(s))
    };
    let hits: Vec<String> = [("state dir", input.state_dir), ("config", input.config_path)]
        .iter()
        .filter(|(_, p)| looks_synced(p))
        .map(|(what, p)| format!("{what}: {p}"))
        .collect();
    if !hits.is_empty() {
        out.push(
            Finding::new(
                "fs.synced_dir",
                Severity::Warn,
                "State/config path looks like a synced folder",
                format!(
                    "{}. Synced folders copy tokens, transcripts and credentials to other machines and the sync provider.",
                    hits.join("; ")
                ),
            )
            .fix("Keep OPENCLAW_STATE_DIR on a local-only volume and re-run \"openclaw security audit --fix\"."),
        );
    }
}

/// The fixed paths of the state tree (the host adds each include, each `credentials/*.json` and
/// each transcript it finds).
pub fn targets(
    config: &Config,
    state_dir: &str,
    config_path: &str,
    credentials_dir: &str,
    home: &str,
) -> Vec<(PathRole, String)> {
    let mut out = vec![
        (PathRole::StateDir, state_dir.to_string()),
        (PathRole::Config, config_path.to_string()),
        (PathRole::CredentialsDir, credentials_dir.to_string()),
    ];
    let mut agents = vec![config.agents().default_agent_id()];
    for id in config.agents().ids() {
        if !agents.contains(&id) {
            agents.push(id);
        }
    }
    for id in agents {
        let base = format!("{state_dir}/agents/{id}");
        out.push((PathRole::AgentDir, base.clone()));
        out.push((PathRole::AgentDir, format!("{base}/agent")));
        out.push((PathRole::AuthProfiles, format!("{base}/agent/auth-profiles.json")));
        out.push((PathRole::SessionsDir, format!("{base}/sessions")));
        out.push((PathRole::SessionsStore, format!("{base}/sessions/sessions.json")));
    }
    if let Some(file) = log_file(config, home) {
        out.push((PathRole::LogFile, file));
    }
    out
}

/// `logging.file` with `~` expanded, when set.
pub fn log_file(config: &Config, home: &str) -> Option<String> {
    let path = match config.logging().file.as_ref()? {
        LogFileSetting::Path(p) => p.clone(),
        LogFileSetting::Options(o) if o.enabled != Some(false) => o.path.clone()?,
        LogFileSetting::Options(_) => return None,
    };
    let path = path.trim();
    if path.is_empty() {
        return None;
    }
    Some(match path.strip_prefix("~/") {
        Some(rest) => format!("{}/{rest}", home.trim_end_matches('/')),
        None => path.to_string(),
    })
}

const WORLD_WRITABLE: u32 = 0o002;
const GROUP_WRITABLE: u32 = 0o020;
const WORLD_READABLE: u32 = 0o004;
const GROUP_READABLE: u32 = 0o040;

fn detail(fact: &PathFact) -> String {
    format!("{} mode={:o}", fact.path, fact.mode & 0o777)
}

fn chmod(fact: &PathFact) -> String {
    format!("chmod {:o} {}", fact.role.wanted_mode(), fact.path)
}

fn perm(check_id: &str, severity: Severity, title: &str, fact: &PathFact) -> Finding {
    Finding::new(check_id, severity, title, detail(fact)).fix(chmod(fact))
}

pub fn permissions(facts: &FsFacts, out: &mut Vec<Finding>) {
    let mut transcripts_open = Vec::new();
    for fact in &facts.paths {
        if fact.kind == PathKind::Missing {
            continue;
        }
        let mode = fact.mode;
        let writable = mode & (WORLD_WRITABLE | GROUP_WRITABLE) != 0;
        let readable = mode & (WORLD_READABLE | GROUP_READABLE) != 0;
        match fact.role {
            PathRole::StateDir => {
                if fact.symlink {
                    out.push(Finding::new(
                        "fs.state_dir.symlink",
                        Severity::Warn,
                        "State dir is a symlink",
                        format!(
                            "{} is a symlink; whoever controls the link controls where tokens and transcripts go",
                            fact.path
                        ),
                    ));
                }
                if mode & WORLD_WRITABLE != 0 {
                    out.push(perm(
                        "fs.state_dir.perms_world_writable",
                        Severity::Critical,
                        "State dir is world-writable",
                        fact,
                    ));
                } else if mode & GROUP_WRITABLE != 0 {
                    out.push(perm(
                        "fs.state_dir.perms_group_writable",
                        Severity::Warn,
                        "State dir is group-writable",
                        fact,
                    ));
                } else if readable {
                    out.push(perm(
                        "fs.state_dir.perms_readable",
                        Severity::Warn,
                        "State dir is readable by others",
                        fact,
                    ));
                }
            }
            PathRole::Config | PathRole::Include => {
                let (prefix, noun) = if fact.role == PathRole::Config {
                    ("fs.config", "Config file")
                } else {
                    ("fs.config_include", "Config include file")
                };
                if fact.symlink && fact.role == PathRole::Config {
                    out.push(Finding::new(
                        "fs.config.symlink",
                        Severity::Warn,
                        "Config file is a symlink",
                        format!("{} is a symlink; make sure you trust its target", fact.path),
                    ));
                }
                if writable {
                    out.push(perm(
                        &format!("{prefix}.perms_writable"),
                        Severity::Critical,
                        &format!("{noun} is writable by others"),
                        fact,
                    ));
                } else if fact.symlink && fact.role == PathRole::Config {
                    // OpenClaw skips the readable checks for a linked config.
                } else if mode & WORLD_READABLE != 0 {
                    out.push(perm(
                        &format!("{prefix}.perms_world_readable"),
                        Severity::Critical,
                        &format!("{noun} is world-readable"),
                        fact,
                    ));
                } else if mode & GROUP_READABLE != 0 {
                    out.push(perm(
                        &format!("{prefix}.perms_group_readable"),
                        Severity::Warn,
                        &format!("{noun} is group-readable"),
                        fact,
                    ));
                }
            }
            PathRole::CredentialsDir => {
                if writable {
                    out.push(perm(
                        "fs.credentials_dir.perms_writable",
                        Severity::Critical,
                        "Credentials dir is writable by others",
                        fact,
                    ));
                } else if readable {
                    out.push(perm(
                        "fs.credentials_dir.perms_readable",
                        Severity::Warn,
                        "Credentials dir is readable by others",
                        fact,
                    ));
                }
            }
            PathRole::AuthProfiles => {
                if writable {
                    out.push(perm(
                        "fs.auth_profiles.perms_writable",
                        Severity::Critical,
                        "auth-profiles.json is writable by others",
                        fact,
                    ));
                } else if readable {
                    out.push(perm(
                        "fs.auth_profiles.perms_readable",
                        Severity::Warn,
                        "auth-profiles.json is readable by others",
                        fact,
                    ));
                }
            }
            PathRole::SessionsStore if readable => {
                out.push(perm(
                    "fs.sessions_store.perms_readable",
                    Severity::Warn,
                    "sessions.json is readable by others",
                    fact,
                ));
            }
            PathRole::LogFile if readable => {
                out.push(perm(
                    "fs.log_file.perms_readable",
                    Severity::Warn,
                    "Log file is readable by others",
                    fact,
                ));
            }
            PathRole::CredentialFile if writable || readable => {
                out.push(perm(
                    "fs.credentials_file.perms_readable",
                    if writable { Severity::Critical } else { Severity::Warn },
                    "Credentials file is accessible by others",
                    fact,
                ));
            }
            PathRole::Transcript if writable || readable => transcripts_open.push(fact.path.clone()),
            _ => {}
        }
    }
    if !transcripts_open.is_empty() {
        out.push(
            Finding::new(
                "fs.transcripts.perms_readable",
                Severity::Warn,
                "Session transcripts are readable by others",
                format!(
                    "{} transcript(s) can be read by other users: {}",
                    transcripts_open.len(),
                    super::first_n(&transcripts_open, 5)
                ),
            )
            .fix("openclaw security audit --fix (chmod 600 each transcript)"),
        );
    }
}
