//! The HTTP API: routes, enrollment, and the signed push and pull endpoints.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use lgt_common::crypto::{sha256, PublicKey};
use lgt_protocol::{
    device_key_proof_message, hex, paths, unhex, AuditAnchorRequest, AuditAnchorResponse,
    AuditRecordsRequest, AuditRecordsResponse, Bucket, DeviceKeyRequest, DeviceKeyResponse,
    EnrollRequest, EnrollResponse, NumbersRequest, NumbersResponse, PullRequest, PullResponse,
    PushRequest, PushResponse, MAX_BODY_BYTES, MAX_PUSH_OPERATIONS,
};
use serde::de::DeserializeOwned;
use tower_http::compression::CompressionLayer;
use uuid::Uuid;

use crate::auth::{self, Device};
use crate::buckets;
use crate::db::{now, Db};
use crate::error::{self, ApiError};
use crate::limits::{self, Limiters, Limits};
use crate::metrics;
use crate::numbers as pools;
use crate::push;

/// Most entries per bucket in one pull answer; a pull asking for more (or for none) is
/// refused (the phones ask for 500).
const MAX_PULL_LIMIT: u32 = 1000;

/// What every handler shares: the database and this process's limiters.
#[derive(Clone)]
struct App {
    db: Db,
    limiters: Arc<Limiters>,
}

impl FromRef<App> for Db {
    fn from_ref(app: &App) -> Db {
        app.db.clone()
    }
}

/// The server's routes over `db`, with the default [`Limits`].
pub fn router(db: Db) -> Router {
    router_with(db, &Limits::default())
}

/// The server's routes over `db` under `limits`. `/metrics` is not among them: it is served
/// on a listener of its own ([`crate::metrics_router`]).
///
/// Every answer other than a 2xx is an `ErrorBody` with a stable code: unknown routes, wrong
/// methods, oversized bodies and refused content types included ([`error::json_errors`]).
pub fn router_with(db: Db, limits: &Limits) -> Router {
    let limiters = Arc::new(Limiters::new(limits));
    Router::new()
        .route(paths::HEALTH, get(health))
        .route(paths::ENROLL, post(enroll))
        .route(paths::PUSH, post(push))
        .route(paths::PULL, post(pull))
        .route(paths::NUMBERS, post(numbers))
        .route(paths::DEVICE_KEY, post(device_key))
        .route(paths::AUDIT_ANCHOR, post(audit_anchor))
        .route(paths::AUDIT_RECORDS, post(audit_records))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            limiters.clone(),
            limits::in_flight,
        ))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(error::json_errors))
        // Outermost: a phone sending `accept-encoding: gzip` gets its answers gzipped (a
        // district's first pull shrinks several times); bodies under 32 bytes go as they are.
        .layer(CompressionLayer::new().gzip(true))
        .with_state(App { db, limiters })
}

async fn not_found() -> ApiError {
    let (code, message) = error::by_status(StatusCode::NOT_FOUND);
    ApiError::new(StatusCode::NOT_FOUND, code, message)
}

async fn method_not_allowed() -> ApiError {
    let (code, message) = error::by_status(StatusCode::METHOD_NOT_ALLOWED);
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, code, message)
}

/// The address a request came from, when the server was started with it (the API's and the
/// console's listeners both are).
pub(crate) struct Source(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// A body must be declared `application/json`, or the request is refused with 415.
fn json_content(headers: &HeaderMap) -> Result<(), ApiError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if declared {
        Ok(())
    } else {
        let (code, message) = error::by_status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code,
            message,
        ))
    }
}

