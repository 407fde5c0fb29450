//! Real Python and pip as clients in tests, shielded from this machine's
//! own pip setup.
//!
//! A developer machine or CI image configures pip (here: `PIP_FIND_LINKS`,
//! a `pip.conf`); if that leaked into a test, pip could install from a
//! local wheel directory instead of the test's index, or hit the network.
//! So every pip run here starts with no `PIP_*` variable and no config
//! file, and then sets only what the test means.
//!
//! Python is optional: helpers return `None` when an interpreter is
//! missing, and tests skip with a note (see [`skip_note`]).

use std::env;
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;

/// Prints why a test is skipping, in one recognizable form.
pub fn skip_note(reason: &str) {
    eprintln!("note: skipping: {reason}");
}

/// What a child process did.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for failure messages.
    pub command: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// # Panics
    /// Unless the command succeeded, showing its output.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "{self}");
        self
    }

    /// # Panics
    /// If the command succeeded, showing its output.
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(!self.success(), "expected a failure: {self}");
        self
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited with {}\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `command` to completion, capturing its output.
///
/// # Panics
/// When it cannot be started at all.
pub fn run(command: &mut Command) -> Output {
    let line = format!("{command:?}");
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {line}: {e}"));
    Output {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        command: line,
    }
}

/// Removes from `command`'s environment whatever could make Python or pip
/// behave differently from one machine to the next, and sets what keeps
/// pip quiet, non-interactive and reproducible.
pub fn isolate(command: &mut Command) -> &mut Command {
    for (key, _) in env::vars_os() {
        let removable = key.to_str().is_some_and(|key| {
            key.starts_with("PIP_")
                || key.to_ascii_lowercase().ends_with("_proxy")
                || matches!(
                    key,
                    "PYTHONPATH"
                        | "PYTHONHOME"
                        | "PYTHONUSERBASE"
                        | "PYTHONSTARTUP"
                        | "VIRTUAL_ENV"
                )
        });
        if removable {
            command.env_remove(key);
        }
    }
    command
        // os.devnull here makes pip skip every config file (global, user,
        // site), not just the one named.
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_NO_INPUT", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        // pip's HTTP cache is keyed by URL, and test servers reuse ports
        // from one run to the next: a cache could serve an old run's page.
        .env("PIP_NO_CACHE_DIR", "1")
        .env("PIP_NO_PYTHON_VERSION_WARNING", "1")
        .env("PYTHONNOUSERSITE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
}

/// Runs `python -c` code that prints `major.minor.micro` and the real
/// executable; `None` when `python` does not run (missing, or a pyenv shim
/// for a version that is not active).
fn probe(python: &OsStr) -> Option<(PathBuf, String)> {
    let output = Command::new(python)
        .args([
            "-c",
            "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)",
        ])
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let stdout = String::from_utf8(output.stdout).ok()?;
    let mut lines = stdout.lines();
    let version = lines.next()?.trim().to_owned();
    let executable = PathBuf::from(lines.next()?.trim());
    Some((executable, version))
}

/// `python3` from `PATH`, as the path of the real executable (not a shim).
///
/// Real pip is the client the guard is tested against, so a machine without
/// `python3` fails these tests instead of passing them vacuously; set
/// `PINGUARD_SKIP_PIP_TESTS=1` to skip them knowingly (then `None`).
///
/// # Panics
/// When `python3` is missing and the skip is not asked for.
pub fn python3() -> Option<PathBuf> {
    static PYTHON3: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON3
        .get_or_init(|| {
            if env::var_os("PINGUARD_SKIP_PIP_TESTS").is_some_and(|v| v == "1") {
                return None;
            }
            let found = probe(OsStr::new("python3")).map(|(path, _)| path);
            assert!(
                found.is_some(),
                "python3 is needed: real pip is the client these tests check pinguard \
                 against (set PINGUARD_SKIP_PIP_TESTS=1 to skip them)"
            );
            found
        })
        .clone()
}

/// The full version (`3.11.7`) of an interpreter.
pub fn python_version(python: &Path) -> Option<String> {
    probe(python.as_os_str()).map(|(_, version)| version)
}

/// An interpreter of `version` (`"3.12"`): `python3.12` from `PATH`, else
/// the newest pyenv install of that minor version (`$PYENV_ROOT`, or
/// `~/.pyenv`). `None` when there is none, so the test can skip.
pub fn python_for(version: &str) -> Option<PathBuf> {
    let wanted = |found: &str| {
        found == version
            || found
                .strip_prefix(version)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    if let Some((path, found)) = probe(OsStr::new(&format!("python{version}")))
        && wanted(&found)
    {
        return Some(path);
    }
    let pyenv_root = env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")))?;
    let mut installs: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(pyenv_root.join("versions"))
        .ok()?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            // Only plain CPython releases such as 3.12.1.
            let numbers: Vec<u32> = name
                .split('.')
                .map(|n| n.parse().ok())
                .collect::<Option<_>>()?;
            wanted(&name).then(|| (numbers, pyenv_root.join("versions").join(&name)))
        })
        .collect();
    installs.sort();
    installs.into_iter().rev().find_map(|(_, dir)| {
        let (path, found) = probe(dir.join("bin").join("python3").as_os_str())?;
        wanted(&found).then_some(path)
    })
}

