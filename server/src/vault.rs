//! Personal data at rest: envelope encryption of the server's database (#12).
//!
//! ```text
//!  key source (a file now; a KMS later) ──► KEK (256 bits, never in the database)
//!        server_keys: dek, command, id_number_blind ──wrapped (AES-256-GCM) under the KEK──┘
//!  DEK ──► seals personal columns (AES-256-GCM; associated data: table, row key, column)
//! ```
//!
//! The key-encryption key (KEK) comes from a [`KeySource`]; [`FileKeySource`] keeps it in a
//! file (mode 0600, in a directory 0700) outside the database. The data-encryption key (DEK)
//! is made once and stored in `server_keys` only wrapped under the KEK, with the KEK's id;
//! the command signing key and the identity-number blind-index key are stored wrapped the
//! same way. A database that holds wrapped keys opened without the key file, or with another
//! one, is refused with [`VaultError`]: no key is ever made again in their place.
//!
//! A sealed value is text, `v1:` + base64 (standard, padded) of the 12-byte nonce and the
//! ciphertext with its tag, so it fits the TEXT columns of both backends. Its associated data
//! names the table, the row and the column, so a sealed value copied to another row or
//! column does not open. Values written before sealing existed (no `v1:` prefix) are sealed
//! at start-up by [`seal_existing`], in batches; a read of an unsealed value fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use lgt_protocol::{hex, unhex};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use sqlx::AnyConnection;

/// The prefix of a sealed value.
pub const SEALED_PREFIX: &str = "v1:";
/// The prefix of a keyed blind index of a queried column (a permit number).
pub const BLIND_PREFIX: &str = "b1:";

/// The `server_keys` row of the wrapped data-encryption key.
pub const DEK: &str = "dek";
/// The `server_keys` row of the command signing key (PKCS#8).
pub const COMMAND_KEY: &str = "command";
/// The `server_keys` row of the identity-number blind-index key (32 bytes).
pub const BLIND_KEY: &str = "id_number_blind";

/// The file the [`FileKeySource`] keeps the KEK in, inside its directory.
pub const KEY_FILE: &str = "kek";

/// Why the server's keys cannot be used. Never carries a key or a personal value.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The database holds keys wrapped under a KEK, and the key file is not there.
    #[error(
        "服务器密钥文件 {path} 不存在，而数据库中的密钥是用它加密的：请恢复该文件后再启动（服务器不会另生成新密钥）。\
         The server's key file {path} is missing, but the database holds keys wrapped under it: \
         restore the file and start again (the server never makes new keys in their place)."
    )]
    KeyFileMissing {
        /// The expected key file.
        path: PathBuf,
    },
    /// The key file is not the one the database's keys were wrapped under.
    #[error(
        "服务器密钥文件 {path}（密钥编号 {found}）不是加密数据库密钥的那个（密钥编号 {expected}）：请放回原来的密钥文件后再启动。\
         The server's key file {path} (key id {found}) is not the one the database's keys were \
         wrapped under (key id {expected}): put the original key file back and start again."
    )]
    WrongKey {
        /// The key file.
        path: PathBuf,
        /// The id of the KEK the database names.
        expected: String,
        /// The id of the KEK in the file.
        found: String,
    },
    /// The key file is not a key.
    #[error(
        "服务器密钥文件 {path} 无法读取为密钥（应为 64 位十六进制字符）。\
         The server's key file {path} is not a key (64 hexadecimal characters expected)."
    )]
    KeyFileInvalid {
        /// The key file.
        path: PathBuf,
    },
    /// A wrapped key in the database does not open under the KEK (altered, or damaged).
    #[error(
        "数据库中的服务器密钥 {name} 无法用密钥文件解开（已被改动或损坏）。\
         The server key {name} in the database does not open under the key file (altered or damaged)."
    )]
    Unwrap {
        /// The `server_keys` row.
        name: String,
    },
    /// The key directory or file could not be created or read.
    #[error(
        "无法使用服务器密钥目录 {path}。Cannot use the server's key directory {path}: {source}"
    )]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// No randomness for a new key.
    #[error("没有可用的随机数来生成密钥。No randomness for a new key.")]
    Random,
    /// The database failed while the keys were read or written.
    #[error(
        "读写服务器密钥时数据库出错。The database failed while reading the server's keys: {0}"
    )]
    Database(#[from] sqlx::Error),
}

