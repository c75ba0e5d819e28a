//! At rest, on the server (#12): what the thief with the server's database, and without its
//! key file, can learn; what the server does when its key file is gone or replaced; and how a
//! database from before sealing is sealed at start. Each on SQLite and on PostgreSQL.
//!
//! The thief reads the SQLite file, its WAL and shared-memory files as bytes; on PostgreSQL,
//! every row of every table, as text (`SELECT t::text FROM t t`). It searches for every
//! synthetic name, identity number, phone number, address and employer the test used, and
//! for the command key's PKCS#8, the blind-index key and the data-encryption key (raw, hex,
//! base64). Controls: the same search finds each value in what the server serves the phones,
//! and in the same database written the way it was before sealing.

use std::collections::BTreeSet;

use base64::Engine as _;
use lgt_core::registration::RegistrationInput;
use lgt_e2e::signer::{device, pull};
use lgt_e2e::{backends, BackendChoice, Phone, TestServer};
use lgt_protocol::{hex, Bucket};
use lgt_server::vault::{VaultError, SEALED_COLUMNS};

const DISTRICT: &str = "110105";

/// What the test put into the server: the values no copy of the database may show.
struct Secrets {
    /// Personal values: names, identity numbers, phones, addresses, employers, house codes,
    /// permit numbers.
    personal: BTreeSet<String>,
}

fn collect(inputs: &[RegistrationInput], numbers: &[String]) -> Secrets {
    let mut personal = BTreeSet::new();
    for input in inputs {
        personal.insert(input.person.name.clone());
        personal.insert(input.document.number.clone());
        personal.insert(input.household_address.clone());
        personal.insert(input.dwelling.address.clone());
        if let Some(landlord) = &input.landlord {
            personal.insert(landlord.name.clone());
            personal.insert(landlord.phone.clone());
        }
        if let Some(householder) = &input.householder {
            personal.insert(householder.name.clone());
        }
        if let Some(phone) = &input.contact_phone {
            personal.insert(phone.clone());
        }
        if let Some(employer) = &input.employer {
            personal.insert(employer.name.clone());
        }
        // Found by their keyed blind index, in tables and in bucket keys.
        personal.insert(input.dwelling.house_code.clone());
    }
    // Permit numbers: stored by their keyed blind index, reserved ones sealed beside it.
    personal.extend(numbers.iter().cloned());
    Secrets { personal }
}

/// Every form a key could be stored in.
fn key_needles(bytes: &[u8]) -> Vec<Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    vec![
        bytes.to_vec(),
        hex(bytes).into_bytes(),
        hex(bytes).to_ascii_uppercase().into_bytes(),
        b64.trim_end_matches('=').as_bytes().to_vec(),
    ]
}

/// The server's keys, unwrapped by its operator (who holds the key file): name -> bytes.
fn server_keys(server: &TestServer) -> Vec<(String, Vec<u8>)> {
    server
        .rows("SELECT name, pkcs8 FROM server_keys ORDER BY name")
        .into_iter()
        .map(|row| {
            let name = row[0].clone().unwrap();
            let wrapped = row[1].clone().unwrap();
            let bytes = server.db.vault.unwrap_key(&name, &wrapped).unwrap();
            (name, bytes)
        })
        .collect()
}

