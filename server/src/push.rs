//! Push: the exactly-once ledger and the domain it guards.
//!
//! A batch runs in one transaction (one commit, one fsync), each operation under a savepoint
//! of its own: look up its id in the ledger; if absent, apply it to the domain and write the
//! ledger row with the result, both or neither. A second server process racing on the same
//! id loses on the ledger's primary key, rolls back to the savepoint and then reads the
//! winner's result as a duplicate. If the batch's commit fails, none of its results were
//! sent, and the phone sends the batch again.

use chrono::NaiveDate;
use lgt_common::crypto::sha256;
use lgt_common::permit::{Permit, PermitEvent};
use lgt_protocol::{hex, OperationResult, Outcome, PushOperation};
use serde::Deserialize;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::auth::Device;
use crate::db::{now, Db};

use crate::error::ApiError;
use crate::metrics;
use crate::numbers;
use crate::permits;
use crate::records;
use crate::vault::Vault;

/// Tries per operation when another process wins the race for its ledger row.
const LEDGER_RACES: usize = 3;

/// Applies a batch of operations, each at most once; returns their results in order.
pub async fn push_batch(
    db: &Db,
    device: &Device,
    operations: &[PushOperation],
) -> Result<Vec<OperationResult>, ApiError> {
    let mut tx = db.pool.begin().await?;
    let mut results = Vec::with_capacity(operations.len());
    for op in operations {
        results.push(push_one(&mut tx, &db.vault, device, op).await?);
    }
    tx.commit().await?;
    Ok(results)
}

/// Applies one operation at most once, inside the batch's transaction.
async fn push_one(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    op: &PushOperation,
) -> Result<OperationResult, ApiError> {
    if hex(&sha256(op.payload.as_bytes())) != op.payload_sha256.to_ascii_lowercase() {
        // Not stored: the hash is the ledger's key to sameness and this one is wrong.
        return Ok(OperationResult::New {
            op_id: op.op_id.clone(),
            outcome: Outcome::Rejected {
                reason: "the payload does not match its SHA-256".into(),
            },
        });
    }
    for _ in 0..LEDGER_RACES {
        // Nested: a savepoint.
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let seen: Option<(String, String)> =
            sqlx::query_as("SELECT payload_sha256, outcome FROM ledger WHERE op_id = $1")
                .bind(&op.op_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((hash, outcome)) = seen {
            if hash != op.payload_sha256.to_ascii_lowercase() {
                metrics::operation("hash_mismatch");
                tracing::warn!(op_id = %op.op_id, device = %device.id, "operation id reused with another payload");
                return Ok(OperationResult::HashMismatch {
                    op_id: op.op_id.clone(),
                });
            }
            let outcome = serde_json::from_str(&outcome).map_err(|_| {
                ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "server.ledger",
                    "a ledger row is unreadable",
                )
            })?;
            metrics::operation("duplicate");
            return Ok(OperationResult::Duplicate {
                op_id: op.op_id.clone(),
                outcome,
            });
        }
        let outcome = apply(&mut tx, vault, device, op).await?;
        let stored = serde_json::to_string(&outcome).unwrap_or_default();
        let inserted = sqlx::query(
            "INSERT INTO ledger (op_id, device_id, kind, record_id, payload_sha256, outcome, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (op_id) DO NOTHING",
        )
        .bind(&op.op_id)
        .bind(&device.id)
        .bind(&op.kind)
        .bind(&op.record_id)
        .bind(op.payload_sha256.to_ascii_lowercase())
        .bind(stored)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            tx.rollback().await?;
            continue;
        }
        tx.commit().await?;
        tracing::info!(op_id = %op.op_id, device = %device.id, kind = %op.kind, outcome = outcome_name(&outcome), "operation");
        metrics::operation(outcome_name(&outcome));
        return Ok(OperationResult::New {
            op_id: op.op_id.clone(),
            outcome,
        });
    }
    Err(ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "server.busy",
        "the operation is being applied by another request; retry",
    ))
}

fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Applied => "applied",
        Outcome::Conflict { .. } => "conflict",
        Outcome::Rejected { .. } => "rejected",
    }
}

fn rejected(reason: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        reason: reason.into(),
    }
}

/// Applies an operation's effect in `conn`'s transaction. A refusal writes nothing.
async fn apply(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    op: &PushOperation,
) -> Result<Outcome, ApiError> {
    match op.kind.as_str() {
        "permit.event" => match serde_json::from_str::<PermitEventOp>(&op.payload) {
            Ok(event) => apply_permit_event(conn, vault, device, op, event).await,
            Err(_) => Ok(rejected("malformed permit.event payload")),
        },
        lgt_protocol::records::REGISTRATION_CREATE => {
            records::apply_registration(conn, vault, device, op).await
        }
        lgt_protocol::records::PERSON_IDENTIFIER_ADD => {
            records::apply_identifier_add(conn, vault, device, op).await
        }
        "watchlist.hit" => Ok(crate::watchlist::record_hit(conn, device, op).await?),
        lgt_protocol::ISSUER_KEY_OPERATION => {
            Ok(crate::issuers::publish(conn, vault, device, op).await?)
        }
        other => Ok(rejected(format!("unknown operation kind {other}"))),
    }
}

