//! The ingress pipeline: journal → access control → routing → the agent loop in the routed
//! session → the reply back to the chat the message came from.
//!
//! The decisions are `openclaw_core::access::admit` and `openclaw_core::routing::Router`, pure
//! functions over a snapshot of the config and the pairing store; this module does the I/O
//! around them. Messages of one session are answered one at a time and in order (a lane per
//! session key); sessions run side by side, up to `agents.defaults.maxConcurrent` turns at once.
//!
//! Every step is recorded in the journal (see [`super::journal`]): a gateway killed at any point
//! answers each admitted message once at most and loses none it had not begun answering.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use openclaw_core::access::{self, AccessSnapshot, ChatType as AccessChat, Decision, InboundFacts};
use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::common::ToolPolicy;
use openclaw_core::routing::bindings::{Route, RoutePeer, Router};
use openclaw_core::routing::session_key::ChatKind;
use openclaw_runtime::{CallError, ChatType, OutboundMessage};
use tokio::sync::{Semaphore, mpsc, watch};

use super::journal::{Entry, Journal, Step};
use super::pairing_store::PairingStore;
use crate::agents::{AgentService, TurnRequest};
use crate::channels::supervisor::ChannelAccount;
use crate::plugins::serving::Plugins;
use crate::tools::Transport;
use crate::tools::dispatch::Sender;

/// Messages handed out of the journal per wake-up.
const BATCH: usize = 256;
/// Tries of a reply whose channel says "temporarily unavailable".
const SEND_ATTEMPTS: u32 = 3;
/// Group messages kept as context per group when `historyLimit` is not set.
const DEFAULT_HISTORY_LIMIT: usize = 50;
/// OpenClaw's token for "the agent chose not to answer".
const SILENT_REPLY: &str = "NO_REPLY";
/// What a chat sees when its turn failed (the cause goes to the log, never to the chat).
const FAILED_REPLY: &str = "Sorry, something went wrong while answering. The gateway's log has the details.";

/// (length, mtime) of each file of a pairing allowlist, to notice changes cheaply.
type FileStamps = Vec<Option<(u64, SystemTime)>>;

/// A message that passed access control and routing, waiting in its session's lane.
struct Work {
    entry: Entry,
    route: Route,
    commands_allowed: bool,
    group_tools: Option<Arc<ToolPolicy>>,
}

/// What happened to one message (recorded in the journal and returned to tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Dropped(String),
    Challenged { created: bool },
    History(String),
    Queued { session_key: String, agent_id: String },
}

/// The pipeline. Built once per gateway run over the config snapshot.
pub struct Ingress {
    journal: Arc<Journal>,
    agents: Arc<AgentService>,
    plugins: Arc<Plugins>,
    pairing: PairingStore,
    snapshot: RwLock<AccessSnapshot>,
    /// (channel, account) → the allowFrom files' (length, mtime) when last read.
    paired_stamps: Mutex<HashMap<(String, String), FileStamps>>,
    router: Router,
    lanes: Mutex<HashMap<String, mpsc::UnboundedSender<Work>>>,
    turns: Arc<Semaphore>,
    /// Group messages that failed mention gating, per conversation, handed to the agent as
    /// context with the next message it answers there (in memory; bounded by `historyLimit`).
    group_history: Mutex<HashMap<String, VecDeque<String>>>,
}

/// `agents.defaults.maxConcurrent`, within what a semaphore holds.
fn max_concurrent_turns(config: &Config) -> usize {
    let configured = config
        .agents
        .as_ref()
        .and_then(|a| a.defaults.as_ref())
        .and_then(|d| d.max_concurrent)
        .unwrap_or(openclaw_core::config::schema::agents::DEFAULT_MAX_CONCURRENT);
    usize::try_from(configured)
        .unwrap_or(usize::MAX)
        .clamp(1, Semaphore::MAX_PERMITS)
}

fn chat_kinds(chat: ChatType) -> (AccessChat, ChatKind) {
    match chat {
        ChatType::Direct => (AccessChat::Direct, ChatKind::Direct),
        ChatType::Group => (AccessChat::Group, ChatKind::Group),
        ChatType::Channel => (AccessChat::Channel, ChatKind::Channel),
    }
}

