//! The encrypted offline store: one SQLite file per device, in WAL mode.
//!
//! SQLite never sees a personal value in clear. Rows hold AES-256-GCM sealed blobs bound to
//! their table and id, plus keyed blind indexes for the look-ups the field needs (ID number,
//! name, permit number). A canary sealed at creation tells a wrong key from a damaged file.
//!
//! Writers receive a `&Transaction` and readers a `&Connection`, so the type says which is
//! which; a write commits only when its closure returns `Ok`. One writer connection and one
//! reader beside it (WAL lets a read run while a write commits).
//!
//! Personal rows are reached only through [`Unlocked`], which [`Store::unlock`] hands out
//! while the offline lock is open.

mod lock;
mod schema;
mod unlocked;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use uuid::Uuid;

use crate::crypto::{CryptoError, KeyError, KeyProvider, RowCipher};
use crate::session::Session;

pub(crate) use lock::{anchor as anchor_time, note_audited as note_audited_time};
pub use lock::{Lock, CLOCK_ROLLBACK_TOLERANCE_SECS};
pub use schema::CURRENT_VERSION as SCHEMA_VERSION;
pub use unlocked::Unlocked;

/// The database file's name inside the store directory.
pub const DB_FILE: &str = "lgt.db";

const CANARY_CONTEXT: &str = "meta:canary";
const CANARY_PLAINTEXT: &[u8] = b"lgt-core key canary v1";

/// How hard a commit works to survive power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Durability {
    /// fsync on every commit (`synchronous=FULL`): a record shown as saved survives a
    /// battery pull. The default for the field.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crashed app, may lose the last commits on power loss.
    /// For bulk fixtures and benchmarks.
    Normal,
}

/// Options for opening a store.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreOptions {
    /// Commit durability.
    pub durability: Durability,
}

/// Why the store failed. Messages carry no personal values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    /// The device's storage is full: the change was not saved (nothing of it stays), what
    /// was saved before is intact. Free space, then try again.
    #[error("the device storage is full: nothing was saved by this change")]
    Full,
    /// The file system holding the store is read-only (a failing flash chip, or a file system
    /// the system remounted read-only after an error): the change was not saved.
    #[error("the device storage is read-only: nothing was saved by this change")]
    ReadOnly,
    /// The key does not open this store.
    #[error("the key does not open this store (wrong or replaced key)")]
    WrongKey,
    /// The key provider failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A sealed value failed to open or seal.
    #[error("record {record} could not be decrypted or encrypted: {source}")]
    Crypto {
        /// Which record (table:id).
        record: String,
        /// What failed.
        source: CryptoError,
    },
    /// A store already exists where a new one was to be created.
    #[error("a store already exists in that directory")]
    AlreadyExists,
    /// There is no store in that directory.
    #[error("no store in that directory (run init first)")]
    Missing,
    /// The file was written by a newer version of the core.
    #[error("the store has schema version {found}, newer than this build supports")]
    NewerSchema {
        /// The version found in the file.
        found: u32,
    },
    /// A file-system operation failed.
    #[error("file system: {0}")]
    Io(std::io::ErrorKind),
    /// A stored value is not what this build wrote.
    #[error("stored record {record} is malformed")]
    Malformed {
        /// Which record (table:id).
        record: String,
    },
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull => StoreError::Full,
            std::io::ErrorKind::ReadOnlyFilesystem => StoreError::ReadOnly,
            kind => StoreError::Io(kind),
        }
    }
}

/// SQLite's own codes name a full disk (`SQLITE_FULL`, from `ENOSPC`) and a write refused on
/// a read-only database (`SQLITE_READONLY`). A write that fails on a file system gone
/// read-only under an open store is only `SQLITE_IOERR` to SQLite: [`Store::write`] asks the
/// file system about those ([`classify`]).
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full,
            Some(rusqlite::ErrorCode::ReadOnly) => StoreError::ReadOnly,
            _ => StoreError::Sqlite(e),
        }
    }
}

/// [`classify`] for a store error that is still SQLite's own.
fn typed(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Sqlite(e) => classify(path, e),
        other => other,
    }
}

