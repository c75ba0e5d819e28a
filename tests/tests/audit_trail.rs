//! The audit trail as evidence (#12): the phone uploads its audit records with sync, linked by
//! a public hash chain under the head its device key signs, and the server keeps them only if
//! they extend the chain it holds. The tests play the attacker who holds the phone's store key
//! and device key: a history rewritten in the file (MAC chain and hash chain recomputed, so the
//! phone's own check passes) is refused and the device flagged; a signing client of our own
//! cannot store records whose links do not hash, nor a head signed by another key; a lost
//! phone's history stays on the server, with no personal value; normal syncs of several
//! batches leave the server holding exactly the phone's chain, and a long backlog goes over
//! several syncs. SQLite and PostgreSQL.

use lgt_core::crypto::{audit_chain_hash, KeyFile, KeyProvider, RowCipher};
use lgt_e2e::signer::{audit_head, audit_records, device, last_head, upload_audit};
use lgt_e2e::{backends, Fault, FaultProxy, Phone, TestServer};
use lgt_protocol::{hex, paths, unhex, AuditRecordsResponse, AuditRecordsStatus, Bucket};
use rusqlite::{params, Connection};

/// One audit record as both sides hold it: seq, at, actor, action, kind, id, chain hash (hex).
type Row = (i64, String, String, String, String, String, String);

fn store_file(phone: &Phone) -> std::path::PathBuf {
    phone.dir().join("store").join("lgt.db")
}

/// The phone's audit chain, read from its file (the phone idle).
fn phone_chain(phone: &Phone) -> Vec<Row> {
    let conn = Connection::open(store_file(phone)).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT seq, at, actor, action, record_kind, record_id, chain_hash FROM audit_log
             ORDER BY seq",
        )
        .unwrap();
    statement
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                hex(&r.get::<_, Vec<u8>>(6)?),
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The chain the server holds for `device_id`, with each row's head signature.
fn server_chain(server: &TestServer, device_id: &str) -> Vec<(Row, Option<String>)> {
    server
        .rows(&format!(
            "SELECT seq, at, actor, action, record_kind, record_id, chain_hash, head_signature
             FROM audit_records WHERE device_id = '{device_id}' ORDER BY seq"
        ))
        .into_iter()
        .map(|r| {
            let text = |i: usize| r[i].clone().unwrap();
            (
                (
                    text(0).parse().unwrap(),
                    text(1),
                    text(2),
                    text(3),
                    text(4),
                    text(5),
                    text(6),
                ),
                r[7].clone(),
            )
        })
        .collect()
}

fn device_id(phone: &Phone) -> String {
    phone.status().enrollment.unwrap().device_id
}

fn device_health(server: &TestServer, device_id: &str) -> lgt_server::admin::DeviceHealth {
    server
        .block_on(lgt_server::admin::devices(&server.db))
        .unwrap()
        .into_iter()
        .find(|d| d.id == device_id)
        .unwrap()
}

