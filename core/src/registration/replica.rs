//! The district's persons, registrations and dwellings, merged from the server's `records`
//! bucket into this phone's own tables (sealed as its own rows are), so find and the
//! dwelling view answer with a colleague's records offline.
//!
//! The rebase rule: a row with operations of this phone still waiting for the server keeps
//! its local state (the server's state with those operations on top); the server's answer
//! to them brings the row's next entry, which then applies. A person this phone registered
//! whom the server merged into an earlier district person (same identity number) becomes an
//! alias of that person, and is folded into it once nothing of it is waiting.

use chrono::{DateTime, Utc};
use lgt_protocol::Entry;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Deserialize;

use super::model::*;
use super::repo;
use crate::crypto::{BlindIndex, RowCipher};
use crate::outbox;
use crate::store::{open_json, seal_json, StoreError};

/// `records` bucket keys: a district person, a registration, a dwelling.
const PERSON: &str = "person:";
const REGISTRATION: &str = "registration:";
const DWELLING: &str = "dwelling:";

/// A district person as the server holds it.
#[derive(Deserialize)]
struct PersonEntry {
    person_id: String,
    person: Person,
    /// Every identity number, the current one last.
    #[serde(default)]
    identifiers: Vec<Document>,
    /// Persons of phones merged into this one.
    #[serde(default)]
    merged_ids: Vec<String>,
}

/// A registration as the server holds it.
#[derive(Deserialize)]
struct RegistrationEntry {
    registration_id: String,
    person_id: String,
    status: RegistrationStatus,
    registration: Registration,
}

/// A dwelling as the server holds it.
#[derive(Deserialize)]
struct DwellingEntry {
    house_code: String,
    version: u32,
    dwelling: Dwelling,
    landlord: Option<Contact>,
}

/// The sealed part of a dwelling row.
#[derive(serde::Serialize, Deserialize)]
struct DwellingSealed {
    house_code: String,
    dwelling: Dwelling,
    landlord: Option<Contact>,
}

/// What a merge did.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    /// Entries written into the tables.
    pub applied: usize,
    /// Entries left for later: the row has operations waiting, or names a person not here.
    pub kept_local: usize,
    /// Entries refused as malformed: the key and why (no personal value).
    pub refused: Vec<String>,
}

/// Merges `entries` of the `records` bucket: persons first, then registrations, dwellings.
pub(crate) fn merge(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    entries: &[Entry],
    now: DateTime<Utc>,
) -> Result<Merged, StoreError> {
    let mut merged = Merged::default();
    for prefix in [PERSON, REGISTRATION, DWELLING] {
        for entry in entries.iter().filter(|e| e.key.starts_with(prefix)) {
            // The server never deletes a district record; a tombstone has nothing to undo.
            let Some(data) = &entry.data else {
                continue;
            };
            let outcome = match prefix {
                PERSON => serde_json::from_str(data)
                    .map(|e| merge_person(tx, cipher, &e, now))
                    .ok(),
                REGISTRATION => serde_json::from_str(data)
                    .map(|e| merge_registration(tx, cipher, &e, now))
                    .ok(),
                _ => serde_json::from_str(data)
                    .map(|e| merge_dwelling(tx, cipher, &e))
                    .ok(),
            };
            match outcome {
                Some(Ok(true)) => merged.applied += 1,
                Some(Ok(false)) => merged.kept_local += 1,
                Some(Err(e)) => return Err(e),
                None => merged.refused.push(format!("{}: malformed", entry.key)),
            }
        }
    }
    Ok(merged)
}

