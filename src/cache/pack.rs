//! Pack files: a bucket of cache entries kept as a few files of many entries each, not a file
//! per entry.
//!
//! Creating a file cost more than writing its bytes on the machine this was measured on
//! (ext4's inode allocation was a seventh of a cold lock's CPU time with one file per page and
//! one per package's metadata). So the entries a run writes are appended, by a thread of its
//! own, to one temporary file in the bucket, renamed to `<time>-<pid>-<n>.pack` when the run
//! is done. A later entry for a key supersedes an earlier one: packs are read in name order,
//! and the newest wins. A run's pack is named after every pack it read (its time is at least
//! one more than theirs, whatever the clock says), so that in every run's view its entries are
//! newer than those it superseded.
//!
//! ```text
//! pack:  "pinguard pack 1\n", then entries
//! entry: key length (u32 LE), head length (u32 LE), body length (u64 LE),
//!        CRC-32 of key, head and body (u32 LE), key, head, body
//! ```
//!
//! The head is what a reader looks at before deciding whether it wants the body (a page's
//! metadata line before its megabytes). The CRC-32 notices damage; it is no defence against
//! someone who can also rewrite it, and is not meant to be (the cache is no trust anchor).
//!
//! A pack cut short (a crash, a full disk) is read up to its last whole entry. Packs are
//! never changed once renamed, so readers need no lock: other runs only add packs, or remove
//! ones they found dead, which an open file outlives. When a run has written its pack, it
//! removes the packs it read whose every entry is superseded, and when the bucket holds more
//! dead bytes than live ones, or more than [`MAX_PACKS`] packs, it copies the live entries
//! into its own pack first and removes the rest.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// What every pack file starts with.
const MAGIC: &[u8; 16] = b"pinguard pack 1\n";

/// Bytes of an entry before its key.
const HEADER: usize = 20;

/// Longer keys, heads or bodies than these are taken for damage, not read, and never
/// written: a length is only checked against the file's size, and a sparse file can claim
/// any. A body is at most `--max-page-size` when it is fetched (64 MiB by default).
const MAX_KEY: usize = 4 << 10;
const MAX_HEAD: usize = 1 << 20;
const MAX_BODY: u64 = 1 << 30;

/// Whether an entry of these lengths is within the limits.
fn within_limits(key_len: usize, head_len: usize, body_len: u64) -> bool {
    (1..=MAX_KEY).contains(&key_len) && head_len <= MAX_HEAD && body_len <= MAX_BODY
}

/// Packs a bucket may hold before a run merges them: each costs an open file to every reader.
pub const MAX_PACKS: usize = 8;

/// Bytes queued for the writer are bounded, so that a slow disk holds the run back rather
/// than letting entries pile up in memory; the bound is in bytes because pages run from a
/// kilobyte to several megabytes. Workers that find the queue full wait on a condition
/// variable, not on a lock another worker holds: with a bound of four pages and the writer's
/// lock held while waiting, a cold lock of 575 pins had 20 requests in flight of 64.
pub const QUEUED_BYTES: u64 = 16 << 20;

/// One bucket of entries kept in pack files.
#[derive(Debug)]
pub struct PackStore {
    dir: PathBuf,
    /// The entries of the packs read so far, and of this run's: loaded on first use.
    index: Arc<Mutex<Option<PackIndex>>>,
    writer: Mutex<Option<Writer>>,
    pending: Arc<Pending>,
}

/// Where each key's newest entry is, and the packs they are in.
#[derive(Debug, Default)]
struct PackIndex {
    entries: HashMap<String, Location>,
    /// The packs read when the index was loaded (not this run's): candidates for removal.
    loaded: Vec<Arc<Pack>>,
    /// The newest time in the names of the packs listed then: this run's pack is named after.
    newest: u128,
}

