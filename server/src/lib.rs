//! lgt-server: the reference sync server of the 流管通 field handhelds.
//!
//! ```text
//!  phone (lgt-core sync engine) ──HTTP, signed──► api (axum)
//!                                                  ├─ auth     device signatures, replay refusal
//!                                                  ├─ push     exactly-once ledger + permit machine
//!                                                  ├─ buckets  per-partition change logs, checksums
//!                                                  ├─ watchlist  published list packages, hit reports
//!                                                  └─ commands   signed wipe / minimum-version orders
//!                                                 db (sqlx Any: SQLite file or PostgreSQL)
//! ```
//!
//! Nothing lives in process memory between requests: nonces, the ledger and the bucket
//! heads are rows, so several processes may share one PostgreSQL database.

#![deny(missing_docs)]

pub mod admin;
mod api;
mod auth;
mod buckets;
pub mod commands;
pub mod db;
mod error;
mod metrics;
mod numbers;
mod push;
pub mod watchlist;

use std::future::Future;

use tokio::net::TcpListener;

pub use api::router;
pub use db::{Backend, Db};

/// Serves the API on `listener` until `shutdown` resolves, then finishes the requests in
/// flight.
pub async fn serve(
    listener: TcpListener,
    db: Db,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(db))
        .with_graceful_shutdown(shutdown)
        .await
}
