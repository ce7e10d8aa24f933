//! Property tests for access control, after the formal security claims:
//! - A3: pairing TTL and cap (an expired request is never approved; at most 3 live per account;
//!   over the cap no row and no code; a refresh never re-sends; codes unique and well-formed);
//! - A4: ingress gating (without a mention, a group message that requires one reaches the agent
//!   only as a control command, with text commands on, from an authorized sender);
//! - A6(b)/(c): at most one live row per (account, sender); a sender with a live row can always
//!   refresh it, even when the account is at its cap.
//!
//! A6(a) and (d) are about concurrent writers: they belong to the store's file locking in the
//! runtime crate, not to this pure logic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use openclaw_core::access::pairing::{
    AllowFromFile, CODE_ALPHABET, CODE_LENGTH, PAIRING_PENDING_MAX, PAIRING_TTL_MS, PairingFile, format_iso, parse_iso,
};
use openclaw_core::access::{AccessSnapshot, ChatType, Decision, InboundFacts, admit};
use openclaw_core::config::schema::Config;
use proptest::prelude::*;
use serde_json::json;

const T0: u64 = 1_769_940_000_000;

/// A deterministic uniform-enough source for codes, seeded by proptest.
fn rng(seed: u64) -> impl FnMut(u32) -> u32 {
    let mut state = seed | 1;
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % u64::from(n)) as u32
    }
}

#[derive(Debug, Clone)]
enum Op {
    Request {
        account: usize,
        sender: usize,
    },
    /// Approve the code most recently issued to `sender` (maybe expired), optionally naming the
    /// account.
    Approve {
        sender: usize,
        account: Option<usize>,
    },
    /// Approve a code nobody was given.
    ApproveUnknown,
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let minute = 60_000u64;
    prop_oneof![
        4 => (0..2usize, 0..6usize).prop_map(|(account, sender)| Op::Request { account, sender }),
        2 => (0..6usize, proptest::option::of(0..2usize)).prop_map(|(sender, account)| Op::Approve { sender, account }),
        1 => Just(Op::ApproveUnknown),
        3 => prop_oneof![
            Just(59 * minute + 59_000),
            Just(60 * minute),
            Just(60 * minute + 1000),
            Just(PAIRING_TTL_MS - 1),
            Just(PAIRING_TTL_MS),
            0..(20 * minute),
        ]
        .prop_map(Op::Advance),
    ]
}

const ACCOUNTS: [&str; 2] = ["default", "work"];

/// The specification the store is checked against: rows with the time they were created.
#[derive(Default)]
struct Model {
    rows: Vec<(usize, usize, String, u64)>,
}

impl Model {
    fn prune(&mut self, now: u64) {
        self.rows.retain(|(_, _, _, created)| now - created < PAIRING_TTL_MS);
    }
    fn live(&self, account: usize) -> usize {
        self.rows.iter().filter(|(a, ..)| *a == account).count()
    }
}

