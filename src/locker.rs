//! Turning pins into lock entries: ask the index about every pin in parallel, pick the files
//! of each pinned version, and make sure each has a sha256.
//!
//! ```text
//! pins ──► plan (reuse entries of the previous lock for unchanged pins)
//!      ──► one page per project, in parallel (rayon pool of --concurrency threads,
//!          one shared HTTP client, whose connection to the index they all share)
//!      ──► files of the pinned version (eggs and .exe left out with a note, one sdist kept)
//!      ──► digests the index did not give: streamed and hashed, in parallel
//!      ──► the pin's own --hash values checked; a previous lock's files compared (--refresh)
//!      ──► Package entries, or every failure, together
//! ```
//!
//! A locked version's set of files never changes silently: on re-lock an unchanged pin keeps
//! its entry without a query; with `--refresh` it is queried and compared, and a file the
//! index added later is reported and left out (that is what an attack on an old version looks
//! like), while a changed or vanished digest fails the run. `--refresh-package NAME` is the
//! explicit way to take a package's current files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::PackageName;
use rayon::prelude::*;

use crate::cache::ComputedDigest;
use crate::digest::Sha256;
use crate::download;
use crate::drift::{self, FileDrift, ServedFile};
use crate::filename::DistFilename;
use crate::guard::safe_file_name;
use crate::index::{FileLocation, Index, IndexError, Project, ProjectFile, Source};
use crate::lock::pylock::parse_upload_time;
use crate::lock::{EntryLocation, FileEntry, Lock, Package};
use crate::progress::Progress;
use crate::requirements::{Location, Pin};

/// What to do with a previous lock's entries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refresh {
    /// `--refresh`: query every pin and compare with the previous lock.
    pub all: bool,
    /// `--refresh-package`: forget these packages' previous entries and take what the index
    /// has now.
    pub packages: BTreeSet<PackageName>,
}

/// How to lock.
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// Worker threads, hence requests in flight.
    pub concurrency: usize,
    /// The previous lock's entries policy.
    pub refresh: Refresh,
    /// The directory the lock is written to (find-links paths are made relative to it).
    pub lock_dir: Option<std::path::PathBuf>,
}

/// Something worth telling the user that does not stop the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// How much it matters.
    pub level: NoteLevel,
    /// The pin it is about, as `name===version`.
    pub pin: String,
    /// What happened.
    pub message: String,
}

/// Warnings are shown unless `--quiet`; infos only with `--verbose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoteLevel {
    /// Detail.
    Info,
    /// Worth acting on.
    Warning,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pin, self.message)
    }
}

/// A pin that could not be locked.
#[derive(Debug)]
pub struct Failure {
    /// The pin, as written.
    pub pin: String,
    /// Where it was written.
    pub location: Location,
    /// What went wrong.
    pub problem: Problem,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.pin, self.location, self.problem)
    }
}

/// Why a pin could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// No source has the project.
    #[error("no project `{name}` on {sources}")]
    UnknownProject {
        /// The project.
        name: PackageName,
        /// The sources asked.
        sources: String,
    },
    /// The project exists but not the version.
    #[error("no version {version} of `{name}` on {index}; {}", nearest_text(.nearest))]
    UnknownVersion {
        /// The project.
        name: PackageName,
        /// The pinned version.
        version: String,
        /// The source that has the project.
        index: String,
        /// The closest versions that do exist.
        nearest: Vec<Version>,
    },
    /// The version has no file a lock can hold.
    #[error("version {version} has no wheel or sdist on {index}{}", left_out_text(.left_out))]
    NoFiles {
        /// The pinned version.
        version: String,
        /// The source.
        index: String,
        /// Files of the version that PEP 751 cannot hold.
        left_out: Vec<String>,
    },
    /// The pin's `--hash` values do not all match files on the index.
    #[error("{} of its --hash values match no file on {index}: {}", .missing.len(), join(.missing))]
    HashNotOnIndex {
        /// The source.
        index: String,
        /// The hashes no file has.
        missing: Vec<Sha256>,
    },
    /// With `--refresh`: a locked file changed or vanished.
    #[error("the index no longer serves what the lock holds:\n{}", .changes.join("\n"))]
    Drift {
        /// One line per file.
        changes: Vec<String>,
    },
    /// The index gave a malformed digest.
    #[error("the index gives `{file}` a malformed sha256: {reason}")]
    BadDigest {
        /// The file.
        file: String,
        /// Why it is malformed.
        reason: String,
    },
    /// The page lists one file name twice with different digests.
    #[error(
        "the index lists `{file}` twice with different sha256 digests, {} and {}; a lock cannot tell which file is genuine",
        .digests[0], .digests[1]
    )]
    ConflictingDigests {
        /// The file name.
        file: String,
        /// The two digests.
        digests: [Sha256; 2],
    },
    /// The index could not be asked.
    #[error(transparent)]
    Index(IndexError),
    /// A file without a published digest could not be downloaded to hash it.
    #[error("cannot hash `{file}`: {source}")]
    Download {
        /// The file.
        file: String,
        /// Why.
        source: Box<download::DownloadError>,
    },
}

