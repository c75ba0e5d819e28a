//! Cryptography behind one small interface.
//!
//! Everything the core encrypts, blinds or authenticates goes through [`RowCipher`], and
//! the data key arrives through [`KeyProvider`]. This is the only module that names `ring`,
//! so a certified SM2/SM3/SM4 module can replace it without touching business code.
//!
//! Scheme (see the README, "Encryption at rest"): a random 256-bit data key per store,
//! supplied by the host; HKDF-SHA256 derives independent sub-keys for AES-256-GCM
//! sealing, the ID-number and name blind indexes, and the audit chain. Ed25519 signatures
//! (permit QR codes, watchlist manifests, device requests) are in [`SigningKey`] / [`PublicKey`];
//! Argon2id stretching of watchlist identifiers is in [`StretchedKey`].

mod key_file;

use lgt_common::crypto::{derive, open_with, seal_with};
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{hkdf, hmac};
use zeroize::Zeroizing;

pub use key_file::KeyFile;
pub use lgt_common::crypto::{
    random_bytes, random_salt, sha256, CryptoError, PublicKey, SigningKey, StretchParams,
    StretchedKey, Tag, EPOCH_SALT_LEN, PUBLIC_KEY_LEN, SIGNATURE_LEN, TAG_LEN,
};

/// Length of a data key in bytes.
pub const DATA_KEY_LEN: usize = 32;

/// The per-store secret from which every other key is derived. Zeroed on drop.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; DATA_KEY_LEN]>);

impl DataKey {
    /// Wraps key bytes handed over by the host.
    pub fn from_bytes(bytes: [u8; DATA_KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Wraps a key from a slice, as it crosses from a platform keystore.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; DATA_KEY_LEN] = bytes.try_into().map_err(|_| KeyError::WrongLength {
            length: bytes.len(),
        })?;
        Ok(Self::from_bytes(array))
    }

    /// Generates a fresh random key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new([0u8; DATA_KEY_LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| KeyError::Random)?;
        Ok(Self(bytes))
    }

    /// The raw bytes, for a provider that must persist or wrap them.
    pub fn expose_bytes(&self) -> &[u8; DATA_KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Why a data key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key has the wrong size.
    #[error("data key must be 32 bytes, got {length}")]
    WrongLength {
        /// The size that was handed over.
        length: usize,
    },
    /// The operating system's random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// The host's key store failed or refused (locked device, missing key, I/O).
    #[error("key provider failed: {0}")]
    Provider(String),
}

/// Supplies the store's data key. The Android and iOS shells implement this with the
/// Keystore / Keychain (the wrapping key never reaches the core); the desktop client uses
/// [`KeyFile`].
pub trait KeyProvider: Send + Sync {
    /// Returns the data key of this store.
    fn data_key(&self) -> Result<DataKey, KeyError>;
    /// Irrecoverably destroys the key material: the first step of a wipe.
    fn destroy(&self) -> Result<(), KeyError>;
}

/// Which blind index a value goes into; each has its own key so the indexes cannot be joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlindIndex {
    /// Canonical 18-character identity numbers.
    IdNumber,
    /// Normalised person names.
    Name,
    /// Residence-permit numbers.
    PermitNumber,
    /// Normalised house codes of dwellings.
    HouseCode,
}

/// The keys derived from one data key, and the operations the store needs.
pub struct RowCipher {
    seal: LessSafeKey,
    blind_id: hmac::Key,
    blind_name: hmac::Key,
    blind_permit: hmac::Key,
    blind_house: hmac::Key,
    watchlist: hmac::Key,
    audit: hmac::Key,
    clock: hmac::Key,
    rng: SystemRandom,
}

/// Length of the MAC that links audit records.
pub const AUDIT_MAC_LEN: usize = 32;

