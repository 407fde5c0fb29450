//! The guard: verify, fetch, install and sync against a local index, with real pip.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::cli::{Pinguard, Run, scratch, write};
use support::dist::{SdistBuilder, WheelBuilder, sha256_hex};
use support::index::{DistFile, IndexBuilder, TestIndex};
use support::python::Venv;
use support::server::{Fault, Fires};

/// alpha: a pure wheel and an sdist; beta: an sdist only (pip must build it); gamma: a wheel
/// for Windows only and an sdist (a Linux interpreter needs the sdist); delta: only for Windows
/// by its marker; extra: on the index, not in the lock.
fn guard_index() -> TestIndex {
    IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("alpha", "1.0").file("alpha.py", b"VALUE = 1\n".to_vec()),
        ))
        .file(DistFile::sdist(
            &SdistBuilder::new("alpha", "1.0").file("alpha.py", b"VALUE = 1\n".to_vec()),
        ))
        .file(DistFile::wheel(
            &WheelBuilder::new("alpha", "0.9").file("alpha.py", b"VALUE = 0\n".to_vec()),
        ))
        .file(DistFile::sdist(
            &SdistBuilder::new("beta", "2.0").file("beta.py", b"B = 2\n".to_vec()),
        ))
        .file(DistFile::wheel(
            &WheelBuilder::new("gamma", "1.0").tag("cp39-cp39-win_amd64"),
        ))
        .file(DistFile::sdist(
            &SdistBuilder::new("gamma", "1.0").file("gamma.py", b"G = 1\n".to_vec()),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("delta", "1.0")))
        .file(DistFile::wheel(&WheelBuilder::new("extra", "1.0")))
        .start()
}

const CONSTRAINTS: &str =
    "alpha===1.0\nbeta===2.0\ngamma===1.0\ndelta===1.0;sys_platform=='win32'\n";

/// Locks `CONSTRAINTS` against `index` into `dir/pylock.toml`.
fn lock(dir: &Path, index: &TestIndex) {
    write(dir, "upper-constraints.txt", CONSTRAINTS);
    let run = Pinguard::new(dir)
        .args([
            "lock",
            "upper-constraints.txt",
            "--index-url",
            &index.simple_url(),
        ])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
}

fn pinguard(dir: &Path, args: &[&str]) -> Run {
    Pinguard::new(dir).args(args).run()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `name version` of what a venv has installed, pip and setuptools left out.

#[test]
fn fetch_all_then_verify_the_wheelhouse() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let run = pinguard(
        dir.path(),
        &["fetch", "pylock.toml", "--dest", "wheelhouse", "--all"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        names_in(&dir.path().join("wheelhouse")),
        [
            "alpha-1.0-py3-none-any.whl",
            "alpha-1.0.tar.gz",
            "beta-2.0.tar.gz",
            "delta-1.0-py3-none-any.whl",
            "gamma-1.0-cp39-cp39-win_amd64.whl",
            "gamma-1.0.tar.gz"
        ]
    );
    for name in names_in(&dir.path().join("wheelhouse")) {
        let bytes = fs::read(dir.path().join("wheelhouse").join(&name)).unwrap();
        assert_eq!(sha256_hex(&bytes), index.file(&name).sha256(), "{name}");
    }

    let run = pinguard(
        dir.path(),
        &["verify", "pylock.toml", "wheelhouse", "--require-all"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.starts_with("Checked 6 files ("),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("6 match, 0 drifted, 0 not in the lock, 0 missing\n"),
        "{}",
        run.stderr
    );

    // A second fetch into another directory comes from the store, without the network.
    index.server().clear_log();
    let run = pinguard(
        dir.path(),
        &[
            "fetch",
            "pylock.toml",
            "--dest",
            "again",
            "--all",
            "--offline",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("0 downloaded") && run.stderr.contains("6 from the cache"),
        "{}",
        run.stderr
    );
    assert!(index.all_requests().is_empty());
}

/// The content-addressed store is hashed again on the way out (what `install` fetches from
/// too): an entry with other bytes is dropped, never copied into the destination.
#[test]
fn a_damaged_store_entry_is_dropped_never_copied_into_the_destination() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let run = pinguard(dir.path(), &["fetch", "--dest", "first", "--all"]);
    assert_eq!(run.code, 0, "{run:?}");
    let wheel = "alpha-1.0-py3-none-any.whl";
    let stored = dir
        .path()
        .join("cache/files-v1")
        .join(index.file(wheel).sha256());
    let mut damaged = index.file(wheel).bytes().to_vec();
    damaged[20] ^= 1;
    // A new file in its place: the entry is a hard link of `first/`'s copy.
    write(dir.path(), "damaged", &damaged);
    fs::rename(dir.path().join("damaged"), &stored).unwrap();

    let run = pinguard(
        dir.path(),
        &["fetch", "--dest", "second", "--all", "--offline"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: {wheel} (alpha==1.0) is not in the download cache (run once without \
             --offline to fill it)\n"
        )),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("second").join(wheel).exists());
    assert!(!stored.exists(), "the damaged entry is still in the store");

    let run = pinguard(dir.path(), &["fetch", "--dest", "third", "--all"]);
    assert_eq!(run.code, 0, "{run:?}");
    let bytes = fs::read(dir.path().join("third").join(wheel)).unwrap();
    assert_eq!(sha256_hex(&bytes), index.file(wheel).sha256());
}

#[test]
fn verify_reports_drift_unknown_and_missing_files() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    assert_eq!(
        pinguard(dir.path(), &["fetch", "--dest", "wh", "--all"]).code,
        0
    );
    let wheel = dir.path().join("wh/alpha-1.0-py3-none-any.whl");
    let mut bytes = fs::read(&wheel).unwrap();
    bytes[10] ^= 0xff;
    fs::write(&wheel, &bytes).unwrap();
    fs::write(dir.path().join("wh/evil-1.0-py3-none-any.whl"), b"x").unwrap();
    fs::remove_file(dir.path().join("wh/beta-2.0.tar.gz")).unwrap();

    let run = pinguard(
        dir.path(),
        &["verify", "pylock.toml", "wh", "--require-all"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let expected = index.file("alpha-1.0-py3-none-any.whl").sha256();
    let computed = sha256_hex(&bytes);
    // Findings are data (standard output); the summary is a message (standard error).
    assert_eq!(
        run.stdout,
        format!(
            "alpha-1.0-py3-none-any.whl does not match the lock (alpha==1.0)\n  expected sha256:{expected}\n  computed sha256:{computed}\n\
             wh/evil-1.0-py3-none-any.whl is not in the lock\n\
             beta-2.0.tar.gz (beta==2.0) is in the lock but not here\n"
        )
    );
    let summary = &run.stderr;
    assert!(summary.starts_with("Checked"), "{summary}");
    assert!(
        summary.ends_with("4 match, 1 drifted, 1 not in the lock, 1 missing\n"),
        "{summary}"
    );

    let run = pinguard(
        dir.path(),
        &["verify", "pylock.toml", "wh", "--format", "json", "-q"],
    );
    assert_eq!(run.code, 1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["drift"][0]["file"], "alpha-1.0-py3-none-any.whl");
    assert_eq!(json["drift"][0]["expected_sha256"], expected.as_str());
    assert_eq!(json["drift"][0]["computed_sha256"], computed.as_str());
    assert_eq!(json["unknown"][0], "wh/evil-1.0-py3-none-any.whl");
    assert_eq!(json["verified"].as_array().unwrap().len(), 4);
}

#[test]
fn fetch_never_moves_bad_bytes_into_the_destination() {
    let mut index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let wheel = "alpha-1.0-py3-none-any.whl";
    let original = index.file(wheel).bytes().to_vec();

    // One byte different.
    let mut changed = original.clone();
    changed[20] ^= 1;
    index.tamper(wheel, changed.clone());
    let run = pinguard(
        dir.path(),
        &["fetch", "--dest", "one", "--all", "--no-cache"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: {wheel} does not match the lock (alpha==1.0)\n  expected sha256:{}\n  computed sha256:{}\n",
            sha256_hex(&original),
            sha256_hex(&changed)
        )),
        "{}",
        run.stderr
    );
    assert!(!names_in(&dir.path().join("one")).contains(&wheel.to_owned()));
    assert!(
        names_in(&dir.path().join("one"))
            .iter()
            .all(|n| !n.starts_with('.')),
        "temporary files left"
    );

    // Larger than the lock says: stopped, not kept.
    let mut larger = original.clone();
    larger.extend(std::iter::repeat_n(0u8, 4096));
    index.tamper(wheel, larger);
    let run = pinguard(
        dir.path(),
        &["fetch", "--dest", "two", "--all", "--no-cache"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: {wheel} (alpha==1.0) is larger than the lock says ({} bytes); the download was stopped",
            original.len()
        )),
        "{}",
        run.stderr
    );

    // Shorter, with a matching Content-Length: a size and digest drift.
    index.tamper(wheel, original[..original.len() / 2].to_vec());
    let run = pinguard(
        dir.path(),
        &["fetch", "--dest", "three", "--all", "--no-cache"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "  expected size:   {} bytes\n  actual size:     {} bytes",
            original.len(),
            original.len() / 2
        )),
        "{}",
        run.stderr
    );

    // Another file's bytes served under this name (the older alpha): a digest drift.
    let other = index.file("alpha-0.9-py3-none-any.whl").bytes().to_vec();
    index.tamper(wheel, other.clone());
    let run = pinguard(
        dir.path(),
        &["fetch", "--dest", "five", "--all", "--no-cache"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("  computed sha256:{}\n", sha256_hex(&other))),
        "{}",
        run.stderr
    );

    // Cut off in transit (Content-Length promised more): retried, then reported, nothing kept.
    index.tamper(wheel, original.clone());
    index.files_server().site().fault(
        format!("/files/{wheel}"),
        Fault::Truncate(100),
        Fires::Forever,
    );
    let run = pinguard(
        dir.path(),
        &[
            "fetch",
            "--dest",
            "four",
            "--all",
            "--no-cache",
            "--retries",
            "1",
        ],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("error: {wheel} (alpha==1.0): cannot fetch ")),
        "{}",
        run.stderr
    );
    for dest in ["two", "three", "four", "five"] {
        let names = names_in(&dir.path().join(dest));
        assert!(
            !names.contains(&wheel.to_owned()) && names.iter().all(|n| !n.starts_with('.')),
            "{dest}: {names:?}"
        );
    }
}

