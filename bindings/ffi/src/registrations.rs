//! Registrations: register, add an identity number, find, export; and the identity-number
//! check the registration form runs as the coordinator types.

use std::sync::Arc;

use lgt_core::registration as core;

use crate::codes::CodeTableId;
use crate::permits::PermitRecord;
use crate::shared::Shared;
use crate::LgtError;

/// A registration as a coordinator enters it. Dates are `YYYY-MM-DD`; coded fields hold
/// codes of the tables in [`crate::codes`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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
    #[uniffi(default = None)]
    pub expected_stay_until: Option<String>,
    /// Reason for stay (code).
    pub reason_for_stay: String,
    /// Occupation (code).
    pub occupation: String,
    /// Employer, if any.
    #[uniffi(default = None)]
    pub employer: Option<Employer>,
    /// Landlord, for rented housing.
    #[uniffi(default = None)]
    pub landlord: Option<Contact>,
    /// Householder of the dwelling and the person's relation to them.
    #[uniffi(default = None)]
    pub householder: Option<Householder>,
    /// The person's contact phone.
    #[uniffi(default = None)]
    pub contact_phone: Option<String>,
}

/// The person, as entered.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PersonInput {
    /// Name as on the document.
    pub name: String,
    /// Former name (曾用名), if any.
    #[uniffi(default = None)]
    pub former_name: Option<String>,
    /// Sex (GB/T 2261.1 code).
    pub sex: String,
    /// Ethnicity (GB/T 3304 code).
    pub ethnicity: String,
    /// Birth date; may be omitted for a resident ID number, which carries it.
    #[uniffi(default = None)]
    pub birth_date: Option<String>,
}

/// The identity document, as entered.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DocumentInput {
    /// Document type (code of the `document_type` table; `1` is the resident ID card).
    pub doc_type: String,
    /// Document number.
    pub number: String,
}

/// A dwelling: the standard-address house code and the address.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Dwelling {
    /// House code (房屋编码) of the standard-address system.
    pub house_code: String,
    /// Address as written.
    pub address: String,
    /// Housing type (code).
    pub housing_type: String,
}

/// An employer.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Employer {
    /// Employer's name.
    pub name: String,
    /// Unified social credit code (统一社会信用代码), GB 32100.
    #[uniffi(default = None)]
    pub credit_code: Option<String>,
}

/// A named contact with a phone (the landlord).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Phone number.
    pub phone: String,
}

/// The householder and the person's relation to them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Householder {
    /// Householder's name.
    pub name: String,
    /// Relation (GB/T 4761 code).
    pub relation: String,
}

/// A validated person.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Person {
    /// Normalised name.
    pub name: String,
    /// Normalised former name.
    pub former_name: Option<String>,
    /// Sex code.
    pub sex: String,
    /// Ethnicity code.
    pub ethnicity: String,
    /// Birth date, `YYYY-MM-DD`.
    pub birth_date: String,
}

/// A validated identity document.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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

/// The version of one code table a registration was validated against.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CodeVersion {
    /// The table.
    pub table: CodeTableId,
    /// Its version.
    pub version: String,
}

/// A validated registration.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Registration {
    /// The person.
    pub person: Person,
    /// The document.
    pub document: Document,
    /// Household-registration address.
    pub household_address: String,
    /// Dwelling.
    pub dwelling: Dwelling,
    /// Move-in date, `YYYY-MM-DD`.
    pub moved_in: String,
    /// Expected end of stay, `YYYY-MM-DD`.
    pub expected_stay_until: Option<String>,
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
    pub code_versions: Vec<CodeVersion>,
}

/// One identity number a person holds or held.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RegistrationStatus {
    /// Current residence.
    Active,
    /// Closed: the person moved on.
    Closed,
}

/// A stored registration.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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

/// What `register` returns.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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
    /// Watchlist alerts this registration raised ("possible match: verify"); also passed to
    /// the alert listener.
    pub alerts: Vec<crate::WatchlistAlert>,
}

/// Everything a person's own record holds, for a subject-access export.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PersonExport {
    /// The person with identifiers and current registration.
    pub person: PersonRecord,
    /// Every registration, newest first.
    pub registrations: Vec<RegistrationRecord>,
    /// Every permit with its full event log.
    pub permits: Vec<PermitRecord>,
}

/// What kind of document an identity number belongs to, told by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum IdKind {
    /// Resident identity card of a mainland citizen (居民身份证).
    Mainland,
    /// Residence permit for Hong Kong residents (prefix 810000).
    HongKongResidencePermit,
    /// Residence permit for Macau residents (prefix 820000).
    MacauResidencePermit,
    /// Residence permit for Taiwan residents (prefix 830000).
    TaiwanResidencePermit,
    /// Foreigner's permanent residence ID card (外国人永久居留身份证).
    ForeignPermanentResident,
}

