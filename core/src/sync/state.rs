//! The sync engine's rows in the phone store: the enrollment, bucket cursors and the
//! replica of the server's buckets, applied only at checkpoints.

use chrono::{DateTime, Utc};
use lgt_protocol::{
    checksum, checksum_hex, entry_digest_input, Bucket, Entry, ReservedNumber, ServerPin,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::client::Credentials;
use crate::crypto::{sha256, BlindIndex, PublicKey, RowCipher, SigningKey, StretchParams};
use crate::store::{open_bytes, seal_bytes, timestamp, StoreError};
use crate::watchlist::WatchlistPolicy;

const KEY_CONTEXT: &str = "sync_device:signing_key";
const PENDING_KEY_CONTEXT: &str = "sync_device:pending_signing_key";
const ENROLLING_KEY_CONTEXT: &str = "sync_enrolling:signing_key";

/// Where this device syncs, and as whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Enrollment {
    /// The server's base URL.
    pub server_url: String,
    /// The device id the server assigned.
    pub device_id: String,
    /// The coordinator account the device is bound to.
    pub coordinator: String,
    /// The district whose permits it receives.
    pub district: String,
    /// When it enrolled.
    pub enrolled_at: String,
    /// Seconds without a successful sync after which personal data locks.
    pub max_offline_secs: i64,
    /// The server TLS keys trusted (empty: plain HTTP to loopback).
    pub server_pins: Vec<ServerPin>,
}

/// The key of the enrollment under `code` not yet answered, or a new one kept for it
/// (replacing one kept for another code).
pub(crate) fn enrolling_key(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    code: &str,
) -> Result<SigningKey, StoreError> {
    let code_sha256 = sha256(code.trim().as_bytes()).to_vec();
    let sealed: Option<Vec<u8>> = tx
        .query_row(
            "SELECT signing_key FROM sync_enrolling WHERE code_sha256 = ?1",
            [&code_sha256],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(sealed) = sealed {
        return open_key(cipher, ENROLLING_KEY_CONTEXT, &sealed);
    }
    let (key, sealed) = new_sealed_key(cipher, ENROLLING_KEY_CONTEXT)?;
    tx.execute(
        "INSERT OR REPLACE INTO sync_enrolling (singleton, code_sha256, signing_key) VALUES (1, ?1, ?2)",
        params![code_sha256, sealed],
    )?;
    Ok(key)
}

/// Stores the enrollment (the key sealed), which ends the one in flight.
pub(crate) fn save_enrollment(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    enrollment: &Enrollment,
    key: &SigningKey,
    command_key: &PublicKey,
) -> Result<(), StoreError> {
    let sealed = seal_bytes(cipher, KEY_CONTEXT, key.pkcs8())?;
    tx.execute(
        "INSERT INTO sync_device (singleton, server_url, device_id, coordinator, district, signing_key, enrolled_at, max_offline_secs, command_key, server_pins)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            enrollment.server_url,
            enrollment.device_id,
            enrollment.coordinator,
            enrollment.district,
            sealed,
            enrollment.enrolled_at,
            enrollment.max_offline_secs,
            lgt_protocol::hex(command_key.as_bytes()),
            pins_json(&enrollment.server_pins)?,
        ],
    )?;
    tx.execute("DELETE FROM sync_enrolling", [])?;
    Ok(())
}

pub(crate) fn enrollment(conn: &Connection) -> Result<Option<Enrollment>, StoreError> {
    let row = conn
        .query_row(
            "SELECT server_url, device_id, coordinator, district, enrolled_at, max_offline_secs, server_pins FROM sync_device",
            [],
            |r| {
                let enrollment = Enrollment {
                    server_url: r.get(0)?,
                    device_id: r.get(1)?,
                    coordinator: r.get(2)?,
                    district: r.get(3)?,
                    enrolled_at: r.get(4)?,
                    max_offline_secs: r.get(5)?,
                    server_pins: Vec::new(),
                };
                Ok((enrollment, r.get::<_, Option<String>>(6)?))
            },
        )
        .optional()?;
    let Some((enrollment, pins)) = row else {
        return Ok(None);
    };
    let server_pins = match pins {
        Some(json) => serde_json::from_str(&json).map_err(|_| malformed_pins())?,
        None => Vec::new(),
    };
    Ok(Some(Enrollment {
        server_pins,
        ..enrollment
    }))
}

fn malformed_pins() -> StoreError {
    StoreError::Malformed {
        record: "sync_device:server_pins".into(),
    }
}

fn pins_json(pins: &[ServerPin]) -> Result<String, StoreError> {
    serde_json::to_string(pins).map_err(|_| malformed_pins())
}

