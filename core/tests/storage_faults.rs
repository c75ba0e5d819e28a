//! Storage that fails under the store, on real file systems: a full disk (a small tmpfs), a
//! file system that turns read-only under the running store (ext4 on a loop device, made to
//! fail with `errors=remount-ro`), one that is read-only when the store opens (a tmpfs
//! remounted read-only), and a truncated WAL (a crash image cut at every commit and inside
//! frames). Each time: the call fails with a typed error whose messages carry no personal value,
//! nothing of the failed change stays, and the store opens afterwards with every record it
//! had committed.
//!
//! Mounting needs root. Where the tests cannot mount they SKIP with one loud line, unless
//! `LGT_REQUIRE_STORAGE_FAULTS=1` (set by `.ci/run`): then they fail. The truncated-WAL test
//! needs no mount and always runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lgt_core::clock::FixedClock;
use lgt_core::crypto::KeyFile;
use lgt_core::outbox::OperationState;
use lgt_core::permit::PermitCommand;
use lgt_core::registration::{RegistrationInput, RegistrationReceipt};
use lgt_core::store::{StoreOptions, DB_FILE};
use lgt_core::synthetic::SyntheticPeople;
use lgt_core::{Error, FieldCore, Lang, OpenParams};

const REQUIRE_ENV: &str = "LGT_REQUIRE_STORAGE_FAULTS";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-10T09:00:00+08:00")
        .unwrap()
        .with_timezone(&Utc)
}

// ---------------------------------------------------------------------------------------------
// File systems

/// Runs a system command; its stderr on failure.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "{program} {}: {} {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Called when a file system cannot be made: fails under `LGT_REQUIRE_STORAGE_FAULTS=1`, else
/// prints one loud line and tells the test to return.
fn cannot_mount(test: &str, why: &str) {
    assert!(
        std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
        "{test}: cannot make the file system it needs ({why}); {REQUIRE_ENV}=1 is set, so this fails instead of skipping (run as root)"
    );
    let line = format!(
        "SKIPPED: {test}: cannot mount ({why}); run as root (CI does), or set {REQUIRE_ENV}=1 to fail instead"
    );
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    println!("{line}");
}

/// A tmpfs of a fixed size, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (after [`cannot_mount`]) where this process cannot mount.
    fn mount(test: &str, size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        match run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
                path,
            ],
        ) {
            Ok(_) => Some(Self { dir }),
            Err(why) => {
                cannot_mount(test, &why);
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, options: &str) {
        let path = self.dir.path().to_str().unwrap();
        run("mount", &["-o", &format!("remount,{options}"), path]).unwrap();
    }

    /// Bytes still free.
    fn free(&self) -> u64 {
        let path = self.dir.path().to_str().unwrap();
        run("df", &["-B1", "--output=avail", path])
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let path = self.dir.path().to_str().unwrap().to_owned();
        if run("umount", &[&path]).is_err() {
            let _ = run("umount", &["-l", &path]);
        }
    }
}

/// An ext4 file system in an image file on a loop device, mounted with `errors=remount-ro`:
/// the kernel turns it read-only the moment it meets an error, as phones' flash file systems
/// do, even while files on it are open for writing (which a plain `remount,ro` refuses).
struct Ext4 {
    dir: tempfile::TempDir,
    device: String,
}