fn nearest_text(nearest: &[Version]) -> String {
    if nearest.is_empty() {
        return "it lists no version with files".into();
    }
    let list: Vec<String> = nearest.iter().map(ToString::to_string).collect();
    format!("nearest: {}", list.join(", "))
}

fn left_out_text(left_out: &[String]) -> String {
    if left_out.is_empty() {
        String::new()
    } else {
        format!(" (only {}, which a lock cannot hold)", left_out.join(", "))
    }
}

fn join(digests: &[Sha256]) -> String {
    digests
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a lock run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The packages, sorted.
    pub lock: Lock,
    /// Warnings and details.
    pub notes: Vec<Note>,
    /// Pins whose entry was taken from the previous lock without a query.
    pub reused: usize,
    /// Projects asked about.
    pub queried: usize,
}

/// What to do with each entry made from the index, with the project it was made from, on the
/// worker that made it, while other workers still wait for their pages (`lock` reads
/// dependencies there).
pub type OnEntry<'a> = dyn Fn(&Package, &Project) + Sync + 'a;

/// Locks `pins` against `index`, reusing `previous` entries as [`Refresh`] allows; each entry
/// made from the index goes to `on_entry` as soon as it is made.
pub fn lock(
    pins: &[Pin],
    index: &Index,
    previous: Option<&Lock>,
    options: &LockOptions,
    progress: &Progress,
    on_entry: &OnEntry<'_>,
) -> Result<Outcome, Vec<Failure>> {
    let known_sources: BTreeSet<String> = index.sources().iter().map(Source::lock_name).collect();
    // Decide, per pin, whether the previous entry stands.
    let mut packages: Vec<Package> = Vec::new();
    let mut to_query: BTreeMap<PackageName, Vec<(&Pin, Option<&Package>)>> = BTreeMap::new();
    // The previous entries by name, so that finding a pin's costs its project's entries, not
    // the whole lock's (thousands of pins against thousands of entries).
    let mut by_name: BTreeMap<&PackageName, Vec<&Package>> = BTreeMap::new();
    for package in previous.iter().flat_map(|lock| &lock.packages) {
        by_name.entry(&package.name).or_default().push(package);
    }
    for pin in pins {
        let previous_entry = by_name.get(&pin.name).and_then(|entries| {
            entries
                .iter()
                .copied()
                .find(|p| is_entry_of(p, pin, &known_sources))
        });
        let adopt_anew = options.refresh.packages.contains(&pin.name);
        match previous_entry {
            Some(entry) if !options.refresh.all && !adopt_anew => packages.push(entry.clone()),
            entry => to_query
                .entry(pin.name.clone())
                .or_default()
                .push((pin, entry.filter(|_| !adopt_anew))),
        }
    }
    let reused = packages.len();
    let queried = to_query.len();

    let pool = thread_pool(options.concurrency);
    let bar = progress.bar(queried as u64, "querying");
    let groups: Vec<Group<'_>> = to_query.into_iter().collect();
    let run_group = |(name, group): &Group<'_>| {
        let result = lock_project(name, group, index, options, on_entry);
        bar.inc(1);
        result
    };
    // The HTTP client lets the first request to the index go alone, so that all the others
    // share its connection.
    let results: Vec<GroupResult> = pool.install(|| groups.par_iter().map(run_group).collect());
    bar.finish_and_clear();

    let mut notes = Vec::new();
    let mut failures = Vec::new();
    for result in results {
        packages.extend(result.packages);
        notes.extend(result.notes);
        failures.extend(result.failures);
    }
    if !failures.is_empty() {
        failures.sort_by(|a, b| a.location.cmp(&b.location));
        return Err(failures);
    }
    let mut lock = Lock::new();
    lock.packages = packages;
    lock.normalize();
    lock.requires_python = common_requires_python(&lock.packages);
    notes.sort_by(|a, b| a.pin.cmp(&b.pin).then(a.message.cmp(&b.message)));
    Ok(Outcome {
        lock,
        notes,
        reused,
        queried,
    })
}