#[test]
fn locks_that_cannot_be_trusted_are_refused_before_any_download() {
    let index = guard_index();
    let dir = scratch();
    let url = index.file_url("alpha-1.0-py3-none-any.whl");
    let digest = index.file("alpha-1.0-py3-none-any.whl").sha256();
    let cases = [
        (
            format!("lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"alpha\"\nwheels = [{{ name = \"../../evil.whl\", url = \"{url}\", hashes = {{ sha256 = \"{digest}\" }} }}]\n"),
            "error: pylock.toml: the lock names a file `../../evil.whl` (alpha): it contains a path separator; refusing to use it as a file name\n",
        ),
        (
            format!("lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"alpha\"\nwheels = [{{ url = \"{url}\", hashes = {{ md5 = \"00\" }} }}]\n"),
            "`hashes` has no `sha256`; pinguard verifies every file by its sha256",
        ),
        (
            format!("lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"alpha\"\nwheels = [{{ url = \"{url}\", hashes = {{ sha256 = \"{}\" }} }}]\n", &digest[..60]),
            "`hashes.sha256` is not a sha256 digest: a sha256 digest has 64 hex characters, this one has 60",
        ),
        (
            "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"alpha\"\nwheels = [\n".to_owned(),
            "error: not valid TOML",
        ),
        (
            format!("lock-version = \"1.0\"\n[[packages]]\nname = \"alpha\"\nwheels = [{{ url = \"{url}\", hashes = {{ sha256 = \"{digest}\" }} }}]\n"),
            "the lock: missing required key `created-by`",
        ),
    ];
    for (lock, expected) in cases {
        write(dir.path(), "pylock.toml", &lock);
        let run = pinguard(dir.path(), &["fetch", "--dest", "wh", "--all"]);
        assert_eq!(run.code, 2, "{lock}\n{run:?}");
        assert!(run.stderr.contains(expected), "{lock}\n{}", run.stderr);
        assert!(!dir.path().join("wh").exists());
    }
    assert!(
        index.all_requests().is_empty(),
        "{:?}",
        index.all_requests()
    );
}

/// `install` and `sync` probe the interpreter while they read the lock: what is said is still
/// the lock's problem alone when both are bad, and the interpreter's when only it is.
#[test]
fn install_and_sync_report_a_bad_lock_before_a_missing_interpreter() {
    let dir = scratch();
    write(
        dir.path(),
        "bad.toml",
        "lock-version = \"1.0\"\n[[packages]]\nname = \"alpha\"\nversion = \"1.0\"\nwheels = []\n",
    );
    write(
        dir.path(),
        "good.toml",
        "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"alpha\"\n\
         version = \"1.0\"\nwheels = [{ url = \"https://example.invalid/alpha-1.0-py3-none-any.whl\", \
         hashes = { sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\" } }]\n",
    );
    let missing = dir.path().join("no-such-python").display().to_string();
    let bad_lock = "error: the lock: missing required key `created-by`\n --> bad.toml:1:1\n  |\n\
                    1 | lock-version = \"1.0\"\n  | ^ here\n\n\
                    error: packages[0] (`alpha`): no file to install (`sdist`, `wheels` or `archive`)\n \
                    --> bad.toml:2:1\n  |\n2 | [[packages]]\n  | ^^^^^^^^^^^^ here\n  |\n  \
                    = help: a PEP 751 package needs exactly one kind of source\n\
                    error: bad.toml cannot be used; nothing was done\n";
    let no_python = format!(
        "error: no Python interpreter `{missing}`: give --python a path to one (such as \
         .venv/bin/python) or a name on PATH\n"
    );
    for command in ["install", "sync"] {
        for (lock, expected) in [("bad.toml", bad_lock), ("good.toml", no_python.as_str())] {
            let run = pinguard(dir.path(), &[command, lock, "--python", &missing]);
            assert_eq!(
                (run.code, run.stderr.as_str(), run.stdout.as_str()),
                (2, expected, ""),
                "{command} {lock}"
            );
        }
    }
}

#[test]
fn redirects_off_host_only_over_https_and_no_credentials_to_other_hosts() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("alpha", "1.0")))
        .files_on_second_host()
        .start();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "alpha===1.0\n");
    assert_eq!(
        Pinguard::new(dir.path())
            .args([
                "lock",
                "upper-constraints.txt",
                "--index-url",
                &index.simple_url()
            ])
            .run()
            .code,
        0
    );
    // Credentials for the index host are never sent to the files host.
    let with_credentials = index.simple_url().replace("http://", "http://u:secret@");
    let run = Pinguard::new(dir.path())
        .args(["fetch", "--dest", "wh", "--all"])
        .env("PIP_INDEX_URL", &with_credentials)
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        index
            .files_server()
            .requests()
            .iter()
            .all(|r| r.authorization().is_none())
    );

    // A file URL that redirects to another host over plain http is refused.
    let lock = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    let redirecting = lock.replace(&index.files_server().base_url(), &index.server().base_url());
    write(dir.path(), "pylock.toml", redirecting);
    index.site().fault(
        "/files/alpha-1.0-py3-none-any.whl",
        Fault::redirect(302, index.file_url("alpha-1.0-py3-none-any.whl")),
        Fires::Forever,
    );
    let run = pinguard(
        dir.path(),
        &[
            "fetch",
            "--dest",
            "wh2",
            "--all",
            "--no-cache",
            "--retries",
            "0",
        ],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("refusing to follow a redirect to http://127.0.0.2:"),
        "{}",
        run.stderr
    );
}

fn fresh_venv(dir: &Path) -> Option<Venv> {
    Venv::fresh(&dir.join("venv"))
}

fn venv_python(venv: &Venv) -> String {
    venv.python().display().to_string()
}

#[test]
fn install_puts_exactly_the_locked_files_into_the_environment() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let Some(venv) = fresh_venv(dir.path()) else {
        return;
    };
    let run = pinguard(
        dir.path(),
        &["install", "pylock.toml", "--python", &venv_python(&venv)],
    );
    assert_eq!(run.code, 0, "{run:?}");
    // delta's marker excludes Linux; gamma has no Linux wheel and is built from its sdist.
    assert_eq!(venv.installed(), ["alpha 1.0", "beta 2.0", "gamma 1.0"]);
    let out = venv.run_python([
        "-c",
        "import alpha, beta, gamma; print(alpha.VALUE, beta.B, gamma.G)",
    ]);
    assert_eq!(out.stdout, "1 2 1\n");
}

