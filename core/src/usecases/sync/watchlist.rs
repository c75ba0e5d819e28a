//! Imports the `watchlist` bucket's packages at the checkpoint that brought them.
//!
//! Each package goes through the same verification and apply as
//! [`crate::FieldCore::watchlist_import`] (pinned roots, signatures, expiry, version order,
//! base version), under a savepoint of its own inside the checkpoint's transaction: a refused
//! package leaves the list in use as it was and is reported, and the rest of the sync (the
//! bucket's cursor included) goes on, so one bad package does not hold every sync back.

use chrono::{DateTime, Utc};
use lgt_protocol::{Entry, WatchlistEntry};
use rusqlite::Transaction;

use crate::crypto::RowCipher;
use crate::store::StoreError;
use crate::sync;
use crate::watchlist::{self, ListInfo, ListStatus};
use crate::Error;

/// What importing one checkpoint's packages did.
#[derive(Debug, Default)]
pub(super) struct Imported {
    /// Versions now in use, in the order they were applied.
    pub applied: Vec<ListInfo>,
    /// Packages refused, with why (versions and codes only).
    pub refused: Vec<String>,
}

/// Imports the packages among `entries` (in bucket order). On a `recovery` (the bucket
/// downloaded whole again) versions not newer than the one in use are skipped, not refused:
/// they were applied before.
pub(super) fn import(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    entries: &[Entry],
    now: DateTime<Utc>,
    recovery: bool,
) -> Result<Imported, StoreError> {
    let mut imported = Imported::default();
    let packages: Vec<&str> = entries.iter().filter_map(|e| e.data.as_deref()).collect();
    if packages.is_empty() {
        return Ok(imported);
    }
    let policy = sync::watchlist_policy(tx)?;
    for data in packages {
        let Some((version, bytes)) = serde_json::from_str::<WatchlistEntry>(data)
            .ok()
            .and_then(|e| Some((e.version, e.package_bytes()?)))
        else {
            imported
                .refused
                .push("a watchlist bucket entry is malformed".into());
            continue;
        };
        let Some(policy) = &policy else {
            imported.refused.push(format!(
                "version {version}: no watchlist root is pinned on this device"
            ));
            continue;
        };
        if recovery && version <= version_in_use(tx, now)?.unwrap_or(0) {
            continue;
        }
        tx.execute_batch("SAVEPOINT watchlist_import")?;
        match watchlist::apply(tx, cipher, &bytes, policy, now) {
            Ok(info) => {
                tx.execute_batch("RELEASE watchlist_import")?;
                imported.applied.push(info);
            }
            Err(e) => {
                tx.execute_batch("ROLLBACK TO watchlist_import; RELEASE watchlist_import")?;
                match e {
                    Error::Store(e) => return Err(e),
                    e => imported
                        .refused
                        .push(format!("version {version}: {e} ({})", e.code())),
                }
            }
        }
    }
    Ok(imported)
}

fn version_in_use(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<Option<u64>, StoreError> {
    Ok(match watchlist::status(tx, now)? {
        ListStatus::Missing => None,
        ListStatus::Current(info) | ListStatus::OutOfDate(info) => Some(info.version),
    })
}