/// An open pack file.
#[derive(Debug)]
struct Pack {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Pack {
    /// The pack at `path`, opened; `None` when it is not a regular file that can be read.
    fn open(path: PathBuf) -> Option<Arc<Self>> {
        let file = crate::regular_file::open(&path).ok()?.into_parts().0;
        let len = file.metadata().ok()?.len();
        Some(Arc::new(Self { path, file, len }))
    }
}

/// The paths of the packs in `dir`, in no order.
fn pack_paths(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "pack"))
        .collect()
}

/// Where an entry is: its pack, and the offset and lengths of its parts.
#[derive(Debug, Clone)]
struct Location {
    pack: Arc<Pack>,
    /// The offset of the head (the key just before it).
    head_at: u64,
    head_len: usize,
    body_len: u64,
    crc: u32,
}

impl Location {
    /// The bytes of the entry in its pack, with its key of `key_len` bytes.
    fn bytes(&self, key_len: usize) -> u64 {
        (HEADER + key_len + self.head_len) as u64 + self.body_len
    }
}

/// An entry found by [`PackStore::head`]: its head, and where its body is.
#[derive(Debug)]
pub struct Found {
    /// The head, not yet checked: [`Found::body`] checks it with the body.
    pub head: Vec<u8>,
    location: Location,
}

/// An entry whose bytes do not match their checksum (edited or damaged).
#[derive(Debug)]
pub struct Damaged {
    /// The pack file it is in.
    pub pack: PathBuf,
}

impl Found {
    /// The entry at `location`, its head read; `None` when it cannot be.
    fn at(location: Location) -> Option<Self> {
        let mut head = vec![0; location.head_len];
        read_exact_at(&location.pack.file, &mut head, location.head_at).ok()?;
        Some(Self { head, location })
    }

    /// The length of the body, as the entry's header gives it: for a caller to compare with
    /// what the head says before reading it.
    pub fn body_len(&self) -> u64 {
        self.location.body_len
    }

    /// The body, once key, head and body are found to match the entry's checksum.
    pub fn body(&self, key: &str) -> Result<Vec<u8>, Damaged> {
        let location = &self.location;
        let damaged = || Damaged {
            pack: location.pack.path.clone(),
        };
        let len = usize::try_from(location.body_len).map_err(|_| damaged())?;
        let mut body = Vec::new();
        body.try_reserve_exact(len).map_err(|_| damaged())?;
        body.resize(len, 0);
        let at = location.head_at + location.head_len as u64;
        read_exact_at(&location.pack.file, &mut body, at).map_err(|_| damaged())?;
        if checksum(key.as_bytes(), &self.head, &body) != location.crc {
            return Err(damaged());
        }
        Ok(body)
    }
}

/// An entry for the writer.
#[derive(Debug)]
pub struct Entry {
    /// Its key.
    pub key: String,
    /// What readers look at first.
    pub head: Vec<u8>,
    /// The rest.
    pub body: bytes::Bytes,
}

impl Entry {
    fn bytes(&self) -> u64 {
        (HEADER + self.key.len() + self.head.len() + self.body.len()) as u64
    }
}

/// The thread that appends entries to this run's pack, and the channel to it.
#[derive(Debug)]
struct Writer {
    jobs: std::sync::mpsc::Sender<Entry>,
    thread: std::thread::JoinHandle<()>,
}

