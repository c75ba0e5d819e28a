//! Parsing and validating citizen identity numbers (公民身份号码, GB 11643-1999).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::error::IdError;
use super::region::{self, Region, HONG_KONG_CODE, MACAU_CODE, TAIWAN_PERMIT_CODE};

/// Weights W_i of the MOD 11-2 check (GB 11643-1999 and ISO 7064).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of `sum(a_i * W_i) mod 11`.
const CHECK_CHARACTERS: [u8; 11] = *b"10X98765432";
/// Birth years before this are rejected as not a real birth date of a living person's number.
const EARLIEST_BIRTH_YEAR: i32 = 1800;

/// What kind of document the number belongs to, told by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum IdKind {
    /// Resident identity card of a mainland citizen (居民身份证): every other prefix.
    Mainland,
    /// Residence permit for Hong Kong residents (港澳台居民居住证, prefix 810000).
    HongKongResidencePermit,
    /// Residence permit for Macau residents (prefix 820000).
    MacauResidencePermit,
    /// Residence permit for Taiwan residents (prefix 830000).
    TaiwanResidencePermit,
    /// Foreigner's permanent residence ID card (外国人永久居留身份证, first digit 9, issued
    /// from 1 December 2023 in the 18-character format).
    ForeignPermanentResident,
}

/// Sex as encoded in the number: the parity of the sequence code (odd male, even female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum IdSex {
    /// Odd sequence code.
    Male,
    /// Even sequence code.
    Female,
}

/// Something worth telling the user about a number that is nevertheless valid.
///
/// Serialised with an internal tag: `{"type":"region_abolished","last_year":2010}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum IdWarning {
    /// The address code is in no revision of the GB/T 2260 history that this build knows
    /// (1980 to April 2019). Numbers are never rejected for this: the table is incomplete (codes
    /// created since 2019 are missing) and numbers keep their code for life.
    UnknownRegion,
    /// The address code was abolished; the number stays valid for life.
    RegionAbolished {
        /// Year the code was abolished (its last year in force).
        last_year: u16,
    },
    /// The number was given in the old fifteen-digit form and has been upgraded to eighteen
    /// characters; the original is kept in [`IdNumber::legacy`].
    UpgradedFromLegacy,
}

impl fmt::Display for IdWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdWarning::UnknownRegion => {
                f.write_str("the address code is not in the known GB/T 2260 tables")
            }
            IdWarning::RegionAbolished { last_year } => write!(
                f,
                "the address code was abolished in {last_year}; the number remains valid"
            ),
            IdWarning::UpgradedFromLegacy => {
                f.write_str("an old-style fifteen-digit number was upgraded to eighteen characters")
            }
        }
    }
}

impl IdWarning {
    /// A stable, dotted key for this warning (for example `"id.region_abolished"`).
    pub fn code(&self) -> &'static str {
        match self {
            IdWarning::UnknownRegion => "id.unknown_region",
            IdWarning::RegionAbolished { .. } => "id.region_abolished",
            IdWarning::UpgradedFromLegacy => "id.upgraded_from_legacy",
        }
    }
}

