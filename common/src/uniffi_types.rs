//! Field types UniFFI cannot carry as they are, as custom types (only with the `uniffi`
//! feature). `lgt-core` reuses them with `uniffi::use_remote_type!`, so each crosses under one
//! name in every namespace.

use chrono::NaiveDate;

/// A calendar date, `YYYY-MM-DD` (the form the store writes and the forms are filled in).
type IsoDate = NaiveDate;

uniffi::custom_type!(IsoDate, String, {
    remote,
    lower: |date| date.format("%Y-%m-%d").to_string(),
    try_lift: |text| Ok(NaiveDate::parse_from_str(&text, "%Y-%m-%d")?),
});
