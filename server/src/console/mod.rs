//! The supervisor console: a web page over the server's database for the supervisors at a
//! station's desk, served on a listener of its own (`serve --console-listen`), in Chinese with
//! English beside. Every page is rendered here; every asset is in the binary.
//!
//! ```text
//!  browser ──cookie (Secure, HttpOnly, SameSite=Strict) + CSRF token──► router (this file)
//!                                  ├─ accounts  Argon2id passwords, lockout, sessions, TOTP, audit
//!                                  ├─ data      what an account may see (its districts only)
//!                                  ├─ pages     the HTML (and the QR code and the chart, as SVG)
//!                                  └─ totp      RFC 6238
//! ```
//!
//! Every action is a `/console/api/...` endpoint that answers JSON to a JSON request and
//! redirects (or renders the page) for a browser's form; the same endpoints are in
//! `server/openapi.json`.

pub mod accounts;
mod data;
mod pages;
pub mod totp;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub use accounts::{create as create_account, NewAccount, Role};
pub(crate) use data::observe_pull;
pub use data::record_published;

use crate::api::Source;
use crate::db::Db;
use accounts::Session;
use lgt_protocol::ErrorBody;

/// The session cookie's name.
pub const COOKIE: &str = "lgt_console";
/// The header a JSON request carries its CSRF token in (a form carries it as `csrf`).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What the console needs to know beyond the database.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// The pin of the API's TLS key (`sha256/...`), put into enrollment QR codes.
    pub server_pin: Option<String>,
    /// The API's address as phones reach it (`https://...`), put into enrollment QR codes.
    pub server_url: Option<String>,
    /// Login attempts per minute from one source address (a burst of as many); 0: no limit.
    /// Kept per process, like the API's limits.
    pub logins_per_minute: u32,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            server_pin: None,
            server_url: None,
            logins_per_minute: 10,
        }
    }
}

type LoginLimiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

#[derive(Clone)]
struct Console {
    db: Db,
    config: ConsoleConfig,
    logins: Option<std::sync::Arc<LoginLimiter>>,
}

/// The console's routes (pages under `/console/`, actions under `/console/api/`).
pub fn router(db: Db, config: ConsoleConfig) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/devices") }))
        .route(
            "/console",
            get(|| async { Redirect::to("/console/devices") }),
        )
        .route(
            "/console/",
            get(|| async { Redirect::to("/console/devices") }),
        )
        .route("/console/assets/console.css", get(pages::css))
        .route("/console/assets/console.js", get(pages::js))
        .route("/console/login", get(login_page))
        .route("/console/devices", get(devices_page))
        .route("/console/enrollment", get(enrollment_page))
        .route("/console/conflicts", get(conflicts_page))
        .route("/console/watchlist", get(watchlist_page))
        .route("/console/persons", get(persons_page))
        .route("/console/health", get(health_page))
        .route("/console/audit", get(audit_page))
        .route("/console/api/login", post(login))
        .route("/console/api/logout", post(logout))
        .route("/console/api/totp", post(second_factor))
        .route("/console/api/me", get(me))
        .route("/console/api/devices", get(devices_json))
        .route("/console/api/devices/{id}/revoke", post(revoke))
        .route("/console/api/devices/{id}/wipe", post(wipe))
        .route("/console/api/enrollment-codes", post(enrollment_code))
        .route("/console/api/conflicts", get(conflicts_json))
        .route("/console/api/conflicts/{id}/resolve", post(resolve))
        .route("/console/api/watchlist", get(watchlist_json))
        .route("/console/api/watchlist/packages", post(publish))
        .route("/console/api/persons/search", post(search))
        .route("/console/api/persons", get(persons_json))
        .route("/console/api/health", get(health_json))
        .route("/console/api/audit", get(audit_json))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // A watchlist package of a million entries is some 40 MB.
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn(error_bodies))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(Console {
            db,
            logins: std::num::NonZeroU32::new(config.logins_per_minute).map(|n| {
                std::sync::Arc::new(governor::RateLimiter::keyed(
                    governor::Quota::per_minute(n).allow_burst(n),
                ))
            }),
            config,
        })
}

