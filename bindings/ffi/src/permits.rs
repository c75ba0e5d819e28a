//! Residence permits: accept an application, apply life-cycle events, show a permit.

use std::sync::Arc;

use lgt_core::permit as core;

use crate::registrations::Dwelling;
use crate::shared::Shared;
use crate::LgtError;

/// Where a permit is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PermitState {
    /// Application accepted (受理).
    Accepted,
    /// Issued (签发), not yet handed over.
    Issued,
    /// Handed to the holder (发放) and in force.
    Delivered,
    /// Suspended for a missed endorsement (功能中止).
    Suspended,
    /// Cancelled (注销); final.
    Cancelled,
}

/// A life-cycle event. `Accept` appears in the log; it is applied through
/// [`Permits::accept`], and refused by [`Permits::apply`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PermitEvent {
    /// 受理: the application is accepted for a person at their registered dwelling.
    Accept {
        /// The holder.
        person_id: String,
        /// The registration the application rests on.
        registration_id: String,
        /// The residence address printed on the card.
        dwelling: Dwelling,
    },
    /// 签发: issued under a permit number.
    Issue {
        /// The permit number.
        number: String,
    },
    /// 发放: handed to the holder.
    Deliver,
    /// 签注: the yearly endorsement, in the month before the anniversary.
    Endorse,
    /// 功能中止: suspended after a missed endorsement.
    Suspend,
    /// 功能恢复: restored by a late endorsement.
    Restore,
    /// 地址变更: the residence address changes.
    ChangeAddress {
        /// The new dwelling.
        dwelling: Dwelling,
    },
    /// 注销: cancelled, with a GA/T 2000.25 reason code.
    Cancel {
        /// Cancellation reason code.
        reason: String,
    },
}

/// A permit's current state.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Permit {
    /// Permit record id (UUIDv7).
    pub id: String,
    /// The holder.
    pub person_id: String,
    /// The registration the application rests on.
    pub registration_id: String,
    /// Current state.
    pub state: PermitState,
    /// Number of events applied.
    pub version: u32,
    /// Permit number, once issued.
    pub number: Option<String>,
    /// Date of issue, `YYYY-MM-DD`.
    pub issued_on: Option<String>,
    /// The next anniversary by which it must be endorsed, `YYYY-MM-DD`.
    pub endorsement_due: Option<String>,
    /// Residence address on the card.
    pub dwelling: Dwelling,
    /// Cancellation reason code, once cancelled.
    pub cancel_reason: Option<String>,
}

/// One entry of a permit's event log.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PermitEventRecord {
    /// The permit version this event produced (1 = accepted).
    pub version: u32,
    /// The date the event took effect, `YYYY-MM-DD`.
    pub occurred_on: String,
    /// When it was recorded, RFC 3339.
    pub recorded_at: String,
    /// Who recorded it (account id).
    pub actor: String,
    /// The event.
    pub event: PermitEvent,
}

/// A permit with its full event log.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PermitRecord {
    /// Current state.
    pub permit: Permit,
    /// Every event, oldest first.
    pub events: Vec<PermitEventRecord>,
}

/// Permits of one open store: `core.permits()`.
#[derive(uniffi::Object)]
pub struct Permits {
    shared: Arc<Shared>,
}

impl Permits {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self { shared })
    }

    fn execute(&self, command: core::PermitCommand) -> Result<PermitRecord, LgtError> {
        self.shared
            .call(|core| core.permit(&command))
            .map(Into::into)
    }
}

#[uniffi::export]
impl Permits {
    /// Accepts an application for a person with an active registration and no permit in
    /// force.
    pub fn accept(&self, person_id: String) -> Result<PermitRecord, LgtError> {
        self.execute(core::PermitCommand::Accept { person_id })
    }

