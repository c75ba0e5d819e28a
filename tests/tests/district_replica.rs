//! The district as the unit of data, end to end: four devices on the real server through the
//! fault-injecting proxy. Phones A and B and a station device S of one district, phone C of
//! another. What one of them records reaches its colleagues' own tables, to find, list by
//! dwelling and act on with no network; none of it reaches C. A stale edit is a conflict the
//! phone settles back from, and a supervisor's resolution reaches every phone of the
//! district. SQLite, and PostgreSQL when configured.

use chrono::Utc;
use lgt_core::permit::{PermitCommand, PermitEvent, PermitState};
use lgt_core::registration::{Dwelling, RegistrationInput, RegistrationStatus};
use lgt_core::synthetic::SyntheticPeople;
use lgt_e2e::signer::{device, outcome, permit_op, push};
use lgt_e2e::{backends, FaultProxy, Phone, TestServer};
use lgt_protocol::Outcome;
use lgt_server::resolution::{resolve, Side};

const HOME: &str = "110101";
const OTHER: &str = "440305";

fn enrolled(server: &TestServer, proxy: &FaultProxy, seed: u64, district: &str) -> Phone {
    let phone = Phone::new(seed);
    let code = server.enrollment_code(&format!("coord-{seed}"), district);
    phone.enroll(&proxy.url, &code);
    // The first sync reserves its permit numbers.
    phone.sync_until_quiet(20);
    phone
}

fn cancel(phone: &Phone, permit_id: &str) -> PermitState {
    phone
        .core
        .permit(&PermitCommand::Apply {
            permit_id: permit_id.to_owned(),
            base_version: None,
            event: PermitEvent::Cancel { reason: "3".into() },
        })
        .expect("cancel")
        .permit
        .state
}

fn move_to(phone: &Phone, permit_id: &str, house_code: &str) {
    phone
        .core
        .permit(&PermitCommand::Apply {
            permit_id: permit_id.to_owned(),
            base_version: None,
            event: PermitEvent::ChangeAddress {
                dwelling: Dwelling {
                    house_code: house_code.into(),
                    address: "synthetic".into(),
                    housing_type: "10".into(),
                },
            },
        })
        .expect("change address");
}

fn house_on(phone: &Phone, permit_id: &str) -> String {
    phone
        .core
        .permit_show(permit_id)
        .expect("permit")
        .permit
        .dwelling
        .house_code
}

fn state_on(phone: &Phone, permit_id: &str) -> PermitState {
    phone
        .core
        .permit_show(permit_id)
        .expect("permit")
        .permit
        .state
}

/// A synthetic person's registration, at `house_code` when given.
fn someone(seed: u64, house_code: Option<&str>) -> RegistrationInput {
    let mut input = SyntheticPeople::new(seed, Utc::now().date_naive()).next_registration();
    if let Some(code) = house_code {
        input.dwelling = Dwelling {
            house_code: code.into(),
            ..input.dwelling
        };
    }
    input
}

