//! Exec approvals: a command the policy says needs asking waits here until an operator decides
//! (over the operator protocol or `openclaw approvals approve|deny`), and no answer before the
//! timeout is a denial. Requests are announced on the event bus as `exec.approval.requested`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::sync::oneshot;

use crate::events::EventBus;
use crate::sessions::store::now_ms;
use crate::state::ids::random_hex;

/// What the operator is asked.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRequest {
    pub id: String,
    pub agent_id: String,
    pub session_key: String,
    pub command: String,
    /// Why asking: the policy's reason.
    pub reason: String,
    pub created_at_ms: u64,
    pub expires_at_ms: u64,
}

/// An operator's answer (OpenClaw's decision names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalDecision {
    AllowOnce,
    AllowAlways,
    Deny,
}

impl ApprovalDecision {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "allow-once" | "allow" | "approve" | "once" => Ok(Self::AllowOnce),
            "allow-always" | "always" => Ok(Self::AllowAlways),
            "deny" | "reject" => Ok(Self::Deny),
            other => Err(format!(
                "unknown decision `{other}`; use allow-once, allow-always or deny"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllowOnce => "allow-once",
            Self::AllowAlways => "allow-always",
            Self::Deny => "deny",
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalOutcome {
    Approved { always: bool },
    Denied,
    TimedOut,
}

struct Pending {
    request: ApprovalRequest,
    answer: oneshot::Sender<ApprovalDecision>,
}

/// Pending approvals of this gateway process.
pub struct Approvals {
    pending: Mutex<BTreeMap<String, Pending>>,
    events: EventBus,
}

impl Approvals {
    pub fn new(events: EventBus) -> Self {
        Self {
            pending: Mutex::new(BTreeMap::new()),
            events,
        }
    }

    /// Asks and waits. The request is withdrawn when this future is dropped (the turn was
    /// aborted), so nobody can approve a command that no longer waits.
    pub async fn ask(
        &self,
        agent_id: &str,
        session_key: &str,
        command: &str,
        reason: &str,
        timeout: Duration,
    ) -> ApprovalOutcome {
        let id = random_hex(8).unwrap_or_else(|_| format!("{:016x}", now_ms()));
        let created = now_ms();
        let request = ApprovalRequest {
            id: id.clone(),
            agent_id: agent_id.to_string(),
            session_key: session_key.to_string(),
            command: command.to_string(),
            reason: reason.to_string(),
            created_at_ms: created,
            expires_at_ms: created + timeout.as_millis() as u64,
        };
        let (answer, decision) = oneshot::channel();
        self.lock().insert(
            id.clone(),
            Pending {
                request: request.clone(),
                answer,
            },
        );
        self.events.publish("exec.approval.requested", json!(request));
        let withdraw = Withdraw {
            approvals: self,
            id: &id,
        };
        let outcome = match tokio::time::timeout(timeout, decision).await {
            Ok(Ok(ApprovalDecision::AllowOnce)) => ApprovalOutcome::Approved { always: false },
            Ok(Ok(ApprovalDecision::AllowAlways)) => ApprovalOutcome::Approved { always: true },
            Ok(Ok(ApprovalDecision::Deny)) | Ok(Err(_)) => ApprovalOutcome::Denied,
            Err(_) => ApprovalOutcome::TimedOut,
        };
        drop(withdraw);
        let result = match outcome {
            ApprovalOutcome::Approved { always: true } => "allow-always",
            ApprovalOutcome::Approved { always: false } => "allow-once",
            ApprovalOutcome::Denied => "deny",
            ApprovalOutcome::TimedOut => "timeout",
        };
        self.events
            .publish("exec.approval.resolved", json!({"id": id, "decision": result}));
        outcome
    }

    /// Answers a pending request; `Err` when there is none with this id (already answered,
    /// expired or never asked).
    pub fn resolve(&self, id: &str, decision: ApprovalDecision) -> Result<ApprovalRequest, String> {
        let pending = self.lock().remove(id.trim()).ok_or_else(|| {
            format!("no pending approval `{id}` (it was answered, timed out or never existed); `openclaw approvals list` shows what waits")
        })?;
        let request = pending.request.clone();
        pending
            .answer
            .send(decision)
            .map_err(|_| format!("approval `{id}` is no longer waiting"))?;
        Ok(request)
    }

    pub fn pending(&self) -> Vec<ApprovalRequest> {
        self.lock().values().map(|p| p.request.clone()).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Withdraw<'a> {
    approvals: &'a Approvals,
    id: &'a str,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.approvals.lock().remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn approve_deny_and_timeout() {
        let approvals = Arc::new(Approvals::new(EventBus::new()));
        let mut events = approvals.events.subscribe();
        let waiting = {
            let approvals = approvals.clone();
            tokio::spawn(async move {
                approvals
                    .ask("main", "agent:main:main", "ls", "ask: always", Duration::from_secs(30))
                    .await
            })
        };
        let requested = events.recv().await.unwrap();
        let id = requested.payload["id"].as_str().unwrap().to_string();
        assert_eq!(approvals.pending().len(), 1);
        approvals.resolve(&id, ApprovalDecision::AllowOnce).unwrap();
        assert_eq!(waiting.await.unwrap(), ApprovalOutcome::Approved { always: false });
        assert!(
            approvals.resolve(&id, ApprovalDecision::Deny).is_err(),
            "answered twice"
        );

        let waiting = {
            let approvals = approvals.clone();
            tokio::spawn(async move {
                approvals
                    .ask("main", "k", "rm -rf /", "r", Duration::from_secs(30))
                    .await
            })
        };
        let id = loop {
            let event = events.recv().await.unwrap();
            if event.name == "exec.approval.requested" {
                break event.payload["id"].as_str().unwrap().to_string();
            }
        };
        approvals.resolve(&id, ApprovalDecision::Deny).unwrap();
        assert_eq!(waiting.await.unwrap(), ApprovalOutcome::Denied);

        let outcome = approvals.ask("main", "k", "x", "r", Duration::from_millis(20)).await;
        assert_eq!(outcome, ApprovalOutcome::TimedOut);
        assert!(approvals.pending().is_empty(), "a timed-out request is withdrawn");
    }
}
