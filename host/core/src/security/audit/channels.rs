//! Per-channel access: open or disabled DMs, DMs from several people sharing the main session,
//! and Telegram's group sender allowlists. Accounts inherit the channel's keys they do not set.

use super::facts::AuditInput;
use super::{Finding, Severity, first_n};
use crate::config::schema::channels::{ChannelAccess, DmPolicy, GroupPolicy};
use crate::config::schema::session::DmScope;

pub fn label(channel: &str) -> String {
    match channel {
        "telegram" => "Telegram".into(),
        "whatsapp" => "WhatsApp".into(),
        "discord" => "Discord".into(),
        "slack" => "Slack".into(),
        "signal" => "Signal".into(),
        "imessage" => "iMessage".into(),
        "irc" => "IRC".into(),
        "googlechat" => "Google Chat".into(),
        "line" => "LINE".into(),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// One account's effective access keys (account over channel).
struct Scope<'a> {
    account: Option<&'a str>,
    own: &'a ChannelAccess,
    base: &'a ChannelAccess,
}

impl Scope<'_> {
    fn dm_policy(&self) -> DmPolicy {
        self.own
            .effective_dm_policy()
            .or_else(|| self.base.effective_dm_policy())
            .unwrap_or(DmPolicy::Pairing)
    }

    fn group_policy(&self, default: GroupPolicy) -> GroupPolicy {
        self.own.group_policy.or(self.base.group_policy).unwrap_or(default)
    }

    fn allow_from(&self) -> Vec<String> {
        let own = self.own.effective_allow_from();
        if own.is_empty() && self.account.is_some() {
            self.base.effective_allow_from()
        } else {
            own
        }
    }

    fn group_allow_from(&self) -> Vec<String> {
        let pick = |a: &ChannelAccess| -> Vec<String> {
            a.group_allow_from.iter().flatten().map(|e| e.normalized()).collect()
        };
        let own = pick(self.own);
        if own.is_empty() && self.account.is_some() {
            pick(self.base)
        } else {
            own
        }
    }

    fn groups(&self) -> Option<&crate::config::schema::common::IdMap<crate::config::schema::channels::GroupConfig>> {
        self.own.groups.as_ref().or(self.base.groups.as_ref())
    }

    fn suffix(&self) -> String {
        self.account.map(|a| format!(" (account: {a})")).unwrap_or_default()
    }
}

pub fn collect(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let Some(channels) = input.config.channels.as_ref() else {
        return;
    };
    let dm_scope = input
        .config
        .session
        .as_ref()
        .and_then(|s| s.dm_scope)
        .unwrap_or(DmScope::Main);
    let default_group = channels
        .defaults
        .as_ref()
        .and_then(|d| d.group_policy)
        .unwrap_or(GroupPolicy::Allowlist);
    for view in channels.iter() {
        if view.access.enabled == Some(false) {
            continue;
        }
        let id = view.id;
        let name = label(id);
        let store = input.pairing_allow_from.get(id).cloned().unwrap_or_default();
        let accounts = channels.accounts(id);
        let mut scopes = vec![Scope {
            account: None,
            own: view.access,
            base: view.access,
        }];
        for (account, access) in &accounts {
            if access.enabled == Some(false) {
                continue;
            }
            scopes.push(Scope {
                account: Some(account),
                own: access,
                base: view.access,
            });
        }
        for scope in &scopes {
            let sfx = scope.suffix();
            if scope.own.dangerously_allow_name_matching == Some(true) {
                out.push(Finding::new(
                    format!("channels.{id}.allowFrom.dangerous_name_matching_enabled"),
                    Severity::Info,
                    format!("{name} dangerous name matching is enabled{sfx}"),
                    "dangerouslyAllowNameMatching=true matches allowlist entries against display names, which senders can change.",
                ));
            }
            let policy = scope.dm_policy();
            let allow = scope.allow_from();
            match policy {
                DmPolicy::Open => {
                    out.push(
                        Finding::new(
                            format!("channels.{id}.dm.open"),
                            Severity::Critical,
                            format!("{name} DMs are open{sfx}"),
                            format!("{name} dmPolicy=\"open\": anyone who can message the bot can trigger it."),
                        )
                        .fix(format!(
                            "Use dmPolicy=\"pairing\" or \"allowlist\" for {name}. If you really want open DMs, allowFrom must include \"*\"."
                        )),
                    );
                    if !allow.iter().any(|a| a == "*") {
                        out.push(Finding::new(
                            format!("channels.{id}.dm.open_invalid"),
                            Severity::Warn,
                            format!("{name} DM config looks inconsistent{sfx}"),
                            format!("{name} dmPolicy=\"open\" but allowFrom does not include \"*\"."),
                        ));
                    }
                }
                DmPolicy::Disabled => out.push(Finding::new(
                    format!("channels.{id}.dm.disabled"),
                    Severity::Info,
                    format!("{name} DMs are disabled{sfx}"),
                    format!("{name} dmPolicy=\"disabled\": direct messages are ignored."),
                )),
                DmPolicy::Pairing | DmPolicy::Allowlist => {}
            }
            if policy != DmPolicy::Disabled && dm_scope == DmScope::Main {
                let mut senders: Vec<String> = allow.clone();
                if policy == DmPolicy::Pairing {
                    for s in &store {
                        if !senders.contains(s) {
                            senders.push(s.clone());
                        }
                    }
                }
                let wildcard = senders.iter().any(|s| s == "*") || policy == DmPolicy::Open;
                let distinct = senders.iter().filter(|s| s.as_str() != "*").count();
                if wildcard || distinct > 1 {
                    out.push(
                        Finding::new(
                            format!("channels.{id}.dm.scope_main_multiuser"),
                            Severity::Warn,
                            format!("{name} DMs share the main session{sfx}"),
                            format!(
                                "session.dmScope=\"main\" and {} can DM the bot: every sender's messages land in one session and can read each other's context.",
                                if wildcard { "anyone".to_string() } else { format!("{distinct} senders") }
                            ),
                        )
                        .fix("Set session.dmScope=\"per-channel-peer\" (or \"per-account-channel-peer\" for several accounts)."),
                    );
                }
            }
            if id == "telegram" {
                telegram(scope, &name, &store, default_group, out);
            }
        }
    }
}

