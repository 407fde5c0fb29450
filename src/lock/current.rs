//! `lock --check`: whether a lock still matches the source it was made from, with no network.
//!
//! Every pin must have its entry (same name and marker, a version the pin selects), every
//! entry its pin, and the source's bytes the sha256 recorded in `[tool.pinguard]`. A pin whose
//! marker excludes every `environments` marker of a trimmed lock needs no entry (`lock
//! --python/--platform` dropped it).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use pep508_rs::PackageName;

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

/// Where an entry applies: its project and marker text (`None`: everywhere).
type Place<'a> = (&'a PackageName, Option<String>);

/// Every difference between `lock` and `pins`, read from a source whose bytes have
/// `source_sha256`: pins first, in source order, then removed entries in lock order, then
/// the source's digest.
pub fn compare(pins: &[Pin], source_sha256: Sha256, lock: &Lock) -> Vec<Difference> {
    // Entries and pins by place (name and marker), so that each pin costs its own entries and
    // each entry one lookup, not the whole lock and every pin (thousands of each).
    let mut entries_at: BTreeMap<Place<'_>, Vec<&Package>> = BTreeMap::new();
    for package in &lock.packages {
        entries_at
            .entry((&package.name, package.marker_text()))
            .or_default()
            .push(package);
    }
    let pinned: BTreeSet<Place<'_>> = pins
        .iter()
        .map(|pin| (&pin.name, pin.marker_text()))
        .collect();
    let mut differences = Vec::new();
    let applies = |pin: &Pin| {
        lock.environments.is_empty()
            || lock
                .environments
                .iter()
                .any(|env| !pin.marker.is_disjoint(env))
    };
    for pin in pins.iter().filter(|pin| applies(pin)) {
        let Some(entries) = entries_at.get(&(&pin.name, pin.marker_text())) else {
            differences.push(Difference::Added {
                pin: pin.to_string(),
                location: pin.location.to_string(),
            });
            continue;
        };
        let matches = |p: &&Package| p.version.as_ref().is_some_and(|v| pin.matches(v));
        if !entries.iter().any(matches) {
            differences.push(Difference::Changed {
                pin: pin.to_string(),
                location: pin.location.to_string(),
                locked: entries[0].display_name(),
            });
        }
    }
    for package in &lock.packages {
        if !pinned.contains(&(&package.name, package.marker_text())) {
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

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::lock::{EntryLocation, FileEntry};
    use crate::requirements::{Loader, SourceRef};

    struct Text(&'static str);

    impl Loader for Text {
        fn load(&self, _: &SourceRef) -> Result<Vec<u8>, String> {
            Ok(self.0.as_bytes().to_vec())
        }
    }

    fn pins(text: &'static str) -> (Vec<Pin>, Sha256) {
        let source = SourceRef::from_arg("uc.txt").unwrap();
        let parsed = crate::requirements::parse(&source, &Text(text), &|_| None).unwrap();
        (parsed.pins, parsed.source_sha256)
    }

    fn entry(name: &str, version: &str, marker: &str) -> Package {
        let file = FileEntry {
            name: format!("{name}-{version}.tar.gz"),
            location: EntryLocation::Url(format!("https://f/{name}-{version}.tar.gz")),
            size: None,
            upload_time: None,
            sha256: Sha256::from_str(&"a".repeat(64)).unwrap(),
        };
        Package {
            name: PackageName::from_str(name).unwrap(),
            version: Some(version.parse().unwrap()),
            marker: if marker.is_empty() {
                pep508_rs::MarkerTree::TRUE
            } else {
                crate::pep508::marker(marker).unwrap()
            },
            requires_python: None,
            index: None,
            sdist: Some(file),
            wheels: Vec::new(),
            archive: None,
            dependencies: None,
            added_for: Vec::new(),
            attestation_identities: Vec::new(),
            owners: None,
        }
    }

    #[test]
    fn a_pin_matches_any_entry_of_its_name_and_marker() {
        let (pins, sha256) = pins("six===1.17.0\nidna===3.10;python_version>='3.10'\n");
        let mut lock = Lock::new();
        lock.packages = vec![
            entry("idna", "3.9", "python_version >= '3.10'"),
            entry("six", "1.16.0", ""),
            entry("six", "1.17.0", ""),
            entry("idna", "3.10", "python_version < '3.10'"),
        ];
        lock.source = Some(crate::lock::LockSource {
            location: "uc.txt".into(),
            sha256,
        });
        let shown: Vec<String> = compare(&pins, sha256, &lock)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "pin changed: idna===3.10 ; python_full_version >= '3.10' (uc.txt:2); the lock holds idna==3.9 ; python_full_version >= '3.10'",
                "pin removed: the lock holds idna==3.10 ; python_full_version < '3.10', which the source no longer pins",
            ]
        );
    }
}
