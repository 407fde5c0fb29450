use std::process::Command;

use pep508_rs::MarkerEnvironmentBuilder;

use super::*;

fn env(python_full_version: &str, sys_platform: &str) -> MarkerEnvironment {
    let python_version: String = python_full_version
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: python_full_version,
        os_name: if sys_platform == "win32" {
            "nt"
        } else {
            "posix"
        },
        platform_machine: "x86_64",
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: if sys_platform == "win32" {
            "Windows"
        } else {
            "Linux"
        },
        platform_version: "",
        python_full_version,
        python_version: &python_version,
        sys_platform,
    })
    .unwrap()
}

fn extras(names: &[&str]) -> Vec<ExtraName> {
    names
        .iter()
        .map(|n| ExtraName::from_str(n).unwrap())
        .collect()
}

/// Markers and extras where release-only semantics and pip disagree, or that exercise the
/// grammar; each is judged by pip's own `packaging` below.
const CASES: &[(&str, &[&str])] = &[
    ("python_full_version <= \"3.11.0a6\"", &[]),
    (
        "python_full_version <= \"3.11.0a6\" and extra == \"toml\"",
        &["toml"],
    ),
    ("python_full_version < \"3.11.0a7\"", &[]),
    ("python_full_version >= \"3.11.0b1\"", &[]),
    (
        "python_version < \"3.11\" or extra == 'toml-extra'",
        &["toml-extra"],
    ),
    ("python_version == \"3.*\"", &[]),
    (
        "python_version != \"3.11.*\" and sys_platform == 'linux'",
        &[],
    ),
    (
        "(sys_platform == 'win32' or sys_platform == 'linux') and python_version >= '3.10'",
        &[],
    ),
    (
        "'linux' in sys_platform and platform_machine not in 'aarch64 arm64'",
        &[],
    ),
    (
        "implementation_name == \"cpython\" and python_full_version > \"3.11.0rc1\"",
        &[],
    ),
    ("extra == \"docs\"", &["test"]),
    ("python_full_version ~= \"3.10.0\"", &[]),
    ("os.name == 'posix'", &[]),
];

#[test]
fn agrees_with_pips_packaging() {
    let Some(python) = crate::guard::python::find(None).ok() else {
        assert!(
            std::env::var_os("PINGUARD_SKIP_PIP_TESTS").is_some(),
            "python3 is needed to compare with packaging (set PINGUARD_SKIP_PIP_TESTS=1 to skip)"
        );
        return;
    };
    for (full, platform) in [
        ("3.11.0", "linux"),
        ("3.10.12", "linux"),
        ("3.13.1", "win32"),
        ("3.12.0", "darwin"),
    ] {
        let environment = env(full, platform);
        let cases: Vec<(&str, Vec<&str>)> = CASES.iter().map(|(m, e)| (*m, e.to_vec())).collect();
        let script = format!(
            "import json, sys\n\
             from pip._vendor.packaging.markers import Marker\n\
             env = {{'python_full_version': {full:?}, 'python_version': {py:?}, 'implementation_version': {full:?},\n\
              'sys_platform': {platform:?}, 'os_name': {os:?}, 'platform_system': {system:?}, 'platform_machine': 'x86_64',\n\
              'implementation_name': 'cpython', 'platform_python_implementation': 'CPython', 'platform_release': '', 'platform_version': ''}}\n\
             cases = json.loads(sys.argv[1])\n\
             print(json.dumps([any(Marker(m).evaluate(dict(env, extra=e)) for e in extras + ['']) for m, extras in cases]))",
            py = full.rsplit_once('.').unwrap().0,
            os = if platform == "win32" { "nt" } else { "posix" },
            system = if platform == "win32" {
                "Windows"
            } else {
                "Linux"
            },
        );
        let output = Command::new(&python)
            .args(["-I", "-c", &script, &serde_json::to_string(&cases).unwrap()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pip: Vec<bool> = serde_json::from_slice(&output.stdout).unwrap();
        for ((marker, extra_names), pip) in CASES.iter().zip(pip) {
            let ours = evaluate(marker, &environment, &extras(extra_names)).unwrap();
            assert_eq!(
                ours, pip,
                "{marker} with extras {extra_names:?} on {full} {platform}"
            );
        }
    }
}

#[test]
fn dependencies_use_full_semantics_only_where_they_differ() {
    let tomli =
        Dependency::from_str("tomli; python_full_version <= \"3.11.0a6\" and extra == \"toml\"")
            .unwrap();
    let on_3_11 = env("3.11.0", "linux");
    let on_3_10 = env("3.10.12", "linux");
    // pep508_rs alone says true on 3.11.0 (release-only semantics); pip says false.
    assert!(
        tomli
            .requirement
            .evaluate_markers(&on_3_11, &extras(&["toml"]))
    );
    assert!(!tomli.applies(&on_3_11, &extras(&["toml"])));
    assert!(tomli.applies(&on_3_10, &extras(&["toml"])));
    assert!(!tomli.applies(&on_3_10, &[]));
    assert_eq!(
        tomli.marker_text(),
        Some("python_full_version <= \"3.11.0a6\" and extra == \"toml\"")
    );
    assert_eq!(
        tomli.to_string(),
        "tomli; python_full_version <= \"3.11.0a6\" and extra == \"toml\""
    );

    let plain = Dependency::from_str("legacy-cgi>=2.6; python_version >= \"3.13\"").unwrap();
    assert!(!needs_full_version_semantics(plain.marker_text().unwrap()));
    assert!(plain.applies(&env("3.13.1", "linux"), &[]));
    assert!(!plain.applies(&on_3_11, &[]));
}

#[test]
fn extra_names_are_normalised_as_pep_685_says() {
    // Older packaging (pip < 24.1 vendors 21.3) compared extras verbatim; PEP 685 and current
    // pip normalise both sides.
    let e = env("3.11.0", "linux");
    assert!(evaluate("extra == 'Toml_Extra'", &e, &extras(&["toml-extra"])).unwrap());
    assert!(!evaluate("extra == 'Toml_Extra'", &e, &extras(&["other"])).unwrap());
}

#[test]
fn malformed_markers_are_errors() {
    let e = env("3.11.0", "linux");
    for marker in [
        "python_version <",
        "(python_version < '3'",
        "python_version ?? '3'",
        "'unterminated",
    ] {
        assert!(evaluate(marker, &e, &[]).is_err(), "{marker}");
    }
}
