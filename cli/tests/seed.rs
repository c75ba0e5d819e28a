//! `lgt seed`: nothing personal reaches the files in clear, and a SIGKILL loses nothing
//! that was printed.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use lgt_core::clock::SystemClock;
use lgt_core::crypto::KeyFile;
use lgt_core::store::StoreOptions;
use lgt_core::{FieldCore, OpenParams};

struct Seeded {
    person_id: String,
    name: String,
    number: String,
    phone: String,
}

fn parse(line: &str) -> Seeded {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let text = |p: &str| {
        v.pointer(p)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Seeded {
        person_id: text("/person_id"),
        name: text("/record/person/name"),
        number: text("/record/document/number"),
        phone: text("/record/contact_phone"),
    }
}

fn spawn_seed(lgt: &Lgt, count: u64, seed: u64) -> Child {
    lgt.command()
        .args([
            "seed",
            "--count",
            &count.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Reads lines until `lines` were printed or `limit` passed, then SIGKILLs the process.
fn seed_and_kill(lgt: &Lgt, seed: u64, lines: usize, limit: Duration) -> Vec<Seeded> {
    let mut child = spawn_seed(lgt, 200_000, seed);
    let started = Instant::now();
    let mut printed = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while printed.len() < lines && started.elapsed() < limit {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        printed.push(parse(&line));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    printed
}

fn open(lgt: &Lgt) -> FieldCore {
    let keys = KeyFile::open(lgt.store().join("store.key")).unwrap();
    FieldCore::open(OpenParams {
        dir: &lgt.store(),
        keys: &keys,
        actor: "verifier",
        clock: Arc::new(SystemClock),
        options: StoreOptions::default(),
    })
    .unwrap()
}

#[test]
fn seeded_names_numbers_and_phones_never_reach_the_files_in_clear() {
    let lgt = Lgt::init();
    let out = lgt.run(&["seed", "--count", "1000", "--seed", "11"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut people: Vec<Seeded> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(parse)
        .collect();
    assert_eq!(people.len(), 1000);
    // A second run killed mid-way leaves a live WAL behind as well.
    people.extend(seed_and_kill(&lgt, 12, 1000, Duration::from_secs(120)));
    assert_eq!(people.len(), 2000);
    let files = lgt.raw_files();
    let names: Vec<_> = files
        .iter()
        .map(|(p, b)| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                b.len(),
            )
        })
        .collect();
    assert!(
        names.iter().any(|(n, len)| n == "lgt.db-wal" && *len > 0),
        "expected a WAL: {names:?}"
    );
    let mut needles = Vec::new();
    for person in &people {
        assert!(!person.name.is_empty() && person.number.len() == 18 && !person.phone.is_empty());
        needles.extend([
            person.name.as_str(),
            person.number.as_str(),
            person.phone.as_str(),
        ]);
    }
    // The check can fail: the same needles are found in a plain JSON dump of the records.
    let plain: String = people
        .iter()
        .map(|p| format!("{}|{}|{}\n", p.name, p.number, p.phone))
        .collect();
    assert_eq!(occurring(plain.as_bytes(), &needles).len(), {
        let mut unique = needles.clone();
        unique.sort_unstable();
        unique.dedup();
        unique.len()
    });
    for (path, bytes) in &files {
        let leaked = occurring(bytes, &needles);
        assert!(
            leaked.is_empty(),
            "{} seeded values are in clear in {}",
            leaked.len(),
            path.display()
        );
    }
}

#[test]
fn a_sigkill_at_any_point_loses_no_printed_record() {
    let lgt = Lgt::init();
    let mut printed = Vec::new();
    for (seed, lines) in [(21, 1), (22, 300), (23, 2000)] {
        printed.extend(seed_and_kill(&lgt, seed, lines, Duration::from_secs(120)));
    }
    assert!(
        printed.len() >= 2000,
        "only {} records printed",
        printed.len()
    );
    let core = open(&lgt);
    assert_eq!(core.integrity_check().unwrap(), "ok");
    for record in &printed {
        let found = core.find_by_document_number(&record.number).unwrap();
        assert!(
            found.iter().any(|p| p.person_id == record.person_id),
            "printed record {} is missing",
            record.person_id
        );
    }
    let report = core.audit_verify().unwrap();
    assert!(report.is_intact(), "{report:?}");
    drop(core);
    let out = lgt.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
