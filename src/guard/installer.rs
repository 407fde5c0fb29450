//! The installer that puts verified files into the target environment: the target's own pip
//! (`python -I -m pip --isolated`), or uv (`uv pip install --python TARGET`). Either runs
//! with no index, no dependencies, digests required, the verified wheelhouse as the only
//! source (an sdist's build requirements included), and none of the user's configuration
//! ([`crate::isolated`]).

use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use super::python::{self, PythonError};

/// Which installer `--installer` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum InstallerKind {
    /// The target environment's pip.
    #[default]
    Pip,
    /// uv, which must be installed: `--uv`, else `uv` on PATH.
    Uv,
}

/// uv could not be found.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what}: install uv (https://docs.astral.sh/uv/getting-started/installation/), give its \
     path with --uv or PINGUARD_UV, or install with --installer pip"
)]
pub struct UvNotFound {
    /// What was looked for, and where.
    what: String,
}

/// The installer to run, found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installer {
    /// The target environment's pip.
    Pip,
    /// The uv at this path.
    Uv(PathBuf),
}

/// How an installer is to be quiet and what else it is given.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions<'a> {
    /// `--quiet` for the installer.
    pub quiet: bool,
    /// Arguments after `--`, for the installer.
    pub extra: &'a [String],
    /// uv's cache, for wheels only and only followed by [`super::installed::check`]: uv
    /// trusts its cache, pinguard does not. `None`: uv's `--no-cache`. pip always runs with
    /// `--no-cache-dir`.
    pub uv_cache: Option<&'a Path>,
}

impl Installer {
    /// The installer `kind` names; uv at `uv` (`--uv`), else `uv` on `PATH`.
    pub fn find(kind: InstallerKind, uv: Option<&Path>) -> Result<Self, UvNotFound> {
        match (kind, uv) {
            (InstallerKind::Pip, _) => Ok(Self::Pip),
            (InstallerKind::Uv, Some(path)) if path.is_file() => Ok(Self::Uv(path.to_owned())),
            (InstallerKind::Uv, Some(path)) => Err(UvNotFound {
                what: format!("no uv at {}", path.display()),
            }),
            (InstallerKind::Uv, None) => python::on_path("uv").map(Self::Uv).ok_or(UvNotFound {
                what: "no `uv` on PATH".to_owned(),
            }),
        }
    }

