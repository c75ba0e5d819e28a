//! Authorization by district, played by the attacker: a device enrolled for one district,
//! speaking the protocol with a signing client of its own, tries to change, probe and read
//! another district's permits and to issue permit numbers it was never given. Each attempt is
//! refused for that operation alone, with a reason that names nothing of the other record,
//! and changes nothing on the server; a colleague in the permit's own district, sending the
//! same operation, is served. SQLite, and PostgreSQL when configured.

use lgt_core::sync::Credentials;
use lgt_e2e::signer::{device, op, outcome, permit_op, pull, push, refusals, reserve};
use lgt_e2e::{backends, Phone, TestServer};
use lgt_protocol::Outcome;

const HOME: &str = "110101";
const OTHER: &str = "440305";

/// The server's row of a permit, and the counts an attempt must leave as they were.
fn server_state(server: &TestServer, permit_id: &str) -> (Vec<Vec<Option<String>>>, i64, i64) {
    (
        server.rows(&format!(
            "SELECT district, version, number, data, updated_at FROM permits WHERE id = '{permit_id}'"
        )),
        server.count("SELECT COUNT(*) FROM conflicts"),
        server.count("SELECT COUNT(*) FROM bucket_entries"),
    )
}

/// A phone of `HOME` with one delivered permit, synced; returns it and the permit's id,
/// number and holder.
fn home_permit(server: &TestServer, seed: u64) -> (Phone, String, String, String) {
    let mut phone = Phone::new(seed);
    phone.enroll(&server.url, &server.enrollment_code("home", HOME));
    phone.sync_until_quiet(3);
    let person = phone.register(1).remove(0).person_id;
    let permit = phone.issue(&person).permit;
    phone.sync_until_quiet(3);
    (phone, permit.id, permit.number.unwrap(), person)
}

fn dwelling() -> serde_json::Value {
    serde_json::json!({"house_code": "H-9", "address": "synthetic", "housing_type": "10"})
}

fn accept() -> serde_json::Value {
    serde_json::json!({"event": "accept", "person_id": "p-x", "registration_id": "r-x",
                       "dwelling": dwelling()})
}

#[test]
fn another_districts_phone_can_neither_change_nor_probe_a_permit() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let (_owner, permit_id, number, person) = home_permit(&server, 301);
        let version = 3; // accepted, issued, delivered
        let attacker: Credentials = device(&server, OTHER);
        let before = server_state(&server, &permit_id);
        assert_eq!(before.0.len(), 1, "{backend:?}");

        // Every state-changing event, on the current version and on another. A permit that
        // exists nowhere is asked the same way.
        let attempts = |target: &str, tag: &str| {
            vec![
                permit_op(
                    &format!("{tag}1"),
                    target,
                    version,
                    serde_json::json!({"event": "cancel", "reason": "1"}),
                ),
                permit_op(
                    &format!("{tag}2"),
                    target,
                    1,
                    serde_json::json!({"event": "cancel", "reason": "1"}),
                ),
                permit_op(
                    &format!("{tag}3"),
                    target,
                    version,
                    serde_json::json!({"event": "change_address", "dwelling": dwelling()}),
                ),
                permit_op(
                    &format!("{tag}4"),
                    target,
                    version,
                    serde_json::json!({"event": "endorse"}),
                ),
                permit_op(
                    &format!("{tag}5"),
                    target,
                    version,
                    serde_json::json!({"event": "suspend"}),
                ),
            ]
        };
        let on_theirs = refusals(&push(&server, &attacker, attempts(&permit_id, "t")));
        let nowhere = "0191c0de-0000-7000-8000-000000000000";
        let on_nothing = refusals(&push(&server, &attacker, attempts(nowhere, "n")));
        // A refusal cannot tell a permit of another district from none at all.
        assert_eq!(on_theirs, on_nothing, "{backend:?}");
        // An accept that would take the permit's id over is refused the same way.
        let takeover = refusals(&push(
            &server,
            &attacker,
            vec![permit_op("t6", &permit_id, 0, accept())],
        ));
        assert_eq!(takeover[0], on_nothing[0]);
        for reason in on_theirs.iter().chain(&takeover) {
            for secret in [&permit_id, &number, &person] {
                assert!(!reason.contains(secret.as_str()), "{reason}");
            }
            assert!(!reason.contains(HOME), "{reason}");
        }
        // Nothing changed: the permit, the conflicts kept for supervisors, the buckets.
        assert_eq!(server_state(&server, &permit_id), before, "{backend:?}");

        // An operation whose record id is not the permit it changes is refused too.
        let disguised = op(
            "d1",
            "permit.event",
            nowhere,
            serde_json::json!({"permit_id": permit_id, "base_version": version,
                "version": version + 1, "occurred_on": "2026-01-10",
                "event": {"event": "cancel", "reason": "1"}}),
        );
        assert_eq!(
            refusals(&push(&server, &attacker, vec![disguised])).len(),
            1
        );
        assert_eq!(server_state(&server, &permit_id), before);

        // Its pulls never carry the permit, its number or its holder.
        let text = serde_json::to_string(&pull(&server, &attacker)).unwrap();
        for secret in [&permit_id, &number, &person] {
            assert!(!text.contains(secret.as_str()), "{backend:?}");
        }

        // The control: a colleague of the permit's district sending the same cancellation
        // is served, so the refusals above came from the district alone.
        let colleague = device(&server, HOME);
        let served = push(
            &server,
            &colleague,
            vec![permit_op(
                "c1",
                &permit_id,
                version,
                serde_json::json!({"event": "cancel", "reason": "1"}),
            )],
        );
        assert_eq!(outcome(&served[0]), &Outcome::Applied, "{backend:?}");
        let text = serde_json::to_string(&pull(&server, &colleague)).unwrap();
        assert!(text.contains(&permit_id));
    }
}

