//! The audit trail and the outbox: what a supervisor or the sync screen reads.

use std::sync::Arc;

use lgt_core::audit::{AuditRecord, AuditReport};
use lgt_core::outbox::{Operation, OperationState};

use crate::shared::Shared;
use crate::LgtError;

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
        self.shared.call(|core| core.audit_verify())
    }

    /// The latest `limit` records, newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<AuditRecord>, LgtError> {
        self.shared.call(|core| core.audit_recent(limit))
    }
}

/// The outbox of one open store: `core.outbox()`. Filled by every change; drained by sync.
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
        self.shared.call(|core| core.outbox(state))
    }
}
