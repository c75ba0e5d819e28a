//! The core's error: one enum over every capability, with stable codes. Messages never
//! carry personal values, only record ids, field names and rule names.

use crate::identity::IdError;
use crate::permit::PermitError;
use crate::registration::ValidationErrors;
use crate::scan::permit_qr::PermitQrError;
use crate::scan::ScanError;
use crate::store::StoreError;
use crate::sync::SyncError;
use crate::watchlist::WatchlistError;

/// Anything the core can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed (I/O, SQLite, key, decryption).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An identity number is not valid.
    #[error("identity number: {0}")]
    Id(#[from] IdError),
    /// A registration has invalid fields.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// A permit transition is not allowed.
    #[error(transparent)]
    Permit(#[from] PermitError),
    /// A watchlist package or check was refused.
    #[error(transparent)]
    Watchlist(#[from] WatchlistError),
    /// A frame or image could not be scanned.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// A permit QR code could not be made or read.
    #[error(transparent)]
    PermitQr(#[from] PermitQrError),
    /// Sync with the server failed.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// No such record.
    #[error("{kind} {id} not found")]
    NotFound {
        /// Kind of record.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The change contradicts stored data.
    #[error("conflict: {reason}")]
    Conflict {
        /// What contradicts what (ids only).
        reason: String,
    },
    /// An argument is malformed.
    #[error("{field} {reason}")]
    InvalidArgument {
        /// Which argument.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(e.into())
    }
}

impl Error {
    /// A stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Store(StoreError::WrongKey) => "store.wrong_key",
            Error::Store(StoreError::Missing) => "store.missing",
            Error::Store(StoreError::AlreadyExists) => "store.exists",
            Error::Store(StoreError::Key(_)) => "store.key_unavailable",
            Error::Store(StoreError::NewerSchema { .. }) => "store.newer_schema",
            Error::Store(StoreError::Crypto { .. } | StoreError::Malformed { .. }) => {
                "store.corrupt"
            }
            Error::Store(StoreError::Full) => "store.full",
            Error::Store(StoreError::ReadOnly) => "store.read_only",
            Error::Store(StoreError::Sqlite(_) | StoreError::Io(_)) => "store.io",
            Error::Id(e) => e.code(),
            Error::Validation(_) => "validation",
            Error::Permit(e) => e.code(),
            Error::Watchlist(e) => e.code(),
            Error::Scan(e) => e.code(),
            Error::PermitQr(e) => e.code(),
            Error::Sync(e) => e.code(),
            Error::NotFound { .. } => "not_found",
            Error::Conflict { .. } => "conflict",
            Error::InvalidArgument { .. } => "invalid_argument",
        }
    }
}
