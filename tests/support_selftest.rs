//! Tests of the test support code itself (`tests/support/`): if the server,
//! the index or the distribution builders were wrong, every test built on
//! them would prove nothing.
//!
//! Requests are made with a raw-socket client defined here, so that what a
//! fault does on the wire (a reset, a short body, silence) is seen as it
//! is, not as an HTTP library reports it.

mod support;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::Digest as _;
use support::dist::{
    SdistBuilder, SdistFormat, WheelBuilder, filename_name, normalize_name, sha256_hex,
    wheel_metadata,
};
use support::encode::{
    base64_standard, base64_url_nopad, html_escape, percent_decode, percent_encode_segment,
};
use support::index::{DistFile, IndexBuilder, file_path};
use support::python::{Venv, python_for, python_version, python3, skip_note};
use support::server::{
    Fault, Fires, Resource, SECOND_LOOPBACK, SIMPLE_V1_JSON, Site, TEXT_HTML, TestServer,
};

// ---------------------------------------------------------------------------
// A raw HTTP client
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn connect(server: &TestServer) -> TcpStream {
    let stream = TcpStream::connect(server.addr()).expect("connect to the test server");
    // A bound on every read, so a broken server fails the test, not hangs it.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn send(stream: &mut TcpStream, method: &str, path: &str, headers: &[(&str, &str)]) {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
}

/// Reads one response; the body by `Content-Length` (an error if it is cut
/// short), or to the end of the stream without one.
fn read_reply(reader: &mut impl BufRead, head_only: bool) -> io::Result<Reply> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').expect("a header line");
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut reply = Reply {
        status,
        headers,
        body: Vec::new(),
    };
    if head_only || matches!(status, 204 | 304) {
        return Ok(reply);
    }
    match reply.header("content-length") {
        Some(length) => {
            reply.body = vec![0; length.parse().unwrap()];
            reader.read_exact(&mut reply.body)?;
        }
        None => {
            reader.read_to_end(&mut reply.body)?;
        }
    }
    Ok(reply)
}

