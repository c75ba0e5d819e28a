//! Supervisor commands run against the database directly: enrollment codes, devices and
//! their sync health, revocation, conflicts; the district records: a dwelling with the persons
//! and registrations at it, and the merges of persons.

use serde::Serialize;
use uuid::Uuid;

use crate::db::{now, Db};
use lgt_common::crypto::sha256;
use lgt_protocol::hex;

/// A new one-time enrollment code.
#[derive(Debug, Serialize)]
pub struct EnrollmentCode {
    /// The code to type into the phone (shown once; the server keeps its hash).
    pub code: String,
    /// The coordinator the device will be bound to.
    pub coordinator: String,
    /// The district it will sync.
    pub district: String,
    /// Unix seconds after which the code no longer works.
    pub expires_at: i64,
    /// How long the device may go without syncing before it locks its personal data.
    pub max_offline_secs: i64,
}

/// Issues a one-time enrollment code valid for `ttl_secs`.
pub async fn create_enrollment_code(
    db: &Db,
    coordinator: &str,
    district: &str,
    ttl_secs: i64,
    max_offline_secs: i64,
) -> anyhow::Result<EnrollmentCode> {
    anyhow::ensure!(max_offline_secs > 0, "the offline limit must be positive");
    // 122 random bits from the OS generator.
    let code = Uuid::new_v4().simple().to_string();
    let created = now();
    sqlx::query(
        "INSERT INTO enrollment_codes (code_sha256, coordinator, district, created_at, expires_at, max_offline_secs)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hex(&sha256(code.as_bytes())))
    .bind(coordinator)
    .bind(district)
    .bind(created)
    .bind(created + ttl_secs)
    .bind(max_offline_secs)
    .execute(&db.pool)
    .await?;
    Ok(EnrollmentCode {
        code,
        coordinator: coordinator.to_owned(),
        district: district.to_owned(),
        expires_at: created + ttl_secs,
        max_offline_secs,
    })
}

/// A device and its sync health as the server sees it.
#[derive(Debug, Serialize)]
pub struct DeviceHealth {
    /// Device id.
    pub id: String,
    /// Coordinator account.
    pub coordinator: String,
    /// District.
    pub district: String,
    /// Unix seconds of the last signed request.
    pub last_contact: Option<i64>,
    /// Operations waiting on the device, as it last reported (with its last pull).
    pub queue_depth: Option<i64>,
    /// When its oldest waiting operation was queued, as it last reported.
    pub oldest_pending: Option<String>,
    /// Operations received from it.
    pub operations: i64,
    /// Unix seconds of the latest operation received.
    pub last_operation: Option<i64>,
    /// Unix seconds of revocation.
    pub revoked_at: Option<i64>,
    /// When the device last replaced its key.
    pub key_rotated_at: Option<i64>,
    /// Its clock minus the server's at its last accepted request, in seconds.
    pub clock_skew_secs: Option<i64>,
    /// The clock is more than [`CLOCK_SUSPECT_SECS`] off: requests are refused past
    /// [`lgt_protocol::MAX_CLOCK_SKEW_SECS`], so the device should be set right before then.
    pub clock_suspect: bool,
    /// The last sequence number of its audit chain anchored here.
    pub audit_seq: Option<i64>,
    /// When its audit chain was first found not to pass through the anchor: its store was
    /// rolled back to an older copy, or replaced.
    pub audit_suspect_at: Option<i64>,
}

/// How far a device's clock may drift before the device list flags it.
pub const CLOCK_SUSPECT_SECS: i64 = 60;

/// Every device with its sync health.
pub async fn devices(db: &Db) -> anyhow::Result<Vec<DeviceHealth>> {
    type Row = (
        String,
        String,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT d.id, d.coordinator, d.district, d.last_contact, d.queue_depth, d.oldest_pending,
                COUNT(l.op_id), MAX(l.received_at), d.revoked_at, d.key_rotated_at,
                d.clock_skew_secs, d.audit_seq, d.audit_suspect_at
         FROM devices d LEFT JOIN ledger l ON l.device_id = d.id
         GROUP BY d.id, d.coordinator, d.district, d.last_contact, d.queue_depth,
                  d.oldest_pending, d.revoked_at, d.key_rotated_at, d.clock_skew_secs,
                  d.audit_seq, d.audit_suspect_at
         ORDER BY d.id",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| DeviceHealth {
            id: row.0,
            coordinator: row.1,
            district: row.2,
            last_contact: row.3,
            queue_depth: row.4,
            oldest_pending: row.5,
            operations: row.6,
            last_operation: row.7,
            revoked_at: row.8,
            key_rotated_at: row.9,
            clock_skew_secs: row.10,
            clock_suspect: row.10.is_some_and(|skew| skew.abs() > CLOCK_SUSPECT_SECS),
            audit_seq: row.11,
            audit_suspect_at: row.12,
        })
        .collect())
}

