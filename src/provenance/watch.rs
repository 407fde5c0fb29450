//! Watching identities over time (uv#9122's downgrade): is a newer release of a package, or a
//! locked file whose provenance the index changed, still published by a recorded identity?
//!
//! The `audit` command calls [`watch`] with the outcome of [`super::check::check_all`] run
//! without recorded identities (`use_recorded = false`, so an attestation is verified against
//! the publisher the index claims and the identity it proves is known) for each file of a
//! newer release, or for each locked file.

use super::Identity;
use super::check::Outcome;

/// How a file's provenance compares with the identities a lock records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Published by one of the recorded identities.
    Same,
    /// Attested, by another identity (shown beside the recorded ones).
    OtherIdentity(Identity),
    /// No attestation: what was attested is no longer (a downgrade).
    Unattested,
    /// Attestations that do not verify (the reasons, as each failed check reads).
    Unverifiable(Vec<String>),
    /// The provenance could not be fetched; nothing can be said.
    Unknown(String),
}

/// Compares one outcome with `recorded` identities. With none recorded, an attested file is a
/// change too (a package that starts publishing attestations can be pinned to them).
pub fn watch(recorded: &[Identity], outcome: &Outcome) -> Change {
    match outcome {
        Outcome::Verified { verified, .. } if recorded.contains(&verified.identity) => Change::Same,
        Outcome::Verified { verified, .. } => Change::OtherIdentity(verified.identity.clone()),
        Outcome::NoAttestation if recorded.is_empty() => Change::Same,
        Outcome::NoAttestation => Change::Unattested,
        Outcome::Failed { failures, .. } => {
            Change::Unverifiable(failures.iter().map(ToString::to_string).collect())
        }
        Outcome::Unreachable(error) => Change::Unknown(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provenance::{Check, Failure};

    use crate::provenance::check::verified_by as verified;

    #[test]
    fn a_release_from_another_identity_or_without_attestation_is_a_change() {
        let recorded = [Identity::Google {
            email: "a@example.com".to_owned(),
        }];
        assert_eq!(watch(&recorded, &verified("a@example.com")), Change::Same);
        assert_eq!(
            watch(&recorded, &verified("b@example.com")),
            Change::OtherIdentity(Identity::Google {
                email: "b@example.com".to_owned()
            })
        );
        assert_eq!(
            watch(&recorded, &Outcome::NoAttestation),
            Change::Unattested
        );
        assert_eq!(watch(&[], &Outcome::NoAttestation), Change::Same);
        let failed = Outcome::Failed {
            failures: vec![Failure {
                check: Check::Signature,
                detail: "bad".to_owned(),
            }],
            proven: None,
            url: crate::safe_url::SafeUrl::parse("https://x/p").unwrap(),
        };
        assert_eq!(
            watch(&recorded, &failed),
            Change::Unverifiable(vec!["DSSE signature check failed: bad".to_owned()])
        );
    }
}
