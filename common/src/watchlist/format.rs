//! The list format: a root-signed delegation of a signer key, a signed manifest, and a
//! payload of rows to add and tags to remove.
//!
//! ```text
//! package  = MAGIC || section(delegation JSON) || sig(root) || section(manifest JSON)
//!            || sig(signer) || section(payload)
//! section  = u32 big-endian length || bytes
//! payload  = u32 adds || (tag[16] || kind u8 || u16 details length || details)*
//!            || u32 removes || tag[16]*
//! ```
//!
//! Signatures cover the exact JSON bytes received, so nothing is re-serialised before
//! checking. The manifest carries the SHA-256 of the payload.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::WatchlistError;
use crate::crypto::{PublicKey, StretchParams, Tag, SIGNATURE_LEN, TAG_LEN};

/// First bytes of every list package.
const MAGIC: &[u8; 8] = b"LGTWL1\r\n";
/// The manifest format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Largest package accepted (a 1M-entry snapshot with details is about 250 MB).
const MAX_PACKAGE_LEN: usize = 1 << 30;
/// Largest sealed details of one row.
pub const MAX_DETAILS_LEN: usize = 4096;

/// The root key's statement that a signer key may sign lists until a given time. Signer keys
/// live on the server and are rotated by issuing a new delegation; the root key stays
/// offline and is pinned in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    /// The signer's Ed25519 public key, hex.
    pub signer_key: String,
    /// Key id of the root key that signs this delegation.
    pub root_key_id: String,
    /// The delegation is void after this instant.
    pub not_after: DateTime<Utc>,
}

/// Whether a package replaces the list or changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// The whole list; may start a new key epoch.
    Snapshot,
    /// Adds and removes against `base_version`, in the same key epoch.
    Delta,
}

/// The signed description of one list version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version ([`FORMAT_VERSION`]).
    pub format: u32,
    /// Which list (one phone holds one list).
    pub list_id: String,
    /// Strictly increasing version.
    pub version: u64,
    /// For a delta: the version it applies to.
    pub base_version: Option<u64>,
    /// Snapshot or delta.
    pub kind: ListKind,
    /// When the server built it.
    pub created_at: DateTime<Utc>,
    /// After this instant the list is out of date and is shown as such.
    pub expires_at: DateTime<Utc>,
    /// Key epoch: the salt and stretching cost change only with a new epoch (a snapshot).
    pub key_epoch: u32,
    /// The epoch's salt, hex (not secret; it makes precomputation epoch-specific).
    pub epoch_salt: String,
    /// Argon2id cost of one derivation in this epoch.
    pub stretch: StretchParams,
    /// Rows in the whole list once this package is applied.
    pub entry_count: u64,
    /// Rows added by the payload.
    pub adds: u64,
    /// Tags removed by the payload.
    pub removes: u64,
    /// SHA-256 of the payload, hex.
    pub payload_sha256: String,
    /// Key id of the signer key.
    pub signer_key_id: String,
}

/// What a row's tag was derived from; decides the confidence of a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum), uniffi(name = "MatchedOn"))]
pub enum RowKind {
    /// A normalised identity number (15-digit numbers upgraded to 18).
    IdNumber,
    /// Name in simplified characters, birth date and sex.
    NameHanzi,
    /// One pinyin reading of the name, birth date and sex.
    NamePinyin,
}

impl RowKind {
    /// The kind's byte in a payload row.
    pub fn code(self) -> u8 {
        match self {
            Self::IdNumber => 1,
            Self::NameHanzi => 2,
            Self::NamePinyin => 3,
        }
    }

    /// The kind a payload byte stands for, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::IdNumber,
            2 => Self::NameHanzi,
            3 => Self::NamePinyin,
            _ => return None,
        })
    }
}

