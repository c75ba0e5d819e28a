//! Why a sync failed, sorted into the classes that decide what happens next.

use std::time::Duration;

use crate::store::StoreError;

/// What the engine does about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Try again later by itself (network, DNS, timeouts, 429, 5xx, a cut response).
    Transient,
    /// Stop and ask the user (credentials refused, clock far off).
    Auth,
    /// Will not succeed by retrying (the request itself is refused).
    Permanent,
}

/// A failed sync. Messages carry codes and ids, never personal values.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The device has not enrolled with a server yet.
    #[error("this device is not enrolled with a sync server (run enroll first)")]
    NotEnrolled,
    /// The device is enrolled already.
    #[error("this device is already enrolled as {device_id}")]
    AlreadyEnrolled {
        /// Its device id.
        device_id: String,
    },
    /// The server or the network is unavailable for now.
    #[error("server unavailable for now: {reason}")]
    Transient {
        /// What happened (a status or an error kind).
        reason: String,
        /// How long the server asked us to wait.
        retry_after: Option<Duration>,
    },
    /// The server refused the device's credentials.
    #[error("the server refused this device ({code}); check the clock or enroll again")]
    Auth {
        /// The server's error code.
        code: String,
    },
    /// The server revoked this device: its personal data must be purged now.
    #[error("this device was revoked by a supervisor; its data must be wiped")]
    Revoked,
    /// A command signed with the server's pinned key ordered this device wiped: personal
    /// data stays locked, and the shell must wipe the store now.
    #[error("a signed command ordered this device wiped; its data must be wiped")]
    WipeOrdered,
    /// A signed command set a minimum client version above this one: sync stops until the
    /// app is updated.
    #[error("this client is version {current}; the server requires at least {minimum}")]
    UpgradeRequired {
        /// This client's version.
        current: String,
        /// The least version the server accepts.
        minimum: String,
    },
    /// The server refused the request for good.
    #[error("the server refused the request ({status} {code}): {message}")]
    Permanent {
        /// HTTP status.
        status: u16,
        /// The server's error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The device went too long without syncing: personal data stays locked until a sync
    /// succeeds.
    #[error("no successful sync since {since}: personal data is locked until the next sync")]
    Locked {
        /// When the offline limit ran out.
        since: String,
    },
    /// The clock reads earlier than a time this store has seen already (by more than
    /// [`crate::store::CLOCK_ROLLBACK_TOLERANCE_SECS`]): it was set back. Personal data stays
    /// locked until a sync succeeds (which needs the clock set right).
    #[error("the clock reads earlier than {latest}, a time this phone has seen already: personal data is locked until a sync succeeds (set the clock right)")]
    ClockRollback {
        /// The latest time the store has seen.
        latest: String,
    },
    /// The store's record of the latest time it has seen does not verify: it was altered
    /// without the key. Personal data stays locked until a sync succeeds.
    #[error("this phone's record of the time does not verify (altered): personal data is locked until a sync succeeds")]
    ClockTampered,
    /// The server address cannot be used: not HTTPS with a pin, nor plain HTTP to loopback.
    #[error("unusable server address: {reason}")]
    BadServerAddress {
        /// What is wrong with it.
        reason: String,
    },
    /// The server presented a TLS key that is not pinned: the network may be intercepting.
    /// Nothing was sent; the next attempt (perhaps on another network) tries again.
    #[error("the server's TLS key does not match the pin; the network may be intercepted")]
    UntrustedServer,
    /// The shell cancelled the sync ([`super::SyncCancel`]); what it settled stays.
    #[error("the sync was cancelled; the rest is sent next time")]
    Cancelled,
    /// The request was too large for the server (413).
    #[error("the request was too large for the server")]
    TooLarge,
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Transient { .. } | Self::UntrustedServer | Self::Cancelled => {
                ErrorClass::Transient
            }
            Self::Auth { .. }
            | Self::Revoked
            | Self::WipeOrdered
            | Self::UpgradeRequired { .. }
            | Self::NotEnrolled
            | Self::Locked { .. }
            | Self::ClockRollback { .. }
            | Self::ClockTampered => ErrorClass::Auth,
            Self::AlreadyEnrolled { .. }
            | Self::BadServerAddress { .. }
            | Self::Permanent { .. }
            | Self::TooLarge => ErrorClass::Permanent,
            // A busy or full disk may clear; a corrupt store will keep failing, loudly.
            Self::Store(_) => ErrorClass::Transient,
        }
    }

    /// A stable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotEnrolled => "sync.not_enrolled",
            Self::AlreadyEnrolled { .. } => "sync.already_enrolled",
            Self::Transient { .. } => "sync.transient",
            Self::Auth { .. } => "sync.auth",
            Self::Revoked => "sync.revoked",
            Self::WipeOrdered => "sync.wipe_ordered",
            Self::UpgradeRequired { .. } => "sync.upgrade_required",
            Self::Locked { .. } => "sync.locked",
            Self::ClockRollback { .. } => "sync.clock_rollback",
            Self::ClockTampered => "sync.clock_tampered",
            Self::Permanent { .. } => "sync.refused",
            Self::TooLarge => "sync.too_large",
            Self::BadServerAddress { .. } => "sync.bad_server_address",
            Self::UntrustedServer => "sync.untrusted_server",
            Self::Cancelled => "sync.cancelled",
            Self::Store(_) => "sync.store",
        }
    }
}