/// What the thief holds: the database's bytes, or its rows as text.
fn stolen(server: &TestServer) -> Vec<Vec<u8>> {
    match server.database_url() {
        None => ["lgt-server.db", "lgt-server.db-wal", "lgt-server.db-shm"]
            .iter()
            .filter_map(|name| std::fs::read(server.data_dir().join(name)).ok())
            .collect(),
        Some(_) => server
            .rows("SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            .into_iter()
            .map(|row| {
                let table = row[0].clone().unwrap();
                server
                    .rows(&format!("SELECT CAST(t AS TEXT) FROM {table} t"))
                    .into_iter()
                    .flat_map(|r| r[0].clone().unwrap_or_default().into_bytes())
                    .collect()
            })
            .collect(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The labels of the needles found in any of `haystacks`.
fn found(haystacks: &[Vec<u8>], needles: &[(String, Vec<Vec<u8>>)]) -> Vec<String> {
    needles
        .iter()
        .filter(|(_, forms)| {
            forms
                .iter()
                .any(|n| haystacks.iter().any(|h| contains(h, n)))
        })
        .map(|(label, _)| label.clone())
        .collect()
}

fn text_needles(values: &BTreeSet<String>) -> Vec<(String, Vec<Vec<u8>>)> {
    // Labelled by position: a failure names no personal value.
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("value {i}"), vec![v.clone().into_bytes()]))
        .collect()
}

/// Phones register and sync persons with dwellings and permits; returns what they entered,
/// the phone, and an observer device of the district.
fn populate(server: &TestServer, seed: u64) -> (Secrets, Phone, lgt_core::sync::Credentials) {
    let mut phone = Phone::new(seed);
    phone.enroll(&server.url, &server.enrollment_code("c1", DISTRICT));
    let registered = phone.register_inputs(4);
    phone.sync_until_quiet(5);
    let mut numbers = Vec::new();
    for (_, receipt) in registered.iter().take(2) {
        let permit = phone.issue(&receipt.person_id);
        numbers.push(permit.permit.number.clone().expect("issued"));
    }
    phone.sync_until_quiet(5);
    // And a number reserved for the phone, not yet used.
    numbers.push(phone.core.permit_number_from_pool().unwrap().unwrap());
    let inputs: Vec<RegistrationInput> = registered.into_iter().map(|(i, _)| i).collect();
    let observer = device(server, DISTRICT);
    (collect(&inputs, &numbers), phone, observer)
}

/// The needles of every personal value and every server key.
fn all_needles(server: &TestServer, secrets: &Secrets) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut needles = text_needles(&secrets.personal);
    for (name, bytes) in server_keys(server) {
        needles.push((format!("server key {name}"), key_needles(&bytes)));
    }
    needles
}

/// The pull an observer device gets, as JSON (the district's buckets, from the start).
fn pulled(server: &TestServer, observer: &lgt_core::sync::Credentials) -> serde_json::Value {
    let pages: Vec<_> = pull(server, observer)
        .into_iter()
        .filter(|p| {
            matches!(
                p.bucket,
                Bucket::Records | Bucket::Permits | Bucket::Issuers
            )
        })
        .collect();
    serde_json::to_value(pages).unwrap()
}

#[test]
fn the_thief_with_the_database_alone_finds_no_personal_value_and_no_key() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let (secrets, phone, observer) = populate(&server, 1201);
        let needles = all_needles(&server, &secrets);
        assert!(needles.len() > 12, "{backend:?}: enough to look for");
        assert_eq!(
            server_keys(&server)
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>(),
            ["command", "dek", "id_number_blind"]
        );

        // Control: the search finds every personal value in what the server serves phones
        // (the pull, and the pools of permit numbers it tells them, opened with the key).
        let served = serde_json::to_vec(&pulled(&server, &observer)).unwrap();
        let pools: Vec<u8> = server
            .rows("SELECT number, sealed_number FROM reserved_numbers")
            .into_iter()
            .flat_map(|r| {
                let number = server.open_sealed(
                    "reserved_numbers",
                    r[0].as_deref().unwrap(),
                    "number",
                    r[1].as_deref().unwrap(),
                );
                format!("{number} ").into_bytes()
            })
            .collect();
        let personal = text_needles(&secrets.personal);
        assert_eq!(
            found(&[served, pools], &personal).len(),
            personal.len(),
            "{backend:?}: the control search finds every value in the pull"
        );

        // The thief's search of the database (and its WAL) finds none of them, nor a key.
        assert_eq!(
            found(&stolen(&server), &needles),
            Vec::<String>::new(),
            "{backend:?}"
        );
        drop(phone);
    }
}

