//! Provenance end to end: the real PEP 740 fixtures (tests/fixtures/attestations) served by a
//! local index, through `lock --attestations`, the guard and `pinguard provenance`.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::cli::{Pinguard, Run, scratch, write};
use support::dist::SdistBuilder;
use support::index::{DistFile, IndexBuilder, TestIndex};
use support::python::Venv;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/attestations");
const SDIST: &str = "pypi_attestations-0.0.19.tar.gz";
const WHEEL: &str = "rfc8785-0.1.2-py3-none-any.whl";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap()
}

/// The Integrity API's answer for rfc8785's wheel: its (staging) attestation, with the
/// publisher the index claims.
fn wheel_provenance(email: &str) -> Vec<u8> {
    let attestation: Value =
        serde_json::from_slice(&fixture(&format!("{WHEEL}.publish.attestation"))).unwrap();
    json!({"version": 1, "attestation_bundles": [{
        "publisher": {"kind": "Google", "email": email},
        "attestations": [attestation],
    }]})
    .to_string()
    .into_bytes()
}

/// pypi-attestations' sdist with its real Integrity API answer, linked from the pages
/// (production); rfc8785's wheel with its attestation at the Integrity API route only.
fn index_with(sdist_provenance: Option<Vec<u8>>, wheel_email: &str) -> TestIndex {
    let mut sdist = DistFile::new(
        "pypi-attestations",
        SDIST,
        fixture(&format!("artifacts/{SDIST}")),
    );
    if let Some(body) = sdist_provenance {
        sdist = sdist.provenance(body);
    }
    let wheel = DistFile::new("rfc8785", WHEEL, fixture(&format!("artifacts/{WHEEL}")))
        .provenance_unlinked(wheel_provenance(wheel_email));
    IndexBuilder::new().file(sdist).file(wheel).start()
}

fn real_index() -> TestIndex {
    index_with(
        Some(fixture(&format!("{SDIST}.provenance"))),
        "william@yossarian.net",
    )
}

fn pinguard(dir: &Path, args: &[&str]) -> Run {
    Pinguard::new(dir).args(args).run()
}

/// `lock --attestations` of `constraints` with the staging root (for the wheel's test
/// signature) or the embedded production root.
fn lock(dir: &Path, index: &TestIndex, constraints: &str, staging: bool) -> Run {
    write(dir, "upper-constraints.txt", constraints);
    let url = index.simple_url();
    let mut args = vec![
        "lock",
        "upper-constraints.txt",
        "--attestations",
        // The real files' dependencies are not on the test index.
        "--no-dependencies",
        "--index-url",
        &url,
    ];
    if staging {
        args.extend(["--trusted-root", "staging"]);
    }
    pinguard(dir, &args)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn lock_with_attestations_records_the_publisher_of_each_package() {
    let index = real_index();
    let dir = scratch();
    let run = lock(dir.path(), &index, "pypi-attestations===0.0.19\n", false);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .starts_with("Attestations: 1 of 1 package attested, their publishers recorded\n"),
        "{}",
        run.stderr
    );
    let text = read(dir.path(), "pylock.toml");
    assert!(
        text.contains(
            "[[packages.attestation-identities]]\nkind = \"GitHub\"\nrepository = \"trailofbits/pypi-attestations\"\nworkflow = \"release.yml\"\n"
        ),
        "{text}"
    );
    // The simple API linked the provenance: that link was read, not the Integrity API route.
    assert_links_were_read(&index);
}

fn assert_links_were_read(index: &TestIndex) {
    let linked = index
        .server()
        .requests_to(&format!("/files/{SDIST}.provenance"));
    let integrity = index.server().requests_to(&format!(
        "/integrity/pypi-attestations/0.0.19/{SDIST}/provenance"
    ));
    assert_eq!((linked.len(), integrity.len()), (1, 0));
}

#[test]
fn lock_reads_data_provenance_from_html_pages() {
    let index = real_index();
    index.site().set_html_only(true);
    let dir = scratch();
    let run = lock(dir.path(), &index, "pypi-attestations===0.0.19\n", false);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(read(dir.path(), "pylock.toml").contains("workflow = \"release.yml\"\n"));
    assert_links_were_read(&index);
}

