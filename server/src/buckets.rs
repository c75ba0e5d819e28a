//! Buckets: per-partition change logs that devices pull by cursor.
//!
//! A bucket keeps the latest value of each key (or its tombstone) under a sequence number
//! from the bucket's head row. Taking the next number updates that row, which holds its lock
//! until commit, so writers of one bucket commit in sequence order and a reader never skips
//! a number that commits later. The head also keeps the order-independent checksum of the
//! live entries, adjusted on every write.

use lgt_common::crypto::sha256;
use lgt_protocol::{checksum_hex, checksum_term, entry_digest_input, Bucket, BucketPage, Entry};
use sqlx::{Any, AnyConnection, Transaction};

use crate::auth::Device;
use crate::db::{now, Db};
use crate::vault::Vault;

/// The row key of an entry in its sealed `data` (the associated data of the sealing).
fn row(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}")
}

/// Opens a sealed column of the entry stored under `stored` (its key as stored); one that
/// does not open is a database error (the value was altered, moved or never sealed).
fn open(
    vault: &Vault,
    bucket: &str,
    stored: &str,
    column: &str,
    sealed: &str,
) -> sqlx::Result<String> {
    vault
        .open("bucket_entries", &row(bucket, stored), column, sealed)
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The storage name of a device's bucket.
pub fn name_for(device: &Device, bucket: Bucket) -> String {
    match bucket {
        Bucket::Permits => district_permits(&device.district),
        Bucket::Records => district_records(&device.district),
        Bucket::Watchlist => WATCHLIST.to_owned(),
        Bucket::Commands => format!("device:{}:commands", device.id),
        Bucket::Issuers => ISSUERS.to_owned(),
    }
}

/// The one bucket of permit-issuer keys every device pulls.
pub const ISSUERS: &str = "issuers";

/// The one watchlist bucket every device pulls.
pub const WATCHLIST: &str = "watchlist";

/// The permits bucket of a district.
pub fn district_permits(district: &str) -> String {
    format!("district:{district}:permits")
}

/// The records bucket of a district: its persons, registrations and dwellings.
pub fn district_records(district: &str) -> String {
    format!("district:{district}:records")
}

/// Locks `bucket`'s head row until the caller's transaction (or savepoint) ends, making it on
/// first use, so writers that read before they write to the bucket take turns: on PostgreSQL
/// the second waits for the first to commit and then reads what it wrote.
pub async fn lock(conn: &mut AnyConnection, bucket: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO bucket_heads (bucket, seq, checksum) VALUES ($1, 0, 0)
         ON CONFLICT (bucket) DO UPDATE SET seq = bucket_heads.seq",
    )
    .bind(bucket)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn term(key: &str, data: Option<&str>) -> u64 {
    data.map_or(0, |data| {
        checksum_term(&sha256(&entry_digest_input(key, data)))
    })
}

/// Sets `key` in `bucket` to `data` (`None`: a tombstone) under the bucket's next sequence.
pub async fn put(
    conn: &mut AnyConnection,
    vault: &Vault,
    bucket: &str,
    key: &str,
    data: Option<&str>,
) -> sqlx::Result<i64> {
    // One statement takes the next sequence number, making the head on first use; its row
    // lock holds until commit.
    let (seq, checksum): (i64, i64) = sqlx::query_as(
        "INSERT INTO bucket_heads (bucket, seq, checksum) VALUES ($1, 1, 0)
         ON CONFLICT (bucket) DO UPDATE SET seq = bucket_heads.seq + 1
         RETURNING seq, checksum",
    )
    .bind(bucket)
    .fetch_one(&mut *conn)
    .await?;
    let old = get(conn, vault, bucket, key).await?;
    // A dwelling's key is stored by the house code's blind index, the key sealed beside it.
    let stored = vault.stored_bucket_key(key);
    let sealed_key =
        (stored != key).then(|| vault.seal("bucket_entries", &row(bucket, &stored), "key", key));
    // The checksum is a u64 kept in a signed BIGINT: the casts are bit-for-bit.
    let checksum = (checksum as u64)
        .wrapping_sub(term(key, old.as_deref()))
        .wrapping_add(term(key, data));
    sqlx::query("UPDATE bucket_heads SET checksum = $2 WHERE bucket = $1")
        .bind(bucket)
        .bind(checksum as i64)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO bucket_entries (bucket, key, seq, data, written_at, sealed_key)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (bucket, key)
         DO UPDATE SET seq = excluded.seq, data = excluded.data, written_at = excluded.written_at,
             sealed_key = excluded.sealed_key",
    )
    .bind(bucket)
    .bind(&stored)
    .bind(seq)
    .bind(data.map(|data| vault.seal("bucket_entries", &row(bucket, &stored), "data", data)))
    .bind(now())
    .bind(sealed_key)
    .execute(&mut *conn)
    .await?;
    Ok(seq)
}

