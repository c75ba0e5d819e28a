//! Watchlist benchmarks, with a synthetic list of 1,000,000 listed persons (set
//! `LGT_WATCHLIST_BENCH_N` for a smaller run).
//!
//! * `exact_check/derive_field_cost`: one Argon2id derivation at [`StretchParams::FIELD`]
//!   (16 MiB, t=1): what the phone pays per identity number checked.
//! * `exact_check/lookup_sqlite_1m`: the look-up itself, the core's `SELECT` on the tag
//!   table holding the whole list, next to `exact_check/lookup_hashset_1m`, a probe of a
//!   plain in-memory `HashSet` of the same tags.
//! * `exact_check/check_identity_fixture_list`: the whole `FieldCore::watchlist_check_identity`
//!   of an unlisted number against the 1M list, whose derivations use the labelled
//!   benchmark cost (see below), so it shows everything except the field-cost derivation.
//! * `delta/apply_1000`: verifying and applying a 1,000-entry delta (500 added, 500
//!   removed) to the 1M list in one transaction.
//! * The full-snapshot import, bytes per entry and memory are measured once and printed
//!   (an import of a million entries is one long operation, not a criterion sample).
//!
//! Fixture cost: the server side would spend one field-cost derivation per identity number
//! and name key (about 3.8 per person, 13 ms each: about 14 core-hours per million persons
//! and epoch). The benchmark list is therefore built with `StretchParams::MINIMUM`
//! (8 KiB, t=1), clearly labelled; look-up and apply costs do not depend on it, and the
//! field-cost derivation is measured on its own.
//!
//! Run: `cargo bench -p lgt-core --features synthetic --bench watchlist`

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rusqlite::{Connection, OpenFlags};

use lgt_core::clock::FixedClock;
use lgt_core::crypto::{
    DataKey, KeyError, KeyProvider, RowCipher, SigningKey, StretchParams, StretchedKey,
};
use lgt_core::store::{Durability, StoreOptions};
use lgt_core::synthetic::SyntheticPeople;
use lgt_core::watchlist::{Payload, Subject, WatchlistPolicy};
use lgt_core::{FieldCore, OpenParams};
use lgt_publisher::{Epoch, ListedPerson, PublishedList, Signer, Validity};

const NOW: &str = "2026-11-29T02:00:00Z";

struct BenchKey;

impl KeyProvider for BenchKey {
    fn data_key(&self) -> Result<DataKey, KeyError> {
        Ok(DataKey::from_bytes([9; 32]))
    }

