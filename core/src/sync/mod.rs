//! The sync engine: the only network path into the store.
//!
//! Push drains the outbox in batches; the server's ledger answers each operation on its
//! own, and each answer is settled in the store as it arrives, so a dropped connection or a
//! killed process resumes where it stopped (in-flight operations are simply sent again).
//! Pull fetches every bucket's pages up to a checkpoint, then applies them in one
//! transaction and compares the order-independent checksum; a mismatch re-downloads that
//! bucket whole and swaps it in, leaving the outbox untouched.
//!
//! Errors fall into three classes ([`ErrorClass`]): transient ones are retried by the
//! timer with exponential backoff, jitter and the server's Retry-After; auth errors stop
//! and ask the user; permanent refusals of one operation quarantine that operation only.

mod backoff;
mod client;
mod commands;
mod error;
mod state;
mod tls;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lgt_protocol::{
    audit_head_signing_message, codes, device_key_proof_message, hex, paths, AnchorStatus,
    AuditAnchorRequest, AuditAnchorResponse, AuditChainRecord, AuditPoint, AuditProof,
    AuditRecordsRequest, AuditRecordsResponse, AuditRecordsStatus, Bucket, BucketCursor,
    DeviceKeyRequest, DeviceKeyResponse, EnrollRequest, EnrollResponse, Entry, NumbersRequest,
    NumbersResponse, OperationResult, Outcome, PullRequest, PullResponse, PushOperation,
    PushRequest, PushResponse, QueueHealth, SignedAuditHead, MAX_AUDIT_RECORDS, MAX_BODY_BYTES,
    MAX_PUSH_OPERATIONS,
};
use serde::Serialize;
use tokio::sync::Notify;

pub use backoff::Backoff;
pub use client::{Client, Credentials};
#[doc(hidden)]
pub use commands::verify as verify_command;
pub use error::{ErrorClass, SyncError};
/// A pin on the server's TLS key (`sha256/BASE64`), given at enrollment.
pub use lgt_protocol::ServerPin;
pub use state::Enrollment;

use crate::audit;
use crate::crypto::{PublicKey, RowCipher};
use crate::outbox::{self, OperationState};
use crate::store::{timestamp, Store, StoreError, Unlocked};
use crate::watchlist::{ListInfo, WatchlistPolicy};

/// Operations per push; a 413 or a malformed-request refusal halves it to isolate the
/// operation at fault.
const PUSH_BATCH: usize = if MAX_PUSH_OPERATIONS < 200 {
    MAX_PUSH_OPERATIONS
} else {
    200
};

/// Audit records per upload (the protocol allows [`MAX_AUDIT_RECORDS`]).
const AUDIT_BATCH: usize = if MAX_AUDIT_RECORDS < 200 {
    MAX_AUDIT_RECORDS
} else {
    200
};

/// Audit uploads per sync: a longer backlog (a phone upgraded with a long trail) goes over the
/// next syncs, so one sync stays within the server's request rate.
const AUDIT_UPLOADS_PER_SYNC: usize = 25;

/// Entries pulled in one sync past which the WAL is checkpointed and cut back at once.
const LARGE_PULL: usize = 1000;

/// Entries per bucket per pull answer.
const PULL_LIMIT: u32 = 500;