/// A 256-bit key-encryption key.
pub struct Kek([u8; 32]);

impl Kek {
    /// The KEK's id: hex of the first 8 bytes of HMAC-SHA256(KEK, "lgt-server kek id"); it
    /// names the KEK beside what it wraps and tells nothing of it.
    pub fn id(&self) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        hex(&ring::hmac::sign(&key, b"lgt-server kek id").as_ref()[..8])
    }
}

/// Where the KEK comes from. A file now ([`FileKeySource`]); a KMS would implement this too
/// (`load` asking it to unwrap, or to hand out, the KEK).
pub trait KeySource: Send + Sync {
    /// The KEK. `create`: the database holds no wrapped key yet, so a missing KEK may be
    /// made; otherwise a missing one is [`VaultError::KeyFileMissing`].
    fn load(&self, create: bool) -> Result<Kek, VaultError>;
    /// Where it lives, for messages (a path, a KMS key name; never key material).
    fn location(&self) -> PathBuf;
}

/// The KEK in a file: 64 hex characters, mode 0600, in a directory 0700 (by default
/// `<data-dir>/keys/`; `--keys-dir` puts it on another volume).
pub struct FileKeySource {
    dir: PathBuf,
}

impl FileKeySource {
    /// The key file in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }
}

impl KeySource for FileKeySource {
    fn load(&self, create: bool) -> Result<Kek, VaultError> {
        let path = self.path();
        let io = |source| VaultError::Io {
            path: self.dir.clone(),
            source,
        };
        if !path.exists() && !create {
            return Err(VaultError::KeyFileMissing { path });
        }
        // Made 0700 if missing; refused if open to others and not empty.
        crate::datadir::prepare(&self.dir).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                e.to_string(),
            ))
        })?;
        if !path.exists() {
            let mut kek = [0u8; 32];
            lgt_common::crypto::random_bytes(&mut kek).map_err(|_| VaultError::Random)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path).map_err(io)?;
            std::io::Write::write_all(&mut file, format!("{}\n", hex(&kek)).as_bytes())
                .map_err(io)?;
            file.sync_all().map_err(io)?;
            tracing::info!(path = %path.display(), "server key file created");
            return Ok(Kek(kek));
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let bytes = unhex(text.trim())
            .filter(|b| b.len() == 32)
            .ok_or(VaultError::KeyFileInvalid { path })?;
        let mut kek = [0u8; 32];
        kek.copy_from_slice(&bytes);
        Ok(Kek(kek))
    }

    fn location(&self) -> PathBuf {
        self.path()
    }
}

/// The server's keys, opened: the KEK, the DEK and what is derived from it.
pub struct Vault {
    kek: LessSafeKey,
    kek_id: String,
    dek: LessSafeKey,
    id_blind: ring::hmac::Key,
    number_blind: ring::hmac::Key,
    house_blind: ring::hmac::Key,
}

/// A blind-index key derived from the DEK for `label`.
fn derived_blind_key(dek: &[u8], label: &[u8]) -> ring::hmac::Key {
    let derive = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, dek);
    let key = ring::hmac::sign(&derive, label);
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_ref())
}

/// The blind-index key of permit numbers, derived from the DEK.
fn number_blind_key(dek: &[u8]) -> ring::hmac::Key {
    derived_blind_key(dek, b"lgt-server blind index: permit number")
}

/// The blind-index key of house codes, derived from the DEK.
fn house_blind_key(dek: &[u8]) -> ring::hmac::Key {
    derived_blind_key(dek, b"lgt-server blind index: house code")
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("kek_id", &self.kek_id)
            .finish_non_exhaustive()
    }
}

fn aead_key(bytes: &[u8]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte key"))
}