/// The phone's `permit.event` payload.
#[derive(Deserialize)]
struct PermitEventOp {
    permit_id: String,
    base_version: u32,
    occurred_on: NaiveDate,
    event: PermitEvent,
}

/// The refusal for a permit the device may not act on: one of another district, or none at
/// all. The two read the same, so a refusal tells a phone nothing about other districts.
const NOT_IN_DISTRICT: &str = "no such permit in this device's district";

/// Applies a permit event, after checking the device may: the permit is of its district (or
/// new, and then it is), the event rests on the server's current version (a cancellation
/// too), and an issue's number was reserved for this device and is not in use.
async fn apply_permit_event(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    op: &PushOperation,
    op_event: PermitEventOp,
) -> Result<Outcome, ApiError> {
    if op_event.permit_id != op.record_id {
        return Ok(rejected(
            "a permit.event names another permit than its record",
        ));
    }
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT district, data FROM permits WHERE id = $1")
            .bind(&op_event.permit_id)
            .fetch_optional(&mut *conn)
            .await?;
    let current = match row {
        None => None,
        Some((district, _)) if district != device.district => return Ok(rejected(NOT_IN_DISTRICT)),
        Some((_, data)) => match permits::open(vault, &op_event.permit_id, &data)
            .ok()
            .and_then(|data| serde_json::from_str::<Permit>(&data).ok())
        {
            Some(permit) => Some(permit),
            None => return Ok(rejected("the server's permit record is unreadable")),
        },
    };
    if let PermitEvent::Accept {
        person_id,
        registration_id,
        ..
    } = &op_event.event
    {
        if let Some(refusal) = foreign_holder(conn, device, person_id, registration_id).await? {
            return Ok(rejected(refusal));
        }
    }
    let next = match (current, &op_event.event) {
        (None, PermitEvent::Accept { .. }) if op_event.base_version == 0 => {
            match Permit::accepted(op_event.permit_id.clone(), &op_event.event) {
                Some(permit) => permit,
                None => return Ok(rejected("malformed accept event")),
            }
        }
        (None, _) => return Ok(rejected(NOT_IN_DISTRICT)),
        (Some(current), _) if op_event.base_version == 0 => {
            return conflict(
                conn,
                vault,
                device,
                op,
                format!("permit {} already exists", current.id),
                Some(current.version),
            )
            .await
        }
        (Some(current), event) => {
            if op_event.base_version != current.version {
                let reason = format!(
                    "permit {}: based on version {}, the server has version {}",
                    current.id, op_event.base_version, current.version
                );
                return conflict(conn, vault, device, op, reason, Some(current.version)).await;
            }
            match current.apply(event, op_event.occurred_on) {
                Ok(next) => next,
                Err(e) => return Ok(rejected(e.to_string())),
            }
        }
    };
    if let PermitEvent::Issue { number } = &op_event.event {
        if let Some(refusal) = numbers::claim(conn, vault, device, number, &next.id).await? {
            return Ok(rejected(refusal));
        }
    }
    let recorded = permits::Recorded {
        event: &op_event.event,
        occurred_on: op_event.occurred_on,
        by: &device.id,
        op_id: Some(&op.op_id),
    };
    permits::save(conn, vault, &device.district, &next, recorded).await?;
    Ok(Outcome::Applied)
}

/// The refusal for a permit accepted for a person or on a registration of another district
/// (one unknown to the server is let through: the permit's own district check still holds).
async fn foreign_holder(
    conn: &mut AnyConnection,
    device: &Device,
    person_id: &str,
    registration_id: &str,
) -> Result<Option<&'static str>, ApiError> {
    if records::resolve_person(conn, person_id)
        .await?
        .is_some_and(|(district, _)| district != device.district)
    {
        return Ok(Some(records::NO_SUCH_PERSON));
    }
    if records::registration_district(conn, registration_id)
        .await?
        .is_some_and(|district| district != device.district)
    {
        return Ok(Some(records::NO_SUCH_REGISTRATION));
    }
    Ok(None)
}

/// Stores a divergence for a supervisor and answers it as a conflict.
pub(crate) async fn conflict(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    op: &PushOperation,
    reason: String,
    server_version: Option<u32>,
) -> Result<Outcome, ApiError> {
    let id = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO conflicts (id, op_id, device_id, record_id, reason, payload, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&op.op_id)
    .bind(&device.id)
    .bind(&op.record_id)
    .bind(&reason)
    .bind(vault.seal("conflicts", &id, "payload", &op.payload))
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(Outcome::Conflict {
        reason,
        server_version,
    })
}
