//! The district's shared records: persons merged by identity number, registrations and
//! dwellings, in one records bucket every device of the district pulls; and authorization by
//! district for them, played by an attacker with a signing client of its own. Real phones on
//! the real core where phones act; synthetic people only. SQLite, and PostgreSQL when
//! configured.

use chrono::Utc;
use lgt_core::registration::{Contact, DocumentInput, RegistrationInput};
use lgt_core::synthetic::SyntheticPeople;
use lgt_e2e::signer::{device, op, outcome, permit_op, pull, push, refusals};
use lgt_e2e::{backends, Phone, TestServer};
use lgt_protocol::{Bucket, Outcome};
use serde_json::{json, Value};

const HOME: &str = "110101";
const OTHER: &str = "440305";
const NO_SUCH_PERSON: &str = "no such person in this device's district";
const NO_SUCH_REGISTRATION: &str = "no such registration in this device's district";

/// A valid synthetic 18-digit identity number: a 1980-01-01 birth in 110105, sequence `seq`.
fn number18(seq: u32) -> String {
    let body = format!("11010519800101{seq:03}");
    let check = lgt_core::identity::check_character(&body).unwrap();
    format!("{body}{check}")
}

/// The 15-digit form of [`number18`] (no century, no check character).
fn number15(seq: u32) -> String {
    format!("110105800101{seq:03}")
}

/// A synthetic registration for the number `number` (sequence `seq`), at a rented dwelling
/// `house_code` with a landlord.
fn registration(seed: u64, number: &str, seq: u32, house_code: &str) -> RegistrationInput {
    let today = Utc::now().date_naive();
    let mut input = SyntheticPeople::new(seed, today).next_registration();
    input.document = DocumentInput {
        doc_type: "1".into(),
        number: number.into(),
    };
    input.person.sex = if seq % 2 == 1 { "1" } else { "2" }.into();
    input.person.birth_date = None;
    input.dwelling.house_code = house_code.into();
    input.dwelling.housing_type = "2".into();
    input.landlord = Some(Contact {
        name: "合成房东".into(),
        phone: "19900001234".into(),
    });
    input
}

fn enrolled(server: &TestServer, seed: u64, district: &str) -> Phone {
    let phone = Phone::new(seed);
    phone.enroll(&server.url, &server.enrollment_code("coord", district));
    phone
}

/// The live entries of a district's records bucket: key -> JSON.
fn bucket(server: &TestServer, district: &str) -> std::collections::BTreeMap<String, Value> {
    server
        .live_entries(&format!("district:{district}:records"))
        .into_iter()
        .map(|(key, data)| (key, serde_json::from_str(&data).unwrap()))
        .collect()
}

/// A phone's replica of its records bucket: key -> JSON.
fn replica(phone: &Phone) -> std::collections::BTreeMap<String, Value> {
    phone
        .core
        .sync_replica(Bucket::Records)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, serde_json::from_str(&v).unwrap()))
        .collect()
}

/// Every row of every record table, the buckets and the conflicts: what a refusal must leave
/// as it was.
fn snapshot(server: &TestServer, filter: &str) -> Vec<Vec<Vec<Option<String>>>> {
    [
        ("persons", "id"),
        ("person_identifiers", "district, id_blind"),
        ("person_aliases", "local_id"),
        ("registrations", "id"),
        ("dwellings", "district, house_code"),
        ("permits", "id"),
    ]
    .iter()
    .map(|(table, order)| server.rows(&format!("SELECT * FROM {table} {filter} ORDER BY {order}")))
    .chain([
        server.rows("SELECT * FROM conflicts ORDER BY id"),
        server.rows("SELECT * FROM bucket_entries ORDER BY bucket, key"),
        server.rows("SELECT * FROM bucket_heads ORDER BY bucket"),
    ])
    .collect()
}

/// The rows a district's records live in, and every bucket.
fn district_rows(server: &TestServer, district: &str) -> Vec<Vec<Vec<Option<String>>>> {
    let mut rows = snapshot(server, &format!("WHERE district = '{district}'"));
    rows.truncate(6);
    rows.push(server.rows(&format!(
        "SELECT key, seq, data FROM bucket_entries
         WHERE bucket LIKE 'district:{district}:%' ORDER BY bucket, key"
    )));
    rows
}

