//! Registrations: who lives where, validated, sealed, queued for sync and audited in one
//! transaction.

mod model;
pub(crate) mod replica;
mod repo;
mod validate;

use rusqlite::Transaction;
use serde::Serialize;
use uuid::Uuid;

pub use crate::text::{normalise_document_number, normalise_house_code, normalise_name};
pub use model::*;
pub use validate::{is_valid_credit_code, validate, InputIssue, ValidationErrors};

use crate::audit::Audited;
use crate::codes::{self, CodeTableId};
use crate::crypto::BlindIndex;
use crate::identity;
use crate::outbox;
use crate::store::StoreError;
use crate::store::Unlocked;
use crate::watchlist::WatchlistAlert;
use crate::Error;

/// The payload queued for the server when a person is registered.
#[derive(Serialize)]
struct RegistrationCreated<'a> {
    person_id: &'a str,
    registration_id: &'a str,
    closes_registration_id: Option<&'a str>,
    registration: &'a Registration,
}

/// The payload queued when a person's identity number changes.
#[derive(Serialize)]
struct IdentifierAdded<'a> {
    person_id: &'a str,
    identifier_id: &'a str,
    document: &'a Document,
}

/// Validates and stores a registration. A person already known by the document number gets
/// the new registration (their earlier active one is closed: one residence at a time);
/// otherwise a new person is created. `watch` runs in the same transaction once the person
/// is saved and returns the watchlist alerts raised for them.
pub(crate) fn register(
    unlocked: &Unlocked<'_>,
    input: &RegistrationInput,
    watch: impl FnOnce(&Transaction<'_>, &str) -> Result<Vec<WatchlistAlert>, Error>,
) -> Result<RegistrationReceipt, Error> {
    let (registration, warnings) = validate(input, unlocked.today())?;
    let cipher = unlocked.cipher();
    let now = unlocked.now();
    unlocked.write(|tx| {
        let blind = cipher.blind(BlindIndex::IdNumber, &registration.document.number);
        let (person_id, new_person) = match repo::person_by_identifier(tx, &blind)? {
            Some(id) => (id, false),
            None => (Uuid::now_v7().to_string(), true),
        };
        repo::save_person(tx, cipher, &person_id, &registration.person, now)?;
        if new_person {
            repo::insert_identifier(tx, cipher, &person_id, &registration.document, now)?;
        }
        for name in
            std::iter::once(&registration.person.name).chain(&registration.person.former_name)
        {
            repo::index_name(tx, cipher, &person_id, name)?;
        }
        let closed = repo::active_registration(tx, &person_id)?;
        if let Some(closed) = &closed {
            repo::close_registration(tx, closed, now)?;
        }
        let registration_id = Uuid::now_v7().to_string();
        repo::insert_registration(tx, cipher, &registration_id, &person_id, &registration, now)?;
        let payload = RegistrationCreated {
            person_id: &person_id,
            registration_id: &registration_id,
            closes_registration_id: closed.as_deref(),
            registration: &registration,
        };
        let operation_id = outbox::enqueue(
            tx,
            cipher,
            now,
            "registration.create",
            &registration_id,
            &payload,
        )?;
        unlocked.audit(tx, "registration.create", "registration", &registration_id)?;
        let alerts = watch(tx, &person_id)?;
        Ok(RegistrationReceipt {
            person_id,
            new_person,
            registration_id,
            closed_registration_id: closed,
            operation_id,
            warnings: warnings.clone(),
            alerts,
        })
    })
}

/// Records a new identity number for a known person (a corrected or reissued number); the
/// earlier numbers stay on record as superseded and still find the person.
pub(crate) fn add_identifier(
    unlocked: &Unlocked<'_>,
    person_id: &str,
    input: &DocumentInput,
) -> Result<Identifier, Error> {
    let document = validate_document(unlocked, input)?;
    let cipher = unlocked.cipher();
    let now = unlocked.now();
    unlocked.write(|tx| {
        let person_id = &resolve(tx, person_id)?;
        let blind = cipher.blind(BlindIndex::IdNumber, &document.number);
        if let Some(holder) = repo::person_by_identifier(tx, &blind)? {
            return Err(Error::Conflict {
                reason: format!("that document number already belongs to person {holder}"),
            });
        }
        let identifier_id = repo::insert_identifier(tx, cipher, person_id, &document, now)?;
        let payload = IdentifierAdded {
            person_id,
            identifier_id: &identifier_id,
            document: &document,
        };
        outbox::enqueue(
            tx,
            cipher,
            now,
            "person.identifier_add",
            person_id,
            &payload,
        )?;
        unlocked.audit(tx, "person.identifier_add", "person", person_id)?;
        let identifiers = repo::identifiers(tx, cipher, person_id)?;
        identifiers
            .into_iter()
            .find(|i| i.id == identifier_id)
            .ok_or_else(|| {
                StoreError::Malformed {
                    record: format!("person_identifiers:{identifier_id}"),
                }
                .into()
            })
    })
}

/// Validates a document alone, by the same rules as a registration's document.
fn validate_document(unlocked: &Unlocked<'_>, input: &DocumentInput) -> Result<Document, Error> {
    let doc_type = input.doc_type.trim();
    if !codes::table(CodeTableId::DocumentType).contains(doc_type) {
        return Err(Error::InvalidArgument {
            field: "document.type",
            reason: "is not a document type code".into(),
        });
    }
    if doc_type == "1" {
        let id = identity::parse(&input.number, unlocked.today())?;
        return Ok(Document {
            doc_type: doc_type.into(),
            number: id.as_str().to_owned(),
            legacy_number: id.legacy().map(str::to_owned),
            id_kind: Some(id.kind()),
        });
    }
    let number =
        normalise_document_number(&input.number).ok_or_else(|| Error::InvalidArgument {
            field: "document.number",
            reason: "must be 3 to 32 letters, digits or '-'".into(),
        })?;
    Ok(Document {
        doc_type: doc_type.into(),
        number,
        legacy_number: None,
        id_kind: None,
    })
}

/// The canonical form of a document number typed into a search: a resident ID number is
/// parsed (15-digit numbers upgraded), anything else upper-cased without spaces.
fn canonical_number(unlocked: &Unlocked<'_>, raw: &str) -> Result<String, Error> {
    match identity::parse(raw, unlocked.today()) {
        Ok(id) => Ok(id.as_str().to_owned()),
        Err(e) => {
            let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
            let looks_like_id = matches!(compact.chars().count(), 15 | 18)
                && compact.chars().take(15).all(|c| c.is_ascii_digit());
            if looks_like_id {
                return Err(e.into());
            }
            normalise_document_number(raw).ok_or_else(|| Error::InvalidArgument {
                field: "number",
                reason: "is neither an identity number nor a document number".into(),
            })
        }
    }
}

/// Finds persons by any identity number they hold or held.
pub(crate) fn find_by_document_number(
    unlocked: &Unlocked<'_>,
    raw: &str,
) -> Result<Vec<PersonRecord>, Error> {
    let number = canonical_number(unlocked, raw)?;
    let blind = unlocked.cipher().blind(BlindIndex::IdNumber, &number);
    find_by_blind(unlocked, BlindIndex::IdNumber, &blind)
}

/// Finds persons by current or former name (exact, after normalisation).
pub(crate) fn find_by_name(unlocked: &Unlocked<'_>, raw: &str) -> Result<Vec<PersonRecord>, Error> {
    let name = normalise_name(raw);
    if name.is_empty() {
        return Err(Error::InvalidArgument {
            field: "name",
            reason: "is empty".into(),
        });
    }
    let blind = unlocked.cipher().blind(BlindIndex::Name, &name);
    find_by_blind(unlocked, BlindIndex::Name, &blind)
}

fn find_by_blind(
    unlocked: &Unlocked<'_>,
    index: BlindIndex,
    blind: &[u8],
) -> Result<Vec<PersonRecord>, Error> {
    unlocked.write(|tx| {
        let ids = repo::persons_by_blind(tx, index, blind)?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.push(person_record(tx, unlocked.cipher(), &id)?);
            // Every read of personal data is audited, by record id.
            unlocked.audit(tx, "person.read", "person", &id)?;
        }
        Ok(found)
    })
}

