//! Sync with the server: enroll, sync now (async: Kotlin `suspend`, Swift `async`), the sync
//! status, a watching sync that reports each attempt to a shell observer until its
//! subscription is cancelled, the network-available hint, and the reserved permit numbers.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lgt_core::permit::Permit;
use lgt_core::sync::{self as core, Enrollment, SyncReport, SyncStatus};
use lgt_core::{SyncWatch, WatchObserver};

use crate::platform::SyncObserver;
use crate::shared::{guarded_task, Shared};
use crate::watchlist::pinned_policy;
use crate::LgtError;

/// How a watching sync paces itself. Made here: milliseconds with defaults, where the core
/// holds durations and a backoff policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct WatchOptions {
    /// Time between successful syncs.
    #[uniffi(default = 300000)]
    pub interval_ms: u64,
    /// The first retry delay's ceiling after a transient failure (doubling, with jitter).
    #[uniffi(default = 2000)]
    pub backoff_base_ms: u64,
    /// The longest retry delay.
    #[uniffi(default = 600000)]
    pub backoff_cap_ms: u64,
}

/// One attempt of a watching sync. Made here: its error is the FFI's [`LgtError`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncAttempt {
    /// What it did, when it succeeded.
    pub report: Option<SyncReport>,
    /// Why it failed (`Offline` ones are retried by themselves).
    pub error: Option<LgtError>,
    /// Milliseconds until the next attempt, unless the network hint comes first.
    pub next_in_ms: u64,
}

/// Sync of one open store: `core.sync()`.
#[derive(uniffi::Object)]
pub struct SyncEngine {
    shared: Arc<Shared>,
}

impl SyncEngine {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self { shared })
    }
}

#[uniffi::export]
impl SyncEngine {
    /// Enrolls this device with a sync server under a supervisor's one-time code. The
    /// server is reached over HTTPS and trusted by its TLS key alone: `server_pins` holds the
    /// pin (`sha256/...`) the supervisor hands out with the code. Plain `http://` works to
    /// loopback only, with no pins. A server presenting another key fails with `Offline`
    /// code `sync.untrusted_server` before the code is sent. Cancelling the caller stops
    /// it; after a lost answer, the same code again gets the same device.
    pub async fn enroll(
        &self,
        server_url: String,
        server_pins: Vec<String>,
        code: String,
    ) -> Result<Enrollment, LgtError> {
        let pins = server_pins
            .iter()
            .map(|pin| pin.parse::<core::ServerPin>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                LgtError::from(lgt_core::Error::InvalidArgument {
                    field: "server_pins",
                    reason: e.to_string(),
                })
            })?;
        // The work runs on the core's runtime; dropping this future (a cancelled caller)
        // drops the task, which stops it.
        let task = self
            .shared
            .call(|core| Ok(core.sync_enroll_task(&server_url, &pins, &code)))?;
        guarded_task(task).await
    }

    /// Syncs once: pushes the outbox, pulls every bucket. Fails with `Offline` when the
    /// server cannot be reached, `AuthRequired` when it refuses the device, and `Revoked`
    /// when the device must wipe its store now. Cancelling the caller (a Kotlin coroutine, a
    /// Swift or Python task) stops the sync at its next wait on the network; what it had
    /// settled stays, the rest goes next time.
    pub async fn sync_now(&self) -> Result<SyncReport, LgtError> {
        let task = self.shared.call(|core| Ok(core.sync_now_task()))?;
        guarded_task(task).await
    }

    /// Pins the app's watchlist root public keys (32 bytes each) that the lists the server
    /// sends must verify against; until pinned, they are refused (and reported). Audited.
    pub fn pin_watchlist_roots(&self, pinned_roots: Vec<Vec<u8>>) -> Result<(), LgtError> {
        let policy = pinned_policy(&pinned_roots)?;
        self.shared.call(|core| core.sync_pin_watchlist(&policy))
    }

    /// Queue depth, last success, quarantined operations with reasons, bucket cursors.
    pub fn status(&self) -> Result<SyncStatus, LgtError> {
        self.shared.call(|core| core.sync_status())
    }

    /// The permits of this device's district as last synced, the ones other phones issued
    /// too, for a district list (read-only: only the issuing phone changes a permit). Audited.
    pub fn district_permits(&self) -> Result<Vec<Permit>, LgtError> {
        self.shared.call(|core| core.sync_district_permits())
    }

    /// The next permit number the server reserved for this device, to issue offline; `None`
    /// when the pool is empty or expired (sync to refill it).
    pub fn next_permit_number(&self) -> Result<Option<String>, LgtError> {
        self.shared.call(|core| core.permit_number_from_pool())
    }

    /// Syncs now and then by itself on the core's runtime, reporting every attempt to
    /// `observer`, until the returned subscription is cancelled, the store closes, or an
    /// error needs the user (`AuthRequired`, `Revoked`, ...: passed to `on_stopped`).
    /// Transient failures are retried with backoff.
    pub fn watch(
        &self,
        options: WatchOptions,
        observer: Arc<dyn SyncObserver>,
    ) -> Result<Arc<SyncSubscription>, LgtError> {
        let shell = ShellObserver(observer);
        let running = self
            .shared
            .call(|core| Ok(core.sync_watch(options.into(), shell)))?;
        let watch = Arc::new(Watch(Mutex::new(Some(running))));
        self.shared.watches.add(watch.clone());
        Ok(Arc::new(SyncSubscription { watch }))
    }

    /// The network came back (connectivity callback): every watching sync tries at once
    /// instead of waiting for its timer. Only a hint; the timers fire by themselves too.
    pub fn network_available(&self) {
        self.shared.watches.network_available();
    }
}

