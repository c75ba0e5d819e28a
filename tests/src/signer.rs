//! A device that speaks the protocol with its own signing client, as an attacker with a
//! stolen or self-built client would: it signs whatever operations it likes, under any
//! record id, version or permit number, with no phone core checking them first.

use lgt_core::crypto::{sha256, SigningKey};
use lgt_core::sync::{Client, Credentials, SyncError};
use lgt_protocol::{
    audit_head_signing_message, hex, paths, AuditChainRecord, AuditRecordsRequest, BucketPage,
    EnrollRequest, EnrollResponse, NumbersRequest, NumbersResponse, OperationResult, Outcome,
    PullRequest, PullResponse, PushOperation, PushRequest, PushResponse, QueueHealth,
    SignedAuditHead,
};

use crate::TestServer;

/// An answer as it came: status, headers and body bytes.
#[derive(Debug)]
pub struct RawAnswer {
    /// HTTP status.
    pub status: u16,
    /// The `content-type` header, if any.
    pub content_type: Option<String>,
    /// The `retry-after` header, if any.
    pub retry_after: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl RawAnswer {
    async fn of(response: reqwest::Response) -> Self {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (content_type, retry_after) = (header("content-type"), header("retry-after"));
        let status = response.status().as_u16();
        let body = response.bytes().await.expect("body").to_vec();
        Self {
            status,
            content_type,
            retry_after,
            body,
        }
    }

    /// The body as an `ErrorBody`, panicking (with the body) unless it is exactly one.
    pub fn error(&self) -> lgt_protocol::ErrorBody {
        let text = String::from_utf8_lossy(&self.body);
        let value: serde_json::Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("{}: not JSON: {text}", self.status));
        let fields: Vec<&String> = value.as_object().expect("an object").keys().collect();
        assert_eq!(fields, ["code", "message"], "{}: {text}", self.status);
        serde_json::from_value(value).expect("an ErrorBody")
    }
}

/// Sends `method path` with `body` and the given headers (no signing), from `source` when
/// given (any 127.0.0.0/8 address: another "client" on the same machine).
pub fn raw(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    source: Option<std::net::IpAddr>,
) -> RawAnswer {
    let http = reqwest::Client::builder()
        .local_address(source)
        .build()
        .expect("client");
    let mut request = http.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        format!("{}{path}", server.url),
    );
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    block_on(async { RawAnswer::of(request.body(body).send().await.expect("send")).await })
}

/// The headers that sign `body` for `POST path` as `device` (fresh timestamp and nonce).
pub fn signature_headers(
    device: &Credentials,
    path: &str,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let timestamp = chrono::Utc::now().timestamp();
    let nonce = uuid::Uuid::now_v7().simple().to_string();
    let message =
        lgt_protocol::signing_message("POST", path, timestamp, &nonce, &hex(&sha256(body)));
    vec![
        ("content-type", "application/json".into()),
        (lgt_protocol::headers::DEVICE, device.device_id.clone()),
        (lgt_protocol::headers::TIMESTAMP, timestamp.to_string()),
        (lgt_protocol::headers::NONCE, nonce),
        (
            lgt_protocol::headers::SIGNATURE,
            hex(&device.key.sign(&message)),
        ),
    ]
}

/// `POST path` with `body` (any bytes) signed by `device`.
pub fn signed_raw(server: &TestServer, device: &Credentials, path: &str, body: &[u8]) -> RawAnswer {
    let headers = signature_headers(device, path, body);
    raw(server, "POST", path, &headers, body.to_vec(), None)
}

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

/// The refusal reasons of `results`, in order; panics on any other outcome.
pub fn refusals(results: &[OperationResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| match outcome(r) {
            Outcome::Rejected { reason } => reason.clone(),
            other => panic!("expected a refusal, got {other:?}"),
        })
        .collect()
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

/// `count` audit records of a made-up history (ids and actions only), numbered from `from`
/// and chained after `prev` (the chain hash of the record before, zeros before the first),
/// each hash computed as the protocol says.
pub fn audit_records(from: i64, count: usize, prev: [u8; 32]) -> Vec<AuditChainRecord> {
    let mut prev = prev;
    (0..count as i64)
        .map(|i| {
            let seq = from + i;
            let at = format!("2026-12-01T00:00:{:02}.000000Z", seq % 60);
            let record_id = format!("rec-{seq}");
            let fields = [at.as_str(), "coord", "person.read", "person", &record_id];
            let hash = lgt_core::crypto::audit_chain_hash(&prev, seq, fields);
            let record = AuditChainRecord {
                seq,
                at: at.clone(),
                actor: "coord".into(),
                action: "person.read".into(),
                record_kind: "person".into(),
                record_id,
                prev_chain_hash: hex(&prev),
                chain_hash: hex(&hash),
            };
            prev = hash;
            record
        })
        .collect()
}

/// The head of a chain ending at `seq` with `chain_hash` (hex), signed by `key` as the head
/// of `device_id`'s chain.
pub fn audit_head(
    device_id: &str,
    key: &SigningKey,
    seq: i64,
    chain_hash: &str,
) -> SignedAuditHead {
    let message = audit_head_signing_message(device_id, seq, &chain_hash.to_ascii_lowercase());
    SignedAuditHead {
        seq,
        chain_hash: chain_hash.to_owned(),
        signature: hex(&key.sign(&message)),
    }
}

/// The head at the last of `records`, signed by `device`'s own key.
pub fn last_head(device: &Credentials, records: &[AuditChainRecord]) -> SignedAuditHead {
    let last = records.last().expect("a record");
    audit_head(&device.device_id, &device.key, last.seq, &last.chain_hash)
}

/// `POST /v1/audit/records` of `records` under `head`, signed by `device`; the raw answer.
pub fn upload_audit(
    server: &TestServer,
    device: &Credentials,
    records: Vec<AuditChainRecord>,
    head: SignedAuditHead,
) -> RawAnswer {
    let body = serde_json::to_vec(&AuditRecordsRequest { records, head }).expect("JSON");
    signed_raw(server, device, paths::AUDIT_RECORDS, &body)
}