fn seal_with(key: &LessSafeKey, aad: &[u8], plain: &[u8]) -> String {
    let mut nonce = [0u8; NONCE_LEN];
    lgt_common::crypto::random_bytes(&mut nonce).expect("randomness");
    let mut out = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut out,
    )
    .expect("sealing");
    let mut all = nonce.to_vec();
    all.extend_from_slice(&out);
    base64::engine::general_purpose::STANDARD.encode(all)
}

fn open_with(key: &LessSafeKey, aad: &[u8], text: &str) -> Option<Vec<u8>> {
    let mut all = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    if all.len() < NONCE_LEN {
        return None;
    }
    let mut body = all.split_off(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&all).ok()?;
    let plain = key.open_in_place(nonce, Aad::from(aad), &mut body).ok()?;
    Some(plain.to_vec())
}

fn wrap_aad(name: &str) -> Vec<u8> {
    format!("lgt-server key\0{name}").into_bytes()
}

fn seal_aad(table: &str, row: &str, column: &str) -> Vec<u8> {
    format!("{table}\0{row}\0{column}").into_bytes()
}

/// A stored value that does not open: unsealed, altered, or moved from another row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a stored value does not open")]
pub struct Unreadable;

impl Vault {
    /// The KEK's id.
    pub fn kek_id(&self) -> &str {
        &self.kek_id
    }

    /// Seals `plain` for `column` of the row `row` of `table`.
    pub fn seal(&self, table: &str, row: &str, column: &str, plain: &str) -> String {
        format!(
            "{SEALED_PREFIX}{}",
            seal_with(&self.dek, &seal_aad(table, row, column), plain.as_bytes())
        )
    }

    /// Opens a value [`Vault::seal`] sealed for the same place.
    pub fn open(
        &self,
        table: &str,
        row: &str,
        column: &str,
        sealed: &str,
    ) -> Result<String, Unreadable> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(Unreadable)?;
        let plain = open_with(&self.dek, &seal_aad(table, row, column), body).ok_or(Unreadable)?;
        String::from_utf8(plain).map_err(|_| Unreadable)
    }

    /// The identity-number blind-index key.
    pub fn id_blind_key(&self) -> &ring::hmac::Key {
        &self.id_blind
    }

    /// The blind index a house code is stored and found by (`registrations.house_code`,
    /// `dwellings.house_code`, the records bucket's `dwelling:` keys): `b1:` + hex
    /// HMAC-SHA256 under a key derived from the DEK.
    pub fn house_code_blind(&self, code: &str) -> String {
        format!(
            "{BLIND_PREFIX}{}",
            hex(ring::hmac::sign(&self.house_blind, code.as_bytes()).as_ref())
        )
    }

    /// How a bucket entry's key is stored (`bucket_entries.key`): a dwelling's key
    /// (`dwelling:{house_code}`) as `dwelling:` + the code's blind index, the key itself
    /// sealed beside it (`sealed_key`); any other key (ids, versions) as it is.
    pub fn stored_bucket_key(&self, key: &str) -> String {
        use lgt_protocol::records::DWELLING_PREFIX;
        match key.strip_prefix(DWELLING_PREFIX) {
            Some(code) => format!("{DWELLING_PREFIX}{}", self.house_code_blind(code)),
            None => key.to_owned(),
        }
    }

    /// The blind index a permit number is stored and found by (`permits.number`,
    /// `reserved_numbers.number`): `b1:` + hex HMAC-SHA256 under a key derived from the DEK.
    pub fn permit_number_blind(&self, number: &str) -> String {
        format!(
            "{BLIND_PREFIX}{}",
            hex(ring::hmac::sign(&self.number_blind, number.as_bytes()).as_ref())
        )
    }

    /// Wraps a key for the `server_keys` row `name`: `(wrapped, kek id)`.
    pub fn wrap(&self, name: &str, key: &[u8]) -> (String, String) {
        (
            seal_with(&self.kek, &wrap_aad(name), key),
            self.kek_id.clone(),
        )
    }

    /// Unwraps the `server_keys` row `name`.
    pub fn unwrap_key(&self, name: &str, wrapped: &str) -> Result<Vec<u8>, VaultError> {
        open_with(&self.kek, &wrap_aad(name), wrapped).ok_or_else(|| VaultError::Unwrap {
            name: name.to_owned(),
        })
    }
}

