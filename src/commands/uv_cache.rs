//! `install` and `sync` with `--installer uv` and the cache on: uv installs from a cache of
//! its own under pinguard's (`uv-v1/`), and pinguard checks every file it installed.
//!
//! ```text
//! verified wheels ─► uv-v1/wheels/<sha256>/<file>   (kept: uv knows its trees by this path)
//!   snapshot ─► uv pip install --cache-dir uv-v1/cache --require-hashes ─► snapshot
//!   guard::installed::check: every installed file is a verified wheel's member, byte for byte
//!   a finding ─► warn, drop uv's cache, remove what it created, reinstall with --no-cache,
//!                check again: still a finding ─► error
//! ```
//!
//! uv trusts its cache; pinguard does not. The check reads the wheels' `RECORD` (the locked
//! bytes' own word on each member) and hashes every installed file, so a damaged cache, or a
//! file edited in an environment that shares it through a hard link, is found before anything
//! runs from the environment, and the environment is repaired from the verified wheels.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::exit::ExitStatus;
use crate::guard::Locked;
use crate::guard::fetch::Fetched;
use crate::guard::installed::{self, Finding, Installed, Snapshot};
use crate::guard::installer::{Installer, RunOptions};
use crate::guard::wheel::WheelContents;
use crate::report::Reporter;
use crate::target::{Environment, Scheme, Target};

/// Where uv's cache and the wheels it knows are, for one install.
#[derive(Debug)]
pub(super) struct UvCache {
    /// `uv-v1/` in pinguard's cache.
    root: PathBuf,
    /// The target's install scheme.
    scheme: Scheme,
}

impl UvCache {
    /// The cache to install `files` with, when it can be used: uv, pinguard's cache on, no
    /// arguments for the installer (`--compile-bytecode` would run the environment's
    /// interpreter before the check), a virtual environment whose scheme the probe read, and
    /// wheels only (uv would cache what it builds from an sdist, which no lock can verify).
    pub(super) fn for_install(
        installer: &Installer,
        cache_dir: Option<&Path>,
        extra: &[String],
        target: &Target,
        files: &[Locked<'_>],
    ) -> Option<Self> {
        let usable = matches!(installer, Installer::Uv(_))
            && extra.is_empty()
            && matches!(target.environment(), Some(Environment::Virtual { .. }))
            && files.iter().all(|f| f.entry.name.ends_with(".whl"));
        if !usable {
            return None;
        }
        Some(Self {
            root: cache_dir?.join("uv-v1"),
            scheme: target.scheme()?.clone(),
        })
    }

    /// Where the verified wheels go (by digest: see [`crate::guard::fetch::Layout`]).
    pub(super) fn wheels(&self) -> PathBuf {
        self.root.join("wheels")
    }

    fn cache(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// Removes uv's cache (moved aside first, so that a run starting meanwhile makes a new
    /// one); what cannot be removed is left for the next attempt.
    fn drop_cache(&self) {
        let aside = self.root.join(format!(".removed-{}", std::process::id()));
        if std::fs::rename(self.cache(), &aside).is_ok() {
            let _ = std::fs::remove_dir_all(&aside);
        }
    }
}

/// One install with uv's cache of the `fetched` wheels (`requirements`: the private
/// wheelhouse and the requirements file naming them): the steps of the module docs.
pub(super) fn install(
    cache: &UvCache,
    installer: &Installer,
    python: &Path,
    fetched: &[&Fetched],
    requirements: (&Path, &Path),
    reporter: &Reporter,
) -> anyhow::Result<ExitStatus> {
    let (wheelhouse, requirements) = requirements;
    let quiet = reporter.verbosity() == crate::report::Verbosity::Quiet;
    let cache_dir = cache.cache();
    let run = |extra: &[String], uv_cache: Option<&Path>| {
        let options = RunOptions {
            quiet,
            extra,
            uv_cache,
        };
        installer.install_locked(python, wheelhouse, requirements, options)
    };
    let uncached = |extra: &[String]| run(extra, None);
    let installed = match read_wheels(fetched) {
        Ok(installed) => installed,
        Err(reason) => {
            reporter.info(&format!("{reason}; uv installs without its cache"));
            return Ok(super::installer_status(installer, uncached(&[])?, reporter));
        }
    };
    let roots = installed::roots(&cache.scheme, &installed);
    let before = snapshot(&roots, "snapshot before uv");
    fs_err::create_dir_all(&cache_dir)?;
    let status = run(&[], Some(&cache_dir))?;
    let after = snapshot(&roots, "snapshot after uv");
    let findings = check(&installed, &cache.scheme, (&before, &after));
    if status.success() && findings.is_empty() {
        return Ok(ExitStatus::Success);
    }
    for finding in &findings {
        reporter.warn(&finding.describe());
    }
    reporter.warn(&format!(
        "uv's cache ({}) {}; it is removed, and uv installs again from the verified wheels alone",
        cache_dir.display(),
        if status.success() {
            "gave files that are not the verified wheels' bytes".to_owned()
        } else {
            format!("failed ({status}) with it")
        }
    ));
    cache.drop_cache();
    remove_created(&findings);
    let status = uncached(&["--reinstall".to_owned()])?;
    if !status.success() {
        return Ok(super::installer_status(installer, status, reporter));
    }
    let after = snapshot(&roots, "snapshot after uv");
    let findings = check(&installed, &cache.scheme, (&before, &after));
    if findings.is_empty() {
        return Ok(ExitStatus::Success);
    }
    for finding in &findings {
        reporter.error(&finding.describe());
    }
    reporter.error(&format!(
        "uv installed files into {} that are not the verified wheels' bytes",
        python.display()
    ));
    reporter.help("do not use this environment: remove it and install again");
    Ok(ExitStatus::Failure)
}

/// A snapshot of `roots`, timed as the step `step`.
fn snapshot(roots: &[PathBuf], step: &'static str) -> Snapshot {
    let _step = crate::steps::step(step);
    Snapshot::take(roots)
}

/// [`installed::check`], timed as a step.
fn check(wheels: &[Installed], scheme: &Scheme, snapshots: (&Snapshot, &Snapshot)) -> Vec<Finding> {
    let _step = crate::steps::step("check what uv installed");
    installed::check(wheels, scheme, snapshots.0, snapshots.1)
}

/// The contents of every verified wheel, read in parallel; the first that cannot be read
/// says why the cache is not used.
fn read_wheels(fetched: &[&Fetched]) -> Result<Vec<Installed>, String> {
    let _step = crate::steps::step("read the wheels' RECORD");
    fetched
        .par_iter()
        .map(|fetched| {
            WheelContents::read(&fetched.path, &fetched.name)
                .map(|contents| Installed {
                    contents,
                    wheel: fetched.path.clone(),
                })
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Removes the files the install created that no wheel has (never a file that was there
/// before: that one stays a finding).
fn remove_created(findings: &[Finding]) {
    for finding in findings {
        if let Finding::Unexpected {
            path,
            created: true,
        } = finding
        {
            let _ = std::fs::remove_file(path);
        }
    }
}
