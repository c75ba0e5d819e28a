//! Code tables (reason for stay, occupation, ethnicity, cancellation reasons, ...).
//!
//! The tables are versioned data, not Rust enums: each is a TSV file under `data/` with its
//! version and source in the header, embedded at build time. A registration records the
//! versions it was validated against (see [`versions`]), so a later table update never
//! reinterprets old records silently.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The code tables the core knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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

impl CodeTableId {
    /// Every table, in a stable order.
    pub const ALL: [CodeTableId; 8] = [
        Self::Sex,
        Self::Ethnicity,
        Self::Occupation,
        Self::ReasonForStay,
        Self::DocumentType,
        Self::HousingType,
        Self::Relation,
        Self::CancellationReason,
    ];

    fn source(self) -> &'static str {
        match self {
            Self::Sex => include_str!("data/sex.tsv"),
            Self::Ethnicity => include_str!("data/ethnicity.tsv"),
            Self::Occupation => include_str!("data/occupation.tsv"),
            Self::ReasonForStay => include_str!("data/reason_for_stay.tsv"),
            Self::DocumentType => include_str!("data/document_type.tsv"),
            Self::HousingType => include_str!("data/housing_type.tsv"),
            Self::Relation => include_str!("data/relation.tsv"),
            Self::CancellationReason => include_str!("data/cancellation_reason.tsv"),
        }
    }
}

/// One code and its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CodeEntry {
    /// The code as stored and exchanged.
    pub code: String,
    /// Chinese label.
    pub zh: String,
    /// English label.
    pub en: String,
    /// False where the entry was transcribed from a secondary source and awaits checking.
    pub verified: bool,
}

/// A versioned code table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CodeTable {
    /// Which table this is.
    pub id: CodeTableId,
    /// The table's version (a standard's edition or a local release).
    pub version: String,
    /// Where the codes come from.
    pub source: String,
    /// The codes in file order.
    pub entries: Vec<CodeEntry>,
}

impl CodeTable {
    /// The entry for `code`, if the table has it.
    pub fn get(&self, code: &str) -> Option<&CodeEntry> {
        self.entries.iter().find(|e| e.code == code)
    }

    /// Whether `code` is in the table.
    pub fn contains(&self, code: &str) -> bool {
        self.get(code).is_some()
    }
}

fn parse(id: CodeTableId) -> CodeTable {
    let mut table = CodeTable {
        id,
        version: String::new(),
        source: String::new(),
        entries: Vec::new(),
    };
    for line in id.source().lines().filter(|l| !l.trim().is_empty()) {
        if let Some(header) = line.strip_prefix("# ") {
            if let Some(v) = header.strip_prefix("version: ") {
                table.version = v.to_owned();
            } else if let Some(s) = header.strip_prefix("source: ") {
                table.source = s.to_owned();
            }
            continue;
        }
        let mut fields = line.split('\t');
        let (Some(code), Some(zh), Some(en)) = (fields.next(), fields.next(), fields.next()) else {
            continue; // malformed lines are caught by the tests below
        };
        table.entries.push(CodeEntry {
            code: code.to_owned(),
            zh: zh.to_owned(),
            en: en.to_owned(),
            verified: fields.next() != Some("unverified"),
        });
    }
    table
}

static TABLES: LazyLock<Vec<CodeTable>> =
    LazyLock::new(|| CodeTableId::ALL.iter().map(|&id| parse(id)).collect());

/// The current version of table `id`.
pub fn table(id: CodeTableId) -> &'static CodeTable {
    let index = CodeTableId::ALL
        .iter()
        .position(|&t| t == id)
        .unwrap_or_default();
    &TABLES[index]
}

/// The version of every table, as recorded on each registration.
pub fn versions() -> BTreeMap<CodeTableId, String> {
    CodeTableId::ALL
        .iter()
        .map(|&id| (id, table(id).version.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_table_parses_completely_with_unique_codes() {
        for id in CodeTableId::ALL {
            let t = table(id);
            assert_eq!(t.id, id);
            assert!(!t.version.is_empty(), "{id:?} has no version");
            assert!(!t.source.is_empty(), "{id:?} has no source");
            let data_lines = id
                .source()
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .count();
            assert_eq!(t.entries.len(), data_lines, "{id:?} has a malformed line");
            let codes: HashSet<_> = t.entries.iter().map(|e| &e.code).collect();
            assert_eq!(codes.len(), t.entries.len(), "{id:?} repeats a code");
        }
    }

    #[test]
    fn tables_hold_the_facts_of_the_brief() {
        assert_eq!(table(CodeTableId::ReasonForStay).entries.len(), 14);
        assert_eq!(table(CodeTableId::Occupation).entries.len(), 13);
        assert_eq!(table(CodeTableId::Ethnicity).entries.len(), 58);
        assert_eq!(
            table(CodeTableId::ReasonForStay).get("1").unwrap().zh,
            "务工"
        );
        assert_eq!(
            table(CodeTableId::Occupation).get("12").unwrap().en,
            "retired"
        );
        let death = table(CodeTableId::CancellationReason).get("1").unwrap();
        assert!(death.verified);
        assert!(
            !table(CodeTableId::CancellationReason)
                .get("5")
                .unwrap()
                .verified
        );
        assert!(!table(CodeTableId::Sex).contains("3"));
    }

    #[test]
    fn versions_cover_every_table() {
        assert_eq!(versions().len(), CodeTableId::ALL.len());
    }
}