/// The MAC chain's canonical bytes of one record, as the core writes them (the attacker has
/// the source).
fn mac_input(seq: i64, fields: [&str; 5]) -> Vec<u8> {
    let mut out = seq.to_be_bytes().to_vec();
    for field in fields {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// The attacker, holding the phone's store key, changes the record id of record `seq` in the
/// file and recomputes everything after it consistently: the MAC chain and the keyed head
/// record with the key, the hash chain without one; the triggers are dropped for the edit and
/// put back as they were.
fn rewrite_history(phone: &Phone, seq: i64, record_id: &str) {
    let key = KeyFile::open(phone.dir().join("store.key"))
        .unwrap()
        .data_key()
        .unwrap();
    let cipher = RowCipher::new(&key);
    let conn = Connection::open(store_file(phone)).unwrap();
    let triggers: Vec<String> = conn
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(triggers.len(), 2);
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    conn.execute(
        "UPDATE audit_log SET record_id = ?2 WHERE seq = ?1",
        params![seq, record_id],
    )
    .unwrap();
    let rows: Vec<(i64, [String; 5])> = conn
        .prepare(
            "SELECT seq, at, actor, action, record_kind, record_id FROM audit_log ORDER BY seq",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (mut prev_mac, mut prev_hash) = (vec![0u8; 32], [0u8; 32]);
    for (n, fields) in &rows {
        let fields = fields.each_ref().map(String::as_str);
        let mac = cipher.audit_mac(&prev_mac, &mac_input(*n, fields));
        let hash = audit_chain_hash(&prev_hash, *n, fields);
        conn.execute(
            "UPDATE audit_log SET mac = ?2, chain_hash = ?3 WHERE seq = ?1",
            params![n, mac.to_vec(), hash.to_vec()],
        )
        .unwrap();
        (prev_mac, prev_hash) = (mac.to_vec(), hash);
    }
    let last = rows.last().unwrap().0;
    let head_mac = cipher.audit_mac(b"head", &[&last.to_be_bytes()[..], &prev_mac].concat());
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
        [[&last.to_be_bytes()[..], &head_mac].concat()],
    )
    .unwrap();
    for sql in triggers {
        conn.execute_batch(&sql).unwrap();
    }
}

#[test]
fn a_history_rewritten_with_the_phones_keys_is_refused_and_the_servers_copy_stands() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let mut phone = Phone::new(61);
        phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
        phone.register(3);
        phone.sync_until_quiet(3);
        let id = device_id(&phone);
        let held = server_chain(&server, &id);
        assert!(held.len() >= 4, "{backend:?}: {held:?}");
        assert!(held.iter().any(|(_, signature)| signature.is_some()));
        assert_eq!(
            held.iter().map(|(row, _)| row.clone()).collect::<Vec<_>>(),
            phone_chain(&phone)[..held.len()].to_vec()
        );
        let forged = held
            .iter()
            .find(|((_, _, _, action, ..), _)| action == "registration.create")
            .map(|((seq, ..), _)| *seq)
            .unwrap();

        // The attacker makes it look as if another registration had been made then. The
        // phone's own check cannot tell: the key was used to recompute the MACs.
        rewrite_history(&phone, forged, "019a0000-0000-7000-8000-000000000000");
        assert!(phone.core.audit_verify().unwrap().is_intact());
        assert_ne!(
            phone_chain(&phone)[..held.len()].to_vec(),
            held.iter().map(|(row, _)| row.clone()).collect::<Vec<_>>()
        );

        // The real phone code syncs the rewritten store: the server refuses its records,
        // keeps its own copy, flags the device, and the phone says so.
        assert!(device_health(&server, &id).audit_rewritten_at.is_none());
        for _ in 0..2 {
            let report = phone.core.sync_now().unwrap();
            assert!(report.audit_rollback_suspected, "{backend:?}");
            assert_eq!(server_chain(&server, &id), held, "{backend:?}");
        }
        let health = device_health(&server, &id);
        assert!(health.audit_rewritten_at.is_some(), "{backend:?}");
        assert_eq!(health.audit_records_seq, Some(held.len() as i64));
        let trail = server
            .block_on(lgt_server::admin::audit_trail(&server.db, &id, 1, None))
            .unwrap();
        assert!(trail.check.intact, "{:?}", trail.check);
        assert_eq!(trail.rewritten_at, health.audit_rewritten_at);
        assert_eq!(
            trail.records[forged as usize - 1].record.record_id,
            held[forged as usize - 1].0 .5
        );
    }
}