/// One request on a new connection that the client closes after it.
fn try_request(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<Reply> {
    let mut stream = connect(server);
    let mut all_headers = headers.to_vec();
    all_headers.push(("Connection", "close"));
    send(&mut stream, method, path, &all_headers);
    read_reply(&mut BufReader::new(stream), method == "HEAD")
}

fn get(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Reply {
    try_request(server, "GET", path, headers).unwrap()
}

fn server_with(path: &str, resource: Resource) -> TestServer {
    let site = Site::new();
    site.route(path, resource);
    TestServer::start(site)
}

// ---------------------------------------------------------------------------
// Server basics
// ---------------------------------------------------------------------------

#[test]
fn serves_routes_and_404s_the_rest() {
    let server = server_with("/hello", Resource::new("text/plain", "hi"));
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(server.url("hello"), format!("{}/hello", server.base_url()));

    let reply = get(&server, "/hello?x=1", &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hi");
    assert_eq!(reply.header("content-type"), Some("text/plain"));

    let reply = get(&server, "/nowhere", &[]);
    assert_eq!(reply.status, 404);
    assert!(reply.text().contains("/nowhere"));

    let reply = try_request(&server, "POST", "/hello", &[("Content-Length", "0")]).unwrap();
    assert_eq!(reply.status, 405);
}

#[test]
fn percent_encoded_paths_reach_their_route() {
    let server = server_with("/files/a+b c.whl", Resource::file("x"));
    assert_eq!(get(&server, "/files/a%2Bb%20c.whl", &[]).status, 200);
    assert_eq!(get(&server, "/files/a+b%20c.whl", &[]).status, 200);
}

#[test]
fn head_sends_length_but_no_body() {
    let server = server_with("/f", Resource::file("0123456789"));
    let mut stream = connect(&server);
    send(&mut stream, "HEAD", "/f", &[]);
    send(&mut stream, "GET", "/f", &[]);
    let mut reader = BufReader::new(stream);
    let head = read_reply(&mut reader, true).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("10"));
    // Had HEAD sent a body, it would be read here as the next status line.
    let reply = read_reply(&mut reader, false).unwrap();
    assert_eq!(reply.text(), "0123456789");
}

#[test]
fn keeps_connections_alive_until_told_to_close() {
    let server = server_with("/a", Resource::new("text/plain", "a"));
    let mut stream = connect(&server);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for _ in 0..2 {
        send(&mut stream, "GET", "/a", &[]);
        let reply = read_reply(&mut reader, false).unwrap();
        assert_eq!(reply.text(), "a");
        assert_eq!(reply.header("connection"), None);
    }
    send(&mut stream, "GET", "/a", &[("Connection", "close")]);
    let reply = read_reply(&mut reader, false).unwrap();
    assert_eq!(reply.header("connection"), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(reader.read_to_end(&mut rest).unwrap(), 0, "server closed");

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .iter()
            .all(|r| r.connection == requests[0].connection)
    );
    get(&server, "/a", &[]);
    assert_ne!(server.requests()[3].connection, requests[0].connection);
}

#[test]
fn malformed_requests_get_400() {
    let server = TestServer::start(Site::new());
    let mut stream = connect(&server);
    stream.write_all(b"NONSENSE\r\n\r\n").unwrap();
    let reply = read_reply(&mut BufReader::new(stream), false).unwrap();
    assert_eq!(reply.status, 400);
}

#[test]
fn dropping_the_server_does_not_wait_for_idle_or_stalled_connections() {
    let site = Site::new();
    site.route("/slow", Resource::file("x"));
    site.fault(
        "/slow",
        Fault::Stall(Duration::from_secs(60)),
        Fires::Forever,
    );
    let server = TestServer::start(site);
    let idle = connect(&server);
    let mut stalled = connect(&server);
    stalled
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    send(&mut stalled, "GET", "/slow", &[]);
    assert!(stalled.read(&mut [0]).is_err(), "the response is stalled");
    let started = Instant::now();
    drop(server);
    // Well under the stall, with room for a loaded machine.
    assert!(started.elapsed() < Duration::from_secs(20));
    // Both connections are closed rather than left open.
    for mut stream in [idle, stalled] {
        let mut buffer = Vec::new();
        assert!(matches!(stream.read_to_end(&mut buffer), Ok(0) | Err(_)));
    }
}

#[test]
fn routes_change_while_the_server_runs() {
    let server = server_with("/f", Resource::file("one"));
    assert_eq!(get(&server, "/f", &[]).text(), "one");
    server.site().update("/f", |r| r.set_body("two"));
    assert_eq!(get(&server, "/f", &[]).text(), "two");
    server.site().route("/f", Resource::file("three"));
    assert_eq!(get(&server, "/f", &[]).text(), "three");
    assert_eq!(server.site().paths(), ["/f"]);
    assert!(server.site().remove("/f").is_some());
    assert_eq!(get(&server, "/f", &[]).status, 404);
}

#[test]
fn listens_on_a_second_loopback_address() {
    let server = TestServer::start_on(SECOND_LOOPBACK, Site::new());
    assert!(server.base_url().starts_with("http://127.0.0.2:"));
    assert_eq!(get(&server, "/", &[]).status, 404);
}

#[test]
fn works_with_reqwest_and_its_connection_pool() {
    let server = server_with(
        "/page",
        Resource::html("<html></html>").variant(SIMPLE_V1_JSON, "{}"),
    );
    let client = reqwest::blocking::Client::new();
    for _ in 0..2 {
        let reply = client
            .get(server.url("/page"))
            .header("Accept", SIMPLE_V1_JSON)
            .send()
            .unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.text().unwrap(), "{}");
    }
    let requests = server.requests();
    assert_eq!(requests[0].connection, requests[1].connection);
}

// ---------------------------------------------------------------------------
// Content negotiation
// ---------------------------------------------------------------------------

#[test]
fn negotiates_by_accept_and_q_values() {
    let site = Site::new();
    site.route(
        "/simple/foo/",
        Resource::html("HTML")
            .variant("application/vnd.pypi.simple.v1+html", "V1HTML")
            .variant(SIMPLE_V1_JSON, "JSON"),
    );
    let server = TestServer::start(site);
    let body_for = |accept: Option<&str>| {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let reply = get(&server, "/simple/foo/", &headers);
        assert_eq!(reply.header("vary"), Some("Accept"));
        reply.text()
    };
    assert_eq!(body_for(None), "HTML");
    assert_eq!(body_for(Some("*/*")), "HTML");
    assert_eq!(body_for(Some("text/html")), "HTML");
    assert_eq!(body_for(Some(SIMPLE_V1_JSON)), "JSON");
    assert_eq!(body_for(Some("application/*")), "V1HTML");
    // What pip sends.
    let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
    assert_eq!(body_for(Some(pip)), "JSON");
    assert_eq!(
        body_for(Some(
            "application/vnd.pypi.simple.v1+json;q=0.5, text/html;q=0.9"
        )),
        "HTML"
    );
    assert_eq!(
        body_for(Some("application/vnd.pypi.simple.v1+json;q=0, */*")),
        "HTML"
    );
    // A more specific range overrides a wildcard: JSON is refused here.
    assert_eq!(
        body_for(Some("*/*;q=0.5, application/vnd.pypi.simple.v1+json;q=0")),
        "HTML"
    );
    // Nothing acceptable: the first representation.
    assert_eq!(body_for(Some("image/png")), "HTML");

    server.site().set_html_only(true);
    assert_eq!(body_for(Some(SIMPLE_V1_JSON)), "HTML");
    assert_eq!(body_for(Some(pip)), "V1HTML");
}

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

#[test]
fn answers_range_requests() {
    let server = server_with("/f", Resource::file("0123456789"));
    let range = |spec: &str| get(&server, "/f", &[("Range", spec)]);

    let whole = get(&server, "/f", &[]);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));

    let reply = range("bytes=2-4");
    assert_eq!(reply.status, 206);
    assert_eq!(reply.text(), "234");
    assert_eq!(reply.header("content-range"), Some("bytes 2-4/10"));

    let reply = range("bytes=7-");
    assert_eq!((reply.status, reply.text().as_str()), (206, "789"));
    assert_eq!(reply.header("content-range"), Some("bytes 7-9/10"));

    let reply = range("bytes=-3");
    assert_eq!((reply.status, reply.text().as_str()), (206, "789"));

    let reply = range("bytes=-30");
    assert_eq!((reply.status, reply.text().as_str()), (206, "0123456789"));

    let reply = range("bytes=8-100");
    assert_eq!((reply.status, reply.text().as_str()), (206, "89"));
    assert_eq!(reply.header("content-range"), Some("bytes 8-9/10"));

    for unsatisfiable in ["bytes=10-", "bytes=10-12", "bytes=-0"] {
        let reply = range(unsatisfiable);
        assert_eq!(reply.status, 416, "{unsatisfiable}");
        assert_eq!(reply.header("content-range"), Some("bytes */10"));
    }

    // Several ranges, an invalid range or another unit: the whole body.
    for ignored in ["bytes=0-1,4-5", "bytes=5-2", "items=0-1", "bytes=x-"] {
        let reply = range(ignored);
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "0123456789"),
            "{ignored}"
        );
    }
}

