//! The fuzz targets' bodies, one function per target, shared with the stable replay test.
//!
//! Each `fuzz_targets/<name>.rs` hands libFuzzer's bytes to the function of that name here.
//! `core/tests/fuzz_replay.rs` includes this very file and feeds every committed seed
//! (`core/fuzz/seeds/<name>/`) and regression input (`core/fuzz/regressions/<name>/`) to
//! [`run`], so an input that once crashed a target is replayed by an ordinary `cargo test` on
//! stable.
//!
//! Each function calls the entry point the product calls on bytes it did not make (the network,
//! a file, the camera, a chip reader), asserts that parser's properties (no panic; what
//! decodes encodes again and decodes to the same value; no error carries the input) and returns
//! whether the input was accepted, so the replay test can check that the seeds are still real
//! encodings of the real types.
//!
//! Only public APIs of lgt-core, lgt-protocol and lgt-common, and no dependency lgt-core does not
//! have (this file is also a module of lgt-core's tests).

use std::fmt::Debug;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{Days, Months, NaiveDate};
use lgt_core::codes::{self, CodeTableId};
use lgt_core::crypto::{PublicKey, SigningKey};
use lgt_core::identity::{parse, validate_card, CardReading, CardValidity};
use lgt_core::permit::{Permit, PermitEvent, PermitState};
use lgt_core::scan::permit_qr::{self, PermitQrError};
use lgt_core::scan::{interpret, LumaFrame, Mode, Region, ScanOptions, Scanner};
use lgt_core::sync::verify_command;
use lgt_core::watchlist::{ListPackage, Payload as ListPayload};
use lgt_protocol::{
    command_signing_message, device_key_proof_message, hex, unhex, AuditAnchorRequest,
    AuditAnchorResponse, Bucket, Command, CommandAction, DeviceKeyRequest, DeviceKeyResponse,
    EnrollRequest, EnrollResponse, ErrorBody, IssuerEntry, IssuerKeyPayload, NumbersRequest,
    NumbersResponse, PullRequest, PullResponse, PushRequest, PushResponse, ServerPin,
    SignedCommand, WatchlistEntry, ISSUER_KEY_OPERATION,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Every target, by the name of its `fuzz_targets/<name>.rs` and of its seed and regression
/// folders.
pub const TARGETS: [&str; 9] = [
    "identity_parse",
    "watchlist_package",
    "scan_payload",
    "scan_frame",
    "sync_answers",
    "signed_command",
    "permit_qr",
    "card_reading",
    "server_requests",
];

/// Runs `target` on `data`: whether the input was accepted, or `None` for an unknown target.
pub fn run(target: &str, data: &[u8]) -> Option<bool> {
    Some(match target {
        "identity_parse" => identity_parse(data),
        "watchlist_package" => watchlist_package(data),
        "scan_payload" => scan_payload(data),
        "scan_frame" => scan_frame(data),
        "sync_answers" => sync_answers(data),
        "signed_command" => signed_command(data),
        "permit_qr" => permit_qr(data),
        "card_reading" => card_reading(data),
        "server_requests" => server_requests(data),
        _ => return None,
    })
}

/// The device the command targets are run as.
pub const DEVICE_ID: &str = "0190f5c2-0000-7000-8000-00000000f022";

/// The PKCS#8 v2 document of the fuzz key: Ed25519 with the seed SHA-256("lgt-fuzz-key-1").
/// A published test key that signs nothing real: the seeds' signed commands and permit codes
/// are signed by it, and the targets verify against it.
const FUZZ_KEY_PKCS8: &str = "3053020101300506032b65700422042001e4ce658b7d737f0f93c89e26ec095ebb2a515e36bed91bc1ea75c0e28fc25ea12303210043e935426ee7c6e043b5087436576a25ac22287276a76ba6c04cc26f772c5b14";
/// A second test key (seed SHA-256("lgt-fuzz-key-2")): what the fuzz key signed must not
/// verify under it.
const OTHER_KEY_PKCS8: &str = "3053020101300506032b6570042204205ac50b5d39e72a063274fcffee73aa2c94b9cd949023fd5ddd14ae98cc077853a123032100ff8fc86ddb232df131df8fa44687f3db2a073a4d3dacd8ec53d0a8ceedc252cf";

fn key(pkcs8: &str) -> SigningKey {
    let document = unhex(pkcs8).expect("the test key is hex");
    SigningKey::from_pkcs8(&document).expect("the test key is a PKCS#8 v2 Ed25519 key")
}

/// The fuzz key (see [`FUZZ_KEY_PKCS8`]).
pub fn fuzz_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| key(FUZZ_KEY_PKCS8))
}

