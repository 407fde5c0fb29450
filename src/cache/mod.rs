//! The on-disk cache: index pages, and digests pinguard had to compute itself.
//!
//! Layout under the cache root (`PINGUARD_CACHE_DIR`, default the user cache dir +
//! `pinguard`), versioned so a format change never misreads old entries (the buckets of
//! earlier formats are removed by the first run that writes pages):
//!
//! ```text
//! pages-v4/<time>-<pid>-<n>.pack       pack files: URL without credentials → metadata (JSON), body
//! digests-v2/<sha256 of the file URL>  digest line, JSON {"url", "sha256", "size"}
//! interpreters-v1/<sha256 of the key>  a venv's probe answer (crate::target's `probe::remember`)
//! ```
//!
//! Every entry carries a checksum of itself: CRC-32 for pages (a hundred megabytes in a cold
//! lock, where sha256 was a tenth of the CPU time), sha256 for digests.
//! An entry that does not match it (edited in place, or damaged) is a miss, with a warning
//! ([`Cache::take_warnings`]): online the page is fetched and the file hashed again;
//! `--offline` the pin fails. The checksum is no defence against someone who can also
//! rewrite it, and is not meant to be: the cache is an accelerator, never a
//! trust anchor. Locks hold the digests that are trusted, and files leaving the file store
//! are hashed again.
//!
//! Pages are revalidated with `ETag`/`Last-Modified` when the index sent them and used without
//! asking while a `Cache-Control: max-age` keeps them fresh. An index that sends neither (the
//! mirror this project is developed against is one) gets a full request every time online;
//! the cache then serves `--offline` runs. Re-locking does not need the cache to be fast: it
//! reuses the previous lock's entries and asks the index only about changed pins.
//!
//! Creating a file costs about half a millisecond on the machine this was measured on, far
//! more than writing its bytes, and a `fsync` per entry cost more than the whole network
//! phase. So a run's pages go into one pack file ([`pack`]), appended by a thread of its own
//! without `fsync`, with at most 16 MiB queued for it, so the requests still in flight never
//! wait on the disk unless it falls that far behind. Digests, written only for files an index
//! gives no digest for, are a file each, renamed into place.

pub mod pack;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::atomic::{Durability, write_with};
use crate::digest::Sha256;
use pack::{Entry, PackStore};

/// How the cache may be used for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// Read fresh entries and revalidate stale ones; write what is fetched.
    Normal,
    /// Never read pages (`--refresh`), but write what is fetched.
    Refresh,
    /// Read any entry, however old, and never ask the network (`--offline`).
    Offline,
}

const PAGES: &str = "pages-v4";

/// Buckets of earlier formats that nothing reads any more: removed by the first run that
/// writes pages, so that an upgrade does not leave a hundred megabytes of dead entries.
const SUPERSEDED: [&str; 5] = [
    "pages-v1",
    "pages-v2",
    "pages-v3",
    "digests-v1",
    "metadata-v1",
];
const DIGESTS: &str = "digests-v2";

/// The cache. `root == None` disables it (`--no-cache`).
#[derive(Debug)]
pub struct Cache {
    root: Option<PathBuf>,
    mode: CacheMode,
    /// The digests bucket, created on first use.
    digests_dir: OnceLock<bool>,
    /// Entries found edited or damaged, for the command to report.
    warnings: Mutex<Vec<String>>,
    /// The pages, in pack files written on a thread of their own, so that writing a run's
    /// pages (a hundred megabytes for the OpenStack pins) overlaps with the requests still in
    /// flight.
    pages: Option<PackStore>,
    /// Whether this run wrote pages (and so removes the buckets of earlier formats).
    wrote_pages: AtomicBool,
}

/// What is kept about a fetched page besides its body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PageMeta {
    /// The URL fetched, without credentials.
    pub url: String,
    /// Where redirects ended, when not at `url` (links resolve against it).
    pub answered_url: Option<String>,
    /// The `Content-Type` the server sent.
    pub content_type: Option<String>,
    /// The `ETag`, to revalidate with.
    pub etag: Option<String>,
    /// The `Last-Modified`, to revalidate with.
    pub last_modified: Option<String>,
    /// The `max-age` of `Cache-Control`, in seconds.
    pub max_age: Option<u64>,
    /// When it was fetched (seconds since the epoch).
    pub fetched_at: u64,
    /// The body's length: an entry cut short reads as a miss.
    pub len: u64,
}

