//! The audit trail and the outbox: what a supervisor or the sync screen reads.

use std::sync::Arc;

use lgt_core::{audit as core_audit, outbox as core_outbox};

use crate::registrations::convert_all;
use crate::shared::Shared;
use crate::LgtError;

/// An audit record: who did what, when, to which record. Never a personal value.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who (account id).
    pub actor: String,
    /// What, e.g. `registration.create`.
    pub action: String,
    /// Kind of record.
    pub record_kind: String,
    /// Which record.
    pub record_id: String,
}

/// How the audit chain breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BreakKind {
    /// A record was edited or reordered.
    Tampered,
    /// A record was deleted.
    Missing,
    /// The chain was cut short.
    Truncated,
}

/// The first broken link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct BrokenLink {
    /// Sequence number where the chain breaks.
    pub seq: i64,
    /// How it breaks.
    pub kind: BreakKind,
}

/// Result of verifying the audit chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct AuditReport {
    /// Records checked.
    pub records: u64,
    /// The first broken link; `None` when the whole chain verifies.
    pub first_broken: Option<BrokenLink>,
}

/// The audit trail of one open store: `core.audit()`.
#[derive(uniffi::Object)]
pub struct Audit {
    shared: Arc<Shared>,
}

impl Audit {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self { shared })
    }
}

#[uniffi::export]
impl Audit {
    /// Verifies the MAC chain; the check itself is recorded after it ran.
    pub fn verify(&self) -> Result<AuditReport, LgtError> {
        let report = self.shared.call(|core| core.audit_verify())?;
        Ok(AuditReport {
            records: report.records,
            first_broken: report.first_broken.map(|b| BrokenLink {
                seq: b.seq,
                kind: match b.kind {
                    core_audit::BreakKind::Tampered => BreakKind::Tampered,
                    core_audit::BreakKind::Missing => BreakKind::Missing,
                    core_audit::BreakKind::Truncated => BreakKind::Truncated,
                },
            }),
        })
    }

    /// The latest `limit` records, newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<AuditRecord>, LgtError> {
        self.shared
            .call(|core| core.audit_recent(limit))
            .map(convert_all)
    }
}

impl From<core_audit::AuditRecord> for AuditRecord {
    fn from(r: core_audit::AuditRecord) -> Self {
        Self {
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            record_kind: r.record_kind,
            record_id: r.record_id,
        }
    }
}

/// Where a queued operation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OperationState {
    /// Waiting to be sent.
    Pending,
    /// Sent, no answer yet.
    InFlight,
    /// The server applied it.
    Acknowledged,
    /// The server refused it for good.
    Quarantined,
    /// Replaced by a later operation before it was sent.
    Superseded,
}

/// One queued operation, without its payload.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Operation {
    /// Position in the queue.
    pub seq: i64,
    /// The operation's id (UUIDv7), the server's idempotency key.
    pub op_id: String,
    /// What it does, e.g. `registration.create`.
    pub kind: String,
    /// The record it concerns.
    pub record_id: String,
    /// Hex SHA-256 of the frozen payload.
    pub payload_hash: String,
    /// Where it is in its life.
    pub state: OperationState,
    /// When it was enqueued, RFC 3339.
    pub created_at: String,
}

/// The outbox of one open store: `core.outbox()`. Filled by every change; drained by sync
/// (not in this build).
#[derive(uniffi::Object)]
pub struct Outbox {
    shared: Arc<Shared>,
}

impl Outbox {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self { shared })
    }
}

#[uniffi::export]
impl Outbox {
    /// Queued operations in queue order, optionally only those in one state.
    pub fn list(&self, state: Option<OperationState>) -> Result<Vec<Operation>, LgtError> {
        let state = state.map(Into::into);
        self.shared.call(|core| core.outbox(state)).map(convert_all)
    }
}

impl From<OperationState> for core_outbox::OperationState {
    fn from(s: OperationState) -> Self {
        match s {
            OperationState::Pending => Self::Pending,
            OperationState::InFlight => Self::InFlight,
            OperationState::Acknowledged => Self::Acknowledged,
            OperationState::Quarantined => Self::Quarantined,
            OperationState::Superseded => Self::Superseded,
        }
    }
}

impl From<core_outbox::OperationState> for OperationState {
    fn from(s: core_outbox::OperationState) -> Self {
        use core_outbox::OperationState as S;
        match s {
            S::Pending => Self::Pending,
            S::InFlight => Self::InFlight,
            S::Acknowledged => Self::Acknowledged,
            S::Quarantined => Self::Quarantined,
            S::Superseded => Self::Superseded,
        }
    }
}

impl From<core_outbox::Operation> for Operation {
    fn from(o: core_outbox::Operation) -> Self {
        Self {
            seq: o.seq,
            op_id: o.op_id,
            kind: o.kind,
            record_id: o.record_id,
            payload_hash: o.payload_hash,
            state: o.state.into(),
            created_at: o.created_at,
        }
    }
}
