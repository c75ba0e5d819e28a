//! Registering and looking up persons, each checked against the watchlist as it happens, and
//! a person's own record for a subject-access request.

use serde::Serialize;

use crate::audit::Audited;
use crate::permit::{self, PermitRecord};
use crate::registration::{
    self, PersonRecord, RegistrationInput, RegistrationReceipt, RegistrationRecord,
};
use crate::store::Unlocked;
use crate::Error;

use super::watchlist::{self, AlertHooks};

/// Everything a person's own record holds, for a subject-access export.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PersonExport {
    /// The person with identifiers and current registration.
    pub person: PersonRecord,
    /// Every registration, newest first.
    pub registrations: Vec<RegistrationRecord>,
    /// Every permit with its full event log.
    pub permits: Vec<PermitRecord>,
}

/// Validates and stores a registration with its outbox operation and audit record, and
/// checks the person against the watchlist: alerts are committed with the registration,
/// returned in the receipt and handed to the alert listener.
pub(crate) fn register(
    unlocked: &Unlocked<'_>,
    hooks: &AlertHooks,
    input: &RegistrationInput,
) -> Result<RegistrationReceipt, Error> {
    // The stretched keys are derived before the write lock is taken.
    let prepared = watchlist::prepare_registration(unlocked, input)?;
    let receipt = registration::register(unlocked, input, |tx, person_id| match &prepared {
        Some(prepared) => {
            Ok(watchlist::raise(tx, unlocked, hooks, prepared, Some(person_id))?.alerts)
        }
        None => Ok(Vec::new()),
    })?;
    hooks.notify(&receipt.alerts);
    Ok(receipt)
}

/// Persons holding (or having held) a document number; the number and the persons found are
/// checked against the watchlist.
pub(crate) fn find_by_document_number(
    unlocked: &Unlocked<'_>,
    hooks: &AlertHooks,
    number: &str,
) -> Result<Vec<PersonRecord>, Error> {
    let found = registration::find_by_document_number(unlocked, number)?;
    watchlist::after_find(unlocked, hooks, Some(number), &found)?;
    Ok(found)
}

/// Persons with this current or former name, checked against the watchlist by their
/// identity numbers.
pub(crate) fn find_by_name(
    unlocked: &Unlocked<'_>,
    hooks: &AlertHooks,
    name: &str,
) -> Result<Vec<PersonRecord>, Error> {
    let found = registration::find_by_name(unlocked, name)?;
    watchlist::after_find(unlocked, hooks, None, &found)?;
    Ok(found)
}

/// Everything stored about one person, for the person's own request. Audited.
pub(crate) fn export_person(
    unlocked: &Unlocked<'_>,
    person_id: &str,
) -> Result<PersonExport, Error> {
    let cipher = unlocked.cipher();
    unlocked.write(|tx| {
        let person_id = &registration::resolve(tx, person_id)?;
        let person = registration::person_record(tx, cipher, person_id)?;
        let export = PersonExport {
            registrations: registration::registrations_of(tx, cipher, person_id)?,
            permits: permit::permits_of(tx, cipher, person_id)?,
            person,
        };
        unlocked.audit(tx, "person.export", "person", person_id)?;
        Ok(export)
    })
}