/// Deletes every tombstone written before `horizon` (Unix seconds); returns how many.
///
/// No phone needs to be told: one whose cursor is older than a deleted tombstone still holds
/// the entry it removed, so its checksum (over live entries) disagrees with the server's at
/// its next pull, and it downloads the bucket again whole, the recovery path. Tombstones
/// younger than the horizon keep the phones that sync within it on the cheap path.
pub(crate) async fn compact(db: &Db, horizon: i64) -> sqlx::Result<u64> {
    let deleted = sqlx::query(
        "DELETE FROM bucket_entries WHERE data IS NULL AND (written_at IS NULL OR written_at < $1)",
    )
    .bind(horizon)
    .execute(&db.pool)
    .await?
    .rows_affected();
    tracing::info!(deleted, horizon, "tombstones compacted");
    Ok(deleted)
}

/// The live value of `key` in `bucket` (`None` if absent or tombstoned).
pub async fn get(
    conn: &mut AnyConnection,
    vault: &Vault,
    bucket: &str,
    key: &str,
) -> sqlx::Result<Option<String>> {
    let stored = vault.stored_bucket_key(key);
    let found: Option<(Option<String>,)> =
        sqlx::query_as("SELECT data FROM bucket_entries WHERE bucket = $1 AND key = $2")
            .bind(bucket)
            .bind(&stored)
            .fetch_optional(&mut *conn)
            .await?;
    found
        .and_then(|(data,)| data)
        .map(|sealed| open(vault, bucket, &stored, "data", &sealed))
        .transpose()
}

/// Up to `limit` changes of `bucket` after `cursor`, read in the caller's snapshot.
pub async fn page(
    tx: &mut Transaction<'static, Any>,
    vault: &Vault,
    bucket: Bucket,
    name: &str,
    cursor: i64,
    limit: u32,
) -> sqlx::Result<BucketPage> {
    let head: Option<(i64, i64)> =
        sqlx::query_as("SELECT seq, checksum FROM bucket_heads WHERE bucket = $1")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
    let (head, checksum) = head.unwrap_or((0, 0));
    let rows: Vec<(String, Option<String>, i64, Option<String>)> = sqlx::query_as(
        "SELECT key, sealed_key, seq, data FROM bucket_entries
         WHERE bucket = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
    )
    .bind(name)
    .bind(cursor)
    .bind(head)
    .bind(i64::from(limit) + 1)
    .fetch_all(&mut **tx)
    .await?;
    let has_more = rows.len() > limit as usize;
    let entries: Vec<Entry> = rows
        .into_iter()
        .take(limit as usize)
        .map(|(stored, sealed_key, seq, data)| {
            let data = data
                .map(|sealed| open(vault, name, &stored, "data", &sealed))
                .transpose()?;
            let key = match sealed_key {
                Some(sealed) => open(vault, name, &stored, "key", &sealed)?,
                None => stored,
            };
            Ok(Entry { key, seq, data })
        })
        .collect::<sqlx::Result<_>>()?;
    let (cursor, checksum) = if has_more {
        (entries.last().map_or(cursor, |e| e.seq), None)
    } else {
        (head.max(cursor), Some(checksum_hex(checksum as u64)))
    };
    Ok(BucketPage {
        bucket,
        entries,
        cursor,
        has_more,
        checksum,
    })
}