/// A valid identity number, in canonical eighteen-character form, with what it encodes.
///
/// Made only by [`parse`](super::parse). `Debug` shows the kind only, never the number.
/// Equality compares the whole parse result, including [`IdNumber::legacy`]; compare
/// [`IdNumber::as_str`] to ask whether two inputs denote the same number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    number: String,
    legacy: Option<String>,
    kind: IdKind,
    birth_date: NaiveDate,
    sex: IdSex,
    warnings: Vec<IdWarning>,
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdNumber")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl IdNumber {
    /// The canonical form: eighteen ASCII characters, seventeen digits and a check character
    /// that is a digit or an upper-case `X`.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// The original fifteen-digit number, when this one was upgraded from it. The upgrade
    /// assumes a birth in the 1900s, so it is wrong for people born in the 1800s: keep both.
    pub fn legacy(&self) -> Option<&str> {
        self.legacy.as_deref()
    }

    /// The kind of document, from the prefix.
    pub fn kind(&self) -> IdKind {
        self.kind
    }

    /// The birth date encoded in characters 7 to 14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The sex encoded by the parity of the sequence code (character 17): odd male, even
    /// female.
    pub fn sex(&self) -> IdSex {
        self.sex
    }

    /// The first six digits: the GB/T 2260 code of the county where the number was assigned
    /// (or the permit / foreigner prefix).
    pub fn region_code(&self) -> &str {
        self.number.get(..6).unwrap_or_default()
    }

    /// The region that the prefix names, from the GB/T 2260 history table.
    ///
    /// * Mainland: the entry of [`region_code`](Self::region_code) (`None` if unknown).
    /// * Hong Kong / Macau permits: the entries 810000 香港特别行政区 / 820000 澳门特别行政区.
    /// * Taiwan permits: the 830000 entry of [`region`](super::region) (province 台湾省).
    /// * Foreigners' permanent residence: digits 2-3 are read as the province of issue (a
    ///   layout that is not verified against the regulation) and the entry of that province
    ///   (`PP0000`) is returned, or `None` if there is none; digits 4-6 (nationality) are not
    ///   interpreted.
    pub fn region(&self) -> Option<Region> {
        let code = region::parse_code(self.region_code())?;
        match self.kind {
            IdKind::ForeignPermanentResident => {
                region::region_by_number(code % 100_000 / 1_000 * 10_000)
            }
            _ => region::region_by_number(code),
        }
    }

    /// Warnings about a number that is valid all the same (abolished or unknown address code,
    /// upgrade from fifteen digits).
    pub fn warnings(&self) -> &[IdWarning] {
        &self.warnings
    }
}

/// Normalises, validates and decodes an identity number. See [`parse`](super::parse).
pub(super) fn parse(input: &str, today: NaiveDate) -> Result<IdNumber, IdError> {
    let (buffer, length) = normalise(input)?;
    let (body, legacy) = match (length, buffer) {
        (18, buffer) => {
            let (body, check) = split_check(buffer);
            if check_character(&body) != check {
                return Err(IdError::CheckDigit);
            }
            (body, None)
        }
        (15, buffer) => {
            let legacy: [u8; 15] = first_n(buffer);
            (upgrade_body(legacy), Some(legacy))
        }
        (length, _) => return Err(IdError::WrongLength { length }),
    };
    let code: [u8; 6] = first_n(body);
    let prefix = digits_value(&code);
    let kind = match prefix {
        HONG_KONG_CODE => IdKind::HongKongResidencePermit,
        MACAU_CODE => IdKind::MacauResidencePermit,
        TAIWAN_PERMIT_CODE => IdKind::TaiwanResidencePermit,
        p if p >= 900_000 => IdKind::ForeignPermanentResident,
        _ => IdKind::Mainland,
    };
    if legacy.is_some() && kind != IdKind::Mainland {
        return Err(IdError::LegacyPrefix);
    }
    let birth_date = birth_date(&body)?;
    if birth_date > today {
        return Err(IdError::FutureDate);
    }
    let sex = match body.last() {
        Some(digit) if digit.wrapping_sub(b'0') % 2 == 1 => IdSex::Male,
        _ => IdSex::Female,
    };

    let mut warnings = Vec::new();
    if legacy.is_some() {
        warnings.push(IdWarning::UpgradedFromLegacy);
    }
    if kind == IdKind::Mainland {
        match region::region_by_number(prefix) {
            None => warnings.push(IdWarning::UnknownRegion),
            Some(Region {
                last_year: Some(last_year),
                ..
            }) => warnings.push(IdWarning::RegionAbolished { last_year }),
            Some(_) => {}
        }
    }

    let mut number = String::with_capacity(18);
    number.extend(body.iter().map(|&b| char::from(b)));
    number.push(char::from(check_character(&body)));
    Ok(IdNumber {
        number,
        legacy: legacy.map(|digits| digits.iter().map(|&b| char::from(b)).collect()),
        kind,
        birth_date,
        sex,
        warnings,
    })
}