/// Headers on every answer: nothing cached, framed or loaded from elsewhere.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// An error answer that is neither JSON nor one of the console's pages (axum's own: an
/// oversized body, a malformed path) becomes an `ErrorBody` of its status, like the API's.
async fn error_bodies(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let typed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return response;
    }
    let (code, message) = crate::error::by_status(status);
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let fresh = Json(ErrorBody {
        code: code.to_owned(),
        message: message.to_owned(),
    })
    .into_response();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, fresh.into_body())
}

/// A refusal, as JSON for the API or as a page for a browser.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    page: bool,
    /// A page asked for without a session: sent to the login page.
    to_login: bool,
    /// Seconds to wait, for a rate-limited request.
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            page: false,
            to_login: false,
            retry_after: None,
        }
    }
    fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "console.login_required",
            "log in first",
        )
    }
    fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "console.csrf",
            "the request's CSRF token is missing or wrong",
        )
    }
    fn not_yours() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "console.not_found",
            "no such record in your districts",
        )
    }
    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "console.bad_request", message)
    }
    fn page(mut self, page: bool) -> Self {
        self.page = page;
        self
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "console database error");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server.database",
            "the database failed; retry later",
        )
    }
}

impl From<anyhow::Error> for Refusal {
    fn from(e: anyhow::Error) -> Self {
        if let Some(e) = e.downcast_ref::<sqlx::Error>() {
            tracing::error!(error = %e, "console database error");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server.database",
                "the database failed; retry later",
            );
        }
        // The messages of the functions called name ids and versions, never personal values.
        Self::new(StatusCode::CONFLICT, "console.refused", e.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if self.to_login {
            return Redirect::to("/console/login").into_response();
        }
        if self.status == StatusCode::UNAUTHORIZED && self.page {
            // A form posted without a session: refused, with the login form to start again.
            return (self.status, Html(pages::login(Some(&self.message)))).into_response();
        }
        if self.page {
            return (
                self.status,
                Html(pages::refusal(self.status, &self.message)),
            )
                .into_response();
        }
        let mut response = (
            self.status,
            Json(ErrorBody {
                code: self.code.to_owned(),
                message: self.message,
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

async fn not_found(uri: axum::http::Uri) -> Refusal {
    Refusal::new(StatusCode::NOT_FOUND, "request.not_found", "no such route")
        .page(!uri.path().starts_with("/console/api/"))
}

async fn method_not_allowed() -> Refusal {
    Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "request.method_not_allowed",
        "this route does not take this method",
    )
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The signed-in session of a request (or 401 / a redirect to the login page).
struct Signed(Session);

impl FromRequestParts<Console> for Signed {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &Console) -> Result<Self, Refusal> {
        let page = !parts.uri.path().starts_with("/console/api/");
        let unauthenticated = || {
            let mut refusal = Refusal::unauthenticated().page(page);
            refusal.to_login = page;
            refusal
        };
        let Some(token) = cookie_token(&parts.headers) else {
            return Err(unauthenticated());
        };
        match accounts::session(&app.db, &token).await {
            Ok(Some(session)) => Ok(Signed(session)),
            Ok(None) => Err(unauthenticated()),
            Err(e) => Err(Refusal::from(e).page(page)),
        }
    }
}

/// A body: a JSON object, or a browser's form (`application/x-www-form-urlencoded`), its
/// fields as strings.
struct Input {
    form: bool,
    fields: Map<String, Value>,
    csrf: Option<String>,
}

impl Input {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, Refusal> {
        let mime = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let header_csrf = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match mime.as_str() {
            "application/json" => {
                let fields = match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(fields)) => fields,
                    _ => return Err(Refusal::bad("the body is not a JSON object")),
                };
                Ok(Self {
                    form: false,
                    fields,
                    csrf: header_csrf,
                })
            }
            "application/x-www-form-urlencoded" => {
                let mut fields = Map::new();
                let mut csrf = None;
                for (name, value) in form_urlencoded::parse(body) {
                    if name == "csrf" {
                        csrf = Some(value.into_owned());
                    } else {
                        fields.insert(name.into_owned(), Value::String(value.into_owned()));
                    }
                }
                Ok(Self {
                    form: true,
                    fields,
                    csrf,
                })
            }
            _ => Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request.content_type",
                "the body must be application/json or a form",
            )),
        }
    }

