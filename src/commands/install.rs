//! `pinguard install`: verify every file a target needs, then let pip (or uv) install exactly those.

use crate::cache::{Cache, CacheMode};
use crate::cli::InstallArgs;
use crate::guard::LockedFiles;
use crate::guard::closure::{closure, missing};
use crate::lock::{Lock, UnverifiableSource};
use crate::requirements::{self, ParseError, SourceRef};
use crate::target::Target;

use super::LocalProject;
use super::lock::InputLoader;
use crate::exit::ExitStatus;
use crate::report::Reporter;

/// Runs `pinguard install`.
pub fn run(args: InstallArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let InstallArgs {
        lock,
        python,
        system,
        requirements,
        allow_incomplete,
        attestations,
        network,
        installer,
        pip_args,
    } = args;
    let request = super::InstallRequest {
        lock: &lock,
        python,
        system,
        network,
        installer: &installer,
    };
    let Some(super::InstallInputs {
        guard,
        locked,
        installer,
        target,
    }) = super::install_inputs(request, reporter)?
    else {
        return Ok(ExitStatus::Error);
    };
    if requirements.is_empty()
        && !allow_incomplete
        && let Some(status) = refuse_incomplete(locked.lock(), &target, reporter)
    {
        return Ok(status);
    }
    let select = crate::steps::step("select the files");
    let needed = match needed_part(&locked, &requirements, &target, &guard, reporter)? {
        Ok(needed) => needed,
        Err(status) => return Ok(status),
    };
    let Some(selection) = super::select_or_report(
        needed.as_ref().unwrap_or(locked.lock()),
        &target,
        "nothing was installed",
        reporter,
    ) else {
        return Ok(ExitStatus::Failure);
    };
    drop(select);
    for package in &selection.excluded {
        reporter.info(&format!(
            "{}: its marker excludes {}",
            package.display_name(),
            target.label()
        ));
    }
    let attestations = crate::settings::AttestationSettings::resolve(attestations)?;
    if let Some(status) = super::provenance::hold(
        &selection.files,
        &attestations,
        &guard,
        "nothing was installed",
        reporter,
    ) {
        return Ok(status);
    }
    let lock_dir = super::lock_dir(&lock);
    let local = match needed {
        Some(_) => {
            super::report_unverifiable(locked.lock(), "left out", reporter);
            Vec::new()
        }
        None => match local_projects(locked.lock(), &target, &lock_dir, reporter) {
            Some(local) => local,
            None => return Ok(ExitStatus::Failure),
        },
    };
    super::install_verified(
        &target,
        &selection.files,
        &local,
        &guard,
        &lock_dir,
        (&installer, &pip_args),
        reporter,
    )
}

/// The lock's local `directory` entries that apply on `target` (the project itself, as
/// `uv export` writes it), to install after every verified file, as tox installs the project
/// after its dependencies. `None` after refusing a `vcs` entry: a checkout has neither a
/// digest nor a place pinguard could take it from without running its code unverified.
fn local_projects(
    lock: &Lock,
    target: &Target,
    lock_dir: &std::path::Path,
    reporter: &Reporter,
) -> Option<Vec<LocalProject>> {
    let mut local = Vec::new();
    let mut refused = false;
    let applying = lock
        .unverifiable
        .iter()
        .filter(|p| p.marker.evaluate(target.markers(), &[]));
    for package in applying {
        match &package.source {
            UnverifiableSource::Directory {
                path,
                editable,
                subdirectory,
            } => {
                let mut dir = lock_dir.join(path);
                if let Some(sub) = subdirectory {
                    dir.push(sub);
                }
                reporter.warn(&format!(
                    "{}: no digest to verify it by; installed last, with --no-deps \
                     --no-build-isolation and only the verified files to build with",
                    package.describe()
                ));
                local.push(LocalProject {
                    dir,
                    editable: *editable,
                });
            }
            UnverifiableSource::Vcs { .. } => {
                reporter.error(&format!(
                    "{}: a VCS checkout has no digest to verify it by; nothing was installed",
                    package.describe()
                ));
                refused = true;
            }
        }
    }
    if refused {
        reporter.help(
            "lock a released version of it, or leave it out of the lock (`uv export \
             --no-emit-project`) and install it yourself",
        );
        return None;
    }
    Some(local)
}

/// Refuses a whole lock that misses what its packages depend on on `target` (pip installs
/// with `--no-deps`, so nothing else would notice); `Some(status)` after reporting what is
/// missing and for whom.
fn refuse_incomplete(lock: &Lock, target: &Target, reporter: &Reporter) -> Option<ExitStatus> {
    let missing = missing(lock, target);
    if missing.is_empty() {
        return None;
    }
    for error in &missing {
        reporter.error(&format!("{}: {error}", target.label()));
    }
    reporter.error(&format!(
        "the lock is incomplete for {}; nothing was installed",
        target.label()
    ));
    reporter.help(
        "lock again with `pinguard lock --add-missing` (or pin what is missing in the source), \
         or pass --allow-incomplete to install the lock as it is",
    );
    Some(ExitStatus::Failure)
}

/// With `-r` files, the part of the lock they need on `target` (`None`: the whole lock);
/// `Err(status)` after reporting why it cannot be had.
fn needed_part(
    locked: &LockedFiles,
    requirement_files: &[String],
    target: &Target,
    guard: &super::GuardNetwork,
    reporter: &Reporter,
) -> anyhow::Result<Result<Option<Lock>, ExitStatus>> {
    if requirement_files.is_empty() {
        return Ok(Ok(None));
    }
    let env = |name: &str| std::env::var(name).ok();
    let cache = Cache::disabled(CacheMode::Normal);
    let loader = InputLoader {
        http: &guard.http,
        cache: &cache,
    };
    let mut specs = Vec::new();
    for file in requirement_files {
        match requirements::parse_specs(&SourceRef::from_arg(file)?, &loader, &env) {
            Ok(found) => specs.extend(found),
            Err(ParseError::Invalid(diagnostics)) => {
                reporter.raw(&diagnostics.render(reporter.styled()));
                reporter.error("nothing was installed");
                return Ok(Err(ExitStatus::Error));
            }
            Err(e) => {
                reporter.error(&e.to_string());
                return Ok(Err(ExitStatus::Error));
            }
        }
    }
    match closure(locked.lock(), &specs, target) {
        Ok(names) => {
            let part = locked.lock().part(|p| names.contains(&p.name));
            reporter.info(&format!(
                "the requirements need {} of the lock's {} packages",
                part.packages.len(),
                locked.lock().packages.len()
            ));
            Ok(Ok(Some(part)))
        }
        Err(errors) => {
            for error in &errors {
                reporter.error(&format!("{}: {error}", target.label()));
            }
            reporter.error("nothing was installed");
            Ok(Err(ExitStatus::Failure))
        }
    }
}
