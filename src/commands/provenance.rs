//! `pinguard provenance`, and the provenance steps of `lock --attestations` and of the guard
//! (`fetch`, `install`, `sync`): what the files' attestations prove, rendered.

use std::collections::BTreeMap;
use std::str::FromStr;

use pep508_rs::PackageName;
use serde_json::{Value, json};

use crate::cli::ProvenanceArgs;
use crate::exit::ExitStatus;
use crate::guard::Locked;
use crate::index::Index;
use crate::lock::{Lock, Package};
use crate::provenance::check::{Outcome, Subject, check_all};
use crate::provenance::record::{Decision, decide};
use crate::provenance::{Identity, Keys, TrustRoot};
use crate::report::Reporter;
use crate::settings::{AttestationSettings, NetworkSettings};

fn keys(root: &TrustRoot, reporter: &Reporter) -> Option<Keys> {
    match Keys::new(root) {
        Ok(keys) => Some(keys),
        Err(error) => {
            reporter.error(&error.to_string());
            None
        }
    }
}

/// `lock --attestations`: verifies every file's attestations against the publisher the index
/// claims and records, per package, the identities that verified. A failed attestation, or
/// one that cannot be fetched, fails the lock; packages whose files disagree are reported.
pub(super) fn record_identities(
    lock: &mut Lock,
    index: &Index,
    root: &TrustRoot,
    concurrency: usize,
    reporter: &Reporter,
) -> ExitStatus {
    let Some(keys) = keys(root, reporter) else {
        return ExitStatus::Error;
    };
    let links = page_links(lock, index);
    let subjects: Vec<Subject<'_>> = lock
        .packages
        .iter()
        .flat_map(|package| {
            package.files().map(|file| Subject {
                package,
                file,
                link: links.get(&file.name).map(String::as_str),
            })
        })
        .collect();
    let outcomes = check_all(
        &subjects,
        index.http(),
        index.cache(),
        &keys,
        false,
        concurrency,
    );
    let mut status = ExitStatus::Success;
    let mut recorded: BTreeMap<usize, Vec<Identity>> = BTreeMap::new();
    let mut offset = 0;
    for (i, package) in lock.packages.iter().enumerate() {
        let count = package.files().count();
        let mine = &outcomes[offset..offset + count];
        let files: Vec<&Subject<'_>> = subjects[offset..offset + count].iter().collect();
        offset += count;
        match package_identities(package, &files, mine, reporter) {
            Ok(identities) if !identities.is_empty() => {
                recorded.insert(i, identities);
            }
            Ok(_) => {}
            Err(failed) => status = status.max(failed),
        }
    }
    if status != ExitStatus::Success {
        reporter.error("attestations did not verify; nothing was written");
        return status;
    }
    reporter.summary(&format!(
        "Attestations: {} of {} attested, their publishers recorded",
        recorded.len(),
        crate::report::count(lock.packages.len(), "package"),
    ));
    // What verified now replaces what a reused entry held (compare_identities reports it).
    for (i, package) in lock.packages.iter_mut().enumerate() {
        package.attestation_identities = recorded.remove(&i).unwrap_or_default();
    }
    ExitStatus::Success
}

/// Identities are pinned per project, across versions: without `--attestations`, a package
/// the previous lock recorded identities for keeps them (a re-locked or upgraded version must
/// still come from that publisher); with it, a package whose publisher changed or whose new
/// files carry no attestation any more is reported (the downgrade uv#9122 asks to catch).
pub(super) fn compare_identities(
    previous: &Lock,
    lock: &mut Lock,
    attested: bool,
    reporter: &Reporter,
) {
    for package in &mut lock.packages {
        let Some(before) = previous
            .packages
            .iter()
            .find(|p| p.name == package.name && !p.attestation_identities.is_empty())
        else {
            continue;
        };
        let old = &before.attestation_identities;
        if !attested {
            if package.attestation_identities.is_empty() {
                package.attestation_identities = old.clone();
            }
            continue;
        }
        if package.attestation_identities == *old {
            continue;
        }
        let now = if package.attestation_identities.is_empty() {
            "its files now carry no attestation".to_owned()
        } else {
            format!(
                "its files now prove {}",
                describe(&package.attestation_identities)
            )
        };
        reporter.warn(&format!(
            "{}: its publisher changed: the previous lock recorded {}, {now}",
            package.display_name(),
            describe(old)
        ));
    }
}

/// The simple API's provenance URLs by file name (what the cached pages say).
fn page_links(lock: &Lock, index: &Index) -> BTreeMap<String, String> {
    use rayon::prelude::*;
    lock.packages
        .par_iter()
        .filter_map(|package| {
            let version = package.version.clone()?;
            index
                .project(&package.name, &|v| *v == version)
                .ok()
                .flatten()
        })
        .flat_map_iter(|project| {
            project
                .files
                .into_iter()
                .filter_map(|file| Some((file.page.filename, file.page.provenance?)))
        })
        .collect()
}

