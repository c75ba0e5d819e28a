//! The wire types of the 流管通 sync protocol, version 1: JSON over HTTP(S), shared by the
//! phone's sync engine and the reference server. `server/openapi.yaml` describes the same
//! types; the server's tests check that both agree.
//!
//! Free of cryptography on purpose: callers hash and sign with their own primitives, this
//! crate only fixes which bytes are hashed and signed.

#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

/// The protocol version, also the first segment of every path (`/v1/...`).
pub const VERSION: u32 = 1;

/// Most operations one push may carry; a larger batch is answered 413.
pub const MAX_PUSH_OPERATIONS: usize = 500;

/// Most bytes one request body may carry; a larger body is answered 413.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How far a request's timestamp may be from the server's clock, in seconds. Nonces are
/// remembered at least this long on either side, so a replay inside the window is refused by
/// its nonce and a replay outside it by its timestamp.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// Paths of the protocol's endpoints.
pub mod paths {
    /// Enrollment (unsigned: the one-time code is the credential).
    pub const ENROLL: &str = "/v1/enroll";
    /// Push outbox operations.
    pub const PUSH: &str = "/v1/push";
    /// Pull bucket pages.
    pub const PULL: &str = "/v1/pull";
    /// Top up and list the device's reserved permit numbers.
    pub const NUMBERS: &str = "/v1/numbers";
    /// Replace the device's key (signed by the current one).
    pub const DEVICE_KEY: &str = "/v1/device/key";
    /// Anchor the head of the device's audit chain on the server.
    pub const AUDIT_ANCHOR: &str = "/v1/audit/anchor";
    /// Upload the device's audit records, hash-chained, under its signed head.
    pub const AUDIT_RECORDS: &str = "/v1/audit/records";
    /// Liveness.
    pub const HEALTH: &str = "/health";
    /// The server's Prometheus metrics (not part of the device protocol).
    pub const METRICS: &str = "/metrics";
}

/// Headers of a signed request.
pub mod headers {
    /// The device id from enrollment.
    pub const DEVICE: &str = "x-lgt-device";
    /// Seconds since the Unix epoch when the request was signed.
    pub const TIMESTAMP: &str = "x-lgt-timestamp";
    /// A random string, never reused by the device.
    pub const NONCE: &str = "x-lgt-nonce";
    /// Hex Ed25519 signature over [`super::signing_message`].
    pub const SIGNATURE: &str = "x-lgt-signature";
}

/// The bytes a device signs for one request: a domain tag, the method, the path, the
/// timestamp, the nonce and the hex SHA-256 of the body, one per line.
pub fn signing_message(
    method: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    body_sha256_hex: &str,
) -> Vec<u8> {
    format!("lgt-sync-v{VERSION}\n{method}\n{path}\n{timestamp}\n{nonce}\n{body_sha256_hex}")
        .into_bytes()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from lower- or upper-case hex; `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    // Digits only: `from_str_radix` alone would also take a sign, reading "+f" as 0x0f.
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `POST /v1/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The one-time code a supervisor issued.
    pub code: String,
    /// The device's Ed25519 public key, hex.
    pub public_key: String,
    /// The client's version, e.g. `0.1.0`.
    pub client_version: String,
}

/// The answer to a successful enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The device's id, sent with every signed request.
    pub device_id: String,
    /// The coordinator account the device is bound to.
    pub coordinator: String,
    /// The district whose permits the device receives.
    pub district: String,
    /// Seconds the device may go without a successful sync before it locks its personal
    /// data until the next one.
    pub max_offline_secs: i64,
    /// The server's Ed25519 command key, hex: the device pins it and obeys only commands of
    /// the [`Bucket::Commands`] bucket signed by it.
    pub command_key: String,
}

/// `POST /v1/device/key`, signed by the device's current key: from now on, requests are
/// signed by this one. Asking again once the server holds it (signed by the new key) is
/// answered the same, so a lost answer is recovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceKeyRequest {
    /// The new Ed25519 public key, hex.
    pub public_key: String,
    /// Hex signature by the new key over [`device_key_proof_message`]: the device holds it.
    pub proof: String,
}

/// The answer to a key replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceKeyResponse {
    /// The device.
    pub device_id: String,
    /// Unix seconds when the server took the key.
    pub rotated_at: i64,
}

