//! Choosing what to install from a lock for one target, as PEP 751 tells installers to:
//!
//! - when the lock lists `environments`, one of them must match the target, else nothing is
//!   installed;
//! - a package applies when its `marker` is true for the target (no marker: always);
//! - of an applying package, exactly one file is chosen: the wheel whose tags the target
//!   ranks best, else the sdist, else the archive — never a file the lock does not name;
//! - a package whose `requires-python` excludes the target, two entries of one project that
//!   both apply, and a package with no file the target can install are errors: installing the
//!   rest would leave an environment the lock does not describe.

use std::collections::BTreeMap;
use std::fmt;

use pep508_rs::PackageName;

use super::Locked;
use crate::filename::WheelFilename;
use crate::lock::{FileEntry, Lock, Package};
use crate::target::Target;

/// Why a lock cannot be installed on a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// No `environments` marker matches.
    NoEnvironment {
        /// The lock's environments, as written.
        environments: Vec<String>,
    },
    /// The lock's own `requires-python` excludes the target.
    LockRequiresPython {
        /// The specifier.
        requires_python: String,
    },
    /// The package's `requires-python` excludes the target.
    RequiresPython {
        /// `name==version`.
        package: String,
        /// The specifier.
        requires_python: String,
    },
    /// Two entries of one project apply.
    Ambiguous {
        /// The project.
        name: String,
        /// The entries, as `name==version ; marker`.
        entries: Vec<String>,
    },
    /// No wheel for the target and no sdist.
    NoFile {
        /// `name==version`.
        package: String,
        /// The wheels the lock has.
        wheels: Vec<String>,
    },
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoEnvironment { environments } => write!(
                f,
                "the lock was made for other environments ({}); lock again for this target",
                environments.join("; ")
            ),
            Self::LockRequiresPython { requires_python } => write!(
                f,
                "the lock is for Python {requires_python} (its requires-python); choose an \
                 interpreter it admits, or lock again for this one"
            ),
            Self::RequiresPython {
                package,
                requires_python,
            } => write!(f, "{package} requires Python {requires_python}"),
            Self::Ambiguous { name, entries } => write!(
                f,
                "{} entries of `{name}` apply ({}); their markers overlap",
                entries.len(),
                entries.join("; ")
            ),
            Self::NoFile { package, wheels } => write!(
                f,
                "{package} has no sdist and none of its wheels installs here ({})",
                wheels.join(", ")
            ),
        }
    }
}

/// What was chosen for a target.
#[derive(Debug, Default)]
pub struct Selection<'a> {
    /// One file per applying package, sorted by package name.
    pub files: Vec<Locked<'a>>,
    /// Packages whose marker excludes the target.
    pub excluded: Vec<&'a Package>,
    /// Why the lock cannot be installed here; empty when it can.
    pub errors: Vec<SelectError>,
}

/// Why the lock as a whole is not for `target`: none of its `environments` matches, or its
/// top-level `requires-python` excludes the target's Python. `None` when it is.
pub fn lock_excludes(lock: &Lock, target: &Target) -> Option<SelectError> {
    if !lock.environments.is_empty()
        && !lock
            .environments
            .iter()
            .any(|marker| marker.evaluate(target.markers(), &[]))
    {
        return Some(SelectError::NoEnvironment {
            environments: lock
                .environments
                .iter()
                .map(|m| {
                    m.contents()
                        .map_or_else(|| "true".into(), |c| c.to_string())
                })
                .collect(),
        });
    }
    match &lock.requires_python {
        Some(requires_python) if !target.admits_python(requires_python) => {
            Some(SelectError::LockRequiresPython {
                requires_python: requires_python.to_string(),
            })
        }
        _ => None,
    }
}

/// Chooses one file per applying package of `lock` for `target`.
pub fn select<'a>(lock: &'a Lock, target: &Target) -> Selection<'a> {
    let mut selection = Selection::default();
    if let Some(error) = lock_excludes(lock, target) {
        selection.errors.push(error);
        return selection;
    }
    let mut applying: BTreeMap<&PackageName, Vec<&Package>> = BTreeMap::new();
    for package in &lock.packages {
        if package.marker.evaluate(target.markers(), &[]) {
            applying.entry(&package.name).or_default().push(package);
        } else {
            selection.excluded.push(package);
        }
    }
    for (name, packages) in applying {
        if packages.len() > 1 {
            selection.errors.push(SelectError::Ambiguous {
                name: name.to_string(),
                entries: packages.iter().map(|p| p.display_name()).collect(),
            });
            continue;
        }
        let package = packages[0];
        if let Some(requires_python) = &package.requires_python
            && !target.admits_python(requires_python)
        {
            selection.errors.push(SelectError::RequiresPython {
                package: package.display_name(),
                requires_python: requires_python.to_string(),
            });
            continue;
        }
        match best_file(package, target) {
            Some(entry) => selection.files.push(Locked { package, entry }),
            None => selection.errors.push(SelectError::NoFile {
                package: package.display_name(),
                wheels: package.wheels.iter().map(|w| w.name.clone()).collect(),
            }),
        }
    }
    selection
}

/// Whether [`best_file`] finds a file for the target, without ranking the wheels: an sdist
/// or archive installs anywhere, and else the first wheel the target ranks settles it.
pub fn has_installable_file(package: &Package, target: &Target) -> bool {
    package.sdist.is_some()
        || package.archive.is_some()
        || package.wheels.iter().any(|entry| {
            WheelFilename::parse(&entry.name)
                .is_some_and(|wheel| target.wheel_rank(&wheel).is_some())
        })
}

/// The best wheel for the target (lowest tag rank, then highest build tag), else the sdist,
/// else the archive.
pub fn best_file<'a>(package: &'a Package, target: &Target) -> Option<&'a FileEntry> {
    package
        .wheels
        .iter()
        .filter_map(|entry| {
            let wheel = WheelFilename::parse(&entry.name)?;
            let rank = target.wheel_rank(&wheel)?;
            Some((rank, std::cmp::Reverse(wheel.build), entry))
        })
        .min_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)))
        .map(|(_, _, entry)| entry)
        .or(package.sdist.as_ref())
        .or(package.archive.as_ref())
}
