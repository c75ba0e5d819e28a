//! `lgt watchlist` end to end: keys, a list built from CSV, import, checks, alerts on
//! register and find, a delta that removes a person, and refused packages.

mod common;

use common::{assert_clean_failure, register_args, stderr, Lgt};
use serde_json::Value;

const LIST: &str = "entry_ref,name,sex,birth_date,id_numbers,case_summary,instructions
CASE-1,曾国强,1,,632123198209270518;150102880730303,synthetic case,do not confront; call the duty officer
CASE-2,单晓东,1,1981-02-02,,synthetic case,
";

const HEADER: &str = "entry_ref,name,sex,birth_date,id_numbers,case_summary,instructions\n";

struct Server<'a> {
    lgt: &'a Lgt,
}

impl<'a> Server<'a> {
    /// The server side next to `lgt`'s store, with its keys made.
    fn new(lgt: &'a Lgt) -> Self {
        let server = Self { lgt };
        lgt.json(&["watchlist", "keygen", "--dir", &server.path("keys")]);
        server
    }

    fn path(&self, name: &str) -> String {
        self.lgt
            .dir
            .path()
            .join(name)
            .to_string_lossy()
            .into_owned()
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn build(&self, extra: &[&str]) -> Value {
        let mut args = vec!["watchlist", "build", "--cost", "test"];
        let keys = self.path("keys");
        let state = self.path("state.bin");
        args.extend(["--keys", &keys, "--state", &state]);
        args.extend(extra);
        self.lgt.json(&args)
    }
}

#[test]
fn build_import_check_alert_and_remove_through_the_cli() {
    let lgt = Lgt::init();
    let server = Server::new(&lgt);
    let csv = server.write("list.csv", LIST);
    let v1 = server.path("v1.lgtwl");
    let manifest = server.build(&["--csv", &csv, "--out", &v1, "--version", "1"]);
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["kind"], "snapshot");
    let root = server.path("keys/root.pub");

    assert_eq!(lgt.json(&["watchlist", "status"])["state"], "missing");
    // The phone policy refuses the labelled test cost unless told otherwise.
    let out = lgt.run(&["watchlist", "import", &v1, "--root", &root]);
    assert_clean_failure(&out);
    assert!(stderr(&out).contains("weaker"));
    let imported = lgt.json(&[
        "watchlist",
        "import",
        &v1,
        "--root",
        &root,
        "--allow-test-cost",
    ]);
    assert_eq!(imported["list"]["version"], 1);
    assert_eq!(lgt.json(&["watchlist", "status"])["state"], "current");

    let hit = lgt.json(&["watchlist", "check", "632123820927051"]);
    assert_eq!(hit["alerts"][0]["confidence"], "exact");
    assert_eq!(hit["alerts"][0]["wording"], "possible match: verify");
    assert_eq!(hit["alerts"][0]["details"]["entry_ref"], "CASE-1");
    let name_hit = lgt.json(&[
        "watchlist",
        "check",
        "--name",
        "SHAN XIAODONG",
        "--dob",
        "1981-02-02",
        "--sex",
        "1",
    ]);
    assert_eq!(name_hit["alerts"][0]["confidence"], "low");
    assert_eq!(name_hit["alerts"][0]["details"], Value::Null);
    let clean = lgt.json(&["watchlist", "check", "110101202311012176"]);
    assert_eq!(clean["alerts"], Value::Array(vec![]));

    // Registering the listed person alerts in the same call.
    let mut args = vec!["--json"];
    args.extend(register_args("150102880730303"));
    let out = lgt.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(receipt["alerts"][0]["confidence"], "exact");
    let out = lgt.run(&register_args("632123198209270518"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ALERT possible match: verify"));
    // A look-up prints the alert at once on standard error.
    let out = lgt.run(&["find", "--id", "632123198209270518"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("ALERT possible match: verify"));
    let hits = lgt
        .json(&["outbox"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|op| op["kind"] == "watchlist.hit")
        .count();
    assert!(hits >= 4, "{hits} hit reports");

    // A delta removes CASE-1: no more alerts, the standing ones are cleared.
    let removes = server.write(
        "removes.csv",
        &format!("{HEADER}{}\n", LIST.lines().nth(1).unwrap()),
    );
    let none = server.write("none.csv", HEADER);
    let v2 = server.path("v2.lgtwl");
    let delta = server.build(&[
        "--delta",
        "--csv",
        &none,
        "--removes",
        &removes,
        "--out",
        &v2,
        "--version",
        "2",
    ]);
    assert_eq!(delta["kind"], "delta");
    assert_eq!(delta["base_version"], 1);
    lgt.json(&[
        "watchlist",
        "import",
        &v2,
        "--root",
        &root,
        "--allow-test-cost",
    ]);
    let after = lgt.json(&["watchlist", "check", "632123198209270518"]);
    assert_eq!(after["alerts"], Value::Array(vec![]));
    assert_eq!(
        lgt.json(&["watchlist", "alerts"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["matched_on"] == "id_number")
            .count(),
        0
    );

    // Rolling back to version 1 is refused, cleanly, and version 2 stays.
    let out = lgt.run(&[
        "watchlist",
        "import",
        &v1,
        "--root",
        &root,
        "--allow-test-cost",
    ]);
    assert_clean_failure(&out);
    assert!(stderr(&out).contains("rollback"));
    assert_eq!(lgt.json(&["watchlist", "status"])["version"], 2);
    assert_eq!(lgt.json(&["audit", "verify"])["first_broken"], Value::Null);
}

#[test]
fn a_bad_csv_line_is_a_clear_error_naming_the_line_not_the_value() {
    let lgt = Lgt::init();
    let server = Server::new(&lgt);
    let keys = server.path("keys");
    let csv = server.write(
        "bad.csv",
        &format!("{HEADER}CASE-1,王芳,2,,110101202311012171,x,\n"),
    );
    let out = lgt.run(&[
        "watchlist",
        "build",
        "--cost",
        "test",
        "--keys",
        &keys,
        "--state",
        &server.path("s"),
        "--out",
        &server.path("o"),
        "--version",
        "1",
        "--csv",
        &csv,
    ]);
    assert_clean_failure(&out);
    let err = stderr(&out);
    assert!(
        err.contains("line 2") && err.contains("id_numbers"),
        "{err}"
    );
    assert!(!err.contains("110101202311012171") && !err.contains("王芳"));
}
