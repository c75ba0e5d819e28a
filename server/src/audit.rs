//! Audit anchors: the server keeps the head of each device's audit chain, so a phone whose
//! store was restored from an older copy (or replaced) is noticed, which the phone alone
//! cannot do. Each sync ends with a challenge: the server names the sequence number it holds
//! anchored, the phone answers with its MAC there, and only a chain that still passes
//! through the anchor moves it forward. Two requests, so a lost answer never raises a false
//! alarm: nothing is stored until the proof arrives.

use lgt_protocol::{AnchorStatus, AuditAnchorRequest, AuditAnchorResponse};
use sqlx::AnyConnection;

use crate::auth::Device;
use crate::db::now;

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