/// The second test key (see [`OTHER_KEY_PKCS8`]).
pub fn other_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| key(OTHER_KEY_PKCS8))
}

/// The day the targets check dates against.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 10).expect("a real date")
}

/// `value` encodes, and its encoding decodes to the same value.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let bytes = serde_json::to_vec(value).expect("a decoded value encodes");
    let again: T = serde_json::from_slice(&bytes).expect("an encoded value decodes");
    assert_eq!(&again, value, "decoding the encoding gives another value");
}

/// `data` as `T` (as the product decodes it: `serde_json::from_slice`), checked to round-trip.
fn decode<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let value = serde_json::from_slice::<T>(data).ok()?;
    round_trip(&value);
    Some(value)
}

/// [`unhex`], checked: whatever it accepts is hex, and is the hex of what it gives back.
fn unhex_checked(text: &str) -> Option<Vec<u8>> {
    let bytes = unhex(text)?;
    assert!(
        hex(&bytes).eq_ignore_ascii_case(text),
        "unhex accepted text that is not the hex of its bytes"
    );
    Some(bytes)
}

fn digits(text: &str) -> usize {
    text.chars().filter(char::is_ascii_digit).count()
}

// ---------------------------------------------------------------------------------------------
// identity_parse: typed or scanned identity numbers.

/// `identity::parse` never panics, accepted numbers are canonical and parse again to
/// themselves, and no error message contains the input. Inputs that look like JSON objects are
/// also read as a `CardReading` and validated.
pub fn identity_parse(data: &[u8]) -> bool {
    let Ok(input) = std::str::from_utf8(data) else {
        return false;
    };
    let Some(today) = NaiveDate::from_ymd_opt(2025, 6, 1) else {
        return false;
    };
    let accepted = match parse(input, today) {
        Ok(id) => {
            let canonical = id.as_str();
            assert_eq!(canonical.len(), 18);
            assert!(id.birth_date() <= today);
            let again = parse(canonical, today).expect("a canonical number parses again");
            assert_eq!(again.as_str(), canonical);
            if let Some(legacy) = id.legacy() {
                assert_eq!(legacy.len(), 15);
            }
            true
        }
        Err(error) => {
            // No part of the input in the message: its only digits are a position or length,
            // so an input with four or more digits can never be contained in it.
            let message = error.to_string();
            assert!(digits(&message) <= 20);
            let trimmed = input.trim();
            assert!(digits(trimmed) < 4 || !message.contains(trimmed));
            false
        }
    };
    if input.trim_start().starts_with('{') {
        if let Ok(reading) = serde_json::from_str::<CardReading>(input) {
            return validate_card(&reading, today).is_ok() || accepted;
        }
    }
    accepted
}

// ---------------------------------------------------------------------------------------------
// watchlist_package: list packages (a file or the watchlist bucket) and their payloads.

/// The watchlist package and payload decoders never panic, and whatever they accept re-encodes
/// to the very same bytes.
pub fn watchlist_package(data: &[u8]) -> bool {
    let mut accepted = false;
    if let Ok(package) = ListPackage::from_bytes(data) {
        assert_eq!(package.to_bytes(), data);
        let _ = package.unverified_manifest();
        accepted = true;
    }
    if let Ok(payload) = ListPayload::decode(data) {
        assert_eq!(payload.encode(), data);
        accepted = true;
    }
    accepted
}

// ---------------------------------------------------------------------------------------------
// scan_payload: the text of a decoded barcode.

