//! `session.identityLinks`: one person's ids on several channels share one DM session.
//!
//! OpenClaw's rule: for a DM under any `dmScope` but `main`, the candidates are the peer id and
//! `<channel>:<peerId>` (both lower-cased); the first canonical name whose list contains a
//! candidate replaces the peer id in the key. The config map is sorted, so "first" is the
//! alphabetically first canonical name (OpenClaw uses the file's order; the two differ only when
//! an id is listed twice, which is reported as a warning).
//!
//! Linking must merge only the listed ids. A peer whose own id happens to equal a canonical name
//! (a Telegram user called `alice` next to `{alice: [...]}`) is not listed, so it is reported as
//! [`LinkedPeer::Unlinked`] with `distinct: true` and its key carries the
//! [`DISTINCT_MARKER`](super::session_key::DISTINCT_MARKER).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::session_key::normalize_peer_id;
use super::warnings::RouterWarning;

/// The identity links of a config, indexed for lookups without allocation.
#[derive(Debug, Clone, Default)]
pub struct IdentityLinks {
    /// Canonical names (trimmed, lower-cased), in config order.
    canonicals: Vec<String>,
    canonical_set: HashSet<String>,
    /// Entry as written (lower-cased) -> canonical index. Matches the raw peer id.
    by_raw: HashMap<String, usize>,
    /// `<channel>:<id>` entries split at the first `:` (channel ids never contain one):
    /// channel -> id -> canonical index.
    by_channel: HashMap<String, HashMap<String, usize>>,
}

/// What identity links make of one DM peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkedPeer<'a> {
    /// The peer is listed: its key uses this canonical name (trimmed, lower-cased).
    Linked(&'a str),
    /// The peer is not listed. `distinct`: its id equals a canonical name, so its key must be
    /// marked to stay apart from the linked session.
    Unlinked { distinct: bool },
}

impl IdentityLinks {
    /// Indexes `session.identityLinks`; problems that do not stop routing come back as warnings.
    pub fn new(links: &BTreeMap<String, Vec<String>>) -> (Self, Vec<RouterWarning>) {
        let mut out = Self::default();
        let mut warnings = Vec::new();
        let mut owner: HashMap<String, String> = HashMap::new();
        for (canonical, entries) in links {
            let name = normalize_peer_id(canonical).into_owned();
            if name.is_empty() {
                // An empty name would give linked peers the empty peer id, which is the main key.
                warnings.push(RouterWarning::IdentityLinkEmptyCanonical);
                continue;
            }
            if !out.canonical_set.insert(name.clone()) {
                warnings.push(RouterWarning::IdentityLinkCanonicalsMerge {
                    canonical: canonical.clone(),
                });
            }
            let index = out.canonicals.len();
            out.canonicals.push(name);
            for entry in entries {
                let entry_norm = normalize_peer_id(entry).into_owned();
                if entry_norm.is_empty() {
                    continue;
                }
                if let Some(first) = owner.get(&entry_norm) {
                    if first != canonical {
                        warnings.push(RouterWarning::IdentityLinkListedTwice {
                            entry: entry.clone(),
                            kept: first.clone(),
                            ignored: canonical.clone(),
                        });
                    }
                    continue;
                }
                owner.insert(entry_norm.clone(), canonical.clone());
                match entry_norm.split_once(':') {
                    Some((channel, id)) if !channel.is_empty() && !id.is_empty() => {
                        out.by_channel
                            .entry(channel.to_string())
                            .or_default()
                            .entry(id.to_string())
                            .or_insert(index);
                    }
                    _ => warnings.push(RouterWarning::IdentityLinkUnqualified {
                        canonical: canonical.clone(),
                        entry: entry.clone(),
                    }),
                }
                out.by_raw.entry(entry_norm).or_insert(index);
            }
        }
        (out, warnings)
    }

    pub fn is_empty(&self) -> bool {
        self.canonicals.is_empty()
    }

    /// The link of a DM `peer` (trimmed, lower-cased) on `channel` (lower-cased).
    pub fn resolve(&self, channel: &str, peer: &str) -> LinkedPeer<'_> {
        let raw = self.by_raw.get(peer).copied();
        let qualified = self.by_channel.get(channel).and_then(|ids| ids.get(peer)).copied();
        let first = match (raw, qualified) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match first.and_then(|i| self.canonicals.get(i)) {
            Some(name) => LinkedPeer::Linked(name),
            None => LinkedPeer::Unlinked {
                distinct: self.canonical_set.contains(peer),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(pairs: &[(&str, &[&str])]) -> (IdentityLinks, Vec<RouterWarning>) {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        IdentityLinks::new(&map)
    }

    #[test]
    fn raw_and_channel_qualified_entries_link() {
        let (l, warnings) = links(&[("alice", &["Telegram:123", "discord:987", "555"])]);
        assert_eq!(l.resolve("telegram", "123"), LinkedPeer::Linked("alice"));
        assert_eq!(l.resolve("discord", "987"), LinkedPeer::Linked("alice"));
        assert_eq!(l.resolve("signal", "555"), LinkedPeer::Linked("alice"));
        assert_eq!(l.resolve("discord", "123"), LinkedPeer::Unlinked { distinct: false });
        assert_eq!(l.resolve("telegram", "alice"), LinkedPeer::Unlinked { distinct: true });
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].code(), "identity_link_unqualified");
    }

    #[test]
    fn the_first_canonical_wins_and_the_repeat_is_reported() {
        let (l, warnings) = links(&[("bob", &["telegram:1"]), ("alice", &["telegram:1"])]);
        assert_eq!(l.resolve("telegram", "1"), LinkedPeer::Linked("alice"));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].code(), "identity_link_listed_twice");
    }

    #[test]
    fn an_empty_canonical_name_is_skipped() {
        let (l, warnings) = links(&[(" ", &["telegram:1"])]);
        assert_eq!(l.resolve("telegram", "1"), LinkedPeer::Unlinked { distinct: false });
        assert_eq!(warnings[0].code(), "identity_link_empty_canonical");
    }
}
