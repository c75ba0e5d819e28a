//! Signed requests: every request after enrollment carries the device id, a timestamp, a
//! nonce and an Ed25519 signature over them, the method, the path and the body's SHA-256.
//! A timestamp outside the skew window or a nonce seen before is a replay and is refused.
//! Nonces live in the database, so any server process behind a load balancer refuses them.

use axum::http::{HeaderMap, StatusCode};
use lgt_common::crypto::{sha256, PublicKey};
use lgt_protocol::{codes, headers, hex, signing_message, unhex, MAX_CLOCK_SKEW_SECS};

use crate::db::{now, Db};
use crate::error::ApiError;

/// The device a request came from, once its signature checked out.
#[derive(Debug, Clone)]
pub struct Device {
    /// Device id.
    pub id: String,
    /// The district whose permits it syncs.
    pub district: String,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("auth.missing", "the request is not signed"))
}

/// Checks the signature, the timestamp and the nonce of a request; returns its device.
pub async fn verify(
    db: &Db,
    method: &str,
    path: &str,
    request_headers: &HeaderMap,
    body: &[u8],
) -> Result<Device, ApiError> {
    let device_id = header(request_headers, headers::DEVICE)?;
    let nonce = header(request_headers, headers::NONCE)?;
    let signature = unhex(header(request_headers, headers::SIGNATURE)?)
        .ok_or_else(|| ApiError::unauthorized("auth.bad_signature", "signature is not hex"))?;
    let timestamp: i64 = header(request_headers, headers::TIMESTAMP)?
        .parse()
        .map_err(|_| ApiError::unauthorized("auth.bad_timestamp", "timestamp is not a number"))?;
    let now = now();
    if now.saturating_sub(timestamp).saturating_abs() > MAX_CLOCK_SKEW_SECS {
        return Err(ApiError::unauthorized(
            "auth.clock_skew",
            "the request's timestamp is too far from the server's clock",
        ));
    }
    if nonce.is_empty() || nonce.len() > 64 {
        return Err(ApiError::unauthorized(
            "auth.bad_nonce",
            "a nonce is 1 to 64 characters",
        ));
    }
    let row: Option<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT public_key, district, revoked_at FROM devices WHERE id = $1")
            .bind(device_id)
            .fetch_optional(&db.pool)
            .await?;
    let (public_key, district, revoked_at) =
        row.ok_or_else(|| ApiError::unauthorized("auth.unknown_device", "unknown device"))?;
    let key = unhex(&public_key)
        .and_then(|bytes| PublicKey::try_from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::unauthorized("auth.unknown_device", "unknown device"))?;
    let message = signing_message(method, path, timestamp, nonce, &hex(&sha256(body)));
    key.verify(&message, &signature)
        .map_err(|_| ApiError::unauthorized("auth.bad_signature", "bad signature"))?;
    if revoked_at.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            codes::DEVICE_REVOKED,
            "this device was revoked: its personal data must be purged",
        ));
    }
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM nonces WHERE seen_at < $1")
        .bind(now - 2 * MAX_CLOCK_SKEW_SECS)
        .execute(&mut *tx)
        .await?;
    let fresh = sqlx::query(
        "INSERT INTO nonces (device_id, nonce, seen_at) VALUES ($1, $2, $3)
         ON CONFLICT (device_id, nonce) DO NOTHING",
    )
    .bind(device_id)
    .bind(nonce)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        return Err(ApiError::unauthorized(
            "auth.replay",
            "this request was already received",
        ));
    }
    sqlx::query("UPDATE devices SET last_contact = $2, clock_skew_secs = $3 WHERE id = $1")
        .bind(device_id)
        .bind(now)
        .bind(timestamp - now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Device {
        id: device_id.to_owned(),
        district,
    })
}
