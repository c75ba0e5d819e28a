//! # lgt-core: the offline-first core of the 流管通 field handhelds
//!
//! Coordinators register migrants, issue and endorse residence permits and look people up
//! without signal; everything is kept in an encrypted SQLite store and queued for sync.
//!
//! ```text
//!  shell (Kotlin / Swift / lgt CLI)
//!     │
//!  FieldCore (field/)   ── one object; each method delegates to a capability
//!     │
//!  ├─ identity      GB 11643 identity numbers, GB/T 2260 regions, card-reader fields
//!  ├─ codes         versioned code tables (reason for stay, occupation, ...)
//!  ├─ registration  validation, persons with ID-number history, registrations
//!  ├─ permit        the GA/T 2000.6 state machine and its append-only event log
//!  ├─ outbox        frozen operations awaiting sync, written with each change
//!  ├─ audit         append-only MAC-chained trail, ids only
//!  ├─ watchlist     signed offline wanted-persons list (stretched tags), alerts, hit reports
//!  ├─ scan          camera frames and photos to payloads; signed permit QR codes
//!  ├─ sync          push/pull with the server, retry timer (the only network path)
//!  │
//!  store            SQLite (WAL), schema migrations, sealed rows and blind indexes
//!  crypto           AES-256-GCM, HMAC blind indexes, HKDF; the only user of `ring`
//! ```
//!
//! Data flows one way: shell → [`FieldCore`] → domain modules → [`store`]. No personal value
//! is ever written to SQLite in clear, logged, or put in an error message.

#![deny(missing_docs)]

pub mod audit;
pub mod clock;
pub mod codes;
pub mod crypto;
mod error;
mod field;
pub mod identity;
pub mod messages;
pub mod outbox;
pub mod permit;
pub mod registration;
pub mod scan;
pub mod store;
pub mod sync;
#[cfg(feature = "synthetic")]
pub mod synthetic;
pub mod watchlist;

pub use error::Error;
pub use field::{FieldCore, OpenParams, PersonExport};
pub use messages::Lang;