/// The pool of `concurrency` threads (at least one) that queries run on: as many requests in
/// flight, all sharing the HTTP client's connection.
pub fn thread_pool(concurrency: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(concurrency.max(1))
        .thread_name(|i| format!("pinguard-{i}"))
        .build()
        .expect("a thread pool of a few threads can be created")
}

/// Whether a previous lock's `package` is the entry `pin` would produce: same project,
/// marker, a version the pin selects, a source still configured, and files among the pin's
/// hashes when it has some.
fn is_entry_of(package: &Package, pin: &Pin, known_sources: &BTreeSet<String>) -> bool {
    package.name == pin.name
        && package.marker_text() == pin.marker_text()
        && package.version.as_ref().is_some_and(|v| pin.matches(v))
        && package
            .index
            .as_ref()
            .is_some_and(|i| known_sources.contains(i))
        && (pin.hashes.is_empty() || package.files().all(|f| pin.hashes.contains(&f.sha256)))
}

/// `requires-python` for the whole lock: written only when every package states the same.
pub fn common_requires_python(packages: &[Package]) -> Option<VersionSpecifiers> {
    let first = packages.first()?.requires_python.clone()?;
    packages
        .iter()
        .all(|p| p.requires_python.as_ref() == Some(&first))
        .then_some(first)
}

/// The pins of one project, each with the previous entry to compare against (`--refresh`).
type Group<'a> = (PackageName, Vec<(&'a Pin, Option<&'a Package>)>);

#[derive(Default)]
struct GroupResult {
    packages: Vec<Package>,
    notes: Vec<Note>,
    failures: Vec<Failure>,
}

fn lock_project(
    name: &PackageName,
    group: &[(&Pin, Option<&Package>)],
    index: &Index,
    options: &LockOptions,
    on_entry: &OnEntry<'_>,
) -> GroupResult {
    let mut result = GroupResult::default();
    let fail = |pin: &Pin, problem: Problem| Failure {
        pin: pin.to_string(),
        location: pin.location.clone(),
        problem,
    };
    let wanted = |version: &Version| group.iter().any(|(pin, _)| pin.matches(version));
    let project = match index.project(name, &wanted) {
        Ok(Some(project)) => project,
        Ok(None) => {
            let sources = index
                .sources()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            for (pin, _) in group {
                result.failures.push(fail(
                    pin,
                    Problem::UnknownProject {
                        name: name.clone(),
                        sources: sources.clone(),
                    },
                ));
            }
            return result;
        }
        Err(error) => {
            let shared = std::sync::Arc::new(error);
            for (pin, _) in group {
                result.failures.push(fail(
                    pin,
                    Problem::Index(IndexError::Shared(shared.clone())),
                ));
            }
            return result;
        }
    };
    let source = &index.sources()[project.source];
    for file in &project.bad_links {
        result.notes.push(Note {
            level: NoteLevel::Warning,
            pin: name.to_string(),
            message: format!("{source} lists a link that cannot be resolved: {file}"),
        });
    }
    for (pin, baseline) in group {
        match lock_pin(pin, *baseline, &project, source, index, options) {
            Ok((package, notes)) => {
                result.packages.push(package);
                result.notes.extend(notes);
            }
            Err(problem) => result.failures.push(fail(pin, problem)),
        }
    }
    // Only a project whose pins all locked: a failed pin fails the run anyway.
    if result.failures.is_empty() {
        for package in &result.packages {
            on_entry(package, &project);
        }
    }
    result
}

