//! The server's side of the protocol, spoken directly: enrollment, signatures and replays,
//! the ledger's answers, conflicts and cancellation, revocation, checksum recovery and
//! tombstones. Every test runs on SQLite, and on PostgreSQL when configured.

use lgt_core::crypto::{sha256, SigningKey};
use lgt_core::sync::{Credentials, SyncError};
use lgt_core::Error;
use lgt_e2e::signer::{block_on, device, enroll_key, op, outcome, permit_op, push, reserve};
use lgt_e2e::{backends, BackendChoice, Phone, TestServer};
use lgt_protocol::{headers, hex, paths, signing_message, Bucket, OperationResult, Outcome};

fn accept_event() -> serde_json::Value {
    serde_json::json!({"event": "accept", "person_id": "person-1", "registration_id": "reg-1",
        "dwelling": {"house_code": "H-1", "address": "synthetic", "housing_type": "10"}})
}

#[test]
fn enrollment_codes_work_once_and_a_lost_answer_can_be_asked_again() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let code = server.enrollment_code("coord-9", "110105");
        let key = SigningKey::generate().unwrap();
        let first = enroll_key(&server, &key, &code).unwrap();
        assert_eq!(
            (first.coordinator.as_str(), first.district.as_str()),
            ("coord-9", "110105")
        );
        // The same key asking again (its answer was lost) gets the same device.
        assert_eq!(enroll_key(&server, &key, &code).unwrap(), first);
        let other = SigningKey::generate().unwrap();
        for code in [code.as_str(), "not-a-code"] {
            match enroll_key(&server, &other, code) {
                Err(SyncError::Auth { code }) => assert_eq!(code, "enroll.invalid_code"),
                other => panic!("{other:?}"),
            }
        }
    }
}

/// Sends a raw signed push with the given timestamp and nonce; returns status and body.
fn raw_push(
    server: &TestServer,
    device: &Credentials,
    body: &[u8],
    timestamp: i64,
    nonce: &str,
    signed_body: &[u8],
) -> (u16, String) {
    let message = signing_message(
        "POST",
        paths::PUSH,
        timestamp,
        nonce,
        &hex(&sha256(signed_body)),
    );
    // One runtime for the request and its body: an answer may come in chunks after its head.
    block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{}{}", server.url, paths::PUSH))
            .header("content-type", "application/json")
            .header(headers::DEVICE, &device.device_id)
            .header(headers::TIMESTAMP, timestamp.to_string())
            .header(headers::NONCE, nonce)
            .header(headers::SIGNATURE, hex(&device.key.sign(&message)))
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

#[test]
fn replayed_stale_and_forged_requests_are_refused() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let device = device(&server, "110105");
        let body = br#"{"operations":[]}"#;
        let now = chrono::Utc::now().timestamp();
        assert_eq!(raw_push(&server, &device, body, now, "n-1", body).0, 200);
        let (status, answer) = raw_push(&server, &device, body, now, "n-1", body);
        assert_eq!(status, 401);
        assert!(answer.contains("auth.replay"), "{answer}");
        let (status, answer) = raw_push(&server, &device, body, now - 3600, "n-2", body);
        assert_eq!(status, 401);
        assert!(answer.contains("auth.clock_skew"), "{answer}");
        // The far ends of the timestamp's range are stale too (the skew is computed without
        // overflowing).
        for far in [i64::MIN, i64::MAX] {
            let (status, answer) = raw_push(&server, &device, body, far, &format!("n-{far}"), body);
            assert_eq!(status, 401);
            assert!(answer.contains("auth.clock_skew"), "{answer}");
        }
        let forged = br#"{"operations":[ ]}"#;
        let (status, answer) = raw_push(&server, &device, forged, now, "n-3", body);
        assert_eq!(status, 401);
        assert!(answer.contains("auth.bad_signature"), "{answer}");
    }
}

