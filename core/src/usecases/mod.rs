//! The use cases: the coordinator's work that spans capabilities. Registering checks the
//! watchlist in the same transaction; a scan checks identity numbers and verifies permit
//! codes; a sync hands what it pulled to the capabilities that own its rules. Each takes an
//! [`crate::store::Unlocked`] when it touches personal data, so none can forget the lock.
//!
//! [`crate::FieldCore`] calls these (or a capability directly, where one suffices); nothing
//! below calls up into them.

pub(crate) mod registrations;
pub(crate) mod scan;
pub(crate) mod sync;
pub(crate) mod watchlist;

pub use registrations::PersonExport;
