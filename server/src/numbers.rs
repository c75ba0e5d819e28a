//! Permit-number pools: each device holds numbers reserved for it, to issue offline. When
//! fewer than [`NUMBER_POOL_LOW`] unused ones remain it gets more, up to
//! [`NUMBER_POOL_TARGET`]; each expires after [`NUMBER_POOL_LIFETIME_SECS`]. Numbers are
//! cut from the district's sequence under its row lock, so none is ever reserved twice.

use lgt_protocol::{
    ReservedNumber, NUMBER_POOL_LIFETIME_SECS, NUMBER_POOL_LOW, NUMBER_POOL_TARGET,
};
use sqlx::AnyConnection;

use crate::auth::Device;
use crate::db::{now, Db};
use crate::error::ApiError;
use crate::vault::Vault;

/// Tops up the device's pool; returns every unused, unexpired number it holds.
pub async fn top_up(db: &Db, device: &Device) -> Result<Vec<ReservedNumber>, ApiError> {
    let now = now();
    let mut tx = db.pool.begin().await?;
    let holding = held(&mut tx, &db.vault, device, now).await?.len() as i64;
    let missing = i64::from(NUMBER_POOL_TARGET) - holding;
    if holding < i64::from(NUMBER_POOL_LOW) && missing > 0 {
        sqlx::query(
            "INSERT INTO number_sequences (district, next) VALUES ($1, 1)
             ON CONFLICT (district) DO NOTHING",
        )
        .bind(&device.district)
        .execute(&mut *tx)
        .await?;
        let (next,): (i64,) = sqlx::query_as(
            "UPDATE number_sequences SET next = next + $2 WHERE district = $1 RETURNING next",
        )
        .bind(&device.district)
        .bind(missing)
        .fetch_one(&mut *tx)
        .await?;
        for n in next - missing..next {
            // Stored by its blind index, the number itself sealed beside it.
            let number = format!("{}{n:08}", device.district);
            let blind = db.vault.permit_number_blind(&number);
            sqlx::query(
                "INSERT INTO reserved_numbers
                     (number, sealed_number, device_id, reserved_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&blind)
            .bind(db.vault.seal("reserved_numbers", &blind, "number", &number))
            .bind(&device.id)
            .bind(now)
            .bind(now + NUMBER_POOL_LIFETIME_SECS)
            .execute(&mut *tx)
            .await?;
        }
    }
    let numbers = held(&mut tx, &db.vault, device, now).await?;
    tx.commit().await?;
    Ok(numbers)
}

async fn held(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    now: i64,
) -> Result<Vec<ReservedNumber>, ApiError> {
    let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT number, sealed_number, expires_at FROM reserved_numbers
         WHERE device_id = $1 AND used_by IS NULL AND expires_at > $2",
    )
    .bind(&device.id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let mut numbers = rows
        .into_iter()
        .map(|(blind, sealed, expires_at)| {
            let number = sealed
                .and_then(|sealed| {
                    vault
                        .open("reserved_numbers", &blind, "number", &sealed)
                        .ok()
                })
                .ok_or_else(|| {
                    ApiError::new(
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "server.numbers",
                        "a reserved permit number is unreadable",
                    )
                })?;
            Ok(ReservedNumber { number, expires_at })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    numbers.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(numbers)
}

/// The refusal for an issue under a number not reserved for the device: reserved for
/// another device (of any district) or never reserved read the same.
const NOT_RESERVED: &str = "the permit number was not reserved for this device";

/// The refusal for an issue under a number another permit of the device already holds.
const IN_USE: &str = "the permit number is already used by another permit";

/// Claims `number` for `permit_id`, issued by `device`: only a number reserved for this
/// device and held by no other permit is accepted, and is then marked used. Returns the
/// refusal, if any, which names no other record.
pub async fn claim(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    number: &str,
    permit_id: &str,
) -> Result<Option<&'static str>, ApiError> {
    // Found by its blind index: neither table holds the number in clear.
    let blind = vault.permit_number_blind(number);
    let number = blind.as_str();
    let reservation: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT device_id, used_by FROM reserved_numbers WHERE number = $1")
            .bind(number)
            .fetch_optional(&mut *conn)
            .await?;
    let used_by = match reservation {
        Some((holder, used_by)) if holder == device.id => used_by,
        _ => return Ok(Some(NOT_RESERVED)),
    };
    let holder: Option<(String,)> =
        sqlx::query_as("SELECT id FROM permits WHERE number = $1 AND id <> $2")
            .bind(number)
            .bind(permit_id)
            .fetch_optional(&mut *conn)
            .await?;
    if holder.is_some() || used_by.is_some_and(|user| user != permit_id) {
        return Ok(Some(IN_USE));
    }
    sqlx::query("UPDATE reserved_numbers SET used_by = $2 WHERE number = $1")
        .bind(number)
        .bind(permit_id)
        .execute(&mut *conn)
        .await?;
    Ok(None)
}