    /// A text field, required.
    fn text(&self, name: &str) -> Result<String, Refusal> {
        self.optional(name)
            .ok_or_else(|| Refusal::bad(format!("{name} is required")).page(self.form))
    }

    fn optional(&self, name: &str) -> Option<String> {
        self.fields
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// A whole number in `range`, or `default` when absent.
    fn number(
        &self,
        name: &str,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, Refusal> {
        let value = match self.fields.get(name) {
            None => return Ok(default),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        value.filter(|v| range.contains(v)).ok_or_else(|| {
            Refusal::bad(format!(
                "{name} is a whole number from {} to {}",
                range.start(),
                range.end()
            ))
            .page(self.form)
        })
    }

    /// Refuses the request unless it carries the session's CSRF token.
    fn check_csrf(&self, session: &Session) -> Result<(), Refusal> {
        match &self.csrf {
            Some(given) if session.csrf_matches(given) => Ok(()),
            _ => {
                tracing::warn!(account = %session.account.username, "console request without its CSRF token refused");
                Err(Refusal::csrf().page(self.form))
            }
        }
    }
}

/// A signed-in action: the session, its body, the CSRF token checked.
async fn action(
    app: &Console,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Session, Input), Refusal> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let Some(token) = cookie_token(headers) else {
        return Err(Refusal::unauthenticated().page(form));
    };
    let input = Input::parse(headers, body)?;
    let session = accounts::session(&app.db, &token)
        .await?
        .ok_or_else(|| Refusal::unauthenticated().page(form))?;
    input.check_csrf(&session)?;
    Ok((session, input))
}

fn session_cookie(token: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/console; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict"
    ))
    .expect("a cookie of hex digits")
}

// ---- pages ----

async fn login_page(headers: HeaderMap, State(app): State<Console>) -> Response {
    if let Some(token) = cookie_token(&headers) {
        if let Ok(Some(_)) = accounts::session(&app.db, &token).await {
            return Redirect::to("/console/devices").into_response();
        }
    }
    Html(pages::login(None)).into_response()
}

async fn devices_page(
    State(app): State<Console>,
    Signed(s): Signed,
) -> Result<Html<String>, Refusal> {
    let devices = data::devices(&app.db, &s.account)
        .await
        .map_err(|e| Refusal::from(e).page(true))?;
    Ok(Html(pages::devices(&s, &devices)))
}

async fn enrollment_page(Signed(s): Signed) -> Html<String> {
    Html(pages::enrollment(&s, None))
}

async fn conflicts_page(
    State(app): State<Console>,
    Signed(s): Signed,
) -> Result<Html<String>, Refusal> {
    let conflicts = data::conflicts(&app.db, &s.account, false)
        .await
        .map_err(|e| Refusal::from(e).page(true))?;
    for c in &conflicts {
        accounts::audit(
            &app.db,
            &s.account,
            "conflict.viewed",
            Some(&c.district),
            Some(("conflict", &c.conflict.id)),
        )
        .await?;
    }
    Ok(Html(pages::conflicts(&s, &conflicts)))
}

async fn watchlist_page(
    State(app): State<Console>,
    Signed(s): Signed,
) -> Result<Html<String>, Refusal> {
    let view = data::watchlist(&app.db, &s.account)
        .await
        .map_err(|e| Refusal::from(e).page(true))?;
    Ok(Html(pages::watchlist(&s, &view)))
}

