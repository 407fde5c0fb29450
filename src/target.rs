//! Target environments: the Python environments a lock is evaluated against.
//!
//! A [`Target`] owns what decides which files of a locked package install and which
//! dependencies apply: the wheel tags it accepts, best first ([`Tags`]), and its PEP 508 marker
//! environment. `pinguard install`/`fetch` use [`Target::wheel_rank`] to pick the one best
//! file per package; `pinguard check` evaluates markers for several targets at once.
//!
//! There are two ways to get one:
//!
//! - [`Target::from_spec`]: a CPython version and a wheel platform tag
//!   (`--python 3.12 --platform manylinux_2_28_x86_64`). The tags are those of
//!   `packaging.tags.sys_tags()` for such an interpreter on such a machine (see
//!   [`tags`](Tags) for the order and [`Platform`] for how a platform tag expands, which follows
//!   `packaging` for a machine of that kind rather than pip's exact matching of
//!   `--platform manylinux_*`). The markers are the values such an interpreter reports.
//!   Without a platform, the target is on this machine's platform ([`Target::host_platform`]),
//!   as pip's and uv's `--python-version` without `--platform` are.
//! - [`Target::probe`]: asking a real interpreter, once, for the tags its pip ranks wheels by
//!   and its PEP 508 marker environment.
//!
//! Specifications followed: the platform compatibility tags spec (PEP 425, with PEP 600 and
//! PEP 656 for manylinux and musllinux), dependency specifiers (PEP 508 environment markers),
//! PEP 440 for versions and `Requires-Python`, and PEP 751 for the `environments` marker.

mod platform;
mod probe;
mod tags;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use pep440_rs::{Version, VersionSpecifier, VersionSpecifiers};
use pep508_rs::{
    MarkerEnvironment, MarkerEnvironmentBuilder, MarkerExpression, MarkerOperator, MarkerTree,
    MarkerValueString, MarkerValueVersion,
};

use crate::filename::WheelFilename;

pub use platform::Platform;
pub use tags::{Tag, Tags};

/// Why a target could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// `--python` is not `X.Y` or `X.Y.Z`.
    #[error("`--python {given}` is not a Python version; use one such as 3.12 or 3.12.4")]
    PythonVersion {
        /// What was given.
        given: String,
    },
    /// A Python version pinguard does not build targets for (Python 2, 3.6 and older).
    #[error(
        "`--python {given}`: pinguard builds targets for CPython 3.7 and newer; use one such \
         as 3.12"
    )]
    PythonUnsupported {
        /// What was given.
        given: String,
    },
    /// Not a platform tag of any known family.
    #[error(
        "`--platform {given}` is not a wheel platform tag; use one such as \
         manylinux_2_28_x86_64, macosx_11_0_arm64 or win_amd64"
    )]
    PlatformTag {
        /// What was given.
        given: String,
    },
    /// A platform tag of a known family but for an architecture it does not have.
    #[error("`--platform {given}`: {family} wheels are not built for `{arch}`; use one of {known}")]
    PlatformArch {
        /// What was given.
        given: String,
        /// `manylinux`, `manylinux2014`, `musllinux`, `macosx`, `linux`.
        family: &'static str,
        /// The architecture given.
        arch: String,
        /// The architectures there are.
        known: String,
    },
    /// A platform older than the first of its kind on that architecture.
    #[error(
        "`--platform {given}` predates every wheel for its architecture; use {oldest} or newer"
    )]
    PlatformTooOld {
        /// What was given.
        given: String,
        /// The oldest such platform.
        oldest: String,
    },
    /// No platform was given and this machine's could not be told.
    #[error(
        "cannot tell this machine's wheel platform; name one with --platform, such as \
         manylinux_2_28_x86_64, macosx_11_0_arm64 or win_amd64"
    )]
    UnknownHost,
    /// The interpreter does not exist.
    #[error(
        "Python interpreter `{}` does not exist; give the path of one, such as .venv/bin/python",
        path.display()
    )]
    InterpreterMissing {
        /// The interpreter asked for.
        path: PathBuf,
    },
    /// The interpreter could not be started.
    #[error(
        "cannot run `{}`; give the path of an executable Python interpreter",
        path.display()
    )]
    InterpreterNotRunnable {
        /// The interpreter asked for.
        path: PathBuf,
        /// Why it could not be started.
        source: std::io::Error,
    },
    /// It ran but did not answer as Python would.
    #[error(
        "`{}` is not a Python interpreter pinguard can ask ({detail}); give the path of one, \
         such as .venv/bin/python",
        path.display()
    )]
    NotPython {
        /// The interpreter asked for.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A Python older than 3.7.
    #[error("`{}` is Python {version}; pinguard needs Python 3.7 or newer", path.display())]
    PythonTooOld {
        /// The interpreter asked for.
        path: PathBuf,
        /// Its version.
        version: String,
    },
    /// Neither pip nor packaging is importable there, so its tags cannot be known.
    #[error(
        "`{path}` (Python {version}) has neither pip nor packaging to tell which wheels it \
         installs; install pip into that environment (`{path} -m ensurepip`)",
        path = path.display()
    )]
    NoPackaging {
        /// The interpreter asked for.
        path: PathBuf,
        /// Its version.
        version: String,
    },
    /// It did not answer in time.
    #[error(
        "`{path}` did not answer within {seconds} s; check that it starts (`{path} -c pass`)",
        path = path.display()
    )]
    ProbeTimeout {
        /// The interpreter asked for.
        path: PathBuf,
        /// How long pinguard waited.
        seconds: u64,
    },
}

