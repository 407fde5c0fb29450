//! `pinguard sync`: make an environment hold what the lock says for it, and only that.

use std::collections::BTreeSet;

use pep508_rs::PackageName;

use crate::cli::SyncArgs;
use crate::exit::ExitStatus;
use crate::guard::Locked;
use crate::guard::python;
use crate::report::Reporter;

/// Installed tools that `--remove-extraneous` keeps even when the lock does not name them:
/// removing them would leave an environment that cannot install anything.
const KEPT: [&str; 3] = ["pip", "setuptools", "wheel"];

/// Runs `pinguard sync`.
pub fn run(args: SyncArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let SyncArgs {
        lock,
        python,
        system,
        dry_run,
        remove_extraneous,
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
    let Some(selection) =
        super::select_or_report(locked.lock(), &target, "nothing was changed", reporter)
    else {
        return Ok(ExitStatus::Failure);
    };
    let interpreter = target
        .interpreter()
        .expect("a probed target knows its interpreter")
        .to_owned();
    let installed = python::installed(&interpreter)?;

    let Plan {
        differences,
        to_install,
        extraneous,
    } = plan(&selection.files, &installed, locked.lock());
    if dry_run {
        let text: String = differences.iter().map(|d| format!("{d}\n")).collect();
        super::write_stdout(text.as_bytes())?;
    } else {
        for difference in &differences {
            reporter.warn(difference);
        }
    }
    let in_sync = to_install.is_empty() && extraneous.is_empty();
    if dry_run {
        reporter.summary(&format!(
            "{}: {} to install, {} not in the lock{}",
            target.label(),
            to_install.len(),
            extraneous.len(),
            if in_sync { " (in sync)" } else { "" }
        ));
        return Ok(if in_sync {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        });
    }

    let attestations = crate::settings::AttestationSettings::resolve(attestations)?;
    if let Some(status) = super::provenance::hold(
        &to_install,
        &attestations,
        &guard,
        "nothing was changed",
        reporter,
    ) {
        return Ok(status);
    }
    if !to_install.is_empty() {
        let status = super::install_verified(
            &target,
            &to_install,
            &[],
            &guard,
            &super::lock_dir(&lock),
            (&installer, &pip_args),
            reporter,
        )?;
        if status != ExitStatus::Success {
            return Ok(status);
        }
    }
    if remove_extraneous && !extraneous.is_empty() {
        let names: Vec<String> = extraneous
            .iter()
            .map(|(name, _)| name.to_string())
            .collect();
        let status = installer.uninstall(&interpreter, &names)?;
        if !status.success() {
            reporter.error(&format!("{} uninstall failed ({status})", installer.name()));
            return Ok(ExitStatus::Error);
        }
    }
    reporter.summary(&format!(
        "Synced {}: {} installed, {} removed, {} left that the lock does not name",
        target.label(),
        to_install.len(),
        if remove_extraneous {
            extraneous.len()
        } else {
            0
        },
        if remove_extraneous {
            0
        } else {
            extraneous.len()
        },
    ));
    Ok(ExitStatus::Success)
}

/// What `sync` finds: the differences to report (data under `--dry-run`, progress otherwise),
/// the locked files to install, and what is installed that the lock does not name.
struct Plan<'a> {
    differences: Vec<String>,
    to_install: Vec<Locked<'a>>,
    extraneous: Vec<(PackageName, String)>,
}

/// Compares what the environment has `installed` with the `selected` files of `lock`.
fn plan<'a>(
    selected: &[Locked<'a>],
    installed: &std::collections::BTreeMap<PackageName, pep440_rs::Version>,
    lock: &crate::lock::Lock,
) -> Plan<'a> {
    let mut differences = Vec::new();
    let mut to_install = Vec::new();
    for file in selected {
        let wanted = file.package.version.as_ref();
        match installed.get(&file.package.name) {
            None => {
                differences.push(format!("missing: {}", file.package.display_name()));
                to_install.push(*file);
            }
            Some(version) if Some(version) != wanted => {
                differences.push(format!(
                    "other version: {} {version} is installed, the lock has {}",
                    file.package.name,
                    file.package.display_name()
                ));
                to_install.push(*file);
            }
            Some(_) => {}
        }
    }
    let locked_names: BTreeSet<&PackageName> = selected
        .iter()
        .map(|f| &f.package.name)
        .chain(lock.unverifiable.iter().map(|p| &p.name))
        .collect();
    let extraneous: Vec<(PackageName, String)> = installed
        .iter()
        .filter(|(name, _)| !locked_names.contains(name) && !KEPT.contains(&name.as_ref()))
        .map(|(name, version)| (name.clone(), version.to_string()))
        .collect();
    for (name, version) in &extraneous {
        differences.push(format!("not in the lock: {name} {version}"));
    }
    Plan {
        differences,
        to_install,
        extraneous,
    }
}
