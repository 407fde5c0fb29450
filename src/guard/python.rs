//! The target interpreter: finding it, asking what it has installed, and running its pip.
//!
//! pinguard's own environment is kept apart from the target's: the interpreter runs with `-I`
//! (isolated: `PYTHONPATH`, `PYTHONHOME` and the user site are ignored), so the pip that runs
//! is the one installed in the target environment and installs into it, whatever
//! `VIRTUAL_ENV` or `PYTHONPATH` the shell running pinguard has. pip runs `--isolated`, with
//! no `PIP_*` variable and no configuration file ([`crate::isolated`]): the user's pip
//! settings (a `find-links`, an index) cannot add a source of build requirements.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::PackageName;

/// Why the interpreter could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// No interpreter by that name or path.
    #[error(
        "no Python interpreter `{0}`: give --python a path to one (such as .venv/bin/python) or a name on PATH"
    )]
    NotFound(String),
    /// It could not be run.
    #[error("cannot run {}: {source}", path.display())]
    Run {
        /// The interpreter.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It ran but failed.
    #[error("{} failed to {what}:\n{stderr}", path.display())]
    Failed {
        /// The interpreter.
        path: PathBuf,
        /// What it was asked.
        what: &'static str,
        /// What it said.
        stderr: String,
    },
}

/// Finds the interpreter `--python` names: a path, or a name on `PATH`. Without one: the
/// active virtual environment's (`$VIRTUAL_ENV`), else `python3` on `PATH`, as pip and uv do.
pub fn find(requested: Option<&str>) -> Result<PathBuf, PythonError> {
    let requested = match requested {
        Some(value) => value.to_owned(),
        None => match std::env::var_os("VIRTUAL_ENV") {
            Some(venv) => {
                let python = Path::new(&venv).join("bin").join("python");
                return if python.exists() {
                    Ok(python)
                } else {
                    Err(PythonError::NotFound(python.display().to_string()))
                };
            }
            None => "python3".to_owned(),
        },
    };
    let path = Path::new(&requested);
    if requested.contains(std::path::MAIN_SEPARATOR) || path.exists() {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(PythonError::NotFound(requested))
        };
    }
    on_path(&requested).ok_or(PythonError::NotFound(requested))
}

/// The first file called `name` in a directory of `PATH`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Distributions installed in the environment: normalized name → version. Names and versions
/// that do not parse (broken installs) are left out.
pub fn installed(python: &Path) -> Result<BTreeMap<PackageName, Version>, PythonError> {
    const SCRIPT: &str = "import importlib.metadata as m, json\n\
        print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions() if d.metadata['Name']]))";
    let output = crate::isolated::python(python)
        .args(["-c", SCRIPT])
        .output()
        .map_err(|source| PythonError::Run {
            path: python.to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(PythonError::Failed {
            path: python.to_owned(),
            what: "list its installed distributions",
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let pairs: Vec<(String, String)> =
        serde_json::from_slice(&output.stdout).map_err(|e| PythonError::Failed {
            path: python.to_owned(),
            what: "list its installed distributions",
            stderr: e.to_string(),
        })?;
    Ok(pairs
        .into_iter()
        .filter_map(|(name, version)| {
            Some((
                PackageName::from_str(&name).ok()?,
                Version::from_str(&version).ok()?,
            ))
        })
        .collect())
}

/// Runs `python -I -m pip --isolated ARGS` apart from the user's pip configuration (see the
/// module docs), its output going to pinguard's stderr (stdout is for data).
pub fn pip(python: &Path, args: &[String]) -> Result<ExitStatus, PythonError> {
    crate::isolated::python(python)
        .args(["-m", "pip", "--isolated"])
        .args(args)
        .stdout(std::io::stderr())
        .status()
        .map_err(|source| PythonError::Run {
            path: python.to_owned(),
            source,
        })
}
