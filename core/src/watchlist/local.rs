//! The phone side: verify and apply list versions, look tags up, raise and clear alerts.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use uuid::Uuid;

use super::format::{hex, public_key_from_hex, unhex, PayloadView};
use super::probe::{derive_all, subject_probes};
use super::{
    CheckOutcome, Confidence, Delegation, EntryDetails, ListInfo, ListKind, ListPackage,
    ListStatus, Manifest, RowKind, Subject, WatchlistAlert, WatchlistError, WatchlistPolicy,
    ALERT_WORDING, DEFAULT_INSTRUCTIONS, FORMAT_VERSION,
};
use crate::audit::Audited;
use crate::crypto::{sha256, RowCipher, StretchParams, StretchedKey, Tag, EPOCH_SALT_LEN};
use crate::outbox;
use crate::store::Unlocked;
use crate::store::{context, open_bytes, open_json, seal_bytes, seal_json, timestamp, StoreError};
use crate::Error;

/// The list in use with what a look-up needs: its salt and stretching cost.
pub(crate) struct Active {
    pub info: ListInfo,
    salt: [u8; EPOCH_SALT_LEN],
    stretch: StretchParams,
}

impl Active {
    fn from_manifest(manifest: Manifest) -> Result<Self, WatchlistError> {
        let salt = unhex::<EPOCH_SALT_LEN>(&manifest.epoch_salt)
            .ok_or(WatchlistError::Malformed { what: "epoch salt" })?;
        Ok(Self {
            salt,
            stretch: manifest.stretch,
            info: ListInfo {
                list_id: manifest.list_id,
                version: manifest.version,
                key_epoch: manifest.key_epoch,
                created_at: manifest.created_at,
                expires_at: manifest.expires_at,
                entry_count: manifest.entry_count,
                signer_key_id: manifest.signer_key_id,
            },
        })
    }

    fn status(&self, now: DateTime<Utc>) -> ListStatus {
        if now >= self.info.expires_at {
            ListStatus::OutOfDate(self.info.clone())
        } else {
            ListStatus::Current(self.info.clone())
        }
    }
}

/// The list in use, if any.
pub(crate) fn active(conn: &Connection) -> Result<Option<Active>, StoreError> {
    let manifest: Option<Vec<u8>> = conn
        .prepare_cached("SELECT manifest FROM watchlist_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let malformed = || StoreError::Malformed {
        record: "watchlist_state:1".into(),
    };
    manifest
        .map(|bytes| {
            let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
            Active::from_manifest(manifest).map_err(|_| malformed())
        })
        .transpose()
}

/// The list in use as the phone shows it.
pub(crate) fn status(conn: &Connection, now: DateTime<Utc>) -> Result<ListStatus, StoreError> {
    Ok(active(conn)?.map_or(ListStatus::Missing, |a| a.status(now)))
}

/// Checks signatures, hash and expiry of a package: everything that does not depend on the
/// list in use.
fn verify<'p>(
    package: &'p ListPackage,
    policy: &WatchlistPolicy,
    now: DateTime<Utc>,
) -> Result<(Manifest, PayloadView<'p>), WatchlistError> {
    let delegation: Delegation = serde_json::from_slice(&package.delegation)
        .map_err(|_| WatchlistError::Malformed { what: "delegation" })?;
    let root = policy
        .roots
        .iter()
        .find(|k| k.key_id() == delegation.root_key_id)
        .ok_or_else(|| WatchlistError::UnknownRoot {
            key_id: delegation.root_key_id.clone(),
        })?;
    root.verify(&package.delegation, &package.delegation_signature)
        .map_err(|_| WatchlistError::BadSignature { what: "delegation" })?;
    if now >= delegation.not_after {
        return Err(WatchlistError::DelegationExpired {
            at: delegation.not_after,
        });
    }
    let signer = public_key_from_hex(&delegation.signer_key)
        .ok_or(WatchlistError::Malformed { what: "signer key" })?;
    signer
        .verify(&package.manifest, &package.manifest_signature)
        .map_err(|_| WatchlistError::BadSignature { what: "manifest" })?;
    let manifest = package.unverified_manifest()?;
    if manifest.format != FORMAT_VERSION || manifest.signer_key_id != signer.key_id() {
        return Err(WatchlistError::Malformed { what: "manifest" });
    }
    if hex(&sha256(&package.payload)) != manifest.payload_sha256 {
        return Err(WatchlistError::PayloadMismatch { what: "hash" });
    }
    if now >= manifest.expires_at {
        return Err(WatchlistError::Expired {
            version: manifest.version,
            at: manifest.expires_at,
        });
    }
    manifest.stretch.check()?;
    if !manifest.stretch.at_least(&policy.min_stretch) {
        return Err(WatchlistError::WeakStretch);
    }
    let payload = PayloadView::parse(&package.payload)?;
    if payload.counts() != (manifest.adds, manifest.removes) {
        return Err(WatchlistError::PayloadMismatch { what: "counts" });
    }
    let shape_ok = match manifest.kind {
        ListKind::Snapshot => manifest.base_version.is_none() && manifest.removes == 0,
        ListKind::Delta => manifest.base_version.is_some(),
    };
    if !shape_ok {
        return Err(WatchlistError::Malformed { what: "list kind" });
    }
    Ok((manifest, payload))
}

