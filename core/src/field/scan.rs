//! Scanning on the facade: decode, interpret, verify permits against the trusted issuers and
//! the local store, and sign the permit QR codes this device prints.

use crate::crypto::PublicKey;
use crate::permit::{self, PermitState};
use crate::registration;
use crate::scan::permit_qr::{self, PermitClaim};
use crate::scan::{
    interpret, trust, LumaFrame, Payload, PermitVerdict, PermitVerification, ScanOptions,
    ScanResult, Scanner, Symbol,
};
use crate::sync;
use crate::watchlist::Subject;
use crate::Error;

use super::FieldCore;

impl FieldCore {
    /// Decodes one camera frame and interprets what it holds; `Ok(None)`: nothing found.
    pub fn scan_frame(
        &self,
        scanner: &mut Scanner,
        frame: &LumaFrame<'_>,
        options: &ScanOptions,
    ) -> Result<Option<ScanResult>, Error> {
        scanner
            .decode(frame, options)?
            .map(|symbol| self.scan_symbol(symbol))
            .transpose()
    }

    /// Decodes an image file (desktop client) and interprets what it holds.
    #[cfg(feature = "image-files")]
    pub fn scan_file(
        &self,
        scanner: &mut Scanner,
        path: &std::path::Path,
        options: &ScanOptions,
    ) -> Result<Option<ScanResult>, Error> {
        let image = crate::scan::load_luma(path)?;
        self.scan_frame(scanner, &image.frame(), options)
    }

    /// Interprets a decoded symbol. A permit QR is verified offline: signature by a trusted,
    /// unrevoked issuer key, validity dates, then its state in this store.
    pub fn scan_symbol(&self, symbol: Symbol) -> Result<ScanResult, Error> {
        let session = self.session();
        let payload = interpret(&symbol.text, session.today());
        // Every scan that yields an identity number is checked against the watchlist here.
        let watchlist = payload
            .id_number()
            .map(|id| {
                self.watchlist_check_identity(&Subject {
                    id_numbers: vec![id.as_str().to_owned()],
                    ..Subject::default()
                })
            })
            .transpose()?;
        let permit = match &payload {
            Payload::Permit(Ok(signed)) => Some(self.verify_permit(signed)?),
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

    fn verify_permit(&self, signed: &permit_qr::SignedPermit) -> Result<PermitVerification, Error> {
        let session = self.session();
        let cipher = self.store.cipher();
        self.store.write(|tx| {
            let key = trust::trusted_key(tx, &signed.claim.issuer_key_id)?;
            let checked = signed.verify(key.as_ref(), session.today());
            // Only a genuine code may look anything up: a forged number learns nothing.
            let local = match checked {
                Ok(()) => permit::find_by_number(tx, cipher, &signed.claim.permit_number)?,
                Err(_) => None,
            };
            // A colleague's permit is known from the district's permits as last synced.
            let state = match (&checked, &local) {
                (Ok(()), Some(permit)) => Some(permit.state),
                (Ok(()), None) => {
                    sync::district_permit_state(tx, cipher, &signed.claim.permit_number)?
                }
                (Err(_), _) => None,
            };
            let verdict = match (checked, state) {
                (Err(e), _) => PermitVerdict::from_error(e),
                (Ok(()), Some(PermitState::Cancelled)) => PermitVerdict::Cancelled,
                (Ok(()), Some(PermitState::Suspended)) => PermitVerdict::Suspended,
                (Ok(()), _) => PermitVerdict::Valid,
            };
            let permit_id = local.as_ref().map(|p| p.id.clone());
            session.audit(
                tx,
                "permit.verify_qr",
                "permit",
                permit_id.as_deref().unwrap_or("unknown"),
            )?;
            Ok(PermitVerification {
                verdict,
                local_state: state,
                permit_id,
            })
        })
    }

    /// The signed QR text for an issued or delivered permit (by record id or permit number),
    /// valid from its issue date to its next endorsement anniversary. Audited.
    pub fn permit_qr(&self, id_or_number: &str) -> Result<String, Error> {
        let session = self.session();
        let cipher = self.store.cipher();
        self.store.write(|tx| {
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
            let key = trust::issuer_key(tx, cipher, session.now())?;
            let holder_key = trust::holder_key(tx, cipher, session.now())?;
            let claim = PermitClaim {
                permit_number: number.clone(),
                holder_ref: permit_qr::holder_ref(&holder_key, &document.document.number),
                valid_from: from,
                valid_until: until,
                issuer_key_id: key.public_key().key_id(),
            };
            let text = permit_qr::sign(&claim, &key)?;
            session.audit(tx, "permit.qr", "permit", permit_id)?;
            Ok(text)
        })
    }

    /// This device's permit-issuer public key (created on first use), for other devices to
    /// trust.
    pub fn issuer_public_key(&self) -> Result<PublicKey, Error> {
        let session = self.session();
        self.store
            .write(|tx| Ok(trust::issuer_key(tx, self.store.cipher(), session.now())?.public_key()))
    }

    /// Trusts another device's or office's issuer key. Audited.
    pub fn trust_issuer(&self, key: &PublicKey, label: &str) -> Result<(), Error> {
        if label.is_empty() || label.len() > 64 || label.chars().any(char::is_control) {
            return Err(Error::InvalidArgument {
                field: "label",
                reason: "must be 1 to 64 bytes without control characters".into(),
            });
        }
        let session = self.session();
        self.store.write(|tx| {
            trust::trust(tx, key, label, session.now())?;
            session.audit(tx, "issuer.trust", "issuer", &key.key_id())?;
            Ok(())
        })
    }

    /// Revokes an issuer key: its permit codes read as `unknown_issuer` from now on. Audited.
    pub fn revoke_issuer(&self, key_id: &str) -> Result<(), Error> {
        let session = self.session();
        self.store.write(|tx| {
            trust::revoke(tx, key_id, session.now())?;
            session.audit(tx, "issuer.revoke", "issuer", key_id)?;
            Ok(())
        })
    }
}
