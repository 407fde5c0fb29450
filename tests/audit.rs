//! `pinguard audit` against a local index that changes between `lock` and `audit`.

mod support;

use support::cli::{Pinguard, Run, scratch, write};
use support::dist::{SdistBuilder, WheelBuilder, sha256_hex};
use support::index::{DistFile, IndexBuilder, TestIndex};
use support::server::{Fault, Fires};

const LATE: &str = "2026-11-30T12:00:00.000000Z";

fn oslo_sdist() -> SdistBuilder {
    SdistBuilder::new("oslo.config", "10.7.0")
}

/// The index when the lock is made.
fn index_at_lock_time() -> TestIndex {
    IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("six", "1.17.0").tag("py2.py3-none-any"),
        ))
        .file(DistFile::sdist(&SdistBuilder::new("six", "1.17.0")))
        .file(DistFile::wheel(&WheelBuilder::new("oslo.config", "10.7.0")))
        .file(DistFile::sdist(&oslo_sdist()))
        .file(DistFile::wheel(&WheelBuilder::new("nohash", "2.0")).without_hash())
        .file(DistFile::wheel(&WheelBuilder::new("yanked-pkg", "1.0")))
        .file(DistFile::wheel(&WheelBuilder::new("evil-pkg", "1.0")))
        .file(DistFile::wheel(&WheelBuilder::new("stable", "1.0")))
        .start()
}

const CONSTRAINTS: &str = "\
six===1.17.0
oslo.config===10.7.0
nohash===2.0
yanked-pkg===1.0
evil-pkg===1.0
stable===1.0
";

/// Every change the issue lists, made to the index after the lock.
fn change_everything(index: &mut TestIndex) {
    let late = WheelBuilder::new("six", "1.17.0").tag("cp312-cp312-manylinux_2_17_x86_64");
    index.add_file(DistFile::wheel(&late).upload_time(LATE));
    index.add_file(
        DistFile::wheel(&WheelBuilder::new("six", "1.18.0")).upload_time("2026-11-01T08:00:00Z"),
    );
    index.add_file(
        DistFile::wheel(&WheelBuilder::new("six", "2.0.0rc1")).upload_time("2026-11-20T08:00:00Z"),
    );
    index.remove_file(&oslo_sdist().filename());
    index.tamper("nohash-2.0-py3-none-any.whl", b"evil".to_vec());
    index.yank("yanked_pkg-1.0-py3-none-any.whl", "broke imports");
    index.remove_file("evil_pkg-1.0-py3-none-any.whl");
    index.set_status("evil-pkg", "quarantined");
}

fn locked(index: &TestIndex) -> tempfile::TempDir {
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", CONSTRAINTS);
    let run = Pinguard::new(dir.path())
        .args([
            "lock",
            "upper-constraints.txt",
            "--index-url",
            &index.simple_url(),
        ])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    dir
}

fn audit(dir: &std::path::Path, extra: &[&str]) -> Run {
    Pinguard::new(dir)
        .args(["audit", "pylock.toml"])
        .args(extra)
        .run()
}

const FILE_ADDED_HINT: &str = "      what to do: find out who uploaded it and why before trusting this version; the lock does not hold it, so installs from the lock refuse it\n";