#[test]
fn with_its_key_file_a_restarted_server_serves_the_same_pulls_and_a_new_phone_converges() {
    for backend in backends() {
        let mut server = TestServer::start(&backend);
        let (_, phone, observer) = populate(&server, 1202);
        let before = pulled(&server, &observer);
        server.stop();
        server.reopen().expect("the key file is there");
        assert_eq!(pulled(&server, &observer), before, "{backend:?}");

        // The first phone goes on syncing (its commands verify, its persons merge by
        // number through the blind index), and a new phone of the district converges.
        phones_go_on(&server, phone, 1203, &backend);
    }
}

/// After a restart: `phone` registers once more and syncs, a new phone of the district
/// (`seed`) enrolls and converges on the same replica, and a signed command reaches it.
fn phones_go_on(server: &TestServer, mut phone: Phone, seed: u64, backend: &BackendChoice) {
    phone.register(1);
    phone.sync_until_quiet(5);
    let second = Phone::new(seed);
    second.enroll(&server.url, &server.enrollment_code("c2", DISTRICT));
    second.sync_until_quiet(5);
    for bucket in [Bucket::Records, Bucket::Permits] {
        assert_eq!(
            second.core.sync_replica(bucket).unwrap(),
            phone.core.sync_replica(bucket).unwrap(),
            "{backend:?} {bucket:?}"
        );
    }
    issue_wipe_reaches(server, &second);
}

/// A command signed by the (unwrapped) command key reaches a phone and verifies.
fn issue_wipe_reaches(server: &TestServer, phone: &Phone) {
    let device_id = phone.status().enrollment.unwrap().device_id;
    server
        .block_on(lgt_server::commands::issue(
            &server.db,
            &device_id,
            lgt_protocol::CommandAction::MinClientVersion {
                version: "0.0.1".into(),
            },
        ))
        .unwrap();
    let report = phone.core.sync_now().unwrap();
    assert!(report.commands_refused.is_empty(), "{report:?}");
}