#[test]
fn routes_without_ranges_send_the_whole_body() {
    let server = server_with("/f", Resource::file("0123456789").without_ranges());
    let reply = get(&server, "/f", &[("Range", "bytes=2-4")]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "0123456789"));
    assert_eq!(reply.header("accept-ranges"), None);
}

// ---------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------

#[test]
fn status_faults_fire_then_the_route_recovers() {
    let server = server_with("/f", Resource::file("ok"));
    server
        .site()
        .fault("/f", Fault::status(503), Fires::Times(2))
        .fault("/f", Fault::status_retry_after(429, "7"), Fires::ONCE);
    assert_eq!(get(&server, "/f", &[]).status, 503);
    assert_eq!(get(&server, "/f", &[]).status, 503);
    let reply = get(&server, "/f", &[]);
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("7"));
    assert_eq!(get(&server, "/f", &[]).text(), "ok");
    assert_eq!(server.requests_to("/f").len(), 4);
}

#[test]
fn forever_faults_and_clearing_them() {
    let server = server_with("/f", Resource::file("ok"));
    server
        .site()
        .fault("/f", Fault::status(500), Fires::Forever);
    for _ in 0..3 {
        assert_eq!(get(&server, "/f", &[]).status, 500);
    }
    server.site().clear_faults("/f");
    assert_eq!(get(&server, "/f", &[]).status, 200);
}

#[test]
fn reset_fault_resets_the_connection() {
    let server = server_with("/f", Resource::file("ok"));
    server.site().fault("/f", Fault::Reset, Fires::ONCE);
    let error = try_request(&server, "GET", "/f", &[]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
    assert_eq!(get(&server, "/f", &[]).status, 200);
}

#[test]
fn stall_fault_sends_nothing() {
    let server = server_with("/f", Resource::file("ok"));
    server
        .site()
        .fault("/f", Fault::Stall(Duration::from_secs(30)), Fires::ONCE);
    let mut stream = connect(&server);
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    send(&mut stream, "GET", "/f", &[]);
    let mut byte = [0];
    let error = stream.read(&mut byte).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{error}"
    );
    // Other connections are served meanwhile (another path: the server may not have read
    // the stalled request yet, and a second request to /f could take the fault).
    server.site().route("/g", Resource::file("ok"));
    assert_eq!(get(&server, "/g", &[]).status, 200);
}

#[test]
fn truncate_fault_cuts_the_body_short() {
    let server = server_with("/f", Resource::file("0123456789"));
    server.site().fault("/f", Fault::Truncate(4), Fires::ONCE);
    let error = try_request(&server, "GET", "/f", &[]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);

    server.site().fault("/f", Fault::Truncate(4), Fires::ONCE);
    let mut stream = connect(&server);
    send(&mut stream, "GET", "/f", &[]);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    assert!(raw.contains("Content-Length: 10\r\n"), "{raw}");
    assert!(raw.ends_with("\r\n\r\n0123"), "{raw}");
}

#[test]
fn delay_fault_and_site_latency_slow_responses_down() {
    let server = server_with("/f", Resource::file("ok"));
    server
        .site()
        .fault("/f", Fault::Delay(Duration::from_millis(200)), Fires::ONCE);
    let started = Instant::now();
    assert_eq!(get(&server, "/f", &[]).text(), "ok");
    assert!(started.elapsed() >= Duration::from_millis(200));

    server.site().set_latency(Duration::from_millis(100));
    let started = Instant::now();
    assert_eq!(get(&server, "/nowhere", &[]).status, 404);
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[test]
fn hold_fault_answers_once_the_awaited_path_is_asked_for() {
    let server = server_with("/held", Resource::file("held"));
    server.site().route("/other", Resource::file("other"));
    let hold = Fault::hold_until_asked("/other", Duration::from_secs(20));
    server.site().fault("/held", hold, Fires::ONCE);
    let held = std::thread::scope(|scope| {
        let held = scope.spawn(|| get(&server, "/held", &[]).text());
        while server.requests_to("/held").is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(get(&server, "/other?x=1", &[]).text(), "other");
        held.join().unwrap()
    });
    assert_eq!(held, "held");
    let order: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(order, ["/held", "/other?x=1"]);
    assert_eq!(server.holds_timed_out(), 0);

    let limit = Duration::from_millis(200);
    server.site().fault(
        "/held",
        Fault::hold_until_asked("/never", limit),
        Fires::ONCE,
    );
    let started = Instant::now();
    assert_eq!(get(&server, "/held", &[]).text(), "held");
    assert!(started.elapsed() >= limit);
    assert_eq!(server.holds_timed_out(), 1);
}

#[test]
fn redirect_fault_points_elsewhere() {
    let server = server_with("/old", Resource::file("old"));
    server
        .site()
        .fault("/old", Fault::redirect(302, "/new"), Fires::ONCE);
    let reply = get(&server, "/old", &[]);
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("location"), Some("/new"));
}