/// The bytes a new device key signs to prove it is held by the device it is registered for.
pub fn device_key_proof_message(device_id: &str, public_key_hex: &str) -> Vec<u8> {
    format!("lgt-device-key-v{VERSION}\n{device_id}\n{public_key_hex}").into_bytes()
}

/// A point of a phone's audit chain: a record's sequence number and its MAC (hex). The MAC
/// is keyed by the phone; it tells the server nothing but identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPoint {
    /// The record's sequence number.
    pub seq: i64,
    /// Its chained MAC, hex.
    pub mac: String,
}

/// `POST /v1/audit/anchor` (signed): the server keeps the head of each device's audit chain,
/// so a phone restored from an older copy of its store is noticed. Without `proof`, the
/// server answers with the anchor it holds ([`AnchorStatus::Challenge`]), or anchors `head`
/// if it holds none; with it, it checks that the chain still passes through its anchor and
/// anchors `head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnchorRequest {
    /// The phone's last audit record.
    pub head: AuditPoint,
    /// The phone's record at the server's anchor: its MAC, or `None` when the phone has no
    /// record with that sequence number.
    pub proof: Option<AuditProof>,
}

/// The phone's answer to a challenge: its record at the anchored sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditProof {
    /// The anchored sequence number.
    pub seq: i64,
    /// The phone's MAC at it, hex; `None` if it has no such record.
    pub mac: Option<String>,
}

/// What the server made of an audit anchor request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorStatus {
    /// Prove the chain passes through `anchor_seq`.
    Challenge,
    /// The head is anchored.
    Anchored,
    /// The chain does not pass through the anchor: the store was rolled back to an older copy,
    /// or replaced. The device is flagged for a supervisor; the anchor stays.
    RollbackSuspected,
}

/// The answer to an audit anchor request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnchorResponse {
    /// What the server made of it.
    pub status: AnchorStatus,
    /// The sequence number the server holds anchored (after this request).
    pub anchor_seq: Option<i64>,
}

/// Most audit records one upload may carry; a larger batch is answered 413.
pub const MAX_AUDIT_RECORDS: usize = 500;

/// Most characters (Unicode scalar values) in each text field of an uploaded audit record.
pub const MAX_AUDIT_TEXT: usize = 256;

/// The chain hash before a device's first audit record: 32 zero bytes.
pub const AUDIT_CHAIN_GENESIS: [u8; 32] = [0; 32];

/// The bytes whose SHA-256 is an audit record's chain hash: a domain tag, the previous
/// record's chain hash ([`AUDIT_CHAIN_GENESIS`] before the first), the sequence number
/// (8 bytes, big-endian), then `at`, `actor`, `action`, `record_kind` and `record_id`, each
/// as its UTF-8 length (4 bytes, big-endian) and bytes. Anyone holding the records can
/// recompute the chain; no key is involved.
pub fn audit_chain_input(
    prev_chain_hash: &[u8],
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    record_kind: &str,
    record_id: &str,
) -> Vec<u8> {
    const TAG: &[u8] = b"lgt-audit-chain-v1\n";
    let fields = [at, actor, action, record_kind, record_id];
    let mut out = Vec::with_capacity(
        TAG.len() + prev_chain_hash.len() + 8 + fields.iter().map(|f| 4 + f.len()).sum::<usize>(),
    );
    out.extend_from_slice(TAG);
    out.extend_from_slice(prev_chain_hash);
    out.extend_from_slice(&seq.to_be_bytes());
    for field in fields {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// The bytes a device signs for the head of its audit chain: a domain tag, the device id,
/// the head's sequence number and its chain hash in lower-case hex, one per line.
pub fn audit_head_signing_message(device_id: &str, seq: i64, chain_hash_hex: &str) -> Vec<u8> {
    format!("lgt-audit-head-v{VERSION}\n{device_id}\n{seq}\n{chain_hash_hex}").into_bytes()
}

/// One audit record as uploaded: what the phone's `audit_log` row holds (who, what, when,
/// which record; never a personal value) and its links in the public hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditChainRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When, RFC 3339 UTC (the phone's clock).
    pub at: String,
    /// Who: the coordinator's account id.
    pub actor: String,
    /// What, e.g. `registration.create`, `person.read`.
    pub action: String,
    /// The kind of record touched, e.g. `person`.
    pub record_kind: String,
    /// The id of the record touched.
    pub record_id: String,
    /// The previous record's chain hash, hex ([`AUDIT_CHAIN_GENESIS`] for the first).
    pub prev_chain_hash: String,
    /// SHA-256 of [`audit_chain_input`] over `prev_chain_hash` and this record, hex.
    pub chain_hash: String,
}

/// A point of a device's audit hash chain: a record's sequence number and chain hash (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditChainPoint {
    /// The record's sequence number.
    pub seq: i64,
    /// Its chain hash, hex.
    pub chain_hash: String,
}