impl PackStore {
    /// The bucket at `dir` (created when the first entry is written).
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            index: Arc::default(),
            writer: Mutex::default(),
            pending: Arc::default(),
        }
    }

    /// The newest entry for `key`, waiting for the writer when it is still queued.
    pub fn head(&self, key: &str) -> Option<Found> {
        self.pending.wait_for(key);
        let location = with_index(&self.index, &self.dir, |index| {
            index.entries.get(key).cloned()
        })?;
        Found::at(location)
    }

    /// Queues an entry for this run's pack. Failures are ignored: the cache is an
    /// optimisation. An entry a reader would take for damage (an empty or over-long key, a
    /// head or body over the limits) is not written: it would end the scan of its pack, and
    /// hide the entries after it.
    pub fn write(&self, entry: Entry) {
        if !within_limits(entry.key.len(), entry.head.len(), entry.body.len() as u64) {
            return;
        }
        self.pending.admit(&entry.key, entry.bytes());
        let jobs = {
            let mut writer = lock(&self.writer);
            if writer.is_none() {
                *writer = self.start_writer().ok();
            }
            writer.as_ref().map(|w| w.jobs.clone())
        };
        let unsent = match jobs {
            Some(jobs) => jobs.send(entry).err().map(|e| e.0),
            None => Some(entry),
        };
        if let Some(entry) = unsent {
            self.pending.done(&entry.key, entry.bytes());
        }
    }

    /// Starts the writer thread; an error when no thread can be started (the entry is then
    /// dropped, and counted out).
    fn start_writer(&self) -> io::Result<Writer> {
        let (jobs, queue) = std::sync::mpsc::channel::<Entry>();
        let run = RunPack {
            dir: self.dir.clone(),
            index: Arc::clone(&self.index),
            pending: Arc::clone(&self.pending),
        };
        let thread = std::thread::Builder::new()
            .name("pinguard-cache".into())
            .spawn(move || run.write_all(queue))?;
        Ok(Writer { jobs, thread })
    }

    /// Waits until every entry handed to [`PackStore::write`] is in a renamed pack. The
    /// writer's lock is held throughout, so that a second caller waits too.
    pub fn flush(&self) {
        let mut writer = lock(&self.writer);
        if let Some(Writer { jobs, thread }) = writer.take() {
            drop(jobs);
            let _ = thread.join();
        }
    }
}

impl Drop for PackStore {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Runs `f` on the index, loading it first when this is its first use.
fn with_index<R>(
    index: &Mutex<Option<PackIndex>>,
    dir: &Path,
    f: impl FnOnce(&mut PackIndex) -> R,
) -> R {
    let mut guard = lock(index);
    f(guard.get_or_insert_with(|| PackIndex::load(dir)))
}

impl PackIndex {
    /// Reads the entries of every pack in `dir`, oldest first, so that newer ones win.
    fn load(dir: &Path) -> Self {
        let mut names = pack_paths(dir);
        names.sort();
        let mut index = Self {
            newest: names.iter().filter_map(|p| pack_time(p)).max().unwrap_or(0),
            ..Self::default()
        };
        for pack in names.into_iter().filter_map(Pack::open) {
            for (key, location) in scan(&pack) {
                index.entries.insert(key, location);
            }
            index.loaded.push(pack);
        }
        index
    }

    /// The bytes of live entries in each loaded pack, by its path.
    fn live_bytes(&self) -> HashMap<&Path, u64> {
        let mut live: HashMap<&Path, u64> = HashMap::new();
        for (key, location) in &self.entries {
            *live.entry(&location.pack.path).or_default() += location.bytes(key.len());
        }
        live
    }
}

/// The whole entries of a pack, in order; stops at the first that is cut short or damaged.
fn scan(pack: &Arc<Pack>) -> Vec<(String, Location)> {
    let mut entries = Vec::new();
    // Small: after a page's header the reader seeks past megabytes of body.
    let mut reader = BufReader::with_capacity(8 << 10, &pack.file);
    let mut magic = [0; MAGIC.len()];
    if reader.read_exact(&mut magic).is_err() || &magic != MAGIC {
        return entries;
    }
    let mut at = MAGIC.len() as u64;
    while let Some((key, location)) = read_entry(&mut reader, pack, at) {
        let rest = location.head_len as u64 + location.body_len;
        at = location.head_at + rest;
        entries.push((key, location));
        // `read_entry` checked that the entry ends inside the file.
        if reader.seek_relative(rest as i64).is_err() {
            break;
        }
    }
    entries
}

/// Reads one entry's header and key at `at`; `None` at the end or at one that does not fit.
fn read_entry(
    reader: &mut BufReader<&File>,
    pack: &Arc<Pack>,
    at: u64,
) -> Option<(String, Location)> {
    let mut header = [0; HEADER];
    reader.read_exact(&mut header).ok()?;
    let word = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().expect("4 bytes"));
    let key_len = word(0) as usize;
    let head_len = word(4) as usize;
    let body_len = u64::from(word(8)) | (u64::from(word(12)) << 32);
    let crc = word(16);
    let head_at = at + (HEADER + key_len) as u64;
    let fits = within_limits(key_len, head_len, body_len)
        && head_at
            .checked_add(head_len as u64)
            .and_then(|end| end.checked_add(body_len))
            .is_some_and(|end| end <= pack.len);
    if !fits {
        return None;
    }
    let mut key = vec![0; key_len];
    reader.read_exact(&mut key).ok()?;
    let location = Location {
        pack: Arc::clone(pack),
        head_at,
        head_len,
        body_len,
        crc,
    };
    Some((String::from_utf8(key).ok()?, location))
}

