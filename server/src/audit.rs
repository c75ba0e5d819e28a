//! Each device's audit trail on the server.
//!
//! **Anchors**: the server keeps the head of each device's audit chain, so a phone whose
//! store was restored from an older copy (or replaced) is noticed, which the phone alone
//! cannot do. Each sync ends with a challenge: the server names the sequence number it holds
//! anchored, the phone answers with its MAC there, and only a chain that still passes
//! through the anchor moves it forward. Two requests, so a lost answer never raises a false
//! alarm: nothing is stored until the proof arrives.
//!
//! **Records**: the phone uploads the records themselves (who, what, when, which record;
//! never a personal value), linked by a public hash chain, under the head of its chain signed
//! by the device key. The server cannot check the phone's MACs (it holds no key of the
//! store), but it can recompute the hashes: it stores a batch only if it extends the chain it
//! holds, so a holder of the phone's keys who rewrites the file (MACs and hashes alike) cannot
//! rewrite what the server has seen; a batch that does not extend it is refused whole
//! (`audit.history_rewritten`) and the device flagged. The records outlive the phone.

use axum::http::StatusCode;
use lgt_common::crypto::{sha256, PublicKey};
use lgt_protocol::{
    audit_chain_input, audit_head_signing_message, hex, unhex, AnchorStatus, AuditAnchorRequest,
    AuditAnchorResponse, AuditChainPoint, AuditChainRecord, AuditRecordsRequest,
    AuditRecordsResponse, AuditRecordsStatus, AUDIT_CHAIN_GENESIS, MAX_AUDIT_RECORDS,
    MAX_AUDIT_TEXT,
};
use sqlx::AnyConnection;

use crate::auth::Device;
use crate::db::{now, Db};
use crate::error::ApiError;

/// Answers one anchor request for `device` inside the caller's transaction.
pub(crate) async fn anchor(
    conn: &mut AnyConnection,
    device: &Device,
    request: &AuditAnchorRequest,
) -> sqlx::Result<AuditAnchorResponse> {
    let (seq, mac): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT audit_seq, audit_mac FROM devices WHERE id = $1")
            .bind(&device.id)
            .fetch_one(&mut *conn)
            .await?;
    let continuous = match (&request.proof, seq) {
        // Nothing anchored yet: the first head is taken as it is.
        (_, None) => true,
        (None, Some(seq)) => {
            return Ok(AuditAnchorResponse {
                status: AnchorStatus::Challenge,
                anchor_seq: Some(seq),
            })
        }
        (Some(proof), Some(seq)) => proof.seq == seq && proof.mac == mac && request.head.seq >= seq,
    };
    if !continuous {
        sqlx::query(
            "UPDATE devices SET audit_suspect_at = $2 WHERE id = $1 AND audit_suspect_at IS NULL",
        )
        .bind(&device.id)
        .bind(now())
        .execute(&mut *conn)
        .await?;
        tracing::warn!(device = %device.id, "audit chain does not pass through its anchor: store rolled back or replaced");
        return Ok(AuditAnchorResponse {
            status: AnchorStatus::RollbackSuspected,
            anchor_seq: seq,
        });
    }
    sqlx::query("UPDATE devices SET audit_seq = $2, audit_mac = $3 WHERE id = $1")
        .bind(&device.id)
        .bind(request.head.seq)
        .bind(&request.head.mac)
        .execute(&mut *conn)
        .await?;
    Ok(AuditAnchorResponse {
        status: AnchorStatus::Anchored,
        anchor_seq: Some(request.head.seq),
    })
}

/// A chain hash: 32 bytes.
type Hash = [u8; 32];

/// 32 bytes from 64 hex digits (either case), else `None`.
fn hash_of(text: &str) -> Option<Hash> {
    (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| unhex(text))
        .flatten()
        .and_then(|bytes| bytes.try_into().ok())
}

