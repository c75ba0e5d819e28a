//! Sync as the coordinator's work sees it: enrolling, syncing once or by itself, each audited;
//! and the appliers that hand what a checkpoint brought to the capabilities that own its
//! rules (watchlist packages, issuer keys). The engine itself is [`crate::sync`].

mod district;
mod issuers;
mod watchlist;

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use lgt_protocol::{Bucket, Entry, ServerPin};
use rusqlite::Transaction;

use crate::audit::{self, Audited};
use crate::crypto::RowCipher;
use crate::permit::{self, Permit};
use crate::session::Session;
use crate::store::{Store, StoreError, Unlocked};
use crate::sync::{self, Appliers, Enrollment, SyncAttempt, SyncReport, SyncTrigger, WatchOptions};
use crate::watchlist::WatchlistPolicy;
use crate::Error;

/// The capabilities' appliers, by bucket.
struct DomainAppliers;

impl Appliers for DomainAppliers {
    fn apply(
        &self,
        tx: &Transaction<'_>,
        cipher: &RowCipher,
        bucket: Bucket,
        entries: &[Entry],
        now: DateTime<Utc>,
        recovery: bool,
        report: &mut SyncReport,
    ) -> Result<(), StoreError> {
        match bucket {
            Bucket::Records => district::apply_records(tx, cipher, entries, now, report)?,
            Bucket::Permits => district::apply_permits(tx, cipher, entries, now, report)?,
            Bucket::Watchlist => {
                let imported = watchlist::import(tx, cipher, entries, now, recovery)?;
                report.watchlist_imported.extend(imported.applied);
                report.watchlist_refused.extend(imported.refused);
            }
            Bucket::Issuers => report
                .issuers_refused
                .extend(issuers::apply(tx, entries, now)?),
            Bucket::Commands => {}
        }
        Ok(())
    }

    fn diverged(
        &self,
        tx: &Transaction<'_>,
        cipher: &RowCipher,
        kind: &str,
        record_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        district::diverged(tx, cipher, kind, record_id, now)
    }
}

/// Enrolls this device (see [`crate::FieldCore::sync_enroll`]), audited.
pub(crate) async fn enroll(
    store: &Store,
    session: &Session<'_>,
    server_url: &str,
    server_pins: &[ServerPin],
    code: &str,
) -> Result<Enrollment, Error> {
    let enrollment = sync::enroll(store, session.now(), server_url, server_pins, code).await?;
    audit::record_in(
        store,
        session,
        "sync.enroll",
        "device",
        &enrollment.device_id,
    )?;
    Ok(enrollment)
}

/// One sync, audited: the attempt (it read and sent personal data) and what it changed
/// beyond data.
pub(crate) async fn sync_once(store: &Store, session: &Session<'_>) -> Result<SyncReport, Error> {
    let result = sync::sync_once(store, &DomainAppliers, session.now()).await;
    audit_attempt(store, session, result.as_ref().ok())?;
    Ok(result?)
}

/// Syncs now and then by itself until `trigger` stops it, `observer` breaks, or an error
/// needs the user; every attempt audited before the observer sees it.
pub(crate) async fn watch(
    store: &Store,
    session: &Session<'_>,
    options: WatchOptions,
    trigger: &SyncTrigger,
    observer: &mut (dyn FnMut(&SyncAttempt) -> ControlFlow<()> + Send),
) -> Result<(), Error> {
    let mut audit_failure = None;
    let mut audited =
        |attempt: &SyncAttempt| match audit_attempt(store, session, attempt.result.as_ref().ok()) {
            Ok(()) => observer(attempt),
            Err(e) => {
                audit_failure = Some(e);
                ControlFlow::Break(())
            }
        };
    let now = || session.now();
    let result = sync::watch(store, &DomainAppliers, now, options, trigger, &mut audited).await;
    match audit_failure {
        Some(e) => Err(e),
        None => Ok(result?),
    }
}

/// Pins the watchlist roots the `watchlist` bucket's packages must verify against. Audited.
pub(crate) fn pin_watchlist(
    store: &Store,
    session: &Session<'_>,
    policy: &WatchlistPolicy,
) -> Result<(), Error> {
    sync::pin_watchlist(store, policy)?;
    audit::record_in(store, session, "sync.pin_watchlist", "store", store.id())?;
    Ok(())
}

/// The replica of one server bucket. Audited: it is personal data.
pub(crate) fn replica(
    unlocked: &Unlocked<'_>,
    bucket: Bucket,
) -> Result<Vec<(String, String)>, Error> {
    let entries = sync::replica(unlocked, bucket)?;
    unlocked.write(|tx| unlocked.audit(tx, "sync.replica_read", "bucket", bucket.as_str()))?;
    Ok(entries)
}

/// The permits of this device's district as last synced. Audited: personal data.
pub(crate) fn district_permits(unlocked: &Unlocked<'_>) -> Result<Vec<Permit>, Error> {
    let permits = permit::from_replica(&sync::replica(unlocked, Bucket::Permits)?)?;
    unlocked.write(|tx| {
        unlocked.audit(
            tx,
            "sync.district_permits_read",
            "store",
            unlocked.store_id(),
        )
    })?;
    Ok(permits)
}

/// The audit records of a sync attempt and of what it changed beyond data: the watchlist
/// versions it imported, a device key it replaced.
fn audit_attempt(
    store: &Store,
    session: &Session<'_>,
    report: Option<&SyncReport>,
) -> Result<(), Error> {
    store.write(|tx| {
        audit::record(tx, store, session, "sync.run", "store", store.id())?;
        let Some(report) = report else {
            return Ok(());
        };
        for folded in &report.persons_folded {
            let record = format!("{}>{}", folded.person_id, folded.into);
            audit::record(tx, store, session, "person.merged", "person", &record)?;
        }
        for info in &report.watchlist_imported {
            let record = format!("{}@{}", info.list_id, info.version);
            audit::record(tx, store, session, "watchlist.import", "watchlist", &record)?;
        }
        if report.device_key_rotated {
            audit::record(
                tx,
                store,
                session,
                "sync.device_key_rotated",
                "store",
                store.id(),
            )?;
        }
        Ok::<_, Error>(())
    })
}
