//! Fuzzes the identity-number parser and the chip-reader path.
//!
//! `parse` must never panic, every number it accepts must be canonical and parse again to
//! itself, and no error message may contain the input. Inputs that look like JSON objects are
//! also read as a `CardReading` and validated.
#![no_main]

use chrono::NaiveDate;
use lgt_core::identity::{parse, validate_card, CardReading};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Some(today) = NaiveDate::from_ymd_opt(2025, 6, 1) else {
        return;
    };
    match parse(input, today) {
        Ok(id) => {
            let canonical = id.as_str();
            assert_eq!(canonical.len(), 18);
            assert!(id.birth_date() <= today);
            let again = parse(canonical, today).expect("a canonical number parses again");
            assert_eq!(again.as_str(), canonical);
            if let Some(legacy) = id.legacy() {
                assert_eq!(legacy.len(), 15);
            }
        }
        Err(error) => {
            // No part of the input in the message: its only digits are a position or length,
            // so an input with four or more digits can never be contained in it.
            let message = error.to_string();
            let digits = |s: &str| s.chars().filter(char::is_ascii_digit).count();
            assert!(digits(&message) <= 20);
            let trimmed = input.trim();
            assert!(digits(trimmed) < 4 || !message.contains(trimmed));
        }
    }
    if input.trim_start().starts_with('{') {
        if let Ok(reading) = serde_json::from_str::<CardReading>(input) {
            let _ = validate_card(&reading, today);
        }
    }
});
