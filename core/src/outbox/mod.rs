//! The outbox: every domain change enqueues the operation that will sync it, in the same
//! transaction as the change itself.
//!
//! Each operation gets a UUIDv7 id and a frozen payload (sealed, like every personal value)
//! with the SHA-256 of its plaintext, fixed at enqueue time. An edit after queuing is a new
//! operation; a queued payload never changes. The sync engine drains this table.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{sha256, RowCipher};
use crate::store::{open_bytes, seal_bytes, timestamp, StoreError};

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
    /// Hex SHA-256 of the frozen payload.
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
    let hash = sha256(&bytes);
    let sealed = seal_bytes(cipher, &context, &bytes)?;
    tx.prepare_cached(
        "INSERT INTO outbox (op_id, kind, record_id, payload, payload_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        op_id,
        kind,
        record_id,
        sealed,
        hash.to_vec(),
        timestamp(at)
    ])?;
    Ok(op_id)
}

/// Operations in queue order, optionally only those in `state`.
pub fn list(
    conn: &Connection,
    state: Option<OperationState>,
) -> Result<Vec<Operation>, StoreError> {
    select(
        conn,
        "WHERE ?1 IS NULL OR state = ?1 ORDER BY seq",
        params![state.map(OperationState::as_str)],
    )
}

fn select(
    conn: &Connection,
    filter: &str,
    arguments: impl rusqlite::Params,
) -> Result<Vec<Operation>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT seq, op_id, kind, record_id, payload_hash, state, created_at FROM outbox {filter}"
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
        let (seq, op_id, kind, record_id, hash, state, created_at) = row?;
        let state = OperationState::parse(&state).ok_or_else(|| StoreError::Malformed {
            record: format!("outbox:{op_id}"),
        })?;
        operations.push(Operation {
            seq,
            op_id,
            kind,
            record_id,
            payload_hash: hex(&hash),
            state,
            created_at,
        });
    }
    Ok(operations)
}

/// The frozen payload of `op_id`, decrypted, checked against its stored hash.
pub fn payload(conn: &Connection, cipher: &RowCipher, op_id: &str) -> Result<Vec<u8>, StoreError> {
    let context = payload_context(op_id);
    let (sealed, hash): (Vec<u8>, Vec<u8>) = conn.query_row(
        "SELECT payload, payload_hash FROM outbox WHERE op_id = ?1",
        [op_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let plain = open_bytes(cipher, &context, &sealed)?;
    if sha256(&plain).as_slice() != hash.as_slice() {
        return Err(StoreError::Malformed { record: context });
    }
    Ok(plain.to_vec())
}

fn payload_context(op_id: &str) -> String {
    format!("outbox:{op_id}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Operations the sync engine may send, in queue order: pending ones, and in-flight ones
/// whose answer never came (a dropped connection or a killed process; the server's ledger
/// makes sending them again harmless).
pub(crate) fn sendable(conn: &Connection, limit: usize) -> Result<Vec<Operation>, StoreError> {
    select(
        conn,
        "WHERE state IN ('pending', 'in_flight') ORDER BY seq LIMIT ?1",
        [i64::try_from(limit).unwrap_or(i64::MAX)],
    )
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
