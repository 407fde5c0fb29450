//! Verifying one PEP 740 attestation offline against a locked file.
//!
//! An attestation (PEP 740 `Attestation`: `verification_material` with the signing certificate
//! and one transparency-log entry, `envelope` with the in-toto statement and its DSSE
//! signature) is turned into the Sigstore bundle (v0.3) it was cut from and verified by
//! `sigstore-verify`: the Fulcio chain at the log's integrated time, the SCT, the DSSE
//! signature, the Rekor entry (signed entry timestamp, inclusion proof, signed checkpoint, the
//! entry matching the bundle) and the binding to the *locked* sha256. The statement is then
//! checked as PyPI requires: exactly one subject, named as the file, with the locked digest, and
//! the PyPI publish predicate. Last, the certificate's claims must match an identity.

use std::fmt;

use serde::Deserialize;
use serde_json::{Value, json};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{Artifact, Bundle, Sha256Hash, SignatureContent};
use sigstore_verify::{
    CertificateError, Error, TransparencyLogError, VerificationPolicy, Verifier,
};

use super::identity::Identity;
use crate::digest::Sha256;
use crate::filename::WheelFilename;

/// The Sigstore production trusted root (from sigstore-python, byte-identical to the one
/// `sigstore-trust-root` 0.15.1 embeds).
const PRODUCTION_ROOT: &str = include_str!("trusted_root.production.json");
/// The Sigstore staging trusted root, for test signatures.
const STAGING_ROOT: &str = include_str!("trusted_root.staging.json");

/// The predicate type of PyPI's publish attestation.
pub const PUBLISH_PREDICATE: &str = "https://docs.pypi.org/attestations/publish/v1";

/// Which Sigstore instance's keys attestations are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustRoot {
    /// Sigstore's public good instance (what PyPI uses): embedded.
    Production,
    /// Sigstore's staging instance (test signatures): embedded.
    Staging,
    /// A `trusted_root.json` read from a file.
    Custom {
        /// The file, for messages.
        path: String,
        /// Its text.
        json: String,
    },
}

/// Why a trusted root could not be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "the trusted root {name} is not usable: {reason}; give a Sigstore trusted_root.json \
     (protobuf-specs JSON)"
)]
pub struct TrustRootError {
    name: String,
    reason: String,
}

/// The keys of one trusted root, ready to verify many attestations (shared across threads).
pub struct Keys {
    root: TrustedRoot,
    verifier: Verifier,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

impl Keys {
    /// Loads the trusted root.
    pub fn new(root: &TrustRoot) -> Result<Self, TrustRootError> {
        let (name, json) = match root {
            TrustRoot::Production => ("(embedded, production)", PRODUCTION_ROOT),
            TrustRoot::Staging => ("(embedded, staging)", STAGING_ROOT),
            TrustRoot::Custom { path, json } => (path.as_str(), json.as_str()),
        };
        let error = |e: &dyn std::fmt::Display| TrustRootError {
            name: name.to_owned(),
            reason: e.to_string(),
        };
        let root = TrustedRoot::from_json(json).map_err(|e| error(&e))?;
        let verifier = Verifier::new(&root).map_err(|e| error(&e))?;
        Ok(Self { root, verifier })
    }
}

/// The check an attestation failed, named as users read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// The attestation is not a well-formed PEP 740 attestation.
    Format,
    /// The Fulcio certificate chain, its validity at the integrated time, its key usage.
    Chain,
    /// The certificate's signed certificate timestamp.
    Sct,
    /// The DSSE signature over the statement.
    Signature,
    /// The log is not one of the trusted root's.
    Log,
    /// The signed entry timestamp (Rekor's inclusion promise).
    EntryTimestamp,
    /// The Merkle inclusion proof.
    InclusionProof,
    /// The signed checkpoint.
    Checkpoint,
    /// The log entry describes another signature, key or statement than the bundle's.
    LogEntry,
    /// The integrated time.
    IntegratedTime,
    /// The statement does not have exactly one subject named as the file.
    SubjectName,
    /// The subject's sha256 is not the locked digest.
    SubjectDigest,
    /// Not the PyPI publish attestation.
    PredicateType,
    /// The certificate's claims do not match the publisher.
    Identity,
    /// The publisher's kind has no claims pinguard can check.
    PublisherKind,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Format => "attestation format",
            Self::Chain => "certificate chain",
            Self::Sct => "certificate SCT",
            Self::Signature => "DSSE signature",
            Self::Log => "transparency log",
            Self::EntryTimestamp => "signed entry timestamp",
            Self::InclusionProof => "inclusion proof",
            Self::Checkpoint => "signed checkpoint",
            Self::LogEntry => "log entry",
            Self::IntegratedTime => "integrated time",
            Self::SubjectName => "subject name",
            Self::SubjectDigest => "subject digest",
            Self::PredicateType => "predicate type",
            Self::Identity => "identity",
            Self::PublisherKind => "publisher kind",
        })
    }
}

