//! [`FieldCore`]: the one object a shell opens. Each method is a short delegation to a use
//! case or a capability. Personal data is reached only through [`FieldCore::unlocked`], the
//! one place that turns the offline lock into an error, so no method can forget it. The
//! network work runs on one runtime the core owns ([`tasks`]).

mod tasks;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use lgt_protocol::{Bucket, ServerPin};

use crate::audit::{self, AuditRecord, AuditReport, Audited};
use crate::clock::Clock;
use crate::crypto::{KeyProvider, PublicKey};
use crate::issuers;
use crate::outbox::{self, Operation, OperationState};
use crate::permit::{self, Permit, PermitCommand, PermitRecord};
use crate::registration::{
    self, DocumentInput, DwellingRecord, Identifier, PersonRecord, RegistrationInput,
    RegistrationReceipt,
};
use crate::scan::{LumaFrame, ScanOptions, ScanResult, Scanner, Symbol};
use crate::session::Session;
use crate::store::{self, Lock, Store, StoreOptions, UnlockError, Unlocked};
use crate::sync::{
    self, Enrollment, SyncAttempt, SyncError, SyncReport, SyncStatus, SyncTrigger, WatchOptions,
};
use crate::usecases::watchlist::AlertHooks;
use crate::usecases::{self, PersonExport};
use crate::watchlist::{
    self as list, AlertListener, CheckOutcome, ListInfo, ListStatus, RecheckReport, Subject,
    WatchlistAlert, WatchlistPolicy,
};
use crate::Error;

pub use tasks::{SyncTask, SyncWatch, WatchObserver};

/// What the core needs from its caller to open a store.
pub struct OpenParams<'a> {
    /// Directory of the store.
    pub dir: &'a Path,
    /// Supplier of the data key.
    pub keys: &'a dyn KeyProvider,
    /// The coordinator's account id, recorded in the audit trail (an id, never a name).
    pub actor: &'a str,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Store options.
    pub options: StoreOptions,
}

/// The offline field core over one encrypted store.
pub struct FieldCore {
    inner: Arc<Inner>,
    /// Started on the first network call; shut down when the core is dropped or wiped.
    runtime: OnceLock<tokio::runtime::Runtime>,
}

/// What the core's methods and its network tasks share.
struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    actor: String,
    alerts: AlertHooks,
}

impl Inner {
    fn session(&self) -> Session<'_> {
        Session::new(self.clock.as_ref(), &self.actor)
    }

    fn unlocked(&self) -> Result<Unlocked<'_>, Error> {
        self.store.unlock(self.session()).map_err(|e| match e {
            UnlockError::Locked(Lock::WipeOrdered) => SyncError::WipeOrdered.into(),
            UnlockError::Locked(Lock::OfflineSince(since)) => SyncError::Locked {
                since: store::timestamp(since),
            }
            .into(),
            UnlockError::Locked(Lock::ClockRollback(latest)) => SyncError::ClockRollback {
                latest: store::timestamp(latest),
            }
            .into(),
            UnlockError::Locked(Lock::ClockTampered) => SyncError::ClockTampered.into(),
            UnlockError::Store(e) => e.into(),
        })
    }
}

fn check_actor(actor: &str) -> Result<(), Error> {
    let valid = !actor.is_empty()
        && actor.len() <= 64
        && actor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            field: "actor",
            reason: "must be an account id of 1 to 64 ASCII letters, digits, '-', '_', '.' or '@'"
                .into(),
        })
    }
}

impl FieldCore {
    /// Creates a new store and opens it.
    pub fn create(params: OpenParams<'_>) -> Result<Self, Error> {
        check_actor(params.actor)?;
        let dir = params.dir.to_path_buf();
        let store = Store::create(params.dir, params.keys, params.options)?;
        // The store's first audit record failed (a full disk): the new store goes too, so a
        // failed create leaves nothing and can simply be tried again.
        Self::start(store, params, "store.create").inspect_err(|_| {
            let _ = store::remove_files(&dir);
        })
    }

