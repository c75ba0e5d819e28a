//! The real `lgt-server` binary as a child process: finding it (and refusing a stale one),
//! starting `serve` on a loopback port, its resident memory, and a SIGKILL. Shared by the load
//! bench and by [`crate::TestServer::start_process`] (the soak). Also finds the `lgt` CLI
//! binary, which the soak runs as one of its phones.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

/// The server binary: `LGT_SERVER_BIN`, else `lgt-server` in the caller's target directory
/// (`target/<profile>/deps/<test or bench>-*` -> `target/<profile>/lgt-server`). Panics (a
/// failure, not a skip) when it is missing, or when a source file of the server (or of the
/// crates it is built from) is newer than it.
pub fn server_binary() -> PathBuf {
    workspace_binary(
        "lgt-server",
        "LGT_SERVER_BIN",
        "-p lgt-server --bin lgt-server",
        &[
            "server/src",
            "server/migrations",
            "protocol/src",
            "common/src",
        ],
    )
}

/// The `lgt` CLI binary: `LGT_CLI_BIN`, else `lgt` in the caller's target directory; missing
/// or older than the sources of the CLI, the core or the crates they are built from, a
/// failure.
pub fn cli_binary() -> PathBuf {
    workspace_binary(
        "lgt",
        "LGT_CLI_BIN",
        "-p lgt-cli --bin lgt",
        &[
            "cli/src",
            "core/src",
            "protocol/src",
            "common/src",
            "server/src",
        ],
    )
}

/// Another package's binary (a test gets `CARGO_BIN_EXE_*` only for its own package's): `env`
/// names it, else `name` beside the caller's executable's directory, refused when missing or
/// older than a file under one of `sources` (relative to the workspace).
fn workspace_binary(name: &str, env: &str, package: &str, sources: &[&str]) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "{env}={} is not a file", path.display());
        return path;
    }
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf();
    let build = if profile_dir.ends_with("debug") {
        format!("cargo build {package}")
    } else {
        format!("cargo build --release {package}")
    };
    let bin = profile_dir.join(name);
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "no {}: build it first ({build}, same CARGO_TARGET_DIR) or set {env}",
                bin.display()
            )
        });
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in sources {
        if let Some(newer) = newer_than(&root.join(dir), built) {
            panic!(
                "{} is older than {}: rebuild it: {build}",
                bin.display(),
                newer.display()
            );
        }
    }
    bin
}

/// A file under `dir` modified after `time`, if any.
fn newer_than(dir: &Path, time: SystemTime) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = newer_than(&path, time) {
                return Some(found);
            }
        } else if entry.metadata().and_then(|m| m.modified()).ok()? > time {
            return Some(path);
        }
    }
    None
}

/// `/proc/loadavg`'s three averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// The limits a [`ServerProcess`] serves under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessLimits {
    /// `serve`'s defaults (production limits).
    Default,
    /// Every rate and concurrency limit off (as `Limits::off()`), for tests that put many
    /// phones behind one proxy address.
    Off,
}

/// A running `lgt-server serve` process; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    child: Child,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl ServerProcess {
    /// Starts `bin serve` on `listen` (`127.0.0.1:0` for a free port; plain HTTP, as behind a
    /// TLS-terminating load balancer) over the data directory `data` and, if given, the
    /// PostgreSQL database `database_url`, and waits for its "listening" line. Tries again
    /// for a few seconds if the process exits first (its address still held by a killed
    /// predecessor's sockets).
    pub fn start(
        bin: &Path,
        data: &Path,
        database_url: Option<&str>,
        listen: &str,
        limits: ProcessLimits,
    ) -> Self {
        for _ in 0..50 {
            if let Some(started) = Self::try_start(bin, data, database_url, listen, limits) {
                return started;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{} serve --listen {listen} did not start", bin.display());
    }

    fn try_start(
        bin: &Path,
        data: &Path,
        database_url: Option<&str>,
        listen: &str,
        limits: ProcessLimits,
    ) -> Option<Self> {
        let mut command = Command::new(bin);
        command.arg("--data").arg(data);
        if let Some(url) = database_url {
            command.arg("--database-url").arg(url);
        }
        command.args(["serve", "--listen", listen, "--plain-http"]);
        if limits == ProcessLimits::Off {
            command.args([
                "--enroll-per-minute-per-address=0",
                "--enroll-per-minute-per-code=0",
                "--device-requests-per-minute=0",
                "--max-in-flight=0",
            ]);
        }
        let mut child = command
            .env_remove("LGT_DATABASE_URL")
            .env_remove("LGT_SERVER_KEYS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start lgt-server");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the log for the address, then drains it (the server logs each operation).
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_address(&line) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(Some(addr));
                    }
                }
            }
            // The log closed: the process exited (or never listened).
            if let Some(tx) = tx.take() {
                let _ = tx.send(None);
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(addr)) => Some(Self {
                child,
                url: format!("http://{addr}"),
            }),
            Ok(None) => {
                let _ = child.wait();
                None
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("lgt-server did not report its address within 60 s");
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `host:port` it listens on.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// Resident and peak resident memory (VmRSS, VmHWM of `/proc/<pid>/status`), KiB; zeros
    /// once the process is gone.
    pub fn rss_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// SIGKILL (`Child::kill`), then reaps it: no shutdown, no flush, as a crash or the OOM
    /// killer ends it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The address of the server's JSON "listening" log line.
fn listening_address(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = value.get("fields")?;
    (fields.get("message")?.as_str()? == "listening")
        .then(|| fields.get("addr")?.as_str().map(str::to_owned))
        .flatten()
}