/// Checks the package against the list in use (rollback, base, epoch, list id).
fn check_succession(current: Option<&Active>, manifest: &Manifest) -> Result<(), WatchlistError> {
    let Some(current) = current else {
        return match manifest.kind {
            ListKind::Snapshot => Ok(()),
            ListKind::Delta => Err(WatchlistError::WrongBase {
                current: None,
                base: manifest.base_version,
            }),
        };
    };
    let info = &current.info;
    if manifest.list_id != info.list_id {
        return Err(WatchlistError::Mixed {
            reason: format!(
                "list {} offered, list {} in use",
                manifest.list_id, info.list_id
            ),
        });
    }
    if manifest.version <= info.version || manifest.key_epoch < info.key_epoch {
        return Err(WatchlistError::Rollback {
            current: info.version,
            offered: manifest.version,
        });
    }
    if manifest.kind == ListKind::Delta {
        if manifest.base_version != Some(info.version) {
            return Err(WatchlistError::WrongBase {
                current: Some(info.version),
                base: manifest.base_version,
            });
        }
        let same_epoch = manifest.key_epoch == info.key_epoch
            && unhex::<EPOCH_SALT_LEN>(&manifest.epoch_salt) == Some(current.salt)
            && manifest.stretch == current.stretch;
        if !same_epoch {
            return Err(WatchlistError::Mixed {
                reason: format!(
                    "delta of key epoch {} against key epoch {}",
                    manifest.key_epoch, info.key_epoch
                ),
            });
        }
    }
    Ok(())
}

/// Verifies `bytes` and, only if every check passes, makes it the list in use inside `tx`.
/// Any refusal leaves the previous list exactly as it was (the transaction rolls back).
///
/// The rows are stored keyed by this store (`RowCipher::watchlist_tag`) and each entry's
/// details sealed again under the store's key: the file alone confirms no guess, even one
/// stretched under the salt its manifest names.
pub(crate) fn apply(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    bytes: &[u8],
    policy: &WatchlistPolicy,
    now: DateTime<Utc>,
) -> Result<ListInfo, Error> {
    let package = ListPackage::from_bytes(bytes)?;
    let (manifest, payload) = verify(&package, policy, now)?;
    let current = active(tx)?;
    check_succession(current.as_ref(), &manifest)?;
    let mut count = match manifest.kind {
        ListKind::Snapshot => {
            tx.execute("DELETE FROM watchlist_details", [])?;
            tx.execute("DELETE FROM watchlist_entries", [])?;
            0
        }
        ListKind::Delta => current.as_ref().map_or(0, |c| c.info.entry_count),
    };
    {
        let mut remove_entry = tx.prepare_cached("DELETE FROM watchlist_entries WHERE tag = ?1")?;
        let mut remove_details =
            tx.prepare_cached("DELETE FROM watchlist_details WHERE tag = ?1")?;
        for tag in payload.removes() {
            let tag = cipher.watchlist_tag(&tag);
            let removed = remove_entry.execute([&tag[..]])?;
            if removed == 0 {
                return Err(mixed("a removed entry is not in the list in use"));
            }
            remove_details.execute([&tag[..]])?;
            count -= 1;
        }
        let mut add_entry = tx.prepare_cached(
            "INSERT INTO watchlist_entries (tag, kind) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?;
        let mut add_details =
            tx.prepare_cached("INSERT INTO watchlist_details (tag, sealed) VALUES (?1, ?2)")?;
        for row in payload.adds() {
            let tag = cipher.watchlist_tag(&row.tag);
            if add_entry.execute(params![&tag[..], row.kind.code()])? == 0 {
                return Err(mixed("an added entry is already in the list"));
            }
            if let Some(details) = row.details {
                let sealed = seal_bytes(cipher, &context::watchlist_details(&tag), details)?;
                add_details.execute(params![&tag[..], sealed])?;
            }
            count += 1;
        }
    }
    if count != manifest.entry_count {
        return Err(WatchlistError::PayloadMismatch {
            what: "entry count",
        }
        .into());
    }
    let applied = Active::from_manifest(manifest)?;
    tx.prepare_cached(
        "INSERT INTO watchlist_state (id, manifest, applied_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET manifest = excluded.manifest, applied_at = excluded.applied_at",
    )?
    .execute(params![package.manifest, timestamp(now)])?;
    if current.as_ref().map(|c| c.info.key_epoch) == Some(applied.info.key_epoch) {
        // Same epoch: an alert whose tag left the list stops at once; a new epoch's alerts
        // are re-derived by the re-check.
        clear_alerts_not_listed(tx, now)?;
    }
    Ok(applied.info)
}

fn mixed(reason: &str) -> Error {
    WatchlistError::Mixed {
        reason: reason.into(),
    }
    .into()
}

fn clear_alerts_not_listed(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE watchlist_alerts SET cleared_at = ?1 WHERE cleared_at IS NULL
         AND tag NOT IN (SELECT tag FROM watchlist_entries)",
        [timestamp(now)],
    )?;
    Ok(())
}