/// A `registration.create` as a phone would send it, with `registration` as its content.
fn registration_op(
    op_id: &str,
    person_id: &str,
    registration_id: &str,
    closes: Option<&str>,
    registration: &Value,
) -> lgt_protocol::PushOperation {
    op(
        op_id,
        "registration.create",
        registration_id,
        json!({"person_id": person_id, "registration_id": registration_id,
               "closes_registration_id": closes, "registration": registration}),
    )
}

/// A `person.identifier_add` of `number` to `person_id`.
fn identifier_op(op_id: &str, person_id: &str, number: &str) -> lgt_protocol::PushOperation {
    op(
        op_id,
        "person.identifier_add",
        person_id,
        json!({"person_id": person_id, "identifier_id": format!("{op_id}-identifier"),
               "document": {"doc_type": "1", "number": number, "legacy_number": null,
                            "id_kind": "mainland"}}),
    )
}

/// A registration's content as the server keeps it (what its phone sent).
fn stored_registration(server: &TestServer, registration_id: &str) -> Value {
    let rows = server.rows(&format!(
        "SELECT data FROM registrations WHERE id = '{registration_id}'"
    ));
    let data = server.open_sealed(
        "registrations",
        registration_id,
        "data",
        rows[0][0].as_deref().unwrap(),
    );
    serde_json::from_str(&data).unwrap()
}

/// `registration` with another number and house code.
fn with_number(registration: &Value, number: &str, house_code: &str) -> Value {
    let mut changed = registration.clone();
    changed["document"]["number"] = json!(number);
    changed["document"]["legacy_number"] = Value::Null;
    changed["dwelling"]["house_code"] = json!(house_code);
    changed
}

fn id(n: u32) -> String {
    format!("0191c0de-0000-7000-8000-{n:012}")
}

