//! `pinguard lock` and `pinguard export` against a real HTTP index on 127.0.0.1.

mod support;

use std::fs;

use support::cli::{Pinguard, Run, filter, scratch, write};
use support::dist::{SdistBuilder, WheelBuilder, sha256_hex};
use support::index::{DistFile, IndexBuilder, TestIndex};
use support::python::Venv;
use support::server::{Fault, Fires};

/// A small index with the cases real ones have: wheels and an sdist, an old `.zip` sdist
/// beside an egg, a yanked release, two sdists of one version, a file without a published
/// hash.
fn small_index() -> TestIndex {
    let six_wheel = WheelBuilder::new("six", "1.17.0").tag("py2.py3-none-any");
    let six_old = WheelBuilder::new("six", "1.16.0").tag("py2.py3-none-any");
    let oslo_wheel = WheelBuilder::new("oslo.config", "10.7.0");
    let oslo_sdist = SdistBuilder::new("oslo.config", "10.7.0");
    let legacy_sdist = SdistBuilder::new("legacy", "0.8.1").format(support::dist::SdistFormat::Zip);
    let yanked = WheelBuilder::new("yanked-pkg", "1.0");
    let two_gz = SdistBuilder::new("twosdists", "1.0");
    let two_zip = SdistBuilder::new("twosdists", "1.0").format(support::dist::SdistFormat::Zip);
    let nohash = WheelBuilder::new("nohash", "2.0");
    IndexBuilder::new()
        .file(DistFile::wheel(&six_wheel).requires_python(">=2.7"))
        .file(DistFile::sdist(&SdistBuilder::new("six", "1.17.0")).requires_python(">=2.7"))
        .file(DistFile::wheel(&six_old))
        .file(DistFile::wheel(&oslo_wheel).requires_python(">=3.10"))
        .file(DistFile::sdist(&oslo_sdist).requires_python(">=3.10"))
        .file(DistFile::sdist(&legacy_sdist))
        .file(DistFile::new("legacy", "legacy-0.8.1-py2.7.egg", b"egg".to_vec()).version("0.8.1"))
        .file(DistFile::wheel(&yanked).yanked("broke imports"))
        .file(DistFile::sdist(&two_gz))
        .file(DistFile::sdist(&two_zip))
        .file(DistFile::wheel(&nohash).without_hash())
        .start()
}

const CONSTRAINTS: &str = "\
# WARNING: a header like OpenStack's
six===1.17.0
oslo.config===10.7.0;python_version>='3.10'
legacy===0.8.1
yanked-pkg===1.0
twosdists===1.0
nohash===2.0
";

fn lock(dir: &std::path::Path, index: &TestIndex, extra: &[&str]) -> Run {
    Pinguard::new(dir)
        .args([
            "lock",
            "upper-constraints.txt",
            "--index-url",
            &index.simple_url(),
        ])
        .args(extra)
        .run()
}

fn port_filters(index: &TestIndex) -> Vec<(String, String)> {
    vec![(index.server().base_url(), "http://[INDEX]".to_owned())]
}

fn filtered(text: &str, index: &TestIndex) -> String {
    let filters = port_filters(index);
    let pairs: Vec<(&str, &str)> = filters
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    filter(text, &pairs)
}

#[test]
fn locks_every_file_of_every_pinned_version() {
    let index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", CONSTRAINTS);
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        filtered(&run.stderr, &index),
        "\
warning: twosdists===1.0: several sdists; locked twosdists-1.0.tar.gz (.tar.gz preferred, then .zip, as pip and uv pick) and left out twosdists-1.0.zip
warning: yanked-pkg===1.0: version 1.0 is yanked (reason: broke imports); locked anyway, as pip installs a yanked version that is pinned exactly
Locked 6 pins (8 files) into pylock.toml: 0 unchanged, 6 projects queried
"
    );
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    insta::assert_snapshot!("small_index_lock", filtered(&written, &index));
    // The digest pinguard computed for the file the index gave no hash for is the real one.
    assert!(written.contains(&index.file("nohash-2.0-py3-none-any.whl").sha256()));
}

#[test]
fn html_and_json_pages_give_the_same_digests() {
    let index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", CONSTRAINTS);
    assert_eq!(
        lock(dir.path(), &index, &["-o", "pylock.json.toml"]).code,
        0
    );
    index.site().set_html_only(true);
    assert_eq!(
        lock(dir.path(), &index, &["-o", "pylock.html.toml"]).code,
        0
    );
    let digests = |name: &str| {
        let text = fs::read_to_string(dir.path().join(name)).unwrap();
        let mut found: Vec<String> = text
            .split("{ sha256 = \"")
            .skip(1)
            .map(|rest| rest[..64].to_owned())
            .collect();
        found.sort();
        found
    };
    assert_eq!(digests("pylock.json.toml"), digests("pylock.html.toml"));
    assert_eq!(digests("pylock.json.toml").len(), 8);
    // HTML pages carry no size: the lock records only the one pinguard measured itself
    // (the file without a published digest, which it downloaded).
    let html = fs::read_to_string(dir.path().join("pylock.html.toml")).unwrap();
    let sized: Vec<&str> = html.lines().filter(|l| l.contains("size =")).collect();
    assert_eq!(sized.len(), 1, "{html}");
    assert!(sized[0].contains("nohash-2.0-py3-none-any.whl"), "{html}");
}

#[test]
fn a_lock_name_that_pip_and_uv_do_not_read_as_a_lock_is_refused() {
    let index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", CONSTRAINTS);
    let run = lock(dir.path(), &index, &["-o", "example.pylock.toml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: the output file `example.pylock.toml` is not valid: PEP 751 names a lock \
         pylock.toml or pylock.<name>.toml, and pip, uv and pip-audit read no other file as a \
         lock; write it as pylock.example.toml\n"
    );
    assert!(index.all_requests().is_empty());
    assert!(!dir.path().join("example.pylock.toml").exists());
    // Other formats are not locks: any name goes.
    let run = lock(
        dir.path(),
        &index,
        &["--format", "requirements", "-o", "reqs.txt"],
    );
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn pins_the_index_lacks_are_all_listed_and_nothing_is_written() {
    let index = small_index();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "six===1.17.0\nsix-missing===1.0\noslo.config===10.9.0\nlegacy===0.8.0\n",
    );
    fs::write(dir.path().join("pylock.toml"), "previous content").unwrap();
    let run = lock(dir.path(), &index, &["-o", "pylock.new.toml"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        filtered(&run.stderr, &index),
        "\
error: six-missing===1.0 (upper-constraints.txt:2): no project `six-missing` on http://[INDEX]/simple/
error: oslo-config===10.9.0 (upper-constraints.txt:3): no version 10.9.0 of `oslo-config` on http://[INDEX]/simple/; nearest: 10.7.0
error: legacy===0.8.0 (upper-constraints.txt:4): no version 0.8.0 of `legacy` on http://[INDEX]/simple/; nearest: 0.8.1
error: 3 of 4 pins cannot be locked; nothing was written
"
    );
    assert!(!dir.path().join("pylock.new.toml").exists());
}

#[test]
fn a_version_with_only_eggs_cannot_be_locked() {
    let index = IndexBuilder::new()
        .file(DistFile::new("old", "old-1.0-py2.7.egg", b"egg".to_vec()).version("1.0"))
        .start();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "old===1.0\n");
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        filtered(&run.stderr, &index),
        "\
error: old===1.0 (upper-constraints.txt:1): version 1.0 has no wheel or sdist on http://[INDEX]/simple/ (only old-1.0-py2.7.egg (egg), which a lock cannot hold)
error: 1 of 1 pins cannot be locked; nothing was written
"
    );
}

