//! The entry points pinguard reads untrusted bytes through, one function each: the fuzz targets
//! (`fuzz_targets/*.rs`, cargo-fuzz) and the property tests (`tests/fuzz_props.rs`, stable Rust,
//! in `cargo test`) both call these, so that they exercise exactly the same code.
//!
//! Each takes arbitrary bytes and must return: every input gives a value or an error (which
//! must also render), never a panic.

#![allow(dead_code)] // Each fuzz target uses one of these.

use std::io::Cursor;
use std::path::PathBuf;
use std::str::FromStr;

use pep508_rs::PackageName;
use pinguard::filename::{DistFilename, WheelFilename};
use pinguard::index::simple::{Page, PageFormat};
use pinguard::lock::pylock;
use pinguard::metadata::{self, CoreMetadata};
use pinguard::requirements::{self, Loader, SourceRef};

/// A requirements file: parsed as `lock` and as `install -r` read it; errors render.
pub fn requirements(data: &[u8]) {
    struct One<'a>(&'a [u8]);
    impl Loader for One<'_> {
        fn load(&self, source: &SourceRef) -> Result<Vec<u8>, String> {
            match source {
                SourceRef::Path(path) if path.as_os_str() == "fuzz.txt" => Ok(self.0.to_vec()),
                _ => Err("not found".into()),
            }
        }
    }
    let root = SourceRef::Path(PathBuf::from("fuzz.txt"));
    let env = |name: &str| (name == "FUZZ").then(|| "value".to_owned());
    if let Err(e) = requirements::parse(&root, &One(data), &env) {
        let _ = e.to_string();
    }
    if let Err(e) = requirements::parse_specs(&root, &One(data), &env) {
        let _ = e.to_string();
    }
}

/// A `pylock.toml`: read; errors render; a lock that reads is written and must read again.
pub fn lock(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // The command layer refuses non-UTF-8 before parsing.
    };
    match pylock::from_toml("pylock.toml", text) {
        Ok(lock) => {
            let written = pylock::to_toml(&lock);
            if let Err(e) = pylock::from_toml("pylock.toml", &written) {
                panic!("a lock pinguard wrote does not read again: {e}\n{written}");
            }
        }
        Err(e) => {
            let _ = e.render(false);
        }
    }
}

/// A project page, as PEP 503 HTML and as PEP 691 JSON, keeping every file.
pub fn page(data: &[u8], format: PageFormat) {
    let mut keep = |_: &str| true;
    if let Err(e) = Page::parse(data, format, &mut keep) {
        let _ = e.to_string();
    }
}

/// `METADATA`/`PKG-INFO` and `requires.txt`.
pub fn core_metadata(data: &[u8]) {
    if let Err(e) = CoreMetadata::parse(data) {
        let _ = e.to_string();
    }
    let _ = metadata::requires_txt::parse(&String::from_utf8_lossy(data));
}

/// A zip archive: its end-of-central-directory record as the range reader locates it, then a
/// wheel's `METADATA` and a zip sdist's `PKG-INFO` read out of it, as the zip reader does.
pub fn zip(data: &[u8]) {
    let tail_len = data.len().min(metadata::range::MIN_BLOCK as usize);
    let tail_start = data.len() - tail_len;
    if let Some(directory) =
        metadata::range::locate_central_directory(&data[tail_start..], tail_start as u64)
    {
        assert!(
            directory.end <= data.len() as u64,
            "{directory:?} is past the end"
        );
    }
    let wheel = WheelFilename::parse("pkg-1.0-py3-none-any.whl").expect("a valid wheel name");
    if let Err(e) = metadata::wheel_metadata(Cursor::new(data), &wheel) {
        let _ = e.to_string();
    }
    let project = PackageName::from_str("pkg").expect("a valid name");
    let Some(DistFilename::Sdist(sdist)) = DistFilename::parse("pkg-1.0.zip", &project) else {
        unreachable!("a valid sdist name");
    };
    if let Err(e) = metadata::sdist_metadata(data, &sdist) {
        let _ = e.to_string();
    }
}