/// The `username` a channel put in `extra` (informational; matched only where names may be).
fn username(extra: Option<&str>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(extra?).ok()?;
    value.get("username")?.as_str().map(str::to_string)
}

impl Ingress {
    pub fn new(
        config: &Config,
        journal: Arc<Journal>,
        agents: Arc<AgentService>,
        plugins: Arc<Plugins>,
        pairing: PairingStore,
    ) -> Arc<Self> {
        let (snapshot, warnings) = AccessSnapshot::new(config);
        for warning in warnings {
            tracing::warn!("access control: {}", warning.message);
        }
        let router = Router::new(config);
        for warning in router.warnings() {
            tracing::warn!("routing: {warning}");
        }
        Arc::new(Self {
            journal,
            agents,
            plugins,
            pairing,
            snapshot: RwLock::new(snapshot),
            paired_stamps: Mutex::new(HashMap::new()),
            router,
            lanes: Mutex::new(HashMap::new()),
            turns: Arc::new(Semaphore::new(max_concurrent_turns(config))),
            group_history: Mutex::new(HashMap::new()),
        })
    }

    /// Processes the journal until `shutdown`: first what an earlier run left, then what comes.
    pub fn spawn(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let ingress = self.clone();
        tokio::spawn(async move {
            loop {
                loop {
                    let batch = ingress.journal.take_queued(BATCH);
                    if batch.is_empty() {
                        break;
                    }
                    for entry in batch {
                        ingress.handle(entry).await;
                    }
                }
                tokio::select! {
                    _ = ingress.journal.queued() => {}
                    _ = shutdown.changed() => {
                        if *shutdown.borrow() {
                            return;
                        }
                    }
                }
            }
        })
    }

