//! Residence permits: the state machine, its append-only event log, and the commands that
//! drive it. Each applied event updates the permit, appends to its log, enqueues the sync
//! operation and writes the audit record in one transaction; a refused event changes nothing.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use lgt_common::permit::{Permit, PermitError, PermitEvent, PermitState};

use crate::audit::Audited;
use crate::crypto::{BlindIndex, RowCipher};
use crate::outbox;
use crate::registration::{self, RegistrationStatus};
use crate::store::Unlocked;
use crate::store::{context, open_json, seal_json, timestamp, StoreError};
use crate::Error;

/// What a coordinator asks of a permit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum PermitCommand {
    /// Accept an application for a person, at the dwelling of their active registration.
    Accept {
        /// The applicant.
        person_id: String,
    },
    /// Apply a life-cycle event to an existing permit.
    Apply {
        /// The permit.
        permit_id: String,
        /// The version the coordinator saw, if the change must be based on it.
        base_version: Option<u32>,
        /// The event.
        event: PermitEvent,
    },
}

/// One entry of a permit's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PermitEventRecord {
    /// The permit version this event produced (1 = accepted).
    pub version: u32,
    /// The date the event took effect.
    pub occurred_on: NaiveDate,
    /// When it was recorded, RFC 3339.
    pub recorded_at: String,
    /// Who recorded it.
    pub actor: String,
    /// The event.
    pub event: PermitEvent,
}

/// A permit with its full event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PermitRecord {
    /// Current state.
    pub permit: Permit,
    /// Every event, oldest first.
    pub events: Vec<PermitEventRecord>,
}

/// The payload queued for the server for each permit event.
#[derive(Serialize)]
struct PermitEventOperation<'a> {
    permit_id: &'a str,
    base_version: u32,
    version: u32,
    occurred_on: NaiveDate,
    event: &'a PermitEvent,
}

pub(crate) fn execute(
    unlocked: &Unlocked<'_>,
    command: &PermitCommand,
) -> Result<PermitRecord, Error> {
    let cipher = unlocked.cipher();
    let today = unlocked.today();
    unlocked.write(|tx| {
        let (before, next, event) = match command {
            PermitCommand::Accept { person_id } => {
                let event = accept_event(tx, cipher, person_id)?;
                let id = Uuid::now_v7().to_string();
                let next = Permit::accepted(id, &event).ok_or_else(|| StoreError::Malformed {
                    record: "permits:new".into(),
                })?;
                (None, next, event)
            }
            PermitCommand::Apply {
                permit_id,
                base_version,
                event,
            } => {
                let current = load(tx, cipher, permit_id)?;
                if let Some(based_on) = *base_version {
                    if based_on != current.version {
                        return Err(PermitError::StaleVersion {
                            permit_id: permit_id.clone(),
                            based_on,
                            current: current.version,
                        }
                        .into());
                    }
                }
                let next = current.apply(event, today)?;
                (Some(current), next, event.clone())
            }
        };
        save(unlocked, tx, before.as_ref(), &next, &event, today)?;
        Ok(PermitRecord {
            events: events(tx, cipher, &next.id)?,
            permit: next,
        })
    })
}

