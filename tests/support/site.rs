//! What a [`TestServer`](super::server::TestServer) serves: a [`Site`], the
//! routing table a test shares with the running server and may change at
//! any time (tamper with a file between two runs, queue a fault, switch
//! content negotiation off), made of [`Resource`]s.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::encode::{base64_standard, percent_decode};
use super::http::TEXT_HTML;

/// Locks a mutex, ignoring poison: a test that panicked while holding one
/// of these locks must not turn every later request into a second panic.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Something served at one path: one or more representations (variants) of
/// different media types, chosen by the request's `Accept` header, plus
/// extra response headers.
#[derive(Clone, Debug)]
pub struct Resource {
    pub(super) variants: Vec<Variant>,
    pub(super) headers: Vec<(String, String)>,
    /// Whether `Range` requests are honoured.
    pub(super) ranges: bool,
}

#[derive(Clone, Debug)]
pub(super) struct Variant {
    pub(super) content_type: String,
    pub(super) body: Arc<[u8]>,
}

impl Resource {
    /// A resource with one representation. Range requests are honoured
    /// unless [`Resource::without_ranges`] says otherwise.
    pub fn new(content_type: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Resource {
            variants: vec![Variant {
                content_type: content_type.into(),
                body: body.into().into(),
            }],
            headers: Vec::new(),
            ranges: true,
        }
    }

    /// A `text/html` page.
    pub fn html(body: impl Into<Vec<u8>>) -> Self {
        Self::new(TEXT_HTML, body)
    }

    /// An `application/json` document.
    pub fn json(body: impl Into<Vec<u8>>) -> Self {
        Self::new("application/json", body)
    }

    /// A file, served as `application/octet-stream`.
    pub fn file(body: impl Into<Vec<u8>>) -> Self {
        Self::new("application/octet-stream", body)
    }

    /// Adds another representation. When the client's `Accept` header
    /// does not prefer one, the first one added wins.
    pub fn variant(mut self, content_type: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        self.variants.push(Variant {
            content_type: content_type.into(),
            body: body.into().into(),
        });
        self
    }

    /// Sets a response header, replacing one of the same name.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the `ETag`; a bare tag is quoted (`abc` becomes `"abc"`), a
    /// quoted or weak (`W/"abc"`) one is kept as it is. Requests whose
    /// `If-None-Match` matches it get `304 Not Modified`.
    pub fn etag(self, tag: &str) -> Self {
        let value = if tag.starts_with('"') || tag.starts_with("W/") {
            tag.to_owned()
        } else {
            format!("\"{tag}\"")
        };
        self.header("ETag", value)
    }

    /// Sets `Last-Modified`. A request whose `If-Modified-Since` is the same
    /// string (and that has no `If-None-Match`) gets `304 Not Modified`.
    pub fn last_modified(self, http_date: &str) -> Self {
        self.header("Last-Modified", http_date)
    }

    /// Sets `Cache-Control`.
    pub fn cache_control(self, value: &str) -> Self {
        self.header("Cache-Control", value)
    }

    /// Ignores `Range` headers and always answers 200 with the whole body,
    /// like servers without range support.
    pub fn without_ranges(mut self) -> Self {
        self.ranges = false;
        self
    }

    /// Replaces the body of the first representation.
    pub fn set_body(&mut self, body: impl Into<Vec<u8>>) {
        self.variants[0].body = body.into().into();
    }

    /// The body of the first representation.
    pub fn body(&self) -> &[u8] {
        &self.variants[0].body
    }

    pub(super) fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A misbehaviour of one route, injected to test a client's error handling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (and a short text body), with `Retry-After`
    /// when given (for 429 and 503).
    Status {
        code: u16,
        retry_after: Option<String>,
    },
    /// Read the request, then close the socket with `SO_LINGER` 0 so the
    /// client sees a connection reset instead of a response.
    Reset,
    /// Read the request, send nothing for this long, then close. A client
    /// with a shorter read timeout times out.
    Stall(Duration),
    /// Announce the full `Content-Length` but send only this many body
    /// bytes, then close.
    Truncate(usize),
    /// Answer normally after this delay.
    Delay(Duration),
    /// Answer normally once a request for `path` has arrived, or after `limit` if none does:
    /// for tests of the order of a client's requests that must not depend on how fast a
    /// loaded machine runs the client.
    HoldUntilAsked { path: String, limit: Duration },
    /// Answer normally, but send the body in four pieces with this pause before each of the
    /// last three: a body that takes longer in all than any one wait for data.
    Trickle(Duration),
    /// Answer with a redirect to `location`.
    Redirect { status: u16, location: String },
}