    fn destroy(&self) -> Result<(), KeyError> {
        Ok(())
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .expect("NOW is RFC 3339")
        .with_timezone(&Utc)
}

fn validity() -> Validity {
    Validity {
        created_at: now() - Duration::hours(1),
        expires_at: now() + Duration::days(7),
    }
}

/// `count` synthetic persons whose identity numbers are not in `used` (synthetic numbers are
/// drawn at random and do repeat in a million), recording theirs there.
fn persons(seed: u64, count: usize, used: &mut HashSet<String>) -> Vec<ListedPerson> {
    let today = now().date_naive();
    SyntheticPeople::new(seed, today)
        .filter(|r| used.insert(r.document.number.clone()))
        .take(count)
        .enumerate()
        .map(|(i, r)| ListedPerson {
            entry_ref: format!("BENCH-{seed}-{i}"),
            name: r.person.name,
            sex: r.person.sex,
            birth_date: NaiveDate::parse_from_str(
                r.person.birth_date.as_deref().unwrap_or("1980-01-01"),
                "%Y-%m-%d",
            )
            .unwrap_or_default(),
            id_numbers: vec![r.document.number],
            case_summary: "synthetic benchmark case".into(),
            instructions: "do not confront".into(),
        })
        .collect()
}

/// (VmRSS, VmHWM) of this process in MiB, from /proc (Linux).
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Nanoseconds this thread has run on a CPU (Linux schedstat), to tell the cost of a
/// derivation from the time spent waiting for a core on a shared machine.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn table_bytes(conn: &Connection, table: &str) -> u64 {
    conn.query_row(
        "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map_or(0, |b| b as u64)
}

fn bench(c: &mut Criterion) {
    let count: usize = std::env::var("LGT_WATCHLIST_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let root = SigningKey::generate().expect("key");
    let signer = Signer::delegate(
        &root,
        SigningKey::generate().expect("key"),
        now() + Duration::days(30),
    )
    .expect("delegation");
    let policy = WatchlistPolicy {
        roots: vec![root.public_key()],
        min_stretch: StretchParams::MINIMUM,
    };

    let mut used = HashSet::new();
    let listed = persons(1, count, &mut used);
    let started = Instant::now();
    let epoch = Epoch::new(1, StretchParams::MINIMUM).expect("epoch");
    let (mut list, package) =
        PublishedList::snapshot("bench", 1, epoch, &listed, validity(), &signer).expect("snapshot");
    let build = started.elapsed();
    let bytes = package.to_bytes();
    let payload = Payload::decode(&package.payload).expect("payload");
    let tags: HashSet<[u8; 16]> = payload.adds.iter().map(|r| r.tag).collect();
    let rows = payload.adds.len();
    drop(payload);

    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let core = FieldCore::create(OpenParams {
        dir: &store,
        keys: &BenchKey,
        actor: "bench",
        clock: Arc::new(FixedClock::new(now())),
        options: StoreOptions {
            durability: Durability::Full,
        },
    })
    .expect("store");
    // Reset the peak-RSS counter (Linux), so the peak below is the import's own.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (rss_before, _) = memory_mib();
    let started = Instant::now();
    core.watchlist_import(&bytes, &policy).expect("import");
    let import = started.elapsed();
    let (rss_after, hwm) = memory_mib();
    drop(bytes);

    let conn = Connection::open_with_flags(
        store.join("lgt.db"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("read-only connection");
    let entries_bytes = table_bytes(&conn, "watchlist_entries");
    let details_bytes = table_bytes(&conn, "watchlist_details");
    println!("\n== watchlist fixture ({count} listed persons, {rows} rows)");
    println!(
        "build (server, labelled benchmark cost Argon2id 8 KiB t=1, {} threads): {:.1} s",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        build.as_secs_f64()
    );
    println!(
        "import full snapshot (verify + apply, one transaction): {:.1} s",
        import.as_secs_f64()
    );
    println!(
        "on disk, tag table: {entries_bytes} bytes = {:.1} bytes per row, {:.1} bytes per listed person",
        entries_bytes as f64 / rows as f64,
        entries_bytes as f64 / count as f64
    );
    println!(
        "on disk, sealed details (identity-number rows only): {details_bytes} bytes = {:.1} per listed person",
        details_bytes as f64 / count as f64
    );
    println!(
        "memory: RSS {rss_before:.0} MiB before the import (the fixture: {count} persons, the package, the tag set), {rss_after:.0} MiB after, peak during the import {hwm:.0} MiB: the import itself holds at most {:.0} MiB more",
        hwm - rss_before
    );

    let salt = [7u8; 32];
    // The memory cost against the phone's budget (one person checked in at most 50 ms): one
    // derivation at 16, 32 and 64 MiB, and a whole person (identity number, name in
    // characters, two pinyin readings: four derivations, as `watchlist_check_identity` runs
    // them on up to 4 threads) at each.
    for m_mib in [16u32, 32, 64] {
        let params = StretchParams {
            m_kib: m_mib * 1024,
            ..StretchParams::FIELD
        };
        let (cpu, wall) = (thread_cpu_ns(), Instant::now());
        for i in 0..20 {
            let _ = StretchedKey::derive(&params, &salt, "id", &format!("{i}"));
        }
        let cpu_ms = match (cpu, thread_cpu_ns()) {
            (Some(before), Some(after)) => (after - before) as f64 / 20e6,
            _ => f64::NAN,
        };
        let one_wall = wall.elapsed().as_secs_f64() * 1e3 / 20.0;
        let person = Instant::now();
        let runs = 5;
        for round in 0..runs {
            std::thread::scope(|scope| {
                for probe in 0..4 {
                    let params = &params;
                    let salt = &salt;
                    scope.spawn(move || {
                        StretchedKey::derive(params, salt, "id", &format!("{round}-{probe}"))
                    });
                }
            });
        }
        println!(
            "Argon2id {m_mib} MiB t=1: {cpu_ms:.1} ms of CPU time per derivation ({one_wall:.1} ms wall); \
             one person (4 derivations on {} cores): {:.1} ms wall",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            person.elapsed().as_secs_f64() * 1e3 / runs as f64
        );
    }
    let mut group = c.benchmark_group("exact_check");
    group.bench_function("derive_field_cost", |b| {
        b.iter(|| StretchedKey::derive(&StretchParams::FIELD, &salt, "id", "110101202311012176"))
    });
    // The store keeps each tag keyed by its data key: probe the table as the core does.
    let cipher = RowCipher::new(&BenchKey.data_key().expect("key"));
    // The keyed step alone (one HMAC-SHA256 per row): what the phone pays per row at import,
    // and what a server computing per-device tag sets would pay per row and device.
    let started = Instant::now();
    let mut folded = 0u8;
    for tag in &tags {
        folded ^= cipher.watchlist_tag(tag)[0];
    }
    println!(
        "keyed step (HMAC-SHA256 of a tag): {:.2} µs per row over {} rows (fold {folded})",
        started.elapsed().as_secs_f64() * 1e6 / tags.len() as f64,
        tags.len()
    );
    let keyed = |tag: &[u8; 16]| cipher.watchlist_tag(tag);
    let probe = keyed(tags.iter().next().expect("a tag"));
    let mut absent = probe;
    absent[0] ^= 0xff;
    let mut statement = conn
        .prepare("SELECT kind FROM watchlist_entries WHERE tag = ?1")
        .expect("statement");
    group.bench_function("lookup_sqlite_1m", |b| {
        b.iter(|| {
            let hit: Option<u8> = statement.query_row([&probe[..]], |r| r.get(0)).ok();
            let miss: Option<u8> = statement.query_row([&absent[..]], |r| r.get(0)).ok();
            (hit, miss)
        })
    });
    let tags: HashSet<[u8; 16]> = tags.iter().map(keyed).collect();
    group.bench_function("lookup_hashset_1m", |b| {
        b.iter(|| (tags.contains(&probe), tags.contains(&absent)))
    });
    let unlisted = Subject {
        id_numbers: vec!["110101202311012176".into()],
        ..Subject::default()
    };
    group.bench_function("check_identity_fixture_list", |b| {
        b.iter(|| core.watchlist_check_identity(&unlisted).expect("check"))
    });
    group.finish();

    let mut group = c.benchmark_group("delta");
    group.sample_size(10);
    group.measurement_time(StdDuration::from_secs(20));
    let mut version = 1u64;
    let mut round = 0u64;
    // Each round adds 500 new persons and removes the 500 the previous round added.
    let mut previous: Vec<ListedPerson> = listed[..500.min(count)].to_vec();
    group.bench_function("apply_1000", |b| {
        b.iter_batched(
            || {
                round += 1;
                version += 1;
                let adds = persons(1000 + round, 500, &mut used);
                let delta = list
                    .delta(version, &adds, &previous, validity(), &signer)
                    .expect("delta")
                    .to_bytes();
                previous = adds;
                delta
            },
            |delta| core.watchlist_import(&delta, &policy).expect("apply"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