impl PageMeta {
    /// Whether the entry may be used without asking the server.
    pub fn is_fresh(&self) -> bool {
        self.max_age
            .is_some_and(|age| now().saturating_sub(self.fetched_at) < age)
    }

    /// Whether the server gave a validator to revalidate with.
    pub fn can_revalidate(&self) -> bool {
        self.etag.is_some() || self.last_modified.is_some()
    }
}

/// A cached page.
#[derive(Debug, Clone)]
pub struct CachedPage {
    /// Its metadata.
    pub meta: PageMeta,
    /// Its body.
    pub body: bytes::Bytes,
}

/// A digests entry: the file's URL, so that an entry moved to another key does not match.
#[derive(Serialize, Deserialize)]
struct DigestEntry {
    url: String,
    #[serde(flatten)]
    digest: ComputedDigest,
}

/// A digest pinguard computed by downloading a file the index gave no digest for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ComputedDigest {
    /// The file's sha256.
    #[serde(with = "sha256_hex")]
    pub sha256: Sha256,
    /// Its size in bytes.
    pub size: u64,
}

mod sha256_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::digest::Sha256;

    pub fn serialize<S: Serializer>(value: &Sha256, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Sha256, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Cache {
    /// A cache rooted at `root`.
    pub fn new(root: PathBuf, mode: CacheMode) -> Self {
        Self::rooted(Some(root), mode)
    }

    /// No cache at all.
    pub fn disabled(mode: CacheMode) -> Self {
        Self::rooted(None, mode)
    }

    fn rooted(root: Option<PathBuf>, mode: CacheMode) -> Self {
        Self {
            pages: root.as_ref().map(|root| PackStore::new(root.join(PAGES))),
            root,
            mode,
            digests_dir: OnceLock::new(),
            warnings: Mutex::default(),
            wrote_pages: AtomicBool::new(false),
        }
    }

    /// The default location: `$PINGUARD_CACHE_DIR` is handled by the CLI; this is the fallback.
    pub fn default_root() -> Option<PathBuf> {
        dirs::cache_dir().map(|dir| dir.join("pinguard"))
    }

    /// How the cache is used this run.
    pub fn mode(&self) -> CacheMode {
        self.mode
    }

    fn entry_path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        let hash = Sha256::of(key.as_bytes()).to_string();
        Some(self.root.as_ref()?.join(bucket).join(hash))
    }

    /// The digests directory, created once per run; `None` when it cannot be.
    fn digests_dir(&self) -> Option<PathBuf> {
        let dir = self.root.as_ref()?.join(DIGESTS);
        self.digests_dir
            .get_or_init(|| fs_err::create_dir_all(&dir).is_ok())
            .then_some(dir)
    }

    /// The cached page for `url` (without credentials), unless `--refresh` — and only when
    /// it can be used: offline, or fresh, or with a validator to revalidate. A stale page with
    /// neither is not read: it would be fetched again anyway, and bodies run to megabytes.
    pub fn read_page(&self, url: &str) -> Option<CachedPage> {
        if self.mode == CacheMode::Refresh {
            return None;
        }
        let found = self.pages.as_ref()?.head(url)?;
        let meta: PageMeta = serde_json::from_slice(&found.head).ok()?;
        let usable = self.mode == CacheMode::Offline || meta.is_fresh() || meta.can_revalidate();
        if meta.url != url || !usable || found.body_len() != meta.len {
            return None;
        }
        match found.body(url) {
            Ok(body) => Some(CachedPage {
                meta,
                body: body.into(),
            }),
            Err(damaged) => {
                self.warn_damaged(&damaged.pack, url);
                None
            }
        }
    }

    /// Stores a page. Failures are ignored: the cache is an optimisation.
    pub fn write_page(&self, page: &CachedPage) {
        let (Some(pages), Ok(head)) = (&self.pages, serde_json::to_vec(&page.meta)) else {
            return;
        };
        self.wrote_pages.store(true, Ordering::Relaxed);
        pages.write(Entry {
            key: page.meta.url.clone(),
            head,
            body: page.body.clone(),
        });
    }

    /// Waits until every page handed to [`Cache::write_page`] is on disk; after a run that
    /// wrote pages, removes the buckets of earlier formats (after the writes: deleting
    /// thousands of files first would slow down creating them, as ext4 searches past recently
    /// freed inodes).
    pub fn flush(&self) {
        if let Some(pages) = &self.pages {
            pages.flush();
        }
        if self.wrote_pages.swap(false, Ordering::Relaxed) {
            for bucket in self.root.iter().flat_map(|r| SUPERSEDED.map(|b| r.join(b))) {
                if bucket.is_dir() {
                    let _ = std::fs::remove_dir_all(&bucket);
                }
            }
        }
    }

    /// Marks a cached page as just revalidated.
    pub fn touch_page(&self, mut page: CachedPage) -> CachedPage {
        page.meta.fetched_at = now();
        self.write_page(&page);
        page
    }

    /// The digest computed earlier for the file at `url`; never with `--refresh`, which is
    /// there to notice a file that changed, and has nothing else to compare it with.
    pub fn read_digest(&self, url: &str) -> Option<ComputedDigest> {
        if self.mode == CacheMode::Refresh {
            return None;
        }
        let path = self.entry_path(DIGESTS, url)?;
        let bytes = fs_err::read(&path).ok()?;
        let (expected, body) = split_checksummed(&bytes)?;
        let entry: DigestEntry = serde_json::from_slice(body).ok()?;
        if Sha256::of(body) != expected || entry.url != url {
            self.warn_damaged(&path, url);
            return None;
        }
        Some(entry.digest)
    }

    /// Remembers the digest of the file at `url`.
    pub fn write_digest(&self, url: &str, digest: ComputedDigest) {
        let (Some(path), Some(_)) = (self.entry_path(DIGESTS, url), self.digests_dir()) else {
            return;
        };
        let entry = DigestEntry {
            url: url.to_owned(),
            digest,
        };
        if let Ok(json) = serde_json::to_vec(&entry) {
            let _ = write_checksummed(&path, &json);
        }
    }

    /// The warnings about edited or damaged entries found so far, once each.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn warn_damaged(&self, path: &Path, url: &str) {
        let shown = crate::safe_url::mask_credentials(url);
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!(
                "ignoring the cache entry for {shown} in {}: it does not match its checksum \
                 (edited or damaged)",
                path.display()
            ));
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Writes `body` to `path` (renamed into place, unsynced) after a line with its sha256: the
/// form of every entry that is a file of its own.
pub(crate) fn write_checksummed(path: &Path, body: &[u8]) -> std::io::Result<()> {
    write_with(path, Durability::Unsynced, |file| {
        writeln!(file, "{}", Sha256::of(body))?;
        file.write_all(body)
    })
}

