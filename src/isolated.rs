//! Running a Python interpreter, or uv, apart from pinguard's environment and from the user's
//! pip and uv configuration.
//!
//! `python -I` ignores `PYTHON*` variables and the user site, but pip still reads its `PIP_*`
//! variables and its configuration files (`/etc/pip.conf`, the user's `pip.conf`, the
//! environment's own `<sys.prefix>/pip.conf`, the file `PIP_CONFIG_FILE` names), and so does
//! the pip that installs an sdist's build requirements in a subprocess. A `find-links` or an
//! index there would be a source of build requirements nobody verified. So every interpreter
//! pinguard runs starts with no `PIP_*` variable and with `PIP_CONFIG_FILE` set to the null
//! device, which makes pip skip every configuration file (pip's `Configuration.load`).
//!
//! uv reads `UV_*` variables (`UV_FIND_LINKS` adds a source even under `--no-index`) and
//! `uv.toml` / `pyproject.toml` files (the user's, the system's, the working directory's):
//! uv runs with none of those variables, `UV_NO_CONFIG=1`, no `PIP_*` and no `PYTHON*`
//! variable (as `python -I` ignores them; uv's build backends run with its environment), and
//! `UV_PYTHON_DOWNLOADS=never`.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// The null device, as Python's `os.devnull` names it: the value of `PIP_CONFIG_FILE` that
/// makes pip read no configuration file at all.
const NULL_DEVICE: &str = if cfg!(windows) { "nul" } else { "/dev/null" };

/// A command running `python -I` with no `PIP_*` variable but `PIP_CONFIG_FILE` set to the
/// null device (see the module docs).
pub fn python(python: &Path) -> Command {
    let mut command = Command::new(python);
    command.arg("-I");
    remove_prefixed(&mut command, &["PIP_"]);
    command.env("PIP_CONFIG_FILE", NULL_DEVICE);
    command
}

/// A command running `uv` with no `UV_*`, `PIP_*` or `PYTHON*` variable, no configuration
/// file and no Python downloads (see the module docs).
pub fn uv(uv: &Path) -> Command {
    let mut command = Command::new(uv);
    remove_prefixed(&mut command, &["UV_", "PIP_", "PYTHON"]);
    command
        .env("UV_NO_CONFIG", "1")
        .env("UV_PYTHON_DOWNLOADS", "never");
    command
}

/// Removes from `command`'s environment every variable whose name starts with one of
/// `prefixes` (ignoring ASCII case, as Windows does).
fn remove_prefixed(command: &mut Command, prefixes: &[&str]) {
    let matches = |key: &OsString| {
        key.to_str().is_some_and(|key| {
            prefixes.iter().any(|prefix| {
                key.get(..prefix.len())
                    .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
            })
        })
    };
    for (key, _) in std::env::vars_os().filter(|(key, _)| matches(key)) {
        command.env_remove(key);
    }
}