/// A subject's stretched keys under the list in use, computed without holding the store.
pub(crate) struct Prepared {
    list: Active,
    keys: Vec<Probed>,
}

/// One probe of a subject: its stretched key (the list's tag, reported to the server on a
/// hit, and the key of the entry's details) and the tag as this store keeps it.
struct Probed {
    kind: RowKind,
    key: StretchedKey,
    stored: Tag,
}

/// Derives the subject's keys under the list in use; `None` when no list is loaded.
pub(crate) fn prepare(
    unlocked: &Unlocked<'_>,
    subject: &Subject,
) -> Result<Option<Prepared>, Error> {
    let Some(list) = unlocked.read(active)? else {
        return Ok(None);
    };
    let probes = subject_probes(subject, unlocked.today())?;
    let cipher = unlocked.cipher();
    let keys = derive_all(&probes, &list.stretch, &list.salt)
        .map_err(WatchlistError::from)?
        .into_iter()
        .map(|(kind, key)| Probed {
            kind,
            stored: cipher.watchlist_tag(&key.tag()),
            key,
        })
        .collect();
    Ok(Some(Prepared { list, keys }))
}

/// The hit report queued for the server (silently: nothing on the screen says it was sent).
#[derive(Serialize)]
struct HitReport<'a> {
    alert_id: &'a str,
    list_id: &'a str,
    list_version: u64,
    key_epoch: u32,
    tag: String,
    matched_on: RowKind,
    score: u8,
    person_id: Option<&'a str>,
    raised_at: DateTime<Utc>,
}

fn score(kind: RowKind) -> u8 {
    match kind {
        RowKind::IdNumber => 100,
        RowKind::NameHanzi => 70,
        RowKind::NamePinyin => 55,
    }
}

