//! The cryptography both sides need: SHA-256, Ed25519 signatures ([`SigningKey`] /
//! [`PublicKey`]: permit QR codes, watchlist manifests, device requests, server commands) and,
//! with the `stretch` feature, the Argon2id stretching of watchlist identifiers
//! ([`StretchParams`], `StretchedKey`). Together with the phone core's `crypto` module this
//! is the only code that names `ring`, so a certified SM2/SM3/SM4 module can replace it
//! without touching business code.

mod signing;
mod stretch;

use ring::aead::{Aad, LessSafeKey, Nonce, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hkdf};
use zeroize::Zeroizing;

pub use signing::{PublicKey, SigningKey, PUBLIC_KEY_LEN, SIGNATURE_LEN};
#[cfg(feature = "stretch")]
pub use stretch::{random_salt, StretchedKey};
pub use stretch::{StretchParams, Tag, EPOCH_SALT_LEN, TAG_LEN};

/// A cryptographic operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A sealed value failed to open: wrong key, or the row was tampered with or moved.
    #[error("sealed value failed authentication")]
    Authentication,
    /// The operating system's random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// Key bytes are not a valid key of the expected kind.
    #[error("invalid key material")]
    InvalidKey,
    /// A signature does not match its message and key.
    #[error("signature does not verify")]
    BadSignature,
    /// Key-stretching parameters are out of range.
    #[error("key-stretching parameters out of range")]
    InvalidParameters,
}

/// SHA-256 of `bytes`: the frozen-payload hash of outbox operations, watchlist payload hashes
/// and key ids.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

/// Fills a buffer from the operating system's CSPRNG.
pub fn random_bytes(out: &mut [u8]) -> Result<(), CryptoError> {
    SystemRandom::new()
        .fill(out)
        .map_err(|_| CryptoError::Random)
}

struct OkmLen(usize);

impl hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// Expands 32 bytes of key material labelled `label` from an HKDF-SHA256 pseudo-random key:
/// every sub-key (row sealing, blind indexes, watchlist tags and details) is derived this way.
pub fn derive(prk: &hkdf::Prk, label: &'static [u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    let info = [label];
    // Expanding 32 bytes from SHA-256 HKDF cannot fail (limit is 255 * 32).
    if let Ok(okm) = prk.expand(&info, OkmLen(32)) {
        let _ = okm.fill(out.as_mut());
    }
    out
}

/// AES-256-GCM under a fresh random nonce with `aad` bound; output nonce || ciphertext || tag.
pub fn seal_with(
    key: &LessSafeKey,
    rng: &SystemRandom,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce).map_err(|_| CryptoError::Random)?;
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| CryptoError::Random)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens what [`seal_with`] made under the same key and `aad`.
pub fn open_with(
    key: &LessSafeKey,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return Err(CryptoError::Authentication);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Authentication)?;
    let mut buffer = Zeroizing::new(body.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad), buffer.as_mut_slice())
        .map_err(|_| CryptoError::Authentication)?
        .len();
    buffer.truncate(plain_len);
    Ok(buffer)
}
