//! Validation of registrations, with one clear error per field at fault.
//!
//! Messages name the field and the rule, never the value: they end up in logs and on
//! screens that are photographed.

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

use super::model::*;
use crate::codes::{self, CodeTableId};
use crate::identity::{self, IdSex};

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputIssue {
    /// Path of the field, e.g. `person.name`.
    pub field: String,
    /// Stable machine code, e.g. `required`, `unknown_code`, `id.check_digit`.
    pub code: &'static str,
    /// Human explanation without the value.
    pub message: String,
}

/// Every field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("invalid registration: {}", summary(.0))]
pub struct ValidationErrors(pub Vec<InputIssue>);

fn summary(errors: &[InputIssue]) -> String {
    errors
        .iter()
        .map(|e| format!("{} {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

const MAX_NAME_CHARS: usize = 64;
const MAX_TEXT_CHARS: usize = 200;

/// A house code (门牌/房屋编码) as stored: trimmed, upper-cased, 1 to 64 ASCII letters, digits or
/// '-'; `None` if it is not one. Shared by the registration validator and the door-plate scan.
pub fn normalise_house_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    let valid = !code.is_empty()
        && code.len() <= 64
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then_some(code)
}

pub use lgt_common::registration::normalise_name;

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn normalise_text(raw: &str) -> String {
    collapse_spaces(&raw.nfkc().collect::<String>())
}

struct Checker {
    errors: Vec<InputIssue>,
    today: NaiveDate,
}

impl Checker {
    fn fail(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.errors.push(InputIssue {
            field: field.to_owned(),
            code,
            message: message.into(),
        });
    }

    fn name(&mut self, field: &str, raw: &str) -> String {
        let name = normalise_name(raw);
        let length = name.chars().count();
        if length == 0 {
            self.fail(field, "required", "is required");
        } else if length > MAX_NAME_CHARS {
            self.fail(
                field,
                "too_long",
                format!("is longer than {MAX_NAME_CHARS} characters"),
            );
        } else if !name
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '·' | '-' | '\''))
        {
            self.fail(
                field,
                "invalid_character",
                "may hold only letters, spaces, '·', '-' and apostrophes",
            );
        }
        name
    }

    fn text(&mut self, field: &str, raw: &str) -> String {
        let text = normalise_text(raw);
        let length = text.chars().count();
        if length == 0 {
            self.fail(field, "required", "is required");
        } else if length > MAX_TEXT_CHARS {
            self.fail(
                field,
                "too_long",
                format!("is longer than {MAX_TEXT_CHARS} characters"),
            );
        } else if text.chars().any(char::is_control) {
            self.fail(field, "invalid_character", "holds control characters");
        }
        text
    }

    fn code(&mut self, field: &str, table: CodeTableId, raw: &str) -> String {
        let code = raw.trim().to_owned();
        if code.is_empty() {
            self.fail(field, "required", "is required");
        } else if !codes::table(table).contains(&code) {
            self.fail(
                field,
                "unknown_code",
                format!("is not a code of the {} table", table_name(table)),
            );
        }
        code
    }

    fn date(&mut self, field: &str, raw: &str) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
            Ok(date) if date > self.today => {
                self.fail(field, "in_future", "is in the future");
                None
            }
            Ok(date) => Some(date),
            Err(_) => {
                self.fail(
                    field,
                    "invalid_date",
                    "is not a real date in the form YYYY-MM-DD",
                );
                None
            }
        }
    }

    fn phone(&mut self, field: &str, raw: &str) -> String {
        let phone: String = raw
            .nfkc()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = phone.strip_prefix('+').unwrap_or(&phone);
        let plausible = (5..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !(digits.len() == 11 && digits.starts_with('1') && digits[1..2] < *"3");
        if !plausible {
            self.fail(field, "invalid_phone", "is not a plausible phone number");
        }
        phone
    }
}

