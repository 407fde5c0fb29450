//! `fetch`: a verified wheelhouse. Each file is hashed while it arrives, into a temporary
//! name in the destination; only a file whose size and sha256 match the lock is renamed to
//! its real name. A failed file leaves nothing behind, nor does an interrupted run (see
//! [`crate::temporary`]); temporaries of runs that were killed are removed first.
//!
//! A locked name the destination already holds is checked as `verify` checks it (only a
//! regular file is opened, never read past the locked size): the right bytes are kept, anything
//! else is a finding ([`Tampered`]) and is replaced with the verified file.
//!
//! A content-addressed store (`files-v1/<sha256>` in the cache) makes a second fetch free and
//! `--offline` possible; what comes out of it is hashed again on the way into the destination,
//! so a damaged store cannot pass a bad file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::verify::check_file;
use super::{Check, Locked, check};
use crate::digest::{Sha256, copy_hashing};
use crate::download::{self, DownloadError, Restartable};
use crate::http::{Connectivity, HttpClient};
use crate::index::FileLocation;
use crate::lock::EntryLocation;
use crate::progress::Progress;
use crate::regular_file::{self, OpenError};
use crate::safe_url::SafeUrl;
use crate::temporary::{self, Temporary};

/// Where a fetched file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// It was already in the destination, with the right bytes.
    Present,
    /// Copied from the content-addressed store.
    Store,
    /// Downloaded (or read from the path the lock gives).
    Download,
}

/// A file now verified in the destination.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The file name.
    pub name: String,
    /// Its path in the destination.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// Where it came from.
    pub origin: Origin,
    /// Its sha256 (the locked one).
    pub sha256: Sha256,
}

/// Why a file is not in the destination.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The bytes differ from the lock.
    #[error("{description}")]
    Drift {
        /// Package, file, expected and computed digests, ready to print.
        description: String,
    },
    /// More bytes arrived than the lock's size.
    #[error(
        "{name} ({package}) is larger than the lock says ({expected} bytes); the download was stopped"
    )]
    TooLarge {
        /// The file.
        name: String,
        /// Its package.
        package: String,
        /// The locked size.
        expected: u64,
    },
    /// The lock's location cannot be fetched.
    #[error(
        "{name} ({package}): the lock's location `{location}` is not a URL or path pinguard can fetch: {reason}"
    )]
    Location {
        /// The file.
        name: String,
        /// Its package.
        package: String,
        /// The location.
        location: String,
        /// Why.
        reason: String,
    },
    /// `--offline` and not in the store.
    #[error(
        "{name} ({package}) is not in the download cache (run once without --offline to fill it)"
    )]
    NotCached {
        /// The file.
        name: String,
        /// Its package.
        package: String,
    },
    /// The network or disk failed.
    #[error("{name} ({package}): {source}")]
    Download {
        /// The file.
        name: String,
        /// Its package.
        package: String,
        /// Why.
        source: Box<DownloadError>,
    },
    /// The destination could not be written.
    #[error("{name}: cannot write into the destination: {source}")]
    Io {
        /// The file.
        name: String,
        /// Why.
        source: io::Error,
    },
}

impl FetchError {
    /// Whether the bytes were wrong (a finding) rather than the fetch impossible.
    pub fn is_drift(&self) -> bool {
        matches!(self, Self::Drift { .. } | Self::TooLarge { .. })
    }
}

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The destination directory (created if missing).
    pub dest: PathBuf,
    /// Where in it each file goes.
    pub layout: Layout,
    /// The content-addressed store, if any.
    pub store: Option<PathBuf>,
    /// Files fetched at once.
    pub concurrency: usize,
    /// The directory relative `path` locations in the lock are relative to.
    pub lock_dir: PathBuf,
}

/// Where in the destination a fetched file goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `DEST/<file name>`: a wheelhouse for pip and people.
    Flat,
    /// `DEST/<sha256>/<file name>`: files that keep their path from one run to the next
    /// whatever other locks name the same file with other bytes (the wheelhouse whose paths
    /// pinguard's uv cache knows its wheels by: `install --installer uv`).
    ByDigest,
}

impl FetchOptions {
    /// The path `file` is fetched to.
    pub fn path_of(&self, file: &Locked<'_>) -> PathBuf {
        match self.layout {
            Layout::Flat => self.dest.join(&file.entry.name),
            Layout::ByDigest => self
                .dest
                .join(file.entry.sha256.to_string())
                .join(&file.entry.name),
        }
    }
}

/// What the destination held under a locked name before the fetch, when it was not the
/// locked file: the wheelhouse was tampered with (or damaged).
#[derive(Debug, Clone)]
pub enum Found {
    /// Other bytes.
    Drift(Check),
    /// Not a regular file ("a FIFO"); never opened.
    NotRegular(&'static str),
}

/// A locked name the destination held with something else.
#[derive(Debug, Clone)]
pub struct Tampered {
    /// Which of the files asked for.
    pub index: usize,
    /// Its path in the destination.
    pub path: PathBuf,
    /// What was there.
    pub found: Found,
    /// What became of it.
    pub disposal: Disposal,
}

/// What became of a tampered file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposal {
    /// The verified file took its place.
    Replaced,
    /// The fetch failed; it was removed.
    Removed,
    /// The fetch failed and it could not be removed (a directory, a read-only destination).
    Left,
}