    /// Re-reads the pairing store of a channel account when its files changed.
    fn refresh_paired(&self, channel: &str, account: &str) {
        let stamp = self.pairing.allow_from_stamp(channel, account);
        let key = (channel.to_string(), account.to_string());
        {
            let stamps = self
                .paired_stamps
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if stamps.get(&key) == Some(&stamp) {
                return;
            }
        }
        let entries = self.pairing.allow_from(channel, account);
        self.snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .set_paired(channel, account, entries.iter().map(String::as_str));
        self.paired_stamps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, stamp);
    }

    fn finish(&self, seq: u64, outcome: &str) {
        if let Err(e) = self.journal.mark(seq, Step::Done, Some(outcome)) {
            tracing::error!(seq, "the ingress journal could not record an outcome: {e}");
        }
    }

    /// Decides one message and acts on the decision.
    pub async fn handle(self: &Arc<Self>, entry: Entry) -> Outcome {
        let m = &entry.message;
        let channel = entry.channel.as_str();
        let (access_chat, kind) = chat_kinds(m.chat_type());
        let peer_id = match kind {
            ChatKind::Direct => m.sender_id.as_str(),
            _ => m.chat_id.as_str(),
        };
        let mut peer = RoutePeer::new(channel, kind, peer_id);
        peer.account_id = Some(m.account_id.as_str());
        peer.thread_id = m.thread_id.as_deref();
        let route = self.router.route(&peer);
        if access_chat == AccessChat::Direct {
            self.refresh_paired(channel, &m.account_id);
        }
        let username = username(m.extra.as_deref());
        let facts = InboundFacts {
            channel,
            account_id: &m.account_id,
            chat_type: access_chat,
            chat_id: &m.chat_id,
            guild_id: None,
            sender_id: &m.sender_id,
            sender_name: m.sender_name.as_deref(),
            sender_username: username.as_deref(),
            thread_id: m.thread_id.as_deref(),
            text: &m.text,
            // Every channel is assumed able to report mentions, so `requireMention` never
            // silently admits everyone.
            native_mention_supported: true,
            native_mention: m.mentioned,
            reply_to_bot: m.reply_to_bot,
            agent_id: route.as_ref().ok().map(|r| r.agent_id.as_str()),
        };
        // The decision borrows the snapshot; what the rest needs is copied out of it.
        let decided = {
            let snapshot = self.snapshot.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            let decision = access::admit(&snapshot, &facts);
            let code = decision.code().to_string();
            let description = decision.to_string();
            match decision {
                Decision::Admit(admitted) => Decided::Admit {
                    code,
                    commands_allowed: admitted.command_authorized,
                    group_tools: admitted.tool_policy.cloned().map(Arc::new),
                },
                Decision::Challenge => Decided::Challenge,
                Decision::History(_) => Decided::History(code),
                Decision::Drop(_) => Decided::Drop(code, description),
            }
        };
        match decided {
            Decided::Drop(code, description) => {
                tracing::info!(target: openclaw_core::security::SECURITY_TARGET, event = "inbound-dropped", channel, account = %m.account_id, code = %code, "{description}");
                self.finish(entry.seq, &format!("dropped: {code}"));
                Outcome::Dropped(code)
            }
            Decided::History(code) => {
                tracing::debug!(channel, code = %code, "group message kept as history only");
                self.remember_history(&entry);
                self.finish(entry.seq, &format!("history: {code}"));
                Outcome::History(code)
            }
            Decided::Challenge => {
                let created = self.challenge(&entry).await;
                self.finish(
                    entry.seq,
                    if created {
                        "pairing: code sent"
                    } else {
                        "pairing: no reply (pending or at the cap)"
                    },
                );
                Outcome::Challenged { created }
            }
            Decided::Admit {
                code,
                commands_allowed,
                group_tools,
            } => {
                let route = match route {
                    Ok(route) => route,
                    Err(e) => {
                        tracing::warn!(channel, "{e}");
                        self.finish(entry.seq, &format!("dropped: {}", e.code()));
                        return Outcome::Dropped(e.code().to_string());
                    }
                };
                tracing::debug!(channel, code = %code, session = %route.session_key, matched_by = %route.matched_by, "admitted");
                let outcome = Outcome::Queued {
                    session_key: route.session_key.to_string(),
                    agent_id: route.agent_id.clone(),
                };
                let mut entry = entry;
                // Commands are read from the first word, so an authorized one stays bare.
                let bare_command = commands_allowed && access::is_control_command(&entry.message.text);
                if entry.message.chat_type() != ChatType::Direct && !bare_command {
                    entry.message.text = self.with_history(&entry);
                }
                self.enqueue(Work {
                    entry,
                    route,
                    commands_allowed,
                    group_tools,
                });
                outcome
            }
        }
    }

    fn history_key(entry: &Entry) -> String {
        let m = &entry.message;
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            entry.channel,
            m.account_id,
            m.chat_id,
            m.thread_id.as_deref().unwrap_or_default()
        )
    }

    fn history_limit(&self, entry: &Entry) -> usize {
        self.plugins
            .channel_account(&entry.channel, &entry.message.account_id)
            .and_then(|a| a.settings.get("historyLimit").and_then(serde_json::Value::as_u64))
            .map_or(DEFAULT_HISTORY_LIMIT, |n| n as usize)
    }

    /// Keeps a group message that was not answered, for the next answer's context.
    fn remember_history(&self, entry: &Entry) {
        let limit = self.history_limit(entry);
        if limit == 0 {
            return;
        }
        let line = speaker_line(&entry.message);
        let mut history = self
            .group_history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let kept = history.entry(Self::history_key(entry)).or_default();
        kept.push_back(line);
        while kept.len() > limit {
            kept.pop_front();
        }
    }

    /// The text the agent sees for a group message: who said it, after what was said since the
    /// last answer there (which is then forgotten).
    fn with_history(&self, entry: &Entry) -> String {
        let earlier = self
            .group_history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&Self::history_key(entry))
            .unwrap_or_default();
        let current = speaker_line(&entry.message);
        if earlier.is_empty() {
            return current;
        }
        let mut text = String::from("[Chat messages since your last reply - for context]\n");
        for line in earlier {
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str("\n[Current message - respond to this]\n");
        text.push_str(&current);
        text
    }

    /// Records a pairing request and sends the code only when the request is new.
    async fn challenge(&self, entry: &Entry) -> bool {
        let m = &entry.message;
        let mut meta = BTreeMap::new();
        if let Some(name) = &m.sender_name {
            meta.insert("name".to_string(), name.clone());
        }
        if let Some(user) = username(m.extra.as_deref()) {
            meta.insert("username".to_string(), user);
        }
        let store = self.pairing.clone();
        // One row per person: the id as the channel's allowlists write it.
        let sender =
            access::account::normalize_sender_id(access::IdStyle::of(&entry.channel), &entry.channel, &m.sender_id)
                .into_owned();
        let (channel, account) = (entry.channel.clone(), m.account_id.clone());
        let upserted = tokio::task::spawn_blocking(move || store.upsert(&channel, &account, &sender, &meta)).await;
        let upsert = match upserted {
            Ok(Ok(upsert)) => upsert,
            Ok(Err(e)) => {
                tracing::error!(channel = %entry.channel, "pairing store: {e}");
                return false;
            }
            Err(e) => {
                tracing::error!("pairing store task failed: {e}");
                return false;
            }
        };
        let (true, Some(code)) = (upsert.created, upsert.code) else {
            return false;
        };
        tracing::info!(target: openclaw_core::security::SECURITY_TARGET, event = "pairing-requested", channel = %entry.channel, account = %m.account_id, sender = %m.sender_id, "pairing code issued; approve with `openclaw pairing approve {} <code>`", entry.channel);
        let text = access::pairing::pairing_reply(&entry.channel, &m.sender_id, &code);
        let Some(account) = self.plugins.channel_account(&entry.channel, &m.account_id).cloned() else {
            tracing::warn!(channel = %entry.channel, "the pairing code cannot be sent: the channel account is not running");
            return true;
        };
        if let Err(e) = send_with_retry(&account, outbound(m, None, text)).await {
            tracing::warn!(channel = %entry.channel, "the pairing code could not be sent: {e}");
        }
        true
    }

    fn enqueue(self: &Arc<Self>, work: Work) {
        let key = work.route.session_key.to_string();
        let mut lanes = self.lanes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let work = match lanes.get(&key) {
            Some(lane) => match lane.send(work) {
                Ok(()) => return,
                Err(mpsc::error::SendError(work)) => work,
            },
            None => work,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        // A fresh lane: its worker runs until the lane is empty, then removes itself.
        let _ = tx.send(work);
        lanes.insert(key.clone(), tx);
        let ingress = self.clone();
        tokio::spawn(async move { ingress.run_lane(key, rx).await });
    }

    async fn run_lane(self: Arc<Self>, key: String, mut rx: mpsc::UnboundedReceiver<Work>) {
        let mut waiting: VecDeque<Work> = VecDeque::new();
        loop {
            while let Ok(work) = rx.try_recv() {
                waiting.push_back(work);
            }
            if waiting.is_empty() {
                // Empty: retire the lane unless something arrived meanwhile.
                let mut lanes = self.lanes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match rx.try_recv() {
                    Ok(work) => waiting.push_back(work),
                    Err(_) => {
                        lanes.remove(&key);
                        return;
                    }
                }
            }
            // The batch is formed once a turn may start, so what arrived while this session
            // waited for one joins it.
            let Ok(_permit) = self.turns.clone().acquire_owned().await else {
                return;
            };
            while let Ok(work) = rx.try_recv() {
                waiting.push_back(work);
            }
            let Some(first) = waiting.pop_front() else { continue };
            // OpenClaw's `collect` queue mode: what the same sender wrote in the same chat while
            // the session was busy becomes one follow-up turn. Commands and other senders' messages
            // are never merged (each runs with its own sender's rights).
            let mut batch = vec![first];
            while let Some(next) = waiting.front() {
                if !collectable(&batch[0], next) {
                    break;
                }
                if let Some(next) = waiting.pop_front() {
                    batch.push(next);
                }
            }
            self.answer(batch).await;
        }
    }

    /// Runs the turn and sends the reply to the chat the message came from. A batch (collected
    /// messages of one sender in one chat) is one turn and one reply; each message is recorded.
    async fn answer(&self, batch: Vec<Work>) {
        let seqs: Vec<u64> = batch.iter().map(|w| w.entry.seq).collect();
        let collected = batch.len();
        let text = if collected == 1 {
            batch[0].entry.message.text.clone()
        } else {
            let mut text = String::from("[Queued messages while agent was busy]");
            for (i, work) in batch.iter().enumerate() {
                text.push_str(&format!("\n\n---\nQueued #{}\n{}", i + 1, work.entry.message.text));
            }
            text
        };
        let Some(Work {
            entry,
            route,
            commands_allowed,
            group_tools,
        }) = batch.into_iter().last()
        else {
            return;
        };
        let finish_all = |outcome: &str| {
            if let Err(e) = self.journal.mark_all(&seqs, Step::Done, Some(outcome)) {
                tracing::error!("the ingress journal could not record an outcome: {e}");
            }
        };
        let m = &entry.message;
        if let Err(e) = self.journal.mark_all(&seqs, Step::Started, None) {
            tracing::error!("the ingress journal could not record a start: {e}");
        }
        let request = TurnRequest {
            session_key: route.session_key.clone(),
            message: text,
            transport: Transport::Agent,
            channel: Some(entry.channel.clone()),
            sender: Some(Sender {
                channel: entry.channel.clone(),
                ids: sender_ids(&entry.channel, m),
            }),
            run_id: format!(
                "in-{}-{}",
                entry.seq,
                crate::state::ids::random_hex(4).unwrap_or_default()
            ),
            commands_allowed: commands_allowed && collected == 1,
            group_tools,
        };
        let reply = match self.agents.run_turn(request, &|_| {}).await {
            Ok(result) => result.text,
            Err(e) => {
                tracing::error!(channel = %entry.channel, session = %route.session_key, "turn failed: {e}");
                FAILED_REPLY.to_string()
            }
        };
        self.record_route(&entry, &route);
        let text = reply.trim();
        if text.is_empty() || text == SILENT_REPLY {
            finish_all("answered: no reply");
            return;
        }
        let Some(account) = self.plugins.channel_account(&entry.channel, &m.account_id).cloned() else {
            tracing::warn!(channel = %entry.channel, account = %m.account_id, "the reply cannot be sent: the channel account is not running");
            finish_all("answered: channel not running");
            return;
        };
        // On disk before the send: after a crash from here on, the reply is not sent again.
        if let Err(e) = self.journal.mark_replying(&seqs).await {
            tracing::error!(
                "the ingress journal could not record a reply; not sending it (it could be sent twice): {e}"
            );
            finish_all("answered: journal failed");
            return;
        }
        let reply_to = reply_to(&account, m);
        let outcome = if collected > 1 {
            format!("answered (collected {collected})")
        } else {
            "answered".to_string()
        };
        match send_with_retry(&account, outbound(m, reply_to, text.to_string())).await {
            Ok(_) => finish_all(&outcome),
            Err(e) => {
                tracing::warn!(channel = %entry.channel, "the reply could not be sent: {e}");
                finish_all("answered: send failed");
            }
        }
    }

    /// Whether a DM from this sender may move the main session's last route: with one owner
    /// pinned by `allowFrom` (one entry, no `"*"`), only the owner's DMs do.
    fn moves_last_route(&self, entry: &Entry, route: &Route) -> bool {
        if !route.session_key.is_main() {
            return true;
        }
        let m = &entry.message;
        let snapshot = self.snapshot.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(owner) = snapshot
            .access(&entry.channel, &m.account_id)
            .and_then(|a| a.pinned_owner())
        else {
            return true;
        };
        let sender =
            access::account::normalize_sender_id(access::IdStyle::of(&entry.channel), &entry.channel, &m.sender_id);
        sender == owner
    }

    /// Remembers where the session was last reached (OpenClaw's `lastChannel`, `lastTo`, ...).
    fn record_route(&self, entry: &Entry, route: &Route) {
        let m = &entry.message;
        if !self.moves_last_route(entry, route) {
            return;
        }
        let updated = self.agents.sessions().update(&route.session_key, |session| {
            session.channel = Some(entry.channel.clone());
            session.chat_type = Some(m.chat_type.clone());
            let extra = &mut session.extra;
            extra.insert("lastChannel".into(), entry.channel.clone().into());
            extra.insert("lastTo".into(), m.chat_id.clone().into());
            extra.insert("lastAccountId".into(), m.account_id.clone().into());
            match &m.thread_id {
                Some(thread) => extra.insert("lastThreadId".into(), thread.clone().into()),
                None => extra.remove("lastThreadId"),
            };
            extra.insert(
                "origin".into(),
                serde_json::json!({
                    "provider": entry.channel,
                    "surface": entry.channel,
                    "chatType": m.chat_type,
                    "from": m.sender_id,
                    "to": m.chat_id,
                    "accountId": m.account_id,
                    "threadId": m.thread_id,
                }),
            );
        });
        if let Err(e) = updated {
            tracing::warn!("could not record the session's route: {e}");
        }
    }
}