#[test]
fn faults_fire_in_the_order_queued() {
    let server = server_with("/f", Resource::file("ok"));
    server
        .site()
        .fault("/f", Fault::status(500), Fires::ONCE)
        .fault("/f", Fault::Reset, Fires::ONCE);
    assert_eq!(get(&server, "/f", &[]).status, 500);
    assert!(try_request(&server, "GET", "/f", &[]).is_err());
    assert_eq!(get(&server, "/f", &[]).status, 200);
}

// ---------------------------------------------------------------------------
// Auth, validators, the log, directories
// ---------------------------------------------------------------------------

#[test]
fn basic_auth_guards_the_site() {
    let server = server_with("/f", Resource::file("secret"));
    server.site().require_basic_auth("user", "pa:ss");
    let reply = get(&server, "/f", &[]);
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"test\"")
    );
    let wrong = format!("Basic {}", base64_standard(b"user:nope"));
    assert_eq!(get(&server, "/f", &[("Authorization", &wrong)]).status, 401);
    let right = format!("basic {}", base64_standard(b"user:pa:ss"));
    let reply = get(&server, "/f", &[("Authorization", &right)]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "secret"));
    assert_eq!(server.requests()[2].authorization(), Some(right.as_str()));
    server.site().clear_basic_auth();
    assert_eq!(get(&server, "/f", &[]).status, 200);
}

#[test]
fn validators_give_304() {
    let site = Site::new();
    site.route(
        "/etag",
        Resource::file("x").etag("v1").cache_control("max-age=60"),
    );
    site.route(
        "/dated",
        Resource::file("x").last_modified("Mon, 01 Jan 2024 00:00:00 GMT"),
    );
    let server = TestServer::start(site);

    let reply = get(&server, "/etag", &[]);
    assert_eq!(reply.header("etag"), Some("\"v1\""));
    assert_eq!(reply.header("cache-control"), Some("max-age=60"));
    for matching in ["\"v1\"", "W/\"v1\"", "\"v0\", \"v1\"", "*"] {
        let reply = get(&server, "/etag", &[("If-None-Match", matching)]);
        assert_eq!(reply.status, 304, "{matching}");
        assert_eq!(reply.header("etag"), Some("\"v1\""));
        assert!(reply.body.is_empty());
    }
    assert_eq!(
        get(&server, "/etag", &[("If-None-Match", "\"v2\"")]).status,
        200
    );

    let since = [("If-Modified-Since", "Mon, 01 Jan 2024 00:00:00 GMT")];
    assert_eq!(get(&server, "/dated", &since).status, 304);
    let other = [("If-Modified-Since", "Tue, 02 Jan 2024 00:00:00 GMT")];
    assert_eq!(get(&server, "/dated", &other).status, 200);
}

#[test]
fn logs_requests() {
    let server = server_with("/f", Resource::file("x"));
    get(
        &server,
        "/f?a=1",
        &[
            ("Accept", "text/html"),
            ("Range", "bytes=0-0"),
            ("User-Agent", "tester/1"),
            ("If-None-Match", "\"e\""),
            ("If-Modified-Since", "yesterday"),
        ],
    );
    try_request(&server, "HEAD", "/g", &[]).unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("GET", "/f?a=1")
    );
    assert_eq!(first.path_only(), "/f");
    assert_eq!(first.accept(), Some("text/html"));
    assert_eq!(first.range(), Some("bytes=0-0"));
    assert_eq!(first.user_agent(), Some("tester/1"));
    assert_eq!(first.if_none_match(), Some("\"e\""));
    assert_eq!(first.if_modified_since(), Some("yesterday"));
    assert_eq!(first.authorization(), None);
    assert_eq!(first.header("HOST"), Some("test"));
    assert_eq!(requests[1].method, "HEAD");
    assert_eq!(server.requests_to("/f").len(), 1);
    server.clear_log();
    assert!(server.requests().is_empty());
}

#[test]
fn serves_a_directory_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    let root = root.as_path();
    std::fs::create_dir_all(root.join("simple/foo")).unwrap();
    std::fs::write(root.join("simple/foo/index.html"), "<a>foo</a>").unwrap();
    std::fs::write(root.join("data.json"), "{}").unwrap();
    std::fs::write(root.join("foo-1.0.tar.gz"), "tgz").unwrap();
    // Beside the tree, not in it: must not be reachable.
    std::fs::write(dir.path().join("secret"), "no").unwrap();

    let site = Site::new();
    site.serve_dir("/mirror/", root);
    site.route(
        "/mirror/data.json",
        Resource::new("text/plain", "route wins"),
    );
    let server = TestServer::start(site);

    let reply = get(&server, "/mirror/simple/foo/", &[]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "<a>foo</a>"));
    assert_eq!(reply.header("content-type"), Some(TEXT_HTML));
    assert_eq!(get(&server, "/mirror/simple/foo", &[]).status, 200);
    let reply = get(&server, "/mirror/foo-1.0.tar.gz", &[("Range", "bytes=1-")]);
    assert_eq!((reply.status, reply.text().as_str()), (206, "gz"));
    assert_eq!(
        reply.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(get(&server, "/mirror/data.json", &[]).text(), "route wins");
    server.site().remove("/mirror/data.json");
    let reply = get(&server, "/mirror/data.json", &[]);
    assert_eq!(reply.header("content-type"), Some("application/json"));

    // Files change on disk between requests.
    std::fs::write(root.join("foo-1.0.tar.gz"), "new").unwrap();
    assert_eq!(get(&server, "/mirror/foo-1.0.tar.gz", &[]).text(), "new");

    for outside in [
        "/mirror/../secret",
        "/mirror/%2e%2e/secret",
        "/mirror/nothing",
        "/mirrorx",
    ] {
        assert_eq!(get(&server, outside, &[]).status, 404, "{outside}");
    }
}

