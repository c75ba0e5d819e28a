//! The server's permits: one row per permit (typed columns for what is queried, the permit
//! as JSON), mirrored into its district's `permits` bucket, which every phone of the
//! district pulls.

use chrono::NaiveDate;
use lgt_common::permit::{Permit, PermitEvent};
use sqlx::AnyConnection;

use crate::buckets;
use crate::db::now;
use crate::records;
use crate::vault::{Unreadable, Vault};

/// Opens a permit's sealed `data`.
pub(crate) fn open(vault: &Vault, permit_id: &str, sealed: &str) -> Result<String, Unreadable> {
    vault.open("permits", permit_id, "data", sealed)
}

/// The event that made a permit's new version, and who recorded it.
pub(crate) struct Recorded<'a> {
    /// The event.
    pub event: &'a PermitEvent,
    /// The date it took effect.
    pub occurred_on: NaiveDate,
    /// A device id, or `supervisor` for a resolution.
    pub by: &'a str,
    /// The operation that carried it (none for a resolution).
    pub op_id: Option<&'a str>,
}

/// Writes `permit` (new or changed) for `district`, the event that made this version into
/// the permit's log, and its bucket entry. The holder's column names the district person: a
/// phone's local id merged into one is that person.
pub(crate) async fn save(
    conn: &mut AnyConnection,
    vault: &Vault,
    district: &str,
    permit: &Permit,
    recorded: Recorded<'_>,
) -> sqlx::Result<()> {
    let data = serde_json::to_string(permit).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let holder = match records::resolve_person(conn, &permit.person_id).await? {
        Some((_, person)) => person,
        None => permit.person_id.clone(),
    };
    sqlx::query(
        "INSERT INTO permits (id, district, version, number, data, updated_at, state, person_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, number = excluded.number,
             data = excluded.data, updated_at = excluded.updated_at, state = excluded.state,
             person_id = excluded.person_id",
    )
    .bind(&permit.id)
    .bind(district)
    .bind(i64::from(permit.version))
    .bind(
        permit
            .number
            .as_deref()
            .map(|n| vault.permit_number_blind(n)),
    )
    .bind(vault.seal("permits", &permit.id, "data", &data))
    .bind(now())
    .bind(permit.state.as_str())
    .bind(&holder)
    .execute(&mut *conn)
    .await?;
    let event =
        serde_json::to_string(recorded.event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO permit_events (permit_id, version, district, kind, occurred_on, event,
             recorded_by, op_id, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&permit.id)
    .bind(i64::from(permit.version))
    .bind(district)
    .bind(recorded.event.kind())
    .bind(recorded.occurred_on.to_string())
    .bind(vault.seal(
        "permit_events",
        &format!("{}/{}", permit.id, permit.version),
        "event",
        &event,
    ))
    .bind(recorded.by)
    .bind(recorded.op_id)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    buckets::put(
        conn,
        vault,
        &buckets::district_permits(district),
        &permit.id,
        Some(&data),
    )
    .await?;
    Ok(())
}
