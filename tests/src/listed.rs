//! Watchlist entries for the end-to-end tests.

use chrono::NaiveDate;
use lgt_core::registration::RegistrationInput;
use lgt_publisher::ListedPerson;

/// The listed form of a synthetic registration's person.
pub fn listed(entry_ref: &str, input: &RegistrationInput) -> ListedPerson {
    let birth = input.person.birth_date.as_deref().expect("a birth date");
    ListedPerson {
        entry_ref: entry_ref.into(),
        name: input.person.name.clone(),
        sex: input.person.sex.clone(),
        birth_date: NaiveDate::parse_from_str(birth, "%Y-%m-%d").expect("a date"),
        id_numbers: vec![input.document.number.clone()],
        case_summary: "synthetic case".into(),
        instructions: "do not confront; call the duty officer".into(),
    }
}
