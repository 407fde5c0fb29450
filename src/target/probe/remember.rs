//! Remembering a virtual environment's probe answer, so that an install into an environment
//! made again from the same interpreter does not start Python to ask the same questions.
//!
//! Starting the interpreter and importing pip for its tag list takes 40–50 ms of a core on a
//! quiet machine, and on two cores it competes with the reading of the lock: it was the last
//! of the two to finish in most warm installs of a tox-like environment. uv remembers its
//! interpreter queries the same way (by the interpreter's path and modification time).
//!
//! ```text
//! <cache>/interpreters-v1/<sha256 of the key>   sha256 line, JSON {"key", "site", "answer"}
//!                                               (the newest 64 kept)
//! ```
//!
//! **The key** ([`Key::of`]) is everything the answer depends on that can change without
//! the path changing: the interpreter file the path resolves to (device, inode, size,
//! modification time), the environment's `pyvenv.cfg`, the kernel (`uname`: markers name its
//! release and version), the C library's version (manylinux tags), the two environment
//! variables `-I` leaves in force that move the platform (`_PYTHON_HOST_PLATFORM`,
//! `_PYTHON_SYSCONFIGDATA_NAME`), and the probe script itself. **The site** is what in the
//! environment decides the tag list: the names of pip's and packaging's `.dist-info`
//! directories and any `_manylinux` override; an upgraded pip is a new name, so a miss.
//!
//! **Only what is checked is used.** The cache is an accelerator, never a trust anchor (see
//! [`crate::cache`]): someone who can write it must not be able to choose the program
//! pinguard runs, or the directories the check after a uv install looks at. So an answer is
//! remembered, and a remembered one used, only when it describes the environment the path is
//! in ([`checked_site`]): a virtual environment whose `sys.prefix` is the directory holding
//! the `pyvenv.cfg` next to the path's `bin/`, whose `sys.executable` is in the path's own
//! directory and is the same file, and whose install scheme lies inside that prefix. What is
//! left to a forged entry, the markers and tags, only chooses among the lock's files, and
//! every file is still verified against the lock before it is installed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Answer;
use crate::cache::{split_checksummed, write_checksummed};
use crate::digest::Sha256;
use crate::target::Scheme;

/// The probe answers remembered under one cache root.
#[derive(Debug, Clone)]
pub(crate) struct Remembered {
    dir: PathBuf,
}

/// What one remembered answer depends on, as text (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key(String);

/// One entry on disk: written with borrowed parts, read back as owned ones.
#[derive(Debug, Serialize, Deserialize)]
struct Entry<A, K = String> {
    key: K,
    site: Vec<String>,
    answer: A,
}

impl Remembered {
    /// The answers under pinguard's cache directory `cache_root`.
    pub(crate) fn new(cache_root: &Path) -> Self {
        Self {
            dir: cache_root.join("interpreters-v1"),
        }
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(Sha256::of(key.0.as_bytes()).to_string())
    }

    /// The answer remembered for `python` under `key`, when its entry is intact and still
    /// describes the environment `python` is in, as it is now.
    pub(super) fn recall(&self, python: &Path, key: &Key) -> Option<Answer> {
        let bytes = fs_err::read(self.path(key)).ok()?;
        let (expected, json) = split_checksummed(&bytes)?;
        if Sha256::of(json) != expected {
            return None;
        }
        let entry: Entry<Answer> = serde_json::from_slice(json).ok()?;
        if entry.key != key.0 {
            return None;
        }
        (checked_site(python, &entry.answer)? == entry.site).then_some(entry.answer)
    }

    /// Remembers `answer` for `python` under `key`, when it passes the checks a recalled one
    /// must pass. A write that fails is only a miss later.
    pub(super) fn remember(&self, python: &Path, key: &Key, answer: &Answer) {
        let Some(site) = checked_site(python, answer) else {
            return;
        };
        let entry = Entry {
            key: &key.0,
            site,
            answer,
        };
        let Ok(json) = serde_json::to_vec(&entry) else {
            return;
        };
        if fs_err::create_dir_all(&self.dir).is_err() {
            return;
        }
        let _ = write_checksummed(&self.path(key), &json);
        self.prune(KEPT);
    }

    /// Removes the oldest entries beyond the newest `kept`: environments made at a new path
    /// each time (a temporary directory per CI run) would otherwise add one entry per run.
    fn prune(&self, kept: usize) {
        let Ok(entries) = fs_err::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
            .collect();
        if entries.len() <= kept {
            return;
        }
        entries.sort();
        for (_, path) in &entries[..entries.len() - kept] {
            let _ = fs_err::remove_file(path);
        }
    }
}

