//! Which agent answers a message, and in which session: OpenClaw's `bindings[]` tiers.
//!
//! Routing runs only after access control admitted the message; a binding never grants access.
//! [`Router::new`] indexes the config once; [`Router::route`] then allocates little more than
//! the key strings.
//!
//! Rules (OpenClaw's, with the decisions it leaves open written down):
//! - **Tiers**, first binding in config order within a tier: exact peer, parent peer (thread
//!   inheritance), guild + roles, guild, team, exact account, channel wildcard (`accountId: "*"`),
//!   then the default agent (first `agents.list[]` entry with `default: true`, else the first
//!   entry, else `main`). A binding's tier is its most specific field; a binding with `roles` but
//!   no `guildId` sits in the guild + roles tier and matches any guild.
//! - **All fields of a binding must match** (a peer binding with a `guildId` matches that peer in
//!   that guild only). `roles` match when the sender has any of them; an empty list is no condition.
//! - **Accounts.** An omitted `accountId` matches only the channel's default account
//!   (`channels.<ch>.defaultAccount`, else `default`); `"*"` matches every account. A message
//!   without an account is on the default account.
//! - **Ids** (peers, guilds, teams, roles, channels) compare trimmed and case-insensitively, like
//!   the session keys; `dm` and `direct` are one kind.
//! - **Telegram topics.** `channels.telegram[.accounts.<id>].groups.<chat>.topics.<topic>.agentId`
//!   (and `direct.<chat>.topics.<topic>.agentId`) beats every binding. Group-level `agentId` is
//!   not a route (reported by [`Router::warnings`]).
//! - **Session scope.** The winning binding's `session.dmScope` / `groupScope` override the
//!   global `session.*` ones.
//! - **`type: "acp"` bindings are not routes.** They name one ACP conversation exactly (channel,
//!   account rule, peer kind and id, plus any guild/team/roles), never by tiers or inheritance;
//!   [`Router::acp_binding`] finds them, [`Router::route`] ignores them.
//! - **Unknown agents fail closed.** Config validation already rejects a binding or topic naming
//!   an agent that is not in `agents.list`. If such a config reaches the router anyway, the
//!   binding keeps its tier (so its messages do not fall through to a broader binding or to the
//!   default agent, which may hold more privileges), and `route` returns
//!   [`RouteError::UnknownAgent`]: the message is not answered.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use super::identity::{IdentityLinks, LinkedPeer};
use super::session_key::{
    ChatKind, DEFAULT_ACCOUNT_ID, KeySpec, SessionKey, normalize_account_id, normalize_agent_id, normalize_peer_id,
};
use super::warnings::RouterWarning;
use crate::config::schema::Config;
use crate::config::schema::channels::GroupConfig;
use crate::config::schema::common::IdMap;
use crate::config::schema::session::{Binding, BindingType, DmScope, GroupScope};

/// The channel whose thread ids are forum topics (`:topic:` in keys, topic-level `agentId`).
pub const TELEGRAM: &str = "telegram";

/// A peer by kind and id (a binding's `match.peer`, or the parent of a thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerRef<'a> {
    pub kind: ChatKind,
    pub id: &'a str,
}

/// An admitted inbound message, as routing sees it. Ids are raw: the router normalizes them.
#[derive(Debug, Clone, Copy)]
pub struct RoutePeer<'a> {
    /// Channel id (`telegram`, `discord`, a plugin channel).
    pub channel: &'a str,
    /// The bot account that received it; `None` is the channel's default account.
    pub account_id: Option<&'a str>,
    /// DM, group, or channel/room.
    pub kind: ChatKind,
    /// The DM sender, or the group or channel id.
    pub peer_id: &'a str,
    /// The conversation a thread belongs to, for parent-peer bindings.
    pub parent_peer: Option<PeerRef<'a>>,
    /// The thread (Slack, Discord, ...) or Telegram forum topic.
    pub thread_id: Option<&'a str>,
    pub guild_id: Option<&'a str>,
    pub team_id: Option<&'a str>,
    /// The sender's roles in the guild (Discord role ids).
    pub roles: &'a [String],
}

