//! Error answers: a status and a stable code, never a personal value.
//!
//! Every non-2xx answer of the server is an [`ErrorBody`]: the handlers' own refusals are
//! [`ApiError`]s, and [`json_errors`] turns whatever else answers (axum's 404 and 405, a
//! rejected body, a layer's refusal) into one with a code chosen by its status, so a phone
//! (or a tool) never has to read plain text.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lgt_protocol::ErrorBody;

/// A refused or failed request.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds to wait, sent as `retry-after` (429 and 503).
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with its status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 401 with `code`.
    pub fn unauthorized(code: &'static str, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The same error, asking the client to wait `secs` (at least 1) before trying again.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// Its stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        // sqlx messages name tables and constraints, not values.
        tracing::error!(error = %e, "database error");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server.database",
            "the database failed; retry later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The code and message for an error answer that no handler wrote, by its status.
pub fn by_status(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("request.malformed", "the request is malformed"),
        StatusCode::NOT_FOUND => ("request.not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "request.method_not_allowed",
            "this route does not take this method",
        ),
        StatusCode::REQUEST_TIMEOUT => ("request.timeout", "the request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => ("request.too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "request.content_type",
            "the request body must be application/json",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("request.malformed", "the request is malformed"),
        StatusCode::TOO_MANY_REQUESTS => ("rate.limited", "too many requests; retry later"),
        StatusCode::SERVICE_UNAVAILABLE => ("server.busy", "the server is busy; retry later"),
        s if s.is_server_error() => ("server.error", "the server failed; retry later"),
        _ => ("request.refused", "the request was refused"),
    }
}

/// Middleware: an error answer that is not JSON already (axum's own 404, 405, 413, 415, a
/// layer's refusal) is replaced by an [`ErrorBody`] with the code of its status; its status
/// and headers (`allow`, `retry-after`) stay. Whatever text it had is dropped unread, so
/// nothing of the request is echoed.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.is_success() || status.is_informational() || status.is_redirection() || is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let (code, message) = by_status(status);
    let body = ErrorBody {
        code: code.to_owned(),
        message: message.to_owned(),
    };
    let fresh = Json(body).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, fresh.into_body())
}
