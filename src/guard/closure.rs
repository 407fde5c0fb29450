//! `install -r`: the part of a lock a project needs.
//!
//! A constraints-wide lock (all of OpenStack's upper-constraints, say) serves many projects;
//! each installs only its requirements and what they depend on. Starting from the requirement
//! files' lines whose markers apply to the target, each is matched with the lock entry of its
//! project that applies there (its version must satisfy the line's specifier), then that
//! entry's recorded `Requires-Dist` (`lock` records them) are followed the same way, with the
//! extras asked of it. Every step must be answered by the lock: a requirement or dependency it
//! does not hold is an error, not something to fetch from elsewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use pep508_rs::{ExtraName, PackageName};

use crate::lock::{Lock, Package};
use crate::marker::Dependency;
use crate::requirements::Spec;
use crate::target::Target;

/// Why the requirements cannot be installed from the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosureError {
    /// The lock has no entry of the project for this target.
    NotInLock {
        /// The requirement.
        requirement: String,
        /// Who asks: a requirements file line, or a package.
        wanted_by: String,
    },
    /// The locked version is outside the requirement's specifier.
    Conflict {
        /// The requirement.
        requirement: String,
        /// Who asks.
        wanted_by: String,
        /// The locked entry.
        locked: String,
    },
    /// The lock does not record what a needed package depends on.
    NoDependencies {
        /// The package.
        package: String,
    },
}

impl fmt::Display for ClosureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotInLock {
                requirement,
                wanted_by,
            } => write!(
                f,
                "{wanted_by} requires {requirement}, which the lock does not hold for this target"
            ),
            Self::Conflict {
                requirement,
                wanted_by,
                locked,
            } => write!(
                f,
                "{wanted_by} requires {requirement}, but the lock has {locked}"
            ),
            Self::NoDependencies { package } => write!(
                f,
                "the lock does not record what {package} depends on; lock again with \
                 `pinguard lock` (without --no-dependencies)"
            ),
        }
    }
}

/// The names of the lock's packages that `specs` need on `target`, or every reason they
/// cannot be had from the lock.
pub fn closure(
    lock: &Lock,
    specs: &[Spec],
    target: &Target,
) -> Result<BTreeSet<PackageName>, Vec<ClosureError>> {
    let applying = applying(lock, target);
    let mut errors = Errors::default();
    let mut extras: BTreeMap<&PackageName, BTreeSet<ExtraName>> = BTreeMap::new();
    let mut queue: Vec<&PackageName> = Vec::new();
    for spec in specs {
        if spec.dependency.applies(target.markers(), &[])
            && let Some(name) = want(
                &applying,
                &mut extras,
                &spec.dependency,
                spec.location.to_string(),
                &mut errors,
            )
        {
            queue.push(name);
        }
    }
    follow(&applying, &mut extras, queue, &mut errors, target, true);
    if errors.0.is_empty() {
        Ok(extras.into_keys().cloned().collect())
    } else {
        Err(errors.0)
    }
}

/// What a whole lock misses on `target`: every dependency of an applying package (through
/// the dependencies the lock records, with the extras asked of each) that no entry applying
/// there holds, as [`ClosureError::NotInLock`], for whom. Packages whose dependencies the
/// lock does not record (a hash-only lock, one another tool wrote) are taken as they are.
pub fn missing(lock: &Lock, target: &Target) -> Vec<ClosureError> {
    let applying = applying(lock, target);
    let mut extras: BTreeMap<&PackageName, BTreeSet<ExtraName>> = applying
        .keys()
        .map(|&name| (name, BTreeSet::new()))
        .collect();
    let queue = applying.keys().copied().collect();
    let mut errors = Errors::default();
    follow(&applying, &mut extras, queue, &mut errors, target, false);
    errors
        .0
        .into_iter()
        .filter(|e| matches!(e, ClosureError::NotInLock { .. }))
        .collect()
}

/// Follows the recorded dependencies of the packages in `queue`, and of what they need, in
/// turn; a package without recorded dependencies is an error when `need_recorded`.
fn follow<'l>(
    applying: &BTreeMap<&'l PackageName, &'l Package>,
    extras: &mut BTreeMap<&'l PackageName, BTreeSet<ExtraName>>,
    mut queue: Vec<&'l PackageName>,
    errors: &mut Errors,
    target: &Target,
    need_recorded: bool,
) {
    while let Some(name) = queue.pop() {
        let package = applying[name];
        let Some(recorded) = &package.dependencies else {
            if need_recorded {
                errors.push(ClosureError::NoDependencies {
                    package: package.display_name(),
                });
            }
            continue;
        };
        let requested: Vec<ExtraName> = extras
            .get(name)
            .map(|e| e.iter().cloned().collect())
            .unwrap_or_default();
        for dependency in &recorded.requires_dist {
            if dependency.applies(target.markers(), &requested)
                && let Some(next) =
                    want(applying, extras, dependency, package.display_name(), errors)
            {
                queue.push(next);
            }
        }
    }
}

/// The lock's entries whose marker holds on `target`, by name.
fn applying<'l>(lock: &'l Lock, target: &Target) -> BTreeMap<&'l PackageName, &'l Package> {
    lock.packages
        .iter()
        .filter(|p| p.marker.evaluate(target.markers(), &[]))
        .map(|p| (&p.name, p))
        .collect()
}

/// Errors in the order found, each once.
#[derive(Default)]
struct Errors(Vec<ClosureError>);

impl Errors {
    fn push(&mut self, error: ClosureError) {
        if !self.0.contains(&error) {
            self.0.push(error);
        }
    }
}

/// Matches one requirement with the lock; the project's name when it must be (re)visited: the
/// first time, or when it is asked for extras it was not asked for before.
fn want<'l>(
    applying: &BTreeMap<&'l PackageName, &'l Package>,
    extras: &mut BTreeMap<&'l PackageName, BTreeSet<ExtraName>>,
    dependency: &Dependency,
    wanted_by: String,
    errors: &mut Errors,
) -> Option<&'l PackageName> {
    let requirement = &dependency.requirement;
    let Some((&name, package)) = applying.get_key_value(&requirement.name) else {
        errors.push(ClosureError::NotInLock {
            requirement: dependency.without_marker(),
            wanted_by,
        });
        return None;
    };
    if !dependency.admits(package.version.as_ref()) {
        errors.push(ClosureError::Conflict {
            requirement: dependency.without_marker(),
            wanted_by,
            locked: package.display_name(),
        });
    }
    let first_time = !extras.contains_key(name);
    let asked = extras.entry(name).or_default();
    let before = asked.len();
    asked.extend(requirement.extras.iter().cloned());
    (first_time || asked.len() > before).then_some(name)
}
