//! Every real fixture (tests/fixtures/attestations, see its README) verifies; each negative
//! case derived from them is refused with the check that failed.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attestations");
    fs_err::read(path.join(name)).unwrap()
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn keys(root: TrustRoot) -> Keys {
    Keys::new(&root).unwrap()
}

fn github(repository: &str, workflow: &str) -> Identity {
    Identity::GitHub {
        repository: repository.to_owned(),
        workflow: workflow.to_owned(),
        environment: None,
    }
}

fn gitlab(repository: &str, workflow_filepath: &str) -> Identity {
    Identity::GitLab {
        repository: repository.to_owned(),
        workflow_filepath: workflow_filepath.to_owned(),
        environment: None,
    }
}

fn google(email: &str) -> Identity {
    Identity::Google {
        email: email.to_owned(),
    }
}

const SDIST: &str = "pypi_attestations-0.0.19.tar.gz";
const SDIST_SHA: &str = "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3";
const GITLAB: &str = "gitlab_oidc_project-0.0.3.tar.gz";
const GITLAB_SHA: &str = "c1ca9b0d85df1606451098233018534497bf584362e10e4a8c21dfaea92c02a8";
const MODELS: &str = "pypi_attestation_models-0.0.4a2.tar.gz";
const MODELS_SHA: &str = "c9709ce6fd5b67b59b4a28758cf14d3f411803c4b89b6068b1f1a8e4ee94c8ef";
const RFC: &str = "rfc8785-0.1.2-py3-none-any.whl";
const RFC_SHA: &str = "c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201";
const SPT3G_SHA: &str = "d2772f9a5199f05ed1be8d9aa78b879e51772e3ead9d73fe8057257b1aec7cf8";
const SPT3G_REORDERED: &str =
    "spt3g-1.0-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl";

fn check(
    root: TrustRoot,
    attestation: &Value,
    filename: &str,
    sha256: &str,
    identity: Identity,
) -> Result<Verified, Failure> {
    let attestation = Attestation::from_json(attestation)?;
    verify::verify(
        &keys(root),
        &attestation,
        filename,
        &sha256.parse().unwrap(),
        &[identity],
    )
}

fn publish() -> Value {
    json("pypi_attestations-0.0.19.tar.gz.publish.attestation")
}

fn slsa() -> Value {
    json("pypi_attestations-0.0.19.tar.gz.slsa.attestation")
}

fn own() -> Identity {
    github("trailofbits/pypi-attestations", "release.yml")
}

/// The whole reason, as users read it.
fn reason(result: Result<Verified, Failure>) -> String {
    match result {
        Ok(verified) => panic!("verified: {verified:?}"),
        Err(failure) => failure.to_string(),
    }
}

fn refused(result: Result<Verified, Failure>) -> Check {
    match result {
        Ok(verified) => panic!("verified: {verified:?}"),
        Err(failure) => {
            assert!(!failure.detail.is_empty());
            failure.check
        }
    }
}

/// Flips the lowest bit of the byte at the middle of a base64 string.
fn flip_bit(value: &mut Value) {
    let mut bytes = STANDARD.decode(value.as_str().unwrap()).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    *value = Value::String(STANDARD.encode(bytes));
}

#[test]
fn github_publish_attestation_verifies() {
    let verified = check(TrustRoot::Production, &publish(), SDIST, SDIST_SHA, own()).unwrap();
    assert_eq!(verified.identity, own());
    assert_eq!(verified.log_index, "153454663");
    assert_eq!(verified.integrated_time, "2024-12-04T23:14:01Z");
}

#[test]
fn integrity_api_answer_verifies_against_its_claimed_publisher() {
    let provenance =
        Provenance::from_json(&fixture("pypi_attestations-0.0.19.tar.gz.provenance")).unwrap();
    assert_eq!(provenance.bundles[0].publisher, Publisher::Known(own()));
    let outcome = verify_file(
        &keys(TrustRoot::Production),
        &provenance,
        SDIST,
        &SDIST_SHA.parse().unwrap(),
        None,
    );
    assert!(matches!(outcome, FileProvenance::Verified(v) if v.identity == own()));
}

#[test]
fn gitlab_attestation_verifies() {
    let attestation = json("gitlab_oidc_project-0.0.3.tar.gz.publish.attestation");
    let identity = gitlab("facutuesca/gitlab-oidc-project", ".gitlab-ci.yml");
    let verified = check(
        TrustRoot::Production,
        &attestation,
        GITLAB,
        GITLAB_SHA,
        identity.clone(),
    );
    assert_eq!(verified.unwrap().identity, identity);
}

