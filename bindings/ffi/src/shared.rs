//! What the store object and its sub-objects share, and the boundary every call crosses:
//! the closed check, the panic guard and the error conversion, in one place.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, RwLock, RwLockWriteGuard};
use std::task::{Context, Poll};

use chrono::NaiveDate;
use lgt_core::clock::Clock;
use lgt_core::{FieldCore, SyncTask};

use crate::platform::ForeignKeys;
use crate::sync::Watches;
use crate::LgtError;

/// Runs `f`, turning a core error into [`LgtError`] and a panic into
/// [`LgtError::Internal`] (whose message never carries the panic's text, which could hold
/// a personal value).
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, lgt_core::Error>) -> Result<T, LgtError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(LgtError::from),
        Err(_) => Err(LgtError::internal("panic")),
    }
}

/// Awaits a task of the core's runtime, turning a core error into [`LgtError`] and a panic
/// in the task into [`LgtError::Internal`], as [`guarded`] does for blocking calls.
pub(crate) async fn guarded_task<T>(task: SyncTask<T>) -> Result<T, LgtError> {
    CatchPanic(task).await
}

/// A future whose panics become [`LgtError::Internal`].
struct CatchPanic<F>(F);

impl<T, F: Future<Output = Result<T, lgt_core::Error>> + Unpin> Future for CatchPanic<F> {
    type Output = Result<T, LgtError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Ready(result)) => Poll::Ready(result.map_err(LgtError::from)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(LgtError::internal("panic"))),
        }
    }
}

/// The open core (or none, once closed or wiped), its key provider and clock.
pub(crate) struct Shared {
    core: RwLock<Option<FieldCore>>,
    pub(crate) keys: ForeignKeys,
    clock: Arc<dyn Clock>,
    /// Watching syncs, cancelled before the store closes.
    pub(crate) watches: Watches,
}

impl Shared {
    pub(crate) fn new(core: FieldCore, keys: ForeignKeys, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            core: RwLock::new(Some(core)),
            keys,
            clock,
            watches: Watches::default(),
        })
    }

    /// Runs `f` on the open core. Calls run side by side (the store serialises writes);
    /// closing waits for calls in flight.
    pub(crate) fn call<T>(
        &self,
        f: impl FnOnce(&FieldCore) -> Result<T, lgt_core::Error>,
    ) -> Result<T, LgtError> {
        // A panic under a read guard does not poison the lock; a poisoned one (a panic under
        // the write guard of close) still holds a consistent Option.
        let guard = self.core.read().unwrap_or_else(|p| p.into_inner());
        let core = guard.as_ref().ok_or_else(LgtError::closed)?;
        guarded(|| f(core))
    }

    /// Exclusive access, for closing and wiping: watching syncs are cancelled first, then
    /// the calls in flight (a watch's last attempt included) finish.
    pub(crate) fn exclusive(&self) -> RwLockWriteGuard<'_, Option<FieldCore>> {
        self.watches.cancel_all();
        self.core.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Today in China Standard Time, by the store's clock.
    pub(crate) fn today(&self) -> NaiveDate {
        self.clock.today()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_without_its_message() {
        let result: Result<(), LgtError> = guarded(|| panic!("personal value 110105198805121234"));
        let error = result.unwrap_err();
        assert_eq!(error.code(), "internal");
        assert!(!format!("{error:?}").contains("110105198805121234"));
    }

    #[test]
    fn core_errors_pass_through_the_one_conversion() {
        let result: Result<(), LgtError> = guarded(|| {
            Err(lgt_core::Error::NotFound {
                kind: "permit",
                id: "p-1".into(),
            })
        });
        assert!(matches!(result, Err(LgtError::NotFound { ref code, .. }) if code == "not_found"));
    }
}