#[test]
fn bad_input_lines_are_all_reported_and_nothing_is_written() {
    let index = small_index();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "six>=1.0\nok===1.0\n-e .\n",
    );
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 2);
    insta::assert_snapshot!("bad_input_lines", run.stderr);
    assert!(!dir.path().join("pylock.toml").exists());
    assert!(
        index.all_requests().is_empty(),
        "the index was asked before the input was valid"
    );
}

#[test]
fn relock_queries_only_changed_pins() {
    let index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", CONSTRAINTS);
    assert_eq!(lock(dir.path(), &index, &[]).code, 0);
    let first = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();

    // Unchanged input: no request at all, same bytes.
    index.server().clear_log();
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.ends_with(
            "Locked 6 pins (8 files) into pylock.toml: 6 unchanged, 0 projects queried\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        index.all_requests().is_empty(),
        "{:?}",
        index.all_requests()
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("pylock.toml")).unwrap(),
        first
    );

    // One pin changes: only its project is asked for.
    write(
        dir.path(),
        "upper-constraints.txt",
        CONSTRAINTS.replace("six===1.17.0", "six===1.16.0"),
    );
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let pages: Vec<String> = index
        .server()
        .requests()
        .iter()
        .map(|r| r.path_only().to_owned())
        .collect();
    // ... and the new version's dependencies read, by range (the page advertises no
    // `.metadata` file).
    assert_eq!(
        pages,
        ["/simple/six/", "/files/six-1.16.0-py2.py3-none-any.whl"]
    );
    let second = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(second.contains("six-1.16.0-py2.py3-none-any.whl"));
    assert!(!second.contains("six-1.17.0"));
}

#[test]
fn a_file_added_to_a_locked_version_is_reported_not_adopted() {
    let mut index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", CONSTRAINTS);
    assert_eq!(lock(dir.path(), &index, &[]).code, 0);
    let before = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    let late = WheelBuilder::new("six", "1.17.0").tag("cp312-cp312-manylinux_2_17_x86_64");
    index.add_file(DistFile::wheel(&late));

    // A plain re-lock does not even look.
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0);
    assert_eq!(
        fs::read_to_string(dir.path().join("pylock.toml")).unwrap(),
        before
    );

    // --refresh looks, reports, and keeps the locked set.
    let run = lock(dir.path(), &index, &["--refresh"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(
            "warning: six===1.17.0: the index added six-1.17.0-cp312-cp312-manylinux_2_17_x86_64.whl after this version was locked; not taken into the lock (check it, then use --refresh-package to accept it)"
        ),
        "{}",
        run.stderr
    );
    // It used to say "0 unchanged, 6 projects queried" of a lock that did not change.
    assert!(
        run.stderr.ends_with(
            "Locked 6 pins (8 files) into pylock.toml: 6 projects refreshed from the index, \
             0 changed\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("pylock.toml")).unwrap(),
        before
    );

    // Taking it is explicit.
    let run = lock(dir.path(), &index, &["--refresh-package", "six"]);
    assert_eq!(run.code, 0, "{run:?}");
    let after = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(after.contains("six-1.17.0-cp312-cp312-manylinux_2_17_x86_64.whl"));
}

#[test]
fn refresh_fails_when_a_locked_digest_changed() {
    let mut index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", CONSTRAINTS);
    assert_eq!(lock(dir.path(), &index, &[]).code, 0);
    let before = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    // The mirror now serves other bytes and publishes their digest.
    let name = "nohash-2.0-py3-none-any.whl";
    index.tamper(name, b"evil".to_vec());
    let run = lock(dir.path(), &index, &["--refresh", "--no-cache"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: nohash===2.0 (upper-constraints.txt:7): the index no longer serves what the lock holds:\n  {name}\n    locked:   sha256:"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("    on index: sha256:{}\n", sha256_hex(b"evil"))),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("pylock.toml")).unwrap(),
        before
    );
}

#[test]
fn transient_failures_are_retried_and_persistent_ones_reported() {
    let index = small_index();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "six===1.17.0\noslo.config===10.7.0\nlegacy===0.8.1\n",
    );
    index
        .site()
        .fault("/simple/six/", Fault::status(503), Fires::ONCE);
    index
        .site()
        .fault("/simple/oslo-config/", Fault::Reset, Fires::ONCE);
    index.site().fault(
        "/simple/legacy/",
        Fault::status_retry_after(429, "0"),
        Fires::ONCE,
    );
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");

    index
        .site()
        .fault("/simple/six/", Fault::status(500), Fires::Forever);
    let run = lock(
        dir.path(),
        &index,
        &["--refresh", "--retries", "1", "-o", "pylock.other.toml"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        filtered(&run.stderr, &index),
        "\
error: six===1.17.0 (upper-constraints.txt:1): http://[INDEX]/simple/six/ answered 500 Internal Server Error
error: 1 of 3 pins cannot be locked; nothing was written
"
    );
    assert!(!dir.path().join("pylock.other.toml").exists());
}

#[test]
fn a_stalled_server_times_out() {
    let index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "six===1.17.0\n");
    index.site().fault(
        "/simple/six/",
        Fault::Stall(std::time::Duration::from_secs(30)),
        Fires::Forever,
    );
    let run = lock(dir.path(), &index, &["--timeout", "1", "--retries", "0"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        filtered(&run.stderr, &index),
        "\
error: six===1.17.0 (upper-constraints.txt:1): cannot fetch http://[INDEX]/simple/six/: timed out
error: 1 of 1 pins cannot be locked; nothing was written
"
    );
}

#[test]
fn a_page_that_trickles_in_for_longer_than_the_timeout_is_still_read() {
    let index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "six===1.17.0\n");
    // Each piece comes within --timeout, the whole page does not: --timeout bounds each
    // wait for data, not the body (--request-timeout does). Half the timeout between pieces
    // leaves a loaded machine room (700 ms of 1 s did not always).
    index.site().fault(
        "/simple/six/",
        Fault::Trickle(std::time::Duration::from_millis(1500)),
        Fires::Forever,
    );
    let run = lock(dir.path(), &index, &["--timeout", "3"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "Locked 1 pin (2 files) into pylock.toml: 0 unchanged, 1 project queried\n"
    );
    assert_eq!(index.server().requests_to("/simple/six/").len(), 1);
}

#[test]
fn credentials_work_and_never_leave_their_host_or_reach_output() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("six", "1.17.0")).without_hash())
        .files_on_second_host()
        .start();
    index.site().require_basic_auth("alice", "s3cret-token");
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "six===1.17.0\nmissing===1.0\n",
    );
    let url = index
        .simple_url()
        .replace("http://", "http://alice:s3cret-token@");
    let run = Pinguard::new(dir.path())
        .args(["lock", "upper-constraints.txt", "--index-url", &url])
        .run();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stderr.contains("s3cret-token"), "{}", run.stderr);
    assert!(run.stderr.contains("alice:****@"), "{}", run.stderr);
    // The file host got no credentials; the index got them on every request.
    assert!(
        index
            .files_server()
            .requests()
            .iter()
            .all(|r| r.authorization().is_none())
    );
    assert!(
        index
            .server()
            .requests()
            .iter()
            .all(|r| r.authorization().is_some())
    );

    write(dir.path(), "upper-constraints.txt", "six===1.17.0\n");
    let run = Pinguard::new(dir.path())
        .args(["lock", "upper-constraints.txt", "--index-url", &url])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        !written.contains("s3cret") && !written.contains("alice"),
        "{written}"
    );
}