impl RowCipher {
    /// Derives every sub-key from the data key.
    pub fn new(key: &DataKey) -> Self {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"lgt-core/v1");
        let prk = salt.extract(key.expose_bytes());
        let seal_bytes = derive(&prk, b"seal/aes-256-gcm");
        let seal = UnboundKey::new(&AES_256_GCM, seal_bytes.as_ref())
            .map(LessSafeKey::new)
            .unwrap_or_else(|_| unreachable!("AES-256 key is 32 bytes"));
        let hmac_key = |label| hmac::Key::new(hmac::HMAC_SHA256, derive(&prk, label).as_ref());
        Self {
            seal,
            blind_id: hmac_key(b"blind/id-number"),
            blind_name: hmac_key(b"blind/name"),
            blind_permit: hmac_key(b"blind/permit-number"),
            blind_house: hmac_key(b"blind/house-code"),
            watchlist: hmac_key(b"watchlist/tag"),
            audit: hmac_key(b"audit/chain"),
            clock: hmac_key(b"clock/high-water"),
            rng: SystemRandom::new(),
        }
    }

    /// Encrypts `plaintext` with AES-256-GCM under a fresh random nonce. `context` is bound
    /// as associated data (table, column and row id), so a sealed value moved to another row
    /// fails to open. Output: nonce || ciphertext || tag.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_with(&self.seal, &self.rng, context.as_bytes(), plaintext)
    }

    /// Decrypts a value made by [`RowCipher::seal`] with the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open_with(&self.seal, context.as_bytes(), sealed)
    }

    /// A keyed blind index of an already-normalised value: equal inputs give equal outputs,
    /// and without the data key the index reveals nothing.
    pub fn blind(&self, index: BlindIndex, normalised: &str) -> Vec<u8> {
        let key = match index {
            BlindIndex::IdNumber => &self.blind_id,
            BlindIndex::Name => &self.blind_name,
            BlindIndex::PermitNumber => &self.blind_permit,
            BlindIndex::HouseCode => &self.blind_house,
        };
        hmac::sign(key, normalised.as_bytes()).as_ref().to_vec()
    }

    /// The form a watchlist tag takes in this store: HMAC-SHA256 of the list's stretched
    /// tag under this store's own key, truncated to the tag's length. The list's tags
    /// depend only on the value and the key epoch's salt, which the file holds; stored
    /// this way, a guess checked against the file also needs the data key, which the
    /// platform keystore keeps (`docs/watchlist.md`, "What a stolen phone gives away").
    pub fn watchlist_tag(&self, tag: &Tag) -> Tag {
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&hmac::sign(&self.watchlist, tag).as_ref()[..TAG_LEN]);
        out
    }

    /// MAC of one audit record over the previous record's MAC and its own canonical bytes.
    pub fn audit_mac(&self, previous: &[u8], record: &[u8]) -> [u8; AUDIT_MAC_LEN] {
        let mut ctx = hmac::Context::with_key(&self.audit);
        ctx.update(previous);
        ctx.update(record);
        let mut out = [0u8; AUDIT_MAC_LEN];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// MAC of the store's record of the latest time it has seen (the offline lock's guard
    /// against a clock set back), under a key of its own.
    pub fn clock_mac(&self, record: &[u8]) -> [u8; AUDIT_MAC_LEN] {
        let mut out = [0u8; AUDIT_MAC_LEN];
        out.copy_from_slice(hmac::sign(&self.clock, record).as_ref());
        out
    }
}

/// The chain hash of an audit record: SHA-256 of [`lgt_protocol::audit_chain_input`] over
/// the previous record's chain hash and the record. Unkeyed, so the server (or anyone holding
/// the records) can recompute it; the audit records hold no personal value.
pub fn audit_chain_hash(prev: &[u8; 32], seq: i64, fields: [&str; 5]) -> [u8; 32] {
    let [at, actor, action, record_kind, record_id] = fields;
    sha256(&lgt_protocol::audit_chain_input(
        prev,
        seq,
        at,
        actor,
        action,
        record_kind,
        record_id,
    ))
}

/// HMAC-SHA256 under a shared 32-byte key: references that every device holding the key must
/// reproduce (the holder reference in a signed permit QR), unlike the per-store blind indexes.
pub fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message).as_ref());
    out
}

/// A random `u64` from the operating system's CSPRNG (retry jitter, nonces).
pub fn random_u64() -> Result<u64, CryptoError> {
    let mut bytes = [0u8; 8];
    random_bytes(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

/// Compares two MACs without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> RowCipher {
        RowCipher::new(&DataKey::from_bytes([7u8; 32]))
    }

    #[test]
    fn seal_round_trips_and_binds_context() {
        let c = cipher();
        let sealed = c.seal("persons:sealed:1", b"synthetic").unwrap();
        assert_eq!(
            &c.open("persons:sealed:1", &sealed).unwrap()[..],
            b"synthetic"
        );
        assert!(c.open("persons:sealed:2", &sealed).is_err());
        let other = RowCipher::new(&DataKey::from_bytes([8u8; 32]));
        assert!(other.open("persons:sealed:1", &sealed).is_err());
    }

    #[test]
    fn seal_uses_fresh_nonces() {
        let c = cipher();
        assert_ne!(c.seal("x", b"same").unwrap(), c.seal("x", b"same").unwrap());
    }

    #[test]
    fn tampered_and_short_values_fail_to_open() {
        let c = cipher();
        let mut sealed = c.seal("x", b"value").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(c.open("x", &sealed).is_err());
        assert!(c.open("x", &[1, 2, 3]).is_err());
    }

    #[test]
    fn blind_indexes_are_keyed_and_separate() {
        let c = cipher();
        let a = c.blind(BlindIndex::IdNumber, "110101202311012176");
        assert_eq!(a, c.blind(BlindIndex::IdNumber, "110101202311012176"));
        assert_ne!(a, c.blind(BlindIndex::Name, "110101202311012176"));
        assert_ne!(a, sha256(b"110101202311012176").to_vec());
        let other = RowCipher::new(&DataKey::from_bytes([8u8; 32]));
        assert_ne!(a, other.blind(BlindIndex::IdNumber, "110101202311012176"));
    }

    #[test]
    fn watchlist_tags_are_keyed_per_store() {
        let tag = [5u8; TAG_LEN];
        let c = cipher();
        assert_eq!(c.watchlist_tag(&tag), c.watchlist_tag(&tag));
        assert_ne!(c.watchlist_tag(&tag), tag);
        let other = RowCipher::new(&DataKey::from_bytes([8u8; 32]));
        assert_ne!(c.watchlist_tag(&tag), other.watchlist_tag(&tag));
    }

    #[test]
    fn data_key_debug_hides_bytes_and_checks_length() {
        let key = DataKey::from_bytes([0xAB; 32]);
        assert_eq!(format!("{key:?}"), "DataKey(..)");
        assert!(matches!(
            DataKey::try_from_slice(&[0u8; 16]),
            Err(KeyError::WrongLength { length: 16 })
        ));
    }
}