/// Makes the venv at `dir/venv` again, each of its interpreter's starts appended to
/// `dir/starts.log` (its `sys.argv`: the probe's is `['-c', 'probe']`).
fn venv_logging_starts(dir: &Path) -> Option<Venv> {
    let venv = Venv::fresh(&dir.join("venv"))?;
    let log = dir.join("starts.log");
    fs::write(
        site_packages(&venv).join("sitecustomize.py"),
        format!("import sys\nopen({log:?}, 'a').write(repr(sys.argv) + '\\n')\n"),
    )
    .unwrap();
    Some(venv)
}

fn probes_logged(dir: &Path) -> usize {
    let log = fs::read_to_string(dir.join("starts.log")).unwrap_or_default();
    log.lines().filter(|l| *l == "['-c', 'probe']").count()
}

/// Rewrites the one remembered probe answer under `dir/cache` (with a checksum to match) so
/// that it names a program that, if run, creates the file whose path is returned.
fn forge_remembered_executable(dir: &Path) -> PathBuf {
    let entries = dir.join("cache/interpreters-v1");
    let entry = fs::read_dir(&entries)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = fs::read_to_string(&entry).unwrap();
    let (_, json) = text.split_once('\n').unwrap();
    let ran = dir.join("ran");
    let program = write(
        dir,
        "bin/python",
        format!("#!/bin/sh\ntouch {}\n", ran.display()),
    );
    fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut forged: serde_json::Value = serde_json::from_str(json).unwrap();
    forged["answer"]["executable"] = program.display().to_string().into();
    let forged = forged.to_string();
    fs::write(
        &entry,
        format!("{}\n{forged}", sha256_hex(forged.as_bytes())),
    )
    .unwrap();
    ran
}

#[test]
fn a_venv_made_again_is_not_probed_again_and_a_forged_answer_is_not_used() {
    let dir = scratch();
    let _index = lock_wheels_only(dir.path());
    let install = |venv: &Venv| {
        let run = pinguard(
            dir.path(),
            &[
                "-q",
                "install",
                "pylock.toml",
                "--python",
                &venv_python(venv),
            ],
        );
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
        assert_eq!(venv.installed(), ["app 1.0", "lib 1.0"]);
    };
    let Some(venv) = venv_logging_starts(dir.path()) else {
        return;
    };
    install(&venv);
    assert_eq!(probes_logged(dir.path()), 1);
    // tox and CI make the environment again, from the same interpreter at the same path.
    let venv = venv_logging_starts(dir.path()).unwrap();
    install(&venv);
    assert_eq!(probes_logged(dir.path()), 1);
    // Someone who can write the cache names another program, checksum and all.
    let ran = forge_remembered_executable(dir.path());
    let venv = venv_logging_starts(dir.path()).unwrap();
    install(&venv);
    assert!(!ran.exists(), "the forged executable ran");
    assert_eq!(probes_logged(dir.path()), 2);
}

#[test]
fn quiet_install_keeps_pip_quiet_too() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let Some(venv) = fresh_venv(dir.path()) else {
        return;
    };
    let run = pinguard(
        dir.path(),
        &["install", "-q", "--python", &venv_python(&venv)],
    );
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    assert_eq!(venv.installed(), ["alpha 1.0", "beta 2.0", "gamma 1.0"]);
}

