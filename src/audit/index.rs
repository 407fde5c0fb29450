//! The audit's questions to the index, per locked package: are the locked files still served
//! as locked ([`crate::drift`], shared with `lock --refresh`), were files added to the locked
//! version, is the version yanked or gone, what is the project's PEP 792 status, and which
//! newer releases appeared.
//!
//! A file the lock does not hold counts as added only when it was uploaded after the newest
//! locked file of that version (or when either time is unknown): older ones existed when the
//! lock was made and were left out on purpose (`--python`/`--platform` trimming, a second
//! sdist, a line's `--hash` values).

use std::collections::BTreeMap;
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::PackageName;
use rayon::prelude::*;
use toml_edit::Datetime;

use super::policy::Policy;
use super::releases::Releases;
use super::{Failure, Finding, Kind};
use crate::digest::Sha256;
use crate::drift::{self, FileDrift, ServedFile};
use crate::filename::DistFilename;
use crate::index::{Index, Project, ProjectFile, Source};
use crate::lock::Package;
use crate::lock::pylock::parse_upload_time;
use crate::locker;
use crate::owners::Ownership;
use crate::progress::Progress;

/// What to ask besides the locked version's files.
#[derive(Debug, Default)]
pub struct AuditOptions {
    /// Worker threads, hence requests in flight.
    pub concurrency: usize,
    /// Ask every package's ownership (`--owners`); otherwise only where the lock recorded
    /// one or a policy needs it.
    pub owners: bool,
    /// The accounts allowed (`--policy`).
    pub policy: Option<Policy>,
    /// OpenStack's release records (`--releases`).
    pub releases: Option<Releases>,
    /// The trusted root's keys, when the lock records attestation identities: the newest
    /// release of such a package is checked for who published it.
    pub keys: Option<crate::provenance::Keys>,
}

/// One package's audit: its findings, and who can publish it when that was asked.
#[derive(Debug, Default)]
pub struct PackageAudit {
    /// The findings.
    pub findings: Vec<Finding>,
    /// The ownership on the index, when asked.
    pub owners: Option<Ownership>,
}