/// Looks the prepared keys up and raises an alert for each hit scoring at least `threshold`
/// (except tags in `standing`, which already alert): stored (sealed), audited and queued as a
/// hit report, all inside `tx`.
pub(crate) fn raise(
    tx: &Transaction<'_>,
    unlocked: &Unlocked<'_>,
    prepared: &Prepared,
    person_id: Option<&str>,
    threshold: u8,
    standing: &HashSet<Tag>,
) -> Result<CheckOutcome, Error> {
    let now = unlocked.now();
    let list = &prepared.list;
    let mut alerts = Vec::new();
    let mut entries = HashSet::new();
    for probed in hits(tx, prepared, threshold)? {
        let kind = probed.kind;
        if standing.contains(&probed.stored) {
            continue;
        }
        let details = match kind {
            RowKind::IdNumber => open_details(tx, unlocked.cipher(), probed)?,
            _ => None,
        };
        // Two numbers of one listed person presented together make one alert.
        if let Some(details) = &details {
            if !entries.insert(details.entry_ref.clone()) {
                continue;
            }
        }
        let alert = WatchlistAlert {
            alert_id: Uuid::now_v7().to_string(),
            person_id: person_id.map(str::to_owned),
            wording: ALERT_WORDING.into(),
            confidence: match kind {
                RowKind::IdNumber => Confidence::Exact,
                _ => Confidence::Low,
            },
            score: score(kind),
            matched_on: kind,
            instructions: details
                .as_ref()
                .map_or(DEFAULT_INSTRUCTIONS.into(), |d| d.instructions.clone()),
            details,
            list_version: list.info.version,
            list_out_of_date: now >= list.info.expires_at,
            raised_at: now,
        };
        record_alert(tx, unlocked, list, probed, &alert)?;
        alerts.push(alert);
    }
    alerts.sort_by_key(|a| std::cmp::Reverse(a.score));
    Ok(CheckOutcome {
        list: list.status(now),
        alerts,
    })
}

/// The keys that hit, scoring at least `threshold`: every identity-number hit if there is
/// one (a name hit then adds nothing), otherwise the single best name hit (the readings of
/// one name are one match, not several).
fn hits<'p>(
    conn: &Connection,
    prepared: &'p Prepared,
    threshold: u8,
) -> Result<Vec<&'p Probed>, StoreError> {
    let mut hits = Vec::new();
    let mut seen = HashSet::new();
    for probed in &prepared.keys {
        if score(probed.kind) >= threshold
            && seen.insert(probed.stored)
            && listed_kind(conn, &probed.stored)? == Some(probed.kind)
        {
            hits.push(probed);
        }
    }
    if hits.iter().any(|p| p.kind == RowKind::IdNumber) {
        hits.retain(|p| p.kind == RowKind::IdNumber);
    } else {
        hits.sort_by_key(|p| std::cmp::Reverse(score(p.kind)));
        hits.truncate(1);
    }
    Ok(hits)
}

fn listed_kind(conn: &Connection, tag: &Tag) -> Result<Option<RowKind>, StoreError> {
    let code: Option<u8> = conn
        .prepare_cached("SELECT kind FROM watchlist_entries WHERE tag = ?1")?
        .query_row([&tag[..]], |r| r.get(0))
        .optional()?;
    Ok(code.and_then(RowKind::from_code))
}

/// Opens an entry's details: the store's seal, then the presented identifier's key. Details
/// that fail to open or parse are left out (the alert still stands on the tag).
fn open_details(
    conn: &Connection,
    cipher: &RowCipher,
    probed: &Probed,
) -> Result<Option<EntryDetails>, StoreError> {
    let sealed: Option<Vec<u8>> = conn
        .prepare_cached("SELECT sealed FROM watchlist_details WHERE tag = ?1")?
        .query_row([&probed.stored[..]], |r| r.get(0))
        .optional()?;
    Ok(sealed
        .and_then(|s| open_bytes(cipher, &context::watchlist_details(&probed.stored), &s).ok())
        .and_then(|s| probed.key.open_details(&s).ok())
        .and_then(|plain| serde_json::from_slice(&plain).ok()))
}

fn record_alert(
    tx: &Transaction<'_>,
    unlocked: &Unlocked<'_>,
    list: &Active,
    probed: &Probed,
    alert: &WatchlistAlert,
) -> Result<(), StoreError> {
    let cipher = unlocked.cipher();
    let sealed = seal_json(
        cipher,
        &context::watchlist_alert(&alert.alert_id, alert.person_id.as_deref()),
        alert,
    )?;
    tx.prepare_cached(
        "INSERT INTO watchlist_alerts (id, person_id, tag, list_version, raised_at, sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        alert.alert_id,
        alert.person_id,
        &probed.stored[..],
        list.info.version as i64,
        timestamp(alert.raised_at),
        sealed
    ])?;
    unlocked.audit(tx, "watchlist.alert", "watchlist_alert", &alert.alert_id)?;
    let report = HitReport {
        alert_id: &alert.alert_id,
        list_id: &list.info.list_id,
        list_version: list.info.version,
        key_epoch: list.info.key_epoch,
        // The list's own tag: the server maps it back to the entry.
        tag: hex(&probed.key.tag()),
        matched_on: alert.matched_on,
        score: alert.score,
        person_id: alert.person_id.as_deref(),
        raised_at: alert.raised_at,
    };
    outbox::enqueue(
        tx,
        cipher,
        alert.raised_at,
        "watchlist.hit",
        &alert.alert_id,
        &report,
    )?;
    Ok(())
}