/// The head of a device's audit chain, signed by the device key: evidence the server keeps,
/// independent of the request that carried it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAuditHead {
    /// The last record's sequence number.
    pub seq: i64,
    /// Its chain hash, hex.
    pub chain_hash: String,
    /// Hex Ed25519 signature by the device key over [`audit_head_signing_message`].
    pub signature: String,
}

/// `POST /v1/audit/records` (signed): the device's audit records the server does not hold
/// yet, under the signed head of its chain. The server stores a batch only if it extends the
/// chain it holds; records it holds already must be the same ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecordsRequest {
    /// Consecutive records, at most [`MAX_AUDIT_RECORDS`], none after `head`; may be empty
    /// (the head alone, to be checked).
    pub records: Vec<AuditChainRecord>,
    /// The device's chain as it stands (the last record it holds).
    pub head: SignedAuditHead,
}

/// Where the chain the server holds stands against the device's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditRecordsStatus {
    /// The server holds the chain up to the head, which it verified and keeps.
    InStep,
    /// The server holds less than the head: send the records after `held`.
    Behind,
    /// The head is a record the server holds, but not its last: the device's store was put
    /// back to an older copy. The device is flagged for a supervisor.
    RollbackSuspected,
}

/// The answer to an audit records upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecordsResponse {
    /// Where the server's chain stands against the head.
    pub status: AuditRecordsStatus,
    /// The last record the server holds (after this request), `None` for none.
    pub held: Option<AuditChainPoint>,
}

/// One outbox operation as pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushOperation {
    /// The operation's id (UUIDv7): the server's idempotency key.
    pub op_id: String,
    /// What it does, e.g. `permit.event`.
    pub kind: String,
    /// The record it concerns.
    pub record_id: String,
    /// Hex SHA-256 of `payload`'s bytes, frozen when the operation was queued.
    pub payload_sha256: String,
    /// The frozen payload: JSON text, sent as a string so its bytes (and hash) survive.
    pub payload: String,
}

/// `POST /v1/push`: operations in queue order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    /// At most [`MAX_PUSH_OPERATIONS`].
    pub operations: Vec<PushOperation>,
}

/// What the server did with one operation, the first time it saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Applied.
    Applied,
    /// Not applied as sent: it diverged from the server's state. The server kept it as a
    /// conflict for a supervisor; the phone need not send it again.
    Conflict {
        /// Why (ids and versions only).
        reason: String,
        /// The server's version of the record, when it has one.
        server_version: Option<u32>,
    },
    /// Refused for good (malformed, illegal transition, unknown kind).
    Rejected {
        /// Why (ids only).
        reason: String,
    },
}

/// The server's answer for one pushed operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OperationResult {
    /// Seen for the first time; this is what happened.
    New {
        /// The operation.
        op_id: String,
        /// What happened.
        #[serde(flatten)]
        outcome: Outcome,
    },
    /// Seen before with the same payload hash; this is what happened then.
    Duplicate {
        /// The operation.
        op_id: String,
        /// The stored result.
        #[serde(flatten)]
        outcome: Outcome,
    },
    /// Seen before with a different payload hash (HTTP 409 semantics): the phone must
    /// quarantine the operation.
    HashMismatch {
        /// The operation.
        op_id: String,
    },
}

impl OperationResult {
    /// The operation this result is for.
    pub fn op_id(&self) -> &str {
        match self {
            Self::New { op_id, .. }
            | Self::Duplicate { op_id, .. }
            | Self::HashMismatch { op_id } => op_id,
        }
    }
}