    /// Opens an existing store; a wrong key fails with [`store::StoreError::WrongKey`].
    pub fn open(params: OpenParams<'_>) -> Result<Self, Error> {
        check_actor(params.actor)?;
        let store = Store::open(params.dir, params.keys, params.options)?;
        Self::start(store, params, "store.open")
    }

    fn start(store: Store, params: OpenParams<'_>, action: &str) -> Result<Self, Error> {
        let inner = Inner {
            store,
            clock: params.clock,
            actor: params.actor.to_owned(),
            alerts: AlertHooks::default(),
        };
        audit::record_in(
            &inner.store,
            &inner.session(),
            action,
            "store",
            inner.store.id(),
        )?;
        Ok(Self {
            inner: Arc::new(inner),
            runtime: OnceLock::new(),
        })
    }

    /// Access to personal data, or the offline lock's error (`sync.locked`,
    /// `sync.clock_rollback`, `sync.clock_tampered`, `sync.wipe_ordered`).
    fn unlocked(&self) -> Result<Unlocked<'_>, Error> {
        self.inner.unlocked()
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    fn hooks(&self) -> &AlertHooks {
        &self.inner.alerts
    }

    /// The store's random id.
    pub fn store_id(&self) -> &str {
        self.store().id()
    }

    // Registrations.

    /// Validates and stores a registration with its outbox operation and audit record, and
    /// checks the person against the watchlist: alerts are committed with the registration
    /// and returned in the receipt (and handed to the alert listener).
    pub fn register(&self, input: &RegistrationInput) -> Result<RegistrationReceipt, Error> {
        usecases::registrations::register(&self.unlocked()?, self.hooks(), input)
    }

    /// Records a new identity number for a known person.
    pub fn add_identifier(
        &self,
        person_id: &str,
        document: &DocumentInput,
    ) -> Result<Identifier, Error> {
        registration::add_identifier(&self.unlocked()?, person_id, document)
    }

    /// Persons holding (or having held) a document number; 15-digit numbers match their
    /// 18-digit upgrade. The number and the persons found are checked against the
    /// watchlist; alerts go to the alert listener.
    pub fn find_by_document_number(&self, number: &str) -> Result<Vec<PersonRecord>, Error> {
        usecases::registrations::find_by_document_number(&self.unlocked()?, self.hooks(), number)
    }

    /// Persons with this current or former name. The persons found are checked against the
    /// watchlist by their identity numbers; alerts go to the alert listener.
    pub fn find_by_name(&self, name: &str) -> Result<Vec<PersonRecord>, Error> {
        usecases::registrations::find_by_name(&self.unlocked()?, self.hooks(), name)
    }

    /// A dwelling by its house code (as on the door-plate QR) with every registration at it,
    /// current ones first: this phone's and, once synced, its district colleagues'. Audited.
    pub fn dwelling(&self, house_code: &str) -> Result<DwellingRecord, Error> {
        registration::dwelling(&self.unlocked()?, house_code)
    }

    /// Everything stored about one person, for the person's own request. Audited.
    pub fn export_person(&self, person_id: &str) -> Result<PersonExport, Error> {
        usecases::registrations::export_person(&self.unlocked()?, person_id)
    }

    // Permits.

    /// Applies a permit command (accept, issue, deliver, endorse, ...).
    pub fn permit(&self, command: &PermitCommand) -> Result<PermitRecord, Error> {
        permit::execute(&self.unlocked()?, command)
    }

    /// A permit with its event log. Audited.
    pub fn permit_show(&self, permit_id: &str) -> Result<PermitRecord, Error> {
        permit::show(&self.unlocked()?, permit_id)
    }

    /// The signed QR text for an issued or delivered permit (by record id or permit number),
    /// valid from its issue date to its next endorsement anniversary. Audited.
    pub fn permit_qr(&self, id_or_number: &str) -> Result<String, Error> {
        usecases::scan::permit_qr(&self.unlocked()?, id_or_number)
    }

    /// The next permit number the server reserved for this device (lowest first), to issue
    /// offline; `None` when the pool is empty or expired (sync to refill it).
    pub fn permit_number_from_pool(&self) -> Result<Option<String>, Error> {
        Ok(sync::next_permit_number(
            self.store(),
            self.inner.clock.now(),
        )?)
    }