#[test]
fn bundle_v03_original_and_its_pep740_form_verify() {
    let identity = github("trailofbits/pypi-attestation-models", "release.yml");
    for name in [
        "pypi_attestation_models-0.0.4a2.tar.gz.sigstore",
        "pypi_attestation_models-0.0.4a2.tar.gz.attestation",
    ] {
        let result = check(
            TrustRoot::Production,
            &json(name),
            MODELS,
            MODELS_SHA,
            identity.clone(),
        );
        assert!(result.is_ok(), "{name}: {result:?}");
    }
}

#[test]
fn email_attestation_on_staging_verifies() {
    let attestation = json("rfc8785-0.1.2-py3-none-any.whl.publish.attestation");
    let result = check(
        TrustRoot::Staging,
        &attestation,
        RFC,
        RFC_SHA,
        google("william@yossarian.net"),
    );
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn wheel_with_another_tag_order_verifies() {
    let attestation = json(
        "spt3g-1.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl.publish.attestation",
    );
    let result = check(
        TrustRoot::Staging,
        &attestation,
        SPT3G_REORDERED,
        SPT3G_SHA,
        google("william@yossarian.net"),
    );
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn file_with_a_flipped_byte_fails_the_subject_digest() {
    let mut artifact = fixture("artifacts/pypi_attestations-0.0.19.tar.gz");
    assert_eq!(Sha256::of(&artifact).to_string(), SDIST_SHA);
    artifact[100] ^= 1;
    let flipped = Sha256::of(&artifact).to_string();
    let result = check(TrustRoot::Production, &publish(), SDIST, &flipped, own());
    assert_eq!(
        reason(result),
        format!(
            "subject digest check failed: the statement's sha256 is {SDIST_SHA}, the locked one is {flipped}"
        )
    );
}

#[test]
fn other_file_name_fails_the_subject_name() {
    let result = check(
        TrustRoot::Production,
        &publish(),
        "pypi_attestations-0.0.20.tar.gz",
        SDIST_SHA,
        own(),
    );
    assert_eq!(
        reason(result),
        "subject name check failed: the statement is about pypi_attestations-0.0.19.tar.gz, \
         not pypi_attestations-0.0.20.tar.gz"
    );
}

#[test]
fn other_publisher_fails_the_identity() {
    let gitlab_attestation = json("gitlab_oidc_project-0.0.3.tar.gz.publish.attestation");
    let cases = [
        (
            publish(),
            SDIST,
            SDIST_SHA,
            github("trailofbits/pypi-attestations", "wrong.yml"),
        ),
        (
            gitlab_attestation.clone(),
            GITLAB,
            GITLAB_SHA,
            gitlab("facutuesca/gitlab-oidc-project", "wrong.yml"),
        ),
        (
            publish(),
            SDIST,
            SDIST_SHA,
            github("other/repo", "release.yml"),
        ),
        (
            publish(),
            SDIST,
            SDIST_SHA,
            gitlab("trailofbits/pypi-attestations", "release.yml"),
        ),
    ];
    for (attestation, name, sha, identity) in cases {
        let result = check(
            TrustRoot::Production,
            &attestation,
            name,
            sha,
            identity.clone(),
        );
        assert_eq!(refused(result), Check::Identity, "{identity}");
    }
    let email = json("rfc8785-0.1.2-py3-none-any.whl.publish.attestation");
    let result = check(
        TrustRoot::Staging,
        &email,
        RFC,
        RFC_SHA,
        google("someone@example.com"),
    );
    assert_eq!(
        reason(result),
        "identity check failed: Google someone@example.com: the certificate's email is \
         william@yossarian.net, the publisher's is someone@example.com"
    );
    let result = check(
        TrustRoot::Production,
        &publish(),
        SDIST,
        SDIST_SHA,
        github("trailofbits/pypi-attestations", "wrong.yml"),
    );
    assert_eq!(
        reason(result),
        "identity check failed: GitHub trailofbits/pypi-attestations workflow wrong.yml: the \
         certificate's Build Config URI is https://github.com/trailofbits/pypi-attestations/\
         .github/workflows/release.yml@refs/tags/v0.0.19, the publisher's is \
         https://github.com/trailofbits/pypi-attestations/.github/workflows/wrong.yml@…"
    );
}

#[test]
fn other_sigstore_instance_is_refused() {
    let result = check(TrustRoot::Staging, &publish(), SDIST, SDIST_SHA, own());
    assert_eq!(
        reason(result),
        "transparency log check failed: the entry is in log \
         wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=, which the trusted root does not hold \
         (a signature of another Sigstore instance?)"
    );
    let email = json("rfc8785-0.1.2-py3-none-any.whl.publish.attestation");
    let result = check(
        TrustRoot::Production,
        &email,
        RFC,
        RFC_SHA,
        google("william@yossarian.net"),
    );
    assert_eq!(refused(result), Check::Log);
}

#[test]
fn attestation_of_another_file_fails_the_subject_name() {
    let other = json("gitlab_oidc_project-0.0.3.tar.gz.publish.attestation");
    let result = check(TrustRoot::Production, &other, SDIST, SDIST_SHA, own());
    assert_eq!(refused(result), Check::SubjectName);
}

#[test]
fn rewritten_subject_digest_fails_the_signature() {
    let mut attestation = publish();
    let statement = attestation.pointer_mut("/envelope/statement").unwrap();
    let text = String::from_utf8(STANDARD.decode(statement.as_str().unwrap()).unwrap()).unwrap();
    let other = "0".repeat(64);
    *statement = Value::String(STANDARD.encode(text.replace(SDIST_SHA, &other)));
    let result = check(TrustRoot::Production, &attestation, SDIST, &other, own());
    assert_eq!(refused(result), Check::Signature);
}

#[test]
fn tampered_fields_fail_their_check() {
    let entry = "/verification_material/transparency_entries/0";
    let cases: [(&str, Check); 3] = [
        ("/envelope/signature", Check::Signature),
        ("/inclusionProof/hashes/0", Check::InclusionProof),
        (
            "/inclusionPromise/signedEntryTimestamp",
            Check::EntryTimestamp,
        ),
    ];
    for (pointer, expected) in cases {
        let mut attestation = publish();
        let pointer = if pointer.starts_with("/envelope") {
            pointer.to_owned()
        } else {
            format!("{entry}{pointer}")
        };
        flip_bit(attestation.pointer_mut(&pointer).unwrap());
        let result = check(TrustRoot::Production, &attestation, SDIST, SDIST_SHA, own());
        assert_eq!(refused(result), expected, "{pointer}");
    }
}

#[test]
fn changed_integrated_time_fails_the_signed_entry_timestamp() {
    let mut attestation = publish();
    let time = "/verification_material/transparency_entries/0/integratedTime";
    *attestation.pointer_mut(time).unwrap() = Value::String("1733354042".to_owned());
    let result = check(TrustRoot::Production, &attestation, SDIST, SDIST_SHA, own());
    assert_eq!(refused(result), Check::EntryTimestamp);
}

#[test]
fn spliced_log_entry_or_certificate_fails() {
    let mut spliced = publish();
    spliced["verification_material"]["transparency_entries"] =
        slsa()["verification_material"]["transparency_entries"].clone();
    // The other entry was integrated before this certificate was issued.
    let result = check(TrustRoot::Production, &spliced, SDIST, SDIST_SHA, own());
    assert_eq!(refused(result), Check::Chain);

    let mut swapped = publish();
    swapped["verification_material"]["certificate"] =
        slsa()["verification_material"]["certificate"].clone();
    let result = check(TrustRoot::Production, &swapped, SDIST, SDIST_SHA, own());
    assert_eq!(refused(result), Check::Signature);
}

#[test]
fn slsa_provenance_is_not_the_publish_attestation() {
    let result = check(TrustRoot::Production, &slsa(), SDIST, SDIST_SHA, own());
    assert_eq!(
        reason(result),
        "predicate type check failed: https://slsa.dev/provenance/v1 is not the PyPI publish \
         attestation (https://docs.pypi.org/attestations/publish/v1)"
    );
}

#[test]
fn unverifiable_publisher_kind_is_never_verified() {
    let mut provenance: Value =
        serde_json::from_slice(&fixture("pypi_attestations-0.0.19.tar.gz.provenance")).unwrap();
    provenance["attestation_bundles"][0]["publisher"] = serde_json::json!({"kind": "ActiveState"});
    let provenance = Provenance::from_json(provenance.to_string().as_bytes()).unwrap();
    let outcome = verify_file(
        &keys(TrustRoot::Production),
        &provenance,
        SDIST,
        &SDIST_SHA.parse().unwrap(),
        None,
    );
    let FileProvenance::Failed(failures) = outcome else {
        panic!("verified")
    };
    assert_eq!(failures[0].check, Check::PublisherKind);
}
