//! Failed-auth rate limiting: a sliding window of failures per client key, then a lockout.
//!
//! Unlike OpenClaw, limiting is on for every bind, loopback included (a local process guessing
//! tokens is still guessing tokens), and clients are keyed per /64 for IPv6. Time is passed in,
//! so the policy is tested without sleeping.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::config::schema::gateway::RateLimitConfig;

/// The effective settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub max_attempts: u32,
    pub window: Duration,
    pub lockout: Duration,
    pub exempt_loopback: bool,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(300),
            exempt_loopback: false,
        }
    }
}

impl RateLimitSettings {
    pub fn from_config(config: Option<&RateLimitConfig>) -> Self {
        let defaults = Self::default();
        let Some(config) = config else { return defaults };
        Self {
            max_attempts: config.max_attempts.unwrap_or(defaults.max_attempts).max(1),
            window: config.window_ms.map_or(defaults.window, Duration::from_millis),
            lockout: config.lockout_ms.map_or(defaults.lockout, Duration::from_millis),
            exempt_loopback: config.exempt_loopback.unwrap_or(defaults.exempt_loopback),
        }
    }
}

/// Keys tracked at most; beyond that the stalest are dropped first (a flood of distinct
/// addresses must not grow memory without bound). Locked keys are kept in preference.
pub const MAX_TRACKED_KEYS: usize = 65_536;

#[derive(Debug, Default)]
struct Entry {
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

/// The limiter's state.
#[derive(Debug)]
pub struct RateLimiter {
    settings: RateLimitSettings,
    entries: HashMap<String, Entry>,
}

/// A refusal: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub retry_after: Duration,
}

