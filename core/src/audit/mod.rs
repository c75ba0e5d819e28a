//! The audit trail: append-only and MAC-chained.
//!
//! Each record says who did what, when, to which record, and never holds a personal value.
//! Its MAC covers the previous record's MAC, so editing, deleting or reordering any record
//! breaks the chain from that point; a keyed head record catches a truncated tail. The MAC
//! key is derived from the store's data key, so rewriting the chain needs the key, and SQL
//! triggers refuse UPDATE and DELETE outright.
//!
//! Beside the MAC, each record carries its **chain hash**: the SHA-256 of the previous
//! record's chain hash and its own fields ([`lgt_protocol::audit_chain_input`]), unkeyed. The
//! sync engine uploads the records with it under the head signed by the device key, and the
//! server, which holds no key of this store, keeps them only if they extend the chain it
//! holds: a holder of this phone's keys can rewrite the file consistently, but not the
//! history the server has seen.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::crypto::{audit_chain_hash, constant_time_eq, RowCipher, AUDIT_MAC_LEN};
use crate::session::Session;
use crate::store::{note_audited_time, timestamp, Store, StoreError, Unlocked};

const GENESIS: [u8; AUDIT_MAC_LEN] = [0u8; AUDIT_MAC_LEN];
const CHAIN_GENESIS: [u8; 32] = lgt_protocol::AUDIT_CHAIN_GENESIS;
const HEAD_KEY: &str = "audit_head";

/// One thing to record.
#[derive(Debug, Clone, Copy)]
pub struct AuditEvent<'a> {
    /// Who (the coordinator's account id).
    pub actor: &'a str,
    /// What, e.g. `registration.create`, `person.read`, `permit.endorse`.
    pub action: &'a str,
    /// The kind of record touched, e.g. `person`, `permit`.
    pub record_kind: &'a str,
    /// The id of the record touched (never a personal value).
    pub record_id: &'a str,
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Kind of record.
    pub record_kind: String,
    /// Which record.
    pub record_id: String,
}

/// Why the chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum BreakKind {
    /// The record's MAC, or its chain hash, does not match its content and predecessor:
    /// edited or reordered.
    Tampered,
    /// A record is missing before this sequence number: deleted.
    Missing,
    /// The chain ends before the last record the store committed: truncated.
    Truncated,
}

/// The first broken link found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BrokenLink {
    /// The sequence number where the chain breaks.
    pub seq: i64,
    /// How it breaks.
    pub kind: BreakKind,
}

/// Result of verifying the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AuditReport {
    /// Records checked.
    pub records: u64,
    /// The first broken link, or `None` when the whole chain verifies.
    pub first_broken: Option<BrokenLink>,
}

impl AuditReport {
    /// Whether the chain verified.
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

fn canonical(seq: i64, record: &AuditRecordRef<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(&seq.to_be_bytes());
    for field in [
        record.at,
        record.actor,
        record.action,
        record.record_kind,
        record.record_id,
    ] {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

struct AuditRecordRef<'a> {
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    record_kind: &'a str,
    record_id: &'a str,
}

impl<'a> AuditRecordRef<'a> {
    /// The fields the chain hash covers, in its order.
    fn fields(&self) -> [&'a str; 5] {
        [
            self.at,
            self.actor,
            self.action,
            self.record_kind,
            self.record_id,
        ]
    }
}

/// A stored chain hash as 32 bytes; a missing or malformed one is a malformed record (every
/// record has one from store migration 013 on).
fn chain_hash_of(seq: i64, stored: Option<Vec<u8>>) -> Result<[u8; 32], StoreError> {
    stored
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| StoreError::Malformed {
            record: format!("audit_log:{seq}"),
        })
}

fn head_mac(cipher: &RowCipher, seq: i64, mac: &[u8]) -> [u8; AUDIT_MAC_LEN] {
    cipher.audit_mac(b"head", &[&seq.to_be_bytes()[..], mac].concat())
}

/// Records that the session's actor did `action` to the record `record_kind`/`record_id`,
/// now, inside the caller's transaction on `store`.
pub fn record(
    tx: &Transaction<'_>,
    store: &Store,
    session: &Session<'_>,
    action: &str,
    record_kind: &str,
    record_id: &str,
) -> Result<(), StoreError> {
    record_with(tx, store.cipher(), session, action, record_kind, record_id)
}

/// [`record`] in a transaction of its own.
pub fn record_in(
    store: &Store,
    session: &Session<'_>,
    action: &str,
    record_kind: &str,
    record_id: &str,
) -> Result<(), StoreError> {
    store.write(|tx| record(tx, store, session, action, record_kind, record_id))
}

fn record_with(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    session: &Session<'_>,
    action: &str,
    record_kind: &str,
    record_id: &str,
) -> Result<(), StoreError> {
    let event = AuditEvent {
        actor: session.actor(),
        action,
        record_kind,
        record_id,
    };
    append(tx, cipher, session.now(), event).map(|_| ())
}

/// Verifies the chain of `store` (see [`verify`]).
pub fn verify_store(store: &Store) -> Result<AuditReport, StoreError> {
    store.read(|conn| verify(conn, store.cipher()))
}

/// The audit trail of work on personal data: `unlocked.audit(tx, action, kind, id)`.
pub trait Audited {
    /// Records `action` on `record_kind`/`record_id` in the caller's transaction.
    fn audit(
        &self,
        tx: &Transaction<'_>,
        action: &str,
        record_kind: &str,
        record_id: &str,
    ) -> Result<(), StoreError>;
}

impl Audited for Unlocked<'_> {
    fn audit(
        &self,
        tx: &Transaction<'_>,
        action: &str,
        record_kind: &str,
        record_id: &str,
    ) -> Result<(), StoreError> {
        record_with(
            tx,
            self.cipher(),
            self.session(),
            action,
            record_kind,
            record_id,
        )
    }
}

