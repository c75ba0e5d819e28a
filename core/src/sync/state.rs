//! The sync engine's rows in the phone store: the enrollment, bucket cursors and the
//! replica of the server's buckets, applied only at checkpoints.

use chrono::{DateTime, Utc};
use lgt_protocol::{
    checksum_hex, checksum_term, entry_digest_input, Bucket, Entry, ReservedNumber, ServerPin,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::client::Credentials;
use crate::crypto::{sha256, BlindIndex, PublicKey, RowCipher, SigningKey, StretchParams};
use crate::store::{anchor_time, open_bytes, seal_bytes, timestamp, StoreError};
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
    // The server answered: the time it was asked at is anchored (see `record_attempt`).
    let enrolled_at = DateTime::parse_from_rfc3339(&enrollment.enrolled_at)
        .map_err(|_| StoreError::Malformed {
            record: "sync_device:enrolled_at".into(),
        })?
        .with_timezone(&Utc);
    anchor_time(tx, cipher, enrolled_at)?;
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

/// Records how the last attempt ended. A success re-anchors the store's record of the
/// latest time at `at`: the server took requests signed within minutes of its own clock.
pub(crate) fn record_attempt(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    match error {
        None => {
            tx.execute(
                "UPDATE sync_device SET last_success = ?1, last_error = NULL",
                [timestamp(at)],
            )?;
            anchor_time(tx, cipher, at)?;
        }
        Some(error) => {
            tx.execute("UPDATE sync_device SET last_error = ?1", [error])?;
        }
    };
    Ok(())
}

/// The last audit record the server said it holds, as this device last heard (0: none yet,
/// or not known).
pub(crate) fn audit_uploaded(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .query_row("SELECT audit_uploaded FROM sync_device", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
        .unwrap_or(0))
}

/// Notes the last audit record the server said it holds.
pub(crate) fn set_audit_uploaded(tx: &Transaction<'_>, seq: i64) -> Result<(), StoreError> {
    tx.execute("UPDATE sync_device SET audit_uploaded = ?1", [seq])?;
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

/// The sealing context of a replica entry.
fn entry_context(bucket: Bucket, key: &str) -> String {
    format!("sync_entries:{}:{key}", bucket.as_str())
}

/// The sealing context of a bucket's running checksum.
fn checksum_context(bucket: Bucket) -> String {
    format!("sync_buckets:{}:checksum", bucket.as_str())
}

/// What an entry adds to its bucket's checksum; `None` for data that is not text (never
/// written by this build).
fn term(key: &str, data: &[u8]) -> Option<u64> {
    let data = std::str::from_utf8(data).ok()?;
    Some(checksum_term(&sha256(&entry_digest_input(key, data))))
}

/// The bucket's checksum over the replica's live entries, kept as a running sum: sealed at
/// each checkpoint, so the file holds no digest of any entry (a digest would confirm a
/// guessed record to whoever holds the file). A file upgraded from before it was kept has
/// none yet: it is summed from the sealed entries. `None` when it cannot be trusted (a
/// sealed value does not open): the caller treats that as drift and downloads the bucket
/// again whole.
fn running_sum(
    conn: &Connection,
    cipher: &RowCipher,
    bucket: Bucket,
) -> Result<Option<u64>, StoreError> {
    let sealed: Option<Vec<u8>> = conn
        .prepare_cached("SELECT checksum FROM sync_buckets WHERE bucket = ?1")?
        .query_row([bucket.as_str()], |r| r.get(0))
        .optional()?
        .flatten();
    if let Some(sealed) = sealed {
        return Ok(open_bytes(cipher, &checksum_context(bucket), &sealed)
            .ok()
            .and_then(|plain| <[u8; 8]>::try_from(plain.as_slice()).ok())
            .map(u64::from_be_bytes));
    }
    let mut statement =
        conn.prepare_cached("SELECT key, sealed FROM sync_entries WHERE bucket = ?1")?;
    let rows = statement.query_map([bucket.as_str()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut sum = 0u64;
    for row in rows {
        let (key, sealed) = row?;
        let Ok(plain) = open_bytes(cipher, &entry_context(bucket, &key), &sealed) else {
            return Ok(None);
        };
        let Some(term) = term(&key, &plain) else {
            return Ok(None);
        };
        sum = sum.wrapping_add(term);
    }
    Ok(Some(sum))
}

/// The bucket's checksum as the replica holds it (`unknown` when it cannot be trusted).
pub(crate) fn local_checksum(
    conn: &Connection,
    cipher: &RowCipher,
    bucket: Bucket,
) -> Result<String, StoreError> {
    Ok(running_sum(conn, cipher, bucket)?.map_or_else(|| "unknown".to_owned(), checksum_hex))
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
/// checksum then equals the server's. The checksum is kept as it goes: an overwritten or
/// removed entry's term comes from its opened data. Returns whether it applied.
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
        let start = if replace {
            tx.execute(
                "DELETE FROM sync_entries WHERE bucket = ?1",
                [bucket.as_str()],
            )?;
            Some(0)
        } else {
            running_sum(tx, cipher, bucket)?
        };
        let Some(mut sum) = start else {
            return Ok(false);
        };
        for entry in entries {
            let context = entry_context(bucket, &entry.key);
            let old: Option<Vec<u8>> = tx
                .prepare_cached("SELECT sealed FROM sync_entries WHERE bucket = ?1 AND key = ?2")?
                .query_row(params![bucket.as_str(), entry.key], |r| r.get(0))
                .optional()?;
            if let Some(old) = old {
                // An entry that does not open is drift like any other: download again whole.
                let Some(old_term) = open_bytes(cipher, &context, &old)
                    .ok()
                    .and_then(|plain| term(&entry.key, &plain))
                else {
                    return Ok(false);
                };
                sum = sum.wrapping_sub(old_term);
            }
            match &entry.data {
                Some(data) => {
                    sum = sum.wrapping_add(checksum_term(&sha256(&entry_digest_input(
                        &entry.key, data,
                    ))));
                    let sealed = seal_bytes(cipher, &context, data.as_bytes())?;
                    tx.prepare_cached(
                        "INSERT INTO sync_entries (bucket, key, seq, sealed) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (bucket, key) DO UPDATE SET seq = excluded.seq, sealed = excluded.sealed",
                    )?
                    .execute(params![bucket.as_str(), entry.key, entry.seq, sealed])?;
                }
                None => {
                    tx.prepare_cached("DELETE FROM sync_entries WHERE bucket = ?1 AND key = ?2")?
                        .execute(params![bucket.as_str(), entry.key])?;
                }
            }
        }
        if checksum_hex(sum) != server_checksum {
            return Ok(false);
        }
        let sealed_sum = seal_bytes(cipher, &checksum_context(bucket), &sum.to_be_bytes())?;
        tx.execute(
            "INSERT INTO sync_buckets (bucket, cursor, checksum) VALUES (?1, ?2, ?3)
             ON CONFLICT (bucket) DO UPDATE SET cursor = excluded.cursor, checksum = excluded.checksum",
            params![bucket.as_str(), cursor, sealed_sum],
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
    let context = entry_context(bucket, key);
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
        let context = entry_context(bucket, &key);
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

#[cfg(test)]
mod tests {
    use lgt_protocol::checksum;

    use super::*;
    use crate::crypto::{DataKey, KeyError, KeyProvider};
    use crate::store::{Store, StoreOptions};

    struct FixedKey;

    impl KeyProvider for FixedKey {
        fn data_key(&self) -> Result<DataKey, KeyError> {
            Ok(DataKey::from_bytes([9; 32]))
        }
        fn destroy(&self) -> Result<(), KeyError> {
            Ok(())
        }
    }

    fn entry(key: &str, seq: i64, data: Option<&str>) -> Entry {
        Entry {
            key: key.into(),
            seq,
            data: data.map(Into::into),
        }
    }

    /// The server's checksum over live `(key, data)` entries.
    fn server_checksum(live: &[(&str, &str)]) -> String {
        let digests: Vec<[u8; 32]> = live
            .iter()
            .map(|(k, d)| sha256(&entry_digest_input(k, d)))
            .collect();
        checksum_hex(checksum(&digests))
    }

    fn apply(store: &Store, entries: &[Entry], cursor: i64, server: &str, replace: bool) -> bool {
        store
            .write(|tx| {
                apply_checkpoint(
                    tx,
                    store.cipher(),
                    Bucket::Records,
                    entries,
                    cursor,
                    server,
                    replace,
                )
            })
            .unwrap()
    }

    fn local(store: &Store) -> String {
        store
            .read(|c| local_checksum(c, store.cipher(), Bucket::Records))
            .unwrap()
    }

    fn set_checksum_column(store: &Store, value: Option<&[u8]>) {
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE sync_buckets SET checksum = ?1 WHERE bucket = 'records'",
                    [value],
                )?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    /// The running checksum follows new, overwritten and removed entries as the server's
    /// does; a file upgraded without one sums its sealed entries; one that does not open is
    /// drift, and the whole bucket downloaded again replaces it.
    #[test]
    fn the_running_checksum_follows_every_change_and_recovers_from_an_unreadable_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), &FixedKey, StoreOptions::default()).unwrap();
        let a = r#"{"synthetic":"a"}"#;
        let b = r#"{"synthetic":"b"}"#;
        let b2 = r#"{"synthetic":"b2"}"#;
        let c = r#"{"synthetic":"c"}"#;
        let first = [entry("person:a", 1, Some(a)), entry("person:b", 2, Some(b))];
        let sum_ab = server_checksum(&[("person:a", a), ("person:b", b)]);
        // A wrong checksum is refused and nothing is kept.
        assert!(!apply(&store, &first, 2, "0000000000000001", false));
        assert_eq!(local(&store), checksum_hex(0));
        assert!(apply(&store, &first, 2, &sum_ab, false));
        assert_eq!(local(&store), sum_ab);

        // Overwrite b, remove a, add c.
        let second = [
            entry("person:b", 3, Some(b2)),
            entry("person:a", 4, None),
            entry("person:c", 5, Some(c)),
        ];
        let sum_b2c = server_checksum(&[("person:b", b2), ("person:c", c)]);
        assert!(apply(&store, &second, 5, &sum_b2c, false));
        assert_eq!(local(&store), sum_b2c);

        // As a file upgraded from version 8 holds it: no running sum yet.
        set_checksum_column(&store, None);
        assert_eq!(local(&store), sum_b2c);
        let third = [entry("person:c", 6, None)];
        let sum_b2 = server_checksum(&[("person:b", b2)]);
        assert!(apply(&store, &third, 6, &sum_b2, false));
        assert_eq!(local(&store), sum_b2);

        // Altered without the key: not trusted, so the next checkpoint is drift...
        set_checksum_column(&store, Some(&[0u8; 40]));
        assert_eq!(local(&store), "unknown");
        let fourth = [entry("person:d", 7, Some(a))];
        let sum_b2d = server_checksum(&[("person:b", b2), ("person:d", a)]);
        assert!(!apply(&store, &fourth, 7, &sum_b2d, false));
        // ...and the bucket downloaded whole replaces it.
        let whole = [
            entry("person:b", 3, Some(b2)),
            entry("person:d", 7, Some(a)),
        ];
        assert!(apply(&store, &whole, 7, &sum_b2d, true));
        assert_eq!(local(&store), sum_b2d);
    }

    /// With the file alone, no entry's digest (nor its checksum term) can be found, so a
    /// guessed record cannot be confirmed; the same search finds the digest once it is
    /// stored as version 8 stored it.
    #[test]
    fn the_file_holds_no_digest_of_a_replica_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), &FixedKey, StoreOptions::default()).unwrap();
        let data = r#"{"person_id":"p-1","person":{"name":"合成人甲"}}"#;
        let digest = sha256(&entry_digest_input("person:p-1", data));
        let sum = server_checksum(&[("person:p-1", data)]);
        assert!(apply(
            &store,
            &[entry("person:p-1", 1, Some(data))],
            1,
            &sum,
            false
        ));
        let files = || -> Vec<u8> {
            ["lgt.db", "lgt.db-wal"]
                .iter()
                .filter_map(|n| std::fs::read(dir.path().join(n)).ok())
                .flatten()
                .collect()
        };
        let found = |bytes: &[u8]| {
            bytes.windows(32).any(|w| w == digest)
                || bytes.windows(8).any(|w| w == &digest[..8])
                || bytes
                    .windows(16)
                    .any(|w| w == lgt_protocol::hex(&digest[..8]).as_bytes())
        };
        assert!(!found(&files()), "a digest of the entry is in the files");
        // The attacker's search is sound: the version 8 column makes it succeed.
        store
            .write(|tx| {
                tx.execute_batch("ALTER TABLE sync_entries ADD COLUMN digest BLOB")?;
                tx.execute("UPDATE sync_entries SET digest = ?1", [digest.to_vec()])?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert!(found(&files()));
    }
}