#[test]
fn a_permit_number_is_accepted_only_from_the_issuing_devices_own_reservation() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let issuer = device(&server, HOME);
        let colleague = device(&server, HOME);
        let stranger = device(&server, OTHER);
        let own = reserve(&server, &issuer);
        let colleagues = reserve(&server, &colleague);
        let strangers = reserve(&server, &stranger);
        let never_reserved = format!("{HOME}99999999");
        assert!(!own.contains(&never_reserved));

        let issue = |op_id: &str, permit: &str, number: &str| {
            vec![
                permit_op(&format!("{op_id}a"), permit, 0, accept()),
                permit_op(
                    &format!("{op_id}i"),
                    permit,
                    1,
                    serde_json::json!({"event": "issue", "number": number}),
                ),
            ]
        };
        let mut reasons = Vec::new();
        for (i, number) in [&colleagues[0], &strangers[0], &never_reserved]
            .into_iter()
            .enumerate()
        {
            let permit = format!("0191c0de-0000-7000-8000-00000000001{i}");
            let results = push(&server, &issuer, issue(&format!("x{i}"), &permit, number));
            assert_eq!(outcome(&results[0]), &Outcome::Applied);
            reasons.push(refusals(&results[1..]).remove(0));
            assert_eq!(
                server.count(&format!(
                    "SELECT COUNT(*) FROM permits WHERE number = '{}'",
                    server.db.vault.permit_number_blind(number)
                )),
                0,
                "{backend:?}"
            );
        }
        // Reserved for a colleague, for another district, or never: the same words.
        assert!(reasons.iter().all(|r| r == &reasons[0]), "{reasons:?}");
        assert!(
            reasons[0].contains("not reserved for this device"),
            "{reasons:?}"
        );
        assert_eq!(
            server.count("SELECT COUNT(*) FROM reserved_numbers WHERE used_by IS NOT NULL"),
            0
        );

        // Its own number is accepted once; a second permit under it is refused without
        // naming the permit that holds it.
        let first = "0191c0de-0000-7000-8000-000000000021";
        let results = push(&server, &issuer, issue("o1", first, &own[0]));
        assert!(
            results.iter().all(|r| outcome(r) == &Outcome::Applied),
            "{results:?}"
        );
        let second = "0191c0de-0000-7000-8000-000000000022";
        let results = push(&server, &issuer, issue("o2", second, &own[0]));
        let reason = refusals(&results[1..]).remove(0);
        assert!(reason.contains("already used"), "{reason}");
        assert!(!reason.contains(first), "{reason}");
        assert_eq!(
            server.rows(&format!(
                "SELECT id FROM permits WHERE number = '{}'",
                server.db.vault.permit_number_blind(&own[0])
            )),
            vec![vec![Some(first.to_owned())]]
        );
    }
}

