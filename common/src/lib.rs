//! # lgt-common: what the 流管通 phones and the sync server both know
//!
//! The phone core (`lgt-core`) and the server side (`lgt-server`, `lgt-publisher`) agree on
//! these by sharing one implementation rather than two copies:
//!
//! ```text
//!  crypto        SHA-256, Ed25519 signing and public keys, Argon2id stretching (feature `stretch`)
//!  identity      GB 11643 identity numbers, GB/T 2260 regions, card-reader fields
//!  codes         versioned code tables (reason for stay, occupation, ...)
//!  registration  the dwelling a permit is issued at, name normalisation
//!  permit        the GA/T 2000.6 permit state machine (pure)
//!  watchlist     the signed list format, and (feature `stretch`) the probes tags are made of
//! ```
//!
//! Nothing here touches storage, the network, the camera or images: the crate is pure
//! functions and data types, so the server links it without the phone's SQLite store,
//! barcode decoder or HTTP client.
//!
//! With the `uniffi` feature (the phones' bindings only), the data types derive UniFFI records
//! and enums in the namespace `lgt_common`, and dates cross as `YYYY-MM-DD` text.

#![deny(missing_docs)]

pub mod codes;
pub mod crypto;
pub mod identity;
pub mod permit;
pub mod registration;
pub mod watchlist;

#[cfg(feature = "uniffi")]
mod uniffi_types;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("lgt_common");
