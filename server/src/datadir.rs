//! The data directory (the SQLite database, the TLS key): private to the server's user.
//!
//! A missing directory is created with mode 0700, and an empty one (made by an installer or
//! a test just before) is narrowed to 0700; one that already holds files and is open to its
//! group or to others is refused with the command that fixes it, and the server does not
//! start. Private files in it (the SQLite database, the TLS key) are created 0600.

use std::path::{Path, PathBuf};

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// The directory is open to its group or to others.
    #[error(
        "the data directory {path} is accessible to its group or to others (mode {mode:03o}); \
         it holds the server's database and keys: run `chmod 700 {path}` and start again"
    )]
    NotPrivate {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The path is not a directory.
    #[error("the data directory {0} is not a directory")]
    NotADirectory(PathBuf),
    /// The directory could not be created, read or narrowed.
    #[error("cannot use the data directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
}

/// Makes sure `dir` exists and is the server user's alone (see the module's comment).
pub fn prepare(dir: &Path) -> Result<(), DataDirError> {
    let io = |source| DataDirError::Io {
        path: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(io)?;
    }
    let meta = std::fs::metadata(dir).map_err(io)?;
    if !meta.is_dir() {
        return Err(DataDirError::NotADirectory(dir.to_path_buf()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let empty = std::fs::read_dir(dir).map_err(io)?.next().is_none();
            if !empty {
                return Err(DataDirError::NotPrivate {
                    path: dir.to_path_buf(),
                    mode,
                });
            }
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
    }
    Ok(())
}

/// Creates `path` empty with mode 0600 if it does not exist (a file the server then opens).
pub fn private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_directory_is_private_and_an_open_one_with_files_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("a/b");
        prepare(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);

        let empty = root.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare(&empty).unwrap();
        assert_eq!(mode(&empty), 0o700, "an empty directory is narrowed");

        for open in [0o750, 0o705, 0o777] {
            let used = root.path().join(format!("used{open:o}"));
            std::fs::create_dir(&used).unwrap();
            std::fs::write(used.join("lgt-server.db"), b"").unwrap();
            std::fs::set_permissions(&used, std::fs::Permissions::from_mode(open)).unwrap();
            let refused = prepare(&used).unwrap_err();
            assert!(
                matches!(refused, DataDirError::NotPrivate { mode, .. } if mode == open),
                "{refused}"
            );
            assert!(refused.to_string().contains("chmod 700"), "{refused}");
            assert_eq!(mode(&used), open, "nothing changed");
        }

        let file = root.path().join("key");
        private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
    }
}
