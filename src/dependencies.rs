//! What a locked package depends on, read from the cheapest source that has it.
//!
//! For a package with wheels, one wheel (a pure-Python one when there is one) is read:
//!
//! 1. its PEP 658 `.metadata` file, when the index page advertised one (checked against the
//!    digest the page gave);
//! 2. else HTTP range requests for the zip's tail and the `METADATA` member alone;
//! 3. else, when the server ignores ranges, the `.metadata` file the page did not advertise
//!    (mirrors often serve one anyway), else the whole wheel, checked against the lock's
//!    sha256.
//!
//! Ranges come before an unadvertised `.metadata` file, as in uv: on a mirror that does not
//! advertise them, asking for one that is absent was the slowest request a lock made (a 404
//! the mirror must ask upstream for, 133 ms on average, for 324 of 555 wheels), where ranges
//! of a file it holds came back in 45 ms.
//!
//! A package with only an sdist is downloaded (and checked) and its `PKG-INFO` read, else its
//! `*.egg-info/requires.txt`. Such dependencies are labelled by [`Provenance`]: PEP 643 says
//! they can be trusted without a build only for Metadata-Version 2.2+ without
//! `Dynamic: Requires-Dist`. With `--build-sdists` the PEP 517
//! `prepare_metadata_for_build_wheel` hook gives the authoritative answer instead
//! ([`crate::build`]).
//!
//! The metadata of a file never changes, so it is cached by the file's sha256, in pack files
//! (`metadata-v2/` under the cache root; [`crate::cache::pack`]): one file per run, not one per
//! package, as creating 575 files was a seventh of a cold lock's CPU time.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use pep440_rs::VersionSpecifiers;
use pep508_rs::PackageName;
use serde::{Deserialize, Serialize};

use crate::cache::pack::{Entry, PackStore};
use crate::digest::{HashingReader, Sha256};
use crate::filename::{DistFilename, SdistExtension, SdistFilename, WheelFilename};
use crate::http::{BodyError, ByteSize, HttpClient, HttpError};
use crate::index::simple::CoreMetadata as Advertised;
use crate::lock::{EntryLocation, FileEntry, Package, RecordedDependencies};
use crate::marker::Dependency;
use crate::metadata::{self, CoreMetadata, MetadataError, SdistMetadata, requires_txt};
use crate::safe_url::SafeUrl;

/// The cache bucket of records, under the cache root.
const METADATA: &str = "metadata-v2";

/// Where dependencies were read, which says how far they can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// A wheel's METADATA (or its PEP 658 copy): what pip installs against.
    Wheel,
    /// An sdist's PKG-INFO, Metadata-Version 2.2+ without `Dynamic: Requires-Dist`.
    SdistStatic,
    /// An sdist's PKG-INFO that PEP 643 does not let us trust: a build may say otherwise.
    SdistDynamic,
    /// An sdist's `*.egg-info/requires.txt`, written by whoever built the sdist.
    RequiresTxt,
    /// The PEP 517 `prepare_metadata_for_build_wheel` hook, run on the target interpreter.
    Built,
}

impl Provenance {
    /// Whether findings based on these dependencies need a caveat.
    pub fn may_differ_when_built(self) -> bool {
        matches!(self, Self::SdistDynamic | Self::RequiresTxt)
    }

    /// How the lock and reports name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wheel => "wheel",
            Self::SdistStatic => "sdist",
            Self::SdistDynamic => "sdist-dynamic",
            Self::RequiresTxt => "requires-txt",
            Self::Built => "built",
        }
    }

    /// Parses [`Provenance::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Wheel,
            Self::SdistStatic,
            Self::SdistDynamic,
            Self::RequiresTxt,
            Self::Built,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }
}

/// A package's dependencies.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependencies {
    /// `Requires-Dist`, parsed, with the text as written.
    pub requires_dist: Vec<Dependency>,
    /// `Requires-Dist` values that do not parse: `(value, error)`.
    pub invalid: Vec<(String, String)>,
    /// Where they were read.
    pub provenance: Provenance,
    /// The file they were read from.
    pub file: String,
    /// `Requires-Python` from the metadata, when valid.
    pub requires_python: Option<VersionSpecifiers>,
}

impl From<&RecordedDependencies> for Dependencies {
    /// What a lock records: its `Requires-Dist` values parsed when it was written.
    fn from(recorded: &RecordedDependencies) -> Self {
        Self {
            requires_dist: recorded.requires_dist.clone(),
            invalid: Vec::new(),
            provenance: recorded.provenance,
            file: recorded.file.clone(),
            requires_python: None,
        }
    }
}

