//! A supervisor's resolution of a conflict: keep the server's record as it stands, apply the
//! phone's permit change to the permit as it stands now, or, for a registration whose number
//! and person id name two district persons, merge the two and apply it. Either way the
//! conflict is closed with the supervisor's note; a change goes into the district's buckets,
//! so it flows back to every phone of the district like any other.

use chrono::NaiveDate;
use lgt_common::permit::{Permit, PermitEvent};
use serde::{Deserialize, Serialize};

use lgt_protocol::PushOperation;

use crate::auth::Device;
use crate::db::{now, Db};
use crate::{permits, records};

/// Which side of a conflict a supervisor keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The server's record stands; the phone's change is dropped.
    Server,
    /// The phone's permit change applies to the permit as it stands now.
    Phone,
    /// The registration's two persons are one: the person of its id is merged into the holder
    /// of its number, and the registration applies.
    Merge,
}

/// What a resolution did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The conflict.
    pub conflict_id: String,
    /// The record it concerned.
    pub record_id: String,
    /// The side kept.
    pub side: Side,
    /// The permit's version after a phone-side resolution.
    pub version: Option<u32>,
    /// The district person a merge kept.
    pub person_id: Option<String>,
}

/// The part of a conflicting `permit.event` payload a resolution reads.
#[derive(Deserialize)]
struct PermitChange {
    permit_id: String,
    occurred_on: NaiveDate,
    event: PermitEvent,
}

/// Resolves conflict `conflict_id` for `side` with the supervisor's `note`, in one
/// transaction. Applying the phone's side is for permit events, and only where the state
/// machine allows the event on the permit as it stands (a cancelled permit stays cancelled);
/// a merge is for registrations.
pub async fn resolve(
    db: &Db,
    conflict_id: &str,
    side: Side,
    note: &str,
) -> anyhow::Result<Resolved> {
    let mut tx = db.pool.begin().await?;
    let row: Option<(String, String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT record_id, op_id, device_id, payload, resolved_at FROM conflicts WHERE id = $1",
    )
    .bind(conflict_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((record_id, op_id, device_id, payload, None)) = row else {
        anyhow::bail!("no unresolved conflict {conflict_id}");
    };
    let payload = db
        .vault
        .open("conflicts", conflict_id, "payload", &payload)
        .map_err(|_| anyhow::anyhow!("the conflict {conflict_id} is unreadable"))?;
    let mut person_id = None;
    let version = match side {
        Side::Server => None,
        Side::Merge => {
            let (district,): (String,) =
                sqlx::query_as("SELECT district FROM devices WHERE id = $1")
                    .bind(&device_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let device = Device {
                id: device_id,
                district,
            };
            let op = PushOperation {
                op_id,
                kind: "registration.create".into(),
                record_id: record_id.clone(),
                payload_sha256: String::new(),
                payload,
            };
            let merged = records::merge_and_register(&mut tx, &db.vault, &device, &op, conflict_id)
                .await
                .map_err(|e| anyhow::anyhow!("the merge failed: {}", e.code()))?;
            person_id = Some(merged.map_err(|why| anyhow::anyhow!("no merge: {why}"))?);
            None
        }
        Side::Phone => {
            let change: PermitChange = serde_json::from_str(&payload).map_err(|_| {
                anyhow::anyhow!("only a permit event's conflict can take the phone's side")
            })?;
            anyhow::ensure!(
                !matches!(change.event, PermitEvent::Issue { .. }),
                "an issue cannot be applied by a resolution: its number was never granted"
            );
            let (district, data): (String, String) =
                sqlx::query_as("SELECT district, data FROM permits WHERE id = $1")
                    .bind(&change.permit_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("the conflict's permit is not on the server"))?;
            let data = permits::open(&db.vault, &change.permit_id, &data)
                .map_err(|_| anyhow::anyhow!("the conflict's permit is unreadable"))?;
            let current: Permit = serde_json::from_str(&data)?;
            let next = current
                .apply(&change.event, change.occurred_on)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "the phone's change does not apply to the permit as it stands: {e}"
                    )
                })?;
            let recorded = permits::Recorded {
                event: &change.event,
                occurred_on: change.occurred_on,
                by: "supervisor",
                op_id: None,
            };
            permits::save(&mut tx, &db.vault, &district, &next, recorded).await?;
            Some(next.version)
        }
    };
    let resolution = serde_json::json!({
        "side": side, "note": note, "version": version, "person_id": person_id,
    });
    sqlx::query("UPDATE conflicts SET resolved_at = $2, resolution = $3 WHERE id = $1")
        .bind(conflict_id)
        .bind(now())
        .bind(resolution.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(conflict = %conflict_id, side = ?side, "conflict resolved");
    Ok(Resolved {
        conflict_id: conflict_id.to_owned(),
        record_id,
        side,
        version,
        person_id,
    })
}