// ---------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------

#[test]
fn encodings_match_their_specs() {
    // RFC 4648 §10 test vectors.
    let vectors = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];
    for (input, output) in vectors {
        assert_eq!(base64_standard(input.as_bytes()), output);
        assert_eq!(
            base64_url_nopad(input.as_bytes()),
            output.trim_end_matches('=')
        );
    }
    assert_eq!(base64_standard(&[0xfb, 0xff]), "+/8=");
    assert_eq!(base64_url_nopad(&[0xfb, 0xff]), "-_8");

    assert_eq!(
        html_escape("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
    );
    assert_eq!(percent_encode_segment("a b+c/d"), "a%20b+c%2Fd");
    assert_eq!(percent_decode("a%20b%2fc").as_deref(), Some("a b/c"));
    assert_eq!(percent_decode("bad%2"), None);
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

// ---------------------------------------------------------------------------
// Distributions
// ---------------------------------------------------------------------------

fn zip_members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().unwrap().into_owned(), data)
        })
        .collect()
}

fn tar_gz_members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (path, data)
        })
        .collect()
}

fn member<'a>(members: &'a [(String, Vec<u8>)], name: &str) -> &'a str {
    let (_, data) = members.iter().find(|(n, _)| n == name).unwrap_or_else(|| {
        panic!(
            "no {name} among {:?}",
            members.iter().map(|m| &m.0).collect::<Vec<_>>()
        )
    });
    std::str::from_utf8(data).unwrap()
}

#[test]
fn names_are_normalized() {
    assert_eq!(normalize_name("Foo.Bar__baz-Qux"), "foo-bar-baz-qux");
    assert_eq!(filename_name("Foo.Bar__baz-Qux"), "foo_bar_baz_qux");
    let wheel = WheelBuilder::new("Foo.Bar", "1.0")
        .build_tag("1")
        .tag("cp311-cp311-manylinux_2_17_x86_64");
    assert_eq!(
        wheel.filename(),
        "foo_bar-1.0-1-cp311-cp311-manylinux_2_17_x86_64.whl"
    );
    assert_eq!(
        SdistBuilder::new("Foo.Bar", "2.0")
            .format(SdistFormat::Zip)
            .filename(),
        "foo_bar-2.0.zip"
    );
}

#[test]
fn wheels_are_complete_and_deterministic() {
    let wheel = WheelBuilder::new("Foo-Bar", "1.0")
        .tag("py2.py3-none-any")
        .build_tag("7")
        .requires_python(">=3.8")
        .requires_dist(["baz>=1", "qux; extra == 'x'"])
        .provides_extra(["x"])
        .metadata_version("2.1");
    let bytes = wheel.build();
    assert_eq!(bytes, wheel.build(), "same builder, same bytes");
    let members = zip_members(&bytes);
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "foo_bar/__init__.py",
            "foo_bar-1.0.dist-info/METADATA",
            "foo_bar-1.0.dist-info/WHEEL",
            "foo_bar-1.0.dist-info/RECORD",
        ]
    );
    let metadata = member(&members, "foo_bar-1.0.dist-info/METADATA");
    assert_eq!(
        metadata,
        "Metadata-Version: 2.1\nName: Foo-Bar\nVersion: 1.0\nRequires-Python: >=3.8\n\
         Requires-Dist: baz>=1\nRequires-Dist: qux; extra == 'x'\nProvides-Extra: x\n"
    );
    assert_eq!(wheel_metadata(&bytes).as_deref(), Some(metadata));
    let wheel_file = member(&members, "foo_bar-1.0.dist-info/WHEEL");
    assert!(wheel_file.contains("Tag: py2-none-any\nTag: py3-none-any\nBuild: 7\n"));

    // RECORD lists every other member with its digest and size.
    let record = member(&members, "foo_bar-1.0.dist-info/RECORD");
    let lines: Vec<&str> = record.lines().collect();
    assert_eq!(lines.len(), members.len());
    for (line, (name, data)) in lines.iter().zip(&members) {
        if name.ends_with("/RECORD") {
            assert_eq!(*line, format!("{name},,"));
        } else {
            let digest = base64_url_nopad(&sha2::Sha256::digest(data));
            assert_eq!(*line, format!("{name},sha256={digest},{}", data.len()));
        }
    }
}

#[test]
fn sdists_carry_metadata_and_a_backend() {
    let sdist = SdistBuilder::new("Foo.Bar", "2.0")
        .metadata_version("2.2")
        .requires_dist(["baz>=1"])
        .requires_python(">=3.8")
        .dynamic(["Requires-Dist"])
        .egg_info_requires(["baz>=1"])
        .egg_info_section("test", ["pytest"])
        .egg_info_section(":python_version < \"3.8\"", ["importlib-metadata"]);
    let bytes = sdist.build();
    assert_eq!(bytes, sdist.build(), "same builder, same bytes");
    assert_eq!(sdist.filename(), "foo_bar-2.0.tar.gz");
    let members = tar_gz_members(&bytes);
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "foo_bar-2.0/PKG-INFO",
            "foo_bar-2.0/pyproject.toml",
            "foo_bar-2.0/tinybackend.py",
            "foo_bar-2.0/foo_bar/__init__.py",
            "foo_bar-2.0/foo_bar.egg-info/PKG-INFO",
            "foo_bar-2.0/foo_bar.egg-info/requires.txt",
        ]
    );
    assert_eq!(
        member(&members, "foo_bar-2.0/PKG-INFO"),
        "Metadata-Version: 2.2\nName: Foo.Bar\nVersion: 2.0\nDynamic: Requires-Dist\n\
         Requires-Python: >=3.8\nRequires-Dist: baz>=1\n"
    );
    assert_eq!(
        member(&members, "foo_bar-2.0/foo_bar.egg-info/requires.txt"),
        "baz>=1\n\n[test]\npytest\n\n[:python_version < \"3.8\"]\nimportlib-metadata\n"
    );
    assert!(member(&members, "foo_bar-2.0/pyproject.toml").contains("backend-path = [\".\"]"));

    let zipped = sdist.clone().format(SdistFormat::Zip).build();
    let zip_names: Vec<String> = zip_members(&zipped).into_iter().map(|(n, _)| n).collect();
    assert_eq!(zip_names, names);
}

