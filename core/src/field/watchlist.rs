//! FieldCore's watchlist methods: import a list version, check a subject, re-check the local
//! registrations, and the alert hooks that register and find call.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;
use rusqlite::Transaction;

use super::FieldCore;
use crate::identity;
use crate::registration::{self, PersonRecord, RegistrationInput};
use crate::watchlist::{
    self, AlertListener, CheckOutcome, ListInfo, ListStatus, Prepared, RecheckReport, Subject,
    WatchlistAlert, WatchlistPolicy, DEFAULT_THRESHOLD,
};
use crate::Error;

/// Where alerts go besides the result: the shell's listener, and the score threshold.
pub(crate) struct AlertHooks {
    listener: RwLock<Option<Arc<dyn AlertListener>>>,
    threshold: AtomicU8,
}

impl Default for AlertHooks {
    fn default() -> Self {
        Self {
            listener: RwLock::new(None),
            threshold: AtomicU8::new(DEFAULT_THRESHOLD),
        }
    }
}

/// The resident ID number, name, birth date and sex of a registration being entered. Only
/// values that parse are used; validation reports the rest. Ethnicity is never included.
fn registration_subject(input: &RegistrationInput, today: NaiveDate) -> Subject {
    let id = (input.document.doc_type.trim() == "1")
        .then(|| identity::parse(&input.document.number, today).ok())
        .flatten();
    let birth_date = input
        .person
        .birth_date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
        .or(id.as_ref().map(|id| id.birth_date()));
    Subject {
        id_numbers: id.iter().map(|id| id.as_str().to_owned()).collect(),
        name: Some(input.person.name.clone()),
        birth_date,
        sex: Some(input.person.sex.clone()),
    }
}

/// Every resident ID number a stored person holds or held.
fn person_numbers(person: &PersonRecord) -> Vec<String> {
    person
        .identifiers
        .iter()
        .filter(|i| i.document.doc_type == "1")
        .map(|i| i.document.number.clone())
        .collect()
}

impl FieldCore {
    /// Registers the shell's alert listener (replacing any earlier one).
    pub fn set_alert_listener(&self, listener: Arc<dyn AlertListener>) {
        let mut slot = self
            .alerts
            .listener
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some(listener);
    }

    /// Sets the score below which name hits raise no alert (identity numbers score 100,
    /// the name in characters 70, a pinyin reading 55; default 50).
    pub fn set_watchlist_threshold(&self, threshold: u8) {
        self.alerts.threshold.store(threshold, Ordering::Relaxed);
    }

    /// Verifies a list package against the pinned roots and, only if every check passes,
    /// makes it the list in use. A refused package leaves the previous list in use.
    /// Re-checking the local registrations is a separate call ([`Self::watchlist_recheck`])
    /// so a shell can run it on a background thread.
    pub fn watchlist_import(
        &self,
        package: &[u8],
        policy: &WatchlistPolicy,
    ) -> Result<ListInfo, Error> {
        let session = self.session();
        self.store.write(|tx| {
            let info = watchlist::apply(tx, package, policy, session.now())?;
            let record = format!("{}@{}", info.list_id, info.version);
            session.audit(tx, "watchlist.import", "watchlist", &record)?;
            Ok(info)
        })
    }

    /// The list in use: current, out of date ("list out of date"), or missing.
    pub fn watchlist_status(&self) -> Result<ListStatus, Error> {
        Ok(self
            .store
            .read(|conn| watchlist::status(conn, self.clock.now()))?)
    }

    /// Checks a subject (a scanned card, a typed number, a name with birth date and sex)
    /// against the list, raising alerts inside this call. The scan capability calls this.
    pub fn watchlist_check_identity(&self, subject: &Subject) -> Result<CheckOutcome, Error> {
        let session = self.session();
        let Some(prepared) = watchlist::prepare(&session, subject)? else {
            return Ok(CheckOutcome {
                list: ListStatus::Missing,
                alerts: Vec::new(),
            });
        };
        let outcome = self.store.write(|tx| self.raise(tx, &prepared, None))?;
        self.notify(&outcome.alerts);
        Ok(outcome)
    }

    /// Alerts that stand (not cleared), newest first. Viewing them is audited.
    pub fn watchlist_alerts(&self) -> Result<Vec<WatchlistAlert>, Error> {
        let session = self.session();
        self.store.write(|tx| {
            let alerts = watchlist::standing_alerts(tx, &session)?;
            for alert in &alerts {
                session.audit(
                    tx,
                    "watchlist.alert_view",
                    "watchlist_alert",
                    &alert.alert_id,
                )?;
            }
            Ok(alerts)
        })
    }