#[test]
fn audit_reports_every_change_on_the_index_since_the_lock() {
    let mut index = index_at_lock_time();
    let dir = locked(&index);
    let run = audit(dir.path(), &[]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run:?}");
    assert_eq!(
        run.stderr,
        "Audited 6 packages: 0 critical, 0 warning, 0 info\n"
    );

    let locked_digest = index.file("nohash-2.0-py3-none-any.whl").sha256();
    change_everything(&mut index);
    let run = audit(dir.path(), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let expected = format!(
        "\
critical:
  evil-pkg 1.0
    project-quarantined: the index marks the project quarantined
      what to do: the index suspects the project of being malicious: do not install it; remove the pin or move it to a project you trust
    version-unlisted: the index no longer lists version 1.0: none of its files is served
      what to do: the release was deleted or quarantined: check the project's page, and move the pin to a version the index lists
  nohash 2.0
    digest-changed nohash-2.0-py3-none-any.whl: served with sha256:{evil}, locked with sha256:{locked_digest}
      what to do: do not install it: the index serves other bytes under the locked name; keep the lock and tell the index's operators
  oslo-config 10.7.0
    file-vanished {sdist}: the locked file is no longer served
      what to do: find out why the index removed it; installs from the lock can no longer fetch it
  six 1.17.0
    file-added six-1.17.0-cp312-cp312-manylinux_2_17_x86_64.whl: added to the locked version after the lock was made (uploaded {LATE})
{FILE_ADDED_HINT}\
warning:
  yanked-pkg 1.0
    version-yanked: version 1.0 is yanked (reason: broke imports)
      what to do: read the reason, and move the pin to a version not yanked
info:
  six 1.17.0
    new-release 1.18.0: a newer release is on the index (uploaded 2026-11-01T08:00:00Z)
      what to do: read its changes before raising the pin; it was not in the lock
    new-pre-release 2.0.0rc1: a newer pre-release is on the index (uploaded 2026-11-20T08:00:00Z)
      what to do: read its changes before raising the pin; it was not in the lock
",
        evil = sha256_hex(b"evil"),
        sdist = oslo_sdist().filename(),
    );
    assert_eq!(run.stdout, expected);
    assert_eq!(
        run.stderr,
        "Audited 6 packages: 5 critical, 1 warning, 2 info\n"
    );
}

#[test]
fn an_archived_project_on_an_html_page_is_a_warning_failing_only_with_fail_on_warning() {
    let mut index = index_at_lock_time();
    let dir = locked(&index);
    index.site().set_html_only(true);
    index.set_status("stable", "archived");
    let run = audit(dir.path(), &["--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        r#"{
  "counts": {
    "critical": 0,
    "info": 0,
    "warning": 1
  },
  "findings": [
    {
      "code": "project-status",
      "hint": "plan a replacement: the project is no longer maintained",
      "message": "the index marks the project archived",
      "package": "stable",
      "severity": "warning",
      "subject": "",
      "uploaded": null,
      "version": "1.0"
    }
  ],
  "lock": "pylock.toml",
  "packages": 6,
  "version": 1
}
"#
    );
    let run = audit(dir.path(), &["--fail-on", "warning"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with("warning:\n  stable 1.0\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn markdown_groups_findings_for_a_mailing_list() {
    let mut index = index_at_lock_time();
    let dir = locked(&index);
    index.yank("yanked_pkg-1.0-py3-none-any.whl", "");
    index.add_file(
        DistFile::wheel(&WheelBuilder::new("stable", "1.1")).upload_time("2026-11-01T08:00:00Z"),
    );
    let run = audit(dir.path(), &["--format", "markdown"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
## pinguard audit of pylock.toml

6 packages audited: 0 critical, 1 warning, 1 info.

### warning

**yanked-pkg 1.0**

- version-yanked: version 1.0 is yanked (no reason given)  
  what to do: read the reason, and move the pin to a version not yanked

### info

**stable 1.0**

- new-release 1.1: a newer release is on the index (uploaded 2026-11-01T08:00:00Z)  
  what to do: read its changes before raising the pin; it was not in the lock
"
    );
}

#[test]
fn state_reports_only_new_findings_and_what_was_resolved() {
    let mut index = index_at_lock_time();
    let dir = locked(&index);
    let late = WheelBuilder::new("six", "1.17.0").tag("cp312-cp312-manylinux_2_17_x86_64");
    index.add_file(DistFile::wheel(&late).upload_time(LATE));
    let state = ["--state", "audit-state.json"];

    let first = audit(dir.path(), &state);
    assert_eq!(first.code, 1, "{first:?}");
    assert!(
        first.stdout.contains("file-added six-1.17.0-cp312"),
        "{}",
        first.stdout
    );
    assert_eq!(
        first.stderr,
        "Audited 6 packages: 1 critical, 0 warning, 0 info; 1 new, 0 resolved\n"
    );

    // Nothing new: nothing printed, exit 0, though the finding stands.
    let second = audit(dir.path(), &state);
    assert_eq!((second.code, second.stdout.as_str()), (0, ""), "{second:?}");
    assert_eq!(
        second.stderr,
        "Audited 6 packages: 1 critical, 0 warning, 0 info; 0 new, 0 resolved\n"
    );

    // A new finding is printed alone; the wheel's removal is a resolution.
    index.remove_file(&late.filename());
    index.remove_file(&oslo_sdist().filename());
    let third = audit(dir.path(), &state);
    assert_eq!(third.code, 1, "{third:?}");
    assert_eq!(
        third.stdout,
        format!(
            "\
critical:
  oslo-config 10.7.0
    file-vanished {}: the locked file is no longer served
      what to do: find out why the index removed it; installs from the lock can no longer fetch it
resolved since the last run:
  critical file-added six==1.17.0 six-1.17.0-cp312-cp312-manylinux_2_17_x86_64.whl
",
            oslo_sdist().filename()
        )
    );
}

#[test]
fn a_state_file_that_is_not_one_is_refused_before_any_query() {
    let index = index_at_lock_time();
    let dir = locked(&index);
    write(dir.path(), "audit-state.json", "{\"findings\": 3}");
    index.server().clear_log();
    let run = audit(dir.path(), &["--state", "audit-state.json"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: audit-state.json is not an audit state file (invalid type: integer `3`, expected a sequence at line 1 column 14); delete it, or name another file with --state\n"
    );
    assert!(index.server().requests().is_empty());
}

/// The roles as the public index's JSON API gave them on 2026-11-22
/// (`../shared/data/index-snapshot/pypi/<name>/json`).
fn openstack_index() -> TestIndex {
    IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("oslo.config", "10.6.0")))
        .file(DistFile::wheel(&WheelBuilder::new("oslo.config", "10.7.0")))
        .file(
            DistFile::wheel(&WheelBuilder::new("XStatic-Font-Awesome", "4.7.0.0"))
                .upload_time("2016-11-30T10:00:00Z"),
        )
        .file(
            DistFile::wheel(&WheelBuilder::new("XStatic-Font-Awesome", "6.2.1.2"))
                .upload_time("2025-03-02T10:00:00Z"),
        )
        .role("oslo.config", "Owner", "openstackci")
        .role("XStatic-Font-Awesome", "Owner", "ReimarBauer")
        .role("XStatic-Font-Awesome", "Owner", "ThomasWaldmann")
        .role("XStatic-Font-Awesome", "Owner", "sheep")
        .start()
}

fn lock_openstack(index: &TestIndex, extra: &[&str]) -> tempfile::TempDir {
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "XStatic-Font-Awesome===6.2.1.2\noslo.config===10.7.0\n",
    );
    let run = Pinguard::new(dir.path())
        .args(["lock", "upper-constraints.txt", "--index-url"])
        .args([index.simple_url()])
        .args(extra)
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    dir
}

fn releases_dir() -> String {
    format!(
        "{}/tests/fixtures/openstack-releases",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn versions_older_than_the_release_records_are_not_reported() {
    // Against the real records, 724 warnings were versions such as cliff 0.1 (2012), uploaded
    // before the deliverable's records begin: nothing a release team can act on.
    let mut index = openstack_index();
    let dir = lock_openstack(&index, &[]);
    index.add_file(
        DistFile::wheel(&WheelBuilder::new("oslo.config", "1.2.0"))
            .upload_time("2013-08-01T10:00:00Z"),
    );
    let run = audit(
        dir.path(),
        &["--releases", &releases_dir(), "--fail-on", "warning"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains("oslo-config"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("xstatic-font-awesome 6.2.1.2\n    not-released")
    );
}

#[test]
fn versions_the_release_process_did_not_make_are_reported() {
    let mut index = openstack_index();
    let dir = lock_openstack(&index, &[]);
    index.add_file(
        DistFile::wheel(&WheelBuilder::new("oslo.config", "10.7.1"))
            .upload_time("2026-11-29T03:00:00Z"),
    );
    let run = audit(dir.path(), &["--releases", &releases_dir()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
critical:
  xstatic-font-awesome 6.2.1.2
    not-released: the release records list no version 6.2.1.2 of this deliverable (the latest they list is 4.7.0.0)
      what to do: the release process did not make this version: find out who uploaded it, and pin a version the deliverable lists
warning:
  oslo-config 10.7.0
    unreleased-version 10.7.1: on the index, and the release records list no such version (uploaded 2026-11-29T03:00:00Z)
      what to do: the release process did not make this version: find out who uploaded it, and ask the index to remove it if no one on the team did
info:
  oslo-config 10.7.0
    new-release 10.7.1: a newer release is on the index (uploaded 2026-11-29T03:00:00Z)
      what to do: read its changes before raising the pin; it was not in the lock
"
    );
}

#[test]
fn owners_recorded_at_lock_time_are_compared_and_checked_against_the_policy() {
    let mut index = openstack_index();
    let dir = lock_openstack(&index, &["--owners", "--no-dependencies"]);
    let lock = std::fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        lock.contains(
            "[packages.tool.pinguard]\nowners = [\n    { role = \"Owner\", user = \"openstackci\" },\n]\n"
        ),
        "{lock}"
    );
    index.set_roles(
        "oslo.config",
        &[
            ("Owner", "openstackci"),
            ("Maintainer", "login.launchpad.net_154"),
        ],
    );
    index.set_roles(
        "XStatic-Font-Awesome",
        &[("Owner", "ReimarBauer"), ("Maintainer", "ThomasWaldmann")],
    );
    write(
        dir.path(),
        "pinguard-policy.toml",
        "[[group]]\nname = \"OpenStack deliverables\"\npackages = [\"*\"]\naccounts = [\"openstackci\"]\n",
    );
    let run = audit(
        dir.path(),
        &[
            "--policy",
            "pinguard-policy.toml",
            "--owners",
            "--format",
            "markdown",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let not_in_policy =
        "  what to do: remove the account from the project on the index, or add it to the policy\n";
    let changed =
        "  what to do: check that the account belongs to someone who should publish this project\n";
    assert_eq!(
        run.stdout,
        format!(
            "\
## pinguard audit of pylock.toml

2 packages audited: 0 critical, 5 warning, 1 info.

### warning

**oslo-config 10.7.0**

- owner-added login.launchpad.net_154: became a Maintainer since the lock  
{changed}\
- not-in-policy login.launchpad.net_154: is a Maintainer, and the policy (`OpenStack deliverables`) does not allow the account  
{not_in_policy}
**xstatic-font-awesome 6.2.1.2**

- role-changed ThomasWaldmann: was an Owner at the lock, is a Maintainer now  
{changed}\
- not-in-policy ReimarBauer: is an Owner, and the policy (`OpenStack deliverables`) does not allow the account  
{not_in_policy}\
- not-in-policy ThomasWaldmann: is a Maintainer, and the policy (`OpenStack deliverables`) does not allow the account  
{not_in_policy}
### info

**xstatic-font-awesome 6.2.1.2**

- owner-removed sheep: was an Owner at the lock and has no role now  
  what to do: nothing, if the change was intended; record it with `lock --owners`

### who can publish

| package | owners | maintainers | organization |
|---|---|---|---|
| oslo-config==10.7.0 | openstackci | login.launchpad.net_154 |  |
| xstatic-font-awesome==6.2.1.2 | ReimarBauer | ThomasWaldmann |  |
"
        )
    );
    let run = audit(
        dir.path(),
        &["--policy", "pinguard-policy.toml", "--fail-on", "warning"],
    );
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn a_policy_with_an_unknown_key_is_refused_naming_its_line() {
    let index = openstack_index();
    let dir = lock_openstack(&index, &[]);
    write(
        dir.path(),
        "pinguard-policy.toml",
        "[[group]]\nname = \"OpenStack\"\npackages = [\"*\"]\nallowed = [\"openstackci\"]\n",
    );
    let run = audit(dir.path(), &["--policy", "pinguard-policy.toml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("error: unknown key `allowed` in a group\n --> pinguard-policy.toml:4:1"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(
            "error: the policy pinguard-policy.toml cannot be used; nothing was audited\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_locked_file_served_with_another_size_fails_audit_and_lock_refresh_alike() {
    let mut index = index_at_lock_time();
    let dir = locked(&index);
    let wheel = "stable-1.0-py3-none-any.whl";
    let size = index.file(wheel).bytes().len();
    index.publish_size(wheel, size + 1);
    let run = audit(dir.path(), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "\
critical:
  stable 1.0
    size-changed {wheel}: served with {} bytes, locked with {size}
      what to do: do not install it: the index serves other bytes under the locked name; keep the lock and tell the index's operators
",
            size + 1
        )
    );
    // The same comparison makes `lock --refresh` fail.
    let run = Pinguard::new(dir.path())
        .args(["lock", "upper-constraints.txt", "--refresh", "--index-url"])
        .args([index.simple_url()])
        .run();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "the index no longer serves what the lock holds:\n  {wheel}\n    locked:   {size} bytes\n    on index: {} bytes\n",
            size + 1
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_project_locked_once_per_marker_is_asked_once() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new(
            "async-timeout",
            "4.0.3",
        )))
        .file(DistFile::wheel(&WheelBuilder::new(
            "async-timeout",
            "5.0.1",
        )))
        .role("async-timeout", "Owner", "asvetlov")
        .start();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "async-timeout===4.0.3;python_version=='3.9'\nasync-timeout===5.0.1;python_version>='3.10'\n",
    );
    let run = Pinguard::new(dir.path())
        .args(["lock", "upper-constraints.txt", "--index-url"])
        .args([index.simple_url()])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    index.server().clear_log();
    let run = audit(dir.path(), &["--owners"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
info:
  async-timeout 4.0.3
    new-release 5.0.1: a newer release is on the index (uploaded 2024-01-01T00:00:00.000000Z)
      what to do: read its changes before raising the pin; it was not in the lock
who can publish:
  async-timeout==4.0.3 ; python_full_version == '3.9.*': Owner asvetlov
  async-timeout==5.0.1 ; python_full_version >= '3.10': Owner asvetlov
"
    );
    let server = index.server();
    assert_eq!(server.requests_to("/simple/async-timeout/").len(), 1);
    assert_eq!(server.requests_to("/pypi/async-timeout/json").len(), 1);
}

#[test]
fn an_index_that_fails_makes_audit_report_nothing_and_exit_2() {
    let index = index_at_lock_time();
    let dir = locked(&index);
    index
        .site()
        .fault("/simple/six/", Fault::status(500), Fires::Forever);
    index
        .site()
        .fault("/pypi/stable/json", Fault::status(500), Fires::Forever);
    write(
        dir.path(),
        "state.json",
        "{\"version\": 1, \"findings\": []}\n",
    );
    let run = audit(
        dir.path(),
        &["--retries", "0", "--owners", "--state", "state.json"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    let base = index.server().base_url();
    assert_eq!(
        run.stderr.replace(&base, "http://[INDEX]"),
        "\
error: six==1.17.0: http://[INDEX]/simple/six/ answered 500 Internal Server Error
error: stable==1.0: cannot read who can publish it: http://[INDEX]/pypi/stable/json answered 500 Internal Server Error
error: 2 of 6 packages cannot be audited; nothing was reported
"
    );
    // The state is left as it was, for the next run to compare with.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("state.json")).unwrap(),
        "{\"version\": 1, \"findings\": []}\n"
    );
}
