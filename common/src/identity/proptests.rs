//! Property tests: no panics, generated numbers round-trip, single-digit errors are caught,
//! error messages never contain the input.

use chrono::{Datelike, Days, NaiveDate};
use proptest::prelude::*;

use super::number::check_character;
use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 1).unwrap_or_default()
}

/// Characters that identity-number input is made of, plus some that it must reject.
const ALPHABET: &[char] = &[
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X', 'x', '０', '５', '９', 'Ｘ', 'ｘ', ' ',
    '\u{3000}', '\t', '-', 'é', '张', '\u{feff}', '\0', '🀄',
];

fn id_like() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..24)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Strings that are mostly digits, of length around 15 and 18, to reach the later checks.
fn digit_heavy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{17}[0-9Xx]",
        "[0-9]{15}",
        "[0-9Xx]{14,19}",
        "[1-6][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]",
    ]
}

/// A valid number: random six-digit prefix, random date from 1800 to today, random sequence.
fn valid_number() -> impl Strategy<Value = (String, NaiveDate, u32)> {
    let first = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap_or_default();
    let span = u64::try_from((today() - first).num_days()).unwrap_or_default();
    ("[0-9]{6}", 0..=span, 0u32..1000).prop_map(move |(code, days, sequence)| {
        let birth = first.checked_add_days(Days::new(days)).unwrap_or(first);
        let body = format!("{code}{}{sequence:03}", birth.format("%Y%m%d"));
        (with_check(&body), birth, sequence)
    })
}

