//! Applies the district's records: the `records` bucket's persons, registrations and
//! dwellings, then the `permits` bucket's permits, merged into this phone's own tables by
//! the capabilities that own them; and puts a record the server did not take back to the
//! server's state.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use lgt_protocol::{Bucket, Entry};
use rusqlite::Transaction;

use crate::crypto::RowCipher;
use crate::permit::{self, Merge, Permit};
use crate::registration::replica;
use crate::store::StoreError;
use crate::sync::{self, SyncReport};
use crate::watchlist;

/// Merges the `records` bucket's entries, then folds every person of this phone the server
/// merged into a district person and that has nothing waiting.
pub(super) fn apply_records(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    entries: &[Entry],
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    let merged = replica::merge(tx, cipher, entries, now)?;
    report.district_merged += merged.applied;
    report.district_kept += merged.kept_local;
    report.district_refused.extend(merged.refused);
    for (alias, person) in replica::foldable(tx)? {
        permit::repoint(tx, cipher, &alias, &person, now)?;
        watchlist::repoint_alerts(tx, cipher, &alias, &person)?;
        replica::fold(tx, cipher, &alias, &person)?;
        report.persons_folded.push(sync::FoldedPerson {
            person_id: alias,
            into: person,
        });
    }
    Ok(())
}

/// Merges the `permits` bucket's entries, and those deferred before because their holder
/// had not arrived (it may have with this pull's records).
pub(super) fn apply_permits(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    entries: &[Entry],
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    // A deferred key this pull brings again is merged from the pulled entry below.
    let pulled: HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    for key in sync::deferred(tx, Bucket::Permits)? {
        if pulled.contains(key.as_str()) {
            continue;
        }
        match sync::replica_entry(tx, cipher, Bucket::Permits, &key)? {
            Some(data) => merge_permit(tx, cipher, &key, &data, now, report)?,
            None => sync::undefer(tx, Bucket::Permits, &key)?,
        }
    }
    for entry in entries {
        // The server never deletes a permit (a cancelled one stays, cancelled).
        let Some(data) = &entry.data else {
            continue;
        };
        merge_permit(tx, cipher, &entry.key, data, now, report)?;
    }
    Ok(())
}

fn merge_permit(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    key: &str,
    data: &str,
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    match serde_json::from_str::<Permit>(data) {
        Ok(permit) if permit.id == key => {
            match permit::merge_from_server(tx, cipher, &permit, now)? {
                Merge::Written => {
                    sync::undefer(tx, Bucket::Permits, key)?;
                    report.district_merged += 1;
                }
                Merge::Pending => report.district_kept += 1,
                Merge::NoHolder => {
                    sync::defer(tx, Bucket::Permits, key)?;
                    report.district_kept += 1;
                }
            }
        }
        _ => report
            .district_refused
            .push(format!("permit {key}: malformed")),
    }
    Ok(())
}

/// A permit event the server kept as a conflict or refused: the permit goes back to the
/// server's state, when the replica holds it (a permit the server never took stays as this
/// phone made it, its operation quarantined with the reason).
pub(super) fn diverged(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    kind: &str,
    record_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if kind != "permit.event" {
        return Ok(());
    }
    if let Some(data) = sync::replica_entry(tx, cipher, Bucket::Permits, record_id)? {
        if let Ok(permit) = serde_json::from_str::<Permit>(&data) {
            permit::merge_from_server(tx, cipher, &permit, now)?;
        }
    }
    Ok(())
}
