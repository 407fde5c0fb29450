//! Completing a lock: what would cover the dependencies no pin covers.
//!
//! `check` finds them ([`crate::check::Finding::Uncovered`]); this module gathers, per
//! project, every dependent that asks for it and the targets it is needed on, and chooses
//! the version `lock` suggests (and `lock --add-missing` adds): the newest one the index has
//! that satisfies every dependent's specifier (PEP 440; pre-releases only when no final
//! release does, as uv's `if-necessary`), is not yanked (PEP 592), and has a file each of
//! those targets can install (a wheel it ranks, or an sdist, within `requires-python`). The
//! entry is marked as added with its dependents (`added-for`), so a later lock keeps its
//! version while the dependents still admit it.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerTree, PackageName};

use crate::check::{Finding, Report, pin_name};
use crate::filename::DistFilename;
use crate::index::{Index, IndexError, ProjectFile};
use crate::lock::{Lock, Package};
use crate::marker::Dependency;
use crate::target::Target;

/// A project no pin covers, with everything the lock asks of it.
#[derive(Debug, Clone)]
pub struct Needed<'l> {
    /// The project.
    pub name: PackageName,
    /// Each dependent with its requirement, as the lock records them.
    pub wants: Vec<(&'l Package, &'l Dependency)>,
    /// The targets (indices into those checked) it is needed on.
    pub targets: BTreeSet<usize>,
}

impl Needed<'_> {
    /// `app==1.0` for each dependent, sorted, each once: what `added-for` records.
    pub fn dependents(&self) -> Vec<String> {
        let names: BTreeSet<String> = self.wants.iter().map(|(p, _)| pin_name(p)).collect();
        names.into_iter().collect()
    }

    /// Where the project is needed: where a dependent applies and its requirement's marker
    /// holds (extras aside: they were asked for, or the finding would not exist).
    pub fn marker(&self) -> MarkerTree {
        if self.wants.is_empty() {
            return MarkerTree::TRUE;
        }
        let mut marker = MarkerTree::FALSE;
        for (package, dependency) in &self.wants {
            let mut needed = dependency
                .requirement
                .marker
                .clone()
                .simplify_extras_with(|_| true);
            needed.and(package.marker.clone());
            marker.or(needed);
        }
        marker
    }

    /// `app==1.0 requires lib>=2; tool==3.1 requires lib<2`.
    fn asks(&self) -> String {
        let asks: BTreeSet<String> = self
            .wants
            .iter()
            .map(|(p, d)| format!("{} requires {}", pin_name(p), d.without_marker()))
            .collect();
        asks.into_iter().collect::<Vec<_>>().join("; ")
    }
}

/// The projects `report` (of `lock`) finds no pin for, sorted by name.
pub fn uncovered<'l>(lock: &'l Lock, report: &Report) -> Vec<Needed<'l>> {
    // Packages by the name findings give them, and what is needed by project, each made
    // once: a lock of thousands of pins has thousands of findings, and each would otherwise
    // scan (and name) every package and every project found so far.
    let mut by_pin_name: BTreeMap<String, Vec<&'l Package>> = BTreeMap::new();
    for package in &lock.packages {
        by_pin_name
            .entry(pin_name(package))
            .or_default()
            .push(package);
    }
    let mut needed: BTreeMap<PackageName, (Needed<'l>, BTreeSet<Want>)> = BTreeMap::new();
    for (target, findings) in report.targets.iter().enumerate() {
        for finding in &findings.findings {
            let Finding::Uncovered {
                name,
                dependent,
                requirement,
                ..
            } = finding
            else {
                continue;
            };
            let Ok(name) = PackageName::from_str(name) else {
                continue;
            };
            let (entry, seen) = needed.entry(name.clone()).or_insert_with(|| {
                let entry = Needed {
                    name: name.clone(),
                    wants: Vec::new(),
                    targets: BTreeSet::new(),
                };
                (entry, BTreeSet::new())
            });
            entry.targets.insert(target);
            let dependents = by_pin_name.get(dependent).map_or(&[][..], Vec::as_slice);
            for want in wants_of(dependents, &name, requirement) {
                if seen.insert(Want::of(want)) {
                    entry.wants.push(want);
                }
            }
        }
    }
    needed.into_values().map(|(entry, _)| entry).collect()
}

/// A dependent and its requirement, by address: which of a [`Needed`]'s wants are in already.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Want(*const Package, *const Dependency);

impl Want {
    fn of((package, dependency): (&Package, &Dependency)) -> Self {
        Self(package, dependency)
    }
}

