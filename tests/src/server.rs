//! The real server on a loopback port: in this process, or as a child `lgt-server serve`
//! process ([`TestServer::start_process`]) while the test keeps its own connection to the
//! database for its checks.

use std::path::{Path, PathBuf};

use lgt_core::crypto::sha256;
use lgt_protocol::{checksum_term, entry_digest_input, ServerPin};
use lgt_server::{Db, Limits, TlsIdentity};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use crate::process::{server_binary, ProcessLimits, ServerProcess};

/// Which database a test server runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendChoice {
    /// SQLite in a temporary data directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL.
    Postgres(String),
}

/// The backends every server test runs on: SQLite always, and PostgreSQL when
/// `LGT_TEST_DATABASE_URL` is set. CI sets it (and checks that the PostgreSQL runs
/// happened); `LGT_REQUIRE_POSTGRES=1` turns its absence into a failure.
pub fn backends() -> Vec<BackendChoice> {
    let mut out = vec![BackendChoice::Sqlite];
    match std::env::var("LGT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => out.push(BackendChoice::Postgres(url)),
        _ => assert!(
            std::env::var("LGT_REQUIRE_POSTGRES").is_err(),
            "LGT_REQUIRE_POSTGRES is set but LGT_TEST_DATABASE_URL is not"
        ),
    }
    out
}

/// A running server.
pub struct TestServer {
    /// Its base URL, `http://127.0.0.1:PORT` or `https://...`.
    pub url: String,
    /// The pin of its TLS key, when it serves HTTPS.
    pub pin: Option<ServerPin>,
    /// Its database, for checks and admin commands (the test's own connection when the
    /// server is a child process).
    pub db: Db,
    /// The PostgreSQL database URL, when not on SQLite.
    database_url: Option<String>,
    /// The PostgreSQL database this server created (and drops when it stops): its name and
    /// the URL of the server's maintenance database.
    owned_database: Option<(String, String)>,
    data: std::path::PathBuf,
    limits: Limits,
    runtime: Runtime,
    shutdown: Option<oneshot::Sender<()>>,
    /// The `lgt-server` binary, when the server runs as a child process.
    server_bin: Option<PathBuf>,
    /// The child process, while it runs.
    process: Option<ServerProcess>,
    _data: Option<TempDir>,
}

impl TestServer {
    /// Starts a server on `backend` with an empty database, serving plain HTTP on loopback
    /// (as behind a TLS-terminating load balancer), with no rate or concurrency limits (the
    /// tests about limits set their own: [`TestServer::start_limited`]).
    pub fn start(backend: &BackendChoice) -> Self {
        Self::start_with(backend, false, Limits::off(), None)
    }

    /// Starts a server serving HTTPS with the self-signed identity of its data directory.
    pub fn start_tls(backend: &BackendChoice) -> Self {
        Self::start_with(backend, true, Limits::off(), None)
    }

    /// Starts a server (plain HTTP) under `limits`.
    pub fn start_limited(backend: &BackendChoice, limits: Limits) -> Self {
        Self::start_with(backend, false, limits, None)
    }

    /// Starts a server as a child process: the real `lgt-server serve` binary (found by
    /// [`crate::server_binary`]: `LGT_SERVER_BIN`, else next to the test executable; a missing
    /// or stale binary is a failure) on `backend` with an empty database, plain HTTP on a
    /// loopback port, every rate and concurrency limit off. The test keeps its own connection
    /// to the database ([`TestServer::db`], [`TestServer::rows`], ...); [`TestServer::kill`]
    /// SIGKILLs the process and [`TestServer::restart`] starts it again on the same database
    /// and address; [`TestServer::start_beside`] starts another process.
    pub fn start_process(backend: &BackendChoice) -> Self {
        Self::start_with(backend, false, Limits::off(), Some(server_binary()))
    }

