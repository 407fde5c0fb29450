//! Asking a Python interpreter what it is: its marker environment and wheel tags (for
//! [`Target::probe`](super::Target::probe)), or the platform of the machine it runs on (for
//! [`Target::host_platform`](super::Target::host_platform)).
//!
//! The interpreter runs once, isolated (`-I`: `PYTHONPATH`, `PYTHONHOME` and the user site are
//! ignored, the working directory is not on `sys.path`; no pip configuration, see
//! [`crate::isolated`]), with a short script that prints one
//! JSON line after [`SENTINEL`] so that whatever a `sitecustomize` prints cannot be mistaken
//! for the answer. The script runs on any Python 3 so that an old one is reported as too old
//! rather than as a syntax error; Python 2 refuses `-I` and is reported from that.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use pep508_rs::MarkerEnvironment;
use serde::{Deserialize, Serialize};

mod remember;

pub(crate) use remember::{Key, Remembered};

use super::platform::Platform;
use super::{Environment, Scheme, TargetError};

/// How long an interpreter may take to answer. It normally takes well under a second; the
/// margin is for a cold start on a loaded CI machine.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Starts the line that holds the answer.
const SENTINEL: &str = "PINGUARD-PROBE:";

/// The probe script. Modes (`sys.argv[1]`): `probe` (markers and tags), `host` (the machine's
/// platform). `--packaging-markers` takes the markers from `packaging` (tests compare the two).
///
/// Markers are built from `sys`, `platform` and `os` as PEP 508 defines them, which is what
/// `packaging`'s `default_environment()` returns: importing that module (with the pyparsing
/// that pip 23's vendored `packaging` still loads) took 100–165 ms of a 0.2 s probe. Tags
/// come from pip's own `compatibility_tags.get_supported()` (the list `pip install` ranks
/// wheels by), else `sys_tags()` of pip's vendored `packaging`, else of `packaging`; or not at
/// all: they depend on the build (ABI flags, glibc or musl, `_manylinux` overrides) in ways
/// only `packaging` knows. (`sys_tags()` of older packaging, such as the 21.3 that pip 23.2
/// vendors, lacks the `cpXY-none-any` tag that pip adds; hence pip's list first.)
const SCRIPT: &str = r#"
import sys

def full_version(info):
    version = "%d.%d.%d" % (info[0], info[1], info[2])
    if info[3] != "final":
        version += info[3][0] + str(info[4])
    return version

def stdlib_markers():
    import os, platform
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": full_version(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }

def import_first(names):
    import importlib
    for name in names:
        try:
            return name, importlib.import_module(name)
        except Exception:
            pass
    return None, None

def supported_tags():
    # What `pip install` ranks wheels by; older packaging's sys_tags() lacks cpXY-none-any.
    _, pip = import_first(["pip._internal.utils.compatibility_tags"])
    if pip is not None:
        try:
            return [str(tag) for tag in pip.get_supported()]
        except Exception:
            pass
    _, tags = import_first(["pip._vendor.packaging.tags", "packaging.tags"])
    if tags is not None:
        try:
            return [str(tag) for tag in tags.sys_tags()]
        except Exception:
            pass
    return None

def probe(out):
    tags = supported_tags()
    if tags is None:
        out["error"] = "no-packaging"
        return
    out["tags"] = tags
    markers = None
    if "--packaging-markers" in sys.argv:
        _, module = import_first(["pip._vendor.packaging.markers", "packaging.markers"])
        if module is not None:
            try:
                markers = dict(module.default_environment())
            except Exception:
                pass
    if markers is None:
        markers = stdlib_markers()
    # A development build says "3.14.0a1+", which is not a PEP 440 version.
    markers["python_full_version"] = markers["python_full_version"].rstrip("+")
    out["markers"] = markers
    import sysconfig
    paths = sysconfig.get_paths()
    out["scheme"] = {key: paths.get(key) for key in ("purelib", "platlib", "scripts", "data")}

def host(out):
    import os, platform, sysconfig
    out["sys_platform"] = sys.platform
    out["build_platform"] = sysconfig.get_platform()
    out["machine"] = platform.machine()
    out["pointer_bits"] = 64 if sys.maxsize > 2 ** 32 else 32
    tags = supported_tags()
    if tags is not None:
        seen = []
        for tag in tags:
            platform_tag = tag.split("-")[2]
            if platform_tag not in seen:
                seen.append(platform_tag)
        out["platforms"] = seen
    if sys.platform.startswith("linux"):
        try:
            out["glibc"] = os.confstr("CS_GNU_LIBC_VERSION").split()[1]
        except Exception:
            pass
    if sys.platform == "darwin":
        out["mac_version"] = platform.mac_ver()[0]