#[test]
fn netrc_credentials_are_used() {
    let index = small_index();
    index.site().require_basic_auth("bob", "from-netrc");
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "six===1.17.0\n");
    write(
        dir.path(),
        ".netrc",
        "machine 127.0.0.1 login bob password from-netrc\n",
    );
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn offline_uses_the_cache_and_names_what_it_lacks() {
    let index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "six===1.17.0\n");
    assert_eq!(
        lock(dir.path(), &index, &["-o", "pylock.first.toml"]).code,
        0
    );
    index.server().clear_log();
    write(
        dir.path(),
        "upper-constraints.txt",
        "six===1.17.0\nlegacy===0.8.1\n",
    );
    let run = lock(
        dir.path(),
        &index,
        &["--offline", "-o", "pylock.second.toml"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        filtered(&run.stderr, &index),
        "\
error: legacy===0.8.1 (upper-constraints.txt:2): http://[INDEX]/simple/legacy/ is not in the cache (run once without --offline to fill it)
error: 1 of 2 pins cannot be locked; nothing was written
"
    );
    assert!(index.all_requests().is_empty());
    write(dir.path(), "upper-constraints.txt", "six===1.17.0\n");
    let run = lock(
        dir.path(),
        &index,
        &["--offline", "-o", "pylock.second.toml"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        fs::read_to_string(dir.path().join("pylock.first.toml")).unwrap(),
        fs::read_to_string(dir.path().join("pylock.second.toml")).unwrap()
    );
}

#[test]
fn hashes_in_the_input_restrict_and_check_the_files() {
    let index = small_index();
    let dir = scratch();
    let wheel = index.file("six-1.17.0-py2.py3-none-any.whl").sha256();
    write(
        dir.path(),
        "upper-constraints.txt",
        format!("six===1.17.0 --hash=sha256:{wheel}\n"),
    );
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(
            "warning: six===1.17.0: left out six-1.17.0.tar.gz (not among the line's --hash values)"
        ),
        "{}",
        run.stderr
    );
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(written.contains(&wheel) && !written.contains("six-1.17.0.tar.gz"));

    let wrong = sha256_hex(b"not on the index");
    write(
        dir.path(),
        "upper-constraints.txt",
        format!("six===1.17.0 --hash=sha256:{wheel} --hash=sha256:{wrong}\n"),
    );
    let run = lock(dir.path(), &index, &["-o", "pylock.x.toml"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        filtered(&run.stderr, &index).starts_with(&format!(
            "error: six===1.17.0 (upper-constraints.txt:1): 1 of its --hash values match no file on http://[INDEX]/simple/: {wrong}\n"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn input_from_stdin_and_from_a_url() {
    let index = small_index();
    let site = index.site();
    site.route(
        "/constraints/upper.txt",
        support::server::Resource::new("text/plain", b"-c extra.txt\nsix===1.17.0\n".to_vec()),
    );
    site.route(
        "/constraints/extra.txt",
        support::server::Resource::new("text/plain", b"legacy===0.8.1\n".to_vec()),
    );
    let dir = scratch();
    let run = Pinguard::new(dir.path())
        .args([
            "lock",
            "-",
            "--index-url",
            &index.simple_url(),
            "-o",
            "pylock.stdin.toml",
        ])
        .stdin("six===1.17.0\n")
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let stdin_lock = fs::read_to_string(dir.path().join("pylock.stdin.toml")).unwrap();
    assert!(stdin_lock.contains("source = \"<stdin>\""), "{stdin_lock}");

    let url = index.server().url("/constraints/upper.txt");
    let run = Pinguard::new(dir.path())
        .args(["lock", &url, "--index-url", &index.simple_url()])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let url_lock = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        url_lock.contains(&format!("source = \"{url}\"")),
        "{url_lock}"
    );
    assert!(url_lock.contains("name = \"legacy\""));
}

#[test]
fn find_links_directory_without_an_index() {
    let dir = scratch();
    let wheel = WheelBuilder::new("local-pkg", "1.0");
    write(
        dir.path(),
        &format!("wheels/{}", wheel.filename()),
        wheel.build(),
    );
    write(dir.path(), "wheels/unrelated.txt", "x");
    write(dir.path(), "upper-constraints.txt", "local_pkg===1.0\n");
    let run = Pinguard::new(dir.path())
        .args([
            "lock",
            "upper-constraints.txt",
            "--no-index",
            "--find-links",
            "wheels",
        ])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        written.contains(&format!(
            "{{ name = \"{f}\", path = \"wheels/{f}\", size = {size}, hashes = {{ sha256 = \"{h}\" }} }}",
            f = wheel.filename(),
            size = wheel.build().len(),
            h = sha256_hex(&wheel.build())
        )),
        "{written}"
    );
}

#[test]
fn exported_requirements_make_pip_refuse_other_bytes() {
    let mut index = small_index();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "six===1.17.0\noslo.config===10.7.0\n",
    );
    assert_eq!(lock(dir.path(), &index, &[]).code, 0);
    let run = Pinguard::new(dir.path())
        .args(["export", "pylock.toml"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("exported_requirements", run.stdout);
    write(dir.path(), "requirements.lock", &run.stdout);

    let Some(venv) = Venv::shared() else { return };
    let simple_url = index.simple_url();
    let download = |into: &str| {
        venv.pip_with_index(
            &simple_url,
            [
                "download",
                "--no-deps",
                "--require-hashes",
                "-r",
                dir.path().join("requirements.lock").to_str().unwrap(),
                "-d",
                dir.path().join(into).to_str().unwrap(),
            ],
        )
    };
    download("ok").assert_success();

    let wheel = "six-1.17.0-py2.py3-none-any.whl";
    let mut bytes = index.file(wheel).bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    index.tamper(wheel, bytes.clone());
    let refused = download("tampered");
    refused.assert_failure();
    assert!(
        refused
            .stderr
            .contains("THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE."),
        "{refused}"
    );
    assert!(
        refused
            .stderr
            .contains(&format!("Got        {}", sha256_hex(&bytes))),
        "{refused}"
    );
}

#[test]
fn lock_can_write_hashed_requirements_directly() {
    let index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "six===1.17.0\n");
    let run = lock(dir.path(), &index, &["--format", "constraints"]);
    assert_eq!(run.code, 0, "{run:?}");
    let sdist = index.file("six-1.17.0.tar.gz").sha256();
    let wheel = index.file("six-1.17.0-py2.py3-none-any.whl").sha256();
    let (first, second) = if sdist < wheel {
        (sdist, wheel)
    } else {
        (wheel, sdist)
    };
    assert_eq!(
        run.stdout,
        format!(
            "# Hashed constraints generated by pinguard from upper-constraints.txt:\n\
             #    pinguard lock upper-constraints.txt --format constraints\n\
             # pip >= 26.1 checks these hashes for whatever -c FILE constrains\n\
             six==1.17.0 \\\n    --hash=sha256:{first} \\\n    --hash=sha256:{second}\n"
        )
    );
    assert!(!dir.path().join("pylock.toml").exists());
}

#[test]
fn export_of_a_broken_lock_names_the_problem() {
    let dir = scratch();
    write(
        dir.path(),
        "pylock.toml",
        "lock-version = \"1.0\"\ncreated-by = \"me\"\n\n[[packages]]\nname = \"six\"\nwheels = [{ url = \"https://x/six-1.0-py3-none-any.whl\", hashes = { sha256 = \"abc\" } }]\n",
    );
    let run = Pinguard::new(dir.path()).args(["export"]).run();
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "\
error: packages[0] (`six`).wheels[0]: `hashes.sha256` is not a sha256 digest: a sha256 digest has 64 hex characters, this one has 3
 --> pylock.toml:6:11
  |
6 | wheels = [{ url = \"https://x/six-1.0-py3-none-any.whl\", hashes = { sha256 = \"abc\" } }]
  |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ here
error: pylock.toml is not a lock pinguard can export
"
    );
}

#[test]
fn pages_are_revalidated_with_their_etag_and_reused_while_fresh() {
    let index = small_index();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "six===1.17.0\nlegacy===0.8.1\n",
    );
    index
        .site()
        .update("/simple/six/", |r| *r = r.clone().etag("v1"));
    index.site().update("/simple/legacy/", |r| {
        *r = r.clone().cache_control("max-age=600")
    });
    assert_eq!(
        lock(dir.path(), &index, &["-o", "pylock.first.toml"]).code,
        0
    );
    let first: Vec<_> = index.server().requests();
    assert!(first.iter().all(|r| r.if_none_match().is_none()));

    index.server().clear_log();
    assert_eq!(
        lock(dir.path(), &index, &["-o", "pylock.second.toml"]).code,
        0
    );
    let second = index.server().requests();
    // six: asked again with its ETag (answered 304); legacy: still fresh, not asked at all.
    let six: Vec<_> = second
        .iter()
        .filter(|r| r.path_only() == "/simple/six/")
        .collect();
    assert_eq!(six.len(), 1, "{second:?}");
    assert_eq!(six[0].if_none_match(), Some("\"v1\""));
    assert!(
        second.iter().all(|r| r.path_only() != "/simple/legacy/"),
        "{second:?}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("pylock.first.toml")).unwrap(),
        fs::read_to_string(dir.path().join("pylock.second.toml")).unwrap()
    );
}

/// `lock same.txt -o same.txt` printed `error: error: not valid TOML` and advised deleting
/// the input; with `--format requirements` it overwrote the input silently. An output that
/// is an input (however spelled, through a link, or included with `-c`) is refused before
/// anything is queried or written.
#[test]
fn lock_refuses_an_output_file_that_is_an_input() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("six", "1.17.0")))
        .start();
    let dir = scratch();
    write(dir.path(), "same.txt", "six===1.17.0\n");
    write(dir.path(), "uc.txt", "-c same.txt\nsix>=1\n");
    std::os::unix::fs::symlink("same.txt", dir.path().join("link.txt")).unwrap();
    let help_pylock = "help: write the lock to another file with `-o`, such as `-o pylock.toml`, \
                       or to standard output with `-o -`\n";
    let help_requirements = "help: write the lock to another file with `-o`, such as \
                             `-o requirements.lock`, or to standard output with `-o -`\n";
    let cases: [(&[&str], String); 4] = [
        (
            &["same.txt", "-o", "same.txt"],
            format!(
                "error: the output file is the input file same.txt: writing same.txt would \
                 replace what it is made from; nothing was written\n{help_pylock}"
            ),
        ),
        (
            &["same.txt", "-o", "./same.txt", "--format", "requirements"],
            format!(
                "error: the output file is the input file same.txt: writing ./same.txt would \
                 replace what it is made from; nothing was written\n{help_requirements}"
            ),
        ),
        (
            &["same.txt", "-o", "link.txt", "--format", "constraints"],
            format!(
                "error: the output file is the input file same.txt: writing link.txt would \
                 replace what it is made from; nothing was written\n{help_requirements}"
            ),
        ),
        (
            &["uc.txt", "-o", "same.txt", "--format", "requirements"],
            format!(
                "error: the output file is the input file same.txt: writing same.txt would \
                 replace what it is made from; nothing was written\n{help_requirements}"
            ),
        ),
    ];
    for (args, expected) in cases {
        let run = Pinguard::new(dir.path())
            .args(["lock", "--index-url", &index.simple_url()])
            .args(args)
            .run();
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (2, "", expected.as_str()),
            "{args:?}"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("same.txt")).unwrap(),
            "six===1.17.0\n"
        );
        assert!(dir.path().join("link.txt").is_symlink());
    }
    assert!(
        index.all_requests().is_empty(),
        "{:?}",
        index.all_requests()
    );
}