/// Real pip installs what the builders make, offline: the proof that they
/// are valid distributions and not just plausible archives.
#[test]
fn pip_installs_built_wheels_and_sdists_offline() {
    let work = tempfile::tempdir().unwrap();
    let Some(venv) = Venv::fresh(&work.path().join("venv")) else {
        skip_note("python3 is not on PATH");
        return;
    };
    let wheel = WheelBuilder::new("Wheel.Pkg", "1.0")
        .requires_dist(["missing-dep>=1"])
        .file("wheel_pkg/__init__.py", "VALUE = 'from wheel'\n");
    let tar_gz = SdistBuilder::new("tar-pkg", "2.0")
        .metadata_version("2.2")
        .dynamic(["Requires-Dist"])
        .requires_dist(["missing-dep>=2"]);
    let zip = SdistBuilder::new("zip_pkg", "3.0").format(SdistFormat::Zip);
    let mut paths = Vec::new();
    for (filename, bytes) in [
        (wheel.filename(), wheel.build()),
        (tar_gz.filename(), tar_gz.build()),
        (zip.filename(), zip.build()),
    ] {
        let path = work.path().join(filename);
        std::fs::write(&path, bytes).unwrap();
        paths.push(path);
    }
    let mut args = vec!["install".into(), "--no-deps".into()];
    args.extend(paths.iter().map(|p| p.as_os_str().to_owned()));
    venv.pip_offline(&args).assert_success();

    let check = venv.run_python([
        "-c",
        "import importlib.metadata as m, wheel_pkg, tar_pkg, zip_pkg\n\
         print(wheel_pkg.VALUE, tar_pkg.__version__, zip_pkg.__version__)\n\
         print(m.requires('wheel.pkg'), m.requires('tar-pkg'), m.metadata('tar-pkg').get_all('Dynamic'))",
    ]);
    check.assert_success();
    assert_eq!(
        check.stdout,
        "from wheel 2.0 3.0\n['missing-dep>=1'] ['missing-dep>=2'] None\n"
    );
}

// ---------------------------------------------------------------------------
// Python discovery
// ---------------------------------------------------------------------------

#[test]
fn finds_pythons_by_version() {
    let Some(python) = python3() else {
        skip_note("python3 is not on PATH");
        return;
    };
    let version = python_version(&python).unwrap();
    let minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
    let found = python_for(&minor).expect("python3's own version is found");
    assert!(
        python_version(&found)
            .unwrap()
            .starts_with(&format!("{minor}."))
    );
    for other in ["3.8", "3.12", "3.13"] {
        match python_for(other) {
            Some(path) => {
                assert!(
                    python_version(&path)
                        .unwrap()
                        .starts_with(&format!("{other}."))
                );
            }
            None => skip_note(&format!("no Python {other} here")),
        }
    }
    assert_eq!(python_for("3.99"), None);
    assert_eq!(python_for("3.1"), None, "3.1 must not match 3.11");
}

#[test]
fn the_shared_venv_is_made_once_and_isolated() {
    let Some(venv) = Venv::shared() else {
        skip_note("python3 is not on PATH");
        return;
    };
    assert!(std::ptr::eq(venv, Venv::shared().unwrap()));
    assert!(venv.pip().exists());
    // The machine's pip settings do not reach pip run through the helpers.
    // `pip config list` shows only what the helpers set in the environment:
    // no config file's `global.cert`, no machine-wide `find-links`.
    let config = venv.pip_offline(["config", "list"]);
    config.assert_success();
    assert!(
        config.stdout.lines().all(|line| line.starts_with(":env:.")),
        "{config}"
    );
    assert!(!config.stdout.contains("find-links"), "{config}");
    let env = venv.run_python([
        "-c",
        "import os; print(sorted(k for k in os.environ if k.startswith('PIP_')))",
    ]);
    assert_eq!(
        env.stdout.trim(),
        "['PIP_CONFIG_FILE', 'PIP_DISABLE_PIP_VERSION_CHECK', 'PIP_NO_CACHE_DIR', 'PIP_NO_INPUT', 'PIP_NO_PYTHON_VERSION_WARNING']"
    );
}

// ---------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------

fn sample_index() -> IndexBuilder {
    let wheel = WheelBuilder::new("Foo_Bar", "1.0").requires_python(">=3.8");
    IndexBuilder::new()
        .file(
            DistFile::wheel(&wheel)
                .requires_python(">=3.8")
                .core_metadata_from_wheel(),
        )
        .file(DistFile::sdist(&SdistBuilder::new("Foo_Bar", "1.0")).without_hash())
        .file(
            DistFile::wheel(&WheelBuilder::new("Foo_Bar", "2.0"))
                .yanked("broken \"build\"")
                .upload_time("2024-05-06T07:08:09.123456Z"),
        )
        .file(DistFile::wheel(&WheelBuilder::new("Foo_Bar", "2.1rc1")))
        .file(DistFile::wheel(&WheelBuilder::new("other", "0.1")))
        .role("foo-bar", "Owner", "alice")
}

