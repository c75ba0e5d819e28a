use super::*;
use crate::crypto::{DataKey, KeyError};

pub(crate) struct FixedKey(pub [u8; 32]);

impl KeyProvider for FixedKey {
    fn data_key(&self) -> Result<DataKey, KeyError> {
        Ok(DataKey::from_bytes(self.0))
    }
    fn destroy(&self) -> Result<(), KeyError> {
        Ok(())
    }
}

fn schema_of(conn: &Connection) -> Vec<(String, String)> {
    let mut statement = conn
        .prepare("SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
        .unwrap();
    statement
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, String>(1)?
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn create_then_open_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let created = Store::create(dir.path(), &FixedKey([1; 32]), StoreOptions::default()).unwrap();
    let id = created.id().to_owned();
    drop(created);
    let opened = Store::open(dir.path(), &FixedKey([1; 32]), StoreOptions::default()).unwrap();
    assert_eq!(opened.id(), id);
    assert_eq!(opened.integrity_check().unwrap(), "ok");
    let mode: String = opened
        .read(|c| Ok::<_, StoreError>(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_wrong_key_fails_clearly_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path(), &FixedKey([1; 32]), StoreOptions::default()).unwrap());
    let before = std::fs::read(dir.path().join(DB_FILE)).unwrap();
    let err = Store::open(dir.path(), &FixedKey([2; 32]), StoreOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::WrongKey), "{err}");
    assert_eq!(std::fs::read(dir.path().join(DB_FILE)).unwrap(), before);
}

#[test]
fn missing_and_existing_stores_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Store::open(dir.path(), &FixedKey([1; 32]), StoreOptions::default()),
        Err(StoreError::Missing)
    ));
    drop(Store::create(dir.path(), &FixedKey([1; 32]), StoreOptions::default()).unwrap());
    assert!(matches!(
        Store::create(dir.path(), &FixedKey([1; 32]), StoreOptions::default()),
        Err(StoreError::AlreadyExists)
    ));
}

/// Writes a database as an older build left it: `scripts` run, `version` set, a canary under
/// the key `[key; 32]`, and one person row.
fn old_store(dir: &std::path::Path, scripts: &[&str], version: u32, key: u8, store_id: &[u8]) {
    let cipher = RowCipher::new(&DataKey::from_bytes([key; 32]));
    let conn = Connection::open(dir.join(DB_FILE)).unwrap();
    for script in scripts {
        conn.execute_batch(script).unwrap();
    }
    conn.pragma_update(None, "user_version", version).unwrap();
    let canary = cipher.seal(CANARY_CONTEXT, CANARY_PLAINTEXT).unwrap();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('canary', ?1), ('store_id', ?2)",
        rusqlite::params![canary, store_id.to_vec()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO persons (id, created_at, updated_at, sealed) VALUES ('p1', 't', 't', x'00')",
        [],
    )
    .unwrap();
}

/// A database written by the first schema, with a row in it, upgrades to exactly the schema
/// a new database gets, and keeps its data.
#[test]
fn a_version_1_file_upgrades_to_the_current_schema() {
    upgrades_to_the_current_schema(1);
}

/// The same from version 2 (before the scan keys, the watchlist and sync).
#[test]
fn a_version_2_file_upgrades_to_the_current_schema() {
    upgrades_to_the_current_schema(2);
}

/// The same from version 5 (sync without the pinned watchlist roots).
#[test]
fn a_version_5_file_upgrades_to_the_current_schema() {
    upgrades_to_the_current_schema(5);
}

/// The same from version 6 (sync without pinned server keys).
#[test]
fn a_version_6_file_upgrades_to_the_current_schema() {
    upgrades_to_the_current_schema(6);
}