/// Sex as encoded in an identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum IdSex {
    /// Odd sequence code.
    Male,
    /// Even sequence code.
    Female,
}

/// Something worth telling about a number that is valid all the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum IdWarning {
    /// The address code is in no GB/T 2260 revision this build knows (1980 to April 2019).
    UnknownRegion,
    /// The address code was abolished; the number stays valid for life.
    RegionAbolished {
        /// Its last year in force.
        last_year: u16,
    },
    /// A fifteen-digit number was upgraded to eighteen characters.
    UpgradedFromLegacy,
}

/// A GB/T 2260 region.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Region {
    /// Six-digit code.
    pub code: String,
    /// Province-level name.
    pub province: Option<String>,
    /// Prefecture-level name.
    pub prefecture: Option<String>,
    /// County-level name.
    pub county: Option<String>,
    /// First year the code was in force.
    pub first_year: u16,
    /// Last year in force, if abolished.
    pub last_year: Option<u16>,
}

/// A valid identity number and what it encodes.
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
        let input = input.into();
        self.shared
            .call(|core| core.register(&input))
            .map(Into::into)
    }

    /// Records a new identity number for a known person; earlier numbers still find them.
    pub fn add_identifier(
        &self,
        person_id: String,
        document: DocumentInput,
    ) -> Result<Identifier, LgtError> {
        let document = document.into();
        self.shared
            .call(|core| core.add_identifier(&person_id, &document))
            .map(Into::into)
    }

    /// Persons holding or having held a document number; 15-digit numbers find their
    /// 18-digit upgrade. Audited.
    pub fn find_by_document_number(&self, number: String) -> Result<Vec<PersonRecord>, LgtError> {
        self.shared
            .call(|core| core.find_by_document_number(&number))
            .map(convert_all)
    }

    /// Persons with this current or former name (exact after normalisation). Audited.
    pub fn find_by_name(&self, name: String) -> Result<Vec<PersonRecord>, LgtError> {
        self.shared
            .call(|core| core.find_by_name(&name))
            .map(convert_all)
    }

    /// Everything stored about one person, for the person's own request. Audited.
    pub fn export_person(&self, person_id: String) -> Result<PersonExport, LgtError> {
        self.shared
            .call(|core| core.export_person(&person_id))
            .map(Into::into)
    }

    /// Parses and validates an identity number as typed or scanned, as of the store's today.
    /// Never stores or logs it.
    pub fn check_id_number(&self, input: String) -> Result<IdNumberInfo, LgtError> {
        let today = self.shared.today();
        crate::shared::guarded(|| Ok(lgt_core::identity::parse(&input, today)?)).map(Into::into)
    }
}

pub(crate) fn convert_all<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(Into::into).collect()
}

impl From<RegistrationInput> for core::RegistrationInput {
    fn from(i: RegistrationInput) -> Self {
        Self {
            person: core::PersonInput {
                name: i.person.name,
                former_name: i.person.former_name,
                sex: i.person.sex,
                ethnicity: i.person.ethnicity,
                birth_date: i.person.birth_date,
            },
            document: i.document.into(),
            household_address: i.household_address,
            dwelling: i.dwelling.into(),
            moved_in: i.moved_in,
            expected_stay_until: i.expected_stay_until,
            reason_for_stay: i.reason_for_stay,
            occupation: i.occupation,
            employer: i.employer.map(Into::into),
            landlord: i.landlord.map(Into::into),
            householder: i.householder.map(Into::into),
            contact_phone: i.contact_phone,
        }
    }
}

impl From<DocumentInput> for core::DocumentInput {
    fn from(d: DocumentInput) -> Self {
        Self {
            doc_type: d.doc_type,
            number: d.number,
        }
    }
}

impl From<Dwelling> for core::Dwelling {
    fn from(d: Dwelling) -> Self {
        Self {
            house_code: d.house_code,
            address: d.address,
            housing_type: d.housing_type,
        }
    }
}

impl From<core::Dwelling> for Dwelling {
    fn from(d: core::Dwelling) -> Self {
        Self {
            house_code: d.house_code,
            address: d.address,
            housing_type: d.housing_type,
        }
    }
}

impl From<Employer> for core::Employer {
    fn from(e: Employer) -> Self {
        Self {
            name: e.name,
            credit_code: e.credit_code,
        }
    }
}

impl From<core::Employer> for Employer {
    fn from(e: core::Employer) -> Self {
        Self {
            name: e.name,
            credit_code: e.credit_code,
        }
    }
}

impl From<Contact> for core::Contact {
    fn from(c: Contact) -> Self {
        Self {
            name: c.name,
            phone: c.phone,
        }
    }
}

impl From<core::Contact> for Contact {
    fn from(c: core::Contact) -> Self {
        Self {
            name: c.name,
            phone: c.phone,
        }
    }
}

impl From<Householder> for core::Householder {
    fn from(h: Householder) -> Self {
        Self {
            name: h.name,
            relation: h.relation,
        }
    }
}