/// Every row of every table, sorted, as text.
fn dump(server: &TestServer) -> Vec<Vec<Vec<Option<String>>>> {
    let tables = match server.database_url() {
        None => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Some(_) => "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    };
    server
        .rows(tables)
        .into_iter()
        .map(|row| {
            let mut rows = server.rows(&format!("SELECT * FROM {}", row[0].clone().unwrap()));
            rows.sort();
            rows
        })
        .collect()
}

#[test]
fn without_its_key_file_or_with_another_the_server_refuses_to_start_and_changes_nothing() {
    for backend in backends() {
        let mut server = TestServer::start(&backend);
        let (_, _phone, observer) = populate(&server, 1204);
        let before = pulled(&server, &observer);
        server.stop();
        let keys = server.data_dir().join("keys");
        let key_file = keys.join("kek");
        let original = std::fs::read(&key_file).unwrap();
        let rows = dump(&server);

        // Removed: refused, with the typed message in both languages; no key made.
        std::fs::remove_file(&key_file).unwrap();
        let refused = server.reopen().unwrap_err();
        let typed = refused.downcast_ref::<VaultError>().expect("a VaultError");
        assert!(
            matches!(typed, VaultError::KeyFileMissing { .. }),
            "{backend:?}: {typed}"
        );
        let message = typed.to_string();
        assert!(
            message.contains("不存在") && message.contains("is missing"),
            "{message}"
        );
        assert!(!key_file.exists(), "{backend:?}: no new key file");
        assert_eq!(
            dump(&server),
            rows,
            "{backend:?}: the database is untouched"
        );

        // Replaced by another key: refused too.
        let other_dir = tempfile::tempdir().unwrap();
        let other = lgt_server::vault::FileKeySource::new(other_dir.path().join("keys"));
        let other_key = {
            use lgt_server::vault::KeySource as _;
            other.load(true).unwrap();
            std::fs::read(other.location()).unwrap()
        };
        std::fs::write(&key_file, &other_key).unwrap();
        let refused = server.reopen().unwrap_err();
        let typed = refused.downcast_ref::<VaultError>().expect("a VaultError");
        assert!(
            matches!(typed, VaultError::WrongKey { .. }),
            "{backend:?}: {typed}"
        );
        assert!(typed.to_string().contains("key id"), "{typed}");
        assert_eq!(
            dump(&server),
            rows,
            "{backend:?}: the database is untouched"
        );
        assert!(
            !typed
                .to_string()
                .contains(&String::from_utf8_lossy(&other_key).trim().to_string()),
            "the message shows no key"
        );

        // The original key file back: the server starts and serves what it served.
        std::fs::write(&key_file, &original).unwrap();
        server.reopen().expect("the original key file");
        assert_eq!(pulled(&server, &observer), before, "{backend:?}");
    }
}

/// Rewrites the database the way the server stored it before sealing: every sealed column
/// opened, the keys in clear (hex, no key id), no data-encryption key, no key file.
fn unseal_as_before(server: &TestServer) {
    for c in SEALED_COLUMNS {
        let rows = server.rows(&format!(
            "SELECT {row}, {col} FROM {table} WHERE {col} IS NOT NULL",
            row = c.row,
            col = c.column,
            table = c.table
        ));
        for row in rows {
            let key = row[0].clone().unwrap();
            let plain = server.open_sealed(c.table, &key, c.column, row[1].as_deref().unwrap());
            server.rows(&format!(
                "UPDATE {table} SET {col} = '{plain}' WHERE {row} = '{key}' RETURNING 1",
                table = c.table,
                col = c.column,
                row = c.row,
                plain = plain.replace('\'', "''"),
            ));
        }
    }
    // Permit numbers in clear, as before their blind index.
    for row in server.rows("SELECT number, sealed_number FROM reserved_numbers") {
        let blind = row[0].clone().unwrap();
        let number = server.open_sealed(
            "reserved_numbers",
            &blind,
            "number",
            row[1].as_deref().unwrap(),
        );
        server.rows(&format!(
            "UPDATE reserved_numbers SET number = '{number}', sealed_number = NULL
             WHERE number = '{blind}' RETURNING 1"
        ));
    }
    for row in server.rows("SELECT id, data FROM permits WHERE number IS NOT NULL") {
        let id = row[0].clone().unwrap();
        let permit: serde_json::Value = serde_json::from_str(row[1].as_deref().unwrap()).unwrap();
        let number = permit["number"].as_str().unwrap();
        server.rows(&format!(
            "UPDATE permits SET number = '{number}' WHERE id = '{id}' RETURNING 1"
        ));
    }
    // House codes in clear, as before their blind index (the dwelling's own record names it).
    for row in server.rows("SELECT district, house_code, data FROM dwellings") {
        let dwelling: serde_json::Value = serde_json::from_str(row[2].as_deref().unwrap()).unwrap();
        let code = dwelling["house_code"].as_str().unwrap();
        let (district, blind) = (row[0].clone().unwrap(), row[1].clone().unwrap());
        for table in ["registrations", "dwellings"] {
            server.rows(&format!(
                "UPDATE {table} SET house_code = '{code}'
                 WHERE district = '{district}' AND house_code = '{blind}' RETURNING 1"
            ));
        }
    }
    for row in server
        .rows("SELECT bucket, key, sealed_key FROM bucket_entries WHERE sealed_key IS NOT NULL")
    {
        let (bucket, stored) = (row[0].clone().unwrap(), row[1].clone().unwrap());
        let key = server.open_sealed(
            "bucket_entries",
            &format!("{bucket}/{stored}"),
            "key",
            row[2].as_deref().unwrap(),
        );
        server.rows(&format!(
            "UPDATE bucket_entries SET key = '{key}', sealed_key = NULL
             WHERE bucket = '{bucket}' AND key = '{stored}' RETURNING 1"
        ));
    }
    for (name, bytes) in server_keys(server) {
        let sql = if name == "dek" {
            "DELETE FROM server_keys WHERE name = 'dek' RETURNING 1".to_owned()
        } else {
            format!(
                "UPDATE server_keys SET pkcs8 = '{}', kek_id = NULL WHERE name = '{name}' RETURNING 1",
                hex(&bytes)
            )
        };
        server.rows(&sql);
    }
    std::fs::remove_file(server.data_dir().join("keys").join("kek")).unwrap();
}

#[test]
fn a_database_from_before_sealing_is_sealed_at_start_and_served_the_same() {
    for backend in backends() {
        let mut server = TestServer::start(&backend);
        let (secrets, phone, observer) = populate(&server, 1205);
        let before = pulled(&server, &observer);
        let keys: Vec<_> = server_keys(&server)
            .into_iter()
            .filter(|(name, _)| name != "dek")
            .collect();
        let mut needles = text_needles(&secrets.personal);
        for (name, bytes) in &keys {
            needles.push((format!("server key {name}"), key_needles(bytes)));
        }
        server.stop();
        unseal_as_before(&server);
        if server.database_url().is_none() {
            server.rows("PRAGMA wal_checkpoint(TRUNCATE)");
        }

        // Control: written the old way, the thief's search finds every value and both keys.
        assert_eq!(
            found(&stolen(&server), &needles).len(),
            needles.len(),
            "{backend:?}: the search finds what is in clear"
        );

        // Started again: a new key file, a new DEK, the old keys wrapped (the same keys: the
        // phones' pinned command key and the blind index still hold), every row sealed.
        server
            .reopen()
            .expect("a database without wrapped keys makes its key file");
        assert!(server.data_dir().join("keys").join("kek").exists());
        let now: Vec<_> = server_keys(&server)
            .into_iter()
            .filter(|(name, _)| name != "dek")
            .collect();
        assert_eq!(
            now, keys,
            "{backend:?}: the same command and blind-index keys"
        );
        for (name, bytes) in server_keys(&server) {
            needles.push((format!("server key {name}"), key_needles(&bytes)));
        }
        assert_eq!(
            found(&stolen(&server), &needles),
            Vec::<String>::new(),
            "{backend:?}"
        );
        for c in SEALED_COLUMNS {
            assert_eq!(
                server.count(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE {col} IS NOT NULL AND {col} NOT LIKE 'v1:%'",
                    table = c.table,
                    col = c.column
                )),
                0,
                "{backend:?}: {}.{}",
                c.table,
                c.column
            );
        }
        assert_eq!(
            server.count(
                "SELECT COUNT(*) FROM reserved_numbers
                 WHERE number NOT LIKE 'b1:%' OR sealed_number IS NULL"
            ) + server.count(
                "SELECT COUNT(*) FROM permits WHERE number IS NOT NULL AND number NOT LIKE 'b1:%'"
            ),
            0,
            "{backend:?}: permit numbers by their blind index"
        );
        assert_eq!(
            server.count("SELECT COUNT(*) FROM registrations WHERE house_code NOT LIKE 'b1:%'")
                + server.count("SELECT COUNT(*) FROM dwellings WHERE house_code NOT LIKE 'b1:%'")
                + server.count(
                    "SELECT COUNT(*) FROM bucket_entries
                     WHERE key LIKE 'dwelling:%' AND key NOT LIKE 'dwelling:b1:%'"
                ),
            0,
            "{backend:?}: house codes by their blind index"
        );
        assert_eq!(pulled(&server, &observer), before, "{backend:?}");

        // Idempotent: started once more, nothing changes.
        let rows = dump(&server);
        server.stop();
        server.reopen().unwrap();
        assert_eq!(dump(&server), rows, "{backend:?}");

        // Phones go on: the first syncs, a new one converges.
        phones_go_on(&server, phone, 1206, &backend);
    }
}