    /// This device's permit-issuer public key (created on first use), for other devices to
    /// trust.
    pub fn issuer_public_key(&self) -> Result<PublicKey, Error> {
        let unlocked = self.unlocked()?;
        unlocked.write(|tx| {
            Ok(issuers::issuer_key(tx, unlocked.cipher(), unlocked.now())?.public_key())
        })
    }

    /// Trusts another device's or office's issuer key. Audited.
    pub fn trust_issuer(&self, key: &PublicKey, label: &str) -> Result<(), Error> {
        if label.is_empty() || label.len() > 64 || label.chars().any(char::is_control) {
            return Err(Error::InvalidArgument {
                field: "label",
                reason: "must be 1 to 64 bytes without control characters".into(),
            });
        }
        let (store, session) = (self.store(), self.inner.session());
        store.write(|tx| {
            issuers::trust(tx, key, label, session.now())?;
            audit::record(tx, store, &session, "issuer.trust", "issuer", &key.key_id())?;
            Ok(())
        })
    }

    /// Revokes an issuer key: its permit codes read as `unknown_issuer` from now on. Audited.
    pub fn revoke_issuer(&self, key_id: &str) -> Result<(), Error> {
        let (store, session) = (self.store(), self.inner.session());
        store.write(|tx| {
            issuers::revoke(tx, key_id, session.now())?;
            audit::record(tx, store, &session, "issuer.revoke", "issuer", key_id)?;
            Ok(())
        })
    }

    // Scanning.

    /// Decodes one camera frame and interprets what it holds; `Ok(None)`: nothing found.
    pub fn scan_frame(
        &self,
        scanner: &mut Scanner,
        frame: &LumaFrame<'_>,
        options: &ScanOptions,
    ) -> Result<Option<ScanResult>, Error> {
        scanner
            .decode(frame, options)?
            .map(|symbol| self.scan_symbol(symbol))
            .transpose()
    }

    /// Decodes an image file (desktop client) and interprets what it holds.
    #[cfg(feature = "image-files")]
    pub fn scan_file(
        &self,
        scanner: &mut Scanner,
        path: &Path,
        options: &ScanOptions,
    ) -> Result<Option<ScanResult>, Error> {
        let image = crate::scan::load_luma(path)?;
        self.scan_frame(scanner, &image.frame(), options)
    }

    /// Decodes every symbol in one frame or photo (an identity document with a QR code and a
    /// PDF417 side by side) and interprets each as [`Self::scan_symbol`] does, in the order
    /// found; empty: nothing found. As with [`Self::scan_frame`], the lock is checked once
    /// something is read: a locked phone is refused before any symbol is interpreted. It costs
    /// more than `scan_frame` (see [`Scanner::decode_all`]): the camera loop calls
    /// `scan_frame`.
    pub fn scan_frame_all(
        &self,
        scanner: &mut Scanner,
        frame: &LumaFrame<'_>,
        options: &ScanOptions,
    ) -> Result<Vec<ScanResult>, Error> {
        let symbols = scanner.decode_all(frame, options)?;
        if symbols.is_empty() {
            return Ok(Vec::new());
        }
        usecases::scan::interpret_symbols(&self.unlocked()?, self.hooks(), symbols)
    }

    /// Decodes every symbol in an image file (desktop client) and interprets each, as
    /// [`Self::scan_frame_all`].
    #[cfg(feature = "image-files")]
    pub fn scan_file_all(
        &self,
        scanner: &mut Scanner,
        path: &Path,
        options: &ScanOptions,
    ) -> Result<Vec<ScanResult>, Error> {
        let image = crate::scan::load_luma(path)?;
        self.scan_frame_all(scanner, &image.frame(), options)
    }

    /// Interprets a decoded symbol: identity numbers are checked against the watchlist, a
    /// permit QR is verified offline (trusted issuer, dates, its state as known here).
    pub fn scan_symbol(&self, symbol: Symbol) -> Result<ScanResult, Error> {
        usecases::scan::interpret_symbol(&self.unlocked()?, self.hooks(), symbol)
    }

    // The watchlist.

