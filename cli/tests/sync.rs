//! `lgt enroll`, `lgt sync`, `lgt status` against the real server on loopback; a revoked
//! device wipes itself; and `lgt sync` killed with SIGKILL at many points, restarted on the
//! same files, still converges with nothing lost or doubled.

mod common;

use std::time::Duration;

use common::{assert_clean_failure, Lgt};
use lgt_e2e::{BackendChoice, TestServer};

fn enrolled(server: &TestServer) -> Lgt {
    let lgt = Lgt::init();
    let code = server.enrollment_code("tester-1", "110105");
    let enrollment = lgt.json(&["enroll", "--server", &server.url, "--code", &code]);
    assert_eq!(enrollment["district"], "110105");
    lgt
}

fn seed(lgt: &Lgt, count: u64) {
    let out = lgt.run(&["seed", "--count", &count.to_string()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
}

#[test]
fn enroll_sync_status_and_revocation() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let lgt = enrolled(&server);
    seed(&lgt, 5);
    let status = lgt.json(&["status"]);
    assert_eq!(status["queue_depth"], 5);
    assert!(status["last_success"].is_null());
    let report = lgt.json(&["sync"]);
    assert_eq!(report["acknowledged"], 5);
    assert_eq!(report["pulled"], 5);
    let status = lgt.json(&["status"]);
    assert_eq!(status["queue_depth"], 0);
    assert!(status["last_success"].is_string());
    let human = lgt.run(&["status"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("queue: 0 waiting"));

    let device_id = status["enrollment"]["device_id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .block_on(lgt_server::admin::revoke(&server.db, &device_id))
        .unwrap();
    let out = lgt.run(&["sync"]);
    assert_clean_failure(&out);
    assert!(common::stderr(&out).contains("wiped"));
    assert!(!lgt.store().join("lgt.db").exists());
}

#[test]
fn a_phone_killed_during_sync_converges_with_nothing_lost_or_doubled() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let lgt = enrolled(&server);
    seed(&lgt, 600);
    let mut kills = 0;
    for round in 0..20u64 {
        let mut child = lgt
            .command()
            .arg("sync")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill points spread over start-up, the pushes, the answers and the pull.
        std::thread::sleep(Duration::from_millis(5 + (round * 37) % 250));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        if round % 5 == 4 {
            seed_more(&lgt, round);
        }
    }
    assert!(kills >= 5, "only {kills} runs were killed mid-sync");
    let report = lgt.json(&["sync"]);
    assert_eq!(report["quarantined"], 0);
    let status = lgt.json(&["status"]);
    assert_eq!(status["queue_depth"], 0);
    assert_eq!(status["quarantined"].as_array().unwrap().len(), 0);
    let outbox = lgt.json(&["outbox"]);
    let operations = outbox.as_array().unwrap();
    for op in operations {
        assert_eq!(op["state"], "acknowledged", "{op}");
        let id = op["op_id"].as_str().unwrap();
        assert_eq!(
            server.count(&format!("SELECT COUNT(*) FROM ledger WHERE op_id = '{id}'")),
            1
        );
    }
    assert_eq!(
        server.count("SELECT COUNT(*) FROM ledger"),
        operations.len() as i64
    );
    let records = status["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["bucket"] == "records")
        .unwrap()["entries"]
        .as_i64()
        .unwrap();
    assert_eq!(records, operations.len() as i64);
}

/// More local work between kills, so new operations queue behind in-flight ones.
fn seed_more(lgt: &Lgt, round: u64) {
    let out = lgt.run(&[
        "seed",
        "--count",
        "20",
        "--seed",
        &(1000 + round).to_string(),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
}