enum Decided {
    Admit {
        code: String,
        commands_allowed: bool,
        group_tools: Option<Arc<ToolPolicy>>,
    },
    Challenge,
    History(String),
    Drop(String, String),
}

/// Whether `next` may join `first`'s turn: same chat (and thread), same sender, same rights, and
/// neither is a command (commands run alone, as the first word of their own turn).
fn collectable(first: &Work, next: &Work) -> bool {
    let (a, b) = (&first.entry, &next.entry);
    a.channel == b.channel
        && a.message.account_id == b.message.account_id
        && a.message.chat_id == b.message.chat_id
        && a.message.thread_id == b.message.thread_id
        && a.message.sender_id == b.message.sender_id
        && first.commands_allowed == next.commands_allowed
        && !access::is_control_command(&a.message.text)
        && !access::is_control_command(&b.message.text)
}

/// `Name (id): text`, how a group message is shown to the agent (names are informational).
fn speaker_line(m: &super::journal::StoredMessage) -> String {
    match m.sender_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("{name} ({}): {}", m.sender_id, m.text),
        None => format!("{}: {}", m.sender_id, m.text),
    }
}

/// The ids a sender is known by, as elevated and exec allowlists write them: the stable id, and
/// the (mutable) username and display name, which lists match only when they name the field.
fn sender_ids(_channel: &str, m: &super::journal::StoredMessage) -> Vec<String> {
    let mut ids = vec![m.sender_id.clone(), format!("id:{}", m.sender_id)];
    if let Some(user) = username(m.extra.as_deref()) {
        ids.push(format!("username:{user}"));
    }
    if let Some(name) = m.sender_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        ids.push(format!("name:{name}"));
    }
    ids
}

