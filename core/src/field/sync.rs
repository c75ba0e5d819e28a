//! FieldCore's sync methods: blocking calls for the shell, each running the async engine
//! on a runtime of its own, and each audited.

use std::ops::ControlFlow;

use lgt_protocol::{Bucket, ServerPin};

use super::FieldCore;
use crate::permit::Permit;
use crate::sync::{
    self, Enrollment, SyncAttempt, SyncCancel, SyncError, SyncReport, SyncStatus, SyncTrigger,
    WatchOptions,
};
use crate::watchlist::WatchlistPolicy;
use crate::Error;

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| {
            SyncError::Transient {
                reason: "could not start the sync runtime".into(),
                retry_after: None,
            }
            .into()
        })
}

impl FieldCore {
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
        self.sync_enroll_with(server_url, server_pins, code, &SyncCancel::new())
    }

    /// [`FieldCore::sync_enroll`] that `cancel` stops from another thread, with
    /// [`SyncError::Cancelled`]; the same code may be tried again.
    pub fn sync_enroll_with(
        &self,
        server_url: &str,
        server_pins: &[ServerPin],
        code: &str,
        cancel: &SyncCancel,
    ) -> Result<Enrollment, Error> {
        let enrolled = sync::enroll(&self.store, self.clock.now(), server_url, server_pins, code);
        let enrollment = runtime()?.block_on(cancel.run(enrolled))?;
        self.store.write(|tx| {
            self.session()
                .audit(tx, "sync.enroll", "device", &enrollment.device_id)
        })?;
        Ok(enrollment)
    }

    /// Pins the watchlist roots (and least stretching cost) that the packages of the
    /// server's `watchlist` bucket must verify against: the shell's build carries them, the
    /// server never chooses them. Until pinned, those packages are refused (and reported).
    pub fn sync_pin_watchlist(&self, policy: &WatchlistPolicy) -> Result<(), Error> {
        sync::pin_watchlist(&self.store, policy)?;
        let store_id = self.store.id().to_owned();
        Ok(self.store.write(|tx| {
            self.session()
                .audit(tx, "sync.pin_watchlist", "store", &store_id)
        })?)
    }

    /// Syncs once: pushes the outbox, pulls every bucket to its checkpoint, imports the
    /// watchlist versions the `watchlist` bucket brought (see
    /// [`SyncReport::watchlist_imported`]). A [`SyncError::Revoked`] answer means the shell
    /// must wipe the store now.
    pub fn sync_now(&self) -> Result<SyncReport, Error> {
        self.sync_now_with(&SyncCancel::new())
    }

    /// [`FieldCore::sync_now`] that `cancel` stops from another thread (a shell whose caller
    /// gave up): it then fails with [`SyncError::Cancelled`] at its next wait on the network,
    /// losing nothing (the engine settles each answer as it arrives).
    pub fn sync_now_with(&self, cancel: &SyncCancel) -> Result<SyncReport, Error> {
        let result =
            runtime()?.block_on(cancel.run(sync::sync_once(&self.store, self.clock.now())));
        self.audit_sync()?;
        let report = result?;
        self.audit_report(&report)?;
        Ok(report)
    }

    /// Syncs now and then by itself (see [`WatchOptions`]) until `observer` breaks, `trigger`
    /// is stopped, or an error needs the user; `trigger` also wakes it early.
    pub fn sync_watch(
        &self,
        options: WatchOptions,
        trigger: &SyncTrigger,
        observer: &mut dyn FnMut(&SyncAttempt) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        let mut audit_failure = None;
        let mut audited = |attempt: &SyncAttempt| match self.audit_sync().and_then(|()| {
            attempt
                .result
                .as_ref()
                .map_or(Ok(()), |report| self.audit_report(report))
        }) {
            Ok(()) => observer(attempt),
            Err(e) => {
                audit_failure = Some(e);
                ControlFlow::Break(())
            }
        };
        let now = || self.clock.now();
        let result = runtime()?.block_on(sync::watch(
            &self.store,
            now,
            options,
            trigger,
            &mut audited,
        ));
        match audit_failure {
            Some(e) => Err(e),
            None => Ok(result?),
        }
    }

    /// Queue depth, last success, quarantined operations with reasons, bucket cursors.
    pub fn sync_status(&self) -> Result<SyncStatus, Error> {
        Ok(sync::status(&self.store, self.clock.now())?)
    }

    /// The next permit number the server reserved for this device (lowest first), to issue
    /// offline; `None` when the pool is empty or expired (sync to refill it).
    pub fn permit_number_from_pool(&self) -> Result<Option<String>, Error> {
        Ok(sync::next_permit_number(&self.store, self.clock.now())?)
    }

    /// The replica of one server bucket: `(key, JSON text)` by key. Audited: it is
    /// personal data.
    pub fn sync_replica(&self, bucket: Bucket) -> Result<Vec<(String, String)>, Error> {
        self.check_unlocked()?;
        let entries = sync::replica(&self.store, bucket)?;
        self.store.write(|tx| {
            self.session()
                .audit(tx, "sync.replica_read", "bucket", bucket.as_str())
        })?;
        Ok(entries)
    }

    /// The permits of this device's district as last synced, the ones other phones issued
    /// too (read-only here: only the issuing phone changes a permit). Audited: personal data.
    pub fn sync_district_permits(&self) -> Result<Vec<Permit>, Error> {
        self.check_unlocked()?;
        let permits = self
            .store
            .read(|conn| sync::district_permits(conn, self.store.cipher()))?;
        let store_id = self.store.id().to_owned();
        self.store.write(|tx| {
            self.session()
                .audit(tx, "sync.district_permits_read", "store", &store_id)
        })?;
        Ok(permits)
    }

    /// Refuses personal data once the device has gone past its offline limit without a
    /// successful sync (a never-enrolled store has no limit).
    pub(super) fn check_unlocked(&self) -> Result<(), Error> {
        Ok(sync::check_unlocked(&self.store, self.clock.now())?)
    }

    /// The audit records of what a sync changed beyond data: the watchlist versions it
    /// imported, a device key it replaced.
    fn audit_report(&self, report: &SyncReport) -> Result<(), Error> {
        if report.watchlist_imported.is_empty() && !report.device_key_rotated {
            return Ok(());
        }
        let store_id = self.store.id().to_owned();
        self.store.write(|tx| {
            for info in &report.watchlist_imported {
                let record = format!("{}@{}", info.list_id, info.version);
                self.session()
                    .audit(tx, "watchlist.import", "watchlist", &record)?;
            }
            if report.device_key_rotated {
                self.session()
                    .audit(tx, "sync.device_key_rotated", "store", &store_id)?;
            }
            Ok(())
        })
    }

    /// The audit record of a sync attempt (it read and sent personal data).
    fn audit_sync(&self) -> Result<(), Error> {
        let store_id = self.store.id().to_owned();
        Ok(self
            .store
            .write(|tx| self.session().audit(tx, "sync.run", "store", &store_id))?)
    }
}
