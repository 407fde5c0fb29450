//! The lock: what pinguard writes and what the guard holds installs to.
//!
//! The model follows [PEP 751](https://peps.python.org/pep-0751/) (`pylock.toml`), restricted
//! to what can be verified by digest: every file has a sha256 ([`FileEntry::sha256`] is not
//! optional), and packages come from wheels, an sdist or an archive, never from a VCS checkout
//! or a local directory. [`pylock`] reads and writes the TOML; [`export`] renders pip
//! requirements with `--hash` options.

pub mod current;
pub mod diff;
pub mod export;
pub mod pylock;
pub mod trim;

use std::fmt;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerTree, PackageName};
use toml_edit::Datetime;

use crate::digest::Sha256;

/// The `created-by` pinguard writes.
pub const CREATED_BY: &str = "pinguard";

/// A whole lock.
#[derive(Debug, Clone, PartialEq)]
pub struct Lock {
    /// The tool that wrote it (`created-by`).
    pub created_by: String,
    /// `requires-python`: the Python versions every package supports, when they agree.
    pub requires_python: Option<VersionSpecifiers>,
    /// `environments`: markers of the targets the lock was made for; empty means any.
    pub environments: Vec<MarkerTree>,
    /// The packages, sorted by name, version and marker when pinguard writes them.
    pub packages: Vec<Package>,
    /// Entries of other lockers whose source has no digest (a local directory, a VCS
    /// checkout): read so that the rest of such a lock can be guarded, never written.
    pub unverifiable: Vec<UnverifiablePackage>,
    /// `[tool.pinguard]`: what the lock was made from.
    pub source: Option<LockSource>,
}

/// `[tool.pinguard]`: the input a lock was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSource {
    /// The constraints file's path (relative to the lock's directory when possible) or URL
    /// (without credentials).
    pub location: String,
    /// The sha256 of its bytes.
    pub sha256: Sha256,
}

/// A `[[packages]]` entry with no digest to verify, as `uv export` writes for the project
/// itself (`directory = { path = ".", editable = true }`).
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiablePackage {
    /// Normalized name.
    pub name: PackageName,
    /// The version, when given.
    pub version: Option<Version>,
    /// Where it applies.
    pub marker: MarkerTree,
    /// Where it comes from.
    pub source: UnverifiableSource,
}

/// Where an unverifiable entry comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnverifiableSource {
    /// `packages.directory`: a local source tree.
    Directory {
        /// Its path, relative to the lock's directory or absolute.
        path: String,
        /// Whether it is to be installed editable.
        editable: bool,
        /// The project's directory inside it, when not the top.
        subdirectory: Option<String>,
    },
    /// `packages.vcs`: a checkout of a repository.
    Vcs {
        /// The repository URL (without credentials) or path.
        location: String,
    },
}

impl UnverifiablePackage {
    /// `name` and, when known, `==version`, with the source, for messages.
    pub fn describe(&self) -> String {
        let version = self
            .version
            .as_ref()
            .map(|v| format!("=={v}"))
            .unwrap_or_default();
        match &self.source {
            UnverifiableSource::Directory { path, .. } => {
                format!("{}{version} (the local directory {path})", self.name)
            }
            UnverifiableSource::Vcs { location } => {
                format!("{}{version} (the repository {location})", self.name)
            }
        }
    }
}

/// One `[[packages]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// Normalized name.
    pub name: PackageName,
    /// The version; PEP 751 allows leaving it out, pinguard always writes it.
    pub version: Option<Version>,
    /// Where the package applies (`true` when the lock has no marker for it).
    pub marker: MarkerTree,
    /// The package's `requires-python`.
    pub requires_python: Option<VersionSpecifiers>,
    /// The index the files came from (URL without credentials, or find-links location).
    pub index: Option<String>,
    /// The source distribution, if one is locked.
    pub sdist: Option<FileEntry>,
    /// The wheels.
    pub wheels: Vec<FileEntry>,
    /// A single archive (`packages.archive`), as other lockers may write.
    pub archive: Option<FileEntry>,
    /// What the package depends on, when it was read (`lock` does by default).
    pub dependencies: Option<RecordedDependencies>,
    /// Who needed it, when `lock --add-missing` added it (`app==1.0`, sorted); empty for a
    /// package the source pins.
    pub added_for: Vec<String>,
    /// `[[packages.attestation-identities]]`: who may publish its files (`lock
    /// --attestations`); empty when none are recorded.
    pub attestation_identities: Vec<crate::provenance::Identity>,
    /// Who could publish it when it was locked (`lock --owners`), in
    /// `[packages.tool.pinguard]`.
    pub owners: Option<crate::owners::Ownership>,
}