/// `POST /v1/push` answer: one result per operation, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// Results in request order.
    pub results: Vec<OperationResult>,
}

/// A device whose unused reserved permit numbers fall below this many gets more.
pub const NUMBER_POOL_LOW: u32 = 50;
/// ... up to this many.
pub const NUMBER_POOL_TARGET: u32 = 100;
/// How long a reserved number may be issued, in seconds (60 days).
pub const NUMBER_POOL_LIFETIME_SECS: i64 = 60 * 24 * 3600;

/// `POST /v1/numbers` (signed): the device asks for its pool, topped up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumbersRequest {}

/// A permit number reserved for one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedNumber {
    /// The number.
    pub number: String,
    /// Unix seconds after which it may no longer be issued.
    pub expires_at: i64,
}

/// Every unused, unexpired number reserved for the device, after topping up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumbersResponse {
    /// The pool.
    pub numbers: Vec<ReservedNumber>,
}

/// The buckets a device pulls. Which rows they hold depends on the device (its district,
/// its own records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// Permits of the device's district, as the server holds them.
    Permits,
    /// The records of the device's district, shared by every device enrolled for it:
    /// district persons, registrations and dwellings, keyed and shaped as [`records`] says.
    Records,
    /// The signed watchlist packages in force: the latest snapshot and the deltas after it,
    /// keyed by [`watchlist_key`], each entry a [`WatchlistEntry`]. The phone verifies and
    /// imports them itself; the server is not trusted with the list's integrity.
    Watchlist,
    /// Commands for this device ([`SignedCommand`]), keyed by command id.
    Commands,
    /// The permit-issuer public keys of every device ([`IssuerEntry`]), keyed by key id: a
    /// phone verifies the permit QR codes other phones issued against them. A revoked key
    /// stays, marked.
    Issuers,
}

impl Bucket {
    /// Every bucket, in the order a device pulls and applies them: records before permits,
    /// whose holders they name.
    pub const ALL: [Bucket; 5] = [
        Bucket::Records,
        Bucket::Permits,
        Bucket::Watchlist,
        Bucket::Commands,
        Bucket::Issuers,
    ];

    /// The bucket's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Permits => "permits",
            Self::Records => "records",
            Self::Watchlist => "watchlist",
            Self::Commands => "commands",
            Self::Issuers => "issuers",
        }
    }

    /// The bucket of a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == name)
    }
}

/// The district records bucket ([`Bucket::Records`], stored as `district:{district}:records`):
/// its keys, and the values of the JSON entries under them. Every entry carries a `version`
/// that grows by one with each change of the record.
///
/// - `person:{person_id}`: `{"person_id", "version", "person": <Person as the phone sent it>,
///   "identifiers": [<Document>...] (first recorded first), "merged_ids": [<local person ids
///   merged into it>]}`
/// - `registration:{registration_id}`: `{"registration_id", "person_id" (the district
///   person), "version", "status": "active" | "closed", "closed": null | {"reason":
///   "left_the_area", "by_registration_id"}, "registration": <Registration as the phone sent
///   it>}`
/// - `dwelling:{house_code}`: `{"house_code", "version", "dwelling": <Dwelling>, "landlord":
///   <Contact> | null}` (a landlord for rented housing only)
pub mod records {
    /// Operation kind: a new registration (and, for a new number, a new district person).
    pub const REGISTRATION_CREATE: &str = "registration.create";
    /// Operation kind: a further identity number of a district person.
    pub const PERSON_IDENTIFIER_ADD: &str = "person.identifier_add";
    /// Key prefix of a district person's entry.
    pub const PERSON_PREFIX: &str = "person:";
    /// Key prefix of a registration's entry.
    pub const REGISTRATION_PREFIX: &str = "registration:";
    /// Key prefix of a dwelling's entry.
    pub const DWELLING_PREFIX: &str = "dwelling:";
    /// A registration's `status` while it is the person's residence.
    pub const ACTIVE: &str = "active";
    /// A registration's `status` once a later one closed it.
    pub const CLOSED: &str = "closed";
    /// The `closed.reason` of a registration a later one closed.
    pub const LEFT_THE_AREA: &str = "left_the_area";
    /// The housing-type code of rented housing (出租屋), whose dwelling entry names the landlord.
    pub const RENTED_HOUSING: &str = "2";