fn status_of(answer: &lgt_e2e::signer::RawAnswer) -> AuditRecordsResponse {
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

fn refused(answer: &lgt_e2e::signer::RawAnswer, status: u16, code: &str) {
    assert_eq!(
        (answer.status, answer.error().code.as_str()),
        (status, code),
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
}

#[test]
fn a_signing_client_stores_no_broken_chain_nor_a_head_signed_by_another_key() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let (a, b) = (device(&server, "110105"), device(&server, "110105"));
        let stored = |id: &str| {
            server.count(&format!(
                "SELECT COUNT(*) FROM audit_records WHERE device_id = '{id}'"
            ))
        };
        let records = audit_records(1, 5, [0; 32]);
        let head = last_head(&a, &records);

        // A record changed under its old hash: its link does not hash.
        let mut edited = records.clone();
        edited[2].record_id = "rec-forged".into();
        refused(
            &upload_audit(&server, &a, edited, head.clone()),
            400,
            "audit.bad_chain",
        );
        // A record whose hash recomputes but does not name the one before it.
        let mut relinked = records.clone();
        let detached = audit_records(4, 1, [9; 32]).remove(0);
        relinked[3] = detached;
        refused(
            &upload_audit(&server, &a, relinked, head.clone()),
            400,
            "audit.bad_chain",
        );
        // Records running past the head, or a head that is not the last record.
        refused(
            &upload_audit(
                &server,
                &a,
                records.clone(),
                audit_head(&a.device_id, &a.key, 4, &records[3].chain_hash),
            ),
            400,
            "audit.bad_chain",
        );
        refused(
            &upload_audit(
                &server,
                &a,
                records.clone(),
                audit_head(&a.device_id, &a.key, 5, &records[3].chain_hash),
            ),
            400,
            "audit.bad_chain",
        );
        // The head signed by another device's key (the request itself signed by A's), or by
        // B for itself and sent by A.
        for forged in [
            audit_head(&a.device_id, &b.key, 5, &records[4].chain_hash),
            audit_head(&b.device_id, &b.key, 5, &records[4].chain_hash),
        ] {
            refused(
                &upload_audit(&server, &a, records.clone(), forged),
                400,
                "audit.bad_head_signature",
            );
        }
        assert_eq!(stored(&a.device_id), 0, "{backend:?}");
        assert!(device_health(&server, &a.device_id)
            .audit_records_seq
            .is_none());

        // The control: the same records under A's own head are stored.
        let answer = status_of(&upload_audit(&server, &a, records.clone(), head.clone()));
        assert_eq!(answer.status, AuditRecordsStatus::InStep);
        assert_eq!(answer.held.unwrap().seq, 5);
        assert_eq!(stored(&a.device_id), 5);
        // Sent again (a lost answer), they are the same records: nothing changes.
        let again = status_of(&upload_audit(&server, &a, records.clone(), head.clone()));
        assert_eq!(again.status, AuditRecordsStatus::InStep);
        let held = server_chain(&server, &a.device_id);

        // A different record 3, its chain recomputed from the start: well formed, signed by
        // A's key, and not the history the server holds.
        let mut other = audit_records(1, 2, [0; 32]);
        let mut rest = audit_records(
            3,
            4,
            unhex(&other[1].chain_hash).unwrap().try_into().unwrap(),
        );
        rest[0].record_id = "rec-other".into();
        let rest = {
            // Recompute from record 3 with its new id.
            let mut prev: [u8; 32] = unhex(&other[1].chain_hash).unwrap().try_into().unwrap();
            rest.into_iter()
                .map(|mut r| {
                    let fields = [
                        r.at.as_str(),
                        &r.actor,
                        &r.action,
                        &r.record_kind,
                        &r.record_id,
                    ];
                    let hash = audit_chain_hash(&prev, r.seq, fields);
                    r.prev_chain_hash = hex(&prev);
                    r.chain_hash = hex(&hash);
                    prev = hash;
                    r
                })
                .collect::<Vec<_>>()
        };
        other.extend(rest);
        let other_head = last_head(&a, &other);
        refused(
            &upload_audit(&server, &a, other.clone(), other_head.clone()),
            409,
            "audit.history_rewritten",
        );
        // Only its new tail, linked to its own record 5: the link to the chain held breaks.
        refused(
            &upload_audit(&server, &a, other[5..].to_vec(), other_head.clone()),
            409,
            "audit.history_rewritten",
        );
        // Its head alone.
        refused(
            &upload_audit(
                &server,
                &a,
                Vec::new(),
                audit_head(&a.device_id, &a.key, 4, &other[3].chain_hash),
            ),
            409,
            "audit.history_rewritten",
        );
        assert_eq!(server_chain(&server, &a.device_id), held, "{backend:?}");
        assert!(device_health(&server, &a.device_id)
            .audit_rewritten_at
            .is_some());
        assert!(device_health(&server, &b.device_id)
            .audit_rewritten_at
            .is_none());

        // Records that start past the chain held are not stored; the answer says where it ends.
        let tail = audit_records(
            6,
            3,
            unhex(&records[4].chain_hash).unwrap().try_into().unwrap(),
        );
        let gap = status_of(&upload_audit(
            &server,
            &a,
            tail[1..].to_vec(),
            last_head(&a, &tail),
        ));
        assert_eq!(gap.status, AuditRecordsStatus::Behind);
        assert_eq!(gap.held.unwrap().seq, 5);
        assert_eq!(stored(&a.device_id), 5);
        // From there on they extend it, the records held sent again with them too.
        let mut resent = records[3..].to_vec();
        resent.extend(tail.clone());
        let answer = status_of(&upload_audit(&server, &a, resent, last_head(&a, &tail)));
        assert_eq!(answer.status, AuditRecordsStatus::InStep);
        assert_eq!(stored(&a.device_id), 8);
        // A head before the last record held, on the chain held: a store put back to an
        // older copy.
        let older = status_of(&upload_audit(&server, &a, Vec::new(), head.clone()));
        assert_eq!(older.status, AuditRecordsStatus::RollbackSuspected);
        assert!(device_health(&server, &a.device_id)
            .audit_suspect_at
            .is_some());
        let trail = server
            .block_on(lgt_server::admin::audit_trail(
                &server.db,
                &a.device_id,
                1,
                None,
            ))
            .unwrap();
        assert!(trail.check.intact, "{:?}", trail.check);
        assert_eq!(trail.records.len(), 8);
        assert_eq!(trail.check.signed_heads, 2);
    }
}

