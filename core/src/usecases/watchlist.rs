//! The watchlist in the coordinator's work: checking a subject, re-checking the local
//! persons, the checks that registering and looking up make, and where alerts go.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;
use rusqlite::Transaction;

use crate::audit::Audited;
use crate::identity;
use crate::registration::{self, PersonRecord, RegistrationInput};
use crate::store::Unlocked;
use crate::watchlist::{
    self, AlertListener, CheckOutcome, ListStatus, Prepared, RecheckReport, Subject,
    WatchlistAlert, DEFAULT_THRESHOLD,
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

impl AlertHooks {
    /// Registers the shell's alert listener (replacing any earlier one).
    pub(crate) fn set_listener(&self, listener: Arc<dyn AlertListener>) {
        let mut slot = self
            .listener
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some(listener);
    }

    /// Sets the score below which name hits raise no alert.
    pub(crate) fn set_threshold(&self, threshold: u8) {
        self.threshold.store(threshold, Ordering::Relaxed);
    }

    fn threshold(&self) -> u8 {
        self.threshold.load(Ordering::Relaxed)
    }

    /// Hands committed alerts to the shell's listener.
    pub(crate) fn notify(&self, alerts: &[WatchlistAlert]) {
        let listener = self
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

/// Checks a subject (a scanned card, a typed number, a name with birth date and sex)
/// against the list, raising alerts inside this call.
pub(crate) fn check_identity(
    unlocked: &Unlocked<'_>,
    hooks: &AlertHooks,
    subject: &Subject,
) -> Result<CheckOutcome, Error> {
    let Some(prepared) = watchlist::prepare(unlocked, subject)? else {
        return Ok(CheckOutcome {
            list: ListStatus::Missing,
            alerts: Vec::new(),
        });
    };
    let outcome = unlocked.write(|tx| raise(tx, unlocked, hooks, &prepared, None))?;
    hooks.notify(&outcome.alerts);
    Ok(outcome)
}

/// Alerts that stand (not cleared), newest first. Viewing them is audited.
pub(crate) fn standing_alerts(unlocked: &Unlocked<'_>) -> Result<Vec<WatchlistAlert>, Error> {
    unlocked.write(|tx| {
        let alerts = watchlist::standing_alerts(tx, unlocked)?;
        for alert in &alerts {
            unlocked.audit(
                tx,
                "watchlist.alert_view",
                "watchlist_alert",
                &alert.alert_id,
            )?;
        }
        Ok(alerts)
    })
}

/// Re-checks every local person against the list in use: new hits alert, alerts of entries
/// that left the list are cleared.
pub(crate) fn recheck(unlocked: &Unlocked<'_>, hooks: &AlertHooks) -> Result<RecheckReport, Error> {
    let cipher = unlocked.cipher();
    let mut report = RecheckReport::default();
    let person_ids: Vec<String> = unlocked.read(|conn| {
        let mut statement = conn.prepare("SELECT id FROM persons ORDER BY id")?;
        let ids = statement
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok::<_, Error>(ids)
    })?;
    let threshold = hooks.threshold();
    for person_id in person_ids {
        let person = unlocked.read(|conn| registration::person_record(conn, cipher, &person_id))?;
        let subject = Subject {
            id_numbers: person_numbers(&person),
            name: Some(person.person.name.clone()),
            birth_date: Some(person.person.birth_date),
            sex: Some(person.person.sex.clone()),
        };
        let Some(prepared) = watchlist::prepare(unlocked, &subject)? else {
            return Ok(report);
        };
        let (raised, cleared) = unlocked.write(|tx| {
            watchlist::recheck_person(tx, unlocked, &prepared, &person_id, threshold)
        })?;
        hooks.notify(&raised);
        report.persons += 1;
        report.raised.extend(raised);
        report.cleared.extend(cleared);
    }
    let cleared = unlocked.write(|tx| {
        let cleared = watchlist::stale_alerts(tx, unlocked)?;
        unlocked.audit(tx, "watchlist.recheck", "store", unlocked.store_id())?;
        Ok::<_, Error>(cleared)
    })?;
    report.cleared.extend(cleared);
    Ok(report)
}

/// Keys of a registration being entered, derived before the write lock is taken.
pub(crate) fn prepare_registration(
    unlocked: &Unlocked<'_>,
    input: &RegistrationInput,
) -> Result<Option<Prepared>, Error> {
    watchlist::prepare(unlocked, &registration_subject(input, unlocked.today()))
}

/// Raises alerts for `prepared` inside the caller's transaction.
pub(crate) fn raise(
    tx: &Transaction<'_>,
    unlocked: &Unlocked<'_>,
    hooks: &AlertHooks,
    prepared: &Prepared,
    person_id: Option<&str>,
) -> Result<CheckOutcome, Error> {
    watchlist::raise(
        tx,
        unlocked,
        prepared,
        person_id,
        hooks.threshold(),
        &HashSet::new(),
    )
}

/// After a look-up: checks the number looked up and the found persons' own numbers.
pub(crate) fn after_find(
    unlocked: &Unlocked<'_>,
    hooks: &AlertHooks,
    looked_up: Option<&str>,
    found: &[PersonRecord],
) -> Result<(), Error> {
    let today = unlocked.today();
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
        let Some(prepared) = watchlist::prepare(unlocked, &subject)? else {
            return Ok(());
        };
        let outcome = unlocked.write(|tx| raise(tx, unlocked, hooks, &prepared, person_id))?;
        hooks.notify(&outcome.alerts);
    }
    Ok(())
}