/// A failed SQLite call on the store at `path`, typed: [`StoreError::Full`] and
/// [`StoreError::ReadOnly`] by SQLite's code, and an I/O or open failure as `ReadOnly` when the
/// database file can no longer be opened for writing because its file system is read-only.
/// The probe opens the existing file for writing and writes nothing.
fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    let io_failure = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::SystemIoFailure | rusqlite::ErrorCode::CannotOpen)
    );
    if io_failure {
        if let Err(probe) = fs::OpenOptions::new().write(true).open(path) {
            if probe.kind() == std::io::ErrorKind::ReadOnlyFilesystem {
                return StoreError::ReadOnly;
            }
        }
    }
    e.into()
}

/// Why [`Store::unlock`] handed out no [`Unlocked`].
#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    /// The offline lock is closed.
    #[error("personal data is locked")]
    Locked(Lock),
    /// The store failed while checking.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An open store.
pub struct Store {
    dir: PathBuf,
    conn: Mutex<Connection>,
    reader: Mutex<Connection>,
    cipher: RowCipher,
    store_id: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("store_id", &self.store_id)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Creates a new store in `dir` (created with mode 0700 if missing) under the key that
    /// `keys` supplies.
    pub fn create(
        dir: &Path,
        keys: &dyn KeyProvider,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        create_private_dir(dir)?;
        let path = dir.join(DB_FILE);
        if path.exists() {
            return Err(StoreError::AlreadyExists);
        }
        let cipher = RowCipher::new(&keys.data_key()?);
        Self::make(dir, &path, cipher, options).map_err(|e| {
            let e = typed(&path, e);
            // A store that could not be made (a full disk) is not left half-made: the files
            // go, so the next create starts clean instead of finding "a store" without tables.
            let _ = remove_files(dir);
            e
        })
    }

