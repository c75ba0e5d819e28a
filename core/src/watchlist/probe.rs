//! Probes: the values a person is looked up by, and their stretched keys. The server builds
//! list rows from exactly the same probes, so both sides agree by construction.

use chrono::NaiveDate;
use zeroize::Zeroizing;

use super::names::name_keys;
use super::{RowKind, Subject};
use crate::crypto::{CryptoError, StretchParams, StretchedKey, EPOCH_SALT_LEN};
use crate::identity::{self, IdError};

/// At most this many derivations run at once on the phone (each holds the Argon2 memory).
const MAX_PARALLEL: usize = 4;

/// Threads for a batch of work: the machine's cores, at most `cap`.
pub(crate) fn threads(cap: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, cap)
}

/// One value to stretch.
pub(crate) struct Probe {
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
pub(crate) fn normalise_sex(raw: &str) -> Option<&'static str> {
    match raw.trim().to_lowercase().as_str() {
        "1" | "m" | "male" | "男" => Some("1"),
        "2" | "f" | "female" | "女" => Some("2"),
        _ => None,
    }
}

/// The probe of an identity number: parsed, normalised, 15-digit numbers upgraded to 18.
pub(crate) fn id_probe(raw: &str, today: NaiveDate) -> Result<Probe, IdError> {
    let id = identity::parse(raw, today)?;
    Ok(Probe {
        kind: RowKind::IdNumber,
        value: Zeroizing::new(id.as_str().to_owned()),
    })
}

/// The probes of a name with birth date and sex: the simplified characters, then each
/// pinyin reading. An unrecognised sex code gives no probes (never a guess).
pub(crate) fn name_probes(name: &str, birth_date: NaiveDate, sex: &str) -> Vec<Probe> {
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

/// Every probe of a subject. An invalid identity number is an error (nothing is checked).
pub(crate) fn subject_probes(subject: &Subject, today: NaiveDate) -> Result<Vec<Probe>, IdError> {
    let mut probes = Vec::new();
    for number in &subject.id_numbers {
        let probe = id_probe(number, today)?;
        if !probes.iter().any(|p: &Probe| *p.value == *probe.value) {
            probes.push(probe);
        }
    }
    if let (Some(name), Some(birth_date), Some(sex)) =
        (&subject.name, subject.birth_date, &subject.sex)
    {
        probes.extend(name_probes(name, birth_date, sex));
    }
    Ok(probes)
}

/// Stretches one probe.
pub(crate) fn derive_one(
    probe: &Probe,
    params: &StretchParams,
    salt: &[u8; EPOCH_SALT_LEN],
) -> Result<StretchedKey, CryptoError> {
    StretchedKey::derive(params, salt, probe.domain(), &probe.value)
}

/// Stretches every probe, several at once, in probe order.
pub(crate) fn derive_all(
    probes: &[Probe],
    params: &StretchParams,
    salt: &[u8; EPOCH_SALT_LEN],
) -> Result<Vec<(RowKind, StretchedKey)>, CryptoError> {
    let derive = |probe: &Probe| derive_one(probe, params, salt).map(|k| (probe.kind, k));
    let threads = threads(MAX_PARALLEL);
    if probes.len() <= 1 || threads == 1 {
        return probes.iter().map(derive).collect();
    }
    let chunk = probes.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = probes
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(derive).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(probes.len());
        for handle in handles {
            // A derivation cannot panic on valid parameters; treat a panic as a failure.
            let part = handle.join().map_err(|_| CryptoError::InvalidParameters)?;
            for key in part {
                out.push(key?);
            }
        }
        Ok(out)
    })
}
