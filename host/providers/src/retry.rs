//! How long to wait before trying a model again.

use std::time::Duration;

/// No wait is longer than this, whatever the provider asks: a turn that would stall longer is
/// better served by the next model in the chain or by an error the operator can see.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// The wait the provider asked for: `retry-after-ms` (OpenAI) or `retry-after` in seconds.
/// An HTTP-date `retry-after` is ignored and the backoff applies instead.
pub(crate) fn requested_wait(retry_after_ms: Option<&str>, retry_after: Option<&str>) -> Option<Duration> {
    let parse = |value: &str, scale: f64| {
        value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| Duration::from_secs_f64((n / scale).min(MAX_RETRY_WAIT.as_secs_f64())))
    };
    retry_after_ms
        .and_then(|v| parse(v, 1000.0))
        .or_else(|| retry_after.and_then(|v| parse(v, 1.0)))
}

/// The wait before retry number `retry` (0 for the first): what the provider asked for, capped;
/// otherwise `initial` doubled per retry with equal jitter (half fixed, half random, so clients
/// that failed together do not come back together). `jitter` is uniform in [0, 1).
pub(crate) fn wait_before_retry(initial: Duration, retry: u32, requested: Option<Duration>, jitter: f64) -> Duration {
    if let Some(requested) = requested {
        return requested.min(MAX_RETRY_WAIT);
    }
    let doubled = initial.saturating_mul(2u32.saturating_pow(retry)).min(MAX_RETRY_WAIT);
    let half = doubled / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// A uniform number in [0, 1); without an entropy source the jitter is simply the midpoint.
pub(crate) fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |n| (n >> 11) as f64 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_wait_table() {
        let table: &[(Option<&str>, Option<&str>, Option<Duration>)] = &[
            (None, Some("2"), Some(Duration::from_secs(2))),
            (None, Some(" 0.5 "), Some(Duration::from_millis(500))),
            (Some("250"), Some("9"), Some(Duration::from_millis(250))),
            (Some("junk"), Some("3"), Some(Duration::from_secs(3))),
            (None, Some("3600"), Some(MAX_RETRY_WAIT)),
            (None, Some("Wed, 21 Oct 2015 07:28:00 GMT"), None),
            (None, Some("-1"), None),
            (None, Some("NaN"), None),
            (None, None, None),
        ];
        for (ms, secs, expected) in table {
            assert_eq!(requested_wait(*ms, *secs), *expected, "{ms:?} {secs:?}");
        }
    }

    #[test]
    fn backoff_doubles_within_its_jitter_band_and_is_capped() {
        let initial = Duration::from_millis(100);
        for retry in 0..4 {
            let full = initial * 2u32.pow(retry);
            assert_eq!(wait_before_retry(initial, retry, None, 0.0), full / 2);
            assert!(wait_before_retry(initial, retry, None, 0.999) < full);
            assert!(wait_before_retry(initial, retry, None, 0.999) > full / 2);
        }
        assert_eq!(wait_before_retry(initial, 40, None, 1.0), MAX_RETRY_WAIT);
        let asked = Some(Duration::from_secs(3));
        assert_eq!(wait_before_retry(initial, 0, asked, 0.3), Duration::from_secs(3));
    }

    #[test]
    fn jitter_is_in_range() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}