#[test]
fn two_offline_phones_registering_one_person_converge_on_one_district_person() {
    for backend in backends() {
        for a_first in [true, false] {
            let server = TestServer::start(&backend);
            let a = enrolled(&server, 401, HOME);
            let b = enrolled(&server, 402, HOME);
            // Offline, each phone registers the same person (one identity number) at its own
            // door.
            let number = number18(11);
            let on_a = a
                .core
                .register(&registration(1, &number, 11, "HC-A-1"))
                .unwrap();
            let on_b = b
                .core
                .register(&registration(2, &number, 11, "HC-B-1"))
                .unwrap();
            assert!(on_a.new_person && on_b.new_person);
            let (first, second, first_receipt, second_receipt) = if a_first {
                (&a, &b, &on_a, &on_b)
            } else {
                (&b, &a, &on_b, &on_a)
            };
            first.sync_until_quiet(3);
            second.sync_until_quiet(3);
            first.sync_until_quiet(3);

            // One district person: the first to arrive; both registrations kept on it.
            let winner = first_receipt.person_id.clone();
            let loser = second_receipt.person_id.clone();
            let at = format!("{backend:?}, a first: {a_first}");
            assert_eq!(
                server.rows("SELECT id, district, version FROM persons"),
                vec![vec![
                    Some(winner.clone()),
                    Some(HOME.into()),
                    Some("2".into())
                ]],
                "{at}"
            );
            let registrations =
                server.rows("SELECT id, person_id, status FROM registrations ORDER BY id");
            let mut expected = vec![
                vec![
                    Some(on_a.registration_id.clone()),
                    Some(winner.clone()),
                    Some("active".into()),
                ],
                vec![
                    Some(on_b.registration_id.clone()),
                    Some(winner.clone()),
                    Some("active".into()),
                ],
            ];
            expected.sort();
            assert_eq!(registrations, expected, "{at}");
            // The merge is on record: the second phone's person id, into the first's, by the
            // second phone's operation.
            let merges = server
                .block_on(lgt_server::admin::merges(&server.db, HOME))
                .unwrap();
            assert_eq!(merges.len(), 1, "{at}");
            assert_eq!(merges[0].local_id, loser);
            assert_eq!(merges[0].person_id, winner);
            assert_eq!(merges[0].op_id, second_receipt.operation_id);
            let second_device = second.status().enrollment.unwrap().device_id;
            assert_eq!(merges[0].device_id, second_device);

            // Both phones hold the district's bucket as the server does: one person entry,
            // naming the merged id; both registrations on it.
            let server_bucket = bucket(&server, HOME);
            assert_eq!(replica(&a), server_bucket, "{at}");
            assert_eq!(replica(&b), server_bucket, "{at}");
            let person = &server_bucket[&format!("person:{winner}")];
            assert_eq!(person["person_id"], json!(winner));
            assert_eq!(person["merged_ids"], json!([loser]));
            assert_eq!(person["identifiers"].as_array().unwrap().len(), 1);
            assert_eq!(person["identifiers"][0]["number"], json!(number));
            assert!(!server_bucket.contains_key(&format!("person:{loser}")));
            for receipt in [&on_a, &on_b] {
                let entry = &server_bucket[&format!("registration:{}", receipt.registration_id)];
                assert_eq!(entry["person_id"], json!(winner), "{at}");
                assert_eq!(entry["status"], json!("active"));
            }

            // The second phone goes on under its own id: a corrected number it adds reaches
            // the district person.
            let corrected = number18(13);
            second
                .core
                .add_identifier(
                    &loser,
                    &DocumentInput {
                        doc_type: "1".into(),
                        number: corrected.clone(),
                    },
                )
                .unwrap();
            second.sync_until_quiet(3);
            assert_eq!(server.count("SELECT COUNT(*) FROM persons"), 1, "{at}");
            let person = &bucket(&server, HOME)[&format!("person:{winner}")];
            assert_eq!(person["version"], json!(3));
            let numbers: Vec<&Value> = person["identifiers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| &d["number"])
                .collect();
            assert_eq!(numbers, vec![&json!(number), &json!(corrected)], "{at}");
        }
    }
}

#[test]
fn a_fifteen_digit_number_and_its_eighteen_digit_upgrade_are_one_person() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let a = enrolled(&server, 411, HOME);
        let b = enrolled(&server, 412, HOME);
        let old = a
            .core
            .register(&registration(3, &number15(21), 21, "HC-15"))
            .unwrap();
        let new = b
            .core
            .register(&registration(4, &number18(21), 21, "HC-18"))
            .unwrap();
        a.sync_until_quiet(3);
        b.sync_until_quiet(3);
        assert_eq!(
            server.count("SELECT COUNT(*) FROM persons"),
            1,
            "{backend:?}"
        );
        assert_eq!(
            server.rows("SELECT person_id FROM registrations ORDER BY id"),
            vec![vec![Some(old.person_id.clone())]; 2]
        );
        assert_eq!(
            server.rows("SELECT local_id, person_id FROM person_aliases"),
            vec![vec![
                Some(new.person_id.clone()),
                Some(old.person_id.clone())
            ]]
        );

        // The server upgrades a 15-digit number itself (a client that did not): the same
        // person again, under a third local id.
        let colleague = device(&server, HOME);
        let content = with_number(
            &stored_registration(&server, &new.registration_id),
            &number15(21),
            "HC-15B",
        );
        let results = push(
            &server,
            &colleague,
            vec![registration_op("s1", &id(1), &id(2), None, &content)],
        );
        assert_eq!(outcome(&results[0]), &Outcome::Applied, "{backend:?}");
        assert_eq!(server.count("SELECT COUNT(*) FROM persons"), 1);
        assert_eq!(
            server.rows(&format!(
                "SELECT person_id FROM person_aliases WHERE local_id = '{}'",
                id(1)
            )),
            vec![vec![Some(old.person_id.clone())]]
        );
        // A number with a wrong check character is refused, naming nothing, changing nothing.
        let before = snapshot(&server, "");
        let mut wrong = number18(23);
        let last = if wrong.ends_with('1') { "2" } else { "1" };
        wrong.replace_range(17.., last);
        let content = with_number(&content, &wrong, "HC-15C");
        let reason = refusals(&push(
            &server,
            &colleague,
            vec![registration_op("s2", &id(3), &id(4), None, &content)],
        ))
        .remove(0);
        assert!(reason.contains("document number"), "{reason}");
        assert!(!reason.contains(&wrong), "{reason}");
        assert_eq!(snapshot(&server, ""), before, "{backend:?}");
    }
}