/// Opens the server's keys in `conn`'s transaction: takes the KEK from `source` (made only
/// if the database holds no wrapped key yet), checks it is the one the database's keys were
/// wrapped under, makes the DEK and the blind-index key on first use, and wraps any key still
/// stored in clear (a database from before #12). A refusal writes nothing the caller's
/// transaction does not roll back.
pub async fn load(conn: &mut AnyConnection, source: &dyn KeySource) -> Result<Vault, VaultError> {
    let wrapped: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, kek_id FROM server_keys WHERE kek_id IS NOT NULL ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let kek = source.load(wrapped.is_empty())?;
    let kek_id = kek.id();
    if let Some((_, expected)) = wrapped.iter().find(|(_, id)| *id != kek_id) {
        return Err(VaultError::WrongKey {
            path: source.location(),
            expected: expected.clone(),
            found: kek_id,
        });
    }
    let mut vault = Vault {
        kek: aead_key(&kek.0),
        kek_id,
        // Replaced below, once the DEK is read.
        dek: aead_key(&[0; 32]),
        id_blind: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[0; 32]),
        number_blind: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[0; 32]),
        house_blind: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[0; 32]),
    };
    // Keys stored in clear before #12 (hex): wrapped in place.
    let clear: Vec<(String, String)> =
        sqlx::query_as("SELECT name, pkcs8 FROM server_keys WHERE kek_id IS NULL")
            .fetch_all(&mut *conn)
            .await?;
    for (name, text) in clear {
        let bytes = unhex(&text).ok_or_else(|| VaultError::Unwrap { name: name.clone() })?;
        let (wrapped, id) = vault.wrap(&name, &bytes);
        sqlx::query(
            "UPDATE server_keys SET pkcs8 = $2, kek_id = $3 WHERE name = $1 AND kek_id IS NULL",
        )
        .bind(&name)
        .bind(&wrapped)
        .bind(&id)
        .execute(&mut *conn)
        .await?;
        tracing::info!(name = %name, "a server key stored in clear was wrapped");
    }
    let dek = ensure_key(conn, &vault, DEK, 32).await?;
    vault.dek = aead_key(&dek);
    vault.number_blind = number_blind_key(&dek);
    vault.house_blind = house_blind_key(&dek);
    let blind = ensure_key(conn, &vault, BLIND_KEY, 32).await?;
    vault.id_blind = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &blind);
    Ok(vault)
}

/// The key `name`, made (random, `len` bytes) and stored wrapped on first use.
async fn ensure_key(
    conn: &mut AnyConnection,
    vault: &Vault,
    name: &str,
    len: usize,
) -> Result<Vec<u8>, VaultError> {
    let mut fresh = vec![0u8; len];
    lgt_common::crypto::random_bytes(&mut fresh).map_err(|_| VaultError::Random)?;
    stored_key(conn, vault, name, &fresh).await
}

