//! At rest, on the phone (#12): what someone holding a synced phone's files, without its key,
//! can and cannot learn or change.
//!
//! - No unkeyed digest of a sealed value: with the database, its WAL and a perfectly guessed
//!   outbox payload or district record, the search for its SHA-256 (the protocol's
//!   `payload_sha256`, the bucket checksum's per-entry digest and term) finds nothing; the
//!   same search finds them once they are stored as the version 8 schema stored them.
//! - The clock set back locks personal data (`sync.clock_rollback`) until a sync succeeds;
//!   the store's record of the latest time, altered in the file, locks it too
//!   (`sync.clock_tampered`).

use std::sync::Arc;

use chrono::{Duration, Utc};
use lgt_core::clock::{Clock, FixedClock};
use lgt_core::crypto::sha256;
use lgt_core::messages::Lang;
use lgt_core::store::CLOCK_ROLLBACK_TOLERANCE_SECS;
use lgt_e2e::{BackendChoice, Phone, TestServer};
use lgt_protocol::{entry_digest_input, hex, unhex, Bucket};

/// The phone's database, WAL and shared-memory files, as a thief copies them.
fn raw_files(phone: &Phone) -> Vec<(String, Vec<u8>)> {
    ["lgt.db", "lgt.db-wal", "lgt.db-shm"]
        .iter()
        .filter_map(|name| {
            std::fs::read(phone.dir().join("store").join(name))
                .ok()
                .map(|bytes| (name.to_string(), bytes))
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What the attacker searches for, per guess: the digest in binary and in hex, and for a
/// replica entry also its 8-byte checksum term.
fn needles(digest: &[u8; 32], with_term: bool) -> Vec<Vec<u8>> {
    let mut needles = vec![digest.to_vec(), hex(digest).into_bytes()];
    if with_term {
        needles.push(digest[..8].to_vec());
        needles.push(hex(&digest[..8]).into_bytes());
    }
    needles
}

/// The guesses a search of the files confirms.
fn confirmed(phone: &Phone, guesses: &[(String, Vec<Vec<u8>>)]) -> Vec<String> {
    let files = raw_files(phone);
    guesses
        .iter()
        .filter(|(_, needles)| {
            needles
                .iter()
                .any(|n| files.iter().any(|(_, bytes)| contains(bytes, n)))
        })
        .map(|(label, _)| label.clone())
        .collect()
}

#[test]
fn the_files_alone_cannot_confirm_a_guessed_payload_or_record() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let mut phone = Phone::new(81);
    phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
    phone.register(3);
    // The attacker's perfect guesses: each queued payload's SHA-256 (what the server's
    // ledger checks; the core computes it from the opened payload).
    let mut guesses: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
    for op in phone.core.outbox(None).unwrap() {
        let digest: [u8; 32] = unhex(&op.payload_hash).unwrap().try_into().unwrap();
        guesses.push((format!("outbox {}", op.op_id), needles(&digest, false)));
    }
    assert_eq!(guesses.len(), 3);
    // Before the sync (pending, in the WAL) and after it.
    assert_eq!(confirmed(&phone, &guesses), Vec::<String>::new());
    phone.sync_until_quiet(3);
    // ...and each district record pulled into the replica, exactly as the server sent it.
    let replica = phone.core.sync_replica(Bucket::Records).unwrap();
    assert!(replica.len() >= 6, "persons, registrations, dwellings");
    for (key, data) in &replica {
        let digest = sha256(&entry_digest_input(key, data));
        guesses.push((format!("entry {key}"), needles(&digest, true)));
    }
    assert_eq!(confirmed(&phone, &guesses), Vec::<String>::new());

    // The search is sound: with the digests stored as the version 8 schema stored them (an
    // outbox column and a replica column), it confirms every guess.
    let conn = rusqlite::Connection::open(phone.dir().join("store").join("lgt.db")).unwrap();
    conn.execute_batch(
        "ALTER TABLE outbox ADD COLUMN payload_hash BLOB;
         ALTER TABLE sync_entries ADD COLUMN digest BLOB;",
    )
    .unwrap();
    for op in phone.core.outbox(None).unwrap() {
        conn.execute(
            "UPDATE outbox SET payload_hash = ?1 WHERE op_id = ?2",
            rusqlite::params![unhex(&op.payload_hash).unwrap(), op.op_id],
        )
        .unwrap();
    }
    for (key, data) in &replica {
        conn.execute(
            "UPDATE sync_entries SET digest = ?1 WHERE bucket = 'records' AND key = ?2",
            rusqlite::params![sha256(&entry_digest_input(key, data)).to_vec(), key],
        )
        .unwrap();
    }
    drop(conn);
    assert_eq!(confirmed(&phone, &guesses).len(), guesses.len());
}

/// A personal-data call's error on a locked phone: its code, and messages in both languages
/// that name no personal value.
fn locked_code(phone: &Phone, name: &str) -> Option<String> {
    match phone.core.find_by_name(name) {
        Ok(_) => None,
        Err(e) => {
            for lang in [Lang::ZhCn, Lang::En] {
                assert!(!e.message(lang).contains(name), "{e}");
            }
            Some(e.code().to_owned())
        }
    }
}

#[test]
fn a_clock_set_back_locks_personal_data_until_a_sync_re_anchors_the_time() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let mut phone = Phone::with_clock(82, clock.clone());
    phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
    let receipt = phone.register(1).remove(0);
    let name = phone
        .core
        .export_person(&receipt.person_id)
        .unwrap()
        .person
        .person
        .name;
    phone.sync_until_quiet(3);
    let seen = clock.now();
    assert_eq!(locked_code(&phone, &name), None);

    // Set right by the network, a few minutes back: still open.
    clock.set(seen - Duration::seconds(CLOCK_ROLLBACK_TOLERANCE_SECS / 2));
    assert_eq!(locked_code(&phone, &name), None);

    // Set back a day: every personal-data call is refused, nothing is queued.
    clock.set(seen - Duration::days(1));
    let queued = phone.core.outbox(None).unwrap().len();
    assert_eq!(
        locked_code(&phone, &name).as_deref(),
        Some("sync.clock_rollback")
    );
    let mut people = lgt_core::synthetic::SyntheticPeople::new(9, clock.today());
    assert_eq!(
        phone
            .core
            .register(&people.next_registration())
            .unwrap_err()
            .code(),
        "sync.clock_rollback"
    );
    assert_eq!(phone.core.outbox(None).unwrap().len(), queued);
    // Status and sync still work; a successful sync (the server took the requests, signed
    // with the real time) re-anchors the time and unlocks.
    phone.core.sync_status().unwrap();
    phone.core.sync_now().unwrap();
    assert_eq!(locked_code(&phone, &name), None);

    // Audited work that opens no personal data raises the record too.
    clock.set(seen + Duration::hours(2));
    assert!(phone.core.audit_verify().unwrap().is_intact());
    clock.set(seen + Duration::hours(1));
    assert_eq!(
        locked_code(&phone, &name).as_deref(),
        Some("sync.clock_rollback")
    );
}

#[test]
fn the_record_of_the_latest_time_altered_in_the_file_locks_until_a_sync() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let mut phone = Phone::with_clock(83, clock.clone());
    phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
    let receipt = phone.register(1).remove(0);
    let name = phone
        .core
        .export_person(&receipt.person_id)
        .unwrap()
        .person
        .person
        .name;
    phone.sync_until_quiet(3);
    // Work through the day raises the record to the evening.
    clock.set(clock.now() + Duration::hours(10));
    assert_eq!(locked_code(&phone, &name), None);

    // The thief, holding the file but not the key, lowers the record by a day (the first
    // eight bytes are the instant) to set the clock back unnoticed.
    let db = phone.dir().join("store").join("lgt.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut mark: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE key = 'clock_mark'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let micros = i64::from_be_bytes(mark[..8].try_into().unwrap());
    let lowered = micros - Duration::days(1).num_microseconds().unwrap();
    mark[..8].copy_from_slice(&lowered.to_be_bytes());
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'clock_mark'",
        [&mark],
    )
    .unwrap();
    drop(conn);
    clock.set(clock.now() - Duration::days(1) + Duration::minutes(1));
    assert_eq!(
        locked_code(&phone, &name).as_deref(),
        Some("sync.clock_tampered")
    );
    // Even with the clock put right, the altered record is not trusted.
    clock.set(clock.now() + Duration::days(1));
    assert_eq!(
        locked_code(&phone, &name).as_deref(),
        Some("sync.clock_tampered")
    );
    phone.core.sync_now().unwrap();
    assert_eq!(locked_code(&phone, &name), None);
}