impl<'a> RoutePeer<'a> {
    /// A message with only channel, kind and peer; set the other fields as needed.
    pub fn new(channel: &'a str, kind: ChatKind, peer_id: &'a str) -> Self {
        Self {
            channel,
            account_id: None,
            kind,
            peer_id,
            parent_peer: None,
            thread_id: None,
            guild_id: None,
            team_id: None,
            roles: &[],
        }
    }
}

/// Why a route was chosen. `binding` is the index in the config's `bindings[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchedBy {
    Peer {
        binding: usize,
    },
    ParentPeer {
        binding: usize,
    },
    GuildRoles {
        binding: usize,
    },
    Guild {
        binding: usize,
    },
    Team {
        binding: usize,
    },
    Account {
        binding: usize,
    },
    ChannelWildcard {
        binding: usize,
    },
    /// A Telegram topic's `agentId`.
    TelegramTopic,
    /// No binding matched: the default agent.
    Default,
}

impl MatchedBy {
    /// A stable code (OpenClaw's `matchedBy` strings, plus `telegram.topic`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Peer { .. } => "binding.peer",
            Self::ParentPeer { .. } => "binding.peer.parent",
            Self::GuildRoles { .. } => "binding.guild+roles",
            Self::Guild { .. } => "binding.guild",
            Self::Team { .. } => "binding.team",
            Self::Account { .. } => "binding.account",
            Self::ChannelWildcard { .. } => "binding.channel",
            Self::TelegramTopic => "telegram.topic",
            Self::Default => "default",
        }
    }

    /// The index of the binding that matched, if one did.
    pub fn binding(&self) -> Option<usize> {
        match *self {
            Self::Peer { binding }
            | Self::ParentPeer { binding }
            | Self::GuildRoles { binding }
            | Self::Guild { binding }
            | Self::Team { binding }
            | Self::Account { binding }
            | Self::ChannelWildcard { binding } => Some(binding),
            Self::TelegramTopic | Self::Default => None,
        }
    }
}

impl fmt::Display for MatchedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Peer { .. } => "exact peer",
            Self::ParentPeer { .. } => "parent peer",
            Self::GuildRoles { .. } => "guild and roles",
            Self::Guild { .. } => "guild",
            Self::Team { .. } => "team",
            Self::Account { .. } => "account",
            Self::ChannelWildcard { .. } => "channel (any account)",
            Self::TelegramTopic => return f.write_str("Telegram topic agentId"),
            Self::Default => return f.write_str("default agent"),
        };
        match self.binding() {
            Some(i) => write!(f, "bindings[{i}] by {what}"),
            None => f.write_str(what),
        }
    }
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The agent that answers (normalized id).
    pub agent_id: String,
    /// The conversation's session.
    pub session_key: SessionKey,
    /// The agent's main session (`agent:<id>:main`).
    pub main_session_key: SessionKey,
    /// The DM scope the key was built under (the binding's, else `session.dmScope`).
    pub dm_scope: DmScope,
    /// The group scope the key was built under (the binding's, else `session.groupScope`).
    pub group_scope: GroupScope,
    pub matched_by: MatchedBy,
}

/// A message that cannot be routed (fail closed: do not answer it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The matching binding or topic names an agent that is not configured.
    UnknownAgent { agent_id: String, matched_by: MatchedBy },
}

impl RouteError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownAgent { .. } => "unknown_agent",
        }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownAgent { agent_id, matched_by } => write!(
                f,
                "not routed: {matched_by} names agent \"{agent_id}\", which is not in agents.list; add the agent to agents.list or route to an existing one"
            ),
        }
    }
}

impl std::error::Error for RouteError {}

/// An ACP binding that names a conversation exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcpMatch<'r> {
    /// Index in `bindings[]`.
    pub binding: usize,
    pub agent_id: &'r str,
}

#[derive(Debug, Clone)]
enum AgentRef {
    Known(usize),
    Unknown(String),
}

#[derive(Debug, Clone)]
enum AccountMatch {
    /// `accountId` omitted: the channel's default account only.
    Default,
    Any,
    Exact(String),
}

