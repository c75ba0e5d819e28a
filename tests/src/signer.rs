//! A device that speaks the protocol with its own signing client, as an attacker with a
//! stolen or self-built client would: it signs whatever operations it likes, under any
//! record id, version or permit number, with no phone core checking them first.

use lgt_core::crypto::{sha256, SigningKey};
use lgt_core::sync::{Client, Credentials, SyncError};
use lgt_protocol::{
    hex, paths, BucketPage, EnrollRequest, EnrollResponse, NumbersRequest, NumbersResponse,
    OperationResult, Outcome, PullRequest, PullResponse, PushOperation, PushRequest, PushResponse,
    QueueHealth,
};

use crate::TestServer;

/// Runs `future` on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// Enrolls `key` with the one-time `code`.
pub fn enroll_key(
    server: &TestServer,
    key: &SigningKey,
    code: &str,
) -> Result<EnrollResponse, SyncError> {
    let client = Client::new(&server.url, &[]).expect("client");
    let request = EnrollRequest {
        code: code.into(),
        public_key: hex(key.public_key().as_bytes()),
        client_version: "test".into(),
    };
    block_on(client.post(paths::ENROLL, &request))
}

/// A device newly enrolled for `district`, holding its signing key.
pub fn device(server: &TestServer, district: &str) -> Credentials {
    let key = SigningKey::generate().expect("key");
    let code = server.enrollment_code("coord", district);
    let device_id = enroll_key(server, &key, &code).expect("enroll").device_id;
    Credentials { device_id, key }
}

/// Pushes `ops` signed by `device`; returns the server's results in order.
pub fn push(
    server: &TestServer,
    device: &Credentials,
    ops: Vec<PushOperation>,
) -> Vec<OperationResult> {
    let client = Client::new(&server.url, &[]).expect("client");
    let response: PushResponse =
        block_on(client.signed(device, paths::PUSH, &PushRequest { operations: ops }))
            .expect("push");
    response.results
}

/// Pulls every bucket of `device` from the start, one page each.
pub fn pull(server: &TestServer, device: &Credentials) -> Vec<BucketPage> {
    let client = Client::new(&server.url, &[]).expect("client");
    let request = PullRequest {
        cursors: Vec::new(),
        limit: 1000,
        queue: QueueHealth::default(),
    };
    let response: PullResponse =
        block_on(client.signed(device, paths::PULL, &request)).expect("pull");
    response.buckets
}

/// The permit numbers the server reserved for `device`.
pub fn reserve(server: &TestServer, device: &Credentials) -> Vec<String> {
    let client = Client::new(&server.url, &[]).expect("client");
    let response: NumbersResponse =
        block_on(client.signed(device, paths::NUMBERS, &NumbersRequest {})).expect("numbers");
    response.numbers.into_iter().map(|n| n.number).collect()
}

/// An operation with its payload's hash.
pub fn op(op_id: &str, kind: &str, record_id: &str, payload: serde_json::Value) -> PushOperation {
    let payload = payload.to_string();
    PushOperation {
        op_id: op_id.into(),
        kind: kind.into(),
        record_id: record_id.into(),
        payload_sha256: hex(&sha256(payload.as_bytes())),
        payload,
    }
}

/// A `permit.event` on `permit`, decided on version `base`.
pub fn permit_op(op_id: &str, permit: &str, base: u32, event: serde_json::Value) -> PushOperation {
    op(
        op_id,
        "permit.event",
        permit,
        serde_json::json!({"permit_id": permit, "base_version": base, "version": base + 1,
                           "occurred_on": "2026-01-10", "event": event}),
    )
}

/// The outcome of a result (a hash mismatch panics: no test here expects one).
pub fn outcome(result: &OperationResult) -> &Outcome {
    match result {
        OperationResult::New { outcome, .. } | OperationResult::Duplicate { outcome, .. } => {
            outcome
        }
        OperationResult::HashMismatch { .. } => panic!("hash mismatch"),
    }
}
