//! `diff OLD NEW`: what a lock change changes, for a reviewer.
//!
//! Entries are paired by name and marker, then (for a marker that changed) by name alone.
//! For a pair at the same version, files are compared by name: added, removed, or the same
//! name with another sha256 — the critical case, since a file name should always mean the
//! same bytes.

use crate::digest::Sha256;
use crate::owners::{self, Change as OwnerChange};

use super::{Lock, Package};

/// One change from the old lock to the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An entry only the new lock has.
    PackageAdded,
    /// An entry only the old lock has.
    PackageRemoved,
    /// Another version.
    VersionChanged {
        /// The old version.
        old: String,
    },
    /// Another marker.
    MarkerChanged {
        /// The old marker (`None`: everywhere).
        old: Option<String>,
        /// The new one.
        new: Option<String>,
    },
    /// A file the old entry did not have.
    FileAdded(String),
    /// A file the new entry does not have.
    FileRemoved(String),
    /// The same file name with another sha256.
    DigestChanged {
        /// The file.
        file: String,
        /// The old digest.
        old: Sha256,
        /// The new one.
        new: Sha256,
    },
    /// Who could publish, as `lock --owners` recorded it.
    Owners(OwnerChange),
}

impl Change {
    /// The stable code of the change.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PackageAdded => "package-added",
            Self::PackageRemoved => "package-removed",
            Self::VersionChanged { .. } => "version-changed",
            Self::MarkerChanged { .. } => "marker-changed",
            Self::FileAdded(_) => "file-added",
            Self::FileRemoved(_) => "file-removed",
            Self::DigestChanged { .. } => "digest-changed",
            Self::Owners(OwnerChange::Added(_)) => "owner-added",
            Self::Owners(OwnerChange::Removed(_)) => "owner-removed",
            Self::Owners(OwnerChange::RoleChanged { .. }) => "role-changed",
        }
    }

    /// Whether the change needs a reviewer's attention before anything else: a digest that
    /// changed under the same file name.
    pub fn is_critical(&self) -> bool {
        matches!(self, Self::DigestChanged { .. })
    }

    /// What changed, in a phrase.
    pub fn describe(&self) -> String {
        match self {
            Self::PackageAdded => "added".into(),
            Self::PackageRemoved => "removed".into(),
            Self::VersionChanged { old } => format!("version changed from {old}"),
            Self::MarkerChanged { old, new } => format!(
                "marker changed from {} to {}",
                old.as_deref().unwrap_or("(none)"),
                new.as_deref().unwrap_or("(none)")
            ),
            Self::FileAdded(file) => format!("file added: {file}"),
            Self::FileRemoved(file) => format!("file removed: {file}"),
            Self::DigestChanged { file, old, new } => {
                format!("digest changed: {file}, was sha256:{old}, is sha256:{new}")
            }
            Self::Owners(OwnerChange::Added(role)) => {
                format!("owner added: {} {}", role.role, role.user)
            }
            Self::Owners(OwnerChange::Removed(role)) => {
                format!("owner removed: {} {}", role.role, role.user)
            }
            Self::Owners(OwnerChange::RoleChanged { user, was, now }) => {
                format!("role changed: {user} from {was} to {now}")
            }
        }
    }
}

/// A change and the entry it is about (the new entry, or the old one when removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `name==version ; marker`.
    pub package: String,
    /// What changed.
    pub change: Change,
}

/// Every change from `old` to `new`, in the new lock's order, removed entries last.
pub fn diff(old: &Lock, new: &Lock) -> Vec<Entry> {
    let mut paired = vec![false; old.packages.len()];
    let mut entries = Vec::new();
    for package in &new.packages {
        let found = find(old, &paired, |o| {
            o.name == package.name && o.marker_text() == package.marker_text()
        })
        .or_else(|| find(old, &paired, |o| o.name == package.name));
        let push = |entries: &mut Vec<Entry>, change| {
            entries.push(Entry {
                package: package.display_name(),
                change,
            })
        };
        let Some(i) = found else {
            push(&mut entries, Change::PackageAdded);
            continue;
        };
        paired[i] = true;
        for change in compare(&old.packages[i], package) {
            push(&mut entries, change);
        }
    }
    for (package, _) in old.packages.iter().zip(&paired).filter(|(_, p)| !**p) {
        entries.push(Entry {
            package: package.display_name(),
            change: Change::PackageRemoved,
        });
    }
    entries
}

fn find(lock: &Lock, paired: &[bool], matches: impl Fn(&Package) -> bool) -> Option<usize> {
    (0..lock.packages.len()).find(|&i| !paired[i] && matches(&lock.packages[i]))
}

fn compare(old: &Package, new: &Package) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.marker_text() != new.marker_text() {
        changes.push(Change::MarkerChanged {
            old: old.marker_text(),
            new: new.marker_text(),
        });
    }
    if old.version != new.version {
        changes.push(Change::VersionChanged {
            old: old
                .version
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), ToString::to_string),
        });
    } else {
        for file in new.files() {
            match old.files().find(|f| f.name == file.name) {
                None => changes.push(Change::FileAdded(file.name.clone())),
                Some(was) if was.sha256 != file.sha256 => changes.push(Change::DigestChanged {
                    file: file.name.clone(),
                    old: was.sha256,
                    new: file.sha256,
                }),
                Some(_) => {}
            }
        }
        for file in old.files() {
            if new.files().all(|f| f.name != file.name) {
                changes.push(Change::FileRemoved(file.name.clone()));
            }
        }
    }
    if let (Some(was), Some(now)) = (&old.owners, &new.owners) {
        changes.extend(owners::changes(was, now).into_iter().map(Change::Owners));
    }
    changes
}
