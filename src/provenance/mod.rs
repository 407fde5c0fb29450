//! Provenance: PEP 740 attestations of locked files, verified offline, and the publisher
//! identities (PEP 751 `[[packages.attestation-identities]]`) they prove.
//!
//! - [`identity`]: identities, the index's `publisher` claim, matching certificate claims;
//! - [`verify`]: one attestation against a file name and its locked sha256 (Sigstore chain,
//!   SCT, DSSE signature, Rekor entry, in-toto statement), then against identities;
//! - [`find`], [`check`], [`record`], [`watch`]: finding provenance, checking each file,
//!   what a lock records, identity changes (for `audit`);
//! - this module: the Integrity API's answer ([`Provenance`]) and verifying every attestation
//!   of a file ([`verify_file`]).
//!
//! Attestations are found by [`find`]: the simple API's `provenance` URL (PEP 740), else the
//! Integrity API route, fetched through the page cache ([`crate::index::fetch_page`]).

pub mod check;
pub mod find;
pub mod identity;
pub mod record;
pub mod verify;
pub mod watch;

use serde_json::Value;

pub use identity::{Identity, Publisher};
pub use verify::{Attestation, Check, Failure, Keys, TrustRoot, Verified};

use crate::digest::Sha256;

/// The media type of the Integrity API's answer (PEP 740).
pub const INTEGRITY_MEDIA_TYPE: &str = "application/vnd.pypi.integrity.v1+json";

/// One attestation bundle: the attestations one publisher made for a file.
#[derive(Debug, Clone)]
pub struct AttestationBundle {
    /// The index's unsigned claim of who published.
    pub publisher: Publisher,
    /// The attestations, each parsed, or why it could not be.
    pub attestations: Vec<Result<Attestation, Failure>>,
}

/// A file's provenance object (the Integrity API's answer).
#[derive(Debug, Clone)]
pub struct Provenance {
    /// Its bundles, in the index's order.
    pub bundles: Vec<AttestationBundle>,
}

/// Why a provenance object could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the provenance object is not PEP 740 JSON: {0}")]
pub struct ProvenanceError(String);

impl Provenance {
    /// Reads the Integrity API's JSON (`{version: 1, attestation_bundles: [...]}`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProvenanceError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ProvenanceError(e.to_string()))?;
        let bundles = value
            .get("attestation_bundles")
            .and_then(Value::as_array)
            .ok_or_else(|| ProvenanceError("no `attestation_bundles` list".to_owned()))?;
        let bundles = bundles
            .iter()
            .map(|bundle| AttestationBundle {
                publisher: bundle.get("publisher").map_or(
                    Publisher::Unverifiable {
                        kind: "(none)".to_owned(),
                    },
                    Publisher::from_json,
                ),
                attestations: bundle
                    .get("attestations")
                    .and_then(Value::as_array)
                    .map(|list| list.iter().map(Attestation::from_json).collect())
                    .unwrap_or_default(),
            })
            .collect();
        Ok(Self { bundles })
    }
}

/// What a file's provenance proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProvenance {
    /// At least one attestation verified; the first one that did.
    Verified(Verified),
    /// No attestation verified: why each failed (in order), never empty.
    Failed(Vec<Failure>),
}

/// Verifies a file's provenance. With `expected` identities (from the lock) an attestation
/// must match one of them; without, it must match the publisher the index claims for its
/// bundle (the claim is used only once the certificate proves it).
pub fn verify_file(
    keys: &Keys,
    provenance: &Provenance,
    filename: &str,
    sha256: &Sha256,
    expected: Option<&[Identity]>,
) -> FileProvenance {
    let mut failures = Vec::new();
    for bundle in &provenance.bundles {
        let claimed;
        let identities = match (expected, &bundle.publisher) {
            (Some(expected), _) => expected,
            (None, Publisher::Known(identity)) => {
                claimed = [identity.clone()];
                &claimed[..]
            }
            (None, Publisher::Unverifiable { kind }) => {
                failures.push(unverifiable(kind));
                continue;
            }
        };
        for attestation in &bundle.attestations {
            let outcome = attestation
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|attestation| {
                    verify::verify(keys, attestation, filename, sha256, identities)
                });
            match outcome {
                Ok(verified) => return FileProvenance::Verified(verified),
                Err(failure) => failures.push(failure),
            }
        }
    }
    if failures.is_empty() {
        failures.push(Failure {
            check: Check::Format,
            detail: "the provenance object has no attestation".to_owned(),
        });
    }
    FileProvenance::Failed(failures)
}

fn unverifiable(kind: &str) -> Failure {
    Failure {
        check: Check::PublisherKind,
        detail: format!("a {kind} publisher has no certificate claims pinguard can check"),
    }
}

#[cfg(test)]
mod tests;