#[test]
fn a_tampered_wheel_or_sdist_means_nothing_is_installed() {
    for file in ["alpha-1.0-py3-none-any.whl", "beta-2.0.tar.gz"] {
        let mut index = guard_index();
        let dir = scratch();
        lock(dir.path(), &index);
        let Some(venv) = fresh_venv(dir.path()) else {
            return;
        };
        let mut bytes = index.file(file).bytes().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        index.tamper(file, bytes);
        let run = pinguard(
            dir.path(),
            &["install", "--python", &venv_python(&venv), "--no-cache"],
        );
        assert_eq!(run.code, 1, "{file}: {run:?}");
        assert!(
            run.stderr
                .contains(&format!("error: {file} does not match the lock")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.ends_with("error: nothing was installed\n"),
            "{}",
            run.stderr
        );
        assert_eq!(venv.installed(), Vec::<String>::new(), "{file}");
    }
}

#[test]
fn sync_reports_then_adds_and_removes() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let Some(venv) = fresh_venv(dir.path()) else {
        return;
    };
    // The environment has an old alpha and something the lock does not name.
    for file in ["alpha-0.9-py3-none-any.whl", "extra-1.0-py3-none-any.whl"] {
        let path = write(dir.path(), file, index.file(file).bytes());
        venv.pip_offline(["install", "--no-deps", path.to_str().unwrap()])
            .assert_success();
    }
    let python = venv_python(&venv);
    let run = pinguard(dir.path(), &["sync", "--python", &python, "--dry-run"]);
    assert_eq!(run.code, 1, "{run:?}");
    // What differs is data (standard output); the summary is a message (standard error).
    assert_eq!(
        run.stdout,
        "other version: alpha 0.9 is installed, the lock has alpha==1.0\n\
         missing: beta==2.0\n\
         missing: gamma==1.0\n\
         not in the lock: extra 1.0\n"
    );
    let summary = run.stderr.trim_end();
    assert!(
        summary.ends_with(": 3 to install, 1 not in the lock"),
        "{summary}"
    );
    assert_eq!(venv.installed(), ["alpha 0.9", "extra 1.0"]);

    let run = pinguard(
        dir.path(),
        &["sync", "--python", &python, "--remove-extraneous"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(venv.installed(), ["alpha 1.0", "beta 2.0", "gamma 1.0"]);

    let run = pinguard(dir.path(), &["sync", "--python", &python, "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .ends_with(": 0 to install, 0 not in the lock (in sync)\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn fetch_for_a_python_version_and_platform() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let run = pinguard(
        dir.path(),
        &[
            "fetch",
            "--dest",
            "win",
            "--python",
            "3.12",
            "--platform",
            "win_amd64",
        ],
    );
    // gamma's only wheel is for CPython 3.9: 3.12 on Windows builds from the sdist, and delta
    // applies on Windows.
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        names_in(&dir.path().join("win")),
        [
            "alpha-1.0-py3-none-any.whl",
            "beta-2.0.tar.gz",
            "delta-1.0-py3-none-any.whl",
            "gamma-1.0.tar.gz"
        ]
    );
    let run = pinguard(
        dir.path(),
        &[
            "fetch",
            "--dest",
            "win39",
            "--python",
            "3.9",
            "--platform",
            "win_amd64",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        names_in(&dir.path().join("win39"))
            .contains(&"gamma-1.0-cp39-cp39-win_amd64.whl".to_owned())
    );
}

#[test]
fn a_lock_for_newer_pythons_is_refused_for_an_older_target() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("alpha", "1.0")).requires_python(">=3.11"))
        .start();
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "alpha===1.0\n");
    let run = Pinguard::new(dir.path())
        .args([
            "lock",
            "upper-constraints.txt",
            "--index-url",
            &index.simple_url(),
        ])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let lock = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(lock.contains("\nrequires-python = \">=3.11\"\n"), "{lock}");
    index.server().clear_log();

    let refused = "error: CPython 3.10 on manylinux_2_28_x86_64: the lock is for Python >=3.11 \
                   (its requires-python); choose an interpreter it admits, or lock again for \
                   this one\n";
    let run = pinguard(
        dir.path(),
        &[
            "fetch",
            "--dest",
            "wh",
            "--python",
            "3.10",
            "--platform",
            "manylinux_2_28_x86_64",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.starts_with(refused), "{}", run.stderr);
    let run = pinguard(
        dir.path(),
        &[
            "check",
            "pylock.toml",
            "--python",
            "3.10",
            "--platform",
            "manylinux_2_28_x86_64",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!("{refused}error: pylock.toml was not checked\n")
    );
    assert!(index.all_requests().is_empty());
    assert!(
        !dir.path()
            .join("wh")
            .join("alpha-1.0-py3-none-any.whl")
            .exists()
    );
}

/// Generous: a regression hangs, and must fail rather than hang the test run.
const WATCHDOG: std::time::Duration = std::time::Duration::from_secs(60);

/// The lines before the closing summary (which holds sizes and speeds).
fn findings(stderr: &str, summary_start: &str) -> String {
    let (findings, _) = stderr
        .rsplit_once(summary_start)
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    findings.to_owned()
}

#[test]
fn fetch_reports_other_bytes_under_a_locked_name_in_the_destination_and_replaces_them() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    assert_eq!(
        pinguard(dir.path(), &["fetch", "--dest", "wh", "--all"]).code,
        0
    );
    let name = "alpha-1.0-py3-none-any.whl";
    let mut tampered = index.file(name).bytes().to_vec();
    tampered[10] ^= 0xff;
    fs::write(dir.path().join("wh").join(name), &tampered).unwrap();

    let run = pinguard(dir.path(), &["fetch", "--dest", "wh", "--all"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        findings(&run.stderr, "Fetched 6 of 6 files"),
        format!(
            "error: {name} does not match the lock (alpha==1.0)\n  expected sha256:{}\n  computed sha256:{}\n  in the destination: wh/{name}; replaced it with the verified file\n",
            index.file(name).sha256(),
            sha256_hex(&tampered)
        )
    );
    assert!(
        run.stderr.ends_with(", 5 already there\n"),
        "{}",
        run.stderr
    );
    assert_eq!(
        sha256_hex(&fs::read(dir.path().join("wh").join(name)).unwrap()),
        index.file(name).sha256()
    );
    assert_eq!(
        pinguard(dir.path(), &["verify", "pylock.toml", "wh"]).code,
        0
    );
}

/// Sends `signal` to the process `pid`.
fn kill(pid: u32, signal: i32) {
    let pid = i32::try_from(pid).unwrap();
    // SAFETY: kill(2) has no memory effects; the pid is our own child, not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

#[test]
fn an_interrupted_fetch_leaves_no_temporary_files() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let wheel = "alpha-1.0-py3-none-any.whl";
    index.files_server().site().fault(
        format!("/files/{wheel}"),
        Fault::Stall(std::time::Duration::from_secs(300)),
        Fires::Forever,
    );
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let dest = dir.path().join(format!("wh{signal}"));
        let running = Pinguard::new(dir.path())
            .args([
                "fetch",
                "--all",
                "--no-cache",
                "--dest",
                dest.to_str().unwrap(),
            ])
            .spawn();
        // The stalled download's temporary file exists while pinguard waits for the body.
        let started = std::time::Instant::now();
        while !dest.exists() || names_in(&dest).iter().all(|n| !n.starts_with(".pinguard-")) {
            assert!(started.elapsed() < WATCHDOG, "no temporary file appeared");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        kill(running.id(), signal);
        let run = running.finish_within(WATCHDOG);
        assert_eq!(run.code, code, "{run:?}");
        assert!(
            names_in(&dest).iter().all(|n| !n.starts_with('.')),
            "{:?}",
            names_in(&dest)
        );
    }
}

#[test]
fn a_stale_temporary_file_is_removed_by_fetch_and_ignored_by_verify() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    assert_eq!(
        pinguard(dir.path(), &["fetch", "--dest", "wh", "--all"]).code,
        0
    );
    write(dir.path(), "wh/.pinguard-Ab12Cd", b"half a wheel");

    let run = pinguard(dir.path(), &["verify", "pylock.toml", "wh"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        findings(&run.stderr, "Checked 6 files"),
        "warning: ignored wh/.pinguard-Ab12Cd: a temporary file of an interrupted pinguard run (the next fetch into this directory removes it)\n"
    );

    let run = pinguard(dir.path(), &["fetch", "--dest", "wh", "--all", "-v"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "note: removed wh/.pinguard-Ab12Cd, a temporary file of an interrupted run\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!names_in(&dir.path().join("wh")).contains(&".pinguard-Ab12Cd".to_owned()));
}

#[test]
fn verify_and_fetch_do_not_hang_on_a_fifo_or_dev_zero_under_a_locked_name() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    assert_eq!(
        pinguard(dir.path(), &["fetch", "--dest", "wh", "--all"]).code,
        0
    );
    let wh = dir.path().join("wh");
    let (fifo, zero, sparse) = (
        "alpha-1.0-py3-none-any.whl",
        "beta-2.0.tar.gz",
        "gamma-1.0.tar.gz",
    );
    fs::remove_file(wh.join(fifo)).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(wh.join(fifo))
        .status()
        .unwrap();
    assert!(made.success());
    fs::remove_file(wh.join(zero)).unwrap();
    std::os::unix::fs::symlink("/dev/zero", wh.join(zero)).unwrap();
    // A terabyte of zeros, sparse: reading it to the end would take hours.
    let huge = 1u64 << 40;
    fs::OpenOptions::new()
        .write(true)
        .open(wh.join(sparse))
        .unwrap()
        .set_len(huge)
        .unwrap();

    let run = Pinguard::new(dir.path())
        .args(["verify", "pylock.toml", "wh"])
        .run_within(WATCHDOG);
    assert_eq!(run.code, 1, "{run:?}");
    let sparse_size = index.file(sparse).bytes().len();
    assert_eq!(
        run.stdout,
        format!(
            "{sparse} does not match the lock (gamma==1.0)\n  expected sha256:{}\n  expected size:   {sparse_size} bytes\n  actual size:     {huge} bytes (larger than the lock says: not read)\n\
             wh/{fifo} (alpha==1.0) is a FIFO, not a regular file\n\
             wh/{zero} (beta==2.0) is a character device, not a regular file\n",
            index.file(sparse).sha256()
        )
    );
    assert!(
        run.stderr
            .ends_with(": 3 match, 1 drifted, 0 not in the lock, 2 not regular files\n"),
        "{}",
        run.stderr
    );

    let run = Pinguard::new(dir.path())
        .args(["fetch", "--dest", "wh", "--all"])
        .run_within(WATCHDOG);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        findings(&run.stderr, "Fetched 6 of 6 files"),
        format!(
            "error: wh/{fifo} (alpha==1.0) is a FIFO, not a regular file; replaced it with the verified file\n\
             error: wh/{zero} (beta==2.0) is a character device, not a regular file; replaced it with the verified file\n\
             error: {sparse} does not match the lock (gamma==1.0)\n  expected sha256:{}\n  expected size:   {sparse_size} bytes\n  actual size:     {huge} bytes (larger than the lock says: not read)\n  in the destination: wh/{sparse}; replaced it with the verified file\n",
            index.file(sparse).sha256()
        )
    );
    let run = Pinguard::new(dir.path())
        .args(["verify", "pylock.toml", "wh", "--require-all"])
        .run_within(WATCHDOG);
    assert_eq!(run.code, 0, "{run:?}");
}
/// What installing a locked sdist led to when the user's pip configuration offered a hostile
/// build backend by one route.
#[derive(Debug, PartialEq)]
struct BuildRequirementsOutcome {
    route: &'static str,
    code: i32,
    last_line: String,
    installed: Vec<String>,
    hostile_code_ran: bool,
    hostile_files_requested: Vec<String>,
    hostile_source_shown: bool,
}

/// A lock of an sdist that needs setuptools and wheel to build (and both, harmless, locked),
/// and a hostile setuptools and wheel 99.0, whose `.pth` runs in any interpreter that has them
/// on its path (as a build environment does), on a server and in a directory.
struct HostileBuildBackend {
    dir: tempfile::TempDir,
    marker: std::path::PathBuf,
    hostile: TestIndex,
    /// The directory holding the hostile wheels.
    hostile_dir: String,
    /// The hostile projects' pages, space-separated.
    hostile_urls: String,
    lock: String,
    _index: TestIndex,
}

/// A function that offers the hostile backend to the installer by one route: given the case
/// directory and the target venv, it configures the pinguard run.
type Route = Box<dyn Fn(&Path, &Venv, Pinguard) -> Pinguard>;

impl HostileBuildBackend {
    fn new() -> Self {
        let dir = scratch();
        let marker = dir.path().join("hostile-code-ran");
        let payload = format!(
            "import pathlib; pathlib.Path({:?}).write_text('ran')\n",
            marker.display().to_string()
        );
        let hostile_wheels = [
            WheelBuilder::new("setuptools", "99.0").file("setuptools-hook.pth", payload.clone()),
            WheelBuilder::new("wheel", "99.0").file("wheel-hook.pth", payload),
        ];
        let hostile = IndexBuilder::new()
            .files(hostile_wheels.iter().map(DistFile::wheel))
            .start();
        let hostile_dir = dir.path().join("hostile-wheels");
        for wheel in &hostile_wheels {
            write(&hostile_dir, &wheel.filename(), wheel.build());
        }
        let hostile_urls = format!(
            "{} {}",
            hostile.project_url("setuptools"),
            hostile.project_url("wheel")
        );
        let index = IndexBuilder::new()
            .file(DistFile::sdist(
                &SdistBuilder::new("victim", "1.0").build_requires(["setuptools>=40.8", "wheel"]),
            ))
            .file(DistFile::wheel(&WheelBuilder::new("setuptools", "98.0")))
            .file(DistFile::wheel(&WheelBuilder::new("wheel", "0.98")))
            .start();
        write(
            dir.path(),
            "upper-constraints.txt",
            "victim===1.0\nsetuptools===98.0\nwheel===0.98\n",
        );
        let run = pinguard(
            dir.path(),
            &[
                "lock",
                "upper-constraints.txt",
                "--index-url",
                &index.simple_url(),
            ],
        );
        assert_eq!(run.code, 0, "{run:?}");
        let lock = dir.path().join("pylock.toml").display().to_string();
        Self {
            marker,
            hostile,
            hostile_dir: hostile_dir.display().to_string(),
            hostile_urls,
            lock,
            dir,
            _index: index,
        }
    }

    /// Installs the lock (`install LOCK --python VENV` then `args`) into a fresh venv once per
    /// route; what each led to and what it should have (the victim installed from verified
    /// files alone, nothing hostile fetched, run or named). `None` when Python tests are
    /// skipped.
    fn outcomes(
        &self,
        args: &[&str],
        routes: &[(&'static str, Route)],
    ) -> Option<(Vec<BuildRequirementsOutcome>, Vec<BuildRequirementsOutcome>)> {
        let mut outcomes = Vec::new();
        let mut expected = Vec::new();
        for (number, (route, configure)) in routes.iter().enumerate() {
            let case = self.dir.path().join(format!("case-{number}"));
            let venv = fresh_venv(&case)?;
            let python = venv_python(&venv);
            let pinguard = Pinguard::new(&case)
                .args(["install", &self.lock, "--python", &python])
                .args(args);
            let run = configure(&case, &venv, pinguard).run();
            outcomes.push(BuildRequirementsOutcome {
                route,
                code: run.code,
                last_line: run.stderr.lines().last().unwrap_or_default().to_owned(),
                installed: venv.installed(),
                hostile_code_ran: self.marker.exists(),
                hostile_files_requested: self
                    .hostile
                    .all_requests()
                    .iter()
                    .map(|r| r.path_only().to_owned())
                    .collect(),
                hostile_source_shown: run.stderr.contains(&self.hostile_dir)
                    || run.stderr.contains(&self.hostile.server().base_url()),
            });
            expected.push(BuildRequirementsOutcome {
                route,
                code: 0,
                last_line: format!("Installed 3 verified files into {python}"),
                installed: vec!["victim 1.0".to_owned()],
                hostile_code_ran: false,
                hostile_files_requested: Vec::new(),
                hostile_source_shown: false,
            });
            let _ = fs::remove_file(&self.marker);
            self.hostile.server().clear_log();
        }
        Some((outcomes, expected))
    }
}

/// pip reads `PIP_*` variables and its configuration files even under `python -I`, and so does
/// the pip subprocess that installs an sdist's build requirements. Whatever `find-links` the
/// user's configuration names (a directory or a URL; by a variable, the file
/// `PIP_CONFIG_FILE` names, the environment's or the user's `pip.conf`) must not be a source:
/// the build requirements come from the verified files only.
#[test]
fn pip_does_not_take_build_requirements_from_the_users_pip_configuration() {
    let setup = HostileBuildBackend::new();
    let config = |links: &str| format!("[global]\nfind-links = {links}\n");
    let routes: Vec<(&'static str, Route)> = vec![
        ("PIP_FIND_LINKS, a directory", {
            let links = setup.hostile_dir.clone();
            Box::new(move |_, _, pinguard| pinguard.env("PIP_FIND_LINKS", &links))
        }),
        ("PIP_FIND_LINKS, URLs", {
            let links = setup.hostile_urls.clone();
            Box::new(move |_, _, pinguard| pinguard.env("PIP_FIND_LINKS", &links))
        }),
        ("the file PIP_CONFIG_FILE names", {
            let text = config(&setup.hostile_urls);
            Box::new(move |case, _, pinguard| {
                pinguard.env("PIP_CONFIG_FILE", write(case, "my-pip.conf", &text))
            })
        }),
        ("the environment's pip.conf", {
            let text = config(&setup.hostile_dir);
            Box::new(move |_, venv, pinguard| {
                write(venv.dir(), "pip.conf", &text);
                pinguard.env_remove("PIP_CONFIG_FILE")
            })
        }),
        ("the user's pip.conf", {
            let text = config(&setup.hostile_urls);
            Box::new(move |case, _, pinguard| {
                write(case, ".config/pip/pip.conf", &text);
                pinguard
                    .env_remove("PIP_CONFIG_FILE")
                    .env("XDG_CONFIG_HOME", case.join(".config"))
            })
        }),
    ];
    if let Some((outcomes, expected)) = setup.outcomes(&[], &routes) {
        assert_eq!(outcomes, expected);
    }
}

/// Without `--python` and outside a virtual environment, `sync` compared the lock with
/// `python3` on `PATH` (`1 to install, 90 not in the lock`): `--remove-extraneous` would have
/// uninstalled the system's packages. Such an interpreter is refused unless `--system` is
/// given; a path given to `--python` names it on purpose, as uv takes it.
#[test]
fn without_a_virtual_environment_install_and_sync_do_not_use_the_global_interpreter() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let Some(real) = support::python::python3() else {
        return;
    };
    // `python3` on a PATH of its own; a link outside any venv runs as the base interpreter.
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let python3 = bin.join("python3");
    std::os::unix::fs::symlink(&real, &python3).unwrap();
    let prefix = support::python::run(std::process::Command::new(&python3).args([
        "-I",
        "-c",
        "import sys; print(sys.prefix)",
    ]));
    let prefix = prefix.assert_success().stdout.trim();
    let label = format!(
        "{} (CPython {})",
        python3.display(),
        support::python::python_version(&python3).unwrap()
    );
    let run = |args: &[&str]| {
        Pinguard::new(dir.path())
            .args(args)
            .env("PATH", &bin)
            .env_remove("VIRTUAL_ENV")
            .run()
    };
    let refusal = format!(
        "error: {label} is not in a virtual environment, so its packages (in {prefix}) may be \
         the system's; refusing to change them\n\
         help: choose a virtual environment's interpreter with `--python .venv/bin/python` or \
         by activating the environment, or pass `--system` to use this one\n"
    );

    index.server().clear_log();
    for command in [&["sync", "--dry-run"][..], &["install"], &["sync"]] {
        let run = run(command);
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (2, refusal.as_str()),
            "{command:?}"
        );
    }
    assert!(
        index.all_requests().is_empty(),
        "{:?}",
        index.all_requests()
    );

    // Asked for: `--system`, or the interpreter's path.
    let python3_text = python3.display().to_string();
    for command in [
        &["sync", "--dry-run", "--system"][..],
        &["sync", "--dry-run", "--python", &python3_text],
    ] {
        let run = run(command);
        let summary = run.stderr.lines().last().unwrap_or_default();
        assert_eq!(run.code, 1, "{command:?}: {run:?}");
        assert!(
            summary.starts_with(&format!("{label}: 3 to install, ")),
            "{command:?}: {summary}"
        );
    }
}

/// The project itself as `uv export` writes it by default: a `directory` entry, no digest.
const PROJECT_ENTRY: &str = "\n[[packages]]\nname = \"myproject\"\nversion = \"0.1\"\n\
                             directory = { path = \"myproject-0.1\", editable = false }\n";

/// Locks `CONSTRAINTS` against `index` into `dir/pylock.toml` with [`PROJECT_ENTRY`] added,
/// and unpacks that project into `dir/myproject-0.1`.
fn lock_with_the_project(dir: &Path, index: &TestIndex) {
    lock(dir, index);
    let lock_path = dir.join("pylock.toml");
    let mut text = fs::read_to_string(&lock_path).unwrap();
    text.push_str(PROJECT_ENTRY);
    fs::write(&lock_path, &text).unwrap();
    support::consumers::assert_valid_pylock(&lock_path);
    let project = SdistBuilder::new("myproject", "0.1")
        .file("myproject.py", b"M = 1\n".to_vec())
        .build();
    write(dir, "myproject.tar.gz", project);
    let untar = std::process::Command::new("tar")
        .args(["xzf", "myproject.tar.gz"])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(untar.success());
}

#[test]
fn a_lock_with_the_project_as_a_directory_is_guarded_and_installs_the_project_last() {
    let index = guard_index();
    let dir = scratch();
    lock_with_the_project(dir.path(), &index);
    let warning = "warning: myproject==0.1 (the local directory myproject-0.1): no digest to \
                   verify it by; ";

    let run = pinguard(dir.path(), &["fetch", "--dest", "wh", "--all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!("{warning}left out\n")),
        "{}",
        run.stderr
    );
    let run = pinguard(
        dir.path(),
        &["verify", "pylock.toml", "wh", "--require-all"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!("{warning}left out\n")),
        "{}",
        run.stderr
    );

    let Some(venv) = fresh_venv(dir.path()) else {
        return;
    };
    let python = venv_python(&venv);
    let run = pinguard(dir.path(), &["install", "pylock.toml", "--python", &python]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "{warning}installed last, with --no-deps --no-build-isolation and only the \
             verified files to build with\n"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!(
            "Installed 3 verified files into {python}, then 1 project from its directory\n"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        venv.installed(),
        ["alpha 1.0", "beta 2.0", "gamma 1.0", "myproject 0.1"]
    );
}

#[test]
fn a_vcs_entry_is_refused_by_install_before_anything_is_fetched() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let lock_path = dir.path().join("pylock.toml");
    let mut text = fs::read_to_string(&lock_path).unwrap();
    text.push_str(
        "\n[[packages]]\nname = \"fromgit\"\nvcs = { type = \"git\", url = \
         \"https://user:SECRET@git.example/fromgit.git\", commit-id = \"0123abc\" }\n",
    );
    fs::write(&lock_path, &text).unwrap();
    support::consumers::assert_valid_pylock(&lock_path);
    let Some(venv) = fresh_venv(dir.path()) else {
        return;
    };
    index.server().clear_log();
    let run = pinguard(
        dir.path(),
        &["install", "pylock.toml", "--python", &venv_python(&venv)],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: fromgit (the repository https://user:****@git.example/fromgit.git): a VCS \
         checkout has no digest to verify it by; nothing was installed\n\
         help: lock a released version of it, or leave it out of the lock (`uv export \
         --no-emit-project`) and install it yourself\n"
    );
    assert!(index.all_requests().is_empty());
    assert_eq!(venv.installed(), Vec::<String>::new());
}
#[test]
fn install_of_a_whole_lock_refuses_one_that_misses_what_its_packages_depend_on() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("app", "1.0").requires_dist([
                "missing-dep>=1",
                "ok-dep",
                "winonly; sys_platform == \"win32\"",
                "sphinx>=2; extra == 'docs'",
            ]),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("ok-dep", "1.0")))
        .start();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "app===1.0\nok-dep===1.0\n",
    );
    let run = Pinguard::new(dir.path())
        .args([
            "lock",
            "upper-constraints.txt",
            "--index-url",
            &index.simple_url(),
        ])
        .args(["-q"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let Some(venv) = fresh_venv(dir.path()) else {
        return;
    };
    let python = venv_python(&venv);
    let version = support::python::python_version(&venv.python()).unwrap();
    let run = pinguard(dir.path(), &["install", "--python", &python]);
    assert_eq!(run.code, 1, "{run:?}");
    let label = format!("{python} (CPython {version})");
    assert_eq!(
        run.stderr,
        format!(
            "error: {label}: app==1.0 requires missing-dep>=1, which the lock does not hold for this target\n\
             error: the lock is incomplete for {label}; nothing was installed\n\
             help: lock again with `pinguard lock --add-missing` (or pin what is missing in the source), \
             or pass --allow-incomplete to install the lock as it is\n"
        )
    );
    assert_eq!(venv.installed(), Vec::<String>::new());

    let run = pinguard(
        dir.path(),
        &["install", "--python", &python, "--allow-incomplete"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(venv.installed(), ["app 1.0", "ok-dep 1.0"]);
}

/// The uv the tests install (uv 0.13.9); `None` when Python tests are skipped.
fn real_uv() -> Option<String> {
    support::consumers::Consumers::get().map(|tools| tools.uv().display().to_string())
}

/// A uv that notes each run in `dir/uv-ran`, then runs the real one: whether uv ran at all.
fn noting_uv(dir: &Path, uv: &str) -> String {
    let script = format!(
        "#!/bin/sh\necho ran >> '{}'\nexec '{uv}' \"$@\"\n",
        dir.join("uv-ran").display()
    );
    executable(dir, "noting-uv", script)
}

/// Writes the shell script `dir/name`, executable; its path.
fn executable(dir: &Path, name: &str, script: String) -> String {
    let path = write(dir, name, script);
    let mut permissions = fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    fs::set_permissions(&path, permissions).unwrap();
    path.display().to_string()
}

#[test]
fn install_with_uv_puts_exactly_the_locked_files_into_the_environment() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let (Some(venv), Some(uv)) = (fresh_venv(dir.path()), real_uv()) else {
        return;
    };
    let uv = noting_uv(dir.path(), &uv);
    let python = venv_python(&venv);
    let run = pinguard(
        dir.path(),
        &[
            "install",
            "--python",
            &python,
            "--installer",
            "uv",
            "--uv",
            &uv,
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .ends_with(&format!("Installed 3 verified files into {python}\n")),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("uv-ran")).unwrap(),
        "ran\n"
    );
    // delta's marker excludes Linux; gamma has no Linux wheel and is built from its sdist.
    assert_eq!(venv.installers(), ["alpha uv", "beta uv", "gamma uv"]);
    assert_eq!(venv.installed(), ["alpha 1.0", "beta 2.0", "gamma 1.0"]);
    let out = venv.run_python([
        "-c",
        "import alpha, beta, gamma; print(alpha.VALUE, beta.B, gamma.G)",
    ]);
    assert_eq!(out.stdout, "1 2 1\n");
    // uv hard-links from its temporary cache when it can: once it is done, the environment's
    // files are regular files with no other name (no cache left holding their bytes).
    let lib = fs::read_dir(venv.dir().join("lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for module in ["alpha.py", "beta.py", "gamma.py"] {
        let path = lib.join("site-packages").join(module);
        let meta = fs::symlink_metadata(&path).unwrap();
        let links = std::os::unix::fs::MetadataExt::nlink(&meta);
        assert!(meta.is_file(), "{}: {meta:?}", path.display());
        assert_eq!(links, 1, "{}", path.display());
    }
    // With an sdist to build, uv does not use pinguard's uv cache (it would keep the wheel it
    // built, which no lock verifies).
    assert!(!dir.path().join("cache/uv-v1/cache").exists());
}

#[test]
fn quiet_install_keeps_uv_quiet_too_and_pinguard_installer_chooses_uv() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let (Some(venv), Some(uv)) = (fresh_venv(dir.path()), real_uv()) else {
        return;
    };
    let run = Pinguard::new(dir.path())
        .args(["install", "-q", "--python", &venv_python(&venv)])
        .env("PINGUARD_INSTALLER", "uv")
        .env("PINGUARD_UV", &uv)
        .run();
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    assert_eq!(venv.installers(), ["alpha uv", "beta uv", "gamma uv"]);
}

/// app: a wheel with a module, a `#!python` script, a data file and an entry point; lib: a
/// plain wheel. Wheels only, so that uv installs them from pinguard's uv cache.
fn wheels_only_index() -> TestIndex {
    IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("app", "1.0")
                .file("app.py", APP_PY.to_vec())
                .file(
                    "app-1.0.data/scripts/app-tool",
                    b"#!python\nprint('tool')\n".to_vec(),
                )
                .file(
                    "app-1.0.data/data/share/app/readme.txt",
                    b"read me\n".to_vec(),
                )
                .file(
                    "app-1.0.dist-info/entry_points.txt",
                    b"[console_scripts]\napp-cli = app:main\n".to_vec(),
                ),
        ))
        .file(DistFile::wheel(
            &WheelBuilder::new("lib", "1.0").file("lib.py", b"L = 1\n".to_vec()),
        ))
        .start()
}

const APP_PY: &[u8] = b"def main():\n    print('app')\n";

/// Locks app and lib from a [`wheels_only_index`] in `dir`, into `dir/pylock.toml`.
fn lock_wheels_only(dir: &Path) -> TestIndex {
    let index = wheels_only_index();
    write(dir, "upper-constraints.txt", "app===1.0\nlib===1.0\n");
    let index_url = index.simple_url();
    let run = pinguard(
        dir,
        &["lock", "upper-constraints.txt", "--index-url", &index_url],
    );
    assert_eq!(run.code, 0, "{run:?}");
    index
}

/// [`lock_wheels_only`]; the venvs `names` and uv, or `None` where there is no python3 or uv.
fn wheels_only_setup(dir: &Path, names: &[&str]) -> Option<(TestIndex, Vec<Venv>, String)> {
    let index = lock_wheels_only(dir);
    let uv = real_uv()?;
    let venvs = names
        .iter()
        .map(|name| Venv::fresh(&dir.join(name)))
        .collect::<Option<_>>()?;
    Some((index, venvs, uv))
}

fn install_with_uv(dir: &Path, venv: &Venv, uv: &str, quiet: bool) -> Run {
    install_with_uv_and(dir, venv, uv, if quiet { &["-q"] } else { &[] })
}

/// `pinguard install` into `venv` with `uv`, and `extra` arguments.
fn install_with_uv_and(dir: &Path, venv: &Venv, uv: &str, extra: &[&str]) -> Run {
    install_with_uv_command(dir, venv, uv, extra).run()
}

/// The command of [`install_with_uv_and`], to run with more settings.
fn install_with_uv_command(dir: &Path, venv: &Venv, uv: &str, extra: &[&str]) -> Pinguard {
    let python = venv_python(venv);
    Pinguard::new(dir)
        .args([
            "install",
            "--python",
            &python,
            "--installer",
            "uv",
            "--uv",
            uv,
        ])
        .args(extra)
}

/// The venv's site-packages, as the file system names it (findings name real paths).
fn site_packages(venv: &Venv) -> std::path::PathBuf {
    let lib = fs::read_dir(venv.dir().join("lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs::canonicalize(lib.join("site-packages")).unwrap()
}

fn links(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(&fs::symlink_metadata(path).unwrap())
}

#[test]
fn with_uv_and_only_wheels_a_second_install_links_from_uv_cache_and_every_file_checks() {
    let dir = scratch();
    let Some((_index, venvs, uv)) = wheels_only_setup(dir.path(), &["a", "b"]) else {
        return;
    };
    for venv in &venvs {
        let run = install_with_uv(dir.path(), venv, &uv, true);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    }
    let b = &venvs[1];
    assert_eq!(b.installers(), ["app uv", "lib uv"]);
    // One tree in uv's cache, linked into both environments.
    assert_eq!(links(&site_packages(b).join("app.py")), 3);
    assert!(dir.path().join("cache/uv-v1/cache").is_dir());
    for (script, says) in [("app-tool", "tool\n"), ("app-cli", "app\n")] {
        let out = std::process::Command::new(b.dir().join("bin").join(script))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), says, "{script}");
    }
    assert_eq!(
        fs::read_to_string(b.dir().join("share/app/readme.txt")).unwrap(),
        "read me\n"
    );
}

#[test]
fn install_traces_its_steps_to_the_file_pinguard_trace_steps_names() {
    let dir = scratch();
    let Some((_index, venvs, uv)) = wheels_only_setup(dir.path(), &["a"]) else {
        return;
    };
    let trace = dir.path().join("steps.tsv");
    let run = install_with_uv_command(dir.path(), &venvs[0], &uv, &["-q"])
        .env("PINGUARD_TRACE_STEPS", &trace)
        .run();
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    let text = fs::read_to_string(&trace).unwrap();
    let mut steps = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [start, end, step] = fields[..] else {
            panic!("not START\tEND\tSTEP: {line:?}");
        };
        let (start, end): (f64, f64) = (start.parse().unwrap(), end.parse().unwrap());
        assert!(0.0 <= start && start <= end, "{line:?}");
        steps.push((start, step));
    }
    // The probe runs on a thread of its own, beside the lock's read; the rest in turn.
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut names: Vec<&str> = steps.iter().map(|(_, step)| *step).collect();
    let probe = names
        .iter()
        .position(|s| *s == "probe the interpreter")
        .unwrap();
    names.remove(probe);
    assert_eq!(
        names,
        [
            "read the lock",
            "select the files",
            "verify the files",
            "read the wheels' RECORD",
            "snapshot before uv",
            "run uv",
            "snapshot after uv",
            "check what uv installed",
        ]
    );
}