/// Writes an entry, whose checksum is `crc`, where the file is.
fn write_entry(file: &mut File, entry: &Entry, crc: u32) -> io::Result<()> {
    let mut header = Vec::with_capacity(HEADER + entry.key.len() + entry.head.len());
    header.extend_from_slice(&(entry.key.len() as u32).to_le_bytes());
    header.extend_from_slice(&(entry.head.len() as u32).to_le_bytes());
    header.extend_from_slice(&(entry.body.len() as u64).to_le_bytes());
    header.extend_from_slice(&crc.to_le_bytes());
    header.extend_from_slice(entry.key.as_bytes());
    header.extend_from_slice(&entry.head);
    file.write_all(&header)?;
    file.write_all(&entry.body)
}

/// The checksum of an entry: CRC-32 of its key, head and body.
fn checksum(key: &[u8], head: &[u8], body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(key);
    hasher.update(head);
    hasher.update(body);
    hasher.finalize()
}

/// Reads exactly `buf.len()` bytes of `file` at `offset`, without moving a shared cursor.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Reads exactly `buf.len()` bytes of `file` at `offset`.
#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// A pack name that sorts after every pack made before it and after `newest` (the newest
/// pack this run read, whatever the clock says): the time, the process, and a count for packs
/// one process starts in the same instant.
fn pack_name(newest: u128) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let nanos = now.max(newest.saturating_add(1));
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:024}-{}-{sequence}.pack", std::process::id())
}

/// The time a pack's name starts with.
fn pack_time(path: &Path) -> Option<u128> {
    let name = path.file_name()?.to_str()?;
    name.split('-').next()?.parse().ok()
}

/// The packs in `dir` other than those in `known`: made by runs that ended after this one
/// read the bucket.
fn packs_not_read(dir: &Path, known: &HashSet<PathBuf>) -> Vec<Arc<Pack>> {
    pack_paths(dir)
        .into_iter()
        .filter(|path| !known.contains(path))
        .filter_map(Pack::open)
        .collect()
}

/// This run's pack, as its writer thread builds it.
struct RunPack {
    dir: PathBuf,
    index: Arc<Mutex<Option<PackIndex>>>,
    pending: Arc<Pending>,
}

/// A pack being written: the temporary file, and how far it has got.
struct Open {
    temp: crate::temporary::Temporary,
    pack: Arc<Pack>,
    at: u64,
}

impl RunPack {
    /// Appends every entry queued, then renames the pack into place and tidies the bucket.
    /// After a failed write the rest are only counted out, and the pack is dropped.
    fn write_all(self, queue: std::sync::mpsc::Receiver<Entry>) {
        let mut open = None;
        let mut failed = false;
        for entry in queue {
            if !failed {
                failed = self.write_one(&mut open, &entry).is_err();
            }
            self.pending.done(&entry.key, entry.bytes());
        }
        if let (Some(open), false) = (open, failed) {
            let _ = self.finish(open);
        }
    }

    /// Appends an entry, opening the pack first when it is the run's first.
    fn write_one(&self, open: &mut Option<Open>, entry: &Entry) -> io::Result<()> {
        let pack = match open {
            Some(pack) => pack,
            None => open.insert(self.create()?),
        };
        self.append(pack, entry)
    }