/// Diagnostic headlines printed credentials while the line under them was masked:
/// ``error: invalid requirement `git+https://user:GITTOKEN@github.com/…` `` and
/// ``error: `http://u:SECRET2@h/` cannot follow a requirement``; clap's errors quote
/// arguments too. Every message is masked on its way out.
#[test]
fn messages_never_print_credentials_from_the_input() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("six", "1.17.0")))
        .start();
    let dir = scratch();
    let zeros = "0".repeat(64);
    write(
        dir.path(),
        "uc.txt",
        format!(
            "six===1.17.0\n\
             git+https://user:GITTOKEN@github.com/org/repo.git#egg=repo\n\
             six===1.17.0 --hash=sha256:{zeros} http://u:SECRET2@h/\n"
        ),
    );
    let run = Pinguard::new(dir.path())
        .args(["lock", "uc.txt", "--index-url", &index.simple_url()])
        .run();
    assert_eq!(run.code, 2, "{run:?}");
    for headline in [
        "error: invalid requirement `git+https://user:****@github.com/org/repo.git#egg=repo`\n",
        "error: `http://u:****@h/` cannot follow a requirement\n",
    ] {
        assert!(
            run.stderr.starts_with(headline) || run.stderr.contains(&format!("\n{headline}")),
            "{headline}{}",
            run.stderr
        );
    }
    assert!(
        run.stderr
            .ends_with("\nerror: uc.txt cannot be locked: 2 lines to fix; nothing was written\n"),
        "{}",
        run.stderr
    );

    let run = Pinguard::new(dir.path())
        .args(["lock", "uc.txt", "https://u:SECRET3@h/simple"])
        .run();
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "error: unexpected argument 'https://u:****@h/simple' found\n\n\
             Usage: pinguard lock [OPTIONS] <SOURCE>\n\n\
             For more information, try '--help'.\n"
        )
    );
}

/// An existing lock that cannot be read was reported as `error: error: not valid TOML`, its
/// advice run into the diagnostic: the diagnostic is shown as such, then one error line.
#[test]
fn a_broken_existing_lock_is_reported_once_with_what_to_do() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("six", "1.17.0")))
        .start();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "six===1.17.0\n");
    write(dir.path(), "pylock.toml", "lock-version = \n");
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: not valid TOML\n --> pylock.toml:1:16\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(
            "\n\nerror: the existing lock pylock.toml cannot be read, so its entries cannot be \
             kept; fix it, or delete it to lock every pin anew\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("pylock.toml")).unwrap(),
        "lock-version = \n"
    );
    assert!(
        index.all_requests().is_empty(),
        "{:?}",
        index.all_requests()
    );
}

#[test]
fn a_refused_connection_is_said_in_plain_words() {
    // A socket bound but never listening: connections to its port are refused, and while it
    // lives no other test's server can take the port (a listener bound and dropped could).
    let held = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    held.bind(&any_port.into()).unwrap();
    let port = held.local_addr().unwrap().as_socket().unwrap().port();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "six===1.17.0\n");
    let run = Pinguard::new(dir.path())
        .args([
            "lock",
            "upper-constraints.txt",
            "--retries",
            "0",
            "--index-url",
        ])
        .args([format!("http://127.0.0.1:{port}/simple")])
        .run();
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr.replace(&port.to_string(), "PORT"),
        "error: six===1.17.0 (upper-constraints.txt:1): cannot fetch \
         http://127.0.0.1:PORT/simple/six/: cannot connect: Connection refused (os error 111)\n\
         error: 1 of 1 pins cannot be locked; nothing was written\n"
    );
    drop(held);
}

