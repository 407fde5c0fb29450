//! `check`: is a pinned set complete and installable, per target?
//!
//! For each target (Python version, implementation, platform), the pins whose marker is true
//! there are the installed set. Starting from every one of them, each `Requires-Dist` whose
//! marker is true — evaluated with the extras requested of that package, so a dependency on
//! `requests[socks]` pulls in `requests`' `socks` extra — must be covered by a pin whose version
//! satisfies the specifier. Findings, per target:
//!
//! - a dependency no pin covers (who needs it, and the specifier);
//! - a pin that violates a dependent's specifier (both sides named);
//! - a pin whose `requires-python` excludes the target;
//! - a pin with no file installable on the target (only wheels for other platforms, no sdist);
//! - two pins of one project that both apply (overlapping markers);
//! - a pin whose dependencies could not be read, or are malformed.
//!
//! And across targets: pins that apply to no target at all. Findings that rest on an sdist's
//! metadata that a build may change (PEP 643) say so.

pub mod report;

use std::collections::{BTreeMap, BTreeSet};

use pep508_rs::{ExtraName, PackageName};
use serde::Serialize;

use crate::dependencies::Dependencies;
use crate::guard::select::has_installable_file;
use crate::lock::Package;
use crate::target::Target;

/// A locked package with what it depends on (or why that is unknown).
#[derive(Debug)]
pub struct Subject<'a> {
    /// The package.
    pub package: &'a Package,
    /// Its dependencies.
    pub dependencies: Result<Dependencies, String>,
}

/// One thing wrong on one target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Finding {
    /// A dependency that no pin covers.
    Uncovered {
        /// The project needed.
        name: String,
        /// Who needs it (`name==version`).
        dependent: String,
        /// The requirement as the dependent states it.
        requirement: String,
        /// The dependent's metadata may change when built.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        from_sdist: bool,
    },
    /// A pin outside a dependent's specifier.
    Violation {
        /// The pin (`name==version`).
        pin: String,
        /// Who needs something else (`name==version`).
        dependent: String,
        /// The requirement as the dependent states it.
        requirement: String,
        /// The dependent's metadata may change when built.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        from_sdist: bool,
    },
    /// The pin's `requires-python` excludes the target.
    RequiresPython {
        /// The pin.
        pin: String,
        /// Its `requires-python`.
        requires_python: String,
    },
    /// Nothing the target can install.
    NoInstallableFile {
        /// The pin.
        pin: String,
        /// The wheels there are.
        wheels: Vec<String>,
    },
    /// Two or more pins of one project apply.
    Overlap {
        /// The project.
        name: String,
        /// The pins.
        pins: Vec<String>,
    },
    /// The pin's dependencies are unknown.
    DependenciesUnknown {
        /// The pin.
        pin: String,
        /// Why.
        reason: String,
    },
    /// A `Requires-Dist` that does not parse.
    InvalidRequirement {
        /// The pin.
        pin: String,
        /// The value.
        value: String,
        /// The parser's error.
        error: String,
    },
}

impl Finding {
    /// The heading a finding is grouped under.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Uncovered { .. } => "dependencies no pin covers",
            Self::Violation { .. } => "pins that violate a dependent's specifier",
            Self::RequiresPython { .. } => "pins whose requires-python excludes the target",
            Self::NoInstallableFile { .. } => "pins with no file installable on the target",
            Self::Overlap { .. } => "projects pinned more than once for the target",
            Self::DependenciesUnknown { .. } => "pins whose dependencies could not be read",
            Self::InvalidRequirement { .. } => "dependencies that do not parse",
        }
    }
}

/// The findings for one target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetFindings {
    /// The target's label.
    pub target: String,
    /// Pins that apply on it.
    pub pins: usize,
    /// What is wrong, sorted.
    pub findings: Vec<Finding>,
}

/// Everything `check` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Per target.
    pub targets: Vec<TargetFindings>,
    /// Pins whose marker is false on every target.
    pub applies_to_no_target: Vec<String>,
}

impl Report {
    /// Whether every target is complete and consistent.
    pub fn is_clean(&self) -> bool {
        self.targets.iter().all(|t| t.findings.is_empty()) && self.applies_to_no_target.is_empty()
    }
}

