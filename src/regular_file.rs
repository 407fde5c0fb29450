//! Opening files that must be regular files: a wheelhouse entry, a store entry, a lock's local
//! `path`. A FIFO blocks its opener until a writer comes, and a device such as `/dev/zero`
//! never ends; either under a locked file name would hang `verify` and `fetch`.
//!
//! The path is `stat`ed first (following symlinks, as pip and `sha256sum` do) and anything but
//! a regular file is refused without being opened; the open itself is non-blocking and the
//! opened file is checked again, so a FIFO swapped in between cannot block either.

use std::io;
use std::path::{Path, PathBuf};

/// Why a file that must be regular cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A FIFO, device, socket or directory.
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is instead ("a FIFO").
        kind: &'static str,
    },
    /// It could not be opened (the message names the path).
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<OpenError> for io::Error {
    fn from(error: OpenError) -> Self {
        match error {
            OpenError::Io(e) => e,
            not_regular => io::Error::new(io::ErrorKind::InvalidInput, not_regular.to_string()),
        }
    }
}

/// Opens the regular file at `path` for reading.
pub fn open(path: &Path) -> Result<fs_err::File, OpenError> {
    open_with(path, Atime::Update)
}

/// [`open`], leaving the file's access time as it is where the system allows it (Linux's
/// `O_NOATIME`, for a file the caller owns; otherwise as [`open`]).
///
/// For reading many files only to check them: the files an installer just linked into an
/// environment have a change time newer than their access time, so a plain read makes the
/// kernel write each one's inode (`relatime`), which uv's cache shares with every
/// environment, and in a journaling file system those writes can wait for a commit. The check
/// of what uv linked for oslo.config's 49 packages took 34 ms (median) and up to 84 ms in 12
/// warm installs, 33 and 46 ms with `O_NOATIME`; with another process writing to the disk,
/// up to 115 ms against 56 ms.
pub fn open_to_check(path: &Path) -> Result<fs_err::File, OpenError> {
    open_with(path, Atime::Keep)
}

/// Whether a read may update the file's access time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Atime {
    Update,
    Keep,
}

fn open_with(path: &Path, atime: Atime) -> Result<fs_err::File, OpenError> {
    let not_regular = |metadata: &std::fs::Metadata| OpenError::NotRegular {
        path: path.to_owned(),
        kind: kind(metadata.file_type()),
    };
    let metadata = fs_err::metadata(path)?;
    if !metadata.is_file() {
        return Err(not_regular(&metadata));
    }
    let file = fs_err::File::from_parts(
        open_nonblocking(path, atime).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display()))
        })?,
        path,
    );
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(not_regular(&metadata));
    }
    Ok(file)
}

/// Opens `path` for reading without blocking (reads of a regular file ignore `O_NONBLOCK`;
/// only the open of a FIFO would block), with `O_NOATIME` when `atime` says so and the
/// kernel allows it (`EPERM` for a file of another owner: then without).
fn open_nonblocking(path: &Path, atime: Atime) -> io::Result<std::fs::File> {
    let open = |flags: i32| {
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, flags);
        #[cfg(not(unix))]
        let _ = flags;
        options.open(path)
    };
    #[cfg(unix)]
    let flags = libc::O_NONBLOCK;
    #[cfg(not(unix))]
    let flags = 0;
    #[cfg(target_os = "linux")]
    if atime == Atime::Keep {
        match open(flags | libc::O_NOATIME) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            opened => return opened,
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = atime;
    open(flags)
}

/// What a file that is not regular is, for messages.
pub fn kind(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn open_to_check_refuses_the_same_files_and_leaves_the_access_time() {
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.py");
        fs_err::write(&file, b"x = 1\n").unwrap();
        // An access time older than the change time, as after a hard link.
        let long_ago = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
        let times = std::fs::FileTimes::new().set_accessed(long_ago);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_times(times)
            .unwrap();
        let mut text = String::new();
        open_to_check(&file)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "x = 1\n");
        assert_eq!(fs_err::metadata(&file).unwrap().atime(), 1 << 30);
        let link = dir.path().join("zero.py");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        for path in [dir.path(), link.as_path()] {
            assert_eq!(
                open_to_check(path).unwrap_err().to_string(),
                open(path).unwrap_err().to_string()
            );
        }
    }

    #[test]
    fn refuses_directories_and_devices_and_reads_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.whl");
        fs_err::write(&file, b"x").unwrap();
        assert!(open(&file).is_ok());
        let refused = |path: &Path| match open(path) {
            Err(OpenError::NotRegular { kind, .. }) => kind,
            other => panic!("{other:?}"),
        };
        assert_eq!(refused(dir.path()), "a directory");
        #[cfg(unix)]
        {
            let link = dir.path().join("zero.whl");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            assert_eq!(refused(&link), "a character device");
            assert_eq!(
                open(&link).unwrap_err().to_string(),
                format!(
                    "{} is a character device, not a regular file",
                    link.display()
                )
            );
        }
    }
}