#[test]
fn an_output_directory_and_an_empty_input_are_said() {
    let index = small_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "# only a comment\n");
    std::fs::create_dir(dir.path().join("locks")).unwrap();
    let run = lock(dir.path(), &index, &["-o", "locks"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: the output `locks` is a directory; nothing was written\n\
         help: name a file in it, such as `-o locks/pylock.toml`\n"
    );
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "warning: upper-constraints.txt pins nothing (no `name===version` line): the lock \
         will be empty\n\
         Locked 0 pins (0 files) into pylock.toml: 0 unchanged, 0 projects queried\n"
    );
    // An empty lock is still one pinguard (and packaging, checked by `run`) reads.
    fs::create_dir(dir.path().join("wh")).unwrap();
    let run = Pinguard::new(dir.path())
        .args(["verify", "pylock.toml", "wh"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn usage_lines_do_not_list_options_set_by_the_environment_as_required() {
    let dir = scratch();
    // Pinguard::new sets PINGUARD_CACHE_DIR, as a CI job would.
    let run = Pinguard::new(dir.path()).args(["fetch"]).run();
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.ends_with(
            "\nUsage: pinguard fetch [OPTIONS] --dest <DIR> [LOCK]\n\n\
             For more information, try '--help'.\n"
        ),
        "{}",
        run.stderr
    );
    let run = Pinguard::new(dir.path()).args(["lock", "--help"]).run();
    let headings: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.ends_with(':') && !l.starts_with(' '))
        .collect();
    assert_eq!(
        headings,
        [
            "Arguments:",
            "Options:",
            "Index options:",
            "Network and cache options:",
            "Global options:"
        ]
    );
}

#[test]
fn lock_dependencies_survives_a_requires_dist_name_ending_in_a_dot() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("app", "1.0").requires_dist(["foo. ==1", "lib>=1"]),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("lib", "1.5")))
        .start();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "app===1.0\nlib===1.5\n",
    );
    let run = lock(dir.path(), &index, &["--dependencies"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        "warning: app==1.0: `Requires-Dist: foo. ==1` in app-1.0-py3-none-any.whl does not parse \
         and is not recorded: Package name `foo.` must end with a letter or digit, not `.`"
    );
    let lock = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        lock.contains("requires-dist = [\n    \"lib>=1\",\n]"),
        "{lock}"
    );
}

#[test]
fn export_of_a_lock_recording_a_requires_dist_name_ending_in_a_dot_is_a_diagnostic() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("app", "1.0").requires_dist(["lib>=1"]),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("lib", "1.5")))
        .start();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "app===1.0\nlib===1.5\n",
    );
    assert_eq!(lock(dir.path(), &index, &["--dependencies"]).code, 0);
    let path = dir.path().join("pylock.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("\"lib>=1\"", "\"foo. ==1\"")).unwrap();
    let run = Pinguard::new(dir.path())
        .args(["export", "pylock.toml"])
        .run();
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{run:?}");
    assert_eq!(
        run.stderr,
        "error: packages[0] (`app`).tool.pinguard: invalid `requires-dist` entry: \
         Package name `foo.` must end with a letter or digit, not `.`
  --> pylock.toml:17:5
   |
17 |     \"foo. ==1\",
   |     ^^^^^^^^^^ here
error: pylock.toml is not a lock pinguard can export
"
    );
}

#[test]
fn a_requirement_name_ending_in_a_dot_is_a_diagnostic_not_a_panic() {
    let dir = scratch();
    write(dir.path(), "uc.txt", "six===1.17.0\nfoo. ===1.0\n");
    let run = Pinguard::new(dir.path())
        .args(["lock", "uc.txt", "--no-index"])
        .run();
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{run:?}");
    assert_eq!(
        run.stderr,
        "\
error: invalid requirement `foo. ===1.0`
 --> uc.txt:2:4
  |
2 | foo. ===1.0
  |    ^ Package name `foo.` must end with a letter or digit, not `.`

error: uc.txt cannot be locked: 1 line to fix; nothing was written
"
    );
}

#[test]
fn a_non_ascii_character_after_a_marker_keyword_is_a_diagnostic_not_a_panic() {
    let dir = scratch();
    write(dir.path(), "uc.txt", "foo===1.0 ; os_name == 'a' andé\n");
    let run = Pinguard::new(dir.path())
        .args(["lock", "uc.txt", "--no-index"])
        .run();
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{run:?}");
    assert_eq!(
        run.stderr,
        "\
error: invalid requirement `foo===1.0 ; os_name == 'a' andé`
 --> uc.txt:1:31
  |
1 | foo===1.0 ; os_name == 'a' andé
  |                               ^ Unexpected character `é`: PEP 508 allows only ASCII here

error: uc.txt cannot be locked: 1 line to fix; nothing was written
"
    );
}

#[test]
fn a_non_ascii_character_where_a_toml_value_starts_is_a_diagnostic_not_a_panic() {
    let dir = scratch();
    write(
        dir.path(),
        "pylock.toml",
        "lock-version = \"1.0\"\ncreated-by = é\"\n",
    );
    let run = Pinguard::new(dir.path())
        .args(["export", "pylock.toml"])
        .run();
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{run:?}");
    assert_eq!(
        run.stderr,
        "\
error: not valid TOML
 --> pylock.toml:2:14
  |
2 | created-by = é\"
  |              ^ missing opening quote, expected `\"`
  |
  = help: fix the syntax, or write the lock again with `pinguard lock`
error: pylock.toml is not a lock pinguard can export
"
    );
}

/// A project page listing `files` as `(href, sha256)` links, in place of the generated one.
fn serve_links(index: &TestIndex, project: &str, files: &[(String, String)]) {
    let links: String = files
        .iter()
        .map(|(href, sha256)| format!("<a href=\"{href}#sha256={sha256}\">file</a>\n"))
        .collect();
    index.site().route(
        format!("/simple/{project}/"),
        support::server::Resource::html(format!("<html><body>\n{links}</body></html>\n")),
    );
}

#[test]
fn file_names_the_guard_refuses_are_never_locked() {
    let good = DistFile::wheel(&WheelBuilder::new("alpha", "1.0"));
    let index = IndexBuilder::new().file(good.clone()).start();
    let files_url = index.file_url("");
    serve_links(
        &index,
        "alpha",
        &[
            (index.file_url(good.filename()), good.sha256()),
            (
                format!("{files_url}alpha-1.0-py3-none-x%2F..%2F..%2Fevil.whl"),
                "1".repeat(64),
            ),
            (
                format!("{files_url}alpha-1.0-py3-none-nul%00.whl"),
                "2".repeat(64),
            ),
        ],
    );
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "alpha===1.0\n");
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr.lines().take(2).collect::<Vec<_>>(),
        [
            "warning: alpha===1.0: left out `alpha-1.0-py3-none-nul\\0.whl`: it contains a NUL \
             byte, and `fetch` refuses such a name, so a lock must not hold it",
            "warning: alpha===1.0: left out `alpha-1.0-py3-none-x/../../evil.whl`: it contains a \
             path separator, and `fetch` refuses such a name, so a lock must not hold it",
        ]
    );
    let export = Pinguard::new(dir.path())
        .args(["export", "pylock.toml"])
        .run();
    assert_eq!(export.code, 0, "{export:?}");
    assert!(
        export.stdout.ends_with(&format!(
            "alpha==1.0 \\\n    --hash=sha256:{}\n",
            good.sha256()
        )),
        "{}",
        export.stdout
    );
}