#[derive(Debug, Clone)]
struct CompiledBinding {
    index: usize,
    agent: AgentRef,
    account: AccountMatch,
    peer: Option<(ChatKind, String)>,
    guild: Option<String>,
    team: Option<String>,
    roles: Vec<String>,
    dm_scope: Option<DmScope>,
    group_scope: Option<GroupScope>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Peer,
    GuildRoles,
    Guild,
    Team,
    Account,
    ChannelWildcard,
}

impl CompiledBinding {
    fn compile(index: usize, binding: &Binding, agents: &[AgentEntry]) -> Self {
        let m = &binding.match_;
        let agent = agent_ref(&binding.agent_id, agents);
        let account = match m.account_id.as_deref().map(str::trim) {
            None | Some("") => AccountMatch::Default,
            Some("*") => AccountMatch::Any,
            Some(id) => AccountMatch::Exact(normalize_account_id(id)),
        };
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(|s| normalize_peer_id(s).into_owned())
                .filter(|s| !s.is_empty())
        };
        Self {
            index,
            agent,
            account,
            peer: m
                .peer
                .as_ref()
                .map(|p| (ChatKind::from(p.kind), normalize_peer_id(&p.id).into_owned())),
            guild: text(&m.guild_id),
            team: text(&m.team_id),
            roles: m
                .roles
                .iter()
                .flatten()
                .map(|r| normalize_peer_id(r).into_owned())
                .filter(|r| !r.is_empty())
                .collect(),
            dm_scope: binding.session.as_ref().and_then(|s| s.dm_scope),
            group_scope: binding.session.as_ref().and_then(|s| s.group_scope),
        }
    }

    fn tier(&self) -> Tier {
        if self.peer.is_some() {
            Tier::Peer
        } else if !self.roles.is_empty() {
            Tier::GuildRoles
        } else if self.guild.is_some() {
            Tier::Guild
        } else if self.team.is_some() {
            Tier::Team
        } else if matches!(self.account, AccountMatch::Any) {
            Tier::ChannelWildcard
        } else {
            Tier::Account
        }
    }

    /// Every field but the peer (which the tier checks) matches.
    fn matches(&self, msg: &Normalized<'_>) -> bool {
        let account_ok = match &self.account {
            AccountMatch::Default => msg.account == msg.default_account,
            AccountMatch::Any => true,
            AccountMatch::Exact(id) => msg.account == id.as_str(),
        };
        account_ok
            && self.guild.as_deref().is_none_or(|g| msg.guild.as_deref() == Some(g))
            && self.team.as_deref().is_none_or(|t| msg.team.as_deref() == Some(t))
            && (self.roles.is_empty()
                || msg
                    .roles
                    .iter()
                    .any(|r| self.roles.iter().any(|want| normalize_peer_id(r) == want.as_str())))
    }

    fn matches_peer(&self, peer: PeerRef<'_>) -> bool {
        self.peer
            .as_ref()
            .is_some_and(|(kind, id)| *kind == peer.kind && id == peer.id)
    }
}

/// A channel's route bindings, by tier, in config order.
#[derive(Debug, Clone, Default)]
struct ChannelRoutes {
    bindings: Vec<CompiledBinding>,
    /// Peer-tier bindings by peer id (positions in `bindings`, ascending).
    by_peer: HashMap<String, Vec<usize>>,
    guild_roles: Vec<usize>,
    guild: Vec<usize>,
    team: Vec<usize>,
    account: Vec<usize>,
    wildcard: Vec<usize>,
    /// `type: "acp"` bindings.
    acp: Vec<CompiledBinding>,
}

impl ChannelRoutes {
    fn push(&mut self, binding: CompiledBinding) {
        let pos = self.bindings.len();
        match binding.tier() {
            Tier::Peer => {
                if let Some((_, id)) = &binding.peer {
                    self.by_peer.entry(id.clone()).or_default().push(pos);
                }
            }
            Tier::GuildRoles => self.guild_roles.push(pos),
            Tier::Guild => self.guild.push(pos),
            Tier::Team => self.team.push(pos),
            Tier::Account => self.account.push(pos),
            Tier::ChannelWildcard => self.wildcard.push(pos),
        }
        self.bindings.push(binding);
    }
}

