//! Where distribution files are found: package indexes (the simple repository API) and
//! find-links locations (a directory, or an HTML page of links such as a plain directory
//! served over HTTP).
//!
//! Sources are asked in order — find-links locations first, then `--index-url`, then each
//! `--extra-index-url` — and the **first source that knows a project provides all of its
//! files**. Unlike pip, which merges every index, this keeps a project registered on a public
//! index from shadowing the internal one of the same name (dependency confusion), as uv's
//! default `first-index` strategy does.
//!
//! Project pages are fetched at `<index>/<normalized name>/` (PEP 503), asking for PEP 691
//! JSON and accepting HTML, through the shared [`HttpClient`] and the on-disk [`Cache`].

pub mod simple;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use pep440_rs::Version;
use pep508_rs::PackageName;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};

use crate::cache::{Cache, CacheMode, CachedPage, PageMeta, now};
use crate::filename::DistFilename;
use crate::http::{Body, BodyError, HttpClient, HttpError};
use crate::requirements::FindLinks;
use crate::safe_url::SafeUrl;
use simple::{Page, PageError, PageFile, PageFormat};

/// The public index, pip's default.
pub const PYPI: &str = "https://pypi.org/simple/";

/// One place files are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A simple-API index, its URL ending in `/`.
    Index(SafeUrl),
    /// A find-links location.
    FindLinks(FindLinks),
}

impl Source {
    /// An index source; the URL gets a trailing slash so that `name/` joins under it.
    pub fn index(url: &SafeUrl) -> Self {
        Self::Index(url.as_directory())
    }

    /// How the source is named in a lock's `index` key: the URL without credentials, or the
    /// find-links location.
    pub fn lock_name(&self) -> String {
        match self {
            Self::Index(url) => url
                .without_credentials()
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            Self::FindLinks(FindLinks::Url(url)) => url.without_credentials().to_string(),
            Self::FindLinks(FindLinks::Dir(dir)) => dir.display().to_string(),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Index(url) => write!(f, "{url}"),
            Self::FindLinks(links) => write!(f, "{links}"),
        }
    }
}

/// Where a file can be fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileLocation {
    /// A URL (credentials possibly inside, masked when shown).
    Url(SafeUrl),
    /// A local file.
    Path(PathBuf),
}

impl std::fmt::Display for FileLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Url(url) => write!(f, "{url}"),
            Self::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A file of a project, as found on a source.
#[derive(Debug, Clone)]
pub struct ProjectFile {
    /// The parsed file name.
    pub name: DistFilename,
    /// What the page said about it.
    pub page: PageFile,
    /// Where to fetch it.
    pub location: FileLocation,
}

/// A project's files on the first source that has it.
#[derive(Debug, Clone)]
pub struct Project {
    /// Which source (index into [`Index::sources`]).
    pub source: usize,
    /// The files of the wanted versions, in page order.
    pub files: Vec<ProjectFile>,
    /// Every version the source has files for, sorted (for "nearest versions" messages).
    pub versions: Vec<Version>,
    /// Files on the page whose links could not be resolved (reported, not fatal).
    pub bad_links: Vec<String>,
    /// The project's PEP 792 status, when the page gives it.
    pub status: Option<simple::ProjectStatus>,
}

/// Sorts a page's file names: those of wanted versions are kept, every version is noted.
/// Parsing a name is cheap; resolving a URL or copying a page entry for each of the thousands
/// of files of a long-lived project is not, so only wanted files go further.
struct Sieve<'a> {
    name: &'a PackageName,
    wanted: &'a dyn Fn(&Version) -> bool,
    versions: BTreeSet<Version>,
    /// Whether each version text seen so far is wanted: a version's files share it, and
    /// parsing every file name in full (name, version, tags) was most of a page's allocations.
    seen: HashMap<String, bool>,
}

impl Sieve<'_> {
    /// Whether the file is one of a wanted version, noting its version either way. The same
    /// answer as `keep(filename).is_some()`, parsing each version only once.
    fn wants(&mut self, filename: &str) -> bool {
        let Some(text) = DistFilename::version_text(filename, self.name) else {
            return self.keep(filename).is_some();
        };
        if let Some(&wanted) = self.seen.get(text) {
            return wanted;
        }
        let wanted = match Version::from_str(text) {
            Ok(version) => {
                let wanted = (self.wanted)(&version);
                self.versions.insert(version);
                wanted
            }
            Err(_) => false,
        };
        self.seen.insert(text.to_owned(), wanted);
        wanted
    }

    fn keep(&mut self, filename: &str) -> Option<DistFilename> {
        let dist = DistFilename::parse(filename, self.name)?;
        let wanted = (self.wanted)(dist.version());
        if !self.versions.contains(dist.version()) {
            self.versions.insert(dist.version().clone());
        }
        wanted.then_some(dist)
    }

    fn project(self, source: usize, files: Vec<ProjectFile>, bad_links: Vec<String>) -> Project {
        Project {
            source,
            files,
            versions: self.versions.into_iter().collect(),
            bad_links,
            status: None,
        }
    }
}