    /// Re-checks every local person against the list in use: new hits alert, alerts of
    /// entries that left the list are cleared. Costs one stretched derivation per identity
    /// number and name key of each person; run it on a background thread after an import.
    pub fn watchlist_recheck(&self) -> Result<RecheckReport, Error> {
        let session = self.session();
        let cipher = self.store.cipher();
        let mut report = RecheckReport::default();
        let person_ids: Vec<String> = self.store.read(|conn| {
            let mut statement = conn.prepare("SELECT id FROM persons ORDER BY id")?;
            let ids = statement
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok::<_, Error>(ids)
        })?;
        let threshold = self.alerts.threshold.load(Ordering::Relaxed);
        for person_id in person_ids {
            let person = self
                .store
                .read(|conn| registration::person_record(conn, cipher, &person_id))?;
            let subject = Subject {
                id_numbers: person_numbers(&person),
                name: Some(person.person.name.clone()),
                birth_date: Some(person.person.birth_date),
                sex: Some(person.person.sex.clone()),
            };
            let Some(prepared) = watchlist::prepare(&session, &subject)? else {
                return Ok(report);
            };
            let (raised, cleared) = self.store.write(|tx| {
                watchlist::recheck_person(tx, &session, &prepared, &person_id, threshold)
            })?;
            self.notify(&raised);
            report.persons += 1;
            report.raised.extend(raised);
            report.cleared.extend(cleared);
        }
        let cleared = self.store.write(|tx| {
            let cleared = watchlist::stale_alerts(tx, &session)?;
            session.audit(tx, "watchlist.recheck", "store", self.store.id())?;
            Ok::<_, Error>(cleared)
        })?;
        report.cleared.extend(cleared);
        Ok(report)
    }

    /// Keys of a registration being entered, derived before the write lock is taken.
    pub(super) fn watchlist_prepare_registration(
        &self,
        input: &RegistrationInput,
    ) -> Result<Option<Prepared>, Error> {
        let session = self.session();
        watchlist::prepare(&session, &registration_subject(input, session.today()))
    }

    /// Raises alerts for `prepared` inside the caller's transaction.
    pub(super) fn raise(
        &self,
        tx: &Transaction<'_>,
        prepared: &Prepared,
        person_id: Option<&str>,
    ) -> Result<CheckOutcome, Error> {
        let threshold = self.alerts.threshold.load(Ordering::Relaxed);
        watchlist::raise(
            tx,
            &self.session(),
            prepared,
            person_id,
            threshold,
            &HashSet::new(),
        )
    }

    /// After a look-up: checks the number looked up and the found persons' own numbers.
    pub(super) fn watchlist_after_find(
        &self,
        looked_up: Option<&str>,
        found: &[PersonRecord],
    ) -> Result<(), Error> {
        let session = self.session();
        let today = session.today();
        let looked_up = looked_up
            .and_then(|n| identity::parse(n, today).ok())
            .map(|id| id.as_str().to_owned());
        let mut checks: Vec<(Option<&str>, Subject)> = found
            .iter()
            .map(|p| {
                let mut numbers = person_numbers(p);
                numbers.extend(looked_up.clone());
                let subject = Subject {
                    id_numbers: numbers,
                    ..Subject::default()
                };
                (Some(p.person_id.as_str()), subject)
            })
            .collect();
        if checks.is_empty() {
            if let Some(number) = looked_up {
                let subject = Subject {
                    id_numbers: vec![number],
                    ..Subject::default()
                };
                checks.push((None, subject));
            }
        }
        for (person_id, subject) in checks {
            let Some(prepared) = watchlist::prepare(&session, &subject)? else {
                return Ok(());
            };
            let outcome = self
                .store
                .write(|tx| self.raise(tx, &prepared, person_id))?;
            self.notify(&outcome.alerts);
        }
        Ok(())
    }

    /// Hands committed alerts to the shell's listener.
    pub(super) fn notify(&self, alerts: &[WatchlistAlert]) {
        let listener = self
            .alerts
            .listener
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some(listener) = listener {
            for alert in alerts {
                listener.on_alert(alert);
            }
        }
    }
}