/// A record's chain hash recomputed from its fields and the chain hash it names before it.
fn recompute(record: &AuditChainRecord, prev: &Hash) -> Hash {
    sha256(&audit_chain_input(
        prev,
        record.seq,
        &record.at,
        &record.actor,
        &record.action,
        &record.record_kind,
        &record.record_id,
    ))
}

fn malformed(message: &str) -> ApiError {
    ApiError::bad_request("audit.malformed", message.to_owned())
}

fn bad_chain(message: String) -> ApiError {
    ApiError::bad_request("audit.bad_chain", message)
}

/// An uploaded record with its hashes decoded.
struct Checked<'a> {
    record: &'a AuditChainRecord,
    prev: Hash,
    hash: Hash,
}

/// Checks what needs no database: the bounds the document gives, and that the records form
/// a chain of their own (consecutive, each hash recomputing over the one before, none after
/// the head, the last one the head when they reach it).
fn check_upload(
    request: &AuditRecordsRequest,
) -> Result<(Hash, Vec<u8>, Vec<Checked<'_>>), ApiError> {
    if request.records.len() > MAX_AUDIT_RECORDS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "audit.too_many",
            format!("at most {MAX_AUDIT_RECORDS} audit records per upload"),
        ));
    }
    let head = &request.head;
    let head_hash = hash_of(&head.chain_hash)
        .ok_or_else(|| malformed("head.chain_hash must be 32 bytes of hex"))?;
    let signature = Some(head.signature.as_str())
        .filter(|s| s.len() == 128 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(unhex)
        .ok_or_else(|| malformed("head.signature must be 64 bytes of hex"))?;
    if head.seq < 1 {
        return Err(malformed("head.seq is 1 or more"));
    }
    let mut checked: Vec<Checked<'_>> = Vec::with_capacity(request.records.len());
    for record in &request.records {
        if record.seq < 1 {
            return Err(malformed("a record's seq is 1 or more"));
        }
        let texts = [
            &record.at,
            &record.actor,
            &record.action,
            &record.record_kind,
            &record.record_id,
        ];
        if texts.iter().any(|t| t.chars().count() > MAX_AUDIT_TEXT) {
            return Err(malformed(&format!(
                "a record's text fields are at most {MAX_AUDIT_TEXT} characters"
            )));
        }
        let (Some(prev), Some(hash)) = (
            hash_of(&record.prev_chain_hash),
            hash_of(&record.chain_hash),
        ) else {
            return Err(malformed("a record's chain hashes must be 32 bytes of hex"));
        };
        if let Some(before) = checked.last() {
            if record.seq != before.record.seq + 1 {
                return Err(bad_chain(format!(
                    "record {} does not follow record {}",
                    record.seq, before.record.seq
                )));
            }
            if prev != before.hash {
                return Err(bad_chain(format!(
                    "record {} does not link to the record before it",
                    record.seq
                )));
            }
        }
        if recompute(record, &prev) != hash {
            return Err(bad_chain(format!(
                "the chain hash of record {} does not recompute",
                record.seq
            )));
        }
        checked.push(Checked { record, prev, hash });
    }
    if let Some(last) = checked.last() {
        if last.record.seq > head.seq || (last.record.seq == head.seq && last.hash != head_hash) {
            return Err(bad_chain(
                "the records do not end at or before the head".into(),
            ));
        }
    }
    Ok((head_hash, signature, checked))
}

/// Why an upload was not taken, found inside the transaction.
enum Refusal {
    /// The device key did not sign the head.
    BadSignature,
    /// The records or the head differ from the chain held, first at this sequence number.
    Rewritten(i64),
}

impl From<sqlx::Error> for Outcome {
    fn from(e: sqlx::Error) -> Self {
        Outcome::Failed(e.into())
    }
}

/// What the transaction came to.
enum Outcome {
    Done(AuditRecordsResponse),
    Refused(Refusal),
    Failed(ApiError),
}

