//! Rate and concurrency limits: enrollment attempts per source address and per code, pushes
//! per device, and requests in flight.
//!
//! The rate limits are GCRA buckets (the `governor` crate) kept in this process's memory:
//! a limited request is answered 429 `rate.limited` with `retry-after` before it touches the
//! database. Several processes behind a load balancer each keep their own buckets, so a
//! client spread over N processes gets up to N times each limit (docs/limits.md).

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// One rate: `burst` requests at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed back to back.
    pub burst: u32,
    /// Requests allowed per minute once the burst is spent.
    pub per_minute: u32,
}

impl Rate {
    fn quota(self) -> Option<Quota> {
        let burst = NonZeroU32::new(self.burst)?;
        let per_minute = NonZeroU32::new(self.per_minute)?;
        let period = Duration::from_secs(60) / per_minute.get();
        Some(Quota::with_period(period.max(Duration::from_micros(1)))?.allow_burst(burst))
    }
}

/// The server's limits; `None` (or a zero) turns one off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Enrollment attempts from one source address (an IPv6 address counts by its /64).
    pub enroll_per_address: Option<Rate>,
    /// Enrollment attempts with one code, from anywhere.
    pub enroll_per_code: Option<Rate>,
    /// Signed requests (pushes, pulls, ...) by one device, counted once its signature
    /// checked out.
    pub per_device: Option<Rate>,
    /// Requests in flight in this process; more are answered 503 `server.busy`.
    pub max_in_flight: Option<usize>,
}

impl Default for Limits {
    /// A coordinator's office enrolls a few phones a minute from one address; a phone asks
    /// once or twice with its code (a lost answer); a phone's sync is a handful of signed
    /// requests (a push per 500 operations, numbers, pulls, the audit anchor: a
    /// 20,000-operation outbox is about 45).
    fn default() -> Self {
        Self {
            enroll_per_address: Some(Rate {
                burst: 20,
                per_minute: 20,
            }),
            enroll_per_code: Some(Rate {
                burst: 5,
                per_minute: 1,
            }),
            per_device: Some(Rate {
                burst: 120,
                per_minute: 240,
            }),
            max_in_flight: Some(512),
        }
    }
}

impl Limits {
    /// No limits at all (benchmarks and tests that are not about limits).
    pub fn off() -> Self {
        Self {
            enroll_per_address: None,
            enroll_per_code: None,
            per_device: None,
            max_in_flight: None,
        }
    }
}

/// A keyed limiter and how many checks it made (to forget idle keys now and then).
struct Keyed<K: std::hash::Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Clone> Keyed<K> {
    fn new(rate: Option<Rate>) -> Option<Self> {
        Some(Self {
            limiter: RateLimiter::keyed(rate?.quota()?),
            checks: AtomicU64::new(0),
        })
    }

    /// Takes one request from `key`'s bucket, or says how long to wait.
    fn check(&self, key: &K) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            // Keys whose bucket is full again hold nothing worth keeping.
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The limiters of one server process.
pub struct Limiters {
    per_address: Option<Keyed<IpAddr>>,
    per_code: Option<Keyed<[u8; 32]>>,
    per_device: Option<Keyed<String>>,
    in_flight: Option<Arc<Semaphore>>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters").finish_non_exhaustive()
    }
}

fn limited(what: &str, wait: Duration) -> ApiError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate.limited",
        format!("too many {what}; retry later"),
    )
    .retry_after(secs)
}

/// The address a limit counts: an IPv4 address, or an IPv6 address's /64 (one subscriber's
/// network, which hands its hosts any address in it).
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl Limiters {
    /// The limiters for `limits`.
    pub fn new(limits: &Limits) -> Self {
        Self {
            per_address: Keyed::new(limits.enroll_per_address),
            per_code: Keyed::new(limits.enroll_per_code),
            per_device: Keyed::new(limits.per_device),
            in_flight: limits
                .max_in_flight
                .filter(|n| *n > 0)
                .map(|n| Arc::new(Semaphore::new(n))),
        }
    }

    /// One enrollment attempt from `source` (when known), counted before the request is read.
    pub fn enroll_from(&self, source: Option<IpAddr>) -> Result<(), ApiError> {
        match (&self.per_address, source) {
            (Some(limiter), Some(ip)) => limiter
                .check(&source_key(ip))
                .map_err(|wait| limited("enrollment attempts from this address", wait)),
            _ => Ok(()),
        }
    }

    /// One enrollment attempt with the code whose SHA-256 is `code_sha256`, from anywhere.
    pub fn enroll_code(&self, code_sha256: [u8; 32]) -> Result<(), ApiError> {
        if let Some(limiter) = &self.per_code {
            limiter
                .check(&code_sha256)
                .map_err(|wait| limited("attempts with this enrollment code", wait))?;
        }
        Ok(())
    }

    /// One signed request (a push, a pull, ...) by `device_id`, counted once its signature
    /// checked out: an unsigned request must not spend another device's budget.
    pub fn device(&self, device_id: &str) -> Result<(), ApiError> {
        match &self.per_device {
            Some(limiter) => limiter
                .check(&device_id.to_owned())
                .map_err(|wait| limited("requests from this device", wait)),
            None => Ok(()),
        }
    }
}

/// Middleware: a request beyond the cap on requests in flight is answered 503 `server.busy`
/// with `retry-after: 1` at once rather than queued.
pub async fn in_flight(
    State(limiters): State<Arc<Limiters>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(semaphore) = &limiters.in_flight else {
        return next.run(request).await;
    };
    match semaphore.clone().try_acquire_owned() {
        Ok(_permit) => next.run(request).await,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server.busy",
            "too many requests in flight; retry later",
        )
        .retry_after(1)
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_network_counts_as_one_source() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(source_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_bucket_refuses_past_its_burst_and_says_how_long_to_wait() {
        let limiters = Limiters::new(&Limits {
            per_device: Some(Rate {
                burst: 3,
                per_minute: 1,
            }),
            ..Limits::off()
        });
        for _ in 0..3 {
            limiters.device("a").unwrap();
        }
        let refused = limiters.device("a").unwrap_err();
        assert_eq!(refused.code(), "rate.limited");
        limiters.device("b").unwrap();
    }
}