/// A chosen file and its digest, once known.
struct Chosen<'a> {
    file: &'a ProjectFile,
    sha256: Option<Sha256>,
    size: Option<u64>,
}

fn lock_pin(
    pin: &Pin,
    baseline: Option<&Package>,
    project: &Project,
    source: &Source,
    index: &Index,
    options: &LockOptions,
) -> Result<(Package, Vec<Note>), Problem> {
    let mut notes = Vec::new();
    let mut note = |level, message: String| {
        notes.push(Note {
            level,
            pin: pin.to_string(),
            message,
        })
    };
    let version_files: Vec<&ProjectFile> = project
        .files
        .iter()
        .filter(|f| pin.matches(f.name.version()))
        .collect();
    if version_files.is_empty() {
        return Err(Problem::UnknownVersion {
            name: pin.name.clone(),
            version: pin.version().to_string(),
            index: source.to_string(),
            nearest: nearest_versions(project, pin.version()),
        });
    }
    let version_files = lockable_files(version_files, index, &mut note)?;
    let (supported, unsupported): (Vec<&ProjectFile>, Vec<&ProjectFile>) = version_files
        .iter()
        .partition(|f| !matches!(f.name, DistFilename::Unsupported(_)));
    let left_out: Vec<String> = unsupported
        .iter()
        .map(|f| match &f.name {
            DistFilename::Unsupported(u) => format!("{} ({})", f.page.filename, u.kind),
            _ => f.page.filename.clone(),
        })
        .collect();
    if supported.is_empty() {
        return Err(Problem::NoFiles {
            version: pin.version().to_string(),
            index: source.to_string(),
            left_out,
        });
    }
    if !left_out.is_empty() {
        note(
            NoteLevel::Info,
            format!(
                "left out {} (PEP 751 locks hold only wheels and sdists)",
                left_out.join(", ")
            ),
        );
    }
    if supported.iter().all(|f| f.page.yanked.is_some()) {
        let reason = supported
            .iter()
            .find_map(|f| f.page.yanked.as_ref()?.reason.clone())
            .map_or_else(|| "no reason given".to_owned(), |r| format!("reason: {r}"));
        note(
            NoteLevel::Warning,
            format!(
                "version {} is yanked ({reason}); locked anyway, as pip installs a yanked version that is pinned exactly",
                pin.version()
            ),
        );
    }
    let sdist = choose_sdist(&supported, &mut note);
    let mut chosen: Vec<Chosen<'_>> = supported
        .iter()
        .filter(|f| match f.name {
            DistFilename::Sdist(_) => sdist.is_some_and(|s| std::ptr::eq(s, **f)),
            _ => true,
        })
        .map(|f| Chosen {
            file: f,
            sha256: None,
            size: f.page.size,
        })
        .collect();
    for c in &mut chosen {
        if let Some(hex) = &c.file.page.sha256 {
            c.sha256 = Some(Sha256::from_str(hex).map_err(|e| Problem::BadDigest {
                file: c.file.page.filename.clone(),
                reason: e.to_string(),
            })?);
        }
    }
    // Digests the index does not publish: from the cache, else streamed and hashed.
    let missing: Vec<usize> = (0..chosen.len())
        .filter(|&i| chosen[i].sha256.is_none())
        .collect();
    let computed: Vec<Result<ComputedDigest, Problem>> = missing
        .par_iter()
        .map(|&i| compute_digest(chosen[i].file, index))
        .collect();
    for (i, digest) in missing.into_iter().zip(computed) {
        let digest = digest?;
        chosen[i].sha256 = Some(digest.sha256);
        chosen[i].size = Some(digest.size);
    }
    let mut entries: Vec<(&ProjectFile, FileEntry)> = chosen
        .iter()
        .map(|c| (c.file, file_entry(c, options.lock_dir.as_deref())))
        .collect();

    if !pin.hashes.is_empty() {
        let on_index: BTreeSet<Sha256> = entries.iter().map(|(_, e)| e.sha256).collect();
        let missing: Vec<Sha256> = pin
            .hashes
            .iter()
            .filter(|h| !on_index.contains(h))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(Problem::HashNotOnIndex {
                index: source.to_string(),
                missing,
            });
        }
        let (kept, dropped): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .partition(|(_, e)| pin.hashes.contains(&e.sha256));
        if !dropped.is_empty() {
            let names: Vec<&str> = dropped.iter().map(|(_, e)| e.name.as_str()).collect();
            note(
                NoteLevel::Warning,
                format!(
                    "left out {} (not among the line's --hash values)",
                    names.join(", ")
                ),
            );
        }
        entries = kept;
    }

    if let Some(baseline) = baseline {
        entries = compare_with_baseline(baseline, entries, &mut note)?;
    }

    let requires_python = agreed_requires_python(&entries, &mut note);
    let mut package = Package {
        name: pin.name.clone(),
        version: Some(pin.version().clone()),
        marker: pin.marker.clone(),
        requires_python,
        index: Some(source.lock_name()),
        sdist: None,
        wheels: Vec::new(),
        archive: None,
        dependencies: None,
        added_for: Vec::new(),
        attestation_identities: Vec::new(),
        owners: None,
    };
    place_files(&mut package, entries, &mut note);
    if let Some(baseline) = baseline {
        // What the lock held stays as it was; only the check above used the index.
        package.sdist = baseline.sdist.clone();
        package.wheels = baseline.wheels.clone();
        package.archive = baseline.archive.clone();
        package.attestation_identities = baseline.attestation_identities.clone();
        package.requires_python = baseline.requires_python.clone();
        package.owners = baseline.owners.clone();
    }
    Ok((package, notes))
}