/// Why dependencies could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DependencyError {
    /// The package lists no file.
    #[error("no file to read dependencies from")]
    NoFile,
    /// Reading failed.
    #[error("{file}: {source}")]
    Metadata {
        /// The file.
        file: String,
        /// Why.
        source: Box<MetadataError>,
    },
    /// A downloaded file is not what the lock holds.
    #[error(
        "{file}: the served bytes do not match the lock (expected sha256:{expected}, computed sha256:{computed})"
    )]
    Drift {
        /// The file.
        file: String,
        /// The locked digest.
        expected: Sha256,
        /// The served one.
        computed: Sha256,
    },
    /// The sdist has neither PKG-INFO nor requires.txt.
    #[error("{file} has neither PKG-INFO nor *.egg-info/requires.txt")]
    NothingInSdist {
        /// The sdist.
        file: String,
    },
    /// The local file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// Building metadata with the PEP 517 hook failed.
    #[error("{file}: {reason}")]
    Build {
        /// The sdist.
        file: String,
        /// What the build said.
        reason: String,
    },
}

/// What reading cost, for reports and benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    /// Packages answered from the cache.
    pub cached: AtomicU64,
    /// `.metadata` files fetched.
    pub metadata_files: AtomicU64,
    /// Requests that found no `.metadata` file.
    pub metadata_misses: AtomicU64,
    /// Range requests made.
    pub range_requests: AtomicU64,
    /// Whole files downloaded.
    pub whole_files: AtomicU64,
    /// Bytes received, all sources.
    pub bytes: AtomicU64,
}

/// A cached record: the metadata text and where it came from.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    provenance: Provenance,
    file: String,
    text: String,
}

/// Answers by the file they were read from: its sha256 and name.
type Answers = HashMap<(Sha256, String), Result<Dependencies, DependencyError>>;

/// What a reader read ahead and what reading cost, for a reader made later
/// ([`DependencyReader::resume`]): `check` locks with the index's client, then reads on with
/// that client alone.
#[derive(Debug)]
pub struct ReadSoFar {
    ahead: Mutex<Answers>,
    stats: Stats,
}

/// Reads dependencies of locked packages.
#[derive(Debug)]
pub struct DependencyReader<'a> {
    http: &'a HttpClient,
    cache: Option<PackStore>,
    lock_dir: PathBuf,
    /// Answers read ahead ([`Self::read_ahead`]), by the file they were read from, until
    /// [`Self::read`] takes them.
    ahead: Mutex<Answers>,
    /// What reading cost.
    pub stats: Stats,
}

impl<'a> DependencyReader<'a> {
    /// A reader using `http`, caching under `cache_root` (when any), resolving the lock's
    /// relative paths against `lock_dir`.
    pub fn new(http: &'a HttpClient, cache_root: Option<&Path>, lock_dir: &Path) -> Self {
        Self {
            http,
            cache: cache_root.map(|root| PackStore::new(root.join(METADATA))),
            lock_dir: lock_dir.to_owned(),
            ahead: Mutex::default(),
            stats: Stats::default(),
        }
    }

    /// What this reader read ahead and what it cost, for [`Self::resume`].
    pub fn into_read_so_far(self) -> ReadSoFar {
        ReadSoFar {
            ahead: self.ahead,
            stats: self.stats,
        }
    }

    /// A reader like [`Self::new`] that goes on from `so_far`.
    pub fn resume(
        http: &'a HttpClient,
        cache_root: Option<&Path>,
        lock_dir: &Path,
        so_far: ReadSoFar,
    ) -> Self {
        Self {
            ahead: so_far.ahead,
            stats: so_far.stats,
            ..Self::new(http, cache_root, lock_dir)
        }
    }

    /// Reads the dependencies of `package` now and keeps the answer, errors included, for
    /// [`Self::read`] to give: `lock` calls it as soon as a package's entry is made, so that
    /// metadata requests share the connection with the pages still arriving instead of
    /// waiting for the last of them.
    ///
    /// `advertised` says what the index page said of a file's `.metadata` companion. Returns
    /// the projects the package depends on without an extra, for the caller to look ahead.
    pub fn read_ahead(
        &self,
        package: &Package,
        advertised: &dyn Fn(&str) -> Option<Advertised>,
    ) -> Vec<PackageName> {
        let Some(file) = source_file(package) else {
            return Vec::new();
        };
        let key = (file.sha256, file.name.clone());
        let result = self.read_now(package, advertised);
        let names = result.as_ref().map_or_else(
            |_| Vec::new(),
            |read| {
                // Those some environment installs when no extra is asked for.
                let unconditional = |d: &&Dependency| d.requirement.marker.evaluate_extras(&[]);
                let dependencies = read.requires_dist.iter().filter(unconditional);
                dependencies.map(|d| d.requirement.name.clone()).collect()
            },
        );
        self.ahead
            .lock()
            .expect("no thread panics holding the read-ahead map")
            .insert(key, result);
        names
    }

