//! Why an identity number was rejected.
//!
//! The number is personal data (PIPL art. 28), so no message here ever contains the input or any
//! part of it: only positions and lengths. The templates themselves contain no digits, so the only
//! digits in a message are those of its position or length.

/// Why [`parse`](super::parse) rejected an identity number.
///
/// `Display` gives a short English sentence for logs and developers; [`IdError::code`] gives a
/// stable key for user-facing translations. Neither ever contains the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum IdError {
    /// Nothing but whitespace was given.
    #[error("the identity number is empty")]
    Empty,
    /// A character outside ASCII remained after normalisation (full-width digits and X are
    /// normalised first; anything else, such as letters with accents or Chinese characters, is
    /// rejected).
    #[error("the identity number contains a character that is not a digit or the letter X")]
    NonAscii,
    /// An ASCII character other than a digit, or an X anywhere but as the last of eighteen
    /// characters.
    #[error(
        "the identity number has an invalid character at position {position} \
         (only digits are allowed, and X only as the last of eighteen characters)"
    )]
    InvalidCharacter {
        /// 1-based position of the first invalid character, counted in characters after
        /// surrounding whitespace has been trimmed.
        position: usize,
    },
    /// Neither eighteen characters (GB 11643-1999) nor fifteen digits (GB 11643-1989).
    #[error(
        "the identity number has {length} characters; \
         eighteen are expected (or fifteen for an old-style number)"
    )]
    WrongLength {
        /// Number of characters after surrounding whitespace has been trimmed.
        length: usize,
    },
    /// A fifteen-digit old-style number with a prefix that only newer numbers use (Hong Kong,
    /// Macau or Taiwan residence permits, foreigners' permanent residence ID).
    #[error(
        "an old-style fifteen-digit number cannot carry a residence-permit or foreigner prefix"
    )]
    LegacyPrefix,
    /// The birth date is not a real calendar date (for example 30 February), or lies before
    /// the year eighteen hundred.
    #[error("the birth date in the identity number is not a valid date")]
    InvalidDate,
    /// The birth date lies after the date the number was checked on.
    #[error("the birth date in the identity number is in the future")]
    FutureDate,
    /// The check character (MOD 11-2) does not match the first seventeen digits: a typing
    /// error, or an invented number.
    #[error(
        "the check character of the identity number does not match (mistyped or invalid number)"
    )]
    CheckDigit,
}

impl IdError {
    /// A stable, dotted key for this error, for translations and metrics
    /// (for example `"id.check_digit"`). Never changes once released.
    pub fn code(&self) -> &'static str {
        match self {
            IdError::Empty => "id.empty",
            IdError::NonAscii => "id.non_ascii",
            IdError::InvalidCharacter { .. } => "id.invalid_character",
            IdError::WrongLength { .. } => "id.wrong_length",
            IdError::LegacyPrefix => "id.legacy_prefix",
            IdError::InvalidDate => "id.invalid_date",
            IdError::FutureDate => "id.future_date",
            IdError::CheckDigit => "id.check_digit",
        }
    }
}