    /// Appends one entry and points the index at it.
    fn append(&self, open: &mut Open, entry: &Entry) -> io::Result<()> {
        let crc = checksum(entry.key.as_bytes(), &entry.head, &entry.body);
        let location = write_at_end(open, entry, crc)?;
        with_index(&self.index, &self.dir, |index| {
            index.entries.insert(entry.key.clone(), location);
        });
        Ok(())
    }

    fn create(&self) -> io::Result<Open> {
        fs_err::create_dir_all(&self.dir)?;
        let newest = with_index(&self.index, &self.dir, |index| index.newest);
        let mut temp = crate::temporary::create_in(&self.dir)?;
        temp.as_file_mut().write_all(MAGIC)?;
        let pack = Arc::new(Pack {
            path: self.dir.join(pack_name(newest)),
            file: temp.as_file().try_clone()?,
            len: u64::MAX,
        });
        Ok(Open {
            temp,
            pack,
            at: MAGIC.len() as u64,
        })
    }

    /// Copies in the live entries of older packs when the bucket is due for it, renames the
    /// pack into place, and removes the packs it leaves dead. A merge that fails is undone:
    /// the run's own entries are kept, and so are the packs it would have merged.
    fn finish(&self, mut open: Open) -> io::Result<()> {
        let mut tidy = with_index(&self.index, &self.dir, Tidy::plan);
        tidy.leave_out_newer(&self.dir, &open.pack.path);
        let own_end = open.at;
        match merge_into(&mut open, &tidy.merge) {
            Ok(locations) => with_index(&self.index, &self.dir, |index| {
                index.entries.extend(locations);
            }),
            Err(_) => {
                open.temp.as_file().set_len(own_end)?;
                tidy.merged.clear();
            }
        }
        open.temp.persist(&open.pack.path)?;
        for path in tidy.dead.iter().chain(&tidy.merged) {
            let _ = std::fs::remove_file(path);
        }
        crate::temporary::remove_stale(&self.dir);
        Ok(())
    }
}

/// Appends an entry, whose checksum is `crc`, to the pack being written; where it went.
fn write_at_end(open: &mut Open, entry: &Entry, crc: u32) -> io::Result<Location> {
    let head_at = open.at + (HEADER + entry.key.len()) as u64;
    write_entry(open.temp.as_file_mut(), entry, crc)?;
    open.at += entry.bytes();
    Ok(Location {
        pack: Arc::clone(&open.pack),
        head_at,
        head_len: entry.head.len(),
        body_len: entry.body.len() as u64,
        crc,
    })
}

/// Appends the live entries of older packs (those still matching their checksum); where
/// each went, for the index once all are written.
fn merge_into(
    open: &mut Open,
    merge: &[(String, Location)],
) -> io::Result<Vec<(String, Location)>> {
    let mut moved = Vec::with_capacity(merge.len());
    for (key, location) in merge {
        // Its bytes matched the checksum it had: the copy has the same.
        if let Some(entry) = read_whole(key, location) {
            moved.push((key.clone(), write_at_end(open, &entry, location.crc)?));
        }
    }
    Ok(moved)
}

/// An older entry read whole for copying, when it still matches its checksum.
fn read_whole(key: &str, location: &Location) -> Option<Entry> {
    let found = Found::at(location.clone())?;
    let body = found.body(key).ok()?;
    Some(Entry {
        key: key.to_owned(),
        head: found.head,
        body: body.into(),
    })
}

/// What a run does to the packs it read, once its own is written.
#[derive(Debug, Default)]
struct Tidy {
    /// Live entries of older packs to copy into this run's pack.
    merge: Vec<(String, Location)>,
    /// Packs whose every entry is superseded: removed.
    dead: Vec<PathBuf>,
    /// Packs whose live entries are merged: removed once they are.
    merged: Vec<PathBuf>,
    /// Every pack the run read.
    read: HashSet<PathBuf>,
}

