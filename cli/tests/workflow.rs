//! The field workflow through the real binary: register, find, permits, export, wipe.

mod common;

use common::*;
use serde_json::{json, Value};

fn registration() -> Value {
    json!({
        "person": { "name": "测试人", "sex": "2", "ethnicity": "01" },
        "document": { "type": "1", "number": "11010519491231002X" },
        "household_address": "合成省演示县1组",
        "dwelling": { "house_code": "HC-1", "address": "合成市演示路1号101室", "housing_type": "2" },
        "moved_in": "2026-10-01",
        "reason_for_stay": "1",
        "occupation": "5",
        "landlord": { "name": "房东甲", "phone": "13900000000" }
    })
}

fn register_file(lgt: &Lgt, value: &Value) -> std::process::Output {
    let path = lgt.dir.path().join("registration.json");
    std::fs::write(&path, value.to_string()).unwrap();
    lgt.command()
        .args(["--json", "register", "--file"])
        .arg(&path)
        .output()
        .unwrap()
}

fn counts(lgt: &Lgt) -> (usize, usize) {
    let outbox = lgt.json(&["outbox"]).as_array().unwrap().len();
    let audit = lgt
        .json(&["audit", "log", "--limit", "100000"])
        .as_array()
        .unwrap()
        .len();
    (outbox, audit)
}

#[test]
fn register_find_export_and_wipe() {
    let lgt = Lgt::init();
    let out = register_file(&lgt, &registration());
    assert!(out.status.success(), "{}", stderr(&out));
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap();
    let person_id = receipt["person_id"].as_str().unwrap().to_owned();
    assert_eq!(receipt["new_person"], true);

    let by_id = lgt.json(&["find", "--id", "11010519491231002x"]);
    assert_eq!(by_id[0]["person_id"], person_id.as_str());
    assert_eq!(by_id[0]["person"]["birth_date"], "1949-12-31");
    let by_name = lgt.json(&["find", "--name", " 测试人 "]);
    assert_eq!(by_name[0]["person_id"], person_id.as_str());
    assert_eq!(lgt.json(&["find", "--name", "无此人"]), json!([]));

    // Flags work as well as files; a second registration of the same number moves the person.
    let mut args = vec!["--json"];
    args.extend(register_args_for("测试人", "2", "11010519491231002X"));
    let out = lgt.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let moved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(moved["person_id"], person_id.as_str());
    assert_eq!(moved["closed_registration_id"], receipt["registration_id"]);

    let export_path = lgt.dir.path().join("export.json");
    let out = lgt
        .command()
        .args(["export", &person_id, "--out"])
        .arg(&export_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let export: Value = serde_json::from_slice(&std::fs::read(&export_path).unwrap()).unwrap();
    assert_eq!(export["registrations"].as_array().unwrap().len(), 2);
    assert_eq!(
        export["person"]["identifiers"][0]["document"]["number"],
        "11010519491231002X"
    );

    let audit = lgt.json(&["audit", "log", "--limit", "100"]);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"person.export") && actions.contains(&"person.read"),
        "{actions:?}"
    );
    let log_text = audit.to_string();
    assert!(!log_text.contains("测试人") && !log_text.contains("11010519491231002X"));

    let out = lgt.run(&["wipe"]);
    assert_clean_failure(&out);
    let out = lgt.run(&["wipe", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!lgt.store().join("store.key").exists());
    assert!(!lgt.store().join("lgt.db").exists());
    assert_clean_failure(&lgt.run(&["find", "--id", "11010519491231002X"]));
}

#[test]
fn invalid_input_is_refused_field_by_field_and_changes_nothing() {
    let lgt = Lgt::init();
    assert!(register_file(&lgt, &registration()).status.success());
    let before = counts(&lgt);
    let mut bad = registration();
    bad["person"]["name"] = json!("");
    bad["document"]["number"] = json!("110101202311012171");
    bad["moved_in"] = json!("2030-01-01");
    let out = register_file(&lgt, &bad);
    assert_clean_failure(&out);
    let err = stderr(&out);
    for field in ["person.name", "document.number", "moved_in"] {
        assert!(err.contains(field), "{err}");
    }
    assert!(!err.contains("110101202311012171"));
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["error"]["code"], "validation");
    assert_eq!(reply["error"]["fields"].as_array().unwrap().len(), 3);
    let mut unknown = registration();
    unknown["person"]["nickname"] = json!("x");
    assert_clean_failure(&register_file(&lgt, &unknown));
    assert_eq!(counts(&lgt).0, before.0, "no operation was queued");
}

#[test]
fn illegal_permit_transitions_fail_and_change_nothing() {
    let lgt = Lgt::init();
    let receipt: Value =
        serde_json::from_slice(&register_file(&lgt, &registration()).stdout).unwrap();
    let person_id = receipt["person_id"].as_str().unwrap();
    let permit = lgt.json(&["permit", "accept", person_id]);
    let permit_id = permit["permit"]["id"].as_str().unwrap().to_owned();
    assert_clean_failure(&lgt.run(&["permit", "accept", person_id]));
    lgt.json(&["permit", "issue", &permit_id, "--number", "SZ20260001"]);
    lgt.json(&["permit", "deliver", &permit_id]);

    let before = lgt.json(&["permit", "show", &permit_id]);
    let out = lgt.run(&["permit", "endorse", &permit_id]);
    assert_clean_failure(&out);
    assert!(
        stderr(&out).contains("endorsement opens on 2027-10-29"),
        "{}",
        stderr(&out)
    );
    let out = lgt.run(&["permit", "deliver", &permit_id]);
    assert_clean_failure(&out);
    assert!(
        stderr(&out).contains("cannot deliver a permit that is delivered"),
        "{}",
        stderr(&out)
    );
    assert_eq!(lgt.json(&["permit", "show", &permit_id]), before);

    lgt.json(&["permit", "cancel", &permit_id, "--reason", "3"]);
    let cancelled = lgt.json(&["permit", "show", &permit_id]);
    for args in [
        vec!["permit", "endorse", &permit_id],
        vec!["permit", "cancel", &permit_id, "--reason", "3"],
        vec!["permit", "restore", &permit_id],
        vec!["permit", "issue", &permit_id, "--number", "SZ20260002"],
    ] {
        let out = lgt.run(&args);
        assert_clean_failure(&out);
        assert!(
            stderr(&out).contains("a permit that is cancelled"),
            "{}",
            stderr(&out)
        );
    }
    let out = lgt.run(&[
        "permit",
        "cancel",
        &permit_id,
        "--reason",
        "3",
        "--base-version",
        "1",
    ]);
    assert_clean_failure(&out);
    assert!(
        stderr(&out).contains("changed since version 1"),
        "{}",
        stderr(&out)
    );
    let after = lgt.json(&["permit", "show", &permit_id]);
    assert_eq!(after, cancelled);
    assert_eq!(after["permit"]["state"], "cancelled");
    assert_eq!(after["events"].as_array().unwrap().len(), 4);
}

#[test]
fn a_wrong_key_fails_cleanly() {
    let lgt = Lgt::init();
    let other = Lgt::init();
    let out = lgt
        .command()
        .arg("--key-file")
        .arg(other.store().join("store.key"))
        .args(["find", "--name", "x"])
        .output()
        .unwrap();
    assert_clean_failure(&out);
    assert!(
        stderr(&out).contains("key does not open this store"),
        "{}",
        stderr(&out)
    );
}
