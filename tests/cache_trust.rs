//! What the cache is trusted with: nothing a lock depends on goes unchecked. `--refresh`
//! hashes files again rather than reuse digests it computed before, and an entry that does
//! not match its digest is not used.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::cli::{Pinguard, Run, filter, scratch, write};
use support::dist::WheelBuilder;
use support::index::{DistFile, IndexBuilder, TestIndex};

const WHEEL: &str = "alpha-1.0-py3-none-any.whl";

fn lock(dir: &Path, index: &TestIndex, extra: &[&str]) -> Run {
    write(dir, "upper-constraints.txt", "alpha===1.0\n");
    Pinguard::new(dir)
        .args([
            "lock",
            "upper-constraints.txt",
            "--index-url",
            &index.simple_url(),
        ])
        .args(extra)
        .run()
}

/// The one entry of the cache bucket `kind` (`pages`, `digests`), whatever its version.
fn only_entry(dir: &Path, kind: &str) -> PathBuf {
    let entries: Vec<PathBuf> = fs::read_dir(dir.join("cache"))
        .unwrap()
        .map(|bucket| bucket.unwrap())
        .filter(|bucket| {
            let name = bucket.file_name().to_string_lossy().into_owned();
            name.strip_prefix(kind).is_some_and(|v| v.starts_with("-v"))
        })
        .flat_map(|bucket| fs::read_dir(bucket.path()).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().unwrap()
}

/// Replaces `from` with `to` (of the same length) inside the file at `path`.
fn edit_in_place(path: &Path, from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let mut bytes = fs::read(path).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from} is not in {}", path.display()));
    bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
    fs::write(path, bytes).unwrap();
}

fn shown(text: &str, dir: &Path, index: &TestIndex) -> String {
    let cache = dir.join("cache").display().to_string();
    let base = index.server().base_url();
    filter(text, &[(&cache, "[CACHE]"), (&base, "http://[INDEX]")])
}

#[test]
fn refresh_hashes_again_files_the_index_gives_no_digest_for() {
    let mut index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("alpha", "1.0")).without_hash())
        .start();
    let dir = scratch();
    assert_eq!(lock(dir.path(), &index, &[]).code, 0);
    let locked = index.file(WHEEL).sha256();
    index.tamper(WHEEL, b"other bytes".to_vec());
    let run = lock(dir.path(), &index, &["--refresh"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "\
error: alpha===1.0 (upper-constraints.txt:1): the index no longer serves what the lock holds:
  {WHEEL}
    locked:   sha256:{locked}
    on index: sha256:{}
error: 1 of 1 pins cannot be locked; nothing was written
",
            index.file(WHEEL).sha256()
        )
    );
}

#[test]
fn a_cached_page_edited_in_place_is_fetched_again() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("alpha", "1.0")))
        .start();
    // Validators, so the second run revalidates and the server answers 304.
    index
        .site()
        .update("/simple/alpha/", |page| *page = page.clone().etag("v1"));
    let dir = scratch();
    assert_eq!(lock(dir.path(), &index, &[]).code, 0);
    let real = index.file(WHEEL).sha256();
    let page = only_entry(dir.path(), "pages");
    edit_in_place(&page, &real, &"0".repeat(64));

    let run = lock(dir.path(), &index, &["-o", "pylock.again.toml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        shown(&run.stderr, dir.path(), &index),
        format!(
            "\
warning: ignoring the cache entry for http://[INDEX]/simple/alpha/ in [CACHE]/pages-v4/{}: it does not match its checksum (edited or damaged)
Locked 1 pin (1 file) into pylock.again.toml: 0 unchanged, 1 project queried
",
            page.file_name().unwrap().to_string_lossy()
        )
    );
    let again = fs::read_to_string(dir.path().join("pylock.again.toml")).unwrap();
    assert!(again.contains(&real), "{again}");
    // Fetched again in full: the damaged entry gave no validator to send.
    let asked = index.server().requests_to("/simple/alpha/");
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[1].if_none_match(), None);
}

#[test]
fn an_edited_computed_digest_is_not_used_even_offline() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("alpha", "1.0")).without_hash())
        .start();
    let dir = scratch();
    assert_eq!(lock(dir.path(), &index, &[]).code, 0);
    let real = index.file(WHEEL).sha256();
    let entry = only_entry(dir.path(), "digests");
    edit_in_place(&entry, &real, &"0".repeat(64));

    let run = lock(
        dir.path(),
        &index,
        &["-o", "pylock.offline.toml", "--offline"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        shown(&run.stderr, dir.path(), &index),
        format!(
            "\
warning: ignoring the cache entry for http://[INDEX]/files/{WHEEL} in [CACHE]/digests-v2/{}: it does not match its checksum (edited or damaged)
error: alpha===1.0 (upper-constraints.txt:1): cannot hash `{WHEEL}`: http://[INDEX]/files/{WHEEL} is not available offline
error: 1 of 1 pins cannot be locked; nothing was written
",
            entry.file_name().unwrap().to_string_lossy()
        )
    );
    assert!(!dir.path().join("pylock.offline.toml").exists());
}

#[test]
fn a_cached_metadata_record_edited_in_place_is_read_again() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("alpha", "1.0").requires_dist(["beta"]),
        ))
        .file(DistFile::wheel(&WheelBuilder::new("beta", "1.0")))
        .start();
    let dir = scratch();
    write(
        dir.path(),
        "upper-constraints.txt",
        "alpha===1.0\nbeta===1.0\n",
    );
    let lock_into = |output: &str| {
        Pinguard::new(dir.path())
            .args(["lock", "upper-constraints.txt", "-v", "-o", output])
            .args(["--index-url", &index.simple_url()])
            .run()
    };
    assert_eq!(lock_into("pylock.toml").code, 0);
    let records = only_entry(dir.path(), "metadata");
    edit_in_place(&records, "Requires-Dist: beta", "Requires-Dist: bxta");

    let run = lock_into("pylock.again.toml");
    assert_eq!(run.code, 0, "{run:?}");
    // alpha's record no longer matches its checksum: read again from the index.
    assert!(
        run.stderr.contains("dependencies of 2 packages: 1 cached,"),
        "{}",
        run.stderr
    );
    let again = fs::read_to_string(dir.path().join("pylock.again.toml")).unwrap();
    assert!(again.contains("name = \"beta\""), "{again}");
    assert!(!again.contains("bxta"), "{again}");
}
