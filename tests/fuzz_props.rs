//! Hostile input never panics a parser: the entry points the fuzz targets drive
//! (`fuzz/harness.rs`), on mutated real files (`fuzz/seeds/`), a bounded number of cases each,
//! on stable Rust. A failure prints the input proptest shrank it to.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

use pinguard::index::simple::PageFormat;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Cases per entry point: enough to hit each known crash within a run, small enough that all
/// of them take a few seconds.
const CASES: u32 = 256;

/// Fragments that have broken parsers, or sit at their seams.
const TOKENS: &[&str] = &[
    "é",
    "\u{202e}",
    "\0",
    "\u{ff}",
    ".",
    "-",
    "_",
    " ",
    ";",
    ":",
    "=",
    "==",
    "===",
    "[",
    "]",
    "(",
    ")",
    "@",
    "'",
    "\"",
    "\\",
    "\n",
    "\r\n",
    "#",
    "%2F",
    "%00",
    "..",
    "/",
    " and",
    "or ",
    "extra",
    "${FUZZ}",
    "-r ",
    "-c ",
    "--hash=sha256:",
    "{",
    "}",
    ",",
    "[[packages]]",
    "<a href=",
    "<base href=",
    "&gt;",
    "Requires-Dist: ",
    "\n\n",
    "PK\u{5}\u{6}",
    "=\"",
];

/// One edit of a seed.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Replace(usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop::sample::select(TOKENS).prop_map(|t| t.as_bytes().to_vec());
    let bytes = prop::collection::vec(any::<u8>(), 1..8);
    prop_oneof![
        (any::<usize>(), prop_oneof![token, bytes]).prop_map(|(at, b)| Edit::Insert(at, b)),
        (any::<usize>(), 1..16usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Replace(at, b)),
    ]
}

fn apply(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let at = |i: usize| {
            if data.is_empty() {
                0
            } else {
                i % (data.len() + 1)
            }
        };
        match edit {
            Edit::Insert(i, bytes) => {
                let i = at(*i);
                data.splice(i..i, bytes.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = at(*i);
                data.drain(i..(i + n).min(data.len()));
            }
            Edit::Replace(i, b) => {
                if !data.is_empty() {
                    let i = *i % data.len();
                    data[i] = *b;
                }
            }
        }
    }
    data
}

/// The seeds of one fuzz target.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// Runs `entry` on [`CASES`] mutations of `target`'s seeds (and on random bytes).
fn never_panics(target: &str, entry: fn(&[u8])) {
    let seeds = seeds(target);
    let input = prop_oneof![
        9 => (0..seeds.len(), prop::collection::vec(edit(), 1..6))
            .prop_map(move |(seed, edits)| apply(seeds[seed].clone(), &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ];
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new(config)
        .run(&input, |data| {
            entry(&data);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{target}: {e}"));
}

#[test]
fn requirements_files_never_panic_the_parser() {
    never_panics("requirements", harness::requirements);
}

#[test]
fn locks_never_panic_the_reader() {
    never_panics("lock", harness::lock);
}

#[test]
fn html_pages_never_panic_the_parser() {
    never_panics("html_page", |data| harness::page(data, PageFormat::Html));
}

#[test]
fn json_pages_never_panic_the_parser() {
    never_panics("json_page", |data| harness::page(data, PageFormat::Json));
}

#[test]
fn core_metadata_never_panics_the_parser() {
    never_panics("core_metadata", harness::core_metadata);
}

#[test]
fn zip_archives_never_panic_the_readers() {
    never_panics("zip", harness::zip);
}