/// The thief (or a tool) editing the file without the key: each sealed row's associated data
/// binds its own id and the rows it links to, so a sealed value copied into another row, a row
/// re-pointed to another person, or a permit's older sealed state put back under its current
/// version gives `store.corrupt`, never another row's data under the wrong person. Every
/// tampering is undone before the next, and the untouched store reads as before.
#[test]
fn a_sealed_value_moved_to_another_row_person_or_version_does_not_open() {
    use lgt_core::permit::{PermitCommand, PermitEvent};

    let mut phone = Phone::new(84);
    let receipts = phone.register(2);
    let (a, b) = (&receipts[0], &receipts[1]);
    let accepted = phone
        .core
        .permit(&PermitCommand::Accept {
            person_id: a.person_id.clone(),
        })
        .unwrap();
    let permit_id = accepted.permit.id.clone();
    let file = rusqlite::Connection::open(phone.dir().join("store").join("lgt.db")).unwrap();
    let sealed_at = |table: &str, id: &str| -> Vec<u8> {
        file.query_row(
            &format!("SELECT sealed FROM {table} WHERE id = ?1"),
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    let permit_v1 = sealed_at("permits", &permit_id);
    phone
        .apply(
            &permit_id,
            1,
            PermitEvent::Issue {
                number: "GD2026000184".into(),
            },
        )
        .unwrap();
    let code = |result: Result<String, lgt_core::Error>| match result {
        Ok(seen) => seen,
        Err(e) => e.code().to_owned(),
    };
    // What the untouched store shows, as one string per look: the person's registrations and
    // documents, and the permit.
    let person = |person_id: &str| {
        code(
            phone
                .core
                .export_person(person_id)
                .map(|e| format!("{:?}{:?}", e.registrations, e.person.identifiers)),
        )
    };
    let permit = || {
        code(
            phone
                .core
                .permit_show(&permit_id)
                .map(|p| format!("{:?}", p.permit)),
        )
    };
    let (person_a, person_b, permit_now) = (person(&a.person_id), person(&b.person_id), permit());
    assert!(!person_a.contains("store.corrupt") && !permit_now.contains("store.corrupt"));

    let tamper = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
        file.execute(sql, params).unwrap();
    };
    // 1. A's registration re-pointed to B.
    tamper(
        "UPDATE registrations SET person_id = ?2 WHERE id = ?1",
        &[&a.registration_id, &b.person_id],
    );
    assert_eq!(person(&b.person_id), "store.corrupt");
    tamper(
        "UPDATE registrations SET person_id = ?2 WHERE id = ?1",
        &[&a.registration_id, &a.person_id],
    );
    // 2. A's sealed registration copied into B's registration row.
    let (reg_a, reg_b) = (
        sealed_at("registrations", &a.registration_id),
        sealed_at("registrations", &b.registration_id),
    );
    tamper(
        "UPDATE registrations SET sealed = ?2 WHERE id = ?1",
        &[&b.registration_id, &reg_a],
    );
    assert_eq!(person(&b.person_id), "store.corrupt");
    tamper(
        "UPDATE registrations SET sealed = ?2 WHERE id = ?1",
        &[&b.registration_id, &reg_b],
    );
    // 3. A's identity document re-pointed to B.
    let document_a: String = file
        .query_row(
            "SELECT id FROM person_identifiers WHERE person_id = ?1",
            [&a.person_id],
            |r| r.get(0),
        )
        .unwrap();
    tamper(
        "UPDATE person_identifiers SET person_id = ?2 WHERE id = ?1",
        &[&document_a, &b.person_id],
    );
    assert_eq!(person(&b.person_id), "store.corrupt");
    tamper(
        "UPDATE person_identifiers SET person_id = ?2 WHERE id = ?1",
        &[&document_a, &a.person_id],
    );
    // 4. The permit moved to B, and its version-1 state put back under version 2.
    tamper(
        "UPDATE permits SET person_id = ?2 WHERE id = ?1",
        &[&permit_id, &b.person_id],
    );
    assert_eq!(permit(), "store.corrupt");
    tamper(
        "UPDATE permits SET person_id = ?2 WHERE id = ?1",
        &[&permit_id, &a.person_id],
    );
    let permit_v2 = sealed_at("permits", &permit_id);
    tamper(
        "UPDATE permits SET sealed = ?2 WHERE id = ?1",
        &[&permit_id, &permit_v1],
    );
    assert_eq!(permit(), "store.corrupt");
    tamper(
        "UPDATE permits SET sealed = ?2 WHERE id = ?1",
        &[&permit_id, &permit_v2],
    );
    // Every tampering undone: the store reads exactly as before.
    assert_eq!(
        (person(&a.person_id), person(&b.person_id), permit()),
        (person_a, person_b, permit_now)
    );
}
