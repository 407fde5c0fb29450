//! Authoritative metadata of an sdist: PEP 517's `prepare_metadata_for_build_wheel` hook, run
//! by the target interpreter in an isolated build environment (`check --build-sdists`).
//!
//! The sdist is unpacked into a temporary directory (entries that would land outside it are
//! refused), a virtual environment is made with the interpreter, the `[build-system]
//! requires` of `pyproject.toml` are installed into it by its pip (default: setuptools, as
//! pip does for projects without the table), then what the backend's
//! `get_requires_for_build_wheel` asks for, and the backend's hook writes the `.dist-info`; a
//! backend without the hook builds a wheel and its `METADATA` is read. Build
//! requirements come from whatever index pip is configured with: this is for checking
//! dependencies, not for installing.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::filename::SdistExtension;

/// Why the hook could not give metadata.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The sdist could not be unpacked.
    #[error("cannot unpack {file}: {reason}")]
    Unpack {
        /// The sdist.
        file: String,
        /// Why.
        reason: String,
    },
    /// A step failed; its output is included.
    #[error("{step} failed:\n{output}")]
    Step {
        /// What was being done.
        step: String,
        /// What it printed.
        output: String,
    },
    /// An I/O failure.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Runs the hook for the sdist `file` (its `bytes`) with `python`; returns the `METADATA` text.
pub fn prepare_metadata(python: &Path, file: &str, bytes: &[u8]) -> Result<String, BuildError> {
    let work = tempfile::Builder::new()
        .prefix("pinguard-build-")
        .tempdir()?;
    let source = unpack(file, bytes, &work.path().join("src"))?;
    let (requires, backend, backend_path) = build_system(&source);

    let env = work.path().join("env");
    run(
        Command::new(python).args(["-I", "-m", "venv"]).arg(&env),
        "creating the build environment",
    )?;
    let env_python = env.join("bin").join("python");
    // `--upgrade`: the venv comes with a setuptools of its own, which an isolated build
    // environment (pip's) would not have; the newest that satisfies the requirement is what
    // such an environment gets.
    let install = |requirements: &[String], step: &str| -> Result<(), BuildError> {
        if requirements.is_empty() {
            return Ok(());
        }
        run(
            Command::new(&env_python)
                .args([
                    "-I",
                    "-m",
                    "pip",
                    "install",
                    "--upgrade",
                    "--disable-pip-version-check",
                    "--quiet",
                ])
                .args(requirements),
            &format!("{step} ({})", requirements.join(", ")),
        )
        .map(drop)
    };
    install(&requires, "installing the build requirements")?;
    let out = work.path().join("out");
    fs_err::create_dir_all(&out)?;
    // Backends print their logs on stdout, so answers come back through a file.
    let result = work.path().join("result");
    let hook = |mode: &str| -> Result<String, BuildError> {
        run(
            Command::new(&env_python)
                .args(["-I", "-c", HOOK, mode])
                .arg(&source)
                .arg(&out)
                .arg(&backend)
                .arg(serde_json::to_string(&backend_path).unwrap_or_else(|_| "[]".into()))
                .arg(&result)
                .current_dir(&source),
            &format!("the build backend `{backend}`"),
        )?;
        Ok(fs_err::read_to_string(&result)?)
    };
    // PEP 517: the backend may need more to build a wheel than to be imported.
    let more: Vec<String> = serde_json::from_str(&hook("requires")?).unwrap_or_default();
    install(&more, "installing what the backend asked for")?;
    hook("metadata")
}

/// `requires`: writes the JSON list `get_requires_for_build_wheel` gives. `metadata`: calls
/// `prepare_metadata_for_build_wheel`, or builds a wheel when the backend has no such hook, and
/// writes its METADATA. The answer goes to the file named last.
const HOOK: &str = r#"
import importlib, json, os, sys, zipfile
mode, src, out, backend, backend_path, result = sys.argv[1:7]
sys.path[:0] = [os.path.join(src, p) for p in json.loads(backend_path)]
module, _, attr = backend.partition(":")
hooks = importlib.import_module(module)
for part in filter(None, attr.split(".")):
    hooks = getattr(hooks, part)
if mode == "requires":
    text = json.dumps(list(getattr(hooks, "get_requires_for_build_wheel", lambda: [])()))
elif hasattr(hooks, "prepare_metadata_for_build_wheel"):
    name = hooks.prepare_metadata_for_build_wheel(out)
    with open(os.path.join(out, name, "METADATA"), encoding="utf-8", errors="replace") as f:
        text = f.read()
else:
    wheel = hooks.build_wheel(out)
    with zipfile.ZipFile(os.path.join(out, wheel)) as z:
        member = next(n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        text = z.read(member).decode("utf-8", "replace")
with open(result, "w", encoding="utf-8") as f:
    f.write(text)
"#;

/// Lines of a failed step's output kept in the error.
const LOG_LINES: usize = 3;

fn run(command: &mut Command, step: &str) -> Result<String, BuildError> {
    let output = command.output()?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    // The end of a build log says what went wrong; the rest is noise in a finding.
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(LOG_LINES)..].join("\n");
    Err(BuildError::Step {
        step: step.to_owned(),
        output: tail,
    })
}

/// Unpacks the sdist into `dest`; returns its top-level directory.
fn unpack(file: &str, bytes: &[u8], dest: &Path) -> Result<PathBuf, BuildError> {
    let error = |reason: String| BuildError::Unpack {
        file: file.to_owned(),
        reason,
    };
    fs_err::create_dir_all(dest)?;
    let Some((_, extension)) = SdistExtension::split(file) else {
        return Err(error("not an sdist file name".into()));
    };
    match crate::metadata::archive::tar_stream(bytes, extension) {
        // `unpack` refuses entries that would land outside `dest`.
        Some(reader) => tar::Archive::new(reader)
            .unpack(dest)
            .map_err(|e| error(e.to_string()))?,
        None => zip::ZipArchive::new(Cursor::new(bytes))
            .and_then(|mut archive| archive.extract(dest))
            .map_err(|e| error(e.to_string()))?,
    }
    let mut entries = fs_err::read_dir(dest)?.collect::<Result<Vec<_>, _>>()?;
    match entries.as_slice() {
        [only] if only.path().is_dir() => Ok(entries.remove(0).path()),
        _ => Ok(dest.to_owned()),
    }
}

/// `[build-system]` of the project's pyproject.toml: requires, backend, backend-path. Without
/// the file or the table, PEP 517's fallback: setuptools' legacy backend.
fn build_system(source: &Path) -> (Vec<String>, String, Vec<String>) {
    let fallback = (
        vec!["setuptools>=40.8.0".to_owned()],
        "setuptools.build_meta:__legacy__".to_owned(),
        Vec::new(),
    );
    let Ok(text) = fs_err::read_to_string(source.join("pyproject.toml")) else {
        return fallback;
    };
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return fallback;
    };
    let Some(table) = doc.get("build-system").and_then(|t| t.as_table_like()) else {
        return fallback;
    };
    let strings = |key: &str| -> Option<Vec<String>> {
        Some(
            table
                .get(key)?
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        )
    };
    let requires = strings("requires").unwrap_or_else(|| fallback.0.clone());
    let backend = table
        .get("build-backend")
        .and_then(|v| v.as_str())
        .map_or(fallback.1.clone(), str::to_owned);
    let backend_path = strings("backend-path").unwrap_or_default();
    (requires, backend, backend_path)
}
