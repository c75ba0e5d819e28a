//! The residence permit as a state machine over the GA/T 2000.6-2020 life-cycle events.
//!
//! Pure: [`Permit::apply`] returns the next state or says why not, and changes nothing.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::codes::{self, CodeTableId};
use crate::registration::Dwelling;

/// Where a permit is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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

impl PermitState {
    /// The state's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Issued => "issued",
            Self::Delivered => "delivered",
            Self::Suspended => "suspended",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A life-cycle event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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

impl PermitEvent {
    /// The event's name as stored, e.g. `endorse`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Accept { .. } => "accept",
            Self::Issue { .. } => "issue",
            Self::Deliver => "deliver",
            Self::Endorse => "endorse",
            Self::Suspend => "suspend",
            Self::Restore => "restore",
            Self::ChangeAddress { .. } => "change_address",
            Self::Cancel { .. } => "cancel",
        }
    }
}

/// A permit's current state: the fold of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Permit {
    /// Permit record id (UUIDv7).
    pub id: String,
    /// The holder.
    pub person_id: String,
    /// The registration the application rests on.
    pub registration_id: String,
    /// Current state.
    pub state: PermitState,
    /// Number of events applied; each transition is based on one version.
    pub version: u32,
    /// Permit number, once issued.
    pub number: Option<String>,
    /// Date of issue.
    pub issued_on: Option<NaiveDate>,
    /// The next anniversary by which it must be endorsed.
    pub endorsement_due: Option<NaiveDate>,
    /// Residence address on the card.
    pub dwelling: Dwelling,
    /// Cancellation reason code, once cancelled.
    pub cancel_reason: Option<String>,
}

/// Why a permit event was refused. Carries record ids and dates, never personal values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermitError {
    /// The event is not allowed in the permit's state.
    #[error("permit {permit_id}: cannot {event} a permit that is {}", state.as_str())]
    IllegalTransition {
        /// The permit.
        permit_id: String,
        /// Its state.
        state: PermitState,
        /// The refused event.
        event: &'static str,
    },
    /// Endorsement is only possible in the month before the anniversary.
    #[error("permit {permit_id}: endorsement opens on {opens}")]
    EndorsementNotDue {
        /// The permit.
        permit_id: String,
        /// First day of the endorsement window.
        opens: NaiveDate,
    },
    /// The anniversary passed unendorsed: suspend, then restore with a late endorsement.
    #[error("permit {permit_id}: endorsement was due on {due}; suspend it, then restore it")]
    EndorsementOverdue {
        /// The permit.
        permit_id: String,
        /// The missed date.
        due: NaiveDate,
    },
    /// Suspension is for a missed endorsement, and this one is not missed.
    #[error("permit {permit_id}: endorsement is not overdue (due {due})")]
    NotOverdue {
        /// The permit.
        permit_id: String,
        /// The next due date.
        due: NaiveDate,
    },
    /// The cancellation reason is not a code of the table.
    #[error("permit {permit_id}: unknown cancellation reason code")]
    UnknownReason {
        /// The permit.
        permit_id: String,
    },
    /// The permit number is malformed.
    #[error("permit {permit_id}: a permit number is 4 to 32 letters or digits")]
    InvalidNumber {
        /// The permit.
        permit_id: String,
    },
    /// The command was based on an older version of the permit.
    #[error("permit {permit_id}: changed since version {based_on} (now {current})")]
    StaleVersion {
        /// The permit.
        permit_id: String,
        /// The version the command saw.
        based_on: u32,
        /// The permit's version now.
        current: u32,
    },
}

impl PermitError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IllegalTransition { .. } => "permit.illegal_transition",
            Self::EndorsementNotDue { .. } => "permit.endorsement_not_due",
            Self::EndorsementOverdue { .. } => "permit.endorsement_overdue",
            Self::NotOverdue { .. } => "permit.not_overdue",
            Self::UnknownReason { .. } => "permit.unknown_reason",
            Self::InvalidNumber { .. } => "permit.invalid_number",
            Self::StaleVersion { .. } => "permit.stale_version",
        }
    }
}

