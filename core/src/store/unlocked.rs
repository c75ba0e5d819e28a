//! [`Unlocked`]: the one way to personal data. It exists only while the offline lock is open
//! (the store made it after checking), and every repository of personal rows takes one, so a
//! caller that forgot the check has nothing to pass.

use rusqlite::{Connection, Transaction};

use super::{Store, StoreError};
use crate::crypto::RowCipher;
use crate::session::Session;

/// Access to the personal data of an unlocked store, for one call.
pub struct Unlocked<'a> {
    store: &'a Store,
    session: Session<'a>,
}

impl<'a> Unlocked<'a> {
    /// Made only by [`Store::unlock`], after the lock check.
    pub(super) fn new(store: &'a Store, session: Session<'a>) -> Self {
        Self { store, session }
    }

    /// Who acts and when.
    pub fn session(&self) -> &Session<'a> {
        &self.session
    }

    /// Now, by the session's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.session.now()
    }

    /// Today, by the session's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.session.today()
    }

    /// The acting coordinator's account id.
    pub fn actor(&self) -> &'a str {
        self.session.actor()
    }

    /// The store's random id.
    pub fn store_id(&self) -> &'a str {
        self.store.id()
    }

    /// The cipher that opens and seals personal rows and computes their blind indexes.
    pub fn cipher(&self) -> &'a RowCipher {
        &self.store.cipher
    }

    /// Runs `f` in a write transaction (see [`Store::write`]).
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.store.write(f)
    }

    /// Runs `f` on the reader connection (see [`Store::read`]).
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.store.read(f)
    }
}