/// With `--refresh`: the index must still serve every locked file with the locked digest
/// ([`drift::compare`], which `audit` uses too); files it added are reported and not taken.
fn compare_with_baseline<'a>(
    baseline: &Package,
    entries: Vec<(&'a ProjectFile, FileEntry)>,
    note: &mut impl FnMut(NoteLevel, String),
) -> Result<Vec<(&'a ProjectFile, FileEntry)>, Problem> {
    let served: Vec<ServedFile> = entries.iter().map(|(_, e)| served_file(e)).collect();
    let drifts = drift::compare(baseline, &served);
    let (changes, added): (Vec<&FileDrift>, Vec<&FileDrift>) =
        drifts.iter().partition(|d| d.is_change());
    if !changes.is_empty() {
        return Err(Problem::Drift {
            changes: changes.iter().map(|d| d.describe()).collect(),
        });
    }
    if !added.is_empty() {
        let names: Vec<&str> = added.iter().map(|d| d.file()).collect();
        note(
            NoteLevel::Warning,
            format!(
                "the index added {} after this version was locked; not taken into the lock \
                 (check it, then use --refresh-package to accept it)",
                names.join(", ")
            ),
        );
    }
    let locked: BTreeSet<&str> = baseline.files().map(|f| f.name.as_str()).collect();
    Ok(entries
        .into_iter()
        .filter(|(_, e)| locked.contains(e.name.as_str()))
        .collect())
}