#[test]
fn the_ledger_answers_duplicates_with_the_stored_result_and_refuses_a_changed_payload() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let device = device(&server, "110105");
        let first = permit_op("op-1", "permit-1", 0, accept_event());
        let results = push(&server, &device, vec![first.clone(), first.clone()]);
        assert!(matches!(
            &results[0],
            OperationResult::New {
                outcome: Outcome::Applied,
                ..
            }
        ));
        assert!(matches!(
            &results[1],
            OperationResult::Duplicate {
                outcome: Outcome::Applied,
                ..
            }
        ));
        let mut changed = permit_op(
            "op-1",
            "permit-1",
            0,
            serde_json::json!({"event": "deliver"}),
        );
        changed.op_id = "op-1".into();
        let results = push(&server, &device, vec![changed]);
        assert_eq!(
            results,
            vec![OperationResult::HashMismatch {
                op_id: "op-1".into()
            }]
        );
        let mut corrupt = permit_op(
            "op-2",
            "permit-1",
            1,
            serde_json::json!({"event": "deliver"}),
        );
        corrupt.payload_sha256 = hex(&sha256(b"something else"));
        assert!(matches!(
            outcome(&push(&server, &device, vec![corrupt])[0]),
            Outcome::Rejected { .. }
        ));
        assert_eq!(server.count("SELECT COUNT(*) FROM ledger"), 1);
        assert_eq!(
            server.count("SELECT version FROM permits WHERE id = 'permit-1'"),
            1
        );
    }
}

#[test]
fn stale_edits_and_stale_cancellations_become_conflicts() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let device = device(&server, "110105");
        let number = reserve(&server, &device).remove(0);
        let results = push(
            &server,
            &device,
            vec![
                permit_op("a", "permit-7", 0, accept_event()),
                permit_op(
                    "b",
                    "permit-7",
                    1,
                    serde_json::json!({"event": "issue", "number": number}),
                ),
                // Two edits based on version 2: the first applies, the second conflicts.
                permit_op("c", "permit-7", 2, serde_json::json!({"event": "deliver"})),
                permit_op(
                    "d",
                    "permit-7",
                    2,
                    serde_json::json!({"event": "change_address",
                    "dwelling": {"house_code": "H-2", "address": "elsewhere", "housing_type": "10"}}),
                ),
                // A cancellation is decided on a version too: a stale one conflicts...
                permit_op(
                    "e",
                    "permit-7",
                    2,
                    serde_json::json!({"event": "cancel", "reason": "1"}),
                ),
                // ...and a current one applies.
                permit_op(
                    "e2",
                    "permit-7",
                    3,
                    serde_json::json!({"event": "cancel", "reason": "1"}),
                ),
                // An edit after the cancellation is kept as a conflict.
                permit_op("f", "permit-7", 3, serde_json::json!({"event": "endorse"})),
                // An illegal transition is refused outright.
                permit_op("g", "permit-7", 4, serde_json::json!({"event": "deliver"})),
            ],
        );
        let kinds: Vec<&str> = results
            .iter()
            .map(|r| match outcome(r) {
                Outcome::Applied => "applied",
                Outcome::Conflict { .. } => "conflict",
                Outcome::Rejected { .. } => "rejected",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "applied", "applied", "applied", "conflict", "conflict", "applied", "conflict",
                "rejected"
            ]
        );
        let row = server.rows("SELECT data, version FROM permits WHERE id = 'permit-7'");
        let data = server.open_sealed("permits", "permit-7", "data", row[0][0].as_deref().unwrap());
        let permit: lgt_core::permit::Permit = serde_json::from_str(&data).unwrap();
        assert_eq!(permit.state, lgt_core::permit::PermitState::Cancelled);
        assert_eq!(permit.version, 4);
        let conflicts = server
            .block_on(lgt_server::admin::conflicts(&server.db, false))
            .unwrap();
        let ops: Vec<&str> = conflicts.iter().map(|c| c.op_id.as_str()).collect();
        assert_eq!(ops, ["d", "e", "f"]);
        server
            .block_on(lgt_server::resolution::resolve(
                &server.db,
                &conflicts[0].id,
                lgt_server::resolution::Side::Server,
                "address confirmed by phone call",
            ))
            .unwrap();
        assert_eq!(
            server
                .block_on(lgt_server::admin::conflicts(&server.db, false))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            server
                .block_on(lgt_server::admin::conflicts(&server.db, true))
                .unwrap()
                .len(),
            3
        );
    }
}

