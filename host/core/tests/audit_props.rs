//! Properties of the security audit over generated configs and state trees:
//! - the audit never panics on a config that validates, and its summary counts its findings;
//! - `--fix` plans are idempotent and never loosen anything: after applying the config edits
//!   the edits come back empty, and chmods only ever remove bits;
//! - exposure claims: an open group with elevated on is always critical; a config the fixes
//!   were applied to never reports the findings the fixes address.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use openclaw_core::config::check::check;
use openclaw_core::security::audit::fix::{chmod_plan, config_fixes};
use openclaw_core::security::audit::{self, AuditInput, FsFacts, PathFact, PathKind, PathRole, Severity};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn pick<T: Clone + std::fmt::Debug + 'static>(items: Vec<T>) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

/// Optional fragments of a config, each drawn from values OpenClaw operators write.
fn config_strategy() -> impl Strategy<Value = Value> {
    (
        (
            pick(vec![None, Some("loopback"), Some("lan"), Some("tailnet")]),
            pick(vec![None, Some("token"), Some("password"), Some("none")]),
            pick(vec![None, Some(TOKEN), Some("short")]),
            pick(vec![None, Some("off"), Some("serve")]),
            pick(vec![None, Some(vec!["https://gw.example.com"]), Some(vec!["*"])]),
            any::<bool>(),
        ),
        (
            pick(vec![
                None,
                Some("pairing"),
                Some("allowlist"),
                Some("open"),
                Some("disabled"),
            ]),
            pick(vec![None, Some("open"), Some("allowlist"), Some("disabled")]),
            pick(vec![
                None,
                Some(vec!["123456"]),
                Some(vec!["*"]),
                Some(vec!["@alice", "42"]),
            ]),
            pick(vec![None, Some("-100123"), Some("*")]),
            pick(vec![None, Some("open")]),
        ),
        (
            pick(vec![
                None,
                Some("minimal"),
                Some("coding"),
                Some("messaging"),
                Some("full"),
            ]),
            pick(vec![None, Some("deny"), Some("allowlist"), Some("full")]),
            pick(vec![None, Some(true), Some(false)]),
            pick(vec![None, Some("off"), Some("non-main"), Some("all")]),
            pick(vec![None, Some("main"), Some("per-channel-peer")]),
            pick(vec![None, Some("off"), Some("tools")]),
            pick(vec![
                None,
                Some("anthropic/claude-opus-4-6"),
                Some("ollama/qwen2.5:7b"),
                Some("openai/gpt-3.5-turbo"),
            ]),
            any::<bool>(),
        ),
    )
        .prop_map(|(g, c, t)| {
            let mut root = Map::new();
            let mut gateway = Map::new();
            gateway.insert("mode".into(), json!("local"));
            if let Some(bind) = g.0 {
                gateway.insert("bind".into(), json!(bind));
            }
            let mut auth = Map::new();
            if let Some(mode) = g.1 {
                auth.insert("mode".into(), json!(mode));
            }
            if let Some(token) = g.2 {
                auth.insert(
                    if g.1 == Some("password") { "password" } else { "token" }.into(),
                    json!(token),
                );
            }
            gateway.insert("auth".into(), Value::Object(auth));
            if let Some(ts) = g.3 {
                gateway.insert("tailscale".into(), json!({"mode": ts}));
            }
            if let Some(origins) = g.4 {
                gateway.insert("controlUi".into(), json!({"allowedOrigins": origins}));
            }
            if g.5 {
                gateway.insert("trustedProxies".into(), json!(["10.0.0.1"]));
            }
            root.insert("gateway".into(), Value::Object(gateway));

            let mut telegram = Map::new();
            telegram.insert("botToken".into(), json!("123456789:AAF-test_Token-abcdefghijklmnopq"));
            if let Some(p) = c.0 {
                telegram.insert("dmPolicy".into(), json!(p));
            }
            if let Some(p) = c.1 {
                telegram.insert("groupPolicy".into(), json!(p));
            }
            if let Some(a) = c.2 {
                telegram.insert("allowFrom".into(), json!(a));
            }
            if let Some(group) = c.3 {
                telegram.insert("groups".into(), json!({group: {"requireMention": true}}));
            }
            if let Some(p) = c.4 {
                telegram.insert("accounts".into(), json!({"work": {"groupPolicy": p}}));
            }
            root.insert("channels".into(), json!({"telegram": telegram}));

            let mut tools = Map::new();
            if let Some(p) = t.0 {
                tools.insert("profile".into(), json!(p));
            }
            if let Some(s) = t.1 {
                tools.insert("exec".into(), json!({"security": s}));
            }
            if let Some(e) = t.2 {
                tools.insert("elevated".into(), json!({"enabled": e}));
            }
            root.insert("tools".into(), Value::Object(tools));
            let mut defaults = Map::new();
            if let Some(mode) = t.3 {
                defaults.insert("sandbox".into(), json!({"mode": mode}));
            }
            if let Some(model) = t.6 {
                defaults.insert("model".into(), json!(model));
            }
            root.insert("agents".into(), json!({"defaults": defaults}));
            if let Some(scope) = t.4 {
                root.insert("session".into(), json!({"dmScope": scope}));
            }
            if let Some(r) = t.5 {
                root.insert("logging".into(), json!({"redactSensitive": r}));
            }
            if t.7 {
                root.insert(
                    "security".into(),
                    json!({"audit": {"suppressions": [{"checkId": "gateway.trusted_proxies_missing"}]}}),
                );
            }
            Value::Object(root)
        })
}

