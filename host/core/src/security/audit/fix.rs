//! `security audit --fix` as plans: which config keys to tighten and which modes to narrow. The
//! host carries them out. Every step only takes permissions away, so running it twice changes
//! nothing the second time and it can never loosen anything.

use serde::Serialize;
use serde_json::Value;

use super::facts::{FsFacts, PathKind, PathRole};

/// One config edit: `path` (dotted, keys as written) from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFix {
    pub path: Vec<String>,
    pub to: Value,
    /// OpenClaw's change line (`channels.telegram.groupPolicy=open -> allowlist`).
    pub change: String,
}

/// The safe config edits for `doc` (the merged config, references as written). DM policies,
/// binds, auth and tokens are never touched: those are choices only the operator can make.
pub fn config_fixes(doc: &Value) -> Vec<ConfigFix> {
    let mut fixes = Vec::new();
    if doc.pointer("/logging/redactSensitive").and_then(Value::as_str) == Some("off") {
        fixes.push(ConfigFix {
            path: vec!["logging".into(), "redactSensitive".into()],
            to: Value::String("tools".into()),
            change: "logging.redactSensitive=off -> \"tools\"".into(),
        });
    }
    if let Some(Value::Object(channels)) = doc.get("channels") {
        for (id, channel) in channels {
            if id == "defaults" {
                continue;
            }
            if channel.get("groupPolicy").and_then(Value::as_str) == Some("open") {
                fixes.push(ConfigFix {
                    path: vec!["channels".into(), id.clone(), "groupPolicy".into()],
                    to: Value::String("allowlist".into()),
                    change: format!("channels.{id}.groupPolicy=open -> allowlist"),
                });
            }
            if let Some(Value::Object(accounts)) = channel.get("accounts") {
                for (account, a) in accounts {
                    if a.get("groupPolicy").and_then(Value::as_str) == Some("open") {
                        fixes.push(ConfigFix {
                            path: vec![
                                "channels".into(),
                                id.clone(),
                                "accounts".into(),
                                account.clone(),
                                "groupPolicy".into(),
                            ],
                            to: Value::String("allowlist".into()),
                            change: format!("channels.{id}.accounts.{account}.groupPolicy=open -> allowlist"),
                        });
                    }
                }
            }
        }
    }
    fixes
}

/// A planned or performed chmod, in OpenClaw's FixResult shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChmodAction {
    pub kind: &'static str,
    pub path: String,
    /// The mode set (decimal in JSON, as OpenClaw prints it).
    pub mode: u32,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Roles `--fix` narrows (the log file is reported, not changed, as in OpenClaw).
fn fixable(role: PathRole) -> bool {
    role != PathRole::LogFile
}

/// What to chmod, in the order of `facts`: group and other bits are removed, nothing is added.
pub fn chmod_plan(facts: &FsFacts) -> Vec<ChmodAction> {
    let mut seen = std::collections::HashSet::new();
    facts
        .paths
        .iter()
        .filter(|f| fixable(f.role) && seen.insert(f.path.clone()))
        .map(|fact| {
            let wanted = fact.role.wanted_mode();
            let skip = |why: &'static str| ChmodAction {
                kind: "chmod",
                path: fact.path.clone(),
                mode: wanted,
                ok: false,
                skipped: Some(why),
                error: None,
            };
            match fact.kind {
                PathKind::Missing => skip("missing"),
                _ if fact.symlink => skip("symlink"),
                PathKind::File if fact.role.is_dir() => skip("not-a-directory"),
                PathKind::Dir | PathKind::Other if !fact.role.is_dir() => skip("not-a-file"),
                PathKind::Other => skip("not-a-directory"),
                _ if fact.mode & 0o077 == 0 => skip("already"),
                _ => ChmodAction {
                    kind: "chmod",
                    path: fact.path.clone(),
                    mode: fact.mode & 0o777 & !0o077,
                    ok: true,
                    skipped: None,
                    error: None,
                },
            }
        })
        .collect()
}