/// What the layers above do with what the server sent, inside the transaction that keeps it
/// (Mozilla sync15's engines). The engine keeps the replica, the outbox and the server's
/// commands and knows no table of theirs; the rules of each kind of record stay with its
/// capability. The engine lends them the store's cipher: pulled records are sealed at rest
/// like the phone's own.
pub trait Appliers: Send + Sync {
    /// Acts on `entries` of `bucket` (a `recovery` re-downloaded the bucket whole) and notes
    /// what it did in `report`. Buckets come in [`Bucket::ALL`] order. An error rolls the
    /// whole checkpoint back.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        tx: &rusqlite::Transaction<'_>,
        cipher: &RowCipher,
        bucket: Bucket,
        entries: &[Entry],
        now: DateTime<Utc>,
        recovery: bool,
        report: &mut SyncReport,
    ) -> Result<(), StoreError>;

    /// The server answered an operation without applying it (kept it as a conflict, or
    /// refused it): the record it changed here goes back to the server's state, which the
    /// replica holds. Runs in the transaction that settles the operation.
    fn diverged(
        &self,
        tx: &rusqlite::Transaction<'_>,
        cipher: &RowCipher,
        kind: &str,
        record_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Operations the server applied now or had applied before.
    pub acknowledged: usize,
    /// Operations the server kept as conflicts for a supervisor.
    pub conflicts: usize,
    /// Operations refused for good, now quarantined with their reason.
    pub quarantined: usize,
    /// Bucket entries applied.
    pub pulled: usize,
    /// Buckets whose checksum disagreed and were downloaded again whole.
    pub recovered: Vec<Bucket>,
    /// Watchlist versions imported from the `watchlist` bucket, in order. Alerts of entries
    /// that left the list stop at once; run [`crate::FieldCore::watchlist_recheck`] (on a
    /// background thread) so earlier registrations are checked against the new version.
    pub watchlist_imported: Vec<ListInfo>,
    /// Watchlist packages refused (forged, rolled back, expired, no pinned root...): the list
    /// in use stays. Versions and error codes only.
    pub watchlist_refused: Vec<String>,
    /// Server commands refused (not signed by the pinned command key, for another device,
    /// malformed): command ids and reasons.
    pub commands_refused: Vec<String>,
    /// The device key was replaced, as a signed command ordered.
    pub device_key_rotated: bool,
    /// Entries of the `issuers` bucket refused as malformed: key ids.
    pub issuers_refused: Vec<String>,
    /// District records (persons, registrations, dwellings, permits) written into this
    /// store's tables.
    pub district_merged: usize,
    /// District records left for a later sync: the record has operations of this phone
    /// waiting, or names a person not here yet.
    pub district_kept: usize,
    /// District entries refused as malformed: keys only.
    pub district_refused: Vec<String>,
    /// Persons of this store the server merged into a district person, folded into it now
    /// (each is in the audit trail as `person.merged`).
    pub persons_folded: Vec<FoldedPerson>,
    /// The server found this store's audit chain not passing through the head it anchored
    /// before: the store was restored from an older copy (or replaced). A supervisor sees
    /// the device flagged.
    pub audit_rollback_suspected: bool,
}

/// A person of this store folded into the district person the server merged it into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FoldedPerson {
    /// The id this store knew the person by; it still finds them.
    pub person_id: String,
    /// The district person it is now part of.
    pub into: String,
}

/// An operation the server refused, with the reason shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QuarantinedOperation {
    /// The operation.
    pub op_id: String,
    /// Its kind.
    pub kind: String,
    /// The record it concerns.
    pub record_id: String,
    /// Why the server refused it.
    pub reason: String,
}

/// One bucket of the replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BucketStatus {
    /// The bucket.
    pub bucket: Bucket,
    /// The last sequence applied.
    pub cursor: i64,
    /// Live entries held.
    pub entries: i64,
    /// The replica's checksum.
    pub checksum: String,
}

/// Sync health, for a status screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncStatus {
    /// The enrollment, if any.
    pub enrollment: Option<Enrollment>,
    /// Operations waiting to be sent (pending or in flight).
    pub queue_depth: usize,
    /// When the oldest of them was queued.
    pub oldest_pending: Option<String>,
    /// Operations refused for good, with reasons.
    pub quarantined: Vec<QuarantinedOperation>,
    /// When the last sync succeeded.
    pub last_success: Option<String>,
    /// How the last failed attempt failed.
    pub last_error: Option<String>,
    /// The replica's buckets.
    pub buckets: Vec<BucketStatus>,
    /// Reserved permit numbers still valid and unissued.
    pub permit_numbers_left: usize,
}

/// One attempt of a watching sync, for an observer.
#[derive(Debug)]
pub struct SyncAttempt {
    /// What it did, or why it failed.
    pub result: Result<SyncReport, SyncError>,
    /// When the next attempt starts unless a trigger comes first.
    pub next_in: Duration,
}

/// How a watching sync paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// Time between successful syncs.
    pub interval: Duration,
    /// The retry backoff after transient failures.
    pub backoff: Backoff,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
            backoff: Backoff::default(),
        }
    }
}

/// A handle on a watching sync: the shell pokes it when the network comes back (the sync
/// tries at once; the timer fires by itself too, this is only a hint), or stops it.
#[derive(Debug, Clone, Default)]
pub struct SyncTrigger {
    wake: Arc<Notify>,
    stop: Arc<SyncCancel>,
}