    /// Registers the shell's alert listener (replacing any earlier one).
    pub fn set_alert_listener(&self, listener: Arc<dyn AlertListener>) {
        self.hooks().set_listener(listener);
    }

    /// Sets the score below which name hits raise no alert (identity numbers score 100,
    /// the name in characters 70, a pinyin reading 55; default 50).
    pub fn set_watchlist_threshold(&self, threshold: u8) {
        self.hooks().set_threshold(threshold);
    }

    /// Verifies a list package against the pinned roots and, only if every check passes,
    /// makes it the list in use. A refused package leaves the previous list in use.
    /// Re-checking the local registrations is a separate call ([`Self::watchlist_recheck`])
    /// so a shell can run it on a background thread. The rows are stored keyed by the
    /// store's key, so the store must be unlocked (a sync imports the list's bucket while
    /// locked too: it is the sync that lifts the lock).
    pub fn watchlist_import(
        &self,
        package: &[u8],
        policy: &WatchlistPolicy,
    ) -> Result<ListInfo, Error> {
        let unlocked = self.unlocked()?;
        unlocked.write(|tx| {
            let info = list::apply(tx, unlocked.cipher(), package, policy, unlocked.now())?;
            let record = format!("{}@{}", info.list_id, info.version);
            unlocked.audit(tx, "watchlist.import", "watchlist", &record)?;
            Ok(info)
        })
    }

    /// The list in use: current, out of date ("list out of date"), or missing.
    pub fn watchlist_status(&self) -> Result<ListStatus, Error> {
        let now = self.inner.clock.now();
        Ok(self.store().read(|conn| list::status(conn, now))?)
    }

    /// Checks a subject (a scanned card, a typed number, a name with birth date and sex)
    /// against the list, raising alerts inside this call.
    pub fn watchlist_check_identity(&self, subject: &Subject) -> Result<CheckOutcome, Error> {
        usecases::watchlist::check_identity(&self.unlocked()?, self.hooks(), subject)
    }

    /// Alerts that stand (not cleared), newest first. Viewing them is audited.
    pub fn watchlist_alerts(&self) -> Result<Vec<WatchlistAlert>, Error> {
        usecases::watchlist::standing_alerts(&self.unlocked()?)
    }

    /// Re-checks every local person against the list in use: new hits alert, alerts of
    /// entries that left the list are cleared. Costs one stretched derivation per identity
    /// number and name key of each person; run it on a background thread after an import.
    pub fn watchlist_recheck(&self) -> Result<RecheckReport, Error> {
        usecases::watchlist::recheck(&self.unlocked()?, self.hooks())
    }

    // Sync.

    /// Enrolls this device with a sync server under a supervisor's one-time code. The
    /// server is reached over HTTPS and trusted by the TLS key `server_pins` name (the
    /// supervisor hands out the pin with the code); plain HTTP, without pins, only on
    /// loopback. After a lost answer, enrolling again with the same code gets the same device.
    pub fn sync_enroll(
        &self,
        server_url: &str,
        server_pins: &[ServerPin],
        code: &str,
    ) -> Result<Enrollment, Error> {
        self.block_on(self.sync_enroll_task(server_url, server_pins, code))
    }

    /// [`Self::sync_enroll`] as a task on the core's runtime: await it from any executor;
    /// dropping it stops the enrollment (the same code may be tried again).
    pub fn sync_enroll_task(
        &self,
        server_url: &str,
        server_pins: &[ServerPin],
        code: &str,
    ) -> SyncTask<Enrollment> {
        let (url, pins, code) = (server_url.to_owned(), server_pins.to_vec(), code.to_owned());
        self.spawn(move |inner| async move {
            usecases::sync::enroll(&inner.store, &inner.session(), &url, &pins, &code).await
        })
    }

    /// Pins the watchlist roots (and least stretching cost) that the packages of the
    /// server's `watchlist` bucket must verify against: the shell's build carries them, the
    /// server never chooses them. Until pinned, those packages are refused (and reported).
    pub fn sync_pin_watchlist(&self, policy: &WatchlistPolicy) -> Result<(), Error> {
        usecases::sync::pin_watchlist(self.store(), &self.inner.session(), policy)
    }