impl Fault {
    /// [`Fault::Status`] without `Retry-After`.
    pub fn status(code: u16) -> Self {
        Fault::Status {
            code,
            retry_after: None,
        }
    }

    /// [`Fault::Status`] with a `Retry-After` value (seconds or an HTTP date).
    pub fn status_retry_after(code: u16, retry_after: impl Into<String>) -> Self {
        Fault::Status {
            code,
            retry_after: Some(retry_after.into()),
        }
    }

    /// [`Fault::HoldUntilAsked`].
    pub fn hold_until_asked(path: impl Into<String>, limit: Duration) -> Self {
        Fault::HoldUntilAsked {
            path: path.into(),
            limit,
        }
    }

    /// [`Fault::Redirect`].
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Fault::Redirect {
            status,
            location: location.into(),
        }
    }
}

/// How many requests a fault spoils before the route behaves normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fires {
    Times(u32),
    Forever,
}

impl Fires {
    pub const ONCE: Fires = Fires::Times(1);
}

/// The routing table a [`TestServer`](super::server::TestServer) serves.
/// Cloning gives another handle on the same table, so a test can change it
/// while the server runs.
#[derive(Clone, Default)]
pub struct Site {
    state: Arc<Mutex<SiteState>>,
}

#[derive(Default)]
struct SiteState {
    routes: HashMap<String, Resource>,
    dirs: Vec<(String, PathBuf)>,
    /// Keyed by path apart from routes, so that faults outlive a route being
    /// replaced and can be put on paths served from a directory.
    faults: HashMap<String, VecDeque<(Fault, Fires)>>,
    html_only: bool,
    latency: Duration,
    /// The expected Basic credentials, base64-encoded.
    basic_auth: Option<String>,
}

impl SiteState {
    fn take_fault(&mut self, path: &str) -> Option<Fault> {
        let queue = self.faults.get_mut(path)?;
        while let Some((fault, fires)) = queue.front_mut() {
            match fires {
                Fires::Forever => return Some(fault.clone()),
                Fires::Times(0) => {
                    queue.pop_front();
                }
                Fires::Times(n) => {
                    *n -= 1;
                    let fault = fault.clone();
                    if *n == 0 {
                        queue.pop_front();
                    }
                    return Some(fault);
                }
            }
        }
        None
    }
}

impl Site {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `resource` at the exact `path` (no query), replacing what was
    /// there.
    pub fn route(&self, path: impl Into<String>, resource: Resource) -> &Self {
        lock(&self.state).routes.insert(path.into(), resource);
        self
    }

    /// Stops serving `path`; later requests get 404.
    pub fn remove(&self, path: &str) -> Option<Resource> {
        lock(&self.state).routes.remove(path)
    }

    /// A copy of what is served at `path`.
    pub fn resource(&self, path: &str) -> Option<Resource> {
        lock(&self.state).routes.get(path).cloned()
    }

    /// Edits the resource at `path` in place.
    ///
    /// # Panics
    /// When nothing is routed at `path`: a test editing a missing route is
    /// wrong, and saying so beats a silent no-op.
    pub fn update(&self, path: &str, edit: impl FnOnce(&mut Resource)) {
        let mut state = lock(&self.state);
        let resource = state
            .routes
            .get_mut(path)
            .unwrap_or_else(|| panic!("no route at {path}"));
        edit(resource);
    }

