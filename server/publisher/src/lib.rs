//! # lgt-publisher: the server side of the watchlist
//!
//! Builds signed list versions from entries (a library API for `lgt watchlist build` and any
//! server-side job that publishes lists). Phones never build lists, so this crate is not part
//! of the phone core; it shares the list format and the probes with it through `lgt-common`,
//! so the tags it computes are the ones the phone looks up.
//!
//! A [`PublishedList`] is the server's state of one list in one key epoch: every tag with the
//! number of entries that produce it (two listed persons can share a name, birth date and
//! sex), so a delta adds a tag only when its first entry arrives and removes it only when its
//! last entry leaves. The server pays one Argon2id derivation per identity number and name
//! key of each entry per epoch; deltas derive only the entries they touch.

#![deny(missing_docs)]

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, NaiveDate, Utc};
use lgt_common::crypto::{random_salt, sha256, SigningKey, StretchParams, Tag, EPOCH_SALT_LEN};
use lgt_common::identity;
use lgt_common::watchlist::format::{hex, unhex, MAX_DETAILS_LEN};
use lgt_common::watchlist::probe::{derive_one, id_probe, name_probes, normalise_sex, threads};
use lgt_common::watchlist::{
    Delegation, EntryDetails, ListKind, ListPackage, Manifest, Payload, Row, RowKind,
    WatchlistError, DEFAULT_INSTRUCTIONS, FORMAT_VERSION,
};
use serde::{Deserialize, Serialize};

/// One listed person, as the server holds them. There is no ethnicity field: it is never
/// matched on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPerson {
    /// The server's reference (case number); sealed in the details.
    pub entry_ref: String,
    /// Name, in characters (or Latin letters).
    pub name: String,
    /// Sex code (1 male, 2 female).
    pub sex: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Every identity number the person has or had (15 or 18 digits).
    pub id_numbers: Vec<String>,
    /// What they are wanted for, briefly.
    pub case_summary: String,
    /// What a coordinator must do, e.g. "do not confront".
    pub instructions: String,
}

/// A signer key with the root's delegation of it.
pub struct Signer {
    key: SigningKey,
    delegation: Vec<u8>,
    delegation_signature: [u8; 64],
}

impl Signer {
    /// The root key delegates list signing to `key` until `not_after`.
    pub fn delegate(
        root: &SigningKey,
        key: SigningKey,
        not_after: DateTime<Utc>,
    ) -> Result<Self, WatchlistError> {
        let delegation = Delegation {
            signer_key: hex(key.public_key().as_bytes()),
            root_key_id: root.public_key().key_id(),
            not_after,
        };
        let delegation = serde_json::to_vec(&delegation)
            .map_err(|_| WatchlistError::Malformed { what: "delegation" })?;
        Ok(Self {
            delegation_signature: root.sign(&delegation),
            delegation,
            key,
        })
    }
}

/// A key epoch: its number, salt and stretching cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch {
    /// Epoch number (increases with each rotation).
    pub number: u32,
    /// The epoch's random salt.
    pub salt: [u8; EPOCH_SALT_LEN],
    /// Argon2id cost.
    pub stretch: StretchParams,
}

impl Epoch {
    /// A new epoch with a fresh random salt.
    pub fn new(number: u32, stretch: StretchParams) -> Result<Self, WatchlistError> {
        stretch.check()?;
        Ok(Self {
            number,
            salt: random_salt()?,
            stretch,
        })
    }
}

/// Validity of a version being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// Build time.
    pub created_at: DateTime<Utc>,
    /// Expiry: after it, phones show "list out of date".
    pub expires_at: DateTime<Utc>,
}

/// The server's state of one list: epoch, version and every tag with its entry count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedList {
    list_id: String,
    version: u64,
    epoch: Epoch,
    tags: HashMap<Tag, (RowKind, u32)>,
}

#[derive(Serialize, Deserialize)]
struct StateHeader {
    list_id: String,
    version: u64,
    key_epoch: u32,
    epoch_salt: String,
    stretch: StretchParams,
    tags: u64,
}

impl PublishedList {
    /// The version last built.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Rows in the list.
    pub fn entry_count(&self) -> u64 {
        self.tags.len() as u64
    }

