//! `audit --releases DIR`: OpenStack's release records, a checkout of openstack/releases.
//!
//! Each `deliverables/<series>/<name>.yaml` lists the versions the release process made:
//!
//! ```yaml
//! releases:
//!   - version: 9.7.0
//!     projects:
//!       - repo: openstack/oslo.config
//!         hash: 82552116f827030ce1e493506fe83ef71656e447
//!         tarball-base: oslo.config      # the distribution's name, when it differs
//! ```
//!
//! A deliverable is matched to a locked package by normalized name: the file's name, or a
//! project's `tarball-base`. Every series is read; a version is "made by the release
//! process" when any series lists it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::PackageName;
use yaml_rust2::{Yaml, YamlLoader};

/// The versions each deliverable's records list, by normalized distribution name.
#[derive(Debug, Default)]
pub struct Releases {
    made: BTreeMap<PackageName, BTreeSet<Version>>,
}

impl Releases {
    /// The versions the release process made of `name`; `None` when it is no deliverable.
    pub fn of(&self, name: &PackageName) -> Option<&BTreeSet<Version>> {
        self.made.get(name)
    }

    /// How many deliverables were read.
    pub fn len(&self) -> usize {
        self.made.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.made.is_empty()
    }
}

/// Why the records cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReleasesError {
    /// No `deliverables` folder.
    #[error(
        "{} has no `deliverables` folder: give --releases a checkout of openstack/releases",
        .0.display()
    )]
    NotACheckout(PathBuf),
    /// A folder or file that cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file that is not YAML.
    #[error("{}:{line}:{column}: not YAML: {message}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
}

/// Reads every `deliverables/<series>/<name>.yaml` under `dir`.
pub fn read(dir: &Path) -> Result<Releases, ReleasesError> {
    let deliverables = dir.join("deliverables");
    if !deliverables.is_dir() {
        return Err(ReleasesError::NotACheckout(dir.to_owned()));
    }
    let mut releases = Releases::default();
    for series in sorted_entries(&deliverables)? {
        if !series.is_dir() {
            continue;
        }
        for file in sorted_entries(&series)? {
            if file.extension().is_some_and(|e| e == "yaml") {
                read_deliverable(&file, &mut releases)?;
            }
        }
    }
    Ok(releases)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, ReleasesError> {
    let read_error = |source| ReleasesError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in fs_err::read_dir(dir).map_err(read_error)? {
        paths.push(entry.map_err(read_error)?.path());
    }
    paths.sort();
    Ok(paths)
}

fn read_deliverable(path: &Path, releases: &mut Releases) -> Result<(), ReleasesError> {
    let text = fs_err::read_to_string(path).map_err(|source| ReleasesError::Read {
        path: path.to_owned(),
        source,
    })?;
    let documents = YamlLoader::load_from_str(&text).map_err(|e| ReleasesError::Yaml {
        path: path.to_owned(),
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_owned(),
    })?;
    let Some(document) = documents.first() else {
        return Ok(());
    };
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let mut names: BTreeSet<PackageName> = stem
        .iter()
        .filter_map(|s| PackageName::from_str(s).ok())
        .collect();
    let mut versions = BTreeSet::new();
    for release in document["releases"].as_vec().into_iter().flatten() {
        if let Some(version) = text_of(&release["version"]).and_then(|v| Version::from_str(&v).ok())
        {
            versions.insert(version);
        }
        for project in release["projects"].as_vec().into_iter().flatten() {
            if let Some(base) = text_of(&project["tarball-base"]) {
                names.extend(PackageName::from_str(&base).ok());
            }
        }
    }
    for name in names {
        releases
            .made
            .entry(name)
            .or_default()
            .extend(versions.iter().cloned());
    }
    Ok(())
}

/// A scalar as text: versions such as `1.0` are read by YAML as numbers.
fn text_of(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_under_the_file_name_and_the_tarball_base() {
        let dir = tempfile::tempdir().unwrap();
        let series = dir.path().join("deliverables/_independent");
        fs_err::create_dir_all(&series).unwrap();
        fs_err::write(
            series.join("xstatic-font-awesome.yaml"),
            "---\nreleases:\n  - version: 4.7.0.0\n    projects:\n      - repo: openstack/xstatic-font-awesome\n        hash: 8a67\n        tarball-base: XStatic-Font-Awesome\n  - version: 5.0\n",
        )
        .unwrap();
        let releases = read(dir.path()).unwrap();
        let name = PackageName::from_str("XStatic_Font.Awesome").unwrap();
        let versions: Vec<String> = releases
            .of(&name)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(versions, ["4.7.0.0", "5.0"]);
    }

    #[test]
    fn a_directory_that_is_not_a_checkout_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path()).unwrap_err();
        assert!(err.to_string().ends_with(
            "has no `deliverables` folder: give --releases a checkout of openstack/releases"
        ));
    }
}
