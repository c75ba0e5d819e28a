//! Who acts and when: the context every change is recorded under. A leaf: it knows the clock
//! and nothing else.

use chrono::{DateTime, NaiveDate, Utc};

use crate::clock::Clock;

/// The acting coordinator (an account id, never a name) and the clock.
#[derive(Clone, Copy)]
pub struct Session<'a> {
    clock: &'a dyn Clock,
    actor: &'a str,
}

impl<'a> Session<'a> {
    /// The session of `actor` reading `clock`.
    pub fn new(clock: &'a dyn Clock, actor: &'a str) -> Self {
        Self { clock, actor }
    }

    /// Now, by the session's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today's date, by the session's clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    /// The acting coordinator's account id.
    pub fn actor(&self) -> &'a str {
        self.actor
    }
}