/// `interpret` never panics; an accepted identity number is canonical; a parsed permit code
/// verifies under no key but its own; nothing the interpreter reports as an error carries the
/// input. Accepted: anything but `Unknown`.
pub fn scan_payload(data: &[u8]) -> bool {
    use lgt_core::scan::Payload;
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let today = today();
    let payload = interpret(text, today);
    match &payload {
        Payload::IdNumber(Ok(id)) => assert_eq!(id.as_str().len(), 18),
        Payload::IdNumber(Err(error)) => {
            let trimmed = text.trim();
            assert!(trimmed.len() < 4 || !error.to_string().contains(trimmed));
        }
        Payload::Permit(Ok(signed)) => {
            // A fresh random key never verifies a fuzzed signature.
            if let Ok(key) = SigningKey::generate() {
                assert!(signed.verify(Some(&key.public_key()), today).is_err());
            }
        }
        Payload::Permit(Err(error)) => {
            assert!(!error.to_string().contains(text.trim()) || text.trim().len() < 4);
        }
        Payload::DoorPlate(plate) => {
            assert!(!plate.house_code.is_empty() && plate.house_code.len() <= 64);
        }
        Payload::Ctid | Payload::Unknown => {}
    }
    !matches!(payload, Payload::Unknown)
}

// ---------------------------------------------------------------------------------------------
// scan_frame: camera frames.

/// Arbitrary dimensions, strides, regions and pixels: no panic escapes `Scanner::decode`
/// (rxing's own are contained and reported as `DecoderPanicked`), a malformed frame is an
/// error, never an out-of-bounds read. The first 8 bytes are the header: width - 1, height - 1,
/// extra stride, flags (bit 0 still, bit 1 region), region x, y, width, height. Accepted: a
/// symbol was decoded.
pub fn scan_frame(data: &[u8]) -> bool {
    if data.len() < 8 {
        return false;
    }
    let (header, pixels) = data.split_at(8);
    let width = u32::from(header[0]) + 1;
    let height = u32::from(header[1]) + 1;
    let row_stride = width + u32::from(header[2] % 8);
    let mode = if header[3] & 1 == 0 {
        Mode::Live
    } else {
        Mode::Still
    };
    let mut options = ScanOptions::new(mode);
    if header[3] & 2 != 0 {
        options = options.with_region(Region {
            x: u32::from(header[4]),
            y: u32::from(header[5]),
            width: u32::from(header[6]),
            height: u32::from(header[7]),
        });
    }
    let frame = LumaFrame {
        data: pixels,
        width,
        height,
        row_stride,
    };
    matches!(Scanner::new().decode(&frame, &options), Ok(Some(_)))
}

// ---------------------------------------------------------------------------------------------
// sync_answers: what the phone decodes from the sync server.

/// The sync server's answers as the phone's client decodes them (`serde_json::from_slice` of
/// the body into the endpoint's answer type, or an error body), each checked to round-trip;
/// every entry of a decoded pull page goes to its bucket's decoder, and the input itself is
/// also tried as each bucket's entry data and as a server pin.
pub fn sync_answers(data: &[u8]) -> bool {
    let mut accepted = false;
    accepted |= decode::<EnrollResponse>(data).is_some_and(|enrolled| {
        // The phone pins the command key it is given.
        let _ = unhex_checked(&enrolled.command_key).map(|b| PublicKey::try_from_slice(&b));
        true
    });
    accepted |= decode::<PushResponse>(data).is_some_and(|pushed| {
        for result in &pushed.results {
            let _ = result.op_id();
        }
        true
    });
    accepted |= decode::<PullResponse>(data).is_some_and(|pulled| {
        for page in &pulled.buckets {
            for entry in &page.entries {
                if let Some(value) = &entry.data {
                    bucket_entry(page.bucket, value.as_bytes());
                }
            }
        }
        true
    });
    accepted |= decode::<NumbersResponse>(data).is_some();
    accepted |= decode::<DeviceKeyResponse>(data).is_some();
    accepted |= decode::<AuditAnchorResponse>(data).is_some();
    accepted |= decode::<ErrorBody>(data).is_some();
    for bucket in Bucket::ALL {
        accepted |= bucket_entry(bucket, data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pin) = text.parse::<ServerPin>() {
            assert_eq!(pin.to_string().parse::<ServerPin>(), Ok(pin));
            accepted = true;
        }
    }
    accepted
}

