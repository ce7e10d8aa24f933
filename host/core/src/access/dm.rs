//! Direct messages: `dmPolicy` (reference §1.1).
//!
//! The pairing store widens the allowlist only under `pairing`. Under `allowlist` the operator's
//! list is the whole truth, and under `open` the store is ignored too (OpenClaw's later fix:
//! merging it promoted paired senders into the list that also authorizes commands).

use std::fmt;

use super::account::{AllowList, ResolvedAccess, SenderRef};
use crate::config::schema::channels::DmPolicy;

/// Why a DM is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmAllowed {
    /// `open` with `"*"`: anyone.
    Open,
    /// The sender is listed (config, or the pairing store under `pairing`).
    Allowlisted,
}

impl DmAllowed {
    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "dm_policy_open",
            Self::Allowlisted => "dm_policy_allowlisted",
        }
    }
}

/// Why a DM is refused without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmBlock {
    /// `dmPolicy: "disabled"` (or the older `dm.enabled: false`).
    Disabled,
    /// `allowlist` (or `open` without `"*"`) and the sender is not listed.
    NotAllowlisted,
}

impl DmBlock {
    pub fn code(self) -> &'static str {
        match self {
            Self::Disabled => "dm_policy_disabled",
            Self::NotAllowlisted => "dm_policy_not_allowlisted",
        }
    }
}

impl fmt::Display for DmBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disabled => "direct messages are disabled on this channel (dmPolicy \"disabled\")",
            Self::NotAllowlisted => "sender is not in allowFrom",
        })
    }
}

/// The outcome of the DM check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmDecision {
    Allowed(DmAllowed),
    /// `pairing` and the sender is unknown: issue (or refresh) a pairing request; reply only when
    /// a new one was created. The message itself is dropped.
    PairingRequired,
    Blocked(DmBlock),
}

impl DmDecision {
    pub fn code(self) -> &'static str {
        match self {
            Self::Allowed(a) => a.code(),
            Self::PairingRequired => "dm_policy_pairing_required",
            Self::Blocked(b) => b.code(),
        }
    }
}

/// Does the effective DM allowlist (config `allowFrom`, plus the pairing store under `pairing`)
/// contain this sender?
pub fn in_effective_allowlist(access: &ResolvedAccess, store: &AllowList, sender: &SenderRef<'_>) -> bool {
    access.allow_from.allows(sender, access.name_matching)
        || (access.dm_policy == DmPolicy::Pairing && store.allows(sender, access.name_matching))
}

/// Is the effective DM allowlist non-empty (a configured command authorizer for DMs)?
pub fn effective_allowlist_configured(access: &ResolvedAccess, store: &AllowList) -> bool {
    !access.allow_from.is_empty() || (access.dm_policy == DmPolicy::Pairing && !store.is_empty())
}

/// Decides a DM. `store` holds the pairing-store entries of this channel account.
pub fn decide(access: &ResolvedAccess, store: &AllowList, sender: &SenderRef<'_>) -> DmDecision {
    if !access.dm_enabled {
        return DmDecision::Blocked(DmBlock::Disabled);
    }
    let listed = || in_effective_allowlist(access, store, sender);
    match access.dm_policy {
        DmPolicy::Disabled => DmDecision::Blocked(DmBlock::Disabled),
        DmPolicy::Open if access.allow_from.has_wildcard() => DmDecision::Allowed(DmAllowed::Open),
        // `open` without `"*"` fails validation; should it run anyway, only the listed senders
        // get in (OpenClaw's `resolveOpenDmAllowlistAccess`).
        DmPolicy::Open | DmPolicy::Allowlist if listed() => DmDecision::Allowed(DmAllowed::Allowlisted),
        DmPolicy::Open | DmPolicy::Allowlist => DmDecision::Blocked(DmBlock::NotAllowlisted),
        DmPolicy::Pairing if listed() => DmDecision::Allowed(DmAllowed::Allowlisted),
        DmPolicy::Pairing => DmDecision::PairingRequired,
    }
}