/// Checks `subjects` on every target.
pub fn check(subjects: &[Subject<'_>], targets: &[Target]) -> Report {
    use rayon::prelude::*;
    // Targets are independent: a lock is reviewed on five, each a walk of every pin.
    let checked: Vec<(Vec<usize>, TargetFindings)> = targets
        .par_iter()
        .map(|target| {
            let applying: Vec<usize> = (0..subjects.len())
                .filter(|&i| subjects[i].package.marker.evaluate(target.markers(), &[]))
                .collect();
            let findings = TargetFindings {
                target: target.label().to_owned(),
                pins: applying.len(),
                findings: check_target(subjects, &applying, target),
            };
            (applying, findings)
        })
        .collect();
    let mut applies_somewhere = vec![false; subjects.len()];
    let mut per_target = Vec::new();
    for (applying, findings) in checked {
        for i in applying {
            applies_somewhere[i] = true;
        }
        per_target.push(findings);
    }
    Report {
        targets: per_target,
        applies_to_no_target: subjects
            .iter()
            .zip(applies_somewhere)
            .filter(|(_, applies)| !applies)
            .map(|(s, _)| s.package.display_name())
            .collect(),
    }
}

fn check_target(subjects: &[Subject<'_>], applying: &[usize], target: &Target) -> Vec<Finding> {
    let mut findings = BTreeSet::new();
    let mut by_name: BTreeMap<&PackageName, Vec<usize>> = BTreeMap::new();
    for &i in applying {
        by_name
            .entry(&subjects[i].package.name)
            .or_default()
            .push(i);
    }
    for (name, pins) in &by_name {
        if pins.len() > 1 {
            findings.insert(Finding::Overlap {
                name: name.to_string(),
                pins: pins
                    .iter()
                    .map(|&i| subjects[i].package.display_name())
                    .collect(),
            });
        }
    }
    for &i in applying {
        let package = subjects[i].package;
        let requires_python = package.requires_python.as_ref().or_else(|| {
            subjects[i]
                .dependencies
                .as_ref()
                .ok()
                .and_then(|d| d.requires_python.as_ref())
        });
        if let Some(requires_python) = requires_python
            && !target.admits_python(requires_python)
        {
            findings.insert(Finding::RequiresPython {
                pin: pin_name(package),
                requires_python: requires_python.to_string(),
            });
        }
        if !has_installable_file(package, target) {
            findings.insert(Finding::NoInstallableFile {
                pin: pin_name(package),
                wheels: package.wheels.iter().map(|w| w.name.clone()).collect(),
            });
        }
    }

    // Walk the dependencies; a package is visited again when a dependent asks it for extras
    // it was not yet asked for.
    let mut extras: BTreeMap<usize, BTreeSet<ExtraName>> =
        applying.iter().map(|&i| (i, BTreeSet::new())).collect();
    let mut queue: Vec<usize> = applying.to_vec();
    let mut reported_unknown = BTreeSet::new();
    while let Some(i) = queue.pop() {
        let subject = &subjects[i];
        let dependent = pin_name(subject.package);
        let dependencies = match &subject.dependencies {
            Ok(dependencies) => dependencies,
            Err(reason) => {
                if reported_unknown.insert(i) {
                    findings.insert(Finding::DependenciesUnknown {
                        pin: dependent,
                        reason: reason.clone(),
                    });
                }
                continue;
            }
        };
        for (value, error) in &dependencies.invalid {
            findings.insert(Finding::InvalidRequirement {
                pin: dependent.clone(),
                value: value.clone(),
                error: error.clone(),
            });
        }
        let from_sdist = dependencies.provenance.may_differ_when_built();
        let requested: Vec<ExtraName> = extras
            .get(&i)
            .map(|e| e.iter().cloned().collect())
            .unwrap_or_default();
        for dependency in &dependencies.requires_dist {
            if !dependency.applies(target.markers(), &requested) {
                continue;
            }
            let requirement = &dependency.requirement;
            let Some(pins) = by_name.get(&requirement.name) else {
                findings.insert(Finding::Uncovered {
                    name: requirement.name.to_string(),
                    dependent: dependent.clone(),
                    requirement: dependency.without_marker(),
                    from_sdist,
                });
                continue;
            };
            for &pin in pins {
                let package = subjects[pin].package;
                if !dependency.admits(package.version.as_ref()) {
                    findings.insert(Finding::Violation {
                        pin: pin_name(package),
                        dependent: dependent.clone(),
                        requirement: dependency.without_marker(),
                        from_sdist,
                    });
                }
                if !requirement.extras.is_empty() {
                    let asked = extras.entry(pin).or_default();
                    let before = asked.len();
                    asked.extend(requirement.extras.iter().cloned());
                    if asked.len() > before {
                        queue.push(pin);
                    }
                }
            }
        }
    }
    findings.into_iter().collect()
}

/// `name==version`: how findings name a pin.
pub fn pin_name(package: &Package) -> String {
    match &package.version {
        Some(version) => format!("{}=={version}", package.name),
        None => package.name.to_string(),
    }
}
