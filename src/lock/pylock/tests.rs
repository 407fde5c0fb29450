use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerTree, PackageName};

use super::*;

fn sample() -> Lock {
    let file = |name: &str, byte: u8| FileEntry {
        name: name.to_owned(),
        location: EntryLocation::Url(format!("https://files.example/p/{name}")),
        size: Some(1234),
        upload_time: parse_upload_time("2024-05-01T10:20:30.123456Z"),
        sha256: Sha256::of(&[byte]),
    };
    let mut lock = Lock::new();
    lock.packages.push(Package {
        name: PackageName::from_str("oslo.config").unwrap(),
        version: Some(Version::from_str("10.7.0").unwrap()),
        marker: MarkerTree::from_str("python_version >= '3.10'").unwrap(),
        requires_python: Some(VersionSpecifiers::from_str(">=3.10").unwrap()),
        index: Some("https://pypi.org/simple".into()),
        sdist: Some(file("oslo_config-10.7.0.tar.gz", 1)),
        wheels: vec![file("oslo_config-10.7.0-py3-none-any.whl", 2)],
        archive: None,
        dependencies: None,
        added_for: Vec::new(),
        attestation_identities: Vec::new(),
        owners: None,
    });
    lock.packages.push(Package {
        name: PackageName::from_str("local").unwrap(),
        version: Some(Version::from_str("1.0").unwrap()),
        marker: MarkerTree::TRUE,
        requires_python: None,
        index: Some("wheels".into()),
        sdist: None,
        wheels: vec![FileEntry {
            name: "local-1.0-py3-none-any.whl".into(),
            location: EntryLocation::Path("wheels/local-1.0-py3-none-any.whl".into()),
            size: None,
            upload_time: None,
            sha256: Sha256::of(b"local"),
        }],
        archive: None,
        dependencies: None,
        added_for: Vec::new(),
        attestation_identities: Vec::new(),
        owners: None,
    });
    lock.source = Some(LockSource {
        location: "upper-constraints.txt".into(),
        sha256: Sha256::of(b"source"),
    });
    lock
}

#[test]
fn writes_the_documented_layout() {
    let text = to_toml(&sample());
    let expected = format!(
        r#"lock-version = "1.0"
created-by = "pinguard"

[[packages]]
name = "oslo-config"
version = "10.7.0"
marker = "python_full_version >= '3.10'"
requires-python = ">=3.10"
index = "https://pypi.org/simple"
sdist = {{ name = "oslo_config-10.7.0.tar.gz", url = "https://files.example/p/oslo_config-10.7.0.tar.gz", size = 1234, upload-time = 2024-05-01T10:20:30.123456Z, hashes = {{ sha256 = "{a}" }} }}
wheels = [
    {{ name = "oslo_config-10.7.0-py3-none-any.whl", url = "https://files.example/p/oslo_config-10.7.0-py3-none-any.whl", size = 1234, upload-time = 2024-05-01T10:20:30.123456Z, hashes = {{ sha256 = "{b}" }} }},
]

[[packages]]
name = "local"
version = "1.0"
index = "wheels"
wheels = [
    {{ name = "local-1.0-py3-none-any.whl", path = "wheels/local-1.0-py3-none-any.whl", hashes = {{ sha256 = "{c}" }} }},
]

[tool.pinguard]
source = "upper-constraints.txt"
source-sha256 = "{d}"
"#,
        a = Sha256::of(&[1]),
        b = Sha256::of(&[2]),
        c = Sha256::of(b"local"),
        d = Sha256::of(b"source"),
    );
    assert_eq!(text, expected);
}

#[test]
fn reads_back_what_it_writes() {
    let lock = sample();
    let read = from_toml("pylock.toml", &to_toml(&lock)).unwrap();
    assert_eq!(read, lock);
    assert_eq!(to_toml(&read), to_toml(&lock));
}

#[test]
fn reads_locks_of_other_writers() {
    // `pip lock` style: array of tables for wheels, no size, no name.
    let text = format!(
        r#"lock-version = "1.0"
created-by = "pip"
environments = ["python_version >= '3.9'"]

[[packages]]
name = "six"
version = "1.17.0"

[[packages.wheels]]
url = "https://files.example/six-1.17.0-py2.py3-none-any.whl"
hashes = {{ sha256 = "{h}", sha512 = "00" }}

[[packages]]
name = "direct"
archive = {{ url = "https://x/direct-1.0.tar.gz", hashes = {{ sha256 = "{h}" }} }}
"#,
        h = Sha256::of(b"six")
    );
    let lock = from_toml("pylock.toml", &text).unwrap();
    assert_eq!(lock.created_by, "pip");
    assert_eq!(lock.environments.len(), 1);
    assert_eq!(
        lock.packages[0].wheels[0].name,
        "six-1.17.0-py2.py3-none-any.whl"
    );
    assert_eq!(
        lock.packages[1].archive.as_ref().unwrap().name,
        "direct-1.0.tar.gz"
    );
    assert_eq!(lock.packages[1].version, None);
}

