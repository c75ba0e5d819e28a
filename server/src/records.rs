//! District records: persons, registrations and dwellings, shared by every device of a
//! district through its records bucket.
//!
//! A person is district-wide and found by identity number: the blind index (HMAC-SHA256
//! under a server key, [`blind_index`]) of the normalised number (15-digit numbers upgraded to
//! 18) of any number the person holds or held. A registration whose number a district person
//! already holds is attached to that person, whatever local id the phone gave it; the local id
//! is kept as an alias (`person_aliases`, the audit trail of the merge) so later operations
//! naming it reach the district person. The first registration to commit makes the person:
//! two phones registering one person offline converge on it in the server's commit order, both
//! registrations kept.
//!
//! Every operation acts only on records of the device's district. One naming a record of
//! another district is refused with the same words as one naming no record at all, so a
//! refusal tells nothing of other districts; refusals never carry a number or a name.
//! Record writes of a district take turns on its records bucket's head row, so the look-up by
//! number and the write it decides are one step on PostgreSQL too.

use chrono::Days;
use lgt_common::identity;
use lgt_common::registration::{normalise_house_code, Dwelling};
use lgt_protocol::records::{self as keys, ACTIVE, CLOSED, LEFT_THE_AREA, RENTED_HOUSING};
use lgt_protocol::{hex, Outcome, PushOperation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::AnyConnection;

use crate::auth::Device;
use crate::buckets;
use crate::db::now;
use crate::error::ApiError;
use crate::vault::Vault;

/// The refusal for a person the device may not act on: one of another district, or none.
pub(crate) const NO_SUCH_PERSON: &str = "no such person in this device's district";

/// The refusal for a registration the device may not act on: of another district, or none.
pub(crate) const NO_SUCH_REGISTRATION: &str = "no such registration in this device's district";

/// The refusal for a number another person of the district holds (naming no one).
const NUMBER_HELD: &str = "the document number already belongs to another person";

/// The phone's `registration.create` payload; the registration itself is kept as sent.
#[derive(Deserialize)]
struct RegistrationCreated {
    person_id: String,
    registration_id: String,
    closes_registration_id: Option<String>,
    registration: Value,
}

/// The phone's `person.identifier_add` payload.
#[derive(Deserialize)]
struct IdentifierAdded {
    person_id: String,
    identifier_id: String,
    document: Value,
}

/// What the server reads from a registration.
#[derive(Deserialize)]
struct RegistrationFields {
    person: serde_json::Map<String, Value>,
    document: DocumentFields,
    dwelling: Dwelling,
    #[serde(default)]
    landlord: Option<Contact>,
}

/// What the server reads from a document.
#[derive(Deserialize)]
struct DocumentFields {
    doc_type: String,
    number: String,
}

/// A landlord's contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Phone number.
    pub phone: String,
}

fn rejected(reason: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        reason: reason.into(),
    }
}

fn encode_error() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "server.encode",
        "could not encode a record",
    )
}

fn unreadable() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "server.records",
        "a stored record is unreadable",
    )
}

/// A record id as phones make them (UUIDs): 1 to 64 ASCII letters, digits or '-'.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The text a document's blind index is taken over: for a resident identity card (type 1)
/// the canonical 18-character number (a 15-digit one upgraded), for other documents the type
/// and the number without spaces, upper case. `None`: not a valid number.
pub(crate) fn document_key(doc_type: &str, number: &str) -> Option<String> {
    if doc_type == "1" {
        // A day's grace for a phone whose clock runs ahead of the server's.
        let today = chrono::Utc::now().date_naive() + Days::new(1);
        return identity::parse(number, today)
            .ok()
            .map(|id| id.as_str().to_owned());
    }
    let number: String = number
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = (3..=32).contains(&number.len())
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    let valid_type = valid_id(doc_type) && doc_type.len() <= 8;
    (valid && valid_type).then(|| format!("{doc_type}:{number}"))
}

/// The blind index of a document key ([`document_key`]): hex HMAC-SHA256 under the server's
/// key (kept wrapped in the database, [`crate::vault`]), so the database can find a number
/// without holding it in an index, and a copy of the table without the key cannot be searched
/// by guessing numbers.
pub(crate) fn blind_index(vault: &Vault, document_key: &str) -> String {
    hex(ring::hmac::sign(vault.id_blind_key(), document_key.as_bytes()).as_ref())
}

