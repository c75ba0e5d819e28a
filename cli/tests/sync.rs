//! `lgt enroll`, `lgt sync`, `lgt status` against the real server on loopback; a revoked
//! device wipes itself; and `lgt sync` killed with SIGKILL at many points, restarted on the
//! same files, still converges with nothing lost or doubled.

mod common;

use std::time::Duration;

use common::{assert_clean_failure, register_args, Lgt};
use lgt_e2e::{BackendChoice, TestServer};

fn enrolled(server: &TestServer) -> Lgt {
    let lgt = Lgt::init();
    let code = server.enrollment_code("tester-1", "110105");
    let mut args = vec!["enroll", "--server", &server.url, "--code", &code];
    let pin = server.pin.map(|pin| pin.to_string());
    if let Some(pin) = &pin {
        args.extend(["--server-pin", pin]);
    }
    let enrollment = lgt.json(&args);
    assert_eq!(enrollment["district"], "110105");
    lgt
}

fn seed(lgt: &Lgt, count: u64) {
    let out = lgt.run(&["seed", "--count", &count.to_string()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
}

#[test]
fn enroll_sync_status_and_revocation() {
    let server = TestServer::start_tls(&BackendChoice::Sqlite);
    let lgt = enrolled(&server);
    seed(&lgt, 5);
    let status = lgt.json(&["status"]);
    assert_eq!(status["queue_depth"], 5);
    assert!(status["last_success"].is_null());
    let report = lgt.json(&["sync"]);
    assert_eq!(report["acknowledged"], 5);
    // The district's records: five registrations, their persons and dwellings.
    assert_eq!(server.count("SELECT COUNT(*) FROM registrations"), 5);
    assert_eq!(
        report["pulled"],
        server
            .count("SELECT COUNT(*) FROM bucket_entries WHERE bucket = 'district:110105:records'")
    );
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
    assert_eq!(
        server.count("SELECT COUNT(*) FROM registrations"),
        operations.len() as i64
    );
    assert_eq!(
        records,
        server.count(
            "SELECT COUNT(*) FROM bucket_entries
             WHERE bucket = 'district:110105:records' AND data IS NOT NULL"
        )
    );
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

#[test]
fn a_list_published_on_the_server_reaches_an_enrolled_phone_and_its_hits_come_back() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let lgt = Lgt::init();
    let dir = |name: &str| lgt.dir.path().join(name).to_string_lossy().into_owned();
    lgt.json(&["watchlist", "keygen", "--dir", &dir("keys")]);
    let csv = dir("list.csv");
    std::fs::write(
        &csv,
        "entry_ref,name,sex,birth_date,id_numbers,case_summary,instructions\n\
         CASE-1,曾国强,1,,632123198209270518,synthetic case,do not confront\n",
    )
    .unwrap();
    let package = dir("v1.lgtwl");
    lgt.json(&[
        "watchlist",
        "build",
        "--cost",
        "test",
        "--keys",
        &dir("keys"),
        "--state",
        &dir("state.bin"),
        "--csv",
        &csv,
        "--out",
        &package,
        "--version",
        "1",
    ]);
    let published = server
        .block_on(lgt_server::watchlist::publish(
            &server.db,
            &std::fs::read(&package).unwrap(),
        ))
        .unwrap();
    assert_eq!(published.version, 1);

    // Registered before the list arrives: the sync's re-check raises the alert.
    let out = lgt.run(&register_args("632123198209270518"));
    assert!(out.status.success(), "{}", common::stderr(&out));
    let code = server.enrollment_code("tester-1", "110105");
    lgt.json(&[
        "enroll",
        "--server",
        &server.url,
        "--code",
        &code,
        "--watchlist-root",
        &dir("keys/root.pub"),
        "--allow-test-cost",
    ]);
    let report = lgt.json(&["sync"]);
    assert_eq!(report["watchlist_imported"][0]["version"], 1);
    assert_eq!(report["recheck"]["raised"].as_array().unwrap().len(), 1);
    let alert_id = report["recheck"]["raised"][0]["alert_id"].clone();
    let report = lgt.json(&["sync"]);
    assert_eq!(report["acknowledged"], 1);
    let hits = server
        .block_on(lgt_server::watchlist::hits(&server.db))
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(serde_json::json!(hits[0].alert_id), alert_id);
}

#[test]
fn a_signed_wipe_command_makes_lgt_sync_wipe_the_store() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let lgt = enrolled(&server);
    seed(&lgt, 2);
    let device_id = lgt.json(&["status"])["enrollment"]["device_id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .block_on(lgt_server::commands::issue(
            &server.db,
            &device_id,
            lgt_protocol::CommandAction::Wipe,
        ))
        .unwrap();
    let out = lgt.run(&["sync"]);
    assert_clean_failure(&out);
    assert!(common::stderr(&out).contains("wiped"));
    assert!(!lgt.store().join("lgt.db").exists());
    // What was queued before the order reached the server first.
    assert_eq!(server.count("SELECT count(*) FROM ledger"), 2);
}

#[test]
fn after_lgt_sync_a_colleagues_person_dwelling_and_permit_answer_on_a_second_store() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let first = enrolled(&server);
    let second = enrolled(&server);
    // The first sync reserves the first store's permit numbers.
    first.json(&["sync"]);
    let number = "632123198209270518";
    let receipt = first.json(&register_args(number));
    let person_id = receipt["person_id"].as_str().unwrap().to_owned();
    let permit = first.json(&["permit", "accept", &person_id]);
    let permit_id = permit["permit"]["id"].as_str().unwrap().to_owned();
    first.json(&["permit", "issue", &permit_id]);
    first.json(&["sync"]);
    second.json(&["sync"]);

    // From the second store's own tables (none of these calls the server): the colleague's
    // person by number, the dwelling, and the cancellation of the permit the first issued.
    let found = second.json(&["find", "--id", number]);
    assert_eq!(found[0]["person_id"], person_id.as_str());
    let dwelling = second.json(&["dwelling", "show", "hc-2"]);
    assert_eq!(dwelling["house_code"], "HC-2");
    assert_eq!(
        dwelling["registrations"][0]["person_id"],
        person_id.as_str()
    );
    let human = second.run(&["--lang", "zh-CN", "dwelling", "show", "HC-2"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("现住"));
    let cancelled = second.json(&["permit", "cancel", &permit_id, "--reason", "3"]);
    assert_eq!(cancelled["permit"]["state"], "cancelled");

    // The first store sees the cancellation after its next sync.
    second.json(&["sync"]);
    first.json(&["sync"]);
    let shown = first.json(&["permit", "show", &permit_id]);
    assert_eq!(shown["permit"]["state"], "cancelled");
    let out = second.run(&["dwelling", "show", "HC-NOWHERE"]);
    assert_clean_failure(&out);
}