/// One entry's data, as the applier of `bucket` decodes it. The `records` bucket's entry types
/// are private to the core's replica merge: not reached here.
fn bucket_entry(bucket: Bucket, data: &[u8]) -> bool {
    match bucket {
        Bucket::Records => false,
        Bucket::Permits => decode::<Permit>(data).is_some_and(|permit| {
            server_permit(&permit);
            true
        }),
        Bucket::Issuers => decode::<IssuerEntry>(data).is_some_and(|issuer| {
            if let Some(key) = unhex_checked(&issuer.public_key)
                .and_then(|bytes| PublicKey::try_from_slice(&bytes).ok())
            {
                assert_eq!(key.key_id().len(), 16);
            }
            true
        }),
        Bucket::Watchlist => decode::<WatchlistEntry>(data).is_some_and(|entry| {
            if let Some(bytes) = entry.package_bytes() {
                let again = WatchlistEntry::new(entry.version, &bytes);
                assert_eq!(again.package_bytes().as_ref(), Some(&bytes));
                if let Ok(package) = ListPackage::from_bytes(&bytes) {
                    assert_eq!(package.to_bytes(), bytes);
                }
            }
            true
        }),
        Bucket::Commands => std::str::from_utf8(data).is_ok_and(|text| {
            command_entry(text, false) || decode::<SignedCommand>(data).is_some()
        }),
    }
}

/// A permit as the server sent it: the coordinator's events on it, on days around its own,
/// never panic, and each one applied moves it one version on.
fn server_permit(permit: &Permit) {
    let today = today();
    let mut days = vec![today];
    for day in [permit.issued_on, permit.endorsement_due]
        .into_iter()
        .flatten()
    {
        days.extend(day.checked_sub_months(Months::new(1)));
        days.extend(day.checked_sub_days(Days::new(1)));
        days.push(day);
        days.extend(day.checked_add_days(Days::new(1)));
    }
    let events = [
        PermitEvent::Issue {
            number: "FZ0001".into(),
        },
        PermitEvent::Deliver,
        PermitEvent::Endorse,
        PermitEvent::Suspend,
        PermitEvent::Restore,
        PermitEvent::ChangeAddress {
            dwelling: permit.dwelling.clone(),
        },
        PermitEvent::Cancel { reason: "1".into() },
    ];
    for on in days {
        for event in &events {
            apply_checked(permit, event, on);
        }
    }
}

/// `permit.apply(event, on)`, checked: an applied event moves the permit one version on and
/// keeps what it is; nothing leaves a cancelled permit.
fn apply_checked(permit: &Permit, event: &PermitEvent, on: NaiveDate) -> bool {
    match permit.apply(event, on) {
        Ok(next) => {
            assert_eq!(Some(next.version), permit.version.checked_add(1));
            assert_eq!(next.id, permit.id);
            assert_eq!(next.person_id, permit.person_id);
            assert_ne!(permit.state, PermitState::Cancelled);
            round_trip(&next);
            true
        }
        Err(error) => {
            assert!(!error.code().is_empty());
            let _ = error.to_string();
            false
        }
    }
}

// ---------------------------------------------------------------------------------------------
// signed_command: the commands bucket's signed orders.

/// A `commands` bucket entry through the phone's verification (`sync::verify_command`, what the
/// engine runs before it records an order), with the fuzz key pinned. The first byte is flags:
/// bit 0, the device reaches its server over plain HTTP; bit 1, the rest is the command's JSON
/// text, which is signed here with the fuzz key (so the fuzzer reaches what follows the
/// signature check); otherwise the rest is the entry's data as the server sent it.
pub fn signed_command(data: &[u8]) -> bool {
    let Some((&flags, rest)) = data.split_first() else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return false;
    };
    let plain_http = flags & 1 != 0;
    if flags & 2 == 0 {
        return command_entry(text, plain_http);
    }
    let signed = SignedCommand {
        command: text.to_owned(),
        signature: hex(&fuzz_key().sign(&command_signing_message(text))),
    };
    let entry = serde_json::to_string(&signed).expect("a signed command encodes");
    command_entry(&entry, plain_http)
}