/// Revokes a device: its next request is answered "revoked", and it purges its data; its
/// permit-issuer keys are revoked with it.
pub async fn revoke(db: &Db, device_id: &str) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    let changed =
        sqlx::query("UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(device_id)
            .bind(now())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    anyhow::ensure!(changed == 1, "no active device {device_id}");
    // A lost phone's permit codes are refused everywhere from the next sync.
    crate::issuers::revoke(&mut tx, Some(device_id), None).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes the bucket tombstones older than `older_than_secs`; returns how many. Phones that
/// last synced before them download the affected buckets again by themselves.
pub async fn compact(db: &Db, older_than_secs: i64) -> anyhow::Result<u64> {
    Ok(crate::buckets::compact(db, now() - older_than_secs).await?)
}

/// A divergence kept for a supervisor.
#[derive(Debug, Serialize)]
pub struct Conflict {
    /// Conflict id.
    pub id: String,
    /// The operation that diverged.
    pub op_id: String,
    /// The device that sent it.
    pub device_id: String,
    /// The record it concerns.
    pub record_id: String,
    /// Why it diverged (ids and versions).
    pub reason: String,
    /// Unix seconds.
    pub created_at: i64,
    /// How a supervisor resolved it, if they did.
    pub resolution: Option<String>,
}

/// Conflicts, unresolved only unless `all`.
pub async fn conflicts(db: &Db, all: bool) -> anyhow::Result<Vec<Conflict>> {
    type Row = (String, String, String, String, String, i64, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, op_id, device_id, record_id, reason, created_at, resolution FROM conflicts
         WHERE $1 OR resolved_at IS NULL ORDER BY created_at, id",
    )
    .bind(all)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, op_id, device_id, record_id, reason, created_at, resolution)| Conflict {
                id,
                op_id,
                device_id,
                record_id,
                reason,
                created_at,
                resolution,
            },
        )
        .collect())
}

/// A registration at a dwelling, for a supervisor.
#[derive(Debug, Serialize)]
pub struct DwellingRegistration {
    /// Registration id.
    pub registration_id: String,
    /// The district person.
    pub person_id: String,
    /// `active` or `closed`.
    pub status: String,
    /// Its version.
    pub version: i64,
    /// The device that registered it.
    pub device_id: String,
}

/// A person registered at a dwelling, for a supervisor. The name is shown: the supervisor
/// asks at the door who lives there. No identity number is.
#[derive(Debug, Serialize)]
pub struct DwellingPerson {
    /// The district person.
    pub person_id: String,
    /// Its version.
    pub version: i64,
    /// The name as last registered.
    pub name: Option<String>,
    /// Whether one of the person's registrations here is active (lives here now).
    pub lives_here: bool,
}

/// A dwelling of a district with the persons and registrations at it.
#[derive(Debug, Serialize)]
pub struct DwellingListing {
    /// District.
    pub district: String,
    /// House code.
    pub house_code: String,
    /// Its version.
    pub version: i64,
    /// Address and housing type as last registered.
    pub dwelling: lgt_common::registration::Dwelling,
    /// The landlord's contact, for rented housing.
    pub landlord: Option<crate::records::Contact>,
    /// The persons registered here, by id.
    pub persons: Vec<DwellingPerson>,
    /// The registrations here, oldest first.
    pub registrations: Vec<DwellingRegistration>,
}

/// The dwelling `house_code` of `district`, with the persons and registrations at it.
/// Shows names, the address and the landlord (a supervisor's door-to-door list); never an
/// identity number.
pub async fn dwelling(
    db: &Db,
    district: &str,
    house_code: &str,
) -> anyhow::Result<DwellingListing> {
    let house_code = house_code.trim().to_ascii_uppercase();
    let row: Option<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT version, data, landlord FROM dwellings WHERE district = $1 AND house_code = $2",
    )
    .bind(district)
    .bind(&house_code)
    .fetch_optional(&db.pool)
    .await?;
    let Some((version, data, landlord)) = row else {
        anyhow::bail!("no dwelling {house_code} in district {district}");
    };
    type RegistrationRow = (String, String, String, i64, String);
    let rows: Vec<RegistrationRow> = sqlx::query_as(
        "SELECT id, person_id, status, version, device_id FROM registrations
         WHERE district = $1 AND house_code = $2 ORDER BY created_at, id",
    )
    .bind(district)
    .bind(&house_code)
    .fetch_all(&db.pool)
    .await?;
    let registrations: Vec<DwellingRegistration> = rows
        .into_iter()
        .map(
            |(registration_id, person_id, status, version, device_id)| DwellingRegistration {
                registration_id,
                person_id,
                status,
                version,
                device_id,
            },
        )
        .collect();
    let persons: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT p.id, p.version, p.data FROM persons p
         WHERE p.district = $1 AND p.id IN
             (SELECT r.person_id FROM registrations r WHERE r.district = $1 AND r.house_code = $2)
         ORDER BY p.id",
    )
    .bind(district)
    .bind(&house_code)
    .fetch_all(&db.pool)
    .await?;
    let persons = persons
        .into_iter()
        .map(|(person_id, version, data)| {
            let name = serde_json::from_str::<serde_json::Value>(&data)
                .ok()
                .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned));
            let lives_here = registrations
                .iter()
                .any(|r| r.person_id == person_id && r.status == lgt_protocol::records::ACTIVE);
            DwellingPerson {
                person_id,
                version,
                name,
                lives_here,
            }
        })
        .collect();
    Ok(DwellingListing {
        district: district.to_owned(),
        house_code,
        version,
        dwelling: serde_json::from_str(&data)?,
        landlord: landlord.as_deref().map(serde_json::from_str).transpose()?,
        persons,
        registrations,
    })
}

/// A merge: a phone's local person id found to be a person the district already held (by
/// identity number), and attached to it.
#[derive(Debug, Serialize)]
pub struct Merge {
    /// The id the phone gave the person.
    pub local_id: String,
    /// The district person it was merged into.
    pub person_id: String,
    /// The operation that brought it.
    pub op_id: String,
    /// The device that sent it.
    pub device_id: String,
    /// Unix seconds.
    pub merged_at: i64,
}

/// The merges of a district, oldest first (ids only).
pub async fn merges(db: &Db, district: &str) -> anyhow::Result<Vec<Merge>> {
    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT local_id, person_id, op_id, device_id, merged_at FROM person_aliases
         WHERE district = $1 ORDER BY merged_at, local_id",
    )
    .bind(district)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(local_id, person_id, op_id, device_id, merged_at)| Merge {
            local_id,
            person_id,
            op_id,
            device_id,
            merged_at,
        })
        .collect())
}
