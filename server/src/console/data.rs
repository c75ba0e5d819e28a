//! What the console shows, read for one account: only the districts it may see. Each function
//! serves both the page and its JSON endpoint.

use serde::Serialize;
use serde_json::Value;

use super::accounts::Account;
use crate::db::{now, Db};

/// A device row with its health flags.
#[derive(Debug, Serialize)]
pub struct DeviceRow {
    /// The health as `lgt-server devices` lists it.
    #[serde(flatten)]
    pub health: crate::admin::DeviceHealth,
    /// The client version it enrolled or last reported with.
    pub client_version: String,
    /// Its queue has had an operation waiting longer than [`STUCK_SECS`].
    pub stuck_queue: bool,
    /// Its audit chain was rolled back or rewritten.
    pub audit_rollback: bool,
}

/// An operation waiting this long on a device flags its queue as stuck.
pub const STUCK_SECS: i64 = 6 * 3600;

/// The devices of the account's districts.
pub async fn devices(db: &Db, account: &Account) -> anyhow::Result<Vec<DeviceRow>> {
    let versions: Vec<(String, String)> = sqlx::query_as("SELECT id, client_version FROM devices")
        .fetch_all(&db.pool)
        .await?;
    let now = now();
    Ok(crate::admin::devices(db)
        .await?
        .into_iter()
        .filter(|d| account.may_see(&d.district))
        .map(|health| {
            let oldest = health
                .oldest_pending
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp());
            DeviceRow {
                client_version: versions
                    .iter()
                    .find(|(id, _)| *id == health.id)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                stuck_queue: health.queue_depth.unwrap_or(0) > 0
                    && oldest.is_some_and(|t| now - t > STUCK_SECS),
                audit_rollback: health.audit_suspect_at.is_some()
                    || health.audit_rewritten_at.is_some(),
                health,
            }
        })
        .collect())
}

/// The district of a device, if the account may see it (`None` for an unknown device too,
/// so a refusal says nothing of devices elsewhere).
pub async fn device_district(
    db: &Db,
    account: &Account,
    device_id: &str,
) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT district FROM devices WHERE id = $1")
        .bind(device_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|(d,)| d).filter(|d| account.may_see(d)))
}

/// A conflict with both of its sides.
#[derive(Debug, Serialize)]
pub struct ConflictView {
    /// The conflict as listed.
    #[serde(flatten)]
    pub conflict: crate::admin::Conflict,
    /// The district of the device that sent it.
    pub district: String,
    /// The phone's side: the change it sent.
    pub phone: Value,
    /// The server's side: the record as it stands (a permit), when the server holds it.
    pub server: Option<Value>,
}