#[test]
fn a_lost_phones_history_survives_on_the_server_without_a_personal_value() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let mut phone = Phone::new(63);
        phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
        let entered = phone.register_inputs(3);
        phone.sync_until_quiet(3);
        // Reads of personal data are audited too.
        let (input, receipt) = &entered[0];
        assert!(!phone
            .core
            .find_by_name(&input.person.name)
            .unwrap()
            .is_empty());
        phone.core.export_person(&receipt.person_id).unwrap();
        phone.core.sync_replica(Bucket::Records).unwrap();
        phone.core.sync_now().unwrap();
        let id = device_id(&phone);
        let on_phone = phone_chain(&phone);
        let dir = phone.dir().to_path_buf();

        // The phone is lost: its store is gone.
        drop(phone);
        assert!(!dir.exists());

        // What `lgt-server audit-trail DEVICE` prints.
        let trail = server
            .block_on(lgt_server::admin::audit_trail(&server.db, &id, 1, None))
            .unwrap();
        let printed = serde_json::to_string_pretty(&trail).unwrap();
        assert!(trail.check.intact, "{:?}", trail.check);
        assert!(trail.check.signed_heads >= 2);
        let held: Vec<Row> = trail
            .records
            .iter()
            .map(|held| {
                let r = &held.record;
                (
                    r.seq,
                    r.at.clone(),
                    r.actor.clone(),
                    r.action.clone(),
                    r.record_kind.clone(),
                    r.record_id.clone(),
                    r.chain_hash.clone(),
                )
            })
            .collect();
        // Everything up to the last sync (only that sync's own record came after it).
        assert_eq!(held[..], on_phone[..held.len()], "{backend:?}");
        assert!(on_phone.len() - held.len() <= 2, "{}", on_phone.len());
        let actions: Vec<&str> = held.iter().map(|r| r.3.as_str()).collect();
        for action in [
            "registration.create",
            "person.read",
            "person.export",
            "sync.replica_read",
        ] {
            assert!(actions.contains(&action), "{action}: {actions:?}");
        }
        assert!(held
            .iter()
            .any(|r| r.3 == "person.export" && r.5 == receipt.person_id));
        // No name, identity number, address or phone of anyone registered.
        for (input, _) in &entered {
            let mut personal = vec![
                input.person.name.clone(),
                input.document.number.clone(),
                input.household_address.clone(),
                input.dwelling.address.clone(),
            ];
            if let Some(landlord) = &input.landlord {
                personal.extend([landlord.name.clone(), landlord.phone.clone()]);
            }
            for value in personal.iter().filter(|v| v.chars().count() >= 2) {
                assert!(!printed.contains(value.as_str()), "{value:?} in the trail");
            }
        }
    }
}

