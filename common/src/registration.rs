//! The pieces of a registration that travel beyond the phone: the dwelling a permit is issued
//! at (it is part of the permit's Accept event), the one normalisation of a person's name
//! that storage, look-ups and watchlist name keys all start from, and that of house codes,
//! which phone and server both index dwellings by.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A dwelling: the standard-address house code and the address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Dwelling {
    /// House code (房屋编码) of the standard-address system.
    pub house_code: String,
    /// Address as written.
    pub address: String,
    /// Housing type (code).
    pub housing_type: String,
}

/// A house code (门牌/房屋编码) as stored: trimmed, upper-cased, 1 to 64 ASCII letters, digits or
/// '-'; `None` if it is not one. The phone's validator and door-plate scan and the server's
/// district records share it.
pub fn normalise_house_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    let valid = !code.is_empty()
        && code.len() <= 64
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then_some(code)
}

/// Normalises a person's name for storage and look-up: NFKC (full-width forms to plain),
/// surrounding space trimmed, inner runs of space collapsed, the several middle-dot
/// characters of transcribed minority and foreign names unified to U+00B7, Latin letters
/// upper-cased.
pub fn normalise_name(raw: &str) -> String {
    let folded: String = raw
        .nfkc()
        .map(|c| match c {
            '•' | '・' | '．' | '‧' | '∙' | '⋅' | '･' => '·',
            _ => c.to_ascii_uppercase(),
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}