/// The files a lock may hold: a name the guard would refuse (a path separator, NUL, a leading
/// dot: see [`safe_file_name`]) is left out with a warning, so that `export` can never emit what
/// `fetch` refuses; a name listed twice is kept once when both have one digest, and fails the
/// pin when they differ, since nothing says which one is genuine.
fn lockable_files<'a>(
    files: Vec<&'a ProjectFile>,
    index: &Index,
    note: &mut impl FnMut(NoteLevel, String),
) -> Result<Vec<&'a ProjectFile>, Problem> {
    let mut kept: Vec<&ProjectFile> = Vec::with_capacity(files.len());
    // The first file of each name, by name: a version of many wheels is not scanned per file.
    let mut first_of: BTreeMap<&str, &ProjectFile> = BTreeMap::new();
    for file in files {
        let name = file.page.filename.as_str();
        if let Err(reason) = safe_file_name(name) {
            note(
                NoteLevel::Warning,
                format!(
                    "left out `{}`: {reason}, and `fetch` refuses such a name, so a lock must not hold it",
                    name.escape_debug()
                ),
            );
            continue;
        }
        let Some(&first) = first_of.get(name) else {
            first_of.insert(name, file);
            kept.push(file);
            continue;
        };
        // A digest the page does not give is computed (and cached, so the kept file's is not
        // downloaded twice).
        let digest_of = |f: &ProjectFile| -> Result<Sha256, Problem> {
            match &f.page.sha256 {
                Some(hex) => Sha256::from_str(hex).map_err(|e| Problem::BadDigest {
                    file: f.page.filename.clone(),
                    reason: e.to_string(),
                }),
                None => compute_digest(f, index).map(|d| d.sha256),
            }
        };
        let (a, b) = (digest_of(first)?, digest_of(file)?);
        if a != b {
            return Err(Problem::ConflictingDigests {
                file: name.to_owned(),
                digests: [a, b],
            });
        }
    }
    Ok(kept)
}

/// A file entry as [`drift::compare`] takes what the index serves.
fn served_file(entry: &FileEntry) -> ServedFile {
    ServedFile {
        name: entry.name.clone(),
        sha256: entry.sha256,
        size: entry.size,
        upload_time: entry.upload_time.map(|t| t.to_string()),
    }
}

/// One sdist per version (PEP 751 has room for one), as pip and uv pick: the best format
/// (`.tar.gz`, then `.zip`, then the rest), and of those the first one not yanked in the
/// order the index lists them.
fn choose_sdist<'a>(
    files: &[&'a ProjectFile],
    note: &mut impl FnMut(NoteLevel, String),
) -> Option<&'a ProjectFile> {
    let sdists: Vec<&ProjectFile> = files
        .iter()
        .copied()
        .filter(|f| matches!(f.name, DistFilename::Sdist(_)))
        .collect();
    let rank = |f: &ProjectFile| match &f.name {
        DistFilename::Sdist(s) => (s.extension.preference(), f.page.yanked.is_some()),
        _ => (u8::MAX, true),
    };
    // `min_by_key` keeps the first of equals: the index's order.
    let chosen = sdists.iter().copied().min_by_key(|f| rank(f))?;
    if sdists.len() > 1 {
        let others: Vec<&str> = sdists
            .iter()
            .filter(|f| !std::ptr::eq(**f, chosen))
            .map(|f| f.page.filename.as_str())
            .collect();
        note(
            NoteLevel::Warning,
            format!(
                "several sdists; locked {} (.tar.gz preferred, then .zip, as pip and uv pick) and left out {}",
                chosen.page.filename,
                others.join(", ")
            ),
        );
    }
    Some(chosen)
}