    fn make(
        dir: &Path,
        path: &Path,
        cipher: RowCipher,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let mut conn = connect(path, options)?;
        let store_id = Uuid::now_v7().to_string();
        {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            schema::upgrade(&tx, 0)?;
            let canary = cipher
                .seal(CANARY_CONTEXT, CANARY_PLAINTEXT)
                .map_err(|source| StoreError::Crypto {
                    record: CANARY_CONTEXT.into(),
                    source,
                })?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('canary', ?1), ('store_id', ?2)",
                rusqlite::params![canary, store_id.as_bytes()],
            )?;
            lock::first_mark(&tx, &cipher)?;
            tx.commit()?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            reader: Mutex::new(connect_reader(path)?),
            conn: Mutex::new(conn),
            cipher,
            store_id,
        })
    }

    /// Opens the store in `dir`, checks the key against the canary, then upgrades the schema.
    pub fn open(
        dir: &Path,
        keys: &dyn KeyProvider,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::Missing);
        }
        let cipher = RowCipher::new(&keys.data_key()?);
        Self::open_file(dir, &path, cipher, options).map_err(|e| typed(&path, e))
    }

    fn open_file(
        dir: &Path,
        path: &Path,
        cipher: RowCipher,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let mut conn = connect(path, options)?;
        // A file without the store's tables (its creation never reached the disk: a WAL lost
        // whole before its first checkpoint) holds nothing to open: damaged, not an I/O error.
        let tables: i64 = conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |r| r.get(0),
        )?;
        if tables == 0 {
            return Err(StoreError::Malformed {
                record: CANARY_CONTEXT.into(),
            });
        }
        let canary: Option<Vec<u8>> = conn
            .query_row("SELECT value FROM meta WHERE key = 'canary'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match canary.map(|c| cipher.open(CANARY_CONTEXT, &c)) {
            Some(Ok(plain)) if plain.as_slice() == CANARY_PLAINTEXT => {}
            Some(_) => return Err(StoreError::WrongKey),
            None => {
                return Err(StoreError::Malformed {
                    record: CANARY_CONTEXT.into(),
                })
            }
        }
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version != schema::CURRENT_VERSION {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            schema::upgrade(&tx, version)?;
            if version < schema::AT_REST_VERSION {
                lock::first_mark_of_upgrade(&tx, &cipher)?;
            }
            if version < schema::WATCHLIST_KEYED_VERSION {
                schema::key_watchlist_tags(&tx, &cipher)?;
            }
            if version < schema::LINKS_BOUND_VERSION {
                schema::bind_links(&tx, &cipher)?;
            }
            tx.commit()?;
            if version < schema::WATCHLIST_KEYED_VERSION {
                schema::scrub(&conn)?;
            }
        }
        let store_id: Vec<u8> =
            conn.query_row("SELECT value FROM meta WHERE key = 'store_id'", [], |r| {
                r.get(0)
            })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            reader: Mutex::new(connect_reader(path)?),
            conn: Mutex::new(conn),
            cipher,
            store_id: String::from_utf8_lossy(&store_id).into_owned(),
        })
    }

    /// Whether a store exists in `dir`.
    pub fn exists(dir: &Path) -> bool {
        dir.join(DB_FILE).is_file()
    }

    /// This store's random id (not personal; identifies the device's database).
    pub fn id(&self) -> &str {
        &self.store_id
    }

    /// The directory holding the database files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cipher of the store's bookkeeping: the audit chain, the outbox and the sync
    /// engine's rows. Personal rows go through [`Unlocked::cipher`]; the layering test keeps
    /// every other module off this one.
    pub(crate) fn cipher(&self) -> &RowCipher {
        &self.cipher
    }

    /// Access to personal data for `session`, unless the offline lock is closed. The clock
    /// is read once, checked against the latest time the store has seen, and raises it.
    pub fn unlock<'a>(&'a self, session: Session<'a>) -> Result<Unlocked<'a>, UnlockError> {
        let now = session.now();
        let verdict = self.read(|conn| lock::lock_at(conn, &self.cipher, now))?;
        if verdict.raise {
            self.write(|tx| lock::raise(tx, &self.cipher, now))?;
        }
        match verdict.lock {
            Some(lock) => Err(UnlockError::Locked(lock)),
            None => Ok(Unlocked::new(self, session)),
        }
    }

    /// Copies the WAL into the database and cuts the WAL file back (after a large write,
    /// such as a district's first pull, so the phone does not keep its size twice).
    pub(crate) fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Runs `f` in an immediate write transaction, committing only if it returns `Ok`.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let path = self.dir.join(DB_FILE);
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(&path, e))?;
        let value = f(&tx)?;
        // The commit is where the WAL is written: a full or read-only disk shows here.
        tx.commit().map_err(|e| classify(&path, e))?;
        Ok(value)
    }

    /// Runs `f` on the reader connection, which sees what was committed before it started.
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let reader = self
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&reader)
    }

    /// `PRAGMA integrity_check`: "ok" or SQLite's first complaints.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self
            .lock()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// Destroys the key (first, so nothing readable survives an interrupted wipe), then every
    /// database file in the directory.
    pub fn wipe(self, keys: &dyn KeyProvider) -> Result<(), StoreError> {
        let dir = self.dir.clone();
        drop(self);
        wipe_dir(&dir, keys)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock left no open transaction (it rolled back on drop).
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The stored form of an instant: RFC 3339, UTC, microseconds.
pub(crate) fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Seals bytes for the row named by `context` (`table:id`).
pub(crate) fn seal_bytes(
    cipher: &RowCipher,
    context: &str,
    plain: &[u8],
) -> Result<Vec<u8>, StoreError> {
    cipher
        .seal(context, plain)
        .map_err(|source| StoreError::Crypto {
            record: context.into(),
            source,
        })
}

/// Opens bytes sealed by [`seal_bytes`] for the same `context`.
pub(crate) fn open_bytes(
    cipher: &RowCipher,
    context: &str,
    sealed: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    cipher
        .open(context, sealed)
        .map_err(|source| StoreError::Crypto {
            record: context.into(),
            source,
        })
}

/// The associated data a sealed row is bound to: its table and id, and the columns that link
/// it to other rows (its person, its version). A sealed value copied into another row,
/// re-pointed in the file to another person, or put back at another version fails to open
/// (`store.corrupt`). Every seal and open of these tables goes through these, and every write
/// that changes a link seals the row again.
pub(crate) mod context {
    use crate::crypto::Tag;

    /// A person's identity document (`person_identifiers`).
    pub(crate) fn person_identifier(id: &str, person_id: &str) -> String {
        format!("person_identifiers:{id}:person:{person_id}")
    }

    /// A registration, bound to the person it belongs to.
    pub(crate) fn registration(id: &str, person_id: &str) -> String {
        format!("registrations:{id}:person:{person_id}")
    }

    /// A permit's current state, bound to its holder and its version.
    pub(crate) fn permit(id: &str, person_id: &str, version: u32) -> String {
        format!("permits:{id}:person:{person_id}:version:{version}")
    }

    /// One event of a permit's history, at the version it made.
    pub(crate) fn permit_event(permit_id: &str, version: u32) -> String {
        format!("permit_events:{permit_id}:{version}")
    }

    /// A watchlist alert, bound to the person it concerns (none for a look-up).
    pub(crate) fn watchlist_alert(id: &str, person_id: Option<&str>) -> String {
        format!("watchlist_alerts:{id}:person:{}", person_id.unwrap_or("-"))
    }

    /// An entry's details (`watchlist_details`, by the tag as this store keeps it).
    pub(crate) fn watchlist_details(stored_tag: &Tag) -> String {
        let hex: String = stored_tag.iter().map(|b| format!("{b:02x}")).collect();
        format!("watchlist_details:{hex}")
    }
}

/// Serialises `value` and seals it for the row named by `context` (`table:id`).
pub(crate) fn seal_json<T: serde::Serialize>(
    cipher: &RowCipher,
    context: &str,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    let plain =
        zeroize::Zeroizing::new(
            serde_json::to_vec(value).map_err(|_| StoreError::Malformed {
                record: context.into(),
            })?,
        );
    seal_bytes(cipher, context, &plain)
}

/// Opens a value sealed by [`seal_json`] for the same `context`.
pub(crate) fn open_json<T: serde::de::DeserializeOwned>(
    cipher: &RowCipher,
    context: &str,
    sealed: &[u8],
) -> Result<T, StoreError> {
    let plain = open_bytes(cipher, context, sealed)?;
    serde_json::from_slice(&plain).map_err(|_| StoreError::Malformed {
        record: context.into(),
    })
}

/// Wipes a store that cannot be opened (lost key, damaged file): key first, then files.
pub fn wipe_dir(dir: &Path, keys: &dyn KeyProvider) -> Result<(), StoreError> {
    keys.destroy()?;
    remove_files(dir)
}

/// Removes the database files in `dir` (those missing are fine).
pub(crate) fn remove_files(dir: &Path) -> Result<(), StoreError> {
    for name in [DB_FILE, "lgt.db-wal", "lgt.db-shm", "lgt.db-journal"] {
        match fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Creates `dir` (and parents) readable only by its owner, if it does not exist.
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    Ok(())
}

/// The reader beside the writer: same file, queries only (`query_only` refuses a write).
fn connect_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "query_only", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

fn connect(path: &Path, options: StoreOptions) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = match options.durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Sorts and temporary indexes stay in memory, never in temp files on flash.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // A large transaction (a district's first pull) grows the WAL to its size; once
    // checkpointed, the file is cut back to this instead of keeping that size on the phone.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    Ok(conn)
}

/// Bytes the WAL file is cut back to after a checkpoint.
const WAL_SIZE_LIMIT: i64 = 4 * 1024 * 1024;

#[cfg(test)]
mod tests;

/// Builds the current schema on `conn`, for tests of modules that need its tables.
#[cfg(test)]
pub(crate) fn schema_for_tests(conn: &mut Connection) {
    let tx = conn.transaction().expect("transaction");
    schema::upgrade(&tx, 0).expect("schema");
    tx.commit().expect("commit");
}