/// An attestation that did not verify: the check that failed and what it saw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{check} check failed: {detail}")]
pub struct Failure {
    /// The check.
    pub check: Check,
    /// What it saw.
    pub detail: String,
}

impl Failure {
    fn new(check: Check, detail: impl Into<String>) -> Self {
        Self {
            check,
            detail: detail.into(),
        }
    }
}

/// A PEP 740 attestation as the index serves it, parsed into the bundle it verifies as.
#[derive(Debug, Clone)]
pub struct Attestation {
    bundle: Bundle,
    /// The log entry's index in the transparency log.
    pub log_index: String,
}

impl Attestation {
    /// Reads a PEP 740 attestation (`{version, verification_material, envelope}`) or a
    /// Sigstore bundle (v0.3, `mediaType` …) from JSON.
    pub fn from_json(value: &Value) -> Result<Self, Failure> {
        let bundle_json = if value.get("mediaType").is_some() {
            value.clone()
        } else {
            bundle_from_pep740(value)?
        };
        let bundle = Bundle::from_json(&bundle_json.to_string())
            .map_err(|e| Failure::new(Check::Format, e.to_string()))?;
        let log_index = bundle
            .verification_material
            .tlog_entries
            .first()
            .and_then(|_| bundle_json.pointer("/verificationMaterial/tlogEntries/0/logIndex"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        Ok(Self { bundle, log_index })
    }
}

/// PEP 740's attestation shape → the Sigstore bundle v0.3 it was cut from (what
/// pypi-attestations' `to_bundle` does).
fn bundle_from_pep740(value: &Value) -> Result<Value, Failure> {
    let field = |pointer: &str| {
        value
            .pointer(pointer)
            .cloned()
            .ok_or_else(|| Failure::new(Check::Format, format!("no `{}`", &pointer[1..])))
    };
    if value.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(Failure::new(Check::Format, "not a version 1 attestation"));
    }
    let entries = field("/verification_material/transparency_entries")?;
    if entries.as_array().map(Vec::len) != Some(1) {
        return Err(Failure::new(
            Check::Format,
            "an attestation has exactly one transparency entry",
        ));
    }
    Ok(json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": field("/verification_material/certificate")?},
            "tlogEntries": entries,
        },
        "dsseEnvelope": {
            "payload": field("/envelope/statement")?,
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": field("/envelope/signature")?}],
        },
    }))
}

/// What a verified attestation proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The identity the certificate matched.
    pub identity: Identity,
    /// The transparency log entry's index.
    pub log_index: String,
    /// When the log integrated the entry (RFC 3339).
    pub integrated_time: String,
}

/// The in-toto statement's fields PyPI's checks read.
#[derive(Deserialize)]
struct Statement {
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
}

#[derive(Deserialize)]
struct Subject {
    name: String,
    digest: SubjectDigest,
}

#[derive(Deserialize)]
struct SubjectDigest {
    sha256: Option<String>,
}

/// Verifies `attestation` for the file `filename` whose locked digest is `sha256`, and matches
/// its certificate against `identities` (the first that matches is returned).
pub fn verify(
    keys: &Keys,
    attestation: &Attestation,
    filename: &str,
    sha256: &Sha256,
    identities: &[Identity],
) -> Result<Verified, Failure> {
    check_statement(&attestation.bundle, filename, sha256)?;
    check_log(keys, &attestation.bundle)?;
    let digest = Sha256Hash::new(*sha256.as_bytes());
    let result = keys
        .verifier
        .verify(
            Artifact::from_digest(digest),
            &attestation.bundle,
            &VerificationPolicy::any_identity(),
        )
        .map_err(failure_of)?;
    let certificate = result
        .certificate()
        .filter(|_| {
            result.certificate_verified() && result.sct_verified() && result.tlog_verified()
        })
        .ok_or_else(|| {
            Failure::new(
                Check::Chain,
                "the certificate, its SCT or the log entry was not verified",
            )
        })?;
    let identity = match_identity(certificate, identities)?;
    Ok(Verified {
        identity: identity.clone(),
        log_index: attestation.log_index.clone(),
        integrated_time: result
            .integrated_time()
            .map_or_else(|| "?".to_owned(), |t| t.to_string()),
    })
}

