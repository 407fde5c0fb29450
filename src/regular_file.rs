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
    let not_regular = |metadata: &std::fs::Metadata| OpenError::NotRegular {
        path: path.to_owned(),
        kind: kind(metadata.file_type()),
    };
    let metadata = fs_err::metadata(path)?;
    if !metadata.is_file() {
        return Err(not_regular(&metadata));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Reads of a regular file ignore O_NONBLOCK; only the open of a FIFO would block.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = fs_err::File::from_parts(
        options.open(path).map_err(|e| {
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
