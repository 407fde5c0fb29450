//! Cutting a lock down to the targets a user deploys on.
//!
//! A package whose marker is false on every target goes; of the rest, a wheel stays when some
//! target can install it, and the sdist stays unless every target the package applies to has
//! a wheel. The targets are recorded as PEP 751 `environments`, which installers must match.

use super::{Lock, Package};
use crate::filename::WheelFilename;
use crate::target::Target;

/// Trims `lock` to `targets` (none: leaves it whole).
pub fn trim(lock: &mut Lock, targets: &[Target]) {
    if targets.is_empty() {
        return;
    }
    lock.packages.retain_mut(|p| trim_package(p, targets));
    lock.environments = targets.iter().map(Target::environment_marker).collect();
}

/// Trims one package to `targets` as [`trim`] does: `false` when it applies to none of them
/// (and goes); no targets leave it whole.
pub fn trim_package(package: &mut Package, targets: &[Target]) -> bool {
    if targets.is_empty() {
        return true;
    }
    let applying: Vec<&Target> = targets
        .iter()
        .filter(|t| package.marker.evaluate(t.markers(), &[]))
        .collect();
    if applying.is_empty() {
        return false;
    }
    let rank = |name: &str, target: &Target| {
        WheelFilename::parse(name).and_then(|w| target.wheel_rank(&w))
    };
    package
        .wheels
        .retain(|w| applying.iter().any(|t| rank(&w.name, t).is_some()));
    let every_target_has_a_wheel = applying
        .iter()
        .all(|t| package.wheels.iter().any(|w| rank(&w.name, t).is_some()));
    if every_target_has_a_wheel && !package.wheels.is_empty() {
        package.sdist = None;
    }
    true
}