/// The conflicts of the account's districts (unresolved only unless `all`), both sides opened.
pub async fn conflicts(db: &Db, account: &Account, all: bool) -> anyhow::Result<Vec<ConflictView>> {
    let mut out = Vec::new();
    for conflict in crate::admin::conflicts(db, all).await? {
        let Some(district) = device_district(db, account, &conflict.device_id).await? else {
            continue;
        };
        let payload: Option<(String,)> =
            sqlx::query_as("SELECT payload FROM conflicts WHERE id = $1")
                .bind(&conflict.id)
                .fetch_optional(&db.pool)
                .await?;
        let phone = payload
            .and_then(|(sealed,)| {
                db.vault
                    .open("conflicts", &conflict.id, "payload", &sealed)
                    .ok()
            })
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .unwrap_or(Value::Null);
        let server = match phone.get("permit_id").and_then(Value::as_str) {
            Some(permit_id) => {
                let row: Option<(String, String)> =
                    sqlx::query_as("SELECT district, data FROM permits WHERE id = $1")
                        .bind(permit_id)
                        .fetch_optional(&db.pool)
                        .await?;
                row.filter(|(d, _)| account.may_see(d))
                    .and_then(|(_, data)| crate::permits::open(&db.vault, permit_id, &data).ok())
                    .and_then(|text| serde_json::from_str(&text).ok())
            }
            // A registration naming two persons: both, as the district holds them.
            None => {
                let mut conn = db.pool.acquire().await?;
                crate::records::conflict_persons(
                    &mut conn,
                    &db.vault,
                    &district,
                    &phone.to_string(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("the conflict's persons: {}", e.code()))?
            }
        };
        out.push(ConflictView {
            conflict,
            district,
            phone,
            server,
        });
    }
    Ok(out)
}

/// A published version and the devices that hold it.
#[derive(Debug, Serialize)]
pub struct ListVersion {
    /// The list.
    pub list_id: String,
    /// The version.
    pub version: i64,
    /// `snapshot` or `delta`.
    pub kind: String,
    /// Rows in the list at this version.
    pub entry_count: i64,
    /// Unix seconds.
    pub published_at: i64,
    /// The devices (of the account's districts) whose last pull shows they hold this version
    /// as their newest.
    pub devices: Vec<String>,
}

/// A hit report, mapped to its list entry for an account that may see it.
#[derive(Debug, Serialize)]
pub struct HitView {
    /// The report.
    #[serde(flatten)]
    pub hit: crate::watchlist::Hit,
    /// The district of the reporting device.
    pub district: String,
    /// The publisher's entry reference the tag belongs to: only for an account allowed to see
    /// watchlist entries, and only when the list's map was uploaded with it.
    pub entry_ref: Option<String>,
}

/// The watchlist: versions, who holds which, and hit reports.
#[derive(Debug, Serialize)]
pub struct WatchlistView {
    /// Every version published, newest first.
    pub versions: Vec<ListVersion>,
    /// Hit reports from the account's districts, newest first.
    pub hits: Vec<HitView>,
    /// Whether entry references are shown to this account.
    pub entries_shown: bool,
}

/// The watchlist as the account may see it. Reading a hit mapped to its entry is audited.
pub async fn watchlist(db: &Db, account: &Account) -> anyhow::Result<WatchlistView> {
    type VersionRow = (String, i64, String, i64, i64, Option<i64>);
    let rows: Vec<VersionRow> = sqlx::query_as(
        "SELECT v.list_id, v.version, v.kind, v.entry_count, v.published_at, s.seq
         FROM watchlist_versions v LEFT JOIN console_watchlist_seqs s
           ON s.list_id = v.list_id AND s.version = v.version
         ORDER BY v.version DESC",
    )
    .fetch_all(&db.pool)
    .await?;
    let held: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT l.device_id, d.district, l.watchlist_cursor FROM console_device_lists l
         JOIN devices d ON d.id = l.device_id ORDER BY l.device_id",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut versions: Vec<ListVersion> = rows
        .iter()
        .map(
            |(list_id, version, kind, entry_count, published_at, _)| ListVersion {
                list_id: list_id.clone(),
                version: *version,
                kind: kind.clone(),
                entry_count: *entry_count,
                published_at: *published_at,
                devices: Vec::new(),
            },
        )
        .collect();
    for (device, district, cursor) in held.iter().filter(|(_, d, _)| account.may_see(d)) {
        let _ = district;
        // The newest version whose sequence the device's cursor has passed.
        if let Some(i) = rows
            .iter()
            .position(|r| r.5.is_some_and(|seq| seq <= *cursor))
        {
            versions[i].devices.push(device.clone());
        }
    }
    let mut hits = Vec::new();
    for hit in crate::watchlist::hits(db).await?.into_iter().rev() {
        let Some(district) = device_district(db, account, &hit.device_id).await? else {
            continue;
        };
        let entry_ref = if account.watchlist {
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT entry_ref FROM console_watchlist_entries
                 WHERE list_id = $1 AND key_epoch = $2 AND tag = $3",
            )
            .bind(&hit.list_id)
            .bind(hit.key_epoch)
            .bind(hit.tag.to_ascii_lowercase())
            .fetch_optional(&db.pool)
            .await?;
            row.map(|(r,)| r)
        } else {
            None
        };
        if entry_ref.is_some() {
            super::accounts::audit(
                db,
                account,
                "watchlist.hit_entry_viewed",
                Some(&district),
                Some(("alert", &hit.alert_id)),
            )
            .await?;
        }
        hits.push(HitView {
            hit,
            district,
            entry_ref,
        });
    }
    Ok(WatchlistView {
        versions,
        hits,
        entries_shown: account.watchlist,
    })
}

