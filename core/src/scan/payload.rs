//! What a decoded text means. Pure (no I/O): the fuzz target `scan_payload` drives it.

use chrono::NaiveDate;
use percent_encoding::percent_decode_str;

use super::permit_qr::{self, PermitQrError, SignedPermit};
use crate::identity::{self, IdError, IdNumber};
use crate::text::normalise_house_code;

/// The interpretation of one decoded symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Text shaped like an identity number (15 or 18 characters of digits, X last), with the
    /// identity parser's verdict: checksum and date failures are reported, not hidden.
    IdNumber(Result<IdNumber, IdError>),
    /// A residence permit QR of this system; its signature is checked by the caller, who knows
    /// the trusted issuers. A text with the permit prefix that does not parse is an error here.
    Permit(Result<SignedPermit, PermitQrError>),
    /// A door plate's standard-address code.
    DoorPlate(DoorPlate),
    /// An electronic-ID (CTID) token: opaque, verifiable only online by its platform.
    Ctid,
    /// Anything else; the raw text stays in the symbol.
    Unknown,
}

impl Payload {
    /// A stable name of the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::IdNumber(_) => "id_number",
            Payload::Permit(_) => "permit",
            Payload::DoorPlate(_) => "door_plate",
            Payload::Ctid => "ctid",
            Payload::Unknown => "unknown",
        }
    }

    /// The identity number, when the symbol held a valid one: what the watchlist check takes.
    pub fn id_number(&self) -> Option<&IdNumber> {
        match self {
            Payload::IdNumber(Ok(id)) => Some(id),
            _ => None,
        }
    }
}

/// A standard address (一标三实) read from a door plate: fills a registration's dwelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorPlate {
    /// House code, normalised as the registration validator wants it.
    pub house_code: String,
    /// The address text, when the plate carries it.
    pub address: Option<String>,
}

/// Longest text interpreted; anything longer is `Unknown` (no real payload comes close).
const MAX_TEXT: usize = 4096;

/// Interprets decoded text.
pub fn interpret(text: &str, today: NaiveDate) -> Payload {
    if text.len() > MAX_TEXT {
        return Payload::Unknown;
    }
    let trimmed = text.trim();
    if trimmed.starts_with(permit_qr::PREFIX) {
        return Payload::Permit(permit_qr::parse(trimmed));
    }
    if looks_like_id_number(trimmed) {
        return Payload::IdNumber(identity::parse(trimmed, today));
    }
    if is_ctid(trimmed) {
        return Payload::Ctid;
    }
    match door_plate(trimmed) {
        Some(plate) => Payload::DoorPlate(plate),
        None => Payload::Unknown,
    }
}

/// Fifteen or eighteen characters, all digits but an optional final X: the shape of an ID
/// number. Anything else is not offered to the parser, so a random 18-digit Code128 reports a
/// checksum failure rather than passing silently as unknown.
fn looks_like_id_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some((last, body)) = bytes.split_last() else {
        return false;
    };
    matches!(bytes.len(), 15 | 18)
        && body.iter().all(u8::is_ascii_digit)
        && (last.is_ascii_digit() || (bytes.len() == 18 && matches!(last, b'X' | b'x')))
}

/// CTID (网证) codes are recognised by their marker: a `CTID` prefix or a link to a ctid host.
/// Their content is the platform's business; the coordinator is told to verify online.
fn is_ctid(text: &str) -> bool {
    let lower = text
        .get(..text.len().min(64))
        .unwrap_or("")
        .to_ascii_lowercase();
    lower.starts_with("ctid")
        || ["http://", "https://"].iter().any(|scheme| {
            lower
                .strip_prefix(scheme)
                .and_then(|rest| rest.split(['/', '?', ':']).next())
                .is_some_and(|host| host.split('.').any(|label| label == "ctid"))
        })
}

/// Keys under which door-plate codes carry the house code and the address: the project's own
/// names and the pinyin abbreviations used by city platforms (门牌编码, 地址编码; 地址).
const HOUSE_CODE_KEYS: [&str; 5] = ["housecode", "house_code", "mpbm", "dzbm", "fwbm"];
const ADDRESS_KEYS: [&str; 4] = ["address", "addr", "dz", "dzmc"];

/// A door plate: `key=value` pairs (a URL query, or pairs separated by `&`, `;` or newlines)
/// holding a house code and optionally an address, percent-decoded.
fn door_plate(text: &str) -> Option<DoorPlate> {
    let query = text.split_once('?').map_or(text, |(_, q)| q);
    let mut house_code = None;
    let mut address = None;
    for pair in query.split(['&', ';', '\n']) {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = percent_decode_str(value.trim()).decode_utf8().ok()?;
        if HOUSE_CODE_KEYS.contains(&key.as_str()) {
            house_code = Some(normalise_house_code(&value)?);
        } else if ADDRESS_KEYS.contains(&key.as_str()) {
            let value = value.trim();
            if !value.is_empty()
                && value.chars().count() <= 200
                && !value.chars().any(char::is_control)
            {
                address = Some(value.to_owned());
            }
        }
    }
    Some(DoorPlate {
        house_code: house_code?,
        address,
    })
}
