//! What an installer put into an environment, checked against the verified wheels it was
//! given: the check that lets uv install from a cache of its own ([`super::installer`]).
//!
//! ```text
//! Snapshot::take(roots)  ─► uv installs ─►  Snapshot::take(roots)
//!        before                                   after
//!                  check(wheels, scheme, before, after) ─► Vec<Finding>
//! ```
//!
//! For every wheel the installer installed (its `RECORD` changed), every member must be at
//! the place the binary distribution format gives it, with the bytes the wheel's `RECORD`
//! gives it (a `.data/scripts` file whose first line is `#!python` may have that line
//! rewritten to the target's interpreter). Every other file the install created or changed in
//! the roots must be one an installer writes itself: `INSTALLER`, `REQUESTED`, `RECORD`,
//! `direct_url.json` and uv's `uv_cache.json` in the `.dist-info`, and the scripts of the
//! wheel's entry points. Anything else is a finding.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::wheel::{Member, Part, WheelContents};
use crate::digest::{Sha256, copy_hashing};
use crate::target::Scheme;

/// Files an installer writes into a `.dist-info` directory itself.
const INSTALLER_FILES: [&str; 6] = [
    "INSTALLER",
    "REQUESTED",
    "RECORD",
    "direct_url.json",
    "uv_cache.json",
    "uv_build.json",
];

/// A verified wheel and where its bytes are.
#[derive(Debug, Clone)]
pub struct Installed {
    /// What it holds.
    pub contents: WheelContents,
    /// The verified file.
    pub wheel: PathBuf,
}

/// What a file looked like (kind, inode, size and times): a file an install replaced or
/// rewrote looks different afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
    regular: bool,
}

/// Every file below some directories, with its stamp (kind, inode, size and times).
#[derive(Debug, Default)]
pub struct Snapshot {
    files: HashMap<PathBuf, Stamp>,
}

impl Snapshot {
    /// Walks `roots` (symbolic links are listed, not followed; what cannot be read is left
    /// out, and then counts as created if the install makes it readable). Directories are
    /// walked in parallel: an environment holds thousands of files.
    pub fn take(roots: &[PathBuf]) -> Self {
        let files = roots
            .par_iter()
            .flat_map_iter(|root| walk(root.clone()))
            .collect();
        Self { files }
    }

    /// The files of `after` that are not in `self`, or look different.
    fn changed<'a>(&self, after: &'a Self) -> impl Iterator<Item = &'a PathBuf> {
        after
            .files
            .iter()
            .filter(|(path, stamp)| self.files.get(*path) != Some(stamp))
            .map(|(path, _)| path)
    }
}

/// Every file at or below `path` with its stamp, subdirectories walked in parallel.
fn walk(path: PathBuf) -> Vec<(PathBuf, Stamp)> {
    let Ok(metadata) = std::fs::symlink_metadata(&path) else {
        return Vec::new();
    };
    if !metadata.is_dir() {
        return vec![(path, stamp(&metadata))];
    }
    let Ok(entries) = std::fs::read_dir(&path) else {
        return Vec::new();
    };
    let entries: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    entries.into_par_iter().flat_map_iter(walk).collect()
}

#[cfg(unix)]
fn stamp(metadata: &std::fs::Metadata) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    Stamp {
        device: metadata.dev(),
        inode: metadata.ino(),
        size: metadata.size(),
        modified: (metadata.mtime(), metadata.mtime_nsec()),
        changed: (metadata.ctime(), metadata.ctime_nsec()),
        regular: metadata.is_file(),
    }
}

#[cfg(not(unix))]
fn stamp(metadata: &std::fs::Metadata) -> Stamp {
    let nanos = |time: io::Result<std::time::SystemTime>| {
        time.ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or((0, 0), |d| {
                (d.as_secs() as i64, i64::from(d.subsec_nanos()))
            })
    };
    Stamp {
        device: 0,
        inode: 0,
        size: metadata.len(),
        modified: nanos(metadata.modified()),
        changed: nanos(metadata.created()),
        regular: metadata.is_file(),
    }
}

/// What is wrong with one file after the install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A member of a wheel, installed with other bytes.
    Differs {
        /// The wheel.
        wheel: String,
        /// Where it is installed.
        path: PathBuf,
    },
    /// A member of an installed wheel that is not there (or not a regular file).
    Missing {
        /// The wheel.
        wheel: String,
        /// Where it should be.
        path: PathBuf,
    },
    /// A file the install created or changed that no wheel holds.
    Unexpected {
        /// The file.
        path: PathBuf,
        /// Whether the install created it (else it was there and changed).
        created: bool,
    },
}

impl Finding {
    /// The finding, for people.
    pub fn describe(&self) -> String {
        match self {
            Self::Differs { wheel, path } => {
                format!(
                    "{} does not hold the bytes {wheel} has for it",
                    path.display()
                )
            }
            Self::Missing { wheel, path } => {
                format!("{} is missing: {wheel} has a file there", path.display())
            }
            Self::Unexpected { path, created } => format!(
                "{} was {} by the install, and no verified wheel has it",
                path.display(),
                if *created { "created" } else { "changed" }
            ),
        }
    }
}

/// The directories to snapshot for installing `wheels` with `scheme`: the module and script
/// directories, and the top directory of each data file.
pub fn roots(scheme: &Scheme, wheels: &[Installed]) -> Vec<PathBuf> {
    let dirs = Dirs::new(scheme);
    let mut roots = vec![dirs.purelib, dirs.platlib, dirs.scripts];
    for member in wheels.iter().flat_map(|w| &w.contents.members) {
        if member.part == Part::Data {
            let top = member.path.split('/').next().unwrap_or_default();
            roots.push(dirs.data.join(top));
        }
    }
    roots.sort();
    roots.dedup();
    // A root inside another is walked with it.
    let all = roots.clone();
    roots.retain(|root| {
        !all.iter()
            .any(|other| other != root && root.starts_with(other))
    });
    roots
}

