//! A simulated phone: the real core over its own encrypted store.

use std::time::Duration;

use lgt_core::clock::{Clock, SystemClock};
use lgt_core::crypto::KeyFile;
use lgt_core::permit::{PermitCommand, PermitEvent, PermitRecord};
use lgt_core::registration::{RegistrationInput, RegistrationReceipt};
use lgt_core::store::StoreOptions;
use lgt_core::sync::{ServerPin, SyncError, SyncStatus};
use lgt_core::synthetic::SyntheticPeople;
use lgt_core::{Error, FieldCore, OpenParams};
use tempfile::TempDir;

/// One phone.
pub struct Phone {
    /// Its core.
    pub core: FieldCore,
    people: SyntheticPeople,
    clock: std::sync::Arc<dyn Clock>,
    dir: TempDir,
}

impl Phone {
    /// A phone with a new store; `seed` picks its synthetic people.
    pub fn new(seed: u64) -> Self {
        Self::with_clock(seed, std::sync::Arc::new(SystemClock))
    }

    /// A phone whose core reads `clock` (request signatures still use the real time).
    pub fn with_clock(seed: u64, clock: std::sync::Arc<dyn Clock>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = KeyFile::create(dir.path().join("store.key")).expect("key");
        Self::on(dir, &keys, seed, clock, FieldCore::create)
    }

    /// Another phone on a copy of this one's files (store and key), as a store restored from
    /// a backup would be. Copy while the phone is idle.
    pub fn copy_files(&self, seed: u64) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(self.dir.path(), dir.path());
        let keys = KeyFile::open(dir.path().join("store.key")).expect("key");
        Self::on(
            dir,
            &keys,
            seed,
            std::sync::Arc::new(SystemClock),
            FieldCore::open,
        )
    }

    /// A phone on files another program made and left in `dir` (its store in `dir/store`, its
    /// key file `dir/store.key`: the `lgt` CLI's store, say), opened as an app opens its
    /// files after a restart.
    pub fn open_files(dir: TempDir, seed: u64) -> Self {
        let keys = KeyFile::open(dir.path().join("store.key")).expect("key");
        Self::on(
            dir,
            &keys,
            seed,
            std::sync::Arc::new(SystemClock),
            FieldCore::open,
        )
    }

    /// A phone whose core `open_core` creates or opens in `dir`.
    fn on(
        dir: TempDir,
        keys: &KeyFile,
        seed: u64,
        clock: std::sync::Arc<dyn Clock>,
        open_core: fn(OpenParams<'_>) -> Result<FieldCore, Error>,
    ) -> Self {
        let core = open_core(OpenParams {
            dir: &dir.path().join("store"),
            keys,
            actor: "coordinator-e2e",
            clock: clock.clone(),
            options: StoreOptions::default(),
        })
        .expect("store");
        Self {
            core,
            people: SyntheticPeople::new(seed, clock.today()),
            clock,
            dir,
        }
    }

    /// The phone is killed in the middle of a sync and started again: a sync starts on the
    /// core's runtime, and after `after` the core is dropped under it (its runtime stops the
    /// task at its next wait, whatever it was sending or settling; nothing is closed in
    /// order), then a new core opens the same files.
    pub fn kill_mid_sync(&mut self, after: Duration) {
        let task = self.core.sync_now_task();
        std::thread::sleep(after);
        let keys = KeyFile::open(self.dir.path().join("store.key")).expect("key");
        let core = FieldCore::open(OpenParams {
            dir: &self.dir.path().join("store"),
            keys: &keys,
            actor: "coordinator-e2e",
            clock: self.clock.clone(),
            options: StoreOptions::default(),
        })
        .expect("the store opens after the kill");
        // The old core goes first (its runtime with it), then its task's handle.
        drop(std::mem::replace(&mut self.core, core));
        drop(task);
    }

    /// The directory holding the store and its key file.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Enrolls with the plain-HTTP loopback `server_url` under `code`.
    pub fn enroll(&self, server_url: &str, code: &str) {
        self.core
            .sync_enroll(server_url, &[], code)
            .expect("enroll");
    }

    /// Enrolls with the HTTPS `server_url` whose key `pin` names, under `code`.
    pub fn enroll_pinned(&self, server_url: &str, pin: ServerPin, code: &str) {
        self.core
            .sync_enroll(server_url, &[pin], code)
            .expect("enroll");
    }

    /// Registers `count` synthetic people.
    pub fn register(&mut self, count: usize) -> Vec<RegistrationReceipt> {
        (0..count)
            .map(|_| {
                let input = self.people.next_registration();
                self.core.register(&input).expect("register")
            })
            .collect()
    }

    /// Registers `count` synthetic people; returns what was entered with each receipt (the
    /// personal values a test then looks for where none may be).
    pub fn register_inputs(
        &mut self,
        count: usize,
    ) -> Vec<(RegistrationInput, RegistrationReceipt)> {
        (0..count)
            .map(|_| {
                let input = self.people.next_registration();
                let receipt = self.core.register(&input).expect("register");
                (input, receipt)
            })
            .collect()
    }

    /// Accepts, issues (under `number`) and delivers a permit for a registered person.
    pub fn permit(&self, person_id: &str, number: &str) -> PermitRecord {
        let accepted = self
            .core
            .permit(&PermitCommand::Accept {
                person_id: person_id.to_owned(),
            })
            .expect("accept");
        let id = accepted.permit.id.clone();
        let mut last = accepted;
        for event in [
            PermitEvent::Issue {
                number: number.to_owned(),
            },
            PermitEvent::Deliver,
        ] {
            last = self
                .apply(&id, last.permit.version, event)
                .expect("permit event");
        }
        last
    }

    /// Accepts, issues (under the next number of the phone's reserved pool, so it must have
    /// synced) and delivers a permit for a registered person.
    pub fn issue(&self, person_id: &str) -> PermitRecord {
        let number = self
            .core
            .permit_number_from_pool()
            .expect("pool")
            .expect("a reserved permit number: sync first");
        self.permit(person_id, &number)
    }

    /// Applies one event to a permit based on `version`.
    pub fn apply(
        &self,
        permit_id: &str,
        version: u32,
        event: PermitEvent,
    ) -> Result<PermitRecord, Error> {
        self.core.permit(&PermitCommand::Apply {
            permit_id: permit_id.to_owned(),
            base_version: Some(version),
            event,
        })
    }

    /// Syncs until a sync succeeds with nothing left to send, retrying transient failures
    /// after a short pause; returns the number of attempts. Panics on any other error or
    /// after `max_attempts`.
    pub fn sync_until_quiet(&self, max_attempts: usize) -> usize {
        for attempt in 1..=max_attempts {
            match self.core.sync_now() {
                Ok(_) if self.status().queue_depth == 0 => return attempt,
                Ok(_) => {}
                Err(Error::Sync(SyncError::Transient { .. })) => {}
                Err(e) => panic!("sync failed for good: {e} ({})", e.code()),
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("no quiet sync after {max_attempts} attempts");
    }

    /// Its sync status.
    pub fn status(&self) -> SyncStatus {
        self.core.sync_status().expect("status")
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
