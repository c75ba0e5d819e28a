//! HTTPS: the server's TLS identity and the pin phones enroll with.
//!
//! Phones trust the pinned key of the server, not a certificate authority (a hostile Wi-Fi
//! or a fake base station may present any CA-signed certificate it obtained), so a fresh
//! data directory makes its own self-signed certificate and the operator hands out its pin
//! with the enrollment codes. An operator may bring a CA-issued certificate instead; phones
//! pin its key all the same.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lgt_common::crypto::sha256;
use lgt_protocol::ServerPin;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ParsedCertificate;
use rustls::ServerConfig;

/// Why the TLS identity could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no PEM certificate or key.
    #[error("{path} holds no PEM {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was looked for.
        what: &'static str,
    },
    /// The certificate or key was refused (malformed, or the key is not the certificate's).
    #[error("the TLS certificate or key is unusable: {0}")]
    Unusable(#[from] rustls::Error),
    /// The self-signed certificate could not be made.
    #[error("could not make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The data directory is not private, or cannot be used.
    #[error(transparent)]
    DataDir(#[from] crate::datadir::DataDirError),
}

/// The certificate chain and key the server serves HTTPS with.
#[derive(Clone)]
pub struct TlsIdentity {
    config: Arc<ServerConfig>,
    pin: ServerPin,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("pin", &self.pin.to_string())
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// The chain (leaf first) and private key in these PEM files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TlsError::Io { path, source }
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|_| TlsError::Pem {
                path: cert.into(),
                what: "certificate",
            })?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsError::Pem {
                path: cert.into(),
                what: "certificate",
            })?;
        let key_pem = std::fs::read(key).map_err(io(key))?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::Pem {
            path: key.into(),
            what: "private key",
        })?;
        let leaf = chain.first().ok_or_else(|| TlsError::Pem {
            path: cert.into(),
            what: "certificate",
        })?;
        let pin = pin_of(leaf)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            pin,
        })
    }

    /// The identity kept in `DATA/tls/` (`cert.pem`, `key.pem`), made on first use: an
    /// ECDSA P-256 key and a self-signed certificate for it. The key file is readable by the
    /// server's user only (0600), in a 0700 folder of a data directory that is refused if it is
    /// open to others ([`crate::datadir::prepare`]).
    pub fn in_data_dir(data: &Path) -> Result<Self, TlsError> {
        crate::datadir::prepare(data)?;
        let dir = data.join("tls");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        if !cert.exists() {
            make_self_signed(data, &dir)?;
        }
        Self::from_pem_files(&cert, &key)
    }

    /// The pin of the certificate's key, for `lgt enroll --server-pin`.
    pub fn pin(&self) -> ServerPin {
        self.pin
    }

    /// The rustls configuration to serve with.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }
}

/// The SHA-256 of a certificate's SubjectPublicKeyInfo.
fn pin_of(cert: &CertificateDer<'_>) -> Result<ServerPin, TlsError> {
    let parsed = ParsedCertificate::try_from(cert)?;
    Ok(ServerPin(sha256(parsed.subject_public_key_info().as_ref())))
}

/// Writes a new key and certificate into a private temporary folder, then renames it to
/// `dir`: a second server starting on the same data directory at the same moment either
/// sees no folder or a complete one.
fn make_self_signed(data: &Path, dir: &Path) -> Result<(), TlsError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Io { path, source }
    };
    let staging = data.join(format!("tls.{}.tmp", uuid::Uuid::now_v7().simple()));
    let mut folder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
    folder.create(&staging).map_err(io(&staging))?;
    let made = rcgen::generate_simple_self_signed(vec!["lgt-server".to_owned()])?;
    write_private(&staging.join("key.pem"), &made.signing_key.serialize_pem())
        .map_err(io(&staging))?;
    std::fs::write(staging.join("cert.pem"), made.cert.pem()).map_err(io(&staging))?;
    if std::fs::rename(&staging, dir).is_err() {
        // Another process made it first: use theirs.
        let _ = std::fs::remove_dir_all(&staging);
        if !dir.join("cert.pem").exists() {
            return Err(TlsError::Io {
                path: dir.into(),
                source: std::io::Error::other("the TLS folder could not be created"),
            });
        }
    }
    tracing::info!(dir = %dir.display(), "made a self-signed TLS certificate");
    Ok(())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_directory_keeps_the_identity_it_made_and_its_pin() {
        let data = tempfile::tempdir().unwrap();
        let first = TlsIdentity::in_data_dir(data.path()).unwrap();
        let again = TlsIdentity::in_data_dir(data.path()).unwrap();
        assert_eq!(first.pin(), again.pin());
        let other = TlsIdentity::in_data_dir(tempfile::tempdir().unwrap().path()).unwrap();
        assert_ne!(first.pin(), other.pin());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(data.path().join("tls/key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key file is private");
            let open = tempfile::tempdir().unwrap();
            std::fs::write(open.path().join("lgt-server.db"), b"").unwrap();
            std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let refused = TlsIdentity::in_data_dir(open.path());
            assert!(matches!(refused, Err(TlsError::DataDir(_))), "{refused:?}");
            assert!(!open.path().join("tls").exists(), "nothing made");
        }
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        TlsIdentity::in_data_dir(a.path()).unwrap();
        TlsIdentity::in_data_dir(b.path()).unwrap();
        let mixed = TlsIdentity::from_pem_files(
            &a.path().join("tls/cert.pem"),
            &b.path().join("tls/key.pem"),
        );
        assert!(matches!(mixed, Err(TlsError::Unusable(_))), "{mixed:?}");
        let junk = a.path().join("junk.pem");
        std::fs::write(&junk, "not pem").unwrap();
        let refused = TlsIdentity::from_pem_files(&junk, &a.path().join("tls/key.pem"));
        assert!(matches!(refused, Err(TlsError::Pem { .. })), "{refused:?}");
    }
}