impl Ext4 {
    fn mount(test: &str, megabytes: u32) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("fs.img");
        std::fs::File::create(&image)
            .unwrap()
            .set_len(u64::from(megabytes) << 20)
            .unwrap();
        let image = image.to_str().unwrap().to_owned();
        if let Err(why) = run("mkfs.ext4", &["-q", "-F", &image]) {
            cannot_mount(test, &why);
            return None;
        }
        let device = match run("losetup", &["-f", "--show", &image]) {
            Ok(device) => device,
            Err(why) => {
                cannot_mount(test, &why);
                return None;
            }
        };
        std::fs::create_dir(dir.path().join("mnt")).unwrap();
        let fs = Self { dir, device };
        if let Err(why) = fs.mount_rw() {
            cannot_mount(test, &why);
            return None;
        }
        Some(fs)
    }

    fn mnt(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }

    fn mount_rw(&self) -> Result<String, String> {
        run(
            "mount",
            &[
                "-t",
                "ext4",
                "-o",
                "errors=remount-ro",
                &self.device,
                self.mnt().to_str().unwrap(),
            ],
        )
    }

    /// The file system meets an error: ext4 aborts its journal and goes read-only at once.
    fn fail(&self) {
        let name = Path::new(&self.device)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        std::fs::write(format!("/sys/fs/ext4/{name}/trigger_fs_error"), "1").unwrap();
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
        let line = mounts
            .lines()
            .find(|l| l.starts_with(&format!("{} ", self.device)))
            .expect("still mounted");
        assert!(
            line.contains(" ro,") || line.contains("emergency_ro"),
            "not read-only after the error: {line}"
        );
    }

    /// What the phone's next boot does: unmount, check and repair, mount again.
    fn repair(&self) {
        run("umount", &[self.mnt().to_str().unwrap()]).unwrap();
        // 1: errors corrected; 0: none found. Both leave a clean file system.
        let status = Command::new("e2fsck")
            .args(["-f", "-y", &self.device])
            .output()
            .unwrap()
            .status;
        assert!(
            matches!(status.code(), Some(0 | 1)),
            "e2fsck could not repair: {status}"
        );
        self.mount_rw().unwrap();
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        let mnt = self.mnt();
        let mnt = mnt.to_str().unwrap();
        if run("umount", &[mnt]).is_err() {
            let _ = run("umount", &["-l", mnt]);
        }
        let _ = run("losetup", &["-d", &self.device]);
    }
}

// ---------------------------------------------------------------------------------------------
// The store and what it committed

struct Phone {
    keys: KeyFile,
    dir: PathBuf,
    people: SyntheticPeople,
    /// Every registration the core said it saved.
    registered: Vec<RegistrationReceipt>,
    /// Every permit the core said it saved.
    permits: Vec<String>,
    /// Names and identity numbers used so far (personal values no message may carry).
    personal: Vec<String>,
}

impl Phone {
    /// A phone whose key lives in `key_dir` (a healthy disk) and whose store lives in `dir`.
    fn new(key_dir: &Path, dir: PathBuf, seed: u64) -> Self {
        Self {
            keys: KeyFile::create(key_dir.join("key")).unwrap(),
            dir,
            people: SyntheticPeople::new(seed, now().date_naive()),
            registered: Vec::new(),
            permits: Vec::new(),
            personal: Vec::new(),
        }
    }

