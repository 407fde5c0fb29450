//! A small HTTP/1.1 server on `std::net`, written by hand for the tests.
//!
//! Network code is tested against a real server on 127.0.0.1 rather than a
//! mock, and an off-the-shelf server would hide the socket the tests need:
//! to reset a connection, stall it, or cut a body short, and to record
//! exactly which requests a client made. So this one is small enough to
//! read in one sitting: a thread per connection, keep-alive as HTTP/1.1
//! says (`Connection: close` honoured), GET and HEAD only.
//!
//! What it serves is a [`Site`] (see `site.rs`); the HTTP rules it follows
//! for negotiation, ranges and validators are in `http.rs`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::http::{RangeRequest, negotiate, not_modified, parse_range, reason};
use super::site::{Plan, lock};

// The server's whole API lives at `support::server`; a test binary that
// uses part of it leaves the rest of these re-exports unused.
#[allow(unused_imports)]
pub use super::http::{SIMPLE_V1_HTML, SIMPLE_V1_JSON, TEXT_HTML};
#[allow(unused_imports)]
pub use super::site::{Fault, Fires, Resource, Site};

/// A second loopback address, for tests where "another host" matters (for
/// example that credentials for one host are not sent to another): Linux
/// routes all of 127.0.0.0/8 to the loopback interface.
pub const SECOND_LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The longest request head (request line and headers) the server reads.
const MAX_HEAD: u64 = 64 * 1024;

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    /// The request target: path and query, as sent (not percent-decoded).
    pub path: String,
    /// All request headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Which connection carried it, numbered from 1 per server: equal
    /// numbers mean the client reused a kept-alive connection.
    pub connection: u64,
}

impl LoggedRequest {
    /// The first header of this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    /// The path without the query.
    pub fn path_only(&self) -> &str {
        self.path.split_once('?').map_or(&self.path, |(p, _)| p)
    }

    pub fn accept(&self) -> Option<&str> {
        self.header("accept")
    }

    pub fn range(&self) -> Option<&str> {
        self.header("range")
    }

    pub fn authorization(&self) -> Option<&str> {
        self.header("authorization")
    }

    pub fn if_none_match(&self) -> Option<&str> {
        self.header("if-none-match")
    }

    pub fn if_modified_since(&self) -> Option<&str> {
        self.header("if-modified-since")
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.header("user-agent")
    }
}

fn header_in<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A running server. Dropping it stops the accept loop and shuts down the
/// open connections, so an idle keep-alive connection or a stalled
/// response cannot hang the test.
pub struct TestServer {
    addr: SocketAddr,
    site: Site,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

/// What the accept loop, the connection threads and the handle share.
#[derive(Default)]
struct Shared {
    log: Mutex<Vec<LoggedRequest>>,
    stopping: Mutex<bool>,
    /// Signalled when `stopping` turns true, so waits end early.
    stopped: Condvar,
    /// A handle on each open connection, to shut it down on drop.
    connections: Mutex<HashMap<u64, TcpStream>>,
    /// How many [`Fault::HoldUntilAsked`] holds ran out without the awaited request.
    holds_timed_out: Mutex<usize>,
}

impl Shared {
    /// Waits `duration`, or less if the server is stopping; says whether
    /// the server is still running. Faults and latency wait here rather
    /// than in `thread::sleep` so that dropping the server ends them.
    fn pause(&self, duration: Duration) -> bool {
        let stopping = lock(&self.stopping);
        let (stopping, _) = self
            .stopped
            .wait_timeout_while(stopping, duration, |stopping| !*stopping)
            .unwrap_or_else(PoisonError::into_inner);
        !*stopping
    }

    /// Waits until a request for `path` (ignoring its query) has been logged, at most `limit`;
    /// says whether the server is still running.
    fn wait_for_request(&self, path: &str, limit: Duration) -> bool {
        let step = Duration::from_millis(10);
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if lock(&self.log).iter().any(|r| r.path_only() == path) {
                return true;
            }
            if !self.pause(step) {
                return false;
            }
        }
        *lock(&self.holds_timed_out) += 1;
        true
    }
}