#[test]
fn a_page_listing_one_file_name_with_two_digests_fails_the_pin() {
    let good = DistFile::wheel(&WheelBuilder::new("alpha", "1.0"));
    let index = IndexBuilder::new().file(good.clone()).start();
    let href = index.file_url(good.filename());
    let other = "3".repeat(64);
    serve_links(
        &index,
        "alpha",
        &[
            (href.clone(), good.sha256()),
            (href.clone(), good.sha256()),
            (href, other.clone()),
        ],
    );
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "alpha===1.0\n");
    let run = lock(dir.path(), &index, &[]);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: alpha===1.0 (upper-constraints.txt:1): the index lists `{}` twice with \
             different sha256 digests, {} and {other}; a lock cannot tell which file is genuine\n\
             error: 1 of 1 pins cannot be locked; nothing was written\n",
            good.filename(),
            good.sha256()
        )
    );
    assert!(!dir.path().join("pylock.toml").exists());
}
/// The `dependencies = [...]` array of the lock's `[[packages]]` entry named `name`, or
/// `None` when the entry has none.
fn dependencies_of(lock: &str, name: &str) -> Option<String> {
    let entry = lock
        .split("[[packages]]\n")
        .find(|entry| entry.starts_with(&format!("name = \"{name}\"\n")))
        .unwrap_or_else(|| panic!("no entry {name} in {lock}"));
    let start = entry.find("dependencies = [")?;
    let end = start + entry[start..].find("\n]\n")? + 3;
    Some(entry[start..end].to_owned())
}

/// oslo.config and oslo.log as the public index has them: test tools and systemd-python
/// only under extras, and every one of those pinned, as OpenStack's constraints pin them.
fn oslo_index() -> TestIndex {
    let oslo_config = WheelBuilder::new("oslo.config", "10.7.0")
        .provides_extra(["test"])
        .requires_dist([
            "pbr>=2.0",
            "coverage!=4.4,>=4.0; extra == \"test\"",
            "stestr>=2.0.0; extra == \"test\"",
        ]);
    let oslo_log = WheelBuilder::new("oslo.log", "7.1.0")
        .provides_extra(["fixtures", "systemd"])
        .requires_dist([
            "oslo.config>=5.2.0",
            "pbr>=3.1.1",
            "systemd-python>=234; extra == 'systemd'",
            "pywin32>=300; sys_platform == 'win32'",
        ]);
    let journal = WheelBuilder::new("journal-app", "1.0").requires_dist(["oslo.log[systemd]>=7"]);
    IndexBuilder::new()
        .file(DistFile::wheel(&oslo_config))
        .file(DistFile::wheel(&oslo_log))
        .file(DistFile::wheel(&journal))
        .file(DistFile::wheel(&WheelBuilder::new("pbr", "6.1.1")))
        .file(DistFile::wheel(&WheelBuilder::new("coverage", "7.6.0")))
        .file(DistFile::wheel(&WheelBuilder::new("stestr", "4.1.0")))
        .file(DistFile::sdist(&SdistBuilder::new("systemd-python", "235")))
        .file(DistFile::wheel(&WheelBuilder::new("pywin32", "308")))
        .start()
}

const OSLO: &str = "\
oslo.config===10.7.0
oslo.log===7.1.0
pbr===6.1.1
coverage===7.6.0
stestr===4.1.0
systemd-python===235
pywin32===308
";

#[test]
fn recorded_dependencies_leave_out_extras_no_package_in_the_lock_asks_for() {
    let index = oslo_index();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", OSLO);
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "Locked 7 pins (7 files) into pylock.toml: 0 unchanged, 7 projects queried\n"
    );
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    // What pex follows: no test tools, no systemd-python.
    assert_eq!(
        dependencies_of(&written, "oslo-config").as_deref(),
        Some("dependencies = [\n    { name = \"pbr\" },\n]\n")
    );
    // pywin32 is needed on Windows, which a lock for every target serves.
    assert_eq!(
        dependencies_of(&written, "oslo-log").as_deref(),
        Some(
            "dependencies = [\n    { name = \"oslo-config\" },\n    { name = \"pbr\" },\n    { name = \"pywin32\" },\n]\n"
        )
    );
    // Requires-Dist itself is kept as written: `check` and `install -r` need the extras.
    assert!(
        written.contains(
            "requires-dist = [\n    \"pbr>=2.0\",\n    'coverage!=4.4,>=4.0; extra == \"test\"',\n    'stestr>=2.0.0; extra == \"test\"',\n]\n"
        ),
        "{written}"
    );

    // A package of the lock that asks for oslo.log[systemd] brings systemd-python in.
    write(
        dir.path(),
        "upper-constraints.txt",
        format!("{OSLO}journal-app===1.0\n"),
    );
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert_eq!(
        dependencies_of(&written, "oslo-log").as_deref(),
        Some(
            "dependencies = [\n    { name = \"oslo-config\" },\n    { name = \"pbr\" },\n    { name = \"pywin32\" },\n    { name = \"systemd-python\" },\n]\n"
        )
    );
    assert_eq!(
        dependencies_of(&written, "oslo-config").as_deref(),
        Some("dependencies = [\n    { name = \"pbr\" },\n]\n")
    );

    // A lock for Linux only (its `environments`) does not list what only Windows needs.
    let run = lock(
        dir.path(),
        &index,
        &[&ONE_TARGET[..], &["-o", "pylock.linux.toml"]].concat(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let written = fs::read_to_string(dir.path().join("pylock.linux.toml")).unwrap();
    assert_eq!(
        dependencies_of(&written, "oslo-log").as_deref(),
        Some(
            "dependencies = [\n    { name = \"oslo-config\" },\n    { name = \"pbr\" },\n    { name = \"systemd-python\" },\n]\n"
        )
    );
}

/// requests as the public index has it, with certifi unpinned (as OpenStack's master
/// constraints leave it) and idna pinned below what requests admits.
fn requests_index() -> TestIndex {
    let requests = WheelBuilder::new("requests", "2.32.3").requires_dist([
        "certifi>=2017.4.17",
        "idna<4,>=2.5",
        "PySocks!=1.5.7,>=1.5.6; extra == \"socks\"",
    ]);
    IndexBuilder::new()
        .file(DistFile::wheel(&requests))
        .file(DistFile::wheel(&WheelBuilder::new("idna", "2.0")))
        .file(DistFile::wheel(&WheelBuilder::new("idna", "3.10")))
        .file(DistFile::wheel(&WheelBuilder::new("certifi", "2024.8.30")))
        .file(DistFile::wheel(&WheelBuilder::new("certifi", "2025.1.31")))
        .file(DistFile::wheel(&WheelBuilder::new(
            "certifi",
            "2026.1.1rc1",
        )))
        .start()
}

const ONE_TARGET: [&str; 4] = ["--python", "3.12", "--platform", "manylinux_2_28_x86_64"];

#[test]
fn lock_warns_about_dependencies_no_pin_covers_and_pins_outside_a_dependents_specifier() {
    let index = requests_index();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "requests===2.32.3\nidna===2.0\n",
    );
    let run = lock(dir.path(), &index, &ONE_TARGET);
    assert_eq!(run.code, 0, "{run:?}");
    let findings = "\
the lock's dependencies do not hold together on CPython 3.12 on manylinux_2_28_x86_64:
  dependencies no pin covers:
    certifi: requests==2.32.3 requires certifi>=2017.4.17, and no pin covers it
  pins that violate a dependent's specifier:
    idna==2.0: requests==2.32.3 requires idna>=2.5, <4
";
    let help = "\
help: add these lines to upper-constraints.txt, or lock with --add-missing to add them to the lock:
  certifi===2025.1.31
";
    assert_eq!(
        run.stderr,
        format!(
            "warning: {findings}{help}Locked 2 pins (2 files) into pylock.toml: 0 unchanged, 2 projects queried\n"
        )
    );
    assert!(dir.path().join("pylock.toml").exists());

    // --strict: the same findings are errors, and nothing is written.
    let run = lock(
        dir.path(),
        &index,
        &[&ONE_TARGET[..], &["--strict", "-o", "pylock.strict.toml"]].concat(),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: {findings}{help}error: --strict: the lock is incomplete or inconsistent; nothing was written\n"
        )
    );
    assert!(!dir.path().join("pylock.strict.toml").exists());
}