/// Re-checks one local person after a new list version: raises alerts for new hits (not for
/// hits that already alert) and clears the person's alerts whose entry left the list.
pub(crate) fn recheck_person(
    tx: &Transaction<'_>,
    unlocked: &Unlocked<'_>,
    prepared: &Prepared,
    person_id: &str,
    threshold: u8,
) -> Result<(Vec<WatchlistAlert>, Vec<String>), Error> {
    let now = unlocked.now();
    let hits: HashSet<Tag> = hits(tx, prepared, threshold)?
        .into_iter()
        .map(|p| p.stored)
        .collect();
    let mut active_tags = HashSet::new();
    let mut cleared = Vec::new();
    let rows: Vec<(String, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT id, tag FROM watchlist_alerts WHERE person_id = ?1 AND cleared_at IS NULL",
        )?
        .query_map([person_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (alert_id, tag) in rows {
        match <Tag>::try_from(tag.as_slice()) {
            Ok(tag) if hits.contains(&tag) => {
                active_tags.insert(tag);
            }
            _ => {
                clear_alert(tx, unlocked, &alert_id, now)?;
                cleared.push(alert_id);
            }
        }
    }
    let outcome = raise(
        tx,
        unlocked,
        prepared,
        Some(person_id),
        threshold,
        &active_tags,
    )?;
    Ok((outcome.alerts, cleared))
}

fn clear_alert(
    tx: &Transaction<'_>,
    unlocked: &Unlocked<'_>,
    alert_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE watchlist_alerts SET cleared_at = ?2 WHERE id = ?1")?
        .execute(params![alert_id, timestamp(now)])?;
    unlocked.audit(tx, "watchlist.alert_clear", "watchlist_alert", alert_id)
}

/// Alerts not tied to a local person (look-ups of unknown numbers) whose entry left the list.
pub(crate) fn stale_alerts(
    tx: &Transaction<'_>,
    unlocked: &Unlocked<'_>,
) -> Result<Vec<String>, Error> {
    let now = unlocked.now();
    let ids: Vec<String> = tx
        .prepare_cached(
            "SELECT id FROM watchlist_alerts WHERE person_id IS NULL AND cleared_at IS NULL
             AND tag NOT IN (SELECT tag FROM watchlist_entries)",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        clear_alert(tx, unlocked, id, now)?;
    }
    Ok(ids)
}

/// The alerts standing (not cleared), newest first.
pub(crate) fn standing_alerts(
    conn: &Connection,
    unlocked: &Unlocked<'_>,
) -> Result<Vec<WatchlistAlert>, StoreError> {
    let rows: Vec<(String, Option<String>, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT id, person_id, sealed FROM watchlist_alerts WHERE cleared_at IS NULL
             ORDER BY raised_at DESC, id DESC",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    rows.iter()
        .map(|(id, person_id, sealed)| {
            let context = context::watchlist_alert(id, person_id.as_deref());
            open_json(unlocked.cipher(), &context, sealed)
        })
        .collect()
}

/// Moves the alerts raised for person `alias` to `person` (the district person it was
/// merged into).
pub(crate) fn repoint_alerts(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    alias: &str,
    person: &str,
) -> Result<(), StoreError> {
    let rows: Vec<(String, Vec<u8>)> = tx
        .prepare_cached("SELECT id, sealed FROM watchlist_alerts WHERE person_id = ?1")?
        .query_map([alias], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, sealed) in rows {
        let before = context::watchlist_alert(&id, Some(alias));
        let alert: WatchlistAlert = open_json(cipher, &before, &sealed)?;
        let alert = WatchlistAlert {
            person_id: Some(person.to_owned()),
            ..alert
        };
        let after = context::watchlist_alert(&id, Some(person));
        tx.prepare_cached("UPDATE watchlist_alerts SET person_id = ?2, sealed = ?3 WHERE id = ?1")?
            .execute(params![id, person, seal_json(cipher, &after, &alert)?])?;
    }
    Ok(())
}