impl TestServer {
    /// Starts serving `site` on 127.0.0.1 at a free port. The socket is
    /// bound before this returns, so clients may connect at once.
    pub fn start(site: Site) -> Self {
        Self::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), site)
    }

    /// Like [`TestServer::start`], on another loopback address such as
    /// [`SECOND_LOOPBACK`].
    pub fn start_on(ip: IpAddr, site: Site) -> Self {
        let listener = TcpListener::bind((ip, 0))
            .unwrap_or_else(|e| panic!("cannot bind a test server on {ip}: {e}"));
        let addr = listener.local_addr().expect("bound socket has an address");
        let shared = Arc::new(Shared::default());
        let accept_thread = thread::Builder::new()
            .name(format!("test-server-{addr}"))
            .spawn({
                let (site, shared) = (site.clone(), shared.clone());
                move || accept_loop(&listener, &site, &shared)
            })
            .expect("spawn the accept thread");
        TestServer {
            addr,
            site,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The absolute URL of `path` (a leading `/` is added when missing).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.base_url())
        } else {
            format!("{}/{path}", self.base_url())
        }
    }

    /// The site served, to change while the server runs.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// Every request received so far (including those a fault spoiled), in
    /// order of arrival.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    /// The requests for `path`, ignoring their query.
    pub fn requests_to(&self, path: &str) -> Vec<LoggedRequest> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path_only() == path)
            .cloned()
            .collect()
    }

    /// How many [`Fault::HoldUntilAsked`] holds answered at their limit, the awaited request
    /// never having come.
    pub fn holds_timed_out(&self) -> usize {
        *lock(&self.shared.holds_timed_out)
    }

    pub fn clear_log(&self) {
        lock(&self.shared.log).clear();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        *lock(&self.shared.stopping) = true;
        self.shared.stopped.notify_all();
        // The accept loop is blocked in accept(); a connection wakes it, and
        // it checks the flag before serving anything. If that connection
        // cannot be made, leave the thread be rather than risk a hang.
        let woken = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).is_ok();
        if let Some(thread) = self.accept_thread.take().filter(|_| woken) {
            let _ = thread.join();
        }
        for (_, stream) in lock(&self.shared.connections).drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: &TcpListener, site: &Site, shared: &Arc<Shared>) {
    let mut next_id = 0;
    for stream in listener.incoming() {
        if *lock(&shared.stopping) {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => {
                eprintln!(
                    "test server {:?}: accept failed, stopping: {e}",
                    listener.local_addr()
                );
                break;
            }
        };
        // Small responses on kept-alive connections would otherwise wait
        // for Nagle's algorithm, adding tens of milliseconds per request.
        let _ = stream.set_nodelay(true);
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        next_id += 1;
        let id = next_id;
        lock(&shared.connections).insert(id, handle);
        let (site, shared) = (site.clone(), shared.clone());
        thread::spawn(move || serve_connection(stream, id, &site, &shared));
    }
}

/// How a connection continues after a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    KeepOpen,
    Close,
    /// Close with a TCP reset.
    Reset,
}

fn serve_connection(stream: TcpStream, id: u64, site: &Site, shared: &Shared) {
    let after = converse(&stream, id, site, shared);
    // Drop the registry's handle first: the socket is closed (and, with
    // SO_LINGER 0, reset) only when its last descriptor goes.
    lock(&shared.connections).remove(&id);
    if after == After::Reset {
        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    }
}

fn converse(stream: &TcpStream, id: u64, site: &Site, shared: &Shared) -> After {
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) => return After::Close,
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    let response = Response::text(400, format!("bad request: {e}\n"));
                    let _ = write_response(stream, &response, false, true, None);
                }
                return After::Close;
            }
        };
        lock(&shared.log).push(LoggedRequest {
            method: request.method.clone(),
            path: request.target.clone(),
            headers: request.headers.clone(),
            connection: id,
        });
        match respond(&request, site, shared, stream) {
            Ok(After::KeepOpen) => {}
            Ok(after) => return after,
            Err(_) => return After::Close,
        }
    }
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

