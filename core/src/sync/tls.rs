//! The phone's side of TLS: the server is trusted by its pinned key alone, and plain HTTP
//! goes to loopback only (development and test harnesses).
//!
//! A certificate authority is no defence against the networks coordinators work on (a
//! hostile Wi-Fi or fake base station may hold a certificate some CA issued), so no root
//! store is consulted: the server's certificate is accepted when the SHA-256 of its public
//! key is one of the pins, and the handshake proves the server holds that key. Names and
//! validity dates are not checked; the pin is the trust, and rotating it is a signed
//! command ([`lgt_protocol::CommandAction::TrustServerKeys`]).

use std::net::IpAddr;
use std::sync::Arc;

use lgt_protocol::ServerPin;
use reqwest::Url;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

use super::SyncError;
use crate::crypto::sha256;

/// Checks that the server can be reached safely at `url` with `pins`: HTTPS with at least
/// one pin, or plain HTTP to a loopback address without any.
pub(crate) fn check_address(url: &str, pins: &[ServerPin]) -> Result<(), SyncError> {
    let bad = |reason: &str| SyncError::BadServerAddress {
        reason: reason.into(),
    };
    let url = Url::parse(url).map_err(|_| bad("not a URL"))?;
    match url.scheme() {
        "https" if pins.is_empty() => Err(bad("HTTPS needs the server's pin (sha256/...)")),
        "https" => Ok(()),
        "http" if !pins.is_empty() => Err(bad("a pinned server is reached over HTTPS")),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err(bad("plain HTTP is allowed to this device's loopback only")),
        _ => Err(bad("the address must start with https://")),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A rustls client configuration that trusts the pinned keys only.
pub(crate) fn client_config(pins: &[ServerPin]) -> Result<rustls::ClientConfig, SyncError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedServer {
        pins: pins.to_vec(),
        provider: provider.clone(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| SyncError::BadServerAddress {
            reason: "no TLS protocol version available".into(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// Whether `error` (anywhere in its chain) is the pinned verifier refusing the server's key.
pub(crate) fn is_pin_mismatch(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(other))) =
            error.downcast_ref::<rustls::Error>()
        {
            return other.0.downcast_ref::<PinMismatch>().is_some();
        }
        // io::Error hides the error it wraps from `source()`: step into it instead.
        next = match error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    false
}

/// The server's key is not pinned.
#[derive(Debug)]
struct PinMismatch;

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server's TLS key is not pinned")
    }
}

impl std::error::Error for PinMismatch {}

#[derive(Debug)]
struct PinnedServer {
    pins: Vec<ServerPin>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let parsed = ParsedCertificate::try_from(end_entity)?;
        let pin = ServerPin(sha256(parsed.subject_public_key_info().as_ref()));
        if self.pins.contains(&pin) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(CertificateError::Other(OtherError(Arc::new(PinMismatch))).into())
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_need_a_pin_for_https_and_loopback_for_plain_http() {
        let pin = [ServerPin([1; 32])];
        assert!(check_address("https://sync.example.org", &pin).is_ok());
        assert!(check_address("http://127.0.0.1:8080", &[]).is_ok());
        assert!(check_address("http://[::1]:8080/", &[]).is_ok());
        assert!(check_address("http://localhost:8080", &[]).is_ok());
        for (url, pins) in [
            ("https://sync.example.org", &[][..]),
            ("http://sync.example.org", &[][..]),
            ("http://10.0.0.1:8080", &[][..]),
            ("http://127.0.0.1:8080", &pin[..]),
            ("ftp://127.0.0.1", &[][..]),
            ("not a url", &[][..]),
        ] {
            assert!(
                matches!(
                    check_address(url, pins),
                    Err(SyncError::BadServerAddress { .. })
                ),
                "{url}"
            );
        }
    }
}