/// Replaces the trusted server keys (a signed command rotated them).
pub(crate) fn save_server_pins(tx: &Transaction<'_>, pins: &[ServerPin]) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE sync_device SET server_pins = ?1",
        [pins_json(pins)?],
    )?;
    Ok(())
}

pub(crate) fn credentials(
    conn: &Connection,
    cipher: &RowCipher,
) -> Result<Option<(Enrollment, Credentials)>, StoreError> {
    let Some(enrollment) = enrollment(conn)? else {
        return Ok(None);
    };
    let sealed: Vec<u8> =
        conn.query_row("SELECT signing_key FROM sync_device", [], |r| r.get(0))?;
    let key = open_key(cipher, KEY_CONTEXT, &sealed)?;
    let credentials = Credentials {
        device_id: enrollment.device_id.clone(),
        key,
    };
    Ok(Some((enrollment, credentials)))
}

/// The watchlist policy as stored: hex root keys and the least stretching cost.
#[derive(Serialize, Deserialize)]
struct StoredPolicy {
    roots: Vec<String>,
    min_stretch: StretchParams,
}

/// Pins the roots (and least cost) the `watchlist` bucket's packages must verify against.
/// Returns whether the device is enrolled (nothing to pin on otherwise).
pub(crate) fn save_watchlist_policy(
    tx: &Transaction<'_>,
    policy: &WatchlistPolicy,
) -> Result<bool, StoreError> {
    let stored = StoredPolicy {
        roots: policy
            .roots
            .iter()
            .map(|k| lgt_protocol::hex(k.as_bytes()))
            .collect(),
        min_stretch: policy.min_stretch,
    };
    let json = serde_json::to_string(&stored).map_err(|_| StoreError::Malformed {
        record: "sync_device:watchlist_policy".into(),
    })?;
    Ok(tx.execute("UPDATE sync_device SET watchlist_policy = ?1", [json])? == 1)
}

/// The pinned watchlist policy; `None` until the shell pins one.
pub(crate) fn watchlist_policy(conn: &Connection) -> Result<Option<WatchlistPolicy>, StoreError> {
    let json: Option<String> = conn
        .query_row("SELECT watchlist_policy FROM sync_device", [], |r| r.get(0))
        .optional()?
        .flatten();
    let Some(json) = json else {
        return Ok(None);
    };
    let malformed = || StoreError::Malformed {
        record: "sync_device:watchlist_policy".into(),
    };
    let stored: StoredPolicy = serde_json::from_str(&json).map_err(|_| malformed())?;
    let roots = stored
        .roots
        .iter()
        .map(|h| {
            lgt_protocol::unhex(h)
                .and_then(|b| PublicKey::try_from_slice(&b).ok())
                .ok_or_else(malformed)
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(WatchlistPolicy {
        roots,
        min_stretch: stored.min_stretch,
    }))
}

/// The server's command key pinned at enrollment (`None` for a device enrolled before
/// commands existed: it obeys none).
pub(crate) fn command_key(conn: &Connection) -> Result<Option<PublicKey>, StoreError> {
    let hex: Option<String> = conn
        .query_row("SELECT command_key FROM sync_device", [], |r| r.get(0))
        .optional()?
        .flatten();
    hex.map(|h| {
        lgt_protocol::unhex(&h)
            .and_then(|b| PublicKey::try_from_slice(&b).ok())
            .ok_or_else(|| StoreError::Malformed {
                record: "sync_device:command_key".into(),
            })
    })
    .transpose()
}

/// Orders (`Some`: the command id) the wipe that locks personal data until the shell wipes,
/// and sets the least client version.
pub(crate) fn obey(
    tx: &Transaction<'_>,
    wipe: Option<&str>,
    min_client_version: Option<&str>,
) -> Result<(), StoreError> {
    if let Some(command_id) = wipe {
        tx.execute("UPDATE sync_device SET wipe_ordered = ?1", [command_id])?;
    }
    if let Some(version) = min_client_version {
        tx.execute("UPDATE sync_device SET min_client_version = ?1", [version])?;
    }
    Ok(())
}

/// Pins a new command key (a rotation signed by the one before).
pub(crate) fn save_command_key(tx: &Transaction<'_>, key: &PublicKey) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE sync_device SET command_key = ?1",
        [lgt_protocol::hex(key.as_bytes())],
    )?;
    Ok(())
}