impl Tampered {
    /// The finding, for people.
    pub fn describe(&self, locked: &Locked<'_>) -> String {
        let outcome = match self.disposal {
            Disposal::Replaced => "replaced it with the verified file",
            Disposal::Removed => "removed it (the locked file could not be fetched)",
            Disposal::Left => "it is still there (the locked file could not be fetched): remove it",
        };
        match &self.found {
            Found::Drift(check) => format!(
                "{}\n  in the destination: {}; {outcome}",
                super::describe_drift(locked, check),
                self.path.display()
            ),
            Found::NotRegular(kind) => format!(
                "{}; {outcome}",
                super::describe_not_regular(&self.path, locked, kind)
            ),
        }
    }
}

/// Everything a fetch did.
#[derive(Debug)]
pub struct Fetch {
    /// One result per file asked for, in order.
    pub results: Vec<Result<Fetched, FetchError>>,
    /// Locked names the destination held with something else: findings.
    pub tampered: Vec<Tampered>,
    /// Temporary files of interrupted runs, removed from the destination first.
    pub stale: Vec<PathBuf>,
}

/// Fetches `files` into the destination, all in parallel.
pub fn fetch(
    files: &[Locked<'_>],
    http: &HttpClient,
    options: &FetchOptions,
    progress: &Progress,
) -> Fetch {
    if let Err(source) = fs_err::create_dir_all(&options.dest) {
        let results = files
            .iter()
            .map(|f| {
                Err(FetchError::Io {
                    name: f.entry.name.clone(),
                    source: io::Error::new(source.kind(), source.to_string()),
                })
            })
            .collect();
        return Fetch {
            results,
            tampered: Vec::new(),
            stale: Vec::new(),
        };
    }
    let stale = temporary::remove_stale(&options.dest);
    let bar = progress.bar(files.len() as u64, "fetching");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.concurrency.max(1))
        .thread_name(|i| format!("pinguard-fetch-{i}"))
        .build()
        .expect("a thread pool of a few threads can be created");
    let outcomes: Vec<_> = pool.install(|| {
        files
            .par_iter()
            .map(|file| {
                let outcome = fetch_one(file, http, options);
                bar.inc(1);
                outcome
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut fetch = Fetch {
        results: Vec::with_capacity(outcomes.len()),
        tampered: Vec::new(),
        stale,
    };
    for (index, (found, result)) in outcomes.into_iter().enumerate() {
        if let Some((found, disposal)) = found {
            fetch.tampered.push(Tampered {
                index,
                path: options.path_of(&files[index]),
                found,
                disposal,
            });
        }
        fetch.results.push(result);
    }
    fetch
}

/// Fetches one file, after looking at what the destination holds under its name.
fn fetch_one(
    file: &Locked<'_>,
    http: &HttpClient,
    options: &FetchOptions,
) -> (Option<(Found, Disposal)>, Result<Fetched, FetchError>) {
    let target = options.path_of(file);
    if options.layout == Layout::ByDigest
        && let Some(dir) = target.parent()
    {
        // Stale temporaries of this file's directory; a failure shows as the fetch's.
        let _ = fs_err::create_dir_all(dir);
        temporary::remove_stale(dir);
    }
    let found = match check_file(file.entry, &target) {
        // Already there with the right bytes: keep it.
        Ok((Check::Match, size)) => {
            return (None, Ok(fetched(file, target, Origin::Present, size)));
        }
        Ok((check, _)) => Some(Found::Drift(check)),
        Err(OpenError::NotRegular { kind, .. }) => Some(Found::NotRegular(kind)),
        // Absent (or unreadable, then replaced like an absent file).
        Err(OpenError::Io(_)) => None,
    };
    let result = fetch_into(file, &target, http, options);
    let found = found.map(|found| {
        let disposal = if result.is_ok() {
            Disposal::Replaced
        } else if fs_err::remove_file(&target).is_ok() {
            // Known-bad bytes do not stay under a locked name.
            Disposal::Removed
        } else {
            Disposal::Left
        };
        (found, disposal)
    });
    (found, result)
}

fn fetched(file: &Locked<'_>, path: PathBuf, origin: Origin, size: u64) -> Fetched {
    Fetched {
        name: file.entry.name.clone(),
        path,
        size,
        origin,
        sha256: file.entry.sha256,
    }
}

/// Fetches one file from the store or its location into `target`, through a temporary file.
fn fetch_into(
    file: &Locked<'_>,
    target: &Path,
    http: &HttpClient,
    options: &FetchOptions,
) -> Result<Fetched, FetchError> {
    let name = file.entry.name.clone();
    let package = file.to_string();
    let io_error = |source: io::Error| FetchError::Io {
        name: name.clone(),
        source,
    };
    let store_path = options
        .store
        .as_ref()
        .map(|store| store.join(file.entry.sha256.to_string()));
    let dir = target.parent().unwrap_or(&options.dest);
    let mut temp = temporary::create_in(dir).map_err(io_error)?;

    // From the store, hashed again on the way.
    if let Some(stored) = &store_path
        && let Some(size) = copy_from_store(file, stored, &mut temp).map_err(io_error)?
    {
        persist(temp, target).map_err(io_error)?;
        return Ok(fetched(file, target.to_owned(), Origin::Store, size));
    }

    if http.connectivity() == Connectivity::Offline {
        return Err(FetchError::NotCached { name, package });
    }
    let location = match &file.entry.location {
        EntryLocation::Url(url) => SafeUrl::parse(url)
            .map(FileLocation::Url)
            .map_err(|e| e.to_string()),
        EntryLocation::Path(path) => Ok(FileLocation::Path(options.lock_dir.join(path))),
    }
    .map_err(|reason| FetchError::Location {
        name: name.clone(),
        package: package.clone(),
        location: file.entry.location.to_string(),
        reason,
    })?;
    let mut sink = Limited {
        inner: temp.as_file_mut(),
        written: 0,
        limit: file.entry.size,
    };
    let (sha256, size) = match download::stream(http, &location, &mut sink) {
        Ok(done) => done,
        Err(_) if sink.exceeded() => {
            return Err(FetchError::TooLarge {
                name,
                package,
                expected: file.entry.size.unwrap_or_default(),
            });
        }
        Err(source) => {
            return Err(FetchError::Download {
                name,
                package,
                source: Box::new(source),
            });
        }
    };
    let verdict = check(file.entry, sha256, size);
    if verdict != Check::Match {
        // The temporary file is removed when `temp` is dropped.
        return Err(FetchError::Drift {
            description: super::describe_drift(file, &verdict),
        });
    }
    persist(temp, target).map_err(io_error)?;
    if let Some(stored) = store_path {
        store(target, &stored);
    }
    Ok(fetched(file, target.to_owned(), Origin::Download, size))
}

/// Copies the store's entry into `temp` if it is there and right (its size, when it matches);
/// a damaged entry is dropped and `temp` emptied for a download.
fn copy_from_store(
    file: &Locked<'_>,
    stored: &Path,
    temp: &mut Temporary,
) -> io::Result<Option<u64>> {
    let Ok(mut source) = regular_file::open(stored) else {
        return Ok(None);
    };
    let mut sink = Limited {
        inner: temp.as_file_mut(),
        written: 0,
        limit: file.entry.size,
    };
    if let Ok((sha256, size)) = copy_hashing(&mut source, &mut sink)
        && check(file.entry, sha256, size) == Check::Match
    {
        return Ok(Some(size));
    }
    let _ = fs_err::remove_file(stored);
    temp.as_file_mut().restart()?;
    Ok(None)
}

/// Renames a verified temporary file to its name. No `fsync`: forcing every file to disk made
/// fetching disk-bound (40 s instead of 22 s for the 7.8 GiB of OpenStack's master lock), and
/// buys nothing here: a file a crash cut short is caught by whatever reads it next, since pip
/// (`--require-hashes`) and `pinguard verify` check every digest.
fn persist(temp: Temporary, target: &Path) -> io::Result<()> {
    let file = temp.persist(target)?;
    // A wheelhouse is shared with pip, CI and other users: not the temp file's 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    drop(file);
    Ok(())
}

/// Puts a verified file into the store: a hard link when the store is on the same file
/// system, else a copy. Failures only cost a later download.
fn store(verified: &Path, stored: &Path) {
    let Some(dir) = stored.parent() else { return };
    if fs_err::create_dir_all(dir).is_err() || stored.exists() {
        return;
    }
    if std::fs::hard_link(verified, stored).is_err() {
        let temp = stored.with_extension("partial");
        if std::fs::copy(verified, &temp).is_ok() {
            let _ = std::fs::rename(&temp, stored);
        }
    }
}

/// A writer that refuses more than `limit` bytes: a file larger than the lock says is stopped
/// as soon as it is, not after the whole of it arrived.
struct Limited<'a> {
    inner: &'a mut std::fs::File,
    written: u64,
    limit: Option<u64>,
}

impl Limited<'_> {
    fn exceeded(&self) -> bool {
        self.limit.is_some_and(|limit| self.written > limit)
    }
}

impl Write for Limited<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len() as u64;
        if self.exceeded() {
            return Err(io::Error::other("larger than the lock's size"));
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Restartable for Limited<'_> {
    fn restart(&mut self) -> io::Result<()> {
        self.written = 0;
        self.inner.restart()
    }
}
