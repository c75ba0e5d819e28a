//! What a registration captures, as entered and as validated.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::codes::CodeTableId;
use crate::identity::IdKind;

/// A registration as a coordinator enters it (form fields, a JSON file, the card reader).
/// Dates are `YYYY-MM-DD`; coded fields hold codes of the tables in [`crate::codes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RegistrationInput {
    /// The person.
    pub person: PersonInput,
    /// The identity document presented.
    pub document: DocumentInput,
    /// Household-registration (hukou) address, 户籍地址.
    pub household_address: String,
    /// Where the person now lives.
    pub dwelling: Dwelling,
    /// Move-in date.
    pub moved_in: String,
    /// Expected end of stay, if known.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub expected_stay_until: Option<String>,
    /// Reason for stay (code).
    pub reason_for_stay: String,
    /// Occupation (code).
    pub occupation: String,
    /// Employer, if any.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub employer: Option<Employer>,
    /// Landlord, for rented housing.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub landlord: Option<Contact>,
    /// Householder of the dwelling and the person's relation to them.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub householder: Option<Householder>,
    /// The person's contact phone.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub contact_phone: Option<String>,
}

/// The person, as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PersonInput {
    /// Name as on the document.
    pub name: String,
    /// Former name (曾用名), if any.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub former_name: Option<String>,
    /// Sex (GB/T 2261.1 code).
    pub sex: String,
    /// Ethnicity (GB/T 3304 code).
    pub ethnicity: String,
    /// Birth date; may be omitted for a resident ID number, which carries it.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub birth_date: Option<String>,
}

/// The identity document, as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DocumentInput {
    /// Document type (code of the `document_type` table).
    #[serde(rename = "type")]
    pub doc_type: String,
    /// Document number.
    pub number: String,
}

pub use lgt_common::registration::Dwelling;

/// An employer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Employer {
    /// Employer's name.
    pub name: String,
    /// Unified social credit code (统一社会信用代码), GB 32100.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub credit_code: Option<String>,
}

/// A named contact with a phone (the landlord).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Phone number.
    pub phone: String,
}

/// The householder and the person's relation to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Householder {
    /// Householder's name.
    pub name: String,
    /// Relation (GB/T 4761 code).
    pub relation: String,
}

/// A validated person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Person {
    /// Normalised name.
    pub name: String,
    /// Normalised former name.
    pub former_name: Option<String>,
    /// Sex code.
    pub sex: String,
    /// Ethnicity code.
    pub ethnicity: String,
    /// Birth date.
    pub birth_date: NaiveDate,
}

/// A validated identity document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Document {
    /// Document type code.
    pub doc_type: String,
    /// Canonical number (18 characters for resident ID numbers).
    pub number: String,
    /// The 15-digit number it was upgraded from, if any.
    pub legacy_number: Option<String>,
    /// Kind of identity number, for resident ID numbers.
    pub id_kind: Option<IdKind>,
}

/// A validated registration, as sealed in the store and sent to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Registration {
    /// The person.
    pub person: Person,
    /// The document.
    pub document: Document,
    /// Household-registration address.
    pub household_address: String,
    /// Dwelling.
    pub dwelling: Dwelling,
    /// Move-in date.
    pub moved_in: NaiveDate,
    /// Expected end of stay.
    pub expected_stay_until: Option<NaiveDate>,
    /// Reason for stay code.
    pub reason_for_stay: String,
    /// Occupation code.
    pub occupation: String,
    /// Employer.
    pub employer: Option<Employer>,
    /// Landlord.
    pub landlord: Option<Contact>,
    /// Householder.
    pub householder: Option<Householder>,
    /// Contact phone, digits (and a leading +) only.
    pub contact_phone: Option<String>,
    /// Versions of the code tables this record was validated against.
    pub code_versions: BTreeMap<CodeTableId, String>,
}

/// One identity number a person holds or held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Identifier {
    /// Record id of this identifier.
    pub id: String,
    /// The document.
    pub document: Document,
    /// When it was recorded, RFC 3339.
    pub recorded_at: String,
    /// When a newer number replaced it, if it did.
    pub superseded_at: Option<String>,
}

/// Whether a registration is the person's current residence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RegistrationStatus {
    /// Current residence.
    Active,
    /// Closed: the person moved on.
    Closed,
}

/// A stored registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RegistrationRecord {
    /// Registration id (UUIDv7).
    pub id: String,
    /// The person's id.
    pub person_id: String,
    /// Current or closed.
    pub status: RegistrationStatus,
    /// When it was recorded, RFC 3339.
    pub created_at: String,
    /// When it was closed, RFC 3339.
    pub closed_at: Option<String>,
    /// The validated content.
    pub registration: Registration,
}

/// A person with identifiers and current residence: what a search returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PersonRecord {
    /// Person id (UUIDv7); stable across ID-number changes.
    pub person_id: String,
    /// The person's current details.
    pub person: Person,
    /// Every identity number, current first.
    pub identifiers: Vec<Identifier>,
    /// The active registration, if any.
    pub current_registration: Option<RegistrationRecord>,
}

/// A dwelling and who is or was registered there: the door-to-door view, on this phone's
/// own and its district colleagues' records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DwellingRecord {
    /// The house code (房屋编码), normalised.
    pub house_code: String,
    /// The dwelling as the district last recorded it: address and housing type.
    pub dwelling: Option<Dwelling>,
    /// For rented housing (出租屋), the landlord.
    pub landlord: Option<Contact>,
    /// The registrations at this dwelling, current ones first, then newest first.
    pub registrations: Vec<RegistrationRecord>,
}

/// What `register` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RegistrationReceipt {
    /// The person (new, or already known by this document number).
    pub person_id: String,
    /// Whether the person was new to this store.
    pub new_person: bool,
    /// The new registration.
    pub registration_id: String,
    /// An earlier active registration that this one closed.
    pub closed_registration_id: Option<String>,
    /// The outbox operation that will sync it.
    pub operation_id: String,
    /// Non-fatal findings (e.g. an abolished region code).
    pub warnings: Vec<String>,
    /// Watchlist alerts raised by this registration ("possible match: verify").
    #[serde(default)]
    pub alerts: Vec<crate::watchlist::WatchlistAlert>,
}
