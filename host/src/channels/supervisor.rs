//! Running channel accounts: one plugin instance per configured account, keyed by the channel
//! id operators write (`telegram`), polled with backoff, and feeding the durable ingress journal.
//!
//! Nothing a channel delivers is lost: after every poll (and every webhook request) the
//! messages it delivered are moved from the plugin's in-memory queue into the journal and put
//! on disk before the next poll, which is when a platform like Telegram learns the messages were
//! taken (its offset). A message the journal refuses because it is full stays with the platform.

use std::sync::Arc;
use std::time::Duration;

use openclaw_runtime::{CallError, ChannelInstance, InboundReceiver, OutboundMessage, SendReceipt, channel::backoff};
use tokio::sync::{Mutex, watch};

use crate::ingress::journal::{Journal, Refusal, StoredMessage};

/// One running account of a channel.
pub struct ChannelAccount {
    /// The channel id (`channels.<id>`, the manifest's `[channel] id`).
    pub channel: String,
    pub account_id: String,
    pub plugin_id: String,
    /// Polls and takes webhook requests.
    pub instance: Arc<ChannelInstance>,
    /// Sends replies. A second instance of the same plugin, so a reply never waits behind a
    /// long poll holding the first.
    sender: Arc<ChannelInstance>,
    /// The account's effective settings (its keys over the channel's).
    pub settings: serde_json::Map<String, serde_json::Value>,
    inbound: Mutex<InboundReceiver>,
    journal: Arc<Journal>,
}

impl ChannelAccount {
    pub fn new(
        channel: String,
        account_id: String,
        instance: Arc<ChannelInstance>,
        sender: Arc<ChannelInstance>,
        settings: serde_json::Map<String, serde_json::Value>,
        inbound: InboundReceiver,
        journal: Arc<Journal>,
    ) -> Arc<Self> {
        let plugin_id = instance.plugin().id().to_string();
        Arc::new(Self {
            channel,
            account_id,
            plugin_id,
            instance,
            sender,
            settings,
            inbound: Mutex::new(inbound),
            journal,
        })
    }

    /// Moves what the plugin delivered into the journal and onto disk. Returns how many
    /// messages were queued.
    pub async fn commit_delivered(&self) -> usize {
        let mut rx = self.inbound.lock().await;
        let mut queued = 0;
        while let Some(message) = rx.try_recv() {
            let mut stored = StoredMessage::from(message);
            // A plugin instance serves one account; what it says about another is not trusted.
            stored.account_id = self.account_id.clone();
            match self.journal.append(&self.channel, stored) {
                Ok(_) => queued += 1,
                Err(Refusal::Duplicate) => {}
                Err(refusal) => {
                    tracing::warn!(channel = %self.channel, account = %self.account_id, "inbound message not queued: {refusal}; the platform keeps it until the next poll");
                }
            }
        }
        drop(rx);
        let journal = self.journal.clone();
        match tokio::task::spawn_blocking(move || journal.sync()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(channel = %self.channel, "the ingress journal could not be synced: {e}"),
            Err(e) => tracing::error!(channel = %self.channel, "journal sync task failed: {e}"),
        }
        queued
    }

    pub async fn send(&self, message: OutboundMessage) -> Result<SendReceipt, CallError> {
        self.sender.send(message).await
    }

    /// Polls until `shutdown`, committing deliveries after each poll. A poll in progress at
    /// shutdown is abandoned: what it delivered is committed, and what it did not confirm to
    /// the platform is fetched again next start (the journal drops the repeats).
    pub fn spawn_poller(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let account = self.clone();
        tokio::spawn(async move {
            let mut errors: u32 = 0;
            loop {
                if *shutdown.borrow() {
                    break;
                }
                let polled = tokio::select! {
                    polled = account.instance.poll() => Some(polled),
                    _ = shutdown.changed() => None,
                };
                account.commit_delivered().await;
                let Some(polled) = polled else { break };
                let wait = match polled {
                    Ok(wait) => {
                        errors = 0;
                        wait
                    }
                    Err(CallError::BackingOff { retry_in_ms, .. }) => Duration::from_millis(retry_in_ms),
                    Err(error) => {
                        errors = errors.saturating_add(1);
                        tracing::warn!(channel = %account.channel, account = %account.account_id, "poll failed: {error}");
                        backoff(errors)
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
            }
            account.commit_delivered().await;
        })
    }
}
