//! The server's permits: one row per permit (typed columns for what is queried, the permit
//! as JSON), mirrored into its district's `permits` bucket, which every phone of the
//! district pulls.

use lgt_common::permit::Permit;
use sqlx::AnyConnection;

use crate::buckets;
use crate::db::now;
use crate::records;

/// Writes `permit` (new or changed) for `district`, and its bucket entry. The holder's
/// column names the district person: a phone's local id merged into one is that person.
pub(crate) async fn save(
    conn: &mut AnyConnection,
    district: &str,
    permit: &Permit,
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
    .bind(permit.number.as_deref())
    .bind(&data)
    .bind(now())
    .bind(permit.state.as_str())
    .bind(&holder)
    .execute(&mut *conn)
    .await?;
    buckets::put(
        conn,
        &buckets::district_permits(district),
        &permit.id,
        Some(&data),
    )
    .await?;
    Ok(())
}
