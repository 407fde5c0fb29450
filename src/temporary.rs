//! Temporary files pinguard writes next to their final name (`.pinguard-XXXXXX`), renamed into
//! place only once complete, and what becomes of them when a run is cut short.
//!
//! Every live temporary is in one registry. [`remove_on_interrupt`] starts a thread that, on
//! SIGINT or SIGTERM, removes every registered file and exits with 128 + the signal (130, 143)
//! as shells expect. Files are created, renamed and dropped while the registry is held, so the
//! handler never misses one that exists on disk.
//!
//! A run killed outright (SIGKILL, a crash) still leaves its temporaries: each holds an
//! exclusive `flock` while it lives, so [`remove_stale`] can tell a dead run's file (removed)
//! from another running fetch's (left alone).

use std::collections::BTreeSet;
use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The prefix of every temporary file name (no locked file name starts with a dot).
pub const PREFIX: &str = ".pinguard-";

static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn live() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    // A thread that panicked while holding the set left it consistent: every change is one
    // insert or remove.
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether `name` is one of pinguard's temporary file names.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// A registered temporary file, removed when dropped unless persisted.
#[derive(Debug)]
pub struct Temporary {
    // `None` only inside `persist` and `drop`.
    file: Option<tempfile::NamedTempFile>,
}

/// Creates a temporary file in `dir`, registered for removal on interrupt.
pub fn create_in(dir: &Path) -> io::Result<Temporary> {
    let mut live = live();
    let file = tempfile::Builder::new().prefix(PREFIX).tempfile_in(dir)?;
    // Marks the file as in use, for `remove_stale` in other runs. Where locks are not
    // supported the file is only unmarked, not unusable.
    let _ = file.as_file().try_lock();
    live.insert(file.path().to_owned());
    Ok(Temporary { file: Some(file) })
}

impl Temporary {
    fn inner(&self) -> &tempfile::NamedTempFile {
        self.file
            .as_ref()
            .expect("present until persisted or dropped")
    }

    /// The open file.
    pub fn as_file(&self) -> &File {
        self.inner().as_file()
    }

    /// The open file, to write.
    pub fn as_file_mut(&mut self) -> &mut File {
        self.file
            .as_mut()
            .expect("present until persisted or dropped")
            .as_file_mut()
    }

    /// Renames the file to `target` (replacing what is there) and returns it, still open.
    pub fn persist(mut self, target: &Path) -> io::Result<File> {
        let mut live = live();
        let file = self
            .file
            .take()
            .expect("present until persisted or dropped");
        let path = file.path().to_owned();
        let result = file.persist(target);
        live.remove(&path);
        // On failure the temporary file is removed here, with the registry still held.
        result.map_err(|e| e.error)
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let mut live = live();
            let path = file.path().to_owned();
            drop(file);
            live.remove(&path);
        }
    }
}

/// From now on, SIGINT and SIGTERM remove every live temporary file and end the process with
/// 130 or 143. Call once, before creating temporaries whose removal matters. (Elsewhere than
/// Unix, a no-op.)
#[cfg(unix)]
pub fn remove_on_interrupt() -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("pinguard-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Held until the process ends: no temporary can be created or renamed after.
                let live = live();
                for path in live.iter() {
                    let _ = std::fs::remove_file(path);
                }
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}

/// See the Unix version.
#[cfg(not(unix))]
pub fn remove_on_interrupt() -> io::Result<()> {
    Ok(())
}

/// Removes the temporary files in `dir` that no running pinguard holds (left by a run that was
/// killed); returns their paths. Best effort: what cannot be listed or removed stays, and
/// entries that are not regular files are left alone. (A file another run created an instant
/// before, not yet locked, could be taken; that run's rename then fails and it says so.)
pub fn remove_stale(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    for entry in entries.flatten() {
        let is_candidate = entry.file_name().to_str().is_some_and(is_temporary)
            && entry.file_type().is_ok_and(|t| t.is_file());
        if !is_candidate {
            continue;
        }
        let path = entry.path();
        let Ok(file) = crate::regular_file::open(&path) else {
            continue;
        };
        let in_use = matches!(file.file().try_lock(), Err(TryLockError::WouldBlock));
        if !in_use && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_files_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".pinguard-abc123");
        fs_err::write(&stale, b"half").unwrap();
        fs_err::write(dir.path().join("six-1.0-py3-none-any.whl"), b"x").unwrap();
        let live = create_in(dir.path()).unwrap();
        assert_eq!(remove_stale(dir.path()), [stale]);
        let mut names: Vec<_> = fs_err::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        let mut expected = vec![
            live.inner().path().to_owned(),
            dir.path().join("six-1.0-py3-none-any.whl"),
        ];
        expected.sort();
        assert_eq!(names, expected);
        let path = live.inner().path().to_owned();
        drop(live);
        assert!(!path.exists());
        assert!(!super::live().contains(&path));
    }
}