/// The entry's log must be one of the trusted root's (a staging signature checked against
/// production, or the other way round, stops here).
fn check_log(keys: &Keys, bundle: &Bundle) -> Result<(), Failure> {
    for entry in &bundle.verification_material.tlog_entries {
        let key_id = &entry.log_id.key_id;
        if keys.root.rekor_key_for_log(key_id).is_err() {
            return Err(Failure::new(
                Check::Log,
                format!(
                    "the entry is in log {key_id}, which the trusted root does not hold \
                     (a signature of another Sigstore instance?)"
                ),
            ));
        }
    }
    Ok(())
}

fn match_identity<'a>(
    certificate: &sigstore_verify::crypto::CertificateInfo,
    identities: &'a [Identity],
) -> Result<&'a Identity, Failure> {
    let mut reasons = Vec::new();
    for identity in identities {
        match identity.matches(certificate) {
            Ok(()) => return Ok(identity),
            Err(reason) => reasons.push(format!("{identity}: {reason}")),
        }
    }
    if reasons.is_empty() {
        reasons.push("no identity to match".to_owned());
    }
    Err(Failure::new(Check::Identity, reasons.join("; ")))
}

/// Exactly one subject, named as the file, with the locked digest; the publish predicate.
fn check_statement(bundle: &Bundle, filename: &str, sha256: &Sha256) -> Result<(), Failure> {
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return Err(Failure::new(Check::Format, "no DSSE envelope"));
    };
    let statement: Statement = serde_json::from_slice(envelope.payload.as_bytes())
        .map_err(|e| Failure::new(Check::Format, format!("the statement is not in-toto: {e}")))?;
    let [subject] = statement.subject.as_slice() else {
        return Err(Failure::new(
            Check::SubjectName,
            format!(
                "the statement has {} subjects, PyPI's has one",
                statement.subject.len()
            ),
        ));
    };
    if !same_file_name(&subject.name, filename) {
        return Err(Failure::new(
            Check::SubjectName,
            format!("the statement is about {}, not {filename}", subject.name),
        ));
    }
    let locked = sha256.to_string();
    let attested = subject.digest.sha256.as_deref().unwrap_or("absent");
    if !attested.eq_ignore_ascii_case(&locked) {
        return Err(Failure::new(
            Check::SubjectDigest,
            format!("the statement's sha256 is {attested}, the locked one is {locked}"),
        ));
    }
    if statement.predicate_type != PUBLISH_PREDICATE {
        return Err(Failure::new(
            Check::PredicateType,
            format!(
                "{} is not the PyPI publish attestation ({PUBLISH_PREDICATE})",
                statement.predicate_type
            ),
        ));
    }
    Ok(())
}

/// Whether two distribution file names name the same file: wheels compare by name, version,
/// build tag and the sets of tags (tag order inside a compressed set does not matter); other
/// files by their text, ignoring case.
pub fn same_file_name(a: &str, b: &str) -> bool {
    match (WheelFilename::parse(a), WheelFilename::parse(b)) {
        (Some(a), Some(b)) => {
            let sorted = |tags: &[String]| {
                let mut tags = tags.to_vec();
                tags.sort();
                tags
            };
            a.name == b.name
                && a.version == b.version
                && a.build == b.build
                && sorted(&a.python) == sorted(&b.python)
                && sorted(&a.abi) == sorted(&b.abi)
                && sorted(&a.platform) == sorted(&b.platform)
        }
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// sigstore-verify's error → the check it names.
fn failure_of(error: Error) -> Failure {
    let check = match &error {
        Error::Certificate(CertificateError::Sct(_)) => Check::Sct,
        Error::Certificate(_) | Error::TrustedCertificate(_) => Check::Chain,
        Error::TransparencyLog(log) => match log {
            TransparencyLogError::UnknownLog { .. } => Check::Log,
            TransparencyLogError::InclusionProof(_) => Check::InclusionProof,
            TransparencyLogError::Checkpoint(_) => Check::Checkpoint,
            TransparencyLogError::InclusionPromise(_) => Check::EntryTimestamp,
            TransparencyLogError::IntegratedTime(_) => Check::IntegratedTime,
            _ => Check::LogEntry,
        },
        Error::SignatureInvalid(_) => Check::Signature,
        Error::ArtifactMismatch(_) => Check::SubjectDigest,
        Error::IdentityMismatch { .. } | Error::IssuerMismatch { .. } => Check::Identity,
        _ => Check::Format,
    };
    Failure::new(check, error.to_string())
}