#[derive(Debug, Clone)]
struct AgentEntry {
    id: String,
    main_key: SessionKey,
}

/// Topic `agentId`s: chat id -> topic id -> agent (ids trimmed and lower-cased).
type ChatTopics = HashMap<String, HashMap<String, AgentRef>>;

/// Topic `agentId`s of groups and of DMs, kept apart so a DM and a group can never share an id.
#[derive(Debug, Clone, Default)]
struct TopicAgents {
    groups: ChatTopics,
    direct: ChatTopics,
}

impl TopicAgents {
    fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.direct.is_empty()
    }

    fn chats(&self, kind: ChatKind) -> Option<&ChatTopics> {
        match kind {
            ChatKind::Group => Some(&self.groups),
            ChatKind::Direct => Some(&self.direct),
            ChatKind::Channel => None,
        }
    }
}

/// The message's fields, normalized once.
struct Normalized<'a> {
    channel: Cow<'a, str>,
    /// The channel's default account.
    default_account: &'a str,
    account: Cow<'a, str>,
    peer: Cow<'a, str>,
    guild: Option<Cow<'a, str>>,
    team: Option<Cow<'a, str>>,
    roles: &'a [String],
}

/// The routing config, indexed once. Cheap to share: build it when the config is loaded.
#[derive(Debug, Clone)]
pub struct Router {
    agents: Vec<AgentEntry>,
    default_agent: usize,
    default_agent_ref: AgentRef,
    dm_scope: DmScope,
    group_scope: GroupScope,
    links: IdentityLinks,
    channels: HashMap<String, ChannelRoutes>,
    default_accounts: HashMap<String, String>,
    /// Telegram topic agents of the channel itself, and of each account (normalized id).
    telegram_topics: TopicAgents,
    telegram_topics_by_account: HashMap<String, TopicAgents>,
    warnings: Vec<RouterWarning>,
}

impl Router {
    pub fn new(config: &Config) -> Self {
        let mut warnings = Vec::new();
        let mut agents: Vec<AgentEntry> = Vec::new();
        for agent in config.agents().list() {
            let id = normalize_agent_id(&agent.id);
            if !agents.iter().any(|a| a.id == id) {
                agents.push(AgentEntry {
                    main_key: SessionKey::main(&id),
                    id,
                });
            }
        }
        if agents.is_empty() {
            agents.push(AgentEntry {
                id: super::session_key::DEFAULT_AGENT_ID.to_string(),
                main_key: SessionKey::main(super::session_key::DEFAULT_AGENT_ID),
            });
        }
        let default_id = normalize_agent_id(&config.agents().default_agent_id());
        let default_agent = agents.iter().position(|a| a.id == default_id).unwrap_or(0);

        let session = config.session.as_ref();
        let (links, link_warnings) = match session.and_then(|s| s.identity_links.as_ref()) {
            Some(map) => IdentityLinks::new(map),
            None => (IdentityLinks::default(), Vec::new()),
        };
        warnings.extend(link_warnings);

        let mut channels: HashMap<String, ChannelRoutes> = HashMap::new();
        for (index, binding) in config.bindings.iter().flatten().enumerate() {
            let compiled = CompiledBinding::compile(index, binding, &agents);
            if let AgentRef::Unknown(agent_id) = &compiled.agent {
                warnings.push(RouterWarning::UnknownAgent {
                    binding: index,
                    agent_id: agent_id.clone(),
                });
            }
            let routes = channels
                .entry(normalize_peer_id(&binding.match_.channel).into_owned())
                .or_default();
            if binding.kind == Some(BindingType::Acp) {
                if compiled.peer.is_none() {
                    warnings.push(RouterWarning::AcpBindingWithoutPeer { binding: index });
                }
                routes.acp.push(compiled);
            } else {
                routes.push(compiled);
            }
        }

        let mut default_accounts = HashMap::new();
        if let Some(cfg) = &config.channels {
            for view in cfg.iter() {
                if let Some(account) = view.access.default_account.as_deref() {
                    default_accounts.insert(normalize_peer_id(view.id).into_owned(), normalize_account_id(account));
                }
            }
        }

        let (telegram_topics, telegram_topics_by_account) = telegram_topic_agents(config, &agents, &mut warnings);

        Self {
            agents,
            default_agent,
            default_agent_ref: AgentRef::Known(default_agent),
            dm_scope: session.map(|s| s.dm_scope()).unwrap_or(DmScope::Main),
            group_scope: session.and_then(|s| s.group_scope).unwrap_or(GroupScope::PerGroup),
            links,
            channels,
            default_accounts,
            telegram_topics,
            telegram_topics_by_account,
            warnings,
        }
    }

