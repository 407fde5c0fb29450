//! The consumers of pinguard's locks, pinned by version, as clients in tests.
//!
//! A lock is only as good as the tools that read it accept it. The test suite holds every
//! lock it writes to `packaging.pylock` (the reference reader), and installs locks with pip
//! and uv. None of them is on a fresh machine at the versions that read PEP 751, so on first
//! use they are installed from the package registry into one venv under Cargo's target
//! directory (`target/tmp/consumer-tools/`), shared by every test binary and kept across
//! runs. That is the only step of the test suite that needs the registry; the tests
//! themselves use only servers on 127.0.0.1.
//!
//! `PINGUARD_SKIP_PIP_TESTS=1` skips these as it skips the other real-Python tests.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::python::{Output, Venv, isolate, python3, run, skip_note};

/// What is installed, by exact version: the first release of each that reads PEP 751 locks
/// as the tests expect (packaging's `pylock` module, `pip install -r pylock.toml`, uv's
/// `pip install -r pylock.toml`).
pub const TOOLS: [&str; 3] = ["packaging==26.4", "pip==26.3", "uv==0.13.9"];

/// The venv holding [`TOOLS`].
#[derive(Debug)]
pub struct Consumers {
    venv: Venv,
}

impl Consumers {
    /// The shared venv, installed on first use; `None` when Python tests are skipped.
    ///
    /// # Panics
    /// When the tools cannot be installed (the message says how to skip).
    pub fn get() -> Option<&'static Consumers> {
        static TOOLS_VENV: OnceLock<Option<Consumers>> = OnceLock::new();
        TOOLS_VENV
            .get_or_init(|| {
                let python = python3()?;
                let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("consumer-tools");
                Some(install(&python, &root).unwrap_or_else(|e| {
                    panic!(
                        "cannot install the lock consumers {TOOLS:?} into {}: {e}\n\
                         (they come from the package registry on first use; set \
                         PINGUARD_SKIP_PIP_TESTS=1 to skip the tests that need them)",
                        root.display()
                    )
                }))
            })
            .as_ref()
    }

    /// Validates a lock with `packaging.pylock` as PEP 751 says a reader must:
    /// `Pylock.from_dict(tomllib.load(f))` then `.validate()`. The error text is packaging's.
    pub fn validate_pylock(&self, lock: &Path) -> Result<(), String> {
        const SCRIPT: &str = "import sys, tomllib\n\
            from packaging.pylock import Pylock, PylockValidationError\n\
            try:\n    \
                Pylock.from_dict(tomllib.load(open(sys.argv[1], 'rb'))).validate()\n\
            except (PylockValidationError, tomllib.TOMLDecodeError) as e:\n    \
                sys.exit(f'{type(e).__name__}: {e}')\n";
        let out = self
            .venv
            .run_python(["-c".as_ref(), SCRIPT.as_ref(), lock.as_os_str()]);
        if out.success() {
            Ok(())
        } else {
            Err(out.stderr.trim().to_owned())
        }
    }

    /// `pip install -r LOCK` with pip 26.3 into the environment of `target_python`
    /// (`pip --python`), with no index and no configuration of this machine.
    pub fn pip_install_pylock(&self, target_python: &Path, lock: &Path) -> Output {
        run(self
            .venv
            .pip_command()
            .arg("--python")
            .arg(target_python)
            .args(["install", "--no-index", "-r"])
            .arg(lock))
    }

    /// The uv binary (uv 0.13.9).
    pub fn uv(&self) -> PathBuf {
        self.venv.dir().join("bin").join("uv")
    }

    /// `uv pip install -r LOCK` into the environment of `target_python`, with no index, no
    /// cache and no uv configuration from this machine.
    pub fn uv_install_pylock(&self, target_python: &Path, lock: &Path, cache: &Path) -> Output {
        let mut command = Command::new(self.uv());
        isolate(&mut command);
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(|k| k.starts_with("UV_")) {
                command.env_remove(key);
            }
        }
        run(command
            .env("UV_NO_CONFIG", "1")
            .env("UV_CACHE_DIR", cache)
            .env("UV_PYTHON_DOWNLOADS", "never")
            .args(["pip", "install", "--no-index", "--python"])
            .arg(target_python)
            .arg("-r")
            .arg(lock))
    }
}

/// Installs [`TOOLS`] into `root/<python version>` unless a finished install is there.
fn install(python: &Path, root: &Path) -> io::Result<Consumers> {
    let version = super::python::python_version(python)
        .ok_or_else(|| io::Error::other(format!("{} does not run", python.display())))?;
    let venv = Venv::kept(python, root, &version, &TOOLS.join(" "), |venv| {
        // This one step uses the machine's own pip settings (its index, its CA bundle):
        // they are how this machine reaches the registry.
        let out = run(Command::new(venv.python())
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
            .args(TOOLS)
            .env_remove("PYTHONPATH")
            .env_remove("VIRTUAL_ENV"));
        if out.success() {
            Ok(())
        } else {
            Err(io::Error::other(out.to_string()))
        }
    })?;
    Ok(Consumers { venv })
}

/// The PEP 751 locks among `paths`: TOML files whose first key is `lock-version`.
pub fn pylocks(paths: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    paths
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .filter(|path| fs::read_to_string(path).is_ok_and(|text| is_pylock(&text)))
        .collect()
}

/// Whether `text` is a PEP 751 lock (its first key is `lock-version`).
pub fn is_pylock(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .is_some_and(|line| line.starts_with("lock-version"))
}

/// Asserts that `packaging.pylock` accepts the lock at `path` (nothing when Python tests
/// are skipped).
///
/// # Panics
/// With packaging's error when it refuses the lock.
#[track_caller]
pub fn assert_valid_pylock(path: &Path) {
    match Consumers::get() {
        Some(consumers) => {
            if let Err(error) = consumers.validate_pylock(path) {
                panic!(
                    "packaging.pylock refuses {}: {error}\n--- the lock\n{}",
                    path.display(),
                    fs::read_to_string(path).unwrap_or_default()
                );
            }
        }
        None => skip_note("PINGUARD_SKIP_PIP_TESTS=1: the lock is not checked by packaging"),
    }
}