impl Locked {
    /// Whole seconds for `Retry-After`, rounded up and at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings,
            entries: HashMap::new(),
        }
    }

    pub fn settings(&self) -> RateLimitSettings {
        self.settings
    }

    fn exempt(&self, loopback: bool) -> bool {
        loopback && self.settings.exempt_loopback
    }

    /// Whether `key` may try now.
    pub fn check(&self, key: &str, loopback: bool, now: Instant) -> Result<(), Locked> {
        if self.exempt(loopback) {
            return Ok(());
        }
        match self.entries.get(key).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(Locked {
                retry_after: until - now,
            }),
            _ => Ok(()),
        }
    }

    /// Records a wrong credential; returns the lockout when this failure triggered it.
    pub fn record_failure(&mut self, key: &str, loopback: bool, now: Instant) -> Option<Locked> {
        if self.exempt(loopback) {
            return None;
        }
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_TRACKED_KEYS {
            self.prune(now);
            if self.entries.len() >= MAX_TRACKED_KEYS {
                self.evict_one();
            }
        }
        let settings = self.settings;
        let entry = self.entries.entry(key.to_string()).or_default();
        if let Some(until) = entry.locked_until {
            if until > now {
                return Some(Locked {
                    retry_after: until - now,
                });
            }
            entry.locked_until = None;
        }
        while entry
            .failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= settings.window)
        {
            entry.failures.pop_front();
        }
        entry.failures.push_back(now);
        if entry.failures.len() >= settings.max_attempts as usize {
            entry.failures.clear();
            entry.locked_until = Some(now + settings.lockout);
            return Some(Locked {
                retry_after: settings.lockout,
            });
        }
        None
    }

    /// A correct credential clears the key's failures (not an active lockout: that was checked
    /// before the credential was looked at).
    pub fn record_success(&mut self, key: &str) {
        if self.entries.get(key).is_some_and(|e| e.locked_until.is_none()) {
            self.entries.remove(key);
        }
    }

    /// Drops keys whose failures have all aged out and whose lockout has ended.
    pub fn prune(&mut self, now: Instant) {
        let window = self.settings.window;
        self.entries.retain(|_, entry| {
            let locked = entry.locked_until.is_some_and(|until| until > now);
            let recent = entry
                .failures
                .back()
                .is_some_and(|t| now.saturating_duration_since(*t) < window);
            locked || recent
        });
    }

    fn evict_one(&mut self) {
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| e.locked_until.is_none())
            .min_by_key(|(_, e)| e.failures.back().copied())
            .or_else(|| self.entries.iter().min_by_key(|(_, e)| e.locked_until))
            .map(|(k, _)| k.clone());
        if let Some(key) = victim {
            self.entries.remove(&key);
        }
    }

    pub fn tracked(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max: u32, window_s: u64, lockout_s: u64) -> RateLimiter {
        RateLimiter::new(RateLimitSettings {
            max_attempts: max,
            window: Duration::from_secs(window_s),
            lockout: Duration::from_secs(lockout_s),
            exempt_loopback: false,
        })
    }

    #[test]
    fn tenth_failure_locks_for_five_minutes() {
        let mut rl = RateLimiter::new(RateLimitSettings::default());
        let t0 = Instant::now();
        for i in 0..9 {
            assert_eq!(rl.record_failure("a", false, t0 + Duration::from_secs(i)), None);
            assert!(rl.check("a", false, t0 + Duration::from_secs(i)).is_ok());
        }
        let locked = rl.record_failure("a", false, t0 + Duration::from_secs(9)).unwrap();
        assert_eq!(locked.retry_after, Duration::from_secs(300));
        let err = rl.check("a", false, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(err.retry_after_secs(), 299);
        // Other clients are unaffected.
        assert!(rl.check("b", false, t0 + Duration::from_secs(10)).is_ok());
        // Locked even with the right credential: success does not lift a lockout.
        rl.record_success("a");
        assert!(rl.check("a", false, t0 + Duration::from_secs(300)).is_err());
        assert!(rl.check("a", false, t0 + Duration::from_secs(309)).is_ok());
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let mut rl = limiter(3, 60, 300);
        let t0 = Instant::now();
        rl.record_failure("a", false, t0);
        rl.record_failure("a", false, t0 + Duration::from_secs(30));
        // The first has aged out by now.
        assert_eq!(rl.record_failure("a", false, t0 + Duration::from_secs(61)), None);
        assert!(rl.record_failure("a", false, t0 + Duration::from_secs(62)).is_some());
    }

    #[test]
    fn success_resets_the_count() {
        let mut rl = limiter(3, 60, 300);
        let t0 = Instant::now();
        rl.record_failure("a", false, t0);
        rl.record_failure("a", false, t0);
        rl.record_success("a");
        assert_eq!(rl.record_failure("a", false, t0), None);
        assert_eq!(rl.record_failure("a", false, t0), None);
    }

    #[test]
    fn loopback_is_limited_unless_exempted() {
        let mut rl = limiter(2, 60, 300);
        let t0 = Instant::now();
        rl.record_failure("127.0.0.1", true, t0);
        assert!(rl.record_failure("127.0.0.1", true, t0).is_some());
        let mut exempt = RateLimiter::new(RateLimitSettings {
            exempt_loopback: true,
            ..limiter(2, 60, 300).settings()
        });
        for _ in 0..10 {
            assert_eq!(exempt.record_failure("127.0.0.1", true, t0), None);
        }
        assert!(exempt.check("127.0.0.1", true, t0).is_ok());
    }

    #[test]
    fn memory_is_bounded_and_locks_survive_eviction() {
        let mut rl = limiter(1, 60, 300);
        let t0 = Instant::now();
        assert!(rl.record_failure("attacker", false, t0).is_some());
        let mut other = limiter(5, 60, 300);
        for i in 0..(MAX_TRACKED_KEYS + 10) {
            other.record_failure(&format!("k{i}"), false, t0);
            rl.record_failure(&format!("k{i}"), false, t0);
        }
        assert!(other.tracked() <= MAX_TRACKED_KEYS);
        assert!(rl.tracked() <= MAX_TRACKED_KEYS);
        // The lockout of the original key was not the one evicted... unless every key is
        // locked (max 1 locks each). Then the oldest lock goes; bound still holds.
        rl.prune(t0 + Duration::from_secs(301));
        assert_eq!(rl.tracked(), 0);
    }

    #[test]
    fn settings_come_from_config() {
        let config = RateLimitConfig {
            max_attempts: Some(3),
            window_ms: Some(1000),
            lockout_ms: Some(2000),
            exempt_loopback: Some(true),
        };
        let s = RateLimitSettings::from_config(Some(&config));
        assert_eq!(s.max_attempts, 3);
        assert_eq!(s.window, Duration::from_secs(1));
        assert_eq!(s.lockout, Duration::from_secs(2));
        assert!(s.exempt_loopback);
        assert_eq!(RateLimitSettings::from_config(None), RateLimitSettings::default());
    }
}