    /// Its name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pip => "pip",
            Self::Uv(_) => "uv",
        }
    }

    /// Installs exactly what `requirements` (a file of `name @ file:// --hash=` lines) names
    /// into `python`'s environment, with digests required and `wheelhouse` as the only source.
    pub fn install_locked(
        &self,
        python: &Path,
        wheelhouse: &Path,
        requirements: &Path,
        options: RunOptions<'_>,
    ) -> Result<ExitStatus, PythonError> {
        let mut args = self.install_args(python, wheelhouse, options.quiet, options.uv_cache);
        args.push("--require-hashes".into());
        args.push("-r".into());
        args.push(requirements.display().to_string());
        args.extend(options.extra.iter().cloned());
        self.run(python, "install", &args)
    }

    /// Installs the source tree `dir` (editable or not) with no build isolation, so that it
    /// builds with the verified files already installed and nothing else.
    pub fn install_local(
        &self,
        python: &Path,
        wheelhouse: &Path,
        dir: &Path,
        editable: bool,
        quiet: bool,
    ) -> Result<ExitStatus, PythonError> {
        let mut args = self.install_args(python, wheelhouse, quiet, None);
        args.push("--no-build-isolation".into());
        if editable {
            args.push("--editable".into());
        }
        args.push(dir.display().to_string());
        self.run(python, "install", &args)
    }

    /// Uninstalls `names` from `python`'s environment.
    pub fn uninstall(&self, python: &Path, names: &[String]) -> Result<ExitStatus, PythonError> {
        let mut args = Vec::new();
        if *self == Self::Pip {
            args.push("--yes".to_owned());
        }
        args.extend(names.iter().cloned());
        self.run(python, "uninstall", &args)
    }

    /// The arguments of `install` into `python`'s environment with no index, no dependencies,
    /// no cache but `uv_cache` (uv only), and the verified wheelhouse as the only place to
    /// find anything (an sdist's build requirements included).
    fn install_args(
        &self,
        python: &Path,
        wheelhouse: &Path,
        quiet: bool,
        uv_cache: Option<&Path>,
    ) -> Vec<String> {
        let mut args: Vec<String> = ["--no-index", "--no-deps"]
            .iter()
            .map(|arg| (*arg).to_owned())
            .collect();
        match (self, uv_cache) {
            // Wheels built from the sdists would be cached under the wheelhouse's random
            // path, never to be used again.
            (Self::Pip, _) => args.extend([
                "--no-cache-dir".into(),
                "--disable-pip-version-check".into(),
            ]),
            // `--no-cache`: uv works in a temporary cache of its own, removed after the run,
            // so it reads nothing a run before it cached (unverified by pinguard) and keeps
            // no wheel it built.
            (Self::Uv(_), None) => args.extend([
                "--no-cache".into(),
                "--link-mode".into(),
                uv_link_mode(python, &std::env::temp_dir()).into(),
            ]),
            // uv reuses the trees it unpacked from these wheels before, and links them into
            // the environment.
            (Self::Uv(_), Some(cache)) => args.extend([
                "--cache-dir".into(),
                cache.display().to_string(),
                "--link-mode".into(),
                uv_link_mode(python, cache).into(),
            ]),
        }
        if matches!(self, Self::Uv(_)) {
            args.push("--offline".into());
        }
        if quiet {
            args.push("--quiet".into());
        }
        args.push("--find-links".into());
        args.push(wheelhouse.display().to_string());
        args
    }

    /// Runs the installer's `SUBCOMMAND ARGS` on `python`'s environment, its output going to
    /// pinguard's stderr (stdout is for data).
    fn run(
        &self,
        python: &Path,
        subcommand: &str,
        args: &[String],
    ) -> Result<ExitStatus, PythonError> {
        let _step = crate::steps::step(match self {
            Self::Pip => "run pip",
            Self::Uv(_) => "run uv",
        });
        match self {
            Self::Pip => {
                let args: Vec<String> = std::iter::once(subcommand.to_owned())
                    .chain(args.iter().cloned())
                    .collect();
                python::pip(python, &args)
            }
            Self::Uv(uv) => crate::isolated::uv(uv)
                .args(["pip", subcommand, "--python"])
                .arg(python)
                .args(args)
                .stdout(std::io::stderr())
                .status()
                .map_err(|source| PythonError::Run {
                    path: uv.clone(),
                    source,
                }),
        }
    }
}

/// How uv is to put the files it unpacked into its `cache` into `python`'s environment:
/// `hardlink` when the two are on one file system, else `copy` (uv would warn, then copy).
///
/// With `--no-cache` (uv's temporary cache, in the temporary directory) a hard link is as
/// safe as a copy: nobody else writes that directory and uv removes it when it is done, so
/// the environment's files are then their only names; linking writes every unpacked byte once
/// instead of twice (a third of uv's run for oslo.config's 49 packages). With pinguard's
/// persistent uv cache, environments share their files with the cache, as uv's own default
/// does on Linux: a file edited in one environment is edited in the cache, and the check
/// after the next install from it finds that ([`super::installed`]). Copying instead made a
/// warm install of those 49 packages 1.1–1.9 s instead of 0.23–0.49 s.
fn uv_link_mode(python: &Path, cache: &Path) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let device = |path: &Path| fs_err::metadata(path).map(|m| m.dev()).ok();
        let environment = python.parent().and_then(device);
        if environment.is_some() && environment == device(cache) {
            return "hardlink";
        }
    }
    #[cfg(not(unix))]
    let _ = (python, cache);
    "copy"
}
