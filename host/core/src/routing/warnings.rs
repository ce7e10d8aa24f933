//! Problems in the routing config that do not stop routing, found once when the router is built.

use std::fmt;

/// One problem, with a stable [`code`](Self::code) and a message naming the cause and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterWarning {
    /// `bindings[binding]` names an agent that is not configured; messages it matches are
    /// refused (see [`RouteError`](super::bindings::RouteError)).
    UnknownAgent { binding: usize, agent_id: String },
    /// A Telegram topic's `agentId` names an agent that is not configured.
    UnknownTopicAgent { path: String, agent_id: String },
    /// A Telegram group-level `agentId`: only topic-level ones route.
    GroupAgentIdIgnored { path: String },
    /// An `acp` binding without `match.peer` can never match a conversation.
    AcpBindingWithoutPeer { binding: usize },
    /// An identity-link entry without a `<channel>:` prefix links that id on every channel.
    IdentityLinkUnqualified { canonical: String, entry: String },
    /// An id listed under two canonical names: the first one is used.
    IdentityLinkListedTwice {
        entry: String,
        kept: String,
        ignored: String,
    },
    /// Two canonical names that are equal once lower-cased: their sessions are one.
    IdentityLinkCanonicalsMerge { canonical: String },
    /// A canonical name that is empty: its links are ignored.
    IdentityLinkEmptyCanonical,
}

impl RouterWarning {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownAgent { .. } => "binding_unknown_agent",
            Self::UnknownTopicAgent { .. } => "topic_unknown_agent",
            Self::GroupAgentIdIgnored { .. } => "group_agent_id_ignored",
            Self::AcpBindingWithoutPeer { .. } => "acp_binding_without_peer",
            Self::IdentityLinkUnqualified { .. } => "identity_link_unqualified",
            Self::IdentityLinkListedTwice { .. } => "identity_link_listed_twice",
            Self::IdentityLinkCanonicalsMerge { .. } => "identity_link_canonicals_merge",
            Self::IdentityLinkEmptyCanonical => "identity_link_empty_canonical",
        }
    }
}

impl fmt::Display for RouterWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownAgent { binding, agent_id } => write!(
                f,
                "bindings[{binding}] routes to agent \"{agent_id}\", which is not in agents.list; messages it matches are refused. Add the agent to agents.list or change the binding"
            ),
            Self::UnknownTopicAgent { path, agent_id } => write!(
                f,
                "{path} routes to agent \"{agent_id}\", which is not in agents.list; messages in that topic are refused. Add the agent or fix the agentId"
            ),
            Self::GroupAgentIdIgnored { path } => write!(
                f,
                "{path} is ignored: only Telegram topics route by agentId. Move it under topics.<topicId>, or add a binding with match.peer {{kind: \"group\", id}}"
            ),
            Self::AcpBindingWithoutPeer { binding } => write!(
                f,
                "bindings[{binding}] has type \"acp\" but no match.peer, so it never matches; ACP bindings name one exact conversation"
            ),
            Self::IdentityLinkUnqualified { canonical, entry } => write!(
                f,
                "session.identityLinks.{canonical}: \"{entry}\" has no <channel>: prefix, so it links that id on every channel; write it as \"<channel>:{entry}\" to link one channel only"
            ),
            Self::IdentityLinkListedTwice { entry, kept, ignored } => write!(
                f,
                "session.identityLinks: \"{entry}\" is listed under \"{kept}\" and \"{ignored}\"; \"{kept}\" is used. Keep it under one name"
            ),
            Self::IdentityLinkCanonicalsMerge { canonical } => write!(
                f,
                "session.identityLinks.{canonical}: another canonical name differs only in case; both lists share one session. Merge them under one name"
            ),
            Self::IdentityLinkEmptyCanonical => write!(
                f,
                "session.identityLinks has an empty canonical name; its links are ignored. Give the person a name"
            ),
        }
    }
}