    /// Builds a snapshot: the whole list, in a new or the same key epoch.
    pub fn snapshot(
        list_id: &str,
        version: u64,
        epoch: Epoch,
        persons: &[ListedPerson],
        validity: Validity,
        signer: &Signer,
    ) -> Result<(Self, ListPackage), WatchlistError> {
        let mut list = Self {
            list_id: list_id.to_owned(),
            version,
            epoch,
            tags: HashMap::new(),
        };
        let mut adds = Vec::new();
        for row in derive_rows(persons, &epoch, validity.created_at.date_naive())? {
            list.count_in(row, &mut adds)?;
        }
        // Sorted by tag: the phone inserts in key order, which keeps its B-tree writes local.
        adds.sort_unstable_by_key(|row| row.tag);
        let payload = Payload {
            adds,
            removes: Vec::new(),
        };
        let package = list.sign(ListKind::Snapshot, None, &payload, validity, signer)?;
        Ok((list, package))
    }

    /// The map from each row's tag (hex) to its person's `entry_ref`, for `persons` in this
    /// list's key epoch: what the server keeps to tell a supervisor which entry a hit report
    /// (which carries the tag) matched. It derives every tag again (the list's stretching cost
    /// once more per row); it holds no name or number.
    pub fn entry_map(
        &self,
        persons: &[ListedPerson],
        today: NaiveDate,
    ) -> Result<Vec<(String, String)>, WatchlistError> {
        let mut map = Vec::new();
        for (i, person) in persons.iter().enumerate() {
            for row in rows_of(person, i + 1, &self.epoch, today)? {
                map.push((hex(&row.tag), person.entry_ref.clone()));
            }
        }
        Ok(map)
    }

    /// Builds a delta against the version last built: `adds` join the list, `removes` leave it.
    pub fn delta(
        &mut self,
        version: u64,
        adds: &[ListedPerson],
        removes: &[ListedPerson],
        validity: Validity,
        signer: &Signer,
    ) -> Result<ListPackage, WatchlistError> {
        if version <= self.version {
            return Err(WatchlistError::Rollback {
                current: self.version,
                offered: version,
            });
        }
        let today = validity.created_at.date_naive();
        let mut next = self.clone();
        let mut payload = Payload::default();
        for row in derive_rows(removes, &self.epoch, today)? {
            match next.tags.get_mut(&row.tag) {
                Some((_, refs)) if *refs > 1 => *refs -= 1,
                Some(_) => {
                    next.tags.remove(&row.tag);
                    payload.removes.push(row.tag);
                }
                None => {
                    return Err(WatchlistError::InvalidEntry {
                        entry: "removal".into(),
                        field: "entry",
                        reason: "is not on the list".into(),
                    })
                }
            }
        }
        for row in derive_rows(adds, &self.epoch, today)? {
            if payload.removes.contains(&row.tag) {
                // Removed and added again in one delta: the entry stays.
                payload.removes.retain(|t| *t != row.tag);
                next.tags.insert(row.tag, (row.kind, 1));
                continue;
            }
            next.count_in(row, &mut payload.adds)?;
        }
        payload.adds.sort_unstable_by_key(|row| row.tag);
        payload.removes.sort_unstable();
        let base = Some(self.version);
        next.version = version;
        let package = next.sign(ListKind::Delta, base, &payload, validity, signer)?;
        *self = next;
        Ok(package)
    }

    fn count_in(&mut self, row: Row, adds: &mut Vec<Row>) -> Result<(), WatchlistError> {
        match self.tags.get_mut(&row.tag) {
            Some((RowKind::IdNumber, _)) if row.kind == RowKind::IdNumber => {
                Err(WatchlistError::InvalidEntry {
                    entry: "addition".into(),
                    field: "id_numbers",
                    reason: "is already listed under another entry".into(),
                })
            }
            Some((_, refs)) => {
                *refs += 1;
                Ok(())
            }
            None => {
                self.tags.insert(row.tag, (row.kind, 1));
                adds.push(row);
                Ok(())
            }
        }
    }

