//! The phone's look-up: every probe of a subject, stretched several at once. The probes
//! themselves are shared with the publisher (`lgt_common::watchlist::probe`).

use chrono::NaiveDate;
use lgt_common::watchlist::probe::{derive_one, id_probe, name_probes, threads, Probe};

use super::{RowKind, Subject};
use crate::crypto::{CryptoError, StretchParams, StretchedKey, EPOCH_SALT_LEN};
use crate::identity::IdError;

/// At most this many derivations run at once on the phone (each holds the Argon2 memory).
const MAX_PARALLEL: usize = 4;

/// Every probe of a subject. An invalid identity number is an error (nothing is checked).
pub(crate) fn subject_probes(subject: &Subject, today: NaiveDate) -> Result<Vec<Probe>, IdError> {
    let mut probes = Vec::new();
    for number in &subject.id_numbers {
        let probe = id_probe(number, today)?;
        if !probes.contains(&probe) {
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