#[derive(Deserialize)]
struct DistrictQuery {
    district: Option<String>,
}

async fn persons_page(
    State(app): State<Console>,
    Signed(s): Signed,
    Query(q): Query<DistrictQuery>,
) -> Result<Html<String>, Refusal> {
    let listing = match q.district {
        Some(d) if s.account.may_see(&d) && s.totp_fresh() => Some((
            d.clone(),
            data::persons(&app.db, &s.account, &d)
                .await
                .map_err(|e| Refusal::from(e).page(true))?,
        )),
        Some(d) if !s.account.may_see(&d) => return Err(Refusal::not_yours().page(true)),
        _ => None,
    };
    Ok(Html(pages::persons(&s, None, listing.as_ref())))
}

#[derive(Deserialize)]
struct HoursQuery {
    hours: Option<i64>,
}

async fn health_page(
    State(app): State<Console>,
    Signed(s): Signed,
) -> Result<Html<String>, Refusal> {
    let hours = data::health(&app.db, &s.account, 48)
        .await
        .map_err(|e| Refusal::from(e).page(true))?;
    Ok(Html(pages::health(&s, &hours)))
}

async fn audit_page(
    State(app): State<Console>,
    Signed(s): Signed,
) -> Result<Html<String>, Refusal> {
    let lines = data::audit_trail(&app.db, &s.account)
        .await
        .map_err(|e| Refusal::from(e).page(true))?;
    Ok(Html(pages::audit(&s, &lines)))
}

// ---- actions ----

/// Counts one login attempt from the request's source address (a password sprayer tries
/// one password on many accounts: the lockout per account does not slow them).
fn login_attempt(app: &Console, source: Option<std::net::IpAddr>) -> Result<(), Refusal> {
    use governor::clock::{Clock, DefaultClock};
    let (Some(limiter), Some(ip)) = (&app.logins, source) else {
        return Ok(());
    };
    limiter.check_key(&ip).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        tracing::warn!("console logins from one address limited");
        let mut refusal = Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate.limited",
            "登录尝试过多，请稍后再试 / too many login attempts from this address; retry later",
        );
        refusal.retry_after = Some(wait.as_secs() + 1);
        refusal
    })
}

async fn login(
    State(app): State<Console>,
    Source(source): Source,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    login_attempt(&app, source)?;
    let input = Input::parse(&headers, &body)?;
    let username = input.text("username")?;
    let password = input.text("password")?;
    if username.len() > 64 || password.len() > 1024 {
        return Err(Refusal::bad("the account name or password is too long").page(input.form));
    }
    match accounts::login(&app.db, &username, &password).await {
        Ok(new) => {
            let cookie = session_cookie(&new.token, accounts::SESSION_SECS);
            let mut response = if input.form {
                Redirect::to("/console/devices").into_response()
            } else {
                Json(json!({ "account": new.account, "csrf": new.csrf })).into_response()
            };
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(e) => {
            let (code, message) = match e.downcast_ref::<accounts::LoginError>() {
                Some(accounts::LoginError::Locked(_)) => (
                    "console.locked",
                    "账户已锁定，请稍后再试 / the account is locked after repeated failures; try again later",
                ),
                Some(accounts::LoginError::Refused) => (
                    "console.login_refused",
                    "账户名或密码错误 / wrong account name or password",
                ),
                None => return Err(Refusal::from(e).page(input.form)),
            };
            if input.form {
                return Ok(
                    (StatusCode::UNAUTHORIZED, Html(pages::login(Some(message)))).into_response(),
                );
            }
            Err(Refusal::new(StatusCode::UNAUTHORIZED, code, message))
        }
    }
}

async fn logout(
    State(app): State<Console>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let (session, input) = action(&app, &headers, &body).await?;
    accounts::end(&app.db, &session.id).await?;
    let mut response = if input.form {
        Redirect::to("/console/login").into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie("", 0));
    Ok(response)
}

async fn second_factor(
    State(app): State<Console>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let (session, input) = action(&app, &headers, &body).await?;
    let code = input.text("code")?;
    let next = input
        .optional("next")
        .filter(|n| n.starts_with("/console/") && !n.contains("//"));
    if !accounts::second_factor(&app.db, &session, &code).await? {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "console.totp_refused",
            "动态口令错误或已使用 / the one-time code is wrong or already used",
        )
        .page(input.form));
    }
    accounts::audit(&app.db, &session.account, "totp.given", None, None).await?;
    Ok(if input.form {
        Redirect::to(next.as_deref().unwrap_or("/console/persons")).into_response()
    } else {
        Json(json!({ "fresh_for_secs": accounts::TOTP_FRESH_SECS })).into_response()
    })
}

