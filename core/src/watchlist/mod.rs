//! The watchlist: a signed, privacy-preserving offline copy of the wanted-persons list, and
//! the alerts it raises when a coordinator registers, scans or looks up a listed person.
//!
//! Privacy (`docs/watchlist.md`, "What a stolen phone gives away"): the phone holds no
//! identifier, name or plain hash of anyone listed. The list's tags are the Argon2id stretch
//! of one identity number (or name key) under the key epoch's salt, and an entry's details are
//! sealed under a key derived from the same stretch, so only presenting the identity number
//! opens them. The phone stores each tag keyed by its own data key (HMAC) and seals the
//! details again under it: the file alone confirms no guess, and with the key each guess
//! still costs a memory-hard derivation.
//!
//! Integrity: a list version is trusted only after the root-signed delegation, the
//! signer's manifest signature, the payload hash, expiry, version order, base version, key
//! epoch and entry count all check out; it is applied in one transaction or not at all.

mod local;
mod probe;

use chrono::{DateTime, NaiveDate, Utc};
use lgt_common::watchlist::format;
use serde::{Deserialize, Serialize};

use crate::crypto::{PublicKey, StretchParams};

pub use format::{
    Delegation, ListKind, ListPackage, Manifest, Payload, Row, RowKind, FORMAT_VERSION,
};
pub use lgt_common::watchlist::{EntryDetails, WatchlistError, DEFAULT_INSTRUCTIONS};
pub(crate) use local::{
    apply, prepare, raise, recheck_person, repoint_alerts, stale_alerts, standing_alerts, status,
    Prepared,
};

/// What every alert says first: a hit is never an accusation.
pub const ALERT_WORDING: &str = "possible match: verify";
/// Default score below which a name hit raises no alert.
pub const DEFAULT_THRESHOLD: u8 = 50;

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
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Confidence {
    /// An identity number matched exactly.
    Exact,
    /// Name, birth date and sex matched: weak (many people share them).
    Low,
}

/// A watchlist alert, raised inside the call that registered, scanned or looked up the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RecheckReport {
    /// Persons checked.
    pub persons: u64,
    /// New alerts raised.
    pub raised: Vec<WatchlistAlert>,
    /// Alerts cleared because the entry left the list.
    pub cleared: Vec<String>,
}
