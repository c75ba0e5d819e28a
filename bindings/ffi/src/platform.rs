//! What the shells implement: traits the Kotlin and Swift code provide, adapted to the core's
//! own traits.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lgt_core::crypto::{DataKey, KeyError};

use crate::LgtError;

/// Supplies the store's 32-byte data key. Android implements it over the Keystore (a key
/// wrapped by a non-exportable Keystore key), iOS over the Keychain; the wrapping key never
/// reaches the core. Throw [`LgtError::KeyUnavailable`] when the key cannot be had (device
/// locked, key lost).
#[uniffi::export(foreign)]
pub trait KeyProvider: Send + Sync {
    /// The data key: exactly 32 bytes. Called when the store is opened.
    fn data_key(&self) -> Result<Vec<u8>, LgtError>;
    /// Irrecoverably destroys the key material: the first step of a wipe. (Not `destroy`:
    /// the generated Kotlin objects have a `destroy()` of their own.)
    fn destroy_key(&self) -> Result<(), LgtError>;
}

/// The current time, for shells and tests that need to pin it. Without one the core uses
/// the system clock.
#[uniffi::export(foreign)]
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch, UTC.
    fn now_unix_millis(&self) -> i64;
}

/// A shell's [`KeyProvider`] as the core's.
pub(crate) struct ForeignKeys(pub(crate) Arc<dyn KeyProvider>);

fn key_error(error: LgtError) -> KeyError {
    // Only the code crosses into the core's error: a shell's message may hold anything.
    KeyError::Provider(format!("shell key provider: {}", error.code()))
}

impl lgt_core::crypto::KeyProvider for ForeignKeys {
    fn data_key(&self) -> Result<DataKey, KeyError> {
        let bytes = zeroize::Zeroizing::new(self.0.data_key().map_err(key_error)?);
        DataKey::try_from_slice(&bytes)
    }

    fn destroy(&self) -> Result<(), KeyError> {
        self.0.destroy_key().map_err(key_error)
    }
}

/// A shell's [`Clock`] as the core's.
pub(crate) struct ForeignClock(pub(crate) Arc<dyn Clock>);

impl lgt_core::clock::Clock for ForeignClock {
    fn now(&self) -> DateTime<Utc> {
        // The core's clock cannot fail; an instant outside chrono's range (±262,000 years)
        // is a shell bug, answered with the system time rather than a panic.
        DateTime::from_timestamp_millis(self.0.now_unix_millis()).unwrap_or_else(Utc::now)
    }
}

/// Receives watchlist alerts as they are raised, whichever call raised them (register, find,
/// check, re-check). Called on the thread of that call, after the alert is committed; hand
/// the alert over (Kotlin: to a `Flow`, Swift: to an `AsyncStream`) and return at once. An
/// error thrown here is dropped: the alert is already stored and in the call's result.
#[uniffi::export(foreign)]
pub trait AlertListener: Send + Sync {
    /// One alert.
    fn on_alert(&self, alert: lgt_core::watchlist::WatchlistAlert) -> Result<(), LgtError>;
}

/// A shell's [`AlertListener`] as the core's.
pub(crate) struct ForeignAlerts(pub(crate) Arc<dyn AlertListener>);

impl lgt_core::watchlist::AlertListener for ForeignAlerts {
    fn on_alert(&self, alert: &lgt_core::watchlist::WatchlistAlert) {
        // The shell's failure cannot undo the committed alert, and its text may hold anything.
        let _ = self.0.on_alert(alert.clone());
    }
}

/// Receives the attempts of a watching sync (`sync().watch`). Called on the watch's own
/// thread; hand the values over (Kotlin: a `Flow`, Swift: an `AsyncStream`) and return.
#[uniffi::export(foreign)]
pub trait SyncObserver: Send + Sync {
    /// One attempt, successful or not.
    fn on_attempt(&self, attempt: crate::SyncAttempt) -> Result<(), LgtError>;
    /// The watch ended: `None` when cancelled, otherwise the error that needs the user
    /// (`AuthRequired`, `Revoked`, `Closed`, ...).
    fn on_stopped(&self, error: Option<LgtError>) -> Result<(), LgtError>;
}
