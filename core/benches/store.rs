//! Store benchmarks: the cost of the core's guarantees next to plain SQLite.
//!
//! * `register_one`: one [`FieldCore::register`] of a new person (validation, AES-GCM
//!   sealing, blind indexes, outbox, audit, commit) against one plain-rusqlite `INSERT` of
//!   the same fields as clear columns, each in its own transaction.
//! * `find_one_of_100k`: one [`FieldCore::find_by_document_number`] among 100,000 people
//!   (which also appends and commits an audit record) against one indexed `SELECT` by ID
//!   number through a cached statement over the same 100,000 rows.
//!
//! Both sides use the same pragmas (WAL, `synchronous=FULL`, `foreign_keys`,
//! `temp_store=MEMORY`) and store their files in a temporary directory on the same disk.
//! The `lgt_core_sync_normal` entries repeat the core's measurement with
//! `synchronous=NORMAL` (no fsync per commit), to show how much of it is the fsync.
//!
//! The goal: a registration costs at most 3x the plain insert, and a look-up stays under 1 ms.
//!
//! Run: `cargo bench -p lgt-core --features synthetic --bench store`

use std::cell::LazyCell;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion};
use rusqlite::{params, Connection, TransactionBehavior};
use tempfile::TempDir;

use lgt_core::clock::{Clock, FixedClock};
use lgt_core::crypto::{DataKey, KeyError, KeyProvider};
use lgt_core::registration::RegistrationInput;
use lgt_core::store::{Durability, StoreOptions};
use lgt_core::synthetic::SyntheticPeople;
use lgt_core::{FieldCore, OpenParams};

/// People in the look-up fixture.
const FIXTURE_PEOPLE: usize = 100_000;
/// The account id recorded in the audit trail.
const ACTOR: &str = "bench-coordinator";
/// The instant the fixed clock shows (noon in China on 2026-06-01).
const NOW: &str = "2026-06-01T04:00:00Z";

/// A fixed data key; destroying it is a no-op (the temporary directory goes anyway).
struct BenchKey;

impl KeyProvider for BenchKey {
    fn data_key(&self) -> Result<DataKey, KeyError> {
        Ok(DataKey::from_bytes([7; 32]))
    }

    fn destroy(&self) -> Result<(), KeyError> {
        Ok(())
    }
}

fn clock() -> Arc<FixedClock> {
    let now = DateTime::parse_from_rfc3339(NOW)
        .expect("NOW is RFC 3339")
        .with_timezone(&Utc);
    Arc::new(FixedClock::new(now))
}

fn today() -> NaiveDate {
    clock().today()
}

fn options(durability: Durability) -> StoreOptions {
    StoreOptions { durability }
}

fn create_core(dir: &Path, durability: Durability) -> FieldCore {
    FieldCore::create(OpenParams {
        dir,
        keys: &BenchKey,
        actor: ACTOR,
        clock: clock(),
        options: options(durability),
    })
    .expect("create store")
}

fn open_core(dir: &Path, durability: Durability) -> FieldCore {
    FieldCore::open(OpenParams {
        dir,
        keys: &BenchKey,
        actor: ACTOR,
        clock: clock(),
        options: options(durability),
    })
    .expect("open store")
}

/// Synthetic people whose ID numbers never repeat. The generator draws numbers at random, so
/// a long stream holds a few duplicates; registering one of those again would take the
/// re-registration path (update the person, close the earlier registration), not the
/// new-person path under test, so they are skipped.
struct FreshPeople {
    people: SyntheticPeople,
    seen: HashSet<String>,
}

impl FreshPeople {
    fn new(seed: u64) -> Self {
        Self {
            people: SyntheticPeople::new(seed, today()),
            seen: HashSet::new(),
        }
    }

    fn next_person(&mut self) -> RegistrationInput {
        loop {
            let input = self.people.next_registration();
            if self.seen.insert(input.document.number.clone()) {
                return input;
            }
        }
    }
}

/// The plain baseline: every field of a registration as a clear column, one row per person,
/// an index on the ID number. No encryption, outbox or audit.
const PLAIN_SCHEMA: &str = "
CREATE TABLE people (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL,
    former_name          TEXT,
    sex                  TEXT NOT NULL,
    ethnicity            TEXT NOT NULL,
    birth_date           TEXT,
    doc_type             TEXT NOT NULL,
    id_number            TEXT NOT NULL,
    household_address    TEXT NOT NULL,
    house_code           TEXT NOT NULL,
    dwelling_address     TEXT NOT NULL,
    housing_type         TEXT NOT NULL,
    moved_in             TEXT NOT NULL,
    expected_stay_until  TEXT,
    reason_for_stay      TEXT NOT NULL,
    occupation           TEXT NOT NULL,
    employer_name        TEXT,
    employer_credit_code TEXT,
    landlord_name        TEXT,
    landlord_phone       TEXT,
    householder_name     TEXT,
    householder_relation TEXT,
    contact_phone        TEXT,
    created_at           TEXT NOT NULL
) STRICT;
CREATE INDEX people_id_number ON people(id_number);
";