    fn sign(
        &self,
        kind: ListKind,
        base_version: Option<u64>,
        payload: &Payload,
        validity: Validity,
        signer: &Signer,
    ) -> Result<ListPackage, WatchlistError> {
        let payload = payload_bytes(payload);
        let manifest = Manifest {
            format: FORMAT_VERSION,
            list_id: self.list_id.clone(),
            version: self.version,
            base_version,
            kind,
            created_at: validity.created_at,
            expires_at: validity.expires_at,
            key_epoch: self.epoch.number,
            epoch_salt: hex(&self.epoch.salt),
            stretch: self.epoch.stretch,
            entry_count: self.entry_count(),
            adds: payload.1,
            removes: payload.2,
            payload_sha256: hex(&sha256(&payload.0)),
            signer_key_id: signer.key.public_key().key_id(),
        };
        let manifest = serde_json::to_vec(&manifest)
            .map_err(|_| WatchlistError::Malformed { what: "manifest" })?;
        Ok(ListPackage {
            delegation: signer.delegation.clone(),
            delegation_signature: signer.delegation_signature,
            manifest_signature: signer.key.sign(&manifest),
            manifest,
            payload: payload.0,
        })
    }

    /// The state as bytes, for the server to keep between versions (holds the epoch salt
    /// and tags, no identifiers).
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = StateHeader {
            list_id: self.list_id.clone(),
            version: self.version,
            key_epoch: self.epoch.number,
            epoch_salt: hex(&self.epoch.salt),
            stretch: self.epoch.stretch,
            tags: self.tags.len() as u64,
        };
        let header = serde_json::to_vec(&header).unwrap_or_default();
        let mut out = Vec::with_capacity(4 + header.len() + self.tags.len() * 21);
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(&header);
        let mut tags: Vec<_> = self.tags.iter().collect();
        tags.sort_unstable_by_key(|(tag, _)| **tag);
        for (tag, (kind, refs)) in tags {
            out.extend_from_slice(tag);
            out.push(kind.code());
            out.extend_from_slice(&refs.to_be_bytes());
        }
        out
    }

    /// Reads state written by [`PublishedList::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WatchlistError> {
        let malformed = WatchlistError::Malformed { what: "list state" };
        let (len, rest) = bytes.split_at_checked(4).ok_or(malformed)?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (header, mut rest) = rest
            .split_at_checked(len)
            .ok_or(WatchlistError::Malformed { what: "list state" })?;
        let header: StateHeader = serde_json::from_slice(header)
            .map_err(|_| WatchlistError::Malformed { what: "list state" })?;
        let salt = unhex::<EPOCH_SALT_LEN>(&header.epoch_salt)
            .ok_or(WatchlistError::Malformed { what: "list state" })?;
        let mut tags = HashMap::with_capacity(header.tags as usize);
        while !rest.is_empty() {
            let (record, tail) = rest
                .split_at_checked(21)
                .ok_or(WatchlistError::Malformed { what: "list state" })?;
            let mut tag = [0u8; 16];
            tag.copy_from_slice(&record[..16]);
            let kind = RowKind::from_code(record[16])
                .ok_or(WatchlistError::Malformed { what: "list state" })?;
            let refs = u32::from_be_bytes([record[17], record[18], record[19], record[20]]);
            tags.insert(tag, (kind, refs));
            rest = tail;
        }
        if tags.len() as u64 != header.tags {
            return Err(WatchlistError::Malformed { what: "list state" });
        }
        Ok(Self {
            list_id: header.list_id,
            version: header.version,
            epoch: Epoch {
                number: header.key_epoch,
                salt,
                stretch: header.stretch,
            },
            tags,
        })
    }
}

fn payload_bytes(payload: &Payload) -> (Vec<u8>, u64, u64) {
    (
        payload.encode(),
        payload.adds.len() as u64,
        payload.removes.len() as u64,
    )
}

/// The rows of every person, derived on all cores.
fn derive_rows(
    persons: &[ListedPerson],
    epoch: &Epoch,
    today: NaiveDate,
) -> Result<Vec<Row>, WatchlistError> {
    if persons.is_empty() {
        return Ok(Vec::new());
    }
    let chunk = persons.len().div_ceil(threads(64));
    std::thread::scope(|scope| {
        let handles: Vec<_> = persons
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| {
                scope.spawn(move || {
                    let mut rows = Vec::new();
                    for (i, person) in part.iter().enumerate() {
                        rows.extend(rows_of(person, n * chunk + i + 1, epoch, today)?);
                    }
                    Ok::<_, WatchlistError>(rows)
                })
            })
            .collect();
        let mut rows = Vec::new();
        for handle in handles {
            let part = handle
                .join()
                .map_err(|_| WatchlistError::Malformed { what: "derivation" })?;
            rows.extend(part?);
        }
        Ok(rows)
    })
}