    /// Applies a life-cycle event. With `base_version`, a permit changed since that version
    /// is refused (`permit.stale_version`); a refused event changes nothing.
    pub fn apply(
        &self,
        permit_id: String,
        base_version: Option<u32>,
        event: PermitEvent,
    ) -> Result<PermitRecord, LgtError> {
        self.execute(core::PermitCommand::Apply {
            permit_id,
            base_version,
            event: event.into(),
        })
    }

    /// A permit with its event log. Audited.
    pub fn show(&self, permit_id: String) -> Result<PermitRecord, LgtError> {
        self.shared
            .call(|core| core.permit_show(&permit_id))
            .map(Into::into)
    }

    /// The signed QR text of an issued or delivered permit (by record id or permit number),
    /// valid until its next endorsement anniversary; show it with [`crate::render_qr`].
    /// Other devices verify it offline with `scan()`. Audited.
    pub fn qr_code(&self, id_or_number: String) -> Result<String, LgtError> {
        self.shared.call(|core| core.permit_qr(&id_or_number))
    }
}

impl From<core::PermitState> for PermitState {
    fn from(s: core::PermitState) -> Self {
        match s {
            core::PermitState::Accepted => Self::Accepted,
            core::PermitState::Issued => Self::Issued,
            core::PermitState::Delivered => Self::Delivered,
            core::PermitState::Suspended => Self::Suspended,
            core::PermitState::Cancelled => Self::Cancelled,
        }
    }
}

impl From<PermitEvent> for core::PermitEvent {
    fn from(e: PermitEvent) -> Self {
        match e {
            PermitEvent::Accept {
                person_id,
                registration_id,
                dwelling,
            } => Self::Accept {
                person_id,
                registration_id,
                dwelling: dwelling.into(),
            },
            PermitEvent::Issue { number } => Self::Issue { number },
            PermitEvent::Deliver => Self::Deliver,
            PermitEvent::Endorse => Self::Endorse,
            PermitEvent::Suspend => Self::Suspend,
            PermitEvent::Restore => Self::Restore,
            PermitEvent::ChangeAddress { dwelling } => Self::ChangeAddress {
                dwelling: dwelling.into(),
            },
            PermitEvent::Cancel { reason } => Self::Cancel { reason },
        }
    }
}

impl From<core::PermitEvent> for PermitEvent {
    fn from(e: core::PermitEvent) -> Self {
        use core::PermitEvent as E;
        match e {
            E::Accept {
                person_id,
                registration_id,
                dwelling,
            } => Self::Accept {
                person_id,
                registration_id,
                dwelling: dwelling.into(),
            },
            E::Issue { number } => Self::Issue { number },
            E::Deliver => Self::Deliver,
            E::Endorse => Self::Endorse,
            E::Suspend => Self::Suspend,
            E::Restore => Self::Restore,
            E::ChangeAddress { dwelling } => Self::ChangeAddress {
                dwelling: dwelling.into(),
            },
            E::Cancel { reason } => Self::Cancel { reason },
        }
    }
}

impl From<core::Permit> for Permit {
    fn from(p: core::Permit) -> Self {
        Self {
            id: p.id,
            person_id: p.person_id,
            registration_id: p.registration_id,
            state: p.state.into(),
            version: p.version,
            number: p.number,
            issued_on: p.issued_on.map(|d| d.to_string()),
            endorsement_due: p.endorsement_due.map(|d| d.to_string()),
            dwelling: p.dwelling.into(),
            cancel_reason: p.cancel_reason,
        }
    }
}

impl From<core::PermitRecord> for PermitRecord {
    fn from(r: core::PermitRecord) -> Self {
        Self {
            permit: r.permit.into(),
            events: r
                .events
                .into_iter()
                .map(|e| PermitEventRecord {
                    version: e.version,
                    occurred_on: e.occurred_on.to_string(),
                    recorded_at: e.recorded_at,
                    actor: e.actor,
                    event: e.event.into(),
                })
                .collect(),
        }
    }
}
