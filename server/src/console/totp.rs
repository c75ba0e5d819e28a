//! TOTP (RFC 6238 over RFC 4226): HMAC-SHA1, 30-second steps, 6 digits, the step before and
//! after accepted for clock drift, and no step accepted twice (a code seen once is spent).
//! A few lines over ring's HMAC rather than a crate: the algorithm is small and fixed, and ring
//! is already the server's one cryptography provider.

use ring::hmac;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
const DIGITS: u32 = 6;
/// Secret length in bytes (160 bits, RFC 4226's recommendation).
pub const SECRET_LEN: usize = 20;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (what authenticator apps take).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes [`base32`] (case and spaces ignored); `None` on any other character.
pub fn unbase32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = ALPHABET
            .iter()
            .position(|&a| char::from(a) == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | u32::try_from(value).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The code of `secret` at step `step` (RFC 4226 dynamic truncation).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let digest = tag.as_ref();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    value % 10u32.pow(DIGITS)
}

/// The step of `code` if it is the code of `secret` at the step of `now` or one beside it,
/// and later than `last_step` (the last one accepted): a replayed code is refused.
pub fn verify(secret: &[u8], code: &str, now: i64, last_step: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let given: u32 = code.parse().ok()?;
    let current = now.div_euclid(STEP_SECS);
    (current - 1..=current + 1)
        .filter(|step| *step > last_step)
        .find(|step| {
            // Compared in constant time.
            let expected = format!("{:06}", code_at(secret, *step));
            ring_eq(expected.as_bytes(), format!("{given:06}").as_bytes())
        })
}

fn ring_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (its 8-digit codes, last six digits).
    #[test]
    fn rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(
                code_at(secret, time / STEP_SECS),
                code % 1_000_000,
                "{time}"
            );
        }
    }

    #[test]
    fn base32_round_trips_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(unbase32("mzxw6ytboi").unwrap(), b"foobar");
        assert_eq!(unbase32("MZXW6YQ="), Some(b"foob".to_vec()));
        assert!(unbase32("MZ1").is_none());
    }

    #[test]
    fn a_code_is_spent_once_and_only_near_its_time() {
        let secret = b"12345678901234567890";
        let now = 1_234_567_890;
        let code = format!("{:06}", code_at(secret, now / STEP_SECS));
        let step = verify(secret, &code, now, 0).expect("fresh code");
        assert!(verify(secret, &code, now, step).is_none(), "replayed");
        assert!(verify(secret, &code, now + 120, 0).is_none(), "stale");
        assert!(verify(secret, "12345", now, 0).is_none());
    }
}
