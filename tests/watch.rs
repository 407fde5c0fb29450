//! `pinguard lock --check` and `pinguard diff`: is a lock current, and what does a lock change
//! change.

mod support;

use support::cli::{Pinguard, Run, scratch, write};
use support::dist::{SdistBuilder, WheelBuilder, sha256_hex};
use support::index::{DistFile, IndexBuilder, TestIndex};

fn index() -> TestIndex {
    IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("six", "1.17.0").tag("py2.py3-none-any"),
        ))
        .file(DistFile::wheel(
            &WheelBuilder::new("six", "1.16.0").tag("py2.py3-none-any"),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("oslo.config", "10.7.0")))
        .file(DistFile::sdist(&SdistBuilder::new("oslo.config", "10.7.0")))
        .file(DistFile::wheel(&WheelBuilder::new("stable", "1.0")))
        .role("six", "Owner", "benjamin")
        .start()
}

const CONSTRAINTS: &str = "six===1.17.0\noslo.config===10.7.0\nstable===1.0\n";

fn pinguard(dir: &std::path::Path, args: &[&str]) -> Run {
    Pinguard::new(dir).args(args).run()
}

fn lock(dir: &std::path::Path, index: &TestIndex, extra: &[&str]) -> Run {
    let url = index.simple_url();
    let mut args = vec!["lock", "upper-constraints.txt", "--index-url", &url];
    args.extend(extra);
    pinguard(dir, &args)
}

#[test]
fn lock_check_names_every_pin_that_changed_without_asking_the_index() {
    let index = index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", CONSTRAINTS);
    assert_eq!(lock(dir.path(), &index, &[]).code, 0);
    index.server().clear_log();

    let run = pinguard(dir.path(), &["lock", "upper-constraints.txt", "--check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "pylock.toml matches upper-constraints.txt: 3 pins\n"
    );

    let before = sha256_hex(CONSTRAINTS.as_bytes());
    let edited = "six===1.16.0\noslo.config===10.7.0;python_version>='3.10'\nnew-pkg===2.0\n";
    write(dir.path(), "upper-constraints.txt", edited);
    let run = pinguard(dir.path(), &["lock", "upper-constraints.txt", "--check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "\
error: pin changed: six===1.16.0 (upper-constraints.txt:1); the lock holds six==1.17.0
error: pin added: oslo-config===10.7.0 ; python_full_version >= '3.10' (upper-constraints.txt:2) is not in the lock
error: pin added: new-pkg===2.0 (upper-constraints.txt:3) is not in the lock
error: pin removed: the lock holds oslo-config==10.7.0, which the source no longer pins
error: pin removed: the lock holds stable==1.0, which the source no longer pins
error: the source changed: its sha256 is {}, the lock recorded {before}
error: pylock.toml does not match upper-constraints.txt: 6 differences; run `pinguard lock` again to update it
",
            sha256_hex(edited.as_bytes())
        )
    );

    // Only a comment changed: the pins match, the recorded digest does not.
    let commented = format!("# reviewed\n{CONSTRAINTS}");
    write(dir.path(), "upper-constraints.txt", &commented);
    let run = pinguard(dir.path(), &["lock", "upper-constraints.txt", "--check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: the source changed: its sha256 is "),
        "{}",
        run.stderr
    );
    assert!(index.server().requests().is_empty());
}

#[test]
fn diff_lists_versions_files_digests_markers_and_owners() {
    let mut index = index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", CONSTRAINTS);
    assert_eq!(
        lock(dir.path(), &index, &["--owners", "-o", "pylock.old.toml"]).code,
        0
    );
    // The review: six moves back, oslo.config gains a marker, stable leaves, and the index
    // changed a file and the owners in between.
    write(
        dir.path(),
        "upper-constraints.txt",
        "six===1.16.0\noslo.config===10.7.0;python_version>='3.10'\n",
    );
    index.set_roles("six", &[("Owner", "benjamin"), ("Maintainer", "newcomer")]);
    let run = lock(dir.path(), &index, &["--owners", "-o", "pylock.toml"]);
    assert_eq!(run.code, 0, "{run:?}");

    let run = pinguard(dir.path(), &["diff", "pylock.old.toml", "pylock.toml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
changes:
  oslo-config==10.7.0 ; python_full_version >= '3.10': marker changed from (none) to python_full_version >= '3.10'
  six==1.16.0: version changed from 1.17.0
  six==1.16.0: owner added: Maintainer newcomer
  stable==1.0: removed
"
    );
    assert_eq!(
        run.stderr,
        "4 changes from pylock.old.toml to pylock.toml, 0 critical\n"
    );

    // A digest changed under the same file name: critical, exit 1.
    let old = std::fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    let wheel = "six-1.16.0-py2.py3-none-any.whl";
    let digest = index.file(wheel).sha256();
    let other = sha256_hex(b"other bytes");
    write(
        dir.path(),
        "pylock.edited.toml",
        old.replace(&digest, &other),
    );
    let run = pinguard(
        dir.path(),
        &[
            "diff",
            "pylock.toml",
            "pylock.edited.toml",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            r#"{{
  "changes": [
    {{
      "code": "digest-changed",
      "critical": true,
      "message": "digest changed: {wheel}, was sha256:{digest}, is sha256:{other}",
      "package": "six==1.16.0"
    }}
  ],
  "new": "pylock.edited.toml",
  "old": "pylock.toml",
  "version": 1
}}
"#
        )
    );
}

#[test]
fn lock_check_of_a_trimmed_lock_accepts_the_pins_its_targets_left_out() {
    let index = index();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "six===1.17.0\nsix===1.16.0;python_version<'3.9'\n",
    );
    let run = lock(
        dir.path(),
        &index,
        &["--python", "3.12", "--platform", "manylinux_2_28_x86_64"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let run = pinguard(dir.path(), &["lock", "upper-constraints.txt", "--check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "pylock.toml matches upper-constraints.txt: 2 pins\n"
    );
}
