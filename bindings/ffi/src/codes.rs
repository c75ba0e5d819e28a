//! Code tables, for the pickers of the registration form. Static data: no store needed.

use lgt_core::codes as core;

/// The code tables the core knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CodeTableId {
    /// Sex, GB/T 2261.1.
    Sex,
    /// Ethnicity, GB/T 3304.
    Ethnicity,
    /// Occupation.
    Occupation,
    /// Reason for stay.
    ReasonForStay,
    /// Identity document type.
    DocumentType,
    /// Housing type of the dwelling.
    HousingType,
    /// Relation to the householder, GB/T 4761.
    Relation,
    /// Reason a residence permit was cancelled, GA/T 2000.25.
    CancellationReason,
}

/// One code and its labels.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CodeEntry {
    /// The code as stored and exchanged.
    pub code: String,
    /// Chinese label.
    pub zh: String,
    /// English label.
    pub en: String,
    /// False where the entry awaits checking against the published standard.
    pub verified: bool,
}

/// A versioned code table.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CodeTable {
    /// Which table.
    pub id: CodeTableId,
    /// The table's version.
    pub version: String,
    /// Where the codes come from.
    pub source: String,
    /// The codes in file order.
    pub entries: Vec<CodeEntry>,
}

/// The current version of one code table.
#[uniffi::export]
pub fn code_table(id: CodeTableId) -> CodeTable {
    let table = core::table(id.into());
    CodeTable {
        id,
        version: table.version.clone(),
        source: table.source.clone(),
        entries: table
            .entries
            .iter()
            .map(|e| CodeEntry {
                code: e.code.clone(),
                zh: e.zh.clone(),
                en: e.en.clone(),
                verified: e.verified,
            })
            .collect(),
    }
}

impl From<CodeTableId> for core::CodeTableId {
    fn from(id: CodeTableId) -> Self {
        match id {
            CodeTableId::Sex => Self::Sex,
            CodeTableId::Ethnicity => Self::Ethnicity,
            CodeTableId::Occupation => Self::Occupation,
            CodeTableId::ReasonForStay => Self::ReasonForStay,
            CodeTableId::DocumentType => Self::DocumentType,
            CodeTableId::HousingType => Self::HousingType,
            CodeTableId::Relation => Self::Relation,
            CodeTableId::CancellationReason => Self::CancellationReason,
        }
    }
}

impl From<core::CodeTableId> for CodeTableId {
    fn from(id: core::CodeTableId) -> Self {
        use core::CodeTableId as C;
        match id {
            C::Sex => Self::Sex,
            C::Ethnicity => Self::Ethnicity,
            C::Occupation => Self::Occupation,
            C::ReasonForStay => Self::ReasonForStay,
            C::DocumentType => Self::DocumentType,
            C::HousingType => Self::HousingType,
            C::Relation => Self::Relation,
            C::CancellationReason => Self::CancellationReason,
        }
    }
}
