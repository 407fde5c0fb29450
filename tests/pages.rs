//! Project pages from a hostile or unreliable index: bodies bounded in size and time, broken
//! bodies retried, redirected pages resolved where they answered.

mod support;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use support::cli::{Pinguard, Run, filter, scratch, write};
use support::dist::WheelBuilder;
use support::index::{DistFile, IndexBuilder};
use support::raw::{RawServer, head, respond};
use support::server::{Fault, Fires, Resource, Site, TestServer};

fn alpha() -> DistFile {
    DistFile::wheel(&WheelBuilder::new("alpha", "1.0"))
}

/// A PEP 503 page listing `file` by its bare name, padded to `padding` bytes.
fn page_of(file: &DistFile, padding: usize) -> Vec<u8> {
    let mut page = format!(
        "<!DOCTYPE html><html><body><a href=\"{0}#sha256={1}\">{0}</a>\n",
        file.filename(),
        file.sha256()
    )
    .into_bytes();
    page.resize(page.len() + padding, b' ');
    page.extend_from_slice(b"</body></html>\n");
    page
}

fn lock(dir: &Path, index_url: &str, extra: &[&str]) -> Run {
    write(dir, "upper-constraints.txt", "alpha===1.0\n");
    Pinguard::new(dir)
        .args(["lock", "upper-constraints.txt", "--index-url", index_url])
        .args(extra)
        .run()
}