/// Opens a sealed column of a record table.
fn open(
    vault: &Vault,
    table: &str,
    row: &str,
    column: &str,
    sealed: &str,
) -> Result<Value, ApiError> {
    vault
        .open(table, row, column, sealed)
        .map_err(|_| unreadable())
        .and_then(|text| parse(&text))
}

/// The district and district person of a person id: a district person's own id, or a local
/// id merged into one.
pub(crate) async fn resolve_person(
    conn: &mut AnyConnection,
    person_id: &str,
) -> sqlx::Result<Option<(String, String)>> {
    let own: Option<(String, String)> =
        sqlx::query_as("SELECT district, id FROM persons WHERE id = $1")
            .bind(person_id)
            .fetch_optional(&mut *conn)
            .await?;
    if own.is_some() {
        return Ok(own);
    }
    sqlx::query_as("SELECT district, person_id FROM person_aliases WHERE local_id = $1")
        .bind(person_id)
        .fetch_optional(&mut *conn)
        .await
}

/// The district of a registration, if there is one under that id.
pub(crate) async fn registration_district(
    conn: &mut AnyConnection,
    registration_id: &str,
) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT district FROM registrations WHERE id = $1")
        .bind(registration_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|(d,)| d))
}

/// The district person holding a blind index in `district`.
async fn holder(
    conn: &mut AnyConnection,
    district: &str,
    blind: &str,
) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT person_id FROM person_identifiers WHERE district = $1 AND id_blind = $2",
    )
    .bind(district)
    .bind(blind)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(p,)| p))
}

