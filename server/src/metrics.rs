//! Prometheus metrics of this process, in the text exposition format at `/metrics`.
//!
//! Counters only, per process (Prometheus scrapes each process and sums): requests by
//! route and status, their total time, and pushed operations by result. No label ever holds
//! a device id or a personal value.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

#[derive(Default)]
struct Counters {
    /// (route, status) -> (count, seconds)
    requests: BTreeMap<(String, u16), (u64, f64)>,
    /// result -> count
    operations: BTreeMap<&'static str, u64>,
}

static COUNTERS: LazyLock<Mutex<Counters>> = LazyLock::new(Mutex::default);

fn counters() -> std::sync::MutexGuard<'static, Counters> {
    COUNTERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Counts one pushed operation's result (`applied`, `duplicate`, ...).
pub fn operation(result: &'static str) {
    *counters().operations.entry(result).or_default() += 1;
}

/// Middleware: counts each request under its route pattern (unmatched ones as `other`).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let mut counters = counters();
    let entry = counters
        .requests
        .entry((route, response.status().as_u16()))
        .or_default();
    entry.0 += 1;
    entry.1 += seconds;
    response
}

/// The exposition text.
pub async fn render() -> String {
    let counters = counters();
    let mut out = String::new();
    out.push_str("# HELP lgt_requests_total HTTP requests by route and status.\n");
    out.push_str("# TYPE lgt_requests_total counter\n");
    for ((route, status), (count, _)) in &counters.requests {
        let _ = writeln!(
            out,
            "lgt_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
        );
    }
    out.push_str("# HELP lgt_request_seconds_total Time spent answering, by route and status.\n");
    out.push_str("# TYPE lgt_request_seconds_total counter\n");
    for ((route, status), (_, seconds)) in &counters.requests {
        let _ = writeln!(
            out,
            "lgt_request_seconds_total{{route=\"{route}\",status=\"{status}\"}} {seconds}"
        );
    }
    out.push_str("# HELP lgt_operations_total Pushed operations by result.\n");
    out.push_str("# TYPE lgt_operations_total counter\n");
    for (result, count) in &counters.operations {
        let _ = writeln!(out, "lgt_operations_total{{result=\"{result}\"}} {count}");
    }
    out
}