fn fs_strategy() -> impl Strategy<Value = FsFacts> {
    let roles = vec![
        PathRole::StateDir,
        PathRole::Config,
        PathRole::Include,
        PathRole::CredentialsDir,
        PathRole::CredentialFile,
        PathRole::AgentDir,
        PathRole::AuthProfiles,
        PathRole::SessionsDir,
        PathRole::SessionsStore,
        PathRole::Transcript,
        PathRole::LogFile,
    ];
    proptest::collection::vec(
        (
            pick(roles),
            pick(vec![PathKind::Missing, PathKind::File, PathKind::Dir, PathKind::Other]),
            0u32..0o10000,
            any::<bool>(),
        ),
        0..12,
    )
    .prop_map(|items| FsFacts {
        paths: items
            .into_iter()
            .enumerate()
            .map(|(i, (role, kind, mode, symlink))| PathFact {
                role,
                path: format!("/state/p{i}"),
                kind,
                mode,
                symlink,
            })
            .collect(),
    })
}

fn audit_of(doc: &Value, fs: Option<FsFacts>) -> Option<audit::Audit> {
    let checked = check(doc.clone(), &|_| None, &[]);
    let config = checked.config?;
    let env = BTreeMap::new();
    let input = AuditInput {
        config: &config,
        raw: doc,
        env: &env,
        state_dir: "/home/u/.openclaw",
        config_path: "/home/u/.openclaw/openclaw.json",
        fs,
        approvals: None,
        discovery: None,
        component_digests: BTreeMap::new(),
        pairing_allow_from: BTreeMap::new(),
        deep: None,
    };
    Some(audit::run(&input))
}

fn apply(doc: &mut Value, fixes: &[audit::fix::ConfigFix]) {
    for fix in fixes {
        let mut at = &mut *doc;
        let (last, parents) = fix.path.split_last().unwrap();
        for key in parents {
            at = at
                .as_object_mut()
                .unwrap()
                .entry(key.clone())
                .or_insert_with(|| json!({}));
        }
        at.as_object_mut().unwrap().insert(last.clone(), fix.to.clone());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_audit_never_panics_and_counts_what_it_reports(doc in config_strategy(), fs in fs_strategy()) {
        if let Some(result) = audit_of(&doc, Some(fs)) {
            let s = result.summary;
            prop_assert_eq!(s.critical + s.warn + s.info, result.findings.len());
            for f in &result.findings {
                prop_assert!(!f.check_id.is_empty() && !f.title.is_empty() && !f.detail.is_empty());
            }
            prop_assert!(result.findings.iter().any(|f| f.check_id == "summary.attack_surface"));
        }
    }

    #[test]
    fn config_fixes_are_idempotent_and_clear_what_they_address(doc in config_strategy()) {
        let fixes = config_fixes(&doc);
        let mut fixed = doc.clone();
        apply(&mut fixed, &fixes);
        prop_assert!(config_fixes(&fixed).is_empty());
        // The fixes never touch DM policies, binds or auth.
        prop_assert_eq!(&fixed["gateway"], &doc["gateway"]);
        prop_assert_eq!(&fixed["channels"]["telegram"]["dmPolicy"], &doc["channels"]["telegram"]["dmPolicy"]);
        if let (Some(_), Some(after)) = (audit_of(&doc, None), audit_of(&fixed, None)) {
            for gone in ["logging.redact_off", "security.exposure.open_groups_with_elevated", "security.exposure.open_groups_with_runtime_or_fs"] {
                prop_assert!(!after.findings.iter().any(|f| f.check_id == gone), "{} after fixing", gone);
            }
        }
    }

    #[test]
    fn chmod_plans_only_remove_bits_and_converge(fs in fs_strategy()) {
        let plan = chmod_plan(&fs);
        let mut after = fs.clone();
        for action in &plan {
            let fact = fs.paths.iter().find(|f| f.path == action.path).unwrap();
            if action.ok {
                prop_assert_eq!(action.mode & !(fact.mode & 0o777), 0, "{:o} adds bits to {:o}", action.mode, fact.mode);
                prop_assert_eq!(action.mode & 0o077, 0);
                for f in after.paths.iter_mut().filter(|f| f.path == action.path) {
                    f.mode = action.mode;
                }
            }
        }
        prop_assert!(chmod_plan(&after).iter().all(|a| !a.ok), "a second plan still changes something");
    }

    /// Formal claim (ingress exposure): an open group with elevated exec enabled is always a
    /// critical finding, whatever else the config says.
    #[test]
    fn open_groups_with_elevated_are_always_critical(doc in config_strategy()) {
        let open_group = doc["channels"]["telegram"]["groupPolicy"] == "open"
            || doc["channels"]["telegram"]["accounts"]["work"]["groupPolicy"] == "open";
        let elevated_on = doc["tools"]["elevated"]["enabled"] != json!(false);
        if let Some(result) = audit_of(&doc, None) {
            let found = result.findings.iter().find(|f| f.check_id == "security.exposure.open_groups_with_elevated");
            prop_assert_eq!(found.is_some(), open_group && elevated_on);
            if let Some(f) = found {
                prop_assert_eq!(f.severity, Severity::Critical);
            }
        }
    }
}

/// The properties above say something only if generated configs validate often enough.
#[test]
fn most_generated_configs_validate() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = config_strategy();
    let total = 400;
    let valid = (0..total)
        .filter(|_| {
            let doc = strategy.new_tree(&mut runner).unwrap().current();
            check(doc, &|_| None, &[]).config.is_some()
        })
        .count();
    assert!(
        valid * 100 / total >= 30,
        "only {valid} of {total} generated configs validate"
    );
    eprintln!("{valid} of {total} generated configs validate");
}
