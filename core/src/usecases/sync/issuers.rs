//! Applies the `issuers` bucket: the permit-issuer keys other devices published become
//! trusted for permit QR codes, and the ones a supervisor revoked stop being trusted.

use chrono::{DateTime, Utc};
use lgt_protocol::{unhex, Entry, IssuerEntry};
use rusqlite::Transaction;

use crate::crypto::PublicKey;
use crate::issuers;
use crate::store::StoreError;

/// Applies `entries`; returns the keys refused as malformed (key ids and reasons).
pub(super) fn apply(
    tx: &Transaction<'_>,
    entries: &[Entry],
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let mut refused = Vec::new();
    for entry in entries {
        // The server never deletes a key (it marks it revoked); nothing to undo.
        let Some(data) = &entry.data else {
            continue;
        };
        let parsed = serde_json::from_str::<IssuerEntry>(data)
            .ok()
            .and_then(|issuer| {
                let key = unhex(&issuer.public_key)
                    .and_then(|bytes| PublicKey::try_from_slice(&bytes).ok())?;
                Some((key, issuer))
            });
        match parsed {
            Some((key, issuer)) if key.key_id() == entry.key => {
                let label = format!("device {}", issuer.device_id);
                issuers::apply_synced(tx, &key, &label, issuer.revoked_at.is_some(), now)?;
            }
            _ => refused.push(format!("issuer {}: malformed", entry.key)),
        }
    }
    Ok(refused)
}