def main():
    import json
    out = {"version": full_version(sys.version_info), "executable": sys.executable,
           "prefix": sys.prefix,
           # A virtual environment (PEP 405) has a prefix of its own; legacy virtualenv
           # says so with `real_prefix`.
           "base_prefix": getattr(sys, "real_prefix", getattr(sys, "base_prefix", sys.prefix))}
    if sys.version_info < (3, 7):
        out["error"] = "too-old"
    elif sys.argv[1:2] == ["host"]:
        host(out)
    else:
        probe(out)
    sys.stdout.write("\nPINGUARD-PROBE:" + json.dumps(out) + "\n")

main()
"#;

/// What the probe script answers (and what [`remember`] keeps).
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    version: String,
    executable: Option<PathBuf>,
    prefix: Option<PathBuf>,
    base_prefix: Option<PathBuf>,
    error: Option<String>,
    tags: Option<Vec<String>>,
    markers: Option<serde_json::Value>,
    /// Read leniently: a scheme with a missing path only means no cached install.
    scheme: Option<serde_json::Value>,
    // Host mode.
    sys_platform: Option<String>,
    build_platform: Option<String>,
    machine: Option<String>,
    pointer_bits: Option<u32>,
    platforms: Option<Vec<String>>,
    glibc: Option<String>,
    mac_version: Option<String>,
}

/// What an interpreter said about itself.
#[derive(Debug)]
pub(crate) struct Probed {
    /// Its full version (`3.11.7`, `3.13.0c1`).
    pub version: String,
    /// `sys.executable`.
    pub executable: Option<PathBuf>,
    /// What it installs into.
    pub environment: Environment,
    /// Its PEP 508 marker environment.
    pub markers: MarkerEnvironment,
    /// The tags it installs, best first, as `python-abi-platform` strings.
    pub tags: Vec<String>,
    /// Where it installs each part of a wheel (`sysconfig.get_paths()`).
    pub scheme: Option<Scheme>,
}

/// Runs the probe on `python` (see the module docs).
///
/// With `remembered`, an answer remembered for the same environment is used instead of
/// starting the interpreter, and a new one is remembered (see [`remember`]).
pub(crate) fn probe(
    python: &Path,
    packaging_markers: bool,
    remembered: Option<&Remembered>,
) -> Result<Probed, TargetError> {
    let mut args = vec!["probe"];
    if packaging_markers {
        args.push("--packaging-markers");
    }
    let remembered = remembered
        .filter(|_| !packaging_markers)
        .and_then(|cache| Some((cache, Key::of(python, SCRIPT)?)));
    let answer = match remembered {
        Some((cache, key)) => match cache.recall(python, &key) {
            Some(answer) => answer,
            None => {
                let answer = ask(python, &args)?;
                cache.remember(python, &key, &answer);
                answer
            }
        },
        None => ask(python, &args)?,
    };
    let not_python = |detail: String| TargetError::NotPython {
        path: python.to_owned(),
        detail,
    };
    let (Some(tags), Some(markers)) = (answer.tags, answer.markers) else {
        return Err(not_python("its answer had no tags or markers".to_owned()));
    };
    let markers: MarkerEnvironment = serde_json::from_value(markers)
        .map_err(|e| not_python(format!("its marker environment is not PEP 508's: {e}")))?;
    let environment = match (answer.prefix, answer.base_prefix) {
        (Some(prefix), Some(base)) if prefix != base => Environment::Virtual { prefix },
        (prefix, _) => Environment::System {
            prefix: prefix.unwrap_or_default(),
        },
    };
    Ok(Probed {
        version: answer.version,
        executable: answer.executable,
        environment,
        markers,
        tags,
        scheme: answer
            .scheme
            .and_then(|scheme| serde_json::from_value(scheme).ok()),
    })
}

/// The platform of this machine as the interpreter `python` sees it; `None` when it cannot
/// be run or does not tell (the caller falls back to [`Platform::built_for`]).
///
/// The first platform of the interpreter's tags (as [`probe`] gets them) that names a kind
/// of machine (not `linux_*`, which names only this one) when pip or packaging is there;
/// else glibc from
/// `os.confstr`, the macOS version from `platform.mac_ver()` and the architecture from
/// `sysconfig.get_platform()`, as packaging derives them. A Linux Python without glibc and
/// without packaging is taken to be on musl 1.1, the oldest musllinux with wheels in use.
pub(crate) fn host_platform(python: &Path) -> Option<Platform> {
    let answer = ask(python, &["host"]).ok()?;
    if let Some(platforms) = &answer.platforms {
        let best = platforms
            .iter()
            .filter(|p| !p.starts_with("linux_") && *p != "any")
            .find_map(|p| p.parse::<Platform>().ok());
        if best.is_some() {
            return best;
        }
    }
    let sys_platform = answer.sys_platform.as_deref()?;
    let build = answer.build_platform.as_deref().unwrap_or_default();
    let tag = if sys_platform.starts_with("linux") {
        let mut arch = build.strip_prefix("linux-")?.replace(['-', '.'], "_");
        // A 32-bit interpreter on a 64-bit kernel, as packaging's `_linux_platforms` says.
        if answer.pointer_bits == Some(32) {
            arch = match arch.as_str() {
                "x86_64" => "i686".to_owned(),
                "aarch64" => "armv7l".to_owned(),
                _ => arch,
            };
        }
        match answer.glibc.as_deref().and_then(glibc_major_minor) {
            Some((major, minor)) => format!("manylinux_{major}_{minor}_{arch}"),
            None => format!("musllinux_1_1_{arch}"),
        }
    } else if sys_platform == "darwin" {
        let version = answer.mac_version.as_deref()?;
        let mut numbers = version.split('.').map(|n| n.parse::<u32>().ok());
        let major = numbers.next().flatten()?;
        let minor = numbers.next().flatten().unwrap_or(0);
        // Built against an old SDK, Python reports 11+ as 10.16; 11.0 is what it means.
        let (major, minor) = if (major, minor) == (10, 16) {
            (11, 0)
        } else {
            (major, minor)
        };
        format!("macosx_{major}_{minor}_{}", answer.machine.as_deref()?)
    } else if sys_platform == "win32" {
        build.replace(['-', '.'], "_")
    } else {
        return None;
    };
    tag.parse().ok()
}