const YEAR: Months = Months::new(12);
const MONTH: Months = Months::new(1);

impl Permit {
    /// The permit created by an accepted application (version 1).
    pub fn accepted(id: String, event: &PermitEvent) -> Option<Self> {
        let PermitEvent::Accept {
            person_id,
            registration_id,
            dwelling,
        } = event
        else {
            return None;
        };
        Some(Self {
            id,
            person_id: person_id.clone(),
            registration_id: registration_id.clone(),
            state: PermitState::Accepted,
            version: 1,
            number: None,
            issued_on: None,
            endorsement_due: None,
            dwelling: dwelling.clone(),
            cancel_reason: None,
        })
    }

    /// The permit after `event` happened on `on`, or why it cannot happen.
    pub fn apply(&self, event: &PermitEvent, on: NaiveDate) -> Result<Permit, PermitError> {
        use PermitState::*;
        let illegal = || PermitError::IllegalTransition {
            permit_id: self.id.clone(),
            state: self.state,
            event: event.kind(),
        };
        let mut next = self.clone();
        // A permit as the server sent it may carry any version: the last one takes no event.
        next.version = self.version.checked_add(1).ok_or_else(illegal)?;
        match (self.state, event) {
            (_, PermitEvent::Accept { .. }) => return Err(illegal()),
            (Accepted, PermitEvent::Issue { number }) => {
                let valid = (4..=32).contains(&number.len())
                    && number.chars().all(|c| c.is_ascii_alphanumeric());
                if !valid {
                    return Err(PermitError::InvalidNumber {
                        permit_id: self.id.clone(),
                    });
                }
                next.state = Issued;
                next.number = Some(number.clone());
                next.issued_on = Some(on);
                next.endorsement_due = on.checked_add_months(YEAR);
            }
            (Issued, PermitEvent::Deliver) => next.state = Delivered,
            (Delivered, PermitEvent::Endorse) => {
                let due = self.due()?;
                let opens = due.checked_sub_months(MONTH).unwrap_or(due);
                if on < opens {
                    return Err(PermitError::EndorsementNotDue {
                        permit_id: self.id.clone(),
                        opens,
                    });
                }
                if on > due {
                    return Err(PermitError::EndorsementOverdue {
                        permit_id: self.id.clone(),
                        due,
                    });
                }
                next.endorsement_due = due.checked_add_months(YEAR);
            }
            (Delivered, PermitEvent::Suspend) => {
                let due = self.due()?;
                if on <= due {
                    return Err(PermitError::NotOverdue {
                        permit_id: self.id.clone(),
                        due,
                    });
                }
                next.state = Suspended;
            }
            (Suspended, PermitEvent::Restore) => {
                // A late endorsement runs to the first anniversary after it.
                let mut due = self.due()?;
                while due <= on {
                    due = due.checked_add_months(YEAR).ok_or_else(illegal)?;
                }
                next.state = Delivered;
                next.endorsement_due = Some(due);
            }
            (
                Accepted | Issued | Delivered | Suspended,
                PermitEvent::ChangeAddress { dwelling },
            ) => {
                next.dwelling = dwelling.clone();
            }
            (Accepted | Issued | Delivered | Suspended, PermitEvent::Cancel { reason }) => {
                if !codes::table(CodeTableId::CancellationReason).contains(reason) {
                    return Err(PermitError::UnknownReason {
                        permit_id: self.id.clone(),
                    });
                }
                next.state = Cancelled;
                next.cancel_reason = Some(reason.clone());
            }
            _ => return Err(illegal()),
        }
        Ok(next)
    }

    fn due(&self) -> Result<NaiveDate, PermitError> {
        self.endorsement_due
            .ok_or_else(|| PermitError::IllegalTransition {
                permit_id: self.id.clone(),
                state: self.state,
                event: "endorse",
            })
    }
}

#[cfg(test)]
mod tests;
