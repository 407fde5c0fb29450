//! Running the `pinguard` binary as a user would, isolated from this machine's settings.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use super::consumers;

/// What a run of `pinguard` printed and how it exited.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard error with the machine-specific parts replaced (ports, temp dirs), for
    /// snapshots.
    pub fn stderr_filtered(&self, replacements: &[(&str, &str)]) -> String {
        filter(&self.stderr, replacements)
    }
}

/// Replaces each `(from, to)` in `text`.
pub fn filter(text: &str, replacements: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (from, to) in replacements {
        out = out.replace(from, to);
    }
    out
}

/// A `pinguard` command in a scratch directory, with its own cache, `HOME` (so no
/// `~/.netrc` of the machine is read) and no `PIP_*`/`PINGUARD_*` variables.
pub struct Pinguard {
    command: Command,
    stdin: Option<Vec<u8>>,
    dir: PathBuf,
}

impl Pinguard {
    /// `pinguard ARGS` run in `dir`, with a cache under `dir/cache`.
    pub fn new(dir: &Path) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pinguard"));
        for (key, _) in std::env::vars_os() {
            let removable = key.to_str().is_some_and(|key| {
                key.starts_with("PIP_")
                    || key.starts_with("PINGUARD_")
                    || key.to_ascii_lowercase().ends_with("_proxy")
                    || key == "NETRC"
            });
            if removable {
                command.env_remove(key);
            }
        }
        command
            .current_dir(dir)
            .env("HOME", dir)
            .env("PINGUARD_CACHE_DIR", dir.join("cache"))
            .env("NO_COLOR", "1")
            // The pip pinguard runs must not read this machine's pip configuration either.
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env("PIP_NO_CACHE_DIR", "1")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
        Self {
            command,
            stdin: None,
            dir: dir.to_owned(),
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Removes an environment variable (one [`Pinguard::new`] set, such as `PIP_CONFIG_FILE`).
    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Feeds `bytes` on standard input.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs to completion. Every PEP 751 lock the run wrote (a `.toml` file under the
    /// directory that is new or changed, or standard output) must pass `packaging.pylock`.
    ///
    /// # Panics
    /// When it cannot run, or packaging refuses a lock it wrote.
    pub fn run(self) -> Run {
        let dir = self.dir.clone();
        let before = toml_files(&dir);
        let run = self.run_unchecked();
        let written = toml_files(&dir)
            .into_iter()
            .filter(|(path, stamp)| before.get(path) != Some(stamp))
            .map(|(path, _)| path);
        for lock in consumers::pylocks(written) {
            consumers::assert_valid_pylock(&lock);
        }
        if consumers::is_pylock(&run.stdout) {
            let copy = tempfile::Builder::new()
                .prefix("pylock.stdout.")
                .suffix(".toml")
                .tempfile()
                .expect("a temporary file");
            std::fs::write(copy.path(), &run.stdout).expect("write the lock's copy");
            consumers::assert_valid_pylock(copy.path());
        }
        run
    }

    /// Runs to completion without checking what it wrote.
    pub fn run_unchecked(mut self) -> Run {
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("the pinguard binary runs");
        if let Some(bytes) = self.stdin.take() {
            child
                .stdin
                .take()
                .expect("stdin is piped")
                .write_all(&bytes)
                .expect("pinguard reads its input");
        }
        let output = child.wait_with_output().expect("pinguard finishes");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Modification time and size of each `.toml` file below `dir` (three levels deep, the cache
/// left out).
fn toml_files(dir: &Path) -> HashMap<PathBuf, (SystemTime, u64)> {
    fn walk(dir: &Path, depth: u32, found: &mut HashMap<PathBuf, (SystemTime, u64)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() && depth > 0 && entry.file_name() != "cache" {
                walk(&path, depth - 1, found);
            } else if meta.is_file() && path.extension().is_some_and(|e| e == "toml") {
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.insert(path, (modified, meta.len()));
            }
        }
    }
    let mut found = HashMap::new();
    walk(dir, 2, &mut found);
    found
}

impl Pinguard {
    /// Starts in the background, for a test that signals it or must not wait forever.
    pub fn spawn(mut self) -> Running {
        self.command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Running {
            child: self.command.spawn().expect("the pinguard binary runs"),
        }
    }

    /// Runs to completion, failing the test (instead of hanging it) after `limit`.
    pub fn run_within(self, limit: Duration) -> Run {
        self.spawn().finish_within(limit)
    }
}

/// A `pinguard` running in the background.
pub struct Running {
    child: Child,
}

impl Running {
    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to end; past `limit` it is killed and the test fails.
    pub fn finish_within(mut self, limit: Duration) -> Run {
        let started = Instant::now();
        while self
            .child
            .try_wait()
            .expect("pinguard can be waited for")
            .is_none()
        {
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let output = self.child.wait_with_output().expect("pinguard was killed");
                panic!(
                    "pinguard still ran after {limit:?} (killed): {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = self.child.wait_with_output().expect("pinguard finishes");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A scratch directory for one test, removed afterwards.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pinguard-test-")
        .tempdir()
        .expect("a temporary directory")
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent directory");
    }
    std::fs::write(&path, content).expect("write test file");
    path
}
