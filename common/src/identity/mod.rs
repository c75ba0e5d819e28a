//! Identity numbers: citizen identity numbers (公民身份号码, GB 11643-1999), the residence
//! permits of Hong Kong, Macau and Taiwan residents, and foreigners' permanent residence IDs.
//!
//! Two input paths, validated the same way:
//! * typed or scanned text: [`parse`];
//! * fields decoded by a built-in ID-card chip reader: [`validate_card`].
//!
//! What is checked: the characters (after normalising full-width digits and X, lower-case x and
//! surrounding whitespace), the length (eighteen, or fifteen for old numbers, which are upgraded),
//! the MOD 11-2 check character and the birth date (a real date, not in the future). The address
//! code is looked up in a history of GB/T 2260 ([`region`]) but never causes a rejection: unknown
//! or abolished codes only give [`IdWarning`]s, because numbers stay valid for life.
//!
//! An identity number is personal data: [`IdNumber`]'s `Debug` does not show it, and no error
//! message contains it. A number is also an attribute with history (numbers are corrected or
//! changed), not a key.

mod card;
mod error;
mod number;
mod region;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;

pub use card::{validate_card, CardError, CardReading, CardValidity, ValidatedCard};
pub use error::IdError;
pub use number::{IdKind, IdNumber, IdSex, IdWarning};
pub use region::{region, Region};

/// Parses and validates an identity number as typed, scanned or pasted.
///
/// Normalisation first: surrounding whitespace (including the ideographic space U+3000, and
/// zero-width space and byte-order mark) is trimmed; full-width digits ０-９ and full-width
/// Ｘ/ｘ become ASCII; a lower-case `x` becomes `X`. Any other non-ASCII character is then
/// rejected with [`IdError::NonAscii`].
///
/// Then, in this order: invalid characters ([`IdError::InvalidCharacter`]), length
/// ([`IdError::WrongLength`]), check character for eighteen-character numbers
/// ([`IdError::CheckDigit`]), prefix of fifteen-digit numbers ([`IdError::LegacyPrefix`]), birth
/// date ([`IdError::InvalidDate`], [`IdError::FutureDate`], compared with `today`).
///
/// Fifteen-digit numbers (GB 11643-1989) are upgraded by inserting `19` before the birth date
/// and computing the check character; the original is kept ([`IdNumber::legacy`]) and
/// [`IdWarning::UpgradedFromLegacy`] is added.
///
/// The kind follows the prefix: 810000, 820000 and 830000 are the residence permits of Hong
/// Kong, Macau and Taiwan residents, a first digit 9 a foreigner's permanent residence ID, and
/// everything else a mainland number. For mainland numbers an address code missing from the
/// GB/T 2260 history gives [`IdWarning::UnknownRegion`] and an abolished one
/// [`IdWarning::RegionAbolished`]; the validity years of a code are never compared with the
/// birth date (people born before a code existed were given it later).
///
/// Never panics, whatever the input.
///
/// # Errors
///
/// The first [`IdError`] met in the order above. Its message never contains the input.
pub fn parse(input: &str, today: NaiveDate) -> Result<IdNumber, IdError> {
    number::parse(input, today)
}

/// The MOD 11-2 check character for the first 17 digits of a number, or `None` if `body` is
/// not exactly 17 ASCII digits. For generating valid synthetic numbers.
pub fn check_character(body: &str) -> Option<char> {
    let bytes: &[u8; 17] = body.as_bytes().try_into().ok()?;
    bytes
        .iter()
        .all(u8::is_ascii_digit)
        .then(|| char::from(number::check_character(bytes)))
}
