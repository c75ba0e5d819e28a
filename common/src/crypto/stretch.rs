//! Memory-hard stretching of watchlist identifiers (Argon2id), and the two keys one stretched
//! identifier yields: a short look-up tag and a key that seals the entry's details.
//!
//! Why here: this is key derivation and sealing, and `crypto` is the one module that names
//! `ring`; an SM3/SM4 module replacing ring would replace this file too. The watchlist
//! module only sees tags and sealed bytes.
//!
//! The cost parameters and tag types are part of the signed list format and always present;
//! the derivation itself (Argon2id) is behind the `stretch` feature.

#[cfg(feature = "stretch")]
use argon2::{Algorithm, Argon2, Params, Version};
#[cfg(feature = "stretch")]
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
#[cfg(feature = "stretch")]
use ring::hkdf;
#[cfg(feature = "stretch")]
use ring::rand::SystemRandom;
use serde::{Deserialize, Serialize};
#[cfg(feature = "stretch")]
use zeroize::Zeroizing;

#[cfg(feature = "stretch")]
use super::{derive, open_with, random_bytes, seal_with, CryptoError};

/// Length of a watchlist look-up tag in bytes (128 bits: no collisions among billions).
pub const TAG_LEN: usize = 16;
/// Length of a key epoch's salt in bytes.
pub const EPOCH_SALT_LEN: usize = 32;

/// A look-up tag: the truncated output of stretching one identifier under one epoch salt.
pub type Tag = [u8; TAG_LEN];

/// Argon2id cost of one derivation. Carried, signed, in every list manifest, so the server
/// can raise it per key epoch without a phone release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StretchParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes over the memory.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl StretchParams {
    /// The field setting: 16 MiB, 1 pass, 1 lane (about 11-13 ms of CPU per derivation on one
    /// core of the 2-core VM, inside the 20 ms budget of one check; see the README's watchlist
    /// section for the attacker figures).
    pub const FIELD: Self = Self {
        m_kib: 16 * 1024,
        t: 1,
        p: 1,
    };

    /// The smallest cost a list may declare. Lower is only for tests and benchmark fixtures
    /// that are labelled as such; a phone build refuses anything below
    /// [`StretchParams::FIELD`] through the watchlist policy.
    pub const MINIMUM: Self = Self {
        m_kib: 8,
        t: 1,
        p: 1,
    };

    /// Whether this setting costs at least as much as `floor` in every dimension.
    pub fn at_least(&self, floor: &StretchParams) -> bool {
        self.m_kib >= floor.m_kib && self.t >= floor.t
    }
}

#[cfg(feature = "stretch")]
impl StretchParams {
    /// Upper bounds keep a forged or mistaken manifest from exhausting the phone's memory.
    const MAX_M_KIB: u32 = 256 * 1024;
    const MAX_T: u32 = 16;
    const MAX_P: u32 = 4;

    fn argon2(&self) -> Result<Argon2<'static>, CryptoError> {
        if self.m_kib > Self::MAX_M_KIB || self.t > Self::MAX_T || self.p > Self::MAX_P {
            return Err(CryptoError::InvalidParameters);
        }
        let params = Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|_| CryptoError::InvalidParameters)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Whether these parameters can be used at all.
    pub fn check(&self) -> Result<(), CryptoError> {
        self.argon2().map(|_| ())
    }
}

/// A fresh random epoch salt.
#[cfg(feature = "stretch")]
pub fn random_salt() -> Result<[u8; EPOCH_SALT_LEN], CryptoError> {
    let mut salt = [0u8; EPOCH_SALT_LEN];
    random_bytes(&mut salt)?;
    Ok(salt)
}

/// The keys one identifier yields in one key epoch. Only someone presenting the identifier
/// (and paying one Argon2id derivation) gets them.
#[cfg(feature = "stretch")]
pub struct StretchedKey {
    tag: Tag,
    details: LessSafeKey,
}

