//! `pinguard check` and target-trimmed locks, against small indexes on 127.0.0.1.

mod support;

use std::fs;

use support::cli::{Pinguard, Run, filter, scratch, write};
use support::dist::{SdistBuilder, WheelBuilder};
use support::index::{DistFile, IndexBuilder, TestIndex};
use support::server::Resource;

/// Every kind of finding, spread over two Python versions and two platforms:
///
/// - app needs lib>=2 (lib is pinned at 1.5), missing-dep (not pinned), host[feat] (host's
///   feat extra needs feat-dep, not pinned), winonly on Windows (not pinned), tomli before
///   3.11.0a6 (pip's semantics: not on 3.11.0), new-only>=1 on 3.13+;
/// - sdist-only needs nope, per its dynamic PKG-INFO;
/// - plat has only a Windows wheel and no sdist;
/// - dup is pinned twice with markers that overlap on 3.12;
/// - ancient applies only to Python < 3.9;
/// - newpy requires Python >= 3.12.
fn check_index() -> TestIndex {
    let app = WheelBuilder::new("app", "1.0").requires_dist([
        "lib>=2",
        "missing-dep",
        "host[feat]>=1",
        "winonly; sys_platform == \"win32\"",
        "tomli; python_full_version <= \"3.11.0a6\"",
        "new-only>=1; python_version >= \"3.13\"",
    ]);
    let host = WheelBuilder::new("host", "1.0")
        .provides_extra(["feat"])
        .requires_dist(["feat-dep; extra == \"feat\""]);
    let sdist_only = SdistBuilder::new("sdist-only", "1.0")
        .metadata_version("2.2")
        .dynamic(["Requires-Dist"])
        .requires_dist(["nope>=1"]);
    IndexBuilder::new()
        .file(DistFile::wheel(&app))
        .file(DistFile::wheel(&WheelBuilder::new("lib", "1.5")))
        .file(DistFile::wheel(&host))
        .file(DistFile::sdist(&sdist_only))
        .file(DistFile::wheel(
            &WheelBuilder::new("plat", "1.0").tag("cp312-cp312-win_amd64"),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("dup", "1.0")))
        .file(DistFile::wheel(&WheelBuilder::new("dup", "2.0")))
        .file(DistFile::wheel(&WheelBuilder::new("ancient", "1.0")))
        .file(DistFile::wheel(&WheelBuilder::new("newpy", "1.0")).requires_python(">=3.12"))
        .start()
}

const PINS: &str = "\
app===1.0
lib===1.5
host===1.0
sdist-only===1.0
plat===1.0
dup===1.0;python_version>='3.11'
dup===2.0;python_version>='3.12'
ancient===1.0;python_version<'3.9'
newpy===1.0
";

fn check(dir: &std::path::Path, index: &TestIndex, extra: &[&str]) -> Run {
    Pinguard::new(dir)
        .args(["check", "uc.txt", "--index-url", &index.simple_url()])
        .args([
            "--python",
            "3.11",
            "--python",
            "3.12",
            "--platform",
            "manylinux_2_28_x86_64",
        ])
        .args(extra)
        .run()
}

#[test]
fn every_kind_of_finding_per_target() {
    let index = check_index();
    let dir = scratch();
    write(dir.path(), "uc.txt", PINS);
    let run = check(dir.path(), &index, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!("check_findings", run.stdout);
    assert!(
        run.stderr
            .ends_with("findings, 1 pin applies to no target\n")
            && run.stderr.contains("Checked 9 pins on 2 targets in"),
        "{}",
        run.stderr
    );
    let run = check(dir.path(), &index, &["--format", "json", "-q"]);
    assert_eq!(run.code, 1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let on_311 = &json["targets"][0];
    assert_eq!(on_311["target"], "CPython 3.11 on manylinux_2_28_x86_64");
    assert!(on_311["findings"].as_array().unwrap().contains(&serde_json::json!({
        "kind": "violation", "pin": "lib==1.5", "dependent": "app==1.0", "requirement": "lib>=2"
    })));
    assert!(on_311["findings"].as_array().unwrap().contains(&serde_json::json!({
        "kind": "uncovered", "name": "nope", "dependent": "sdist-only==1.0", "requirement": "nope>=1", "from_sdist": true
    })));
    assert_eq!(
        json["applies_to_no_target"],
        serde_json::json!(["ancient==1.0 ; python_full_version < '3.9'"])
    );
}

#[test]
fn a_consistent_set_passes_on_every_target() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("app", "1.0")
                .requires_dist(["lib>=1", "winonly; sys_platform == 'win32'"]),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("lib", "1.5")))
        .start();
    let dir = scratch();
    write(dir.path(), "uc.txt", "app===1.0\nlib===1.5\n");
    let run = check(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "CPython 3.11 on manylinux_2_28_x86_64: 2 pins, no findings\n\
         CPython 3.12 on manylinux_2_28_x86_64: 2 pins, no findings\n"
    );
    // On Windows the marker applies and winonly is not pinned.
    let run = Pinguard::new(dir.path())
        .args([
            "check",
            "uc.txt",
            "--index-url",
            &index.simple_url(),
            "--python",
            "3.12",
            "--platform",
            "win_amd64",
        ])
        .run();
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "CPython 3.12 on win_amd64: 2 pins, 1 finding\n  dependencies no pin covers:\n    winonly: app==1.0 requires winonly, and no pin covers it\n"
    );
}