#[test]
fn a_colleague_pulls_the_person_registration_and_dwelling_and_sees_a_move() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let a = enrolled(&server, 421, HOME);
        let colleague = enrolled(&server, 422, HOME);
        let input = registration(5, &number18(31), 31, "HC-31");
        let first = a.core.register(&input).unwrap();
        a.sync_until_quiet(3);
        colleague.sync_until_quiet(3);

        let pulled = replica(&colleague);
        let person = &pulled[&format!("person:{}", first.person_id)];
        assert_eq!(person["version"], json!(1), "{backend:?}");
        assert_eq!(person["merged_ids"], json!([]));
        assert_eq!(person["person"]["name"], json!(input.person.name));
        let entry = &pulled[&format!("registration:{}", first.registration_id)];
        assert_eq!(entry["registration_id"], json!(first.registration_id));
        assert_eq!(entry["person_id"], json!(first.person_id));
        assert_eq!(entry["version"], json!(1));
        assert_eq!(entry["status"], json!("active"));
        assert_eq!(entry["closed"], Value::Null);
        assert_eq!(
            entry["registration"]["document"]["number"],
            json!(number18(31))
        );
        let dwelling = &pulled["dwelling:HC-31"];
        assert_eq!(dwelling["house_code"], json!("HC-31"));
        assert_eq!(dwelling["version"], json!(1));
        assert_eq!(dwelling["dwelling"]["housing_type"], json!("2"));
        assert_eq!(
            dwelling["dwelling"]["address"],
            json!(input.dwelling.address)
        );
        assert_eq!(
            dwelling["landlord"],
            json!({"name": "合成房东", "phone": "19900001234"})
        );

        // The person moves within the district: the phone closes the earlier residence.
        let mut moved = input.clone();
        moved.dwelling.house_code = "HC-32".into();
        moved.dwelling.housing_type = "1".into();
        moved.landlord = None;
        let second = a.core.register(&moved).unwrap();
        assert_eq!(
            second.closed_registration_id.as_deref(),
            Some(first.registration_id.as_str())
        );
        a.sync_until_quiet(3);
        colleague.sync_until_quiet(3);
        let pulled = replica(&colleague);
        let earlier = &pulled[&format!("registration:{}", first.registration_id)];
        assert_eq!(earlier["status"], json!("closed"), "{backend:?}");
        assert_eq!(earlier["version"], json!(2));
        assert_eq!(
            earlier["closed"],
            json!({"reason": "left_the_area", "by_registration_id": second.registration_id})
        );
        // An owned home names no landlord.
        assert_eq!(pulled["dwelling:HC-32"]["landlord"], Value::Null);
        assert_eq!(
            pulled.len(),
            5,
            "one person, two registrations, two dwellings"
        );

        // The supervisor's listing of the old door: who lived there, no longer lives there.
        let listing = server
            .block_on(lgt_server::admin::dwelling(&server.db, HOME, "hc-31"))
            .unwrap();
        assert_eq!(listing.house_code, "HC-31");
        assert_eq!(listing.registrations.len(), 1);
        assert_eq!(listing.registrations[0].status, "closed");
        assert_eq!(listing.persons.len(), 1);
        assert_eq!(listing.persons[0].person_id, first.person_id);
        assert!(!listing.persons[0].lives_here);
        assert_eq!(
            listing.persons[0].name.as_deref(),
            Some(input.person.name.as_str())
        );
        let new_door = server
            .block_on(lgt_server::admin::dwelling(&server.db, HOME, "HC-32"))
            .unwrap();
        assert!(new_door.persons[0].lives_here);
        assert!(new_door.landlord.is_none());
        // Another district's listing does not have the door.
        assert!(server
            .block_on(lgt_server::admin::dwelling(&server.db, OTHER, "HC-31"))
            .is_err());
        // The listing shows no identity number.
        let text = serde_json::to_string(&listing).unwrap();
        assert!(!text.contains(&number18(31)), "{text}");
    }
}

