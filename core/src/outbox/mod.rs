//! The outbox: every domain change enqueues the operation that will sync it, in the same
//! transaction as the change itself.
//!
//! Each operation gets a UUIDv7 id and a frozen payload (sealed, like every personal value),
//! fixed at enqueue time. An edit after queuing is a new operation; a queued payload never
//! changes. The sync engine drains this table.
//!
//! The payload's SHA-256 (the protocol's `payload_sha256`, the server ledger's check) is not
//! stored: an unkeyed digest in the file would let whoever holds the file confirm a guessed
//! payload. It is computed from the opened payload whenever it is needed.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{sha256, RowCipher};
use crate::store::{open_bytes, seal_bytes, timestamp, Store, StoreError};

/// Where an operation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum OperationState {
    /// Waiting to be sent.
    Pending,
    /// Sent, no answer yet.
    InFlight,
    /// The server applied it (or had applied it before).
    Acknowledged,
    /// The server refused it for good; the reason is kept for the user.
    Quarantined,
    /// Replaced by a later operation before it was sent.
    Superseded,
}

impl OperationState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Acknowledged => "acknowledged",
            Self::Quarantined => "quarantined",
            Self::Superseded => "superseded",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "in_flight" => Self::InFlight,
            "acknowledged" => Self::Acknowledged,
            "quarantined" => Self::Quarantined,
            "superseded" => Self::Superseded,
            _ => return None,
        })
    }
}

/// One queued operation, without its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Operation {
    /// Position in the queue.
    pub seq: i64,
    /// The operation's id (UUIDv7), the server's idempotency key.
    pub op_id: String,
    /// What it does, e.g. `registration.create`.
    pub kind: String,
    /// The record it concerns.
    pub record_id: String,
    /// Hex SHA-256 of the frozen payload (computed from the opened payload; never stored).
    pub payload_hash: String,
    /// Where it is in its life.
    pub state: OperationState,
    /// When it was enqueued.
    pub created_at: String,
}

/// Freezes `payload` and enqueues it; returns the operation id.
pub fn enqueue<P: Serialize>(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    at: DateTime<Utc>,
    kind: &str,
    record_id: &str,
    payload: &P,
) -> Result<String, StoreError> {
    let op_id = Uuid::now_v7().to_string();
    let context = payload_context(&op_id);
    let bytes = zeroize::Zeroizing::new(serde_json::to_vec(payload).map_err(|_| {
        StoreError::Malformed {
            record: context.clone(),
        }
    })?);
    let sealed = seal_bytes(cipher, &context, &bytes)?;
    tx.prepare_cached(
        "INSERT INTO outbox (op_id, kind, record_id, payload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![op_id, kind, record_id, sealed, timestamp(at)])?;
    Ok(op_id)
}

/// Operations in queue order, optionally only those in `state`. Each payload is opened to
/// compute its hash.
pub fn list(
    conn: &Connection,
    cipher: &RowCipher,
    state: Option<OperationState>,
) -> Result<Vec<Operation>, StoreError> {
    Ok(select(
        conn,
        cipher,
        "WHERE ?1 IS NULL OR state = ?1 ORDER BY seq",
        params![state.map(OperationState::as_str)],
    )?
    .into_iter()
    .map(|(operation, _)| operation)
    .collect())
}

/// [`list`] on the store's reader, with the store's own cipher (the outbox is bookkeeping:
/// listed while personal data is locked too, payloads never leaving the core).
pub fn operations(
    store: &Store,
    state: Option<OperationState>,
) -> Result<Vec<Operation>, StoreError> {
    store.read(|conn| list(conn, store.cipher(), state))
}

/// Operations with their opened payloads (the hash computed from the payload, which the
/// seal's tag authenticates).
fn select(
    conn: &Connection,
    cipher: &RowCipher,
    filter: &str,
    arguments: impl rusqlite::Params,
) -> Result<Vec<(Operation, Payload)>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT seq, op_id, kind, record_id, payload, state, created_at FROM outbox {filter}"
    ))?;
    let rows = statement.query_map(arguments, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Vec<u8>>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut operations = Vec::new();
    for row in rows {
        let (seq, op_id, kind, record_id, sealed, state, created_at) = row?;
        let context = payload_context(&op_id);
        let state = OperationState::parse(&state).ok_or_else(|| StoreError::Malformed {
            record: context.clone(),
        })?;
        let payload = open_bytes(cipher, &context, &sealed)?;
        operations.push((
            Operation {
                seq,
                op_id,
                kind,
                record_id,
                payload_hash: hex(&sha256(&payload)),
                state,
                created_at,
            },
            payload,
        ));
    }
    Ok(operations)
}