impl SyncTrigger {
    /// A new trigger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the watching sync the network is available.
    pub fn network_available(&self) {
        self.wake.notify_one();
    }

    /// Ends the watching sync at once: while it waits, or, during an attempt, at that
    /// attempt's next wait on the network (what was settled stays).
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Whether [`SyncTrigger::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }
}

/// Stops a running [`crate::FieldCore::sync_now_with`] from another thread: the sync ends at
/// its next wait on the network, as if the connection had dropped (what was settled stays;
/// the rest goes next time).
#[derive(Debug, Default)]
pub struct SyncCancel {
    cancelled: AtomicBool,
    notify: Notify,
}

impl SyncCancel {
    /// A handle not cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the sync (at once if it has not started).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether [`SyncCancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once [`SyncCancel::cancel`] has been called.
    pub(crate) async fn cancelled(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        // Registered before the check, so a cancel between the two is not missed.
        notified.as_mut().enable();
        if !self.is_cancelled() {
            notified.await;
        }
    }
}

/// Makes a device key, enrolls it with the server under a one-time code, and stores the
/// enrollment with the key sealed under the store's data key. The key is kept from before
/// the request, so asking again with the same code after a lost answer is answered with the
/// same device.
pub(crate) async fn enroll(
    store: &Store,
    now: DateTime<Utc>,
    server_url: &str,
    server_pins: &[ServerPin],
    code: &str,
) -> Result<Enrollment, SyncError> {
    if let Some(enrolled) = store.read(state::enrollment)? {
        return Err(SyncError::AlreadyEnrolled {
            device_id: enrolled.device_id,
        });
    }
    let client = Client::new(server_url, server_pins)?;
    // The same code asked again (its answer was lost) goes with the same key.
    let key = store.write(|tx| state::enrolling_key(tx, store.cipher(), code))?;
    let request = EnrollRequest {
        code: code.to_owned(),
        public_key: hex(key.public_key().as_bytes()),
        client_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let response: EnrollResponse = client.post(paths::ENROLL, &request).await?;
    let command_key = lgt_protocol::unhex(&response.command_key)
        .and_then(|bytes| PublicKey::try_from_slice(&bytes).ok())
        .ok_or_else(|| SyncError::Transient {
            reason: "the enrollment answer carries no valid command key".into(),
            retry_after: None,
        })?;
    let enrollment = Enrollment {
        server_url: server_url.trim_end_matches('/').to_owned(),
        device_id: response.device_id,
        coordinator: response.coordinator,
        district: response.district,
        enrolled_at: timestamp(now),
        max_offline_secs: response.max_offline_secs,
        server_pins: server_pins.to_vec(),
    };
    store
        .write(|tx| state::save_enrollment(tx, store.cipher(), &enrollment, &key, &command_key))?;
    Ok(enrollment)
}

/// One full sync: push everything sendable, then pull every bucket to its checkpoint.
pub(crate) async fn sync_once(
    store: &Store,
    appliers: &dyn Appliers,
    now: DateTime<Utc>,
) -> Result<SyncReport, SyncError> {
    let (enrollment, mut credentials) = store
        .read(|conn| state::credentials(conn, store.cipher()))?
        .ok_or(SyncError::NotEnrolled)?;
    if let Some(order) = store.read(commands::standing)? {
        return Err(order);
    }
    let client = Client::new(&enrollment.server_url, &enrollment.server_pins)?;
    let mut report = SyncReport::default();
    let result = async {
        // A rotation an earlier sync was ordered and could not finish goes first.
        rotate_device_key(store, &client, &mut credentials, &mut report).await?;
        push(store, appliers, &client, &credentials, now, &mut report).await?;
        refill_numbers(store, &client, &credentials).await?;
        pull(store, appliers, &client, &credentials, now, &mut report).await?;
        if report.pulled >= LARGE_PULL {
            store.checkpoint()?;
        }
        // One this pull ordered, at once.
        rotate_device_key(store, &client, &mut credentials, &mut report).await?;
        upload_audit(store, &client, &credentials, &mut report).await?;
        anchor_audit(store, &client, &credentials, &mut report).await?;
        // An order that came with this pull takes effect now.
        match store.read(commands::standing)? {
            Some(order) => Err(order),
            None => Ok(()),
        }
    }
    .await
    .map_err(|e| match e {
        // Push settles a 413 for one of its operations itself; any other 413 (a pull, a
        // number refill: a few bytes) came from the network, not from a request too large.
        SyncError::TooLarge => SyncError::Transient {
            reason: "HTTP 413 for a small request".into(),
            retry_after: None,
        },
        e => e,
    });
    let error = result.as_ref().err().map(|e| e.to_string());
    store.write(|tx| state::record_attempt(tx, store.cipher(), now, error.as_deref()))?;
    result.map(|()| report)
}

/// Finishes a device key rotation a signed command ordered: registers the pending key with
/// the server, signed by the key in use, then keeps only the new one. When the answer to an
/// earlier attempt was lost, the server holds the new key already and refuses the old one:
/// the same request signed by the new key confirms it.
async fn rotate_device_key(
    store: &Store,
    client: &Client,
    credentials: &mut Credentials,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let Some(pending) = store.read(|conn| state::pending_key(conn, store.cipher()))? else {
        return Ok(());
    };
    let public_key = hex(pending.public_key().as_bytes());
    let proof = pending.sign(&device_key_proof_message(
        &credentials.device_id,
        &public_key,
    ));
    let request = DeviceKeyRequest {
        public_key,
        proof: hex(&proof),
    };
    let renewed = Credentials {
        device_id: credentials.device_id.clone(),
        key: pending,
    };
    let _: DeviceKeyResponse = match client
        .signed(credentials, paths::DEVICE_KEY, &request)
        .await
    {
        Err(SyncError::Auth { .. }) => client.signed(&renewed, paths::DEVICE_KEY, &request).await?,
        answer => answer?,
    };
    store.write(|tx| state::promote_pending_key(tx, store.cipher()))?;
    *credentials = renewed;
    report.device_key_rotated = true;
    Ok(())
}

/// Uploads this store's audit records the server does not hold yet, in batches, under the
/// head of the chain signed by the device key, so the history survives the phone and cannot
/// be rewritten past what the server has seen. The server stores a batch only if it extends
/// the chain it holds, and answers where that chain stands: a batch sent from a stale guess
/// is answered with the right place to start. A history the server finds rewritten, or a
/// store older than the chain it holds, is reported (`audit_rollback_suspected`) and flags
/// the device there; the rest of the sync goes on.
async fn upload_audit(
    store: &Store,
    client: &Client,
    credentials: &Credentials,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let Some((seq, hash)) = store.read(audit::chain_head)? else {
        return Ok(());
    };
    let chain_hash = hex(&hash);
    let signature = credentials.key.sign(&audit_head_signing_message(
        &credentials.device_id,
        seq,
        &chain_hash,
    ));
    let head = SignedAuditHead {
        seq,
        chain_hash,
        signature: hex(&signature),
    };
    let mut from = store.read(state::audit_uploaded)? + 1;
    let mut last_held = None;
    for _ in 0..AUDIT_UPLOADS_PER_SYNC {
        let records = store
            .read(|conn| audit::chain_records(conn, from, seq, AUDIT_BATCH))?
            .into_iter()
            .map(|r| AuditChainRecord {
                seq: r.record.seq,
                at: r.record.at,
                actor: r.record.actor,
                action: r.record.action,
                record_kind: r.record.record_kind,
                record_id: r.record.record_id,
                prev_chain_hash: hex(&r.prev_chain_hash),
                chain_hash: hex(&r.chain_hash),
            })
            .collect();
        let request = AuditRecordsRequest {
            records,
            head: head.clone(),
        };
        let answer: AuditRecordsResponse = match client
            .signed(credentials, paths::AUDIT_RECORDS, &request)
            .await
        {
            Err(SyncError::Permanent { code, .. }) if code == codes::AUDIT_HISTORY_REWRITTEN => {
                report.audit_rollback_suspected = true;
                return Ok(());
            }
            answer => answer?,
        };
        let held = answer.held.map_or(0, |h| h.seq);
        store.write(|tx| state::set_audit_uploaded(tx, held.min(seq)))?;
        match answer.status {
            AuditRecordsStatus::InStep => return Ok(()),
            AuditRecordsStatus::RollbackSuspected => {
                report.audit_rollback_suspected = true;
                return Ok(());
            }
            // Sent from where the server stands, the records move it on; anything else is
            // not the server's answer to them.
            AuditRecordsStatus::Behind if last_held == Some(held) || held >= seq => {
                return Err(SyncError::Transient {
                    reason: "the server did not take the audit records".into(),
                    retry_after: None,
                });
            }
            AuditRecordsStatus::Behind => {
                last_held = Some(held);
                from = held + 1;
            }
        }
    }
    // The rest goes with the next syncs.
    Ok(())
}

/// Anchors the head of this store's audit chain on the server, proving first that the chain
/// still passes through the head anchored before: a store restored from an older copy
/// cannot, and the server flags the device for a supervisor.
async fn anchor_audit(
    store: &Store,
    client: &Client,
    credentials: &Credentials,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let Some((seq, mac)) = store.read(|conn| audit::mac_at(conn, None))? else {
        return Ok(());
    };
    let mut request = AuditAnchorRequest {
        head: AuditPoint {
            seq,
            mac: hex(&mac),
        },
        proof: None,
    };
    let mut answer: AuditAnchorResponse = client
        .signed(credentials, paths::AUDIT_ANCHOR, &request)
        .await?;
    if let (AnchorStatus::Challenge, Some(anchored)) = (answer.status, answer.anchor_seq) {
        let mine = store.read(|conn| audit::mac_at(conn, Some(anchored)))?;
        request.proof = Some(AuditProof {
            seq: anchored,
            mac: mine.map(|(_, mac)| hex(&mac)),
        });
        answer = client
            .signed(credentials, paths::AUDIT_ANCHOR, &request)
            .await?;
    }
    // The records' upload may have found it already.
    if answer.status == AnchorStatus::RollbackSuspected {
        report.audit_rollback_suspected = true;
    }
    Ok(())
}

async fn push(
    store: &Store,
    appliers: &dyn Appliers,
    client: &Client,
    credentials: &Credentials,
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let mut batch = PUSH_BATCH;
    loop {
        let operations = store.read(|conn| {
            outbox::sendable(conn, store.cipher(), batch)?
                .into_iter()
                .map(|(op, payload)| {
                    let payload =
                        String::from_utf8(payload.to_vec()).map_err(|_| StoreError::Malformed {
                            record: format!("outbox:{}", op.op_id),
                        })?;
                    Ok(PushOperation {
                        op_id: op.op_id,
                        kind: op.kind,
                        record_id: op.record_id,
                        payload_sha256: op.payload_hash,
                        payload,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        if operations.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = operations.iter().map(|op| op.op_id.clone()).collect();
        store.write(|tx| outbox::mark_in_flight(tx, &ids))?;
        let request = PushRequest { operations };
        match client.signed(credentials, paths::PUSH, &request).await {
            Ok(PushResponse { results }) => {
                let settled = settle(store, appliers, &ids, &results, now, report)?;
                if settled < ids.len() {
                    // The answer skipped some: they stay in flight and go again next time.
                    return Err(SyncError::Transient {
                        reason: "the server answered part of a batch".into(),
                        retry_after: None,
                    });
                }
            }
            Err(e) if isolates(&e) && ids.len() > 1 => batch = ids.len() / 2,
            Err(SyncError::TooLarge) if encoded_len(&request) <= MAX_BODY_BYTES => {
                // One operation within the protocol's limit: the refusal is not about it.
                return Err(SyncError::Transient {
                    reason: "HTTP 413 for a request within the protocol's size limit".into(),
                    retry_after: None,
                });
            }
            Err(e) if isolates(&e) => {
                let reason = format!("refused by the server: {e}");
                store.write(|tx| {
                    settle_unapplied(
                        tx,
                        store,
                        appliers,
                        &ids[0],
                        OperationState::Quarantined,
                        &reason,
                        now,
                    )
                })?;
                report.quarantined += 1;
                batch = PUSH_BATCH;
            }
            Err(e) => return Err(e),
        }
    }
}

fn encoded_len(request: &PushRequest) -> usize {
    serde_json::to_vec(request).map_or(usize::MAX, |bytes| bytes.len())
}

/// Whether a refusal of a whole batch is to be narrowed down to the operation causing it.
fn isolates(error: &SyncError) -> bool {
    matches!(
        error,
        SyncError::TooLarge
            | SyncError::Permanent {
                status: 400 | 422,
                ..
            }
    )
}

/// Settles each answered operation in one transaction; returns how many were answered. A
/// record an unapplied operation changed goes back to the server's state.
fn settle(
    store: &Store,
    appliers: &dyn Appliers,
    ids: &[String],
    results: &[OperationResult],
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<usize, StoreError> {
    store.write(|tx| {
        let mut settled = 0;
        for result in results {
            if !ids.iter().any(|id| id == result.op_id()) {
                continue;
            }
            let (state, note) = match result {
                OperationResult::New { outcome, .. }
                | OperationResult::Duplicate { outcome, .. } => match outcome {
                    Outcome::Applied => (OperationState::Acknowledged, None),
                    Outcome::Conflict { reason, .. } => {
                        report.conflicts += 1;
                        (
                            OperationState::Acknowledged,
                            Some(format!("conflict: {reason}")),
                        )
                    }
                    Outcome::Rejected { reason } => {
                        report.quarantined += 1;
                        (OperationState::Quarantined, Some(reason.clone()))
                    }
                },
                OperationResult::HashMismatch { .. } => {
                    report.quarantined += 1;
                    (
                        OperationState::Quarantined,
                        Some("the server holds a different payload under this operation id".into()),
                    )
                }
            };
            if state == OperationState::Acknowledged {
                report.acknowledged += 1;
            }
            match &note {
                None => outbox::settle(tx, result.op_id(), state, None)?,
                Some(note) => {
                    settle_unapplied(tx, store, appliers, result.op_id(), state, note, now)?
                }
            }
            settled += 1;
        }
        Ok(settled)
    })
}

/// Settles an operation the server did not apply (a conflict or a refusal), keeping `note`,
/// and puts the record it changed back to the server's state through the appliers.
fn settle_unapplied(
    tx: &rusqlite::Transaction<'_>,
    store: &Store,
    appliers: &dyn Appliers,
    op_id: &str,
    state: OperationState,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    outbox::settle(tx, op_id, state, Some(note))?;
    match outbox::subject(tx, op_id)? {
        Some((kind, record_id)) => appliers.diverged(tx, store.cipher(), &kind, &record_id, now),
        None => Ok(()),
    }
}

/// Asks the server to top up this device's reserved permit numbers and keeps its list. Runs
/// after the push, so the server already knows which numbers were issued.
async fn refill_numbers(
    store: &Store,
    client: &Client,
    credentials: &Credentials,
) -> Result<(), SyncError> {
    let response: NumbersResponse = client
        .signed(credentials, paths::NUMBERS, &NumbersRequest {})
        .await?;
    store.write(|tx| state::replace_numbers(tx, store.cipher(), &response.numbers))?;
    Ok(())
}

/// Pages of one bucket gathered up to its checkpoint.
struct Staged {
    entries: Vec<Entry>,
    cursor: i64,
    checksum: Option<String>,
}

async fn pull(
    store: &Store,
    appliers: &dyn Appliers,
    client: &Client,
    credentials: &Credentials,
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let start = store.read(|conn| {
        Bucket::ALL
            .into_iter()
            .map(|b| Ok((b, state::cursor(conn, b)?)))
            .collect::<Result<Vec<_>, StoreError>>()
    })?;
    let queue = store.read(|conn| {
        let (depth, oldest_pending) = outbox::waiting(conn)?;
        Ok::<_, StoreError>(QueueHealth {
            depth: depth as u64,
            oldest_pending,
        })
    })?;
    let staged = fetch(client, credentials, &start, &queue).await?;
    let mismatched = store.write(|tx| {
        let mut mismatched = Vec::new();
        for (bucket, page) in &staged {
            let checksum = page.checksum.as_deref().unwrap_or_default();
            if state::apply_checkpoint(
                tx,
                store.cipher(),
                *bucket,
                &page.entries,
                page.cursor,
                checksum,
                false,
            )? {
                report.pulled += page.entries.len();
                act_on_checkpoint(
                    tx,
                    store.cipher(),
                    appliers,
                    *bucket,
                    &page.entries,
                    now,
                    false,
                    report,
                )?;
            } else {
                mismatched.push(*bucket);
            }
        }
        Ok::<_, StoreError>(mismatched)
    })?;
    if mismatched.is_empty() {
        return Ok(());
    }
    // Recovery: download the drifted buckets whole and swap them in.
    let from_zero: Vec<(Bucket, i64)> = mismatched.iter().map(|b| (*b, 0)).collect();
    let staged = fetch(client, credentials, &from_zero, &queue).await?;
    store.write(|tx| {
        for (bucket, page) in &staged {
            let checksum = page.checksum.as_deref().unwrap_or_default();
            if !state::apply_checkpoint(
                tx,
                store.cipher(),
                *bucket,
                &page.entries,
                page.cursor,
                checksum,
                true,
            )? {
                return Err(SyncError::Transient {
                    reason: format!("bucket {} changed during its recovery", bucket.as_str()),
                    retry_after: None,
                });
            }
            report.pulled += page.entries.len();
            report.recovered.push(*bucket);
            act_on_checkpoint(
                tx,
                store.cipher(),
                appliers,
                *bucket,
                &page.entries,
                now,
                true,
                report,
            )?;
        }
        Ok(())
    })
}

/// Acts on what a checkpoint brought: the `commands` bucket's commands are obeyed here (each
/// once, in sequence order); every bucket then goes to the appliers.
#[allow(clippy::too_many_arguments)]
fn act_on_checkpoint(
    tx: &rusqlite::Transaction<'_>,
    cipher: &RowCipher,
    appliers: &dyn Appliers,
    bucket: Bucket,
    entries: &[Entry],
    now: DateTime<Utc>,
    recovery: bool,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    if bucket == Bucket::Commands {
        report
            .commands_refused
            .extend(commands::obey(tx, cipher, entries, now)?);
    }
    appliers.apply(tx, cipher, bucket, entries, now, recovery, report)
}

/// The watchlist roots pinned on this device, if any.
pub(crate) fn watchlist_policy(
    conn: &rusqlite::Connection,
) -> Result<Option<WatchlistPolicy>, StoreError> {
    state::watchlist_policy(conn)
}

/// Pins the watchlist roots the `watchlist` bucket's packages must verify against.
pub(crate) fn pin_watchlist(store: &Store, policy: &WatchlistPolicy) -> Result<(), SyncError> {
    if store.write(|tx| state::save_watchlist_policy(tx, policy))? {
        Ok(())
    } else {
        Err(SyncError::NotEnrolled)
    }
}

/// Pulls pages of `buckets` from their cursors until each reaches a checkpoint; returns them
/// in the order asked (the order the appliers take them in).
async fn fetch(
    client: &Client,
    credentials: &Credentials,
    buckets: &[(Bucket, i64)],
    queue: &QueueHealth,
) -> Result<Vec<(Bucket, Staged)>, SyncError> {
    let mut staged: BTreeMap<Bucket, Staged> = buckets
        .iter()
        .map(|(b, cursor)| {
            (
                *b,
                Staged {
                    entries: Vec::new(),
                    cursor: *cursor,
                    checksum: None,
                },
            )
        })
        .collect();
    while staged.values().any(|s| s.checksum.is_none()) {
        let request = PullRequest {
            cursors: staged
                .iter()
                .map(|(bucket, s)| BucketCursor {
                    bucket: *bucket,
                    cursor: s.cursor,
                })
                .collect(),
            limit: PULL_LIMIT,
            queue: queue.clone(),
        };
        let response: PullResponse = client.signed(credentials, paths::PULL, &request).await?;
        for page in response.buckets {
            let Some(stage) = staged.get_mut(&page.bucket) else {
                continue;
            };
            if stage.checksum.is_some() {
                continue;
            }
            stage.entries.extend(page.entries);
            stage.cursor = page.cursor;
            if !page.has_more {
                stage.checksum = Some(page.checksum.unwrap_or_default());
            }
        }
    }
    Ok(buckets
        .iter()
        .filter_map(|(bucket, _)| staged.remove(bucket).map(|s| (*bucket, s)))
        .collect())
}

/// Syncs, then again after `options.interval`, or after a backoff when it failed for a
/// transient reason, or at once when `trigger` fires; returns when an auth or permanent
/// error needs the user, or when `observer` breaks.
pub(crate) async fn watch(
    store: &Store,
    appliers: &dyn Appliers,
    now: impl Fn() -> DateTime<Utc>,
    options: WatchOptions,
    trigger: &SyncTrigger,
    observer: &mut (dyn FnMut(&SyncAttempt) -> ControlFlow<()> + Send),
) -> Result<(), SyncError> {
    let mut backoff = options.backoff;
    loop {
        let result = tokio::select! {
            result = sync_once(store, appliers, now()) => result,
            () = trigger.stop.cancelled() => return Ok(()),
        };
        let next_in = match &result {
            Ok(_) => {
                backoff.reset();
                options.interval
            }
            Err(SyncError::Transient { retry_after, .. }) => backoff.next_delay(*retry_after),
            Err(e) if e.class() == ErrorClass::Transient => backoff.next_delay(None),
            Err(_) => Duration::ZERO,
        };
        let attempt = SyncAttempt { result, next_in };
        let flow = observer(&attempt);
        if let Err(e) = attempt.result {
            if e.class() != ErrorClass::Transient {
                return Err(e);
            }
        }
        if flow.is_break() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(next_in) => {}
            () = trigger.wake.notified() => backoff.reset(),
            () = trigger.stop.cancelled() => return Ok(()),
        }
    }
}

/// Sync health from the store.
pub(crate) fn status(store: &Store, now: DateTime<Utc>) -> Result<SyncStatus, StoreError> {
    store.read(|conn| {
        let (queue_depth, oldest_pending) = outbox::waiting(conn)?;
        let quarantined = outbox::list(conn, store.cipher(), Some(OperationState::Quarantined))?
            .into_iter()
            .map(|op| {
                Ok(QuarantinedOperation {
                    reason: outbox::note(conn, &op.op_id)?.unwrap_or_default(),
                    op_id: op.op_id,
                    kind: op.kind,
                    record_id: op.record_id,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let (last_success, last_error) = state::last_attempt(conn)?;
        let buckets = Bucket::ALL
            .into_iter()
            .map(|bucket| {
                Ok(BucketStatus {
                    bucket,
                    cursor: state::cursor(conn, bucket)?,
                    entries: state::entry_count(conn, bucket)?,
                    checksum: state::local_checksum(conn, store.cipher(), bucket)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(SyncStatus {
            enrollment: state::enrollment(conn)?,
            queue_depth,
            oldest_pending,
            quarantined,
            last_success,
            last_error,
            buckets,
            permit_numbers_left: state::unissued_numbers(conn, store.cipher(), now.timestamp())?
                .len(),
        })
    })
}

/// The replica's live entries of a bucket: `(key, JSON text)`. Personal data: it opens only
/// for an unlocked store.
pub(crate) fn replica(
    unlocked: &Unlocked<'_>,
    bucket: Bucket,
) -> Result<Vec<(String, String)>, StoreError> {
    unlocked.read(|conn| state::entries(conn, unlocked.cipher(), bucket))
}

/// Notes that an applier could not take `key` of `bucket` yet; [`deferred`] lists it until
/// [`undefer`] (or a recovery of the bucket) drops it.
pub fn defer(conn: &rusqlite::Connection, bucket: Bucket, key: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR IGNORE INTO sync_deferred (bucket, key) VALUES (?1, ?2)")?
        .execute([bucket.as_str(), key])?;
    Ok(())
}

/// Drops `key` of `bucket` from the deferred entries.
pub fn undefer(conn: &rusqlite::Connection, bucket: Bucket, key: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM sync_deferred WHERE bucket = ?1 AND key = ?2")?
        .execute([bucket.as_str(), key])?;
    Ok(())
}

/// The keys of `bucket` an applier deferred, in key order.
pub fn deferred(conn: &rusqlite::Connection, bucket: Bucket) -> Result<Vec<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT key FROM sync_deferred WHERE bucket = ?1 ORDER BY key")?
        .query_map([bucket.as_str()], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// One live entry of the replica, decrypted (for an applier restoring a record to the
/// server's state).
pub fn replica_entry(
    conn: &rusqlite::Connection,
    cipher: &RowCipher,
    bucket: Bucket,
    key: &str,
) -> Result<Option<String>, StoreError> {
    state::entry(conn, cipher, bucket, key)
}

/// The next reserved permit number to issue offline, if the pool holds one.
pub(crate) fn next_permit_number(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    store.read(|conn| {
        Ok(
            state::unissued_numbers(conn, store.cipher(), now.timestamp())?
                .into_iter()
                .next(),
        )
    })
}