/// An app and a tool whose dependencies no pin covers: urllib3 (both ask, tool caps it),
/// h2 (urllib3's, under its `h2` extra, which app asks for) and hpack (h2's); urllib3 2.3.0
/// is newer than tool admits, 2.2.4rc1 is a pre-release, 2.2.3 has only a Windows wheel,
/// and the newest version that fits, 2.2.2, has a pure wheel.
fn missing_index() -> TestIndex {
    let app = WheelBuilder::new("app", "1.0").requires_dist(["urllib3[h2]<3,>=1.21"]);
    let tool = WheelBuilder::new("tool", "1.0").requires_dist(["urllib3<2.3"]);
    let urllib3 = |version: &str| {
        WheelBuilder::new("urllib3", version)
            .provides_extra(["h2"])
            .requires_dist(["h2<5,>=4; extra == \"h2\""])
    };
    IndexBuilder::new()
        .file(DistFile::wheel(&app))
        .file(DistFile::wheel(&tool))
        .file(DistFile::wheel(&urllib3("2.3.0")))
        .file(DistFile::wheel(&urllib3("2.2.4rc1")))
        .file(DistFile::wheel(&urllib3("2.2.3").tag("py3-none-win_amd64")))
        .file(DistFile::wheel(&urllib3("2.2.2")))
        .file(DistFile::wheel(&urllib3("1.26.20")))
        .file(DistFile::wheel(
            &WheelBuilder::new("h2", "4.1.0").requires_dist(["hpack<5,>=4.0"]),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("hpack", "4.0.0")))
        .file(DistFile::wheel(&WheelBuilder::new("hpack", "3.0.0")))
        .start()
}

#[test]
fn add_missing_adds_the_newest_version_every_dependent_admits_and_theirs_in_turn() {
    let index = missing_index();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "app===1.0\ntool===1.0\n",
    );
    let run = lock(
        dir.path(),
        &index,
        &[&ONE_TARGET[..], &["--add-missing"]].concat(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "Locked 2 pins and 3 added dependencies (5 files) into pylock.toml: 0 unchanged, 2 projects queried\n"
    );
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    let entry = |name: &str| {
        written
            .split("[[packages]]\n")
            .find(|entry| entry.starts_with(&format!("name = \"{name}\"\n")))
            .unwrap_or_else(|| panic!("no entry {name} in {written}"))
            .to_owned()
    };
    let added = |entry: &str| {
        entry
            .lines()
            .filter(|line| line.starts_with("version = ") || line.starts_with("added-for = "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        added(&entry("urllib3")),
        "version = \"2.2.2\"\nadded-for = [\"app==1.0\", \"tool==1.0\"]"
    );
    assert_eq!(
        added(&entry("h2")),
        "version = \"4.1.0\"\nadded-for = [\"urllib3==2.2.2\"]"
    );
    assert_eq!(
        added(&entry("hpack")),
        "version = \"4.0.0\"\nadded-for = [\"h2==4.1.0\"]"
    );
    assert_eq!(added(&entry("app")), "version = \"1.0\"");

    // Locked again after the index gained a newer urllib3 that fits: the added entries keep
    // their versions (while their dependents admit them), and the lock its bytes.
    let mut index = index;
    index.add_file(DistFile::wheel(
        &WheelBuilder::new("urllib3", "2.2.2.post1")
            .provides_extra(["h2"])
            .requires_dist(["h2<5,>=4; extra == \"h2\""]),
    ));
    let run = lock(
        dir.path(),
        &index,
        &[&ONE_TARGET[..], &["--add-missing"]].concat(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "Locked 2 pins and 3 added dependencies (5 files) into pylock.toml: 2 unchanged, 0 projects queried\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("pylock.toml")).unwrap(),
        written
    );
}

#[test]
fn add_missing_refuses_a_dependency_whose_dependents_cannot_all_be_satisfied() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("app", "1.0").requires_dist(["lib>=2"]),
        ))
        .file(DistFile::wheel(
            &WheelBuilder::new("tool", "1.0").requires_dist(["lib<2; python_version >= \"3.8\""]),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("lib", "1.5")))
        .file(DistFile::wheel(&WheelBuilder::new("lib", "2.1")))
        .start();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "app===1.0\ntool===1.0\n",
    );
    let run = lock(
        dir.path(),
        &index,
        &[&ONE_TARGET[..], &["--add-missing"]].concat(),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: cannot add a dependency: no version of `lib` satisfies every dependent: \
         app==1.0 requires lib>=2; tool==1.0 requires lib<2\n\
         error: 1 missing dependency cannot be added; nothing was written\n"
    );
    assert!(!dir.path().join("pylock.toml").exists());
}

#[test]
fn without_python_targets_dependencies_are_reviewed_on_each_cpython_the_lock_admits() {
    let app = WheelBuilder::new("app", "1.0").requires_dist([
        "tomli>=1; python_version < \"3.11\"",
        "new-only; python_version >= \"3.13\"",
    ]);
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&app))
        .file(DistFile::wheel(&WheelBuilder::new("tomli", "2.2.1")))
        .file(DistFile::wheel(&WheelBuilder::new("new-only", "1.0")))
        .start();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "app===1.0\n");
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    // This machine's platform, as the first heading names it.
    let platform = run
        .stderr
        .split_once("CPython 3.10 on ")
        .and_then(|(_, rest)| rest.split_once(":\n"))
        .map(|(platform, _)| platform.to_owned())
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(
        run.stderr,
        format!(
            "\
warning: the lock's dependencies do not hold together on CPython 3.10 on {platform}:
  dependencies no pin covers:
    tomli: app==1.0 requires tomli>=1, and no pin covers it
warning: the lock's dependencies do not hold together on CPython 3.13, 3.14 on {platform}:
  dependencies no pin covers:
    new-only: app==1.0 requires new-only, and no pin covers it
help: add these lines to upper-constraints.txt, or lock with --add-missing to add them to the lock:
  new-only===1.0
  tomli===2.2.1
Locked 1 pin (1 file) into pylock.toml: 0 unchanged, 1 project queried
"
        )
    );
}