impl Tidy {
    /// Dead packs go; the live ones are merged into this run's when dead bytes outweigh live
    /// ones among them, or when there would be more than [`MAX_PACKS`].
    fn plan(index: &mut PackIndex) -> Self {
        let live = index.live_bytes();
        let (kept, dead): (Vec<&Arc<Pack>>, Vec<&Arc<Pack>>) = index
            .loaded
            .iter()
            .partition(|pack| live.contains_key(pack.path.as_path()));
        let live_total: u64 = kept.iter().map(|p| live[p.path.as_path()]).sum();
        let size_total: u64 = kept.iter().map(|p| p.len - MAGIC.len() as u64).sum();
        let merge = kept.len() + 1 > MAX_PACKS || size_total - live_total > live_total;
        let mut tidy = Self {
            dead: dead.iter().map(|p| p.path.clone()).collect(),
            read: index.loaded.iter().map(|p| p.path.clone()).collect(),
            ..Self::default()
        };
        if merge {
            let kept: HashSet<&Path> = kept.iter().map(|p| p.path.as_path()).collect();
            tidy.merge = index
                .entries
                .iter()
                .filter(|(_, l)| kept.contains(l.pack.path.as_path()))
                .map(|(k, l)| (k.clone(), l.clone()))
                .collect();
            tidy.merged = kept.iter().map(|p| p.to_path_buf()).collect();
        }
        index.loaded.clear();
        tidy
    }

    /// Leaves out of the merge the keys that packs made since the run read the bucket hold:
    /// their entries are newer than the copies the merge would give a pack named after them.
    fn leave_out_newer(&mut self, dir: &Path, own: &Path) {
        if self.merge.is_empty() {
            return;
        }
        self.read.insert(own.to_owned());
        let newer: HashSet<String> = packs_not_read(dir, &self.read)
            .iter()
            .flat_map(|pack| scan(pack).into_iter().map(|(key, _)| key))
            .collect();
        self.merge.retain(|(key, _)| !newer.contains(key));
    }
}