/// The identities one package's files prove, reporting what keeps them from being recorded.
fn package_identities(
    package: &Package,
    files: &[&Subject<'_>],
    outcomes: &[Outcome],
    reporter: &Reporter,
) -> Result<Vec<Identity>, ExitStatus> {
    let pairs: Vec<(&str, &Outcome)> = files
        .iter()
        .map(|subject| subject.file.name.as_str())
        .zip(outcomes)
        .collect();
    match decide(&pairs) {
        Decision::Identities(identities) => {
            if identities.len() > 1 {
                let each: Vec<String> = identities
                    .iter()
                    .map(|(identity, files)| format!("{identity} ({})", files.join(", ")))
                    .collect();
                reporter.warn(&format!(
                    "{}: its files were published by different identities: {}; all are recorded",
                    package.display_name(),
                    each.join("; ")
                ));
            }
            Ok(identities.into_keys().collect())
        }
        Decision::Unattested => Ok(Vec::new()),
        Decision::Mixed {
            attested,
            unattested,
        } => {
            reporter.warn(&format!(
                "{}: {} not attested while the other files are ({}); no identity recorded",
                package.display_name(),
                unattested.join(", "),
                describe(&attested)
            ));
            Ok(Vec::new())
        }
        Decision::Broken(broken) => {
            let mut status = ExitStatus::Failure;
            for (name, outcome) in broken {
                match outcome {
                    Outcome::Failed { failures, .. } => {
                        report_failures(package, name, failures, reporter);
                    }
                    Outcome::Unreachable(error) => {
                        reporter.error(&format!("{}: {error}", package.display_name()));
                        status = ExitStatus::Error;
                    }
                    Outcome::Verified { .. } | Outcome::NoAttestation => {}
                }
            }
            Err(status)
        }
    }
}

fn report_failures(
    package: &Package,
    file: &str,
    failures: &[crate::provenance::Failure],
    reporter: &Reporter,
) {
    for failure in failures {
        reporter.error(&format!(
            "{}: {file}: attestation refused: {failure}",
            package.display_name()
        ));
    }
}

fn describe<'a>(identities: impl IntoIterator<Item = &'a Identity>) -> String {
    let all: Vec<String> = identities.into_iter().map(ToString::to_string).collect();
    all.join(" or ")
}