    /// The dependencies of `package`: the answer read ahead for the same file, else read now.
    pub fn read(&self, package: &Package) -> Result<Dependencies, DependencyError> {
        if let Some(file) = source_file(package) {
            let key = (file.sha256, file.name.clone());
            let ahead = self
                .ahead
                .lock()
                .expect("no thread panics holding the read-ahead map")
                .remove(&key);
            if let Some(result) = ahead {
                return result;
            }
        }
        self.read_now(package, &|_| None)
    }

    fn read_now(
        &self,
        package: &Package,
        advertised: &dyn Fn(&str) -> Option<Advertised>,
    ) -> Result<Dependencies, DependencyError> {
        if let Some(wheel) = pick_wheel(package) {
            let record = match self.cached(wheel) {
                Some(record) => record,
                None => self.store(wheel, self.wheel_record(wheel, advertised(&wheel.name))?),
            };
            return parse_record(&record);
        }
        // An old-format sdist is locked as the package's archive.
        if let Some(sdist) = package.sdist.as_ref().or(package.archive.as_ref()) {
            let record = match self.cached(sdist) {
                Some(record) => record,
                None => self.store(sdist, self.sdist_record(package, sdist)?),
            };
            return parse_record(&record);
        }
        Err(DependencyError::NoFile)
    }

    /// The dependencies of every package, in parallel on `concurrency` threads; a package the
    /// lock already records dependencies for is answered from the lock.
    pub fn read_all(
        &self,
        packages: &[&Package],
        concurrency: usize,
        progress: &crate::progress::Progress,
    ) -> Vec<Result<Dependencies, DependencyError>> {
        use rayon::prelude::*;
        let bar = progress.bar(packages.len() as u64, "reading dependencies");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(concurrency.max(1))
            .thread_name(|i| format!("pinguard-metadata-{i}"))
            .build()
            .expect("a thread pool of a few threads can be created");
        let results = pool.install(|| {
            packages
                .par_iter()
                .map(|package| {
                    let result = match &package.dependencies {
                        Some(recorded) => Ok(Dependencies::from(recorded)),
                        None => self.read(package),
                    };
                    bar.inc(1);
                    result
                })
                .collect()
        });
        bar.finish_and_clear();
        results
    }

    /// Dependencies from metadata a build produced (the PEP 517 hook). Not cached: a build's
    /// answer can depend on the interpreter and platform it ran on, which the file's digest
    /// does not say.
    pub fn built(&self, entry: &FileEntry, text: String) -> Result<Dependencies, DependencyError> {
        parse_record(&Record {
            provenance: Provenance::Built,
            file: entry.name.clone(),
            text,
        })
    }

    /// The locked bytes of a file: downloaded (or read) and checked against the lock.
    pub fn locked_bytes(&self, entry: &FileEntry) -> Result<Vec<u8>, DependencyError> {
        let bytes = match &entry.location {
            EntryLocation::Url(url) => {
                let url = entry_url(entry, url)?;
                self.stats.whole_files.fetch_add(1, Ordering::Relaxed);
                // The whole file is held in memory.
                let limit = self.whole_file_limit(entry);
                self.http
                    .get_bytes(&url, &Default::default(), limit)
                    .map_err(|e| metadata_error(entry, e.into()))?
            }
            EntryLocation::Path(path) => {
                fs_err::read(self.lock_dir.join(path)).map_err(|source| DependencyError::Io {
                    file: entry.name.clone(),
                    source,
                })?
            }
        };
        self.stats
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        matches_lock(entry, Sha256::of(&bytes))?;
        Ok(bytes)
    }

    /// The most bytes a whole file is read to: its locked size, or any body pinguard reads
    /// when the lock has no size (or a smaller one).
    fn whole_file_limit(&self, entry: &FileEntry) -> ByteSize {
        ByteSize(entry.size.unwrap_or(0)).max(self.http.max_body())
    }