/// The recorded requirements of `dependents` (the packages a finding names `name==version`)
/// that ask for `name` with `requirement` (without its marker).
fn wants_of<'l>(
    dependents: &[&'l Package],
    name: &PackageName,
    requirement: &str,
) -> Vec<(&'l Package, &'l Dependency)> {
    dependents
        .iter()
        .filter_map(|p| Some((*p, p.dependencies.as_ref()?)))
        .flat_map(|(p, recorded)| {
            recorded
                .requires_dist
                .iter()
                .filter(|d| d.requirement.name == *name && d.without_marker() == requirement)
                .map(move |d| (p, d))
        })
        .collect()
}

/// Why no version can cover a project.
#[derive(Debug, thiserror::Error)]
pub enum CompleteError {
    /// No source has the project.
    #[error("no source has a project `{name}`, which {asks}")]
    UnknownProject {
        /// The project.
        name: PackageName,
        /// Who asks for what.
        asks: String,
    },
    /// No version satisfies every dependent.
    #[error("no version of `{name}` satisfies every dependent: {asks}")]
    Conflict {
        /// The project.
        name: PackageName,
        /// Who asks for what.
        asks: String,
    },
    /// Versions satisfy every dependent, but none can be installed where it is needed.
    #[error(
        "no version of `{name}` that satisfies every dependent ({asks}) has a file that is not \
         yanked and installable on {targets}"
    )]
    NotInstallable {
        /// The project.
        name: PackageName,
        /// Who asks for what.
        asks: String,
        /// The targets it is needed on.
        targets: String,
    },
    /// The index could not be asked.
    #[error("`{name}`: {source}")]
    Index {
        /// The project.
        name: PackageName,
        /// Why.
        source: Box<IndexError>,
    },
}

/// The version to cover `needed` with: `previous` (what an earlier lock added) while every
/// dependent still admits it and the index still has it, else the newest one that fits (see
/// the module's header). `targets` are those the report was made on.
pub fn choose(
    index: &Index,
    needed: &Needed<'_>,
    targets: &[Target],
    previous: Option<&Version>,
) -> Result<Version, CompleteError> {
    let admits = |v: &Version| needed.wants.iter().all(|(_, d)| d.admits(Some(v)));
    let project = index
        .project(&needed.name, &admits)
        .map_err(|source| CompleteError::Index {
            name: needed.name.clone(),
            source: Box::new(source),
        })?
        .ok_or_else(|| CompleteError::UnknownProject {
            name: needed.name.clone(),
            asks: needed.asks(),
        })?;
    let fits = |version: &Version| {
        let files: Vec<&ProjectFile> = project
            .files
            .iter()
            .filter(|f| f.name.version() == version && f.page.yanked.is_none())
            .collect();
        needed
            .targets
            .iter()
            .filter_map(|&t| targets.get(t))
            .all(|target| files.iter().any(|f| installable(f, target)))
    };
    if let Some(version) = previous.filter(|v| admits(v) && fits(v)) {
        return Ok(version.clone());
    }
    let mut candidates: Vec<&Version> = project.versions.iter().filter(|v| admits(v)).collect();
    if candidates.is_empty() {
        return Err(CompleteError::Conflict {
            name: needed.name.clone(),
            asks: needed.asks(),
        });
    }
    // Newest first, final releases before any pre-release.
    candidates.sort_by_key(|v| (!v.any_prerelease(), (*v).clone()));
    candidates
        .into_iter()
        .rev()
        .find(|v| fits(v))
        .cloned()
        .ok_or_else(|| CompleteError::NotInstallable {
            name: needed.name.clone(),
            asks: needed.asks(),
            targets: needed
                .targets
                .iter()
                .filter_map(|&t| targets.get(t))
                .map(Target::label)
                .collect::<Vec<_>>()
                .join("; "),
        })
}

/// Whether `target` can install `file`: within its `requires-python`, and an sdist or a
/// wheel the target ranks.
fn installable(file: &ProjectFile, target: &Target) -> bool {
    let python_ok = file
        .page
        .requires_python
        .as_deref()
        .and_then(|text| VersionSpecifiers::from_str(text).ok())
        .is_none_or(|specifiers| target.admits_python(&specifiers));
    python_ok
        && match &file.name {
            DistFilename::Wheel(wheel) => target.wheel_rank(wheel).is_some(),
            DistFilename::Sdist(_) => true,
            DistFilename::Unsupported(_) => false,
        }
}