#[test]
fn another_districts_device_never_pulls_a_record_and_cannot_act_on_one() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let home = enrolled(&server, 431, HOME);
        let number = number18(41);
        let input = registration(6, &number, 41, "HC-41");
        let receipt = home.core.register(&input).unwrap();
        home.sync_until_quiet(3);
        let (person, registration_id) = (receipt.person_id.clone(), receipt.registration_id);
        let content = stored_registration(&server, &registration_id);
        let attacker = device(&server, OTHER);
        let before = snapshot(&server, "");

        // Every way of reaching the home person or registration, and the same ways with ids
        // that exist nowhere.
        let attempts = |tag: &str, person: &str, registration: &str| {
            let fresh = |n: u32| format!("{tag}-{n}");
            let other_content = with_number(&content, &number18(43), "HC-X");
            vec![
                // A registration for their person.
                registration_op(&fresh(1), person, &fresh(2), None, &other_content),
                // A registration taking their registration's id.
                registration_op(&fresh(3), &fresh(4), registration, None, &other_content),
                // A registration closing theirs.
                registration_op(
                    &fresh(5),
                    &fresh(6),
                    &fresh(7),
                    Some(registration),
                    &other_content,
                ),
                // A number added to their person.
                identifier_op(&fresh(8), person, &number18(45)),
                // A permit accepted for their person, on their registration.
                permit_op(
                    &fresh(9),
                    &id(9),
                    0,
                    json!({"event": "accept", "person_id": person, "registration_id": fresh(10),
                           "dwelling": {"house_code": "HC-X", "address": "synthetic",
                                        "housing_type": "1"}}),
                ),
                permit_op(
                    &fresh(11),
                    &id(11),
                    0,
                    json!({"event": "accept", "person_id": fresh(12), "registration_id": registration,
                           "dwelling": {"house_code": "HC-X", "address": "synthetic",
                                        "housing_type": "1"}}),
                ),
            ]
        };
        let on_theirs = refusals(&push(
            &server,
            &attacker,
            attempts("t", &person, &registration_id),
        ));
        assert_eq!(
            on_theirs[..4],
            [
                NO_SUCH_PERSON,
                NO_SUCH_REGISTRATION,
                NO_SUCH_REGISTRATION,
                NO_SUCH_PERSON
            ],
            "{backend:?}"
        );
        assert_eq!(on_theirs[4], NO_SUCH_PERSON);
        assert_eq!(on_theirs[5], NO_SUCH_REGISTRATION);
        for reason in &on_theirs {
            for secret in [
                &person,
                &registration_id,
                &number,
                &input.person.name,
                &"HC-41".to_owned(),
                &HOME.to_owned(),
            ] {
                assert!(!reason.contains(secret.as_str()), "{reason}");
            }
        }
        // Nothing changed anywhere: records, permits, conflicts, buckets and their heads.
        assert_eq!(snapshot(&server, ""), before, "{backend:?}");
        // Closing or adding a number to a record that exists nowhere reads the same.
        let on_nothing = refusals(&push(
            &server,
            &attacker,
            vec![
                registration_op(
                    "n5",
                    "n6",
                    "n7",
                    Some(&id(901)),
                    &with_number(&content, &number18(43), "HC-X"),
                ),
                identifier_op("n8", &id(900), &number18(45)),
            ],
        ));
        assert_eq!(on_nothing, on_theirs[2..4], "{backend:?}");
        assert_eq!(snapshot(&server, ""), before, "{backend:?}");

        // Its pulls never carry the record.
        let text = serde_json::to_string(&pull(&server, &attacker)).unwrap();
        for secret in [&person, &registration_id, &number, &input.person.name] {
            assert!(!text.contains(secret.as_str()), "{backend:?}");
        }
        assert!(!text.contains("HC-41"));

        // The same number registered in the other district is a person of that district, not
        // a merge into the home one: the home district's rows stay as they were.
        let home_rows = district_rows(&server, HOME);
        let results = push(
            &server,
            &attacker,
            vec![registration_op(
                "own1",
                &id(21),
                &id(22),
                None,
                &with_number(&content, &number, "HC-41"),
            )],
        );
        assert_eq!(outcome(&results[0]), &Outcome::Applied, "{backend:?}");
        assert_eq!(district_rows(&server, HOME), home_rows, "{backend:?}");
        assert_eq!(
            server.rows(&format!(
                "SELECT id FROM persons WHERE district = '{OTHER}'"
            )),
            vec![vec![Some(id(21))]]
        );
        assert_eq!(server.count("SELECT COUNT(*) FROM person_aliases"), 0);

        // The control: a colleague of the home district adding the same number is served.
        let colleague = device(&server, HOME);
        let served = push(
            &server,
            &colleague,
            vec![identifier_op("c1", &person, &number18(45))],
        );
        assert_eq!(outcome(&served[0]), &Outcome::Applied, "{backend:?}");
        let text = serde_json::to_string(&pull(&server, &colleague)).unwrap();
        assert!(text.contains(&person) && text.contains(&registration_id));
    }
}