/// Stores the audit records `device` uploaded if they extend the chain held for it, checks
/// its signed head against that chain and keeps the signature; answers where the chain held
/// stands against the head. A batch that does not extend the chain held, or a head that is
/// not on it, is refused whole (409 `audit.history_rewritten`, nothing stored) and the device
/// flagged; records that are not a chain of their own are refused (400 `audit.bad_chain`).
pub(crate) async fn upload(
    db: &Db,
    device: &Device,
    request: &AuditRecordsRequest,
) -> Result<AuditRecordsResponse, ApiError> {
    let (head_hash, signature, records) = check_upload(request)?;
    let mut tx = db.pool.begin().await?;
    let outcome =
        match store_records(&mut tx, device, request, head_hash, &signature, &records).await {
            Ok(response) => Outcome::Done(response),
            Err(outcome) => outcome,
        };
    match outcome {
        Outcome::Done(response) => {
            tx.commit().await?;
            Ok(response)
        }
        Outcome::Failed(error) => Err(error),
        Outcome::Refused(Refusal::BadSignature) => {
            tx.rollback().await?;
            Err(ApiError::bad_request(
                "audit.bad_head_signature",
                "the head is not signed by this device's key",
            ))
        }
        Outcome::Refused(Refusal::Rewritten(seq)) => {
            tx.rollback().await?;
            sqlx::query(
                "UPDATE devices SET audit_rewritten_at = $2 WHERE id = $1 AND audit_rewritten_at IS NULL",
            )
            .bind(&device.id)
            .bind(now())
            .execute(&db.pool)
            .await?;
            tracing::warn!(device = %device.id, seq, "audit records do not extend the chain held: history rewritten or store replaced");
            Err(ApiError::new(
                StatusCode::CONFLICT,
                lgt_protocol::codes::AUDIT_HISTORY_REWRITTEN,
                format!(
                    "the audit records do not extend the history this server holds for the device (they differ at record {seq}); nothing was stored"
                ),
            ))
        }
    }
}

/// The chain hash held at `seq` (1 to the head held), `None` if it is not stored.
async fn held_hash(
    conn: &mut AnyConnection,
    device: &Device,
    seq: i64,
) -> Result<Option<Hash>, Outcome> {
    let stored: Option<(String,)> =
        sqlx::query_as("SELECT chain_hash FROM audit_records WHERE device_id = $1 AND seq = $2")
            .bind(&device.id)
            .bind(seq)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(stored.and_then(|(hash,)| hash_of(&hash)))
}

