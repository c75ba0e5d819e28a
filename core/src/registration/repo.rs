//! Rows of persons, identifiers, names and registrations. Every personal value is sealed
//! under its row's context; look-ups use blind indexes.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::model::*;
use crate::crypto::{BlindIndex, RowCipher};
use crate::store::{context, open_bytes, open_json, seal_bytes, seal_json, timestamp, StoreError};

/// The person holding `blind` (an ID-number blind index), if any.
pub(crate) fn person_by_identifier(
    conn: &Connection,
    blind: &[u8],
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT person_id FROM person_identifiers WHERE blind = ?1
             ORDER BY superseded_at IS NOT NULL, recorded_at DESC LIMIT 1",
        )?
        .query_row([blind], |r| r.get(0))
        .optional()?)
}

/// Every person with an identifier or name matching `blind` in `index`.
pub(crate) fn persons_by_blind(
    conn: &Connection,
    index: BlindIndex,
    blind: &[u8],
) -> Result<Vec<String>, StoreError> {
    let sql = match index {
        BlindIndex::Name => {
            "SELECT DISTINCT person_id FROM person_names WHERE blind = ?1 ORDER BY person_id"
        }
        _ => {
            "SELECT DISTINCT person_id FROM person_identifiers WHERE blind = ?1 ORDER BY person_id"
        }
    };
    let mut statement = conn.prepare_cached(sql)?;
    let ids = statement
        .query_map([blind], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// Inserts a person, or replaces a known person's details with the latest ones.
pub(crate) fn save_person(
    conn: &Connection,
    cipher: &RowCipher,
    id: &str,
    person: &Person,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let sealed = seal_json(cipher, &format!("persons:{id}"), person)?;
    conn.prepare_cached(
        "INSERT INTO persons (id, created_at, updated_at, sealed) VALUES (?1, ?2, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
    )?
    .execute(params![id, timestamp(at), sealed])?;
    Ok(())
}

pub(crate) fn load_person(
    conn: &Connection,
    cipher: &RowCipher,
    id: &str,
) -> Result<Option<Person>, StoreError> {
    let sealed: Option<Vec<u8>> = conn
        .prepare_cached("SELECT sealed FROM persons WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    sealed
        .map(|s| open_json(cipher, &format!("persons:{id}"), &s))
        .transpose()
}

/// Records a new current identifier, superseding the person's earlier ones.
pub(crate) fn insert_identifier(
    conn: &Connection,
    cipher: &RowCipher,
    person_id: &str,
    document: &Document,
    at: DateTime<Utc>,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    let at = timestamp(at);
    conn.prepare_cached(
        "UPDATE person_identifiers SET superseded_at = ?2 WHERE person_id = ?1 AND superseded_at IS NULL",
    )?
    .execute(params![person_id, at])?;
    let sealed = seal_json(
        cipher,
        &context::person_identifier(&id, person_id),
        document,
    )?;
    let blind = cipher.blind(BlindIndex::IdNumber, &document.number);
    conn.prepare_cached(
        "INSERT INTO person_identifiers (id, person_id, blind, sealed, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, person_id, blind, sealed, at])?;
    Ok(id)
}

/// Records an identifier the district holds for a person: the current one, or one the
/// person held before.
pub(crate) fn insert_identifier_as(
    conn: &Connection,
    cipher: &RowCipher,
    person_id: &str,
    document: &Document,
    at: DateTime<Utc>,
    current: bool,
) -> Result<(), StoreError> {
    if current {
        insert_identifier(conn, cipher, person_id, document, at)?;
        return Ok(());
    }
    let id = uuid::Uuid::now_v7().to_string();
    let at = timestamp(at);
    let sealed = seal_json(
        cipher,
        &context::person_identifier(&id, person_id),
        document,
    )?;
    let blind = cipher.blind(BlindIndex::IdNumber, &document.number);
    conn.prepare_cached(
        "INSERT INTO person_identifiers (id, person_id, blind, sealed, recorded_at, superseded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![id, person_id, blind, sealed, at])?;
    Ok(())
}

pub(crate) fn identifiers(
    conn: &Connection,
    cipher: &RowCipher,
    person_id: &str,
) -> Result<Vec<Identifier>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, sealed, recorded_at, superseded_at FROM person_identifiers WHERE person_id = ?1
         ORDER BY superseded_at IS NOT NULL, recorded_at DESC",
    )?;
    let rows = statement.query_map([person_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get(2)?,
            r.get(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, sealed, recorded_at, superseded_at) = row?;
        let document = open_json(cipher, &context::person_identifier(&id, person_id), &sealed)?;
        out.push(Identifier {
            id,
            document,
            recorded_at,
            superseded_at,
        });
    }
    Ok(out)
}

/// Moves the identity documents and registrations of person `from` to person `to`, each
/// sealed again under its context bound to `to`.
pub(crate) fn move_to_person(
    conn: &Connection,
    cipher: &RowCipher,
    from: &str,
    to: &str,
) -> Result<(), StoreError> {
    type Bound = fn(&str, &str) -> String;
    let tables: [(&str, Bound); 2] = [
        ("person_identifiers", context::person_identifier),
        ("registrations", context::registration),
    ];
    for (table, bound) in tables {
        let rows: Vec<(String, Vec<u8>)> = conn
            .prepare_cached(&format!(
                "SELECT id, sealed FROM {table} WHERE person_id = ?1"
            ))?
            .query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, sealed) in rows {
            let plain = open_bytes(cipher, &bound(&id, from), &sealed)?;
            let sealed = seal_bytes(cipher, &bound(&id, to), &plain)?;
            conn.prepare_cached(&format!(
                "UPDATE {table} SET person_id = ?2, sealed = ?3 WHERE id = ?1"
            ))?
            .execute(params![id, to, sealed])?;
        }
    }
    Ok(())
}

/// Makes `name` findable for this person (idempotent).
pub(crate) fn index_name(
    conn: &Connection,
    cipher: &RowCipher,
    person_id: &str,
    name: &str,
) -> Result<(), StoreError> {
    let blind = cipher.blind(BlindIndex::Name, name);
    conn.prepare_cached("INSERT OR IGNORE INTO person_names (person_id, blind) VALUES (?1, ?2)")?
        .execute(params![person_id, blind])?;
    Ok(())
}

pub(crate) fn active_registration(
    conn: &Connection,
    person_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM registrations WHERE person_id = ?1 AND status = 'active'")?
        .query_row([person_id], |r| r.get(0))
        .optional()?)
}

pub(crate) fn close_registration(
    conn: &Connection,
    id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE registrations SET status = 'closed', closed_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, timestamp(at)])?;
    Ok(())
}