/// The check character for seventeen ASCII digits (MOD 11-2).
pub(super) fn check_character(body: &[u8; 17]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&digit, weight)| u32::from(digit.wrapping_sub(b'0')) * weight)
        .sum();
    let index = usize::try_from(sum % 11).unwrap_or_default();
    CHECK_CHARACTERS.get(index).copied().unwrap_or(b'X')
}

/// Trims, maps full-width digits and X and lower-case x to ASCII, and checks the characters.
///
/// Returns up to the first eighteen characters and the total number of characters. Every
/// returned character is an ASCII digit, except an `X` as the eighteenth of exactly eighteen.
fn normalise(input: &str) -> Result<([u8; 18], usize), IdError> {
    let trimmed =
        input.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '\u{200b}');
    if trimmed.is_empty() {
        return Err(IdError::Empty);
    }
    let mut buffer = [b'0'; 18];
    let mut length = 0usize;
    let mut first_invalid: Option<usize> = None;
    let mut first_x: Option<usize> = None;
    for c in trimmed.chars() {
        let byte = match c {
            '0'..='9' | 'X' => c as u8,
            'x' | '\u{ff38}' | '\u{ff58}' => b'X',
            '\u{ff10}'..='\u{ff19}' => b'0'.saturating_add((u32::from(c) - 0xff10) as u8),
            c if c.is_ascii() => c as u8,
            _ => return Err(IdError::NonAscii),
        };
        length += 1;
        if let Some(slot) = buffer.get_mut(length - 1) {
            *slot = byte;
        }
        if byte == b'X' {
            first_x.get_or_insert(length);
        } else if !byte.is_ascii_digit() {
            first_invalid.get_or_insert(length);
        }
    }
    let misplaced_x = first_x.filter(|&position| !(position == 18 && length == 18));
    let invalid = match (first_invalid, misplaced_x) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match invalid {
        Some(position) => Err(IdError::InvalidCharacter { position }),
        None => Ok((buffer, length)),
    }
}

/// Splits eighteen characters into the seventeen-digit body and the check character.
fn split_check(buffer: [u8; 18]) -> ([u8; 17], u8) {
    let [body @ .., check] = buffer;
    (body, check)
}

/// The first `N` bytes of a buffer of at least `N` bytes (zero-padded otherwise).
fn first_n<const N: usize, const M: usize>(buffer: [u8; M]) -> [u8; N] {
    let mut out = [b'0'; N];
    for (slot, byte) in out.iter_mut().zip(buffer) {
        *slot = byte;
    }
    out
}

/// GB 11643-1989 to GB 11643-1999: insert "19" before the two-digit birth year.
fn upgrade_body(legacy: [u8; 15]) -> [u8; 17] {
    let mut body = [b'0'; 17];
    let source = legacy
        .iter()
        .take(6)
        .chain(b"19")
        .chain(legacy.iter().skip(6));
    for (slot, &byte) in body.iter_mut().zip(source) {
        *slot = byte;
    }
    body
}

/// Value of a run of ASCII digits.
fn digits_value(digits: &[u8]) -> u32 {
    digits.iter().fold(0u32, |acc, &d| {
        acc.saturating_mul(10)
            .saturating_add(u32::from(d.wrapping_sub(b'0')))
    })
}

/// The birth date in characters 7 to 14 (YYYYMMDD).
fn birth_date(body: &[u8; 17]) -> Result<NaiveDate, IdError> {
    let field = |from: usize, to: usize| body.get(from..to).map(digits_value);
    let (Some(year), Some(month), Some(day)) = (field(6, 10), field(10, 12), field(12, 14)) else {
        return Err(IdError::InvalidDate);
    };
    let year = i32::try_from(year).map_err(|_| IdError::InvalidDate)?;
    NaiveDate::from_ymd_opt(year, month, day)
        .filter(|date| date.year() >= EARLIEST_BIRTH_YEAR)
        .ok_or(IdError::InvalidDate)
}
