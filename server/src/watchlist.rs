//! The watchlist over sync: publishing signed list packages into the `watchlist` bucket, and
//! the `watchlist.hit` reports phones push when a listed person alerts.
//!
//! The server checks only what keeps the bucket coherent (one list, versions in order, a
//! delta on the version before it); the signatures are the phones' to verify against the
//! root they pin, so a compromised server can withhold a list but not forge one.

use lgt_common::watchlist::{ListKind, ListPackage};
use lgt_protocol::{watchlist_key, Outcome, PushOperation, WatchlistEntry};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::auth::Device;
use crate::buckets::{self, WATCHLIST};
use crate::db::{now, Db};

/// A list version as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedVersion {
    /// The list.
    pub list_id: String,
    /// The version.
    pub version: u64,
    /// `snapshot` or `delta`.
    pub kind: &'static str,
    /// Rows in the list at this version.
    pub entry_count: u64,
    /// The bucket sequence that carries it.
    pub seq: i64,
}

fn kind_name(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Snapshot => "snapshot",
        ListKind::Delta => "delta",
    }
}

/// Publishes a package built by `lgt watchlist build` (or the publisher library): a
/// snapshot replaces every earlier package in the bucket, a delta joins the ones after the
/// last snapshot. Refuses another list than the one published, a version not newer than the
/// last, and a delta on another base.
pub async fn publish(db: &Db, package: &[u8]) -> anyhow::Result<PublishedVersion> {
    let manifest = ListPackage::from_bytes(package)
        .and_then(|p| p.unverified_manifest())
        .map_err(|e| anyhow::anyhow!("not a watchlist package: {e}"))?;
    let mut tx = db.pool.begin().await?;
    let latest: Option<(String, i64)> = sqlx::query_as(
        "SELECT list_id, version FROM watchlist_versions ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let version = i64::try_from(manifest.version)?;
    match (&latest, manifest.kind) {
        (Some((list_id, _)), _) if *list_id != manifest.list_id => {
            anyhow::bail!(
                "this server publishes list {list_id}, not {}",
                manifest.list_id
            )
        }
        (Some((_, last)), _) if version <= *last => {
            anyhow::bail!("version {version} is not newer than version {last} (published)")
        }
        (Some((_, last)), ListKind::Delta)
            if manifest.base_version.and_then(|b| i64::try_from(b).ok()) != Some(*last) =>
        {
            anyhow::bail!(
                "the delta applies to version {:?}, but version {last} is published",
                manifest.base_version
            )
        }
        (None, ListKind::Delta) => anyhow::bail!("the first version published must be a snapshot"),
        _ => {}
    }
    if manifest.kind == ListKind::Snapshot {
        let live: Vec<(String,)> = sqlx::query_as(
            "SELECT key FROM bucket_entries WHERE bucket = $1 AND data IS NOT NULL ORDER BY key",
        )
        .bind(WATCHLIST)
        .fetch_all(&mut *tx)
        .await?;
        for (key,) in live {
            buckets::put(&mut tx, &db.vault, WATCHLIST, &key, None).await?;
        }
    }
    let entry = serde_json::to_string(&WatchlistEntry::new(manifest.version, package))?;
    let key = watchlist_key(&manifest.list_id, manifest.version);
    let seq = buckets::put(&mut tx, &db.vault, WATCHLIST, &key, Some(&entry)).await?;
    sqlx::query(
        "INSERT INTO watchlist_versions (list_id, version, kind, entry_count, published_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&manifest.list_id)
    .bind(version)
    .bind(kind_name(manifest.kind))
    .bind(i64::try_from(manifest.entry_count)?)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(list = %manifest.list_id, version, kind = kind_name(manifest.kind), "watchlist published");
    Ok(PublishedVersion {
        list_id: manifest.list_id,
        version: manifest.version,
        kind: kind_name(manifest.kind),
        entry_count: manifest.entry_count,
        seq,
    })
}

/// The phone's `watchlist.hit` payload.
#[derive(Deserialize)]
struct HitPayload {
    alert_id: String,
    list_id: String,
    list_version: u64,
    key_epoch: u32,
    tag: String,
    matched_on: String,
    score: u8,
    person_id: Option<String>,
    raised_at: String,
}

/// Keeps a hit report (inside the push's savepoint, beside its ledger row).
pub(crate) async fn record_hit(
    conn: &mut AnyConnection,
    device: &Device,
    op: &PushOperation,
) -> sqlx::Result<Outcome> {
    let Ok(hit) = serde_json::from_str::<HitPayload>(&op.payload) else {
        return Ok(Outcome::Rejected {
            reason: "malformed watchlist.hit payload".into(),
        });
    };
    if hit.alert_id != op.record_id {
        return Ok(Outcome::Rejected {
            reason: "a watchlist.hit names another alert than its record".into(),
        });
    }
    sqlx::query(
        "INSERT INTO watchlist_hits (op_id, alert_id, device_id, person_id, list_id, list_version,
             key_epoch, tag, matched_on, score, raised_at, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&op.op_id)
    .bind(&hit.alert_id)
    .bind(&device.id)
    .bind(hit.person_id.as_deref())
    .bind(&hit.list_id)
    .bind(i64::try_from(hit.list_version).unwrap_or(i64::MAX))
    .bind(i64::from(hit.key_epoch))
    .bind(&hit.tag)
    .bind(&hit.matched_on)
    .bind(i64::from(hit.score))
    .bind(&hit.raised_at)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    tracing::warn!(alert = %hit.alert_id, device = %device.id, list_version = hit.list_version, "watchlist hit reported");
    Ok(Outcome::Applied)
}

/// A hit report as the server keeps it (ids, versions and the tag; no personal value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The alert's id on the phone.
    pub alert_id: String,
    /// The device that reported it.
    pub device_id: String,
    /// The phone's local person record, if the alert was about one.
    pub person_id: Option<String>,
    /// The list and version that matched.
    pub list_id: String,
    /// The version.
    pub list_version: i64,
    /// The key epoch.
    pub key_epoch: i64,
    /// The stretched tag that matched (hex): the server maps it back to its entry.
    pub tag: String,
    /// `id_number`, `name_hanzi` or `name_pinyin`.
    pub matched_on: String,
    /// The alert's score.
    pub score: i64,
    /// When the phone raised it (RFC 3339).
    pub raised_at: String,
    /// Unix seconds when the server received it.
    pub received_at: i64,
}

/// Every hit report, oldest first.
pub async fn hits(db: &Db) -> anyhow::Result<Vec<Hit>> {
    type Row = (
        String,
        String,
        Option<String>,
        String,
        i64,
        i64,
        String,
        String,
        i64,
        String,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT alert_id, device_id, person_id, list_id, list_version, key_epoch, tag, matched_on,
                score, raised_at, received_at
         FROM watchlist_hits ORDER BY received_at, op_id",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Hit {
            alert_id: r.0,
            device_id: r.1,
            person_id: r.2,
            list_id: r.3,
            list_version: r.4,
            key_epoch: r.5,
            tag: r.6,
            matched_on: r.7,
            score: r.8,
            raised_at: r.9,
            received_at: r.10,
        })
        .collect())
}