#[test]
fn a_refused_operation_is_quarantined_with_its_reason_and_blocks_nothing() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let mut first = Phone::new(11);
        let mut second = Phone::new(12);
        first.enroll(&server.url, &server.enrollment_code("c1", "110105"));
        second.enroll(&server.url, &server.enrollment_code("c2", "110105"));
        first.sync_until_quiet(3);
        second.sync_until_quiet(3);
        let a = first.register(1);
        let taken = first.issue(&a[0].person_id).permit.number.unwrap();
        first.sync_until_quiet(3);
        // The second phone issues the first's number offline: the server refuses that event.
        let b = second.register(2);
        let refused = second.permit(&b[0].person_id, &taken);
        let kept = second.issue(&b[1].person_id).permit.number.unwrap();
        second.core.sync_now().unwrap();
        let status = second.status();
        assert_eq!(status.queue_depth, 0);
        let reasons: Vec<(&str, &str)> = status
            .quarantined
            .iter()
            .map(|q| (q.record_id.as_str(), q.reason.as_str()))
            .collect();
        // The issue is refused; the delivery that rested on it diverges from the server's
        // permit and is kept there as a conflict for a supervisor.
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert_eq!(reasons[0].0, refused.permit.id);
        assert!(reasons[0].1.contains("not reserved"), "{reasons:?}");
        let conflicts = server
            .block_on(lgt_server::admin::conflicts(&server.db, false))
            .unwrap();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].record_id, refused.permit.id);
        for number in [&taken, &kept] {
            assert_eq!(
                server.count(&format!(
                    "SELECT COUNT(*) FROM permits WHERE number = '{}'",
                    server.db.vault.permit_number_blind(number)
                )),
                1
            );
        }
    }
}

#[test]
fn a_revoked_device_is_told_to_purge() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let mut phone = Phone::new(21);
        phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
        phone.register(1);
        phone.sync_until_quiet(3);
        let device_id = phone.status().enrollment.unwrap().device_id;
        server
            .block_on(lgt_server::admin::revoke(&server.db, &device_id))
            .unwrap();
        phone.register(1);
        match phone.core.sync_now() {
            Err(Error::Sync(SyncError::Revoked)) => {}
            other => panic!("{other:?}"),
        }
        let devices = server
            .block_on(lgt_server::admin::devices(&server.db))
            .unwrap();
        assert!(devices[0].revoked_at.is_some());
        assert_eq!(devices[0].operations, 1);
        // As the phone last reported with its pull: nothing waiting.
        assert_eq!(devices[0].queue_depth, Some(0));
        assert!(devices[0].last_contact.is_some());
    }
}

/// A phone enrolled on `server` with three registrations synced; its records bucket and the
/// three entries' keys.
fn three_synced_records(server: &TestServer, seed: u64) -> (Phone, String, Vec<String>) {
    let mut phone = Phone::new(seed);
    phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
    let receipts = phone.register(3);
    phone.sync_until_quiet(3);
    let district = phone.status().enrollment.unwrap().district;
    let keys = receipts
        .iter()
        .map(|r| format!("registration:{}", r.registration_id))
        .collect();
    (phone, format!("district:{district}:records"), keys)
}