#[test]
fn a_supervisor_resolves_a_conflict_and_the_resolution_reaches_the_district() {
    use lgt_server::resolution::{resolve, Side};
    for backend in backends() {
        let server = TestServer::start(&backend);
        let first = device(&server, HOME);
        let second = device(&server, HOME);
        let number = reserve(&server, &first).remove(0);
        let permit = "0191c0de-0000-7000-8000-000000000031";
        let moved = |house: &str| {
            serde_json::json!({"event": "change_address", "dwelling":
                {"house_code": house, "address": "synthetic", "housing_type": "10"}})
        };
        let setup = push(
            &server,
            &first,
            vec![
                permit_op("s1", permit, 0, accept()),
                permit_op(
                    "s2",
                    permit,
                    1,
                    serde_json::json!({"event": "issue", "number": number}),
                ),
                permit_op("s3", permit, 2, serde_json::json!({"event": "deliver"})),
                permit_op("s4", permit, 3, moved("H-FIRST")),
            ],
        );
        assert!(
            setup.iter().all(|r| outcome(r) == &Outcome::Applied),
            "{setup:?}"
        );
        // Both decided on version 3: the second is a conflict, kept for a supervisor.
        let stale = push(
            &server,
            &second,
            vec![permit_op("x1", permit, 3, moved("H-SECOND"))],
        );
        assert!(matches!(outcome(&stale[0]), Outcome::Conflict { .. }));
        let conflicts = server
            .block_on(lgt_server::admin::conflicts(&server.db, false))
            .unwrap();
        assert_eq!(conflicts.len(), 1);

        // The supervisor applies the second phone's change to the permit as it stands.
        let resolved = server
            .block_on(resolve(
                &server.db,
                &conflicts[0].id,
                Side::Phone,
                "confirmed on site",
            ))
            .unwrap();
        assert_eq!(resolved.version, Some(5), "{backend:?}");
        // The permit's log on the server: who recorded each version.
        let log = server.rows(&format!(
            "SELECT version, kind, recorded_by FROM permit_events WHERE permit_id = '{permit}' ORDER BY version"
        ));
        let kinds: Vec<_> = log.iter().map(|r| r[1].clone().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "accept",
                "issue",
                "deliver",
                "change_address",
                "change_address"
            ]
        );
        assert_eq!(log[4][2].as_deref(), Some("supervisor"));
        assert_eq!(log[3][2].as_deref(), Some(first.device_id.as_str()));
        // Every phone of the district pulls it; a resolved conflict cannot be resolved again.
        let pulled = serde_json::to_string(&pull(&server, &first)).unwrap();
        assert!(pulled.contains("H-SECOND"), "{backend:?}");
        assert!(server
            .block_on(resolve(&server.db, &conflicts[0].id, Side::Server, "again"))
            .is_err());

        // A cancellation stands: a change the state machine refuses on it cannot be applied,
        // and the conflict stays open for another decision.
        push(
            &server,
            &first,
            vec![permit_op(
                "c1",
                permit,
                5,
                serde_json::json!({"event": "cancel", "reason": "3"}),
            )],
        );
        let late = push(
            &server,
            &second,
            vec![permit_op("x2", permit, 5, moved("H-LATE"))],
        );
        assert!(matches!(outcome(&late[0]), Outcome::Conflict { .. }));
        let open = server
            .block_on(lgt_server::admin::conflicts(&server.db, false))
            .unwrap();
        assert_eq!(open.len(), 1);
        let before = server_state(&server, permit);
        assert!(server
            .block_on(resolve(&server.db, &open[0].id, Side::Phone, "no"))
            .is_err());
        assert_eq!(server_state(&server, permit), before);
        server
            .block_on(resolve(
                &server.db,
                &open[0].id,
                Side::Server,
                "the cancellation stands",
            ))
            .unwrap();
        assert!(server
            .block_on(lgt_server::admin::conflicts(&server.db, false))
            .unwrap()
            .is_empty());
    }
}