/// Whether operations of this phone on the person or their registrations still wait.
pub(crate) fn person_pending(conn: &Connection, person_id: &str) -> Result<bool, StoreError> {
    if outbox::pending_on(conn, person_id)? {
        return Ok(true);
    }
    let ids: Vec<String> = conn
        .prepare_cached("SELECT id FROM registrations WHERE person_id = ?1")?
        .query_map([person_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in ids {
        if outbox::pending_on(conn, &id)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn person_exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM persons WHERE id = ?1)")?
        .query_row([id], |r| r.get(0))?)
}

/// The person of this store that `person_id` names: itself, or the district person it was
/// merged into. `None` when neither is here.
pub(crate) fn resolve_person(
    conn: &Connection,
    person_id: &str,
) -> Result<Option<String>, StoreError> {
    // A person of this phone answers as itself until it is folded.
    if person_exists(conn, person_id)? {
        return Ok(Some(person_id.to_owned()));
    }
    let alias: Option<String> = conn
        .prepare_cached("SELECT person_id FROM person_aliases WHERE alias_id = ?1")?
        .query_row([person_id], |r| r.get(0))
        .optional()?;
    match alias {
        Some(id) if person_exists(conn, &id)? => Ok(Some(id)),
        _ => Ok(None),
    }
}

fn merge_person(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    entry: &PersonEntry,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let id = &entry.person_id;
    for alias in entry.merged_ids.iter().filter(|a| *a != id) {
        tx.prepare_cached(
            "INSERT INTO person_aliases (alias_id, person_id) VALUES (?1, ?2)
             ON CONFLICT (alias_id) DO UPDATE SET person_id = excluded.person_id",
        )?
        .execute(params![alias, id])?;
    }
    if person_exists(tx, id)? && person_pending(tx, id)? {
        return Ok(false);
    }
    repo::save_person(tx, cipher, id, &entry.person, now)?;
    for name in std::iter::once(&entry.person.name).chain(&entry.person.former_name) {
        repo::index_name(tx, cipher, id, name)?;
    }
    let last = entry.identifiers.len().saturating_sub(1);
    for (i, document) in entry.identifiers.iter().enumerate() {
        let blind = cipher.blind(BlindIndex::IdNumber, &document.number);
        match repo::person_by_identifier(tx, &blind)? {
            // Known here, to this person or to a person of this phone the server merged
            // (or will merge) into it: the fold moves it.
            Some(_) => {}
            None => {
                repo::insert_identifier_as(tx, cipher, id, document, now, i == last)?;
            }
        }
    }
    Ok(true)
}

fn merge_registration(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    entry: &RegistrationEntry,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if outbox::pending_on(tx, &entry.registration_id)? {
        return Ok(false);
    }
    let local: Option<String> = tx
        .prepare_cached("SELECT person_id FROM registrations WHERE id = ?1")?
        .query_row([&entry.registration_id], |r| r.get(0))
        .optional()?;
    // This phone's own registration stays with its person until the fold moves it.
    let person = match local {
        Some(person) => Some(person),
        None => resolve_person(tx, &entry.person_id)?,
    };
    let Some(person) = person else {
        return Ok(false);
    };
    repo::save_registration(
        tx,
        cipher,
        &entry.registration_id,
        &person,
        entry.status,
        &entry.registration,
        now,
    )?;
    Ok(true)
}

fn merge_dwelling(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    entry: &DwellingEntry,
) -> Result<bool, StoreError> {
    let blind = cipher.blind(BlindIndex::HouseCode, &entry.house_code);
    let id: String = tx
        .prepare_cached("SELECT id FROM dwellings WHERE house_blind = ?1")?
        .query_row([&blind], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let sealed = seal_json(
        cipher,
        &format!("dwellings:{id}"),
        &DwellingSealed {
            house_code: entry.house_code.clone(),
            dwelling: entry.dwelling.clone(),
            landlord: entry.landlord.clone(),
        },
    )?;
    tx.prepare_cached(
        "INSERT INTO dwellings (id, house_blind, version, sealed) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, sealed = excluded.sealed",
    )?
    .execute(params![id, blind, entry.version, sealed])?;
    Ok(true)
}

/// Aliases whose person is still a row here and has nothing waiting: `(alias, person)`,
/// ready to fold.
pub(crate) fn foldable(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let pairs: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT a.alias_id, a.person_id FROM person_aliases a
             JOIN persons p ON p.id = a.alias_id
             JOIN persons q ON q.id = a.person_id
             ORDER BY a.alias_id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut ready = Vec::new();
    for (alias, person) in pairs {
        if !person_pending(conn, &alias)? {
            ready.push((alias, person));
        }
    }
    Ok(ready)
}

/// Folds person `alias` into `person`: identifiers, names and registrations move (sealed
/// again, bound to `person`); the alias's row goes. What else names the alias (permits,
/// alerts) must have moved first.
pub(crate) fn fold(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    alias: &str,
    person: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM person_identifiers WHERE person_id = ?1
         AND blind IN (SELECT blind FROM person_identifiers WHERE person_id = ?2)",
        params![alias, person],
    )?;
    repo::move_to_person(tx, cipher, alias, person)?;
    tx.execute(
        "INSERT OR IGNORE INTO person_names (person_id, blind)
         SELECT ?2, blind FROM person_names WHERE person_id = ?1",
        params![alias, person],
    )?;
    tx.execute("DELETE FROM person_names WHERE person_id = ?1", [alias])?;
    tx.execute("DELETE FROM persons WHERE id = ?1", [alias])?;
    Ok(())
}

/// A dwelling by house code, with the registrations at it; `None` when this store knows
/// neither.
pub(crate) fn dwelling(
    conn: &Connection,
    cipher: &RowCipher,
    house_code: &str,
) -> Result<Option<DwellingRecord>, StoreError> {
    repo::index_house_codes(conn, cipher)?;
    let blind = cipher.blind(BlindIndex::HouseCode, house_code);
    let row: Option<(String, Vec<u8>)> = conn
        .prepare_cached("SELECT id, sealed FROM dwellings WHERE house_blind = ?1")?
        .query_row([&blind], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let known: Option<DwellingSealed> = row
        .map(|(id, sealed)| open_json(cipher, &format!("dwellings:{id}"), &sealed))
        .transpose()?;
    let mut registrations = Vec::new();
    for (id, _) in repo::registrations_at(conn, &blind)? {
        if let Some(record) = repo::registration(conn, cipher, &id)? {
            registrations.push(record);
        }
    }
    if known.is_none() && registrations.is_empty() {
        return Ok(None);
    }
    // Without the district's record, the latest registration's words describe it.
    let (dwelling, landlord) = match known {
        Some(known) => (Some(known.dwelling), known.landlord),
        None => registrations
            .first()
            .map(|r| {
                (
                    Some(r.registration.dwelling.clone()),
                    r.registration.landlord.clone(),
                )
            })
            .unwrap_or_default(),
    };
    Ok(Some(DwellingRecord {
        house_code: house_code.to_owned(),
        dwelling,
        landlord,
        registrations,
    }))
}