/// Whether `text` is `bytes` bytes of hex (digits and a-f, either case, nothing else).
fn is_hex(text: &str, bytes: usize) -> bool {
    text.len() == 2 * bytes && text.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn health(State(db): State<Db>) -> Result<Json<serde_json::Value>, ApiError> {
    sqlx::query("SELECT 1").execute(&db.pool).await?;
    Ok(Json(
        serde_json::json!({"status": "ok", "protocol": lgt_protocol::VERSION}),
    ))
}

/// A device's Ed25519 public key from its hex (a point of large order: a weak key would let
/// anyone sign in its name), or a 400 with `code`.
fn public_key(hex: &str, code: &'static str) -> Result<PublicKey, ApiError> {
    Some(hex)
        .filter(|text| is_hex(text, 32))
        .and_then(unhex)
        .and_then(|bytes| PublicKey::try_from_slice(&bytes).ok())
        .ok_or_else(|| {
            ApiError::bad_request(code, "public_key must be an Ed25519 key (64 hex digits)")
        })
}

/// The body as `T`, or 400 `request.malformed` naming where it went wrong, never what it
/// held (serde's own text quotes the offending value, which may be personal).
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Every request body is an object (serde would take `[]` for an empty struct).
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::bad_request(
            "request.malformed",
            "the body is not a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        let what = match e.classify() {
            Category::Io | Category::Syntax => "not JSON",
            Category::Eof => "cut short",
            Category::Data => "not of the expected shape",
        };
        ApiError::bad_request(
            "request.malformed",
            format!(
                "the body is {what} (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

async fn enroll(
    State(app): State<App>,
    Source(source): Source,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<EnrollResponse>, ApiError> {
    app.limiters.enroll_from(source)?;
    json_content(&headers)?;
    let request: EnrollRequest = parse(&body)?;
    let code_digest = sha256(request.code.trim().as_bytes());
    app.limiters.enroll_code(code_digest)?;
    let key = public_key(&request.public_key, "enroll.bad_key")?;
    let public_key = hex(key.as_bytes());
    let code_sha256 = hex(&code_digest);
    let db = app.db;
    let mut tx = db.pool.begin().await?;
    let code: Option<(String, String, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT coordinator, district, expires_at, max_offline_secs, used_by FROM enrollment_codes WHERE code_sha256 = $1",
    )
    .bind(&code_sha256)
    .fetch_optional(&mut *tx)
    .await?;
    let invalid = || {
        ApiError::unauthorized(
            "enroll.invalid_code",
            "the enrollment code is unknown, used or expired",
        )
    };
    let (coordinator, district, expires_at, max_offline_secs, used_by) =
        code.ok_or_else(invalid)?;
    let command_key = crate::commands::key(&mut tx, &db.vault)
        .await
        .map(|key| hex(key.public_key().as_bytes()))
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server.command_key",
                "the server's command key is unavailable",
            )
        })?;
    if let Some(device_id) = used_by {
        // The same key asking again (its first answer was lost) gets the same device.
        let same: Option<(String,)> =
            sqlx::query_as("SELECT id FROM devices WHERE id = $1 AND public_key = $2")
                .bind(&device_id)
                .bind(&public_key)
                .fetch_optional(&mut *tx)
                .await?;
        return match same {
            Some(_) => Ok(Json(EnrollResponse {
                device_id,
                coordinator,
                district,
                max_offline_secs,
                command_key,
            })),
            None => Err(invalid()),
        };
    }
    if expires_at <= now() {
        return Err(invalid());
    }
    let device_id = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO devices (id, public_key, coordinator, district, client_version, enrolled_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&device_id)
    .bind(&public_key)
    .bind(&coordinator)
    .bind(&district)
    .bind(request.client_version.chars().take(32).collect::<String>())
    .bind(now())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE enrollment_codes SET used_by = $2 WHERE code_sha256 = $1")
        .bind(&code_sha256)
        .bind(&device_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(device = %device_id, "device enrolled");
    Ok(Json(EnrollResponse {
        device_id,
        coordinator,
        district,
        max_offline_secs,
        command_key,
    }))
}

/// The device of a signed POST, and its body. The device's rate is counted once the
/// signature checked out.
async fn signed<T: DeserializeOwned>(
    app: &App,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Device, T), ApiError> {
    json_content(headers)?;
    let device = auth::verify(&app.db, "POST", path, headers, body).await?;
    app.limiters.device(&device.id)?;
    Ok((device, parse(body)?))
}

async fn push(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PushResponse>, ApiError> {
    let (device, request): (_, PushRequest) = signed(&app, paths::PUSH, &headers, &body).await?;
    let db = app.db;
    if request.operations.len() > MAX_PUSH_OPERATIONS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "push.too_many",
            format!("at most {MAX_PUSH_OPERATIONS} operations per push"),
        ));
    }
    let results = push::push_batch(&db, &device, &request.operations).await?;
    Ok(Json(PushResponse { results }))
}