/// One row of a list: a tag, its kind, and (for identity numbers) the entry's details sealed
/// under a key only that identity number yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The look-up tag.
    pub tag: Tag,
    /// What it was derived from.
    pub kind: RowKind,
    /// Sealed details (identity-number rows only).
    pub details: Option<Vec<u8>>,
}

/// Rows to add and tags to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    /// Rows added (a snapshot's whole content).
    pub adds: Vec<Row>,
    /// Tags removed (deltas only).
    pub removes: Vec<Tag>,
}

impl Payload {
    /// The payload's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let details: usize = self
            .adds
            .iter()
            .map(|r| r.details.as_ref().map_or(0, Vec::len))
            .sum();
        let mut out =
            Vec::with_capacity(8 + self.adds.len() * 19 + details + self.removes.len() * TAG_LEN);
        out.extend_from_slice(&(self.adds.len() as u32).to_be_bytes());
        for row in &self.adds {
            out.extend_from_slice(&row.tag);
            out.push(row.kind.code());
            let details = row.details.as_deref().unwrap_or_default();
            out.extend_from_slice(&(details.len() as u16).to_be_bytes());
            out.extend_from_slice(details);
        }
        out.extend_from_slice(&(self.removes.len() as u32).to_be_bytes());
        for tag in &self.removes {
            out.extend_from_slice(tag);
        }
        out
    }

    /// Parses payload bytes; anything but exactly one well-formed payload is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, WatchlistError> {
        let view = PayloadView::parse(bytes)?;
        Ok(Self {
            adds: view
                .adds()
                .map(|r| Row {
                    tag: r.tag,
                    kind: r.kind,
                    details: r.details.map(<[u8]>::to_vec),
                })
                .collect(),
            removes: view.removes().collect(),
        })
    }
}

/// A row borrowed from payload bytes.
pub struct RowRef<'a> {
    /// The look-up tag.
    pub tag: Tag,
    /// What it was derived from.
    pub kind: RowKind,
    /// Sealed details (identity-number rows only).
    pub details: Option<&'a [u8]>,
}

/// A payload checked in one pass without copying it; rows are then read from the bytes, so
/// applying a million-row list never holds a second copy of it in memory.
pub struct PayloadView<'a> {
    adds: (usize, &'a [u8]),
    removes: (usize, &'a [u8]),
}

impl<'a> PayloadView<'a> {
    /// Checks payload bytes in one pass; anything but exactly one well-formed payload is
    /// refused.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WatchlistError> {
        let mut reader = Reader(bytes);
        let adds_len = reader.u32()? as usize;
        let adds_start = reader.0;
        for _ in 0..adds_len {
            read_row(&mut reader)?;
        }
        let adds_bytes = &adds_start[..adds_start.len() - reader.0.len()];
        let removes_len = reader.u32()? as usize;
        let removes_bytes = reader.take(
            removes_len
                .checked_mul(TAG_LEN)
                .ok_or(malformed("truncated"))?,
        )?;
        if !reader.0.is_empty() {
            return Err(malformed("payload trailing bytes"));
        }
        Ok(Self {
            adds: (adds_len, adds_bytes),
            removes: (removes_len, removes_bytes),
        })
    }

    /// Rows added and tags removed.
    pub fn counts(&self) -> (u64, u64) {
        (self.adds.0 as u64, self.removes.0 as u64)
    }

    /// The rows added, in payload order.
    pub fn adds(&self) -> impl Iterator<Item = RowRef<'a>> + 'a {
        let mut reader = Reader(self.adds.1);
        // The bytes were checked by `parse`: reading them again cannot fail.
        std::iter::from_fn(move || read_row(&mut reader).ok()).take(self.adds.0)
    }

    /// The tags removed, in payload order.
    pub fn removes(&self) -> impl Iterator<Item = Tag> + 'a {
        self.removes.1.chunks_exact(TAG_LEN).map(|chunk| {
            let mut tag = [0u8; TAG_LEN];
            tag.copy_from_slice(chunk);
            tag
        })
    }
}