/// Checks what the install changed between `before` and `after` against `wheels`.
pub fn check(
    wheels: &[Installed],
    scheme: &Scheme,
    before: &Snapshot,
    after: &Snapshot,
) -> Vec<Finding> {
    let dirs = Dirs::new(scheme);
    let changed: HashSet<&PathBuf> = before.changed(after).collect();
    let mut allowed: HashSet<PathBuf> = HashSet::new();
    let mut members: Vec<(&Installed, &Member, PathBuf)> = Vec::new();
    for installed in wheels {
        let contents = &installed.contents;
        let root = dirs.of(contents.root).join(&contents.dist_info);
        // A wheel the installer left alone (already installed) took nothing from the cache.
        if !changed.contains(&root.join("RECORD")) {
            continue;
        }
        allowed.extend(INSTALLER_FILES.iter().map(|name| root.join(name)));
        allowed.extend(
            contents
                .entry_scripts
                .iter()
                .map(|name| dirs.scripts.join(name)),
        );
        for member in &contents.members {
            let path = dirs.of(member.part).join(&member.path);
            allowed.insert(path.clone());
            members.push((installed, member, path));
        }
    }
    let mut findings: Vec<Finding> = members
        .par_iter()
        .filter_map(|(installed, member, path)| {
            check_member(installed, member, path, &dirs.scripts, after)
        })
        .collect();
    let mut unexpected: Vec<Finding> = changed
        .into_iter()
        .filter(|path| !allowed.contains(*path))
        .map(|path| Finding::Unexpected {
            path: path.clone(),
            created: !before.files.contains_key(path),
        })
        .collect();
    findings.append(&mut unexpected);
    findings.sort_by(|a, b| finding_path(a).cmp(finding_path(b)));
    findings
}

fn finding_path(finding: &Finding) -> &Path {
    match finding {
        Finding::Differs { path, .. }
        | Finding::Missing { path, .. }
        | Finding::Unexpected { path, .. } => path,
    }
}

/// The scheme's directories, canonical so that they compare with the walked paths.
struct Dirs {
    purelib: PathBuf,
    platlib: PathBuf,
    scripts: PathBuf,
    data: PathBuf,
}

impl Dirs {
    fn new(scheme: &Scheme) -> Self {
        Self {
            purelib: canonical(&scheme.purelib),
            platlib: canonical(&scheme.platlib),
            scripts: canonical(&scheme.scripts),
            data: canonical(&scheme.data),
        }
    }

    fn of(&self, part: Part) -> &Path {
        match part {
            Part::Purelib => &self.purelib,
            Part::Platlib => &self.platlib,
            Part::Scripts => &self.scripts,
            Part::Data => &self.data,
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    fs_err::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// Checks one member at `path`; `None` when it holds the member's bytes.
fn check_member(
    installed: &Installed,
    member: &Member,
    path: &Path,
    scripts: &Path,
    after: &Snapshot,
) -> Option<Finding> {
    let wheel = installed.contents.file.clone();
    let missing = || Finding::Missing {
        wheel: wheel.clone(),
        path: path.to_owned(),
    };
    if !after.files.get(path).is_some_and(|stamp| stamp.regular) {
        return Some(missing());
    }
    let Ok(mut file) = crate::regular_file::open_to_check(path) else {
        return Some(missing());
    };
    let hashed = copy_hashing(&mut file, &mut io::sink()).ok();
    let recorded =
        hashed.is_some_and(|(sha256, size)| member.sha256 == Some(sha256) && size == member.size);
    if recorded || matches_wheel(installed, member, path, scripts).unwrap_or(false) {
        return None;
    }
    Some(Finding::Differs {
        wheel,
        path: path.to_owned(),
    })
}

/// Compares the installed file with the member's own bytes out of the wheel: for a member
/// `RECORD` gives no sha256, and for a script whose `#!python` line an installer rewrites
/// (to `#!` and the target's interpreter, or a `/bin/sh` trampoline that names it).
fn matches_wheel(
    installed: &Installed,
    member: &Member,
    path: &Path,
    scripts: &Path,
) -> io::Result<bool> {
    let mut archive =
        zip::ZipArchive::new(io::BufReader::new(fs_err::File::open(&installed.wheel)?))
            .map_err(io::Error::other)?;
    let mut wanted = Vec::new();
    archive
        .by_index(member.index)
        .map_err(io::Error::other)?
        .take(member.size.saturating_add(1))
        .read_to_end(&mut wanted)?;
    let actual = fs_err::read(path)?;
    if member.sha256.is_none() && Sha256::of(&actual) == Sha256::of(&wanted) {
        return Ok(true);
    }
    if member.part != Part::Scripts || !wanted.starts_with(b"#!python") {
        return Ok(false);
    }
    let rest = wanted
        .iter()
        .position(|&b| b == b'\n')
        .map_or(&[][..], |newline| &wanted[newline + 1..]);
    let Some(header) = actual.strip_suffix(rest) else {
        return Ok(false);
    };
    let interpreter = scripts.to_string_lossy();
    Ok(header.starts_with(b"#!")
        && header.len() <= 4096
        && String::from_utf8_lossy(header).contains(interpreter.as_ref()))
}
