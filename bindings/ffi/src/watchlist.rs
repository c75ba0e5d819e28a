//! The offline wanted-persons list: import a signed list version, show whether it is current,
//! check a subject, read and re-check alerts. The publisher (the server side that builds and
//! signs lists) is not part of the phone's API.

use std::sync::Arc;

use chrono::NaiveDate;
use lgt_core::crypto::PublicKey;
use lgt_core::watchlist::{self as core, ListInfo, RecheckReport, WatchlistAlert};

use crate::platform::{AlertListener, ForeignAlerts};
use crate::shared::Shared;
use crate::LgtError;

/// Whether a list is loaded and still within its validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ListState {
    /// No list has been imported: checks cannot say anything.
    Missing,
    /// A list within its validity.
    Current,
    /// The list has expired: show "list out of date"; hits still alert.
    OutOfDate,
}

/// The list in use, as the phone shows it next to every check result. Made here: the core's
/// `ListStatus` is an enum carrying the info, and has the label as a method.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ListStatus {
    /// Missing, current or out of date.
    pub state: ListState,
    /// The text to show: `no watchlist loaded`, `list current` or `list out of date`.
    pub label: String,
    /// The list, unless missing.
    pub info: Option<ListInfo>,
}

/// Who is being checked: every identity number presented, and optionally name, birth date
/// and sex for the low-confidence path (all three are needed for it). Ethnicity is never
/// matched on. Made here: the birth date is text as typed, and a malformed one is an
/// [`LgtError::Invalid`] of this call (the core's `Subject` holds a parsed date).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WatchlistSubject {
    /// Identity numbers (18 or 15 digits).
    pub id_numbers: Vec<String>,
    /// Name, in characters or Latin letters.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// Birth date, `YYYY-MM-DD`.
    #[uniffi(default = None)]
    pub birth_date: Option<String>,
    /// Sex code (GB/T 2261.1: 1 male, 2 female).
    #[uniffi(default = None)]
    pub sex: Option<String>,
}

/// What a check found. Made here because it holds a [`ListStatus`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CheckOutcome {
    /// The list the check ran against.
    pub list: ListStatus,
    /// Alerts raised (empty: no match above the threshold).
    pub alerts: Vec<WatchlistAlert>,
}

/// The watchlist of one open store: `core.watchlist()`.
#[derive(uniffi::Object)]
pub struct Watchlist {
    shared: Arc<Shared>,
}

impl Watchlist {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self { shared })
    }
}

#[uniffi::export]
impl Watchlist {
    /// Verifies a list package (the bytes as received) against the app's pinned root public keys
    /// (32-byte Ed25519 keys: the current root, plus the next one during a rotation) and,
    /// only if every check passes, makes it the list in use. A forged, rolled-back, expired
    /// or mismatched package fails with [`LgtError::Refused`] (`watchlist.bad_signature`,
    /// `watchlist.rollback`, ...) and the previous list stays in use. Run
    /// [`Watchlist::recheck`] afterwards, off the main thread.
    pub fn import_list(
        &self,
        list_package: Vec<u8>,
        pinned_roots: Vec<Vec<u8>>,
    ) -> Result<ListInfo, LgtError> {
        let policy = pinned_policy(&pinned_roots)?;
        self.shared
            .call(|core| core.watchlist_import(&list_package, &policy))
    }

    /// The list in use: current, out of date, or missing.
    pub fn status(&self) -> Result<ListStatus, LgtError> {
        self.shared
            .call(|core| core.watchlist_status())
            .map(Into::into)
    }

    /// Checks a subject (a scanned card, a typed number, a name with birth date and sex)
    /// against the list. Alerts are stored, audited, queued for the server and passed to the
    /// alert listener before this returns. Costs one memory-hard derivation per number and
    /// name key (about 13 ms each on a phone core): call it off the main thread.
    pub fn check_identity(&self, subject: WatchlistSubject) -> Result<CheckOutcome, LgtError> {
        let birth_date = subject
            .birth_date
            .as_deref()
            .map(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d"))
            .transpose()
            .map_err(|_| LgtError::from(invalid("birth_date", "must be YYYY-MM-DD")))?;
        let subject = core::Subject {
            id_numbers: subject.id_numbers,
            name: subject.name,
            birth_date,
            sex: subject.sex,
        };
        self.shared
            .call(|core| core.watchlist_check_identity(&subject))
            .map(Into::into)
    }

    /// Alerts that stand (not cleared), newest first. Viewing them is audited.
    pub fn alerts(&self) -> Result<Vec<WatchlistAlert>, LgtError> {
        self.shared.call(|core| core.watchlist_alerts())
    }

    /// Re-checks every local person against the list in use: new hits alert, alerts of
    /// entries that left the list are cleared. Long: run it off the main thread after an
    /// import.
    pub fn recheck(&self) -> Result<RecheckReport, LgtError> {
        self.shared.call(|core| core.watchlist_recheck())
    }

    /// Registers the shell's alert listener, replacing any earlier one. It receives every
    /// alert once committed, whichever call raised it (register, find, check, re-check).
    pub fn set_alert_listener(&self, listener: Arc<dyn AlertListener>) -> Result<(), LgtError> {
        let listener = Arc::new(ForeignAlerts(listener));
        self.shared.call(|core| {
            core.set_alert_listener(listener);
            Ok(())
        })
    }

    /// Sets the score below which name hits raise no alert (identity numbers score 100, the
    /// name in characters 70, a pinyin reading 55; default 50).
    pub fn set_threshold(&self, threshold: u8) -> Result<(), LgtError> {
        self.shared.call(|core| {
            core.set_watchlist_threshold(threshold);
            Ok(())
        })
    }
}

/// The phone's policy for these pinned root public keys (32-byte Ed25519 keys), at the
/// field's least stretching cost.
pub(crate) fn pinned_policy(pinned_roots: &[Vec<u8>]) -> Result<core::WatchlistPolicy, LgtError> {
    let roots = pinned_roots
        .iter()
        .map(|root| PublicKey::try_from_slice(root))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| LgtError::from(invalid("pinned_roots", "32-byte Ed25519 keys")))?;
    Ok(core::WatchlistPolicy::new(roots))
}

fn invalid(field: &'static str, reason: &str) -> lgt_core::Error {
    lgt_core::Error::InvalidArgument {
        field,
        reason: reason.into(),
    }
}

impl From<core::ListStatus> for ListStatus {
    fn from(status: core::ListStatus) -> Self {
        let label = status.label().to_owned();
        let (state, info) = match status {
            core::ListStatus::Missing => (ListState::Missing, None),
            core::ListStatus::Current(info) => (ListState::Current, Some(info)),
            core::ListStatus::OutOfDate(info) => (ListState::OutOfDate, Some(info)),
        };
        Self { state, label, info }
    }
}

impl From<core::CheckOutcome> for CheckOutcome {
    fn from(o: core::CheckOutcome) -> Self {
        Self {
            list: o.list.into(),
            alerts: o.alerts,
        }
    }
}
