//! The permit-QR keys in the store: this device's sealed issuer key and holder-reference key,
//! and the table of trusted issuer public keys.
//!
//! Each device (or office) signs with its own Ed25519 key, created on first use and sealed like
//! any personal value. A phone accepts a permit QR when the signing key is in
//! `trusted_issuers` and not revoked: its own key is added on creation (and queued for the
//! server, which lists it in the `issuers` bucket); the keys of other phones arrive by sync
//! ([`apply_synced`]), those of offices are added by hand with [`trust`].

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use zeroize::Zeroizing;

use lgt_protocol::{IssuerKeyPayload, ISSUER_KEY_OPERATION};

use crate::crypto::{self, PublicKey, RowCipher, SigningKey};
use crate::outbox;
use crate::store::{timestamp, StoreError};
use crate::Error;

const ISSUER: &str = "issuer_signing";
const HOLDER: &str = "holder_reference";

fn crypto_error(name: &str, source: crypto::CryptoError) -> StoreError {
    StoreError::Crypto {
        record: format!("scan_keys:{name}"),
        source,
    }
}

/// A stored secret, or a new one made by `create`, sealed and stored.
fn secret(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    name: &str,
    now: DateTime<Utc>,
    create: impl FnOnce() -> Result<Zeroizing<Vec<u8>>, crypto::CryptoError>,
) -> Result<(Zeroizing<Vec<u8>>, bool), Error> {
    let context = format!("scan_keys:{name}");
    let sealed: Option<Vec<u8>> = tx
        .query_row(
            "SELECT sealed FROM scan_keys WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(sealed) = sealed {
        let plain = cipher
            .open(&context, &sealed)
            .map_err(|e| crypto_error(name, e))?;
        return Ok((plain, false));
    }
    let plain = create().map_err(|e| crypto_error(name, e))?;
    let sealed = cipher
        .seal(&context, &plain)
        .map_err(|e| crypto_error(name, e))?;
    tx.execute(
        "INSERT INTO scan_keys (name, created_at, sealed) VALUES (?1, ?2, ?3)",
        params![name, timestamp(now), sealed],
    )?;
    Ok((plain, true))
}

/// This device's issuer key, created (and trusted) on first use.
pub(crate) fn issuer_key(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    now: DateTime<Utc>,
) -> Result<SigningKey, Error> {
    let (pkcs8, created) = secret(tx, cipher, ISSUER, now, || {
        SigningKey::generate().map(|k| Zeroizing::new(k.pkcs8().to_vec()))
    })?;
    let key = SigningKey::from_pkcs8(&pkcs8).map_err(|e| crypto_error(ISSUER, e))?;
    if created {
        let public = key.public_key();
        trust(tx, &public, "this device", now)?;
        // Published at the next sync, so other phones verify this device's permit codes.
        let payload = IssuerKeyPayload {
            public_key: lgt_protocol::hex(public.as_bytes()),
        };
        outbox::enqueue(
            tx,
            cipher,
            now,
            ISSUER_KEY_OPERATION,
            &public.key_id(),
            &payload,
        )?;
    }
    Ok(key)
}

/// The holder-reference key, created on first use.
pub(crate) fn holder_key(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    now: DateTime<Utc>,
) -> Result<Zeroizing<[u8; 32]>, Error> {
    let (bytes, _) = secret(tx, cipher, HOLDER, now, || {
        let mut key = Zeroizing::new(vec![0u8; 32]);
        crypto::random_bytes(&mut key)?;
        Ok(key)
    })?;
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return Err(StoreError::Malformed {
            record: format!("scan_keys:{HOLDER}"),
        }
        .into());
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// A trusted, unrevoked issuer key by its id.
pub(crate) fn trusted_key(conn: &Connection, key_id: &str) -> Result<Option<PublicKey>, Error> {
    let bytes: Option<Vec<u8>> = conn
        .query_row(
            "SELECT public_key FROM trusted_issuers WHERE key_id = ?1 AND revoked_at IS NULL",
            [key_id],
            |r| r.get(0),
        )
        .optional()?;
    bytes
        .map(|b| {
            PublicKey::try_from_slice(&b).map_err(|_| {
                Error::from(StoreError::Malformed {
                    record: format!("trusted_issuers:{key_id}"),
                })
            })
        })
        .transpose()
}

/// Adds an issuer key (again: trusting a revoked key re-trusts it).
pub(crate) fn trust(
    tx: &Transaction<'_>,
    key: &PublicKey,
    label: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO trusted_issuers (key_id, public_key, label, added_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key_id) DO UPDATE SET revoked_at = NULL, label = excluded.label",
        params![key.key_id(), key.as_bytes().to_vec(), label, timestamp(now)],
    )?;
    Ok(())
}

/// Applies one key of the server's `issuers` bucket: a key another device published is
/// trusted under `label`, unless it is known here already (a key revoked on this device is
/// not trusted again by a sync); a key the server revoked is revoked here too.
pub(crate) fn apply_synced(
    tx: &Transaction<'_>,
    key: &PublicKey,
    label: &str,
    revoked: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if revoked {
        tx.execute(
            "UPDATE trusted_issuers SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL",
            params![key.key_id(), timestamp(now)],
        )?;
    } else {
        tx.execute(
            "INSERT INTO trusted_issuers (key_id, public_key, label, added_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key_id) DO NOTHING",
            params![key.key_id(), key.as_bytes().to_vec(), label, timestamp(now)],
        )?;
    }
    Ok(())
}

/// Revokes an issuer key; its permit codes are refused from now on.
pub(crate) fn revoke(tx: &Transaction<'_>, key_id: &str, now: DateTime<Utc>) -> Result<(), Error> {
    let changed = tx.execute(
        "UPDATE trusted_issuers SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL",
        params![key_id, timestamp(now)],
    )?;
    if changed == 0 {
        return Err(Error::NotFound {
            kind: "trusted issuer",
            id: key_id.to_owned(),
        });
    }
    Ok(())
}
