//! `pinguard::metadata` against real archives and a real HTTP server on 127.0.0.1: wheels and
//! sdists built by `tests/support/dist.rs` (or by hand where a builder cannot make the odd
//! layout), range requests checked in the server's request log.

mod support;

use std::io::{Cursor, Write};
use std::str::FromStr;
use std::sync::OnceLock;

use pep508_rs::PackageName;
use pinguard::digest::Sha256;
use pinguard::filename::{DistFilename, SdistFilename, WheelFilename};
use pinguard::http::{HttpClient, HttpSettings};
use pinguard::metadata::{
    CoreMetadata, MetadataError, RangeError, RangeReader, fetch_metadata_file, requires_txt,
    sdist_metadata, wheel_metadata, wheel_metadata_by_range,
};
use pinguard::safe_url::SafeUrl;
use support::dist::{SdistBuilder, SdistFormat, WheelBuilder};
use support::server::{Fault, Fires, LoggedRequest, Resource, Site, TestServer};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn client(retries: u32) -> HttpClient {
    HttpClient::new(HttpSettings {
        retries,
        use_netrc: false,
        ..HttpSettings::default()
    })
}

fn wheel_name(builder: &WheelBuilder) -> WheelFilename {
    WheelFilename::parse(&builder.filename()).unwrap()
}

fn sdist_name(filename: &str, project: &str) -> SdistFilename {
    match DistFilename::parse(filename, &PackageName::from_str(project).unwrap()) {
        Some(DistFilename::Sdist(sdist)) => sdist,
        other => panic!("{filename} is not an sdist of {project}: {other:?}"),
    }
}