    fn params(&self) -> OpenParams<'_> {
        OpenParams {
            dir: &self.dir,
            keys: &self.keys,
            actor: "coordinator-1",
            clock: Arc::new(FixedClock::new(now())),
            options: StoreOptions::default(),
        }
    }

    fn create(&self) -> Result<FieldCore, Error> {
        FieldCore::create(self.params())
    }

    fn open(&self) -> Result<FieldCore, Error> {
        FieldCore::open(self.params())
    }

    fn next_input(&mut self) -> RegistrationInput {
        let input = self.people.next_registration();
        self.personal.push(input.person.name.clone());
        self.personal.push(input.document.number.clone());
        input
    }

    /// One piece of field work: a registration, then a permit accepted for the person. Each
    /// is recorded only once the core says it is saved.
    fn work(&mut self, core: &FieldCore) -> Result<(), Error> {
        let input = self.next_input();
        let receipt = core.register(&input)?;
        let person_id = receipt.person_id.clone();
        self.registered.push(receipt);
        let permit = core.permit(&PermitCommand::Accept { person_id })?;
        self.permits.push(permit.permit.id);
        Ok(())
    }

    /// Works until a call fails (at most `limit` pieces of work); the failure.
    fn work_until_failure(&mut self, core: &FieldCore, limit: usize) -> Error {
        for _ in 0..limit {
            if let Err(e) = self.work(core) {
                return e;
            }
        }
        panic!("{limit} pieces of work and no failure");
    }

    /// Every record the core said it saved is there, with its operation; nothing else is
    /// queued (no operation of a failed call); the audit chain and SQLite's check pass.
    fn check_every_record(&self, core: &FieldCore) {
        self.check_queue(core);
        for receipt in &self.registered {
            let export = core.export_person(&receipt.person_id).unwrap();
            assert!(
                export
                    .registrations
                    .iter()
                    .any(|r| r.id == receipt.registration_id),
                "registration {} lost",
                receipt.registration_id
            );
        }
        for permit in &self.permits {
            core.permit_show(permit).unwrap();
        }
        let audit = core.audit_verify().unwrap();
        assert!(audit.is_intact(), "audit chain broken: {audit:?}");
    }

    /// What can be checked without writing (reads of personal data write their audit record):
    /// the queue holds exactly the operations of the saved records, and SQLite's check passes.
    fn check_queue(&self, core: &FieldCore) {
        let queued = core.outbox(Some(OperationState::Pending)).unwrap();
        let mut queued_records: Vec<&str> = queued.iter().map(|o| o.record_id.as_str()).collect();
        queued_records.sort_unstable();
        let mut saved: Vec<&str> = self
            .registered
            .iter()
            .map(|r| r.registration_id.as_str())
            .chain(self.permits.iter().map(String::as_str))
            .collect();
        saved.sort_unstable();
        assert_eq!(
            queued_records, saved,
            "the queue holds exactly the saved records' operations"
        );
        assert_eq!(core.integrity_check().unwrap(), "ok");
    }

    /// The failure is typed as `code`, and neither its messages nor its `Debug` carry a name
    /// or an identity number.
    fn assert_clean_failure(&self, error: &Error, code: &str) {
        let texts = [
            error.message(Lang::En),
            error.message(Lang::ZhCn),
            format!("{error:?}"),
        ];
        assert_eq!(error.code(), code, "{}", texts[0]);
        for text in &texts {
            for value in &self.personal {
                assert!(!text.contains(value.as_str()), "a personal value in {text}");
            }
        }
    }
}

/// The database files of a store, by name.
fn store_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

// ---------------------------------------------------------------------------------------------
// A full disk

#[test]
fn a_full_disk_fails_the_write_keeps_every_saved_record_and_the_store_opens_once_there_is_room() {
    let test = "a_full_disk";
    let Some(fs) = Tmpfs::mount(test, "2m") else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let mut phone = Phone::new(keys.path(), fs.path().join("store"), 15);
    let core = phone.create().unwrap();
    let error = phone.work_until_failure(&core, 2_000);
    eprintln!(
        "{test}: {} registrations and {} permits saved, then: {} ({error:?}); {} bytes free",
        phone.registered.len(),
        phone.permits.len(),
        error.code(),
        fs.free()
    );
    assert!(phone.registered.len() > 5, "the disk filled too early");
    phone.assert_clean_failure(&error, "store.full");
    // The same open store: its queue holds exactly the saved work; the next write fails the
    // same way. A read of personal data is had only with its audit record: it succeeds if that
    // small record still finds room (in the WAL space the failed write left), else it fails
    // the same way, never a read without its record.
    phone.check_queue(&core);
    let again = phone.work(&core).unwrap_err();
    phone.assert_clean_failure(&again, "store.full");
    let audited = |core: &FieldCore| core.audit_recent(u32::MAX).unwrap().len();
    for receipt in &phone.registered {
        let before = audited(&core);
        match core.export_person(&receipt.person_id) {
            Ok(_) => assert_eq!(audited(&core), before + 1, "a read without its record"),
            Err(read) => {
                phone.assert_clean_failure(&read, "store.full");
                assert_eq!(audited(&core), before);
            }
        }
    }
    phone.check_queue(&core);
    core.close();

    // Once there is room, the store opens with every saved record and takes new work.
    fs.remount("size=16m");
    let core = phone.open().unwrap();
    phone.check_every_record(&core);
    for _ in 0..3 {
        phone.work(&core).unwrap();
    }
    phone.check_every_record(&core);
}