fn live_rows(file: &PairingFile, now: u64) -> Vec<&openclaw_core::access::pairing::PairingRequest> {
    file.requests.iter().filter(|r| !r.is_expired(now)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a3_a6_pairing_store_follows_the_model(ops in proptest::collection::vec(op(), 1..60), seed in any::<u64>()) {
        let mut file = PairingFile::default();
        let mut model = Model::default();
        let mut random = rng(seed);
        let mut now = T0;
        let mut issued: BTreeMap<usize, (String, usize)> = BTreeMap::new();
        let mut approved: Vec<HashSet<String>> = vec![HashSet::new(), HashSet::new()];
        let mut stores = [AllowFromFile::default(), AllowFromFile::default()];
        let meta = BTreeMap::new();
        let sender_id = |s: usize| format!("10{s}");

        for op in ops {
            match op {
                Op::Advance(dt) => now += dt,
                Op::Request { account, sender } => {
                    model.prune(now);
                    let had_live = model.rows.iter().position(|(a, s, ..)| *a == account && *s == sender);
                    let full = model.live(account) >= PAIRING_PENDING_MAX;
                    let out = file.upsert(&sender_id(sender), ACCOUNTS[account], &meta, now, &mut random).unwrap();
                    match had_live {
                        Some(i) => {
                            // A6(c): refresh works at the cap; no resend; the code and TTL stay.
                            prop_assert!(!out.created, "a refresh must never re-send");
                            prop_assert_eq!(out.code.as_deref(), Some(model.rows[i].2.as_str()));
                        }
                        None if full => {
                            prop_assert!(!out.created && out.code.is_none(), "over the cap: no row, no code");
                        }
                        None => {
                            prop_assert!(out.created);
                            let code = out.code.clone().unwrap();
                            model.rows.push((account, sender, code.clone(), now));
                            issued.insert(sender, (code, account));
                        }
                    }
                }
                Op::Approve { sender, account } => {
                    let Some((code, _)) = issued.get(&sender).cloned() else { continue };
                    model.prune(now);
                    let want = model.rows.iter().position(|(a, _, c, _)| *c == code && account.is_none_or(|f| f == *a));
                    let lower = code.to_lowercase();
                    let got = file.approve(&lower, account.map(|a| ACCOUNTS[a]), now);
                    match want {
                        Some(i) => {
                            let (a, s, _, created) = model.rows.remove(i);
                            prop_assert!(now - created < PAIRING_TTL_MS);
                            let got = got.expect("a live code must approve");
                            prop_assert_eq!(&got.id, &sender_id(s));
                            prop_assert_eq!(got.account_id.as_str(), ACCOUNTS[a]);
                            stores[a].add("telegram", &got.id);
                            approved[a].insert(got.id);
                        }
                        None => prop_assert!(got.is_none(), "expired or foreign code approved: {:?}", got),
                    }
                }
                Op::ApproveUnknown => {
                    prop_assert!(file.approve("ZZZZ9999", None, now).is_none() || model.rows.iter().any(|r| r.2 == "ZZZZ9999"));
                }
            }

            // Invariants at every step.
            let live = live_rows(&file, now);
            for account in ACCOUNTS {
                let count = live.iter().filter(|r| r.account_id() == account).count();
                prop_assert!(count <= PAIRING_PENDING_MAX, "{count} live rows for {account}");
            }
            let mut pairs = HashSet::new();
            for row in &live {
                prop_assert!(pairs.insert((row.account_id().to_string(), row.id.clone())), "two live rows for one sender");
            }
            let mut codes = HashSet::new();
            for row in &file.requests {
                prop_assert_eq!(row.code.len(), CODE_LENGTH);
                prop_assert!(row.code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "code {} outside the alphabet", row.code);
                prop_assert!(codes.insert(row.code.clone()), "duplicate pending code {}", row.code);
            }
            for (a, store) in stores.iter().enumerate() {
                let entries: HashSet<String> = store.entries("telegram").into_iter().collect();
                prop_assert_eq!(&entries, &approved[a], "approval must land in its own account's store only");
            }
        }
    }

    #[test]
    fn codes_never_panic_whatever_the_random_source_returns(values in proptest::collection::vec(any::<u32>(), 1..64)) {
        let mut file = PairingFile::default();
        let mut i = 0;
        let mut source = |_n: u32| { i += 1; values[i % values.len()] };
        let out = file.upsert("1", "default", &BTreeMap::new(), T0, &mut source).unwrap();
        let code = out.code.unwrap();
        prop_assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
    }

    #[test]
    fn store_files_never_panic_on_garbage(text in ".{0,200}") {
        let _ = PairingFile::parse(&text, "x-pairing.json");
        let _ = AllowFromFile::parse(&text, "x-allowFrom.json");
        let _ = parse_iso(&text);
    }

    #[test]
    fn iso_timestamps_round_trip(ms in 0u64..8_000_000_000_000) {
        prop_assert_eq!(parse_iso(&format_iso(ms)), Some(ms));
    }

    #[test]
    fn the_allow_from_store_never_holds_a_wildcard(entries in proptest::collection::vec(prop_oneof![Just("*".to_string()), Just(" * ".to_string()), "[0-9]{1,4}", "tg:[0-9]{1,3}"], 0..20)) {
        let mut file = AllowFromFile::default();
        for entry in &entries {
            file.add("telegram", entry);
        }
        prop_assert!(!file.allow_from.iter().any(|e| e.trim() == "*"));
        let unique: HashSet<_> = file.allow_from.iter().collect();
        prop_assert_eq!(unique.len(), file.allow_from.len());
    }
}

// ---------------------------------------------------------------------------------------------
// A4

#[derive(Debug, Clone)]
struct Gate {
    require_mention: bool,
    native_supported: bool,
    has_patterns: bool,
    native_mention: bool,
    pattern_mention: bool,
    reply: bool,
    command: bool,
    mention_first: bool,
    text_commands: bool,
    authorized: bool,
    body: String,
}

fn gate() -> impl Strategy<Value = Gate> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        "[a-z0-9 ,.!?]{0,40}",
    )
        .prop_map(
            |(
                (require_mention, native_supported, has_patterns, native_mention, pattern_mention, reply),
                (command, mention_first, text_commands, authorized),
                body,
            )| Gate {
                require_mention,
                native_supported,
                has_patterns,
                native_mention: native_mention && native_supported,
                pattern_mention,
                reply,
                command,
                mention_first,
                text_commands,
                authorized,
                body,
            },
        )
}