#[test]
fn index_serves_pep_503_html() {
    let index = sample_index().start();
    let server = index.server();
    let reply = get(server, "/simple/", &[]);
    assert!(reply.text().contains("<a href=\"foo-bar/\">foo-bar</a>"));
    assert!(reply.text().contains("<a href=\"other/\">other</a>"));

    let page = get(server, "/simple/foo-bar/", &[("Accept", "text/html")]).text();
    let wheel = index.file("foo_bar-1.0-py3-none-any.whl");
    let metadata_hash = sha256_hex(wheel_metadata(wheel.bytes()).unwrap().as_bytes());
    assert!(
        page.contains(&format!(
            "<a href=\"../../files/foo_bar-1.0-py3-none-any.whl#sha256={}\" \
         data-requires-python=\"&gt;=3.8\" data-dist-info-metadata=\"sha256={metadata_hash}\" \
         data-core-metadata=\"sha256={metadata_hash}\">foo_bar-1.0-py3-none-any.whl</a>",
            wheel.sha256()
        )),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"../../files/foo_bar-1.0.tar.gz\">"),
        "{page}"
    );
    assert!(
        page.contains("data-yanked=\"broken &quot;build&quot;\""),
        "{page}"
    );
    // Versions in PEP 440 order: 2.1rc1 after 2.0.
    assert!(page.find("foo_bar-2.0-").unwrap() < page.find("foo_bar-2.1rc1-").unwrap());

    let file = get(server, "/files/foo_bar-1.0-py3-none-any.whl", &[]);
    assert_eq!(sha256_hex(&file.body), wheel.sha256());
    let metadata = get(server, "/files/foo_bar-1.0-py3-none-any.whl.metadata", &[]);
    assert_eq!(sha256_hex(&metadata.body), metadata_hash);
    assert_eq!(
        get(server, "/files/foo_bar-1.0.tar.gz.metadata", &[]).status,
        404
    );
}

#[test]
fn index_serves_pep_691_json() {
    let index = sample_index().start();
    let json = |path: &str| -> Value {
        let reply = get(index.server(), path, &[("Accept", SIMPLE_V1_JSON)]);
        assert_eq!(reply.header("content-type"), Some(SIMPLE_V1_JSON));
        serde_json::from_slice(&reply.body).unwrap()
    };
    let root = json("/simple/");
    assert_eq!(root["meta"]["api-version"], "1.1");
    assert_eq!(
        root["projects"],
        serde_json::json!([{"name": "foo-bar"}, {"name": "other"}])
    );

    let project = json("/simple/foo-bar/");
    assert_eq!(project["name"], "foo-bar");
    assert_eq!(
        project["versions"],
        serde_json::json!(["1.0", "2.0", "2.1rc1"])
    );
    let files = project["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    let wheel = index.file("foo_bar-1.0-py3-none-any.whl");
    let first = &files[0];
    assert_eq!(first["filename"], "foo_bar-1.0-py3-none-any.whl");
    assert_eq!(first["url"], "../../files/foo_bar-1.0-py3-none-any.whl");
    assert_eq!(first["hashes"]["sha256"], wheel.sha256());
    assert_eq!(first["requires-python"], ">=3.8");
    assert_eq!(first["size"], wheel.bytes().len());
    assert_eq!(first["yanked"], false);
    assert_eq!(first["upload-time"], "2024-01-01T00:00:00.000000Z");
    assert!(first["core-metadata"]["sha256"].is_string());
    let sdist = &files[1];
    assert_eq!(sdist["filename"], "foo_bar-1.0.tar.gz");
    assert_eq!(sdist["hashes"], serde_json::json!({}));
    assert_eq!(sdist["core-metadata"], false);
    assert_eq!(files[2]["yanked"], "broken \"build\"");
    assert_eq!(files[2]["upload-time"], "2024-05-06T07:08:09.123456Z");
}

#[test]
fn index_serves_the_warehouse_json_api() {
    let index = sample_index().start();
    let reply = get(index.server(), "/pypi/foo-bar/json", &[]);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let project: Value = serde_json::from_slice(&reply.body).unwrap();
    // 2.0 is yanked and 2.1rc1 a pre-release: 1.0 is current.
    assert_eq!(project["info"]["version"], "1.0");
    assert_eq!(project["info"]["name"], "Foo_Bar");
    assert_eq!(project["info"]["requires_python"], ">=3.8");
    let releases = project["releases"].as_object().unwrap();
    assert_eq!(releases.len(), 3);
    let yanked = &releases["2.0"][0];
    assert_eq!(yanked["yanked"], true);
    assert_eq!(yanked["yanked_reason"], "broken \"build\"");
    assert_eq!(yanked["upload_time"], "2024-05-06T07:08:09");
    assert_eq!(yanked["packagetype"], "bdist_wheel");
    let sdist = &releases["1.0"][1];
    assert_eq!(sdist["packagetype"], "sdist");
    assert_eq!(sdist["digests"], serde_json::json!({}));
    let wheel = &releases["1.0"][0];
    assert_eq!(wheel["url"], index.file_url("foo_bar-1.0-py3-none-any.whl"));
    assert_eq!(
        wheel["digests"]["sha256"],
        index.file("foo_bar-1.0-py3-none-any.whl").sha256()
    );
    assert_eq!(project["urls"].as_array().unwrap().len(), 2);
    assert_eq!(
        project["ownership"]["roles"],
        serde_json::json!([{"role": "Owner", "user": "alice"}])
    );

    let release: Value =
        serde_json::from_slice(&get(index.server(), "/pypi/foo-bar/2.0/json", &[]).body).unwrap();
    assert_eq!(release["info"]["version"], "2.0");
    assert_eq!(release["info"]["yanked"], true);
    assert!(release.get("releases").is_none());
    assert_eq!(get(index.server(), "/pypi/Foo_Bar/json", &[]).status, 200);
}

#[test]
fn index_can_link_files_on_a_second_host() {
    let index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("foo", "1.0")))
        .files_on_second_host()
        .start();
    let filename = "foo-1.0-py3-none-any.whl";
    let url = index.file_url(filename);
    assert!(url.starts_with("http://127.0.0.2:"), "{url}");
    let page = get(index.server(), "/simple/foo/", &[]).text();
    assert!(page.contains(&format!("href=\"{url}#sha256=")), "{page}");
    assert_eq!(
        get(index.files_server(), &file_path(filename), &[]).status,
        200
    );
    assert_eq!(get(index.server(), &file_path(filename), &[]).status, 404);
    assert_eq!(index.all_requests().len(), 3);

    let absolute = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("foo", "1.0")))
        .absolute_urls()
        .start();
    let page = get(absolute.server(), "/simple/foo/", &[]).text();
    assert!(page.contains(&format!(
        "href=\"{}#",
        absolute.server().url(&file_path(filename))
    )));
}

