//! The ACME state directory: the account key and the certificates with their keys. The directory
//! is mode 0700 and every file 0600, written whole or not at all (a temporary file, then a
//! rename), so a crash mid-write never leaves half a key behind.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Creates `dir` (and parents) with mode 0700, or narrows an existing one to 0700.
pub fn secure_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Writes `bytes` to `path` with mode 0600, replacing it atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = tmp_path(path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The file name of an ACME account for a directory URL: one account per directory, so moving
/// from staging to production (or to another CA) starts a new account instead of failing.
pub fn account_file(state_dir: &Path, directory: &str) -> PathBuf {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(directory.as_bytes());
    state_dir.join(format!("account-{}.json", hex::encode(&digest[..6])))
}

/// The directory of a certificate named by its first domain (`*` written as `_wildcard`).
pub fn cert_dir(state_dir: &Path, first_domain: &str) -> PathBuf {
    state_dir.join(first_domain.replace('*', "_wildcard"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_directories_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("acme/state");
        secure_dir(&dir).unwrap();
        let file = dir.join("key.pem");
        write_private(&file, b"secret").unwrap();
        write_private(&file, b"secret 2").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"secret 2");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&file), 0o600);
        // A directory made by someone else with wider permissions is narrowed.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        secure_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert!(!dir.join("key.pem.tmp").exists());
    }

    #[test]
    fn names() {
        let d = Path::new("/s");
        assert_eq!(cert_dir(d, "*.example.org"), Path::new("/s/_wildcard.example.org"));
        assert_ne!(account_file(d, "https://a/dir"), account_file(d, "https://b/dir"));
    }
}