/// `2.36` (or `2.36-2014.11`, as forks write it) → (2, 36).
pub(super) fn glibc_major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

/// Runs the script with `args` (its mode first) and reads its answer, turning every way it
/// can go wrong into an error that names the interpreter and says what to do.
fn ask(python: &Path, args: &[&str]) -> Result<Answer, TargetError> {
    let has_directory = python.components().count() > 1;
    if has_directory && !python.exists() {
        return Err(TargetError::InterpreterMissing {
            path: python.to_owned(),
        });
    }
    let mut command = crate::isolated::python(python);
    command.arg("-c").arg(SCRIPT).args(args);
    let output = match run(&mut command, TIMEOUT) {
        Ok(Some(output)) => output,
        Ok(None) => {
            return Err(TargetError::ProbeTimeout {
                path: python.to_owned(),
                seconds: TIMEOUT.as_secs(),
            });
        }
        // A file that exists but cannot start (a script whose `#!` interpreter is gone) is
        // not missing: the I/O error says more.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !python.exists() => {
            return Err(TargetError::InterpreterMissing {
                path: python.to_owned(),
            });
        }
        Err(source) => {
            return Err(TargetError::InterpreterNotRunnable {
                path: python.to_owned(),
                source,
            });
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(SENTINEL));
    let Some(line) = line.filter(|_| output.status.success()) else {
        // Python 2 and 3.3 and older do not know -I.
        if stderr.contains("Unknown option: -I") || stderr.contains("unknown option -I") {
            return Err(TargetError::PythonTooOld {
                path: python.to_owned(),
                version: "2 or 3.3 or older".to_owned(),
            });
        }
        let exited = match output.status.code() {
            Some(0) => "it printed no answer".to_owned(),
            Some(code) => format!("it exited with status {code}"),
            None => "it was killed by a signal".to_owned(),
        };
        let said = match stderr.lines().rev().find(|line| !line.trim().is_empty()) {
            Some(line) => format!("{exited}, saying: {}", line.trim()),
            None => exited,
        };
        return Err(TargetError::NotPython {
            path: python.to_owned(),
            detail: said,
        });
    };
    let answer: Answer = serde_json::from_str(line).map_err(|e| TargetError::NotPython {
        path: python.to_owned(),
        detail: format!("its answer is not the JSON pinguard asked for: {e}"),
    })?;
    match answer.error.as_deref() {
        None => Ok(answer),
        Some("too-old") => Err(TargetError::PythonTooOld {
            path: python.to_owned(),
            version: answer.version,
        }),
        Some("no-packaging") => Err(TargetError::NoPackaging {
            path: python.to_owned(),
            version: answer.version,
        }),
        Some(other) => Err(TargetError::NotPython {
            path: python.to_owned(),
            detail: format!("the probe failed: {other}"),
        }),
    }
}

/// A finished child's status and output.
struct Output {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs `command` with no input, collecting its output; `Ok(None)` when it is still running
/// after `timeout` (it is then killed).
fn run(command: &mut Command, timeout: Duration) -> std::io::Result<Option<Output>> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Both pipes are drained while the child runs, so that neither fills and blocks it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            // The readers end when the pipes close; a grandchild holding them open must not
            // hold pinguard, so they are left to finish on their own.
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(2));
    };
    Ok(Some(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions() {
        assert_eq!(glibc_major_minor("2.36"), Some((2, 36)));
        assert_eq!(glibc_major_minor("2.20-2014.11"), Some((2, 20)));
        assert_eq!(glibc_major_minor("2"), None);
    }

    #[test]
    fn a_hung_child_is_killed_at_the_deadline() {
        if !cfg!(unix) {
            return;
        }
        let started = Instant::now();
        // A loop of shell builtins: nothing else needs to be on PATH.
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "while :; do :; done"]);
        let output = run(&mut command, Duration::from_millis(200)).unwrap();
        assert!(output.is_none());
        // The loop never ends by itself: any bound shows the kill; a wide one leaves room
        // for a loaded machine.
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