/// The key `name` as stored (wrapped under the key-encryption key, never in clear), `fresh`
/// stored first if there is none yet: the first writer wins a race between server
/// processes. The row stays locked until the caller's transaction ends, so nothing uses a
/// key that a concurrent rotation is replacing.
pub(crate) async fn stored_key(
    conn: &mut AnyConnection,
    vault: &Vault,
    name: &str,
    fresh: &[u8],
) -> Result<Vec<u8>, VaultError> {
    let (wrapped, id) = vault.wrap(name, fresh);
    sqlx::query(
        "INSERT INTO server_keys (name, pkcs8, kek_id) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(&wrapped)
    .bind(&id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE server_keys SET pkcs8 = pkcs8 WHERE name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    let (stored,): (String,) = sqlx::query_as("SELECT pkcs8 FROM server_keys WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
    vault.unwrap_key(name, &stored)
}

/// A sealed column: its table, the SQL of its row key (one text value) and its name.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The table.
    pub table: &'static str,
    /// The row key, as an SQL expression over the table's columns.
    pub row: &'static str,
    /// The column.
    pub column: &'static str,
}

/// Every personal column, sealed under the DEK.
pub const SEALED_COLUMNS: &[Column] = &[
    Column {
        table: "persons",
        row: "id",
        column: "data",
    },
    Column {
        table: "person_identifiers",
        row: "district || '/' || id_blind",
        column: "document",
    },
    Column {
        table: "registrations",
        row: "id",
        column: "data",
    },
    Column {
        table: "dwellings",
        row: "district || '/' || house_code",
        column: "data",
    },
    Column {
        table: "dwellings",
        row: "district || '/' || house_code",
        column: "landlord",
    },
    Column {
        table: "permits",
        row: "id",
        column: "data",
    },
    Column {
        table: "permit_events",
        row: "permit_id || '/' || CAST(version AS TEXT)",
        column: "event",
    },
    Column {
        table: "conflicts",
        row: "id",
        column: "payload",
    },
    Column {
        table: "bucket_entries",
        row: "bucket || '/' || key",
        column: "data",
    },
];

/// Rows sealed per statement batch at start-up.
const SEAL_BATCH: i64 = 200;

/// Seals every value of [`SEALED_COLUMNS`] still stored in clear (a database from before
/// #12), in batches of [`SEAL_BATCH`] rows, each batch one transaction. Idempotent: a value
/// is sealed only if it lacks the prefix and is still the value read. Returns how many.
pub async fn seal_existing(db: &crate::Db) -> anyhow::Result<u64> {
    let vault = Arc::clone(&db.vault);
    let mut total = blind_house_codes(db, &vault).await?;
    for c in SEALED_COLUMNS {
        let select = format!(
            "SELECT {row}, {col} FROM {table} WHERE {col} IS NOT NULL AND {col} NOT LIKE 'v1:%' LIMIT {SEAL_BATCH}",
            row = c.row,
            col = c.column,
            table = c.table,
        );
        let update = format!(
            "UPDATE {table} SET {col} = $1 WHERE {row} = $2 AND {col} = $3",
            row = c.row,
            col = c.column,
            table = c.table,
        );
        loop {
            let mut tx = db.pool.begin().await?;
            let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                .fetch_all(&mut *tx)
                .await?;
            if rows.is_empty() {
                break;
            }
            for (row, plain) in &rows {
                let sealed = vault.seal(c.table, row, c.column, plain);
                total += sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                    .bind(&sealed)
                    .bind(row)
                    .bind(plain)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
        }
    }
    total += blind_permit_numbers(db, &vault).await?;
    if total > 0 {
        tracing::info!(values = total, "values stored in clear were sealed");
    }
    Ok(total)
}

/// Replaces the house codes still stored in clear (before #12) by their blind index: in
/// registrations, dwellings and the records buckets' `dwelling:` keys (the key sealed beside
/// it). Runs before the sealing, whose associated data names these rows by their index.
async fn blind_house_codes(db: &crate::Db, vault: &Vault) -> anyhow::Result<u64> {
    let mut total = 0u64;
    for table in ["registrations", "dwellings"] {
        loop {
            let mut tx = db.pool.begin().await?;
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT DISTINCT house_code FROM {table}
                 WHERE house_code NOT LIKE 'b1:%' LIMIT {SEAL_BATCH}"
            )))
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                break;
            }
            for (code,) in &rows {
                total += sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET house_code = $1 WHERE house_code = $2"
                )))
                .bind(vault.house_code_blind(code))
                .bind(code)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
        }
    }
    loop {
        let mut tx = db.pool.begin().await?;
        let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT bucket, key FROM bucket_entries
             WHERE key LIKE 'dwelling:%' AND key NOT LIKE 'dwelling:b1:%' LIMIT {SEAL_BATCH}"
        )))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for (bucket, key) in &rows {
            let stored = vault.stored_bucket_key(key);
            let sealed_key =
                vault.seal("bucket_entries", &format!("{bucket}/{stored}"), "key", key);
            total += sqlx::query(
                "UPDATE bucket_entries SET key = $1, sealed_key = $2 WHERE bucket = $3 AND key = $4",
            )
            .bind(&stored)
            .bind(&sealed_key)
            .bind(bucket)
            .bind(key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
    }
    Ok(total)
}