    /// The routed paths, sorted.
    pub fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = lock(&self.state).routes.keys().cloned().collect();
        paths.sort();
        paths
    }

    /// Queues a fault on `path`. Faults fire in the order queued; each one
    /// spoils `fires` requests before the next one (or normal service)
    /// takes over. They fire before the Basic auth check, as a broken proxy
    /// or load balancer in front of the index would.
    pub fn fault(&self, path: impl Into<String>, fault: Fault, fires: Fires) -> &Self {
        lock(&self.state)
            .faults
            .entry(path.into())
            .or_default()
            .push_back((fault, fires));
        self
    }

    /// Drops the faults still queued on `path`.
    pub fn clear_faults(&self, path: &str) {
        lock(&self.state).faults.remove(path);
    }

    /// When on, non-HTML representations are never chosen, like mirrors
    /// that answer HTML even when JSON is asked for.
    pub fn set_html_only(&self, on: bool) {
        lock(&self.state).html_only = on;
    }

    /// Waits this long before every response, standing in for network
    /// latency (benchmarks use it to make round trips count).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// Answers 401 with `WWW-Authenticate: Basic realm="test"` to requests
    /// without these credentials.
    pub fn require_basic_auth(&self, user: &str, password: &str) {
        lock(&self.state).basic_auth =
            Some(base64_standard(format!("{user}:{password}").as_bytes()));
    }

    pub fn clear_basic_auth(&self) {
        lock(&self.state).basic_auth = None;
    }

    /// Serves the tree under `dir` at `url_prefix`, reading files at request
    /// time. A path naming a directory (or ending in `/`) serves that
    /// directory's `index.html`. Routes take precedence over directories.
    pub fn serve_dir(&self, url_prefix: &str, dir: impl Into<PathBuf>) -> &Self {
        let prefix = url_prefix.trim_end_matches('/').to_owned();
        lock(&self.state).dirs.push((prefix, dir.into()));
        self
    }

    /// Decides, under one lock, everything about the answer to a request
    /// for path `raw` (as sent, without the query) that depends on the
    /// site, consuming a fault firing if one is due.
    pub(super) fn plan(&self, raw: &str, authorization: Option<&str>) -> Plan {
        let mut state = lock(&self.state);
        let path = percent_decode(raw).unwrap_or_else(|| raw.to_owned());
        let fault = state.take_fault(&path);
        let authorized = state.basic_auth.as_deref().is_none_or(|expected| {
            authorization
                .and_then(|value| value.split_once(' '))
                .is_some_and(|(scheme, token)| {
                    scheme.eq_ignore_ascii_case("basic") && token.trim() == expected
                })
        });
        let target = if let Some(resource) = state.routes.get(&path).or(state.routes.get(raw)) {
            Target::Resource(resource.clone())
        } else if let Some(file) = state
            .dirs
            .iter()
            .find_map(|(prefix, dir)| resolve_in_dir(prefix, dir, &path))
        {
            Target::Disk(file)
        } else {
            Target::Missing
        };
        Plan {
            latency: state.latency,
            fault,
            authorized,
            html_only: state.html_only,
            target,
        }
    }
}

/// How to answer one request, as far as the site decides.
pub(super) struct Plan {
    pub(super) latency: Duration,
    pub(super) fault: Option<Fault>,
    pub(super) authorized: bool,
    pub(super) html_only: bool,
    pub(super) target: Target,
}

/// What a request's path leads to.
pub(super) enum Target {
    Resource(Resource),
    /// A file under a [`Site::serve_dir`] directory, read only once the
    /// site's lock is released.
    Disk(PathBuf),
    Missing,
}

impl Target {
    /// The resource to serve; `None` for a missing path (or a file that
    /// vanished since it was found).
    pub(super) fn into_resource(self) -> Option<Resource> {
        match self {
            Target::Resource(resource) => Some(resource),
            Target::Disk(path) => {
                let bytes = std::fs::read(&path).ok()?;
                Some(Resource::new(content_type_for(&path), bytes))
            }
            Target::Missing => None,
        }
    }
}

/// Maps a decoded URL path to a file under `dir`, refusing `..` and the
/// like so a request cannot leave the tree.
fn resolve_in_dir(prefix: &str, dir: &Path, path: &str) -> Option<PathBuf> {
    let rest = path.strip_prefix(prefix)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let mut file = dir.to_path_buf();
    for segment in rest.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." || segment.contains('\\') {
            return None;
        }
        file.push(segment);
    }
    if rest.is_empty() || rest.ends_with('/') || file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn content_type_for(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html" | "htm") => TEXT_HTML,
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