    /// Problems found while indexing (unknown agents, ignored keys, identity-link conflicts).
    pub fn warnings(&self) -> &[RouterWarning] {
        &self.warnings
    }

    /// The agent that answers when nothing else matches.
    pub fn default_agent_id(&self) -> &str {
        self.agents
            .get(self.default_agent)
            .map_or(super::session_key::DEFAULT_AGENT_ID, |a| a.id.as_str())
    }

    /// The default account of `channel` (`channels.<ch>.defaultAccount`, else `default`).
    pub fn default_account(&self, channel: &str) -> &str {
        self.default_accounts
            .get(normalize_peer_id(channel).as_ref())
            .map_or(DEFAULT_ACCOUNT_ID, String::as_str)
    }

    fn normalize<'a>(&'a self, msg: &RoutePeer<'a>) -> Normalized<'a> {
        let channel = normalize_peer_id(msg.channel);
        let default_account = self
            .default_accounts
            .get(channel.as_ref())
            .map_or(DEFAULT_ACCOUNT_ID, String::as_str);
        let account = match msg.account_id.map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => normalize_account_cow(a),
            None => Cow::Borrowed(default_account),
        };
        let id = |v: Option<&'a str>| v.map(normalize_peer_id).filter(|s| !s.is_empty());
        Normalized {
            channel,
            default_account,
            account,
            peer: normalize_peer_id(msg.peer_id),
            guild: id(msg.guild_id),
            team: id(msg.team_id),
            roles: msg.roles,
        }
    }

    /// Where `msg` goes: its agent and session key, with the reason.
    pub fn route(&self, msg: &RoutePeer<'_>) -> Result<Route, RouteError> {
        let n = self.normalize(msg);
        let (agent, matched_by, binding) = self.pick(msg, &n);
        let agent = match agent {
            AgentRef::Known(i) => &self.agents[*i],
            AgentRef::Unknown(agent_id) => {
                return Err(RouteError::UnknownAgent {
                    agent_id: agent_id.clone(),
                    matched_by,
                });
            }
        };
        let dm_scope = binding.and_then(|b| b.dm_scope).unwrap_or(self.dm_scope);
        let group_scope = binding.and_then(|b| b.group_scope).unwrap_or(self.group_scope);

        let mut peer_id: &str = &n.peer;
        let mut peer_distinct = false;
        if msg.kind == ChatKind::Direct && dm_scope != DmScope::Main && !peer_id.is_empty() && !self.links.is_empty() {
            match self.links.resolve(&n.channel, &n.peer) {
                LinkedPeer::Linked(canonical) => peer_id = canonical,
                LinkedPeer::Unlinked { distinct } => peer_distinct = distinct,
            }
        }
        let telegram = n.channel == TELEGRAM;
        let session_key = SessionKey::build(&KeySpec {
            agent_id: &agent.id,
            channel: &n.channel,
            account_id: Some(&n.account),
            kind: msg.kind,
            peer_id,
            peer_distinct,
            topic_id: msg.thread_id.filter(|_| telegram),
            thread_id: msg.thread_id.filter(|_| !telegram),
            dm_scope,
            group_scope,
        });
        Ok(Route {
            agent_id: agent.id.clone(),
            session_key,
            main_session_key: agent.main_key.clone(),
            dm_scope,
            group_scope,
            matched_by,
        })
    }

    /// The agent (and binding, for its session overrides) by the tiers.
    fn pick<'s>(
        &'s self,
        msg: &RoutePeer<'_>,
        n: &Normalized<'_>,
    ) -> (&'s AgentRef, MatchedBy, Option<&'s CompiledBinding>) {
        if n.channel == TELEGRAM
            && let Some(agent) = self.telegram_topic(n, msg.kind, msg.thread_id)
        {
            return (agent, MatchedBy::TelegramTopic, None);
        }
        if let Some(routes) = self.channels.get(n.channel.as_ref()) {
            let first = |positions: &[usize], peer: Option<PeerRef<'_>>| {
                positions
                    .iter()
                    .map(|&p| &routes.bindings[p])
                    .find(|b| peer.is_none_or(|peer| b.matches_peer(peer)) && b.matches(n))
            };
            let peer = PeerRef {
                kind: msg.kind,
                id: &n.peer,
            };
            if let Some(b) = routes.by_peer.get(n.peer.as_ref()).and_then(|ps| first(ps, Some(peer))) {
                return (&b.agent, MatchedBy::Peer { binding: b.index }, Some(b));
            }
            if let Some(parent) = msg.parent_peer {
                let parent_id = normalize_peer_id(parent.id);
                let parent = PeerRef {
                    kind: parent.kind,
                    id: &parent_id,
                };
                if let Some(b) = routes
                    .by_peer
                    .get(parent_id.as_ref())
                    .and_then(|ps| first(ps, Some(parent)))
                {
                    return (&b.agent, MatchedBy::ParentPeer { binding: b.index }, Some(b));
                }
            }
            type Reason = fn(usize) -> MatchedBy;
            let tiers: [(&[usize], Reason); 5] = [
                (&routes.guild_roles, |binding| MatchedBy::GuildRoles { binding }),
                (&routes.guild, |binding| MatchedBy::Guild { binding }),
                (&routes.team, |binding| MatchedBy::Team { binding }),
                (&routes.account, |binding| MatchedBy::Account { binding }),
                (&routes.wildcard, |binding| MatchedBy::ChannelWildcard { binding }),
            ];
            for (positions, reason) in tiers {
                if let Some(b) = first(positions, None) {
                    return (&b.agent, reason(b.index), Some(b));
                }
            }
        }
        (&self.default_agent_ref, MatchedBy::Default, None)
    }

    fn telegram_topic<'s>(
        &'s self,
        n: &Normalized<'_>,
        kind: ChatKind,
        thread_id: Option<&str>,
    ) -> Option<&'s AgentRef> {
        let topic = normalize_peer_id(thread_id?);
        if topic.is_empty() {
            return None;
        }
        let in_chats = |agents: &'s TopicAgents| agents.chats(kind)?.get(n.peer.as_ref())?.get(topic.as_ref());
        self.telegram_topics_by_account
            .get(n.account.as_ref())
            .and_then(in_chats)
            .or_else(|| in_chats(&self.telegram_topics))
    }

    /// The ACP binding naming this exact conversation, if any (first in config order). Only
    /// bindings whose agent is configured are considered.
    pub fn acp_binding(&self, msg: &RoutePeer<'_>) -> Option<AcpMatch<'_>> {
        let n = self.normalize(msg);
        let routes = self.channels.get(n.channel.as_ref())?;
        let peer = PeerRef {
            kind: msg.kind,
            id: &n.peer,
        };
        routes
            .acp
            .iter()
            .filter(|b| b.matches_peer(peer) && b.matches(&n))
            .find_map(|b| match b.agent {
                AgentRef::Known(i) => Some(AcpMatch {
                    binding: b.index,
                    agent_id: &self.agents[i].id,
                }),
                AgentRef::Unknown(_) => None,
            })
    }
}

