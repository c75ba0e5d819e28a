//! The server's database: SQLite in the data directory by default, PostgreSQL when given a
//! URL. Both run the same migrations and the same queries through sqlx's `Any` driver
//! (`$1` placeholders, which SQLite accepts too).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::vault::{FileKeySource, KeySource, Vault};

/// The schema scripts; entry `i` brings version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/001_init.sql"),
    include_str!("../migrations/002_number_pools.sql"),
    include_str!("../migrations/003_watchlist.sql"),
    include_str!("../migrations/004_commands.sql"),
    include_str!("../migrations/005_device_health.sql"),
    include_str!("../migrations/006_issuer_keys.sql"),
    include_str!("../migrations/007_compaction.sql"),
    include_str!("../migrations/008_district_records.sql"),
    include_str!("../migrations/009_permit_events.sql"),
    include_str!("../migrations/010_audit_records.sql"),
    include_str!("../migrations/011_at_rest.sql"),
    // The console's (#14), numbered 014 so that 012 and 013 stay free for work in flight; the
    // runner counts entries, so it is the twelfth here until those land.
    include_str!("../migrations/014_console.sql"),
];

/// Which database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file in the data directory; one writer at a time.
    Sqlite,
    /// A PostgreSQL server; several server processes may share it.
    Postgres,
}

/// The open database.
#[derive(Debug, Clone)]
pub struct Db {
    /// The connection pool.
    pub pool: AnyPool,
    /// Which backend it is.
    pub backend: Backend,
    /// The server's keys (the DEK sealing personal columns, the blind-index key).
    pub vault: Arc<Vault>,
}

impl Db {
    /// Opens the database: PostgreSQL at `database_url` if given, else SQLite in `data_dir`
    /// (created 0700 if missing, refused if open to others: [`crate::datadir::prepare`]).
    /// Brings the schema up to date. The key-encryption key lives in `<data_dir>/keys/`
    /// ([`Db::open_with_keys`] for another key source).
    pub async fn open(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<Self> {
        let keys = FileKeySource::new(crate::vault::default_keys_dir(data_dir));
        Self::open_with_keys(data_dir, database_url, &keys).await
    }

    /// [`Db::open`] with the key-encryption key from `keys`. Migrates and opens the keys in
    /// one transaction: a refused key ([`crate::vault::VaultError`]) leaves the database as it
    /// was. Then seals the personal values still stored in clear.
    pub async fn open_with_keys(
        data_dir: &Path,
        database_url: Option<&str>,
        keys: &dyn KeySource,
    ) -> anyhow::Result<Self> {
        install_default_drivers();
        let (url, backend) = match database_url {
            Some(url) if url.starts_with("postgres") => (url.to_owned(), Backend::Postgres),
            Some(_) => anyhow::bail!("--database-url must be a postgres:// URL"),
            None => {
                crate::datadir::prepare(data_dir)?;
                let path = data_dir.join("lgt-server.db");
                // Made 0600 before SQLite opens it; its -wal and -shm files take its mode.
                crate::datadir::private_file(&path)?;
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Backend::Sqlite,
                )
            }
        };
        let options = match backend {
            // One connection: SQLite has one writer, and a single connection never meets
            // SQLITE_BUSY on a read-to-write upgrade.
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(1)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA busy_timeout = 5000; PRAGMA secure_delete = ON;",
                        )
                        .await?;
                        Ok(())
                    })
                }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        let pool = options
            .acquire_timeout(Duration::from_secs(30))
            .connect(&url)
            .await?;
        let vault = Arc::new(Self::migrate(&pool, keys).await?);
        let db = Self {
            pool,
            backend,
            vault,
        };
        if crate::vault::seal_existing(&db).await? > 0 && backend == Backend::Sqlite {
            // The values just sealed no longer linger in the file's free space or the WAL:
            // the file is rebuilt and the WAL emptied (secure_delete zeroes freed cells from
            // then on).
            db.pool.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
            db.pool.execute("VACUUM").await?;
            db.pool.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
        }
        Ok(db)
    }

    async fn migrate(pool: &AnyPool, keys: &dyn KeySource) -> anyhow::Result<Vault> {
        let mut tx = pool.begin().await?;
        tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
            .await?;
        let done: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await?;
        let done = usize::try_from(done.unwrap_or(0))?;
        for (i, script) in MIGRATIONS.iter().enumerate().skip(done) {
            sqlx::raw_sql(*script).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                .bind(i64::try_from(i + 1)?)
                .execute(&mut *tx)
                .await?;
        }
        let vault = crate::vault::load(&mut tx, keys).await?;
        tx.commit().await?;
        Ok(vault)
    }

    /// Starts a transaction that sees one snapshot for all its reads (PostgreSQL's default
    /// isolation would let a pull see a head and entries from different moments).
    pub async fn begin_snapshot(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .await?;
        }
        Ok(tx)
    }
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
