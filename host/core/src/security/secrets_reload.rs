//! What `openclaw secrets reload` does with a fresh resolution of the config's SecretRefs, before
//! anything is swapped: which failures block the reload (the gateway then keeps its last-known-good
//! values, all of them) and which are only warnings.
//!
//! A reference blocks when it sits on an active surface and resolved in the snapshot in force: a
//! consumer uses its value now, and swapping in "nothing" would break it or, for gateway auth,
//! open it. A reference that did not resolve at start either does not block: the gateway has run
//! without it all along, so refusing every other rotation until it is fixed would protect
//! nothing. A reference under a disabled channel, account or plugin entry is not in use.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::config::path::{JsonPath, Segment};

/// A reference that did not resolve this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefFailure {
    pub path: JsonPath,
    pub message: String,
    /// How to fix it, when the resolver knows.
    pub hint: Option<String>,
}

/// The outcome of judging a fresh resolution.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Failures that keep the old snapshot in force.
    pub blocking: Vec<RefFailure>,
    /// Failures that do not (already unresolved at start, or not in use).
    pub warnings: Vec<String>,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.blocking.is_empty()
    }

    /// The error an operator reads: every failing path, why, and what to do.
    pub fn error_message(&self) -> String {
        let mut lines = vec![format!(
            "secrets reload refused: {} active SecretRef(s) did not resolve; the gateway keeps the secrets it had (nothing was changed)",
            self.blocking.len()
        )];
        for failure in &self.blocking {
            let fix = failure.hint.clone().unwrap_or_else(|| {
                "fix the reference or its provider (`openclaw secrets audit` shows why)".to_string()
            });
            lines.push(format!("  {}: {}; fix: {fix}", failure.path, failure.message));
        }
        lines.push("then run `openclaw secrets reload` again".into());
        lines.join("\n")
    }
}

fn enabled(block: Option<&Value>) -> bool {
    block.and_then(|b| b.get("enabled")).and_then(Value::as_bool) != Some(false)
}

/// Whether `path` sits under something the config switches off: a channel or one of its accounts
/// with `enabled: false`, or a plugin entry with `enabled: false`.
pub fn inactive_surface(doc: &Value, path: &JsonPath) -> bool {
    let keys: Vec<&str> = path
        .segments()
        .iter()
        .map(|s| match s {
            Segment::Key(k) => k.as_str(),
            Segment::Index(_) => "",
        })
        .collect();
    match keys.as_slice() {
        ["channels", channel, rest @ ..] => {
            let block = doc.get("channels").and_then(|c| c.get(*channel));
            if !enabled(block) {
                return true;
            }
            match rest {
                ["accounts", account, ..] => {
                    !enabled(block.and_then(|b| b.get("accounts")).and_then(|a| a.get(*account)))
                }
                _ => false,
            }
        }
        ["plugins", "entries", plugin, ..] => !enabled(
            doc.get("plugins")
                .and_then(|p| p.get("entries"))
                .and_then(|e| e.get(*plugin)),
        ),
        _ => false,
    }
}

/// Sorts this resolution's failures into blocking ones and warnings. `in_force` holds the paths
/// that resolved in the snapshot the gateway uses now.
pub fn judge(doc: &Value, in_force: &BTreeSet<JsonPath>, failures: Vec<RefFailure>) -> Verdict {
    let mut verdict = Verdict::default();
    for failure in failures {
        if inactive_surface(doc, &failure.path) {
            verdict.warnings.push(format!(
                "{}: {} (not in use: its channel, account or plugin is disabled)",
                failure.path, failure.message
            ));
        } else if !in_force.contains(&failure.path) {
            verdict.warnings.push(format!(
                "{}: {} (it did not resolve at start either; the gateway runs without it)",
                failure.path, failure.message
            ));
        } else {
            verdict.blocking.push(failure);
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> JsonPath {
        JsonPath::parse(text).unwrap()
    }

    fn failure(text: &str) -> RefFailure {
        RefFailure {
            path: path(text),
            message: "cannot read secret file /s/k.json: No such file or directory".into(),
            hint: None,
        }
    }

    #[test]
    fn disabled_channels_accounts_and_plugins_are_inactive() {
        let doc = json!({
            "channels": {"telegram": {"accounts": {"work": {"enabled": false}, "home": {}}},
                         "slack": {"enabled": false}},
            "plugins": {"entries": {"off": {"enabled": false}, "on": {}}},
        });
        assert!(inactive_surface(
            &doc,
            &path("channels.telegram.accounts.work.botToken")
        ));
        assert!(!inactive_surface(
            &doc,
            &path("channels.telegram.accounts.home.botToken")
        ));
        assert!(!inactive_surface(&doc, &path("channels.telegram.botToken")));
        assert!(inactive_surface(&doc, &path("channels.slack.botToken")));
        assert!(inactive_surface(&doc, &path("plugins.entries.off.secrets.KEY")));
        assert!(!inactive_surface(&doc, &path("plugins.entries.on.secrets.KEY")));
        assert!(!inactive_surface(&doc, &path("models.providers.openai.apiKey")));
    }

    #[test]
    fn only_failures_of_values_in_use_block() {
        let doc = json!({"plugins": {"entries": {"off": {"enabled": false}}}});
        let in_force: BTreeSet<JsonPath> = [
            path("models.providers.local.apiKey"),
            path("plugins.entries.off.secrets.K"),
        ]
        .into_iter()
        .collect();
        let verdict = judge(
            &doc,
            &in_force,
            vec![
                failure("models.providers.local.apiKey"),
                failure("plugins.entries.off.secrets.K"),
                failure("gateway.auth.password"),
            ],
        );
        assert!(!verdict.ok());
        assert_eq!(verdict.blocking, vec![failure("models.providers.local.apiKey")]);
        assert_eq!(verdict.warnings.len(), 2, "{:?}", verdict.warnings);
        let message = verdict.error_message();
        assert!(
            message.contains("models.providers.local.apiKey: cannot read secret file")
                && message.contains("fix:")
                && message.contains("keeps the secrets it had"),
            "{message}"
        );
        assert!(judge(&doc, &BTreeSet::new(), vec![failure("models.providers.local.apiKey")]).ok());
    }
}
