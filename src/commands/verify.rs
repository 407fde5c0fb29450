//! `pinguard verify`: a directory of files against the lock.

use std::time::Instant;

use serde_json::json;

use crate::cli::{OutputFormat, VerifyArgs};
use crate::exit::ExitStatus;
use crate::guard::verify::{Report, VerifyOptions, verify};
use crate::guard::{Check, LockedFiles, describe_drift, describe_not_regular};
use crate::report::Reporter;

/// Runs `pinguard verify`.
pub fn run(args: VerifyArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let VerifyArgs {
        lock,
        paths,
        require_all,
        format,
        attestations,
        network,
    } = args;
    let Some(locked) = super::load_lock(&lock, reporter) else {
        return Ok(ExitStatus::Error);
    };
    super::report_unverifiable(locked.lock(), "left out", reporter);
    let started = Instant::now();
    let report = match verify(&locked, &paths, VerifyOptions { require_all }) {
        Ok(report) => report,
        Err(e) => {
            reporter.error(&e.to_string());
            return Ok(ExitStatus::Error);
        }
    };
    let elapsed = started.elapsed();
    let matched: Vec<_> = report
        .checked
        .iter()
        .filter(|c| c.check == Check::Match)
        .filter_map(|c| locked.get(&c.name))
        .collect();
    let guard = super::GuardNetwork::resolve(network)?;
    let attestations = crate::settings::AttestationSettings::resolve(attestations)?;
    let held = super::provenance::hold(
        &matched,
        &attestations,
        &guard,
        "files match the lock but their attestations do not hold",
        reporter,
    );

    if format == OutputFormat::Json {
        super::write_stdout(format!("{:#}\n", json_document(&report)).as_bytes())?;
    } else {
        super::write_stdout(findings_text(&report, &locked).as_bytes())?;
        report_diagnostics(&report, reporter);
    }
    reporter.summary(&summary(&report, elapsed, require_all));
    let status = if !report.unreadable.is_empty() {
        ExitStatus::Error
    } else if report.is_clean() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    };
    Ok(status.max(held.unwrap_or(ExitStatus::Success)))
}

/// The report for programs (`--format json`).
fn json_document(report: &Report) -> serde_json::Value {
    let drift: Vec<_> = report
        .drifted()
        .map(|c| match &c.check {
            Check::Drift {
                expected,
                computed,
                expected_size,
                size,
            } => json!({
                "file": c.name, "package": c.package,
                "expected_sha256": expected.to_string(), "computed_sha256": computed.to_string(),
                "expected_size": expected_size, "size": size,
            }),
            Check::Oversized {
                expected,
                expected_size,
                size,
            } => json!({
                "file": c.name, "package": c.package,
                "expected_sha256": expected.to_string(), "computed_sha256": null,
                "expected_size": expected_size, "size": size,
            }),
            Check::Match => unreachable!("drifted() yields drifts"),
        })
        .collect();
    json!({
        "verified": report.checked.iter().filter(|c| c.check == Check::Match).collect::<Vec<_>>(),
        "drift": drift,
        "unknown": report.unknown.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "missing": report.missing,
        "unreadable": report.unreadable.iter().map(|(p, e)| json!({"path": p.display().to_string(), "error": e})).collect::<Vec<_>>(),
        "not_regular": report.not_regular.iter().map(|n| json!({"path": n.path.display().to_string(), "file": n.name, "kind": n.kind})).collect::<Vec<_>>(),
        "temporaries": report.temporaries.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    })
}

/// The findings for people: drift, files not in the lock, missing and not-regular files.
/// Findings are data, on standard output (as `check` prints them); what kept the run from
/// seeing a file is a diagnostic, on standard error ([`report_diagnostics`]).
fn findings_text(report: &Report, locked: &LockedFiles) -> String {
    let mut findings = String::new();
    for checked in report.drifted() {
        let locked = locked.get(&checked.name).expect("checked files are locked");
        findings.push_str(&describe_drift(&locked, &checked.check));
        findings.push('\n');
    }
    for path in &report.unknown {
        findings.push_str(&format!("{} is not in the lock\n", path.display()));
    }
    for name in &report.missing {
        let locked = locked.get(name).expect("missing files are locked");
        findings.push_str(&format!("{name} ({locked}) is in the lock but not here\n"));
    }
    for file in &report.not_regular {
        let locked = locked
            .get(&file.name)
            .expect("not-regular files are locked");
        findings.push_str(&describe_not_regular(&file.path, &locked, file.kind));
        findings.push('\n');
    }
    findings
}

/// What kept the run from seeing a file, and what it passed over: diagnostics, on stderr.
fn report_diagnostics(report: &Report, reporter: &Reporter) {
    for path in &report.temporaries {
        reporter.warn(&format!(
            "ignored {}: a temporary file of an interrupted pinguard run (the next fetch into this directory removes it)",
            path.display()
        ));
    }
    for (path, error) in &report.unreadable {
        reporter.error(&format!("cannot read {}: {error}", path.display()));
    }
    for dir in &report.skipped_dirs {
        reporter.info(&format!("skipped the subdirectory {}", dir.display()));
    }
}

/// The closing line: how many files, how fast, and what was found.
fn summary(report: &Report, elapsed: std::time::Duration, require_all: bool) -> String {
    let bytes = report.bytes();
    let seconds = elapsed.as_secs_f64().max(1e-9);
    format!(
        "Checked {} files ({}) in {:.2} s ({}/s): {} match, {} drifted, {} not in the lock{}{}",
        report.checked.len(),
        super::human_bytes(bytes),
        seconds,
        super::human_bytes((bytes as f64 / seconds) as u64),
        report.checked.len() - report.drifted().count(),
        report.drifted().count(),
        report.unknown.len(),
        if require_all {
            format!(", {} missing", report.missing.len())
        } else {
            String::new()
        },
        match report.not_regular.len() {
            0 => String::new(),
            n => format!(", {n} not regular files"),
        }
    )
}