const PLAIN_INSERT: &str = "INSERT INTO people (
    name, former_name, sex, ethnicity, birth_date, doc_type, id_number, household_address,
    house_code, dwelling_address, housing_type, moved_in, expected_stay_until, reason_for_stay,
    occupation, employer_name, employer_credit_code, landlord_name, landlord_phone,
    householder_name, householder_relation, contact_phone, created_at
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
          ?19, ?20, ?21, ?22, ?23)";

/// Every column but the rowid, as the look-up returns them.
const PLAIN_SELECT: &str = "SELECT
    name, former_name, sex, ethnicity, birth_date, doc_type, id_number, household_address,
    house_code, dwelling_address, housing_type, moved_in, expected_stay_until, reason_for_stay,
    occupation, employer_name, employer_credit_code, landlord_name, landlord_phone,
    householder_name, householder_relation, contact_phone, created_at
FROM people WHERE id_number = ?1";
const PLAIN_SELECT_COLUMNS: usize = 23;

/// A plain database with the store's pragmas (see `store::connect`).
fn plain_db(dir: &Path, synchronous: &str) -> Connection {
    let conn = Connection::open(dir.join("plain.db")).expect("open plain db");
    conn.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("WAL");
    conn.pragma_update(None, "synchronous", synchronous)
        .expect("synchronous");
    conn.pragma_update(None, "foreign_keys", "ON")
        .expect("foreign keys");
    conn.pragma_update(None, "temp_store", "MEMORY")
        .expect("temp store");
    conn.execute_batch(PLAIN_SCHEMA).expect("plain schema");
    conn
}

fn plain_insert(conn: &Connection, r: &RegistrationInput) {
    conn.prepare_cached(PLAIN_INSERT)
        .expect("prepare insert")
        .execute(params![
            r.person.name,
            r.person.former_name,
            r.person.sex,
            r.person.ethnicity,
            r.person.birth_date,
            r.document.doc_type,
            r.document.number,
            r.household_address,
            r.dwelling.house_code,
            r.dwelling.address,
            r.dwelling.housing_type,
            r.moved_in,
            r.expected_stay_until,
            r.reason_for_stay,
            r.occupation,
            r.employer.as_ref().map(|e| e.name.as_str()),
            r.employer.as_ref().and_then(|e| e.credit_code.as_deref()),
            r.landlord.as_ref().map(|c| c.name.as_str()),
            r.landlord.as_ref().map(|c| c.phone.as_str()),
            r.householder.as_ref().map(|h| h.name.as_str()),
            r.householder.as_ref().map(|h| h.relation.as_str()),
            r.contact_phone,
            NOW,
        ])
        .expect("plain insert");
}

/// One insert in its own immediate transaction, as the core's writes are.
fn plain_insert_committed(conn: &mut Connection, r: &RegistrationInput) {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .expect("begin");
    plain_insert(&tx, r);
    tx.commit().expect("commit");
}