fn problems(text: &str) -> Vec<String> {
    match from_toml("pylock.toml", text) {
        Ok(lock) => panic!("expected problems, read {lock:?}"),
        Err(d) => {
            d.0.iter()
                .map(|d| format!("{}: {}", d.line, d.message))
                .collect()
        }
    }
}

/// A lock with a problem in most of its package tables.
fn hand_edited() -> String {
    let good = Sha256::of(b"x");
    format!(
        r#"lock-version = "1.0"

[[packages]]
version = "1.0"

[[packages]]
name = "no-hash"
version = "1.0"
sdist = {{ url = "https://x/no-hash-1.0.tar.gz", hashes = {{ md5 = "00" }} }}

[[packages]]
name = "bad-hash"
wheels = [
  {{ url = "https://x/bad_hash-1.0-py3-none-any.whl", hashes = {{ sha256 = "{short}" }} }},
]

[[packages]]
name = "from-git"
vcs = {{ type = "git", url = "https://github.com/x/y", commit-id = "abc" }}
sdist = {{ url = "https://x/from_git-1.0.tar.gz", hashes = {{ sha256 = "{good}" }} }}

[[packages]]
name = "nothing"
marker = "python_version >>> '3'"

[[packages]]
name = "no-location"
sdist = {{ hashes = {{ sha256 = "{good}" }} }}
"#,
        short = &good.to_string()[..63],
    )
}

#[test]
fn hand_edits_are_reported_with_the_key_and_line() {
    assert_eq!(
        problems(&hand_edited()),
        [
            "1: the lock: missing required key `created-by`",
            "3: packages[0]: missing required key `name`",
            "9: packages[1] (`no-hash`).sdist: `hashes` has no `sha256`; pinguard verifies every file by its sha256",
            "14: packages[2] (`bad-hash`).wheels[0]: `hashes.sha256` is not a sha256 digest: a sha256 digest has 64 hex characters, this one has 63",
            "17: packages[3] (`from-git`): more than one kind of source (vcs, sdist)",
            "24: packages[4] (`nothing`): invalid `marker`: Expected a valid marker operator (such as `>=` or `not in`), found `>>>`",
            "28: packages[5] (`no-location`).sdist: needs `url` or `path`",
        ]
    );
}

#[test]
fn a_lock_without_packages_or_of_another_major_version_is_refused() {
    assert_eq!(
        problems("lock-version = \"2.0\"\ncreated-by = \"x\"\n"),
        [
            "1: lock-version `2.0` is not supported; pinguard reads 1.x",
            "1: the lock: missing required key `packages`",
        ]
    );
}

