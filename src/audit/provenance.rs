//! Locked files' provenance against the identities the lock records (`lock --attestations`):
//! a file whose attestation the index removed, replaced by another publisher's, or changed so
//! that it no longer verifies — the downgrade uv#9122 asks to catch.

use super::{Finding, Kind};
use crate::cache::Cache;
use crate::http::HttpClient;
use crate::lock::Lock;
use crate::provenance::check::{Subject, check_all};
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
    let subjects: Vec<Subject<'_>> = lock
        .packages
        .iter()
        .filter(|p| !p.attestation_identities.is_empty())
        .flat_map(|package| {
            package.files().map(move |file| Subject {
                package,
                file,
                link: None,
            })
        })
        .collect();
    // Verified against the publisher the index claims now, so that the identity it proves
    // can be compared with the recorded ones.
    let outcomes = check_all(&subjects, http, cache, keys, false, concurrency);
    subjects
        .iter()
        .zip(&outcomes)
        .filter_map(|(subject, outcome)| {
            let recorded = &subject.package.attestation_identities;
            let (kind, message) = describe(recorded, watch(recorded, outcome))?;
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

/// The finding a change calls for; `None` when the file is still published by a recorded
/// identity.
fn describe(recorded: &[Identity], change: Change) -> Option<(Kind, String)> {
    let locked = recorded
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    Some(match change {
        Change::Same => return None,
        Change::OtherIdentity(identity) => (
            Kind::IdentityChanged,
            format!("its attestation is now from {identity}; the lock records {locked}"),
        ),
        Change::Unattested => (
            Kind::AttestationRemoved,
            format!("the index no longer has an attestation for it; the lock records {locked}"),
        ),
        Change::Unverifiable(reasons) => (
            Kind::AttestationInvalid,
            format!("its attestation no longer verifies: {}", reasons.join("; ")),
        ),
        Change::Unknown(reason) => (
            Kind::ProvenanceUnreadable,
            format!("its provenance could not be read: {reason}"),
        ),
    })
}
