//! The tox and CI recipes in examples/, run as written against a local index.
//!
//! tox itself cannot be installed without the network, so the test does what tox does with
//! examples/tox/tox.ini: make the environment, substitute `{toxinidir}`, `{envpython}` and
//! `{posargs}` into `commands_pre` and `commands`, and run them with the environment's `bin`
//! first on PATH.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::cli::{Pinguard, scratch, write};
use support::dist::{SdistBuilder, WheelBuilder};
use support::index::{DistFile, IndexBuilder, TestIndex};
use support::python::{Output, Venv, run};

/// alpha (needs gamma) and beta are what the example project needs; unrelated is in the
/// constraints but must not be installed.
fn recipe_index() -> TestIndex {
    IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("alpha", "1.0")
                .requires_dist(["gamma>=1"])
                .file("alpha.py", b"import gamma\nVALUE = 1\n".to_vec()),
        ))
        .file(DistFile::wheel(
            &WheelBuilder::new("gamma", "1.0").file("gamma.py", b"".to_vec()),
        ))
        .file(DistFile::sdist(
            &SdistBuilder::new("beta", "2.0").file("beta.py", b"B = 2\n".to_vec()),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("unrelated", "1.0")))
        .start()
}

const CONSTRAINTS: &str = "alpha===1.0\nbeta===2.0\ngamma===1.0\nunrelated===1.0\n";

/// A copy of examples/<name> with a lock of `CONSTRAINTS` (dependencies recorded).
fn project(dir: &Path, name: &str, index: &TestIndex) -> PathBuf {
    let project = dir.join("project");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
        &project,
    );
    write(dir, "upper-constraints.txt", CONSTRAINTS);
    let run = Pinguard::new(dir)
        .args(["lock", "upper-constraints.txt", "-o"])
        .args([project.join("pylock.toml").to_str().unwrap()])
        .args(["--index-url", &index.simple_url()])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    project
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The lines of `key` in the `[testenv]` section of a tox.ini (continuation lines indented).
fn tox_commands(ini: &str, key: &str) -> Vec<String> {
    let section = ini.split("[testenv]").nth(1).expect("a [testenv] section");
    let section = section.split("\n[").next().unwrap();
    let mut lines = section
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{key} =")));
    lines.next().expect("the key");
    lines
        .take_while(|l| l.starts_with(' '))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Runs one tox command line in `venv` the way tox would.
fn tox_run(line: &str, project: &Path, venv: &Venv, home: &Path) -> Output {
    let line = line
        .replace("{toxinidir}", project.to_str().unwrap())
        .replace("{envpython}", venv.python().to_str().unwrap())
        .replace("{posargs}", "");
    let words: Vec<&str> = line.split_whitespace().collect();
    run(isolated(
        Command::new(words[0])
            .args(&words[1..])
            .current_dir(project),
        venv,
        home,
    ))
}

/// PATH with the environment's bin and pinguard first, the machine's pip settings removed (as
/// the test harness does for pinguard itself).
fn isolated<'c>(command: &'c mut Command, venv: &Venv, home: &Path) -> &'c mut Command {
    support::python::isolate(command);
    let pinguard_dir = Path::new(env!("CARGO_BIN_EXE_pinguard")).parent().unwrap();
    let path = std::env::join_paths(
        [venv.python().parent().unwrap(), pinguard_dir]
            .into_iter()
            .map(Path::to_owned)
            .chain(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            )),
    )
    .unwrap();
    command
        .env("PATH", path)
        .env("HOME", home)
        .env("PINGUARD_CACHE_DIR", home.join("cache"))
        .env("NO_COLOR", "1")
}

#[test]
fn the_tox_recipe_installs_only_what_the_project_needs_from_the_lock() {
    let index = recipe_index();
    let dir = scratch();
    let project = project(dir.path(), "tox", &index);
    let ini = std::fs::read_to_string(project.join("tox.ini")).unwrap();
    let Some(venv) = Venv::fresh(&dir.path().join(".tox/py3")) else {
        return;
    };
    for line in tox_commands(&ini, "commands_pre")
        .iter()
        .chain(&tox_commands(&ini, "commands"))
    {
        tox_run(line, &project, &venv, dir.path()).assert_success();
    }
    assert_eq!(
        venv.installed(),
        [
            "alpha 1.0",
            "beta 2.0",
            "example-service 0.1.0",
            "gamma 1.0"
        ]
    );
}

#[test]
fn the_tox_recipe_stops_before_anything_is_installed_when_a_file_drifts() {
    let mut index = recipe_index();
    let dir = scratch();
    let project = project(dir.path(), "tox", &index);
    let mut bytes = index.file("beta-2.0.tar.gz").bytes().to_vec();
    bytes[40] ^= 1;
    index.tamper("beta-2.0.tar.gz", bytes);
    let ini = std::fs::read_to_string(project.join("tox.ini")).unwrap();
    let Some(venv) = Venv::fresh(&dir.path().join(".tox/py3")) else {
        return;
    };
    let first = &tox_commands(&ini, "commands_pre")[0];
    let out = tox_run(first, &project, &venv, dir.path());
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("error: beta-2.0.tar.gz does not match the lock (beta==2.0)"),
        "{out}"
    );
    assert_eq!(venv.installed(), Vec::<String>::new());
}

#[test]
fn install_r_reports_what_the_lock_cannot_answer() {
    let index = recipe_index();
    let dir = scratch();
    let project = project(dir.path(), "tox", &index);
    write(&project, "more.txt", "alpha>=2\nnot-locked\n");
    let Some(venv) = Venv::fresh(&dir.path().join("venv")) else {
        return;
    };
    let run = Pinguard::new(&project)
        .args([
            "install",
            "--python",
            venv.python().to_str().unwrap(),
            "-r",
            "more.txt",
        ])
        .run();
    assert_eq!(run.code, 1, "{run:?}");
    let label = run
        .stderr
        .strip_prefix("error: ")
        .and_then(|s| s.split_once(": more.txt"))
        .unwrap()
        .0;
    assert_eq!(
        run.stderr,
        format!(
            "error: {label}: more.txt:1 requires alpha>=2, but the lock has alpha==1.0\n\
             error: {label}: more.txt:2 requires not-locked, which the lock does not hold for this target\n\
             error: nothing was installed\n"
        )
    );
}

#[test]
fn the_ci_pre_install_step() {
    let index = recipe_index();
    let dir = scratch();
    let project = project(dir.path(), "tox", &index);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/pre-install.sh");
    let Some(python) = support::python::python3() else {
        return;
    };
    let Some(venv) = Venv::fresh(&dir.path().join("unused")) else {
        return;
    };
    let out = run(isolated(
        Command::new("sh")
            .arg(&script)
            .current_dir(&project)
            .env("PYTHON", &python),
        &venv,
        dir.path(),
    ));
    out.assert_success();
    let ci_venv = Venv::at(&project.join(".venv"));
    assert_eq!(
        ci_venv.installed(),
        [
            "alpha 1.0",
            "beta 2.0",
            "example-service 0.1.0",
            "gamma 1.0"
        ]
    );
}
