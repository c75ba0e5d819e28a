//! A district reaching a new phone, measured (a table, not assertions on time):
//! 1. a district of 20,000 persons at 10,000 dwellings with 20,000 issued permits, seeded
//!    through the real core and server by a station device, reaches a newly enrolled phone
//!    in one sync: bytes on the wire (both ways, through a counting proxy), time, and the new
//!    phone's store size;
//! 2. then 100 changes made at the station (new registrations and address changes) reach it
//!    in an incremental sync.
//!
//! `cargo bench -p lgt-e2e --bench district` on SQLite; `LGT_BENCH_DISTRICT_PERSONS` changes
//! the 20,000 (dwellings and permits follow). The goal: the whole district in one sync.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use lgt_core::permit::{PermitCommand, PermitEvent};
use lgt_core::registration::Dwelling;
use lgt_core::synthetic::SyntheticPeople;
use lgt_e2e::{BackendChoice, FaultProxy, Phone, TestServer};

const DISTRICT: &str = "110105";

fn main() {
    let persons: usize = std::env::var("LGT_BENCH_DISTRICT_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dwellings = persons / 2;
    let server = TestServer::start(&BackendChoice::Sqlite);
    let proxy = FaultProxy::start(&server.url, 1, 0.0);

    let seeding = Instant::now();
    let station = Phone::new(1);
    station.enroll(&proxy.url, &server.enrollment_code("station", DISTRICT));
    station.sync_until_quiet(3);
    let mut people = SyntheticPeople::new(11, Utc::now().date_naive());
    let mut permits = Vec::with_capacity(persons);
    let mut numbers_left = station.status().permit_numbers_left;
    for i in 0..persons {
        let mut input = people.next_registration();
        input.dwelling = Dwelling {
            house_code: format!("HC{DISTRICT}{:06}", i % dwellings),
            ..input.dwelling
        };
        let person = station.core.register(&input).expect("register").person_id;
        permits.push(station.issue(&person).permit);
        numbers_left -= 1;
        // The pool of reserved numbers is topped up at each sync.
        if numbers_left == 0 {
            station.sync_until_quiet(3);
            numbers_left = station.status().permit_numbers_left;
        }
    }
    station.sync_until_quiet(3);
    let seeded = seeding.elapsed();
    println!(
        "seeded {persons} persons at {dwellings} dwellings with {persons} issued permits in {:.0} s",
        seeded.as_secs_f64()
    );

    let phone = Phone::new(2);
    phone.enroll(&proxy.url, &server.enrollment_code("newcomer", DISTRICT));
    let before = proxy.stats();
    let started = Instant::now();
    let report = phone.core.sync_now().expect("first sync");
    let first = started.elapsed();
    let after = proxy.stats();
    let merged = report.district_merged;
    let (store, wal) = store_size(&phone.dir().join("store"));
    let whole = merged >= 2 * persons + dwellings + persons;

    // 100 changes at the station: 50 new registrations, 50 address changes.
    for _ in 0..50 {
        station
            .core
            .register(&people.next_registration())
            .expect("register");
    }
    for permit in permits.iter().take(50) {
        station
            .core
            .permit(&PermitCommand::Apply {
                permit_id: permit.id.clone(),
                base_version: None,
                event: PermitEvent::ChangeAddress {
                    dwelling: Dwelling {
                        house_code: format!("HC{DISTRICT}{:06}", 0),
                        address: "synthetic".into(),
                        housing_type: "10".into(),
                    },
                },
            })
            .expect("change address");
    }
    station.sync_until_quiet(3);
    let before_incremental = proxy.stats();
    let started = Instant::now();
    let incremental_report = phone.core.sync_now().expect("incremental sync");
    let incremental = started.elapsed();
    let after_incremental = proxy.stats();

    println!();
    println!("| measurement | records | seconds | bytes down | bytes up | store |");
    println!("|---|---:|---:|---:|---:|---:|");
    row(
        "first sync of a new phone",
        merged,
        first,
        after.bytes_down - before.bytes_down,
        after.bytes_up - before.bytes_up,
        Some((store, wal)),
    );
    row(
        "incremental sync of 100 changes",
        incremental_report.district_merged,
        incremental,
        after_incremental.bytes_down - before_incremental.bytes_down,
        after_incremental.bytes_up - before_incremental.bytes_up,
        None,
    );
    println!(
        "\ngoal: the whole district in one sync: {}",
        if whole { "met" } else { "NOT met" }
    );
}

fn row(
    what: &str,
    records: usize,
    elapsed: Duration,
    down: usize,
    up: usize,
    store: Option<(u64, u64)>,
) {
    println!(
        "| {what} | {records} | {:.2} | {:.1} MB | {:.1} kB | {} |",
        elapsed.as_secs_f64(),
        down as f64 / 1e6,
        up as f64 / 1e3,
        store.map_or("".into(), |(db, wal)| format!(
            "{:.1} MB (+ WAL {:.1} MB)",
            db as f64 / 1e6,
            wal as f64 / 1e6
        ))
    );
}

/// The database file's size and the WAL's.
fn store_size(dir: &Path) -> (u64, u64) {
    let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
    (size("lgt.db"), size("lgt.db-wal"))
}
