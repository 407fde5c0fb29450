//! Provenance against the identities the lock records (`lock --attestations`): a locked file
//! whose attestation the index removed, replaced by another publisher's, or changed so that it
//! no longer verifies; and the newest release after the locked one published by another
//! identity or without attestations — the downgrade uv#9122 asks to catch.

use std::str::FromStr;

use pep440_rs::Version;

use super::{Finding, Kind};
use crate::cache::Cache;
use crate::digest::Sha256;
use crate::http::HttpClient;
use crate::index::{FileLocation, ProjectFile};
use crate::lock::{EntryLocation, FileEntry, Lock, Package};
use crate::provenance::check::{Subject, check_all, subjects_of};
use crate::provenance::watch::{Change, watch};
use crate::provenance::{Identity, Keys};

/// Checks every file of each package that records identities, `concurrency` at a time, and
/// says what changed. Packages without recorded identities are not asked about.
pub fn findings(
    lock: &Lock,
    http: &HttpClient,
    cache: &Cache,
    keys: &Keys,
    concurrency: usize,
) -> Vec<Finding> {
    let subjects = subjects_of(
        lock.packages
            .iter()
            .filter(|p| !p.attestation_identities.is_empty()),
    );
    // Verified against the publisher the index claims now, so that the identity it proves
    // can be compared with the recorded ones.
    let outcomes = check_all(&subjects, http, cache, keys, false, concurrency);
    subjects
        .iter()
        .zip(&outcomes)
        .filter_map(|(subject, outcome)| {
            let recorded = &subject.package.attestation_identities;
            let (kind, message) = describe(recorded, watch(recorded, outcome), Scope::Locked)?;
            Some(Finding {
                kind,
                package: subject.package.name.clone(),
                version: subject.package.version.clone(),
                subject: subject.file.name.clone(),
                message,
                when: None,
            })
        })
        .collect()
}

/// Whose files a change is about: the locked version's, or a newer release's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Locked,
    NewerRelease,
}

/// The finding a change calls for; `None` when the file is still published by a recorded
/// identity.
fn describe(recorded: &[Identity], change: Change, scope: Scope) -> Option<(Kind, String)> {
    let locked = recorded_text(recorded);
    let newer = scope == Scope::NewerRelease;
    Some(match change {
        Change::Same => return None,
        Change::OtherIdentity(identity) => (
            if newer {
                Kind::ReleaseIdentityChanged
            } else {
                Kind::IdentityChanged
            },
            format!("its attestation is from {identity}; the lock records {locked}"),
        ),
        Change::Unattested => (
            if newer {
                Kind::ReleaseUnattested
            } else {
                Kind::AttestationRemoved
            },
            format!("the index has no attestation for it; the lock records {locked}"),
        ),
        Change::Unverifiable(reasons) => (
            if newer {
                Kind::ReleaseIdentityChanged
            } else {
                Kind::AttestationInvalid
            },
            format!("its attestation does not verify: {}", reasons.join("; ")),
        ),
        Change::Unknown(reason) => (
            Kind::ProvenanceUnreadable,
            format!("its provenance could not be read: {reason}"),
        ),
    })
}

/// With identities recorded for `package`: who published the files of `version`, a newer
/// release on the index (`files`, as its page lists them, each with a digest), compared with
/// the recorded identities. A release from another identity, or without attestations, is the
/// downgrade an upgrade would bring.
pub fn newer_release_findings(
    package: &Package,
    version: &Version,
    files: &[&ProjectFile],
    http: &HttpClient,
    cache: &Cache,
    keys: &Keys,
) -> Vec<Finding> {
    // Each file as an entry (with its digest), beside the provenance link its page gives.
    let (entries, links): (Vec<FileEntry>, Vec<Option<&str>>) = files
        .iter()
        .filter_map(|f| Some((page_entry(f)?, f.page.provenance.as_deref())))
        .unzip();
    let mut release = package.clone();
    release.version = Some(version.clone());
    release.sdist = None;
    release.archive = None;
    release.wheels = entries;
    let subjects: Vec<Subject<'_>> = release
        .wheels
        .iter()
        .zip(links)
        .map(|(file, link)| Subject {
            package: &release,
            file,
            link,
        })
        .collect();
    let outcomes = check_all(&subjects, http, cache, keys, false, 1);
    let recorded = &package.attestation_identities;
    subjects
        .iter()
        .zip(&outcomes)
        .filter_map(|(subject, outcome)| {
            let (kind, message) =
                describe(recorded, watch(recorded, outcome), Scope::NewerRelease)?;
            Some(Finding {
                kind,
                package: package.name.clone(),
                version: package.version.clone(),
                subject: format!("{version} {}", subject.file.name),
                message: format!("newer release {version}: {message}"),
                when: subject.file.upload_time.map(|t| t.to_string()),
            })
        })
        .collect()
}

/// A file of a page as a lock entry, when the page gives its sha256 (what an attestation's
/// subject is checked against).
fn page_entry(file: &ProjectFile) -> Option<FileEntry> {
    let sha256 = Sha256::from_str(file.page.sha256.as_deref()?).ok()?;
    let FileLocation::Url(url) = &file.location else {
        return None;
    };
    Some(FileEntry {
        name: file.page.filename.clone(),
        location: EntryLocation::Url(url.without_credentials().to_string()),
        size: file.page.size,
        upload_time: file
            .page
            .upload_time
            .as_deref()
            .and_then(|t| t.parse().ok()),
        sha256,
    })
}

fn recorded_text(recorded: &[Identity]) -> String {
    recorded
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}
