//! The parts of HTTP semantics the test server implements, as pure
//! functions over header values: content negotiation, byte ranges and
//! validators. Kept apart from the socket code so each can be read (and
//! checked against its RFC section) on its own.

use std::ops::Range;

/// `text/html`: what PEP 503 pages are served as.
pub const TEXT_HTML: &str = "text/html";
/// The PEP 691 media type of the HTML serialization.
pub const SIMPLE_V1_HTML: &str = "application/vnd.pypi.simple.v1+html";
/// The PEP 691 media type of the JSON serialization.
pub const SIMPLE_V1_JSON: &str = "application/vnd.pypi.simple.v1+json";

// ---------------------------------------------------------------------------
// Content negotiation
// ---------------------------------------------------------------------------

/// Picks, among representations of these media types, the one the client
/// rates highest (RFC 9110 §12.5.1: the most specific media range that
/// matches a type gives its q-value), and returns its index. Ties, a
/// missing `Accept`, and nothing acceptable all pick the first candidate,
/// as PyPI falls back to HTML. With `html_only`, only HTML types are
/// candidates (when there are any).
pub fn negotiate(content_types: &[&str], accept: Option<&str>, html_only: bool) -> usize {
    let mut candidates: Vec<usize> = (0..content_types.len())
        .filter(|&i| !html_only || is_html(content_types[i]))
        .collect();
    if candidates.is_empty() {
        candidates = (0..content_types.len()).collect();
    }
    let first = candidates[0];
    let Some(accept) = accept else {
        return first;
    };
    let ranges = parse_accept(accept);
    let mut best: Option<(f32, usize)> = None;
    for i in candidates {
        let q = quality(&ranges, content_types[i]);
        if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, i));
        }
    }
    best.map_or(first, |(_, i)| i)
}

fn is_html(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence == TEXT_HTML || essence.ends_with("+html")
}

/// The media type without parameters, lower-cased.
fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

struct MediaRange {
    kind: String,
    subtype: String,
    q: f32,
}

/// The media ranges of an `Accept` header; malformed items are skipped.
fn parse_accept(header: &str) -> Vec<MediaRange> {
    header
        .split(',')
        .filter_map(|item| {
            let mut params = item.split(';');
            let essence = essence(params.next()?);
            let (kind, subtype) = essence.split_once('/')?;
            let q = params
                .filter_map(|p| p.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, value)| value.trim().parse::<f32>().ok())?;
            Some(MediaRange {
                kind: kind.to_owned(),
                subtype: subtype.to_owned(),
                q: q.clamp(0.0, 1.0),
            })
        })
        .collect()
}

/// The q-value `ranges` give `content_type`; 0 when none matches.
fn quality(ranges: &[MediaRange], content_type: &str) -> f32 {
    let essence = essence(content_type);
    let (kind, subtype) = essence.split_once('/').unwrap_or((&essence, ""));
    ranges
        .iter()
        .filter_map(|range| {
            let specificity = match (range.kind.as_str(), range.subtype.as_str()) {
                ("*", "*") => 0,
                (k, "*") if k == kind => 1,
                (k, s) if k == kind && s == subtype => 2,
                _ => return None,
            };
            Some((specificity, range.q))
        })
        .max_by_key(|&(specificity, _)| specificity)
        .map_or(0.0, |(_, q)| q)
}

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

/// What a `Range` header asks of a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: answer 200 with the whole body. RFC 9110 §14.2
    /// lets a server ignore a range it does not support (several ranges at
    /// once, another unit) or an invalid one.
    Whole,
    /// Answer 206 with these bytes.
    Part(Range<usize>),
    /// Answer 416.
    Unsatisfiable,
}

/// Reads a single `bytes=` range (`a-b`, `a-` or `-n`) against a body of
/// `len` bytes; an end past the body is clamped to it.
pub fn parse_range(header: &str, len: usize) -> RangeRequest {
    let Some((unit, spec)) = header.split_once('=') else {
        return RangeRequest::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let number = |s: &str| s.parse::<usize>().ok();
    match (first, last) {
        ("", suffix) => match number(suffix) {
            None => RangeRequest::Whole,
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if len == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Part(len.saturating_sub(n)..len),
        },
        (first, "") => match number(first) {
            None => RangeRequest::Whole,
            Some(start) if start >= len => RangeRequest::Unsatisfiable,
            Some(start) => RangeRequest::Part(start..len),
        },
        (first, last) => match (number(first), number(last)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= len {
                    RangeRequest::Unsatisfiable
                } else {
                    RangeRequest::Part(start..end.min(len - 1) + 1)
                }
            }
            _ => RangeRequest::Whole,
        },
    }
}

// ---------------------------------------------------------------------------
// Validators
// ---------------------------------------------------------------------------

/// Whether a conditional GET gets `304 Not Modified`: `If-None-Match`
/// against the `ETag` by weak comparison (RFC 9110 §13.1.2), else
/// `If-Modified-Since` against `Last-Modified` compared as strings, which
/// is enough for clients that echo the validator they were given.
pub fn not_modified(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    if let Some(if_none_match) = if_none_match {
        return etag.is_some_and(|etag| {
            if_none_match
                .split(',')
                .any(|tag| tag.trim() == "*" || opaque(tag) == opaque(etag))
        });
    }
    match (if_modified_since, last_modified) {
        (Some(since), Some(modified)) => since.trim() == modified.trim(),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Status lines
// ---------------------------------------------------------------------------

/// The reason phrase of the status codes tests use.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}