fn upgrades_to_the_current_schema(from: u32) {
    let old = tempfile::tempdir().unwrap();
    let scripts: Vec<&str> = std::iter::once(schema::V1)
        .chain(schema::MIGRATIONS[..from as usize - 1].iter().copied())
        .collect();
    old_store(old.path(), &scripts, from, 5, b"old-store");
    let upgraded = Store::open(old.path(), &FixedKey([5; 32]), StoreOptions::default()).unwrap();
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = Store::create(
        fresh_dir.path(),
        &FixedKey([5; 32]),
        StoreOptions::default(),
    )
    .unwrap();
    let upgraded_schema = upgraded
        .read(|c| Ok::<_, StoreError>(schema_of(c)))
        .unwrap();
    let fresh_schema = fresh.read(|c| Ok::<_, StoreError>(schema_of(c))).unwrap();
    assert_eq!(upgraded_schema, fresh_schema);
    for table in [
        "permits",
        "trusted_issuers",
        "watchlist_entries",
        "watchlist_alerts",
        "sync_device",
        "sync_buckets",
        "sync_entries",
        "sync_numbers",
        "sync_commands_obeyed",
        "sync_enrolling",
    ] {
        assert!(
            upgraded_schema.iter().any(|(name, _)| name == table),
            "{table}"
        );
    }
    let (version, persons): (u32, i64) = upgraded
        .read(|c| {
            Ok::<_, StoreError>((
                c.pragma_query_value(None, "user_version", |r| r.get(0))?,
                c.query_row("SELECT count(*) FROM persons", [], |r| r.get(0))?,
            ))
        })
        .unwrap();
    assert_eq!((version, persons), (schema::CURRENT_VERSION, 1));
    assert_eq!(upgraded.id(), "old-store");
}

/// A file written before the audit chain hash (version 10) gets the hash of each of its
/// audit records, in order, each over the one before; the trail stays append-only.
#[test]
fn a_version_10_file_gets_the_chain_hash_of_its_audit_records() {
    upgrades_to_the_current_schema(10);
    let old = tempfile::tempdir().unwrap();
    let scripts: Vec<&str> = std::iter::once(schema::V1)
        .chain(schema::MIGRATIONS[..9].iter().copied())
        .collect();
    old_store(old.path(), &scripts, 10, 5, b"old-store");
    let rows = [
        (
            1,
            "2026-01-01T00:00:00.000000Z",
            "store.create",
            "store",
            "s-1",
        ),
        (
            2,
            "2026-01-01T00:00:01.000000Z",
            "registration.create",
            "registration",
            "r-1",
        ),
        (
            3,
            "2026-01-01T00:00:02.000000Z",
            "person.read",
            "person",
            "p-1",
        ),
    ];
    {
        let conn = Connection::open(old.path().join(DB_FILE)).unwrap();
        for (seq, at, action, kind, id) in rows {
            conn.execute(
                "INSERT INTO audit_log (seq, at, actor, action, record_kind, record_id, mac)
                 VALUES (?1, ?2, 'coordinator-7', ?3, ?4, ?5, x'00')",
                rusqlite::params![seq, at, action, kind, id],
            )
            .unwrap();
        }
    }
    let upgraded = Store::open(old.path(), &FixedKey([5; 32]), StoreOptions::default()).unwrap();
    let stored: Vec<Vec<u8>> = upgraded
        .read(|c| {
            let mut statement = c.prepare("SELECT chain_hash FROM audit_log ORDER BY seq")?;
            let hashes = statement
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok::<_, StoreError>(hashes)
        })
        .unwrap();
    let mut prev = [0u8; 32];
    for ((seq, at, action, kind, id), hash) in rows.into_iter().zip(&stored) {
        let expected =
            crate::crypto::audit_chain_hash(&prev, seq, [at, "coordinator-7", action, kind, id]);
        assert_eq!(hash, &expected.to_vec(), "record {seq}");
        prev = expected;
    }
    assert_eq!(stored.len(), 3);
    upgraded
        .write(|tx| {
            for sql in [
                "UPDATE audit_log SET chain_hash = zeroblob(32) WHERE seq = 2",
                "UPDATE audit_log SET record_id = 'other' WHERE seq = 2",
                "DELETE FROM audit_log WHERE seq = 3",
            ] {
                assert!(tx.execute(sql, []).is_err(), "{sql}");
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path(), &FixedKey([1; 32]), StoreOptions::default()).unwrap());
    Connection::open(dir.path().join(DB_FILE))
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Store::open(dir.path(), &FixedKey([1; 32]), StoreOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::NewerSchema { found: 99 }));
}

