//! `pinguard install`: verify every file a target needs, then let pip install exactly those.

use crate::cli::InstallArgs;
use crate::exit::ExitStatus;
use crate::guard::select::select;
use crate::report::Reporter;
use crate::settings::TargetChoice;

/// Runs `pinguard install`.
pub fn run(args: InstallArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let InstallArgs {
        lock,
        python,
        network,
        pip_args,
    } = args;
    let Some(locked) = super::load_lock(&lock, reporter) else {
        return Ok(ExitStatus::Error);
    };
    let choice = TargetChoice::Interpreter(python);
    let Some(target) = super::resolve_target(&choice, reporter) else {
        return Ok(ExitStatus::Error);
    };
    let selection = select(locked.lock(), &target);
    if !selection.errors.is_empty() {
        for error in &selection.errors {
            reporter.error(&format!("{}: {error}", target.label()));
        }
        reporter.error("nothing was installed");
        return Ok(ExitStatus::Failure);
    }
    for package in &selection.excluded {
        reporter.info(&format!(
            "{}: its marker excludes {}",
            package.display_name(),
            target.label()
        ));
    }
    let guard = super::GuardNetwork::resolve(network)?;
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