fn telegram(scope: &Scope<'_>, name: &str, store: &[String], default_group: GroupPolicy, out: &mut Vec<Finding>) {
    let sfx = scope.suffix();
    let policy = scope.group_policy(default_group);
    let groups = scope.groups();
    let group_access = match policy {
        GroupPolicy::Open => true,
        GroupPolicy::Allowlist => groups.is_some_and(|g| !g.is_empty()),
        GroupPolicy::Disabled => false,
    };
    if !group_access {
        return;
    }
    let group_allow = scope.group_allow_from();
    let allow = scope.allow_from();
    let mut per_group: Vec<String> = Vec::new();
    for group in groups.into_iter().flat_map(|g| g.values()) {
        per_group.extend(group.allow_from.iter().flatten().map(|e| e.normalized()));
        for topic in group.topics.iter().flat_map(|t| t.values()) {
            per_group.extend(topic.allow_from.iter().flatten().map(|e| e.normalized()));
        }
    }
    let non_numeric: Vec<String> = allow
        .iter()
        .chain(group_allow.iter())
        .chain(per_group.iter())
        .chain(store.iter())
        .filter(|e| e.as_str() != "*" && !e.trim_start_matches('-').chars().all(|c| c.is_ascii_digit()))
        .cloned()
        .collect();
    if !non_numeric.is_empty() {
        out.push(
            Finding::new(
                "channels.telegram.allowFrom.invalid_entries",
                Severity::Warn,
                format!("{name} allowlist contains non-numeric entries{sfx}"),
                format!(
                    "Telegram matches senders by numeric user id; these entries never match (usernames can be changed and reused): {}",
                    first_n(&non_numeric, 10)
                ),
            )
            .fix("Replace them with numeric Telegram user ids."),
        );
    }
    if group_allow.iter().chain(store.iter()).any(|e| e == "*") {
        out.push(
            Finding::new(
                "channels.telegram.groups.allowFrom.wildcard",
                Severity::Critical,
                format!("{name} group allowlist contains wildcard{sfx}"),
                "groupAllowFrom (or the pairing store) contains \"*\": anyone in an allowed group can command the bot.",
            )
            .fix("List the numeric user ids allowed to trigger the bot in groups."),
        );
    } else if group_allow.is_empty() && allow.is_empty() && per_group.is_empty() {
        out.push(
            Finding::new(
                "channels.telegram.groups.allowFrom.missing",
                Severity::Critical,
                format!("{name} group commands have no sender allowlist{sfx}"),
                format!(
                    "groupPolicy=\"{}\" admits groups, and no groupAllowFrom/allowFrom restricts who in them can trigger the bot.",
                    match policy {
                        GroupPolicy::Open => "open",
                        GroupPolicy::Allowlist => "allowlist",
                        GroupPolicy::Disabled => "disabled",
                    }
                ),
            )
            .fix("Set channels.telegram.groupAllowFrom to the numeric user ids allowed to trigger the bot in groups."),
        );
    }
}
