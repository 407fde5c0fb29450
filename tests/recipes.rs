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

/// Stand-ins for the OpenStack libraries the example project needs, with just enough of their
/// API for its test: oslo.config (a wheel, needing oslo.i18n; its test extra must not be
/// followed), oslo.utils (an sdist pip must build) and stestr; unrelated is in the
/// constraints but must not be installed.
fn recipe_index() -> TestIndex {
    const CFG: &str = "class StrOpt:\n\
        \x20   def __init__(self, name, default=None, help=None):\n\
        \x20       self.name, self.default = name, default\n\
        class ConfigOpts:\n\
        \x20   def __init__(self):\n\
        \x20       self._opts = {}\n\
        \x20   def __call__(self, args, project=None):\n\
        \x20       self.project = project\n\
        \x20   def register_opts(self, opts):\n\
        \x20       self._opts.update((o.name, o.default) for o in opts)\n\
        \x20   def __getattr__(self, name):\n\
        \x20       try:\n\
        \x20           return self.__dict__['_opts'][name]\n\
        \x20       except KeyError:\n\
        \x20           raise AttributeError(name)\n\
        CONF = ConfigOpts()\n";
    const STRUTILS: &str = "def bool_from_string(s):\n    return str(s).lower() in ('1', 't', 'true', 'on', 'y', 'yes')\n";
    IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("oslo.config", "10.7.0")
                .requires_dist(["oslo.i18n>=3.15.3", "coverage>=4.0; extra == \"test\""])
                .provides_extra(["test"])
                .file("oslo_config/__init__.py", b"".to_vec())
                .file("oslo_config/cfg.py", CFG.as_bytes().to_vec()),
        ))
        .file(DistFile::wheel(
            &WheelBuilder::new("oslo.i18n", "6.9.0").file("oslo_i18n/__init__.py", b"".to_vec()),
        ))
        .file(DistFile::sdist(
            &SdistBuilder::new("oslo.utils", "10.1.1")
                .file("oslo_utils/__init__.py", b"".to_vec())
                .file("oslo_utils/strutils.py", STRUTILS.as_bytes().to_vec()),
        ))
        .file(DistFile::wheel(
            &WheelBuilder::new("stestr", "4.2.1").file("stestr/__init__.py", b"".to_vec()),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("coverage", "7.10.7")))
        .file(DistFile::wheel(&WheelBuilder::new("unrelated", "1.0")))
        .start()
}

const CONSTRAINTS: &str = "oslo.config===10.7.0\noslo.i18n===6.9.0\noslo.utils===10.1.1\n\
                           stestr===4.2.1\ncoverage===7.10.7\nunrelated===1.0\n";

/// What the recipes install: the project and exactly the closure of its requirements.
const INSTALLED: [&str; 5] = [
    "example-service 0.1.0",
    "oslo.config 10.7.0",
    "oslo.i18n 6.9.0",
    "oslo.utils 10.1.1",
    "stestr 4.2.1",
];

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
    assert_eq!(venv.installed(), INSTALLED);
}

#[test]
fn the_tox_recipe_stops_before_anything_is_installed_when_a_file_drifts() {
    let mut index = recipe_index();
    let dir = scratch();
    let project = project(dir.path(), "tox", &index);
    let mut bytes = index.file("oslo_utils-10.1.1.tar.gz").bytes().to_vec();
    bytes[40] ^= 1;
    index.tamper("oslo_utils-10.1.1.tar.gz", bytes);
    let ini = std::fs::read_to_string(project.join("tox.ini")).unwrap();
    let Some(venv) = Venv::fresh(&dir.path().join(".tox/py3")) else {
        return;
    };
    let first = &tox_commands(&ini, "commands_pre")[0];
    let out = tox_run(first, &project, &venv, dir.path());
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        out.stderr.contains(
            "error: oslo_utils-10.1.1.tar.gz does not match the lock (oslo-utils==10.1.1)"
        ),
        "{out}"
    );
    assert_eq!(venv.installed(), Vec::<String>::new());
}

#[test]
fn install_r_reports_what_the_lock_cannot_answer() {
    let index = recipe_index();
    let dir = scratch();
    let project = project(dir.path(), "tox", &index);
    write(&project, "more.txt", "oslo.config>=11\nnot-locked\n");
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
            "error: {label}: more.txt:1 requires oslo-config>=11, but the lock has oslo-config==10.7.0\n\
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
    assert_eq!(ci_venv.installed(), INSTALLED);
}
