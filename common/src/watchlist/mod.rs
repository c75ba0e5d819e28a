//! The watchlist as both sides know it: the signed list format ([`format`]), the sealed
//! details of an entry, the errors a list or a check can meet, and (feature `stretch`) the
//! probes a phone looks a person up by and the publisher builds rows from.
//!
//! Keeping the probes here is what makes the phone and the publisher agree by construction:
//! both normalise identity numbers and names and stretch them with the same code.

pub mod format;
#[cfg(feature = "stretch")]
mod names;
#[cfg(feature = "stretch")]
pub mod probe;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crypto::CryptoError;

pub use format::{
    Delegation, ListKind, ListPackage, Manifest, Payload, Row, RowKind, FORMAT_VERSION,
};

/// What an alert says to do when the entry's own instructions are not available.
pub const DEFAULT_INSTRUCTIONS: &str =
    "do not confront; verify the identity document; the hit has been reported";

/// Why a list or a check was refused. Messages carry versions and key ids, never entries.
#[derive(Debug, thiserror::Error)]
pub enum WatchlistError {
    /// The bytes are not a well-formed package, manifest or payload.
    #[error("malformed watchlist package: {what}")]
    Malformed {
        /// Which part.
        what: &'static str,
    },
    /// The delegation names a root key the phone does not pin.
    #[error("list delegation is signed by unknown root key {key_id}")]
    UnknownRoot {
        /// The key id named.
        key_id: String,
    },
    /// A signature does not verify.
    #[error("the {what} signature does not verify")]
    BadSignature {
        /// `delegation` or `manifest`.
        what: &'static str,
    },
    /// The signer's delegation has run out.
    #[error("the signer key's delegation expired at {at}")]
    DelegationExpired {
        /// When it expired.
        at: DateTime<Utc>,
    },
    /// The payload does not match the manifest (hash or counts).
    #[error("payload does not match its manifest ({what})")]
    PayloadMismatch {
        /// Which check failed.
        what: &'static str,
    },
    /// The list's expiry has passed.
    #[error("list version {version} expired at {at}")]
    Expired {
        /// The version offered.
        version: u64,
        /// Its expiry.
        at: DateTime<Utc>,
    },
    /// The version offered is not newer than the one in use.
    #[error("list version {offered} is not newer than version {current} in use (rollback)")]
    Rollback {
        /// In use.
        current: u64,
        /// Offered.
        offered: u64,
    },
    /// A delta built against another version than the one in use.
    #[error("delta applies to version {base:?}, but version {current:?} is in use")]
    WrongBase {
        /// In use (none: no list yet).
        current: Option<u64>,
        /// The delta's base.
        base: Option<u64>,
    },
    /// The package mixes versions or epochs, or belongs to another list.
    #[error("mixed list versions: {reason}")]
    Mixed {
        /// What does not fit (ids and versions only).
        reason: String,
    },
    /// The list's stretching cost is below what this phone accepts.
    #[error("list key stretching is weaker than this device's policy")]
    WeakStretch,
    /// A cryptographic primitive failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A list entry (server side) is invalid.
    #[error("entry {entry}: {field} {reason}")]
    InvalidEntry {
        /// Entry number (1-based line of the CSV) or reference.
        entry: String,
        /// Which field.
        field: &'static str,
        /// What is wrong (never the value).
        reason: String,
    },
}

impl WatchlistError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "watchlist.malformed",
            Self::UnknownRoot { .. } => "watchlist.unknown_root",
            Self::BadSignature { .. } => "watchlist.bad_signature",
            Self::DelegationExpired { .. } => "watchlist.delegation_expired",
            Self::PayloadMismatch { .. } => "watchlist.payload_mismatch",
            Self::Expired { .. } => "watchlist.expired",
            Self::Rollback { .. } => "watchlist.rollback",
            Self::WrongBase { .. } => "watchlist.wrong_base",
            Self::Mixed { .. } => "watchlist.mixed",
            Self::WeakStretch => "watchlist.weak_stretch",
            Self::Crypto(_) => "watchlist.crypto",
            Self::InvalidEntry { .. } => "watchlist.invalid_entry",
        }
    }
}

/// An entry's details, opened only by an exact identity-number match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EntryDetails {
    /// The server's reference of the entry (case number).
    pub entry_ref: String,
    /// Name as listed.
    pub name: String,
    /// What the person is wanted for, briefly.
    pub case_summary: String,
    /// What the coordinator must do, e.g. "do not confront".
    pub instructions: String,
}

#[cfg(test)]
mod tests;
