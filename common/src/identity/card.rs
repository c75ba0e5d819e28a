//! The second input path: fields decoded from an ID card's chip by a built-in reader.
//!
//! The chip of the resident identity card can only be read through a reader with the Ministry's
//! security module; handhelds that have one hand the decoded fields over as text. Those fields
//! are validated like a typed number, and cross-checked: the printed sex and birth date must
//! agree with the number.

use std::fmt;

use chrono::NaiveDate;
use serde::Deserialize;

use super::error::IdError;
use super::number::{IdNumber, IdSex};

/// The fields of an ID card as decoded by a chip reader, as text.
///
/// Every field is optional when deserialising (missing fields are empty strings), so that
/// [`validate_card`] can name the missing one. Fields are trimmed before use (chips pad them
/// with spaces). `Debug` shows no field values.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CardReading {
    /// Name (姓名), required.
    pub name: String,
    /// Sex as printed or encoded: `男` / `女`, or the GB/T 2261.1 codes `1` / `2`.
    pub sex: String,
    /// Ethnicity (民族) as printed, for example `汉`; kept as given, not checked.
    pub ethnicity: String,
    /// Birth date, `YYYYMMDD` or `YYYY-MM-DD` (`YYYY.MM.DD` is accepted too).
    pub birth_date: String,
    /// Household-registration address (住址); kept as given, not checked.
    pub address: String,
    /// The identity number, validated with [`parse`](super::parse).
    pub id_number: String,
    /// Issuing authority (签发机关); kept as given, not checked.
    pub issuing_authority: String,
    /// First day of validity, in the same formats as `birth_date`.
    pub valid_from: String,
    /// Last day of validity, in the same formats as `birth_date`, or `长期` (long-term).
    pub valid_until: String,
}

impl fmt::Debug for CardReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardReading").finish_non_exhaustive()
    }
}

/// End of a card's validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardValidity {
    /// Valid up to and including this date.
    Until(NaiveDate),
    /// Valid without end (长期), as for cards issued to people aged 46 or over.
    LongTerm,
}

/// A card reading whose fields are consistent with its identity number.
///
/// An expired card is still a valid reading (the person and the number are real): see
/// [`ValidatedCard::expired`]. `Debug` shows only whether the card is expired.
#[derive(Clone, PartialEq, Eq)]
pub struct ValidatedCard {
    /// The parsed identity number.
    pub id: IdNumber,
    /// Name, trimmed, not empty.
    pub name: String,
    /// Sex, agreeing with the number.
    pub sex: IdSex,
    /// Ethnicity as printed, trimmed (may be empty).
    pub ethnicity: String,
    /// Birth date, agreeing with the number.
    pub birth_date: NaiveDate,
    /// Address as printed, trimmed (may be empty).
    pub address: String,
    /// Issuing authority as printed, trimmed (may be empty).
    pub issuing_authority: String,
    /// First day of validity.
    pub valid_from: NaiveDate,
    /// End of validity.
    pub valid_until: CardValidity,
    /// The last day of validity is before the `today` given to [`validate_card`].
    pub expired: bool,
    /// The first day of validity is after the `today` given to [`validate_card`] (a wrong
    /// clock on the handheld, or a suspect card).
    pub not_yet_valid: bool,
}

impl fmt::Debug for ValidatedCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedCard")
            .field("expired", &self.expired)
            .field("not_yet_valid", &self.not_yet_valid)
            .finish_non_exhaustive()
    }
}

/// Why a card reading was rejected. Names the field at fault, never its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum CardError {
    /// The identity number itself is invalid.
    #[error("the card's identity number is invalid: {0}")]
    Id(#[from] IdError),
    /// A required field is empty.
    #[error("the card's {field} field is empty")]
    Missing {
        /// Name of the [`CardReading`] field, for example `"name"`.
        field: &'static str,
    },
    /// A field could not be read (not a date, unknown sex code, validity ending before it
    /// starts).
    #[error("the card's {field} field could not be read")]
    Invalid {
        /// Name of the [`CardReading`] field, for example `"valid_until"`.
        field: &'static str,
    },
    /// A field disagrees with what the identity number encodes (`"sex"` or `"birth_date"`).
    #[error("the card's {field} field does not agree with its identity number")]
    Mismatch {
        /// Name of the [`CardReading`] field.
        field: &'static str,
    },
}

