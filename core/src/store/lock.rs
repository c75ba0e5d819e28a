//! The offline lock: whether personal data may be read right now. An enrolled device that
//! went past its offline limit without a successful sync, or was ordered to wipe, is locked;
//! a store never enrolled has no limit. The rows it reads are written by the sync engine.
//!
//! The clock is the shell's, and a thief can set it back. So the store keeps the latest time
//! it has seen (the **time mark**, in `meta`), raised whenever the clock is read through a
//! session that unlocks or audits, and MAC'd under a key derived from the data key together
//! with the audit chain's length (so an older copy of the mark does not fit the chain that
//! grew since). An enrolled device whose clock reads more than
//! [`CLOCK_ROLLBACK_TOLERANCE_SECS`] behind the mark, or whose mark does not verify, is
//! locked until a sync succeeds: the server refuses requests signed more than five minutes
//! off its own clock, so a successful sync vouches for the time and re-anchors the mark
//! there ([`anchor`]). The offline limit is reckoned from the later of the clock and the
//! mark, so setting the clock back within the tolerance does not extend it either.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::StoreError;
use crate::crypto::{constant_time_eq, RowCipher, AUDIT_MAC_LEN};

/// How far (seconds) the clock may read behind the latest time the store has seen before
/// personal data locks: room for a clock set right by the network, never a day.
pub const CLOCK_ROLLBACK_TOLERANCE_SECS: i64 = 10 * 60;

/// The mark is rewritten by an unlock only when the clock has moved on by this much (seconds),
/// so reads do not each pay a write; audited work raises it in its own transaction anyway.
const RAISE_STEP_SECS: i64 = 60;

/// The `meta` row of the time mark.
const MARK_KEY: &str = "clock_mark";

/// A mark with no time yet (a new store, before its first session).
const NO_TIME: i64 = i64::MIN;

/// Why personal data is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A signed command ordered this store wiped: nothing personal opens again.
    WipeOrdered,
    /// The last successful sync (or the enrollment) is older than the offline limit, which
    /// ran out at this instant. The next successful sync unlocks.
    OfflineSince(DateTime<Utc>),
    /// The clock reads earlier than this instant, which the store has seen already, by more
    /// than the tolerance: it was set back. The next successful sync unlocks.
    ClockRollback(DateTime<Utc>),
    /// The store's record of the latest time does not verify (altered, replaced by an older
    /// copy or removed without the key). The next successful sync unlocks.
    ClockTampered,
}

/// The time mark as read from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// Verified: the latest instant seen (microseconds since the epoch), if any.
    Trusted(Option<i64>),
    /// Missing, malformed, or its MAC does not match.
    Untrusted,
}

fn mark_input(micros: i64, audit_len: i64) -> Vec<u8> {
    [
        &b"lgt-core/clock-mark/v1"[..],
        &micros.to_be_bytes(),
        &audit_len.to_be_bytes(),
    ]
    .concat()
}

fn verify(cipher: &RowCipher, value: Option<&[u8]>, audit_len: i64) -> Mark {
    let Some(value) = value else {
        return Mark::Untrusted;
    };
    let Some((micros, mac)) = value.split_first_chunk::<8>() else {
        return Mark::Untrusted;
    };
    let micros = i64::from_be_bytes(*micros);
    let expected = cipher.clock_mac(&mark_input(micros, audit_len));
    if mac.len() == AUDIT_MAC_LEN && constant_time_eq(&expected, mac) {
        Mark::Trusted((micros != NO_TIME).then_some(micros))
    } else {
        Mark::Untrusted
    }
}