#[test]
fn with_uv_the_check_reads_the_installed_files_without_touching_their_access_times() {
    let dir = scratch();
    let Some((_index, venvs, uv)) = wheels_only_setup(dir.path(), &["a"]) else {
        return;
    };
    let run = install_with_uv(dir.path(), &venvs[0], &uv, true);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    // uv linked the file from its cache (a new change time), and the check read all of it.
    // A plain read would have set the access time after the change time (`relatime`),
    // writing the inode the cache shares with every environment.
    let metadata = fs::metadata(site_packages(&venvs[0]).join("app.py")).unwrap();
    let time = |secs: i64, nanos: i64| (secs, nanos);
    use std::os::unix::fs::MetadataExt;
    assert!(
        time(metadata.atime(), metadata.atime_nsec())
            < time(metadata.ctime(), metadata.ctime_nsec()),
        "{metadata:?}"
    );
}

#[test]
fn with_uv_a_relative_cache_dir_installs() {
    let dir = scratch();
    let Some((_index, venvs, uv)) = wheels_only_setup(dir.path(), &["a"]) else {
        return;
    };
    // The flag wins over the PINGUARD_CACHE_DIR the test harness sets.
    let extra = ["-q", "--cache-dir", "relative-cache"];
    let run = install_with_uv_and(dir.path(), &venvs[0], &uv, &extra);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    assert_eq!(venvs[0].installers(), ["app uv", "lib uv"]);
    assert!(dir.path().join("relative-cache/uv-v1/cache").is_dir());
}

