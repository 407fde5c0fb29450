//! What each locked file's provenance proves: the one check `lock --attestations`, the guard
//! (`fetch`, `install`, `sync`) and `pinguard provenance` share, run over files in parallel.

use rayon::prelude::*;

use super::find::{self, FindError};
use super::{FileProvenance, Identity, Keys, verify_file};
use crate::cache::Cache;
use crate::http::HttpClient;
use crate::lock::{FileEntry, Package};
use crate::safe_url::SafeUrl;

/// One locked file to check.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Its package.
    pub package: &'a Package,
    /// The file.
    pub file: &'a FileEntry,
    /// The provenance URL the simple API gave, if any (else the Integrity API is asked).
    pub link: Option<&'a str>,
}

/// Every file of `packages`, each a subject whose provenance the Integrity API (or the
/// cached page link) is asked for.
pub fn subjects_of<'a>(packages: impl Iterator<Item = &'a Package>) -> Vec<Subject<'a>> {
    packages
        .flat_map(|package| {
            package.files().map(move |file| Subject {
                package,
                file,
                link: None,
            })
        })
        .collect()
}

/// What a file's provenance says.
#[derive(Debug)]
pub enum Outcome {
    /// An attestation verified.
    Verified {
        /// What it proved.
        verified: super::Verified,
        /// Where the provenance was read.
        url: SafeUrl,
        /// The sha256 of the provenance object.
        provenance_sha256: crate::digest::Sha256,
    },
    /// The index has no provenance for the file (or the file is on no index).
    NoAttestation,
    /// Attestations were found; none verified.
    Failed {
        /// Why each failed.
        failures: Vec<super::Failure>,
        /// When checked against recorded identities: the identity the attestation does prove
        /// (its publisher as the index claims it, proven by the certificate), if any.
        proven: Option<Identity>,
        /// Where the provenance was read.
        url: SafeUrl,
    },
    /// The provenance could not be fetched or read.
    Unreachable(FindError),
}

/// An outcome verified for the Google identity `email`, for the tests of what is made of
/// outcomes.
#[cfg(test)]
pub fn verified_by(email: &str) -> Outcome {
    Outcome::Verified {
        verified: super::Verified {
            identity: Identity::Google {
                email: email.to_owned(),
            },
            log_index: "1".to_owned(),
            integrated_time: "2024-01-01T00:00:00Z".to_owned(),
        },
        url: SafeUrl::parse("https://x/p").unwrap(),
        provenance_sha256: crate::digest::Sha256::of(b""),
    }
}

/// Checks each subject's provenance, `concurrency` at a time. With `use_recorded`, the
/// identities an attestation must match are its package's recorded ones when it has any;
/// otherwise the publisher the index claims (proven by the certificate).
pub fn check_all(
    subjects: &[Subject<'_>],
    http: &HttpClient,
    cache: &Cache,
    keys: &Keys,
    use_recorded: bool,
    concurrency: usize,
) -> Vec<Outcome> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(concurrency.max(1))
        .thread_name(|i| format!("pinguard-provenance-{i}"))
        .build()
        .expect("a thread pool of a few threads can be created");
    pool.install(|| {
        subjects
            .par_iter()
            .map(|subject| {
                let recorded = &subject.package.attestation_identities[..];
                let expected = (use_recorded && !recorded.is_empty()).then_some(recorded);
                check_one(subject, http, cache, keys, expected)
            })
            .collect()
    })
}

fn check_one(
    subject: &Subject<'_>,
    http: &HttpClient,
    cache: &Cache,
    keys: &Keys,
    expected: Option<&[Identity]>,
) -> Outcome {
    let url = subject
        .link
        .and_then(|link| SafeUrl::parse(link).ok())
        .or_else(|| {
            let index = subject.package.index.as_deref()?;
            let version = subject.package.version.as_ref()?;
            find::integrity_url(index, &subject.package.name, version, &subject.file.name)
        });
    let Some(url) = url else {
        return Outcome::NoAttestation;
    };
    let fetched = match find::fetch(http, cache, &url, &subject.file.name) {
        Ok(Some(fetched)) => fetched,
        Ok(None) => return Outcome::NoAttestation,
        Err(error) => return Outcome::Unreachable(error),
    };
    match verify_file(
        keys,
        &fetched.provenance,
        &subject.file.name,
        &subject.file.sha256,
        expected,
    ) {
        FileProvenance::Verified(verified) => Outcome::Verified {
            verified,
            url: fetched.url,
            provenance_sha256: fetched.sha256,
        },
        FileProvenance::Failed(failures) => Outcome::Failed {
            proven: expected.and_then(|_| {
                match verify_file(
                    keys,
                    &fetched.provenance,
                    &subject.file.name,
                    &subject.file.sha256,
                    None,
                ) {
                    FileProvenance::Verified(verified) => Some(verified.identity),
                    FileProvenance::Failed(_) => None,
                }
            }),
            failures,
            url: fetched.url,
        },
    }
}