pub(crate) fn insert_registration(
    conn: &Connection,
    cipher: &RowCipher,
    id: &str,
    person_id: &str,
    registration: &Registration,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    save_registration(
        conn,
        cipher,
        id,
        person_id,
        RegistrationStatus::Active,
        registration,
        at,
    )
}

/// Inserts a registration, or replaces a known one (the district's copy of it).
pub(crate) fn save_registration(
    conn: &Connection,
    cipher: &RowCipher,
    id: &str,
    person_id: &str,
    status: RegistrationStatus,
    registration: &Registration,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let sealed = seal_json(cipher, &context::registration(id, person_id), registration)?;
    let house_blind = cipher.blind(BlindIndex::HouseCode, &registration.dwelling.house_code);
    let (status, closed_at) = match status {
        RegistrationStatus::Active => ("active", None),
        RegistrationStatus::Closed => ("closed", Some(timestamp(at))),
    };
    conn.prepare_cached(
        "INSERT INTO registrations (id, person_id, status, created_at, closed_at, sealed, house_blind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET person_id = excluded.person_id, status = excluded.status,
             closed_at = CASE WHEN excluded.status = 'closed'
                              THEN COALESCE(registrations.closed_at, excluded.closed_at) END,
             sealed = excluded.sealed, house_blind = excluded.house_blind",
    )?
    .execute(params![id, person_id, status, timestamp(at), closed_at, sealed, house_blind])?;
    Ok(())
}

/// Fills the house-code index of registrations written before it existed.
pub(crate) fn index_house_codes(conn: &Connection, cipher: &RowCipher) -> Result<(), StoreError> {
    let missing: Vec<(String, String, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT id, person_id, sealed FROM registrations WHERE house_blind IS NULL",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (id, person_id, sealed) in missing {
        let registration: Registration =
            open_json(cipher, &context::registration(&id, &person_id), &sealed)?;
        let blind = cipher.blind(BlindIndex::HouseCode, &registration.dwelling.house_code);
        conn.prepare_cached("UPDATE registrations SET house_blind = ?2 WHERE id = ?1")?
            .execute(params![id, blind])?;
    }
    Ok(())
}

/// The ids of the registrations at a dwelling (by its house-code blind index).
pub(crate) fn registrations_at(
    conn: &Connection,
    house_blind: &[u8],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, person_id FROM registrations WHERE house_blind = ?1
         ORDER BY status = 'closed', created_at DESC, id DESC",
    )?;
    let rows = statement
        .query_map([house_blind], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// One registration by id.
pub(crate) fn registration(
    conn: &Connection,
    cipher: &RowCipher,
    id: &str,
) -> Result<Option<RegistrationRecord>, StoreError> {
    let row: Option<RegistrationRow> = conn
        .prepare_cached(
            "SELECT person_id, status, created_at, closed_at, sealed FROM registrations WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    row.map(|(person_id, status, created_at, closed_at, sealed)| {
        record(
            id.to_owned(),
            person_id,
            &status,
            created_at,
            closed_at,
            &sealed,
            cipher,
        )
    })
    .transpose()
}

/// A registration row as read: person id, status, created, closed, sealed content.
type RegistrationRow = (String, String, String, Option<String>, Vec<u8>);

fn record(
    id: String,
    person_id: String,
    status: &str,
    created_at: String,
    closed_at: Option<String>,
    sealed: &[u8],
    cipher: &RowCipher,
) -> Result<RegistrationRecord, StoreError> {
    let context = context::registration(&id, &person_id);
    let status = match status {
        "active" => RegistrationStatus::Active,
        "closed" => RegistrationStatus::Closed,
        _ => return Err(StoreError::Malformed { record: context }),
    };
    let registration = open_json(cipher, &context, sealed)?;
    Ok(RegistrationRecord {
        id,
        person_id,
        status,
        created_at,
        closed_at,
        registration,
    })
}

/// A person's registrations, newest first.
pub(crate) fn registrations(
    conn: &Connection,
    cipher: &RowCipher,
    person_id: &str,
) -> Result<Vec<RegistrationRecord>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, status, created_at, closed_at, sealed FROM registrations WHERE person_id = ?1
         ORDER BY created_at DESC, id DESC",
    )?;
    let rows = statement.query_map([person_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Vec<u8>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, status, created_at, closed_at, sealed) = row?;
        out.push(record(
            id,
            person_id.to_owned(),
            &status,
            created_at,
            closed_at,
            &sealed,
            cipher,
        )?);
    }
    Ok(out)
}