#[test]
fn with_uv_a_file_edited_through_uv_cache_is_found_and_installed_again_from_the_wheel() {
    let dir = scratch();
    let Some((_index, venvs, uv)) = wheels_only_setup(dir.path(), &["a", "b", "c"]) else {
        return;
    };
    let run = install_with_uv(dir.path(), &venvs[0], &uv, true);
    assert_eq!(run.code, 0, "{run:?}");
    // a's app.py is a hard link to uv's cache: editing it edits the cache.
    let edited = site_packages(&venvs[0]).join("app.py");
    fs::write(&edited, "import os\n").unwrap();
    let b = &venvs[1];
    let run = install_with_uv(dir.path(), b, &uv, false);
    assert_eq!(run.code, 0, "{run:?}");
    let site = site_packages(b);
    let expected = format!(
        "warning: {}/app.py does not hold the bytes app-1.0-py3-none-any.whl has for it\n\
         warning: uv's cache ({}/cache/uv-v1/cache) gave files that are not the verified \
         wheels' bytes; it is removed, and uv installs again from the verified wheels alone\n",
        site.display(),
        dir.path().display()
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(
        run.stderr.ends_with(&format!(
            "Installed 2 verified files into {}\n",
            venv_python(b)
        )),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read(site.join("app.py")).unwrap(), APP_PY);
    assert_eq!(links(&site.join("app.py")), 1);
    // The next install makes a new cache from the verified wheels.
    let run = install_with_uv(dir.path(), &venvs[2], &uv, true);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    assert_eq!(
        fs::read(site_packages(&venvs[2]).join("app.py")).unwrap(),
        APP_PY
    );
}

#[test]
fn with_uv_a_file_planted_in_uv_cache_is_found_and_removed() {
    let dir = scratch();
    let Some((_index, venvs, uv)) = wheels_only_setup(dir.path(), &["a", "b"]) else {
        return;
    };
    let run = install_with_uv(dir.path(), &venvs[0], &uv, true);
    assert_eq!(run.code, 0, "{run:?}");
    // uv links every file of the tree it unpacked, RECORD or not.
    let tree = find_dir_holding(&dir.path().join("cache/uv-v1/cache"), "app.py").unwrap();
    fs::write(tree.join("planted.pth"), "import os\n").unwrap();
    let run = install_with_uv(dir.path(), &venvs[1], &uv, false);
    assert_eq!(run.code, 0, "{run:?}");
    let site = site_packages(&venvs[1]);
    assert!(
        run.stderr.contains(&format!(
            "warning: {}/planted.pth was created by the install, and no verified wheel has it\n",
            site.display()
        )),
        "{}",
        run.stderr
    );
    assert!(!site.join("planted.pth").exists());
    assert_eq!(venvs[1].installed(), ["app 1.0", "lib 1.0"]);
}

#[test]
fn with_uv_other_bytes_installed_even_without_its_cache_are_an_error() {
    let dir = scratch();
    let Some((_index, venvs, uv)) = wheels_only_setup(dir.path(), &["a"]) else {
        return;
    };
    let venv = &venvs[0];
    // A uv that changes lib.py after every install.
    let script = format!(
        "#!/bin/sh\n'{uv}' \"$@\"; status=$?\n\
         for f in '{}'/lib/python*/site-packages/lib.py; do [ -f \"$f\" ] && echo '# x' >> \"$f\"; done\n\
         exit $status\n",
        venv.dir().display()
    );
    let changing = executable(dir.path(), "changing-uv", script);
    let run = install_with_uv(dir.path(), venv, &changing, true);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: {}/lib.py does not hold the bytes lib-1.0-py3-none-any.whl has for it\n\
             error: uv installed files into {} that are not the verified wheels' bytes\n\
             help: do not use this environment: remove it and install again\n",
            site_packages(venv).display(),
            venv_python(venv)
        )
    );
}