/// Reply threading per `replyToMode`: `off` never, `first`/`all` always (one answer per
/// message). Unset: in groups (where several people talk) yes, in direct chats no.
fn reply_to(account: &ChannelAccount, m: &super::journal::StoredMessage) -> Option<String> {
    let mode = account.settings.get("replyToMode").and_then(serde_json::Value::as_str);
    let thread = match mode {
        Some("off") => false,
        Some(_) => true,
        None => m.chat_type() != ChatType::Direct,
    };
    thread.then(|| m.message_id.clone())
}

fn outbound(m: &super::journal::StoredMessage, reply_to: Option<String>, text: String) -> OutboundMessage {
    OutboundMessage {
        account_id: m.account_id.clone(),
        chat_id: m.chat_id.clone(),
        thread_id: m.thread_id.clone(),
        reply_to,
        text,
    }
}

async fn send_with_retry(account: &ChannelAccount, message: OutboundMessage) -> Result<(), CallError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match account.send(message.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) if attempt < SEND_ATTEMPTS && transient(&e) => {
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn transient(error: &CallError) -> bool {
    match error {
        CallError::Channel { message, .. } => message.starts_with("temporarily unavailable"),
        CallError::BackingOff { .. } | CallError::Timeout { .. } => true,
        _ => false,
    }
}