/// A wheel large enough that downloading it whole would show in the byte counts.
fn big_wheel(name: &str) -> WheelBuilder {
    let noise: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    WheelBuilder::new(name, "1.0")
        .requires_dist(["lib>=1"])
        .file(&format!("{name}/blob.bin"), noise)
}

#[test]
fn metadata_comes_from_the_cheapest_source() {
    let with_metadata_file = DistFile::wheel(&big_wheel("published")).core_metadata_from_wheel();
    let index = IndexBuilder::new()
        .file(with_metadata_file)
        .file(DistFile::wheel(&big_wheel("ranged")))
        .file(DistFile::wheel(&big_wheel("whole")))
        .file(DistFile::wheel(&WheelBuilder::new("lib", "1.0")))
        .start();
    // A server that ignores ranges for this one file.
    let path = "/files/whole-1.0-py3-none-any.whl";
    let body = index.site().resource(path).unwrap().body().to_vec();
    index
        .site()
        .route(path, Resource::file(body).without_ranges());
    let dir = scratch();
    write(
        dir.path(),
        "uc.txt",
        "published===1.0\nranged===1.0\nwhole===1.0\nlib===1.0\n",
    );
    let run = check(dir.path(), &index, &["-v"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("note: dependencies of 4 packages: 0 cached, 1 .metadata file (1 absent), 2 range requests, 1 whole file, "),
        "{}",
        run.stderr
    );
    let requests = index.all_requests();
    let to = |path: &str| {
        requests
            .iter()
            .filter(|r| r.path_only() == path)
            .collect::<Vec<_>>()
    };
    // The .metadata file was enough: the wheel itself was never asked for.
    assert_eq!(
        to("/files/published-1.0-py3-none-any.whl.metadata").len(),
        1
    );
    assert!(to("/files/published-1.0-py3-none-any.whl").is_empty());
    // Range requests only, each of a small part of the 3 MB wheel.
    let ranged = to("/files/ranged-1.0-py3-none-any.whl");
    assert!(
        !ranged.is_empty() && ranged.iter().all(|r| r.range().is_some()),
        "{ranged:?}"
    );
    // The server without ranges: one ranged attempt answered whole, then the unadvertised
    // .metadata file (absent), then the whole file.
    assert!(!to(path).is_empty());

    // A second run answers from the cache, by the files' sha256.
    index.server().clear_log();
    let run = check(dir.path(), &index, &["-v"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("dependencies of 4 packages: 4 cached"),
        "{}",
        run.stderr
    );
    assert!(
        index
            .all_requests()
            .iter()
            .all(|r| !r.path_only().starts_with("/files/"))
    );
}

#[test]
fn a_lock_with_recorded_dependencies_is_checked_without_the_index() {
    let index = check_index();
    let dir = scratch();
    write(dir.path(), "uc.txt", PINS);
    let run = Pinguard::new(dir.path())
        .args([
            "lock",
            "uc.txt",
            "--index-url",
            &index.simple_url(),
            "--dependencies",
        ])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let lock = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        lock.contains(
            "dependencies = [\n    { name = \"host\" },\n    { name = \"lib\" },\n]\n\n[packages.tool.pinguard]\nrequires-dist = [\n    \"lib>=2\","
        ),
        "{lock}"
    );
    assert!(
        lock.contains(
            "dependencies-from = \"sdist-dynamic\"\ndependencies-file = \"sdist_only-1.0.tar.gz\""
        ),
        "{lock}"
    );
    index.server().clear_log();
    let from_lock = Pinguard::new(dir.path())
        .args([
            "check",
            "pylock.toml",
            "--python",
            "3.11",
            "--python",
            "3.12",
            "--platform",
            "manylinux_2_28_x86_64",
        ])
        .args(["--no-cache"])
        .run();
    assert!(
        index.all_requests().is_empty(),
        "{:?}",
        index.all_requests()
    );
    let from_constraints = check(dir.path(), &index, &[]);
    assert_eq!(from_lock.code, 1);
    assert_eq!(from_lock.stdout, from_constraints.stdout);
}

#[test]
fn built_metadata_replaces_the_sdist_caveat() {
    let sdist = SdistBuilder::new("sdist-only", "1.0")
        .metadata_version("2.2")
        .dynamic(["Requires-Dist"])
        .requires_dist(["nope>=1"]);
    let index = IndexBuilder::new().file(DistFile::sdist(&sdist)).start();
    let dir = scratch();
    write(dir.path(), "uc.txt", "sdist-only===1.0\n");
    let run = Pinguard::new(dir.path())
        .args([
            "check",
            "uc.txt",
            "--index-url",
            &index.simple_url(),
            "--python",
            "python3",
        ])
        .run();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.ends_with("    nope: sdist-only==1.0 requires nope>=1, and no pin covers it (from sdist metadata, may differ when built)\n"), "{}", run.stdout);
    let run = Pinguard::new(dir.path())
        .args([
            "check",
            "uc.txt",
            "--index-url",
            &index.simple_url(),
            "--python",
            "python3",
            "--build-sdists",
        ])
        .env("PIP_NO_INDEX", "1")
        .run();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .ends_with("    nope: sdist-only==1.0 requires nope>=1, and no pin covers it\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_lock_trimmed_to_targets_keeps_only_their_files() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("native", "1.0").tag("cp312-cp312-manylinux_2_17_x86_64"),
        ))
        .file(DistFile::wheel(
            &WheelBuilder::new("native", "1.0").tag("cp312-cp312-win_amd64"),
        ))
        .file(DistFile::wheel(
            &WheelBuilder::new("native", "1.0").tag("cp311-cp311-manylinux_2_17_x86_64"),
        ))
        .file(DistFile::sdist(&SdistBuilder::new("native", "1.0")))
        .file(DistFile::wheel(&WheelBuilder::new("pure", "1.0")))
        .file(DistFile::sdist(&SdistBuilder::new("srconly", "1.0")))
        .file(DistFile::wheel(&WheelBuilder::new("winpkg", "1.0")))
        .start();
    let dir = scratch();
    write(
        dir.path(),
        "uc.txt",
        "native===1.0\npure===1.0\nsrconly===1.0\nwinpkg===1.0;sys_platform=='win32'\n",
    );
    let run = Pinguard::new(dir.path())
        .args([
            "lock",
            "uc.txt",
            "--index-url",
            &index.simple_url(),
            "--python",
            "3.12",
            "--platform",
            "manylinux_2_28_x86_64",
        ])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let lock = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    let lock = filter(&lock, &[(&index.server().base_url(), "http://[INDEX]")]);
    assert!(
        lock.starts_with(
            "lock-version = \"1.0\"\ncreated-by = \"pinguard\"\nenvironments = [\n    \"python_full_version == '3.12.*' and implementation_name == 'cpython' and platform_machine == 'x86_64' and sys_platform == 'linux'\",\n]\n"
        ),
        "{lock}"
    );
    let files: Vec<&str> = lock
        .lines()
        .filter_map(|l| {
            l.split("name = \"")
                .nth(1)
                .map(|rest| &rest[..rest.find('"').unwrap()])
        })
        .filter(|name| name.contains('.'))
        .collect();
    // native: only the wheel this target installs, no sdist; pure: its wheel; srconly: its
    // sdist; winpkg: gone.
    assert_eq!(
        files,
        [
            "native-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            "pure-1.0-py3-none-any.whl",
            "srconly-1.0.tar.gz"
        ]
    );
    // The guard installs from it for that target, and refuses another.
    let run = Pinguard::new(dir.path())
        .args([
            "fetch",
            "--dest",
            "wh",
            "--python",
            "3.12",
            "--platform",
            "manylinux_2_28_x86_64",
        ])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let run = Pinguard::new(dir.path())
        .args([
            "fetch",
            "--dest",
            "wh2",
            "--python",
            "3.11",
            "--platform",
            "manylinux_2_28_x86_64",
        ])
        .run();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("the lock was made for other environments"),
        "{}",
        run.stderr
    );
}

