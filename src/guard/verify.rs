//! `verify`: every file of a directory (or every file named) must be in the lock under the
//! same name, with the same sha256 and, where the lock has it, the same size. Only regular
//! files are opened (a FIFO or device under a locked name is a finding), none is read past its
//! locked size, and pinguard's own temporary files are set aside.
//!
//! Files are hashed in parallel (one rayon task per file, as many threads as cores), each
//! streamed through SHA-256 in 1 MiB reads: with the CPU's SHA extensions one core hashes about
//! 1.6 GB/s, so a wheelhouse in the page cache is checked at close to cores × that.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::{Check, LockedFiles, check};
use crate::digest::{Sha256, copy_hashing};
use crate::lock::FileEntry;
use crate::regular_file::{self, OpenError};
use crate::temporary;

/// What `verify` checks beyond the files present.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions {
    /// Every file of the lock must be present.
    pub require_all: bool,
}

/// The outcome for one file that the lock knows.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    /// The file name.
    pub name: String,
    /// `name==version` of its package.
    pub package: String,
    /// Its size.
    pub size: u64,
    /// Its digest (the locked one when it was too large to read).
    #[serde(serialize_with = "hex")]
    pub sha256: Sha256,
    /// The drift, if any.
    #[serde(skip)]
    pub check: Check,
}

fn hex<S: serde::Serializer>(digest: &Sha256, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(digest)
}

/// A locked name carried by something that is not a regular file.
#[derive(Debug, Clone)]
pub struct NotRegular {
    /// The path.
    pub path: PathBuf,
    /// The file name (locked).
    pub name: String,
    /// What it is ("a FIFO").
    pub kind: &'static str,
}

/// Everything `verify` found.
#[derive(Debug, Default)]
pub struct Report {
    /// Files the lock knows, sorted by name.
    pub checked: Vec<Checked>,
    /// Files the lock does not know.
    pub unknown: Vec<PathBuf>,
    /// Locked files not present (with `--require-all`).
    pub missing: Vec<String>,
    /// Files that could not be read.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Files with a locked name that are not regular files (FIFOs, devices): never opened.
    pub not_regular: Vec<NotRegular>,
    /// pinguard's own temporary files (left by an interrupted run): ignored.
    pub temporaries: Vec<PathBuf>,
    /// Directories named that were not looked into (subdirectories).
    pub skipped_dirs: Vec<PathBuf>,
}

impl Report {
    /// Files whose bytes differ from the lock.
    pub fn drifted(&self) -> impl Iterator<Item = &Checked> {
        self.checked.iter().filter(|c| c.check != Check::Match)
    }

    /// Whether everything matched.
    pub fn is_clean(&self) -> bool {
        self.drifted().next().is_none()
            && self.unknown.is_empty()
            && self.missing.is_empty()
            && self.not_regular.is_empty()
    }

    /// Bytes hashed.
    pub fn bytes(&self) -> u64 {
        self.checked.iter().map(|c| c.size).sum()
    }
}

/// Checks the files at `paths` (directories are listed, not recursed into) against `locked`.
pub fn verify(
    locked: &LockedFiles,
    paths: &[PathBuf],
    options: VerifyOptions,
) -> io::Result<Report> {
    let mut report = Report::default();
    let mut files = Vec::new();
    for path in paths {
        let metadata = fs_err::metadata(path)?;
        if metadata.is_dir() {
            let mut entries = Vec::new();
            for entry in fs_err::read_dir(path)? {
                let entry = entry?;
                if entry.file_type()?.is_dir() {
                    report.skipped_dirs.push(entry.path());
                } else {
                    entries.push(entry.path());
                }
            }
            entries.sort();
            files.extend(entries);
        } else {
            files.push(path.clone());
        }
    }

    let (temporaries, files): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|path| file_name(path).is_some_and(|name| temporary::is_temporary(&name)));
    report.temporaries = temporaries;
    let (known, unknown): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|path| file_name(path).is_some_and(|name| locked.get(&name).is_some()));
    report.unknown = unknown;

    let results: Vec<_> = known
        .par_iter()
        .map(|path| {
            let name = file_name(path).expect("partitioned on having a name");
            let entry = locked.get(&name).expect("partitioned on being locked");
            let outcome = check_file(entry.entry, path).map(|(check, size)| Checked {
                package: entry.to_string(),
                sha256: match &check {
                    Check::Drift { computed, .. } => *computed,
                    Check::Match | Check::Oversized { .. } => entry.entry.sha256,
                },
                check,
                name: name.clone(),
                size,
            });
            (path, name, outcome)
        })
        .collect();
    for (path, name, outcome) in results {
        match outcome {
            Ok(checked) => report.checked.push(checked),
            Err(OpenError::NotRegular { kind, .. }) => report.not_regular.push(NotRegular {
                path: path.clone(),
                name,
                kind,
            }),
            Err(OpenError::Io(e)) => report.unreadable.push((path.clone(), e.to_string())),
        }
    }
    report.checked.sort_by(|a, b| a.name.cmp(&b.name));

    if options.require_all {
        let present: std::collections::BTreeSet<&str> =
            report.checked.iter().map(|c| c.name.as_str()).collect();
        report.missing = locked
            .files()
            .filter(|f| !present.contains(f.entry.name.as_str()))
            .map(|f| f.entry.name.clone())
            .collect();
    }
    Ok(report)
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Compares the regular file at `path` with `entry`, and gives its size. Nothing but a regular
/// file is opened, and nothing past the locked size is read: a file larger than the lock says
/// is [`Check::Oversized`] from its size alone.
pub fn check_file(entry: &FileEntry, path: &Path) -> Result<(Check, u64), OpenError> {
    let file = regular_file::open(path)?;
    let on_disk = file.metadata()?.len();
    if let Some(oversized) = oversized(entry, on_disk) {
        return Ok((oversized, on_disk));
    }
    // One byte past the lock's size tells a file that grew while it was read.
    let limit = entry.size.map_or(u64::MAX, |locked| locked + 1);
    let (sha256, size) = copy_hashing(&mut file.take(limit), &mut io::sink())?;
    let check = oversized(entry, size).unwrap_or_else(|| check(entry, sha256, size));
    Ok((check, size))
}

/// [`Check::Oversized`] if `size` is past the lock's.
fn oversized(entry: &FileEntry, size: u64) -> Option<Check> {
    let expected_size = entry.size.filter(|&locked| size > locked)?;
    Some(Check::Oversized {
        expected: entry.sha256,
        expected_size,
        size,
    })
}
