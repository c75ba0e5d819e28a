//! The desktop client's key provider: the data key in a file only its owner can read.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{DataKey, KeyError, KeyProvider, DATA_KEY_LEN};

/// A data key kept in a file created with mode 0600.
///
/// On a phone the shells keep the key in the Android Keystore or iOS Keychain instead;
/// this provider is for the `lgt` desktop client and tests.
#[derive(Debug, Clone)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// Creates a new random key at `path`. Fails if the file already exists, so an existing
    /// key (and the data it protects) is never overwritten.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self, KeyError> {
        let path = path.into();
        let key = DataKey::generate()?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(io_error)?;
        file.write_all(key.expose_bytes()).map_err(io_error)?;
        file.sync_all().map_err(io_error)?;
        Ok(Self { path })
    }

    /// Refers to an existing key file; the key is read on each [`KeyProvider::data_key`].
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, KeyError> {
        let path = path.into();
        check_private(&path)?;
        Ok(Self { path })
    }

    /// Where the key lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl KeyProvider for KeyFile {
    fn data_key(&self) -> Result<DataKey, KeyError> {
        check_private(&self.path)?;
        let mut file = File::open(&self.path).map_err(io_error)?;
        let mut bytes = Zeroizing::new(Vec::with_capacity(DATA_KEY_LEN + 1));
        // Read one byte more than a key so a longer file is detected.
        Read::by_ref(&mut file)
            .take(DATA_KEY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        DataKey::try_from_slice(&bytes)
    }

    fn destroy(&self) -> Result<(), KeyError> {
        match OpenOptions::new().write(true).open(&self.path) {
            Ok(mut file) => {
                // Overwrite before unlinking; on flash this is best effort, which is why the
                // store's data is only ever written encrypted under this key.
                file.write_all(&[0u8; DATA_KEY_LEN]).map_err(io_error)?;
                file.sync_all().map_err(io_error)?;
                fs::remove_file(&self.path).map_err(io_error)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }
}

fn check_private(path: &Path) -> Result<(), KeyError> {
    let meta = fs::metadata(path).map_err(io_error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(KeyError::Provider(
                "key file is readable by group or others; it must be mode 0600".into(),
            ));
        }
    }
    if !meta.is_file() {
        return Err(KeyError::Provider("key path is not a regular file".into()));
    }
    Ok(())
}

fn io_error(e: std::io::Error) -> KeyError {
    KeyError::Provider(format!("key file: {}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_read_destroy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.key");
        let created = KeyFile::create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let key = created.data_key().unwrap();
        let reopened = KeyFile::open(&path).unwrap().data_key().unwrap();
        assert_eq!(key.expose_bytes(), reopened.expose_bytes());
        assert!(
            KeyFile::create(&path).is_err(),
            "an existing key is never overwritten"
        );
        created.destroy().unwrap();
        assert!(!path.exists());
        assert!(created.data_key().is_err());
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_world_readable_key() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.key");
        KeyFile::create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(KeyFile::open(&path).is_err());
    }

    #[test]
    fn a_truncated_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.key");
        KeyFile::create(&path).unwrap();
        let mut f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(10).unwrap();
        f.flush().unwrap();
        let err = KeyFile::open(&path).unwrap().data_key().unwrap_err();
        assert!(matches!(err, KeyError::WrongLength { length: 10 }));
    }
}