/// The entries queued for the writer: their keys (reading one waits for the writer) and bytes.
#[derive(Debug, Default)]
struct Pending {
    queue: Mutex<PendingQueue>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct PendingQueue {
    keys: HashMap<String, usize>,
    bytes: u64,
}

impl Pending {
    /// Waits until `bytes` more fit (or nothing is queued), then counts them in.
    fn admit(&self, key: &str, bytes: u64) {
        let mut queue = lock(&self.queue);
        while queue.bytes > 0 && queue.bytes + bytes > QUEUED_BYTES {
            queue = self.changed.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
        queue.bytes += bytes;
        *queue.keys.entry(key.to_owned()).or_default() += 1;
    }

    /// Counts a written (or dropped) entry out.
    fn done(&self, key: &str, bytes: u64) {
        let mut queue = lock(&self.queue);
        queue.bytes -= bytes;
        if let Some(count) = queue.keys.get_mut(key) {
            *count -= 1;
            if *count == 0 {
                queue.keys.remove(key);
            }
        }
        self.changed.notify_all();
    }

    /// Waits until no entry for `key` is queued.
    fn wait_for(&self, key: &str) {
        let mut queue = lock(&self.queue);
        while queue.keys.contains_key(key) {
            queue = self.changed.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Locks a mutex, taking its value even when a thread panicked holding it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn entry(key: &str, head: &str, body: &str) -> Entry {
        Entry {
            key: key.into(),
            head: head.as_bytes().to_vec(),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    /// One run: a store of its own, the entries written, the pack renamed into place.
    fn run(dir: &Path, entries: &[(&str, &str)]) {
        let store = PackStore::new(dir.to_owned());
        for (key, body) in entries {
            store.write(entry(key, "head", body));
        }
    }

    fn read(dir: &Path, key: &str) -> Option<String> {
        let found = PackStore::new(dir.to_owned()).head(key)?;
        Some(String::from_utf8(found.body(key).ok()?).unwrap())
    }

    /// The files in `dir` (a bucket's packs), sorted.
    pub(in crate::cache) fn packs(dir: &Path) -> Vec<PathBuf> {
        let mut packs: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        packs.sort();
        packs
    }

    #[test]
    fn the_newest_entry_wins_and_a_pack_left_dead_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("b");
        run(&bucket, &[("a", "a1"), ("b", "b1")]);
        run(&bucket, &[("b", "b2"), ("c", "c2")]);
        assert_eq!(packs(&bucket).len(), 2, "a live entry (a) keeps the first");
        assert_eq!(read(&bucket, "a").as_deref(), Some("a1"));
        assert_eq!(read(&bucket, "b").as_deref(), Some("b2"));
        run(&bucket, &[("a", "a3")]);
        // The first pack is dead now (a and b superseded); the second still holds b and c.
        let left = packs(&bucket);
        assert_eq!(left.len(), 2, "{left:?}");
        assert_eq!(read(&bucket, "a").as_deref(), Some("a3"));
        assert_eq!(read(&bucket, "b").as_deref(), Some("b2"));
        assert_eq!(read(&bucket, "c").as_deref(), Some("c2"));
    }

    #[test]
    fn packs_are_merged_when_there_are_too_many_or_mostly_dead() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("b");
        for i in 0..MAX_PACKS {
            run(&bucket, &[(&format!("k{i}"), "v")]);
        }
        assert_eq!(packs(&bucket).len(), MAX_PACKS);
        run(&bucket, &[("last", "v")]);
        assert_eq!(packs(&bucket).len(), 1);
        assert!((0..MAX_PACKS).all(|i| read(&bucket, &format!("k{i}")).is_some()));
        assert!(read(&bucket, "last").is_some());

        // A big entry superseded leaves its pack mostly dead: its small live one moves.
        let bucket = dir.path().join("c");
        run(&bucket, &[("big", &"x".repeat(10_000)), ("small", "s")]);
        run(&bucket, &[("big", "y")]);
        assert_eq!(packs(&bucket).len(), 1);
        assert_eq!(read(&bucket, "big").as_deref(), Some("y"));
        assert_eq!(read(&bucket, "small").as_deref(), Some("s"));
    }

    #[test]
    fn an_edited_entry_is_damaged_and_a_torn_tail_ends_the_pack() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("b");
        run(&bucket, &[("a", "body-a"), ("b", "body-b")]);
        let pack = packs(&bucket).remove(0);
        let bytes = std::fs::read(&pack).unwrap();
        let at = bytes.windows(6).position(|w| w == b"body-a").unwrap();
        let mut edited = bytes.clone();
        edited[at + 5] = b'A';
        std::fs::write(&pack, edited).unwrap();
        let store = PackStore::new(bucket.clone());
        let damaged = store.head("a").unwrap().body("a").unwrap_err();
        assert_eq!(damaged.pack, pack);
        assert_eq!(read(&bucket, "b").as_deref(), Some("body-b"));

        // Zeros where the second entry's header was (a crash before the bytes reached the
        // disk): the first entry is still read, the second is a miss.
        let mut torn = bytes.clone();
        torn[at + 6..].fill(0);
        std::fs::write(&pack, torn).unwrap();
        assert_eq!(read(&bucket, "a").as_deref(), Some("body-a"));
        assert_eq!(read(&bucket, "b"), None);
    }

    #[test]
    fn a_pack_another_run_wrote_after_this_one_looked_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("b");
        let this = PackStore::new(bucket.clone());
        assert!(
            this.head("a").is_none(),
            "the index is loaded: no packs yet"
        );
        run(&bucket, &[("a", "other")]);
        this.write(entry("a", "head", "this"));
        this.flush();
        assert_eq!(packs(&bucket).len(), 2);
        assert!(read(&bucket, "a").is_some());
    }

    #[test]
    fn an_entry_is_read_back_while_its_run_is_still_writing() {
        let dir = tempfile::tempdir().unwrap();
        let store = PackStore::new(dir.path().join("b"));
        store.write(entry("a", "head-a", "body-a"));
        let found = store.head("a").unwrap();
        assert_eq!(found.head, b"head-a");
        assert_eq!(found.body("a").unwrap(), b"body-a");
        assert!(
            packs(&dir.path().join("b"))
                .iter()
                .all(|p| crate::temporary::is_temporary(&p.file_name().unwrap().to_string_lossy())),
            "not renamed before the run ends"
        );
    }

    /// A pack of MAGIC and one entry header claiming a body of `body_len` bytes for key `k`,
    /// made that long with a sparse file.
    fn sparse_pack(dir: &Path, body_len: u64) {
        fs_err::create_dir_all(dir).unwrap();
        let mut bytes = MAGIC.to_vec();
        for word in [1u32.to_le_bytes(), 0u32.to_le_bytes()] {
            bytes.extend_from_slice(&word);
        }
        bytes.extend_from_slice(&body_len.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.push(b'k');
        let path = dir.join(format!("{:024}-1-0.pack", 1));
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(bytes.len() as u64 + body_len).unwrap();
    }

    #[test]
    fn a_body_longer_than_any_page_is_damage_not_an_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("b");
        sparse_pack(&bucket, 1 << 40);
        assert!(PackStore::new(bucket.clone()).head("k").is_none());
        // Nor does a run that merges the bucket read it.
        for i in 0..=MAX_PACKS {
            run(&bucket, &[(&format!("k{i}"), "v")]);
        }
        assert!((0..=MAX_PACKS).all(|i| read(&bucket, &format!("k{i}")).is_some()));
    }

    #[test]
    fn an_entry_a_reader_would_refuse_is_not_written_and_hides_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("b");
        let store = PackStore::new(bucket.clone());
        store.write(entry("first", "h", "1"));
        store.write(Entry {
            key: "big-head".into(),
            head: vec![b'x'; MAX_HEAD + 1],
            body: bytes::Bytes::new(),
        });
        store.write(entry("", "h", "empty key"));
        store.write(entry(&"k".repeat(MAX_KEY + 1), "h", "long key"));
        store.write(entry("after", "h", "2"));
        drop(store);
        assert_eq!(read(&bucket, "first").as_deref(), Some("1"));
        assert_eq!(read(&bucket, "big-head"), None);
        assert_eq!(read(&bucket, "after").as_deref(), Some("2"));
    }