async fn me(Signed(s): Signed) -> Json<Value> {
    Json(json!({ "account": s.account, "csrf": s.csrf, "totp_fresh": s.totp_fresh() }))
}

async fn devices_json(
    State(app): State<Console>,
    Signed(s): Signed,
) -> Result<Json<Value>, Refusal> {
    Ok(Json(
        json!({ "devices": data::devices(&app.db, &s.account).await? }),
    ))
}

async fn device_action(
    app: &Console,
    headers: &HeaderMap,
    body: &[u8],
    id: &str,
    what: &'static str,
) -> Result<Response, Refusal> {
    let (session, input) = action(app, headers, body).await?;
    let Some(district) = data::device_district(&app.db, &session.account, id).await? else {
        return Err(Refusal::not_yours().page(input.form));
    };
    let result = match what {
        "revoke" => crate::admin::revoke(&app.db, id)
            .await
            .map(|()| json!({"device_id": id, "revoked": true})),
        _ => crate::commands::issue(&app.db, id, lgt_protocol::CommandAction::Wipe)
            .await
            .and_then(|c| Ok(serde_json::to_value(c)?)),
    };
    let result = result.map_err(|e| Refusal::from(e).page(input.form))?;
    accounts::audit(
        &app.db,
        &session.account,
        &format!("device.{what}"),
        Some(&district),
        Some(("device", id)),
    )
    .await?;
    Ok(if input.form {
        Redirect::to("/console/devices").into_response()
    } else {
        Json(result).into_response()
    })
}

async fn revoke(
    State(app): State<Console>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    device_action(&app, &headers, &body, &id, "revoke").await
}

async fn wipe(
    State(app): State<Console>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    device_action(&app, &headers, &body, &id, "wipe").await
}

/// What the enrollment QR code carries: what `lgt-server enrollment-code` prints, and the
/// API's address when the console knows it.
#[derive(serde::Serialize)]
struct EnrollmentPayload {
    #[serde(flatten)]
    code: crate::admin::EnrollmentCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_pin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_url: Option<String>,
}

/// The text of the enrollment QR code, in the form the apps' enrollment screens read
/// (`android/.../EnrollmentQr.kt`, `ios/.../EnrollmentQR.swift`):
/// `lgt-enroll:?server=URL&pin=sha256%2F...&code=CODE`, each value percent-encoded; the server
/// only when the console knows the API's public address, the pin only when it serves HTTPS.
fn enrollment_qr_text(payload: &EnrollmentPayload) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(url) = &payload.server_url {
        query.append_pair("server", url);
    }
    if let Some(pin) = &payload.server_pin {
        query.append_pair("pin", pin);
    }
    query.append_pair("code", &payload.code.code);
    format!("lgt-enroll:?{}", query.finish())
}

