//! The soak: twenty phones doing the field day for a bounded time through the fault-injecting
//! proxy, balanced over two server processes on one database (PostgreSQL when
//! `LGT_TEST_DATABASE_URL` is set), one server stopped and started again mid-run, one phone
//! killed in the middle of a sync and reopened from its files. At the end every invariant of
//! the exactly-once tests holds, every phone's audit chain verifies, and the process's memory
//! was sampled all along.
//!
//! Ignored in the normal suite; `.ci/run` runs it in its own stage:
//! `LGT_SOAK_SECS=600 cargo test -p lgt-e2e --test soak -- --ignored --nocapture`
//! (`LGT_SOAK_SECS`, default 600, is the length of the faulty part).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{Duration as Days, Utc};
use lgt_core::crypto::{SigningKey, StretchParams};
use lgt_core::permit::PermitEvent;
use lgt_core::scan::{Format, PermitVerdict, Symbol};
use lgt_core::synthetic::SyntheticPeople;
use lgt_core::watchlist::{ListStatus, WatchlistPolicy};
use lgt_e2e::{assert_converged, backends, listed, BackendChoice, FaultProxy, Phone, TestServer};
use lgt_publisher::{Epoch, PublishedList, Signer, Validity};

const PHONES: usize = 20;
const DISTRICTS: [&str; 4] = ["110105", "310115", "440305", "510107"];
/// Test-only stretching cost (labelled so).
const CHEAP: StretchParams = StretchParams::MINIMUM;

/// The process's resident memory (kB), from /proc/self/status.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The list: the `nth` person each phone will register (phones draw their people from
/// `SyntheticPeople` by their seed), under version `version`.
fn publish(server: &TestServer, root: &SigningKey, version: u64, nth: &[usize]) {
    let signer = Signer::delegate(
        root,
        SigningKey::generate().unwrap(),
        Utc::now() + Days::days(30),
    )
    .unwrap();
    let mut persons = Vec::new();
    for phone in 0..PHONES {
        let mut people = SyntheticPeople::new(seed(phone), Utc::now().date_naive());
        let inputs: Vec<_> = (0..=*nth.iter().max().unwrap())
            .map(|_| people.next_registration())
            .collect();
        for &n in nth {
            persons.push(listed(&format!("CASE-{phone}-{n}"), &inputs[n]));
        }
    }
    let (_, package) = PublishedList::snapshot(
        "wanted-soak",
        version,
        Epoch::new(1, CHEAP).unwrap(),
        &persons,
        Validity {
            created_at: Utc::now() - Days::hours(1),
            expires_at: Utc::now() + Days::days(7),
        },
        &signer,
    )
    .unwrap();
    server
        .block_on(lgt_server::watchlist::publish(
            &server.db,
            &package.to_bytes(),
        ))
        .expect("publish");
}

fn seed(phone: usize) -> u64 {
    1500 + phone as u64
}

/// What one phone did.
#[derive(Default)]
struct Done {
    rounds: usize,
    registered: usize,
    permits: Vec<String>,
    cancelled: usize,
    scanned: usize,
    rechecks: usize,
    syncs: usize,
}

/// One round of the field day on `phone`: two registrations, a permit issued and delivered
/// from the reserved pool, every third round a cancellation of its oldest live permit, a scan
/// of a permit's QR code, a watchlist re-check, then a sync until nothing is left to send.
fn round(phone: &mut Phone, done: &mut Done) {
    let receipts = phone.register(2);
    done.registered += 2;
    if phone.core.permit_number_from_pool().unwrap().is_some() {
        let permit = phone.issue(&receipts[0].person_id).permit;
        let qr = phone.core.permit_qr(&permit.id).unwrap();
        let scanned = phone
            .core
            .scan_symbol(Symbol {
                format: Format::Qr,
                text: qr,
                position: Vec::new(),
            })
            .unwrap();
        assert_eq!(scanned.permit.unwrap().verdict, PermitVerdict::Valid);
        done.scanned += 1;
        done.permits.push(permit.id);
    }
    if done.rounds % 3 == 2 && done.permits.len() > done.cancelled {
        let id = done.permits[done.cancelled].clone();
        let current = phone.core.permit_show(&id).unwrap().permit;
        // A colleague may have changed it: a stale version is a refusal, not a failure.
        if phone
            .apply(
                &id,
                current.version,
                PermitEvent::Cancel { reason: "1".into() },
            )
            .is_ok()
        {
            done.cancelled += 1;
        }
    }
    if !matches!(phone.core.watchlist_status().unwrap(), ListStatus::Missing) {
        phone.core.watchlist_recheck().unwrap();
        done.rechecks += 1;
    }
    done.syncs += phone.sync_until_quiet(1_000);
    done.rounds += 1;
}