/// The mark and the audit chain's length, read in one statement (one snapshot).
fn read_mark(conn: &Connection, cipher: &RowCipher) -> Result<(Mark, i64), StoreError> {
    let (value, audit_len): (Option<Vec<u8>>, i64) = conn
        .prepare_cached(
            "SELECT (SELECT value FROM meta WHERE key = ?1),
                    (SELECT coalesce(max(seq), 0) FROM audit_log)",
        )?
        .query_row([MARK_KEY], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((verify(cipher, value.as_deref(), audit_len), audit_len))
}

fn write_mark(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    micros: i64,
    audit_len: i64,
) -> Result<(), StoreError> {
    let value = [
        &micros.to_be_bytes()[..],
        &cipher.clock_mac(&mark_input(micros, audit_len)),
    ]
    .concat();
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![MARK_KEY, value])?;
    Ok(())
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn instant(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// What the lock says at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Verdict {
    /// The lock in force, if any.
    pub(super) lock: Option<Lock>,
    /// Whether the mark lags `now` by a step or more and is to be raised to it (also when
    /// locked: a clock set back after a refused call must not reopen it).
    pub(super) raise: bool,
}

/// The lock in force at `now`, if any.
pub(super) fn lock_at(
    conn: &Connection,
    cipher: &RowCipher,
    now: DateTime<Utc>,
) -> Result<Verdict, StoreError> {
    let (mark, _) = read_mark(conn, cipher)?;
    let raise = match mark {
        Mark::Trusted(None) => true,
        Mark::Trusted(Some(latest)) => micros(now) - latest >= RAISE_STEP_SECS * 1_000_000,
        Mark::Untrusted => false,
    };
    let row: Option<(Option<String>, String, i64, Option<String>)> = conn
        .query_row(
            "SELECT wipe_ordered, enrolled_at, max_offline_secs, last_success FROM sync_device",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((wipe_ordered, enrolled_at, max_offline_secs, last_success)) = row else {
        // Never enrolled: no limit, and no sync that could re-anchor the time.
        return Ok(Verdict { lock: None, raise });
    };
    let locked = |lock| {
        Ok(Verdict {
            lock: Some(lock),
            raise,
        })
    };
    if wipe_ordered.is_some() {
        return locked(Lock::WipeOrdered);
    }
    let latest = match mark {
        Mark::Untrusted => return locked(Lock::ClockTampered),
        Mark::Trusted(latest) => latest.map(instant),
    };
    if let Some(latest) = latest {
        if now < latest - chrono::Duration::seconds(CLOCK_ROLLBACK_TOLERANCE_SECS) {
            return locked(Lock::ClockRollback(latest));
        }
    }
    // The limit runs by the later of the clock and the mark: a clock set back within the
    // tolerance does not buy time either.
    let now = latest.map_or(now, |latest| now.max(latest));
    let reference = last_success.unwrap_or(enrolled_at);
    let reference = DateTime::parse_from_rfc3339(&reference)
        .map_err(|_| StoreError::Malformed {
            record: "sync_device:last_success".into(),
        })?
        .with_timezone(&Utc);
    let limit = reference + chrono::Duration::seconds(max_offline_secs);
    Ok(Verdict {
        lock: (now > limit).then_some(Lock::OfflineSince(limit)),
        raise,
    })
}

/// Raises the mark to `at` if it is later (an unlock that found the mark lagging). A mark
/// that does not verify stays as it is: only a successful sync replaces it.
pub(super) fn raise(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (mark, audit_len) = read_mark(tx, cipher)?;
    if let Mark::Trusted(latest) = mark {
        if latest.is_none_or(|latest| micros(at) > latest) {
            write_mark(tx, cipher, micros(at), audit_len)?;
        }
    }
    Ok(())
}

/// Carries the mark over an audit record appended at `at`: the chain grew from
/// `audit_len_before` to `audit_len_after` records, which the mark's MAC covers; the mark
/// rises to `at` if that is later. A mark that did not verify before stays unverifiable.
pub(crate) fn note_audited(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    at: DateTime<Utc>,
    audit_len_before: i64,
    audit_len_after: i64,
) -> Result<(), StoreError> {
    let value: Option<Vec<u8>> = tx
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([MARK_KEY], |r| r.get(0))
        .optional()?;
    if let Mark::Trusted(latest) = verify(cipher, value.as_deref(), audit_len_before) {
        let latest = latest.map_or(micros(at), |latest| latest.max(micros(at)));
        write_mark(tx, cipher, latest, audit_len_after)?;
    }
    Ok(())
}

/// Sets the mark to `at`, whatever it held: the server vouched for the time (a successful
/// sync or enrollment: it refuses requests signed far from its own clock).
pub(crate) fn anchor(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (_, audit_len) = read_mark(tx, cipher)?;
    write_mark(tx, cipher, micros(at), audit_len)
}

/// The first mark of a new store: no time seen yet.
pub(super) fn first_mark(tx: &Transaction<'_>, cipher: &RowCipher) -> Result<(), StoreError> {
    write_mark(tx, cipher, NO_TIME, 0)
}

/// The mark of a file upgraded from before marks were kept: the latest instant the file
/// records (its last audit record, its last successful sync or enrollment).
pub(super) fn first_mark_of_upgrade(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
) -> Result<(), StoreError> {
    let (audited, last_success, enrolled_at): (Option<String>, Option<String>, Option<String>) = tx
        .query_row(
            "SELECT (SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1),
                    (SELECT last_success FROM sync_device),
                    (SELECT enrolled_at FROM sync_device)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
    let latest = [audited, last_success, enrolled_at]
        .into_iter()
        .flatten()
        .filter_map(|text| DateTime::parse_from_rfc3339(&text).ok())
        .map(|at| at.with_timezone(&Utc))
        .max();
    let (_, audit_len) = read_mark(tx, cipher)?;
    write_mark(tx, cipher, latest.map_or(NO_TIME, micros), audit_len)
}
