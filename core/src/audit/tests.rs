use super::*;
use crate::crypto::{DataKey, RowCipher};
use chrono::TimeZone;

fn setup(records: i64) -> (Connection, RowCipher) {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::store::schema_for_tests(&mut conn);
    let cipher = RowCipher::new(&DataKey::from_bytes([3u8; 32]));
    let tx = conn.transaction().unwrap();
    for i in 0..records {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(i);
        let id = format!("rec-{i}");
        let event = AuditEvent {
            actor: "coordinator-7",
            action: "registration.create",
            record_kind: "person",
            record_id: &id,
        };
        assert_eq!(append(&tx, &cipher, at, event).unwrap(), i + 1);
    }
    tx.commit().unwrap();
    (conn, cipher)
}

fn allow_tampering(conn: &Connection) {
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
}

#[test]
fn an_untouched_chain_verifies() {
    let (conn, cipher) = setup(10);
    let report = verify(&conn, &cipher).unwrap();
    assert_eq!(report.records, 10);
    assert!(report.is_intact());
    assert!(verify(&setup(0).0, &cipher).unwrap().is_intact());
}

#[test]
fn triggers_refuse_edits_and_deletes() {
    let (conn, _) = setup(3);
    assert!(conn
        .execute("UPDATE audit_log SET actor = 'x' WHERE seq = 2", [])
        .is_err());
    assert!(conn
        .execute("DELETE FROM audit_log WHERE seq = 3", [])
        .is_err());
}

#[test]
fn an_edited_record_is_the_first_broken_link() {
    let (conn, cipher) = setup(10);
    allow_tampering(&conn);
    conn.execute("UPDATE audit_log SET record_id = 'other' WHERE seq = 4", [])
        .unwrap();
    let report = verify(&conn, &cipher).unwrap();
    assert_eq!(
        report.first_broken,
        Some(BrokenLink {
            seq: 4,
            kind: BreakKind::Tampered
        })
    );
}

#[test]
fn a_deleted_record_is_reported_missing() {
    let (conn, cipher) = setup(10);
    allow_tampering(&conn);
    conn.execute("DELETE FROM audit_log WHERE seq = 6", [])
        .unwrap();
    let report = verify(&conn, &cipher).unwrap();
    assert_eq!(
        report.first_broken,
        Some(BrokenLink {
            seq: 6,
            kind: BreakKind::Missing
        })
    );
}

#[test]
fn a_truncated_tail_is_detected() {
    let (conn, cipher) = setup(10);
    allow_tampering(&conn);
    conn.execute("DELETE FROM audit_log WHERE seq >= 9", [])
        .unwrap();
    let report = verify(&conn, &cipher).unwrap();
    assert_eq!(
        report.first_broken,
        Some(BrokenLink {
            seq: 9,
            kind: BreakKind::Truncated
        })
    );
}

#[test]
fn a_chain_rewritten_without_the_key_fails() {
    let (conn, _) = setup(5);
    let other = RowCipher::new(&DataKey::from_bytes([4u8; 32]));
    let report = verify(&conn, &other).unwrap();
    assert_eq!(
        report.first_broken,
        Some(BrokenLink {
            seq: 1,
            kind: BreakKind::Tampered
        })
    );
}

#[test]
fn recent_lists_newest_first() {
    let (conn, _) = setup(5);
    let records = recent(&conn, 2).unwrap();
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![5, 4]
    );
    assert_eq!(records[0].record_id, "rec-4");
}

#[test]
fn each_record_carries_a_chain_hash_over_its_predecessor() {
    let (conn, _) = setup(4);
    let records = chain_records(&conn, 1, 4, 10).unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(records[0].prev_chain_hash, [0u8; 32]);
    for pair in records.windows(2) {
        assert_eq!(pair[1].prev_chain_hash, pair[0].chain_hash);
    }
    // Anyone can recompute it from the record alone: no key.
    let r = &records[2];
    let fields = [
        r.record.at.as_str(),
        &r.record.actor,
        &r.record.action,
        &r.record.record_kind,
        &r.record.record_id,
    ];
    assert_eq!(
        audit_chain_hash(&r.prev_chain_hash, 3, fields),
        r.chain_hash
    );
    assert_eq!(chain_head(&conn).unwrap(), Some((4, records[3].chain_hash)));
    assert_eq!(chain_head(&setup(0).0).unwrap(), None);
}

#[test]
fn chain_records_page_from_any_point_up_to_a_bound() {
    let (conn, _) = setup(10);
    let all = chain_records(&conn, 1, 10, 100).unwrap();
    let page = chain_records(&conn, 4, 8, 3).unwrap();
    assert_eq!(page, all[3..6].to_vec());
    assert_eq!(page[0].prev_chain_hash, all[2].chain_hash);
    assert!(chain_records(&conn, 11, 20, 5).unwrap().is_empty());
    assert_eq!(chain_records(&conn, 9, 10, 5).unwrap(), all[8..].to_vec());
}

#[test]
fn a_chain_hash_altered_alone_is_a_broken_link() {
    let (conn, cipher) = setup(5);
    allow_tampering(&conn);
    conn.execute(
        "UPDATE audit_log SET chain_hash = zeroblob(32) WHERE seq = 3",
        [],
    )
    .unwrap();
    let report = verify(&conn, &cipher).unwrap();
    assert_eq!(
        report.first_broken,
        Some(BrokenLink {
            seq: 3,
            kind: BreakKind::Tampered
        })
    );
}

#[test]
fn the_chain_hash_is_set_once_and_never_changed() {
    let (conn, _) = setup(2);
    // The update trigger lets only a hash not yet set be set (the upgrade's backfill).
    assert!(conn
        .execute(
            "UPDATE audit_log SET chain_hash = zeroblob(32) WHERE seq = 1",
            []
        )
        .is_err());
    assert!(conn
        .execute("UPDATE audit_log SET chain_hash = NULL WHERE seq = 1", [])
        .is_err());
}
