//! Channel plugins: one long-lived store per channel, rebuilt after a trap with backoff.
//!
//! A channel keeps state between calls (its polling offset, a session), so unlike tools it keeps
//! its instance. Every call gets a fresh deadline and host-call budget. A trap poisons the
//! instance (wasmtime refuses to re-enter it), so the instance is dropped and the next call
//! builds a new one and calls `start` again, no sooner than the backoff allows: 1 s after the
//! first failure, doubling up to 5 minutes, reset by a successful call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, watch};
use wasmtime::Store;

use openclaw_core::plugins::manifest::WebhookVerify;
use openclaw_core::plugins::webhook;
use secrecy::ExposeSecret;

use crate::bindings::channel::ChannelPlugin;
use crate::bindings::channel::openclaw::plugin::channel_types::{self as wit, ChannelError};
use crate::budget::CHANNEL_WINDOW;
use crate::error::CallError;
use crate::inbound::InboundSender;
use crate::runtime::{LoadedPlugin, classify_parts, new_store_with};
use crate::store::StoreState;
use crate::types::{OutboundMessage, SendReceipt, WebhookRequest, WebhookResponse};

pub const BACKOFF_FIRST: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// Shortest pause between polls, whatever the plugin asks for.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Longest pause between polls a plugin may ask for.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(3600);

struct Live {
    store: Store<StoreState>,
    bindings: ChannelPlugin,
}

/// A running channel plugin.
pub struct ChannelInstance {
    plugin: Arc<LoadedPlugin>,
    inbound: InboundSender,
    live: Mutex<Option<Live>>,
    failures: AtomicU32,
    retry_at: std::sync::Mutex<Option<Instant>>,
    starts: AtomicU64,
}

fn channel_error(plugin: &str, error: ChannelError) -> CallError {
    let (kind, message) = match error {
        ChannelError::Config(m) => ("configuration", m),
        ChannelError::Platform(m) => ("platform", m),
        ChannelError::Denied(m) => ("denied", m),
        ChannelError::Retry(m) => ("temporarily unavailable", m),
    };
    CallError::Channel {
        plugin: plugin.to_string(),
        message: format!("{kind}: {message}"),
    }
}

fn recipe_secret(recipe: &WebhookVerify) -> &str {
    match recipe {
        WebhookVerify::HeaderEquals { secret, .. } | WebhookVerify::HmacSha256 { secret, .. } => secret,
    }
}

/// The backoff after `failures` consecutive failures.
pub fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    BACKOFF_FIRST.saturating_mul(1 << exp).min(BACKOFF_MAX)
}

impl ChannelInstance {
    /// Wraps a loaded channel plugin; inbound messages go to `inbound`. Nothing runs until the
    /// first call (or [`ChannelInstance::start`]).
    pub fn new(plugin: Arc<LoadedPlugin>, inbound: InboundSender) -> Result<Arc<Self>, CallError> {
        if plugin.channel_pre().is_none() {
            return Err(CallError::WrongKind {
                plugin: plugin.id().to_string(),
                kind: plugin.kind().as_str(),
                operation: "running a channel",
                needed: "channel",
            });
        }
        Ok(Arc::new(Self {
            plugin,
            inbound,
            live: Mutex::new(None),
            failures: AtomicU32::new(0),
            retry_at: std::sync::Mutex::new(None),
            starts: AtomicU64::new(0),
        }))
    }

    pub fn plugin(&self) -> &LoadedPlugin {
        &self.plugin
    }

    /// How many times an instance was built and started.
    pub fn starts(&self) -> u64 {
        self.starts.load(Ordering::Relaxed)
    }

    fn id(&self) -> &str {
        self.plugin.id()
    }

    fn fail(&self) {
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        let wait = backoff(failures);
        if let Ok(mut at) = self.retry_at.lock() {
            *at = Some(Instant::now() + wait);
        }
        tracing::warn!(target: "openclaw::plugins", plugin = %self.id(), "channel instance discarded; restarting in {} ms", wait.as_millis());
    }

    fn succeed(&self) {
        self.failures.store(0, Ordering::Relaxed);
    }