/// Every row holding `number`, all columns read out.
fn plain_find(conn: &Connection, number: &str) -> Vec<Vec<Option<String>>> {
    let mut statement = conn.prepare_cached(PLAIN_SELECT).expect("prepare select");
    let rows = statement
        .query_map([number], |row| {
            (0..PLAIN_SELECT_COLUMNS)
                .map(|i| row.get::<_, Option<String>>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("select");
    rows.collect::<Result<_, _>>().expect("read rows")
}

/// Registers one fresh person per iteration in a new store with the given durability.
fn bench_core_register(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    durability: Durability,
    people: &mut FreshPeople,
) {
    let dir = TempDir::new().expect("tempdir");
    let core = create_core(dir.path(), durability);
    group.bench_function(name, |b| {
        b.iter_batched(
            || people.next_person(),
            |input| core.register(&input).expect("register"),
            BatchSize::SmallInput,
        );
    });
}

fn register_one(c: &mut Criterion) {
    // One stream of fresh people for the whole group: no ID number is registered twice.
    let mut people = FreshPeople::new(1);
    let mut group = c.benchmark_group("register_one");

    bench_core_register(&mut group, "lgt_core", Durability::Full, &mut people);

    let plain_dir = TempDir::new().expect("tempdir");
    let mut plain = plain_db(plain_dir.path(), "FULL");
    group.bench_function("plain_rusqlite", |b| {
        b.iter_batched(
            || people.next_person(),
            |input| plain_insert_committed(&mut plain, &input),
            BatchSize::SmallInput,
        );
    });
    drop(plain);

    // The same registration without the fsync per commit: the CPU and SQLite share.
    bench_core_register(
        &mut group,
        "lgt_core_sync_normal",
        Durability::Normal,
        &mut people,
    );

    group.finish();
}

/// 100,000 people, once in an lgt-core store and once in the plain table.
struct Fixture {
    _dir: TempDir,
    /// The store opened with the field default, `Durability::Full`.
    core: FieldCore,
    /// The same store through a second connection with `Durability::Normal`.
    core_normal: FieldCore,
    plain: Connection,
    numbers: Vec<String>,
}

impl Fixture {
    fn build() -> Self {
        let dir = TempDir::new().expect("tempdir");
        let store_dir = dir.path().join("store");
        let mut people = FreshPeople::new(2026);
        let inputs: Vec<_> = (0..FIXTURE_PEOPLE).map(|_| people.next_person()).collect();

        // The fixture is built with Durability::Normal (no fsync per commit) only to keep the
        // set-up short; each person is still registered in its own transaction through the
        // public API. The measurement below reopens it with the field default, Full.
        let started = Instant::now();
        {
            let core = create_core(&store_dir, Durability::Normal);
            for input in &inputs {
                core.register(input).expect("register fixture person");
            }
            // Dropping the last connection checkpoints the WAL into the database file.
        }
        let core_build = started.elapsed();

        // The plain rows go in one transaction: only the look-up is measured on this side.
        let started = Instant::now();
        let mut plain = plain_db(dir.path(), "FULL");
        {
            let tx = plain.transaction().expect("begin");
            for input in &inputs {
                plain_insert(&tx, input);
            }
            tx.commit().expect("commit");
        }
        let plain_build = started.elapsed();
        eprintln!(
            "find_one_of_100k fixture: {FIXTURE_PEOPLE} registrations through FieldCore \
             (Durability::Normal, one transaction each) in {:.1} s ({:.0} us each); \
             plain table (one transaction) in {:.2} s",
            core_build.as_secs_f64(),
            core_build.as_secs_f64() * 1e6 / FIXTURE_PEOPLE as f64,
            plain_build.as_secs_f64(),
        );

        let core = open_core(&store_dir, Durability::Full);
        let core_normal = open_core(&store_dir, Durability::Normal);
        let numbers: Vec<String> = inputs.into_iter().map(|i| i.document.number).collect();
        for probe in [&numbers[0], &numbers[FIXTURE_PEOPLE - 1]] {
            assert_eq!(core.find_by_document_number(probe).expect("find").len(), 1);
            assert_eq!(plain_find(&plain, probe).len(), 1);
        }
        Self {
            _dir: dir,
            core,
            core_normal,
            plain,
            numbers,
        }
    }

    /// The `i`-th number of a walk that visits all of them in scattered order (the stride is
    /// a prime that does not divide the count), so consecutive look-ups hit different pages.
    fn number(&self, i: usize) -> &str {
        &self.numbers[i.wrapping_mul(7919) % self.numbers.len()]
    }
}

fn find_one_of_100k(c: &mut Criterion) {
    // Built on first use, so a filtered run (`-- register_one`) skips it.
    let fixture = LazyCell::new(Fixture::build);
    let mut group = c.benchmark_group("find_one_of_100k");

    let mut i = 0usize;
    group.bench_function("lgt_core", |b| {
        let f = &*fixture;
        b.iter(|| {
            i += 1;
            f.core
                .find_by_document_number(f.number(i))
                .expect("find person")
        });
    });

    group.bench_function("plain_rusqlite", |b| {
        let f = &*fixture;
        b.iter(|| {
            i += 1;
            plain_find(&f.plain, f.number(i))
        });
    });

    // The same look-up without the fsync of its audit record's commit.
    group.bench_function("lgt_core_sync_normal", |b| {
        let f = &*fixture;
        b.iter(|| {
            i += 1;
            f.core_normal
                .find_by_document_number(f.number(i))
                .expect("find person")
        });
    });

    group.finish();
}

fn config() -> Criterion {
    // Two cores and an fsync per commit: short runs, few samples.
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

criterion_group! {
    name = benches;
    config = config();
    targets = register_one, find_one_of_100k
}
criterion_main!(benches);