struct Request {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    fn keep_alive(&self) -> bool {
        let has_token = |token: &str| {
            self.header("connection").is_some_and(|value| {
                value
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case(token))
            })
        };
        if self.version == "HTTP/1.0" {
            has_token("keep-alive")
        } else {
            !has_token("close")
        }
    }
}

/// Reads one request; `None` at a clean end of stream between requests.
/// A request body (`Content-Length`) is read and discarded; chunked
/// request bodies are refused, as no client under test sends one.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut head = (&mut *reader).take(MAX_HEAD);
    let mut line = String::new();
    // RFC 9112 §2.2: ignore empty lines before the request line.
    while line.trim().is_empty() {
        line.clear();
        if head.read_line(&mut line)? == 0 {
            return Ok(None);
        }
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("malformed request line"));
    };
    let (method, target, version) = (method.to_owned(), target.to_owned(), version.to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        if head.read_line(&mut line)? == 0 {
            return Err(invalid("request head too long or cut short"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid("malformed header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let request = Request {
        method,
        target,
        version,
        headers,
    };
    if request.header("transfer-encoding").is_some() {
        return Err(invalid("chunked request bodies are not supported"));
    }
    if let Some(length) = request.header("content-length") {
        let length: u64 = length.parse().map_err(|_| invalid("bad Content-Length"))?;
        io::copy(&mut reader.take(length), &mut io::sink())?;
    }
    Ok(Some(request))
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Arc<[u8]>,
    /// The part of `body` to send (all of it but for 206).
    range: Range<usize>,
}

impl Response {
    fn new(status: u16, content_type: &str, body: Arc<[u8]>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            range: 0..body.len(),
            body,
        }
    }

    /// A response with no body and no headers yet (for 304).
    fn bare(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Arc::from([]),
            range: 0..0,
        }
    }

    fn text(status: u16, text: String) -> Self {
        Self::new(
            status,
            "text/plain; charset=utf-8",
            text.into_bytes().into(),
        )
    }

    fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

fn respond(
    request: &Request,
    site: &Site,
    shared: &Shared,
    stream: &TcpStream,
) -> io::Result<After> {
    let head_only = request.method == "HEAD";
    let close = !request.keep_alive();
    let plan = site.plan(request.path(), request.header("authorization"));
    if !shared.pause(plan.latency) {
        return Ok(After::Close);
    }
    let mut delay = Duration::ZERO;
    let mut truncate = None;
    let mut trickle = None;
    match plan.fault {
        None => {}
        Some(Fault::Reset) => return Ok(After::Reset),
        Some(Fault::Stall(duration)) => {
            shared.pause(duration);
            return Ok(After::Close);
        }
        Some(Fault::Delay(duration)) => delay = duration,
        Some(Fault::HoldUntilAsked { ref path, limit })
            if !shared.wait_for_request(path, limit) =>
        {
            return Ok(After::Close);
        }
        Some(Fault::HoldUntilAsked { .. }) => {}
        Some(Fault::Truncate(n)) => truncate = Some(n),
        Some(Fault::Trickle(pause)) => trickle = Some(pause),
        Some(Fault::Status { code, retry_after }) => {
            let mut response = Response::text(code, format!("{code} {}\n", reason(code)));
            if let Some(value) = retry_after {
                response = response.with_header("Retry-After", value);
            }
            return write_response(stream, &response, head_only, close, None);
        }
        Some(Fault::Redirect { status, location }) => {
            let response = Response::text(status, format!("see {location}\n"))
                .with_header("Location", location);
            return write_response(stream, &response, head_only, close, None);
        }
    }
    if !shared.pause(delay) {
        return Ok(After::Close);
    }
    let response = if plan.authorized {
        serve(request, plan)
    } else {
        Response::text(401, "credentials required\n".to_owned())
            .with_header("WWW-Authenticate", "Basic realm=\"test\"")
    };
    match trickle {
        Some(pause) => write_trickling(stream, &response, close, pause),
        None => write_response(stream, &response, head_only, close, truncate),
    }
}

/// Writes the head and a quarter of the body, then each further quarter after `pause`.
fn write_trickling(
    mut stream: &TcpStream,
    response: &Response,
    close: bool,
    pause: Duration,
) -> io::Result<After> {
    let body = &response.body[response.range.clone()];
    let quarter = body.len().div_ceil(4).max(1);
    stream.write_all(response_head(response, Some(body.len()), close).as_bytes())?;
    for (i, piece) in body.chunks(quarter).enumerate() {
        if i > 0 {
            std::thread::sleep(pause);
        }
        stream.write_all(piece)?;
        stream.flush()?;
    }
    Ok(if close { After::Close } else { After::KeepOpen })
}

/// The normal answer to an authorized request.
fn serve(request: &Request, plan: Plan) -> Response {
    let Some(resource) = plan.target.into_resource() else {
        return Response::text(404, format!("not found: {}\n", request.path()));
    };
    if request.method != "GET" && request.method != "HEAD" {
        return Response::text(405, "only GET and HEAD\n".to_owned())
            .with_header("Allow", "GET, HEAD");
    }
    if not_modified(
        request.header("if-none-match"),
        request.header("if-modified-since"),
        resource.header_value("etag"),
        resource.header_value("last-modified"),
    ) {
        let mut response = Response::bare(304);
        for name in ["ETag", "Last-Modified", "Cache-Control"] {
            if let Some(value) = resource.header_value(name) {
                response = response.with_header(name, value);
            }
        }
        return response;
    }
    let content_types: Vec<&str> = resource
        .variants
        .iter()
        .map(|v| v.content_type.as_str())
        .collect();
    let chosen = negotiate(&content_types, request.header("accept"), plan.html_only);
    let variant = &resource.variants[chosen];
    let mut response = Response::new(200, &variant.content_type, variant.body.clone());
    if resource.variants.len() > 1 {
        response = response.with_header("Vary", "Accept");
    }
    response.headers.extend(resource.headers.iter().cloned());
    if resource.ranges {
        response = response.with_header("Accept-Ranges", "bytes");
        let len = response.body.len();
        match request.header("range").map(|r| parse_range(r, len)) {
            None | Some(RangeRequest::Whole) => {}
            Some(RangeRequest::Part(range)) => {
                response.status = 206;
                let content_range = format!("bytes {}-{}/{len}", range.start, range.end - 1);
                response.range = range;
                response = response.with_header("Content-Range", content_range);
            }
            Some(RangeRequest::Unsatisfiable) => {
                return Response::text(416, "range not satisfiable\n".to_owned())
                    .with_header("Content-Range", format!("bytes */{len}"));
            }
        }
    }
    response
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// The status line and headers, with `Content-Length` when there is a body.
fn response_head(response: &Response, body_len: Option<usize>, close: bool) -> String {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        write!(head, "{name}: {value}\r\n").expect("writing to a String cannot fail");
    }
    if let Some(len) = body_len {
        write!(head, "Content-Length: {len}\r\n").expect("writing to a String cannot fail");
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    head
}

fn write_response(
    mut stream: &TcpStream,
    response: &Response,
    head_only: bool,
    close: bool,
    truncate: Option<usize>,
) -> io::Result<After> {
    // 1xx, 204 and 304 responses have no body and no Content-Length.
    let has_body = !matches!(response.status, 100..=199 | 204 | 304);
    let body = &response.body[response.range.clone()];
    let mut bytes = response_head(response, has_body.then_some(body.len()), close).into_bytes();
    let send_body = has_body && !head_only;
    if send_body {
        let sent = truncate.map_or(body.len(), |n| n.min(body.len()));
        bytes.extend_from_slice(&body[..sent]);
    }
    stream.write_all(&bytes)?;
    stream.flush()?;
    if send_body && truncate.is_some() {
        // The client has been promised more: end the stream so it notices.
        let _ = stream.shutdown(Shutdown::Write);
        return Ok(After::Close);
    }
    Ok(if close { After::Close } else { After::KeepOpen })
}
