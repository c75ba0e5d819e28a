//! What a scan tells the coordinator.

use serde::Serialize;

use super::permit_qr::PermitQrError;
use super::{Payload, Symbol};
use crate::permit::PermitState;
use crate::watchlist::CheckOutcome;

/// A decoded symbol with its interpretation and, for a permit, its verification.
#[derive(Debug, Clone)]
pub struct ScanResult {
    /// The symbol as decoded.
    pub symbol: Symbol,
    /// What it means.
    pub payload: Payload,
    /// For a signed permit: the verdict.
    pub permit: Option<PermitVerification>,
    /// For an identity number: the watchlist check made inside the scan (its alerts were also
    /// audited, queued as hit reports and passed to the alert listener).
    pub watchlist: Option<CheckOutcome>,
}

/// The verdict on a permit QR, offline: signature, validity, and the local store's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PermitVerification {
    /// The overall verdict.
    pub verdict: PermitVerdict,
    /// The permit's state as this store knows it: its own record, or else the district's
    /// permits as last synced (a colleague's permit).
    pub local_state: Option<PermitState>,
    /// The permit's record id in this store, when it is this store's own.
    pub permit_id: Option<String>,
}

/// What the coordinator is shown for a permit QR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PermitVerdict {
    /// Signed by a trusted issuer, within its validity, and not cancelled or suspended here.
    Valid,
    /// The signature does not verify, or the code is malformed: forged or altered.
    Forged,
    /// Signed by a key this device does not trust (not yet synced, or revoked).
    UnknownIssuer,
    /// Past its validity.
    Expired,
    /// Before its validity.
    NotYetValid,
    /// Genuine, but the permit is cancelled (in this store, or in the district's permits as
    /// last synced).
    Cancelled,
    /// Genuine, but the permit is suspended (missed endorsement), as known here.
    Suspended,
}

impl PermitVerdict {
    /// The verdict for a refused signature or validity check.
    pub(crate) fn from_error(error: PermitQrError) -> Self {
        match error {
            PermitQrError::Malformed | PermitQrError::BadSignature | PermitQrError::Unencodable => {
                PermitVerdict::Forged
            }
            PermitQrError::UnknownIssuer => PermitVerdict::UnknownIssuer,
            PermitQrError::Expired { .. } => PermitVerdict::Expired,
            PermitQrError::NotYetValid { .. } => PermitVerdict::NotYetValid,
        }
    }
}