/// A Python environment to evaluate a lock against: its wheel tags and marker environment.
#[derive(Debug, Clone)]
pub struct Target {
    label: String,
    python: Version,
    markers: MarkerEnvironment,
    tags: Tags,
    platform: Option<Platform>,
    interpreter: Option<PathBuf>,
    environment: Option<Environment>,
    scheme: Option<Scheme>,
}

/// Where a probed interpreter installs the parts of a wheel (`sysconfig.get_paths()`): the
/// directories the binary distribution format maps a wheel's root and its `.data`
/// subdirectories to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Scheme {
    /// Pure-Python modules (a wheel's root when `Root-Is-Purelib: true`; `.data/purelib`).
    pub purelib: PathBuf,
    /// Platform-specific modules (a wheel's root otherwise; `.data/platlib`).
    pub platlib: PathBuf,
    /// Scripts (`.data/scripts`, entry points).
    pub scripts: PathBuf,
    /// Data files (`.data/data`): the environment's prefix.
    pub data: PathBuf,
}

/// The environment a probed interpreter installs into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    /// A virtual environment (PEP 405: `sys.prefix` is not `sys.base_prefix`).
    Virtual {
        /// `sys.prefix`, the environment's directory.
        prefix: PathBuf,
    },
    /// The interpreter's own installation, whose packages may be the operating system's.
    System {
        /// `sys.prefix` (`/usr`, `/usr/local`).
        prefix: PathBuf,
    },
}

