//! Targets from specs checked against the rules and against real pip; probes checked against
//! the interpreters on this machine. Tests that need `python3` fail without it unless
//! `PINGUARD_SKIP_PIP_TESTS=1` is set; other interpreters (pyenv versions) are used when
//! present. Nothing here touches the network.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use pep440_rs::VersionSpecifiers;
use pep508_rs::{MarkerEnvironment, MarkerTree};

use super::*;

fn spec(python: &str, platform: &str) -> Target {
    Target::from_spec(python, Some(platform)).unwrap_or_else(|e| panic!("{e}"))
}

fn listed(target: &Target) -> Vec<String> {
    target.tags().iter().map(ToString::to_string).collect()
}

fn evaluate(marker: &str, env: &MarkerEnvironment) -> bool {
    MarkerTree::from_str(marker)
        .unwrap_or_else(|e| panic!("{marker}: {e}"))
        .evaluate(env, &[])
}

fn wheel(name: &str) -> WheelFilename {
    WheelFilename::parse(name).unwrap_or_else(|| panic!("{name}"))
}

/// `python3` on `PATH`; `None` (with a note) only when `PINGUARD_SKIP_PIP_TESTS=1`.
fn python3() -> Option<PathBuf> {
    if std::env::var_os("PINGUARD_SKIP_PIP_TESTS").is_some_and(|v| v == "1") {
        eprintln!("note: skipping: PINGUARD_SKIP_PIP_TESTS=1, real Python is not checked");
        return None;
    }
    let runs = Command::new("python3")
        .args(["-c", "pass"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        runs,
        "python3 is needed: targets are checked against real pip and packaging \
         (set PINGUARD_SKIP_PIP_TESTS=1 to skip these tests)"
    );
    Some(PathBuf::from("python3"))
}

/// Every pyenv CPython 3.x install (`$PYENV_ROOT` or `~/.pyenv`), oldest first.
fn pyenv_pythons() -> Vec<(Vec<u64>, PathBuf)> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
    let Some(Ok(entries)) = root.map(|root| std::fs::read_dir(root.join("versions"))) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u64>, PathBuf)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let version: Vec<u64> = name
                .split('.')
                .map(|n| n.parse().ok())
                .collect::<Option<_>>()?;
            let python = entry.path().join("bin").join("python3");
            (version.first() == Some(&3) && python.exists()).then_some((version, python))
        })
        .collect();
    found.sort();
    found
}