/// Verifies one entry's data under the fuzz key: a command that verifies is for this device,
/// round-trips, verifies under no other key and for no other device, and passed the checks of
/// its action.
fn command_entry(data: &str, plain_http: bool) -> bool {
    if let Some(signed) = decode::<SignedCommand>(data.as_bytes()) {
        let _ = unhex_checked(&signed.signature);
    }
    let key = fuzz_key().public_key();
    let command = match verify_command(&key, DEVICE_ID, plain_http, data) {
        Ok(command) => command,
        Err(reason) => {
            assert!(!reason.is_empty());
            return false;
        }
    };
    assert_eq!(command.device_id, DEVICE_ID);
    round_trip::<Command>(&command);
    assert!(verify_command(&other_key().public_key(), DEVICE_ID, plain_http, data).is_err());
    assert!(verify_command(&key, "another-device", plain_http, data).is_err());
    match &command.action {
        CommandAction::MinClientVersion { version } => {
            let parts: Vec<&str> = version.trim().split('.').collect();
            assert_eq!(parts.len(), 3);
            assert!(parts.iter().all(|part| part.parse::<u64>().is_ok()));
        }
        CommandAction::TrustServerKeys { pins } => {
            assert!(!pins.is_empty() && !plain_http);
        }
        CommandAction::RotateCommandKey { key } => {
            let bytes = unhex_checked(key).expect("a verified command key is hex");
            assert!(PublicKey::try_from_slice(&bytes).is_ok());
        }
        CommandAction::Wipe | CommandAction::RotateDeviceKey => {}
    }
    true
}

// ---------------------------------------------------------------------------------------------
// permit_qr: signed residence-permit QR payloads.

/// `permit_qr::parse`, the parser of the signed permit QR payload (camera or typed), and the
/// verification of what it accepts. The first byte is flags: bit 0, the rest is the claim's JSON
/// body, which is wrapped and signed here with the fuzz key (so the fuzzer works on the claim,
/// not on base64); otherwise the rest is the QR text. Whatever parses is well formed, verifies
/// under no key but its issuer's, gets the verdict its dates call for, and signs again into a
/// code that parses back to the same claim.
pub fn permit_qr(data: &[u8]) -> bool {
    let Some((&flags, rest)) = data.split_first() else {
        return false;
    };
    let wrapped = flags & 1 != 0;
    let text = if wrapped {
        let signature = fuzz_key().sign(&[permit_qr::PREFIX.as_bytes(), rest].concat());
        format!(
            "{}{}.{}",
            permit_qr::PREFIX,
            URL_SAFE_NO_PAD.encode(rest),
            URL_SAFE_NO_PAD.encode(signature)
        )
    } else {
        match std::str::from_utf8(rest) {
            Ok(text) => text.to_owned(),
            Err(_) => return false,
        }
    };
    let signed = match permit_qr::parse(&text) {
        Ok(signed) => signed,
        Err(error) => {
            assert_eq!(error, PermitQrError::Malformed);
            return false;
        }
    };
    let today = today();
    let claim = &signed.claim;
    assert!(text.len() <= 1024 && text.starts_with(permit_qr::PREFIX));
    assert!(URL_SAFE_NO_PAD
        .decode(&claim.holder_ref)
        .is_ok_and(|holder| holder.len() == 16));
    round_trip(claim);
    assert_eq!(
        signed.verify(None, today),
        Err(PermitQrError::UnknownIssuer)
    );
    assert!(signed
        .verify(Some(&other_key().public_key()), today)
        .is_err());
    let key = fuzz_key();
    let public = key.public_key();
    let verdict = if today < claim.valid_from {
        Err(PermitQrError::NotYetValid {
            from: claim.valid_from,
        })
    } else if today > claim.valid_until {
        Err(PermitQrError::Expired {
            until: claim.valid_until,
        })
    } else {
        Ok(())
    };
    if claim.issuer_key_id == public.key_id() {
        // Signed here, the signature holds; a code as scanned may carry a bad one.
        let verified = signed.verify(Some(&public), today);
        if wrapped || verified != Err(PermitQrError::BadSignature) {
            assert_eq!(verified, verdict);
        }
        match permit_qr::sign(claim, key) {
            Ok(again) => {
                let back = permit_qr::parse(&again).expect("a signed claim parses");
                assert_eq!(&back.claim, claim);
                assert_eq!(back.verify(Some(&public), today), verdict);
            }
            Err(error) => assert_eq!(error, PermitQrError::Unencodable),
        }
    } else {
        assert_eq!(
            signed.verify(Some(&public), today),
            Err(PermitQrError::UnknownIssuer)
        );
    }
    true
}