    /// The key of a district person's entry.
    pub fn person_key(person_id: &str) -> String {
        format!("{PERSON_PREFIX}{person_id}")
    }

    /// The key of a registration's entry.
    pub fn registration_key(registration_id: &str) -> String {
        format!("{REGISTRATION_PREFIX}{registration_id}")
    }

    /// The key of a dwelling's entry.
    pub fn dwelling_key(house_code: &str) -> String {
        format!("{DWELLING_PREFIX}{house_code}")
    }
}

/// The kind of the operation a device publishes its permit-issuer key with.
pub const ISSUER_KEY_OPERATION: &str = "issuer.key";

/// Payload of an [`ISSUER_KEY_OPERATION`]: the device's permit-issuer public key. The server
/// binds it to the device that pushed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerKeyPayload {
    /// Ed25519 public key, hex.
    pub public_key: String,
}

/// One entry of the [`Bucket::Issuers`] bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerEntry {
    /// Ed25519 public key, hex (the entry's key is its key id).
    pub public_key: String,
    /// The device that published it.
    pub device_id: String,
    /// Unix seconds when a supervisor revoked it (the device, or the key alone): its permit
    /// codes are refused from then on.
    pub revoked_at: Option<i64>,
}

/// One entry of the [`Bucket::Watchlist`] bucket: a signed list package as built by the
/// publisher (`lgt watchlist build`), unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchlistEntry {
    /// The list version the package brings (from its manifest; the phone checks the signed
    /// manifest itself).
    pub version: u64,
    /// The package bytes, standard base64.
    pub package: String,
}

impl WatchlistEntry {
    /// The entry of a package.
    pub fn new(version: u64, package: &[u8]) -> Self {
        use base64::Engine as _;
        Self {
            version,
            package: base64::engine::general_purpose::STANDARD.encode(package),
        }
    }

    /// The package bytes; `None` if `package` is not base64.
    pub fn package_bytes(&self) -> Option<Vec<u8>> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&self.package)
            .ok()
    }
}

/// A pin on the server's TLS key: the SHA-256 of its certificate's SubjectPublicKeyInfo,
/// written `sha256/BASE64` as OkHttp's `CertificatePinner` writes it. Pinning the key rather
/// than the certificate lets the operator renew the certificate on the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerPin(pub [u8; 32]);

impl ServerPin {
    const PREFIX: &'static str = "sha256/";
}

impl std::fmt::Display for ServerPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use base64::Engine as _;
        let digest = base64::engine::general_purpose::STANDARD.encode(self.0);
        write!(f, "{}{digest}", Self::PREFIX)
    }
}

/// A pin that is not `sha256/` and 32 bytes of standard base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedPin;

impl std::fmt::Display for MalformedPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a server pin is sha256/ followed by 32 bytes of base64")
    }
}

impl std::error::Error for MalformedPin {}

impl std::str::FromStr for ServerPin {
    type Err = MalformedPin;

    fn from_str(text: &str) -> Result<Self, MalformedPin> {
        use base64::Engine as _;
        let digest = text.trim().strip_prefix(Self::PREFIX).ok_or(MalformedPin)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(digest)
            .map_err(|_| MalformedPin)?;
        Ok(Self(bytes.try_into().map_err(|_| MalformedPin)?))
    }
}

impl Serialize for ServerPin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ServerPin {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A command from the server to one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Its id (UUIDv7), also its key in the bucket.
    pub command_id: String,
    /// The one device it is for: a command copied to another device's bucket is refused.
    pub device_id: String,
    /// Unix seconds when the server issued it.
    pub issued_at: i64,
    /// What to do.
    pub action: CommandAction,
}