/// A running watching sync; cancel it to stop it.
#[derive(uniffi::Object)]
pub struct SyncSubscription {
    watch: Arc<Watch>,
}

#[uniffi::export]
impl SyncSubscription {
    /// Stops the watching sync: no attempt is reported after this returns. A waiting one
    /// ends at once; an attempt in progress ends at its next wait on the network (what it
    /// settled stays). Cancelling twice is harmless.
    pub fn cancel(&self) {
        self.watch.cancel();
    }

    /// Whether it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.watch.is_cancelled()
    }
}

/// The shell's observer as the core's watch sees it. A failing observer cannot undo an
/// attempt: the watch goes on.
struct ShellObserver(Arc<dyn SyncObserver>);

impl WatchObserver for ShellObserver {
    fn on_attempt(&mut self, attempt: &core::SyncAttempt) -> ControlFlow<()> {
        let _ = self.0.on_attempt(attempt.into());
        ControlFlow::Continue(())
    }

    fn on_stopped(&mut self, result: &Result<(), lgt_core::Error>) {
        let _ = self.0.on_stopped(result.as_ref().err().map(LgtError::from));
    }
}

/// One watching sync: the core's handle, taken when it is cancelled.
pub(crate) struct Watch(Mutex<Option<SyncWatch>>);

impl Watch {
    fn handle(&self) -> std::sync::MutexGuard<'_, Option<SyncWatch>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops it and waits until it has (its observer hears `on_stopped` first).
    fn cancel(&self) {
        if let Some(running) = self.handle().take() {
            running.stop();
            let _ = running.wait();
        }
    }

    fn is_cancelled(&self) -> bool {
        self.handle().as_ref().is_none_or(SyncWatch::is_finished)
    }
}

/// The watching syncs of one store: woken by the network hint, stopped when it closes.
#[derive(Default)]
pub(crate) struct Watches(Mutex<Vec<Arc<Watch>>>);

impl Watches {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Watch>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, watch: Arc<Watch>) {
        let mut list = self.list();
        list.retain(|w| !w.is_cancelled());
        list.push(watch);
    }

    fn network_available(&self) {
        for watch in self.list().iter() {
            if let Some(running) = watch.handle().as_ref() {
                running.network_available();
            }
        }
    }

    /// Cancels every watching sync and waits for each to stop (before the store closes).
    pub(crate) fn cancel_all(&self) {
        let watches: Vec<Arc<Watch>> = std::mem::take(&mut *self.list());
        for watch in watches {
            watch.cancel();
        }
    }
}

impl From<WatchOptions> for core::WatchOptions {
    fn from(o: WatchOptions) -> Self {
        Self {
            interval: Duration::from_millis(o.interval_ms),
            backoff: core::Backoff::new(
                Duration::from_millis(o.backoff_base_ms),
                Duration::from_millis(o.backoff_cap_ms),
            ),
        }
    }
}

impl From<&core::SyncAttempt> for SyncAttempt {
    fn from(a: &core::SyncAttempt) -> Self {
        Self {
            report: a.result.as_ref().ok().cloned(),
            error: a.result.as_ref().err().map(LgtError::from),
            next_in_ms: u64::try_from(a.next_in.as_millis()).unwrap_or(u64::MAX),
        }
    }
}