/// A virtual environment.
#[derive(Clone, Debug)]
pub struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// A venv shared by every test of every test binary on this machine,
    /// made once per Python version under
    /// `$TMPDIR/pinguard-test-venvs/<version>`: creating one takes seconds.
    /// Tests must not install into it (use [`Venv::fresh`] for that).
    /// `None` without `python3`.
    ///
    /// # Panics
    /// When `python3` exists but cannot create a venv.
    pub fn shared() -> Option<&'static Venv> {
        static SHARED: OnceLock<Option<Venv>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let python = python3()?;
                let version = python_version(&python)?;
                let root = env::temp_dir().join("pinguard-test-venvs");
                Some(
                    Self::create_shared(&python, &root, &version).unwrap_or_else(|e| {
                        panic!("cannot make the shared venv in {}: {e}", root.display())
                    }),
                )
            })
            .as_ref()
    }

    fn create_shared(python: &Path, root: &Path, version: &str) -> io::Result<Venv> {
        Self::kept(python, root, version, "", |_| Ok(()))
    }

    /// A venv at `root/<version>` kept across test runs and shared by every test binary:
    /// made by `python`, then `fill`ed, unless a finished one with the same `marker` is
    /// there. Test binaries run in parallel, so this happens under an exclusive file lock,
    /// and the marker, written last, tells a finished venv from one an interrupted run left
    /// half-made.
    pub fn kept(
        python: &Path,
        root: &Path,
        version: &str,
        marker: &str,
        fill: impl FnOnce(&Venv) -> io::Result<()>,
    ) -> io::Result<Venv> {
        fs::create_dir_all(root)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join(format!("{version}.lock")))?;
        lock.lock()?;
        let venv = Venv {
            dir: root.join(version),
        };
        let ready = venv.dir.join(".pinguard-ready");
        // The marker alone is not enough: the interpreter the venv points
        // at may have been replaced since.
        let finished = fs::read_to_string(&ready).ok().as_deref() == Some(marker)
            && python_version(&venv.python()).as_deref() == Some(version);
        if !finished {
            if venv.dir.exists() {
                fs::remove_dir_all(&venv.dir)?;
            }
            Self::create(python, &venv.dir)?;
            fill(&venv)?;
            fs::write(&ready, marker)?;
        }
        Ok(venv)
    }

    /// A new venv at `dir` made by `python3`, for a test to install into.
    /// `None` without `python3`.
    ///
    /// # Panics
    /// When `python3` exists but cannot create a venv.
    pub fn fresh(dir: &Path) -> Option<Venv> {
        let python = python3()?;
        Some(
            Self::create(&python, dir)
                .unwrap_or_else(|e| panic!("cannot make a venv in {}: {e}", dir.display())),
        )
    }

    /// `name version` of each distribution installed, sorted; pip, setuptools and wheel left
    /// out (what venvs come with).
    pub fn installed(&self) -> Vec<String> {
        let out = self.run_python([
            "-c",
            "import importlib.metadata as m\n\
             print('\\n'.join(sorted(f\"{d.metadata['Name']} {d.version}\" for d in m.distributions()\n\
             if d.metadata['Name'] not in ('pip', 'setuptools', 'wheel'))))",
        ]);
        out.assert_success();
        out.stdout
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `name installer` of each distribution [`Venv::installed`] lists: what its
    /// `INSTALLER` file says installed it (`pip`, `uv`).
    pub fn installers(&self) -> Vec<String> {
        let out = self.run_python([
            "-c",
            "import importlib.metadata as m\n\
             print('\\n'.join(sorted(f\"{d.metadata['Name']} {(d.read_text('INSTALLER') or '').strip()}\"\n\
             for d in m.distributions() if d.metadata['Name'] not in ('pip', 'setuptools', 'wheel'))))",
        ]);
        out.assert_success();
        out.stdout
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The venv something else made at `dir`.
    pub fn at(dir: &Path) -> Venv {
        Venv {
            dir: dir.to_owned(),
        }
    }

    /// Makes a venv at `dir` with `python -m venv` (pip included, from the
    /// wheel bundled with Python: no network).
    pub fn create(python: &Path, dir: &Path) -> io::Result<Venv> {
        let output = run(isolate(Command::new(python).args(["-m", "venv"]).arg(dir)));
        if !output.success() {
            return Err(io::Error::other(output.to_string()));
        }
        Ok(Venv {
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    /// The `pip` script. Prefer [`Venv::pip_command`], which runs
    /// `python -m pip` and so does not depend on the script's shebang.
    pub fn pip(&self) -> PathBuf {
        self.dir.join("bin").join("pip")
    }

    /// `python` of this venv with an isolated environment.
    pub fn python_command(&self) -> Command {
        let mut command = Command::new(self.python());
        isolate(&mut command);
        command
    }

    /// `python -m pip` with an isolated environment and no index set: add
    /// `--index-url` (or the `PIP_INDEX_URL` variable) to use one.
    pub fn pip_command(&self) -> Command {
        let mut command = self.python_command();
        command.args(["-m", "pip"]);
        command
    }

    /// Runs pip with `--no-index` in effect (as `PIP_NO_INDEX`, which,
    /// unlike the flag, every subcommand accepts), so it can install only
    /// from paths the arguments name.
    pub fn pip_offline<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.pip_command().env("PIP_NO_INDEX", "1").args(args))
    }

    /// Runs pip against the test index at `index_url` (a `/simple/` URL),
    /// and nothing else.
    pub fn pip_with_index<I, S>(&self, index_url: &str, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self
            .pip_command()
            .env("PIP_INDEX_URL", index_url)
            // Faults are injected on purpose; retrying them only slows
            // the test down.
            .env("PIP_RETRIES", "0")
            .args(args))
    }

    /// Runs this venv's `python` with `args`.
    pub fn run_python<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.python_command().args(args))
    }
}
