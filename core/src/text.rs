//! Text normalisation shared by every capability: names, house codes and document numbers in
//! the one form they are stored, indexed, hashed into watchlist tags and compared in. A leaf.

use unicode_normalization::UnicodeNormalization;

/// House codes as stored, shared with the server's district records.
pub use lgt_common::registration::normalise_house_code;

/// Names as stored, indexed and hashed into watchlist tags: the server's list publisher
/// normalises them with the same function.
pub use lgt_common::registration::normalise_name;

/// `s` with surrounding space trimmed and inner runs of space collapsed to one.
pub(crate) fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Free text as stored: NFKC, runs of space collapsed, trimmed.
pub(crate) fn normalise_text(raw: &str) -> String {
    collapse_spaces(&raw.nfkc().collect::<String>())
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
