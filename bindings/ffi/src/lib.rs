//! # lgt-ffi: the field core as the Android and iOS shells see it
//!
//! A thin UniFFI facade over [`lgt_core`]: the store object and its sub-objects, the shell's
//! traits, the one error type. The data types (registrations, persons, permits, alerts, sync
//! status, code tables, ...) derive their UniFFI records and enums where they are defined,
//! behind a `uniffi` feature: in `lgt-core` (namespace `lgt_core`) and in `lgt-common`
//! (namespace `lgt_common`), and cross as they are. The types defined here are the ones whose
//! shape at the FFI differs from the core's: text where the core holds a parsed value that a
//! shell's input may fail to be, flattened results, milliseconds for durations, and results
//! whose parts are parse outcomes or the FFI's own error.
//!
//! ```text
//!  FieldCore          open/create a store with the shell's KeyProvider (and Clock)
//!   ├─ registrations()  register, add identifier, find, export, check an ID number
//!   ├─ permits()        accept, apply life-cycle events, show, signed QR code
//!   ├─ audit()          verify the chain, recent records
//!   ├─ outbox()         queued operations
//!   ├─ watchlist()      import a signed list, its status, check a subject, alerts
//!   ├─ scan()           decode frames and files, interpret, verify permit QR codes
//!   └─ sync()           enroll, sync now (async), status, watch with an observer
//!  code_table(id)       static code tables;  render_qr(text): a QR code's pixels
//!  wipe_store(dir, keys): wipe without opening
//! ```
//!
//! Every call crosses one boundary ([`shared`]): a closed store answers
//! [`LgtError::Closed`], a core error becomes the one public [`LgtError`] (stable code,
//! English and Chinese message, no personal values), and a panic becomes
//! [`LgtError::Internal`] instead of unwinding into the shell.

#![deny(missing_docs)]

mod audit;
mod codes;
mod error;
mod permits;
mod platform;
mod registrations;
mod scan;
mod shared;
mod sync;
mod watchlist;

use std::path::Path;
use std::sync::Arc;

use lgt_core::clock::SystemClock;
use lgt_core::store::{Durability, StoreOptions};
use lgt_core::OpenParams;

pub use audit::*;
pub use codes::*;
pub use error::{IdIssue, InputIssue, LgtError};
pub use permits::*;
pub use platform::{AlertListener, Clock, KeyProvider, SyncObserver};
pub use registrations::*;
pub use scan::*;
pub use sync::*;
pub use watchlist::*;

use platform::{ForeignClock, ForeignKeys};
use shared::{guarded, Shared};

uniffi::setup_scaffolding!();

/// Where the store lives and who works on it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StoreConfig {
    /// Directory of the store (app-private storage).
    pub dir: String,
    /// The coordinator's account id, recorded in the audit trail (an id, never a name).
    pub actor: String,
    /// Commit durability.
    pub durability: Durability,
}

/// The field core over one encrypted store: the one object a shell opens. Close it with
/// [`FieldCore::close_store`] (or wipe it); its sub-objects then answer [`LgtError::Closed`].
/// The FFI face of [`lgt_core::FieldCore`], under the same name.
#[derive(uniffi::Object)]
pub struct FieldCore {
    shared: Arc<Shared>,
}

#[uniffi::export]
impl FieldCore {
    /// Creates a new store in `config.dir` under the provider's key, and opens it.
    /// `clock` pins the time (tests); `None` uses the system clock.
    #[uniffi::constructor]
    pub fn create(
        config: StoreConfig,
        keys: Arc<dyn KeyProvider>,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<Arc<Self>, LgtError> {
        Self::start(config, keys, clock, lgt_core::FieldCore::create)
    }

    /// Opens an existing store. A key that does not open it fails with
    /// [`LgtError::WrongKey`] before anything is touched.
    #[uniffi::constructor]
    pub fn open(
        config: StoreConfig,
        keys: Arc<dyn KeyProvider>,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<Arc<Self>, LgtError> {
        Self::start(config, keys, clock, lgt_core::FieldCore::open)
    }

    /// The store's random id.
    pub fn store_id(&self) -> Result<String, LgtError> {
        self.shared.call(|core| Ok(core.store_id().to_owned()))
    }

    /// Registrations and identity-number checks.
    pub fn registrations(&self) -> Arc<Registrations> {
        Registrations::new(self.shared.clone())
    }

    /// Residence permits.
    pub fn permits(&self) -> Arc<Permits> {
        Permits::new(self.shared.clone())
    }

    /// The audit trail.
    pub fn audit(&self) -> Arc<Audit> {
        Audit::new(self.shared.clone())
    }

    /// The outbox of operations awaiting sync.
    pub fn outbox(&self) -> Arc<Outbox> {
        Outbox::new(self.shared.clone())
    }

    /// A scanner (camera frames, image files, permit QR verification). Keep one per camera
    /// session: it keeps its decoders between frames.
    pub fn scan(&self) -> Arc<Scan> {
        Scan::new(self.shared.clone())
    }

    /// Sync with the server: enroll, sync now, status, a watching sync.
    pub fn sync(&self) -> Arc<SyncEngine> {
        SyncEngine::new(self.shared.clone())
    }

    /// The offline wanted-persons list and its alerts.
    pub fn watchlist(&self) -> Arc<Watchlist> {
        Watchlist::new(self.shared.clone())
    }

    /// SQLite's integrity check: `"ok"` or its complaints.
    pub fn integrity_check(&self) -> Result<String, LgtError> {
        self.shared.call(|core| core.integrity_check())
    }

    /// Stops the watching syncs (each reports `on_stopped`) and any sync in flight (its
    /// caller gets `sync.cancelled`), then closes the store after the blocking calls in
    /// flight; later calls answer [`LgtError::Closed`]. Closing twice is harmless.
    pub fn close_store(&self) {
        if let Some(core) = self.shared.exclusive().take() {
            core.close();
        }
    }

    /// Destroys the key through the provider, then the store's files; the store is closed
    /// afterwards.
    pub fn wipe(&self) -> Result<(), LgtError> {
        let mut core = self.shared.exclusive();
        let core = core.take().ok_or_else(LgtError::closed)?;
        guarded(|| core.wipe(&self.shared.keys))
    }
}

impl FieldCore {
    fn start(
        config: StoreConfig,
        keys: Arc<dyn KeyProvider>,
        clock: Option<Arc<dyn Clock>>,
        open: fn(OpenParams<'_>) -> Result<lgt_core::FieldCore, lgt_core::Error>,
    ) -> Result<Arc<Self>, LgtError> {
        let keys = ForeignKeys(keys);
        let clock: Arc<dyn lgt_core::clock::Clock> = match clock {
            Some(clock) => Arc::new(ForeignClock(clock)),
            None => Arc::new(SystemClock),
        };
        let core = guarded(|| {
            open(OpenParams {
                dir: Path::new(&config.dir),
                keys: &keys,
                actor: &config.actor,
                clock: clock.clone(),
                options: StoreOptions {
                    durability: config.durability,
                },
            })
        })?;
        Ok(Arc::new(Self {
            shared: Shared::new(core, keys, clock),
        }))
    }
}

/// Wipes the store in `dir` without opening it (the key may be lost): destroys the key
/// through the provider, then the files.
#[uniffi::export]
pub fn wipe_store(dir: String, keys: Arc<dyn KeyProvider>) -> Result<(), LgtError> {
    let keys = ForeignKeys(keys);
    guarded(|| Ok(lgt_core::store::wipe_dir(Path::new(&dir), &keys)?))
}
