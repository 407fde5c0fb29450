//! `pinguard fetch`: a verified wheelhouse for a target, or for every platform.

use std::time::Instant;

use crate::cli::FetchArgs;
use crate::exit::ExitStatus;
use crate::guard::Locked;
use crate::guard::fetch::{FetchOptions, Layout, Origin, fetch};
use crate::progress::Progress;
use crate::report::Reporter;
use crate::settings::TargetChoice;

/// Runs `pinguard fetch`.
pub fn run(args: FetchArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let FetchArgs {
        lock,
        dest,
        all,
        target,
        attestations,
        network,
    } = args;
    let Some(locked) = super::load_lock(&lock, reporter) else {
        return Ok(ExitStatus::Error);
    };
    super::report_unverifiable(locked.lock(), "left out", reporter);
    let files: Vec<Locked<'_>> = if all {
        locked.files().collect()
    } else {
        let choice = TargetChoice::resolve(target.python, target.platform)?;
        let Some(target) = super::resolve_target(&choice, reporter) else {
            return Ok(ExitStatus::Error);
        };
        let Some(selection) =
            super::select_or_report(locked.lock(), &target, "nothing was fetched", reporter)
        else {
            return Ok(ExitStatus::Failure);
        };
        reporter.info(&format!("target: {}", target.label()));
        selection.files
    };
    let guard = super::GuardNetwork::resolve(network)?;
    let attestations = crate::settings::AttestationSettings::resolve(attestations)?;
    if let Some(status) = super::provenance::hold(
        &files,
        &attestations,
        &guard,
        "nothing was fetched",
        reporter,
    ) {
        return Ok(status);
    }
    let options = FetchOptions {
        layout: Layout::Flat,
        dest: dest.clone(),
        store: guard.store.clone(),
        concurrency: guard.concurrency,
        lock_dir: super::lock_dir(&lock),
    };
    crate::temporary::remove_on_interrupt()?;
    let started = Instant::now();
    let fetched = fetch(
        &files,
        &guard.http,
        &options,
        &Progress::new(reporter.verbosity() == crate::report::Verbosity::Quiet),
    );
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    let status = super::report_fetch(&files, &fetched, reporter);
    let done: Vec<_> = fetched
        .results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .collect();
    let downloaded: u64 = done
        .iter()
        .filter(|f| f.origin == Origin::Download)
        .map(|f| f.size)
        .sum();
    reporter.summary(&format!(
        "Fetched {} of {} files ({}) into {}: {} downloaded ({}/s), {} from the cache, {} already there",
        done.len(),
        files.len(),
        super::human_bytes(done.iter().map(|f| f.size).sum()),
        dest.display(),
        done.iter().filter(|f| f.origin == Origin::Download).count(),
        super::human_bytes((downloaded as f64 / elapsed) as u64),
        done.iter().filter(|f| f.origin == Origin::Store).count(),
        done.iter().filter(|f| f.origin == Origin::Present).count(),
    ));
    Ok(status)
}