/// An entry [`write_checksummed`] wrote, split into the sha256 its first line claims and the
/// body after it; `None` when there is no such line (a miss). The caller compares the two,
/// to tell a damaged entry from a good one as it must.
pub(crate) fn split_checksummed(bytes: &[u8]) -> Option<(Sha256, &[u8])> {
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let expected = std::str::from_utf8(&bytes[..newline]).ok()?.parse().ok()?;
    Some((expected, &bytes[newline + 1..]))
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, body: &'static [u8]) -> CachedPage {
        CachedPage {
            meta: PageMeta {
                url: url.into(),
                etag: Some("\"x\"".into()),
                fetched_at: now(),
                len: body.len() as u64,
                ..PageMeta::default()
            },
            body: bytes::Bytes::from_static(body),
        }
    }

    #[test]
    fn the_buckets_of_earlier_formats_are_removed_once_pages_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let old: Vec<PathBuf> = SUPERSEDED.iter().map(|b| dir.path().join(b)).collect();
        for bucket in &old {
            fs_err::create_dir_all(bucket).unwrap();
            fs_err::write(bucket.join("entry"), "old format").unwrap();
        }
        let other = dir.path().join("metadata-v2");
        fs_err::create_dir_all(&other).unwrap();
        let cache = Cache::new(dir.path().into(), CacheMode::Normal);
        cache.write_page(&page("https://i/simple/a/", b"{}"));
        cache.flush();
        assert!(old.iter().all(|bucket| !bucket.exists()), "{old:?}");
        assert!(other.exists(), "a bucket in use stays");
        assert!(cache.read_page("https://i/simple/a/").is_some());
    }

    #[test]
    fn a_page_larger_than_the_queue_bound_is_still_written() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().into(), CacheMode::Offline);
        let body: &'static [u8] = Box::leak(vec![b'x'; (pack::QUEUED_BYTES + 1) as usize].into());
        for url in ["https://i/big/", "https://i/big-too/"] {
            cache.write_page(&page(url, body));
        }
        for url in ["https://i/big/", "https://i/big-too/"] {
            assert_eq!(cache.read_page(url).unwrap().body.len(), body.len());
        }
    }

    #[test]
    fn pages_round_trip_and_refresh_skips_reads() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned(), CacheMode::Normal);
        let page = page("https://h/simple/a/", b"{\n\"files\": []}");
        cache.write_page(&page);
        // Stale, and nothing to revalidate with: not worth reading, except offline.
        let mut bare = page.clone();
        bare.meta.url = "https://h/simple/bare/".into();
        bare.meta.etag = None;
        cache.write_page(&bare);
        assert!(cache.read_page("https://h/simple/bare/").is_none());
        cache.flush();
        let offline = Cache::new(dir.path().to_owned(), CacheMode::Offline);
        assert!(offline.read_page("https://h/simple/bare/").is_some());
        let read = cache.read_page("https://h/simple/a/").unwrap();
        assert_eq!(read.meta, page.meta);
        assert_eq!(read.body, page.body);
        assert!(read.meta.can_revalidate());
        assert!(!read.meta.is_fresh());
        assert!(cache.read_page("https://h/simple/b/").is_none());

        // A pack cut short (a crash before its bytes reached the disk) is read up to its last
        // whole entry: the entry cut short is a miss.
        cache.flush();
        let packs = pack::tests::packs(&dir.path().join(PAGES));
        assert_eq!(packs.len(), 1, "{packs:?}");
        let full = std::fs::read(&packs[0]).unwrap();
        std::fs::write(&packs[0], &full[..full.len() - 3]).unwrap();
        let again = Cache::new(dir.path().to_owned(), CacheMode::Offline);
        assert!(again.read_page("https://h/simple/a/").is_some());
        assert!(again.read_page("https://h/simple/bare/").is_none());
        assert!(again.take_warnings().is_empty());

        let refresh = Cache::new(dir.path().to_owned(), CacheMode::Refresh);
        assert!(refresh.read_page("https://h/simple/a/").is_none());
    }

    #[test]
    fn a_run_writes_its_pages_into_one_pack_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned(), CacheMode::Normal);
        for i in 0..20 {
            let mut p = page("", b"body");
            p.meta.url = format!("https://h/simple/p{i}/");
            cache.write_page(&p);
        }
        let read = |cache: &Cache| {
            (0..20).all(|i| {
                cache
                    .read_page(&format!("https://h/simple/p{i}/"))
                    .is_some()
            })
        };
        assert!(read(&cache), "read back while the run writes");
        cache.flush();
        let packs = pack::tests::packs(&dir.path().join(PAGES));
        assert_eq!(packs.len(), 1, "{packs:?}");
        assert!(packs[0].to_string_lossy().ends_with(".pack"), "{packs:?}");
        assert!(read(&Cache::new(dir.path().to_owned(), CacheMode::Normal)));
    }

    #[test]
    fn digests_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned(), CacheMode::Normal);
        let digest = ComputedDigest {
            sha256: Sha256::of(b"x"),
            size: 1,
        };
        cache.write_digest("https://h/a.whl", digest);
        assert_eq!(cache.read_digest("https://h/a.whl"), Some(digest));
        assert_eq!(cache.read_digest("https://h/b.whl"), None);
        assert!(cache.take_warnings().is_empty());

        // The entry of a.whl copied under b.whl's key: its digest line matches, its URL not.
        let a = cache.entry_path(DIGESTS, "https://h/a.whl").unwrap();
        let b = cache.entry_path(DIGESTS, "https://h/b.whl").unwrap();
        std::fs::copy(&a, &b).unwrap();
        assert_eq!(cache.read_digest("https://h/b.whl"), None);
        let warnings = cache.take_warnings();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("for https://h/b.whl in"),
            "{warnings:?}"
        );

        // --refresh hashes again rather than trust what it computed before.
        let refresh = Cache::new(dir.path().to_owned(), CacheMode::Refresh);
        assert_eq!(refresh.read_digest("https://h/a.whl"), None);
    }
}
