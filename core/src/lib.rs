//! # lgt-core: the offline-first core of the 流管通 field handhelds
//!
//! Coordinators register migrants, issue and endorse residence permits and look people up
//! without signal; everything is kept in an encrypted SQLite store and queued for sync.
//!
//! ```text
//!  shell (Kotlin / Swift through lgt-ffi, or the lgt CLI)
//!     │
//!  field         FieldCore: the one object a shell opens; the offline-lock gate; the runtime
//!     │
//!  usecases      work that spans capabilities: register + watchlist, scan + verify, sync appliers
//!     │
//!  sync          push/pull with the server, replica, signed commands: the only network path
//!  scan          frames and photos to payloads; signed permit QR codes
//!  issuers       permit-QR issuer keys: this device's, and the trusted ones
//!  permit        the GA/T 2000.6 state machine and its append-only event log
//!  registration  validation, persons with ID-number history, registrations
//!  watchlist     signed offline wanted-persons list (stretched tags), alerts, hit reports
//!     │
//!  audit outbox  the MAC/hash-chained trail, the frozen operations: written with each change
//!  store         SQLite (WAL), migrations, sealed rows; the offline lock and `Unlocked`
//!     │
//!  leaves        session (who, when), text, crypto, clock; identity and codes (lgt-common)
//! ```
//!
//! Data flows one way, down this picture; no module names one above it (`tests/layers.rs`
//! checks it, see `docs/architecture.md`). Personal rows are reached only through
//! [`store::Unlocked`], which exists only while the offline lock is open. No personal value
//! is ever written to SQLite in clear, logged, or put in an error message.

#![deny(missing_docs)]

// Leaves.
pub mod clock;
pub use lgt_common::codes;
pub mod crypto;
pub use lgt_common::identity;
pub mod session;
pub mod text;

// The store and the records written with every change.
pub mod audit;
pub mod outbox;
pub mod store;

// Capabilities.
pub mod issuers;
pub mod permit;
pub mod registration;
pub mod scan;
pub mod sync;
pub mod watchlist;

// Work across capabilities, and the facade.
mod field;
mod usecases;

// The crate's error and what it reads in each language.
mod error;
pub mod messages;

#[cfg(feature = "synthetic")]
pub mod synthetic;

// The data types above derive UniFFI records and enums under the `uniffi` feature; the
// bindings crate (lgt-ffi) exports them as they are, in the `lgt_core` namespace.
#[cfg(feature = "uniffi")]
mod uniffi_types;
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("lgt_core");

pub use error::Error;
pub use field::{FieldCore, OpenParams, SyncTask, SyncWatch, WatchObserver};
pub use messages::Lang;
pub use usecases::PersonExport;
