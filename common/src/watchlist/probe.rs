//! Probes: the values a person is looked up by, and their stretched keys. The publisher
//! builds list rows from exactly the same probes the phone looks up with, so both sides agree
//! by construction.

use chrono::NaiveDate;
use zeroize::Zeroizing;

use super::names::name_keys;
use super::RowKind;
use crate::crypto::{CryptoError, StretchParams, StretchedKey, EPOCH_SALT_LEN};
use crate::identity::{self, IdError};

/// Threads for a batch of work: the machine's cores, at most `cap`.
pub fn threads(cap: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, cap)
}

/// One value to stretch. Equal probes stretch to the same key. No `Debug`: the value is
/// personal data.
#[derive(PartialEq, Eq)]
pub struct Probe {
    /// What the value is, and so the kind of row it finds.
    pub kind: RowKind,
    value: Zeroizing<String>,
}

impl Probe {
    fn domain(&self) -> &'static str {
        match self.kind {
            RowKind::IdNumber => "id",
            RowKind::NameHanzi => "name-hanzi",
            RowKind::NamePinyin => "name-pinyin",
        }
    }
}

/// The canonical sex code (GB/T 2261.1) of what a form, card or CSV says.
pub fn normalise_sex(raw: &str) -> Option<&'static str> {
    match raw.trim().to_lowercase().as_str() {
        "1" | "m" | "male" | "男" => Some("1"),
        "2" | "f" | "female" | "女" => Some("2"),
        _ => None,
    }
}

/// The probe of an identity number: parsed, normalised, 15-digit numbers upgraded to 18.
pub fn id_probe(raw: &str, today: NaiveDate) -> Result<Probe, IdError> {
    let id = identity::parse(raw, today)?;
    Ok(Probe {
        kind: RowKind::IdNumber,
        value: Zeroizing::new(id.as_str().to_owned()),
    })
}

/// The probes of a name with birth date and sex: the simplified characters, then each
/// pinyin reading. An unrecognised sex code gives no probes (never a guess).
pub fn name_probes(name: &str, birth_date: NaiveDate, sex: &str) -> Vec<Probe> {
    let Some(sex) = normalise_sex(sex) else {
        return Vec::new();
    };
    let keys = name_keys(name);
    let suffix = format!("|{birth_date}|{sex}");
    let hanzi = keys.hanzi.map(|h| (RowKind::NameHanzi, h));
    let pinyin = keys.pinyin.into_iter().map(|p| (RowKind::NamePinyin, p));
    hanzi
        .into_iter()
        .chain(pinyin)
        .filter(|(_, key)| !key.is_empty())
        .map(|(kind, key)| Probe {
            kind,
            value: Zeroizing::new(format!("{key}{suffix}")),
        })
        .collect()
}

/// Stretches one probe.
pub fn derive_one(
    probe: &Probe,
    params: &StretchParams,
    salt: &[u8; EPOCH_SALT_LEN],
) -> Result<StretchedKey, CryptoError> {
    StretchedKey::derive(params, salt, probe.domain(), &probe.value)
}