fn gate_config(g: &Gate) -> Config {
    // Sender 7 is in allowFrom (a configured command authorizer); 42 is not. groupPolicy open
    // lets both into the group, so only command authorization tells them apart.
    let doc = json!({
        "channels": { "telegram": {
            "groupPolicy": "open",
            "allowFrom": ["7"],
            "requireMention": g.require_mention,
        } },
        "agents": { "list": [{ "id": "main", "groupChat": {
            "mentionPatterns": if g.has_patterns { json!(["@claw"]) } else { json!([]) }
        } }] },
        "commands": { "text": g.text_commands },
    });
    serde_json::from_value(doc).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a4_no_mention_bypass_without_an_authorized_command(g in gate()) {
        let config = gate_config(&g);
        let (snapshot, warnings) = AccessSnapshot::new(&config);
        prop_assert!(warnings.is_empty());
        let mention = if g.pattern_mention { "@Claw " } else { "" };
        let command = if g.command { "/status " } else { "" };
        let text = if g.mention_first { format!("{mention}{command}{}", g.body) } else { format!("{command}{mention}{}", g.body) };
        let sender = if g.authorized { "7" } else { "42" };
        let facts = InboundFacts {
            channel: "telegram",
            account_id: "",
            chat_type: ChatType::Group,
            chat_id: "-1001",
            guild_id: None,
            sender_id: sender,
            sender_name: None,
            sender_username: None,
            thread_id: None,
            text: &text,
            native_mention_supported: g.native_supported,
            native_mention: g.native_mention,
            reply_to_bot: g.reply,
            agent_id: None,
        };
        let decision = admit(&snapshot, &facts);
        let mentioned = g.native_mention || g.reply || (g.pattern_mention && g.has_patterns);
        // An unrecognised `@Claw` before the command keeps it from being a leading command.
        let control = g.command && (!g.mention_first || !g.pattern_mention || g.has_patterns);
        let bypass = control && g.text_commands && g.authorized;
        if g.require_mention && !mentioned {
            // With detection this is the formal claim; without detection we fail closed the same way.
            prop_assert_eq!(matches!(decision, Decision::Admit(_)), bypass, "{}: {:?}", text, decision);
            if !bypass {
                prop_assert!(matches!(decision, Decision::History(_)));
            }
        } else {
            prop_assert!(matches!(decision, Decision::Admit(_)), "{}: {:?}", text, decision);
        }
        if let Decision::Admit(admitted) = decision {
            // An unauthorized sender's command is ordinary text: it can never trigger a command.
            prop_assert_eq!(admitted.command_authorized, g.authorized);
            prop_assert_eq!(admitted.mention_bypassed, g.require_mention && !mentioned);
            prop_assert_eq!(admitted.mentioned, mentioned);
        }
    }

    /// Replies and native mentions never stand in for the sender allowlist.
    #[test]
    fn implicit_mentions_never_bypass_group_allow_from(sender in "[0-9]{1,6}", reply in any::<bool>(), native in any::<bool>(), text in ".{0,30}") {
        prop_assume!(sender != "7");
        let config: Config = serde_json::from_value(json!({
            "channels": { "telegram": { "groupAllowFrom": ["7"], "groups": { "*": { "requireMention": false } } } }
        })).unwrap();
        let (snapshot, _) = AccessSnapshot::new(&config);
        let facts = InboundFacts {
            channel: "telegram", account_id: "", chat_type: ChatType::Group, chat_id: "-1001", guild_id: None,
            sender_id: &sender, sender_name: Some("7"), sender_username: Some("7"), thread_id: None,
            text: &text, native_mention_supported: true, native_mention: native, reply_to_bot: reply, agent_id: None,
        };
        prop_assert_eq!(admit(&snapshot, &facts).code(), "group_policy_not_allowlisted");
    }
}