#[test]
fn invalid_toml_points_at_the_error() {
    let err = from_toml(
        "pylock.toml",
        "lock-version = \"1.0\"\n[[packages]\nname = 1\n",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "\
error: not valid TOML
 --> pylock.toml:2:12
  |
2 | [[packages]
  |            ^ unclosed array table, expected `]`
  |
  = help: fix the syntax, or write the lock again with `pinguard lock`"
    );
}

#[test]
fn an_always_true_environment_marker_is_written_so_that_the_lock_reads_again() {
    // Found by the `lock` fuzz target: the marker was written as `""`, which does not read.
    let mut lock = sample();
    lock.environments = vec![MarkerTree::from_str("python_full_version == '3;12.*'").unwrap()];
    let written = to_toml(&lock);
    assert!(!written.contains("environments"), "{written}");
    assert_eq!(from_toml("pylock.toml", &written).unwrap().environments, []);
}

#[test]
fn attestation_identities_are_written_as_pep751_tables_and_read_back() {
    use crate::provenance::Identity;
    let mut lock = sample();
    lock.packages[1].attestation_identities = vec![
        Identity::GitHub {
            repository: "org/local".into(),
            workflow: "release.yml".into(),
            environment: Some("pypi".into()),
        },
        Identity::Google {
            email: "ci@example.iam.gserviceaccount.com".into(),
        },
    ];
    let text = to_toml(&lock);
    let expected = r#"[[packages.attestation-identities]]
kind = "GitHub"
environment = "pypi"
repository = "org/local"
workflow = "release.yml"

[[packages.attestation-identities]]
kind = "Google"
email = "ci@example.iam.gserviceaccount.com"
"#;
    assert!(text.contains(expected), "{text}");
    assert_eq!(from_toml("pylock.toml", &text).unwrap(), lock);
}

#[test]
fn an_identity_pinguard_cannot_verify_is_refused_with_its_line() {
    let text = r#"lock-version = "1.0"
created-by = "other"

[[packages]]
name = "a"
version = "1"
sdist = { name = "a-1.tar.gz", url = "https://x/a-1.tar.gz", hashes = { sha256 = "0000000000000000000000000000000000000000000000000000000000000000" } }

[[packages.attestation-identities]]
kind = "ActiveState"
"#;
    assert_eq!(
        problems(text),
        ["9: packages[0] (`a`): attestation identity: kind `ActiveState` cannot be verified"]
    );
}

/// The lock as one toml_edit document, as `to_toml` wrote it before it rendered packages on
/// their own: the text it must still give.
fn as_one_document(lock: &Lock) -> String {
    let (by_name, extras) = package_context(lock);
    let mut doc = header(lock);
    if !lock.packages.is_empty() {
        let mut tables = ArrayOfTables::new();
        for package in &lock.packages {
            tables.push(package_table(package, lock, &by_name, &extras));
        }
        doc["packages"] = Item::ArrayOfTables(tables);
    }
    if let Some(tool) = tool_table(lock) {
        doc["tool"] = tool;
    }
    doc.to_string()
}

#[test]
fn packages_rendered_on_their_own_give_the_one_documents_text() {
    use crate::provenance::Identity;
    let mut variants = vec![sample(), Lock::new()];
    let mut no_source = sample();
    no_source.source = None;
    variants.push(no_source);
    let mut rich = sample();
    rich.environments = vec![MarkerTree::from_str("python_version >= '3.10'").unwrap()];
    rich.requires_python = Some(VersionSpecifiers::from_str(">=3.10").unwrap());
    rich.packages[1].attestation_identities = vec![Identity::Google {
        email: "ci@example.iam.gserviceaccount.com".into(),
    }];
    rich.packages[0].added_for = vec!["local".into()];
    variants.push(rich);
    let mut only_source = Lock::new();
    only_source.source = sample().source;
    variants.push(only_source);
    for lock in &variants {
        assert_eq!(to_toml(lock), as_one_document(lock));
    }
}

/// `lock` read in pieces of one package table each, when its text can be.
fn in_pieces(text: &str) -> Option<Result<Lock, Diagnostics>> {
    let pieces = pieces::split(text, 0, usize::MAX)?;
    read_pieces("pylock.toml", text, &pieces)
}

#[test]
fn a_lock_read_in_pieces_is_the_lock_read_whole() {
    let mut lock = sample();
    for i in 0..5 {
        let mut package = lock.packages[0].clone();
        package.name = PackageName::from_str(&format!("p{i}")).unwrap();
        lock.packages.push(package);
    }
    lock.source = Some(LockSource {
        location: "upper-constraints.txt".into(),
        sha256: Sha256::of(b"constraints"),
    });
    let text = to_toml(&lock);
    assert_eq!(in_pieces(&text), Some(Ok(lock.clone())));
    assert_eq!(read_whole("pylock.toml", &text), Ok(lock));
}

#[test]
fn problems_found_in_pieces_have_the_lines_and_order_of_the_whole() {
    let text = hand_edited();
    let whole = read_whole("pylock.toml", &text).unwrap_err();
    assert_eq!(whole.0.len(), 7);
    assert_eq!(in_pieces(&text), Some(Err(whole)));
}

#[test]
fn pieces_that_are_not_the_document_cut_apart_are_not_used() {
    let h = Sha256::of(b"x");
    let package = |name: &str| {
        format!(
            "[[packages]]\nname = \"{name}\"\n\
             sdist = {{ url = \"https://x/{name}-1.0.tar.gz\", hashes = {{ sha256 = \"{h}\" }} }}\n"
        )
    };
    let head = "lock-version = \"1.0\"\ncreated-by = \"t\"\n";
    let cases = [
        // A `[[packages]]` line inside a multi-line string.
        format!(
            "{head}{}note = \"\"\"\n[[packages]]\n\"\"\"\n{}",
            package("a"),
            package("b")
        ),
        // `tool` defined in two pieces, which the whole document merges.
        format!(
            "{head}{}[tool.other]\nx = 1\n{}[tool.pinguard]\n\
             source = \"c.txt\"\nsource-sha256 = \"{h}\"\n",
            package("a"),
            package("b")
        ),
    ];
    for text in cases {
        assert_eq!(in_pieces(&text), None, "{text}");
        let whole = read_whole("pylock.toml", &text);
        assert!(whole.is_ok(), "{whole:?}");
        assert_eq!(read("pylock.toml", &text, 0), whole);
    }
}