/// An operation's opened payload (zeroed on drop).
pub(crate) type Payload = zeroize::Zeroizing<Vec<u8>>;

fn payload_context(op_id: &str) -> String {
    format!("outbox:{op_id}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Operations the sync engine may send, in queue order: pending ones, and in-flight ones
/// whose answer never came (a dropped connection or a killed process; the server's ledger
/// makes sending them again harmless).
/// Each comes with its opened payload.
pub(crate) fn sendable(
    conn: &Connection,
    cipher: &RowCipher,
    limit: usize,
) -> Result<Vec<(Operation, Payload)>, StoreError> {
    select(
        conn,
        cipher,
        "WHERE state IN ('pending', 'in_flight') ORDER BY seq LIMIT ?1",
        [i64::try_from(limit).unwrap_or(i64::MAX)],
    )
}

/// How many operations wait to be sent or answered, and when the oldest of them was queued
/// (payloads left sealed).
pub(crate) fn waiting(conn: &Connection) -> Result<(usize, Option<String>), StoreError> {
    let (depth, oldest): (i64, Option<String>) = conn
        .prepare_cached(
            "SELECT count(*), (SELECT created_at FROM outbox WHERE state IN ('pending', 'in_flight') ORDER BY seq LIMIT 1)
             FROM outbox WHERE state IN ('pending', 'in_flight')",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((usize::try_from(depth).unwrap_or(0), oldest))
}

/// Moves an operation to `state`, recording `note` (the server's reason, for a quarantined
/// or conflicting operation) and counting the attempt.
pub(crate) fn settle(
    tx: &Transaction<'_>,
    op_id: &str,
    state: OperationState,
    note: Option<&str>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE outbox SET state = ?2, last_error = ?3, attempts = attempts + 1 WHERE op_id = ?1",
    )?
    .execute(params![op_id, state.as_str(), note])?;
    Ok(())
}

/// Marks operations as sent, awaiting their answer.
pub(crate) fn mark_in_flight(tx: &Transaction<'_>, op_ids: &[String]) -> Result<(), StoreError> {
    let mut statement = tx.prepare_cached(
        "UPDATE outbox SET state = 'in_flight' WHERE op_id = ?1 AND state = 'pending'",
    )?;
    for op_id in op_ids {
        statement.execute([op_id])?;
    }
    Ok(())
}

/// What an operation concerns: its kind and record id.
pub(crate) fn subject(
    conn: &Connection,
    op_id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT kind, record_id FROM outbox WHERE op_id = ?1")?
        .query_row([op_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Whether operations on `record_id` are waiting to be sent or answered: this phone's own
/// changes, which pulled state must not overwrite until the server has answered them.
pub(crate) fn pending_on(conn: &Connection, record_id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE record_id = ?1 AND state IN ('pending', 'in_flight'))",
        )?
        .query_row([record_id], |r| r.get(0))?)
}

/// The reason kept with an operation (a quarantine or conflict), if any.
pub(crate) fn note(conn: &Connection, op_id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn.query_row(
        "SELECT last_error FROM outbox WHERE op_id = ?1",
        [op_id],
        |r| r.get(0),
    )?)
}
