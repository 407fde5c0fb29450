//! The guard: nothing is installed unless its bytes match the lock.
//!
//! ```text
//! pylock.toml ─► LockedFiles (file name → package, entry; names checked safe)
//!     verify:  directory ─► hash every file in parallel ─► Report (drift, unknown, missing)
//!     fetch:   select files for a target ─► download to a temp name in the destination,
//!              hashing as bytes arrive ─► rename only after size and digest match
//!     install: fetch ─► `python -m pip install --no-index --no-deps --require-hashes`
//!     sync:    installed distributions ─► compare with the lock ─► install / uninstall
//! ```
//!
//! Every check compares a [`Sha256`] computed from the bytes with the one the lock holds, and
//! the size when the lock has it. A file name from the lock is used as a path component only
//! after [`safe_file_name`] accepted it.

pub mod closure;
pub mod fetch;
pub mod installed;
pub mod installer;
pub mod python;
pub mod select;
pub mod verify;
pub mod wheel;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::diagnostic::Diagnostics;
use crate::digest::Sha256;
use crate::lock::{FileEntry, Lock, Package, pylock};

/// Why a lock cannot be guarded by.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The file could not be read.
    #[error("cannot read the lock: {0}")]
    Read(#[from] std::io::Error),
    /// Invalid TOML or PEP 751 content: every problem, with its line.
    #[error("{0}")]
    Invalid(Diagnostics),
    /// A file name that would escape the directory it is written to.
    #[error(
        "the lock names a file `{name}` ({package}): {reason}; refusing to use it as a file name"
    )]
    UnsafeName {
        /// The package.
        package: String,
        /// The name as the lock has it.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same file name with two digests.
    #[error(
        "the lock gives `{name}` two different sha256 digests ({first} and {second}); it cannot say which bytes are right"
    )]
    Conflict {
        /// The file name.
        name: String,
        /// One digest.
        first: Sha256,
        /// The other.
        second: Sha256,
    },
}

/// Reads and validates a lock for the guard.
pub fn read_lock(path: &Path) -> Result<LockedFiles, LockError> {
    let text = fs_err::read_to_string(path)?;
    let lock = pylock::from_toml(&path.display().to_string(), &text).map_err(LockError::Invalid)?;
    LockedFiles::new(lock)
}

/// A lock with its files indexed by file name.
#[derive(Debug)]
pub struct LockedFiles {
    lock: Lock,
    /// File name → (package index, which file of it).
    by_name: BTreeMap<String, Vec<(usize, FileRef)>>,
}

/// Which file of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRef {
    /// The sdist.
    Sdist,
    /// The n-th wheel.
    Wheel(usize),
    /// The archive.
    Archive,
}

/// A locked file and the package it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Locked<'a> {
    /// The package.
    pub package: &'a Package,
    /// The file.
    pub entry: &'a FileEntry,
}

impl fmt::Display for Locked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.package.display_name())
    }
}

impl LockedFiles {
    /// Indexes `lock`, refusing unsafe file names and one name with two digests.
    pub fn new(lock: Lock) -> Result<Self, LockError> {
        let mut by_name: BTreeMap<String, Vec<(usize, FileRef)>> = BTreeMap::new();
        for (i, package) in lock.packages.iter().enumerate() {
            let refs = package
                .sdist
                .iter()
                .map(|e| (e, FileRef::Sdist))
                .chain(
                    package
                        .wheels
                        .iter()
                        .enumerate()
                        .map(|(n, e)| (e, FileRef::Wheel(n))),
                )
                .chain(package.archive.iter().map(|e| (e, FileRef::Archive)));
            for (entry, file) in refs {
                safe_file_name(&entry.name).map_err(|reason| LockError::UnsafeName {
                    package: package.display_name(),
                    name: entry.name.clone(),
                    reason,
                })?;
                let slot = by_name.entry(entry.name.clone()).or_default();
                if let Some(&(j, other)) = slot.first() {
                    let first = resolve(&lock, j, other).sha256;
                    if first != entry.sha256 {
                        return Err(LockError::Conflict {
                            name: entry.name.clone(),
                            first,
                            second: entry.sha256,
                        });
                    }
                }
                slot.push((i, file));
            }
        }
        Ok(Self { lock, by_name })
    }