async fn pull(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PullResponse>, ApiError> {
    let (device, request): (_, PullRequest) = signed(&app, paths::PULL, &headers, &body).await?;
    let db = app.db;
    if !(1..=MAX_PULL_LIMIT).contains(&request.limit) {
        return Err(ApiError::bad_request(
            "pull.bad_limit",
            format!("limit is 1 to {MAX_PULL_LIMIT}"),
        ));
    }
    let limit = request.limit;
    sqlx::query("UPDATE devices SET queue_depth = $2, oldest_pending = $3 WHERE id = $1")
        .bind(&device.id)
        .bind(i64::try_from(request.queue.depth).unwrap_or(i64::MAX))
        .bind(request.queue.oldest_pending.as_deref())
        .execute(&db.pool)
        .await?;
    let watchlist_cursor = request
        .cursors
        .iter()
        .find(|c| c.bucket == Bucket::Watchlist)
        .map_or(0, |c| c.cursor);
    crate::console::observe_pull(&db, &device.id, request.queue.depth, watchlist_cursor).await?;
    let mut tx = db.begin_snapshot().await?;
    let mut pages = Vec::new();
    for bucket in Bucket::ALL {
        let cursor = request
            .cursors
            .iter()
            .find(|c| c.bucket == bucket)
            .map_or(0, |c| c.cursor);
        let name = buckets::name_for(&device, bucket);
        pages.push(buckets::page(&mut tx, &db.vault, bucket, &name, cursor, limit).await?);
    }
    tx.commit().await?;
    Ok(Json(PullResponse { buckets: pages }))
}

async fn numbers(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<NumbersResponse>, ApiError> {
    let (device, NumbersRequest {}) = signed(&app, paths::NUMBERS, &headers, &body).await?;
    let db = app.db;
    Ok(Json(NumbersResponse {
        numbers: pools::top_up(&db, &device).await?,
    }))
}

/// Replaces the device's key. The request is signed by the key in use; the body's proof is
/// signed by the new one. A request naming the key already in use (signed by it: the
/// device asking again after a lost answer) is answered the same.
async fn device_key(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<DeviceKeyResponse>, ApiError> {
    let (device, request): (_, DeviceKeyRequest) =
        signed(&app, paths::DEVICE_KEY, &headers, &body).await?;
    let db = app.db;
    let key = public_key(&request.public_key, "device_key.bad_key")?;
    let public_key = hex(key.as_bytes());
    let proof = unhex(&request.proof).unwrap_or_default();
    key.verify(&device_key_proof_message(&device.id, &public_key), &proof)
        .map_err(|_| {
            ApiError::bad_request(
                "device_key.bad_proof",
                "the proof is not signed by the new key",
            )
        })?;
    let now = now();
    let mut tx = db.pool.begin().await?;
    let taken: Option<(String,)> =
        sqlx::query_as("SELECT id FROM devices WHERE public_key = $1 AND id <> $2")
            .bind(&public_key)
            .bind(&device.id)
            .fetch_optional(&mut *tx)
            .await?;
    if taken.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "device_key.taken",
            "another device holds this key",
        ));
    }
    sqlx::query(
        "UPDATE devices SET public_key = $2, key_rotated_at = $3 WHERE id = $1 AND public_key <> $2",
    )
    .bind(&device.id)
    .bind(&public_key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let (rotated_at,): (Option<i64>,) =
        sqlx::query_as("SELECT key_rotated_at FROM devices WHERE id = $1")
            .bind(&device.id)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    tracing::info!(device = %device.id, "device key replaced");
    Ok(Json(DeviceKeyResponse {
        device_id: device.id,
        rotated_at: rotated_at.unwrap_or(now),
    }))
}

/// Anchors the head of the device's audit chain once it proves the chain passes through the
/// anchor held (see `audit`).
async fn audit_anchor(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<AuditAnchorResponse>, ApiError> {
    let (device, request): (_, AuditAnchorRequest) =
        signed(&app, paths::AUDIT_ANCHOR, &headers, &body).await?;
    let db = app.db;
    let mut tx = db.pool.begin().await?;
    let response = crate::audit::anchor(&mut tx, &device, &request).await?;
    tx.commit().await?;
    Ok(Json(response))
}

/// Stores the device's audit records if they extend the chain held for it, and checks its
/// signed head against that chain (see `audit`).
async fn audit_records(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<AuditRecordsResponse>, ApiError> {
    let (device, request): (_, AuditRecordsRequest) =
        signed(&app, paths::AUDIT_RECORDS, &headers, &body).await?;
    Ok(Json(
        crate::audit::upload(&app.db, &device, &request).await?,
    ))
}