/// Whether the command `command_id` was obeyed already.
pub(crate) fn obeyed(conn: &Connection, command_id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sync_commands_obeyed WHERE command_id = ?1",
            [command_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Records that the command `command_id` was obeyed.
pub(crate) fn record_obeyed(
    tx: &Transaction<'_>,
    command_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR IGNORE INTO sync_commands_obeyed (command_id, obeyed_at) VALUES (?1, ?2)",
        params![command_id, timestamp(at)],
    )?;
    Ok(())
}

/// Makes the next device key, sealed beside the one in use, unless one is pending already.
pub(crate) fn make_pending_key(tx: &Transaction<'_>, cipher: &RowCipher) -> Result<(), StoreError> {
    if pending_key(tx, cipher)?.is_some() {
        return Ok(());
    }
    let (_, sealed) = new_sealed_key(cipher, PENDING_KEY_CONTEXT)?;
    tx.execute("UPDATE sync_device SET pending_signing_key = ?1", [sealed])?;
    Ok(())
}

/// The device key made on a rotation order and not yet confirmed by the server.
pub(crate) fn pending_key(
    conn: &Connection,
    cipher: &RowCipher,
) -> Result<Option<SigningKey>, StoreError> {
    let sealed: Option<Vec<u8>> = conn
        .query_row("SELECT pending_signing_key FROM sync_device", [], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    sealed
        .map(|sealed| open_key(cipher, PENDING_KEY_CONTEXT, &sealed))
        .transpose()
}

/// The server holds the pending key: it becomes the key in use, the old one is gone.
pub(crate) fn promote_pending_key(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
) -> Result<(), StoreError> {
    let Some(key) = pending_key(tx, cipher)? else {
        return Ok(());
    };
    let sealed = seal_bytes(cipher, KEY_CONTEXT, key.pkcs8())?;
    tx.execute(
        "UPDATE sync_device SET signing_key = ?1, pending_signing_key = NULL",
        [sealed],
    )?;
    Ok(())
}

/// A new device key, and its PKCS#8 sealed under `context`.
fn new_sealed_key(cipher: &RowCipher, context: &str) -> Result<(SigningKey, Vec<u8>), StoreError> {
    let key = SigningKey::generate().map_err(|source| StoreError::Crypto {
        record: context.into(),
        source,
    })?;
    let sealed = seal_bytes(cipher, context, key.pkcs8())?;
    Ok((key, sealed))
}

fn open_key(cipher: &RowCipher, context: &str, sealed: &[u8]) -> Result<SigningKey, StoreError> {
    let pkcs8 = open_bytes(cipher, context, sealed)?;
    SigningKey::from_pkcs8(&pkcs8).map_err(|_| StoreError::Malformed {
        record: context.into(),
    })
}

/// The standing orders: a wipe (its command id) and the least client version.
pub(crate) fn orders(conn: &Connection) -> Result<(Option<String>, Option<String>), StoreError> {
    Ok(conn
        .query_row(
            "SELECT wipe_ordered, min_client_version FROM sync_device",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((None, None)))
}

/// Records how the last attempt ended.
pub(crate) fn record_attempt(
    tx: &Transaction<'_>,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    match error {
        None => tx.execute(
            "UPDATE sync_device SET last_success = ?1, last_error = NULL",
            [timestamp(at)],
        )?,
        Some(error) => tx.execute("UPDATE sync_device SET last_error = ?1", [error])?,
    };
    Ok(())
}

pub(crate) fn last_attempt(
    conn: &Connection,
) -> Result<(Option<String>, Option<String>), StoreError> {
    Ok(conn
        .query_row(
            "SELECT last_success, last_error FROM sync_device",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((None, None)))
}

pub(crate) fn cursor(conn: &Connection, bucket: Bucket) -> Result<i64, StoreError> {
    Ok(conn
        .query_row(
            "SELECT cursor FROM sync_buckets WHERE bucket = ?1",
            [bucket.as_str()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// The bucket's checksum over the replica's live entries.
pub(crate) fn local_checksum(conn: &Connection, bucket: Bucket) -> Result<String, StoreError> {
    let mut statement = conn.prepare_cached("SELECT digest FROM sync_entries WHERE bucket = ?1")?;
    let digests: Vec<[u8; 32]> = statement
        .query_map([bucket.as_str()], |r| r.get::<_, Vec<u8>>(0))?
        .map(|row| {
            row.map_err(StoreError::from).and_then(|d| {
                d.try_into().map_err(|_| StoreError::Malformed {
                    record: format!("sync_entries:{}", bucket.as_str()),
                })
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(checksum_hex(checksum(&digests)))
}

pub(crate) fn entry_count(conn: &Connection, bucket: Bucket) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM sync_entries WHERE bucket = ?1",
        [bucket.as_str()],
        |r| r.get(0),
    )?)
}

/// Applies staged entries of one bucket up to its checkpoint, all or nothing: the entries
/// (replacing the whole bucket when `replace`), then the cursor, but only if the replica's
/// checksum then equals the server's. Returns whether it did.
pub(crate) fn apply_checkpoint(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    bucket: Bucket,
    entries: &[Entry],
    cursor: i64,
    server_checksum: &str,
    replace: bool,
) -> Result<bool, StoreError> {
    tx.execute_batch("SAVEPOINT checkpoint")?;
    let applied = (|| {
        if replace {
            tx.execute(
                "DELETE FROM sync_entries WHERE bucket = ?1",
                [bucket.as_str()],
            )?;
        }
        for entry in entries {
            match &entry.data {
                Some(data) => {
                    let context = format!("sync_entries:{}:{}", bucket.as_str(), entry.key);
                    let digest = sha256(&entry_digest_input(&entry.key, data));
                    let sealed = seal_bytes(cipher, &context, data.as_bytes())?;
                    tx.prepare_cached(
                        "INSERT INTO sync_entries (bucket, key, seq, digest, sealed) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (bucket, key) DO UPDATE SET seq = excluded.seq, digest = excluded.digest, sealed = excluded.sealed",
                    )?
                    .execute(params![bucket.as_str(), entry.key, entry.seq, digest.to_vec(), sealed])?;
                }
                None => {
                    tx.prepare_cached("DELETE FROM sync_entries WHERE bucket = ?1 AND key = ?2")?
                        .execute(params![bucket.as_str(), entry.key])?;
                }
            }
        }
        if local_checksum(tx, bucket)? != server_checksum {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO sync_buckets (bucket, cursor) VALUES (?1, ?2)
             ON CONFLICT (bucket) DO UPDATE SET cursor = excluded.cursor",
            params![bucket.as_str(), cursor],
        )?;
        Ok::<_, StoreError>(true)
    })();
    match applied {
        Ok(true) => tx.execute_batch("RELEASE checkpoint")?,
        _ => tx.execute_batch("ROLLBACK TO checkpoint; RELEASE checkpoint")?,
    }
    applied
}

/// One live entry of the replica, decrypted.
pub(crate) fn entry(
    conn: &Connection,
    cipher: &RowCipher,
    bucket: Bucket,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let sealed: Option<Vec<u8>> = conn
        .prepare_cached("SELECT sealed FROM sync_entries WHERE bucket = ?1 AND key = ?2")?
        .query_row(params![bucket.as_str(), key], |r| r.get(0))
        .optional()?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let context = format!("sync_entries:{}:{key}", bucket.as_str());
    let plain = open_bytes(cipher, &context, &sealed)?;
    String::from_utf8(plain.to_vec())
        .map(Some)
        .map_err(|_| StoreError::Malformed { record: context })
}

/// The replica's live entries of one bucket, decrypted: `(key, JSON text)`, by key.
pub(crate) fn entries(
    conn: &Connection,
    cipher: &RowCipher,
    bucket: Bucket,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut statement =
        conn.prepare_cached("SELECT key, sealed FROM sync_entries WHERE bucket = ?1 ORDER BY key")?;
    let rows = statement.query_map([bucket.as_str()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, sealed) = row?;
        let context = format!("sync_entries:{}:{key}", bucket.as_str());
        let plain = open_bytes(cipher, &context, &sealed)?;
        let text = String::from_utf8(plain.to_vec())
            .map_err(|_| StoreError::Malformed { record: context })?;
        out.push((key, text));
    }
    Ok(out)
}

/// Replaces the pool of reserved permit numbers with the server's list, leaving out numbers
/// this phone has issued already (their operations may not have reached the server).
pub(crate) fn replace_numbers(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    numbers: &[ReservedNumber],
) -> Result<(), StoreError> {
    tx.execute("DELETE FROM sync_numbers", [])?;
    for reserved in numbers {
        if !issued_here(tx, cipher, &reserved.number)? {
            tx.prepare_cached("INSERT INTO sync_numbers (number, expires_at) VALUES (?1, ?2)")?
                .execute(params![reserved.number, reserved.expires_at])?;
        }
    }
    Ok(())
}

fn issued_here(conn: &Connection, cipher: &RowCipher, number: &str) -> Result<bool, StoreError> {
    let blind = cipher.blind(BlindIndex::PermitNumber, number);
    Ok(conn
        .prepare_cached("SELECT 1 FROM permits WHERE number_blind = ?1")?
        .exists([blind])?)
}

/// Reserved numbers still valid at `now` (Unix seconds) and not issued here, lowest first.
pub(crate) fn unissued_numbers(
    conn: &Connection,
    cipher: &RowCipher,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT number FROM sync_numbers WHERE expires_at > ?1 ORDER BY number")?;
    let numbers: Vec<String> = statement
        .query_map([now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut unissued = Vec::with_capacity(numbers.len());
    for number in numbers {
        if !issued_here(conn, cipher, &number)? {
            unissued.push(number);
        }
    }
    Ok(unissued)
}
