//! Residence permits: accept an application, apply life-cycle events, show a permit. The
//! permit types are lgt-common's state machine and lgt-core's event log, as they are.

use std::sync::Arc;

use lgt_core::permit::{PermitCommand, PermitEvent, PermitRecord};

use crate::shared::Shared;
use crate::LgtError;

/// Permits of one open store: `core.permits()`.
#[derive(uniffi::Object)]
pub struct Permits {
    shared: Arc<Shared>,
}

impl Permits {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self { shared })
    }
}

#[uniffi::export]
impl Permits {
    /// Accepts an application for a person with an active registration and no permit in
    /// force.
    pub fn accept(&self, person_id: String) -> Result<PermitRecord, LgtError> {
        let command = PermitCommand::Accept { person_id };
        self.shared.call(|core| core.permit(&command))
    }

    /// Applies a life-cycle event. `Accept` is refused here (it is [`Permits::accept`]). With
    /// `base_version`, a permit changed since that version is refused
    /// (`permit.stale_version`); a refused event changes nothing.
    pub fn apply(
        &self,
        permit_id: String,
        base_version: Option<u32>,
        event: PermitEvent,
    ) -> Result<PermitRecord, LgtError> {
        let command = PermitCommand::Apply {
            permit_id,
            base_version,
            event,
        };
        self.shared.call(|core| core.permit(&command))
    }

    /// A permit with its event log. Audited.
    pub fn show(&self, permit_id: String) -> Result<PermitRecord, LgtError> {
        self.shared.call(|core| core.permit_show(&permit_id))
    }

    /// The signed QR text of an issued or delivered permit (by record id or permit number),
    /// valid until its next endorsement anniversary; show it with [`crate::render_qr`].
    /// Other devices verify it offline with `scan()`. Audited.
    pub fn qr_code(&self, id_or_number: String) -> Result<String, LgtError> {
        self.shared.call(|core| core.permit_qr(&id_or_number))
    }
}
