//! Supervisor commands run against the database directly: enrollment codes, devices and
//! their sync health, revocation, conflicts; the district records: a dwelling with the persons
//! and registrations at it, and the merges of persons; a device's audit trail.

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
    /// When its audit chain was first found not to pass through the anchor, or to end before
    /// the records held: its store was rolled back to an older copy, or replaced.
    pub audit_suspect_at: Option<i64>,
    /// The last of its audit records held here (`lgt-server audit-trail` lists them).
    pub audit_records_seq: Option<i64>,
    /// When an upload of its audit records was first found not to extend the ones held: its
    /// history was rewritten, or its store replaced. The records held stay as they were.
    pub audit_rewritten_at: Option<i64>,
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
        Option<i64>,
        Option<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT d.id, d.coordinator, d.district, d.last_contact, d.queue_depth, d.oldest_pending,
                COUNT(l.op_id), MAX(l.received_at), d.revoked_at, d.key_rotated_at,
                d.clock_skew_secs, d.audit_seq, d.audit_suspect_at, d.audit_chain_seq,
                d.audit_rewritten_at
         FROM devices d LEFT JOIN ledger l ON l.device_id = d.id
         GROUP BY d.id, d.coordinator, d.district, d.last_contact, d.queue_depth,
                  d.oldest_pending, d.revoked_at, d.key_rotated_at, d.clock_skew_secs,
                  d.audit_seq, d.audit_suspect_at, d.audit_chain_seq, d.audit_rewritten_at
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
            audit_records_seq: row.13,
            audit_rewritten_at: row.14,
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
    crate::issuers::revoke(&mut tx, &db.vault, Some(device_id), None).await?;
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
    // Both tables hold the code's blind index only.
    let blind = db.vault.house_code_blind(&house_code);
    let row: Option<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT version, data, landlord FROM dwellings WHERE district = $1 AND house_code = $2",
    )
    .bind(district)
    .bind(&blind)
    .fetch_optional(&db.pool)
    .await?;
    let Some((version, data, landlord)) = row else {
        anyhow::bail!("no dwelling {house_code} in district {district}");
    };
    let dwelling_row = format!("{district}/{blind}");
    let opened = |column: &str, sealed: &str| -> anyhow::Result<String> {
        db.vault
            .open("dwellings", &dwelling_row, column, sealed)
            .map_err(|_| anyhow::anyhow!("the dwelling is unreadable"))
    };
    type RegistrationRow = (String, String, String, i64, String);
    let rows: Vec<RegistrationRow> = sqlx::query_as(
        "SELECT id, person_id, status, version, device_id FROM registrations
         WHERE district = $1 AND house_code = $2 ORDER BY created_at, id",
    )
    .bind(district)
    .bind(&blind)
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
    .bind(&blind)
    .fetch_all(&db.pool)
    .await?;
    let persons = persons
        .into_iter()
        .map(|(person_id, version, data)| {
            let name = db
                .vault
                .open("persons", &person_id, "data", &data)
                .ok()
                .and_then(|data| serde_json::from_str::<serde_json::Value>(&data).ok())
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
        house_code: house_code.clone(),
        version,
        dwelling: serde_json::from_str(&opened("data", &data)?)?,
        landlord: landlord
            .as_deref()
            .map(|l| opened("landlord", l).and_then(|l| Ok(serde_json::from_str(&l)?)))
            .transpose()?,
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

/// One audit record of a device as the server holds it: the record as uploaded, the head
/// signature it came under when it was the head of an upload, and when it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldAuditRecord {
    /// The record and its links in the chain.
    #[serde(flatten)]
    pub record: lgt_protocol::AuditChainRecord,
    /// The device key's signature over this record as the head of its chain, when it sent it
    /// as such (hex), and that key (hex).
    pub head_signature: Option<String>,
    /// The key that made `head_signature`.
    pub head_key: Option<String>,
    /// Unix seconds when the server received it.
    pub received_at: i64,
}

/// What reading the records again found: the hashes recomputed and linked, the head
/// signatures verified against the keys named beside them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditTrailCheck {
    /// Every listed record's chain hash recomputes over the one before it, and every head
    /// signature among them verifies.
    pub intact: bool,
    /// The first listed record that does not, if any.
    pub first_broken_seq: Option<i64>,
    /// How many listed records carry a head signature.
    pub signed_heads: usize,
}