#[test]
#[ignore = "the soak (minutes): its own CI stage runs it"]
fn soak_twenty_phones_two_servers_faults_a_server_restart_and_a_killed_phone() {
    let secs: u64 = std::env::var("LGT_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let backend = backends()
        .into_iter()
        .find(|b| matches!(b, BackendChoice::Postgres(_)))
        .unwrap_or_else(|| {
            eprintln!("soak: NOT on PostgreSQL (LGT_TEST_DATABASE_URL unset): on SQLite");
            BackendChoice::Sqlite
        });
    let started = Instant::now();
    let mut first = TestServer::start(&backend);
    let second = first.start_beside();
    let proxy = FaultProxy::balancing(&[&first.url, &second.url], 15, 0.0);
    let root = SigningKey::generate().unwrap();
    let policy = WatchlistPolicy {
        roots: vec![root.public_key()],
        min_stretch: CHEAP,
    };
    // The list names the 3rd person of every phone; version 2, mid-run, also the 9th.
    publish(&first, &root, 1, &[3]);

    let phones: Vec<Phone> = (0..PHONES)
        .map(|i| {
            let phone = Phone::new(seed(i));
            let district = DISTRICTS[i % DISTRICTS.len()];
            phone.enroll(
                &proxy.url,
                &first.enrollment_code(&format!("coord-{i}"), district),
            );
            phone.core.sync_pin_watchlist(&policy).unwrap();
            phone.sync_until_quiet(5);
            phone
        })
        .collect();
    eprintln!(
        "soak: {PHONES} phones enrolled in {} districts in {:.0?}; {backend:?}; faulty part {secs} s",
        DISTRICTS.len(),
        started.elapsed()
    );
    proxy.set_fault_rate(0.2);

    let deadline = Instant::now() + Duration::from_secs(secs);
    let stop = AtomicBool::new(false);
    let mut memory = vec![(0u64, rss_kb())];
    let soak_start = Instant::now();
    let (results, restarted_after) = std::thread::scope(|scope| {
        let stop = &stop;
        let handles: Vec<_> = phones
            .into_iter()
            .enumerate()
            .map(|(i, mut phone)| {
                scope.spawn(move || {
                    let mut done = Done::default();
                    let mut killed = false;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        round(&mut phone, &mut done);
                        // Phone 0 is killed mid-sync once, halfway through.
                        if i == 0
                            && !killed
                            && Instant::now() + Duration::from_secs(secs / 2) > deadline
                        {
                            phone.register(1);
                            done.registered += 1;
                            phone.kill_mid_sync(Duration::from_millis(30));
                            killed = true;
                            eprintln!("soak: phone 0 killed mid-sync and reopened from its files");
                        }
                    }
                    assert!(i != 0 || killed, "phone 0 was never killed");
                    (phone, done)
                })
            })
            .collect();
        // The main thread: memory every tenth of the run, the second list a third in, the
        // first server stopped at 40% and started again 10 s later.
        let mut restarted_after = None;
        let mut published = false;
        while Instant::now() < deadline && !handles.iter().all(|h| h.is_finished()) {
            std::thread::sleep(Duration::from_secs((secs / 10).max(1)));
            let at = soak_start.elapsed().as_secs();
            memory.push((at, rss_kb()));
            eprintln!(
                "soak: {at} s: RSS {} MiB; proxy {:?}",
                rss_kb() / 1024,
                proxy.stats()
            );
            if !published && at * 3 >= secs {
                publish(&first, &root, 2, &[3, 9]);
                published = true;
                eprintln!("soak: list version 2 published");
            }
            if restarted_after.is_none() && at * 10 >= secs * 4 {
                first.stop();
                std::thread::sleep(Duration::from_secs(10.min(secs / 10 + 1)));
                first
                    .reopen()
                    .expect("the server starts again on its database");
                restarted_after = Some(at);
                eprintln!("soak: server 1 stopped at {at} s and started again");
            }
        }
        stop.store(true, Ordering::Relaxed);
        let results: Vec<(Phone, Done)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (results, restarted_after)
    });
    assert!(restarted_after.is_some(), "the server was never restarted");

    // Quiet network: every phone syncs until nothing is left, twice over (the second pass
    // brings every phone what the others sent last).
    proxy.set_fault_rate(0.0);
    for _ in 0..2 {
        for (phone, _) in &results {
            phone.sync_until_quiet(10);
        }
    }
    memory.push((soak_start.elapsed().as_secs(), rss_kb()));
    let stats = proxy.stats();
    let total = |f: fn(&Done) -> usize| results.iter().map(|(_, d)| f(d)).sum::<usize>();
    let (rounds, registered, permits, cancelled, scanned, rechecks, syncs) = (
        total(|d| d.rounds),
        total(|d| d.registered),
        total(|d| d.permits.len()),
        total(|d| d.cancelled),
        total(|d| d.scanned),
        total(|d| d.rechecks),
        total(|d| d.syncs),
    );
    eprintln!(
        "soak: {rounds} rounds: {registered} registrations, {permits} permits issued and delivered, {cancelled} cancelled, {scanned} scans, {rechecks} watchlist re-checks, {syncs} sync attempts; proxy {stats:?}"
    );

    // The invariants.
    let phones: Vec<(Phone, Vec<String>)> = results
        .into_iter()
        .map(|(phone, done)| (phone, done.permits))
        .collect();
    assert!(stats.faults > 100, "{stats:?}");
    assert_eq!(stats.replays_accepted, 0, "{stats:?}");
    assert_converged(&first, &phones);
    for (phone, _) in &phones {
        let audit = phone.core.audit_verify().unwrap();
        assert!(audit.is_intact(), "{audit:?}");
        match phone.core.watchlist_status().unwrap() {
            ListStatus::Current(info) => assert_eq!(info.version, 2),
            other => panic!("list not current: {other:?}"),
        }
    }
    assert_eq!(
        first.count("SELECT COUNT(*) FROM registrations"),
        registered as i64,
        "nothing lost, nothing twice"
    );
    let hits = first.count("SELECT COUNT(*) FROM watchlist_hits");
    eprintln!("soak: invariants hold: nothing lost, nothing twice ({registered} registrations, {} ledger operations, {hits} watchlist hits on the server), every queue empty, every replica equal to the server's buckets, every audit chain intact, every phone on list version 2", first.count("SELECT COUNT(*) FROM ledger"));
    let peak = memory.iter().map(|m| m.1).max().unwrap();
    let line: Vec<String> = memory
        .iter()
        .map(|(at, kb)| format!("{at}s={}MiB", kb / 1024))
        .collect();
    eprintln!(
        "soak: RSS of the test process (both servers, the proxy and the twenty phones' cores) over time: {}",
        line.join(" ")
    );
    // The servers run in this process beside the twenty phones, whose SQLite page caches
    // (two connections each, up to 2 MiB a connection) fill as their stores grow: the series
    // above is reported, not judged flat. The bound only catches a gross leak.
    assert!(
        peak < 1024 * 1024,
        "the test process grew to {peak} kB (over 1 GiB)"
    );
    let half = memory.len() / 2;
    let (t_half, m_half) = memory[half];
    let (t_end, m_end) = *memory.last().unwrap();
    eprintln!(
        "soak: RSS growth over the second half: {} MiB in {} s",
        (m_end as i64 - m_half as i64) / 1024,
        t_end - t_half
    );
}
