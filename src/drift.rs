//! Comparing a locked version's files with what the index serves for it now: the one place
//! `lock --refresh` and `audit` decide what drifted.
//!
//! A locked file must still be served under its name with the locked sha256 and, where both
//! sides give one, the locked size. A file the index serves for the version that the lock
//! does not hold was added after the lock: what an attack on a pinned version looks like.

use std::collections::{BTreeMap, BTreeSet};

use crate::digest::Sha256;
use crate::lock::Package;

/// A file of the locked version as the index serves it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedFile {
    /// The file name.
    pub name: String,
    /// Its sha256 (published, or computed by downloading it).
    pub sha256: Sha256,
    /// Its size, when known.
    pub size: Option<u64>,
    /// When it was uploaded (RFC 3339), when the index says.
    pub upload_time: Option<String>,
}

/// One difference between the lock and the index, for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileDrift {
    /// The lock holds it; the index no longer serves it.
    Vanished {
        /// The file name.
        name: String,
    },
    /// Served with another sha256.
    DigestChanged {
        /// The file name.
        name: String,
        /// What the lock holds.
        locked: Sha256,
        /// What the index gives now.
        served: Sha256,
    },
    /// Served with the locked sha256 but another size.
    SizeChanged {
        /// The file name.
        name: String,
        /// What the lock holds.
        locked: u64,
        /// What the index gives now.
        served: u64,
    },
    /// Served for the locked version, and not in the lock.
    Added {
        /// The file name.
        name: String,
        /// When it was uploaded, when the index says.
        upload_time: Option<String>,
    },
}

impl FileDrift {
    /// Whether the lock's own files changed (vanished, other digest or size), as opposed to
    /// a file added beside them.
    pub fn is_change(&self) -> bool {
        !matches!(self, Self::Added { .. })
    }

    /// The file it is about.
    pub fn file(&self) -> &str {
        match self {
            Self::Vanished { name }
            | Self::DigestChanged { name, .. }
            | Self::SizeChanged { name, .. }
            | Self::Added { name, .. } => name,
        }
    }

    /// The lines `lock --refresh` prints for a change, indented.
    pub fn describe(&self) -> String {
        match self {
            Self::Vanished { name } => format!("  {name} is locked but no longer on the index"),
            Self::DigestChanged {
                name,
                locked,
                served,
            } => format!("  {name}\n    locked:   sha256:{locked}\n    on index: sha256:{served}"),
            Self::SizeChanged {
                name,
                locked,
                served,
            } => format!("  {name}\n    locked:   {locked} bytes\n    on index: {served} bytes"),
            Self::Added { name, .. } => format!("  {name} was added to the locked version"),
        }
    }
}

/// Every difference between `locked`'s files and `served`, the files the index serves now
/// for the same version: the lock's files first, in the lock's order, then the added ones in
/// the index's order.
pub fn compare(locked: &Package, served: &[ServedFile]) -> Vec<FileDrift> {
    // By name, so that a version of a hundred wheels costs a hundred lookups each way, not
    // ten thousand comparisons; the first of a name listed twice, as a scan would find.
    let mut served_by_name: BTreeMap<&str, &ServedFile> = BTreeMap::new();
    for file in served {
        served_by_name.entry(file.name.as_str()).or_insert(file);
    }
    let locked_names: BTreeSet<&str> = locked.files().map(|f| f.name.as_str()).collect();
    let mut drifts = Vec::new();
    for file in locked.files() {
        match served_by_name.get(file.name.as_str()) {
            None => drifts.push(FileDrift::Vanished {
                name: file.name.clone(),
            }),
            Some(now) if now.sha256 != file.sha256 => drifts.push(FileDrift::DigestChanged {
                name: file.name.clone(),
                locked: file.sha256,
                served: now.sha256,
            }),
            Some(now) => {
                if let (Some(locked), Some(served)) = (file.size, now.size)
                    && locked != served
                {
                    drifts.push(FileDrift::SizeChanged {
                        name: file.name.clone(),
                        locked,
                        served,
                    });
                }
            }
        }
    }
    for now in served {
        if !locked_names.contains(now.name.as_str()) {
            drifts.push(FileDrift::Added {
                name: now.name.clone(),
                upload_time: now.upload_time.clone(),
            });
        }
    }
    drifts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::{EntryLocation, FileEntry};
    use std::str::FromStr;

    fn digest(byte: char) -> Sha256 {
        Sha256::from_str(&byte.to_string().repeat(64)).unwrap()
    }

    fn package(files: &[(&str, char, u64)]) -> Package {
        Package {
            name: pep508_rs::PackageName::from_str("six").unwrap(),
            version: None,
            marker: pep508_rs::MarkerTree::TRUE,
            requires_python: None,
            index: None,
            sdist: None,
            wheels: files
                .iter()
                .map(|(name, d, size)| FileEntry {
                    name: (*name).to_owned(),
                    location: EntryLocation::Url(format!("https://f/{name}")),
                    size: Some(*size),
                    upload_time: None,
                    sha256: digest(*d),
                })
                .collect(),
            archive: None,
            dependencies: None,
            added_for: Vec::new(),
            attestation_identities: Vec::new(),
            owners: None,
        }
    }

    fn served(name: &str, d: char, size: u64) -> ServedFile {
        ServedFile {
            name: name.to_owned(),
            sha256: digest(d),
            size: Some(size),
            upload_time: Some("2026-01-01T00:00:00Z".into()),
        }
    }

    #[test]
    fn every_kind_of_drift_is_found_in_order() {
        let locked = package(&[("a.whl", 'a', 1), ("b.whl", 'b', 2), ("c.whl", 'c', 3)]);
        let now = [
            served("d.whl", 'd', 4),
            served("c.whl", 'c', 30),
            served("b.whl", 'e', 2),
        ];
        assert_eq!(
            compare(&locked, &now),
            vec![
                FileDrift::Vanished {
                    name: "a.whl".into()
                },
                FileDrift::DigestChanged {
                    name: "b.whl".into(),
                    locked: digest('b'),
                    served: digest('e')
                },
                FileDrift::SizeChanged {
                    name: "c.whl".into(),
                    locked: 3,
                    served: 30
                },
                FileDrift::Added {
                    name: "d.whl".into(),
                    upload_time: Some("2026-01-01T00:00:00Z".into())
                },
            ]
        );
    }

    #[test]
    fn the_same_files_are_no_drift() {
        let locked = package(&[("a.whl", 'a', 1)]);
        assert_eq!(compare(&locked, &[served("a.whl", 'a', 1)]), vec![]);
    }
}