/// A device's audit trail as the server holds it: who did what, when, to which record (ids
/// only, never a personal value), up to the device's last upload. It outlives the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditTrail {
    /// Device id.
    pub device_id: String,
    /// Coordinator account.
    pub coordinator: String,
    /// District.
    pub district: String,
    /// Unix seconds of the device's revocation.
    pub revoked_at: Option<i64>,
    /// The last record held.
    pub held_seq: Option<i64>,
    /// When an upload was first found not to extend the records held (history rewritten).
    pub rewritten_at: Option<i64>,
    /// When the device's store was first found older than what the server holds.
    pub rollback_suspected_at: Option<i64>,
    /// The listed records, checked again.
    pub check: AuditTrailCheck,
    /// The records from `from`, in order.
    pub records: Vec<HeldAuditRecord>,
}

/// The audit records the server holds for `device_id` from sequence number `from`, at most
/// `limit` of them (all without one), each checked again against the one before it.
pub async fn audit_trail(
    db: &Db,
    device_id: &str,
    from: i64,
    limit: Option<i64>,
) -> anyhow::Result<AuditTrail> {
    type DeviceRow = (
        String,
        String,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let device: Option<DeviceRow> = sqlx::query_as(
        "SELECT coordinator, district, revoked_at, audit_chain_seq, audit_rewritten_at,
                audit_suspect_at
         FROM devices WHERE id = $1",
    )
    .bind(device_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some((coordinator, district, revoked_at, held_seq, rewritten_at, suspect_at)) = device
    else {
        anyhow::bail!("no device {device_id}");
    };
    let from = from.max(1);
    type RecordRow = (
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
    );
    let rows: Vec<RecordRow> = sqlx::query_as(
        "SELECT seq, at, actor, action, record_kind, record_id, prev_chain_hash, chain_hash,
                head_signature, head_key, received_at
         FROM audit_records WHERE device_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
    )
    .bind(device_id)
    .bind(from)
    .bind(limit.unwrap_or(i64::MAX).max(0))
    .fetch_all(&db.pool)
    .await?;
    let records: Vec<HeldAuditRecord> = rows
        .into_iter()
        .map(|r| HeldAuditRecord {
            record: lgt_protocol::AuditChainRecord {
                seq: r.0,
                at: r.1,
                actor: r.2,
                action: r.3,
                record_kind: r.4,
                record_id: r.5,
                prev_chain_hash: r.6,
                chain_hash: r.7,
            },
            head_signature: r.8,
            head_key: r.9,
            received_at: r.10,
        })
        .collect();
    let before: Option<(String,)> =
        sqlx::query_as("SELECT chain_hash FROM audit_records WHERE device_id = $1 AND seq = $2")
            .bind(device_id)
            .bind(from - 1)
            .fetch_optional(&db.pool)
            .await?;
    let before = match from {
        1 => Some(hex(&lgt_protocol::AUDIT_CHAIN_GENESIS)),
        _ => before.map(|(hash,)| hash),
    };
    Ok(AuditTrail {
        device_id: device_id.to_owned(),
        coordinator,
        district,
        revoked_at,
        held_seq,
        rewritten_at,
        rollback_suspected_at: suspect_at,
        check: check_trail(device_id, before, &records),
        records,
    })
}

/// Recomputes each record's chain hash over the one before it (`before`: the chain hash of
/// the record before the first listed, `None` if unknown) and verifies each head signature.
fn check_trail(
    device_id: &str,
    before: Option<String>,
    records: &[HeldAuditRecord],
) -> AuditTrailCheck {
    use lgt_common::crypto::PublicKey;
    use lgt_protocol::{audit_chain_input, audit_head_signing_message, unhex};
    let mut prev = before;
    let mut first_broken_seq = None;
    for held in records {
        let r = &held.record;
        let linked = prev
            .as_deref()
            .is_none_or(|p| p.eq_ignore_ascii_case(&r.prev_chain_hash));
        let recomputed = unhex(&r.prev_chain_hash).is_some_and(|p| {
            hex(&sha256(&audit_chain_input(
                &p,
                r.seq,
                &r.at,
                &r.actor,
                &r.action,
                &r.record_kind,
                &r.record_id,
            ))) == r.chain_hash.to_ascii_lowercase()
        });
        let signed = match (&held.head_signature, &held.head_key) {
            (None, _) => true,
            (Some(signature), Some(key)) => {
                let message = audit_head_signing_message(device_id, r.seq, &r.chain_hash);
                unhex(key)
                    .and_then(|k| PublicKey::try_from_slice(&k).ok())
                    .zip(unhex(signature))
                    .is_some_and(|(k, s)| k.verify(&message, &s).is_ok())
            }
            (Some(_), None) => false,
        };
        if !(linked && recomputed && signed) {
            first_broken_seq = Some(r.seq);
            break;
        }
        prev = Some(r.chain_hash.clone());
    }
    AuditTrailCheck {
        intact: first_broken_seq.is_none(),
        first_broken_seq,
        signed_heads: records
            .iter()
            .filter(|r| r.head_signature.is_some())
            .count(),
    }
}
