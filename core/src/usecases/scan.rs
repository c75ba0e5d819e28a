//! Scanning in the coordinator's work: what a decoded symbol means here (an identity number
//! checked against the watchlist, a permit QR verified against the trusted issuers and the
//! permits known on this phone), and the signed permit QR codes this device prints.

use crate::audit::Audited;
use crate::issuers;
use crate::permit::{self, PermitState};
use crate::registration;
use crate::scan::permit_qr::{self, PermitClaim, SignedPermit};
use crate::scan::{interpret, Payload, PermitVerdict, PermitVerification, ScanResult, Symbol};
use crate::store::Unlocked;
use crate::sync;
use crate::watchlist::Subject;
use crate::Error;

use super::watchlist::{self, AlertHooks};

/// Interprets a decoded symbol. Every identity number scanned is checked against the
/// watchlist; a permit QR is verified offline: signature by a trusted, unrevoked issuer key,
/// validity dates, then its state on this phone or in the district's permits as last synced.
pub(crate) fn interpret_symbol(
    unlocked: &Unlocked<'_>,
    hooks: &AlertHooks,
    symbol: Symbol,
) -> Result<ScanResult, Error> {
    let payload = interpret(&symbol.text, unlocked.today());
    let watchlist = payload
        .id_number()
        .map(|id| {
            let subject = Subject {
                id_numbers: vec![id.as_str().to_owned()],
                ..Subject::default()
            };
            watchlist::check_identity(unlocked, hooks, &subject)
        })
        .transpose()?;
    let permit = match &payload {
        Payload::Permit(Ok(signed)) => Some(verify_permit(unlocked, signed)?),
        Payload::Permit(Err(_)) => Some(PermitVerification {
            verdict: PermitVerdict::Forged,
            local_state: None,
            permit_id: None,
        }),
        _ => None,
    };
    Ok(ScanResult {
        symbol,
        payload,
        permit,
        watchlist,
    })
}

/// Interprets every symbol decoded from one image, in order, each as [`interpret_symbol`]
/// does, under the one unlock.
pub(crate) fn interpret_symbols(
    unlocked: &Unlocked<'_>,
    hooks: &AlertHooks,
    symbols: Vec<Symbol>,
) -> Result<Vec<ScanResult>, Error> {
    symbols
        .into_iter()
        .map(|symbol| interpret_symbol(unlocked, hooks, symbol))
        .collect()
}

fn verify_permit(
    unlocked: &Unlocked<'_>,
    signed: &SignedPermit,
) -> Result<PermitVerification, Error> {
    let cipher = unlocked.cipher();
    let number = &signed.claim.permit_number;
    // A colleague's permit is known from the district's permits as last synced.
    let district_state = || -> Result<Option<PermitState>, Error> {
        let permits =
            permit::from_replica(&sync::replica(unlocked, lgt_protocol::Bucket::Permits)?)?;
        Ok(permits
            .into_iter()
            .find(|permit| permit.number.as_deref() == Some(number.as_str()))
            .map(|permit| permit.state))
    };
    let key = unlocked.read(|conn| issuers::trusted_key(conn, &signed.claim.issuer_key_id))?;
    let checked = signed.verify(key.as_ref(), unlocked.today());
    // Only a genuine code may look anything up: a forged number learns nothing.
    let local = match checked {
        Ok(()) => unlocked.read(|conn| permit::find_by_number(conn, cipher, number))?,
        Err(_) => None,
    };
    let state = match (&checked, &local) {
        (Ok(()), Some(permit)) => Some(permit.state),
        (Ok(()), None) => district_state()?,
        (Err(_), _) => None,
    };
    let verdict = match (checked, state) {
        (Err(e), _) => PermitVerdict::from_error(e),
        (Ok(()), Some(PermitState::Cancelled)) => PermitVerdict::Cancelled,
        (Ok(()), Some(PermitState::Suspended)) => PermitVerdict::Suspended,
        (Ok(()), _) => PermitVerdict::Valid,
    };
    let permit_id = local.as_ref().map(|p| p.id.clone());
    unlocked.write(|tx| {
        unlocked.audit(
            tx,
            "permit.verify_qr",
            "permit",
            permit_id.as_deref().unwrap_or("unknown"),
        )
    })?;
    Ok(PermitVerification {
        verdict,
        local_state: state,
        permit_id,
    })
}

/// The signed QR text for an issued or delivered permit (by record id or permit number),
/// valid from its issue date to its next endorsement anniversary. Audited.
pub(crate) fn permit_qr(unlocked: &Unlocked<'_>, id_or_number: &str) -> Result<String, Error> {
    let cipher = unlocked.cipher();
    let now = unlocked.now();
    unlocked.write(|tx| {
        let permit = match permit::load(tx, cipher, id_or_number) {
            Err(Error::NotFound { .. }) => permit::find_by_number(tx, cipher, id_or_number)?
                .ok_or_else(|| Error::NotFound {
                    kind: "permit",
                    id: "(given id or number)".into(),
                })?,
            other => other?,
        };
        let permit_id = permit.id.as_str();
        let not_printable = || Error::Conflict {
            reason: format!("permit {permit_id} is not issued or not in force"),
        };
        if !matches!(permit.state, PermitState::Issued | PermitState::Delivered) {
            return Err(not_printable());
        }
        let (Some(number), Some(from), Some(until)) =
            (&permit.number, permit.issued_on, permit.endorsement_due)
        else {
            return Err(not_printable());
        };
        let person = registration::person_record(tx, cipher, &permit.person_id)?;
        let document = person
            .identifiers
            .iter()
            .find(|i| i.superseded_at.is_none())
            .ok_or_else(not_printable)?;
        let key = issuers::issuer_key(tx, cipher, now)?;
        let holder_key = issuers::holder_key(tx, cipher, now)?;
        let claim = PermitClaim {
            permit_number: number.clone(),
            holder_ref: permit_qr::holder_ref(&holder_key, &document.document.number),
            valid_from: from,
            valid_until: until,
            issuer_key_id: key.public_key().key_id(),
        };
        let text = permit_qr::sign(&claim, &key)?;
        unlocked.audit(tx, "permit.qr", "permit", permit_id)?;
        Ok(text)
    })
}