/// Publishes a package and keeps its tag-to-entry map (tags hex, entry references).
pub async fn publish(
    db: &Db,
    package: &[u8],
    entries: &[(String, String)],
) -> anyhow::Result<crate::watchlist::PublishedVersion> {
    let manifest = lgt_common::watchlist::ListPackage::from_bytes(package)
        .and_then(|p| p.unverified_manifest())
        .map_err(|e| anyhow::anyhow!("not a watchlist package: {e}"))?;
    for (tag, entry_ref) in entries {
        anyhow::ensure!(
            tag.len() == 32 && tag.bytes().all(|b| b.is_ascii_hexdigit()),
            "a tag is 32 hex digits"
        );
        anyhow::ensure!(
            !entry_ref.is_empty() && entry_ref.chars().count() <= 64,
            "an entry reference is 1 to 64 characters"
        );
    }
    let published = crate::watchlist::publish(db, package).await?;
    record_published(db, &published).await?;
    let mut tx = db.pool.begin().await?;
    for (tag, entry_ref) in entries {
        sqlx::query(
            "INSERT INTO console_watchlist_entries (list_id, key_epoch, tag, entry_ref)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (list_id, key_epoch, tag) DO UPDATE SET entry_ref = excluded.entry_ref",
        )
        .bind(&manifest.list_id)
        .bind(i64::from(manifest.key_epoch))
        .bind(tag.to_ascii_lowercase())
        .bind(entry_ref)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(published)
}

/// Notes the bucket sequence that carries a published version (so the console can tell which
/// devices hold it); `lgt-server watchlist-publish` calls it too.
pub async fn record_published(
    db: &Db,
    published: &crate::watchlist::PublishedVersion,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO console_watchlist_seqs (list_id, version, seq) VALUES ($1, $2, $3)
         ON CONFLICT (list_id, version) DO NOTHING",
    )
    .bind(&published.list_id)
    .bind(i64::try_from(published.version).unwrap_or(i64::MAX))
    .bind(published.seq)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Called by every pull: the device's queue depth for this hour and its watchlist cursor.
pub async fn observe_pull(
    db: &Db,
    device_id: &str,
    depth: u64,
    watchlist_cursor: i64,
) -> sqlx::Result<()> {
    let now = now();
    let depth = i64::try_from(depth).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO console_queue_samples (device_id, hour, depth) VALUES ($1, $2, $3)
         ON CONFLICT (device_id, hour) DO UPDATE SET depth = excluded.depth",
    )
    .bind(device_id)
    .bind(now.div_euclid(3600) * 3600)
    .bind(depth)
    .execute(&db.pool)
    .await?;
    sqlx::query(
        "INSERT INTO console_device_lists (device_id, watchlist_cursor, seen_at) VALUES ($1, $2, $3)
         ON CONFLICT (device_id) DO UPDATE SET watchlist_cursor = excluded.watchlist_cursor,
             seen_at = excluded.seen_at",
    )
    .bind(device_id)
    .bind(watchlist_cursor)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// One hour of sync health across the account's devices.
#[derive(Debug, Serialize, Clone, Copy)]
pub struct HealthHour {
    /// The hour's start, Unix seconds.
    pub hour: i64,
    /// Operations received in it.
    pub operations: i64,
    /// The queue depths the devices last reported in it, summed.
    pub queue_depth: i64,
}

/// The last `hours` hours, oldest first.
pub async fn health(db: &Db, account: &Account, hours: i64) -> anyhow::Result<Vec<HealthHour>> {
    let hours = hours.clamp(1, 24 * 14);
    let end = now().div_euclid(3600) * 3600;
    let start = end - (hours - 1) * 3600;
    let ops: Vec<(String, i64)> = sqlx::query_as(
        "SELECT d.district, l.received_at FROM ledger l JOIN devices d ON d.id = l.device_id
         WHERE l.received_at >= $1",
    )
    .bind(start)
    .fetch_all(&db.pool)
    .await?;
    let samples: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT d.district, s.hour, s.depth FROM console_queue_samples s
         JOIN devices d ON d.id = s.device_id WHERE s.hour >= $1",
    )
    .bind(start)
    .fetch_all(&db.pool)
    .await?;
    let mut out: Vec<HealthHour> = (0..hours)
        .map(|i| HealthHour {
            hour: start + i * 3600,
            operations: 0,
            queue_depth: 0,
        })
        .collect();
    let slot = |at: i64| usize::try_from((at.div_euclid(3600) * 3600 - start) / 3600).ok();
    for (district, at) in &ops {
        if let Some(h) = slot(*at).and_then(|i| out.get_mut(i)) {
            if account.may_see(district) {
                h.operations += 1;
            }
        }
    }
    for (district, hour, depth) in &samples {
        if let Some(h) = slot(*hour).and_then(|i| out.get_mut(i)) {
            if account.may_see(district) {
                h.queue_depth += depth;
            }
        }
    }
    Ok(out)
}

