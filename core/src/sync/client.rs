//! HTTP to the sync server: enrollment, signed requests, and the classification of every
//! failure into [`SyncError`]'s classes.

use std::time::Duration;

use lgt_protocol::{codes, headers, hex, signing_message, ErrorBody, ServerPin};
use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::{tls, SyncError};
use crate::crypto::{sha256, SigningKey};

/// A device's credentials for signing requests.
#[derive(Debug)]
pub struct Credentials {
    /// The device id from enrollment.
    pub device_id: String,
    /// The device's private key.
    pub key: SigningKey,
}

/// An HTTP client for one sync server: the engine's transport, public for test harnesses
/// and benchmarks that speak the protocol directly.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    /// A client for the server at `server_url`: HTTPS trusting only the keys `pins` name,
    /// or plain HTTP to loopback with no pins.
    pub fn new(server_url: &str, pins: &[ServerPin]) -> Result<Self, SyncError> {
        tls::check_address(server_url, pins)?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls::client_config(pins)?)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| transient(&e))?;
        Ok(Self {
            http,
            base: server_url.trim_end_matches('/').to_owned(),
        })
    }

    /// An unsigned POST (enrollment).
    pub async fn post<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &str,
        body: &Req,
    ) -> Result<Resp, SyncError> {
        let body = serde_json::to_vec(body).map_err(|_| permanent_local())?;
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| transient(&e))?;
        read(response).await
    }

    /// A POST signed by the device key, with a fresh timestamp and nonce.
    pub async fn signed<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        credentials: &Credentials,
        path: &str,
        body: &Req,
    ) -> Result<Resp, SyncError> {
        let body = serde_json::to_vec(body).map_err(|_| permanent_local())?;
        let timestamp = chrono::Utc::now().timestamp();
        // UUIDv7: a millisecond clock and 74 random bits, never reused by this device.
        let nonce = Uuid::now_v7().simple().to_string();
        let message = signing_message("POST", path, timestamp, &nonce, &hex(&sha256(&body)));
        let signature = hex(&credentials.key.sign(&message));
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header(headers::DEVICE, &credentials.device_id)
            .header(headers::TIMESTAMP, timestamp.to_string())
            .header(headers::NONCE, nonce)
            .header(headers::SIGNATURE, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| transient(&e))?;
        read(response).await
    }
}

fn transient(error: &reqwest::Error) -> SyncError {
    if tls::is_pin_mismatch(error) {
        return SyncError::UntrustedServer;
    }
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "response cut short"
    } else {
        "network error"
    };
    SyncError::Transient {
        reason: kind.into(),
        retry_after: None,
    }
}

fn permanent_local() -> SyncError {
    SyncError::Permanent {
        status: 0,
        code: "client.encode".into(),
        message: "could not encode the request".into(),
    }
}

/// The most bytes an answer may have once decompressed: a page of pulled entries is far
/// below it; a body that inflates beyond it (a compression bomb) is cut off, not buffered.
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// An answer's body, decompressed, up to [`MAX_ANSWER_BYTES`].
async fn body(mut response: Response) -> Result<Vec<u8>, SyncError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transient(&e))? {
        if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(SyncError::Transient {
                reason: "answer too large".into(),
                retry_after: None,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads an answer: a JSON body on success, else the error its status and code mean.
async fn read<Resp: DeserializeOwned>(response: Response) -> Result<Resp, SyncError> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let bytes = body(response).await?;
    if status.is_success() {
        // A 2xx whose body does not parse was cut or mangled on the way: ask again.
        return serde_json::from_slice(&bytes).map_err(|_| SyncError::Transient {
            reason: "malformed response".into(),
            retry_after: None,
        });
    }
    let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
    let code = body.as_ref().map_or_else(String::new, |b| b.code.clone());
    if body.is_none() && status.is_client_error() && status != StatusCode::PAYLOAD_TOO_LARGE {
        // Not the sync server's answer (it always sends a code): a proxy or gateway in
        // between refused. Nothing about the request itself is known to be wrong.
        return Err(SyncError::Transient {
            reason: format!("HTTP {} from the network, not the server", status.as_u16()),
            retry_after,
        });
    }
    Err(match status {
        StatusCode::FORBIDDEN if code == codes::DEVICE_REVOKED => SyncError::Revoked,
        // A replayed request was received once already; a fresh one is safe to send.
        StatusCode::UNAUTHORIZED if code == "auth.replay" => SyncError::Transient {
            reason: "request seen twice".into(),
            retry_after,
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SyncError::Auth { code },
        StatusCode::PAYLOAD_TOO_LARGE => SyncError::TooLarge,
        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => SyncError::Transient {
            reason: format!("HTTP {}", status.as_u16()),
            retry_after,
        },
        s if s.is_server_error() => SyncError::Transient {
            reason: format!("HTTP {}", s.as_u16()),
            retry_after,
        },
        s => SyncError::Permanent {
            status: s.as_u16(),
            message: body.map_or_else(|| "no reason given".into(), |b| b.message),
            code,
        },
    })
}