    #[test]
    fn a_merge_does_not_bring_back_an_entry_a_newer_pack_holds() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("b");
        run(&bucket, &[("k", "old")]);
        for i in 1..MAX_PACKS {
            run(&bucket, &[(&format!("p{i}"), "v")]);
        }
        // Two runs at once: C writes k anew; B read the bucket before C's pack was there,
        // and merges (there would be more than MAX_PACKS packs).
        let c = PackStore::new(bucket.clone());
        c.write(entry("k", "head", "new"));
        let b = PackStore::new(bucket.clone());
        b.write(entry("x", "head", "x"));
        assert!(b.head("x").is_some());
        c.flush();
        b.flush();
        assert_eq!(read(&bucket, "k").as_deref(), Some("new"));
        assert_eq!(read(&bucket, "x").as_deref(), Some("x"));
    }

    #[test]
    fn a_run_names_its_pack_after_every_pack_it_read_whatever_the_clock_says() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("b");
        run(&bucket, &[("j", "q")]);
        // A pack from a clock far ahead (another host sharing the cache, or a clock stepped
        // back since).
        let future = bucket.join(format!("{:024}-1-0.pack", u128::MAX / 10u128.pow(15)));
        std::fs::rename(packs(&bucket).remove(0), &future).unwrap();
        run(&bucket, &[("j", "b")]);
        // The new pack sorts after the future one: its j wins, and the future one is dead.
        assert_eq!(packs(&bucket).len(), 1, "{:?}", packs(&bucket));
        assert!(packs(&bucket)[0] > future);
        assert_eq!(read(&bucket, "j").as_deref(), Some("b"));
    }
}