#[test]
fn credentials_from_the_files_own_index_url_reach_the_metadata_requests() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("app", "1.0").requires_dist(["lib>=1"]),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("lib", "1.5")))
        .start();
    index.site().require_basic_auth("alice", "s3cret");
    let dir = scratch();
    let url = index
        .simple_url()
        .replace("http://", "http://alice:s3cret@");
    write(
        dir.path(),
        "uc.txt",
        format!("--index-url {url}\napp===1.0\nlib===1.5\n"),
    );
    let run = Pinguard::new(dir.path())
        .args([
            "check",
            "uc.txt",
            "--python",
            "3.12",
            "--platform",
            "manylinux_2_28_x86_64",
        ])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "CPython 3.12 on manylinux_2_28_x86_64: 2 pins, no findings\n"
    );
    assert!(
        index
            .server()
            .requests()
            .iter()
            .all(|r| r.authorization().is_some())
    );
}

#[test]
fn a_requires_dist_name_ending_in_a_dot_is_a_finding_of_its_package_not_a_panic() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("app", "1.0").requires_dist(["foo. ==1", "lib>=2"]),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("lib", "1.5")))
        .start();
    let dir = scratch();
    write(dir.path(), "uc.txt", "app===1.0\nlib===1.5\n");
    let run = Pinguard::new(dir.path())
        .args(["check", "uc.txt", "--index-url", &index.simple_url()])
        .args(["--python", "3.12", "--platform", "manylinux_2_28_x86_64"])
        .run();
    // The bad line is app's finding; lib is still checked against app's other requirement.
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        "CPython 3.12 on manylinux_2_28_x86_64: 2 pins, 2 findings\n  \
         dependencies that do not parse:\n    \
         app==1.0: `foo. ==1`: Package name `foo.` must end with a letter or digit, not `.`\n  \
         pins that violate a dependent's specifier:\n    lib==1.5: app==1.0 requires lib>=2\n"
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}
