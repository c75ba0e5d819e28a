//! The core's one runtime and the handles of the work it runs there. A [`SyncTask`] is a
//! future any executor may await (the work itself runs on the core's runtime); dropping it
//! stops the work. A [`SyncWatch`] is a running watching sync; dropping it stops it too.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

use super::{FieldCore, Inner};
use crate::sync::{SyncAttempt, SyncError, SyncTrigger};
use crate::Error;

/// Network work running on the core's runtime. Await it (from any executor, or block on it);
/// drop it to stop the work at its next wait on the network, losing nothing settled.
#[must_use = "dropping a SyncTask stops its work"]
pub struct SyncTask<T> {
    state: State<T>,
}

enum State<T> {
    Running(JoinHandle<Result<T, Error>>),
    Failed(Option<Error>),
}

impl<T> SyncTask<T> {
    fn failed(error: Error) -> Self {
        Self {
            state: State::Failed(Some(error)),
        }
    }

    /// Why a task that never started failed.
    fn take_failure(&mut self) -> Error {
        match &mut self.state {
            State::Failed(error) => error.take().unwrap_or(SyncError::Cancelled.into()),
            State::Running(_) => SyncError::Cancelled.into(),
        }
    }
}

impl<T> Future for SyncTask<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &mut this.state {
            State::Running(handle) => Pin::new(handle).poll(cx).map(|joined| match joined {
                Ok(result) => result,
                // A panic in the work surfaces where it is awaited (the FFI turns it into an
                // error there); otherwise the task was stopped.
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(SyncError::Cancelled.into()),
            }),
            State::Failed(_) => Poll::Ready(Err(this.take_failure())),
        }
    }
}

impl<T> Drop for SyncTask<T> {
    fn drop(&mut self) {
        if let State::Running(handle) = &self.state {
            handle.abort();
        }
    }
}

/// What a watching sync tells the shell. A closure over each attempt is one too.
pub trait WatchObserver: Send + 'static {
    /// One attempt (already audited); `Break` ends the watch.
    fn on_attempt(&mut self, attempt: &SyncAttempt) -> ControlFlow<()>;

    /// The watch ended: stopped or broken off (`Ok`), or with an error that needs the user.
    /// Not called when the handle was dropped or the core closed first.
    fn on_stopped(&mut self, result: &Result<(), Error>) {
        let _ = result;
    }
}

impl<F> WatchObserver for F
where
    F: FnMut(&SyncAttempt) -> ControlFlow<()> + Send + 'static,
{
    fn on_attempt(&mut self, attempt: &SyncAttempt) -> ControlFlow<()> {
        self(attempt)
    }
}

/// A watching sync running on the core's runtime. Dropping the handle stops it.
pub struct SyncWatch {
    trigger: SyncTrigger,
    task: Option<SyncTask<()>>,
    runtime: Option<Handle>,
}

impl SyncWatch {
    pub(super) fn new(trigger: SyncTrigger, task: SyncTask<()>, runtime: Option<Handle>) -> Self {
        Self {
            trigger,
            task: Some(task),
            runtime,
        }
    }

    /// Tells the watching sync the network is available: it tries at once.
    pub fn network_available(&self) {
        self.trigger.network_available();
    }

    /// Stops it: while it waits at once, during an attempt at that attempt's next wait on
    /// the network (what was settled stays).
    pub fn stop(&self) {
        self.trigger.stop();
    }

    /// Whether it has ended.
    pub fn is_finished(&self) -> bool {
        match self.task.as_ref().map(|task| &task.state) {
            Some(State::Running(handle)) => handle.is_finished(),
            _ => true,
        }
    }

    /// Blocks until it ends: `Ok` when stopped or when the observer broke, the error that
    /// needs the user otherwise.
    pub fn wait(mut self) -> Result<(), Error> {
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match self.runtime.take() {
            Some(runtime) => runtime.block_on(task),
            // No runtime: the task failed to start and holds why.
            None => Err(task.take_failure()),
        }
    }
}

impl Drop for SyncWatch {
    fn drop(&mut self) {
        self.trigger.stop();
    }
}

impl FieldCore {
    /// The core's runtime: one worker thread for the network work of this store, started on
    /// first use.
    pub(super) fn runtime(&self) -> Result<&Runtime, Error> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let not_started = || SyncError::Transient {
            reason: "could not start the sync runtime".into(),
            retry_after: None,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("lgt-core")
            .enable_all()
            .build()
            .map_err(|_| not_started())?;
        // Another thread may have started one first: keep that one.
        let _ = self.runtime.set(runtime);
        self.runtime.get().ok_or_else(|| not_started().into())
    }

    /// Runs `work` on the core's runtime.
    pub(super) fn spawn<T, W, F>(&self, work: W) -> SyncTask<T>
    where
        T: Send + 'static,
        W: FnOnce(Arc<Inner>) -> F,
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        match self.runtime() {
            Ok(runtime) => SyncTask {
                state: State::Running(runtime.spawn(work(self.inner.clone()))),
            },
            Err(e) => SyncTask::failed(e),
        }
    }

    /// Blocks the calling thread (not one of an async executor's) until `task` ends.
    pub(super) fn block_on<T>(&self, task: SyncTask<T>) -> Result<T, Error> {
        match self.runtime() {
            Ok(runtime) => runtime.block_on(task),
            Err(e) => Err(e),
        }
    }
}