/// One person's rows: each identity number (with the sealed details), then the name keys.
fn rows_of(
    person: &ListedPerson,
    position: usize,
    epoch: &Epoch,
    today: NaiveDate,
) -> Result<Vec<Row>, WatchlistError> {
    let invalid = |field, reason: &str| WatchlistError::InvalidEntry {
        entry: position.to_string(),
        field,
        reason: reason.into(),
    };
    if person.name.trim().is_empty() {
        return Err(invalid("name", "is empty"));
    }
    if normalise_sex(&person.sex).is_none() {
        return Err(invalid("sex", "must be 1 (male) or 2 (female)"));
    }
    let details = serde_json::to_vec(&EntryDetails {
        entry_ref: person.entry_ref.clone(),
        name: person.name.clone(),
        case_summary: person.case_summary.clone(),
        instructions: person.instructions.clone(),
    })
    .map_err(|_| invalid("details", "cannot be encoded"))?;
    let mut rows = Vec::new();
    for number in &person.id_numbers {
        let probe = id_probe(number, today).map_err(|e| {
            invalid(
                "id_numbers",
                &format!("holds an invalid number ({})", e.code()),
            )
        })?;
        let key = derive_one(&probe, &epoch.stretch, &epoch.salt)?;
        let sealed = key.seal_details(&details)?;
        if sealed.len() > MAX_DETAILS_LEN {
            return Err(invalid("details", "are too long"));
        }
        if rows.iter().all(|r: &Row| r.tag != key.tag()) {
            rows.push(Row {
                tag: key.tag(),
                kind: RowKind::IdNumber,
                details: Some(sealed),
            });
        }
    }
    for probe in name_probes(&person.name, person.birth_date, &person.sex) {
        let key = derive_one(&probe, &epoch.stretch, &epoch.salt)?;
        rows.push(Row {
            tag: key.tag(),
            kind: probe.kind,
            details: None,
        });
    }
    Ok(rows)
}

/// One CSV line: `entry_ref,name,sex,birth_date,id_numbers,case_summary,instructions`, with
/// identity numbers separated by `;` and the birth date optional when a number carries it.
#[derive(Deserialize)]
struct CsvEntry {
    entry_ref: String,
    name: String,
    sex: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    id_numbers: String,
    #[serde(default)]
    case_summary: String,
    #[serde(default)]
    instructions: String,
}

/// Reads entries from CSV with a header line. Errors name the line and field, never a value.
pub fn read_csv(reader: impl Read, today: NaiveDate) -> Result<Vec<ListedPerson>, WatchlistError> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let mut persons = Vec::new();
    for (i, record) in csv.deserialize::<CsvEntry>().enumerate() {
        let line = (i + 2).to_string();
        let invalid = |field, reason: &str| WatchlistError::InvalidEntry {
            entry: format!("line {line}"),
            field,
            reason: reason.into(),
        };
        let entry = record.map_err(|_| invalid("line", "is not a well-formed entry"))?;
        let id_numbers: Vec<String> = entry
            .id_numbers
            .split([';', ' '])
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        let birth_date = if entry.birth_date.is_empty() {
            let first = id_numbers
                .first()
                .ok_or_else(|| invalid("birth_date", "is required without an identity number"))?;
            identity::parse(first, today)
                .map_err(|_| invalid("id_numbers", "holds an invalid number"))?
                .birth_date()
        } else {
            NaiveDate::parse_from_str(&entry.birth_date, "%Y-%m-%d")
                .map_err(|_| invalid("birth_date", "must be YYYY-MM-DD"))?
        };
        persons.push(ListedPerson {
            entry_ref: entry.entry_ref,
            name: entry.name,
            sex: entry.sex,
            birth_date,
            id_numbers,
            case_summary: entry.case_summary,
            instructions: if entry.instructions.is_empty() {
                DEFAULT_INSTRUCTIONS.to_owned()
            } else {
                entry.instructions
            },
        });
    }
    Ok(persons)
}