    /// Syncs once: pushes the outbox, pulls every bucket to its checkpoint, imports the
    /// watchlist versions the `watchlist` bucket brought (see
    /// [`SyncReport::watchlist_imported`]). A [`SyncError::Revoked`] answer means the shell
    /// must wipe the store now.
    pub fn sync_now(&self) -> Result<SyncReport, Error> {
        self.block_on(self.sync_now_task())
    }

    /// [`Self::sync_now`] as a task on the core's runtime: await it from any executor;
    /// dropping it stops the sync at its next wait on the network, losing nothing (the engine
    /// settles each answer as it arrives).
    pub fn sync_now_task(&self) -> SyncTask<SyncReport> {
        self.spawn(|inner| async move {
            usecases::sync::sync_once(&inner.store, &inner.session()).await
        })
    }

    /// Syncs now and then by itself on the core's runtime (see [`WatchOptions`]), reporting
    /// each attempt to `observer`, until the observer breaks, an error needs the user, or
    /// the returned handle is stopped or dropped.
    pub fn sync_watch(&self, options: WatchOptions, mut observer: impl WatchObserver) -> SyncWatch {
        let trigger = SyncTrigger::new();
        let stop = trigger.clone();
        let task = self.spawn(move |inner| async move {
            let session = inner.session();
            let mut on_attempt = |attempt: &SyncAttempt| observer.on_attempt(attempt);
            let result =
                usecases::sync::watch(&inner.store, &session, options, &trigger, &mut on_attempt)
                    .await;
            observer.on_stopped(&result);
            result
        });
        SyncWatch::new(stop, task, self.runtime().ok().map(|r| r.handle().clone()))
    }

    /// Queue depth, last success, quarantined operations with reasons, bucket cursors.
    pub fn sync_status(&self) -> Result<SyncStatus, Error> {
        Ok(sync::status(self.store(), self.inner.clock.now())?)
    }

    /// The replica of one server bucket: `(key, JSON text)` by key. Audited: it is
    /// personal data.
    pub fn sync_replica(&self, bucket: Bucket) -> Result<Vec<(String, String)>, Error> {
        usecases::sync::replica(&self.unlocked()?, bucket)
    }

    /// The permits of this device's district as last synced, the ones other phones issued
    /// too (read-only here: only the issuing phone changes a permit). Audited: personal data.
    pub fn sync_district_permits(&self) -> Result<Vec<Permit>, Error> {
        usecases::sync::district_permits(&self.unlocked()?)
    }

    // The store.

    /// Verifies the audit chain; the check itself is recorded after it ran.
    pub fn audit_verify(&self) -> Result<AuditReport, Error> {
        let store = self.store();
        let report = audit::verify_store(store)?;
        audit::record_in(
            store,
            &self.inner.session(),
            "audit.verify",
            "store",
            store.id(),
        )?;
        Ok(report)
    }

    /// The latest audit records, newest first (ids and actions, no personal values).
    pub fn audit_recent(&self, limit: u32) -> Result<Vec<AuditRecord>, Error> {
        Ok(self.store().read(|conn| audit::recent(conn, limit))?)
    }

    /// Queued operations, optionally only those in one state (kinds and record ids; the
    /// payloads stay sealed).
    pub fn outbox(&self, state: Option<OperationState>) -> Result<Vec<Operation>, Error> {
        Ok(outbox::operations(self.store(), state)?)
    }

    /// SQLite's integrity check: `"ok"` or its complaints.
    pub fn integrity_check(&self) -> Result<String, Error> {
        Ok(self.store().integrity_check()?)
    }

    /// Closes the store: the network tasks still running stop (waiting a few seconds for
    /// them to let go of the store), then the connections close.
    pub fn close(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }

    /// Stops the network tasks, destroys the key, then the store's files.
    pub fn wipe(self, keys: &dyn KeyProvider) -> Result<(), Error> {
        let dir = self.store().dir().to_owned();
        self.close();
        Ok(store::wipe_dir(&dir, keys)?)
    }
}

impl Drop for FieldCore {
    fn drop(&mut self) {
        // Never blocks: a drop may happen anywhere, even on an async executor's thread.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
