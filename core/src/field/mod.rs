//! [`FieldCore`]: the one object a shell opens. Every method is a short delegation to the
//! capability that does the work, inside a session that knows the store, the clock and the
//! acting coordinator.

mod scan;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Transaction;
use serde::Serialize;

use crate::audit::{self, AuditEvent, AuditRecord, AuditReport};
use crate::clock::Clock;
use crate::crypto::KeyProvider;
use crate::outbox::{self, Operation, OperationState};
use crate::permit::{self, PermitCommand, PermitRecord};
use crate::registration::{
    self, DocumentInput, Identifier, PersonRecord, RegistrationInput, RegistrationReceipt,
    RegistrationRecord,
};
use crate::store::{Store, StoreError, StoreOptions};
use crate::Error;

mod sync;
mod watchlist;

/// What the core needs from its caller to open a store.
pub struct OpenParams<'a> {
    /// Directory of the store.
    pub dir: &'a Path,
    /// Supplier of the data key.
    pub keys: &'a dyn KeyProvider,
    /// The coordinator's account id, recorded in the audit trail (an id, never a name).
    pub actor: &'a str,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Store options.
    pub options: StoreOptions,
}

/// Everything a person's own record holds, for a subject-access export.
#[derive(Debug, Clone, Serialize)]
pub struct PersonExport {
    /// The person with identifiers and current registration.
    pub person: PersonRecord,
    /// Every registration, newest first.
    pub registrations: Vec<RegistrationRecord>,
    /// Every permit with its full event log.
    pub permits: Vec<PermitRecord>,
}

/// The offline field core over one encrypted store.
pub struct FieldCore {
    store: Store,
    clock: Arc<dyn Clock>,
    actor: String,
    alerts: watchlist::AlertHooks,
}

/// The context every domain operation runs in.
pub(crate) struct Session<'a> {
    pub(crate) store: &'a Store,
    clock: &'a dyn Clock,
    actor: &'a str,
}

impl Session<'_> {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    pub(crate) fn actor(&self) -> &str {
        self.actor
    }

    /// Appends an audit record in the caller's transaction.
    pub(crate) fn audit(
        &self,
        tx: &Transaction<'_>,
        action: &str,
        record_kind: &str,
        record_id: &str,
    ) -> Result<(), StoreError> {
        let event = AuditEvent {
            actor: self.actor,
            action,
            record_kind,
            record_id,
        };
        audit::append(tx, self.store.cipher(), self.clock.now(), event).map(|_| ())
    }
}

fn check_actor(actor: &str) -> Result<(), Error> {
    let valid = !actor.is_empty()
        && actor.len() <= 64
        && actor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            field: "actor",
            reason: "must be an account id of 1 to 64 ASCII letters, digits, '-', '_', '.' or '@'"
                .into(),
        })
    }
}

impl FieldCore {
    /// Creates a new store and opens it.
    pub fn create(params: OpenParams<'_>) -> Result<Self, Error> {
        check_actor(params.actor)?;
        let store = Store::create(params.dir, params.keys, params.options)?;
        Self::start(store, params, "store.create")
    }

    /// Opens an existing store; a wrong key fails with [`StoreError::WrongKey`].
    pub fn open(params: OpenParams<'_>) -> Result<Self, Error> {
        check_actor(params.actor)?;
        let store = Store::open(params.dir, params.keys, params.options)?;
        Self::start(store, params, "store.open")
    }

    fn start(store: Store, params: OpenParams<'_>, action: &str) -> Result<Self, Error> {
        let core = Self {
            store,
            clock: params.clock,
            actor: params.actor.to_owned(),
            alerts: watchlist::AlertHooks::default(),
        };
        let store_id = core.store.id().to_owned();
        core.store
            .write(|tx| core.session().audit(tx, action, "store", &store_id))?;
        Ok(core)
    }