#[test]
fn normal_syncs_in_several_batches_leave_the_server_holding_the_phones_chain() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let proxy = FaultProxy::start(&server.url, 13, 0.0);
        let mut phone = Phone::new(64);
        phone.enroll(&proxy.url, &server.enrollment_code("c1", "110105"));
        phone.register(2);
        phone.sync_until_quiet(3);
        // More records than one upload carries (the phone sends 200 at a time).
        for _ in 0..450 {
            phone.core.sync_replica(Bucket::Records).unwrap();
        }
        let before = phone_chain(&phone).len();
        // The answer to the second upload of the sync (a batch the server stored) is lost:
        // the next sync starts from the batch before it and the server checks it again.
        proxy.force_path(paths::AUDIT_RECORDS, Fault::Pass);
        proxy.force_path(paths::AUDIT_RECORDS, Fault::DropResponse);
        assert!(phone.core.sync_now().is_err());
        let id = device_id(&phone);
        let partial = server_chain(&server, &id).len();
        assert!(partial > 200 && partial < before, "{partial} of {before}");
        phone.sync_until_quiet(3);
        let held = server_chain(&server, &id);
        assert!(held.len() >= before, "{} of {before}", held.len());
        assert_eq!(
            held.iter().map(|(row, _)| row.clone()).collect::<Vec<_>>(),
            phone_chain(&phone)[..held.len()].to_vec(),
            "{backend:?}"
        );
        let health = device_health(&server, &id);
        assert!(health.audit_rewritten_at.is_none() && health.audit_suspect_at.is_none());
        assert_eq!(health.audit_records_seq, Some(held.len() as i64));
        let trail = server
            .block_on(lgt_server::admin::audit_trail(&server.db, &id, 1, None))
            .unwrap();
        assert!(trail.check.intact, "{:?}", trail.check);
        // A page of it, checked against the record before it.
        let page = server
            .block_on(lgt_server::admin::audit_trail(
                &server.db,
                &id,
                201,
                Some(50),
            ))
            .unwrap();
        assert!(page.check.intact);
        assert_eq!(page.records.len(), 50);
        assert_eq!(page.records[0].record.seq, 201);
    }
}

#[test]
fn a_long_backlog_goes_over_several_syncs_each_of_them_successful() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let phone = Phone::new(65);
        phone.enroll(&server.url, &server.enrollment_code("c1", "110105"));
        phone.sync_until_quiet(3);
        let id = device_id(&phone);
        let start = server_chain(&server, &id).len();
        // More than one sync uploads (25 batches of 200).
        for _ in 0..5_100 {
            phone.core.sync_replica(Bucket::Records).unwrap();
        }
        phone.core.sync_now().unwrap();
        assert_eq!(
            server_chain(&server, &id).len(),
            start + 5_000,
            "{backend:?}"
        );
        phone.core.sync_now().unwrap();
        let held = server_chain(&server, &id);
        assert!(held.len() > start + 5_100, "{}", held.len());
        assert_eq!(
            held.iter().map(|(row, _)| row.clone()).collect::<Vec<_>>(),
            phone_chain(&phone)[..held.len()].to_vec()
        );
    }
}