/// A district person as a supervisor sees them.
#[derive(Debug, Serialize)]
pub struct PersonView {
    /// Person id.
    pub person_id: String,
    /// District.
    pub district: String,
    /// Version.
    pub version: i64,
    /// The person's record as last registered (name, sex, birth date, ...).
    pub record: Value,
    /// Their permits: id, state, version.
    pub permits: Vec<PermitSummary>,
    /// Their registrations: id, status, version.
    pub registrations: Vec<RegistrationSummary>,
}

/// A permit in a person's view.
#[derive(Debug, Serialize)]
pub struct PermitSummary {
    /// Permit id.
    pub permit_id: String,
    /// State.
    pub state: Option<String>,
    /// Version.
    pub version: i64,
    /// The number, once issued.
    pub number: Option<String>,
}

/// A registration in a person's view.
#[derive(Debug, Serialize)]
pub struct RegistrationSummary {
    /// Registration id.
    pub registration_id: String,
    /// `active` or `closed`.
    pub status: String,
    /// Version.
    pub version: i64,
}

/// How to find a person.
pub enum Search<'a> {
    /// By identity number (a resident identity card's, 15 or 18 digits).
    IdNumber(&'a str),
    /// By permit number.
    PermitNumber(&'a str),
}

/// The person of `district` found by `search`, audited as a view of personal data. `None` when
/// the district holds no such person (a number held only in another district included).
pub async fn find_person(
    db: &Db,
    account: &Account,
    district: &str,
    search: Search<'_>,
) -> anyhow::Result<Option<PersonView>> {
    let person_id: Option<String> = match search {
        Search::IdNumber(number) => {
            let Some(key) = crate::records::document_key("1", number.trim()) else {
                return Ok(None);
            };
            let blind = crate::records::blind_index(&db.vault, &key);
            sqlx::query_as::<_, (String,)>(
                "SELECT person_id FROM person_identifiers WHERE district = $1 AND id_blind = $2",
            )
            .bind(district)
            .bind(&blind)
            .fetch_optional(&db.pool)
            .await?
            .map(|(p,)| p)
        }
        Search::PermitNumber(number) => {
            let blind = db.vault.permit_number_blind(number.trim());
            sqlx::query_as::<_, (Option<String>,)>(
                "SELECT person_id FROM permits WHERE district = $1 AND number = $2",
            )
            .bind(district)
            .bind(&blind)
            .fetch_optional(&db.pool)
            .await?
            .and_then(|(p,)| p)
        }
    };
    let Some(person_id) = person_id else {
        super::accounts::audit(db, account, "person.search_empty", Some(district), None).await?;
        return Ok(None);
    };
    let view = person(db, district, &person_id).await?;
    super::accounts::audit(
        db,
        account,
        "person.viewed",
        Some(district),
        Some(("person", &person_id)),
    )
    .await?;
    Ok(view)
}

async fn person(db: &Db, district: &str, person_id: &str) -> anyhow::Result<Option<PersonView>> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT version, data FROM persons WHERE id = $1 AND district = $2")
            .bind(person_id)
            .bind(district)
            .fetch_optional(&db.pool)
            .await?;
    let Some((version, data)) = row else {
        return Ok(None);
    };
    let record = db
        .vault
        .open("persons", person_id, "data", &data)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let permits: Vec<(String, Option<String>, i64, String)> = sqlx::query_as(
        "SELECT id, state, version, data FROM permits WHERE district = $1 AND person_id = $2 ORDER BY id",
    )
    .bind(district)
    .bind(person_id)
    .fetch_all(&db.pool)
    .await?;
    let registrations: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT id, status, version FROM registrations WHERE district = $1 AND person_id = $2
         ORDER BY created_at, id",
    )
    .bind(district)
    .bind(person_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(Some(PersonView {
        person_id: person_id.to_owned(),
        district: district.to_owned(),
        version,
        record,
        permits: permits
            .into_iter()
            .map(|(permit_id, state, version, data)| PermitSummary {
                number: crate::permits::open(&db.vault, &permit_id, &data)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .and_then(|v| v.get("number").and_then(Value::as_str).map(str::to_owned)),
                permit_id,
                state,
                version,
            })
            .collect(),
        registrations: registrations
            .into_iter()
            .map(|(registration_id, status, version)| RegistrationSummary {
                registration_id,
                status,
                version,
            })
            .collect(),
    }))
}

