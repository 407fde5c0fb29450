//! Running a Python interpreter apart from pinguard's environment and from the user's pip
//! configuration.
//!
//! `python -I` ignores `PYTHON*` variables and the user site, but pip still reads its `PIP_*`
//! variables and its configuration files (`/etc/pip.conf`, the user's `pip.conf`, the
//! environment's own `<sys.prefix>/pip.conf`, the file `PIP_CONFIG_FILE` names), and so does
//! the pip that installs an sdist's build requirements in a subprocess. A `find-links` or an
//! index there would be a source of build requirements nobody verified. So every interpreter
//! pinguard runs starts with no `PIP_*` variable and with `PIP_CONFIG_FILE` set to the null
//! device, which makes pip skip every configuration file (pip's `Configuration.load`).

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
    for (key, _) in std::env::vars_os() {
        let is_pip = key
            .to_str()
            .and_then(|key| key.get(..4))
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("PIP_"));
        if is_pip {
            command.env_remove(key);
        }
    }
    command.env("PIP_CONFIG_FILE", NULL_DEVICE);
    command
}
