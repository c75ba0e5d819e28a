//! Phones and the real server, on a clean network and through the fault-injecting proxy.
//! Every test runs on SQLite, and on PostgreSQL when `LGT_TEST_DATABASE_URL` is set.

use lgt_e2e::{assert_converged, backends, replica, tls_identity, FaultProxy, Phone, TestServer};
use lgt_protocol::Bucket;

/// Registers people and runs permits, numbered from the phone's reserved pool, on a phone;
/// returns the permit ids.
fn field_work(phone: &mut Phone, people: usize, permits: usize) -> Vec<String> {
    let receipts = phone.register(people);
    receipts
        .iter()
        .take(permits)
        .map(|r| phone.issue(&r.person_id).permit.id)
        .collect()
}

#[test]
fn phones_converge_on_a_clean_network() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let mut phone = Phone::new(1);
        phone.enroll(&server.url, &server.enrollment_code("coord-1", "110105"));
        // The first sync reserves the phone's permit numbers.
        phone.sync_until_quiet(3);
        let permits = field_work(&mut phone, 4, 2);
        assert_eq!(phone.status().queue_depth, 4 + 2 * 3);
        assert_eq!(phone.sync_until_quiet(3), 1, "{backend:?}");
        let status = phone.status();
        assert!(status.last_success.is_some());
        // Four persons, their four registrations, their dwellings; two permits.
        let dwellings = server.count("SELECT COUNT(*) FROM dwellings");
        assert!((1..=4).contains(&dwellings), "{dwellings}");
        assert_eq!(
            status.buckets.iter().map(|b| b.entries).sum::<i64>(),
            4 + 4 + dwellings + 2
        );
        let phones = vec![(phone, permits)];
        assert_converged(&server, &phones);
    }
}

/// Four phones in two districts work and sync in parallel through `proxy` with faults,
/// then sync once more on a clean network; everything must have converged.
fn faulty_run(server: &TestServer, proxy: &FaultProxy) {
    proxy.set_fault_rate(0.0);
    let districts = ["110105", "110105", "310115", "310115"];
    // Enrollment and a first sync through the proxy before the faults start (a lost enrollment answer has its
    // own test: a_lost_enrollment_answer_is_asked_again_with_the_same_code).
    let enrolled: Vec<Phone> = districts
        .iter()
        .enumerate()
        .map(|(i, district)| {
            let phone = Phone::new(100 + i as u64);
            let code = server.enrollment_code(&format!("coord-{i}"), district);
            match proxy.pin {
                Some(pin) => phone.enroll_pinned(&proxy.url, pin, &code),
                None => phone.enroll(&proxy.url, &code),
            }
            // The first sync reserves the phone's permit numbers.
            phone.sync_until_quiet(3);
            phone
        })
        .collect();
    proxy.set_fault_rate(0.4);
    let phones: Vec<(Phone, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = enrolled
            .into_iter()
            .map(|mut phone| {
                scope.spawn(move || {
                    let mut permits = Vec::new();
                    for _round in 0..6 {
                        permits.extend(field_work(&mut phone, 5, 2));
                        phone.sync_until_quiet(400);
                    }
                    (phone, permits)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    proxy.set_fault_rate(0.0);
    for (phone, _) in &phones {
        phone.sync_until_quiet(3);
    }
    let stats = proxy.stats();
    eprintln!("{stats:?}");
    assert!(stats.faults > 20, "{stats:?}");
    assert_eq!(stats.replays_accepted, 0, "{stats:?}");
    let (replayed, accepted) = proxy.replay_captured();
    assert!(replayed > 10, "{replayed} signed requests captured");
    assert_eq!(accepted, 0, "replayed requests accepted");
    assert_converged(server, &phones);
}

#[test]
fn exactly_once_and_convergence_through_a_faulty_network() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        // Over HTTPS: the proxy terminates TLS like the load balancer in front of a server.
        let proxy = FaultProxy::start_tls(&server.url, 7, 0.0, &tls_identity());
        faulty_run(&server, &proxy);
    }
}

/// Two server processes on one database behind a balancer that sends each request, and
/// each copy of a duplicated or replayed one, to either: no state may live in a process.
#[test]
fn two_server_processes_on_one_database_keep_exactly_once() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let other = server.start_beside();
        let proxy = FaultProxy::balancing(&[&server.url, &other.url], 11, 0.0);
        faulty_run(&server, &proxy);
    }
}

#[test]
fn a_district_reaches_a_new_phone_gzipped_on_the_wire() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let mut station = Phone::new(301);
        station.enroll(&server.url, &server.enrollment_code("station", "110101"));
        station.register(150);
        station.sync_until_quiet(5);
        // A new phone of the district pulls it through a counting proxy that injects nothing.
        let proxy = FaultProxy::start(&server.url, 302, 0.0);
        let phone = Phone::new(302);
        phone.enroll(&proxy.url, &server.enrollment_code("newcomer", "110101"));
        phone.sync_until_quiet(5);
        let pulled = replica(&phone, Bucket::Records);
        assert_eq!(pulled, server.live_entries("district:110101:records"));
        let text: usize = pulled.iter().map(|(k, v)| k.len() + v.len()).sum();
        let down = proxy.stats().bytes_down;
        // The entries' text alone is larger than everything that came down (heads included):
        // the answers travelled compressed.
        assert!(
            down * 2 < text,
            "{backend:?}: {down} bytes down for {text} bytes of entries"
        );
    }
}