async fn enrollment_code(
    State(app): State<Console>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let (session, input) = action(&app, &headers, &body).await?;
    let coordinator = input.text("coordinator")?;
    let district = input.text("district")?;
    let ttl_hours = input.number("ttl_hours", 24, 1..=24 * 14)?;
    let max_offline_hours = input.number("max_offline_hours", 72, 1..=24 * 60)?;
    if coordinator.len() > 64
        || !coordinator
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(
            Refusal::bad("coordinator is 1 to 64 letters, digits, '-', '_' or '.'")
                .page(input.form),
        );
    }
    if !session.account.may_see(&district) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "console.not_your_district",
            "this district is not yours",
        )
        .page(input.form));
    }
    let code = crate::admin::create_enrollment_code(
        &app.db,
        &coordinator,
        &district,
        ttl_hours * 3600,
        max_offline_hours * 3600,
    )
    .await
    .map_err(|e| Refusal::from(e).page(input.form))?;
    accounts::audit(
        &app.db,
        &session.account,
        "enrollment.code_issued",
        Some(&district),
        Some(("coordinator", &coordinator)),
    )
    .await?;
    let payload = EnrollmentPayload {
        code,
        server_pin: app.config.server_pin.clone(),
        server_url: app.config.server_url.clone(),
    };
    let text = enrollment_qr_text(&payload);
    let qr = pages::qr_svg(&text);
    Ok(if input.form {
        Html(pages::enrollment(
            &session,
            Some((&payload.code, &text, &qr)),
        ))
        .into_response()
    } else {
        Json(json!({ "payload": payload, "qr_text": text, "qr_svg": qr })).into_response()
    })
}

async fn conflicts_json(
    State(app): State<Console>,
    Signed(s): Signed,
    Query(q): Query<AllQuery>,
) -> Result<Json<Value>, Refusal> {
    let conflicts = data::conflicts(&app.db, &s.account, q.all.unwrap_or(false)).await?;
    for c in &conflicts {
        accounts::audit(
            &app.db,
            &s.account,
            "conflict.viewed",
            Some(&c.district),
            Some(("conflict", &c.conflict.id)),
        )
        .await?;
    }
    Ok(Json(json!({ "conflicts": conflicts })))
}

#[derive(Deserialize)]
struct AllQuery {
    all: Option<bool>,
}

async fn resolve(
    State(app): State<Console>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let (session, input) = action(&app, &headers, &body).await?;
    let side: crate::resolution::Side = serde_json::from_value(Value::String(input.text("side")?))
        .map_err(|_| {
            Refusal::bad("side is one of the sides a resolution takes (server, phone, merge)")
                .page(input.form)
        })?;
    let note = input.text("note")?;
    if note.chars().count() > 500 {
        return Err(Refusal::bad("a note is at most 500 characters").page(input.form));
    }
    let device: Option<(String,)> = sqlx::query_as("SELECT device_id FROM conflicts WHERE id = $1")
        .bind(&id)
        .fetch_optional(&app.db.pool)
        .await?;
    let district = match device {
        Some((device,)) => data::device_district(&app.db, &session.account, &device).await?,
        None => None,
    };
    let Some(district) = district else {
        return Err(Refusal::not_yours().page(input.form));
    };
    let resolved = crate::resolution::resolve(&app.db, &id, side, &note)
        .await
        .map_err(|e| Refusal::from(e).page(input.form))?;
    accounts::audit(
        &app.db,
        &session.account,
        "conflict.resolved",
        Some(&district),
        Some(("conflict", &id)),
    )
    .await?;
    Ok(if input.form {
        Redirect::to("/console/conflicts").into_response()
    } else {
        Json(serde_json::to_value(&resolved).map_err(anyhow::Error::from)?).into_response()
    })
}

async fn watchlist_json(
    State(app): State<Console>,
    Signed(s): Signed,
) -> Result<Json<Value>, Refusal> {
    Ok(Json(
        serde_json::to_value(data::watchlist(&app.db, &s.account).await?)
            .map_err(anyhow::Error::from)?,
    ))
}

