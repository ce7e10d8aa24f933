//! Property tests for routing isolation (formal claims A5 and A8).
//!
//! "Different peers" means different after the normalization every key applies (trimmed,
//! lower-cased: OpenClaw compares ids case-insensitively).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::session::{DmScope, GroupScope};
use openclaw_core::routing::session_key::{ChatKind, KeySpec, SessionKey, SessionKind, normalize_peer_id};
use openclaw_core::routing::{RoutePeer, Router};
use proptest::prelude::*;
use serde_json::json;

/// Peer ids: ordinary ones, and ones built to collide with other key forms.
fn peer_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,6}",
        "\\+?[0-9]{3,8}",
        "[a-zA-Z]{1,6}",
        "[a-z:%_ .@-]{0,10}",
        "\\PC{0,6}",
        Just("x:thread:1".to_string()),
        Just("x".to_string()),
        Just("unknown".to_string()),
        Just("%_x".to_string()),
        Just("direct".to_string()),
        Just("main".to_string()),
        Just("a%3ab".to_string()),
        Just("a:b".to_string()),
    ]
}

fn channel_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("telegram".to_string()),
        Just("whatsapp".to_string()),
        Just("discord".to_string()),
        "[a-z][a-z0-9_-]{0,8}",
        "[a-zA-Z:%]{1,6}",
    ]
}

fn thread_id() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof!["[0-9]{1,4}", "[a-z:.]{1,6}", Just("1".to_string())])
}

fn scope() -> impl Strategy<Value = DmScope> {
    prop_oneof![
        Just(DmScope::Main),
        Just(DmScope::PerPeer),
        Just(DmScope::PerChannelPeer),
        Just(DmScope::PerAccountChannelPeer),
    ]
}

fn isolating_scope() -> impl Strategy<Value = DmScope> {
    prop_oneof![
        Just(DmScope::PerPeer),
        Just(DmScope::PerChannelPeer),
        Just(DmScope::PerAccountChannelPeer),
    ]
}

/// Small pools of near-identical values, so that two draws often build the same key and the
/// injectivity property is exercised rather than vacuous.
fn small_peer() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "x",
        "X",
        " x",
        "x:thread:1",
        "x:topic:1",
        "x%3athread%3a1",
        "x:",
        "1",
        "thread",
        "unknown",
        "",
        "%_x",
        "a:b",
        "a%3ab",
        "direct:x",
        "dm",
    ])
    .prop_map(str::to_string)
}

fn small_channel() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["tg", "TG", "tg:x", "direct", "main", "", "x"]).prop_map(str::to_string)
}

fn small_account() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "direct", "default"]).prop_map(str::to_string)
}

fn small_thread() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(vec!["1", "thread", "1:thread:2", " "]).prop_map(str::to_string))
}

fn kind() -> impl Strategy<Value = ChatKind> {
    prop_oneof![Just(ChatKind::Direct), Just(ChatKind::Group), Just(ChatKind::Channel)]
}

/// (channel, account, kind, peer, thread) as far as the scope keeps them.
type Identity = (Option<String>, Option<String>, ChatKind, Option<String>, Option<String>);

fn norm(id: &str) -> String {
    normalize_peer_id(id).into_owned()
}

fn config(doc: serde_json::Value) -> Config {
    serde_json::from_value(doc).unwrap()
}

fn dm<'a>(channel: &'a str, peer: &'a str) -> RoutePeer<'a> {
    RoutePeer::new(channel, ChatKind::Direct, peer)
}