/// Appends `event` at time `at` inside the caller's transaction; returns its sequence number.
pub fn append(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    at: DateTime<Utc>,
    event: AuditEvent<'_>,
) -> Result<i64, StoreError> {
    let last: Option<(i64, Vec<u8>, Option<Vec<u8>>)> = tx
        .prepare_cached("SELECT seq, mac, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let (prev_seq, prev_mac, prev_hash) = match last {
        None => (0, GENESIS.to_vec(), CHAIN_GENESIS),
        Some((seq, mac, hash)) => (seq, mac, chain_hash_of(seq, hash)?),
    };
    let seq = prev_seq + 1;
    let at_instant = at;
    let at = timestamp(at);
    let record = AuditRecordRef {
        at: &at,
        actor: event.actor,
        action: event.action,
        record_kind: event.record_kind,
        record_id: event.record_id,
    };
    let mac = cipher.audit_mac(&prev_mac, &canonical(seq, &record));
    let chain_hash = audit_chain_hash(&prev_hash, seq, record.fields());
    tx.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, record_kind, record_id, mac, chain_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        seq,
        at,
        event.actor,
        event.action,
        event.record_kind,
        event.record_id,
        mac,
        chain_hash.to_vec()
    ])?;
    let head = [&seq.to_be_bytes()[..], &head_mac(cipher, seq, &mac)].concat();
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![HEAD_KEY, head])?;
    // The offline lock's record of the latest time follows the chain (and rises with it).
    note_audited_time(tx, cipher, at_instant, prev_seq, seq)?;
    Ok(seq)
}

/// The MAC of record `seq`, `None` when the chain has no such record; the last record's
/// sequence number and MAC with `seq = None`. What the sync engine shows the server, which
/// anchors the chain's head (a MAC is keyed by this store and reveals nothing else).
pub fn mac_at(conn: &Connection, seq: Option<i64>) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    let row = match seq {
        Some(seq) => conn
            .prepare_cached("SELECT seq, mac FROM audit_log WHERE seq = ?1")?
            .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
        None => conn
            .prepare_cached("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
    };
    Ok(row)
}

/// The last record's sequence number and chain hash: the head of the chain the sync engine
/// signs and uploads. `None` for an empty chain.
pub fn chain_head(conn: &Connection) -> Result<Option<(i64, [u8; 32])>, StoreError> {
    let row: Option<(i64, Option<Vec<u8>>)> = conn
        .prepare_cached("SELECT seq, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(seq, hash)| Ok((seq, chain_hash_of(seq, hash)?)))
        .transpose()
}

/// A record with its links in the hash chain, as the sync engine uploads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedRecord {
    /// The record.
    pub record: AuditRecord,
    /// The previous record's chain hash (32 zero bytes before the first record).
    pub prev_chain_hash: [u8; 32],
    /// This record's chain hash.
    pub chain_hash: [u8; 32],
}

