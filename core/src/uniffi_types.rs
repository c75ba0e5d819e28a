//! The core's field types that UniFFI cannot carry as they are, as UniFFI custom types: each
//! crosses the FFI as a plain bridge type (text, a number, a map) under the name given here.
//! Only with the `uniffi` feature (the bindings crate).
//!
//! Dates and instants cross as ISO 8601 text in the forms the store itself writes, so the
//! shells show and compare them without a date library of their own.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use lgt_common::codes::CodeTableId;
use lgt_protocol::{Bucket, ServerPin};
use uniffi::deps::anyhow::anyhow;

// A calendar date, `YYYY-MM-DD`: lgt-common's `IsoDate` (its permits carry dates too), so the
// bindings have one date type.
uniffi::use_remote_type!(lgt_common::NaiveDate);

/// An instant, RFC 3339 in UTC with microseconds (`2026-11-29T02:00:00.000000Z`).
type IsoDateTime = DateTime<Utc>;

uniffi::custom_type!(IsoDateTime, String, {
    remote,
    lower: |at| at.to_rfc3339_opts(SecondsFormat::Micros, true),
    try_lift: |text| Ok(DateTime::parse_from_rfc3339(&text)?.with_timezone(&Utc)),
});

/// A count (`usize` in the core), as an unsigned 64-bit number.
type Count = usize;

uniffi::custom_type!(Count, u64, {
    remote,
    lower: |count| u64::try_from(count).unwrap_or(u64::MAX),
    try_lift: |count| Ok(usize::try_from(count)?),
});

/// The versions of the code tables a registration was validated against, by table (a map in
/// the bindings; ordered by table in the core, for the sealed record's stable encoding).
type CodeVersions = BTreeMap<CodeTableId, String>;

uniffi::custom_type!(CodeVersions, HashMap<CodeTableId, String>, {
    remote,
    lower: |versions| versions.into_iter().collect(),
    try_lift: |versions| Ok(versions.into_iter().collect()),
});

// A sync bucket by its protocol name (`permits`, `records`, `watchlist`, ...).
uniffi::custom_type!(Bucket, String, {
    remote,
    lower: |bucket| bucket.as_str().to_owned(),
    try_lift: |name| {
        Bucket::ALL
            .into_iter()
            .find(|bucket| bucket.as_str() == name)
            .ok_or_else(|| anyhow!("unknown sync bucket"))
    },
});

// A server TLS key pin, `sha256/<base64>`.
uniffi::custom_type!(ServerPin, String, {
    remote,
    lower: |pin| pin.to_string(),
    try_lift: |pin| Ok(pin.parse::<ServerPin>()?),
});