#[test]
fn a_number_another_person_holds_and_malformed_records_are_refused_changing_nothing() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let mut phone = enrolled(&server, 441, HOME);
        let receipts = phone.register(2);
        phone.sync_until_quiet(3);
        let content = stored_registration(&server, &receipts[0].registration_id);
        let held = content["document"]["number"].as_str().unwrap().to_owned();
        let coordinator = device(&server, HOME);
        let before = snapshot(&server, "");

        // Person 2 given person 1's number: refused naming no one.
        let reason = refusals(&push(
            &server,
            &coordinator,
            vec![identifier_op("h1", &receipts[1].person_id, &held)],
        ))
        .remove(0);
        assert_eq!(
            reason,
            "the document number already belongs to another person"
        );
        // Malformed: an unreadable payload, a record id that is not the registration's, a bad
        // house code, a missing document, an identifier for a record it does not name.
        let mut bad_code = content.clone();
        bad_code["dwelling"]["house_code"] = json!("门牌 1");
        let mut no_document = content.clone();
        no_document.as_object_mut().unwrap().remove("document");
        let mut disguised = registration_op("m2", &id(31), &id(32), None, &content);
        disguised.record_id = id(33);
        let mut other_record = identifier_op("m5", &receipts[0].person_id, &number18(51));
        other_record.record_id = receipts[1].person_id.clone();
        let results = push(
            &server,
            &coordinator,
            vec![
                op(
                    "m1",
                    "registration.create",
                    &id(30),
                    json!({"registration": 1}),
                ),
                disguised,
                registration_op("m3", &id(34), &id(35), None, &bad_code),
                registration_op("m4", &id(36), &id(37), None, &no_document),
                other_record,
                identifier_op("m6", "../../etc", &number18(51)),
            ],
        );
        let reasons = refusals(&results);
        assert_eq!(reasons.len(), 6, "{backend:?}");
        for reason in &reasons {
            assert!(!reason.contains(&held), "{reason}");
        }
        assert!(reasons[2].contains("house code"), "{reasons:?}");
        assert_eq!(snapshot(&server, ""), before, "{backend:?}");

        // A registration whose number is person 1's but whose person id is person 2: a
        // divergence kept for a supervisor, nothing else written.
        let results = push(
            &server,
            &coordinator,
            vec![registration_op(
                "k1",
                &receipts[1].person_id,
                &id(40),
                None,
                &content,
            )],
        );
        assert!(
            matches!(outcome(&results[0]), Outcome::Conflict { .. }),
            "{results:?}"
        );
        assert_eq!(server.count("SELECT COUNT(*) FROM conflicts"), 1);
        let mut after = snapshot(&server, "");
        let mut expected = before.clone();
        after.remove(6);
        expected.remove(6);
        assert_eq!(after, expected, "{backend:?}");
    }
}

#[test]
fn a_rented_dwelling_registered_again_without_a_landlord_keeps_its_landlord() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let a = enrolled(&server, 431, HOME);
        a.core
            .register(&registration(6, &number18(41), 41, "HC-41"))
            .unwrap();
        let mut second = registration(7, &number18(42), 42, "HC-41");
        second.landlord = None;
        a.core.register(&second).unwrap();
        a.sync_until_quiet(3);
        // The landlord kept is the one stored (sealed once, opened once), not re-sealed.
        let entries = bucket(&server, HOME);
        assert_eq!(
            entries["dwelling:HC-41"]["landlord"],
            json!({"name": "合成房东", "phone": "19900001234"}),
            "{backend:?}"
        );
        let listing = server
            .block_on(lgt_server::admin::dwelling(&server.db, HOME, "HC-41"))
            .unwrap();
        assert_eq!(listing.persons.len(), 2, "{backend:?}");
        assert_eq!(
            listing.landlord.map(|l| l.phone).as_deref(),
            Some("19900001234")
        );
    }
}