#[test]
fn files_of_a_package_some_attested_and_some_not_are_reported_and_no_identity_recorded() {
    let mut index = real_index();
    index.add_file(DistFile::sdist(&SdistBuilder::new("rfc8785", "0.1.2")));
    let dir = scratch();
    let run = lock(dir.path(), &index, "rfc8785===0.1.2\n", true);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "warning: rfc8785==0.1.2: rfc8785-0.1.2.tar.gz not attested while the other files \
             are (Google william@yossarian.net); no identity recorded\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!read(dir.path(), "pylock.toml").contains("attestation-identities"));
}

#[test]
fn lock_finds_attestations_through_the_integrity_api_when_pages_do_not_link_them() {
    let index = real_index();
    let dir = scratch();
    let run = lock(dir.path(), &index, "rfc8785===0.1.2\n", true);
    assert_eq!(run.code, 0, "{run:?}");
    let text = read(dir.path(), "pylock.toml");
    assert!(
        text.contains(
            "[[packages.attestation-identities]]\nkind = \"Google\"\nemail = \"william@yossarian.net\"\n"
        ),
        "{text}"
    );
}

#[test]
fn a_package_without_attestations_is_locked_without_identities() {
    let index = index_with(None, "william@yossarian.net");
    let dir = scratch();
    let run = lock(dir.path(), &index, "pypi-attestations===0.0.19\n", false);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .starts_with("Attestations: 0 of 1 package attested, their publishers recorded\n"),
        "{}",
        run.stderr
    );
    assert!(!read(dir.path(), "pylock.toml").contains("attestation-identities"));
}

#[test]
fn an_attestation_that_fails_verification_fails_the_lock_and_nothing_is_written() {
    // The index serves the GitLab project's attestation as the sdist's provenance.
    let attestation: Value = serde_json::from_slice(&fixture(
        "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation",
    ))
    .unwrap();
    let provenance = json!({"version": 1, "attestation_bundles": [{
        "publisher": {"kind": "GitLab", "repository": "facutuesca/gitlab-oidc-project",
                      "workflow_filepath": ".gitlab-ci.yml", "environment": null},
        "attestations": [attestation],
    }]});
    let index = index_with(Some(provenance.to_string().into_bytes()), "x@example.com");
    let dir = scratch();
    let run = lock(dir.path(), &index, "pypi-attestations===0.0.19\n", false);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: pypi-attestations==0.0.19: pypi_attestations-0.0.19.tar.gz: attestation refused: \
         subject name check failed: the statement is about gitlab_oidc_project-0.0.3.tar.gz, \
         not pypi_attestations-0.0.19.tar.gz\n\
         error: attestations did not verify; nothing was written\n"
    );
    assert!(!dir.path().join("pylock.toml").exists());
}

/// A lock of rfc8785 with its identity, made against `index`.
fn locked_wheel(dir: &Path, index: &TestIndex) {
    let run = lock(dir, index, "rfc8785===0.1.2\n", true);
    assert_eq!(run.code, 0, "{run:?}");
}

fn fetch(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "fetch",
        "--dest",
        "wheels",
        "--all",
        "--trusted-root",
        "staging",
    ];
    args.extend(extra);
    pinguard(dir, &args)
}

#[test]
fn fetch_holds_files_to_the_locked_identity() {
    let index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    let run = fetch(dir.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(dir.path().join("wheels").join(WHEEL).exists());

    // The lock was made when another identity published it.
    let lock_text =
        read(dir.path(), "pylock.toml").replace("william@yossarian.net", "mallory@example.com");
    write(dir.path(), "pylock.toml", lock_text);
    std::fs::remove_dir_all(dir.path().join("wheels")).unwrap();
    let run = fetch(dir.path(), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: rfc8785==0.1.2: {WHEEL}: identity changed: the lock records Google \
             mallory@example.com, its attestation is from Google william@yossarian.net\n\
             error: nothing was fetched\n"
        )
    );
    assert!(!dir.path().join("wheels").exists(), "nothing is downloaded");
}

#[test]
fn fetch_refuses_a_file_whose_attestation_was_removed() {
    let mut index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    index.set_provenance(WHEEL, None);
    let run = fetch(dir.path(), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: rfc8785==0.1.2: {WHEEL} has no attestation; the lock records Google \
             william@yossarian.net\nerror: nothing was fetched\n"
        )
    );
}