pub(crate) fn person_record(
    conn: &rusqlite::Connection,
    cipher: &crate::crypto::RowCipher,
    person_id: &str,
) -> Result<PersonRecord, Error> {
    let person = repo::load_person(conn, cipher, person_id)?.ok_or_else(|| Error::NotFound {
        kind: "person",
        id: person_id.to_owned(),
    })?;
    let current_registration = repo::registrations(conn, cipher, person_id)?
        .into_iter()
        .find(|r| r.status == RegistrationStatus::Active);
    Ok(PersonRecord {
        person_id: person_id.to_owned(),
        person,
        identifiers: repo::identifiers(conn, cipher, person_id)?,
        current_registration,
    })
}

/// A dwelling by house code with the registrations at it, this phone's and the district's;
/// the read is audited.
pub(crate) fn dwelling(unlocked: &Unlocked<'_>, raw: &str) -> Result<DwellingRecord, Error> {
    let house_code = normalise_house_code(raw).ok_or_else(|| Error::InvalidArgument {
        field: "house_code",
        reason: "is not a house code".into(),
    })?;
    // The audit trail and errors name the dwelling by its blind index, never its address.
    let audit_id =
        lgt_protocol::hex(&unlocked.cipher().blind(BlindIndex::HouseCode, &house_code)[..8]);
    unlocked.write(|tx| {
        let found = replica::dwelling(tx, unlocked.cipher(), &house_code)?.ok_or_else(|| {
            Error::NotFound {
                kind: "dwelling",
                id: audit_id.clone(),
            }
        })?;
        unlocked.audit(tx, "dwelling.read", "dwelling", &audit_id)?;
        for registration in &found.registrations {
            unlocked.audit(tx, "person.read", "person", &registration.person_id)?;
        }
        Ok(found)
    })
}

/// The person an id names in this store: the person itself, or, for an id the server merged
/// into a district person, that person. Ids handed out before a merge keep working.
pub(crate) fn resolve(conn: &rusqlite::Connection, person_id: &str) -> Result<String, Error> {
    replica::resolve_person(conn, person_id)?.ok_or_else(|| Error::NotFound {
        kind: "person",
        id: person_id.to_owned(),
    })
}

pub(crate) fn registrations_of(
    conn: &rusqlite::Connection,
    cipher: &crate::crypto::RowCipher,
    person_id: &str,
) -> Result<Vec<RegistrationRecord>, Error> {
    Ok(repo::registrations(conn, cipher, person_id)?)
}