/// How many remembered answers are kept: one per environment path in use is plenty.
const KEPT: usize = 64;

impl Key {
    /// The key of `python` (run with `script`) as things are now; `None` when it is not in a
    /// virtual environment's `bin/` (or `Scripts\`) next to a `pyvenv.cfg`: such an
    /// interpreter is asked every time.
    pub(crate) fn of(python: &Path, script: &str) -> Option<Self> {
        let python = std::path::absolute(python).ok()?;
        let file = fs_err::metadata(&python).ok()?;
        let cfg = fs_err::read(venv_dir(&python)?.join("pyvenv.cfg")).ok()?;
        let mut key = String::new();
        let _ = writeln!(key, "pinguard {}", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(key, "script {}", Sha256::of(script.as_bytes()));
        let _ = writeln!(key, "path {}", python.display());
        let _ = writeln!(key, "file {}", file_identity(&file));
        let _ = writeln!(key, "pyvenv.cfg {}", Sha256::of(&cfg));
        let _ = writeln!(key, "system {}", system_identity());
        for name in ["_PYTHON_HOST_PLATFORM", "_PYTHON_SYSCONFIGDATA_NAME"] {
            let value = std::env::var_os(name);
            let _ = writeln!(key, "{name} {value:?}");
        }
        Some(Self(key))
    }
}

/// The directory a virtual environment's interpreter path is two levels below.
fn venv_dir(python: &Path) -> Option<&Path> {
    python.parent()?.parent()
}

/// The names in the environment that decide its tag list (see the module docs), when
/// `answer` describes the virtual environment `python` is in; `None` otherwise.
fn checked_site(python: &Path, answer: &Answer) -> Option<Vec<String>> {
    if answer.error.is_some() {
        return None;
    }
    let python = std::path::absolute(python).ok()?;
    let prefix = fs_err::canonicalize(venv_dir(&python)?).ok()?;
    let said = |path: &Option<PathBuf>| fs_err::canonicalize(path.as_ref()?).ok();
    let virtual_env = said(&answer.prefix)? == prefix && said(&answer.base_prefix)? != prefix;
    let executable = answer.executable.as_ref()?;
    let same_program = executable.parent() == python.parent()
        && fs_err::canonicalize(executable).ok()? == fs_err::canonicalize(&python).ok()?;
    let scheme: Scheme = serde_json::from_value(answer.scheme.clone()?).ok()?;
    let inside = [
        &scheme.purelib,
        &scheme.platlib,
        &scheme.scripts,
        &scheme.data,
    ]
    .into_iter()
    .all(|path| fs_err::canonicalize(path).is_ok_and(|path| path.starts_with(&prefix)));
    if !(virtual_env && same_program && inside) {
        return None;
    }
    let mut site = Vec::new();
    for dir in [&scheme.purelib, &scheme.platlib] {
        for entry in fs_err::read_dir(dir).ok()?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if decides_tags(&name) && !site.contains(&name) {
                site.push(name);
            }
        }
    }
    site.sort();
    Some(site)
}

/// Whether a site-packages entry named `name` can change the tags the probe reports.
fn decides_tags(name: &str) -> bool {
    let dist_info = |project: &str| {
        name.strip_prefix(project)
            .is_some_and(|rest| rest.starts_with('-') && rest.ends_with(".dist-info"))
    };
    dist_info("pip") || dist_info("packaging") || name.starts_with("_manylinux")
}

/// The file a path resolved to, as far as a change of it shows.
fn file_identity(file: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        format!(
            "{} {} {} {}.{}",
            file.dev(),
            file.ino(),
            file.size(),
            file.mtime(),
            file.mtime_nsec()
        )
    }
    #[cfg(not(unix))]
    {
        format!("{} {:?}", file.len(), file.modified().ok())
    }
}

/// The kernel and C library the answer's markers and tags were read on.
fn system_identity() -> String {
    let mut identity = String::new();
    #[cfg(unix)]
    {
        // SAFETY: uname fills the struct it is given; all-zero bytes are a valid value of it.
        let mut name: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `name` is a valid, writable utsname.
        if unsafe { libc::uname(&raw mut name) } == 0 {
            for field in [
                &name.sysname[..],
                &name.release,
                &name.version,
                &name.machine,
            ] {
                // SAFETY: uname NUL-terminates every field within its array.
                let text = unsafe { std::ffi::CStr::from_ptr(field.as_ptr()) };
                let _ = write!(identity, "{} | ", text.to_string_lossy());
            }
        }
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: as in `Platform::native`: a pointer to a static NUL-terminated string.
        let glibc = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
        let _ = write!(identity, "glibc {}", glibc.to_string_lossy());
    }
    identity
}

#[cfg(test)]
mod tests;