proptest! {
    /// A5: under every isolating dmScope (no identity links), the key identifies the peer: two
    /// DMs share a key only when they are from the same peer (and, per scope, the same channel
    /// and account).
    #[test]
    fn distinct_peers_never_share_a_dm_session(
        scope in isolating_scope(),
        peers in prop::collection::vec(prop_oneof![peer_id(), small_peer()], 1..100),
        channel in channel_id(),
    ) {
        let router = Router::new(&config(json!({"session": {"dmScope": scope_name(scope)}})));
        let mut owner: HashMap<String, String> = HashMap::new();
        for peer in &peers {
            let route = router.route(&dm(&channel, peer)).unwrap();
            let who = norm(peer);
            // An empty peer id is no peer: OpenClaw gives it the main key.
            if who.is_empty() {
                prop_assert!(route.session_key.is_main());
                continue;
            }
            prop_assert!(!route.session_key.is_main());
            if let Some(previous) = owner.insert(route.session_key.to_string(), who.clone()) {
                prop_assert_eq!(&previous, &who, "two peers share {}", route.session_key);
            }
        }
    }

    /// A5: with dmScope main every DM maps to the single main key.
    #[test]
    fn dm_scope_main_shares_one_key(peers in prop::collection::vec(peer_id(), 1..50), channel in channel_id()) {
        let router = Router::new(&config(json!({})));
        for peer in &peers {
            let route = router.route(&dm(&channel, peer)).unwrap();
            prop_assert_eq!(route.session_key.as_str(), "agent:main:main");
        }
    }

    /// A5: the whole conversation identity is in the key: for every kind and scope, two
    /// conversations get one key only if they agree on every part the scope keeps.
    #[test]
    fn keys_are_injective_over_their_parts(
        convs in prop::collection::vec((small_channel(), small_account(), kind(), small_peer(), small_thread()), 2..80),
        dm_scope in isolating_scope(),
    ) {
        let mut owner: HashMap<String, Identity> = HashMap::new();
        for (channel, account, kind, peer, thread) in &convs {
            let key = SessionKey::build(&KeySpec {
                agent_id: "main",
                channel,
                account_id: Some(account),
                kind: *kind,
                peer_id: peer,
                peer_distinct: false,
                topic_id: None,
                thread_id: thread.as_deref(),
                dm_scope,
                group_scope: GroupScope::PerGroup,
            });
            let peer = norm(peer);
            let thread = thread.as_deref().map(norm).filter(|t| !t.is_empty());
            let identity = if *kind != ChatKind::Direct {
                (Some(norm(channel)), None, *kind, Some(peer), thread)
            } else if peer.is_empty() {
                (None, None, *kind, None, thread)
            } else {
                let channel = (dm_scope != DmScope::PerPeer).then(|| norm(channel));
                let account = (dm_scope == DmScope::PerAccountChannelPeer).then(|| account.clone());
                (channel, account, *kind, Some(peer), thread)
            };
            if let Some(previous) = owner.insert(key.to_string(), identity.clone()) {
                prop_assert_eq!(&previous, &identity, "{} is shared", key);
            }
        }
    }

    /// A5: under per-channel-peer the same peer on two channels gets two sessions.
    #[test]
    fn channels_never_share_under_per_channel_peer(peer in peer_id(), a in channel_id(), b in channel_id()) {
        prop_assume!(norm(&a) != norm(&b) && !norm(&peer).is_empty());
        let router = Router::new(&config(json!({"session": {"dmScope": "per-channel-peer"}})));
        let ka = router.route(&dm(&a, &peer)).unwrap().session_key;
        let kb = router.route(&dm(&b, &peer)).unwrap().session_key;
        prop_assert_ne!(ka, kb);
    }

    /// Every built key parses back to itself and to the parts it was built from.
    #[test]
    fn keys_parse_back_to_their_parts(
        (channel, account, kind, peer, thread) in (channel_id(), "[a-zA-Z ]{0,6}", kind(), peer_id(), thread_id()),
        topic in thread_id(),
        dm_scope in scope(),
        group_main in any::<bool>(),
        agent in "[A-Za-z0-9 _-]{0,10}",
    ) {
        let group_scope = if group_main { GroupScope::Main } else { GroupScope::PerGroup };
        let key = SessionKey::build(&KeySpec {
            agent_id: &agent,
            channel: &channel,
            account_id: Some(&account),
            kind,
            peer_id: &peer,
            peer_distinct: false,
            topic_id: topic.as_deref(),
            thread_id: thread.as_deref(),
            dm_scope,
            group_scope,
        });
        let parsed = SessionKey::parse(key.as_str(), "main").unwrap();
        prop_assert_eq!(&parsed, &key);
        prop_assert_eq!(parsed.agent_id(), key.agent_id());
        let peer_n = norm(&peer);
        let main = match kind {
            ChatKind::Direct => dm_scope == DmScope::Main || peer_n.is_empty(),
            _ => group_main,
        };
        let want_kind = match (main, kind) {
            (true, _) => SessionKind::Main,
            (false, ChatKind::Direct) => SessionKind::Direct,
            (false, ChatKind::Group) => SessionKind::Group,
            (false, ChatKind::Channel) => SessionKind::Channel,
        };
        prop_assert_eq!(parsed.kind(), want_kind);
        let non_empty = |v: &Option<String>| v.as_deref().map(norm).filter(|t| !t.is_empty());
        prop_assert_eq!(parsed.thread_id().map(|t| t.into_owned()), non_empty(&thread));
        prop_assert_eq!(parsed.topic_id().map(|t| t.into_owned()), non_empty(&topic));
        if !main {
            let want_peer = if peer_n.is_empty() { "unknown".to_string() } else { peer_n };
            prop_assert_eq!(parsed.peer_id().map(|p| p.into_owned()), Some(want_peer));
            let channel_kept = kind != ChatKind::Direct || dm_scope != DmScope::PerPeer;
            let want_channel = channel_kept.then(|| if norm(&channel).is_empty() { "unknown".to_string() } else { norm(&channel) });
            prop_assert_eq!(parsed.channel().map(|c| c.into_owned()), want_channel);
            let account_kept = kind == ChatKind::Direct && dm_scope == DmScope::PerAccountChannelPeer;
            prop_assert_eq!(parsed.account_id().is_some(), account_kept);
            if kind == ChatKind::Direct {
                prop_assert_eq!(parsed.dm_scope(), Some(dm_scope));
            }
        }
    }

    /// A8 (a): the matching binding's dmScope wins over the global one; without one the global
    /// scope applies.
    #[test]
    fn binding_dm_scope_wins(global in scope(), binding in prop::option::of(scope()), peer in "[0-9]{1,6}") {
        let mut b = json!({"agentId": "main", "match": {"channel": "telegram"}});
        if let Some(s) = binding {
            b["session"] = json!({"dmScope": scope_name(s)});
        }
        let router = Router::new(&config(json!({
            "session": {"dmScope": scope_name(global)},
            "bindings": [b],
        })));
        let bound = router.route(&dm("telegram", &peer)).unwrap();
        let want = binding.unwrap_or(global);
        prop_assert_eq!(bound.dm_scope, want);
        prop_assert_eq!(bound.session_key.is_main(), want == DmScope::Main);
        if want != DmScope::Main {
            prop_assert_eq!(bound.session_key.dm_scope(), Some(want));
        }
        // Another channel has no binding: the global scope.
        let other = router.route(&dm("discord", &peer)).unwrap();
        prop_assert_eq!(other.dm_scope, global);
    }

    /// A8 (b): under per-peer, two peers share a session exactly when one link group lists both;
    /// peers outside every group (even one whose id is a canonical name) never share.
    #[test]
    fn identity_links_merge_only_listed_peers(
        // Small alphabets: canonical names often equal some unlisted peer's id.
        peers in prop::collection::btree_set("[a-c]{1,2}", 2..12),
        group_of in prop::collection::vec(prop::option::of(0usize..4), 30),
        names in prop::collection::vec("[a-c]{1,2}", 4),
        channels in prop::collection::vec(prop_oneof![Just("telegram"), Just("discord"), Just("signal")], 30),
    ) {
        let peers: Vec<(String, &str)> = peers.into_iter().zip(channels).collect();
        // Distinct canonical names (a partition into at most 4 groups).
        let names: Vec<String> = names.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        let mut links: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut group: HashMap<String, usize> = HashMap::new();
        for ((peer, channel), g) in peers.iter().zip(&group_of) {
            if let Some(g) = g.filter(|g| *g < names.len()) {
                links.entry(names[g].clone()).or_default().push(format!("{channel}:{peer}"));
                group.insert(format!("{channel}:{peer}"), g);
            }
        }
        let router = Router::new(&config(json!({
            "session": {"dmScope": "per-peer", "identityLinks": links},
        })));
        let keys: Vec<(String, SessionKey)> = peers
            .iter()
            .map(|(peer, channel)| (format!("{channel}:{peer}"), router.route(&dm(channel, peer)).unwrap().session_key))
            .collect();
        for (i, (a, ka)) in keys.iter().enumerate() {
            for (b, kb) in &keys[i + 1..] {
                let linked = matches!((group.get(a), group.get(b)), (Some(x), Some(y)) if x == y);
                prop_assert_eq!(ka == kb, linked, "{} and {}: {} / {}", a, b, ka, kb);
            }
        }
    }
}

fn scope_name(scope: DmScope) -> &'static str {
    match scope {
        DmScope::Main => "main",
        DmScope::PerPeer => "per-peer",
        DmScope::PerChannelPeer => "per-channel-peer",
        DmScope::PerAccountChannelPeer => "per-account-channel-peer",
    }
}
