//! The offline lock: whether personal data may be read right now. An enrolled device that
//! went past its offline limit without a successful sync, or was ordered to wipe, is locked;
//! a store never enrolled has no limit. The rows it reads are written by the sync engine.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};

use super::StoreError;

/// Why personal data is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A signed command ordered this store wiped: nothing personal opens again.
    WipeOrdered,
    /// The last successful sync (or the enrollment) is older than the offline limit, which
    /// ran out at this instant. The next successful sync unlocks.
    OfflineSince(DateTime<Utc>),
}

/// The lock in force at `now`, if any.
pub(super) fn lock_at(conn: &Connection, now: DateTime<Utc>) -> Result<Option<Lock>, StoreError> {
    let row: Option<(Option<String>, String, i64, Option<String>)> = conn
        .query_row(
            "SELECT wipe_ordered, enrolled_at, max_offline_secs, last_success FROM sync_device",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((wipe_ordered, enrolled_at, max_offline_secs, last_success)) = row else {
        return Ok(None);
    };
    if wipe_ordered.is_some() {
        return Ok(Some(Lock::WipeOrdered));
    }
    let reference = last_success.unwrap_or(enrolled_at);
    let reference = DateTime::parse_from_rfc3339(&reference)
        .map_err(|_| StoreError::Malformed {
            record: "sync_device:last_success".into(),
        })?
        .with_timezone(&Utc);
    let limit = reference + chrono::Duration::seconds(max_offline_secs);
    Ok((now > limit).then_some(Lock::OfflineSince(limit)))
}
