//! Ed25519 signatures: signed permit QR codes, watchlist manifests, device requests and server
//! commands all go through these two types.

use ring::rand::SystemRandom;
use ring::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use zeroize::Zeroizing;

use super::{sha256, CryptoError};

/// Length of an Ed25519 signature in bytes.
pub const SIGNATURE_LEN: usize = 64;
/// Length of an Ed25519 public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;

/// A private Ed25519 key. Its PKCS#8 document is kept in a zeroizing buffer.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl SigningKey {
    /// Generates a new key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| CryptoError::Random)?;
        Self::from_pkcs8(document.as_ref())
    }

    /// Loads a key from the PKCS#8 v2 document [`SigningKey::pkcs8`] returned.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| CryptoError::InvalidKey)?;
        Ok(Self {
            pair,
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
        })
    }

    /// The PKCS#8 document, for a caller that must persist or wrap the key.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        let mut bytes = [0u8; PUBLIC_KEY_LEN];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(bytes)
    }

    /// Signs a message.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public_key().key_id())
    }
}

/// A public Ed25519 key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; PUBLIC_KEY_LEN]);

impl PublicKey {
    /// Wraps a public key from a slice. Anything but the 32-byte encoding of a curve point of
    /// large order is an invalid key: a small-order point (the all-zero key among them) is a
    /// key under which signatures can be made without any secret (ring verifies a signature of
    /// zeros under the all-zero key for about one message in four), so a device, issuer or signer that chose one could sign
    /// deniably, or let anyone sign in its name.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: [u8; PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::InvalidKey)?;
        let point = curve25519_dalek::edwards::CompressedEdwardsY(bytes)
            .decompress()
            .ok_or(CryptoError::InvalidKey)?;
        if point.is_small_order() {
            return Err(CryptoError::InvalidKey);
        }
        Ok(Self(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    /// A short, stable name for the key: the first 8 bytes of its SHA-256, in hex.
    pub fn key_id(&self) -> String {
        sha256(&self.0)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Checks a signature over a message.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, signature)
            .map_err(|_| CryptoError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let key = SigningKey::generate().unwrap();
        let signature = key.sign(b"permit 1");
        let public = key.public_key();
        public.verify(b"permit 1", &signature).unwrap();
        assert!(public.verify(b"permit 2", &signature).is_err());
        assert!(public.verify(b"permit 1", &signature[..63]).is_err());
        let other = SigningKey::generate().unwrap().public_key();
        assert!(other.verify(b"permit 1", &signature).is_err());
    }

    #[test]
    fn a_key_survives_its_pkcs8_round_trip() {
        let key = SigningKey::generate().unwrap();
        let again = SigningKey::from_pkcs8(key.pkcs8()).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        assert_eq!(key.public_key().key_id().len(), 16);
        assert!(SigningKey::from_pkcs8(b"not a key").is_err());
        assert!(PublicKey::try_from_slice(&[0u8; 31]).is_err());
    }

    /// The attacker picks a weak key: under the all-zero key ring verifies a signature of zeros
    /// for about one message in four, so such a key must never be taken. Every small-order point (the
    /// curve's 8 torsion points, in each encoding) and a non-point are refused; real keys are
    /// taken.
    #[test]
    fn a_small_order_key_under_which_anyone_can_sign_is_refused() {
        use curve25519_dalek::constants::EIGHT_TORSION;

        // The attack this guards against: a signature made with no secret. Under the all-zero
        // key, zeros verify for about one message in four; the forger varies a nonce.
        let forged = [0u8; SIGNATURE_LEN];
        let zero = PublicKey([0u8; PUBLIC_KEY_LEN]);
        let accepted = (0..64)
            .filter(|nonce| {
                zero.verify(format!("request {nonce}").as_bytes(), &forged)
                    .is_ok()
            })
            .count();
        assert!(accepted > 0, "ring accepted no forged signature");
        assert!(PublicKey::try_from_slice(&[0u8; PUBLIC_KEY_LEN]).is_err());
        for point in EIGHT_TORSION {
            let mut bytes = point.compress().to_bytes();
            assert!(PublicKey::try_from_slice(&bytes).is_err(), "{bytes:?}");
            // The same point with the sign bit flipped (a non-canonical encoding).
            bytes[31] ^= 0x80;
            assert!(PublicKey::try_from_slice(&bytes).is_err(), "{bytes:?}");
        }
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; PUBLIC_KEY_LEN];
        off_curve[0] = 2;
        assert!(PublicKey::try_from_slice(&off_curve).is_err());
        for _ in 0..32 {
            let key = SigningKey::generate().unwrap().public_key();
            assert_eq!(PublicKey::try_from_slice(key.as_bytes()).unwrap(), key);
        }
    }
}