/// Records that `person_id` holds the number of `blind`.
#[allow(clippy::too_many_arguments)]
async fn add_identifier(
    conn: &mut AnyConnection,
    vault: &Vault,
    district: &str,
    blind: &str,
    person_id: &str,
    identifier_id: Option<&str>,
    document: &Value,
    op_id: &str,
) -> sqlx::Result<()> {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM person_identifiers WHERE person_id = $1")
            .bind(person_id)
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query(
        "INSERT INTO person_identifiers
             (district, id_blind, person_id, ordinal, identifier_id, document, op_id, added_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(district)
    .bind(blind)
    .bind(person_id)
    .bind(count + 1)
    .bind(identifier_id)
    .bind(vault.seal(
        "person_identifiers",
        &format!("{district}/{blind}"),
        "document",
        &document.to_string(),
    ))
    .bind(op_id)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Starts a savepoint with the district's records bucket locked; [`finish`] ends it.
async fn begin_in_district<'c>(
    conn: &'c mut AnyConnection,
    device: &Device,
) -> Result<sqlx::Transaction<'c, sqlx::Any>, ApiError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    buckets::lock(&mut tx, &buckets::district_records(&device.district)).await?;
    Ok(tx)
}

/// Ends a savepoint of [`begin_in_district`]: a refusal rolls back, so it writes nothing.
async fn finish(
    tx: sqlx::Transaction<'_, sqlx::Any>,
    outcome: Outcome,
) -> Result<Outcome, ApiError> {
    if matches!(outcome, Outcome::Rejected { .. }) {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(outcome)
}

/// Applies a `registration.create`: attaches the registration to the district person holding
/// its number (recording the merge when the phone knew the person by another id), or makes the
/// phone's person a district person; closes the earlier registration it names; keeps the
/// dwelling; writes the changed entries to the district's records bucket.
pub(crate) async fn apply_registration(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    op: &PushOperation,
) -> Result<Outcome, ApiError> {
    const MALFORMED: &str = "malformed registration.create payload";
    let Ok(created) = serde_json::from_str::<RegistrationCreated>(&op.payload) else {
        return Ok(rejected(MALFORMED));
    };
    if created.registration_id != op.record_id {
        return Ok(rejected(
            "a registration.create names another registration than its record",
        ));
    }
    let ids_valid = valid_id(&created.person_id)
        && valid_id(&created.registration_id)
        && created
            .closes_registration_id
            .as_deref()
            .is_none_or(valid_id);
    let Ok(fields) = serde_json::from_value::<RegistrationFields>(created.registration.clone())
    else {
        return Ok(rejected(MALFORMED));
    };
    if !ids_valid {
        return Ok(rejected(format!("{MALFORMED}: record ids")));
    }
    let Some(code) = normalise_house_code(&fields.dwelling.house_code) else {
        return Ok(rejected(format!("{MALFORMED}: house code")));
    };
    if fields.dwelling.housing_type.is_empty() || fields.dwelling.housing_type.len() > 8 {
        return Ok(rejected(format!("{MALFORMED}: housing type")));
    }
    let Some(number_key) = document_key(&fields.document.doc_type, &fields.document.number) else {
        return Ok(rejected(format!("{MALFORMED}: document number")));
    };
    let mut tx = begin_in_district(conn, device).await?;
    let outcome = register(
        &mut tx,
        vault,
        device,
        op,
        created,
        fields,
        code,
        &number_key,
    )
    .await?;
    finish(tx, outcome).await
}

#[allow(clippy::too_many_arguments)]
async fn register(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    op: &PushOperation,
    created: RegistrationCreated,
    fields: RegistrationFields,
    code: String,
    number_key: &str,
) -> Result<Outcome, ApiError> {
    let district = device.district.as_str();
    match registration_district(conn, &created.registration_id).await? {
        None => {}
        Some(other) if other != district => return Ok(rejected(NO_SUCH_REGISTRATION)),
        Some(_) => {
            return Ok(rejected(format!(
                "registration {} already exists",
                created.registration_id
            )))
        }
    }
    let by_id = match resolve_person(conn, &created.person_id).await? {
        Some((other, _)) if other != district => return Ok(rejected(NO_SUCH_PERSON)),
        Some((_, person)) => Some(person),
        None => None,
    };
    let blind = blind_index(vault, number_key);
    let by_number = holder(conn, district, &blind).await?;
    let (person_id, merged_from, new_person) = match (by_number.clone(), by_id) {
        (Some(by_number), Some(by_id)) if by_number != by_id => {
            let reason = format!(
                "registration {}: its document number belongs to person {by_number}, its person id to person {by_id}",
                created.registration_id
            );
            return crate::push::conflict(conn, vault, device, op, reason, None).await;
        }
        (Some(person), by_id) => {
            let merged = by_id.is_none().then(|| created.person_id.clone());
            (person, merged, false)
        }
        (None, Some(person)) => (person, None, false),
        (None, None) => (created.person_id.clone(), None, true),
    };
    // The earlier residence this one closes: of this district and this person.
    let mut closes = None;
    if let Some(earlier) = created.closes_registration_id.as_deref() {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT district, person_id, status FROM registrations WHERE id = $1")
                .bind(earlier)
                .fetch_optional(&mut *conn)
                .await?;
        match row {
            Some((d, _, _)) if d != district => return Ok(rejected(NO_SUCH_REGISTRATION)),
            None => return Ok(rejected(NO_SUCH_REGISTRATION)),
            Some((_, holder, _)) if holder != person_id => {
                return Ok(rejected("the registration it closes is of another person"))
            }
            Some((_, _, status)) => closes = (status == ACTIVE).then(|| earlier.to_owned()),
        }
    }
    let now = now();
    let person = vault.seal(
        "persons",
        &person_id,
        "data",
        &Value::Object(fields.person.clone()).to_string(),
    );
    if new_person {
        sqlx::query(
            "INSERT INTO persons (id, district, version, id_blind, data, created_at, updated_at)
             VALUES ($1, $2, 1, $3, $4, $5, $5)",
        )
        .bind(&person_id)
        .bind(district)
        .bind(&blind)
        .bind(&person)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query(
            "UPDATE persons SET data = $2, version = version + 1, updated_at = $3 WHERE id = $1",
        )
        .bind(&person_id)
        .bind(&person)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    if by_number.is_none() {
        let document = created
            .registration
            .get("document")
            .cloned()
            .unwrap_or(Value::Null);
        add_identifier(
            conn, vault, district, &blind, &person_id, None, &document, &op.op_id,
        )
        .await?;
    }
    if let Some(local) = &merged_from {
        sqlx::query(
            "INSERT INTO person_aliases (local_id, district, person_id, op_id, device_id, merged_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(local)
        .bind(district)
        .bind(&person_id)
        .bind(&op.op_id)
        .bind(&device.id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        // Ids only: the merge's audit trail is the alias row.
        tracing::info!(op_id = %op.op_id, device = %device.id, local_id = %local, person_id = %person_id, "person merged");
    }
    sqlx::query(
        "INSERT INTO registrations
             (id, district, person_id, house_code, status, version, device_id, closed_by, data,
              created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, NULL, $7, $8, $8)",
    )
    .bind(&created.registration_id)
    .bind(district)
    .bind(&person_id)
    .bind(vault.house_code_blind(&code))
    .bind(ACTIVE)
    .bind(&device.id)
    .bind(vault.seal(
        "registrations",
        &created.registration_id,
        "data",
        &created.registration.to_string(),
    ))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if let Some(earlier) = &closes {
        sqlx::query(
            "UPDATE registrations SET status = $2, closed_by = $3, version = version + 1,
                 updated_at = $4 WHERE id = $1",
        )
        .bind(earlier)
        .bind(CLOSED)
        .bind(&created.registration_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    let dwelling_changed = keep_dwelling(conn, vault, district, &code, &fields).await?;
    let bucket = buckets::district_records(district);
    write_person_entry(conn, vault, &bucket, &person_id).await?;
    write_registration_entry(conn, vault, &bucket, &created.registration_id).await?;
    if let Some(earlier) = &closes {
        write_registration_entry(conn, vault, &bucket, earlier).await?;
    }
    if dwelling_changed {
        write_dwelling_entry(conn, vault, &bucket, district, &code).await?;
    }
    Ok(Outcome::Applied)
}

/// Keeps the dwelling of a registration: made on first use, updated (version up) when its
/// address, housing type or landlord changed. A rented dwelling keeps its landlord when a
/// registration names none. Returns whether it changed.
async fn keep_dwelling(
    conn: &mut AnyConnection,
    vault: &Vault,
    district: &str,
    code: &str,
    fields: &RegistrationFields,
) -> Result<bool, ApiError> {
    // Found by the house code's blind index; its sealed columns bound to that row.
    let blind = vault.house_code_blind(code);
    let row = format!("{district}/{blind}");
    let existing: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT data, landlord FROM dwellings WHERE district = $1 AND house_code = $2",
    )
    .bind(district)
    .bind(&blind)
    .fetch_optional(&mut *conn)
    .await?;
    // Compared opened; stored sealed (a new nonce each time, so sealed values never compare).
    let existing = match existing {
        None => None,
        Some((old_data, old_landlord)) => {
            let opened = |column, sealed: &str| {
                vault
                    .open("dwellings", &row, column, sealed)
                    .map_err(|_| unreadable())
            };
            let old_landlord = old_landlord
                .as_deref()
                .map(|l| opened("landlord", l))
                .transpose()?;
            Some((opened("data", &old_data)?, old_landlord))
        }
    };
    let dwelling = Dwelling {
        house_code: code.to_owned(),
        address: fields.dwelling.address.clone(),
        housing_type: fields.dwelling.housing_type.clone(),
    };
    let data = serde_json::to_string(&dwelling).map_err(|_| encode_error())?;
    let rented = dwelling.housing_type == RENTED_HOUSING;
    let landlord = match (&fields.landlord, &existing) {
        _ if !rented => None,
        (Some(landlord), _) => Some(serde_json::to_string(landlord).map_err(|_| encode_error())?),
        (None, Some((_, kept))) => kept.clone(),
        (None, None) => None,
    };
    let changed = existing
        .as_ref()
        .is_none_or(|(old_data, old_landlord)| *old_data != data || *old_landlord != landlord);
    let data = vault.seal("dwellings", &row, "data", &data);
    let landlord = landlord.map(|l| vault.seal("dwellings", &row, "landlord", &l));
    let now = now();
    match existing {
        None => {
            sqlx::query(
                "INSERT INTO dwellings
                     (district, house_code, version, housing_type, data, landlord, updated_at)
                 VALUES ($1, $2, 1, $3, $4, $5, $6)",
            )
            .bind(district)
            .bind(&blind)
            .bind(&dwelling.housing_type)
            .bind(&data)
            .bind(landlord.as_deref())
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }
        Some(_) if !changed => Ok(false),
        Some(_) => {
            sqlx::query(
                "UPDATE dwellings SET version = version + 1, housing_type = $3, data = $4,
                     landlord = $5, updated_at = $6
                 WHERE district = $1 AND house_code = $2",
            )
            .bind(district)
            .bind(&blind)
            .bind(&dwelling.housing_type)
            .bind(&data)
            .bind(landlord.as_deref())
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }
    }
}

/// Applies a `person.identifier_add`: a further number (a corrected or reissued one) of a
/// district person, named by its own id or a local id merged into it. A number another person
/// of the district holds is refused; one the person already holds changes nothing.
pub(crate) async fn apply_identifier_add(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    op: &PushOperation,
) -> Result<Outcome, ApiError> {
    const MALFORMED: &str = "malformed person.identifier_add payload";
    let Ok(added) = serde_json::from_str::<IdentifierAdded>(&op.payload) else {
        return Ok(rejected(MALFORMED));
    };
    if added.person_id != op.record_id {
        return Ok(rejected(
            "a person.identifier_add names another person than its record",
        ));
    }
    if !valid_id(&added.person_id) || !valid_id(&added.identifier_id) {
        return Ok(rejected(format!("{MALFORMED}: record ids")));
    }
    let Ok(document) = serde_json::from_value::<DocumentFields>(added.document.clone()) else {
        return Ok(rejected(MALFORMED));
    };
    let Some(number_key) = document_key(&document.doc_type, &document.number) else {
        return Ok(rejected(format!("{MALFORMED}: document number")));
    };
    let mut tx = begin_in_district(conn, device).await?;
    let outcome = add_number(&mut tx, vault, device, op, &added, &number_key).await?;
    finish(tx, outcome).await
}

async fn add_number(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    op: &PushOperation,
    added: &IdentifierAdded,
    number_key: &str,
) -> Result<Outcome, ApiError> {
    let district = device.district.as_str();
    let person_id = match resolve_person(conn, &added.person_id).await? {
        Some((d, person)) if d == district => person,
        _ => return Ok(rejected(NO_SUCH_PERSON)),
    };
    let blind = blind_index(vault, number_key);
    match holder(conn, district, &blind).await? {
        Some(holder) if holder == person_id => return Ok(Outcome::Applied),
        Some(_) => return Ok(rejected(NUMBER_HELD)),
        None => {}
    }
    add_identifier(
        conn,
        vault,
        district,
        &blind,
        &person_id,
        Some(&added.identifier_id),
        &added.document,
        &op.op_id,
    )
    .await?;
    sqlx::query(
        "UPDATE persons SET id_blind = $2, version = version + 1, updated_at = $3 WHERE id = $1",
    )
    .bind(&person_id)
    .bind(&blind)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    write_person_entry(
        conn,
        vault,
        &buckets::district_records(district),
        &person_id,
    )
    .await?;
    Ok(Outcome::Applied)
}

/// The local ids merged into a district person, in merge order.
async fn merged_ids(conn: &mut AnyConnection, person_id: &str) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT local_id FROM person_aliases WHERE person_id = $1 ORDER BY merged_at, local_id",
    )
    .bind(person_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

fn parse(text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|_| unreadable())
}

/// Writes a district person's entry: `person:{id}`.
async fn write_person_entry(
    conn: &mut AnyConnection,
    vault: &Vault,
    bucket: &str,
    person_id: &str,
) -> Result<(), ApiError> {
    let (version, data): (i64, String) =
        sqlx::query_as("SELECT version, data FROM persons WHERE id = $1")
            .bind(person_id)
            .fetch_one(&mut *conn)
            .await?;
    let documents: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT district, id_blind, document FROM person_identifiers WHERE person_id = $1
         ORDER BY ordinal",
    )
    .bind(person_id)
    .fetch_all(&mut *conn)
    .await?;
    let identifiers = documents
        .iter()
        .map(|(district, blind, d)| {
            open(
                vault,
                "person_identifiers",
                &format!("{district}/{blind}"),
                "document",
                d,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let entry = json!({
        "person_id": person_id,
        "version": version,
        "person": open(vault, "persons", person_id, "data", &data)?,
        "identifiers": identifiers,
        "merged_ids": merged_ids(conn, person_id).await?,
    });
    buckets::put(
        conn,
        vault,
        bucket,
        &keys::person_key(person_id),
        Some(&entry.to_string()),
    )
    .await?;
    Ok(())
}

/// Writes a registration's entry: `registration:{id}`.
async fn write_registration_entry(
    conn: &mut AnyConnection,
    vault: &Vault,
    bucket: &str,
    registration_id: &str,
) -> Result<(), ApiError> {
    let (person_id, status, version, closed_by, data): (
        String,
        String,
        i64,
        Option<String>,
        String,
    ) = sqlx::query_as(
        "SELECT person_id, status, version, closed_by, data FROM registrations WHERE id = $1",
    )
    .bind(registration_id)
    .fetch_one(&mut *conn)
    .await?;
    let closed = closed_by.map(|by| json!({"reason": LEFT_THE_AREA, "by_registration_id": by}));
    let entry = json!({
        "registration_id": registration_id,
        "person_id": person_id,
        "version": version,
        "status": status,
        "closed": closed,
        "registration": open(vault, "registrations", registration_id, "data", &data)?,
    });
    buckets::put(
        conn,
        vault,
        bucket,
        &keys::registration_key(registration_id),
        Some(&entry.to_string()),
    )
    .await?;
    Ok(())
}

/// Writes a dwelling's entry: `dwelling:{house_code}`.
async fn write_dwelling_entry(
    conn: &mut AnyConnection,
    vault: &Vault,
    bucket: &str,
    district: &str,
    code: &str,
) -> Result<(), ApiError> {
    let blind = vault.house_code_blind(code);
    let (version, data, landlord): (i64, String, Option<String>) = sqlx::query_as(
        "SELECT version, data, landlord FROM dwellings WHERE district = $1 AND house_code = $2",
    )
    .bind(district)
    .bind(&blind)
    .fetch_one(&mut *conn)
    .await?;
    let row = format!("{district}/{blind}");
    let landlord = landlord
        .as_deref()
        .map(|l| open(vault, "dwellings", &row, "landlord", l))
        .transpose()?;
    let entry = json!({
        "house_code": code,
        "version": version,
        "dwelling": open(vault, "dwellings", &row, "data", &data)?,
        "landlord": landlord,
    });
    buckets::put(
        conn,
        vault,
        bucket,
        &keys::dwelling_key(code),
        Some(&entry.to_string()),
    )
    .await?;
    Ok(())
}

/// A supervisor's merge for a `registration.create` kept as a conflict because its number
/// belongs to one district person and its person id to another: they are one person. The
/// person of the id is merged into the holder of the number ([`merge_persons`]), then the
/// registration applies as the phone sent it. `Ok(Err(why))`: it does not apply (the payload
/// is not such a registration, or one of the persons is gone); nothing is written then.
pub(crate) async fn merge_and_register(
    conn: &mut AnyConnection,
    vault: &Vault,
    device: &Device,
    op: &PushOperation,
    resolution: &str,
) -> Result<Result<String, String>, ApiError> {
    const NOT_MERGEABLE: &str =
        "only a registration kept as a conflict between two persons can be resolved by a merge";
    let Ok(created) = serde_json::from_str::<RegistrationCreated>(&op.payload) else {
        return Ok(Err(NOT_MERGEABLE.into()));
    };
    let Ok(fields) = serde_json::from_value::<RegistrationFields>(created.registration.clone())
    else {
        return Ok(Err(NOT_MERGEABLE.into()));
    };
    let (Some(code), Some(number_key)) = (
        normalise_house_code(&fields.dwelling.house_code),
        document_key(&fields.document.doc_type, &fields.document.number),
    ) else {
        return Ok(Err(NOT_MERGEABLE.into()));
    };
    let district = device.district.as_str();
    buckets::lock(conn, &buckets::district_records(district)).await?;
    let by_id = match resolve_person(conn, &created.person_id).await? {
        Some((d, person)) if d == district => person,
        _ => {
            return Ok(Err(
                "the registration's person is not in the district".into()
            ))
        }
    };
    let Some(holder) = holder(conn, district, &blind_index(vault, &number_key)).await? else {
        return Ok(Err(
            "no person of the district holds the registration's number".into(),
        ));
    };
    if holder != by_id {
        merge_persons(conn, vault, district, &by_id, &holder, resolution).await?;
    }
    match register(conn, vault, device, op, created, fields, code, &number_key).await? {
        Outcome::Applied => Ok(Ok(holder)),
        Outcome::Rejected { reason } | Outcome::Conflict { reason, .. } => Ok(Err(reason)),
    }
}

/// Merges district person `from` into `into`: its numbers (after `into`'s own), registrations,
/// permits and aliases move; `from` becomes an alias of `into`, recorded with `by` (the
/// resolution) as the merge's trail; its entry goes from the records bucket and the changed
/// ones are written, so every phone of the district folds it as it folds its own merged
/// persons. A permit keeps the holder id it was issued under, which now resolves to `into`.
async fn merge_persons(
    conn: &mut AnyConnection,
    vault: &Vault,
    district: &str,
    from: &str,
    into: &str,
    by: &str,
) -> Result<(), ApiError> {
    let now = now();
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM person_identifiers WHERE person_id = $1")
            .bind(into)
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query(
        "UPDATE person_identifiers SET person_id = $2, ordinal = ordinal + $3 WHERE person_id = $1",
    )
    .bind(from)
    .bind(into)
    .bind(count)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE person_aliases SET person_id = $2 WHERE person_id = $1")
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO person_aliases (local_id, district, person_id, op_id, device_id, merged_at)
         VALUES ($1, $2, $3, $4, 'supervisor', $5)",
    )
    .bind(from)
    .bind(district)
    .bind(into)
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let moved: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM registrations WHERE person_id = $1 ORDER BY id")
            .bind(from)
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query(
        "UPDATE registrations SET person_id = $2, version = version + 1, updated_at = $3
         WHERE person_id = $1",
    )
    .bind(from)
    .bind(into)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE permits SET person_id = $2 WHERE person_id = $1")
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM persons WHERE id = $1")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE persons SET version = version + 1, updated_at = $2 WHERE id = $1")
        .bind(into)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    // Ids only: the merge's trail is the alias row.
    tracing::info!(resolution = %by, from = %from, into = %into, "persons merged by a supervisor");
    let bucket = buckets::district_records(district);
    buckets::put(conn, vault, &bucket, &keys::person_key(from), None).await?;
    write_person_entry(conn, vault, &bucket, into).await?;
    for (registration,) in moved {
        write_registration_entry(conn, vault, &bucket, &registration).await?;
    }
    Ok(())
}

/// The two district persons a `registration.create` kept as a conflict names, as their
/// records-bucket entries: `{"person_of_id": ..., "holder_of_number": ...}` (either `null` when
/// gone). What a supervisor compares before a merge; `None` for another payload.
pub(crate) async fn conflict_persons(
    conn: &mut AnyConnection,
    vault: &Vault,
    district: &str,
    payload: &str,
) -> Result<Option<Value>, ApiError> {
    let Ok(created) = serde_json::from_str::<RegistrationCreated>(payload) else {
        return Ok(None);
    };
    let Ok(fields) = serde_json::from_value::<RegistrationFields>(created.registration) else {
        return Ok(None);
    };
    let by_id = match resolve_person(conn, &created.person_id).await? {
        Some((d, person)) if d == district => Some(person),
        _ => None,
    };
    let by_number = match document_key(&fields.document.doc_type, &fields.document.number) {
        Some(key) => holder(conn, district, &blind_index(vault, &key)).await?,
        None => None,
    };
    let bucket = buckets::district_records(district);
    let mut entries = Vec::new();
    for person in [by_id, by_number] {
        let text = match person {
            Some(person) => buckets::get(conn, vault, &bucket, &keys::person_key(&person)).await?,
            None => None,
        };
        entries.push(
            text.as_deref()
                .map(parse)
                .transpose()?
                .unwrap_or(Value::Null),
        );
    }
    let [person_of_id, holder_of_number] =
        <[Value; 2]>::try_from(entries).map_err(|_| unreadable())?;
    Ok(Some(json!({
        "person_of_id": person_of_id,
        "holder_of_number": holder_of_number,
    })))
}