#[test]
fn a_checksum_mismatch_downloads_the_bucket_again_and_tombstones_remove_entries() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let (phone, bucket, keys) = three_synced_records(&server, 31);
        // Drift: the server's value changes without a new sequence number.
        server.rewrite_entry(&bucket, &keys[0], Some(r#"{"drifted":true}"#), false);
        let report = phone.core.sync_now().unwrap();
        assert_eq!(report.recovered, vec![Bucket::Records]);
        let replica: Vec<(String, String)> = phone.core.sync_replica(Bucket::Records).unwrap();
        assert!(replica.contains(&(keys[0].clone(), r#"{"drifted":true}"#.to_owned())));
        // A tombstone removes the entry from the replica.
        let held = phone.core.sync_replica(Bucket::Records).unwrap().len();
        server.rewrite_entry(&bucket, &keys[1], None, true);
        let report = phone.core.sync_now().unwrap();
        assert!(report.recovered.is_empty());
        let replica = phone.core.sync_replica(Bucket::Records).unwrap();
        assert_eq!(replica.len(), held - 1);
        assert!(!replica.iter().any(|(k, _)| k == &keys[1]));
        // The outbox was never touched.
        assert!(phone
            .core
            .outbox(None)
            .unwrap()
            .iter()
            .all(|o| o.state == lgt_core::outbox::OperationState::Acknowledged));
    }
}

#[test]
fn permit_numbers_are_reserved_per_device_refilled_and_never_shared() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let mut first = Phone::new(41);
        let mut second = Phone::new(42);
        first.enroll(&server.url, &server.enrollment_code("c1", "110105"));
        second.enroll(&server.url, &server.enrollment_code("c2", "110105"));
        first.sync_until_quiet(3);
        second.sync_until_quiet(3);
        assert_eq!(first.status().permit_numbers_left, 100);
        let first_pool: Vec<String> = server
            .rows(&format!(
                "SELECT number, sealed_number FROM reserved_numbers WHERE device_id = '{}'",
                first.status().enrollment.unwrap().device_id
            ))
            .into_iter()
            .map(|r| {
                server.open_sealed(
                    "reserved_numbers",
                    r[0].as_deref().unwrap(),
                    "number",
                    r[1].as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(first_pool.len(), 100);
        assert_eq!(
            server.count("SELECT COUNT(DISTINCT number) FROM reserved_numbers"),
            200
        );

        // Offline, the first phone issues 51 permits from its pool.
        let receipts = first.register(51);
        for receipt in &receipts {
            let number = first.core.permit_number_from_pool().unwrap().unwrap();
            assert!(first_pool.contains(&number));
            first.permit(&receipt.person_id, &number);
        }
        assert_eq!(first.status().permit_numbers_left, 49);
        first.sync_until_quiet(3);
        // Below 50 left: topped up to 100 with numbers never reserved before.
        assert_eq!(first.status().permit_numbers_left, 100);
        assert_eq!(server.count("SELECT COUNT(*) FROM reserved_numbers"), 251);
        assert_eq!(
            server.count("SELECT COUNT(*) FROM reserved_numbers WHERE used_by IS NOT NULL"),
            51
        );

        // The second phone typing a number reserved for the first is refused.
        let b = second.register(1);
        let taken = second.permit(
            &b[0].person_id,
            &first.core.permit_number_from_pool().unwrap().unwrap(),
        );
        second.core.sync_now().unwrap();
        let quarantined = second.status().quarantined;
        assert_eq!(quarantined.len(), 1);
        assert_eq!(quarantined[0].record_id, taken.permit.id);
        assert!(
            quarantined[0]
                .reason
                .contains("not reserved for this device"),
            "{quarantined:?}"
        );
    }
}

#[test]
fn a_phone_past_its_offline_limit_locks_personal_data_until_it_syncs() {
    let server = TestServer::start(&lgt_e2e::BackendChoice::Sqlite);
    let clock = std::sync::Arc::new(lgt_core::clock::FixedClock::new(chrono::Utc::now()));
    let mut phone = Phone::with_clock(51, clock.clone());
    phone.enroll(
        &server.url,
        &server.enrollment_code_with_limit("c1", "110105", 3600),
    );
    let receipts = phone.register(1);
    phone.sync_until_quiet(3);
    clock.set(chrono::Utc::now() + chrono::Duration::hours(2));
    let refused = [
        phone.core.find_by_name("anyone").map(|_| ()),
        phone.core.export_person(&receipts[0].person_id).map(|_| ()),
        phone.core.sync_replica(Bucket::Records).map(|_| ()),
    ];
    for result in refused {
        match result {
            Err(e) => assert_eq!(e.code(), "sync.locked"),
            Ok(()) => panic!("personal data readable past the offline limit"),
        }
    }
    // The status screen still works, and a successful sync unlocks.
    assert!(phone.status().last_success.is_some());
    phone.core.sync_now().unwrap();
    phone.core.export_person(&receipts[0].person_id).unwrap();
    phone.register(1);
}

#[test]
fn an_issuer_key_belongs_to_the_device_that_published_it_first() {
    let server = TestServer::start(&BackendChoice::Sqlite);
    let (first, second) = (device(&server, "110105"), device(&server, "110105"));
    let issuer = SigningKey::generate().unwrap().public_key();
    let publish = |op_id: &str, key_id: &str| {
        op(
            op_id,
            lgt_protocol::ISSUER_KEY_OPERATION,
            key_id,
            serde_json::json!({ "public_key": hex(issuer.as_bytes()) }),
        )
    };
    let key_id = issuer.key_id();
    let results = push(&server, &first, vec![publish("i-1", &key_id)]);
    assert_eq!(outcome(&results[0]), &Outcome::Applied);
    // Another device claiming the same key, or a record id that is not the key's id.
    let results = push(
        &server,
        &second,
        vec![publish("i-2", &key_id), publish("i-3", "not-its-id")],
    );
    for result in &results {
        assert!(
            matches!(outcome(result), Outcome::Rejected { .. }),
            "{result:?}"
        );
    }
    assert_eq!(server.count("SELECT count(*) FROM issuer_keys"), 1);
}

#[test]
fn the_device_list_flags_a_clock_drifting_toward_the_limit() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let device = device(&server, "110105");
        let body = br#"{"operations":[]}"#;
        let now = chrono::Utc::now().timestamp();
        let health = |server: &TestServer| {
            let devices = server
                .block_on(lgt_server::admin::devices(&server.db))
                .unwrap();
            (devices[0].clock_skew_secs, devices[0].clock_suspect)
        };
        assert_eq!(raw_push(&server, &device, body, now, "n-1", body).0, 200);
        let (skew, suspect) = health(&server);
        assert!(skew.unwrap().abs() <= 5 && !suspect, "{skew:?}");
        // Two minutes fast: still accepted (the limit is five), and flagged.
        assert_eq!(
            raw_push(&server, &device, body, now + 120, "n-2", body).0,
            200
        );
        let (skew, suspect) = health(&server);
        assert!((115..=125).contains(&skew.unwrap()), "{skew:?}");
        assert!(suspect);
    }
}

#[test]
fn a_phone_behind_compacted_tombstones_downloads_the_bucket_again() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let (phone, bucket, keys) = three_synced_records(&server, 32);
        let compact = || {
            server
                .block_on(lgt_server::admin::compact(&server.db, -1))
                .unwrap()
        };
        // A tombstone the phone pulled before compaction: nothing to recover.
        server.rewrite_entry(&bucket, &keys[0], None, true);
        assert!(phone.core.sync_now().unwrap().recovered.is_empty());
        assert_eq!(compact(), 1);
        assert!(phone.core.sync_now().unwrap().recovered.is_empty());
        // One compacted before the phone saw it: its checksum disagrees, and the bucket comes
        // again whole, without the removed entry.
        server.rewrite_entry(&bucket, &keys[1], None, true);
        assert_eq!(compact(), 1);
        let report = phone.core.sync_now().unwrap();
        assert_eq!(report.recovered, vec![Bucket::Records], "{backend:?}");
        // The bucket also holds the persons and dwellings of the registrations.
        let replica = phone.core.sync_replica(Bucket::Records).unwrap();
        let registrations: Vec<&String> = replica
            .iter()
            .map(|(key, _)| key)
            .filter(|key| key.starts_with("registration:"))
            .collect();
        assert_eq!(registrations, vec![&keys[2]]);
        assert!(phone.core.sync_now().unwrap().recovered.is_empty());
    }
}