    /// The metadata files of a tar sdist at a URL, read as it downloads and hashed on the way:
    /// the file is never held whole (salt's is 14.7 MB), and what was read counts only once
    /// the whole file matches the lock. `None` for other sdists, which are read whole.
    fn streamed_sdist(
        &self,
        entry: &FileEntry,
        sdist: &SdistFilename,
    ) -> Result<Option<SdistMetadata>, DependencyError> {
        let EntryLocation::Url(url) = &entry.location else {
            return Ok(None);
        };
        if sdist.extension == SdistExtension::Zip {
            return Ok(None);
        }
        let url = entry_url(entry, url)?;
        self.stats.whole_files.fetch_add(1, Ordering::Relaxed);
        let limit = self.whole_file_limit(entry);
        let (found, (computed, size)) = self
            .http
            .get_body(&url, &Default::default(), |body| {
                body.require_success()?;
                let mut hashing = HashingReader::new(Read::take(&mut *body, limit.0 + 1));
                let found = metadata::tar_sdist_metadata(&mut hashing, sdist);
                let digest = hashing.finish().map_err(|e| body.failure(e))?;
                if digest.1 > limit.0 {
                    let url = url.clone();
                    return Err(BodyError::Fatal(HttpError::TooLarge { url, limit }));
                }
                Ok((found, digest))
            })
            .map_err(|e: HttpError| metadata_error(entry, e.into()))?;
        self.stats.bytes.fetch_add(size, Ordering::Relaxed);
        matches_lock(entry, computed)?;
        found.transpose().map_err(|e| metadata_error(entry, e))
    }

    fn wheel_record(
        &self,
        entry: &FileEntry,
        advertised: Option<Advertised>,
    ) -> Result<Record, DependencyError> {
        let wheel = WheelFilename::parse(&entry.name).ok_or(DependencyError::NoFile)?;
        let record = |text: Vec<u8>| Record {
            provenance: Provenance::Wheel,
            file: entry.name.clone(),
            text: String::from_utf8_lossy(&text).into_owned(),
        };
        if let EntryLocation::Url(url) = &entry.location
            && let Ok(url) = SafeUrl::parse(url)
        {
            if let Some(advertised) = &advertised {
                let expected = match advertised {
                    Advertised::Sha256(hex) => hex.parse().ok(),
                    Advertised::Available => None,
                };
                if let Some(text) = self.metadata_file(entry, &url, expected)? {
                    return Ok(record(text));
                }
            }
            match metadata::wheel_metadata_by_range(self.http, &url, entry.size, &wheel) {
                Ok((text, stats)) => {
                    self.stats
                        .range_requests
                        .fetch_add(u64::from(stats.requests), Ordering::Relaxed);
                    self.stats.bytes.fetch_add(stats.bytes, Ordering::Relaxed);
                    return Ok(record(text));
                }
                Err(e) if e.is_range_unsupported() => {}
                Err(e) => return Err(metadata_error(entry, e)),
            }
            if advertised.is_none()
                && let Some(text) = self.metadata_file(entry, &url, None)?
            {
                return Ok(record(text));
            }
        }
        let bytes = self.locked_bytes(entry)?;
        metadata::wheel_metadata(Cursor::new(bytes), &wheel)
            .map(record)
            .map_err(|e| metadata_error(entry, e))
    }