/// The same from version 8 (the last with unkeyed digests in the file).
#[test]
fn a_version_8_file_upgrades_to_the_current_schema() {
    upgrades_to_the_current_schema(8);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The database, WAL and shared-memory files of a store, concatenated.
fn raw_files(dir: &std::path::Path) -> Vec<u8> {
    ["lgt.db", "lgt.db-wal", "lgt.db-shm"]
        .iter()
        .filter_map(|name| std::fs::read(dir.join(name)).ok())
        .flatten()
        .collect()
}

/// A version 8 file holds an outbox payload's SHA-256 and a replica entry's digest in
/// clear; the upgrade drops both columns and scrubs the file, so neither digest is left in
/// the database, its WAL or its freed pages.
#[test]
fn the_upgrade_takes_the_unkeyed_digests_out_of_the_file() {
    let old = tempfile::tempdir().unwrap();
    let scripts: Vec<&str> = std::iter::once(schema::V1)
        .chain(schema::MIGRATIONS[..7].iter().copied())
        .collect();
    old_store(old.path(), &scripts, 8, 5, b"old-store");
    let payload_hash = crate::crypto::sha256(b"{\"synthetic\":\"payload\"}");
    let entry_digest = crate::crypto::sha256(b"person:p1\0{\"synthetic\":\"entry\"}");
    {
        let conn = Connection::open(old.path().join(DB_FILE)).unwrap();
        // Many rows, so the digests fill pages that the upgrade frees.
        for i in 0..200 {
            conn.execute(
                "INSERT INTO outbox (op_id, kind, record_id, payload, payload_hash, created_at)
                 VALUES (?1, 'registration.create', 'r', x'00', ?2, 't')",
                rusqlite::params![format!("op-{i}"), payload_hash.to_vec()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO sync_entries (bucket, key, seq, digest, sealed) VALUES ('records', ?1, 1, ?2, x'00')",
                rusqlite::params![format!("person:p{i}"), entry_digest.to_vec()],
            )
            .unwrap();
        }
    }
    // The search can fail: it finds both digests in the version 8 file.
    let before = raw_files(old.path());
    assert!(contains(&before, &payload_hash) && contains(&before, &entry_digest));

    let upgraded = Store::open(old.path(), &FixedKey([5; 32]), StoreOptions::default()).unwrap();
    let columns: Vec<String> = upgraded
        .read(|c| {
            let mut names = Vec::new();
            for table in ["outbox", "sync_entries"] {
                let mut statement = c.prepare(&format!("PRAGMA table_info({table})"))?;
                let rows = statement.query_map([], |r| r.get::<_, String>(1))?;
                for name in rows {
                    names.push(name?);
                }
            }
            Ok::<_, StoreError>(names)
        })
        .unwrap();
    assert!(!columns.iter().any(|c| c == "payload_hash" || c == "digest"));
    let rows: (i64, i64) = upgraded
        .read(|c| {
            Ok::<_, StoreError>((
                c.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?,
                c.query_row("SELECT count(*) FROM sync_entries", [], |r| r.get(0))?,
            ))
        })
        .unwrap();
    assert_eq!(rows, (200, 200));
    let after = raw_files(old.path());
    assert!(
        !contains(&after, &payload_hash),
        "payload hash left in the files"
    );
    assert!(
        !contains(&after, &entry_digest),
        "entry digest left in the files"
    );
}

/// A version 10 file holds the list's own tags (stretched under a salt the file names); the
/// upgrade keys every tag by the store, seals each entry's details again, re-keys the alerts,
/// and scrubs the file so the old tags are nowhere in it. The rows still answer look-ups.
#[test]
fn the_upgrade_keys_the_watchlist_tags_by_the_store() {
    let old = tempfile::tempdir().unwrap();
    let scripts: Vec<&str> = std::iter::once(schema::V1)
        .chain(schema::MIGRATIONS[..9].iter().copied())
        .collect();
    old_store(old.path(), &scripts, 10, 5, b"old-store");
    // Tags that look like the list's (random-looking bytes, never a run SQLite itself writes).
    let list_tag = |i: u8| -> crate::crypto::Tag {
        crate::crypto::sha256(&[i])[..crate::crypto::TAG_LEN]
            .try_into()
            .unwrap()
    };
    {
        let conn = Connection::open(old.path().join(DB_FILE)).unwrap();
        for i in 1..=200u8 {
            conn.execute(
                "INSERT INTO watchlist_entries (tag, kind) VALUES (?1, 1)",
                [&list_tag(i)[..]],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO watchlist_details (tag, sealed) VALUES (?1, ?2)",
                rusqlite::params![&list_tag(i)[..], format!("details-{i}").as_bytes()],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO watchlist_alerts (id, person_id, tag, list_version, raised_at, sealed)
             VALUES ('alert-1', NULL, ?1, 1, 't', x'00')",
            [&list_tag(7)[..]],
        )
        .unwrap();
    }
    // The search can fail: the list's tags are in the version 10 file.
    assert!(contains(&raw_files(old.path()), &list_tag(7)));

    let upgraded = Store::open(old.path(), &FixedKey([5; 32]), StoreOptions::default()).unwrap();
    let cipher = upgraded.cipher();
    let stored = cipher.watchlist_tag(&list_tag(7));
    let (kind, details, alert_tag): (i64, Vec<u8>, Vec<u8>) = upgraded
        .read(|c| {
            Ok::<_, StoreError>((
                c.query_row(
                    "SELECT kind FROM watchlist_entries WHERE tag = ?1",
                    [&stored[..]],
                    |r| r.get(0),
                )?,
                c.query_row(
                    "SELECT sealed FROM watchlist_details WHERE tag = ?1",
                    [&stored[..]],
                    |r| r.get(0),
                )?,
                c.query_row(
                    "SELECT tag FROM watchlist_alerts WHERE id = 'alert-1'",
                    [],
                    |r| r.get(0),
                )?,
            ))
        })
        .unwrap();
    assert_eq!(kind, 1);
    let opened = open_bytes(cipher, &context::watchlist_details(&stored), &details).unwrap();
    assert_eq!(&opened[..], b"details-7");
    assert_eq!(alert_tag, stored.to_vec());
    let after = raw_files(old.path());
    for i in 1..=200u8 {
        assert!(
            !contains(&after, &list_tag(i)),
            "list tag {i} left in the files"
        );
    }
}

/// A version 11 file's rows are sealed under their table and id only; the upgrade seals them
/// again bound to their person (and a permit to its version), and leaves a row that did not
/// open as it was.
#[test]
fn the_upgrade_binds_each_sealed_row_to_the_rows_it_links_to() {
    let old = tempfile::tempdir().unwrap();
    let scripts: Vec<&str> = std::iter::once(schema::V1)
        .chain(schema::MIGRATIONS[..10].iter().copied())
        .collect();
    old_store(old.path(), &scripts, 11, 5, b"old-store");
    let cipher = RowCipher::new(&DataKey::from_bytes([5; 32]));
    {
        let conn = Connection::open(old.path().join(DB_FILE)).unwrap();
        let seal = |context: &str| cipher.seal(context, context.as_bytes()).unwrap();
        conn.execute(
            "INSERT INTO person_identifiers (id, person_id, blind, sealed, recorded_at)
             VALUES ('i1', 'p1', x'01', ?1, 't')",
            [seal("person_identifiers:i1")],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO registrations (id, person_id, status, created_at, sealed)
             VALUES ('r1', 'p1', 'active', 't', ?1), ('r2', 'p1', 'active', 't', x'00')",
            [seal("registrations:r1")],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO permits (id, person_id, state, version, updated_at, sealed)
             VALUES ('m1', 'p1', 'issued', 2, 't', ?1)",
            [seal("permits:m1")],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO watchlist_alerts (id, person_id, tag, list_version, raised_at, sealed)
             VALUES ('a1', 'p1', x'01', 1, 't', ?1), ('a2', NULL, x'02', 1, 't', ?2)",
            [seal("watchlist_alerts:a1"), seal("watchlist_alerts:a2")],
        )
        .unwrap();
    }
    let upgraded = Store::open(old.path(), &FixedKey([5; 32]), StoreOptions::default()).unwrap();
    let sealed = |table: &str, id: &str| -> Vec<u8> {
        upgraded
            .read(|c| {
                c.query_row(
                    &format!("SELECT sealed FROM {table} WHERE id = ?1"),
                    [id],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)
            })
            .unwrap()
    };
    let opens = |table: &str, id: &str, context: String, was: &str| {
        let plain = cipher.open(&context, &sealed(table, id)).unwrap();
        assert_eq!(&plain[..], was.as_bytes(), "{table}:{id}");
        assert!(cipher.open(was, &sealed(table, id)).is_err());
    };
    opens(
        "person_identifiers",
        "i1",
        context::person_identifier("i1", "p1"),
        "person_identifiers:i1",
    );
    opens(
        "registrations",
        "r1",
        context::registration("r1", "p1"),
        "registrations:r1",
    );
    opens(
        "permits",
        "m1",
        context::permit("m1", "p1", 2),
        "permits:m1",
    );
    opens(
        "watchlist_alerts",
        "a1",
        context::watchlist_alert("a1", Some("p1")),
        "watchlist_alerts:a1",
    );
    opens(
        "watchlist_alerts",
        "a2",
        context::watchlist_alert("a2", None),
        "watchlist_alerts:a2",
    );
    assert_eq!(sealed("registrations", "r2"), vec![0u8]);
}

mod clock_mark {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::clock::{Clock, FixedClock};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    /// A store enrolled at `enrolled` with an offline limit of `limit_hours`, its time
    /// anchored there (as enrollment does).
    fn enrolled(dir: &std::path::Path, enrolled: DateTime<Utc>, limit_hours: i64) -> Store {
        let store = Store::create(dir, &FixedKey([3; 32]), StoreOptions::default()).unwrap();
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO sync_device (singleton, server_url, device_id, coordinator, district, signing_key, enrolled_at, max_offline_secs)
                     VALUES (1, 'http://127.0.0.1:9', 'dev-1', 'c1', '110105', x'00', ?1, ?2)",
                    rusqlite::params![timestamp(enrolled), limit_hours * 3600],
                )?;
                lock::anchor(tx, store.cipher(), enrolled)
            })
            .unwrap();
        store
    }

    fn lock_of(store: &Store, clock: &FixedClock) -> Option<Lock> {
        match store.unlock(Session::new(clock, "c1")) {
            Ok(_) => None,
            Err(UnlockError::Locked(lock)) => Some(lock),
            Err(e) => panic!("{e}"),
        }
    }

    fn mark(store: &Store) -> Vec<u8> {
        store
            .read(|c| {
                Ok::<_, StoreError>(c.query_row(
                    "SELECT value FROM meta WHERE key = 'clock_mark'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    }

    /// Writes the mark's row behind the store's back, as someone holding only the file can.
    fn overwrite_mark(dir: &std::path::Path, value: Option<&[u8]>) {
        let conn = Connection::open(dir.join(DB_FILE)).unwrap();
        match value {
            Some(value) => conn
                .execute(
                    "UPDATE meta SET value = ?1 WHERE key = 'clock_mark'",
                    [value],
                )
                .unwrap(),
            None => conn
                .execute("DELETE FROM meta WHERE key = 'clock_mark'", [])
                .unwrap(),
        };
    }

    #[test]
    fn a_clock_set_back_a_day_locks_and_a_small_skew_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = at("2026-11-29T02:00:00Z");
        let store = enrolled(dir.path(), t0, 72);
        let clock = FixedClock::new(t0 + Duration::hours(5));
        assert_eq!(lock_of(&store, &clock), None);
        // Set right by the network: a few minutes back is within the tolerance.
        clock.set(t0 + Duration::hours(5) - Duration::minutes(9));
        assert_eq!(lock_of(&store, &clock), None);
        // Set back a day: locked, naming the latest time seen.
        clock.set(t0 + Duration::hours(5) - Duration::days(1));
        assert_eq!(
            lock_of(&store, &clock),
            Some(Lock::ClockRollback(t0 + Duration::hours(5)))
        );
        // Just past the tolerance is past it.
        clock.set(t0 + Duration::hours(5) - Duration::seconds(CLOCK_ROLLBACK_TOLERANCE_SECS + 1));
        assert!(matches!(
            lock_of(&store, &clock),
            Some(Lock::ClockRollback(_))
        ));
        // The time a successful sync vouches for re-anchors it.
        store
            .write(|tx| lock::anchor(tx, store.cipher(), clock.now()))
            .unwrap();
        assert_eq!(lock_of(&store, &clock), None);
    }

    #[test]
    fn setting_the_clock_back_does_not_extend_the_offline_limit() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = at("2026-11-29T02:00:00Z");
        let store = enrolled(dir.path(), t0, 2);
        let limit = t0 + Duration::hours(2);
        // Five minutes past the limit: locked (and the mark rose with the refused call).
        let clock = FixedClock::new(limit + Duration::minutes(5));
        assert_eq!(lock_of(&store, &clock), Some(Lock::OfflineSince(limit)));
        // Back by nine minutes, within the tolerance, to before the limit: the limit runs by
        // the latest time seen, so it stays locked.
        clock.set(limit - Duration::minutes(4));
        assert_eq!(lock_of(&store, &clock), Some(Lock::OfflineSince(limit)));
        // Back by an hour: a rollback.
        clock.set(t0 + Duration::hours(1));
        assert_eq!(
            lock_of(&store, &clock),
            Some(Lock::ClockRollback(limit + Duration::minutes(5)))
        );
    }

    #[test]
    fn a_mark_altered_without_the_key_locks_until_a_sync() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = at("2026-11-29T02:00:00Z");
        let store = enrolled(dir.path(), t0, 72);
        let clock = FixedClock::new(t0 + Duration::hours(30));
        assert_eq!(lock_of(&store, &clock), None);
        let genuine = mark(&store);

        // Lowered to a day earlier (the thief's aim), MAC kept: does not verify.
        let mut lowered = genuine.clone();
        let micros = i64::from_be_bytes(lowered[..8].try_into().unwrap());
        let earlier = micros - Duration::days(1).num_microseconds().unwrap();
        lowered[..8].copy_from_slice(&earlier.to_be_bytes());
        overwrite_mark(dir.path(), Some(&lowered));
        assert_eq!(lock_of(&store, &clock), Some(Lock::ClockTampered));

        // Removed: does not verify either.
        overwrite_mark(dir.path(), None);
        assert_eq!(lock_of(&store, &clock), Some(Lock::ClockTampered));

        // An older genuine mark, put back after the audit chain grew, does not fit it.
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('clock_mark', ?1)",
            [&genuine],
        )
        .unwrap();
        drop(conn);
        assert_eq!(lock_of(&store, &clock), None, "the genuine mark verifies");
        clock.set(t0 + Duration::hours(40));
        audited(&store, clock.now());
        assert_eq!(lock_of(&store, &clock), None);
        overwrite_mark(dir.path(), Some(&genuine));
        clock.set(t0 + Duration::hours(30));
        assert_eq!(lock_of(&store, &clock), Some(Lock::ClockTampered));

        // A sync re-anchors the time, and the lock opens.
        store
            .write(|tx| lock::anchor(tx, store.cipher(), clock.now()))
            .unwrap();
        assert_eq!(lock_of(&store, &clock), None);
    }

    /// One more audit record at `at`, carrying the mark over as the audit trail's append
    /// does (the audit module is a layer above; its own path is tested end to end).
    fn audited(store: &Store, at: DateTime<Utc>) {
        store
            .write(|tx| {
                let len: i64 =
                    tx.query_row("SELECT coalesce(max(seq), 0) FROM audit_log", [], |r| {
                        r.get(0)
                    })?;
                tx.execute(
                    "INSERT INTO audit_log (seq, at, actor, action, record_kind, record_id, mac)
                     VALUES (?1, ?2, 'c1', 'test.event', 'store', 's', x'00')",
                    rusqlite::params![len + 1, timestamp(at)],
                )?;
                lock::note_audited(tx, store.cipher(), at, len, len + 1)
            })
            .unwrap();
    }

    #[test]
    fn audited_work_raises_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = at("2026-11-29T02:00:00Z");
        let store = enrolled(dir.path(), t0, 72);
        // Only audited (no unlock): the chain's time still raises the mark.
        audited(&store, t0 + Duration::hours(10));
        let clock = FixedClock::new(t0 + Duration::hours(1));
        assert_eq!(
            lock_of(&store, &clock),
            Some(Lock::ClockRollback(t0 + Duration::hours(10)))
        );
    }

    #[test]
    fn a_store_never_enrolled_has_no_clock_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), &FixedKey([3; 32]), StoreOptions::default()).unwrap();
        let clock = FixedClock::new(at("2027-01-01T00:00:00Z"));
        assert_eq!(lock_of(&store, &clock), None);
        clock.set(at("2026-01-01T00:00:00Z"));
        assert_eq!(lock_of(&store, &clock), None);
    }

    /// A file from before marks were kept gets one at the latest instant it records.
    #[test]
    fn an_upgraded_file_is_marked_at_its_latest_instant() {
        let dir = tempfile::tempdir().unwrap();
        let scripts: Vec<&str> = std::iter::once(schema::V1)
            .chain(schema::MIGRATIONS[..7].iter().copied())
            .collect();
        old_store(dir.path(), &scripts, 8, 5, b"old-store");
        let last_success = at("2026-11-29T02:00:00Z");
        Connection::open(dir.path().join(DB_FILE))
            .unwrap()
            .execute(
                "INSERT INTO sync_device (singleton, server_url, device_id, coordinator, district, signing_key, enrolled_at, max_offline_secs, last_success)
                 VALUES (1, 'http://127.0.0.1:9', 'dev-1', 'c1', '110105', x'00', '2026-11-01T00:00:00.000000Z', 259200, ?1)",
                [timestamp(last_success)],
            )
            .unwrap();
        let store = Store::open(dir.path(), &FixedKey([5; 32]), StoreOptions::default()).unwrap();
        let clock = FixedClock::new(last_success - Duration::days(1));
        assert_eq!(
            lock_of(&store, &clock),
            Some(Lock::ClockRollback(last_success))
        );
        clock.set(last_success + Duration::hours(1));
        assert_eq!(lock_of(&store, &clock), None);
    }
}