/// `pip debug --verbose` run by `python` with `args`: the compatible tags it lists, in order.
fn pip_debug_tags(python: &Path, args: &[&str]) -> Vec<String> {
    let mut command = crate::isolated::python(python);
    command
        .args(["-m", "pip", "debug", "--verbose"])
        .args(args)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    let output = command.output().expect("run pip debug");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{command:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .skip_while(|line| !line.starts_with("Compatible tags:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .map(|line| line.trim().to_owned())
        .collect()
}

/// Asserts that two tag lists are equal, showing where they first differ instead of both.
#[track_caller]
fn assert_same_tags(ours: &[String], theirs: &[String], context: &str) {
    if ours == theirs {
        return;
    }
    let at = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let around = |tags: &[String]| tags[at.saturating_sub(2)..(at + 3).min(tags.len())].to_vec();
    panic!(
        "{context}: {} tags here, {} there; first difference at {at}:\n  here:  {:?}\n  there: {:?}",
        ours.len(),
        theirs.len(),
        around(ours),
        around(theirs)
    );
}

// ---- specs ---------------------------------------------------------------------------------

#[test]
fn tag_order_for_cpython_312_on_manylinux_2_28() {
    let target = spec("3.12", "manylinux_2_28_x86_64");
    let tags = listed(&target);
    assert_eq!(
        tags[..10],
        [
            "cp312-cp312-manylinux_2_28_x86_64",
            "cp312-cp312-manylinux_2_27_x86_64",
            "cp312-cp312-manylinux_2_26_x86_64",
            "cp312-cp312-manylinux_2_25_x86_64",
            "cp312-cp312-manylinux_2_24_x86_64",
            "cp312-cp312-manylinux_2_23_x86_64",
            "cp312-cp312-manylinux_2_22_x86_64",
            "cp312-cp312-manylinux_2_21_x86_64",
            "cp312-cp312-manylinux_2_20_x86_64",
            "cp312-cp312-manylinux_2_19_x86_64",
        ]
    );
    // 27 platforms (2.28 … 2.5 and three legacy aliases); packaging's blocks in order:
    // cp312 ABI, abi3, none (3 × 27), cp311…cp32 abi3 (10 × 27), py312, py3, py311…py30
    // (14 × 27), then cp312-none-any and the 14 py*-none-any.
    let platforms = 27;
    let rank = |tag: &str| tags.iter().position(|t| t == tag);
    assert_eq!(rank("cp312-cp312-manylinux2014_x86_64"), Some(12));
    assert_eq!(
        rank("cp312-abi3-manylinux_2_17_x86_64"),
        Some(platforms + 11)
    );
    assert_eq!(
        rank("cp311-abi3-manylinux_2_28_x86_64"),
        Some(3 * platforms)
    );
    assert_eq!(
        rank("cp32-abi3-manylinux1_x86_64"),
        Some(13 * platforms - 1)
    );
    assert_eq!(
        rank("py312-none-manylinux_2_28_x86_64"),
        Some(13 * platforms)
    );
    assert_eq!(rank("cp312-none-any"), Some(27 * platforms));
    assert_eq!(rank("py312-none-any"), Some(27 * platforms + 1));
    assert_eq!(rank("py3-none-any"), Some(27 * platforms + 2));
    assert_eq!(rank("py30-none-any"), Some(27 * platforms + 14));
    assert_eq!(tags.len(), 27 * platforms + 15);
    for absent in [
        "cp311-cp311-manylinux_2_28_x86_64",
        "cp312-cp312-manylinux_2_29_x86_64",
        "cp312-cp312-linux_x86_64",
        "cp313-abi3-manylinux_2_28_x86_64",
        "py313-none-any",
        "cp311-none-any",
    ] {
        assert_eq!(rank(absent), None, "{absent}");
    }
    // The ranks the lookup gives are the positions.
    assert_eq!(
        target.tags().rank("cp312", "abi3", "manylinux_2_17_x86_64"),
        Some(platforms + 11)
    );
}

/// Runs `script` with `python -I -c … args` and reads the JSON it prints.
fn python_json<T: serde::de::DeserializeOwned>(python: &Path, script: &str, args: &[&str]) -> T {
    let output = Command::new(python)
        .args(["-I", "-c", script])
        .args(args)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "{}: {}",
        python.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// For each case `[version, platforms, pip_platform]` (JSON in `sys.argv[1]`): packaging's
/// `cpython_tags` then `compatible_tags` (with the `cpXY` interpreter, as pip passes it) for
/// those platforms, from pip's vendored copy; and, when `pip_platform` is set, what pip's
/// `get_supported` (behind `pip install --platform` and `pip debug`) gives for it.
const REFERENCE_TAGS: &str = r#"
import json, sys
from pip._vendor.packaging import tags
from pip._internal.utils.compatibility_tags import get_supported
out = []
for version, platforms, pip_platform in json.loads(sys.argv[1]):
    v = tuple(int(n) for n in version.split("."))
    found = list(tags.cpython_tags(v, platforms=platforms))
    found += tags.compatible_tags(v, "cp%d%d" % v, platforms)
    entry = {"packaging": [str(t) for t in found]}
    if pip_platform:
        supported = get_supported(version="%d%d" % v, platforms=[pip_platform], impl="cp")
        entry["pip"] = [str(t) for t in supported]
    out.append(entry)
print(json.dumps(out))
"#;

/// packaging's `_manylinux.platform_tags` for an x86_64/aarch64 system with glibc `X.Y`
/// (`sys.argv[1]`), whichever of its two signatures this packaging has.
const PACKAGING_MANYLINUX: &str = r#"
import inspect, json, sys
from pip._vendor.packaging import _manylinux as m
major, minor = (int(n) for n in sys.argv[1].split("."))
arch = sys.argv[2]
m._get_glibc_version = lambda: m._GLibCVersion(major, minor)
if len(inspect.signature(m.platform_tags).parameters) == 2:
    found = m.platform_tags("linux_" + arch, arch)
else:
    found = m.platform_tags([arch])
print(json.dumps(list(found)))
"#;

/// The interpreters whose pip the specs are checked against: `python3` and, when pyenv has
/// one, the newest (whose pip vendors a newer packaging).
fn reference_pythons() -> Vec<PathBuf> {
    let Some(python3) = python3() else {
        return Vec::new();
    };
    let mut pythons = vec![python3];
    if let Some((_, newest)) = pyenv_pythons().pop() {
        pythons.push(newest);
    }
    pythons
}

/// The tag order is packaging's for the same platforms, and the macOS, Windows and `linux_*`
/// expansions are exactly what pip computes for `--platform`. (pip matches `manylinux_*` and
/// `musllinux_*` exactly, and expands a legacy `manylinux2014` to the older legacy names right
/// after it, so those are checked against packaging's functions only.)
#[test]
fn specs_match_pip_and_packaging() {
    // (python, platform, whether pip's own --platform expansion is the same as pinguard's)
    let cases = [
        ("3.12", "manylinux_2_28_x86_64", false),
        ("3.11", "manylinux2014_aarch64", false),
        ("3.7", "manylinux1_x86_64", false),
        ("3.10", "musllinux_1_2_x86_64", false),
        ("3.12", "macosx_11_0_arm64", true),
        ("3.9", "macosx_10_9_x86_64", true),
        ("3.13", "macosx_14_0_x86_64", true),
        ("3.12", "win_amd64", true),
        ("3.8", "win32", true),
        ("3.12", "linux_x86_64", true),
    ];
    let targets: Vec<Target> = cases
        .iter()
        .map(|(version, platform, _)| spec(version, platform))
        .collect();
    let request = serde_json::to_string(
        &cases
            .iter()
            .zip(&targets)
            .map(|((version, platform, pip_expands), target)| {
                let platforms = target.platform().unwrap().compatible();
                (version, platforms, pip_expands.then_some(platform))
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let pythons = reference_pythons();
    std::thread::scope(|scope| {
        for python in &pythons {
            let (request, cases, targets) = (&request, &cases, &targets);
            scope.spawn(move || {
                let answers: Vec<HashMap<String, Vec<String>>> =
                    python_json(python, REFERENCE_TAGS, &[request]);
                for (((version, platform, _), target), answer) in
                    cases.iter().zip(targets).zip(answers)
                {
                    let context = format!("{} for {version} on {platform}", python.display());
                    for (reference, tags) in answer {
                        assert_same_tags(
                            &listed(target),
                            &tags,
                            &format!("{reference}, {context}"),
                        );
                    }
                }
            });
        }
    });
}

#[test]
fn manylinux_expansion_matches_packaging() {
    let cases = [
        ("2.28", "x86_64", "manylinux_2_28_x86_64"),
        ("2.17", "x86_64", "manylinux2014_x86_64"),
        ("2.36", "aarch64", "manylinux_2_36_aarch64"),
        ("2.17", "aarch64", "manylinux_2_17_aarch64"),
        ("2.5", "x86_64", "manylinux1_x86_64"),
        ("3.2", "x86_64", "manylinux_3_2_x86_64"),
    ];
    for python in reference_pythons() {
        for (glibc, arch, tag) in cases {
            let ours = tag.parse::<Platform>().unwrap().compatible();
            let theirs: Vec<String> = python_json(&python, PACKAGING_MANYLINUX, &[glibc, arch]);
            assert_same_tags(
                &ours,
                &theirs,
                &format!("{} for glibc {glibc} on {arch}", python.display()),
            );
        }
    }
}

#[test]
fn python_versions() {
    let target = spec("3.12", "win_amd64");
    assert_eq!(target.python_version().to_string(), "3.12.0");
    assert_eq!(target.label(), "CPython 3.12 on win_amd64");
    let target = spec("3.12.4", "manylinux_2_28_x86_64");
    assert_eq!(target.python_version().to_string(), "3.12.4");
    assert_eq!(target.label(), "CPython 3.12.4 on manylinux_2_28_x86_64");
    let cases = [
        (
            "3",
            "`--python 3` is not a Python version; use one such as 3.12 or 3.12.4",
        ),
        (
            "3.12.4.1",
            "`--python 3.12.4.1` is not a Python version; use one such as 3.12 or 3.12.4",
        ),
        (
            "3.13t",
            "`--python 3.13t` is not a Python version; use one such as 3.12 or 3.12.4",
        ),
        (
            "cp312",
            "`--python cp312` is not a Python version; use one such as 3.12 or 3.12.4",
        ),
        (
            "2.7",
            "`--python 2.7`: pinguard builds targets for CPython 3.7 and newer; use one such \
             as 3.12",
        ),
        (
            "3.6",
            "`--python 3.6`: pinguard builds targets for CPython 3.7 and newer; use one such \
             as 3.12",
        ),
    ];
    for (given, message) in cases {
        let error = Target::from_spec(given, Some("win_amd64")).unwrap_err();
        assert_eq!(error.to_string(), message, "{given}");
    }
    // A bad platform is reported as such, with the examples.
    let error = Target::from_spec("3.12", Some("linux")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "`--platform linux` is not a wheel platform tag; use one such as \
         manylinux_2_28_x86_64, macosx_11_0_arm64 or win_amd64"
    );
}

#[test]
fn marker_environments_of_specs() {
    let linux = spec("3.12", "manylinux_2_17_aarch64");
    let mac = spec("3.11.4", "macosx_11_0_arm64");
    let windows = spec("3.9", "win_amd64");
    let env = linux.markers();
    assert_eq!(env.python_version().to_string(), "3.12");
    assert_eq!(env.python_full_version().to_string(), "3.12.0");
    assert_eq!(env.implementation_version().to_string(), "3.12.0");
    assert_eq!(env.implementation_name(), "cpython");
    assert_eq!(env.platform_python_implementation(), "CPython");
    assert_eq!((env.platform_release(), env.platform_version()), ("", ""));
    assert_eq!(mac.markers().python_full_version().to_string(), "3.11.4");

    // (marker, on linux aarch64, on mac arm64, on windows amd64)
    let cases = [
        (r#"sys_platform == "win32""#, false, false, true),
        (r#"sys_platform == "linux""#, true, false, false),
        (r#"sys_platform == "darwin""#, false, true, false),
        (r#"sys_platform != "win32""#, true, true, false),
        (r#"os_name == "nt""#, false, false, true),
        (r#"platform_system == "Darwin""#, false, true, false),
        (r#"platform_machine == "aarch64""#, true, false, false),
        (r#"platform_machine == "arm64""#, false, true, false),
        (r#"platform_machine == "AMD64""#, false, false, true),
        (r#"python_version >= "3.10""#, true, true, false),
        (r#"python_version < "3.12""#, false, true, true),
        (r#"python_full_version >= "3.11.3""#, true, true, false),
        (r#"implementation_name == "cpython""#, true, true, true),
        (
            r#"platform_python_implementation == "PyPy""#,
            false,
            false,
            false,
        ),
        (
            r#"sys_platform == "linux" and platform_machine != "x86_64""#,
            true,
            false,
            false,
        ),
    ];
    for (marker, on_linux, on_mac, on_windows) in cases {
        assert_eq!(
            (
                evaluate(marker, linux.markers()),
                evaluate(marker, mac.markers()),
                evaluate(marker, windows.markers())
            ),
            (on_linux, on_mac, on_windows),
            "{marker}"
        );
    }
}

#[test]
fn wheel_ranks_with_openstack_wheels() {
    let linux = spec("3.12", "manylinux_2_28_x86_64");
    let old_linux = spec("3.12", "manylinux2014_x86_64");
    let arm = spec("3.12", "manylinux_2_28_aarch64");
    let windows = spec("3.12", "win_amd64");
    let rank = |target: &Target, name: &str| target.wheel_rank(&wheel(name));

    let numpy_2_28 = "numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl";
    let numpy_2014 = "numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    let numpy_311 = "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl";
    let numpy_win = "numpy-2.4.6-cp312-cp312-win_amd64.whl";
    let crypto_abi3 = "cryptography-43.0.3-cp39-abi3-manylinux_2_28_x86_64.whl";
    let crypto_abi3_arm = "cryptography-43.0.3-cp39-abi3-manylinux_2_28_aarch64.whl";
    let crypto_2014 =
        "cryptography-43.0.3-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    let six = "six-1.17.0-py2.py3-none-any.whl";
    let pbr = "pbr-6.1.1-py2.py3-none-any.whl";

    // The best of a wheel's tags counts: manylinux_2_28 beats _2_27 in the same file.
    assert_eq!(rank(&linux, numpy_2_28), Some(0));
    assert_eq!(rank(&linux, numpy_2014), Some(11));
    assert_eq!(rank(&old_linux, numpy_2014), Some(0));
    // A 2.28 wheel needs a newer glibc than manylinux2014 guarantees.
    assert_eq!(rank(&old_linux, numpy_2_28), None);
    assert_eq!(rank(&linux, numpy_311), None);
    assert_eq!(rank(&linux, numpy_win), None);
    assert_eq!(rank(&windows, numpy_win), Some(0));
    assert_eq!(rank(&arm, crypto_abi3), None);
    // 13 aarch64 platforms (2.28 … 2.17 and manylinux2014); cp312 ABI, abi3, none, then
    // cp311 and cp310 abi3 come first.
    assert_eq!(rank(&arm, crypto_abi3_arm), Some(5 * 13));
    // The ABI-specific wheel beats abi3, abi3 beats pure Python; ties break on platform.
    let ranked: Vec<Option<usize>> = [numpy_2_28, crypto_abi3, crypto_2014, six]
        .iter()
        .map(|name| rank(&linux, name))
        .collect();
    assert!(
        ranked.windows(2).all(|w| w[0].unwrap() < w[1].unwrap()),
        "{ranked:?}"
    );
    // `py2.py3` is two tags; `py3-none-any` is the one that matches, everywhere.
    for target in [&linux, &arm, &windows] {
        assert_eq!(
            rank(target, six),
            target.tags().rank("py3", "none", "any"),
            "{}",
            target.label()
        );
        assert_eq!(rank(target, six), rank(target, pbr));
    }
}

#[test]
fn environment_marker_round_trip() {
    let target = spec("3.12", "manylinux_2_28_x86_64");
    let marker = target.environment_marker();
    assert_eq!(
        marker.try_to_string().unwrap(),
        "python_full_version == '3.12.*' and implementation_name == 'cpython' and \
         platform_machine == 'x86_64' and sys_platform == 'linux'"
    );
    assert!(marker.evaluate(target.markers(), &[]));
    // A micro release of the same minor is the same environment; another minor is not, nor
    // another machine or OS.
    for (other, same) in [
        (spec("3.12.7", "manylinux_2_17_x86_64"), true),
        (spec("3.12", "musllinux_1_2_x86_64"), true),
        (spec("3.11", "manylinux_2_28_x86_64"), false),
        (spec("3.13", "manylinux_2_28_x86_64"), false),
        (spec("3.12", "manylinux_2_28_aarch64"), false),
        (spec("3.12", "win_amd64"), false),
        (spec("3.12", "macosx_11_0_arm64"), false),
    ] {
        assert_eq!(
            marker.evaluate(other.markers(), &[]),
            same,
            "{}",
            other.label()
        );
    }
    for target in [spec("3.9", "win32"), spec("3.13", "macosx_14_0_arm64")] {
        assert!(
            target.environment_marker().evaluate(target.markers(), &[]),
            "{}",
            target.label()
        );
    }
}

#[test]
fn admits_python() {
    let target = spec("3.12", "win_amd64");
    let specifiers = |s: &str| VersionSpecifiers::from_str(s).unwrap();
    let cases = [
        (">=3.9", true),
        (">=3.12", true),
        ("<3.12", false),
        (">=3.12.1", false),
        ("~=3.10", true),
        (">=3.8,!=3.12.0", false),
        ("", true),
    ];
    for (requires_python, admitted) in cases {
        assert_eq!(
            target.admits_python(&specifiers(requires_python)),
            admitted,
            "{requires_python}"
        );
    }
}

#[test]
fn no_platform_means_this_machine() {
    let target = Target::from_spec("3.12", None).unwrap();
    let host = Target::host_platform().unwrap();
    assert_eq!(target.platform(), Some(&host));
    assert_eq!(
        target.label(),
        format!("CPython 3.12 on {host} (this machine)")
    );
    // With python3 here, the host platform is the one its packaging gives first.
    let Some(python3) = python3() else { return };
    let probed = Target::probe(&python3).unwrap();
    let first_machine_platform = probed
        .tags()
        .iter()
        .map(|tag| tag.platform.as_str())
        .find(|p| *p != "any" && !p.starts_with("linux_"))
        .unwrap();
    assert_eq!(host.as_str(), first_machine_platform);
    assert_eq!(
        target.markers().platform_machine(),
        probed.markers().platform_machine()
    );
    assert_eq!(
        target.markers().sys_platform(),
        probed.markers().sys_platform()
    );
}

// ---- probes --------------------------------------------------------------------------------

/// The markers an interpreter reports, from the stdlib calls PEP 508 names.
fn own_markers(python: &Path) -> serde_json::Value {
    let script = "import json, os, platform, sys\n\
        print(json.dumps({'os_name': os.name, 'sys_platform': sys.platform,\n\
        'platform_machine': platform.machine(), 'platform_system': platform.system(),\n\
        'platform_release': platform.release(), 'python_full_version': platform.python_version(),\n\
        'implementation_name': sys.implementation.name}))";
    let output = Command::new(python)
        .args(["-I", "-c", script])
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The first `sys_tags()` of pip's vendored packaging in `python`.
const SYS_TAGS_HEAD: &str = r#"
import itertools, json
from pip._vendor.packaging import tags
print(json.dumps([str(t) for t in itertools.islice(tags.sys_tags(), 20)]))
"#;

/// Probes `python` and checks the answer against what the interpreter says otherwise: every
/// tag against `pip debug` when `thorough` (slow: it loads all of pip), else the first tags
/// against packaging's `sys_tags()`; the markers against the stdlib calls PEP 508 names.
fn check_probe(python: &Path, thorough: bool) {
    let target = Target::probe(python).unwrap_or_else(|e| panic!("{e}"));
    let name = python.display();
    let probed = listed(&target);
    if thorough {
        assert_same_tags(&probed, &pip_debug_tags(python, &[]), &name.to_string());
    } else {
        let head: Vec<String> = python_json(python, SYS_TAGS_HEAD, &[]);
        assert_same_tags(&probed[..head.len()], &head, &name.to_string());
    }
    // The markers are the interpreter's own.
    let own = own_markers(python);
    let env = target.markers();
    for (key, value) in [
        ("os_name", env.os_name()),
        ("sys_platform", env.sys_platform()),
        ("platform_machine", env.platform_machine()),
        ("platform_system", env.platform_system()),
        ("platform_release", env.platform_release()),
        ("implementation_name", env.implementation_name()),
    ] {
        assert_eq!(own[key], value, "{name}: {key}");
    }
    assert_eq!(
        own["python_full_version"],
        env.python_full_version().to_string(),
        "{name}"
    );
    assert_eq!(
        target.python_version().to_string(),
        env.python_full_version().to_string(),
        "{name}"
    );
    assert!(
        target.label().starts_with(&format!("{name} (CPython 3.")),
        "{}",
        target.label()
    );
    assert!(
        target.interpreter().is_some_and(Path::is_absolute),
        "{name}"
    );
    // Its environment marker admits itself, and its best wheel tag ranks first.
    assert!(target.environment_marker().evaluate(env, &[]), "{name}");
    let best = target.tags().iter().next().unwrap();
    let best_wheel = wheel(&format!(
        "demo-1.0-{}-{}-{}.whl",
        best.python, best.abi, best.platform
    ));
    assert_eq!(target.wheel_rank(&best_wheel), Some(0));
    // packaging's `default_environment()` gives the same environment as the probe's own.
    let packaging = Target::probe_with(python, true, None).unwrap();
    assert_eq!(packaging.markers(), env, "{name}");
}

#[test]
fn probe_python3() {
    let Some(python3) = python3() else { return };
    check_probe(&python3, true);
}

#[test]
fn probe_every_pyenv_python() {
    if python3().is_none() {
        return;
    }
    let pythons = pyenv_pythons();
    if pythons.is_empty() {
        eprintln!("note: skipping: no pyenv Pythons here");
    }
    std::thread::scope(|scope| {
        for (version, python) in &pythons {
            scope.spawn(move || check_pyenv_python(version, python));
        }
    });
}

fn check_pyenv_python(version: &[u64], python: &Path) {
    if version[..] >= [3, 7][..] {
        check_probe(python, false);
    } else {
        let error = Target::probe(python).unwrap_err();
        let dotted = version.iter().map(u64::to_string).collect::<Vec<_>>();
        assert_eq!(
            error.to_string(),
            format!(
                "`{}` is Python {}; pinguard needs Python 3.7 or newer",
                python.display(),
                dotted.join(".")
            )
        );
    }
}

#[test]
fn probe_refuses_python_2() {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
    let Some(python2) = root
        .map(|root| root.join("versions/2.7.18/bin/python"))
        .filter(|p| p.exists())
    else {
        eprintln!("note: skipping: no Python 2.7 here");
        return;
    };
    let error = Target::probe(&python2).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` is Python 2 or 3.3 or older; pinguard needs Python 3.7 or newer",
            python2.display()
        )
    );
}

#[test]
fn probe_errors_name_the_interpreter_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("bin/python");
    assert_eq!(
        Target::probe(&missing).unwrap_err().to_string(),
        format!(
            "Python interpreter `{}` does not exist; give the path of one, such as \
             .venv/bin/python",
            missing.display()
        )
    );
    assert!(matches!(
        Target::probe(Path::new("no-such-python-pinguard")),
        Err(TargetError::InterpreterMissing { .. })
    ));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let not_executable = dir.path().join("python");
        fs_err::write(&not_executable, "").unwrap();
        let error = Target::probe(&not_executable).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot run `{}`; give the path of an executable Python interpreter",
                not_executable.display()
            )
        );
        assert!(std::error::Error::source(&error).is_some());

        let shell = dir.path().join("not-python");
        fs_err::write(&shell, "#!/bin/sh\necho 'not today' >&2\nexit 3\n").unwrap();
        fs_err::set_permissions(&shell, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            Target::probe(&shell).unwrap_err().to_string(),
            format!(
                "`{}` is not a Python interpreter pinguard can ask (it exited with status 3, \
                 saying: not today); give the path of one, such as .venv/bin/python",
                shell.display()
            )
        );
        let silent = dir.path().join("true");
        fs_err::write(&silent, "#!/bin/sh\nexit 0\n").unwrap();
        fs_err::set_permissions(&silent, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            Target::probe(&silent).unwrap_err().to_string(),
            format!(
                "`{}` is not a Python interpreter pinguard can ask (it printed no answer); give \
                 the path of one, such as .venv/bin/python",
                silent.display()
            )
        );
        // A script whose interpreter is gone exists, but cannot run.
        let orphan = dir.path().join("orphan");
        fs_err::write(&orphan, "#!/no/such/python\n").unwrap();
        fs_err::set_permissions(&orphan, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            Target::probe(&orphan),
            Err(TargetError::InterpreterNotRunnable { .. })
        ));
    }
}

#[test]
fn probe_without_pip_asks_for_pip() {
    let Some(python3) = python3() else { return };
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let status = Command::new(&python3)
        .args(["-I", "-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(status.success());
    let python = venv.join("bin").join("python");
    let error = Target::probe(&python).unwrap_err();
    let message = error.to_string();
    let version = match &error {
        TargetError::NoPackaging { version, .. } => version.clone(),
        other => panic!("{other}"),
    };
    assert_eq!(
        message,
        format!(
            "`{p}` (Python {version}) has neither pip nor packaging to tell which wheels it \
             installs; install pip into that environment (`{p} -m ensurepip`)",
            p = python.display()
        )
    );
    // Without pip, the machine's platform still comes from the stdlib (glibc, macOS version,
    // architecture); on glibc it is the very tag packaging gives through python3.
    let from_stdlib = probe::host_platform(&python).expect("a platform from the stdlib");
    let host = Target::host_platform().unwrap();
    if host.as_str().starts_with("manylinux_") {
        assert_eq!(from_stdlib, host);
    }
}

#[test]
fn the_native_platform_is_the_one_python_reports() {
    let Some(python) = python3() else {
        return;
    };
    let from_python = probe::host_platform(&python).expect("python3 tells its platform");
    let native = Platform::native();
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert_eq!(native, Some(from_python), "glibc always tells its version");
    } else {
        assert_eq!(native, None);
    }
}