async fn store_records(
    conn: &mut AnyConnection,
    device: &Device,
    request: &AuditRecordsRequest,
    head_hash: Hash,
    signature: &[u8],
    records: &[Checked<'_>],
) -> Result<AuditRecordsResponse, Outcome> {
    // Takes the device's row first: uploads of one device are applied one after another.
    sqlx::query("UPDATE devices SET audit_chain_seq = audit_chain_seq WHERE id = $1")
        .bind(&device.id)
        .execute(&mut *conn)
        .await?;
    let (public_key, held_seq, held): (String, Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT public_key, audit_chain_seq, audit_chain_hash FROM devices WHERE id = $1",
    )
    .bind(&device.id)
    .fetch_one(&mut *conn)
    .await?;
    let head = &request.head;
    let signed = unhex(&public_key)
        .and_then(|bytes| PublicKey::try_from_slice(&bytes).ok())
        .is_some_and(|key| {
            key.verify(
                &audit_head_signing_message(&device.id, head.seq, &hex(&head_hash)),
                signature,
            )
            .is_ok()
        });
    if !signed {
        return Err(Outcome::Refused(Refusal::BadSignature));
    }
    let mut held_seq = held_seq.unwrap_or(0);
    let mut held = held
        .as_deref()
        .and_then(hash_of)
        .unwrap_or(AUDIT_CHAIN_GENESIS);
    let rewritten = |seq| Outcome::Refused(Refusal::Rewritten(seq));
    // Records starting past the chain held cannot be linked to it: nothing is stored, and the
    // answer says where to start.
    if let Some(first) = records.first().filter(|r| r.record.seq <= held_seq + 1) {
        let before = match first.record.seq - 1 {
            0 => Some(AUDIT_CHAIN_GENESIS),
            seq if seq == held_seq => Some(held),
            seq => held_hash(conn, device, seq).await?,
        };
        if before != Some(first.prev) {
            return Err(rewritten(first.record.seq));
        }
        // The records it holds already must be the same ones (a batch sent again).
        let last = records.last().map_or(0, |r| r.record.seq);
        let held_range: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, chain_hash FROM audit_records
             WHERE device_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
        )
        .bind(&device.id)
        .bind(first.record.seq)
        .bind(last.min(held_seq))
        .fetch_all(&mut *conn)
        .await?;
        let mut held_range = held_range.into_iter();
        for record in records.iter().take_while(|r| r.record.seq <= held_seq) {
            let same = held_range.next().is_some_and(|(seq, hash)| {
                seq == record.record.seq && hash_of(&hash) == Some(record.hash)
            });
            if !same {
                return Err(rewritten(record.record.seq));
            }
        }
        let received_at = now();
        let before_seq = held_seq;
        for record in records.iter().filter(|r| r.record.seq > before_seq) {
            let seq = record.record.seq;
            let r = record.record;
            sqlx::query(
                "INSERT INTO audit_records (device_id, seq, at, actor, action, record_kind, record_id,
                                            prev_chain_hash, chain_hash, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&device.id)
            .bind(seq)
            .bind(&r.at)
            .bind(&r.actor)
            .bind(&r.action)
            .bind(&r.record_kind)
            .bind(&r.record_id)
            .bind(hex(&record.prev))
            .bind(hex(&record.hash))
            .bind(received_at)
            .execute(&mut *conn)
            .await?;
            held_seq = seq;
            held = record.hash;
        }
        if held_seq > before_seq {
            sqlx::query(
                "UPDATE devices SET audit_chain_seq = $2, audit_chain_hash = $3 WHERE id = $1",
            )
            .bind(&device.id)
            .bind(held_seq)
            .bind(hex(&held))
            .execute(&mut *conn)
            .await?;
        }
    }
    let held_point = (held_seq > 0).then(|| AuditChainPoint {
        seq: held_seq,
        chain_hash: hex(&held),
    });
    if head.seq > held_seq {
        return Ok(AuditRecordsResponse {
            status: AuditRecordsStatus::Behind,
            held: held_point,
        });
    }
    let at_head = if head.seq == held_seq {
        Some(held)
    } else {
        held_hash(conn, device, head.seq).await?
    };
    if at_head != Some(head_hash) {
        return Err(rewritten(head.seq));
    }
    // The device's word for its chain up to here, kept as evidence.
    sqlx::query(
        "UPDATE audit_records SET head_signature = $3, head_key = $4
         WHERE device_id = $1 AND seq = $2 AND head_signature IS NULL",
    )
    .bind(&device.id)
    .bind(head.seq)
    .bind(hex(signature))
    .bind(&public_key)
    .execute(&mut *conn)
    .await?;
    if head.seq == held_seq {
        return Ok(AuditRecordsResponse {
            status: AuditRecordsStatus::InStep,
            held: held_point,
        });
    }
    sqlx::query(
        "UPDATE devices SET audit_suspect_at = $2 WHERE id = $1 AND audit_suspect_at IS NULL",
    )
    .bind(&device.id)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    tracing::warn!(device = %device.id, head = head.seq, held = held_seq, "audit chain ends before the records held: store rolled back");
    Ok(AuditRecordsResponse {
        status: AuditRecordsStatus::RollbackSuspected,
        held: held_point,
    })
}