#[test]
fn index_can_be_tampered_with() {
    let mut index = IndexBuilder::new()
        .file(DistFile::wheel(&WheelBuilder::new("foo", "1.0")))
        .start();
    let filename = "foo-1.0-py3-none-any.whl";
    let original = index.file(filename).sha256();
    index.tamper(filename, b"evil".to_vec());
    assert_eq!(
        get(index.server(), &file_path(filename), &[]).text(),
        "evil"
    );
    assert_eq!(
        index.file(filename).published_hash(),
        Some(original.clone())
    );
    let page = get(index.server(), "/simple/foo/", &[]).text();
    assert!(page.contains(&format!("#sha256={original}")));

    let extra = WheelBuilder::new("foo", "1.0").tag("py3-none-manylinux_2_17_x86_64");
    index.add_file(DistFile::wheel(&extra));
    let page = get(index.server(), "/simple/foo/", &[]).text();
    assert!(page.contains(&extra.filename()), "{page}");
    assert_eq!(
        get(index.server(), &file_path(&extra.filename()), &[]).status,
        200
    );
}

/// pip reads the index as it reads PyPI, in both serializations, and
/// checks the published hashes.
#[test]
fn pip_downloads_from_the_index() {
    let Some(venv) = Venv::shared() else {
        skip_note("python3 is not on PATH");
        return;
    };
    let mut index = sample_index().start();
    let download = |index: &support::index::TestIndex| {
        let dir = tempfile::tempdir().unwrap();
        let output = venv.pip_with_index(
            &index.simple_url(),
            [
                "download".as_ref(),
                "--no-deps".as_ref(),
                "--only-binary=:all:".as_ref(),
                "--dest".as_ref(),
                dir.path().as_os_str(),
                "foo-bar==1.0".as_ref(),
            ],
        );
        (output, dir)
    };

    let (output, dir) = download(&index);
    output.assert_success();
    assert!(dir.path().join("foo_bar-1.0-py3-none-any.whl").exists());
    let page_request = &index.server().requests_to("/simple/foo-bar/")[0];
    assert!(page_request.accept().unwrap().starts_with(SIMPLE_V1_JSON));

    index.site().set_html_only(true);
    index.server().clear_log();
    let (output, _dir) = download(&index);
    output.assert_success();

    index.tamper(
        "foo_bar-1.0-py3-none-any.whl",
        WheelBuilder::new("evil", "1.0").build(),
    );
    let (output, _dir) = download(&index);
    output.assert_failure();
    assert!(output.stderr.contains("HASH"), "{output}");
}

/// The check every written lock goes through can fail: packaging refuses what consumers
/// refuse.
#[test]
fn packaging_refuses_a_lock_with_a_tar_bz2_sdist() {
    let Some(consumers) = support::consumers::Consumers::get() else {
        return;
    };
    let dir = support::cli::scratch();
    let lock = support::cli::write(
        dir.path(),
        "pylock.toml",
        "lock-version = \"1.0\"\ncreated-by = \"test\"\n\n[[packages]]\nname = \"a\"\n\
         version = \"1\"\nsdist = { name = \"a-1.tar.bz2\", url = \"http://127.0.0.1/a-1.tar.bz2\", \
         hashes = { sha256 = \"00\" } }\n",
    );
    assert_eq!(
        consumers.validate_pylock(&lock),
        Err(
            "PylockValidationError: Invalid sdist filename 'a-1.tar.bz2' in 'packages[0].sdist'"
                .to_owned()
        )
    );
    assert!(support::consumers::is_pylock(
        "# c\nlock-version = \"1.0\"\n"
    ));
    assert!(!support::consumers::is_pylock(
        "[tool.x]\nlock-version = 1\n"
    ));
}