#[test]
fn fetch_refuses_an_attestation_that_does_not_verify_naming_the_check() {
    let mut index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    let mut provenance: Value =
        serde_json::from_slice(&wheel_provenance("william@yossarian.net")).unwrap();
    let signature =
        &mut provenance["attestation_bundles"][0]["attestations"][0]["envelope"]["signature"];
    let text = signature.as_str().unwrap().to_owned();
    // Another base64 character at the middle: other signature bytes.
    let middle = text.len() / 2;
    let swapped = if &text[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    *signature = Value::from(format!(
        "{}{swapped}{}",
        &text[..middle],
        &text[middle + 1..]
    ));
    index.set_provenance(WHEEL, Some(provenance.to_string().into_bytes()));
    let run = fetch(dir.path(), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "error: rfc8785==0.1.2: {WHEEL}: attestation refused: DSSE signature check failed: "
        )) && run.stderr.ends_with("error: nothing was fetched\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn offline_fetch_works_from_cached_attestations() {
    let index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    let run = fetch(dir.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    drop(index);
    std::fs::remove_dir_all(dir.path().join("wheels")).unwrap();
    let run = fetch(dir.path(), &["--offline"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn require_attestations_refuses_a_package_without_recorded_identities() {
    let index = index_with(None, "william@yossarian.net");
    let dir = scratch();
    let run = lock(dir.path(), &index, "pypi-attestations===0.0.19\n", false);
    assert_eq!(run.code, 0, "{run:?}");
    let run = fetch(dir.path(), &["--require-attestations", "pypi_attestations"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: pypi-attestations==0.0.19: the lock records no attestation identity for it \
         (--require-attestations); lock with --attestations to record who publishes it\n\
         error: nothing was fetched\n"
    );
    let run = fetch(dir.path(), &["--require-attestations", "rfc8785"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn install_runs_pip_only_once_the_attestation_verified() {
    let mut index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    let Some(venv) = Venv::fresh(&dir.path().join("venv")) else {
        return;
    };
    let python = venv.python().display().to_string();
    index.set_provenance(WHEEL, None);
    let install = [
        "install",
        "pylock.toml",
        "--python",
        &python,
        "--trusted-root",
        "staging",
    ];
    let run = pinguard(dir.path(), &install);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.ends_with("error: nothing was installed\n"),
        "{}",
        run.stderr
    );
    assert!(venv.installed().iter().all(|p| !p.starts_with("rfc8785")));

    index.set_provenance(WHEEL, Some(wheel_provenance("william@yossarian.net")));
    let run = pinguard(dir.path(), &install);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(venv.installed().contains(&"rfc8785 0.1.2".to_owned()));
}

#[test]
fn provenance_shows_who_published_each_locked_file() {
    let index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    let run = pinguard(dir.path(), &["provenance", "--trusted-root", "staging"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "rfc8785==0.1.2 {WHEEL}: Google william@yossarian.net (log entry 28175749, integrated 2024-06-06T18:39:05Z)\n"
        )
    );
    let run = pinguard(
        dir.path(),
        &[
            "provenance",
            "--trusted-root",
            "staging",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let document: Value = serde_json::from_str(&run.stdout).unwrap();
    let file = &document["files"][0];
    assert_eq!(file["status"], "verified");
    assert_eq!(
        file["identity"],
        json!({"kind": "Google", "email": "william@yossarian.net"})
    );
    assert_eq!(file["provenance_url"], index.provenance_url(WHEEL));
}

#[test]
fn verify_holds_matching_files_to_the_locked_identity() {
    let index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    assert_eq!(fetch(dir.path(), &[]).code, 0);
    let verify = [
        "verify",
        "pylock.toml",
        "wheels",
        "--trusted-root",
        "staging",
    ];
    let run = pinguard(dir.path(), &verify);
    assert_eq!(run.code, 0, "{run:?}");
    let lock_text =
        read(dir.path(), "pylock.toml").replace("william@yossarian.net", "mallory@example.com");
    write(dir.path(), "pylock.toml", lock_text);
    let run = pinguard(dir.path(), &verify);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "error: rfc8785==0.1.2: {WHEEL}: identity changed: the lock records Google \
             mallory@example.com, its attestation is from Google william@yossarian.net\n\
             error: files match the lock but their attestations do not hold\n"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_package_locked_anew_keeps_its_recorded_publisher() {
    let index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    let url = index.simple_url();
    let run = pinguard(
        dir.path(),
        &[
            "lock",
            "upper-constraints.txt",
            "--no-dependencies",
            "--index-url",
            &url,
            "--refresh-package",
            "rfc8785",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        read(dir.path(), "pylock.toml")
            .contains("[[packages.attestation-identities]]\nkind = \"Google\"\nemail = \"william@yossarian.net\"\n")
    );
}

#[test]
fn relocking_with_attestations_reports_a_publisher_whose_attestations_disappeared() {
    let mut index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    index.set_provenance(WHEEL, None);
    let run = lock(dir.path(), &index, "rfc8785===0.1.2\n", true);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(
            "warning: rfc8785==0.1.2: its publisher changed: the previous lock recorded Google \
             william@yossarian.net, its files now carry no attestation\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn sync_installs_nothing_when_an_attestation_no_longer_holds() {
    let mut index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    let Some(venv) = Venv::fresh(&dir.path().join("venv")) else {
        return;
    };
    let python = venv.python().display().to_string();
    index.set_provenance(WHEEL, None);
    let sync = [
        "sync",
        "pylock.toml",
        "--python",
        &python,
        "--trusted-root",
        "staging",
    ];
    let run = pinguard(dir.path(), &sync);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.ends_with(&format!(
            "error: rfc8785==0.1.2: {WHEEL} has no attestation; the lock records Google \
             william@yossarian.net\nerror: nothing was changed\n"
        )),
        "{}",
        run.stderr
    );
    assert!(venv.installed().iter().all(|p| !p.starts_with("rfc8785")));
}

#[test]
fn a_trusted_root_can_be_given_as_a_file_and_a_missing_one_is_named() {
    let index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    let root = format!("{FIXTURES}/trusted_root.staging.json");
    let run = pinguard(dir.path(), &["provenance", "--trusted-root", &root]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = pinguard(
        dir.path(),
        &["provenance", "--trusted-root", "missing.json"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("error: --trusted-root `missing.json` is not valid: "),
        "{}",
        run.stderr
    );
    write(dir.path(), "bad.json", "{}");
    let run = pinguard(dir.path(), &["provenance", "--trusted-root", "bad.json"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: the trusted root bad.json is not usable: "),
        "{}",
        run.stderr
    );
}

#[test]
fn audit_reports_a_locked_file_whose_attestation_was_removed_or_no_longer_verifies() {
    let mut index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    let audit = |dir: &Path| {
        pinguard(
            dir,
            &[
                "audit",
                "pylock.toml",
                "--trusted-root",
                "staging",
                "--format",
                "json",
            ],
        )
    };
    let run = audit(dir.path());
    assert_eq!(run.code, 0, "{run:?}");

    index.set_provenance(WHEEL, None);
    let run = audit(dir.path());
    assert_eq!(run.code, 1, "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let codes: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [(
            "attestation-removed",
            "the index has no attestation for it; the lock records Google \
             william@yossarian.net"
        )]
    );

    // Another publisher claimed, which the certificate does not prove: it no longer verifies.
    index.set_provenance(WHEEL, Some(wheel_provenance("mallory@example.com")));
    let run = audit(dir.path());
    assert_eq!(run.code, 1, "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["code"], "attestation-invalid", "{report:#}");
    assert_eq!(finding["severity"], "critical", "{report:#}");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .starts_with("its attestation does not verify: "),
        "{report:#}"
    );
}

#[test]
fn audit_reports_a_newer_release_published_without_attestations() {
    let mut index = real_index();
    let dir = scratch();
    locked_wheel(dir.path(), &index);
    index.add_file(
        DistFile::wheel(&support::dist::WheelBuilder::new("rfc8785", "0.1.3"))
            .upload_time("2026-11-30T08:00:00Z"),
    );
    let run = pinguard(
        dir.path(),
        &[
            "audit",
            "pylock.toml",
            "--trusted-root",
            "staging",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let findings: Vec<(&str, &str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            (
                "release-unattested",
                "warning",
                "newer release 0.1.3: the index has no attestation for it; the lock records \
                 Google william@yossarian.net"
            ),
            ("new-release", "info", "a newer release is on the index"),
        ]
    );
    let run = pinguard(
        dir.path(),
        &[
            "audit",
            "pylock.toml",
            "--trusted-root",
            "staging",
            "--fail-on",
            "warning",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
}