/// Dependencies are read as each page arrives, from the file the trimmed lock keeps: a
/// package with only platform wheels has its Linux wheel read once, never the macOS wheel
/// an untrimmed choice would have read. The trace lists every request, credentials masked.
#[test]
fn dependencies_read_while_locking_come_from_the_file_the_trimmed_lock_keeps() {
    let mac = WheelBuilder::new("native", "1.0")
        .tag("cp312-cp312-macosx_11_0_arm64")
        .requires_dist(["six"]);
    let linux = WheelBuilder::new("native", "1.0")
        .tag("cp312-cp312-manylinux_2_28_x86_64")
        .requires_dist(["six"]);
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&mac))
        .file(DistFile::wheel(&linux))
        .file(DistFile::wheel(&WheelBuilder::new("six", "1.17.0")))
        .start();
    index.site().require_basic_auth("alice", "s3cret-token");
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "native===1.0\nsix===1.17.0\n",
    );
    let url = index
        .simple_url()
        .replace("http://", "http://alice:s3cret-token@");
    let trace = dir.path().join("trace.tsv");
    let run = Pinguard::new(dir.path())
        .args(["lock", "upper-constraints.txt", "--index-url", &url])
        .args(ONE_TARGET)
        .env("PINGUARD_TRACE_HTTP", &trace)
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        written.contains(&format!("file = \"{}\"", linux.filename())),
        "{written}"
    );
    let asked: Vec<String> = index
        .all_requests()
        .iter()
        .map(|r| r.path_only().rsplit('/').next().unwrap().to_owned())
        .filter(|name| name.starts_with("native-"))
        .collect();
    assert_eq!(asked, [linux.filename()], "the Linux wheel, by range");

    let trace = fs::read_to_string(&trace).unwrap();
    let lines: Vec<Vec<&str>> = trace.lines().map(|l| l.split('\t').collect()).collect();
    assert!(lines.iter().all(|fields| fields.len() == 6), "{trace}");
    let urls: Vec<&str> = lines.iter().map(|fields| fields[5]).collect();
    for page in ["native", "six"] {
        let masked = format!("{}{page}/", url.replace("s3cret-token", "****"));
        assert!(urls.contains(&masked.as_str()), "{page}: {trace}");
    }
    assert!(!trace.contains("s3cret"), "{trace}");
}

/// The page of a dependency no pin covers is fetched as soon as its dependent's metadata is
/// read, while other requests are still awaited, not in a round of its own after the lock is
/// made; once, and never for a dependency only an extra brings in.
#[test]
fn a_dependency_no_pin_covers_is_looked_up_while_the_lock_is_made() {
    let app =
        WheelBuilder::new("app", "1.0").requires_dist(["tomli>=1", "docs-only; extra == \"docs\""]);
    let slow = WheelBuilder::new("slow", "1.0");
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&app))
        .file(DistFile::wheel(&slow))
        .file(DistFile::wheel(&WheelBuilder::new("tomli", "2.2.1")))
        .file(DistFile::wheel(&WheelBuilder::new("docs-only", "1.0")))
        .start();
    // slow's wheel (its metadata) answers once tomli's page is asked for: a lock that looks
    // up tomli only once every pin is read holds it until the limit. The hold is on the
    // wheel, not the page: the first request to the index goes alone, and a held first page
    // held every other request behind it (CI failed so, with a fixed delay and with a hold).
    let slow_wheel = format!("/files/{}", slow.filename());
    let hold = Fault::hold_until_asked("/simple/tomli/", std::time::Duration::from_secs(20));
    index.site().fault(&slow_wheel, hold, Fires::ONCE);
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "app===1.0\nslow===1.0\n",
    );
    let run = lock(dir.path(), &index, &ONE_TARGET);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "\
warning: the lock's dependencies do not hold together on CPython 3.12 on manylinux_2_28_x86_64:
  dependencies no pin covers:
    tomli: app==1.0 requires tomli>=1, and no pin covers it
help: add these lines to upper-constraints.txt, or lock with --add-missing to add them to the lock:
  tomli===2.2.1
Locked 2 pins (2 files) into pylock.toml: 0 unchanged, 2 projects queried
"
    );
    let asked: Vec<String> = index
        .all_requests()
        .iter()
        .map(|r| r.path_only().to_owned())
        .collect();
    let at = |path: &str| asked.iter().position(|p| p.as_str() == path);
    assert!(at("/simple/tomli/").is_some(), "{asked:#?}");
    assert_eq!(
        index.server().holds_timed_out(),
        0,
        "tomli was asked for only after slow's metadata answered: {asked:#?}"
    );
    assert_eq!(
        asked.iter().filter(|p| *p == "/simple/tomli/").count(),
        1,
        "{asked:#?}"
    );
    assert_eq!(at("/simple/docs-only/"), None, "{asked:#?}");
}

/// An sdist's metadata is read as it downloads, but counts only once the whole file matches
/// the digest the page gave: other bytes, whatever their PKG-INFO says, fail the lock with
/// both digests, and nothing is written.
#[test]
fn an_sdist_served_with_other_bytes_than_its_page_gave_fails_the_lock() {
    let sdist = SdistBuilder::new("legacy", "1.0").requires_dist(["six"]);
    let other = SdistBuilder::new("legacy", "1.0")
        .requires_dist(["evil"])
        .build();
    let index = IndexBuilder::new().file(DistFile::sdist(&sdist)).start();
    let path = format!("/files/{}", sdist.filename());
    index
        .site()
        .route(&path, support::server::Resource::file(other.clone()));
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "legacy===1.0\n");
    let run = lock(dir.path(), &index, &ONE_TARGET);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: legacy==1.0: cannot read its dependencies: {file}: the served bytes do not \
             match the lock (expected sha256:{expected}, computed sha256:{computed})\n\
             error: the dependencies of 1 package cannot be read; nothing was written\n\
             help: `--no-dependencies` writes a lock of the hashes alone, without the \
             dependencies that `install` and `check` use\n",
            file = sdist.filename(),
            expected = sha256_hex(&sdist.build()),
            computed = sha256_hex(&other),
        )
    );
    assert!(!dir.path().join("pylock.toml").exists());
}

/// A streamed sdist whose download breaks off is read again from the start, as any body is.
#[test]
fn an_sdist_whose_download_breaks_off_is_read_again() {
    let sdist = SdistBuilder::new("legacy", "1.0").requires_dist(["six"]);
    let index = IndexBuilder::new()
        .file(DistFile::sdist(&sdist))
        .file(DistFile::wheel(&WheelBuilder::new("six", "1.17.0")))
        .start();
    let path = format!("/files/{}", sdist.filename());
    index.site().fault(&path, Fault::Truncate(100), Fires::ONCE);
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "legacy===1.0\nsix===1.17.0\n",
    );
    let run = lock(dir.path(), &index, &ONE_TARGET);
    assert_eq!(run.code, 0, "{run:?}");
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        written.contains("dependencies = [\n    { name = \"six\" },\n]"),
        "{written}"
    );
    let asked = index.all_requests();
    let times = asked.iter().filter(|r| r.path_only() == path).count();
    assert_eq!(times, 2, "{asked:#?}");
}

/// A `.metadata` file the page advertises is read first, and held to the digest the page
/// gave: other bytes fail the lock, naming both digests, and nothing is written.
#[test]
fn an_advertised_metadata_file_that_does_not_match_its_digest_fails_the_lock() {
    let six = WheelBuilder::new("six", "1.17.0");
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&six).core_metadata_from_wheel())
        .start();
    let path = format!("/files/{}.metadata", six.filename());
    let other = b"Metadata-Version: 2.1\nName: six\nVersion: 1.17.0\nRequires-Dist: evil\n";
    index
        .site()
        .route(&path, support::server::Resource::file(other.to_vec()));
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "six===1.17.0\n");
    let run = lock(dir.path(), &index, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: six==1.17.0: cannot read its dependencies: {wheel}: the metadata file \
             {base}{path} does not match the sha256 the index gave\n  expected: {expected}\n  \
             computed: {computed}\n\
             error: the dependencies of 1 package cannot be read; nothing was written\n\
             help: `--no-dependencies` writes a lock of the hashes alone, without the \
             dependencies that `install` and `check` use\n",
            wheel = six.filename(),
            base = index.server().base_url(),
            expected = sha256_hex(six.metadata().as_bytes()),
            computed = sha256_hex(other),
        )
    );
    assert!(!dir.path().join("pylock.toml").exists());
    let asked: Vec<String> = index
        .all_requests()
        .iter()
        .map(|r| r.path_only().to_owned())
        .collect();
    assert_eq!(asked, ["/simple/six/".to_owned(), path]);
}