#[test]
fn a_store_created_on_a_full_disk_fails_and_leaves_nothing_behind() {
    let test = "a_store_created_on_a_full_disk";
    let Some(fs) = Tmpfs::mount(test, "256k") else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let phone = Phone::new(keys.path(), fs.path().join("store"), 16);
    let error = phone.create().err().expect("created on a full disk");
    eprintln!("{test}: {} ({error:?})", error.code());
    phone.assert_clean_failure(&error, "store.full");
    assert!(
        !lgt_core::store::Store::exists(&phone.dir),
        "a half-made store stayed: {:?}",
        std::fs::read_dir(&phone.dir)
            .map(|d| d.map(|e| e.unwrap().file_name()).collect::<Vec<_>>())
            .ok()
    );
    fs.remount("size=16m");
    let core = phone.create().unwrap();
    phone.check_every_record(&core);
}

// ---------------------------------------------------------------------------------------------
// A read-only file system

#[test]
fn a_file_system_turning_read_only_under_the_store_fails_the_write_and_loses_nothing_saved() {
    let test = "a_file_system_turning_read_only";
    let Some(fs) = Ext4::mount(test, 16) else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let mut phone = Phone::new(keys.path(), fs.mnt().join("store"), 17);
    let core = phone.create().unwrap();
    for _ in 0..20 {
        phone.work(&core).unwrap();
    }
    fs.fail();
    let error = phone.work(&core).unwrap_err();
    eprintln!("{test}: after the error: {} ({error:?})", error.code());
    phone.assert_clean_failure(&error, "store.read_only");
    let again = phone.work(&core).unwrap_err();
    phone.assert_clean_failure(&again, "store.read_only");
    phone.check_queue(&core);
    drop(core);

    // Opening on the still read-only file system fails the same way.
    let error = phone
        .open()
        .err()
        .expect("opened on a read-only file system");
    eprintln!("{test}: open while read-only: {} ({error:?})", error.code());
    phone.assert_clean_failure(&error, "store.read_only");

    // The next boot repairs the file system: every saved record is there.
    fs.repair();
    let core = phone.open().unwrap();
    phone.check_every_record(&core);
    phone.work(&core).unwrap();
    phone.check_every_record(&core);
}

#[test]
fn a_store_on_a_read_only_file_system_does_not_open_changes_nothing_and_opens_once_writable() {
    let test = "a_store_on_a_read_only_file_system";
    let Some(fs) = Tmpfs::mount(test, "16m") else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let mut phone = Phone::new(keys.path(), fs.path().join("store"), 18);
    let core = phone.create().unwrap();
    for _ in 0..10 {
        phone.work(&core).unwrap();
    }
    core.close();
    let before = store_files(&phone.dir);

    fs.remount("ro");
    let error = phone
        .open()
        .err()
        .expect("opened on a read-only file system");
    eprintln!("{test}: open: {} ({error:?})", error.code());
    phone.assert_clean_failure(&error, "store.read_only");
    assert!(store_files(&phone.dir) == before, "the files changed");
    // Nor can a new store be made there.
    let other_keys = tempfile::tempdir().unwrap();
    let other = Phone::new(other_keys.path(), fs.path().join("new"), 19);
    let error = other
        .create()
        .err()
        .expect("created on a read-only file system");
    eprintln!("{test}: create: {} ({error:?})", error.code());
    other.assert_clean_failure(&error, "store.read_only");

    fs.remount("rw");
    let core = phone.open().unwrap();
    phone.check_every_record(&core);
}

// ---------------------------------------------------------------------------------------------
// A truncated WAL

/// The offsets where each frame of a WAL file ends, and whether it is a commit frame (its
/// header's "database size after commit" is not zero). Format: sqlite.org/fileformat.html.
fn wal_frames(wal: &[u8]) -> Vec<(usize, bool)> {
    let page_size = u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize;
    let mut frames = Vec::new();
    let mut at = 32;
    while at + 24 + page_size <= wal.len() {
        let commit = u32::from_be_bytes(wal[at + 4..at + 8].try_into().unwrap()) != 0;
        at += 24 + page_size;
        frames.push((at, commit));
    }
    frames
}

