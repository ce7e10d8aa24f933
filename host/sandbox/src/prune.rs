//! When an idle or old sandbox goes, and when a changed config replaces a container.

use std::time::Duration;

use crate::spec::PrunePolicy;

const HOUR_MS: u64 = 60 * 60 * 1000;
const DAY_MS: u64 = 24 * HOUR_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneReason {
    Idle { idle_hours: u64 },
    TooOld { max_age_days: u64 },
}

impl PruneReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::Idle { .. } => "idle",
            Self::TooOld { .. } => "too_old",
        }
    }
}

impl std::fmt::Display for PruneReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Idle { idle_hours } => write!(f, "pruned: idle longer than {idle_hours} h"),
            Self::TooOld { max_age_days } => write!(f, "pruned: older than {max_age_days} days"),
        }
    }
}

/// `Some(reason)` when the container should go. Times are milliseconds since the epoch; a
/// setting of 0 disables that rule.
pub fn prune_reason(policy: PrunePolicy, created_ms: u64, last_used_ms: u64, now_ms: u64) -> Option<PruneReason> {
    if policy.idle_hours > 0 && now_ms.saturating_sub(last_used_ms) > policy.idle_hours.saturating_mul(HOUR_MS) {
        return Some(PruneReason::Idle {
            idle_hours: policy.idle_hours,
        });
    }
    if policy.max_age_days > 0 && now_ms.saturating_sub(created_ms) > policy.max_age_days.saturating_mul(DAY_MS) {
        return Some(PruneReason::TooOld {
            max_age_days: policy.max_age_days,
        });
    }
    None
}

/// What to do with an existing container for a wanted spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reuse {
    /// Same config: use it (start it first if it is stopped).
    Reuse,
    /// Config changed (or the container has no hash) and nobody used it recently: replace it.
    Recreate,
    /// Config changed but the container is running and was used within the hot window: keep it
    /// so a running task is not cut off; the operator recreates it explicitly.
    KeepStale { hint: String },
}

/// OpenClaw keeps a changed container that is running and was used within the last
/// `hot_window` (5 minutes there), and replaces it otherwise. `last_used_ms` is `None` when
/// this process has not used the container.
pub fn reuse_decision(
    existing_hash: Option<&str>,
    wanted_hash: &str,
    running: bool,
    last_used_ms: Option<u64>,
    now_ms: u64,
    hot_window: Duration,
    container: &str,
) -> Reuse {
    if existing_hash == Some(wanted_hash) {
        return Reuse::Reuse;
    }
    let hot = running
        && last_used_ms.is_some_and(|used| {
            now_ms.saturating_sub(used) < u64::try_from(hot_window.as_millis()).unwrap_or(u64::MAX)
        });
    if hot {
        Reuse::KeepStale {
            hint: format!(
                "Sandbox config changed for {container} (recently used). Recreate to apply: openclaw sandbox recreate --session|--agent|--all ..."
            ),
        }
    } else {
        Reuse::Recreate
    }
}
