//! Schema versions and migrations over `PRAGMA user_version`.
//!
//! A new database is built from `sql/v1.sql` followed by every migration, so there is one
//! path to the current schema and the upgrade of an old file is the path a new file takes.

use rusqlite::Transaction;

use super::StoreError;
use crate::crypto::audit_chain_hash;

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = 11;

/// The version that took the unkeyed digests out of the file (migration 009): a file
/// upgraded from before it is scrubbed ([`scrub`]).
pub(crate) const AT_REST_VERSION: u32 = 9;

/// The first released schema, kept verbatim.
pub(crate) const V1: &str = include_str!("sql/v1.sql");

/// Migration scripts: entry `i` upgrades version `i + 1` to `i + 2`.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("sql/migrations/002_permits.sql"),
    include_str!("sql/migrations/003_scan_keys.sql"),
    include_str!("sql/migrations/004_watchlist.sql"),
    include_str!("sql/migrations/005_sync.sql"),
    include_str!("sql/migrations/006_sync_trust.sql"),
    include_str!("sql/migrations/007_key_trust.sql"),
    include_str!("sql/migrations/008_district.sql"),
    include_str!("sql/migrations/009_at_rest.sql"),
    include_str!("sql/migrations/010_replica_deferred.sql"),
    include_str!("sql/migrations/011_audit_chain_hash.sql"),
];

/// The version that added the audit trail's hash chain (migration 011): a file upgraded from
/// before it gets the hashes of its records computed in order ([`fill_chain_hashes`]).
const CHAIN_HASH_VERSION: u32 = 11;

/// Brings the database in `tx` from `from` to [`CURRENT_VERSION`]; `from == 0` is a new file.
pub(crate) fn upgrade(tx: &Transaction<'_>, from: u32) -> Result<(), StoreError> {
    if from > CURRENT_VERSION {
        return Err(StoreError::NewerSchema { found: from });
    }
    if from == 0 {
        tx.execute_batch(V1)?;
    }
    for script in MIGRATIONS.iter().skip(from.saturating_sub(1) as usize) {
        tx.execute_batch(script)?;
    }
    if from < CHAIN_HASH_VERSION {
        fill_chain_hashes(tx)?;
    }
    tx.pragma_update(None, "user_version", CURRENT_VERSION)?;
    Ok(())
}

/// Computes the chain hash of every audit record that has none, in sequence order, each from
/// the one before (the records of a file written before migration 011).
fn fill_chain_hashes(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let mut rows = Vec::new();
    {
        let mut statement = tx.prepare(
            "SELECT seq, at, actor, action, record_kind, record_id, chain_hash FROM audit_log
             ORDER BY seq",
        )?;
        let mut query = statement.query([])?;
        while let Some(row) = query.next()? {
            let fields: [String; 5] = [
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ];
            rows.push((
                row.get::<_, i64>(0)?,
                fields,
                row.get::<_, Option<Vec<u8>>>(6)?,
            ));
        }
    }
    let mut prev = lgt_protocol::AUDIT_CHAIN_GENESIS;
    let mut update = tx.prepare("UPDATE audit_log SET chain_hash = ?2 WHERE seq = ?1")?;
    for (seq, fields, stored) in rows {
        let hash = audit_chain_hash(&prev, seq, fields.each_ref().map(String::as_str));
        if stored.is_none() {
            update.execute(rusqlite::params![seq, hash.to_vec()])?;
        }
        prev = hash;
    }
    Ok(())
}

/// Rewrites the whole file and empties the WAL, so values an upgrade dropped leave the
/// freed pages and the old WAL frames too (what flash keeps below SQLite is beyond reach).
/// Runs after the upgrade's commit: `VACUUM` cannot run inside a transaction.
pub(crate) fn scrub(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    conn.execute_batch("VACUUM")?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}