/// Entries in the page cache, whatever its format version.
fn cached_pages(dir: &Path) -> usize {
    let Ok(buckets) = std::fs::read_dir(dir.join("cache")) else {
        return 0;
    };
    buckets
        .flatten()
        .filter(|b| b.file_name().to_string_lossy().starts_with("pages-"))
        .map(|b| std::fs::read_dir(b.path()).map_or(0, Iterator::count))
        .sum()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn too_large(url: &str) -> String {
    format!(
        "\
error: alpha===1.0 (upper-constraints.txt:1): {url} sent more than 1 MiB (after decompression), the most pinguard reads into memory; nothing of it was kept or cached (if the index really serves bodies this large, raise --max-page-size or PINGUARD_MAX_PAGE_SIZE)
error: 1 of 1 pins cannot be locked; nothing was written
"
    )
}

#[test]
fn a_gzip_bomb_page_is_refused_at_the_page_size_limit() {
    // 2 KiB on the wire, 2 MiB of NUL bytes decoded: the limit counts what reqwest decodes.
    let bomb = gzip(&vec![0u8; 2 << 20]);
    assert!(bomb.len() < 8 << 10);
    let server = RawServer::start(move |_, stream| {
        respond(stream, "text/html", &[("Content-Encoding", "gzip")], &bomb)
    });
    let dir = scratch();
    let run = lock(
        dir.path(),
        &server.url("/simple"),
        &["--max-page-size", "1MiB"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stderr, too_large(&server.url("/simple/alpha/")));
    assert_eq!(cached_pages(dir.path()), 0);
}

#[test]
fn an_endless_chunked_page_is_cut_off_at_the_page_size_limit() {
    let server = RawServer::start(|_, stream| {
        stream.write_all(&head(
            "200 OK",
            &[
                ("Content-Type", "text/html"),
                ("Transfer-Encoding", "chunked"),
            ],
        ))?;
        let chunk = format!("{:x}\r\n{}\r\n", 64 << 10, " ".repeat(64 << 10));
        loop {
            stream.write_all(chunk.as_bytes())?;
        }
    });
    let dir = scratch();
    write(dir.path(), "upper-constraints.txt", "alpha===1.0\n");
    // The limit from the environment, as CI sets it.
    let run = Pinguard::new(dir.path())
        .env("PINGUARD_MAX_PAGE_SIZE", "1MiB")
        .args(["lock", "upper-constraints.txt", "--index-url"])
        .args([server.url("/simple")])
        .run();
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stderr, too_large(&server.url("/simple/alpha/")));
    assert_eq!(cached_pages(dir.path()), 0);
}

/// A server whose pages arrive in 30 pieces, one every 50 ms: 1.5 s in all, never a second
/// without data.
fn trickling_server(page: Vec<u8>) -> RawServer {
    RawServer::start(move |_, stream| {
        let length = page.len().to_string();
        stream.write_all(&head(
            "200 OK",
            &[("Content-Type", "text/html"), ("Content-Length", &length)],
        ))?;
        for piece in page.chunks(page.len().div_ceil(30)) {
            stream.write_all(piece)?;
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    })
}

#[test]
fn a_page_trickling_in_steadily_is_not_cut_off_by_the_read_timeout() {
    let server = trickling_server(page_of(&alpha(), 3_000_000));
    let dir = scratch();
    // The server answers every path with the page: no wheel to read dependencies from.
    let run = lock(
        dir.path(),
        &server.url("/simple"),
        &["--timeout", "1", "--no-dependencies"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let written = std::fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        written.contains(&server.url("/simple/alpha/alpha-1.0-py3-none-any.whl")),
        "{written}"
    );
}

#[test]
fn a_page_trickling_past_the_request_timeout_fails_naming_it() {
    let server = trickling_server(page_of(&alpha(), 3_000_000));
    let dir = scratch();
    let run = lock(
        dir.path(),
        &server.url("/simple"),
        &["--request-timeout", "1"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    let page = server.url("/simple/alpha/");
    assert_eq!(
        run.stderr,
        format!(
            "\
error: alpha===1.0 (upper-constraints.txt:1): {page} took longer than 1 s in all (--request-timeout); if the server is that slow, raise --request-timeout or PINGUARD_REQUEST_TIMEOUT
error: 1 of 1 pins cannot be locked; nothing was written
"
        )
    );
    assert_eq!(cached_pages(dir.path()), 0);
}

#[test]
fn a_stalled_page_body_fails_after_retries_naming_the_read_timeout() {
    let server = RawServer::start(|_, stream| {
        stream.write_all(&head(
            "200 OK",
            &[("Content-Type", "text/html"), ("Content-Length", "1000")],
        ))?;
        stream.write_all(b"<html><body>")?;
        // Far past the timeout, so a slow machine never sees the body cut short instead
        // (the handler's thread is left behind when the test ends).
        std::thread::sleep(Duration::from_secs(60));
        Ok(())
    });
    let dir = scratch();
    let run = lock(
        dir.path(),
        &server.url("/simple"),
        &["--timeout", "1", "--retries", "1"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    let page = server.url("/simple/alpha/");
    assert_eq!(
        run.stderr,
        format!(
            "\
error: alpha===1.0 (upper-constraints.txt:1): cannot fetch {page}: its body stopped, no data for 1 s (--timeout), on 2 attempts; if the server is that slow, raise --timeout
error: 1 of 1 pins cannot be locked; nothing was written
"
        )
    );
    assert_eq!(cached_pages(dir.path()), 0);
}

#[test]
fn a_page_body_cut_short_is_fetched_again() {
    let index = IndexBuilder::new().file(alpha()).start();
    index
        .site()
        .fault("/simple/alpha/", Fault::Truncate(10), Fires::ONCE);
    let dir = scratch();
    let run = lock(dir.path(), &index.simple_url(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(index.server().requests_to("/simple/alpha/").len(), 2);
}

#[test]
fn links_on_a_redirected_page_resolve_against_where_it_answered() {
    let file = alpha();
    let site = Site::new();
    site.route("/other/alpha/", Resource::html(page_of(&file, 0)))
        .route(
            format!("/other/alpha/{}", file.filename()),
            Resource::file(file.bytes().to_vec()),
        )
        .fault(
            "/simple/alpha/",
            Fault::redirect(302, "/other/alpha/"),
            Fires::Forever,
        );
    let server = TestServer::start(site);
    let dir = scratch();
    // Only the file links matter here.
    let run = lock(dir.path(), &server.url("/simple"), &["--no-dependencies"]);
    assert_eq!(run.code, 0, "{run:?}");
    let written = std::fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    let base = server.base_url();
    assert_eq!(
        filter(&written, &[(base.as_str(), "http://[INDEX]")])
            .lines()
            .filter(|l| l.contains("alpha-1.0-py3-none-any.whl"))
            .collect::<Vec<_>>(),
        [format!(
            "    {{ name = \"alpha-1.0-py3-none-any.whl\", url = \"http://[INDEX]/other/alpha/alpha-1.0-py3-none-any.whl\", hashes = {{ sha256 = \"{}\" }} }},",
            file.sha256()
        )],
        "{written}"
    );
    // And the locked URL serves the locked file.
    let fetch = Pinguard::new(dir.path())
        .args(["fetch", "pylock.toml", "--dest", "wheelhouse", "--all"])
        .run();
    assert_eq!(fetch.code, 0, "{fetch:?}");
    assert_eq!(
        std::fs::read(dir.path().join("wheelhouse").join(file.filename())).unwrap(),
        file.bytes()
    );
}

#[test]
fn an_oversized_metadata_file_is_refused_at_the_page_size_limit() {
    let metadata = format!(
        "Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\nSummary: {}\n",
        "x".repeat(2 << 20)
    );
    let index = IndexBuilder::new()
        .file(alpha().core_metadata(metadata))
        .start();
    let dir = scratch();
    let run = lock(
        dir.path(),
        &index.simple_url(),
        &["--dependencies", "--max-page-size", "1MiB"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    let url = index.file_url("alpha-1.0-py3-none-any.whl");
    assert_eq!(
        run.stderr,
        format!(
            "\
error: alpha==1.0: cannot read its dependencies: alpha-1.0-py3-none-any.whl: {url}.metadata sent more than 1 MiB (after decompression), the most pinguard reads into memory; nothing of it was kept or cached (if the index really serves bodies this large, raise --max-page-size or PINGUARD_MAX_PAGE_SIZE)
error: the dependencies of 1 package cannot be read; nothing was written
help: `--no-dependencies` writes a lock of the hashes alone, without the dependencies that `install` and `check` use
"
        )
    );
    assert!(!dir.path().join("cache/metadata-v2").exists());
}