fn table_name(table: CodeTableId) -> String {
    serde_json::to_value(table)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Normalises a passport, travel-permit or other document number (NFKC, no spaces, upper
/// case); `None` unless it is 3 to 32 ASCII letters, digits or '-'.
pub fn normalise_document_number(raw: &str) -> Option<String> {
    let number: String = raw
        .nfkc()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = (3..=32).contains(&number.len())
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then_some(number)
}

/// Unified social credit code (GB 32100-2015): 18 characters over a 31-letter alphabet,
/// the last a MOD 31 check.
pub fn is_valid_credit_code(code: &str) -> bool {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let values: Option<Vec<u32>> = code
        .chars()
        .map(|c| ALPHABET.find(c).map(|i| i as u32))
        .collect();
    let Some(values) = values.filter(|v| v.len() == 18) else {
        return false;
    };
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31 == values[17]
}

/// Validates `input` as of `today`. Returns the normalised registration and non-fatal
/// warnings, or every field at fault.
pub fn validate(
    input: &RegistrationInput,
    today: NaiveDate,
) -> Result<(Registration, Vec<String>), ValidationErrors> {
    let mut c = Checker {
        errors: Vec::new(),
        today,
    };
    let mut warnings = Vec::new();

    let name = c.name("person.name", &input.person.name);
    let former_name = input
        .person
        .former_name
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| c.name("person.former_name", s));
    let sex = c.code("person.sex", CodeTableId::Sex, &input.person.sex);
    let ethnicity = c.code(
        "person.ethnicity",
        CodeTableId::Ethnicity,
        &input.person.ethnicity,
    );
    let entered_birth = input
        .person
        .birth_date
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| c.date("person.birth_date", s));

    let doc_type = c.code(
        "document.type",
        CodeTableId::DocumentType,
        &input.document.doc_type,
    );
    let (document, birth_date) = if doc_type == "1" {
        match identity::parse(&input.document.number, today) {
            Ok(id) => {
                let agrees = matches!(
                    (sex.as_str(), id.sex()),
                    ("1", IdSex::Male) | ("2", IdSex::Female)
                );
                if !agrees {
                    c.fail(
                        "person.sex",
                        "mismatch",
                        "does not agree with the identity number",
                    );
                }
                if entered_birth.is_some_and(|d| d != id.birth_date()) {
                    c.fail(
                        "person.birth_date",
                        "mismatch",
                        "does not agree with the identity number",
                    );
                }
                warnings.extend(
                    id.warnings()
                        .iter()
                        .map(|w| format!("document.number: {w}")),
                );
                let document = Document {
                    doc_type: doc_type.clone(),
                    number: id.as_str().to_owned(),
                    legacy_number: id.legacy().map(str::to_owned),
                    id_kind: Some(id.kind()),
                };
                (document, Some(id.birth_date()))
            }
            Err(e) => {
                c.fail("document.number", e.code(), e.to_string());
                (empty_document(&doc_type), entered_birth)
            }
        }
    } else {
        let number = normalise_document_number(&input.document.number).unwrap_or_else(|| {
            c.fail(
                "document.number",
                "invalid_document_number",
                "must be 3 to 32 letters, digits or '-'",
            );
            String::new()
        });
        if input
            .person
            .birth_date
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            c.fail(
                "person.birth_date",
                "required",
                "is required for this document type",
            );
        }
        let document = Document {
            doc_type: doc_type.clone(),
            number,
            legacy_number: None,
            id_kind: None,
        };
        (document, entered_birth)
    };

    let household_address = c.text("household_address", &input.household_address);
    let dwelling = Dwelling {
        house_code: match normalise_house_code(&input.dwelling.house_code) {
            Some(code) => code,
            None => {
                c.fail(
                    "dwelling.house_code",
                    "invalid_house_code",
                    "must be 1 to 64 letters, digits or '-'",
                );
                input.dwelling.house_code.trim().to_ascii_uppercase()
            }
        },
        address: c.text("dwelling.address", &input.dwelling.address),
        housing_type: c.code(
            "dwelling.housing_type",
            CodeTableId::HousingType,
            &input.dwelling.housing_type,
        ),
    };
    let moved_in = c.date("moved_in", &input.moved_in);
    if let (Some(moved), Some(born)) = (moved_in, birth_date) {
        if moved < born {
            c.fail("moved_in", "before_birth", "is before the birth date");
        }
    }
    let expected_stay_until = input
        .expected_stay_until
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(
            |raw| match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    c.fail(
                        "expected_stay_until",
                        "invalid_date",
                        "is not a real date in the form YYYY-MM-DD",
                    );
                    None
                }
            },
        );
    if let (Some(until), Some(moved)) = (expected_stay_until, moved_in) {
        if until < moved {
            c.fail(
                "expected_stay_until",
                "before_move_in",
                "is before the move-in date",
            );
        }
    }
    let reason_for_stay = c.code(
        "reason_for_stay",
        CodeTableId::ReasonForStay,
        &input.reason_for_stay,
    );
    let occupation = c.code("occupation", CodeTableId::Occupation, &input.occupation);
    let employer = input.employer.as_ref().map(|e| Employer {
        name: c.text("employer.name", &e.name),
        credit_code: e
            .credit_code
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|raw| {
                let code = raw.trim().to_ascii_uppercase();
                if !is_valid_credit_code(&code) {
                    c.fail(
                        "employer.credit_code",
                        "invalid_credit_code",
                        "is not a valid unified social credit code",
                    );
                }
                code
            }),
    });
    let landlord = input.landlord.as_ref().map(|l| Contact {
        name: c.name("landlord.name", &l.name),
        phone: c.phone("landlord.phone", &l.phone),
    });
    let householder = input.householder.as_ref().map(|h| Householder {
        name: c.name("householder.name", &h.name),
        relation: c.code("householder.relation", CodeTableId::Relation, &h.relation),
    });
    let contact_phone = input
        .contact_phone
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|p| c.phone("contact_phone", p));

    match (c.errors.is_empty(), birth_date, moved_in) {
        (true, Some(birth_date), Some(moved_in)) => Ok((
            Registration {
                person: Person {
                    name,
                    former_name,
                    sex,
                    ethnicity,
                    birth_date,
                },
                document,
                household_address,
                dwelling,
                moved_in,
                expected_stay_until,
                reason_for_stay,
                occupation,
                employer,
                landlord,
                householder,
                contact_phone,
                code_versions: codes::versions(),
            },
            warnings,
        )),
        _ => {
            if c.errors.is_empty() {
                c.fail("person.birth_date", "required", "is required");
            }
            Err(ValidationErrors(c.errors))
        }
    }
}

fn empty_document(doc_type: &str) -> Document {
    Document {
        doc_type: doc_type.to_owned(),
        number: String::new(),
        legacy_number: None,
        id_kind: None,
    }
}

#[cfg(test)]
mod tests;