impl From<core::Householder> for Householder {
    fn from(h: core::Householder) -> Self {
        Self {
            name: h.name,
            relation: h.relation,
        }
    }
}

impl From<core::Person> for Person {
    fn from(p: core::Person) -> Self {
        Self {
            name: p.name,
            former_name: p.former_name,
            sex: p.sex,
            ethnicity: p.ethnicity,
            birth_date: p.birth_date.to_string(),
        }
    }
}

impl From<core::Document> for Document {
    fn from(d: core::Document) -> Self {
        Self {
            doc_type: d.doc_type,
            number: d.number,
            legacy_number: d.legacy_number,
            id_kind: d.id_kind.map(Into::into),
        }
    }
}

impl From<core::Registration> for Registration {
    fn from(r: core::Registration) -> Self {
        Self {
            person: r.person.into(),
            document: r.document.into(),
            household_address: r.household_address,
            dwelling: r.dwelling.into(),
            moved_in: r.moved_in.to_string(),
            expected_stay_until: r.expected_stay_until.map(|d| d.to_string()),
            reason_for_stay: r.reason_for_stay,
            occupation: r.occupation,
            employer: r.employer.map(Into::into),
            landlord: r.landlord.map(Into::into),
            householder: r.householder.map(Into::into),
            contact_phone: r.contact_phone,
            code_versions: r
                .code_versions
                .into_iter()
                .map(|(table, version)| CodeVersion {
                    table: table.into(),
                    version,
                })
                .collect(),
        }
    }
}

impl From<core::Identifier> for Identifier {
    fn from(i: core::Identifier) -> Self {
        Self {
            id: i.id,
            document: i.document.into(),
            recorded_at: i.recorded_at,
            superseded_at: i.superseded_at,
        }
    }
}

impl From<core::RegistrationRecord> for RegistrationRecord {
    fn from(r: core::RegistrationRecord) -> Self {
        Self {
            id: r.id,
            person_id: r.person_id,
            status: match r.status {
                core::RegistrationStatus::Active => RegistrationStatus::Active,
                core::RegistrationStatus::Closed => RegistrationStatus::Closed,
            },
            created_at: r.created_at,
            closed_at: r.closed_at,
            registration: r.registration.into(),
        }
    }
}

impl From<core::PersonRecord> for PersonRecord {
    fn from(p: core::PersonRecord) -> Self {
        Self {
            person_id: p.person_id,
            person: p.person.into(),
            identifiers: convert_all(p.identifiers),
            current_registration: p.current_registration.map(Into::into),
        }
    }
}

impl From<core::RegistrationReceipt> for RegistrationReceipt {
    fn from(r: core::RegistrationReceipt) -> Self {
        Self {
            person_id: r.person_id,
            new_person: r.new_person,
            registration_id: r.registration_id,
            closed_registration_id: r.closed_registration_id,
            operation_id: r.operation_id,
            warnings: r.warnings,
            alerts: convert_all(r.alerts),
        }
    }
}

impl From<lgt_core::PersonExport> for PersonExport {
    fn from(e: lgt_core::PersonExport) -> Self {
        Self {
            person: e.person.into(),
            registrations: convert_all(e.registrations),
            permits: convert_all(e.permits),
        }
    }
}

impl From<lgt_core::identity::IdKind> for IdKind {
    fn from(k: lgt_core::identity::IdKind) -> Self {
        use lgt_core::identity::IdKind as K;
        match k {
            K::Mainland => Self::Mainland,
            K::HongKongResidencePermit => Self::HongKongResidencePermit,
            K::MacauResidencePermit => Self::MacauResidencePermit,
            K::TaiwanResidencePermit => Self::TaiwanResidencePermit,
            K::ForeignPermanentResident => Self::ForeignPermanentResident,
        }
    }
}

impl From<lgt_core::identity::IdNumber> for IdNumberInfo {
    fn from(id: lgt_core::identity::IdNumber) -> Self {
        use lgt_core::identity::{IdSex as S, IdWarning as W};
        Self {
            number: id.as_str().to_owned(),
            legacy_number: id.legacy().map(str::to_owned),
            kind: id.kind().into(),
            birth_date: id.birth_date().to_string(),
            sex: match id.sex() {
                S::Male => IdSex::Male,
                S::Female => IdSex::Female,
            },
            region: id.region().map(|r| Region {
                code: r.code,
                province: r.province,
                prefecture: r.prefecture,
                county: r.county,
                first_year: r.first_year,
                last_year: r.last_year,
            }),
            warnings: id
                .warnings()
                .iter()
                .map(|w| match *w {
                    W::UnknownRegion => IdWarning::UnknownRegion,
                    W::RegionAbolished { last_year } => IdWarning::RegionAbolished { last_year },
                    W::UpgradedFromLegacy => IdWarning::UpgradedFromLegacy,
                })
                .collect(),
        }
    }
}