/// A package's dependencies as the lock records them: PEP 751's `dependencies` (references
/// to other entries, informational) and, in `[packages.tool.pinguard]`, the `Requires-Dist`
/// specifiers themselves and where they were read, which `check` and `install -r` need.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedDependencies {
    /// `Requires-Dist` as written, parsed.
    pub requires_dist: Vec<crate::marker::Dependency>,
    /// Where they were read.
    pub provenance: crate::dependencies::Provenance,
    /// The file they were read from.
    pub file: String,
}

impl Package {
    /// Every file of the package: sdist, wheels, archive.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.sdist
            .iter()
            .chain(self.wheels.iter())
            .chain(self.archive.iter())
    }

    /// The marker as text, `None` when the package applies everywhere.
    pub fn marker_text(&self) -> Option<String> {
        self.marker.contents().map(|m| m.to_string())
    }

    /// `name==version` (and ` ; marker`) for messages.
    pub fn display_name(&self) -> String {
        let mut text = self.name.to_string();
        if let Some(version) = &self.version {
            text.push_str(&format!("=={version}"));
        }
        if let Some(marker) = self.marker_text() {
            text.push_str(&format!(" ; {marker}"));
        }
        text
    }

    /// The key packages are sorted by: name, version, marker.
    pub fn sort_key(&self) -> (PackageName, Option<Version>, String) {
        (
            self.name.clone(),
            self.version.clone(),
            self.marker_text().unwrap_or_default(),
        )
    }
}

/// One file of a package.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEntry {
    /// The file name.
    pub name: String,
    /// Where to fetch it.
    pub location: EntryLocation,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// When it was uploaded, when the index said.
    pub upload_time: Option<Datetime>,
    /// Its sha256: required, it is what the lock is for.
    pub sha256: Sha256,
}

/// Where a locked file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryLocation {
    /// An absolute URL without credentials.
    Url(String),
    /// A path, relative to the lock's directory or absolute.
    Path(String),
}

impl fmt::Display for EntryLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(url) => f.write_str(url),
            Self::Path(path) => f.write_str(path),
        }
    }
}

impl Lock {
    /// The lock with only the packages `keep` says yes to (`install -r`: the part a set of
    /// requirements needs), the rest of it copied; the packages it leaves out are not.
    pub fn part(&self, keep: impl Fn(&Package) -> bool) -> Self {
        Self {
            created_by: self.created_by.clone(),
            requires_python: self.requires_python.clone(),
            environments: self.environments.clone(),
            packages: self.packages.iter().filter(|p| keep(p)).cloned().collect(),
            unverifiable: self.unverifiable.clone(),
            source: self.source.clone(),
        }
    }

    /// An empty lock written by pinguard.
    pub fn new() -> Self {
        Self {
            created_by: CREATED_BY.to_owned(),
            requires_python: None,
            environments: Vec::new(),
            packages: Vec::new(),
            unverifiable: Vec::new(),
            source: None,
        }
    }

    /// Sorts packages (by name, version, marker) and each package's wheels (by file name), so
    /// that the same content always serialises to the same bytes.
    pub fn normalize(&mut self) {
        for package in &mut self.packages {
            package.wheels.sort_by(|a, b| a.name.cmp(&b.name));
        }
        // The key is made once per package: it formats the marker, which a comparison
        // sort would otherwise do twice per comparison (n log n markers for thousands of
        // pins).
        self.packages.sort_by_cached_key(Package::sort_key);
    }
}

impl Default for Lock {
    fn default() -> Self {
        Self::new()
    }
}