/// The first directory below `root` that holds a file `name`.
fn find_dir_holding(root: &Path, name: &str) -> Option<std::path::PathBuf> {
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        if dir.join(name).is_file() {
            return Some(dir);
        }
        for entry in fs::read_dir(&dir).ok()?.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(entry.path());
            }
        }
    }
    None
}

#[test]
fn with_uv_a_tampered_wheel_or_sdist_means_nothing_is_installed_and_uv_never_runs() {
    for file in ["alpha-1.0-py3-none-any.whl", "beta-2.0.tar.gz"] {
        let mut index = guard_index();
        let dir = scratch();
        lock(dir.path(), &index);
        let (Some(venv), Some(uv)) = (fresh_venv(dir.path()), real_uv()) else {
            return;
        };
        let uv = noting_uv(dir.path(), &uv);
        let mut bytes = index.file(file).bytes().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        index.tamper(file, bytes);
        let python = venv_python(&venv);
        let run = pinguard(
            dir.path(),
            &[
                "install",
                "--python",
                &python,
                "--installer",
                "uv",
                "--uv",
                &uv,
            ],
        );
        assert_eq!(run.code, 1, "{file}: {run:?}");
        assert!(
            run.stderr
                .contains(&format!("error: {file} does not match the lock")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.ends_with("error: nothing was installed\n"),
            "{}",
            run.stderr
        );
        assert!(!dir.path().join("uv-ran").exists(), "{file}: uv ran");
        assert_eq!(venv.installed(), Vec::<String>::new(), "{file}");
    }
}

#[test]
fn install_with_uv_that_cannot_be_found_says_how_to_get_it_before_fetching_anything() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    index.server().clear_log();
    let Some(venv) = fresh_venv(dir.path()) else {
        return;
    };
    let python = venv_python(&venv);
    let empty = dir.path().join("empty-bin");
    fs::create_dir_all(&empty).unwrap();
    let missing = dir.path().join("no-such-uv").display().to_string();
    let how = "install uv (https://docs.astral.sh/uv/getting-started/installation/), give its \
               path with --uv or PINGUARD_UV, or install with --installer pip\n";
    let cases = [
        (
            Pinguard::new(dir.path()).env("PATH", &empty),
            vec!["--installer", "uv"],
            format!("error: no `uv` on PATH: {how}"),
        ),
        (
            Pinguard::new(dir.path()),
            vec!["--installer", "uv", "--uv", &missing],
            format!("error: no uv at {missing}: {how}"),
        ),
    ];
    for (pinguard, args, expected) in cases {
        let run = pinguard
            .args(["install", "--python", &python])
            .args(args)
            .run();
        assert_eq!((run.code, run.stderr.as_str()), (2, expected.as_str()));
    }
    assert_eq!(index.all_requests().len(), 0);
    assert_eq!(venv.installed(), Vec::<String>::new());
}

