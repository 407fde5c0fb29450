//! `lock --check`: whether a lock still matches the source it was made from, with no network.
//!
//! Every pin must have its entry (same name and marker, a version the pin selects), every
//! entry its pin, and the source's bytes the sha256 recorded in `[tool.pinguard]`. A pin whose
//! marker excludes every `environments` marker of a trimmed lock needs no entry (`lock
//! --python/--platform` dropped it).

use std::fmt;

use super::{Lock, Package};
use crate::digest::Sha256;
use crate::requirements::Pin;

/// One way the lock and its source differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// A pin with no entry of its project and marker.
    Added {
        /// The pin, as `name===version ; marker`.
        pin: String,
        /// Where it is written.
        location: String,
    },
    /// An entry whose project and marker no pin has any more.
    Removed {
        /// The entry, as `name==version ; marker`.
        package: String,
    },
    /// A pin whose entry holds another version.
    Changed {
        /// The pin.
        pin: String,
        /// Where it is written.
        location: String,
        /// The locked version.
        locked: String,
    },
    /// The source's bytes are not those recorded.
    SourceChanged {
        /// The recorded sha256.
        recorded: Sha256,
        /// The source's sha256 now.
        now: Sha256,
    },
    /// The lock records no source.
    NoSource,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Added { pin, location } => {
                write!(f, "pin added: {pin} ({location}) is not in the lock")
            }
            Self::Removed { package } => write!(
                f,
                "pin removed: the lock holds {package}, which the source no longer pins"
            ),
            Self::Changed {
                pin,
                location,
                locked,
            } => write!(
                f,
                "pin changed: {pin} ({location}); the lock holds {locked}"
            ),
            Self::SourceChanged { recorded, now } => write!(
                f,
                "the source changed: its sha256 is {now}, the lock recorded {recorded}"
            ),
            Self::NoSource => f.write_str(
                "the lock records no source ([tool.pinguard] `source-sha256`): it was not made \
                 by `pinguard lock`",
            ),
        }
    }
}

/// Every difference between `lock` and `pins`, read from a source whose bytes have
/// `source_sha256`: pins first, in source order, then removed entries in lock order, then
/// the source's digest.
pub fn compare(pins: &[Pin], source_sha256: Sha256, lock: &Lock) -> Vec<Difference> {
    let same_place =
        |p: &Package, pin: &Pin| p.name == pin.name && p.marker_text() == pin.marker_text();
    let mut differences = Vec::new();
    let applies = |pin: &Pin| {
        lock.environments.is_empty()
            || lock
                .environments
                .iter()
                .any(|env| !pin.marker.is_disjoint(env))
    };
    for pin in pins.iter().filter(|pin| applies(pin)) {
        let mut entries = lock.packages.iter().filter(|p| same_place(p, pin));
        let Some(first) = entries.next() else {
            differences.push(Difference::Added {
                pin: pin.to_string(),
                location: pin.location.to_string(),
            });
            continue;
        };
        let matches = |p: &Package| p.version.as_ref().is_some_and(|v| pin.matches(v));
        if !matches(first) && !entries.any(matches) {
            differences.push(Difference::Changed {
                pin: pin.to_string(),
                location: pin.location.to_string(),
                locked: first.display_name(),
            });
        }
    }
    for package in &lock.packages {
        if pins.iter().all(|pin| !same_place(package, pin)) {
            differences.push(Difference::Removed {
                package: package.display_name(),
            });
        }
    }
    match &lock.source {
        Some(source) if source.sha256 != source_sha256 => {
            differences.push(Difference::SourceChanged {
                recorded: source.sha256,
                now: source_sha256,
            });
        }
        Some(_) => {}
        None => differences.push(Difference::NoSource),
    }
    differences
}