/// `n` bytes that deflate cannot shrink (xorshift64), so a wheel holding them is as big.
fn incompressible(n: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// A zip with these members, deflated, for layouts the wheel builder does not make.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, data) in entries {
        zip.start_file(*path, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A `.tar.gz` with these members, for sdists without `PKG-INFO`.
fn tar_gz_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gzip);
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, path, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// `(first, last)` of a logged `Range: bytes=first-last` request.
fn asked_range(request: &LoggedRequest, size: u64) -> (u64, u64) {
    let spec = request
        .range()
        .unwrap_or_else(|| panic!("a request without Range: {request:?}"))
        .strip_prefix("bytes=")
        .unwrap();
    let (first, last) = spec.split_once('-').unwrap();
    if first.is_empty() {
        let n: u64 = last.parse().unwrap();
        (size.saturating_sub(n), size - 1)
    } else {
        (first.parse().unwrap(), last.parse().unwrap())
    }
}

/// Serves `bytes` at `path` and returns the server and the file's URL.
fn serve(path: &str, resource: Resource) -> (TestServer, SafeUrl) {
    let site = Site::new();
    site.route(path, resource);
    let server = TestServer::start(site);
    let url = SafeUrl::parse(&server.url(path)).unwrap();
    (server, url)
}

// ---------------------------------------------------------------------------
// Whole wheels
// ---------------------------------------------------------------------------

#[test]
fn wheel_metadata_is_found_by_normalized_name() {
    let builder = WheelBuilder::new("Foo.Bar", "1.0")
        .requires_dist(["baz>=2", "qux; extra == 'test'"])
        .provides_extra(["test"]);
    let metadata = wheel_metadata(Cursor::new(builder.build()), &wheel_name(&builder)).unwrap();
    assert_eq!(metadata, builder.metadata().as_bytes());
    let parsed = CoreMetadata::parse(&metadata).unwrap();
    assert_eq!(parsed.name.as_ref(), "foo-bar");
    assert_eq!(parsed.requires_dist.len(), 2);

    // An old wheel whose dist-info keeps the project's own spelling and case.
    let wheel = zip_of(&[
        ("foo/__init__.py", b""),
        (
            "Foo.Bar-1.0.DIST-INFO/METADATA",
            b"Metadata-Version: 2.0\nName: Foo.Bar\nVersion: 1.0\n",
        ),
    ]);
    let metadata = wheel_metadata(Cursor::new(wheel), &wheel_name(&builder)).unwrap();
    assert!(metadata.starts_with(b"Metadata-Version: 2.0\n"));
}

#[test]
fn a_wheel_with_two_dist_info_dirs_gives_its_own() {
    let vendored = b"Metadata-Version: 2.1\nName: vendored\nVersion: 9.9\n";
    let builder = WheelBuilder::new("foo", "1.0")
        .requires_dist(["bar"])
        .file("foo/__init__.py", "")
        .file("vendored-9.9.dist-info/METADATA", vendored.as_slice());
    let metadata = wheel_metadata(Cursor::new(builder.build()), &wheel_name(&builder)).unwrap();
    assert_eq!(metadata, builder.metadata().as_bytes());

    // Two dist-info dirs, neither the wheel's: no guess.
    let wheel = zip_of(&[
        ("a-1.0.dist-info/METADATA", b"Name: a"),
        ("b-1.0.dist-info/METADATA", b"Name: b"),
    ]);
    let error = wheel_metadata(Cursor::new(wheel), &wheel_name(&builder)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "foo-1.0-py3-none-any.whl has several `.dist-info` directories and cannot tell which \
         is its own: a-1.0.dist-info/METADATA, b-1.0.dist-info/METADATA"
    );

    let wheel = zip_of(&[("foo/__init__.py", b"")]);
    let error = wheel_metadata(Cursor::new(wheel), &wheel_name(&builder)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "foo-1.0-py3-none-any.whl has no `.dist-info/METADATA`, so it is not a valid wheel"
    );

    let error =
        wheel_metadata(Cursor::new(b"not a zip".to_vec()), &wheel_name(&builder)).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot read foo-1.0-py3-none-any.whl as a zip archive"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------
// Sdists
// ---------------------------------------------------------------------------

/// `PKG-INFO` is read from either format; `requires.txt` only when `PKG-INFO` lists no
/// dependencies, the one case where it is used (older setuptools wrote them there alone).
#[test]
fn sdists_give_pkg_info_and_requires_txt_only_when_pkg_info_lists_nothing() {
    for format in [SdistFormat::TarGz, SdistFormat::Zip] {
        let builder = SdistBuilder::new("oslo.config", "10.7.0")
            .format(format)
            .metadata_version("2.2")
            .requires_dist(["pbr>=2", "pyyaml>=5.1; extra == 'yaml'"])
            .egg_info_requires(["pbr>=2"])
            .egg_info_section("yaml", ["PyYAML>=5.1"]);
        let sdist = sdist_name(&builder.filename(), "oslo.config");
        let found = sdist_metadata(&builder.build(), &sdist).unwrap();
        let pkg_info = found.pkg_info.expect("PKG-INFO");
        assert_eq!(pkg_info, builder.pkg_info().as_bytes(), "{format:?}");
        assert!(
            CoreMetadata::parse(&pkg_info)
                .unwrap()
                .dependencies_are_static()
        );
        assert_eq!(found.requires_txt, None, "{format:?}");

        let builder = SdistBuilder::new("oslo.config", "10.7.0")
            .format(format)
            .egg_info_requires(["pbr>=2"])
            .egg_info_section("yaml", ["PyYAML>=5.1"]);
        let found = sdist_metadata(&builder.build(), &sdist).unwrap();
        assert!(found.pkg_info.is_some(), "{format:?}");
        let requires = found.requires_txt.expect("requires.txt");
        assert_eq!(Some(&requires), builder.egg_info_requires_txt().as_ref());
        let parsed = requires_txt::parse(&requires);
        assert_eq!(
            parsed
                .requires_dist
                .iter()
                .map(|d| d.requirement.to_string())
                .collect::<Vec<_>>(),
            ["pbr>=2", "pyyaml>=5.1 ; extra == 'yaml'"]
        );
    }
}

#[test]
fn an_sdist_with_only_requires_txt_or_neither() {
    let requires = b"six\n\n[test]\npytest\n";
    // The project's own egg-info wins over a deeper one and another project's.
    let archive = tar_gz_of(&[
        ("./legacy-0.8.1/setup.py", b"from setuptools import setup\n"),
        (
            "./legacy-0.8.1/tests/data/other.egg-info/requires.txt",
            b"wrong\n",
        ),
        ("./legacy-0.8.1/src/legacy.egg-info/requires.txt", requires),
        (
            "./legacy-0.8.1/src/legacy.egg-info/PKG-INFO",
            b"Name: legacy\n",
        ),
    ]);
    let sdist = sdist_name("legacy-0.8.1.tar.gz", "legacy");
    let found = sdist_metadata(&archive, &sdist).unwrap();
    assert_eq!(
        found.pkg_info, None,
        "an egg-info PKG-INFO is not the sdist's"
    );
    assert_eq!(
        found.requires_txt.as_deref().map(str::as_bytes),
        Some(&requires[..])
    );

    let archive = zip_of(&[
        ("legacy-0.8.1/legacy.egg-info/requires.txt", requires),
        ("legacy-0.8.1/src/legacy.egg-info/requires.txt", b"deeper\n"),
    ]);
    let sdist = sdist_name("legacy-0.8.1.zip", "legacy");
    let found = sdist_metadata(&archive, &sdist).unwrap();
    assert_eq!(
        found.requires_txt.as_deref().map(str::as_bytes),
        Some(&requires[..])
    );

    let archive = tar_gz_of(&[("legacy-0.8.1/setup.py", b"")]);
    let sdist = sdist_name("legacy-0.8.1.tgz", "legacy");
    let found = sdist_metadata(&archive, &sdist).unwrap();
    assert_eq!((found.pkg_info, found.requires_txt), (None, None));
}

#[test]
fn unreadable_sdists_say_why() {
    let sdist = sdist_name("legacy-0.8.1.tar.bz2", "legacy");
    // A bzip2 header with nothing behind it.
    let error = sdist_metadata(b"BZh9", &sdist).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot read legacy-0.8.1.tar.bz2 as a tar archive"
    );
    let sdist = sdist_name("legacy-0.8.1.tar.gz", "legacy");
    let error = sdist_metadata(b"not gzip at all", &sdist).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot read legacy-0.8.1.tar.gz as a tar archive"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------
// Range requests
// ---------------------------------------------------------------------------

/// A wheel of about 4 MiB (an incompressible blob), its dist-info written last as the spec
/// recommends. Built once: deflating 4 MiB takes a while in a debug build.
fn big_wheel() -> (WheelBuilder, Vec<u8>) {
    static BIG: OnceLock<(WheelBuilder, Vec<u8>)> = OnceLock::new();
    BIG.get_or_init(|| {
        let builder = WheelBuilder::new("big-pkg", "3.1")
            .requires_dist(["numpy>=1.26", "scipy; extra == 'full'"])
            .provides_extra(["full"])
            .file("big_pkg/__init__.py", "")
            .file("big_pkg/blob.bin", incompressible(4 << 20));
        let bytes = builder.build();
        assert!(bytes.len() > 4 << 20, "the blob must not compress");
        (builder, bytes)
    })
    .clone()
}

#[test]
fn range_reading_a_big_wheel_fetches_only_its_tail() {
    let (builder, bytes) = big_wheel();
    let size = bytes.len() as u64;
    let path = format!("/files/{}", builder.filename());
    let (server, url) = serve(&path, Resource::file(bytes));
    let http = client(0);

    for known_size in [Some(size), None] {
        server.clear_log();
        let (metadata, stats) =
            wheel_metadata_by_range(&http, &url, known_size, &wheel_name(&builder)).unwrap();
        assert_eq!(metadata, builder.metadata().as_bytes());

        let requests = server.requests_to(&path);
        let ranges: Vec<(u64, u64)> = requests.iter().map(|r| asked_range(r, size)).collect();
        let fetched: u64 = ranges.iter().map(|(first, last)| last - first + 1).sum();
        eprintln!("size known: {known_size:?}; wheel {size} bytes; ranges {ranges:?}; {stats:?}");
        assert_eq!(stats.requests as usize, requests.len());
        assert_eq!(stats.bytes, fetched);
        assert!(
            requests
                .iter()
                .all(|r| r.header("accept-encoding") == Some("identity")),
            "ranges of the file as stored, not of a compressed form"
        );
        // The tail holds the central directory and METADATA: one request of 64 KiB.
        assert_eq!(ranges, [(size - 65536, size - 1)]);
        assert!(fetched * 50 < size, "fetched {fetched} of {size} bytes");
    }
}

#[test]
fn a_large_central_directory_and_the_dist_info_before_it_are_fetched_in_one_request() {
    // 4000 members: a central directory of about 260 KiB, and a RECORD of about 150 KiB
    // (compressed) between METADATA and the directory.
    let mut builder = WheelBuilder::new("many", "1.0").requires_dist(["six"]);
    for i in 0..4000 {
        builder = builder.file(&format!("many/module_{i:05}.py"), format!("X = {i}\n"));
    }
    let bytes = builder.build();
    let size = bytes.len() as u64;
    let path = format!("/files/{}", builder.filename());
    let (server, url) = serve(&path, Resource::file(bytes));

    let (metadata, stats) =
        wheel_metadata_by_range(&client(0), &url, Some(size), &wheel_name(&builder)).unwrap();
    assert_eq!(metadata, builder.metadata().as_bytes());
    let ranges: Vec<(u64, u64)> = server
        .requests_to(&path)
        .iter()
        .map(|r| asked_range(r, size))
        .collect();
    eprintln!("wheel {size} bytes; ranges {ranges:?}; {stats:?}");
    // The tail; then the rest of the central directory, which the end record locates, with
    // as many bytes before it, which hold RECORD and METADATA (RECORD keeps them out of the
    // tail).
    assert_eq!(stats.requests, 2, "{ranges:?}");
    assert_eq!(ranges[0], (size - 65536, size - 1));
    assert_eq!(
        ranges[1].1,
        size - 65537,
        "the directory up to the tail: {ranges:?}"
    );
    // Nothing is fetched twice.
    let mut sorted = ranges.clone();
    sorted.sort_unstable();
    assert!(sorted.windows(2).all(|w| w[0].1 < w[1].0), "{ranges:?}");
}

#[test]
fn a_server_without_ranges_is_unsupported() {
    let (builder, bytes) = big_wheel();
    let size = bytes.len() as u64;
    let path = format!("/files/{}", builder.filename());
    let (server, url) = serve(&path, Resource::file(bytes).without_ranges());
    for known_size in [Some(size), None] {
        let error = wheel_metadata_by_range(&client(0), &url, known_size, &wheel_name(&builder))
            .unwrap_err();
        assert!(error.is_range_unsupported(), "{error:?}");
        assert_eq!(
            error.to_string(),
            format!("{url} does not support range requests: it answered 200 with the whole file")
        );
    }
    assert_eq!(
        server.requests_to(&path).len(),
        2,
        "one request each, no retries"
    );
}

#[test]
fn a_small_wheel_fetched_whole_by_range_accepts_a_200() {
    // A file smaller than a block is asked for whole; a 200 is then as good as a 206.
    let builder = WheelBuilder::new("tiny", "1.0");
    let bytes = builder.build();
    let size = bytes.len() as u64;
    assert!(size < 65536);
    let path = format!("/files/{}", builder.filename());
    let (server, url) = serve(&path, Resource::file(bytes).without_ranges());
    let (metadata, stats) =
        wheel_metadata_by_range(&client(0), &url, Some(size), &wheel_name(&builder)).unwrap();
    assert_eq!(metadata, builder.metadata().as_bytes());
    assert_eq!((stats.requests, stats.bytes), (1, size));
    assert_eq!(
        server.requests_to(&path)[0].range(),
        Some(&*format!("bytes=0-{}", size - 1))
    );
}

#[test]
fn a_second_different_content_range_is_an_error() {
    let (builder, bytes) = big_wheel();
    let size = bytes.len() as u64;
    let path = format!("/files/{}", builder.filename());
    // A proxy that sends a Content-Range of its own before the server's.
    let (_server, url) = serve(
        &path,
        Resource::file(bytes).header("Content-Range", "bytes 0-65535/99999999"),
    );
    let error =
        wheel_metadata_by_range(&client(0), &url, Some(size), &wheel_name(&builder)).unwrap_err();
    assert!(
        matches!(
            &error,
            MetadataError::Range(e) if matches!(**e, RangeError::ContentRangeMismatch { .. })
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{url} answered `Content-Range: bytes 0-65535/99999999`, `bytes {}-{}/{size}` to \
             `Range: bytes={}-{}`",
            size - 65536,
            size - 1,
            size - 65536,
            size - 1
        )
    );
}

/// A server that answers every request on every connection with `head` (status line and
/// headers, without the blank line) and `body`, for answers the test server will not give.
fn fixed_answer_server(head: String, body: Vec<u8>) -> SafeUrl {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = SafeUrl::parse(&format!(
        "http://{}/files/big_pkg-3.1-py3-none-any.whl",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut byte = [0];
            while !request.ends_with(b"\r\n\r\n") {
                match std::io::Read::read(&mut stream, &mut byte) {
                    Ok(1) => request.push(byte[0]),
                    _ => break,
                }
            }
            let _ = stream.write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

#[test]
fn a_shortened_missing_or_short_range_is_an_error() {
    let size: u64 = 1_000_000;
    let asked = format!("`Range: bytes={}-{}`", size - 65536, size - 1);
    let cases = [
        // The server shortened the range it was asked for.
        (
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {}-{}/{size}\r\n\
                 Content-Length: 100",
                size - 100,
                size - 1
            ),
            100,
            format!(
                "answered `Content-Range: bytes {}-{}/{size}` to {asked}",
                size - 100,
                size - 1
            ),
        ),
        (
            "HTTP/1.1 206 Partial Content\r\nContent-Length: 65536".to_owned(),
            65536,
            format!("answered `Content-Range: (none)` to {asked}"),
        ),
        // A body shorter than its Content-Range (with a Content-Length to match it).
        (
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {}-{}/{size}\r\n\
                 Content-Length: 1000",
                size - 65536,
                size - 1
            ),
            1000,
            format!("sent 1000 bytes for {asked}, which is 65536 bytes"),
        ),
    ];
    let http = client(0);
    let wheel = WheelFilename::parse("big_pkg-3.1-py3-none-any.whl").unwrap();
    for (head, body_len, expected) in cases {
        let url = fixed_answer_server(head, vec![0; body_len]);
        let error = wheel_metadata_by_range(&http, &url, Some(size), &wheel).unwrap_err();
        assert_eq!(error.to_string(), format!("{url} {expected}"));
    }
}

#[test]
fn a_size_other_than_the_locked_one_is_an_error() {
    let (builder, bytes) = big_wheel();
    let size = bytes.len() as u64;
    let path = format!("/files/{}", builder.filename());
    let (_server, url) = serve(&path, Resource::file(bytes));
    let http = client(0);

    // Smaller than the file: the server's Content-Range gives the real size.
    let error =
        wheel_metadata_by_range(&http, &url, Some(size - 1000), &wheel_name(&builder)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{url} is {size} bytes long, but {} bytes were expected",
            size - 1000
        )
    );

    // Far larger: the range lies past the end and the server answers 416.
    let error =
        wheel_metadata_by_range(&http, &url, Some(size * 3), &wheel_name(&builder)).unwrap_err();
    assert!(
        matches!(
            &error,
            MetadataError::Range(e) if matches!(**e, RangeError::Unsatisfiable { .. })
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(&format!(
            "{url} answered 416 (range not satisfiable) to `Range: bytes="
        )),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .ends_with(&format!("with `Content-Range: bytes */{size}`")),
        "{error}"
    );
}

#[test]
fn a_range_body_cut_short_is_retried_then_an_error() {
    let (builder, bytes) = big_wheel();
    let size = bytes.len() as u64;
    let path = format!("/files/{}", builder.filename());
    let (server, url) = serve(&path, Resource::file(bytes));

    server
        .site()
        .fault(path.clone(), Fault::Truncate(100), Fires::ONCE);
    let (metadata, stats) =
        wheel_metadata_by_range(&client(1), &url, Some(size), &wheel_name(&builder)).unwrap();
    assert_eq!(metadata, builder.metadata().as_bytes());
    assert_eq!(stats.requests, 2, "the cut body, then the retry");
    assert_eq!(server.requests_to(&path).len(), 2);

    server.clear_log();
    server
        .site()
        .fault(path.clone(), Fault::Truncate(100), Fires::Forever);
    let error =
        wheel_metadata_by_range(&client(1), &url, Some(size), &wheel_name(&builder)).unwrap_err();
    assert!(
        matches!(
            &error,
            MetadataError::Range(e) if matches!(**e, RangeError::Http(
                pinguard::http::HttpError::Transport { .. }
            ))
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot fetch {url}: ")),
        "{error}"
    );
    assert_eq!(server.requests_to(&path).len(), 2, "one retry");
}

#[test]
fn a_missing_wheel_is_an_http_error() {
    let (server, _) = serve("/files/other", Resource::file(b"x".to_vec()));
    let url = SafeUrl::parse(&server.url("/files/missing-1.0-py3-none-any.whl")).unwrap();
    let wheel = WheelFilename::parse("missing-1.0-py3-none-any.whl").unwrap();
    let error = wheel_metadata_by_range(&client(0), &url, None, &wheel).unwrap_err();
    assert_eq!(error.to_string(), format!("{url} answered 404 Not Found"));
    assert!(!error.is_range_unsupported());
}

#[test]
fn the_range_reader_reads_anywhere_in_the_file() {
    use std::io::{Read, Seek, SeekFrom};
    let bytes = incompressible(300_000);
    let (server, url) = serve("/blob", Resource::file(bytes.clone()));
    let http = client(0);
    let mut reader = RangeReader::new(&http, &url, None).unwrap();
    assert_eq!(reader.size(), 300_000);
    assert_eq!(
        reader.stats().requests,
        1,
        "the suffix request gives the size"
    );

    let mut buf = vec![0; 10];
    reader.seek(SeekFrom::Start(1000)).unwrap();
    reader.read_exact(&mut buf).unwrap();
    assert_eq!(buf, bytes[1000..1010]);
    assert_eq!(reader.stats().requests, 2);
    // Held already: no request.
    for position in [60_000, 299_990] {
        reader.seek(SeekFrom::Start(position)).unwrap();
        reader.read_exact(&mut buf).unwrap();
        assert_eq!(buf, bytes[position as usize..position as usize + 10]);
    }
    reader.seek(SeekFrom::End(-10)).unwrap();
    reader.read_exact(&mut buf).unwrap();
    assert_eq!(buf, bytes[299_990..]);
    assert_eq!(reader.stats().requests, 2);
    // Before a held block: the block before it is fetched.
    reader.seek(SeekFrom::Start(5)).unwrap();
    reader.read_exact(&mut buf).unwrap();
    assert_eq!(buf, bytes[5..15]);
    assert_eq!(reader.stats().requests, 3);

    // Reading everything from the start fetches each byte once.
    reader.seek(SeekFrom::Start(0)).unwrap();
    let mut all = Vec::new();
    reader.read_to_end(&mut all).unwrap();
    assert_eq!(all, bytes);
    assert_eq!(reader.stats().bytes, 300_000);
    assert!(reader.seek(SeekFrom::Current(-400_000)).is_err());
    eprintln!(
        "{:?}",
        server
            .requests_to("/blob")
            .iter()
            .map(|r| r.range())
            .collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------
// PEP 658 metadata files
// ---------------------------------------------------------------------------

#[test]
fn metadata_files_present_absent_and_tampered() {
    let builder = WheelBuilder::new("foo", "1.0").requires_dist(["bar"]);
    let metadata = builder.metadata().into_bytes();
    let digest = Sha256::of(&metadata);
    let site = Site::new();
    let wheel_path = format!("/files/{}", builder.filename());
    site.route(
        format!("{wheel_path}.metadata"),
        Resource::file(metadata.clone()),
    );
    let server = TestServer::start(site);
    let http = client(0);
    let file_url = SafeUrl::parse(&format!("{}#sha256=abc", server.url(&wheel_path))).unwrap();

    let found = fetch_metadata_file(&http, &file_url, Some(digest)).unwrap();
    assert_eq!(found, Some(metadata.clone()));
    let found = fetch_metadata_file(&http, &file_url, None).unwrap();
    assert_eq!(found, Some(metadata));
    assert_eq!(
        server.requests()[0].path,
        format!("{wheel_path}.metadata"),
        "the fragment is not part of the URL"
    );

    let wrong = Sha256::of(b"something else");
    let error = fetch_metadata_file(&http, &file_url, Some(wrong)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "the metadata file {}.metadata does not match the sha256 the index gave\n  \
             expected: {wrong}\n  computed: {digest}",
            server.url(&wheel_path)
        )
    );

    let absent = SafeUrl::parse(&server.url("/files/bar-1.0-py3-none-any.whl")).unwrap();
    assert_eq!(
        fetch_metadata_file(&http, &absent, Some(digest)).unwrap(),
        None
    );

    server.site().fault(
        format!("{wheel_path}.metadata"),
        Fault::status(403),
        Fires::ONCE,
    );
    let error = fetch_metadata_file(&http, &file_url, None).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}.metadata answered 403 Forbidden",
            server.url(&wheel_path)
        )
    );
}