/// uv reads `UV_*` variables (`UV_FIND_LINKS` adds a source even under `--no-index`) and its
/// `uv.toml` files (the user's, the working directory's, the one `UV_CONFIG_FILE` names), for
/// the build environment of an sdist too. None of them may be a source: the build
/// requirements come from the verified files only.
#[test]
fn uv_does_not_take_build_requirements_from_the_users_uv_configuration() {
    let Some(uv) = real_uv() else {
        return;
    };
    let setup = HostileBuildBackend::new();
    let quoted = |dir: &str| format!("find-links = [{dir:?}]\n");
    let routes: Vec<(&'static str, Route)> = vec![
        ("UV_FIND_LINKS, a directory", {
            let links = setup.hostile_dir.clone();
            Box::new(move |_, _, pinguard| pinguard.env("UV_FIND_LINKS", &links))
        }),
        ("UV_INDEX_URL and UV_EXTRA_INDEX_URL", {
            let url = setup.hostile.simple_url();
            Box::new(move |_, _, pinguard| {
                pinguard
                    .env("UV_INDEX_URL", &url)
                    .env("UV_EXTRA_INDEX_URL", &url)
            })
        }),
        ("the file UV_CONFIG_FILE names", {
            let text = quoted(&setup.hostile_dir);
            Box::new(move |case, _, pinguard| {
                pinguard.env("UV_CONFIG_FILE", write(case, "my-uv.toml", &text))
            })
        }),
        ("the user's uv.toml", {
            let text = quoted(&setup.hostile_dir);
            Box::new(move |case, _, pinguard| {
                write(case, ".config/uv/uv.toml", &text);
                pinguard.env("XDG_CONFIG_HOME", case.join(".config"))
            })
        }),
        ("the working directory's uv.toml", {
            let text = quoted(&setup.hostile_dir);
            Box::new(move |case, _, pinguard| {
                write(case, "uv.toml", &text);
                pinguard
            })
        }),
    ];
    if let Some((outcomes, expected)) = setup.outcomes(&["--installer", "uv", "--uv", &uv], &routes)
    {
        assert_eq!(outcomes, expected);
    }
}

#[test]
fn sync_with_uv_installs_and_removes_with_uv() {
    let index = guard_index();
    let dir = scratch();
    lock(dir.path(), &index);
    let (Some(venv), Some(uv)) = (fresh_venv(dir.path()), real_uv()) else {
        return;
    };
    let path = write(
        dir.path(),
        "extra-1.0-py3-none-any.whl",
        index.file("extra-1.0-py3-none-any.whl").bytes(),
    );
    venv.pip_offline(["install", "--no-deps", path.to_str().unwrap()])
        .assert_success();
    let uv = noting_uv(dir.path(), &uv);
    let python = venv_python(&venv);
    let run = pinguard(
        dir.path(),
        &[
            "sync",
            "--python",
            &python,
            "--remove-extraneous",
            "--installer",
            "uv",
            "--uv",
            &uv,
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .ends_with(": 3 installed, 1 removed, 0 left that the lock does not name\n"),
        "{}",
        run.stderr
    );
    assert_eq!(venv.installers(), ["alpha uv", "beta uv", "gamma uv"]);
    // Once to install, once to uninstall extra.
    assert_eq!(
        fs::read_to_string(dir.path().join("uv-ran")).unwrap(),
        "ran\nran\n"
    );
}

#[test]
fn with_uv_the_projects_directory_is_installed_last_by_uv() {
    let index = guard_index();
    let dir = scratch();
    lock_with_the_project(dir.path(), &index);
    let (Some(venv), Some(uv)) = (fresh_venv(dir.path()), real_uv()) else {
        return;
    };
    let python = venv_python(&venv);
    let run = pinguard(
        dir.path(),
        &[
            "install",
            "--python",
            &python,
            "--installer",
            "uv",
            "--uv",
            &uv,
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.ends_with(&format!(
            "Installed 3 verified files into {python}, then 1 project from its directory\n"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        venv.installers(),
        ["alpha uv", "beta uv", "gamma uv", "myproject uv"]
    );
}