#[test]
fn a_registration_naming_two_persons_is_merged_by_a_supervisor_and_every_phone_converges() {
    use lgt_server::resolution::{resolve, Side};
    for backend in backends() {
        let server = TestServer::start(&backend);
        let a = enrolled(&server, 411, HOME);
        let b = enrolled(&server, 412, HOME);
        let (first, second) = (number18(21), number18(23));
        // B registers a person under one number; both phones hold them.
        let y = b
            .core
            .register(&registration(3, &second, 23, "HC-MERGE-B"))
            .unwrap();
        b.sync_until_quiet(3);
        a.sync_until_quiet(3);
        // A registers someone under another number. B, not synced since, learns that its
        // person holds that number too, adds it and registers them again under it.
        let x = a
            .core
            .register(&registration(4, &first, 21, "HC-MERGE-A"))
            .unwrap();
        a.sync_until_quiet(3);
        let document = DocumentInput {
            doc_type: "1".into(),
            number: first.clone(),
        };
        b.core.add_identifier(&y.person_id, &document).unwrap();
        let again = b
            .core
            .register(&registration(3, &first, 21, "HC-MERGE-C"))
            .unwrap();
        assert_eq!(
            again.person_id, y.person_id,
            "the phone knows the number as its person's"
        );
        b.sync_until_quiet(3);
        let at = format!("{backend:?}");
        // The server took neither: the number is one person's, the id another's.
        assert_eq!(server.count("SELECT COUNT(*) FROM persons"), 2, "{at}");
        let conflicts = server
            .block_on(lgt_server::admin::conflicts(&server.db, false))
            .unwrap();
        assert_eq!(conflicts.len(), 1, "{at}");
        assert_eq!(conflicts[0].record_id, again.registration_id);

        // Keeping the phone's side is for permits; refused, it writes nothing.
        let before = snapshot(&server, "");
        assert!(server
            .block_on(resolve(&server.db, &conflicts[0].id, Side::Phone, "no"))
            .is_err());
        assert_eq!(snapshot(&server, ""), before, "{at}");

        // The supervisor finds they are one person: a merge into the holder of the number.
        let resolved = server
            .block_on(resolve(
                &server.db,
                &conflicts[0].id,
                Side::Merge,
                "one person, checked at the station",
            ))
            .unwrap();
        assert_eq!(resolved.person_id.as_deref(), Some(x.person_id.as_str()));
        assert!(server
            .block_on(resolve(&server.db, &conflicts[0].id, Side::Merge, "again"))
            .is_err());
        assert_eq!(
            server.rows("SELECT id FROM persons"),
            vec![vec![Some(x.person_id.clone())]],
            "{at}"
        );
        let mut registrations = server.rows("SELECT id, person_id FROM registrations ORDER BY id");
        registrations.sort();
        let mut expected: Vec<_> = [&y, &x, &again]
            .iter()
            .map(|r| vec![Some(r.registration_id.clone()), Some(x.person_id.clone())])
            .collect();
        expected.sort();
        assert_eq!(registrations, expected, "{at}");
        // The merge is on record, by the supervisor under the conflict's id.
        let merges = server
            .block_on(lgt_server::admin::merges(&server.db, HOME))
            .unwrap();
        let merge = merges
            .iter()
            .find(|m| m.local_id == y.person_id)
            .expect("the merge is on record");
        assert_eq!(merge.person_id, x.person_id);
        assert_eq!(merge.device_id, "supervisor");
        assert_eq!(merge.op_id, conflicts[0].id);

        // Both phones converge on the one person: both numbers, the three registrations.
        a.sync_until_quiet(3);
        b.sync_until_quiet(3);
        let server_bucket = bucket(&server, HOME);
        assert_eq!(replica(&a), server_bucket, "{at}");
        assert_eq!(replica(&b), server_bucket, "{at}");
        assert!(!server_bucket.contains_key(&format!("person:{}", y.person_id)));
        let person = &server_bucket[&format!("person:{}", x.person_id)];
        assert_eq!(person["merged_ids"], json!([y.person_id]), "{at}");
        let numbers: Vec<&Value> = person["identifiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| &d["number"])
            .collect();
        assert_eq!(numbers, vec![&json!(first), &json!(second)], "{at}");
        for phone in [&a, &b] {
            for number in [&first, &second] {
                let found = phone.core.find_by_document_number(number).unwrap();
                assert_eq!(found.len(), 1, "{at}");
                assert_eq!(found[0].person_id, x.person_id, "{at}");
                assert_eq!(found[0].identifiers.len(), 2, "{at}");
            }
            // Each phone's own audit trail has the fold (ids only).
            let merged: Vec<String> = phone
                .core
                .audit_recent(50)
                .unwrap()
                .into_iter()
                .filter(|r| r.action == "person.merged")
                .map(|r| r.record_id)
                .collect();
            assert_eq!(merged, [format!("{}>{}", y.person_id, x.person_id)], "{at}");
            assert_eq!(
                phone.core.audit_verify().unwrap().first_broken,
                None,
                "{at}"
            );
        }
    }
}