/// Files the lock holds for one version: wheels; the sdist when its format is one PEP 751's
/// `sdist` allows (`.tar.gz`, `.zip`); an sdist of an older format (`.tar.bz2`, `.tgz`…) as
/// the `archive` when there is no wheel (PEP 751 allows no archive beside wheels), else left
/// out.
fn place_files(
    package: &mut Package,
    entries: Vec<(&ProjectFile, FileEntry)>,
    note: &mut impl FnMut(NoteLevel, String),
) {
    let mut old_format_sdist = None;
    for (file, entry) in entries {
        match &file.name {
            DistFilename::Sdist(s) if s.extension.is_pep751_sdist() => package.sdist = Some(entry),
            DistFilename::Sdist(_) => old_format_sdist = Some(entry),
            _ => package.wheels.push(entry),
        }
    }
    let Some(entry) = old_format_sdist else {
        return;
    };
    if package.wheels.is_empty() {
        note(
            NoteLevel::Info,
            format!(
                "the only sdist, {}, is not .tar.gz or .zip, which PEP 751 requires of an sdist: \
                 locked as the package's archive, the form the PEP allows for it",
                entry.name
            ),
        );
        package.archive = Some(entry);
    } else {
        note(
            NoteLevel::Info,
            format!(
                "left out {}: PEP 751 allows only .tar.gz and .zip sdists, and no archive beside wheels",
                entry.name
            ),
        );
    }
}

/// The sha256 and size of a file the index gives no digest for: from the cache, else streamed
/// and hashed (and cached).
pub fn compute_digest(file: &ProjectFile, index: &Index) -> Result<ComputedDigest, Problem> {
    let key = match &file.location {
        FileLocation::Url(url) => Some(url.without_credentials().to_string()),
        FileLocation::Path(_) => None,
    };
    if let Some(cached) = key.as_deref().and_then(|k| index.cache().read_digest(k)) {
        return Ok(cached);
    }
    let (sha256, size) = download::stream(index.http(), &file.location, &mut std::io::sink())
        .map_err(|source| Problem::Download {
            file: file.page.filename.clone(),
            source: Box::new(source),
        })?;
    let digest = ComputedDigest { sha256, size };
    if let Some(key) = key {
        index.cache().write_digest(&key, digest);
    }
    Ok(digest)
}

fn file_entry(chosen: &Chosen<'_>, lock_dir: Option<&Path>) -> FileEntry {
    let location = match &chosen.file.location {
        FileLocation::Url(url) => EntryLocation::Url(url.without_credentials().to_string()),
        FileLocation::Path(path) => {
            let shown = lock_dir
                .and_then(|dir| path.strip_prefix(dir).ok())
                .unwrap_or(path);
            EntryLocation::Path(shown.display().to_string())
        }
    };
    FileEntry {
        name: chosen.file.page.filename.clone(),
        location,
        size: chosen.size,
        upload_time: chosen
            .file
            .page
            .upload_time
            .as_deref()
            .and_then(parse_upload_time),
        sha256: chosen
            .sha256
            .expect("every chosen file has a digest by now"),
    }
}

/// The files' `requires-python` when they agree; otherwise none, with a note (an installer
/// would otherwise skip files that do fit).
fn agreed_requires_python(
    entries: &[(&ProjectFile, FileEntry)],
    note: &mut impl FnMut(NoteLevel, String),
) -> Option<VersionSpecifiers> {
    let texts: BTreeSet<Option<&str>> = entries
        .iter()
        .map(|(f, _)| f.page.requires_python.as_deref())
        .collect();
    match texts.into_iter().collect::<Vec<_>>().as_slice() {
        [Some(text)] => match VersionSpecifiers::from_str(text) {
            Ok(specifiers) => Some(specifiers),
            Err(e) => {
                note(
                    NoteLevel::Info,
                    format!("requires-python `{text}` is not valid PEP 440 ({e}); left out"),
                );
                None
            }
        },
        [None] | [] => None,
        several => {
            let shown: Vec<&str> = several.iter().map(|t| t.unwrap_or("(none)")).collect();
            note(
                NoteLevel::Info,
                format!(
                    "files disagree on requires-python ({}); none recorded for the package",
                    shown.join(" / ")
                ),
            );
            None
        }
    }
}

/// Up to two versions below and two above `wanted`, among the project's versions.
fn nearest_versions(project: &Project, wanted: &Version) -> Vec<Version> {
    let versions = &project.versions;
    let split = versions.partition_point(|v| v < wanted);
    let below = &versions[split.saturating_sub(2)..split];
    let above = &versions[split..(split + 2).min(versions.len())];
    below.iter().chain(above).cloned().collect()
}