/// Why a project could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The network failed, or the server answered with an error.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// `--offline` and the page is not in the cache.
    #[error("{url} is not in the cache (run once without --offline to fill it)")]
    NotCached {
        /// The page.
        url: SafeUrl,
    },
    /// The page could not be parsed.
    #[error("{url}: {source}")]
    Page {
        /// The page.
        url: SafeUrl,
        /// Why.
        source: PageError,
    },
    /// A failure shared by every project that needed the same find-links location.
    #[error(transparent)]
    Shared(Arc<IndexError>),
    /// A find-links directory could not be read.
    #[error("cannot read find-links directory {}: {source}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The sources, with the client and cache used to read them. Shared by reference across
/// worker threads.
#[derive(Debug)]
pub struct Index {
    http: HttpClient,
    cache: Cache,
    sources: Vec<Source>,
    /// Find-links pages are read once per run, whatever the number of projects.
    link_pages: Vec<OnceLock<Result<Arc<LinkPage>, Arc<IndexError>>>>,
    /// Pages fetched before they were asked for ([`Index::prefetch`]).
    ahead: Mutex<Ahead>,
}

/// The most page bytes [`Index::prefetch`] holds at once: past it, pages are fetched when
/// asked for, as without prefetching.
const AHEAD_BYTES: usize = 32 << 20;

/// Pages fetched ahead, by URL (without credentials), until a lookup takes them; `None` for
/// a source that does not have the project. The projects asked for, so each is fetched once.
#[derive(Debug, Default)]
struct Ahead {
    pages: HashMap<String, Option<CachedPage>>,
    projects: HashSet<PackageName>,
    bytes: usize,
}

/// A find-links page or directory: every file name and its location.
#[derive(Debug)]
struct LinkPage {
    files: Vec<(PageFile, FileLocation)>,
}

impl Index {
    /// An index over `sources`, in lookup order.
    pub fn new(http: HttpClient, cache: Cache, sources: Vec<Source>) -> Self {
        let link_pages = sources.iter().map(|_| OnceLock::new()).collect();
        Self {
            http,
            cache,
            sources,
            link_pages,
            ahead: Mutex::default(),
        }
    }

    /// Fetches `name`'s page now, on this thread, so that a later [`Index::project`] for it
    /// finds the page without asking the network: dependencies no pin covers are looked up
    /// only once the lock is made, and asking for them then was a round of requests of its
    /// own. Once per project; nothing when the pages held ahead already pass 32 MiB. An error
    /// is left for the later lookup to meet and report.
    pub fn prefetch(&self, name: &PackageName) {
        {
            let mut ahead = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
            if ahead.bytes >= AHEAD_BYTES || !ahead.projects.insert(name.clone()) {
                return;
            }
        }
        for source in &self.sources {
            let Source::Index(index) = source else {
                continue;
            };
            let Ok(url) = index.join(&format!("{name}/")) else {
                return;
            };
            let Ok(page) = self.fetch_page(&url) else {
                return;
            };
            let found = page.is_some();
            let mut ahead = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
            ahead.bytes += page.as_ref().map_or(0, |p| p.body.len());
            ahead
                .pages
                .insert(url.without_credentials().to_string(), page);
            if found {
                return;
            }
        }
    }

    /// The page at `url`: the one fetched ahead, taken, else fetched now.
    fn page(&self, url: &SafeUrl) -> Result<Option<CachedPage>, IndexError> {
        let key = url.without_credentials().to_string();
        let taken = {
            let mut ahead = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
            let taken = ahead.pages.remove(&key);
            let held = taken.as_ref().and_then(Option::as_ref);
            ahead.bytes -= held.map_or(0, |p| p.body.len());
            taken
        };
        match taken {
            Some(page) => Ok(page),
            None => self.fetch_page(url),
        }
    }

