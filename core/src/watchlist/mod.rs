//! The watchlist: a signed, privacy-preserving offline copy of the wanted-persons list, and
//! the alerts it raises when a coordinator registers, scans or looks up a listed person.
//!
//! Privacy (README, "Watchlist"): the phone holds no identifier, name or plain hash of
//! anyone listed. Each row is a 16-byte tag: the Argon2id stretch of one identity number
//! (or name key) under the key epoch's salt, so testing one guess costs a memory-hard
//! derivation, on the phone and for an attacker holding its files and keys alike. An
//! entry's details are sealed under a key derived from the same stretch, so only presenting
//! the identity number opens them.
//!
//! Integrity: a list version is trusted only after the root-signed delegation, the
//! signer's manifest signature, the payload hash, expiry, version order, base version, key
//! epoch and entry count all check out; it is applied in one transaction or not at all.

mod format;
mod local;
mod names;
mod probe;
#[cfg(feature = "publisher")]
pub mod publish;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::crypto::{CryptoError, PublicKey, StretchParams};

pub use format::{
    Delegation, ListKind, ListPackage, Manifest, Payload, Row, RowKind, FORMAT_VERSION,
};
pub(crate) use local::{
    apply, prepare, raise, recheck_person, stale_alerts, standing_alerts, status, Prepared,
};

/// What every alert says first: a hit is never an accusation.
pub const ALERT_WORDING: &str = "possible match: verify";
/// What an alert says to do when the entry's own instructions are not available.
pub const DEFAULT_INSTRUCTIONS: &str =
    "do not confront; verify the identity document; the hit has been reported";
/// Default score below which a name hit raises no alert.
pub const DEFAULT_THRESHOLD: u8 = 50;

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

/// What the phone trusts: the pinned root keys (the current one, plus the next one during a
/// root rotation) and the least stretching cost it accepts.
#[derive(Debug, Clone)]
pub struct WatchlistPolicy {
    /// Pinned root public keys; a list is accepted only through a delegation from one.
    pub roots: Vec<PublicKey>,
    /// Lists declaring a cheaper Argon2id cost are refused.
    pub min_stretch: StretchParams,
}

impl WatchlistPolicy {
    /// The field policy for these pinned roots: [`StretchParams::FIELD`] at least.
    pub fn new(roots: Vec<PublicKey>) -> Self {
        Self {
            roots,
            min_stretch: StretchParams::FIELD,
        }
    }
}

/// Who is being checked: every identity number presented, and optionally name, birth date and
/// sex for the low-confidence path. Ethnicity is deliberately absent: it is never matched on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// Identity numbers (18 or 15 digits; normalised and upgraded before matching).
    pub id_numbers: Vec<String>,
    /// Name, in characters or Latin letters.
    pub name: Option<String>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// Sex code (GB/T 2261.1: 1 male, 2 female).
    pub sex: Option<String>,
}

/// How sure an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// An identity number matched exactly.
    Exact,
    /// Name, birth date and sex matched: weak (many people share them).
    Low,
}

/// An entry's details, opened only by an exact identity-number match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// A watchlist alert, raised inside the call that registered, scanned or looked up the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchlistAlert {
    /// The alert's id (UUIDv7); the audit record and the hit report name it.
    pub alert_id: String,
    /// The local person it concerns, if the check was about one.
    pub person_id: Option<String>,
    /// Always [`ALERT_WORDING`].
    pub wording: String,
    /// Exact (identity number) or low (name, birth date, sex).
    pub confidence: Confidence,
    /// 100 for an identity number, 70 for the name in characters, 55 for a pinyin reading.
    pub score: u8,
    /// What matched.
    pub matched_on: RowKind,
    /// What to do (the entry's instructions on an exact match).
    pub instructions: String,
    /// The entry's details: only on an exact match.
    pub details: Option<EntryDetails>,
    /// The list version that matched.
    pub list_version: u64,
    /// The list had expired: the match is from an out-of-date list.
    pub list_out_of_date: bool,
    /// When it was raised.
    pub raised_at: DateTime<Utc>,
}

/// Receives alerts as they are raised (the shells implement this: Kotlin/Swift through a
/// foreign trait). Called after the alert is committed; must not block for long.
pub trait AlertListener: Send + Sync {
    /// One alert.
    fn on_alert(&self, alert: &WatchlistAlert);
}

/// The list in use, as the phone shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ListStatus {
    /// No list has been imported: checks cannot say anything.
    Missing,
    /// A list within its validity.
    Current(ListInfo),
    /// The list has expired: shown as "list out of date"; hits still alert.
    OutOfDate(ListInfo),
}

impl ListStatus {
    /// The text a shell shows next to any check result.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Missing => "no watchlist loaded",
            Self::Current(_) => "list current",
            Self::OutOfDate(_) => "list out of date",
        }
    }
}

/// Facts about the list in use (no entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListInfo {
    /// List id.
    pub list_id: String,
    /// Version in use.
    pub version: u64,
    /// Key epoch.
    pub key_epoch: u32,
    /// When the server built it.
    pub created_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// Rows held.
    pub entry_count: u64,
    /// Key id of the signer.
    pub signer_key_id: String,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    /// The list the check ran against.
    pub list: ListStatus,
    /// Alerts raised (empty: no match above the threshold).
    pub alerts: Vec<WatchlistAlert>,
}

/// What a re-check of the local registrations did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecheckReport {
    /// Persons checked.
    pub persons: u64,
    /// New alerts raised.
    pub raised: Vec<WatchlistAlert>,
    /// Alerts cleared because the entry left the list.
    pub cleared: Vec<String>,
}

#[cfg(test)]
mod tests;