    /// Arms the deadline for one call. Budgets are not refilled per call but per window: a
    /// channel that returns from `poll` quickly must not get a fresh allowance each time.
    fn prepare(&self, store: &mut Store<StoreState>) {
        let data = store.data_mut();
        let now = Instant::now();
        if data.budget.roll_window(CHANNEL_WINDOW, now) {
            data.deliveries = Default::default();
        }
        data.deadline = now + self.plugin.timeout_budget();
    }

    /// Builds and starts an instance unless one is running.
    async fn ensure_live<'a>(&self, live: &'a mut Option<Live>) -> Result<&'a mut Live, CallError> {
        if live.is_none() {
            if let Some(at) = self.retry_at.lock().ok().and_then(|at| *at) {
                let now = Instant::now();
                if at > now {
                    return Err(CallError::BackingOff {
                        plugin: self.id().to_string(),
                        retry_in_ms: (at - now).as_millis() as u64,
                    });
                }
            }
            let pre = self.plugin.channel_pre().ok_or_else(|| CallError::Internal {
                plugin: self.id().to_string(),
                message: "not a channel plugin".into(),
            })?;
            let mut store = new_store_with(
                self.plugin.shared().clone(),
                self.plugin.timeout_budget(),
                pre.engine(),
                None,
                Some(self.inbound.clone()),
            )
            .map_err(|e| CallError::Internal {
                plugin: self.id().to_string(),
                message: e.to_string(),
            })?;
            let config = self.plugin.shared().config_json.clone();
            self.starts.fetch_add(1, Ordering::Relaxed);
            let limit = self.plugin.timeout_budget() + self.plugin.grace();
            let started = tokio::time::timeout(limit, async {
                let bindings = pre.instantiate_async(&mut store).await?;
                let result = bindings
                    .openclaw_plugin_channel()
                    .call_start(&mut store, &config)
                    .await?;
                Ok::<_, wasmtime::Error>((bindings, result))
            })
            .await;
            match started {
                Err(_) => {
                    self.fail();
                    return Err(CallError::Timeout {
                        plugin: self.id().to_string(),
                        limit_ms: self.plugin.grant().limits.timeout_ms,
                    });
                }
                Ok(Err(error)) => {
                    self.fail();
                    return Err(classify_parts(self.plugin.shared(), error, store.data()));
                }
                Ok(Ok((_, Err(error)))) => {
                    self.fail();
                    return Err(channel_error(self.id(), error));
                }
                Ok(Ok((bindings, Ok(())))) => {
                    *live = Some(Live { store, bindings });
                }
            }
        }
        live.as_mut().ok_or_else(|| CallError::Internal {
            plugin: self.id().to_string(),
            message: "instance vanished".into(),
        })
    }

    /// Starts the channel now (otherwise the first call does).
    pub async fn start(&self) -> Result<(), CallError> {
        let mut guard = self.live.lock().await;
        self.ensure_live(&mut guard).await.map(|_| ())
    }

    /// Polls once; returns how long the plugin wants to wait before the next poll.
    pub async fn poll(&self) -> Result<Duration, CallError> {
        let ms = self
            .invoke(|live| {
                Box::pin(async move {
                    let channel = live.bindings.openclaw_plugin_channel();
                    channel.call_poll(&mut live.store).await
                })
            })
            .await?;
        Ok(Duration::from_millis(u64::from(ms)).clamp(MIN_POLL_INTERVAL, MAX_POLL_INTERVAL))
    }

    pub async fn send(&self, message: OutboundMessage) -> Result<SendReceipt, CallError> {
        let message = wit::OutboundMessage::from(message);
        self.invoke(move |live| {
            Box::pin(async move {
                let channel = live.bindings.openclaw_plugin_channel();
                channel.call_send(&mut live.store, &message).await
            })
        })
        .await
        .map(SendReceipt::from)
    }

    /// The manifest's verification recipe, when the channel takes webhooks at all.
    pub fn webhook_recipe(&self) -> Option<&WebhookVerify> {
        self.plugin.manifest.channel.as_ref()?.webhook.as_ref()
    }

    /// Whether webhook requests can be verified: `Ok(false)` when the channel takes none, an
    /// error naming the missing secret when it takes them but has no value to check them with.
    pub fn webhook_ready(&self) -> Result<bool, String> {
        let Some(recipe) = self.webhook_recipe() else {
            return Ok(false);
        };
        let name = recipe_secret(recipe);
        match self.plugin.shared().egress.secrets.current().host_only(name) {
            Some(_) => Ok(true),
            None => Err(format!(
                "its webhook is verified with secret `{name}`, which has no value; set plugins.entries.{}.secrets.{name}",
                self.id()
            )),
        }
    }

    /// Verifies a webhook request with the manifest's recipe, then hands it to the plugin with
    /// the verification header removed and every secret value the plugin must not see scrubbed
    /// from its path, query, headers (names and values) and body. An unverified request never
    /// reaches the plugin.
    pub async fn handle_webhook(&self, request: WebhookRequest) -> Result<WebhookResponse, CallError> {
        let refused = |reason: String| CallError::WebhookRefused {
            plugin: self.id().to_string(),
            reason,
        };
        let Some(recipe) = self.webhook_recipe() else {
            return Err(CallError::NoWebhook {
                plugin: self.id().to_string(),
            });
        };
        let shared = self.plugin.shared();
        let name = recipe_secret(recipe);
        let book = shared.egress.secrets.current();
        let secret = book
            .host_only(name)
            .ok_or_else(|| refused(format!("secret `{name}` has no value")))?;
        webhook::verify(recipe, &request.headers, &request.body, secret.expose_secret())
            .map_err(|e| refused(e.to_string()))?;
        let verification_header = match recipe {
            WebhookVerify::HeaderEquals { header, .. } | WebhookVerify::HmacSha256 { header, .. } => header,
        };
        let scrubber = &shared.scrubber;
        let headers = request
            .headers
            .into_iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case(verification_header))
            .collect();
        let request = wit::WebhookRequest {
            method: request.method,
            path: scrubber.scrub_string(request.path),
            query: scrubber.scrub_string(request.query),
            headers: scrubber.scrub_pairs(headers),
            body: scrubber.scrub_bytes(&request.body).into_owned(),
        };
        self.invoke(move |live| {
            Box::pin(async move {
                let channel = live.bindings.openclaw_plugin_channel();
                channel.call_handle_webhook(&mut live.store, &request).await
            })
        })
        .await
        .map(WebhookResponse::from)
    }

    async fn invoke<T>(
        &self,
        call: impl for<'a> FnOnce(
            &'a mut Live,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = wasmtime::Result<Result<T, ChannelError>>> + Send + 'a>,
        >,
    ) -> Result<T, CallError> {
        let mut guard = self.live.lock().await;
        let live = self.ensure_live(&mut guard).await?;
        self.prepare(&mut live.store);
        let limit = self.plugin.timeout_budget() + self.plugin.grace();
        let outcome = tokio::time::timeout(limit, call(live)).await;
        match outcome {
            Err(_) => {
                *guard = None;
                self.fail();
                Err(CallError::Timeout {
                    plugin: self.id().to_string(),
                    limit_ms: self.plugin.grant().limits.timeout_ms,
                })
            }
            Ok(Err(error)) => {
                let classified = match guard.as_ref() {
                    Some(live) => classify_parts(self.plugin.shared(), error, live.store.data()),
                    None => CallError::Internal {
                        plugin: self.id().to_string(),
                        message: error.to_string(),
                    },
                };
                *guard = None;
                self.fail();
                Err(classified)
            }
            Ok(Ok(Err(error))) => Err(channel_error(self.id(), error)),
            Ok(Ok(Ok(value))) => {
                self.succeed();
                Ok(value)
            }
        }
    }

    /// Polls until `shutdown` turns true, sleeping as the plugin asks and backing off after
    /// failures.
    pub fn spawn_poller(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let channel = self.clone();
        tokio::spawn(async move {
            let mut errors: u32 = 0;
            loop {
                if *shutdown.borrow() {
                    break;
                }
                let wait = match channel.poll().await {
                    Ok(wait) => {
                        errors = 0;
                        wait
                    }
                    Err(CallError::BackingOff { retry_in_ms, .. }) => Duration::from_millis(retry_in_ms),
                    Err(error) => {
                        errors = errors.saturating_add(1);
                        tracing::warn!(target: "openclaw::plugins", plugin = %channel.id(), "poll failed: {error}");
                        backoff(errors)
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(9), Duration::from_secs(256));
        assert_eq!(backoff(10), BACKOFF_MAX);
        assert_eq!(backoff(1000), BACKOFF_MAX);
    }
}