#[test]
fn a_lost_enrollment_answer_is_asked_again_with_the_same_code() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let proxy = lgt_e2e::FaultProxy::start(&server.url, 5, 0.0);
        let phone = Phone::new(33);
        let code = server.enrollment_code("c1", "110105");
        // The server enrolls the device; its answer never arrives.
        proxy.force_path(paths::ENROLL, lgt_e2e::Fault::DropResponse);
        let lost = phone.core.sync_enroll(&proxy.url, &[], &code);
        assert!(
            matches!(lost, Err(Error::Sync(SyncError::Transient { .. }))),
            "{lost:?}"
        );
        assert!(phone.status().enrollment.is_none());
        // Asking again with the same code: the same key, so the same device, not "code used".
        phone.enroll(&proxy.url, &code);
        let device_id = phone.status().enrollment.unwrap().device_id;
        assert_eq!(
            server.count("SELECT count(*) FROM devices"),
            1,
            "{backend:?}"
        );
        let stored = server.rows("SELECT id FROM devices")[0][0].clone().unwrap();
        assert_eq!(stored, device_id);
        phone.sync_until_quiet(3);
    }
}

#[test]
fn a_store_restored_from_an_older_copy_is_flagged_by_the_server() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let mut phone = Phone::new(34);
        phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
        phone.register(2);
        phone.sync_until_quiet(3);
        let mut backup = phone.copy_files(134);
        phone.register(2);
        let report = phone.core.sync_now().unwrap();
        assert!(!report.audit_rollback_suspected);
        assert!(!phone.core.sync_now().unwrap().audit_rollback_suspected);
        let devices = || {
            server
                .block_on(lgt_server::admin::devices(&server.db))
                .unwrap()
        };
        assert!(devices()[0].audit_seq.is_some());
        assert!(devices()[0].audit_suspect_at.is_none());

        // The older copy is put back and work goes on: its chain no longer passes through the
        // anchor, even with more records than the anchored head.
        backup.register(10);
        let report = backup.core.sync_now().unwrap();
        assert!(report.audit_rollback_suspected, "{backend:?}");
        assert!(devices()[0].audit_suspect_at.is_some());
    }
}