    /// The PEP 658 `.metadata` file beside the wheel at `url`, `None` when absent.
    fn metadata_file(
        &self,
        entry: &FileEntry,
        url: &SafeUrl,
        expected: Option<Sha256>,
    ) -> Result<Option<Vec<u8>>, DependencyError> {
        match metadata::fetch_metadata_file(self.http, url, expected) {
            Ok(Some(text)) => {
                self.stats.metadata_files.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .bytes
                    .fetch_add(text.len() as u64, Ordering::Relaxed);
                Ok(Some(text))
            }
            Ok(None) => {
                self.stats.metadata_misses.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(metadata_error(entry, e)),
        }
    }

    fn sdist_record(
        &self,
        package: &Package,
        entry: &FileEntry,
    ) -> Result<Record, DependencyError> {
        let Some(DistFilename::Sdist(sdist)) = DistFilename::parse(&entry.name, &package.name)
        else {
            return Err(DependencyError::NoFile);
        };
        let found = match self.streamed_sdist(entry, &sdist)? {
            Some(found) => found,
            None => {
                let bytes = self.locked_bytes(entry)?;
                metadata::sdist_metadata(&bytes, &sdist).map_err(|e| metadata_error(entry, e))?
            }
        };
        let pkg_info = found
            .pkg_info
            .as_deref()
            .and_then(|bytes| CoreMetadata::parse(bytes).ok().map(|m| (m, bytes)));
        let record = |provenance, text: String| Record {
            provenance,
            file: entry.name.clone(),
            text,
        };
        // PKG-INFO unless it lists nothing and requires.txt lists something: older setuptools
        // wrote dependencies only to requires.txt.
        match (pkg_info, found.requires_txt) {
            (Some((metadata, _)), Some(requires)) if metadata.requires_dist.is_empty() => {
                Ok(record(Provenance::RequiresTxt, requires))
            }
            (Some((metadata, bytes)), _) => {
                let provenance = if metadata.dependencies_are_static() {
                    Provenance::SdistStatic
                } else {
                    Provenance::SdistDynamic
                };
                Ok(record(
                    provenance,
                    String::from_utf8_lossy(bytes).into_owned(),
                ))
            }
            (None, Some(requires)) => Ok(record(Provenance::RequiresTxt, requires)),
            (None, None) => Err(DependencyError::NothingInSdist {
                file: entry.name.clone(),
            }),
        }
    }

    /// The record cached for `entry`'s file; one that does not match its checksum is a
    /// miss, read again. The record is the entry's body: it holds the whole METADATA text,
    /// which a package with its README in it can take past the limit of a head.
    fn cached(&self, entry: &FileEntry) -> Option<Record> {
        let key = entry.sha256.to_string();
        let body = self.cache.as_ref()?.head(&key)?.body(&key).ok()?;
        let record: Record = serde_json::from_slice(&body).ok()?;
        self.stats.cached.fetch_add(1, Ordering::Relaxed);
        Some(record)
    }

    fn store(&self, entry: &FileEntry, record: Record) -> Record {
        if let (Some(cache), Ok(json)) = (&self.cache, serde_json::to_vec(&record)) {
            cache.write(Entry {
                key: entry.sha256.to_string(),
                head: Vec::new(),
                body: json.into(),
            });
        }
        record
    }
}

/// An error unless `computed`, the digest of the bytes served for `entry`, is the locked one.
fn matches_lock(entry: &FileEntry, computed: Sha256) -> Result<(), DependencyError> {
    if computed == entry.sha256 {
        return Ok(());
    }
    Err(DependencyError::Drift {
        file: entry.name.clone(),
        expected: entry.sha256,
        computed,
    })
}

/// The URL a lock entry gives, parsed.
fn entry_url(entry: &FileEntry, url: &str) -> Result<SafeUrl, DependencyError> {
    SafeUrl::parse(url).map_err(|e| DependencyError::Metadata {
        file: entry.name.clone(),
        source: Box::new(MetadataError::InvalidField {
            field: "url",
            value: url.to_owned(),
            reason: e.to_string(),
        }),
    })
}

fn metadata_error(entry: &FileEntry, error: MetadataError) -> DependencyError {
    DependencyError::Metadata {
        file: entry.name.clone(),
        source: Box::new(error),
    }
}

/// The file a package's dependencies are read from: [`pick_wheel`], else its sdist (or the
/// archive an old-format sdist is locked as).
fn source_file(package: &Package) -> Option<&FileEntry> {
    pick_wheel(package).or(package.sdist.as_ref().or(package.archive.as_ref()))
}

/// A pure-Python wheel when the package has one (its metadata is the same everywhere), else
/// the first wheel by name.
fn pick_wheel(package: &Package) -> Option<&FileEntry> {
    // Each name parsed once: this runs for every package as it is locked and again when
    // the answers are collected, over thousands of wheels.
    package
        .wheels
        .iter()
        .filter_map(|w| {
            let pure = WheelFilename::parse(&w.name)?
                .platform
                .iter()
                .any(|p| p == "any");
            Some((!pure, w))
        })
        .min_by(|(a_impure, a), (b_impure, b)| (a_impure, &a.name).cmp(&(b_impure, &b.name)))
        .map(|(_, w)| w)
}

fn parse_record(record: &Record) -> Result<Dependencies, DependencyError> {
    if record.provenance == Provenance::RequiresTxt {
        let parsed = requires_txt::parse(&record.text);
        return Ok(Dependencies {
            requires_dist: parsed.requires_dist,
            invalid: parsed.invalid_requires_dist,
            provenance: record.provenance,
            file: record.file.clone(),
            requires_python: None,
        });
    }
    let parsed =
        CoreMetadata::parse(record.text.as_bytes()).map_err(|e| DependencyError::Metadata {
            file: record.file.clone(),
            source: Box::new(e),
        })?;
    Ok(Dependencies {
        requires_dist: parsed.requires_dist,
        invalid: parsed.invalid_requires_dist,
        provenance: record.provenance,
        file: record.file.clone(),
        requires_python: parsed.requires_python,
    })
}
