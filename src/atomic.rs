//! Writing files so that readers see the old content or the new, never half of either: the
//! bytes go to a temporary file in the same directory, are flushed to disk (for locks; see
//! [`Durability`]), and the file is renamed over the target. An interrupted or failed run
//! leaves the previous file intact (the temporary files are [`crate::temporary`]'s).

use std::io::{self, Write};
use std::path::Path;

/// Whether a write must be on disk before the rename (a lock, a file a user reads), or only
/// needs readers never to see half of it (a private cache entry, checked when read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Create the parent directory if needed, `fsync` the data, give the file the usual
    /// permissions, then rename.
    Synced,
    /// Only write and rename: the parent must exist and the file stays private (`0600`).
    /// Hundreds of cache entries per run would otherwise cost more than the network.
    Unsynced,
}

/// Writes `path` through a temporary file and a rename, synced to disk first. The new file
/// keeps the permissions of the one it replaces, or gets the usual `0644` when it is new.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    write_with(path, Durability::Synced, write)
}

/// Writes `path` through a temporary file and a rename, with the given durability.
pub fn write_with(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if durability == Durability::Unsynced {
        let mut temp = crate::temporary::create_in(dir)?;
        write(temp.as_file_mut())?;
        temp.persist(path)?;
        return Ok(());
    }
    fs_err::create_dir_all(dir)?;
    let mut temp = crate::temporary::create_in(dir)?;
    write(temp.as_file_mut())?;
    temp.as_file_mut().flush()?;
    temp.as_file().sync_data()?;
    let permissions = match fs_err::metadata(path) {
        Ok(existing) => Some(existing.permissions()),
        Err(_) => default_permissions(),
    };
    if let Some(permissions) = permissions {
        temp.as_file().set_permissions(permissions)?;
    }
    temp.persist(path)?;
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically(path, |file| file.write_all(bytes))
}

#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    // tempfile creates files 0600; a lock is meant to be read by others (CI, reviewers).
    // The process umask cannot be read without changing it, so use the common default.
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pylock.toml");
        write_bytes(&path, b"one").unwrap();
        write_bytes(&path, b"two").unwrap();
        assert_eq!(fs_err::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs_err::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["pylock.toml"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pylock.toml");
        write_bytes(&path, b"old").unwrap();
        let result = write_atomically(&path, |file| {
            file.write_all(b"half")?;
            Err(io::Error::other("interrupted"))
        });
        assert!(result.is_err());
        assert_eq!(fs_err::read(&path).unwrap(), b"old");
        assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 1);
    }
}
