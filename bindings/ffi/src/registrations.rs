//! Registrations: register, add an identity number, find, export; and the identity-number
//! check the registration form runs as the coordinator types.

use std::sync::Arc;

use lgt_core::identity::{IdKind, IdNumber, IdSex, IdWarning, Region};
use lgt_core::registration::{
    DocumentInput, DwellingRecord, Identifier, PersonRecord, RegistrationInput, RegistrationReceipt,
};
use lgt_core::PersonExport;

use crate::shared::{guarded, Shared};
use crate::LgtError;

/// A valid identity number and what it encodes. Made here: the core's [`IdNumber`] keeps its
/// parts private behind accessors (it is only ever made by parsing).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IdNumberInfo {
    /// Canonical eighteen-character form.
    pub number: String,
    /// The fifteen-digit original, when upgraded from one.
    pub legacy_number: Option<String>,
    /// Kind of document.
    pub kind: IdKind,
    /// Birth date, `YYYY-MM-DD`.
    pub birth_date: String,
    /// Sex.
    pub sex: IdSex,
    /// The region of the prefix, if known.
    pub region: Option<Region>,
    /// Warnings about a number that is valid all the same.
    pub warnings: Vec<IdWarning>,
}

/// Registrations of one open store: `core.registrations()`.
#[derive(uniffi::Object)]
pub struct Registrations {
    shared: Arc<Shared>,
}

impl Registrations {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self { shared })
    }
}

#[uniffi::export]
impl Registrations {
    /// Validates and stores a registration, with its outbox operation and audit record, in
    /// one transaction. Invalid input fails with [`LgtError::Invalid`] listing every field.
    pub fn register(&self, input: RegistrationInput) -> Result<RegistrationReceipt, LgtError> {
        self.shared.call(|core| core.register(&input))
    }

    /// Records a new identity number for a known person; earlier numbers still find them.
    pub fn add_identifier(
        &self,
        person_id: String,
        document: DocumentInput,
    ) -> Result<Identifier, LgtError> {
        self.shared
            .call(|core| core.add_identifier(&person_id, &document))
    }

    /// Persons holding or having held a document number; 15-digit numbers find their
    /// 18-digit upgrade. Audited.
    pub fn find_by_document_number(&self, number: String) -> Result<Vec<PersonRecord>, LgtError> {
        self.shared
            .call(|core| core.find_by_document_number(&number))
    }

    /// Persons with this current or former name (exact after normalisation). Audited.
    pub fn find_by_name(&self, name: String) -> Result<Vec<PersonRecord>, LgtError> {
        self.shared.call(|core| core.find_by_name(&name))
    }

    /// A dwelling by house code (as on the door-plate QR) with every registration at it,
    /// current ones first: this phone's and, once synced, its district colleagues'. Audited.
    pub fn dwelling(&self, house_code: String) -> Result<DwellingRecord, LgtError> {
        self.shared.call(|core| core.dwelling(&house_code))
    }

    /// Everything stored about one person, for the person's own request. Audited.
    pub fn export_person(&self, person_id: String) -> Result<PersonExport, LgtError> {
        self.shared.call(|core| core.export_person(&person_id))
    }

    /// Parses and validates an identity number as typed or scanned, as of the store's today.
    /// Never stores or logs it.
    pub fn check_id_number(&self, input: String) -> Result<IdNumberInfo, LgtError> {
        let today = self.shared.today();
        guarded(|| Ok(lgt_core::identity::parse(&input, today)?)).map(Into::into)
    }
}

impl From<IdNumber> for IdNumberInfo {
    fn from(id: IdNumber) -> Self {
        Self {
            number: id.as_str().to_owned(),
            legacy_number: id.legacy().map(str::to_owned),
            kind: id.kind(),
            birth_date: id.birth_date().to_string(),
            sex: id.sex(),
            region: id.region(),
            warnings: id.warnings().to_vec(),
        }
    }
}