fn with_check(body: &str) -> String {
    let bytes: [u8; 17] = body.as_bytes().try_into().unwrap_or([b'0'; 17]);
    format!("{body}{}", char::from(check_character(&bytes)))
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(u32::from(c) - u32::from('0') + 0xff10).unwrap_or(c),
            'X' => 'ｘ',
            c => c,
        })
        .collect()
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = parse(&s, today());
    }

    #[test]
    fn never_panics_on_printable_unicode(s in "\\PC{0,40}") {
        let _ = parse(&s, today());
    }

    #[test]
    fn never_panics_on_byte_strings(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse(&s, today());
    }

    #[test]
    fn never_panics_on_id_like_strings(s in id_like(), days in 0u64..80_000) {
        let today = NaiveDate::from_ymd_opt(1900, 1, 1)
            .and_then(|d| d.checked_add_days(Days::new(days)))
            .unwrap_or_default();
        let _ = parse(&s, today);
    }

    #[test]
    fn parse_results_are_consistent(s in digit_heavy()) {
        if let Ok(id) = parse(&s, today()) {
            prop_assert_eq!(id.as_str().len(), 18);
            prop_assert!(id.birth_date() <= today());
            let again = parse(id.as_str(), today());
            prop_assert_eq!(again.as_ref().map(IdNumber::as_str), Ok(id.as_str()));
        }
    }

    #[test]
    fn generated_numbers_parse_and_round_trip((number, birth, sequence) in valid_number()) {
        let id = parse(&number, today());
        prop_assert!(id.is_ok(), "{:?}", id);
        let Ok(id) = id else { return Ok(()) };
        prop_assert_eq!(id.as_str(), number.as_str());
        prop_assert_eq!(id.birth_date(), birth);
        prop_assert_eq!(id.sex() == IdSex::Male, sequence % 2 == 1);
        prop_assert_eq!(id.region_code(), &number[..6]);
        prop_assert_eq!(id.legacy(), None);
        prop_assert!(!id.warnings().contains(&IdWarning::UpgradedFromLegacy));
        if id.kind() != IdKind::Mainland {
            prop_assert!(id.warnings().is_empty());
        }
        prop_assert_eq!(parse(id.as_str(), today()), Ok(id.clone()));
        let variant = format!("\u{3000}{} ", full_width(&number.to_lowercase()));
        prop_assert_eq!(parse(&variant, today()), Ok(id.clone()));
        prop_assert_eq!(parse(&number, birth), Ok(id.clone()));
        if let Some(day_before) = birth.pred_opt() {
            prop_assert_eq!(parse(&number, day_before), Err(IdError::FutureDate));
        }
    }

    #[test]
    fn legacy_numbers_upgrade(
        code in "[1-7][0-9]{5}",
        days in 0u64..36_524,
        sequence in 0u32..1000,
    ) {
        let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
        let birth = first.checked_add_days(Days::new(days)).unwrap_or(first);
        prop_assume!(birth.year() < 2000);
        let legacy = format!("{code}{}{sequence:03}", birth.format("%y%m%d"));
        let expected = with_check(&format!("{code}{}{sequence:03}", birth.format("%Y%m%d")));
        let id = parse(&legacy, today());
        prop_assert!(id.is_ok(), "{:?}", id);
        let Ok(id) = id else { return Ok(()) };
        prop_assert_eq!(id.as_str(), expected.as_str());
        prop_assert_eq!(id.legacy(), Some(legacy.as_str()));
        prop_assert_eq!(id.birth_date(), birth);
        prop_assert_eq!(id.warnings().first(), Some(&IdWarning::UpgradedFromLegacy));
        prop_assert_eq!(parse(&expected, today()).map(|e| e.as_str().to_owned()), Ok(expected.clone()));
    }

    #[test]
    fn single_digit_changes_are_rejected(
        (number, _, _) in valid_number(),
        index in 0usize..17,
        delta in 1u8..10,
    ) {
        let mut bytes = number.into_bytes();
        if let Some(byte) = bytes.get_mut(index) {
            *byte = b'0' + (*byte - b'0' + delta) % 10;
        }
        let changed = String::from_utf8(bytes).unwrap_or_default();
        let result = parse(&changed, today());
        prop_assert!(
            matches!(result, Err(IdError::CheckDigit | IdError::InvalidDate | IdError::FutureDate)),
            "{:?}", result
        );
    }

    #[test]
    fn changed_check_character_is_rejected((number, _, _) in valid_number(), replacement in "[0-9X]") {
        prop_assume!(!number.ends_with(replacement.as_str()));
        let changed = format!("{}{replacement}", &number[..17]);
        prop_assert_eq!(parse(&changed, today()), Err(IdError::CheckDigit));
    }

    #[test]
    fn error_messages_never_contain_the_input(s in prop_oneof![id_like(), digit_heavy()]) {
        if let Err(error) = parse(&s, today()) {
            let message = error.to_string();
            let trimmed = s.trim();
            if trimmed.chars().count() >= 4 {
                prop_assert!(!message.contains(trimmed), "{} / {}", message, trimmed);
                let normalised = full_width(trimmed).to_uppercase();
                prop_assert!(!message.contains(&normalised), "{} / {}", message, normalised);
            }
            // The only digits in a message are those of its position or length.
            let digits: String = message.chars().filter(char::is_ascii_digit).collect();
            let expected = match error {
                IdError::InvalidCharacter { position } => position.to_string(),
                IdError::WrongLength { length } => length.to_string(),
                _ => String::new(),
            };
            prop_assert_eq!(digits, expected);
        }
    }

    #[test]
    fn card_validation_never_panics_nor_leaks(
        fields in prop::collection::vec(prop_oneof![id_like(), digit_heavy(), "\\PC{0,12}"], 9),
    ) {
        let field = |i: usize| fields.get(i).cloned().unwrap_or_default();
        let reading = CardReading {
            name: field(0),
            sex: field(1),
            ethnicity: field(2),
            birth_date: field(3),
            address: field(4),
            id_number: field(5),
            issuing_authority: field(6),
            valid_from: field(7),
            valid_until: field(8),
        };
        if let Err(error) = validate_card(&reading, today()) {
            let message = error.to_string();
            let value = reading.id_number.trim();
            if value.chars().count() >= 4 {
                prop_assert!(!message.contains(value), "{}", message);
            }
        }
    }
}