fn normalize_account_cow(raw: &str) -> Cow<'_, str> {
    let lower = normalize_peer_id(raw);
    if !lower.is_empty()
        && lower.len() <= 64
        && lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && !lower.starts_with('-')
        && !lower.ends_with('-')
        && !lower.contains("--")
    {
        lower
    } else {
        Cow::Owned(normalize_account_id(raw))
    }
}

/// `resolve_route` for one message: builds a [`Router`] each call. Use a kept `Router` on the
/// ingress path.
pub fn resolve_route(config: &Config, msg: &RoutePeer<'_>) -> Result<Route, RouteError> {
    Router::new(config).route(msg)
}

fn agent_ref(raw: &str, agents: &[AgentEntry]) -> AgentRef {
    let id = normalize_agent_id(raw);
    match agents.iter().position(|a| a.id == id) {
        Some(i) => AgentRef::Known(i),
        None => AgentRef::Unknown(id),
    }
}

fn collect_group_topics(
    groups: Option<&IdMap<GroupConfig>>,
    path: &str,
    agents: &[AgentEntry],
    out: &mut TopicAgents,
    warnings: &mut Vec<RouterWarning>,
) {
    for (chat, group) in groups.into_iter().flatten() {
        if group.agent_id.is_some() {
            warnings.push(RouterWarning::GroupAgentIdIgnored {
                path: format!("{path}.groups.{chat}.agentId"),
            });
        }
        for (topic, cfg) in group.topics.iter().flatten() {
            if let Some(agent) = cfg.agent_id.as_deref() {
                insert_topic(
                    &mut out.groups,
                    chat,
                    topic,
                    agent,
                    &format!("{path}.groups.{chat}.topics.{topic}.agentId"),
                    agents,
                    warnings,
                );
            }
        }
    }
}