/// Every person of a district (a bulk view: the caller checks the second factor), audited.
pub async fn persons(
    db: &Db,
    account: &Account,
    district: &str,
) -> anyhow::Result<Vec<PersonView>> {
    let ids: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM persons WHERE district = $1 ORDER BY id LIMIT 1000")
            .bind(district)
            .fetch_all(&db.pool)
            .await?;
    let mut out = Vec::new();
    for (id,) in ids {
        if let Some(p) = person(db, district, &id).await? {
            out.push(p);
        }
    }
    super::accounts::audit(db, account, "persons.listed", Some(district), None).await?;
    Ok(out)
}

/// One line of the console's audit trail.
#[derive(Debug, Serialize)]
pub struct AuditLine {
    /// Unix seconds.
    pub at: i64,
    /// Account.
    pub username: String,
    /// What was done or viewed.
    pub action: String,
    /// District.
    pub district: Option<String>,
    /// Record kind.
    pub record_kind: Option<String>,
    /// Record id.
    pub record_id: Option<String>,
}

/// The newest lines of the console's audit trail: the account's own and those of its districts
/// (an admin sees every line).
pub async fn audit_trail(db: &Db, account: &Account) -> anyhow::Result<Vec<AuditLine>> {
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT at, username, action, district, record_kind, record_id FROM console_audit
         ORDER BY at DESC, id DESC LIMIT 500",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            account.role == super::accounts::Role::Admin
                || r.1 == account.username
                || r.3.as_deref().is_some_and(|d| account.may_see(d))
        })
        .map(|r| AuditLine {
            at: r.0,
            username: r.1,
            action: r.2,
            district: r.3,
            record_kind: r.4,
            record_id: r.5,
        })
        .collect())
}