    fn start_with(
        backend: &BackendChoice,
        tls: bool,
        limits: Limits,
        server_bin: Option<PathBuf>,
    ) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let (database_url, owned_database) = match backend {
            BackendChoice::Sqlite => (None, None),
            BackendChoice::Postgres(url) => {
                let name = fresh_postgres_database(url);
                let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
                (Some(format!("{base}/{name}")), Some((name, url.clone())))
            }
        };
        let mut server = match server_bin {
            None => Self::open(data.path(), database_url, tls, limits),
            Some(bin) => Self::open_process(data.path(), database_url, bin),
        };
        server._data = Some(data);
        server.owned_database = owned_database;
        server
    }

    /// A second server on the same database, as behind a load balancer (a second child
    /// process when this one is a process).
    pub fn start_beside(&self) -> Self {
        if let Some(bin) = &self.server_bin {
            return Self::open_process(&self.data, self.database_url.clone(), bin.clone());
        }
        Self::open(
            &self.data,
            self.database_url.clone(),
            self.pin.is_some(),
            self.limits.clone(),
        )
    }

    /// The test's runtime and its connection to the server's database (migrated on opening).
    fn runtime_and_db(data: &Path, database_url: Option<&str>) -> (tokio::runtime::Runtime, Db) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let db = runtime
            .block_on(Db::open(data, database_url))
            .expect("database");
        (runtime, db)
    }

    fn open(data: &Path, database_url: Option<String>, tls: bool, limits: Limits) -> Self {
        let identity = tls.then(|| TlsIdentity::in_data_dir(data).expect("TLS identity"));
        let (runtime, db) = Self::runtime_and_db(data, database_url.as_deref());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let scheme = if tls { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().expect("addr"));
        let pin = identity.as_ref().map(TlsIdentity::pin);
        let (tx, rx) = oneshot::channel::<()>();
        let serving = db.clone();
        let serving_limits = limits.clone();
        runtime.spawn(async move {
            lgt_server::serve_with(listener, serving, identity, serving_limits, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        Self {
            url,
            pin,
            db,
            database_url,
            owned_database: None,
            data: data.to_path_buf(),
            limits,
            runtime,
            shutdown: Some(tx),
            server_bin: None,
            process: None,
            _data: None,
        }
    }

    /// The test's connection (migrating the database and making the key file first, so the
    /// process finds both), then the process on a free loopback port.
    fn open_process(data: &Path, database_url: Option<String>, bin: PathBuf) -> Self {
        let (runtime, db) = Self::runtime_and_db(data, database_url.as_deref());
        let process = ServerProcess::start(
            &bin,
            data,
            database_url.as_deref(),
            "127.0.0.1:0",
            ProcessLimits::Off,
        );
        Self {
            url: process.url.clone(),
            pin: None,
            db,
            database_url,
            owned_database: None,
            data: data.to_path_buf(),
            limits: Limits::off(),
            runtime,
            shutdown: None,
            server_bin: Some(bin),
            process: Some(process),
            _data: None,
        }
    }

    /// SIGKILLs the server process (one started by [`TestServer::start_process`] or beside
    /// one): no graceful shutdown. The database stays, and [`TestServer::rows`] still reads it.
    pub fn kill(&mut self) {
        assert!(self.server_bin.is_some(), "kill: not a server process");
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }

    /// Starts the killed server process again: the same binary, data directory, database and
    /// address (so enrolled phones and the proxy find it again).
    pub fn restart(&mut self) {
        let bin = self
            .server_bin
            .clone()
            .expect("restart: not a server process");
        assert!(self.process.is_none(), "restart: the process still runs");
        let addr = self.url.trim_start_matches("http://").to_owned();
        let process = ServerProcess::start(
            &bin,
            &self.data,
            self.database_url.as_deref(),
            &addr,
            ProcessLimits::Off,
        );
        assert_eq!(process.addr(), addr, "restarted on another address");
        self.process = Some(process);
    }

    /// The server process's id, while it runs (None in-process or killed).
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ServerProcess::pid)
    }

    /// The server process's resident and peak resident memory (VmRSS, VmHWM), KiB, while it
    /// runs.
    pub fn rss_kib(&self) -> Option<(u64, u64)> {
        self.process.as_ref().map(ServerProcess::rss_kib)
    }

    /// Serves the supervisor console beside the API (plain HTTP on loopback) until the server
    /// stops; returns its base URL.
    pub fn start_console(&self) -> String {
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        self.runtime.spawn(lgt_server::serve_console(
            listener,
            self.db.clone(),
            None,
            lgt_server::console::ConsoleConfig::default(),
            std::future::pending(),
        ));
        url
    }

    /// Runs a future on the server's runtime (database checks).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// A one-time enrollment code for `coordinator` in `district` (72 h offline limit).
    pub fn enrollment_code(&self, coordinator: &str, district: &str) -> String {
        self.enrollment_code_with_limit(coordinator, district, 72 * 3600)
    }

    /// A one-time enrollment code whose device locks after `max_offline_secs` unsynced.
    pub fn enrollment_code_with_limit(
        &self,
        coordinator: &str,
        district: &str,
        max_offline_secs: i64,
    ) -> String {
        self.block_on(lgt_server::admin::create_enrollment_code(
            &self.db,
            coordinator,
            district,
            3600,
            max_offline_secs,
        ))
        .expect("enrollment code")
        .code
    }

    /// Rows of a query with no parameters, each column read as text.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        use sqlx::Row;
        let sql = sql.to_owned();
        self.block_on(async {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&self.db.pool)
                .await
                .expect("query");
            rows.iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| {
                            row.try_get::<Option<String>, _>(i)
                                .or_else(|_| {
                                    row.try_get::<Option<i64>, _>(i)
                                        .map(|v| v.map(|v| v.to_string()))
                                })
                                .expect("text or integer column")
                        })
                        .collect()
                })
                .collect()
        })
    }

    /// Opens a value the server sealed in `column` of the row `row` of `table` (as the
    /// server's operator, who holds the key file, can).
    pub fn open_sealed(&self, table: &str, row: &str, column: &str, sealed: &str) -> String {
        self.db
            .vault
            .open(table, row, column, sealed)
            .expect("a sealed value of this row")
    }

    /// Seals a value for `column` of the row `row` of `table`, as the server does.
    pub fn seal(&self, table: &str, row: &str, column: &str, plain: &str) -> String {
        self.db.vault.seal(table, row, column, plain)
    }

    /// The opened value of a live bucket entry (`key` as phones know it).
    pub fn entry(&self, bucket: &str, key: &str) -> Option<String> {
        let stored = self.db.vault.stored_bucket_key(key);
        let rows = self.rows(&format!(
            "SELECT data FROM bucket_entries WHERE bucket = '{bucket}' AND key = '{stored}'"
        ));
        rows.first().and_then(|r| r[0].clone()).map(|sealed| {
            self.open_sealed(
                "bucket_entries",
                &format!("{bucket}/{stored}"),
                "data",
                &sealed,
            )
        })
    }

    /// The live entries of a bucket, opened: key (as phones know it) -> JSON text.
    pub fn live_entries(&self, bucket: &str) -> std::collections::BTreeMap<String, String> {
        self.rows(&format!(
            "SELECT key, sealed_key, data FROM bucket_entries
             WHERE bucket = '{bucket}' AND data IS NOT NULL"
        ))
        .into_iter()
        .map(|row| {
            let stored = row[0].clone().unwrap();
            let place = format!("{bucket}/{stored}");
            let key = match &row[1] {
                Some(sealed) => self.open_sealed("bucket_entries", &place, "key", sealed),
                None => stored,
            };
            let data =
                self.open_sealed("bucket_entries", &place, "data", row[2].as_deref().unwrap());
            (key, data)
        })
        .collect()
    }

    /// The data directory (the SQLite file and, by default, the key directory `keys/`).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The PostgreSQL URL of its database, when not on SQLite.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// Stops serving (the data directory and a PostgreSQL database stay until the value is
    /// dropped, and [`TestServer::rows`] still reads them), so the server can be started
    /// again on them: [`TestServer::reopen`].
    pub fn stop(&mut self) {
        assert!(self.server_bin.is_none(), "stop: a process: kill it");
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Opens the stopped server's database again and serves it (plain HTTP, on the same
    /// address), as a restart does; the database's refusal (a missing or wrong key file) is
    /// the error.
    pub fn reopen(&mut self) -> anyhow::Result<()> {
        assert!(self.server_bin.is_none(), "reopen: a process: restart it");
        let db = self
            .runtime
            .block_on(Db::open(&self.data, self.database_url.as_deref()))?;
        // The same address, so enrolled phones find it again (the old listener closes as its
        // server stops: a few tries).
        let addr = self.url.trim_start_matches("http://").to_owned();
        let listener = (0..100)
            .find_map(|_| {
                let bound = self
                    .runtime
                    .block_on(tokio::net::TcpListener::bind(addr.as_str()))
                    .ok();
                if bound.is_none() {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                bound
            })
            .expect("bind the same address");
        let (tx, rx) = oneshot::channel::<()>();
        let serving = db.clone();
        let limits = self.limits.clone();
        self.runtime.spawn(async move {
            lgt_server::serve_with(listener, serving, None, limits, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        self.db = db;
        self.shutdown = Some(tx);
        Ok(())
    }

    /// Rewrites one entry behind the phones' backs: `data` (None: a tombstone), with or
    /// without a new sequence number, keeping the head's checksum true to the entries. Without
    /// a new sequence number, phones holding the entry see their checksum disagree.
    pub fn rewrite_entry(&self, bucket: &str, key: &str, data: Option<&str>, new_seq: bool) {
        let old = self.entry(bucket, key).expect("a live entry");
        let term = |data: &str| checksum_term(&sha256(&entry_digest_input(key, data)));
        let head = self.rows(&format!(
            "SELECT seq, checksum FROM bucket_heads WHERE bucket = '{bucket}'"
        ));
        let seq: i64 = head[0][0].as_deref().unwrap().parse().unwrap();
        let checksum: i64 = head[0][1].as_deref().unwrap().parse().unwrap();
        let checksum = (checksum as u64)
            .wrapping_sub(term(&old))
            .wrapping_add(data.map_or(0, term)) as i64;
        let seq = if new_seq { seq + 1 } else { seq };
        let stored = self.db.vault.stored_bucket_key(key);
        let data_sql = data.map_or("NULL".to_owned(), |d| {
            let sealed = self.seal("bucket_entries", &format!("{bucket}/{stored}"), "data", d);
            format!("'{sealed}'")
        });
        self.rows(&format!(
            "UPDATE bucket_heads SET seq = {seq}, checksum = {checksum} WHERE bucket = '{bucket}' RETURNING seq"
        ));
        let entry_seq = if new_seq {
            format!(", seq = {seq}")
        } else {
            String::new()
        };
        self.rows(&format!(
            "UPDATE bucket_entries SET data = {data_sql}{entry_seq} WHERE bucket = '{bucket}' AND key = '{stored}' RETURNING key"
        ));
    }

    /// One integer from a query.
    pub fn count(&self, sql: &str) -> i64 {
        self.rows(sql)[0][0]
            .as_deref()
            .expect("a value")
            .parse()
            .expect("an integer")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // A child process goes first (SIGKILL), before its database is dropped under it.
        drop(self.process.take());
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((name, maintenance_url)) = self.owned_database.take() {
            self.runtime.block_on(async {
                self.db.pool.close().await;
                // FORCE: a second server process beside this one may still be connected.
                if let Ok(admin) = sqlx::AnyPool::connect(&maintenance_url).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await;
                    admin.close().await;
                }
            });
        }
    }
}

/// A fresh self-signed TLS identity (a server's or a load balancer's key, or an
/// interceptor's).
pub fn tls_identity() -> TlsIdentity {
    let dir = tempfile::tempdir().expect("temp dir");
    TlsIdentity::in_data_dir(dir.path()).expect("TLS identity")
}

/// A new, empty database on the PostgreSQL server at `url`; returns its name. A fresh one
/// per test server, so tests neither see nor disturb each other; the server drops it when it
/// stops. Each name is also appended to the file `LGT_TEST_DATABASE_LOG` names, if set, so
/// CI can tell the PostgreSQL runs happened.
fn fresh_postgres_database(url: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let name = format!("lgt_test_{}", uuid::Uuid::now_v7().simple());
        let admin = sqlx::AnyPool::connect(url).await.expect("postgres");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create database");
        admin.close().await;
        if let Ok(log) = std::env::var("LGT_TEST_DATABASE_LOG") {
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .expect("database log");
            writeln!(file, "{name}").expect("database log");
        }
        name
    })
}
