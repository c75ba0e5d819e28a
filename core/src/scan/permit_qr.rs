//! The signed residence-permit QR: its payload, signing and offline verification. Pure: the
//! caller supplies the issuer's public key (from the trusted-issuer table) and today's date.
//!
//! Wire form (ASCII, so any QR reader returns it unchanged):
//!
//! ```text
//! LGTP1.<base64url(body)>.<base64url(Ed25519 signature over "LGTP1." + body)>
//! body = {"n":permit number,"h":holder reference,"f":valid from,"u":valid until,"k":issuer key id}
//! ```
//!
//! The holder reference is HMAC-SHA256 of the holder's canonical ID number under a holder key
//! shared by the verifying devices, truncated to 128 bits: the QR never carries the ID number,
//! and without the key the reference cannot be matched against the small ID-number space.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::crypto::{self, PublicKey, SigningKey, SIGNATURE_LEN};
use crate::identity::IdNumber;

/// The prefix that marks a permit QR of this system, version 1.
pub const PREFIX: &str = "LGTP1.";
/// The longest permit QR text accepted: well above a real one (about 250 characters).
const MAX_TEXT: usize = 1024;
/// Length of the truncated holder reference in bytes.
const HOLDER_REF_LEN: usize = 16;

/// What a permit QR asserts, signed by its issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PermitClaim {
    /// The permit number printed on the card.
    #[serde(rename = "n")]
    pub permit_number: String,
    /// Keyed reference of the holder's identity number (base64url, 16 bytes).
    #[serde(rename = "h")]
    pub holder_ref: String,
    /// First day of validity.
    #[serde(rename = "f")]
    pub valid_from: NaiveDate,
    /// Last day of validity (the next endorsement anniversary).
    #[serde(rename = "u")]
    pub valid_until: NaiveDate,
    /// [`PublicKey::key_id`] of the issuer's signing key.
    #[serde(rename = "k")]
    pub issuer_key_id: String,
}

/// A parsed permit QR whose signature has not been checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPermit {
    /// The claim, as signed.
    pub claim: PermitClaim,
    body: Vec<u8>,
    signature: Vec<u8>,
}

/// Why a permit QR is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PermitQrError {
    /// Not in the permit QR format (wrong prefix, bad encoding, unknown fields, oversized).
    #[error("the permit code is malformed")]
    Malformed,
    /// The issuer key is not among the trusted issuers (or has been revoked).
    #[error("the permit code's issuer is not trusted on this device")]
    UnknownIssuer,
    /// The signature does not match: the code was forged or altered.
    #[error("the permit code's signature does not verify: forged or altered")]
    BadSignature,
    /// Past its last day of validity.
    #[error("the permit code expired on {until}")]
    Expired {
        /// Last day of validity.
        until: NaiveDate,
    },
    /// Before its first day of validity.
    #[error("the permit code is valid only from {from}")]
    NotYetValid {
        /// First day of validity.
        from: NaiveDate,
    },
    /// The claim cannot be encoded (a field too long or with control characters).
    #[error("the permit claim cannot be encoded")]
    Unencodable,
}

impl PermitQrError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PermitQrError::Malformed => "permit_qr.malformed",
            PermitQrError::UnknownIssuer => "permit_qr.unknown_issuer",
            PermitQrError::BadSignature => "permit_qr.forged",
            PermitQrError::Expired { .. } => "permit_qr.expired",
            PermitQrError::NotYetValid { .. } => "permit_qr.not_yet_valid",
            PermitQrError::Unencodable => "permit_qr.unencodable",
        }
    }
}

/// The holder reference of a canonical document number (an 18-character ID number as
/// [`IdNumber::as_str`] gives it, or another document's stored number) under the holder key.
pub fn holder_ref(holder_key: &[u8; 32], document_number: &str) -> String {
    let mac = crypto::hmac_sha256(holder_key, document_number.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac[..HOLDER_REF_LEN])
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    [PREFIX.as_bytes(), body].concat()
}

/// Signs a claim and returns the QR text.
pub fn sign(claim: &PermitClaim, key: &SigningKey) -> Result<String, PermitQrError> {
    if claim.issuer_key_id != key.public_key().key_id() || !field_ok(&claim.permit_number) {
        return Err(PermitQrError::Unencodable);
    }
    let body = serde_json::to_vec(claim).map_err(|_| PermitQrError::Unencodable)?;
    let signature = key.sign(&signed_message(&body));
    let text = format!(
        "{PREFIX}{}.{}",
        URL_SAFE_NO_PAD.encode(&body),
        URL_SAFE_NO_PAD.encode(signature)
    );
    if text.len() > MAX_TEXT {
        return Err(PermitQrError::Unencodable);
    }
    Ok(text)
}

fn field_ok(value: &str) -> bool {
    !value.is_empty() && value.len() <= 64 && !value.chars().any(char::is_control)
}

/// Parses a permit QR text (signature unchecked).
pub fn parse(text: &str) -> Result<SignedPermit, PermitQrError> {
    let rest = text
        .strip_prefix(PREFIX)
        .filter(|_| text.len() <= MAX_TEXT)
        .ok_or(PermitQrError::Malformed)?;
    let (body, signature) = rest.split_once('.').ok_or(PermitQrError::Malformed)?;
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| PermitQrError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| PermitQrError::Malformed)?;
    let claim: PermitClaim = serde_json::from_slice(&body).map_err(|_| PermitQrError::Malformed)?;
    let holder_ok = URL_SAFE_NO_PAD
        .decode(&claim.holder_ref)
        .is_ok_and(|r| r.len() == HOLDER_REF_LEN);
    if signature.len() != SIGNATURE_LEN
        || !holder_ok
        || !field_ok(&claim.permit_number)
        || !field_ok(&claim.issuer_key_id)
    {
        return Err(PermitQrError::Malformed);
    }
    Ok(SignedPermit {
        claim,
        body,
        signature,
    })
}

impl SignedPermit {
    /// Checks the signature with the issuer's key (`None`: issuer not trusted here) and the
    /// validity period against `today`. Signature first: an unsigned claim's dates mean nothing.
    pub fn verify(
        &self,
        issuer: Option<&PublicKey>,
        today: NaiveDate,
    ) -> Result<(), PermitQrError> {
        let key = issuer.ok_or(PermitQrError::UnknownIssuer)?;
        if key.key_id() != self.claim.issuer_key_id {
            return Err(PermitQrError::UnknownIssuer);
        }
        key.verify(&signed_message(&self.body), &self.signature)
            .map_err(|_| PermitQrError::BadSignature)?;
        if today < self.claim.valid_from {
            return Err(PermitQrError::NotYetValid {
                from: self.claim.valid_from,
            });
        }
        if today > self.claim.valid_until {
            return Err(PermitQrError::Expired {
                until: self.claim.valid_until,
            });
        }
        Ok(())
    }

    /// Whether the holder reference matches a presented identity number.
    pub fn holder_matches(&self, holder_key: &[u8; 32], id: &IdNumber) -> bool {
        crypto::constant_time_eq(
            holder_ref(holder_key, id.as_str()).as_bytes(),
            self.claim.holder_ref.as_bytes(),
        )
    }
}