/// The guard's provenance step, before anything is fetched or installed: every file of a
/// package with recorded identities (or required by `--require-attestations`) must carry an
/// attestation that verifies against its locked digest and one of those identities.
/// `Some(status)` after reporting why the run stops.
pub(super) fn hold(
    files: &[Locked<'_>],
    settings: &AttestationSettings,
    guard: &super::GuardNetwork,
    consequence: &str,
    reporter: &Reporter,
) -> Option<ExitStatus> {
    let mut status = ExitStatus::Success;
    let mut subjects = Vec::new();
    for file in files {
        let package = file.package;
        if package.attestation_identities.is_empty() {
            if settings.required.requires(&package.name) {
                reporter.error(&format!(
                    "{}: the lock records no attestation identity for it (--require-attestations); \
                     lock with --attestations to record who publishes it",
                    package.display_name()
                ));
                status = ExitStatus::Failure;
            }
            continue;
        }
        subjects.push(Subject {
            package,
            file: file.entry,
            link: None,
        });
    }
    if !subjects.is_empty() {
        let keys = keys(&settings.root, reporter)?;
        let outcomes = check_all(
            &subjects,
            &guard.http,
            &guard.cache,
            &keys,
            true,
            guard.concurrency,
        );
        for (subject, outcome) in subjects.iter().zip(&outcomes) {
            status = status.max(refuse(subject, outcome, reporter));
        }
    }
    if status == ExitStatus::Success {
        return None;
    }
    reporter.error(consequence);
    Some(status)
}

/// Reports a file the guard refuses; the status it calls for.
fn refuse(subject: &Subject<'_>, outcome: &Outcome, reporter: &Reporter) -> ExitStatus {
    let package = subject.package;
    let file = &subject.file.name;
    let locked = describe(&package.attestation_identities);
    match outcome {
        Outcome::Verified { .. } => return ExitStatus::Success,
        Outcome::NoAttestation => reporter.error(&format!(
            "{}: {file} has no attestation; the lock records {locked}",
            package.display_name()
        )),
        Outcome::Failed {
            proven: Some(proven),
            ..
        } => reporter.error(&format!(
            "{}: {file}: identity changed: the lock records {locked}, its attestation is from {proven}",
            package.display_name()
        )),
        Outcome::Failed { failures, .. } => report_failures(package, file, failures, reporter),
        Outcome::Unreachable(error) => {
            reporter.error(&format!("{}: {error}", package.display_name()));
            return ExitStatus::Error;
        }
    }
    ExitStatus::Failure
}

/// Runs `pinguard provenance`.
pub fn run(args: ProvenanceArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let ProvenanceArgs {
        lock,
        names,
        format,
        trust,
        network,
    } = args;
    let root = crate::settings::trust_root(trust)?;
    let Some(locked) = super::load_lock(&lock, reporter) else {
        return Ok(ExitStatus::Error);
    };
    let mut wanted = Vec::new();
    for name in &names {
        wanted.push(
            PackageName::from_str(name)
                .map_err(|e| anyhow::anyhow!("`{name}` is not a package name: {e}"))?,
        );
    }
    let env = |name: &str| std::env::var(name).ok();
    let network = NetworkSettings::resolve(network, &env);
    let guard = super::GuardNetwork::from_settings(&network)?;
    let Some(keys) = keys(&root, reporter) else {
        return Ok(ExitStatus::Error);
    };
    let subjects = crate::provenance::check::subjects_of(
        locked
            .lock()
            .packages
            .iter()
            .filter(|p| wanted.is_empty() || wanted.contains(&p.name)),
    );
    let outcomes = check_all(
        &subjects,
        &guard.http,
        &guard.cache,
        &keys,
        true,
        guard.concurrency,
    );
    let status = subjects
        .iter()
        .zip(&outcomes)
        .map(|(subject, outcome)| {
            let recorded = !subject.package.attestation_identities.is_empty();
            match outcome {
                Outcome::Verified { .. } => ExitStatus::Success,
                Outcome::NoAttestation if !recorded => ExitStatus::Success,
                Outcome::Unreachable(_) => ExitStatus::Error,
                _ => ExitStatus::Failure,
            }
        })
        .max()
        .unwrap_or(ExitStatus::Success);
    print_outcomes(format, &subjects, &outcomes)?;
    Ok(status)
}

fn print_outcomes(
    format: crate::cli::OutputFormat,
    subjects: &[Subject<'_>],
    outcomes: &[Outcome],
) -> std::io::Result<()> {
    match format {
        crate::cli::OutputFormat::Json => {
            let files: Vec<Value> = subjects
                .iter()
                .zip(outcomes)
                .map(|(s, o)| file_json(s, o))
                .collect();
            let document = json!({"version": 1, "files": files});
            super::write_stdout(format!("{document:#}\n").as_bytes())
        }
        crate::cli::OutputFormat::Human => {
            let mut text = String::new();
            for (subject, outcome) in subjects.iter().zip(outcomes) {
                text.push_str(&file_line(subject, outcome));
            }
            super::write_stdout(text.as_bytes())
        }
    }
}

fn file_line(subject: &Subject<'_>, outcome: &Outcome) -> String {
    let head = format!("{} {}", subject.package.display_name(), subject.file.name);
    match outcome {
        Outcome::Verified { verified, .. } => format!(
            "{head}: {} (log entry {}, integrated {})\n",
            verified.identity, verified.log_index, verified.integrated_time
        ),
        Outcome::NoAttestation => format!("{head}: no attestation\n"),
        Outcome::Failed {
            proven: Some(proven),
            ..
        } => format!(
            "{head}: identity changed: the lock records {}, its attestation is from {proven}\n",
            describe(&subject.package.attestation_identities)
        ),
        Outcome::Failed { failures, .. } => {
            let reasons: Vec<String> = failures.iter().map(ToString::to_string).collect();
            format!("{head}: refused: {}\n", reasons.join("; "))
        }
        Outcome::Unreachable(error) => format!("{head}: {error}\n"),
    }
}

fn file_json(subject: &Subject<'_>, outcome: &Outcome) -> Value {
    let mut entry = json!({
        "package": subject.package.name.to_string(),
        "version": subject.package.version.as_ref().map(ToString::to_string),
        "file": subject.file.name,
        "sha256": subject.file.sha256.to_string(),
        "recorded_identities": subject.package.attestation_identities,
    });
    let (status, details) = match outcome {
        Outcome::Verified {
            verified,
            url,
            provenance_sha256,
        } => (
            "verified",
            json!({
                "identity": verified.identity,
                "log_index": verified.log_index,
                "integrated_time": verified.integrated_time,
                "provenance_url": url.without_credentials().to_string(),
                "provenance_sha256": provenance_sha256.to_string(),
            }),
        ),
        Outcome::NoAttestation => ("none", json!({})),
        Outcome::Failed {
            failures, proven, ..
        } => (
            if proven.is_some() {
                "identity-changed"
            } else {
                "refused"
            },
            json!({
                "proven_identity": proven,
                "failures": failures.iter().map(|f| json!({"check": f.check.to_string(), "detail": f.detail})).collect::<Vec<_>>(),
            }),
        ),
        Outcome::Unreachable(error) => ("unreachable", json!({"error": error.to_string()})),
    };
    entry["status"] = Value::from(status);
    if let (Value::Object(entry), Value::Object(details)) = (&mut entry, details) {
        entry.extend(details);
    }
    entry
}