/// Replaces the permit numbers still stored in clear (before #12) by their blind index, the
/// reserved ones keeping the number sealed beside it; in batches, idempotent.
async fn blind_permit_numbers(db: &crate::Db, vault: &Vault) -> anyhow::Result<u64> {
    let mut total = 0u64;
    loop {
        let mut tx = db.pool.begin().await?;
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT number FROM reserved_numbers WHERE number NOT LIKE 'b1:%' LIMIT {SEAL_BATCH}"
        )))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for (number,) in &rows {
            let blind = vault.permit_number_blind(number);
            total += sqlx::query(
                "UPDATE reserved_numbers SET number = $1, sealed_number = $2 WHERE number = $3",
            )
            .bind(&blind)
            .bind(vault.seal("reserved_numbers", &blind, "number", number))
            .bind(number)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
    }
    loop {
        let mut tx = db.pool.begin().await?;
        let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, number FROM permits
             WHERE number IS NOT NULL AND number NOT LIKE 'b1:%' LIMIT {SEAL_BATCH}"
        )))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for (id, number) in &rows {
            total += sqlx::query("UPDATE permits SET number = $1 WHERE id = $2 AND number = $3")
                .bind(vault.permit_number_blind(number))
                .bind(id)
                .bind(number)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
    }
    Ok(total)
}

/// The default key directory: `<data-dir>/keys`.
pub fn default_keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault {
            kek: aead_key(&[1; 32]),
            kek_id: Kek([1; 32]).id(),
            dek: aead_key(&[2; 32]),
            id_blind: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[3; 32]),
            number_blind: number_blind_key(&[2; 32]),
            house_blind: house_blind_key(&[2; 32]),
        }
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_place() {
        let v = vault();
        let sealed = v.seal("persons", "p1", "data", "{\"name\":\"张三\"}");
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("张三"));
        assert_eq!(
            v.open("persons", "p1", "data", &sealed).unwrap(),
            "{\"name\":\"张三\"}"
        );
        assert_eq!(v.open("persons", "p2", "data", &sealed), Err(Unreadable));
        assert_eq!(v.open("persons", "p1", "other", &sealed), Err(Unreadable));
        assert_eq!(
            v.open("registrations", "p1", "data", &sealed),
            Err(Unreadable)
        );
        assert_eq!(v.open("persons", "p1", "data", "{}"), Err(Unreadable));
        let (wrapped, id) = v.wrap(DEK, &[9; 32]);
        assert_eq!(id, v.kek_id);
        assert_eq!(v.unwrap_key(DEK, &wrapped).unwrap(), vec![9; 32]);
        assert!(v.unwrap_key(COMMAND_KEY, &wrapped).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_made_private_once_and_never_again() {
        use std::os::unix::fs::PermissionsExt as _;
        let root = tempfile::tempdir().unwrap();
        let source = FileKeySource::new(root.path().join("keys"));
        assert!(matches!(
            source.load(false),
            Err(VaultError::KeyFileMissing { .. })
        ));
        let made = source.load(true).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&source.location()), 0o600);
        assert_eq!(mode(&root.path().join("keys")), 0o700);
        assert_eq!(source.load(false).unwrap().id(), made.id());
        assert_eq!(
            source.load(true).unwrap().id(),
            made.id(),
            "never made again"
        );
        std::fs::write(source.location(), "not a key").unwrap();
        assert!(matches!(
            source.load(false),
            Err(VaultError::KeyFileInvalid { .. })
        ));
    }
}
