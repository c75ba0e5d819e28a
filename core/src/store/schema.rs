//! Schema versions and migrations over `PRAGMA user_version`.
//!
//! A new database is built from `sql/v1.sql` followed by every migration, so there is one
//! path to the current schema and the upgrade of an old file is the path a new file takes.

use rusqlite::{params, Transaction};

use super::{context, open_bytes, seal_bytes, StoreError};
use crate::crypto::{audit_chain_hash, RowCipher, Tag};

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = 13;

/// The version that took the unkeyed digests out of the file (migration 009): a file
/// upgraded from before it is scrubbed ([`scrub`]).
pub(crate) const AT_REST_VERSION: u32 = 9;

/// The version that keyed the watchlist's tags by the store (migration 011): a file upgraded
/// from before it has its rows re-keyed ([`key_watchlist_tags`]) and is then scrubbed.
pub(crate) const WATCHLIST_KEYED_VERSION: u32 = 11;

/// The version that bound each sealed row to the rows it links to (migration 012): a file
/// upgraded from before it has those rows sealed again ([`bind_links`]).
pub(crate) const LINKS_BOUND_VERSION: u32 = 12;

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
    include_str!("sql/migrations/011_watchlist_keyed.sql"),
    include_str!("sql/migrations/012_links_bound.sql"),
    include_str!("sql/migrations/013_audit_chain_hash.sql"),
];

/// The version that added the audit trail's hash chain (migration 013): a file upgraded from
/// before it gets the hashes of its records computed in order ([`fill_chain_hashes`]).
const CHAIN_HASH_VERSION: u32 = 13;

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

/// The part of migration 011 that needs the data key: every watchlist tag (rows, details,
/// alerts) becomes the store's keyed form of it, and every entry's details are sealed again
/// under the store's key.
pub(crate) fn key_watchlist_tags(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
) -> Result<(), StoreError> {
    let tag_of = |bytes: Vec<u8>, record: &str| -> Result<Tag, StoreError> {
        Tag::try_from(bytes.as_slice()).map_err(|_| StoreError::Malformed {
            record: record.into(),
        })
    };
    let entries: Vec<(Vec<u8>, i64)> = tx
        .prepare("SELECT tag, kind FROM watchlist_entries")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    tx.execute("DELETE FROM watchlist_entries", [])?;
    let mut insert = tx.prepare("INSERT INTO watchlist_entries (tag, kind) VALUES (?1, ?2)")?;
    for (tag, kind) in entries {
        let tag = cipher.watchlist_tag(&tag_of(tag, "watchlist_entries")?);
        insert.execute(params![&tag[..], kind])?;
    }
    let details: Vec<(Vec<u8>, Vec<u8>)> = tx
        .prepare("SELECT tag, sealed FROM watchlist_details")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    tx.execute("DELETE FROM watchlist_details", [])?;
    let mut insert = tx.prepare("INSERT INTO watchlist_details (tag, sealed) VALUES (?1, ?2)")?;
    for (tag, sealed) in details {
        let tag = cipher.watchlist_tag(&tag_of(tag, "watchlist_details")?);
        let sealed = seal_bytes(cipher, &context::watchlist_details(&tag), &sealed)?;
        insert.execute(params![&tag[..], sealed])?;
    }
    let alerts: Vec<(String, Vec<u8>)> = tx
        .prepare("SELECT id, tag FROM watchlist_alerts")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = tx.prepare("UPDATE watchlist_alerts SET tag = ?2 WHERE id = ?1")?;
    for (id, tag) in alerts {
        let tag = cipher.watchlist_tag(&tag_of(tag, "watchlist_alerts")?);
        update.execute(params![id, &tag[..]])?;
    }
    Ok(())
}

/// Migration 012: seals again, under [`context`], every row whose context before named only
/// its table and id (identity documents, registrations, permits, alerts), so the person and
/// version columns beside them are bound from now on.
pub(crate) fn bind_links(tx: &Transaction<'_>, cipher: &RowCipher) -> Result<(), StoreError> {
    // (table, what links it, the context it is sealed under from now on)
    type Bound = fn(&str, &str, u32) -> String;
    let tables: [(&str, &str, Bound); 4] = [
        ("person_identifiers", "person_id, 0", |id, person, _| {
            context::person_identifier(id, person)
        }),
        ("registrations", "person_id, 0", |id, person, _| {
            context::registration(id, person)
        }),
        ("permits", "person_id, version", context::permit),
        (
            "watchlist_alerts",
            "coalesce(person_id, ''), 0",
            |id, person, _| context::watchlist_alert(id, (!person.is_empty()).then_some(person)),
        ),
    ];
    for (table, links, bound) in tables {
        let rows: Vec<(String, String, u32, Vec<u8>)> = tx
            .prepare(&format!("SELECT id, {links}, sealed FROM {table}"))?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let mut update = tx.prepare(&format!("UPDATE {table} SET sealed = ?2 WHERE id = ?1"))?;
        for (id, person, version, sealed) in rows {
            // A row that did not open before stays as it is: reading it says `store.corrupt`.
            let Ok(plain) = open_bytes(cipher, &format!("{table}:{id}"), &sealed) else {
                continue;
            };
            let sealed = seal_bytes(cipher, &bound(&id, &person, version), &plain)?;
            update.execute(params![id, sealed])?;
        }
    }
    Ok(())
}

/// Computes the chain hash of every audit record that has none, in sequence order, each from
/// the one before (the records of a file written before migration 013).
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