/// Audits every package of `packages` (each with the number of the source its entry names)
/// on `index`, in parallel: each package's audit, in order, or every package that could not
/// be audited. A project locked several times (once per marker) is asked once.
pub fn audit(
    packages: &[(&Package, usize)],
    index: &Index,
    options: &AuditOptions,
    progress: &Progress,
) -> Result<Vec<PackageAudit>, Vec<Failure>> {
    let mut projects: BTreeMap<(&PackageName, usize), Vec<usize>> = BTreeMap::new();
    for (i, (package, source)) in packages.iter().enumerate() {
        projects
            .entry((&package.name, *source))
            .or_default()
            .push(i);
    }
    let projects: Vec<_> = projects.into_iter().collect();
    let pool = locker::thread_pool(options.concurrency);
    let bar = progress.bar(projects.len() as u64, "auditing");
    let results: Vec<Vec<(usize, Result<PackageAudit, Failure>)>> = pool.install(|| {
        projects
            .par_iter()
            .map(|((name, source), members)| {
                let entries: Vec<&Package> = members.iter().map(|&i| packages[i].0).collect();
                let answers = Answers::ask(name, *source, &entries, index, options);
                let audited = members
                    .iter()
                    .zip(&entries)
                    .map(|(&i, package)| (i, audit_package(package, &answers, index, options)))
                    .collect();
                bar.inc(1);
                audited
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut ordered: Vec<(usize, Result<PackageAudit, Failure>)> =
        results.into_iter().flatten().collect();
    ordered.sort_by_key(|(i, _)| *i);
    let (found, failed): (Vec<_>, Vec<_>) =
        ordered.into_iter().map(|(_, r)| r).partition(Result::is_ok);
    if !failed.is_empty() {
        return Err(failed.into_iter().filter_map(Result::err).collect());
    }
    Ok(found.into_iter().flatten().collect())
}

/// What the index answered about one project: its page (on the source the entries name), and
/// its ownership when needed. Failures are kept as text, for every entry to report.
struct Answers<'a> {
    source: &'a Source,
    project: Result<Option<Project>, String>,
    owners: Option<Result<Ownership, String>>,
}

impl<'a> Answers<'a> {
    fn ask(
        name: &PackageName,
        source: usize,
        entries: &[&Package],
        index: &'a Index,
        options: &AuditOptions,
    ) -> Self {
        let lowest = entries.iter().filter_map(|p| p.version.as_ref()).min();
        let all_versions = options.releases.is_some();
        let wanted = |v: &Version| all_versions || lowest.is_some_and(|low| v >= low);
        let project = index
            .project_on(source, name, &wanted)
            .map_err(|e| e.to_string());
        let needed = options.owners
            || options.policy.is_some()
            || entries.iter().any(|p| p.owners.is_some());
        let owners = needed.then(|| {
            crate::owners::fetch(index, source, name)
                .map(Option::unwrap_or_default)
                .map_err(|e| format!("cannot read who can publish it: {e}"))
        });
        Self {
            source: &index.sources()[source],
            project,
            owners,
        }
    }
}

fn audit_package(
    package: &Package,
    answers: &Answers<'_>,
    index: &Index,
    options: &AuditOptions,
) -> Result<PackageAudit, Failure> {
    let mut audit = PackageAudit {
        findings: index_findings(package, answers, index, options)?,
        owners: None,
    };
    if let Some(owners) = &answers.owners {
        let now = owners.clone().map_err(|reason| Failure {
            package: package.display_name(),
            reason,
        })?;
        let deliverable = options
            .releases
            .as_ref()
            .is_some_and(|r| r.of(&package.name).is_some());
        audit.findings.extend(super::owners::findings(
            package,
            &now,
            options.policy.as_ref(),
            deliverable,
        ));
        audit.owners = Some(now);
    }
    Ok(audit)
}

/// A locked entry findings are about.
struct Entry<'a> {
    package: &'a Package,
    locked: Version,
}

impl Entry<'_> {
    fn finding(
        &self,
        kind: Kind,
        subject: String,
        message: String,
        when: Option<String>,
    ) -> Finding {
        Finding {
            kind,
            package: self.package.name.clone(),
            version: Some(self.locked.clone()),
            subject,
            message,
            when,
        }
    }

    fn fail(&self, reason: String) -> Failure {
        Failure {
            package: self.package.display_name(),
            reason,
        }
    }
}

fn index_findings(
    package: &Package,
    answers: &Answers<'_>,
    index: &Index,
    options: &AuditOptions,
) -> Result<Vec<Finding>, Failure> {
    let Some(locked) = package.version.clone() else {
        return Ok(Vec::new());
    };
    let entry = Entry { package, locked };
    let project = match &answers.project {
        Ok(Some(project)) => project,
        Ok(None) => {
            let message = format!("{} no longer has the project", answers.source);
            return Ok(vec![entry.finding(
                Kind::ProjectGone,
                String::new(),
                message,
                None,
            )]);
        }
        Err(error) => return Err(entry.fail(error.clone())),
    };
    let mut findings = Vec::new();
    if let Some((kind, message)) = status_finding(project) {
        findings.push(entry.finding(kind, String::new(), message, None));
    }
    findings.extend(version_findings(&entry, project, index)?);
    if let Some(made) = options.releases.as_ref().and_then(|r| r.of(&package.name)) {
        findings.extend(release_findings(&entry, &project.files, made));
    }
    for (version, uploaded) in newer_releases(&project.files, &entry.locked) {
        let (kind, what) = if version.any_prerelease() {
            (Kind::NewPreRelease, "pre-release")
        } else {
            (Kind::NewRelease, "release")
        };
        let message = format!("a newer {what} is on the index");
        findings.push(entry.finding(kind, version.to_string(), message, uploaded));
    }
    if let Some(keys) = &options.keys
        && !package.attestation_identities.is_empty()
    {
        findings.extend(newest_release_provenance(
            package,
            &entry.locked,
            project,
            index,
            keys,
        ));
    }
    Ok(findings)
}

/// Who published the newest final release after the locked one, against the recorded
/// identities (nothing when there is none).
fn newest_release_provenance(
    package: &Package,
    locked: &Version,
    project: &Project,
    index: &Index,
    keys: &crate::provenance::Keys,
) -> Vec<Finding> {
    let Some((newest, _)) = newer_releases(&project.files, locked)
        .into_iter()
        .rfind(|(v, _)| !v.any_prerelease())
    else {
        return Vec::new();
    };
    let files: Vec<&ProjectFile> = project
        .files
        .iter()
        .filter(|f| f.name.version() == &newest && !matches!(f.name, DistFilename::Unsupported(_)))
        .collect();
    super::provenance::newer_release_findings(
        package,
        &newest,
        &files,
        index.http(),
        index.cache(),
        keys,
    )
}

/// The project's PEP 792 status, when it is not `active`.
fn status_finding(project: &Project) -> Option<(Kind, String)> {
    let status = project.status.as_ref().filter(|s| s.is_notable())?;
    let kind = if status.status.eq_ignore_ascii_case("quarantined") {
        Kind::ProjectQuarantined
    } else {
        Kind::ProjectStatus
    };
    let reason = status
        .reason
        .as_deref()
        .map_or_else(String::new, |r| format!(" ({r})"));
    Some((
        kind,
        format!("the index marks the project {}{reason}", status.status),
    ))
}

/// The locked version: listed, yanked, and its files against the lock.
fn version_findings(
    entry: &Entry<'_>,
    project: &Project,
    index: &Index,
) -> Result<Vec<Finding>, Failure> {
    let locked = &entry.locked;
    if project.versions.binary_search(locked).is_err() {
        let message =
            format!("the index no longer lists version {locked}: none of its files is served");
        return Ok(vec![entry.finding(
            Kind::VersionUnlisted,
            String::new(),
            message,
            None,
        )]);
    }
    let files: Vec<&ProjectFile> = project
        .files
        .iter()
        .filter(|f| f.name.version() == locked && !matches!(f.name, DistFilename::Unsupported(_)))
        .collect();
    let mut findings: Vec<Finding> = yanked(&files, locked)
        .map(|m| entry.finding(Kind::VersionYanked, String::new(), m, None))
        .into_iter()
        .collect();
    let served = served_files(&files, index).map_err(|e| entry.fail(e))?;
    for drift in new_to_the_lock(entry.package, drift::compare(entry.package, &served)) {
        let (kind, message, when) = describe(&drift);
        findings.push(entry.finding(kind, drift.file().to_owned(), message, when));
    }
    Ok(findings)
}

/// With `--releases`: the locked version must be one the release process made; every other
/// version on the index that no deliverable lists, from the first one they list on, is reported
/// with its first upload.
fn release_findings(
    entry: &Entry<'_>,
    files: &[ProjectFile],
    made: &std::collections::BTreeSet<Version>,
) -> Vec<Finding> {
    let locked = &entry.locked;
    let finding = |kind, subject, message, when| entry.finding(kind, subject, message, when);
    let mut found = Vec::new();
    if !made.contains(locked) {
        let message = format!(
            "the release records list no version {locked} of this deliverable{}",
            latest_made(made)
        );
        found.push(finding(Kind::NotReleased, String::new(), message, None));
    }
    // Versions older than the first one the records list predate the deliverable's release
    // records (libraries uploaded by hand before 2015): nothing a release team can act on.
    let recorded_since = made.first();
    for (version, uploaded) in first_uploads(files) {
        let predates = recorded_since.is_some_and(|first| version < *first);
        if version != *locked && !made.contains(&version) && !predates {
            let message = "on the index, and the release records list no such version".to_owned();
            found.push(finding(
                Kind::UnreleasedVersion,
                version.to_string(),
                message,
                uploaded,
            ));
        }
    }
    found
}

fn latest_made(made: &std::collections::BTreeSet<Version>) -> String {
    made.last().map_or_else(
        || " (they list none)".to_owned(),
        |v| format!(" (the latest they list is {v})"),
    )
}

/// The message when every file of the locked version is yanked.
fn yanked(files: &[&ProjectFile], version: &Version) -> Option<String> {
    if files.is_empty() || files.iter().any(|f| f.page.yanked.is_none()) {
        return None;
    }
    let reason = files
        .iter()
        .find_map(|f| f.page.yanked.as_ref()?.reason.clone())
        .map_or_else(|| "no reason given".to_owned(), |r| format!("reason: {r}"));
    Some(format!("version {version} is yanked ({reason})"))
}

/// The files as the index serves them, with their sha256: published, else downloaded and
/// hashed as `lock` does.
fn served_files(files: &[&ProjectFile], index: &Index) -> Result<Vec<ServedFile>, String> {
    files
        .par_iter()
        .map(|file| {
            let (sha256, size) = match &file.page.sha256 {
                Some(hex) => (
                    Sha256::from_str(hex).map_err(|e| {
                        format!(
                            "the index gives `{}` a malformed sha256: {e}",
                            file.page.filename
                        )
                    })?,
                    file.page.size,
                ),
                None => {
                    let digest = locker::compute_digest(file, index).map_err(|e| e.to_string())?;
                    (digest.sha256, Some(digest.size))
                }
            };
            Ok(ServedFile {
                name: file.page.filename.clone(),
                sha256,
                size,
                upload_time: file.page.upload_time.clone(),
            })
        })
        .collect()
}

/// Drops files "added" that were uploaded before the newest locked file: they existed when
/// the lock was made.
fn new_to_the_lock(package: &Package, drifts: Vec<FileDrift>) -> Vec<FileDrift> {
    let newest_locked = package
        .files()
        .map(|f| f.upload_time.as_ref().and_then(instant))
        .collect::<Option<Vec<_>>>()
        .and_then(|times| times.into_iter().max());
    drifts
        .into_iter()
        .filter(|drift| match (drift, newest_locked) {
            (FileDrift::Added { upload_time, .. }, Some(newest)) => upload_time
                .as_deref()
                .and_then(parse_upload_time)
                .as_ref()
                .and_then(instant)
                .is_none_or(|uploaded| uploaded > newest),
            _ => true,
        })
        .collect()
}

fn describe(drift: &FileDrift) -> (Kind, String, Option<String>) {
    match drift {
        FileDrift::Vanished { .. } => (
            Kind::FileVanished,
            "the locked file is no longer served".into(),
            None,
        ),
        FileDrift::DigestChanged { locked, served, .. } => (
            Kind::DigestChanged,
            format!("served with sha256:{served}, locked with sha256:{locked}"),
            None,
        ),
        FileDrift::SizeChanged { locked, served, .. } => (
            Kind::SizeChanged,
            format!("served with {served} bytes, locked with {locked}"),
            None,
        ),
        FileDrift::Added { upload_time, .. } => (
            Kind::FileAdded,
            "added to the locked version after the lock was made".into(),
            upload_time.clone(),
        ),
    }
}

/// Versions above `locked`, each with its first upload time.
fn newer_releases(files: &[ProjectFile], locked: &Version) -> Vec<(Version, Option<String>)> {
    first_uploads(files)
        .into_iter()
        .filter(|(version, _)| version > locked)
        .collect()
}

/// Every version of `files`, each with its first upload time, in version order.
fn first_uploads(files: &[ProjectFile]) -> Vec<(Version, Option<String>)> {
    let mut versions: BTreeMap<&Version, Option<String>> = BTreeMap::new();
    for file in files {
        let first = versions.entry(file.name.version()).or_default();
        if let Some(time) = &file.page.upload_time
            && first.as_ref().is_none_or(|t| earlier(time, t))
        {
            *first = Some(time.clone());
        }
    }
    versions
        .into_iter()
        .map(|(version, time)| (version.clone(), time))
        .collect()
}

fn earlier(a: &str, b: &str) -> bool {
    match (
        parse_upload_time(a).as_ref().and_then(instant),
        parse_upload_time(b).as_ref().and_then(instant),
    ) {
        (Some(a), Some(b)) => a < b,
        _ => a < b,
    }
}

/// A datetime as a comparable instant; the index gives UTC (`Z`), so the offset is not used.
fn instant(time: &Datetime) -> Option<(u16, u8, u8, u8, u8, u8, u32)> {
    let (date, time) = (time.date?, time.time?);
    Some((
        date.year,
        date.month,
        date.day,
        time.hour,
        time.minute,
        time.second.unwrap_or(0),
        time.nanosecond.unwrap_or(0),
    ))
}