fn read_row<'a>(reader: &mut Reader<'a>) -> Result<RowRef<'a>, WatchlistError> {
    let tag = reader.tag()?;
    let kind = RowKind::from_code(reader.take(1)?[0]).ok_or(malformed("row kind"))?;
    let len = reader.take(2)?;
    let len = u16::from_be_bytes([len[0], len[1]]) as usize;
    if len > MAX_DETAILS_LEN || (len > 0) != (kind == RowKind::IdNumber) {
        return Err(malformed("row details"));
    }
    let details = if len > 0 {
        Some(reader.take(len)?)
    } else {
        None
    };
    Ok(RowRef { tag, kind, details })
}

/// One list version as shipped: delegation, manifest, signatures and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPackage {
    /// The delegation's JSON bytes, as signed.
    pub delegation: Vec<u8>,
    /// The root key's signature over `delegation`.
    pub delegation_signature: [u8; SIGNATURE_LEN],
    /// The manifest's JSON bytes, as signed.
    pub manifest: Vec<u8>,
    /// The signer key's signature over `manifest`.
    pub manifest_signature: [u8; SIGNATURE_LEN],
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl ListPackage {
    /// The package as one file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            MAGIC.len()
                + 12
                + self.delegation.len()
                + self.manifest.len()
                + self.payload.len()
                + 128,
        );
        out.extend_from_slice(MAGIC);
        for (section, signature) in [
            (&self.delegation, Some(&self.delegation_signature)),
            (&self.manifest, Some(&self.manifest_signature)),
            (&self.payload, None),
        ] {
            out.extend_from_slice(&(section.len() as u32).to_be_bytes());
            out.extend_from_slice(section);
            if let Some(signature) = signature {
                out.extend_from_slice(signature);
            }
        }
        out
    }

    /// Splits a package file into its parts (nothing is trusted yet).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WatchlistError> {
        if bytes.len() > MAX_PACKAGE_LEN {
            return Err(malformed("package size"));
        }
        let mut reader = Reader(bytes);
        if reader.take(MAGIC.len())? != MAGIC {
            return Err(malformed("package header"));
        }
        let delegation = reader.section()?;
        let delegation_signature = reader.signature()?;
        let manifest = reader.section()?;
        let manifest_signature = reader.signature()?;
        let payload = reader.section()?;
        if !reader.0.is_empty() {
            return Err(malformed("package trailing bytes"));
        }
        Ok(Self {
            delegation,
            delegation_signature,
            manifest,
            manifest_signature,
            payload,
        })
    }

    /// The manifest, parsed but not verified: for display before an import only.
    pub fn unverified_manifest(&self) -> Result<Manifest, WatchlistError> {
        serde_json::from_slice(&self.manifest).map_err(|_| malformed("manifest"))
    }
}

/// Lower-case hex: how keys, salts and hashes are written in delegations and manifests.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses lower- or upper-case hex of exactly `N` bytes.
pub fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in text.chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// Parses a hex public key.
pub fn public_key_from_hex(text: &str) -> Option<PublicKey> {
    unhex::<32>(text.trim()).and_then(|bytes| PublicKey::try_from_slice(&bytes).ok())
}

fn malformed(what: &'static str) -> WatchlistError {
    WatchlistError::Malformed { what }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WatchlistError> {
        if self.0.len() < n {
            return Err(malformed("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, WatchlistError> {
        let bytes = self.take(4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn tag(&mut self) -> Result<Tag, WatchlistError> {
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(self.take(TAG_LEN)?);
        Ok(tag)
    }

    fn section(&mut self) -> Result<Vec<u8>, WatchlistError> {
        let len = self.u32()? as usize;
        Ok(self.take(len)?.to_vec())
    }

    fn signature(&mut self) -> Result<[u8; SIGNATURE_LEN], WatchlistError> {
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(self.take(SIGNATURE_LEN)?);
        Ok(signature)
    }
}
