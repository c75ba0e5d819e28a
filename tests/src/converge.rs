//! The end state every multi-phone test checks: everything converged, exactly once.

use std::collections::BTreeMap;

use lgt_core::outbox::OperationState;
use lgt_protocol::Bucket;

use crate::{Phone, TestServer};

/// A phone's replica of a district bucket: key -> JSON text.
pub fn replica(phone: &Phone, bucket: Bucket) -> BTreeMap<String, String> {
    phone
        .core
        .sync_replica(bucket)
        .unwrap()
        .into_iter()
        .collect()
}

/// After quiescence: every committed operation applied exactly once, nothing acknowledged
/// lost, every replica equal to the server's buckets, permits equal on both sides, no
/// permit number held twice.
pub fn assert_converged(server: &TestServer, phones: &[(Phone, Vec<String>)]) {
    let mut committed = 0;
    for (phone, permits) in phones {
        let status = phone.status();
        assert_eq!(status.queue_depth, 0);
        assert!(status.quarantined.is_empty(), "{:?}", status.quarantined);
        let enrollment = status.enrollment.clone().unwrap();
        for op in phone.core.outbox(None).unwrap() {
            assert_eq!(op.state, OperationState::Acknowledged, "{}", op.op_id);
            let n = server.count(&format!(
                "SELECT COUNT(*) FROM ledger WHERE op_id = '{}'",
                op.op_id
            ));
            assert_eq!(n, 1, "operation {} in the ledger", op.op_id);
            committed += 1;
        }
        for permit_id in permits {
            let local = phone.core.permit_show(permit_id).unwrap().permit;
            let row = server.rows(&format!(
                "SELECT data FROM permits WHERE id = '{permit_id}'"
            ));
            let data =
                server.open_sealed("permits", permit_id, "data", row[0][0].as_deref().unwrap());
            let remote: lgt_core::permit::Permit = serde_json::from_str(&data).unwrap();
            assert_eq!(remote, local, "permit {permit_id}: applied once per event");
        }
        let permits_bucket = format!("district:{}:permits", enrollment.district);
        let records_bucket = format!("district:{}:records", enrollment.district);
        assert_eq!(
            replica(phone, Bucket::Permits),
            server.live_entries(&permits_bucket)
        );
        assert_eq!(
            replica(phone, Bucket::Records),
            server.live_entries(&records_bucket)
        );
        assert!(!replica(phone, Bucket::Records).is_empty());
    }
    assert_eq!(server.count("SELECT COUNT(*) FROM ledger"), committed);
    assert_eq!(
        server.count(
            "SELECT COUNT(*) FROM (SELECT number FROM permits WHERE number IS NOT NULL
             GROUP BY number HAVING COUNT(*) > 1) doubled"
        ),
        0
    );
}