    /// The sources, in lookup order.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The HTTP client, for work after the index (its credentials and connections stay).
    pub fn into_http(self) -> HttpClient {
        self.http
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The files of `name` whose version `wanted` accepts, on the first source that has the
    /// project; `None` when no source has it.
    pub fn project(
        &self,
        name: &PackageName,
        wanted: &dyn Fn(&Version) -> bool,
    ) -> Result<Option<Project>, IndexError> {
        for source in 0..self.sources.len() {
            let found = self.project_on(source, name, wanted)?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The files of `name` whose version `wanted` accepts on source number `source` alone
    /// (`audit` asks the source a lock entry names); `None` when it does not have the project.
    pub fn project_on(
        &self,
        source: usize,
        name: &PackageName,
        wanted: &dyn Fn(&Version) -> bool,
    ) -> Result<Option<Project>, IndexError> {
        let sieve = Sieve {
            name,
            wanted,
            versions: BTreeSet::new(),
            seen: HashMap::new(),
        };
        match &self.sources[source] {
            Source::Index(url) => self.index_project(source, url, sieve),
            Source::FindLinks(_) => self.links_project(source, sieve),
        }
    }

    fn index_project(
        &self,
        source: usize,
        index: &SafeUrl,
        mut sieve: Sieve<'_>,
    ) -> Result<Option<Project>, IndexError> {
        let url = index
            .join(&format!("{}/", sieve.name))
            .map_err(|e| IndexError::Page {
                url: index.clone(),
                source: PageError::Url(e),
            })?;
        let Some(page) = self.page(&url)? else {
            return Ok(None);
        };
        let format = PageFormat::detect(page.meta.content_type.as_deref(), &page.body);
        let mut keep = |filename: &str| sieve.wants(filename);
        let parsed =
            Page::parse(&page.body, format, &mut keep).map_err(|source| IndexError::Page {
                url: url.clone(),
                source,
            })?;
        let base = parsed.base_url(&answered_url(&page, &url));
        let mut files = Vec::with_capacity(parsed.files.len());
        let mut bad_links = Vec::new();
        for file in parsed.files {
            let Some(dist) = DistFilename::parse(&file.filename, sieve.name) else {
                continue;
            };
            match base.join(&file.href) {
                Ok(location) => files.push(ProjectFile {
                    name: dist,
                    location: FileLocation::Url(location),
                    page: file,
                }),
                Err(e) => bad_links.push(format!("{}: {e}", file.filename)),
            }
        }
        let mut project = sieve.project(source, files, bad_links);
        project.status = parsed.status;
        Ok(Some(project))
    }

    fn fetch_page(&self, url: &SafeUrl) -> Result<Option<CachedPage>, IndexError> {
        fetch_page(&self.http, &self.cache, url, simple::ACCEPT)
    }

    fn links_project(
        &self,
        source: usize,
        mut sieve: Sieve<'_>,
    ) -> Result<Option<Project>, IndexError> {
        let links = self.link_pages[source]
            .get_or_init(|| self.read_links(source).map(Arc::new).map_err(Arc::new))
            .as_ref()
            .map_err(|e| IndexError::Shared(e.clone()))?;
        let files: Vec<ProjectFile> = links
            .files
            .iter()
            .filter_map(|(page, location)| {
                Some(ProjectFile {
                    name: sieve.keep(&page.filename)?,
                    page: page.clone(),
                    location: location.clone(),
                })
            })
            .collect();
        // A find-links location "has" a project when it has any file of it.
        Ok((!sieve.versions.is_empty()).then(|| sieve.project(source, files, Vec::new())))
    }

    fn read_links(&self, source: usize) -> Result<LinkPage, IndexError> {
        match &self.sources[source] {
            Source::FindLinks(FindLinks::Dir(dir)) => read_dir_links(dir),
            Source::FindLinks(FindLinks::Url(url)) => {
                let Some(page) = self.fetch_page(url)? else {
                    return Err(HttpError::Status {
                        url: url.clone(),
                        status: StatusCode::NOT_FOUND,
                    }
                    .into());
                };
                let parsed =
                    Page::parse(&page.body, PageFormat::Html, &mut |_| true).map_err(|source| {
                        IndexError::Page {
                            url: url.clone(),
                            source,
                        }
                    })?;
                let base = parsed.base_url(&answered_url(&page, url));
                let files = parsed
                    .files
                    .into_iter()
                    .filter_map(|file| {
                        let location = base.join(&file.href).ok()?;
                        Some((file, FileLocation::Url(location)))
                    })
                    .collect();
                Ok(LinkPage { files })
            }
            Source::Index(_) => unreachable!("only find-links sources have link pages"),
        }
    }
}

/// Fetches a page through the cache; `None` on 404 (the source does not have it). Fresh
/// entries are used as they are, stale ones revalidated when the server gave validators.
pub fn fetch_page(
    http: &HttpClient,
    cache: &Cache,
    url: &SafeUrl,
    accept: &'static str,
) -> Result<Option<CachedPage>, IndexError> {
    let key = url.without_credentials().to_string();
    let cached = cache.read_page(&key);
    if cache.mode() == CacheMode::Offline {
        return cached
            .map(Some)
            .ok_or_else(|| IndexError::NotCached { url: url.clone() });
    }
    if let Some(page) = &cached
        && page.meta.is_fresh()
    {
        return Ok(cached);
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
    if let Some(meta) = cached.as_ref().map(|c| &c.meta) {
        if let Some(etag) = meta
            .etag
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = meta
            .last_modified
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::IF_MODIFIED_SINCE, date);
        }
    }
    let fetched = http.get_body(url, &headers, |body| read_answer(body, url, &key, http))?;
    match (fetched, cached) {
        (Answer::Status(StatusCode::NOT_MODIFIED), Some(page)) => Ok(Some(cache.touch_page(page))),
        (Answer::Status(StatusCode::NOT_FOUND), _) => Ok(None),
        (Answer::Status(status), _) => Err(HttpError::Status {
            url: url.clone(),
            status,
        }
        .into()),
        (Answer::Page(page), _) => {
            cache.write_page(&page);
            Ok(Some(page))
        }
    }
}

/// What a page request got: the page, or a status with no page to keep.
enum Answer {
    Status(StatusCode),
    Page(CachedPage),
}

/// Reads a page request's answer: 304 and 404 as they are, a success whole (within
/// `--max-page-size`), with what the cache keeps about it.
fn read_answer(
    body: &mut Body,
    url: &SafeUrl,
    key: &str,
    http: &HttpClient,
) -> Result<Answer, BodyError<IndexError>> {
    let status = body.status();
    if status == StatusCode::NOT_MODIFIED || status == StatusCode::NOT_FOUND {
        return Ok(Answer::Status(status));
    }
    body.require_success()?;
    let header_text = |name: header::HeaderName| {
        body.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let answered = url.redirected_to(body.final_url()).without_credentials();
    let mut meta = PageMeta {
        url: key.to_owned(),
        answered_url: (answered.as_str() != key).then(|| answered.to_string()),
        content_type: header_text(header::CONTENT_TYPE),
        etag: header_text(header::ETAG),
        last_modified: header_text(header::LAST_MODIFIED),
        max_age: header_text(header::CACHE_CONTROL).and_then(|cc| max_age(&cc)),
        fetched_at: now(),
        len: 0,
    };
    let bytes = body.read_all(http.max_body()).map_err(BodyError::widen)?;
    meta.len = bytes.len() as u64;
    Ok(Answer::Page(CachedPage {
        meta,
        body: bytes.into(),
    }))
}

/// The URL that answered for `page`, which its relative links resolve against (pip resolves
/// them against the URL a redirect ended at, not the one asked for).
fn answered_url(page: &CachedPage, asked: &SafeUrl) -> SafeUrl {
    page.meta
        .answered_url
        .as_deref()
        .and_then(|answered| url::Url::parse(answered).ok())
        .map_or_else(|| asked.clone(), |answered| asked.redirected_to(&answered))
}

fn read_dir_links(dir: &Path) -> Result<LinkPage, IndexError> {
    let io_error = |source| IndexError::Dir {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs_err::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let metadata = entry.metadata().map_err(io_error)?;
        if !metadata.is_file() {
            continue;
        }
        let filename = entry.file_name().to_string_lossy().into_owned();
        files.push((
            PageFile {
                href: filename.clone(),
                size: Some(metadata.len()),
                filename,
                ..PageFile::default()
            },
            FileLocation::Path(entry.path()),
        ));
    }
    // Directory order is arbitrary; sort so that runs are reproducible.
    files.sort_by(|a, b| a.0.filename.cmp(&b.0.filename));
    Ok(LinkPage { files })
}

/// The `max-age` of a `Cache-Control` header, unless `no-cache`/`no-store` forbid reuse.
fn max_age(cache_control: &str) -> Option<u64> {
    let directives: Vec<String> = cache_control
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    if directives
        .iter()
        .any(|d| d == "no-cache" || d == "no-store")
    {
        return None;
    }
    directives
        .iter()
        .find_map(|d| d.strip_prefix("max-age=")?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(max_age("max-age=600, public"), Some(600));
        assert_eq!(max_age("public, MAX-AGE=60"), Some(60));
        assert_eq!(max_age("no-cache, max-age=600"), None);
        assert_eq!(max_age("public"), None);
    }

    #[test]
    fn lock_name_has_no_credentials_or_trailing_slash() {
        let source = Source::index(&SafeUrl::parse("https://u:p@h/simple").unwrap());
        assert_eq!(source.lock_name(), "https://h/simple");
        assert_eq!(source.to_string(), "https://u:****@h/simple/");
    }
}
