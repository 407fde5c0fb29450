//! `pinguard install`: verify every file a target needs, then let pip install exactly those.

use crate::cache::{Cache, CacheMode};
use crate::cli::InstallArgs;
use crate::guard::LockedFiles;
use crate::guard::closure::closure;
use crate::lock::Lock;
use crate::requirements::{self, ParseError, SourceRef};
use crate::target::Target;

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
        attestations,
        network,
        pip_args,
    } = args;
    let Some(locked) = super::load_lock(&lock, reporter) else {
        return Ok(ExitStatus::Error);
    };
    let Some(target) = super::resolve_install_target(python, system, reporter) else {
        return Ok(ExitStatus::Error);
    };
    let guard = super::GuardNetwork::resolve(network)?;
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
    let python = target
        .interpreter()
        .expect("a probed target knows its interpreter");
    super::install_verified(
        python,
        &selection.files,
        &guard,
        &super::lock_dir(&lock),
        &pip_args,
        reporter,
    )
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
            let mut part = locked.lock().clone();
            part.packages.retain(|p| names.contains(&p.name));
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
