//! Exponential backoff with jitter, honouring the server's Retry-After.

use std::time::Duration;

use crate::crypto::random_u64;

/// Retry pacing: the n-th consecutive failure waits a random time between half and all of
/// `base * 2^(n-1)`, capped at `cap`, and never less than the server's Retry-After.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay's ceiling.
    pub base: Duration,
    /// The largest delay.
    pub cap: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(2), Duration::from_secs(600))
    }
}

impl Backoff {
    /// A backoff from `base` up to `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            failures: 0,
        }
    }

    /// Forgets past failures (after a success or a network-available hint).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The delay before the next attempt after one more failure.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let factor = 1u32 << (self.failures - 1).min(20);
        let ceiling = self.base.saturating_mul(factor).min(self.cap);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_millis()).unwrap_or(u64::MAX);
        // Without randomness (a failing OS generator) the delay is the ceiling: still bounded.
        let jitter = random_u64().map_or(spread, |r| r % spread.saturating_add(1));
        let delay = half + Duration::from_millis(jitter);
        delay.max(retry_after.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_their_bounds_up_to_the_cap() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        for failure in 1..=12u32 {
            let ceiling =
                Duration::from_secs(1 << (failure - 1).min(5)).min(Duration::from_secs(30));
            let delay = backoff.next_delay(None);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "failure {failure}: {delay:?}"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay(None) <= Duration::from_secs(1));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        assert!(backoff.next_delay(Some(Duration::from_secs(120))) >= Duration::from_secs(120));
    }
}