    /// The lock.
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// The locked file of this name (the first package listing it, if several do).
    pub fn get(&self, name: &str) -> Option<Locked<'_>> {
        let &(i, file) = self.by_name.get(name)?.first()?;
        Some(Locked {
            package: &self.lock.packages[i],
            entry: resolve(&self.lock, i, file),
        })
    }

    /// Every distinct locked file, by name.
    pub fn files(&self) -> impl Iterator<Item = Locked<'_>> {
        self.by_name.values().filter_map(|refs| {
            let &(i, file) = refs.first()?;
            Some(Locked {
                package: &self.lock.packages[i],
                entry: resolve(&self.lock, i, file),
            })
        })
    }
}

fn resolve(lock: &Lock, package: usize, file: FileRef) -> &FileEntry {
    let package = &lock.packages[package];
    match file {
        FileRef::Sdist => package.sdist.as_ref().expect("indexed sdist exists"),
        FileRef::Wheel(n) => &package.wheels[n],
        FileRef::Archive => package.archive.as_ref().expect("indexed archive exists"),
    }
}

/// Accepts a file name only if it is one plain path component: not empty, not `.` or `..`,
/// no `/` or `\`, no NUL, not starting with `.` (hidden, and the prefix of pinguard's own
/// temporary files). Names come from indexes and hand-edited locks: a `../../.bashrc` must
/// never become a path.
pub fn safe_file_name(name: &str) -> Result<&str, &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.contains(['/', '\\']) {
        return Err("it contains a path separator");
    }
    if name.contains('\0') {
        return Err("it contains a NUL byte");
    }
    if name.starts_with('.') {
        return Err("it starts with a dot");
    }
    if name.contains(':') {
        return Err("it contains a colon (a drive or stream on Windows)");
    }
    Ok(name)
}

/// How a file's bytes compare with the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Same digest and (where the lock has it) size.
    Match,
    /// Different bytes.
    Drift {
        /// What the lock holds.
        expected: Sha256,
        /// What the bytes hash to.
        computed: Sha256,
        /// The lock's size, when it differs from the file's.
        expected_size: Option<u64>,
        /// The file's size.
        size: u64,
    },
    /// Larger than the lock's size: not read past it, so there is no computed digest.
    Oversized {
        /// What the lock holds.
        expected: Sha256,
        /// The lock's size.
        expected_size: u64,
        /// The file's size.
        size: u64,
    },
}

/// Compares computed bytes with a locked entry.
pub fn check(entry: &FileEntry, computed: Sha256, size: u64) -> Check {
    let size_differs = entry.size.is_some_and(|s| s != size);
    if computed == entry.sha256 && !size_differs {
        Check::Match
    } else {
        Check::Drift {
            expected: entry.sha256,
            computed,
            expected_size: entry.size.filter(|_| size_differs),
            size,
        }
    }
}

/// Renders a drift for people: package and file, then expected and computed on their own
/// lines (the layout uv and pip use).
pub fn describe_drift(locked: &Locked<'_>, check: &Check) -> String {
    let mut text = format!("{} does not match the lock ({})", locked.entry.name, locked);
    let sizes = match check {
        Check::Match => return String::new(),
        Check::Drift {
            expected,
            computed,
            expected_size,
            size,
        } => {
            text.push_str(&format!(
                "\n  expected sha256:{expected}\n  computed sha256:{computed}"
            ));
            expected_size.map(|expected_size| (expected_size, *size, ""))
        }
        Check::Oversized {
            expected,
            expected_size,
            size,
        } => {
            text.push_str(&format!("\n  expected sha256:{expected}"));
            Some((
                *expected_size,
                *size,
                " (larger than the lock says: not read)",
            ))
        }
    };
    if let Some((expected_size, size, note)) = sizes {
        text.push_str(&format!(
            "\n  expected size:   {expected_size} bytes\n  actual size:     {size} bytes{note}"
        ));
    }
    text
}

/// Renders a file carrying a locked name that is not a regular file (a FIFO, a device).
pub fn describe_not_regular(path: &Path, locked: &Locked<'_>, kind: &str) -> String {
    format!(
        "{} ({locked}) is {kind}, not a regular file",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        let cases = [
            ("six-1.0-py3-none-any.whl", None),
            (
                "../six-1.0-py3-none-any.whl",
                Some("it contains a path separator"),
            ),
            ("/etc/passwd", Some("it contains a path separator")),
            ("a\\b.whl", Some("it contains a path separator")),
            ("..", Some("it starts with a dot")),
            (".pinguard-x", Some("it starts with a dot")),
            ("", Some("it is empty")),
            (
                "c:evil.whl",
                Some("it contains a colon (a drive or stream on Windows)"),
            ),
            ("a\0b", Some("it contains a NUL byte")),
        ];
        for (name, expected) in cases {
            assert_eq!(safe_file_name(name).err(), expected, "{name:?}");
        }
    }
}