// ---------------------------------------------------------------------------------------------
// card_reading: the fields a built-in ID-card chip reader hands over.

/// The names of `CardReading`'s fields, in the order of the line form.
pub const CARD_FIELDS: [&str; 9] = [
    "name",
    "sex",
    "ethnicity",
    "birth_date",
    "address",
    "id_number",
    "issuing_authority",
    "valid_from",
    "valid_until",
];

/// `identity::validate_card` on a chip reader's fields: a JSON object (the serde form of
/// `CardReading`), or else one field a line in the order of [`CARD_FIELDS`]. A valid card agrees
/// with its number and its dates; an error names a field and carries none of their values;
/// `Debug` shows none.
pub fn card_reading(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let reading = if text.trim_start().starts_with('{') {
        match serde_json::from_str::<CardReading>(text) {
            Ok(reading) => reading,
            Err(_) => return false,
        }
    } else {
        let mut lines = text.split('\n').map(str::to_owned);
        let mut next = || lines.next().unwrap_or_default();
        CardReading {
            name: next(),
            sex: next(),
            ethnicity: next(),
            birth_date: next(),
            address: next(),
            id_number: next(),
            issuing_authority: next(),
            valid_from: next(),
            valid_until: next(),
        }
    };
    assert_eq!(format!("{reading:?}"), "CardReading { .. }");
    let today = today();
    match validate_card(&reading, today) {
        Ok(card) => {
            let id = parse(reading.id_number.trim(), today).expect("a valid card's number parses");
            assert_eq!(card.id.as_str(), id.as_str());
            assert!(!format!("{card:?}").contains(card.id.as_str()));
            assert_eq!(card.name, reading.name.trim());
            assert!(!card.name.is_empty());
            assert_eq!(card.birth_date, card.id.birth_date());
            assert_eq!(card.sex, card.id.sex());
            match card.valid_until {
                CardValidity::Until(until) => {
                    assert!(until >= card.valid_from);
                    assert_eq!(card.expired, until < today);
                }
                CardValidity::LongTerm => assert!(!card.expired),
            }
            assert_eq!(card.not_yet_valid, card.valid_from > today);
            true
        }
        Err(error) => {
            let message = error.to_string();
            // Names and addresses are Chinese: an ASCII message carries none of them.
            assert!(message.is_ascii());
            assert!(CARD_FIELDS.contains(&error.field()));
            assert!(!error.code().is_empty());
            for value in [
                &reading.name,
                &reading.sex,
                &reading.ethnicity,
                &reading.birth_date,
                &reading.address,
                &reading.id_number,
                &reading.issuing_authority,
                &reading.valid_from,
                &reading.valid_until,
            ] {
                let value = value.trim();
                assert!(digits(value) < 4 || !message.contains(value));
            }
            false
        }
    }
}

// ---------------------------------------------------------------------------------------------
// server_requests: the bodies the sync server reads from devices.

/// The request bodies the sync server's handlers read, decoded as they decode them (a JSON
/// object, then `serde_json::from_slice` into the endpoint's request type; the error message
/// built from serde's position), each checked to round-trip; the hex fields through `unhex`;
/// the pushed operations' payloads through the shared types they carry (the issuer key, the
/// permit event applied to a permit in each state). lgt-server itself is not linked: its own
/// payload wrappers are private, so the input is also tried as a bare permit event.
pub fn server_requests(data: &[u8]) -> bool {
    let mut accepted = false;
    accepted |= server_body::<EnrollRequest>(data).is_some_and(|request| {
        let _ = unhex_checked(&request.public_key);
        true
    });
    accepted |= server_body::<PushRequest>(data).is_some_and(|request| {
        for operation in &request.operations {
            let _ = unhex_checked(&operation.payload_sha256);
            push_payload(&operation.kind, operation.payload.as_bytes());
        }
        true
    });
    accepted |= server_body::<PullRequest>(data).is_some();
    accepted |= server_body::<NumbersRequest>(data).is_some();
    accepted |= server_body::<DeviceKeyRequest>(data).is_some_and(|request| {
        let key = unhex_checked(&request.public_key);
        let _ = unhex_checked(&request.proof);
        if let Some(key) = key.and_then(|bytes| PublicKey::try_from_slice(&bytes).ok()) {
            let message = device_key_proof_message(DEVICE_ID, &hex(key.as_bytes()));
            let proof = unhex(&request.proof).unwrap_or_default();
            let _ = key.verify(&message, &proof);
        }
        true
    });
    accepted |= server_body::<AuditAnchorRequest>(data).is_some_and(|request| {
        let _ = unhex_checked(&request.head.mac);
        if let Some(mac) = request.proof.and_then(|proof| proof.mac) {
            let _ = unhex_checked(&mac);
        }
        true
    });
    for kind in [ISSUER_KEY_OPERATION, "permit.event"] {
        accepted |= push_payload(kind, data);
    }
    accepted
}