    fn session(&self) -> Session<'_> {
        Session {
            store: &self.store,
            clock: self.clock.as_ref(),
            actor: &self.actor,
        }
    }

    /// The store's random id.
    pub fn store_id(&self) -> &str {
        self.store.id()
    }

    /// Validates and stores a registration with its outbox operation and audit record, and
    /// checks the person against the watchlist: alerts are committed with the registration
    /// and returned in the receipt (and handed to the alert listener).
    pub fn register(&self, input: &RegistrationInput) -> Result<RegistrationReceipt, Error> {
        self.check_unlocked()?;
        let prepared = self.watchlist_prepare_registration(input)?;
        let receipt =
            registration::register(&self.session(), input, |tx, person_id| match &prepared {
                Some(prepared) => Ok(self.raise(tx, prepared, Some(person_id))?.alerts),
                None => Ok(Vec::new()),
            })?;
        self.notify(&receipt.alerts);
        Ok(receipt)
    }

    /// Records a new identity number for a known person.
    pub fn add_identifier(
        &self,
        person_id: &str,
        document: &DocumentInput,
    ) -> Result<Identifier, Error> {
        self.check_unlocked()?;
        registration::add_identifier(&self.session(), person_id, document)
    }

    /// Persons holding (or having held) a document number; 15-digit numbers match their
    /// 18-digit upgrade. The number and the persons found are checked against the
    /// watchlist; alerts go to the alert listener.
    pub fn find_by_document_number(&self, number: &str) -> Result<Vec<PersonRecord>, Error> {
        self.check_unlocked()?;
        let found = registration::find_by_document_number(&self.session(), number)?;
        self.watchlist_after_find(Some(number), &found)?;
        Ok(found)
    }

    /// Persons with this current or former name. The persons found are checked against the
    /// watchlist by their identity numbers; alerts go to the alert listener.
    pub fn find_by_name(&self, name: &str) -> Result<Vec<PersonRecord>, Error> {
        self.check_unlocked()?;
        let found = registration::find_by_name(&self.session(), name)?;
        self.watchlist_after_find(None, &found)?;
        Ok(found)
    }

    /// Everything stored about one person, for the person's own request. Audited.
    pub fn export_person(&self, person_id: &str) -> Result<PersonExport, Error> {
        self.check_unlocked()?;
        let session = self.session();
        let cipher = self.store.cipher();
        self.store.write(|tx| {
            let person = registration::person_record(tx, cipher, person_id)?;
            let export = PersonExport {
                registrations: registration::registrations_of(tx, cipher, person_id)?,
                permits: permit::permits_of(tx, cipher, person_id)?,
                person,
            };
            session.audit(tx, "person.export", "person", person_id)?;
            Ok(export)
        })
    }

    /// Applies a permit command (accept, issue, deliver, endorse, ...).
    pub fn permit(&self, command: &PermitCommand) -> Result<PermitRecord, Error> {
        self.check_unlocked()?;
        permit::execute(&self.session(), command)
    }

    /// A permit with its event log. Audited.
    pub fn permit_show(&self, permit_id: &str) -> Result<PermitRecord, Error> {
        self.check_unlocked()?;
        permit::show(&self.session(), permit_id)
    }

    /// Verifies the audit chain; the check itself is recorded after it ran.
    pub fn audit_verify(&self) -> Result<AuditReport, Error> {
        let report = self
            .store
            .read(|conn| audit::verify(conn, self.store.cipher()))?;
        let store_id = self.store.id().to_owned();
        self.store
            .write(|tx| self.session().audit(tx, "audit.verify", "store", &store_id))?;
        Ok(report)
    }

    /// The latest audit records, newest first.
    pub fn audit_recent(&self, limit: u32) -> Result<Vec<AuditRecord>, Error> {
        Ok(self.store.read(|conn| audit::recent(conn, limit))?)
    }

    /// Queued operations, optionally only those in one state.
    pub fn outbox(&self, state: Option<OperationState>) -> Result<Vec<Operation>, Error> {
        Ok(self.store.read(|conn| outbox::list(conn, state))?)
    }

    /// SQLite's integrity check: `"ok"` or its complaints.
    pub fn integrity_check(&self) -> Result<String, Error> {
        Ok(self.store.integrity_check()?)
    }

    /// Destroys the key, then the store's files.
    pub fn wipe(self, keys: &dyn KeyProvider) -> Result<(), Error> {
        Ok(self.store.wipe(keys)?)
    }
}