fn collect_direct_topics(
    direct: Option<&Value>,
    path: &str,
    agents: &[AgentEntry],
    out: &mut TopicAgents,
    warnings: &mut Vec<RouterWarning>,
) {
    for (chat, entry) in direct.and_then(Value::as_object).into_iter().flatten() {
        let topics = entry.get("topics").and_then(Value::as_object);
        for (topic, cfg) in topics.into_iter().flatten() {
            if let Some(agent) = cfg.get("agentId").and_then(Value::as_str) {
                insert_topic(
                    &mut out.direct,
                    chat,
                    topic,
                    agent,
                    &format!("{path}.direct.{chat}.topics.{topic}.agentId"),
                    agents,
                    warnings,
                );
            }
        }
    }
}

fn insert_topic(
    out: &mut ChatTopics,
    chat: &str,
    topic: &str,
    agent: &str,
    path: &str,
    agents: &[AgentEntry],
    warnings: &mut Vec<RouterWarning>,
) {
    let agent = agent_ref(agent, agents);
    if let AgentRef::Unknown(agent_id) = &agent {
        warnings.push(RouterWarning::UnknownTopicAgent {
            path: path.to_string(),
            agent_id: agent_id.clone(),
        });
    }
    out.entry(normalize_peer_id(chat).into_owned())
        .or_default()
        .entry(normalize_peer_id(topic).into_owned())
        .or_insert(agent);
}

fn telegram_topic_agents(
    config: &Config,
    agents: &[AgentEntry],
    warnings: &mut Vec<RouterWarning>,
) -> (TopicAgents, HashMap<String, TopicAgents>) {
    let mut by_account = HashMap::new();
    let mut base = TopicAgents::default();
    let Some(telegram) = config.channels.as_ref().and_then(|c| c.telegram.as_ref()) else {
        return (base, by_account);
    };
    let base_path = "channels.telegram";
    collect_group_topics(telegram.access.groups.as_ref(), base_path, agents, &mut base, warnings);
    collect_direct_topics(telegram.compat.get("direct"), base_path, agents, &mut base, warnings);
    for (account, cfg) in telegram.accounts.iter().flatten() {
        let path = format!("{base_path}.accounts.{account}");
        let mut own = TopicAgents::default();
        collect_group_topics(cfg.access.groups.as_ref(), &path, agents, &mut own, warnings);
        collect_direct_topics(cfg.compat.get("direct"), &path, agents, &mut own, warnings);
        if !own.is_empty() {
            by_account.insert(normalize_account_id(account), own);
        }
    }
    (base, by_account)
}