impl CardError {
    /// A stable, dotted key for this error; for [`CardError::Id`], that of the [`IdError`]
    /// (for example `"id.check_digit"`).
    pub fn code(&self) -> &'static str {
        match self {
            CardError::Id(error) => error.code(),
            CardError::Missing { .. } => "card.missing",
            CardError::Invalid { .. } => "card.invalid",
            CardError::Mismatch { .. } => "card.mismatch",
        }
    }

    /// The [`CardReading`] field at fault (`"id_number"` for [`CardError::Id`]).
    pub fn field(&self) -> &'static str {
        match self {
            CardError::Id(_) => "id_number",
            CardError::Missing { field }
            | CardError::Invalid { field }
            | CardError::Mismatch { field } => field,
        }
    }
}

/// Validates the fields handed over by a chip reader.
///
/// Parses the number with [`parse`](super::parse) (`today` bounds its birth date), requires a
/// name, checks that the sex and birth date agree with the number, and reads the validity
/// dates. An expired card is not an error: see [`ValidatedCard::expired`].
///
/// Fields are checked in this order: `id_number`, `name`, `sex`, `birth_date`, `valid_from`,
/// `valid_until`; the first problem is returned.
///
/// # Errors
///
/// [`CardError::Id`] if the number is invalid, otherwise the [`CardError`] naming the first
/// field at fault. No message contains a field's value.
pub fn validate_card(reading: &CardReading, today: NaiveDate) -> Result<ValidatedCard, CardError> {
    let number = reading.id_number.trim();
    if number.is_empty() {
        return Err(CardError::Missing { field: "id_number" });
    }
    let id = super::parse(number, today)?;

    let name = required(&reading.name, "name")?;

    let sex = match required(&reading.sex, "sex")? {
        "男" | "1" => IdSex::Male,
        "女" | "2" => IdSex::Female,
        _ => return Err(CardError::Invalid { field: "sex" }),
    };
    if sex != id.sex() {
        return Err(CardError::Mismatch { field: "sex" });
    }

    let birth_date =
        parse_date(required(&reading.birth_date, "birth_date")?).ok_or(CardError::Invalid {
            field: "birth_date",
        })?;
    if birth_date != id.birth_date() {
        return Err(CardError::Mismatch {
            field: "birth_date",
        });
    }

    let valid_from =
        parse_date(required(&reading.valid_from, "valid_from")?).ok_or(CardError::Invalid {
            field: "valid_from",
        })?;
    let valid_until = match required(&reading.valid_until, "valid_until")? {
        "长期" => CardValidity::LongTerm,
        text => {
            let until = parse_date(text).ok_or(CardError::Invalid {
                field: "valid_until",
            })?;
            if until < valid_from {
                return Err(CardError::Invalid {
                    field: "valid_until",
                });
            }
            CardValidity::Until(until)
        }
    };
    let expired = matches!(valid_until, CardValidity::Until(until) if until < today);

    Ok(ValidatedCard {
        id,
        name: name.to_owned(),
        sex,
        ethnicity: reading.ethnicity.trim().to_owned(),
        birth_date,
        address: reading.address.trim().to_owned(),
        issuing_authority: reading.issuing_authority.trim().to_owned(),
        valid_from,
        valid_until,
        expired,
        not_yet_valid: valid_from > today,
    })
}

/// The trimmed field, or [`CardError::Missing`] if that is empty.
fn required<'a>(value: &'a str, field: &'static str) -> Result<&'a str, CardError> {
    match value.trim() {
        "" => Err(CardError::Missing { field }),
        trimmed => Ok(trimmed),
    }
}

/// Reads `YYYYMMDD`, `YYYY-MM-DD` or `YYYY.MM.DD` (ASCII digits only).
fn parse_date(text: &str) -> Option<NaiveDate> {
    let digits: [u8; 8] = match *text.as_bytes() {
        [a, b, c, d, e, f, g, h] => [a, b, c, d, e, f, g, h],
        [a, b, c, d, s1, e, f, s2, g, h] if s1 == s2 && (s1 == b'-' || s1 == b'.') => {
            [a, b, c, d, e, f, g, h]
        }
        _ => return None,
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = |run: &[u8]| {
        run.iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    let (year, rest) = digits.split_at(4);
    let (month, day) = rest.split_at(2);
    NaiveDate::from_ymd_opt(i32::try_from(value(year)).ok()?, value(month), value(day))
}
