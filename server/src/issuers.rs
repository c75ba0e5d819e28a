//! Permit-issuer keys: each device publishes the public key it signs permit QR codes with
//! (an `issuer.key` operation); the server binds it to that device and lists it in the
//! `issuers` bucket every device pulls, so any phone verifies any phone's permits offline.
//! Revoking the device, or the key alone, marks the key revoked there; phones refuse its
//! codes from their next sync.

use lgt_common::crypto::PublicKey;
use lgt_protocol::{unhex, IssuerEntry, IssuerKeyPayload, Outcome, PushOperation};
use serde::Serialize;
use sqlx::AnyConnection;

use crate::auth::Device;
use crate::buckets;
use crate::db::{now, Db};

/// Keeps a published key (inside the push's savepoint, beside its ledger row).
pub(crate) async fn publish(
    conn: &mut AnyConnection,
    vault: &crate::vault::Vault,
    device: &Device,
    op: &PushOperation,
) -> sqlx::Result<Outcome> {
    let rejected = |reason: &str| Outcome::Rejected {
        reason: reason.into(),
    };
    let Ok(payload) = serde_json::from_str::<IssuerKeyPayload>(&op.payload) else {
        return Ok(rejected("malformed issuer.key payload"));
    };
    let Some(key) = unhex(&payload.public_key).and_then(|b| PublicKey::try_from_slice(&b).ok())
    else {
        return Ok(rejected(
            "the issuer key is not an Ed25519 key (64 hex digits)",
        ));
    };
    let key_id = key.key_id();
    if key_id != op.record_id {
        return Ok(rejected("an issuer.key names another key than its record"));
    }
    let holder: Option<(String,)> =
        sqlx::query_as("SELECT device_id FROM issuer_keys WHERE key_id = $1")
            .bind(&key_id)
            .fetch_optional(&mut *conn)
            .await?;
    match holder {
        Some((holder,)) if holder != device.id => {
            return Ok(rejected("another device published this issuer key"))
        }
        Some(_) => return Ok(Outcome::Applied),
        None => {}
    }
    sqlx::query(
        "INSERT INTO issuer_keys (key_id, public_key, device_id, added_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&key_id)
    .bind(&payload.public_key)
    .bind(&device.id)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    let entry = IssuerEntry {
        public_key: payload.public_key,
        device_id: device.id.clone(),
        revoked_at: None,
    };
    put(conn, vault, &key_id, &entry).await?;
    tracing::info!(key = %key_id, device = %device.id, "issuer key published");
    Ok(Outcome::Applied)
}

/// Marks the keys of `device_id` (or the one key `key_id`) revoked, in the table and in the
/// bucket; returns how many were.
pub(crate) async fn revoke(
    conn: &mut AnyConnection,
    vault: &crate::vault::Vault,
    device_id: Option<&str>,
    key_id: Option<&str>,
) -> sqlx::Result<usize> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT key_id, public_key, device_id FROM issuer_keys
         WHERE revoked_at IS NULL AND (device_id = $1 OR key_id = $2)",
    )
    .bind(device_id)
    .bind(key_id)
    .fetch_all(&mut *conn)
    .await?;
    let at = now();
    for (key_id, public_key, device_id) in &rows {
        sqlx::query("UPDATE issuer_keys SET revoked_at = $2 WHERE key_id = $1")
            .bind(key_id)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        let entry = IssuerEntry {
            public_key: public_key.clone(),
            device_id: device_id.clone(),
            revoked_at: Some(at),
        };
        put(conn, vault, key_id, &entry).await?;
        tracing::info!(key = %key_id, device = %device_id, "issuer key revoked");
    }
    Ok(rows.len())
}

/// Revokes one issuer key (a device's key leaked, the device itself still trusted).
pub async fn revoke_key(db: &Db, key_id: &str) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    let revoked = revoke(&mut tx, &db.vault, None, Some(key_id)).await?;
    anyhow::ensure!(revoked == 1, "no unrevoked issuer key {key_id}");
    tx.commit().await?;
    Ok(())
}

/// A published issuer key, for supervisors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuerKey {
    /// Its key id.
    pub key_id: String,
    /// The device that published it.
    pub device_id: String,
    /// Unix seconds when it was published.
    pub added_at: i64,
    /// Unix seconds when it was revoked.
    pub revoked_at: Option<i64>,
}

/// Every published issuer key.
pub async fn list(db: &Db) -> anyhow::Result<Vec<IssuerKey>> {
    let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT key_id, device_id, added_at, revoked_at FROM issuer_keys ORDER BY added_at, key_id",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key_id, device_id, added_at, revoked_at)| IssuerKey {
            key_id,
            device_id,
            added_at,
            revoked_at,
        })
        .collect())
}

async fn put(
    conn: &mut AnyConnection,
    vault: &crate::vault::Vault,
    key_id: &str,
    entry: &IssuerEntry,
) -> sqlx::Result<()> {
    let data = serde_json::to_string(entry).expect("an issuer entry serialises");
    buckets::put(conn, vault, buckets::ISSUERS, key_id, Some(&data)).await?;
    Ok(())
}