/// What a command orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CommandAction {
    /// Purge every personal value now (key first, then files).
    Wipe,
    /// Stop syncing until the client is at least this version (`MAJOR.MINOR.PATCH`).
    MinClientVersion {
        /// The least version.
        version: String,
    },
    /// Trust these server TLS keys from now on, instead of the ones pinned before: how the
    /// operator rotates the server's key (send the new pin beside the old one, switch the
    /// server's certificate once every device has synced, then send the new pin alone).
    TrustServerKeys {
        /// The pins, at least one.
        pins: Vec<ServerPin>,
    },
    /// Make a new device key and register it (`POST /v1/device/key`) at once.
    RotateDeviceKey,
    /// Obey commands signed by this key from now on (signed, like every command, by the key
    /// it replaces): how the server rotates its command key.
    RotateCommandKey {
        /// The new Ed25519 public key, hex.
        key: String,
    },
}

/// An entry of the [`Bucket::Commands`] bucket: the command's JSON text and the server's
/// Ed25519 signature over [`command_signing_message`] of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCommand {
    /// The [`Command`] as JSON text (its bytes are what is signed).
    pub command: String,
    /// Hex signature.
    pub signature: String,
}

/// The bytes the server signs for a command: a domain tag, then the command's JSON text.
pub fn command_signing_message(command_json: &str) -> Vec<u8> {
    format!("lgt-command-v{VERSION}\n{command_json}").into_bytes()
}

/// The key of a list version in the [`Bucket::Watchlist`] bucket: zero-padded, so keys sort
/// by version.
pub fn watchlist_key(list_id: &str, version: u64) -> String {
    format!("{list_id}:{version:020}")
}

/// Where a device stands in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketCursor {
    /// The bucket.
    pub bucket: Bucket,
    /// The last sequence number applied (0: nothing yet).
    pub cursor: i64,
}

/// `POST /v1/pull`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// The device's cursors; a bucket not listed starts at 0.
    pub cursors: Vec<BucketCursor>,
    /// Most entries per bucket in this answer.
    pub limit: u32,
    /// The device's outbox as it pulls, for the supervisors' sync-health list.
    pub queue: QueueHealth,
}

/// How a device's outbox stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueHealth {
    /// Operations waiting to be sent.
    pub depth: u64,
    /// When the oldest of them was queued (RFC 3339).
    pub oldest_pending: Option<String>,
}

/// One entry of a bucket: the latest value of one key, or its tombstone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The record's key within the bucket.
    pub key: String,
    /// The bucket sequence number of this change.
    pub seq: i64,
    /// The record as JSON text; `None` is a tombstone (the record was removed).
    pub data: Option<String>,
}

/// A page of one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketPage {
    /// The bucket.
    pub bucket: Bucket,
    /// Changes after the request's cursor, by sequence.
    pub entries: Vec<Entry>,
    /// The cursor after these entries.
    pub cursor: i64,
    /// Whether more entries follow (pull again from `cursor`).
    pub has_more: bool,
    /// When `has_more` is false, the checkpoint: the bucket's [`checksum`] over every live
    /// entry at `cursor`, hex. The device applies the pages up to here in one transaction
    /// and compares.
    pub checksum: Option<String>,
}

/// `POST /v1/pull` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    /// One page per bucket the device may read.
    pub buckets: Vec<BucketPage>,
}

/// An error answer's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code, e.g. `auth.bad_signature`, `device.revoked`.
    pub code: String,
    /// Human-readable message (never a personal value).
    pub message: String,
}

/// Error codes the phone acts on.
pub mod codes {
    /// The device was revoked: purge personal data now.
    pub const DEVICE_REVOKED: &str = "device.revoked";
    /// The uploaded audit records (or head) do not extend the history the server holds for
    /// this device: it was rewritten, or the store replaced. Nothing was stored; the device
    /// is flagged for a supervisor.
    pub const AUDIT_HISTORY_REWRITTEN: &str = "audit.history_rewritten";
}

/// The bytes whose SHA-256 is an entry's contribution to its bucket's checksum.
pub fn entry_digest_input(key: &str, data: &str) -> Vec<u8> {
    let mut input = Vec::with_capacity(key.len() + data.len() + 1);
    input.extend_from_slice(key.as_bytes());
    input.push(0);
    input.extend_from_slice(data.as_bytes());
    input
}

/// An order-independent checksum: the wrapping sum of the first 8 bytes (big-endian) of each
/// live entry's SHA-256 over [`entry_digest_input`]. Adding and removing commute, so both
/// sides can keep it incrementally.
pub fn checksum<'a>(digests: impl IntoIterator<Item = &'a [u8; 32]>) -> u64 {
    digests
        .into_iter()
        .fold(0u64, |sum, d| sum.wrapping_add(checksum_term(d)))
}

