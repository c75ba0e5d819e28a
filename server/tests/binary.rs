//! The `lgt-server` binary: its data directory is private or it does not start; its
//! counters are served only on the operators' listener; its key file lives where `--keys-dir` says.

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_lgt-server");

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_fresh_data_directory_is_private_and_an_open_one_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let made = Command::new(BIN)
        .arg("--data")
        .arg(&data)
        .arg("tls-pin")
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("lgt-server.db")), 0o600);
    assert_eq!(mode(&data.join("tls")), 0o700);
    assert_eq!(mode(&data.join("tls/key.pem")), 0o600);

    for open in [0o750, 0o755, 0o707] {
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(open)).unwrap();
        let refused = Command::new(BIN)
            .arg("--data")
            .arg(&data)
            .args(["serve", "--listen", "127.0.0.1:0", "--plain-http"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "mode {open:o}: started");
        assert!(
            stderr.contains("accessible to its group or to others") && stderr.contains("chmod 700"),
            "{stderr}"
        );
        assert_eq!(mode(&data), open, "left as it was");
    }
}

/// The addresses the JSON log lines `listening` and `metrics listening` name.
fn addresses(lines: impl Iterator<Item = String>) -> (String, String) {
    let (mut api, mut metrics) = (None, None);
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        let addr = value["fields"]["addr"].as_str().map(str::to_owned);
        match value["fields"]["message"].as_str() {
            Some("listening") => api = addr,
            Some("metrics listening") => metrics = addr,
            _ => {}
        }
        if let (Some(api), Some(metrics)) = (&api, &metrics) {
            return (api.clone(), metrics.clone());
        }
    }
    panic!("the server stopped before listening");
}

#[tokio::test]
async fn the_counters_are_served_on_the_metrics_listener_only() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Command::new(BIN)
        .arg("--data")
        .arg(data.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--plain-http"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(server.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let (api, metrics) = addresses(lines);
    let http = reqwest::Client::new();
    let health = http
        .get(format!("http://{api}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let hidden = http
        .get(format!("http://{api}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status().as_u16(), 404);
    let counters = http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(counters.status().as_u16(), 200);
    let text = counters.text().await.unwrap();
    assert!(
        text.contains("lgt_requests_total{route=\"/health\",status=\"200\"} 1"),
        "{text}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test]
async fn audit_trail_prints_a_devices_records_as_json() {
    use lgt_protocol::{audit_chain_input, hex, AUDIT_CHAIN_GENESIS};
    let data = tempfile::tempdir().unwrap();
    let db = lgt_server::Db::open(data.path(), None).await.unwrap();
    // A device and its first record, as an upload leaves them.
    let hash = lgt_common::crypto::sha256(&audit_chain_input(
        &AUDIT_CHAIN_GENESIS,
        1,
        "2026-01-01T00:00:00.000000Z",
        "coord",
        "store.create",
        "store",
        "s-1",
    ));
    sqlx::query(
        "INSERT INTO devices (id, public_key, coordinator, district, client_version, enrolled_at,
                              audit_chain_seq, audit_chain_hash)
         VALUES ('dev-1', 'key', 'coord', '110105', 'test', 0, 1, $1)",
    )
    .bind(hex(&hash))
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO audit_records (device_id, seq, at, actor, action, record_kind, record_id,
                                    prev_chain_hash, chain_hash, received_at)
         VALUES ('dev-1', 1, '2026-01-01T00:00:00.000000Z', 'coord', 'store.create', 'store',
                 's-1', $1, $2, 0)",
    )
    .bind(hex(&AUDIT_CHAIN_GENESIS))
    .bind(hex(&hash))
    .execute(&db.pool)
    .await
    .unwrap();
    db.pool.close().await;
    let run = |device: &str| {
        Command::new(BIN)
            .arg("--data")
            .arg(data.path())
            .args(["audit-trail", device])
            .output()
            .unwrap()
    };
    let printed = run("dev-1");
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let trail: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(trail["device_id"], "dev-1");
    assert_eq!(trail["check"]["intact"], true, "{trail}");
    assert_eq!(trail["records"][0]["action"], "store.create");
    assert_eq!(trail["records"][0]["chain_hash"], hex(&hash));
    let unknown = run("dev-2");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no device dev-2"));
}

#[test]
fn the_key_file_lives_in_keys_dir_and_a_database_without_it_does_not_start() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let keys = root.path().join("elsewhere/keys");
    let run = |keys_dir: Option<&Path>| {
        let mut command = Command::new(BIN);
        command.arg("--data").arg(&data);
        if let Some(dir) = keys_dir {
            command.arg("--keys-dir").arg(dir);
        }
        command.arg("devices").output().unwrap()
    };
    let made = run(Some(&keys));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert_eq!(mode(&keys), 0o700);
    assert_eq!(mode(&keys.join("kek")), 0o600);
    assert!(!data.join("keys").exists(), "not in the data directory");

    // Without --keys-dir the server looks in DATA/keys, finds no key file, and refuses in
    // both languages, making none.
    let refused = run(None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("不存在") && stderr.contains("is missing"),
        "{stderr}"
    );
    assert!(!data.join("keys/kek").exists());
    assert!(run(Some(&keys)).status.success());
}