async fn publish(
    State(app): State<Console>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    use base64::Engine as _;
    let (session, input) = action(&app, &headers, &body).await?;
    if session.account.role != Role::Admin {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "console.admin_only",
            "only an administrator publishes a watchlist",
        )
        .page(input.form));
    }
    let package = base64::engine::general_purpose::STANDARD
        .decode(input.text("package")?)
        .map_err(|_| {
            Refusal::bad("package is the package file in standard base64").page(input.form)
        })?;
    // The map `lgt watchlist build --map` writes: one `tag,entry_ref` line per listed row.
    let mut entries = Vec::new();
    for line in input.optional("entries").unwrap_or_default().lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("tag,") {
            continue;
        }
        let (tag, entry_ref) = line.split_once(',').ok_or_else(|| {
            Refusal::bad("entries has one `tag,entry_ref` per line").page(input.form)
        })?;
        entries.push((tag.trim().to_owned(), entry_ref.trim().to_owned()));
    }
    let published = data::publish(&app.db, &package, &entries)
        .await
        .map_err(|e| Refusal::from(e).page(input.form))?;
    accounts::audit(
        &app.db,
        &session.account,
        "watchlist.published",
        None,
        Some(("watchlist_version", &published.version.to_string())),
    )
    .await?;
    Ok(if input.form {
        Redirect::to("/console/watchlist").into_response()
    } else {
        Json(json!({ "published": published, "entries_mapped": entries.len() })).into_response()
    })
}

async fn search(
    State(app): State<Console>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let (session, input) = action(&app, &headers, &body).await?;
    let district = input.text("district")?;
    if !session.account.may_see(&district) {
        accounts::audit(
            &app.db,
            &session.account,
            "person.refused_district",
            Some(&district),
            None,
        )
        .await?;
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "console.not_your_district",
            "这不是您的辖区 / this district is not yours",
        )
        .page(input.form));
    }
    let id_number = input.optional("id_number");
    let permit_number = input.optional("permit_number");
    let search = match (&id_number, &permit_number) {
        (Some(n), None) if n.len() <= 32 => data::Search::IdNumber(n),
        (None, Some(n)) if n.len() <= 32 => data::Search::PermitNumber(n),
        _ => {
            return Err(Refusal::bad(
                "give one of id_number and permit_number (at most 32 characters)",
            )
            .page(input.form))
        }
    };
    let found = data::find_person(&app.db, &session.account, &district, search).await?;
    if input.form {
        return Ok(Html(pages::persons(&session, Some(found.as_ref()), None)).into_response());
    }
    match found {
        Some(person) => {
            Ok(Json(serde_json::to_value(person).map_err(anyhow::Error::from)?).into_response())
        }
        None => Err(Refusal::not_yours()),
    }
}

async fn persons_json(
    State(app): State<Console>,
    Signed(s): Signed,
    Query(q): Query<DistrictQuery>,
) -> Result<Json<Value>, Refusal> {
    let district = q
        .district
        .ok_or_else(|| Refusal::bad("district is required"))?;
    if !s.account.may_see(&district) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "console.not_your_district",
            "this district is not yours",
        ));
    }
    if !s.totp_fresh() {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "console.totp_required",
            "a bulk view of personal data needs a fresh one-time code (POST /console/api/totp)",
        ));
    }
    Ok(Json(
        json!({ "persons": data::persons(&app.db, &s.account, &district).await? }),
    ))
}

async fn health_json(
    State(app): State<Console>,
    Signed(s): Signed,
    Query(q): Query<HoursQuery>,
) -> Result<Json<Value>, Refusal> {
    Ok(Json(
        json!({ "hours": data::health(&app.db, &s.account, q.hours.unwrap_or(48)).await? }),
    ))
}

async fn audit_json(State(app): State<Console>, Signed(s): Signed) -> Result<Json<Value>, Refusal> {
    Ok(Json(
        json!({ "lines": data::audit_trail(&app.db, &s.account).await? }),
    ))
}