#[test]
fn a_district_shares_its_people_dwellings_and_permits_and_nothing_leaves_it() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let proxy = FaultProxy::start(&server.url, 17, 0.0);
        let a = enrolled(&server, &proxy, 501, HOME);
        let b = enrolled(&server, &proxy, 502, HOME);
        let station = enrolled(&server, &proxy, 503, HOME);
        let c = enrolled(&server, &proxy, 504, OTHER);
        proxy.set_fault_rate(0.3);

        // A registers a person at a dwelling and issues a permit; the station issues one
        // for a person of its own.
        let input = someone(1, Some("HC1101010001"));
        let number = input.document.number.clone();
        let person = a.core.register(&input).expect("register").person_id;
        let permit = a.issue(&person).permit.id;
        let at_station = station
            .core
            .register(&someone(2, None))
            .expect("register")
            .person_id;
        let station_permit = station.issue(&at_station).permit.id;
        // Each pushes, then each pulls what the others pushed.
        for phone in [&a, &station, &a, &b, &c] {
            phone.sync_until_quiet(50);
        }

        // Offline, B finds A's person by identity number and by the dwelling, and cancels
        // A's permit; A cancels the station's permit in the field.
        let found = b.core.find_by_document_number(&number).expect("find");
        assert_eq!(found.len(), 1, "{backend:?}");
        assert_eq!(found[0].person_id, person);
        let dwelling = b.core.dwelling("HC1101010001").expect("dwelling");
        assert_eq!(dwelling.registrations.len(), 1);
        assert_eq!(dwelling.registrations[0].person_id, person);
        assert_eq!(dwelling.registrations[0].status, RegistrationStatus::Active);
        assert_eq!(state_on(&b, &permit), PermitState::Delivered);
        assert_eq!(cancel(&b, &permit), PermitState::Cancelled);
        assert_eq!(cancel(&a, &station_permit), PermitState::Cancelled);
        for phone in [&b, &a, &station] {
            phone.sync_until_quiet(50);
        }
        b.sync_until_quiet(50);
        // A sees B's cancellation; the station sees A's.
        assert_eq!(state_on(&a, &permit), PermitState::Cancelled);
        assert_eq!(state_on(&station, &station_permit), PermitState::Cancelled);
        assert_eq!(state_on(&b, &station_permit), PermitState::Cancelled);

        // C never receives any of it.
        c.sync_until_quiet(50);
        assert!(c.core.find_by_document_number(&number).unwrap().is_empty());
        assert_eq!(
            c.core.dwelling("HC1101010001").unwrap_err().code(),
            "not_found"
        );
        for id in [&permit, &station_permit] {
            assert_eq!(c.core.permit_show(id).unwrap_err().code(), "not_found");
        }
        assert!(c.core.sync_district_permits().unwrap().is_empty());
        // And a device of C's district that knows the permit's id and version anyway (its own
        // signing client) is refused, the permit unchanged.
        let other = device(&server, OTHER);
        let version = a.core.permit_show(&permit).unwrap().permit.version;
        let attempt = push(
            &server,
            &other,
            vec![permit_op(
                "c-cancel",
                &permit,
                version,
                serde_json::json!({"event": "cancel", "reason": "1"}),
            )],
        );
        assert!(
            matches!(outcome(&attempt[0]), Outcome::Rejected { reason } if !reason.contains(&permit)),
            "{attempt:?}"
        );

        // A and B register one identity number offline: one person, two registrations.
        let twice = someone(3, None);
        let on_a = a.core.register(&twice).expect("register on A").person_id;
        let on_b = b.core.register(&twice).expect("register on B").person_id;
        assert_ne!(on_a, on_b);
        for phone in [&a, &b, &a, &b] {
            phone.sync_until_quiet(50);
        }
        let mut seen = Vec::new();
        for phone in [&a, &b] {
            let found = phone
                .core
                .find_by_document_number(&twice.document.number)
                .unwrap();
            assert_eq!(found.len(), 1, "{backend:?}");
            let export = phone.core.export_person(&found[0].person_id).unwrap();
            assert_eq!(export.registrations.len(), 2, "{backend:?}");
            seen.push(found[0].person_id.clone());
        }
        assert_eq!(seen[0], seen[1]);
        assert!([&on_a, &on_b].contains(&&seen[0]));

        // Stale edits. B cancels a permit of A's; A, not yet told, changes its address: a
        // conflict, and A's permit goes back to the server's state, cancelled.
        let holder = a.core.register(&someone(4, None)).unwrap().person_id;
        let cancelled = a.issue(&holder).permit.id;
        let holder = a.core.register(&someone(5, None)).unwrap().person_id;
        let moved = a.issue(&holder).permit.id;
        a.sync_until_quiet(50);
        b.sync_until_quiet(50);
        assert_eq!(cancel(&b, &cancelled), PermitState::Cancelled);
        move_to(&b, &moved, "HCB0000000001");
        b.sync_until_quiet(50);
        move_to(&a, &cancelled, "HCA0000000001");
        move_to(&a, &moved, "HCA0000000002");
        a.sync_until_quiet(50);
        assert_eq!(
            state_on(&a, &cancelled),
            PermitState::Cancelled,
            "{backend:?}"
        );
        assert_eq!(house_on(&a, &moved), "HCB0000000001");
        // The supervisor keeps the cancellation, and takes A's address for the other permit;
        // both phones converge on it.
        let conflicts = server
            .block_on(lgt_server::admin::conflicts(&server.db, false))
            .unwrap();
        assert_eq!(conflicts.len(), 2, "{conflicts:?}");
        for conflict in &conflicts {
            let side = if conflict.record_id == moved {
                Side::Phone
            } else {
                Side::Server
            };
            server
                .block_on(resolve(
                    &server.db,
                    &conflict.id,
                    side,
                    "checked at the door",
                ))
                .unwrap();
        }
        for phone in [&a, &b] {
            phone.sync_until_quiet(50);
            assert_eq!(house_on(phone, &moved), "HCA0000000002", "{backend:?}");
            assert_eq!(state_on(phone, &cancelled), PermitState::Cancelled);
        }

        let stats = proxy.stats();
        assert!(stats.faults > 0, "{stats:?}");
    }
}