/// The records from sequence number `from` to `to`, at most `limit` of them, in order, with
/// their chain links.
pub fn chain_records(
    conn: &Connection,
    from: i64,
    to: i64,
    limit: usize,
) -> Result<Vec<ChainedRecord>, StoreError> {
    let from = from.max(1);
    let mut prev_hash = match from {
        1 => CHAIN_GENESIS,
        _ => {
            let stored: Option<Option<Vec<u8>>> = conn
                .prepare_cached("SELECT chain_hash FROM audit_log WHERE seq = ?1")?
                .query_row([from - 1], |r| r.get(0))
                .optional()?;
            chain_hash_of(from - 1, stored.flatten())?
        }
    };
    let mut statement = conn.prepare_cached(
        "SELECT seq, at, actor, action, record_kind, record_id, chain_hash FROM audit_log
         WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3",
    )?;
    let mut rows = statement.query(params![from, to, i64::try_from(limit).unwrap_or(i64::MAX)])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let chain_hash = chain_hash_of(seq, row.get(6)?)?;
        out.push(ChainedRecord {
            record: AuditRecord {
                seq,
                at: row.get(1)?,
                actor: row.get(2)?,
                action: row.get(3)?,
                record_kind: row.get(4)?,
                record_id: row.get(5)?,
            },
            prev_chain_hash: prev_hash,
            chain_hash,
        });
        prev_hash = chain_hash;
    }
    Ok(out)
}

/// Walks the whole chain and reports the first broken link.
pub fn verify(conn: &Connection, cipher: &RowCipher) -> Result<AuditReport, StoreError> {
    let mut statement = conn.prepare(
        "SELECT seq, at, actor, action, record_kind, record_id, mac, chain_hash FROM audit_log
         ORDER BY seq",
    )?;
    let mut rows = statement.query([])?;
    let mut expected_seq = 1i64;
    let mut prev_mac = GENESIS.to_vec();
    let mut prev_hash = CHAIN_GENESIS;
    let mut records = 0u64;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let (at, actor, action, kind, id): (String, String, String, String, String) = (
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
        );
        let mac: Vec<u8> = row.get(6)?;
        let chain_hash: Option<Vec<u8>> = row.get(7)?;
        records += 1;
        if seq != expected_seq {
            return Ok(broken(records, expected_seq, BreakKind::Missing));
        }
        let record = AuditRecordRef {
            at: &at,
            actor: &actor,
            action: &action,
            record_kind: &kind,
            record_id: &id,
        };
        let computed = cipher.audit_mac(&prev_mac, &canonical(seq, &record));
        let hash = audit_chain_hash(&prev_hash, seq, record.fields());
        if !constant_time_eq(&computed, &mac) || chain_hash.as_deref() != Some(&hash[..]) {
            return Ok(broken(records, seq, BreakKind::Tampered));
        }
        prev_mac = mac;
        prev_hash = hash;
        expected_seq += 1;
    }
    let last_seq = expected_seq - 1;
    let head: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [HEAD_KEY], |r| {
            r.get(0)
        })
        .optional()?;
    let head_ok = match head {
        None => last_seq == 0,
        Some(head) => {
            let expected = [
                &last_seq.to_be_bytes()[..],
                &head_mac(cipher, last_seq, &prev_mac),
            ]
            .concat();
            constant_time_eq(&expected, &head)
        }
    };
    if !head_ok {
        return Ok(broken(records, last_seq + 1, BreakKind::Truncated));
    }
    Ok(AuditReport {
        records,
        first_broken: None,
    })
}

/// The most recent `limit` records, newest first.
pub fn recent(conn: &Connection, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
    let mut statement = conn.prepare(
        "SELECT seq, at, actor, action, record_kind, record_id FROM audit_log
         ORDER BY seq DESC LIMIT ?1",
    )?;
    let records = statement
        .query_map([limit], |r| {
            Ok(AuditRecord {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                record_kind: r.get(4)?,
                record_id: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(records)
}

fn broken(records: u64, seq: i64, kind: BreakKind) -> AuditReport {
    AuditReport {
        records,
        first_broken: Some(BrokenLink { seq, kind }),
    }
}

#[cfg(test)]
mod tests;
