//! lgt-server: the reference sync server of the 流管通 field handhelds.
//!
//! ```text
//!  phone (lgt-core sync engine) ──HTTPS (pinned key), signed──► api (axum)
//!                                                  ├─ auth     device signatures, replay refusal
//!                                                  ├─ push     exactly-once ledger, district authorization
//!                                                  ├─ permits  the permit machine's rows and bucket
//!                                                  ├─ records  district persons (merged by identity
//!                                                  │           number), registrations, dwellings
//!                                                  ├─ buckets  per-partition change logs, checksums
//!                                                  ├─ watchlist  published list packages, hit reports
//!                                                  ├─ issuers  permit-issuer keys devices published
//!                                                  ├─ audit    each device's audit chain: its head anchored,
//!                                                  │           its records kept if they extend the chain held
//!                                                  ├─ commands   signed wipe / minimum-version orders
//!                                                  └─ resolution a supervisor's decision on a conflict
//!  browser (supervisor) ──cookie + CSRF──► console (own listener): accounts, pages, actions
//!                                                 db (sqlx Any: SQLite file or PostgreSQL)
//! ```
//!
//! Every operation acts only on records of the device's district; one naming another
//! district's record is refused in the words used for no record at all.
//!
//! Nothing lives in process memory between requests: nonces, the ledger and the bucket
//! heads are rows, so several processes may share one PostgreSQL database.

#![deny(missing_docs)]

pub mod admin;
mod api;
mod audit;
mod auth;
mod buckets;
pub mod commands;
pub mod console;
pub mod datadir;
pub mod db;
mod error;
pub mod issuers;
pub mod limits;
mod metrics;
mod numbers;
mod permits;
mod push;
pub mod records;
pub mod resolution;
pub mod tls;
pub mod vault;
pub mod watchlist;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

pub use api::{router, router_with};
pub use db::{Backend, Db};
pub use limits::{Limits, Rate};
pub use tls::TlsIdentity;

/// Serves the API on `listener` with the default [`Limits`]; see [`serve_with`].
pub async fn serve(
    listener: TcpListener,
    db: Db,
    tls: Option<TlsIdentity>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, db, tls, Limits::default(), shutdown).await
}

/// Serves the API on `listener` under `limits` until `shutdown` resolves, then finishes the
/// requests in flight (for at most 30 s). HTTPS with `tls`; plain HTTP without it, for a
/// server behind a TLS-terminating load balancer, or on loopback in development. Each
/// request knows its peer's address (the enrollment limit per source counts it).
pub async fn serve_with(
    listener: TcpListener,
    db: Db,
    tls: Option<TlsIdentity>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router_with(db, &limits), tls, shutdown).await
}

/// Serves `router` on `listener`, each request knowing its peer's address: over HTTPS with
/// `tls` (30 s for requests in flight once `shutdown` resolves), plain HTTP without it.
async fn serve_router(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<TlsIdentity>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    let Some(tls) = tls else {
        return axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
    };
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
    });
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.server_config());
    axum_server::from_tcp_rustls(listener.into_std()?, config)?
        .handle(handle)
        .serve(app)
        .await
}

/// The operators' routes: `GET /metrics`, the Prometheus counters of this process. Served on
/// a listener of its own (`--metrics-listen`), never on the API's.
pub fn metrics_router() -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route(lgt_protocol::paths::METRICS, get(metrics::render))
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
}

/// Serves [`metrics_router`] on `listener` (plain HTTP: bind it to loopback or an operators'
/// network) until `shutdown` resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, metrics_router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves the supervisor console ([`console::router`]) on `listener`, over HTTPS with `tls`
/// (plain HTTP without it: loopback in development, or behind a TLS-terminating proxy), until
/// `shutdown` resolves.
pub async fn serve_console(
    listener: TcpListener,
    db: Db,
    tls: Option<TlsIdentity>,
    config: console::ConsoleConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, console::router(db, config), tls, shutdown).await
}