/// One entry's term in [`checksum`].
pub fn checksum_term(digest: &[u8; 32]) -> u64 {
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(head)
}

/// The checksum's wire form: 16 hex digits.
pub fn checksum_hex(sum: u64) -> String {
    format!("{sum:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_serialise_with_status_and_outcome_tags() {
        let result = OperationResult::Duplicate {
            op_id: "op".into(),
            outcome: Outcome::Conflict {
                reason: "stale".into(),
                server_version: Some(3),
            },
        };
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "duplicate", "op_id": "op", "outcome": "conflict",
                               "reason": "stale", "server_version": 3})
        );
        let back: OperationResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, result);
    }

    #[test]
    fn checksums_do_not_depend_on_order() {
        let a = [1u8; 32];
        let b = [0xffu8; 32];
        assert_eq!(checksum([&a, &b]), checksum([&b, &a]));
        assert_ne!(checksum([&a]), checksum([&a, &b]));
        assert_eq!(
            checksum_hex(checksum([&a]).wrapping_sub(checksum_term(&a))),
            "0000000000000000"
        );
    }

    #[test]
    fn watchlist_entries_round_trip_their_package_and_keys_sort_by_version() {
        let entry = WatchlistEntry::new(3, &[0, 255, 7]);
        assert_eq!(entry.package_bytes().unwrap(), vec![0, 255, 7]);
        let junk = WatchlistEntry {
            version: 3,
            package: "not base64!".into(),
        };
        assert!(junk.package_bytes().is_none());
        assert!(watchlist_key("l", 9) < watchlist_key("l", 10));
        assert_eq!(Bucket::parse("watchlist"), Some(Bucket::Watchlist));
    }

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        assert_eq!(unhex(&hex(&[0, 1, 254])).unwrap(), vec![0, 1, 254]);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
        assert_eq!(unhex("0aFf").unwrap(), vec![10, 255]);
    }

    #[test]
    fn unhex_takes_no_sign() {
        // Found by the signed_command fuzz target: a signature with a '+' in place of a '0'
        // decoded to the genuine signature's bytes.
        for signed in ["+f", "+f+f", "00+0", "-1"] {
            assert_eq!(unhex(signed), None, "{signed}");
        }
    }

    #[test]
    fn the_audit_chain_input_is_length_prefixed_and_tagged() {
        let input = audit_chain_input(&[7; 32], 2, "t", "a", "act", "k", "id");
        assert!(input.starts_with(b"lgt-audit-chain-v1\n"));
        assert_eq!(&input[19..51], &[7; 32]);
        assert_eq!(&input[51..59], &2i64.to_be_bytes());
        assert_eq!(&input[59..64], b"\0\0\0\x01t");
        // Moving a byte from one field to the next changes the input.
        assert_ne!(
            audit_chain_input(&[0; 32], 1, "ab", "c", "", "", ""),
            audit_chain_input(&[0; 32], 1, "a", "bc", "", "", "")
        );
        assert_eq!(
            audit_head_signing_message("d-1", 9, "ab"),
            b"lgt-audit-head-v1\nd-1\n9\nab"
        );
    }

    #[test]
    fn the_signed_message_names_every_part() {
        let m = signing_message("POST", "/v1/push", 7, "n", "h");
        assert_eq!(m, b"lgt-sync-v1\nPOST\n/v1/push\n7\nn\nh");
    }

    #[test]
    fn server_pins_round_trip_in_the_okhttp_form_and_refuse_junk() {
        let pin = ServerPin([7; 32]);
        let text = pin.to_string();
        assert!(text.starts_with("sha256/"));
        assert_eq!(text.parse::<ServerPin>(), Ok(pin));
        assert_eq!(serde_json::to_string(&pin).unwrap(), format!("\"{text}\""));
        for junk in [
            "",
            "sha256/",
            "sha1/BwcHBwcHBwcHBwcHBwcHBwcHBwc=",
            "sha256/AAAA",
            "sha256/!!",
        ] {
            assert_eq!(junk.parse::<ServerPin>(), Err(MalformedPin), "{junk}");
        }
    }
}