/// The Accept event for a person: they must exist, hold an active registration and no
/// permit that is still in force.
fn accept_event(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    person_id: &str,
) -> Result<PermitEvent, Error> {
    let person_id = &registration::resolve(tx, person_id)?;
    let active = registration::registrations_of(tx, cipher, person_id)?
        .into_iter()
        .find(|r| r.status == RegistrationStatus::Active)
        .ok_or_else(|| Error::Conflict {
            reason: format!("person {person_id} has no active registration"),
        })?;
    let open: Option<String> = tx
        .query_row(
            "SELECT id FROM permits WHERE person_id = ?1 AND state != 'cancelled' LIMIT 1",
            [person_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(open) = open {
        return Err(Error::Conflict {
            reason: format!("person {person_id} already holds permit {open}"),
        });
    }
    Ok(PermitEvent::Accept {
        person_id: person_id.to_owned(),
        registration_id: active.id,
        dwelling: active.registration.dwelling,
    })
}

fn save(
    unlocked: &Unlocked<'_>,
    tx: &Transaction<'_>,
    before: Option<&Permit>,
    next: &Permit,
    event: &PermitEvent,
    on: NaiveDate,
) -> Result<(), Error> {
    let cipher = unlocked.cipher();
    let now = unlocked.now();
    let sealed = seal_json(
        cipher,
        &context::permit(&next.id, &next.person_id, next.version),
        next,
    )?;
    let number_blind = next
        .number
        .as_deref()
        .map(|n| cipher.blind(BlindIndex::PermitNumber, n));
    if let (Some(blind), PermitEvent::Issue { .. }) = (&number_blind, event) {
        let holder: Option<String> = tx
            .query_row(
                "SELECT id FROM permits WHERE number_blind = ?1",
                [blind],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(holder) = holder {
            return Err(Error::Conflict {
                reason: format!("that permit number is already used by permit {holder}"),
            });
        }
    }
    match before {
        None => {
            tx.execute(
                "INSERT INTO permits (id, person_id, state, version, number_blind, updated_at, sealed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![next.id, next.person_id, next.state.as_str(), next.version, number_blind, timestamp(now), sealed],
            )?;
        }
        Some(before) => {
            let changed = tx.execute(
                "UPDATE permits SET state = ?2, version = ?3, number_blind = ?4, updated_at = ?5, sealed = ?6
                 WHERE id = ?1 AND version = ?7",
                params![next.id, next.state.as_str(), next.version, number_blind, timestamp(now), sealed, before.version],
            )?;
            if changed != 1 {
                return Err(Error::Conflict {
                    reason: format!("permit {} changed concurrently", next.id),
                });
            }
        }
    }
    let event_sealed = seal_json(
        cipher,
        &context::permit_event(&next.id, next.version),
        event,
    )?;
    tx.execute(
        "INSERT INTO permit_events (permit_id, version, kind, occurred_on, recorded_at, actor, sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![next.id, next.version, event.kind(), on.to_string(), timestamp(now), unlocked.actor(), event_sealed],
    )?;
    let payload = PermitEventOperation {
        permit_id: &next.id,
        base_version: before.map_or(0, |b| b.version),
        version: next.version,
        occurred_on: on,
        event,
    };
    outbox::enqueue(tx, cipher, now, "permit.event", &next.id, &payload)?;
    unlocked.audit(tx, &format!("permit.{}", event.kind()), "permit", &next.id)?;
    Ok(())
}

/// The permit holding an issued number, if this store knows it (the signed-QR status check).
pub(crate) fn find_by_number(
    conn: &Connection,
    cipher: &RowCipher,
    number: &str,
) -> Result<Option<Permit>, Error> {
    let blind = cipher.blind(BlindIndex::PermitNumber, number);
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM permits WHERE number_blind = ?1",
            [blind],
            |r| r.get(0),
        )
        .optional()?;
    id.map(|id| load(conn, cipher, &id)).transpose()
}

pub(crate) fn load(
    conn: &Connection,
    cipher: &RowCipher,
    permit_id: &str,
) -> Result<Permit, Error> {
    stored(conn, cipher, permit_id)?.ok_or_else(|| Error::NotFound {
        kind: "permit",
        id: permit_id.to_owned(),
    })
}

/// A permit as this store holds it, if it does.
fn stored(
    conn: &Connection,
    cipher: &RowCipher,
    permit_id: &str,
) -> Result<Option<Permit>, StoreError> {
    let row: Option<(String, u32, Vec<u8>)> = conn
        .query_row(
            "SELECT person_id, version, sealed FROM permits WHERE id = ?1",
            [permit_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(person_id, version, sealed)| {
        open_json(
            cipher,
            &context::permit(permit_id, &person_id, version),
            &sealed,
        )
    })
    .transpose()
}

fn events(
    conn: &Connection,
    cipher: &RowCipher,
    permit_id: &str,
) -> Result<Vec<PermitEventRecord>, Error> {
    let mut statement = conn.prepare_cached(
        "SELECT version, occurred_on, recorded_at, actor, sealed FROM permit_events
         WHERE permit_id = ?1 ORDER BY version",
    )?;
    let rows = statement.query_map([permit_id], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Vec<u8>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (version, occurred_on, recorded_at, actor, sealed) = row?;
        let context = context::permit_event(permit_id, version);
        let occurred_on = occurred_on.parse().map_err(|_| StoreError::Malformed {
            record: context.clone(),
        })?;
        let event = open_json(cipher, &context, &sealed)?;
        out.push(PermitEventRecord {
            version,
            occurred_on,
            recorded_at,
            actor,
            event,
        });
    }
    Ok(out)
}

/// A permit and its log; the read is audited.
pub(crate) fn show(unlocked: &Unlocked<'_>, permit_id: &str) -> Result<PermitRecord, Error> {
    let cipher = unlocked.cipher();
    unlocked.write(|tx| {
        let permit = load(tx, cipher, permit_id)?;
        let record = PermitRecord {
            events: events(tx, cipher, permit_id)?,
            permit,
        };
        unlocked.audit(tx, "permit.read", "permit", permit_id)?;
        Ok(record)
    })
}

/// Every permit of a person, oldest first.
pub(crate) fn permits_of(
    conn: &Connection,
    cipher: &RowCipher,
    person_id: &str,
) -> Result<Vec<PermitRecord>, Error> {
    let mut statement =
        conn.prepare_cached("SELECT id FROM permits WHERE person_id = ?1 ORDER BY id")?;
    let ids: Vec<String> = statement
        .query_map([person_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.iter()
        .map(|id| {
            Ok(PermitRecord {
                permit: load(conn, cipher, id)?,
                events: events(conn, cipher, id)?,
            })
        })
        .collect()
}

/// The district's permits from the replica of the server's `permits` bucket (`(key, JSON)`
/// as [`crate::sync`] keeps it), ordered as given.
pub(crate) fn from_replica(entries: &[(String, String)]) -> Result<Vec<Permit>, StoreError> {
    entries
        .iter()
        .map(|(key, json)| {
            serde_json::from_str::<Permit>(json).map_err(|_| StoreError::Malformed {
                record: format!("sync_entries:permits:{key}"),
            })
        })
        .collect()
}

/// What merging the server's state of a permit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merge {
    /// Written: this store now holds the server's state.
    Written,
    /// Kept: this phone's operations on it still wait (the rebase rule); the server's answer
    /// to them brings its next state.
    Pending,
    /// Not yet: its holder is not in this store.
    NoHolder,
}

/// Merges the server's state of a permit (its district's copy) into this store's table, so
/// a colleague's permit can be looked at, verified and acted on here.
pub(crate) fn merge_from_server(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    server: &Permit,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Merge, StoreError> {
    if outbox::pending_on(tx, &server.id)? {
        return Ok(Merge::Pending);
    }
    let Some(person_id) = registration::replica::resolve_person(tx, &server.person_id)? else {
        return Ok(Merge::NoHolder);
    };
    let permit = Permit {
        person_id,
        ..server.clone()
    };
    write_row(tx, cipher, &permit, now)?;
    Ok(Merge::Written)
}

/// Moves the permits of person `alias` to `person` (the district person it was merged into).
pub(crate) fn repoint(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    alias: &str,
    person: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let ids: Vec<String> = tx
        .prepare_cached("SELECT id FROM permits WHERE person_id = ?1")?
        .query_map([alias], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in ids {
        if let Some(permit) = stored(tx, cipher, &id)? {
            let permit = Permit {
                person_id: person.to_owned(),
                ..permit
            };
            write_row(tx, cipher, &permit, now)?;
        }
    }
    Ok(())
}

/// Writes a permit's row as given: the server's state, which wins over this store's
/// (a number it gives a permit leaves any other row here that claimed it).
fn write_row(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    permit: &Permit,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let sealed = seal_json(
        cipher,
        &context::permit(&permit.id, &permit.person_id, permit.version),
        permit,
    )?;
    let number_blind = permit
        .number
        .as_deref()
        .map(|n| cipher.blind(BlindIndex::PermitNumber, n));
    if let Some(blind) = &number_blind {
        tx.execute(
            "UPDATE permits SET number_blind = NULL WHERE number_blind = ?1 AND id <> ?2",
            params![blind, permit.id],
        )?;
    }
    tx.execute(
        "INSERT INTO permits (id, person_id, state, version, number_blind, updated_at, sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET person_id = excluded.person_id, state = excluded.state,
             version = excluded.version, number_blind = excluded.number_blind,
             updated_at = excluded.updated_at, sealed = excluded.sealed",
        params![
            permit.id,
            permit.person_id,
            permit.state.as_str(),
            permit.version,
            number_blind,
            timestamp(now),
            sealed
        ],
    )?;
    Ok(())
}