#[test]
fn a_truncated_wal_opens_with_every_transaction_before_the_cut_and_nothing_of_the_one_cut() {
    // No mount: a crash image is a copy of the files while the store is open (every commit
    // fsynced, nothing checkpointed), its WAL then cut short as a torn write leaves it.
    let keys = tempfile::tempdir().unwrap();
    let mut phone = Phone::new(keys.path(), keys.path().join("store"), 20);
    let core = phone.create().unwrap();
    let wal_path = phone.dir.join(format!("{DB_FILE}-wal"));
    // The WAL's length after each piece of work, and what had been saved by then.
    let mut saved_at = Vec::new();
    let wal_len = || std::fs::metadata(&wal_path).unwrap().len() as usize;
    for _ in 0..12 {
        let input = phone.next_input();
        let receipt = core.register(&input).unwrap();
        let person_id = receipt.person_id.clone();
        phone.registered.push(receipt);
        saved_at.push((wal_len(), phone.registered.len(), phone.permits.len()));
        let permit = core.permit(&PermitCommand::Accept { person_id }).unwrap();
        phone.permits.push(permit.permit.id);
        saved_at.push((wal_len(), phone.registered.len(), phone.permits.len()));
    }
    let db = std::fs::read(phone.dir.join(DB_FILE)).unwrap();
    let wal = std::fs::read(&wal_path).unwrap();
    assert!(
        saved_at.windows(2).all(|w| w[0].0 < w[1].0),
        "the WAL was checkpointed during the run: pick fewer records"
    );
    assert_eq!(saved_at.last().unwrap().0, wal.len());
    drop(core);

    let frames = wal_frames(&wal);
    let commits: Vec<usize> = frames.iter().filter(|f| f.1).map(|f| f.0).collect();
    for (len, ..) in &saved_at {
        assert!(commits.contains(len), "work ended off a commit frame");
    }
    // Cuts: inside the header, at every commit, inside a frame after each commit, and the
    // whole WAL.
    let mut cuts = vec![0, 16, 32];
    for &commit in &commits {
        cuts.push(commit);
        if commit + 24 + 100 < wal.len() {
            cuts.push(commit + 24 + 100);
        }
        if commit + 10 < wal.len() {
            cuts.push(commit + 10);
        }
    }
    cuts.push(wal.len());
    let mut opened = 0;
    let mut refused = Vec::new();
    let tried = cuts.len();
    for cut in cuts {
        let image = tempfile::tempdir().unwrap();
        let dir = image.path().join("store");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(DB_FILE), &db).unwrap();
        std::fs::write(dir.join(format!("{DB_FILE}-wal")), &wal[..cut]).unwrap();
        // What had been saved when the WAL was at most `cut` long.
        let (regs, permits) = saved_at
            .iter()
            .filter(|(len, ..)| *len <= cut)
            .map(|&(_, r, p)| (r, p))
            .next_back()
            .unwrap_or((0, 0));
        let before_first_work = saved_at[0].0;
        let copy = Phone {
            keys: phone.keys.clone(),
            dir,
            people: SyntheticPeople::new(0, now().date_naive()),
            registered: phone.registered[..regs].to_vec(),
            permits: phone.permits[..permits].to_vec(),
            personal: Vec::new(),
        };
        match copy.open() {
            Ok(core) => {
                copy.check_every_record(&core);
                opened += 1;
            }
            // Cut before the store's creation had committed (its first transactions are in
            // the WAL too): the file holds no store yet, and open fails without a panic.
            Err(e) => {
                assert!(
                    cut < before_first_work,
                    "cut at {cut} of {}: {} ({e:?})",
                    wal.len(),
                    e.code()
                );
                // A damaged store, which the shells wipe and enroll again: not an I/O error.
                assert_eq!(e.code(), "store.corrupt", "{e:?}");
                refused.push(format!("{cut} B: {} ({e})", e.code()));
            }
        }
    }
    eprintln!(
        "a_truncated_wal: {} commits in a {} B WAL, {} cuts: {opened} opened with exactly the work committed before the cut; refused, cut before the store's creation committed: {}",
        commits.len(),
        wal.len(),
        tried,
        refused.join("; ")
    );
    assert!(opened > commits.len(), "too few cuts opened");
}