/// The server's reading of a body: an object, then the type; a refusal names where it went
/// wrong, never what it held.
fn server_body<T: Serialize + DeserializeOwned + PartialEq + Debug>(body: &[u8]) -> Option<T> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    match serde_json::from_slice::<T>(body) {
        Ok(value) => {
            round_trip(&value);
            Some(value)
        }
        Err(error) => {
            let _ = (error.classify(), error.line(), error.column());
            None
        }
    }
}

/// A pushed operation's payload, through the shared types the server reads from it.
fn push_payload(kind: &str, payload: &[u8]) -> bool {
    match kind {
        ISSUER_KEY_OPERATION => decode::<IssuerKeyPayload>(payload).is_some_and(|issuer| {
            let _ =
                unhex_checked(&issuer.public_key).map(|bytes| PublicKey::try_from_slice(&bytes));
            true
        }),
        "permit.event" => {
            // The payload is `{permit_id, base_version, occurred_on, event}`; the event and its
            // day are the shared types.
            let mut accepted = false;
            let mut days = vec![today()];
            let mut events = Vec::new();
            if let Ok(serde_json::Value::Object(fields)) =
                serde_json::from_slice::<serde_json::Value>(payload)
            {
                if let Some(Ok(day)) = fields
                    .get("occurred_on")
                    .map(|v| serde_json::from_value::<NaiveDate>(v.clone()))
                {
                    days.push(day);
                }
                if let Some(Ok(event)) = fields
                    .get("event")
                    .map(|v| serde_json::from_value::<PermitEvent>(v.clone()))
                {
                    events.push(event);
                }
            }
            events.extend(decode::<PermitEvent>(payload));
            for event in &events {
                round_trip(event);
                accepted = true;
                if let Some(permit) = Permit::accepted("fuzz-permit".into(), event) {
                    assert_eq!((permit.version, permit.state), (1, PermitState::Accepted));
                    round_trip(&permit);
                }
                for permit in permits_in_every_state() {
                    for &on in &days {
                        apply_checked(permit, event, on);
                    }
                }
            }
            accepted
        }
        _ => false,
    }
}

/// A permit in each state, as the server holds them.
fn permits_in_every_state() -> &'static [Permit] {
    static PERMITS: OnceLock<Vec<Permit>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let dwelling = lgt_core::registration::Dwelling {
            house_code: "FZ-0001".into(),
            address: "Fuzz Road 1".into(),
            housing_type: "1".into(),
        };
        let accept = PermitEvent::Accept {
            person_id: "fuzz-person".into(),
            registration_id: "fuzz-registration".into(),
            dwelling,
        };
        let issued_on = NaiveDate::from_ymd_opt(2025, 3, 1).expect("a real date");
        let accepted = Permit::accepted("fuzz-permit".into(), &accept).expect("an accept");
        let issued = accepted
            .apply(
                &PermitEvent::Issue {
                    number: "FZ0001".into(),
                },
                issued_on,
            )
            .expect("issued");
        let delivered = issued
            .apply(&PermitEvent::Deliver, issued_on)
            .expect("delivered");
        let suspended = delivered
            .apply(&PermitEvent::Suspend, today())
            .expect("suspended");
        let cancelled = delivered
            .apply(&PermitEvent::Cancel { reason: "1".into() }, issued_on)
            .expect("cancelled");
        assert!(codes::table(CodeTableId::CancellationReason).contains("1"));
        vec![accepted, issued, delivered, suspended, cancelled]
    })
}