impl Target {
    /// A CPython target from a spec: a version (`3.12` or `3.12.4`; the micro version is 0
    /// when not given) and a wheel platform tag (`manylinux_2_28_x86_64`, `macosx_11_0_arm64`,
    /// `win_amd64`, …; see [`Platform`]).
    ///
    /// Without a platform the target is on this machine's ([`Target::host_platform`]), as
    /// pip's and uv's `--python-version` are without `--platform`. A target has to have a
    /// platform: `sys_platform` and `platform_machine` markers must evaluate to something,
    /// and any made-up value would make them silently wrong.
    ///
    /// The markers are those such an interpreter reports: `python_version` `X.Y`,
    /// `python_full_version` and `implementation_version` `X.Y.Z`, `implementation_name`
    /// `cpython`, `platform_python_implementation` `CPython`, the OS and machine values of
    /// the platform, and empty `platform_release` and `platform_version` (they name a kernel
    /// build, which a spec does not have).
    pub fn from_spec(python: &str, platform: Option<&str>) -> Result<Self, TargetError> {
        let (major, minor, micro) = parse_python(python)?;
        let (platform, on_host) = match platform {
            Some(tag) => (tag.parse::<Platform>()?, false),
            None => (Self::host_platform()?, true),
        };
        let python_version = Version::new([major, minor, micro.unwrap_or(0)]);
        let full = python_version.to_string();
        let short = format!("{major}.{minor}");
        let markers = MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: &full,
            os_name: platform.os_name(),
            platform_machine: platform.platform_machine(),
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: platform.platform_system(),
            platform_version: "",
            python_full_version: &full,
            python_version: &short,
            sys_platform: platform.sys_platform(),
        })
        .map_err(|_| TargetError::PythonVersion {
            given: python.to_owned(),
        })?;
        let spelled = match micro {
            Some(micro) => format!("{short}.{micro}"),
            None => short,
        };
        let label = format!(
            "CPython {spelled} on {platform}{}",
            if on_host { " (this machine)" } else { "" }
        );
        Ok(Self {
            label,
            python: python_version,
            markers,
            tags: tags::cpython(major, minor, &platform.compatible()),
            platform: Some(platform),
            interpreter: None,
            environment: None,
            scheme: None,
        })
    }

    /// A target by asking the interpreter `python` (a path, or a name on `PATH`): it runs
    /// once, isolated (`-I`), and reports
    ///
    /// - its tags: pip's `compatibility_tags.get_supported()`, the list `pip install` ranks
    ///   wheels by, else `sys_tags()` of pip's vendored `packaging`, else of a standalone
    ///   `packaging`. There is no other fallback (the tags depend on how the interpreter was
    ///   built), so an environment with neither pip nor packaging is refused with a note to
    ///   install pip;
    /// - its marker environment, built from `sys`, `platform` and `os` as PEP 508 defines it
    ///   (and as `packaging`'s `default_environment()` does);
    /// - its full version and `sys.executable` ([`Target::interpreter`]);
    /// - whether it runs in a virtual environment ([`Target::environment`]).
    ///
    /// Python 3.7 and newer; errors name the interpreter and say what to do.
    pub fn probe(python: &Path) -> Result<Self, TargetError> {
        Self::probe_with(python, false, None)
    }

    /// [`Target::probe`], with the answers of virtual environments remembered in pinguard's
    /// cache directory `cache_root` (none: asked every time). An environment made again from
    /// the same interpreter, as tox and CI make theirs, is then not asked again; what is
    /// remembered is used only where the environment still matches it, and never decides
    /// which program runs or where the check after an install looks (`probe::remember`).
    pub fn probe_remembering(
        python: &Path,
        cache_root: Option<&Path>,
    ) -> Result<Self, TargetError> {
        let remembered = cache_root.map(probe::Remembered::new);
        Self::probe_with(python, false, remembered.as_ref())
    }

    fn probe_with(
        python: &Path,
        packaging_markers: bool,
        remembered: Option<&probe::Remembered>,
    ) -> Result<Self, TargetError> {
        let probed = probe::probe(python, packaging_markers, remembered)?;
        let python_version =
            Version::from_str(&probed.version).map_err(|e| TargetError::NotPython {
                path: python.to_owned(),
                detail: format!("its version `{}` is not PEP 440: {e}", probed.version),
            })?;
        let tags = Tags::new(probed.tags.iter().filter_map(|tag| Tag::parse(tag)));
        let label = format!(
            "{} ({} {})",
            python.display(),
            probed.markers.platform_python_implementation(),
            probed.version
        );
        Ok(Self {
            label,
            python: python_version,
            markers: probed.markers,
            tags,
            platform: None,
            interpreter: probed.executable,
            environment: Some(probed.environment),
            scheme: probed.scheme,
        })
    }

    /// The platform of the machine pinguard runs on, for [`Target::from_spec`] without one.
    ///
    /// On glibc, read from the C library pinguard runs on (`manylinux_<glibc>_<arch>`, what
    /// packaging gives a native Python). Elsewhere asked once
    /// per process of `python3` on `PATH`: the first platform of its
    /// `sys_tags()` that names a kind of machine (`manylinux_2_36_x86_64`,
    /// `musllinux_1_2_aarch64`, `macosx_14_0_arm64`), else the same derived from its glibc
    /// version (`os.confstr`), `platform.mac_ver()` and `sysconfig.get_platform()` when it
    /// has neither pip nor packaging. Without a usable `python3` (and always on Windows,
    /// where the tag is fixed), the platform pinguard was built for, conservatively:
    /// `manylinux_2_17_<arch>`, `musllinux_1_1_<arch>`, `macosx_11_0_arm64`,
    /// `macosx_10_13_x86_64`, `win_amd64`/`win32`/`win_arm64`. A conservative platform
    /// refuses wheels that need a newer system rather than accept ones that would not load.
    pub fn host_platform() -> Result<Platform, TargetError> {
        Self::host_platform_cell()
            .clone()
            .ok_or(TargetError::UnknownHost)
    }

    /// Starts finding [`Self::host_platform`] on a thread of its own, for a caller that needs
    /// it only after other work: off glibc the probe runs a Python interpreter (about 0.2 s),
    /// which `lock` would otherwise wait for after the index has answered.
    pub fn find_host_platform_in_the_background() {
        std::thread::spawn(|| {
            Self::host_platform_cell();
        });
    }

    fn host_platform_cell() -> &'static Option<Platform> {
        static HOST: OnceLock<Option<Platform>> = OnceLock::new();
        HOST.get_or_init(|| {
            if cfg!(windows) {
                return Platform::built_for();
            }
            Platform::native()
                .or_else(|| probe::host_platform(Path::new("python3")))
                .or_else(Platform::built_for)
        })
    }

    /// How messages name the target: `CPython 3.12 on manylinux_2_28_x86_64` for a spec,
    /// `.venv/bin/python (CPython 3.11.7)` for an interpreter.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The PEP 508 marker environment.
    pub fn markers(&self) -> &MarkerEnvironment {
        &self.markers
    }

    /// The full Python version: `3.12.0` for a spec `3.12`, `3.11.7` for an interpreter.
    pub fn python_version(&self) -> &Version {
        &self.python
    }

    /// The wheel tags it installs, best first.
    pub fn tags(&self) -> &Tags {
        &self.tags
    }

    /// The platform a spec named (or this machine's); `None` for a probed interpreter, whose
    /// tags say it all.
    pub fn platform(&self) -> Option<&Platform> {
        self.platform.as_ref()
    }

    /// What a probed target's interpreter installs into; `None` for a spec.
    pub fn environment(&self) -> Option<&Environment> {
        self.environment.as_ref()
    }

    /// The interpreter's own path (`sys.executable`) for a probed target.
    pub fn interpreter(&self) -> Option<&Path> {
        self.interpreter.as_deref()
    }

    /// Where a probed target installs a wheel's parts; `None` for a spec.
    pub fn scheme(&self) -> Option<&Scheme> {
        self.scheme.as_ref()
    }

    /// Whether `wheel` installs here, and how well: the best (lowest) rank among the wheel's
    /// tags (`py2.py3-none-any` is two), as pip's `Wheel.support_index_min`; `None` when
    /// none of them is supported.
    pub fn wheel_rank(&self, wheel: &WheelFilename) -> Option<usize> {
        wheel
            .tags()
            .filter_map(|(python, abi, platform)| self.tags.rank(python, abi, platform))
            .min()
    }

    /// Whether `requires_python` admits this target, compared as pip does: with the release
    /// numbers only (`3.13.0` for `3.13.0rc1`), so that a pre-release interpreter counts as
    /// the release it precedes.
    pub fn admits_python(&self, requires_python: &VersionSpecifiers) -> bool {
        requires_python.contains(&self.python.only_release())
    }

    /// The PEP 751 `environments` marker for this target, e.g.
    /// `python_full_version == '3.12.*' and implementation_name == 'cpython' and
    /// sys_platform == 'linux' and platform_machine == 'x86_64'`.
    ///
    /// The Python minor version (the tags are the same for every micro release), the
    /// implementation (the tags are CPython's), the OS and the machine. Markers cannot tell
    /// glibc from musl nor one glibc or macOS version from another; the tags do.
    pub fn environment_marker(&self) -> MarkerTree {
        let release = self.python.release();
        let minor = Version::new(release.iter().take(2).copied());
        let mut marker = MarkerTree::expression(MarkerExpression::Version {
            key: MarkerValueVersion::PythonFullVersion,
            specifier: VersionSpecifier::equals_star_version(minor),
        });
        for (key, value) in [
            (
                MarkerValueString::ImplementationName,
                self.markers.implementation_name(),
            ),
            (MarkerValueString::SysPlatform, self.markers.sys_platform()),
            (
                MarkerValueString::PlatformMachine,
                self.markers.platform_machine(),
            ),
        ] {
            marker.and(MarkerTree::expression(MarkerExpression::String {
                key,
                operator: MarkerOperator::Equal,
                value: value.to_owned(),
            }));
        }
        marker
    }
}

/// `X.Y` or `X.Y.Z` (digits only) → numbers; CPython 3.7 and newer.
fn parse_python(given: &str) -> Result<(u64, u64, Option<u64>), TargetError> {
    let invalid = || TargetError::PythonVersion {
        given: given.to_owned(),
    };
    let numbers: Vec<u64> = given
        .trim()
        .split('.')
        .map(|part| {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        })
        .collect::<Option<_>>()
        .ok_or_else(invalid)?;
    let (major, minor, micro) = match numbers.as_slice() {
        [major, minor] => (*major, *minor, None),
        [major, minor, micro] => (*major, *minor, Some(*micro)),
        _ => return Err(invalid()),
    };
    if major != 3 || minor < 7 {
        return Err(TargetError::PythonUnsupported {
            given: given.to_owned(),
        });
    }
    Ok((major, minor, micro))
}

#[cfg(test)]
mod tests;