#[cfg(feature = "stretch")]
impl StretchedKey {
    /// Stretches `value` in `domain` (e.g. `id`, `name-hanzi`) under the epoch salt.
    pub fn derive(
        params: &StretchParams,
        salt: &[u8; EPOCH_SALT_LEN],
        domain: &str,
        value: &str,
    ) -> Result<Self, CryptoError> {
        let argon2 = params.argon2()?;
        let mut password = Zeroizing::new(Vec::with_capacity(domain.len() + 1 + value.len()));
        password.extend_from_slice(b"lgt-watchlist/v1/");
        password.extend_from_slice(domain.as_bytes());
        password.push(0);
        password.extend_from_slice(value.as_bytes());
        let mut seed = Zeroizing::new([0u8; 32]);
        argon2
            .hash_password_into(&password, salt, seed.as_mut())
            .map_err(|_| CryptoError::InvalidParameters)?;
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"lgt-watchlist/v1").extract(seed.as_ref());
        let tag_bytes = derive(&prk, b"tag");
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&tag_bytes[..TAG_LEN]);
        let details = UnboundKey::new(&AES_256_GCM, derive(&prk, b"details").as_ref())
            .map(LessSafeKey::new)
            .map_err(|_| CryptoError::InvalidKey)?;
        Ok(Self { tag, details })
    }

    /// The look-up tag.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// Seals an entry's details under this identifier's own key, bound to its tag.
    /// Output: nonce || ciphertext || tag.
    pub fn seal_details(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_with(&self.details, &SystemRandom::new(), &self.tag, plaintext)
    }

    /// Opens details sealed by [`StretchedKey::seal_details`] for the same identifier.
    pub fn open_details(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open_with(&self.details, &self.tag, sealed)
    }
}

#[cfg(all(test, feature = "stretch"))]
mod tests {
    use super::*;

    const CHEAP: StretchParams = StretchParams::MINIMUM;

    #[test]
    fn tags_depend_on_value_domain_salt_and_cost() {
        let salt = [1u8; EPOCH_SALT_LEN];
        let tag = |p: &StretchParams, s: &[u8; 32], d: &str, v: &str| {
            StretchedKey::derive(p, s, d, v).unwrap().tag()
        };
        let base = tag(&CHEAP, &salt, "id", "110101202311012176");
        assert_eq!(base, tag(&CHEAP, &salt, "id", "110101202311012176"));
        assert_ne!(base, tag(&CHEAP, &salt, "id", "110101202311012171"));
        assert_ne!(base, tag(&CHEAP, &salt, "name", "110101202311012176"));
        assert_ne!(base, tag(&CHEAP, &[2u8; 32], "id", "110101202311012176"));
        let dearer = StretchParams { t: 2, ..CHEAP };
        assert_ne!(base, tag(&dearer, &salt, "id", "110101202311012176"));
    }

    #[test]
    fn details_open_only_with_the_same_identifier() {
        let salt = [3u8; EPOCH_SALT_LEN];
        let key = StretchedKey::derive(&CHEAP, &salt, "id", "11010519491231002X").unwrap();
        let sealed = key.seal_details(b"case 17: do not confront").unwrap();
        assert_eq!(
            &key.open_details(&sealed).unwrap()[..],
            b"case 17: do not confront"
        );
        let other = StretchedKey::derive(&CHEAP, &salt, "id", "110101202311012176").unwrap();
        assert!(other.open_details(&sealed).is_err());
        assert!(key.open_details(&sealed[..10]).is_err());
    }

    #[test]
    fn absurd_costs_are_refused_not_attempted() {
        let salt = [0u8; EPOCH_SALT_LEN];
        for params in [
            StretchParams {
                m_kib: 1 << 30,
                t: 1,
                p: 1,
            },
            StretchParams {
                m_kib: 64,
                t: 0,
                p: 1,
            },
            StretchParams {
                m_kib: 64,
                t: 1,
                p: 0,
            },
            StretchParams {
                m_kib: 1,
                t: 1,
                p: 1,
            },
        ] {
            assert!(params.check().is_err(), "{params:?}");
            assert!(StretchedKey::derive(&params, &salt, "id", "x").is_err());
        }
        assert!(StretchParams::FIELD.at_least(&StretchParams::MINIMUM));
        assert!(!StretchParams::MINIMUM.at_least(&StretchParams::FIELD));
    }
}
