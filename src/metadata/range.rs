//! Reading parts of a remote file with HTTP range requests (RFC 9110 §14), so that a wheel's
//! `METADATA` costs a request or two instead of the whole wheel.
//!
//! A zip keeps its index at the end: the end-of-central-directory record points at the central
//! directory, which gives each member's offset. [`RangeReader`] is a `Read + Seek` over the
//! remote file that the zip crate walks like a local file; each read it cannot answer from
//! what it already holds becomes one `Range: bytes=a-b` request for a block around it. Blocks
//! are at least [`MIN_BLOCK`] (the zip crate's small reads must not become a request each),
//! grow while reads are sequential, stretch backwards at the end of the file and never leave
//! a sliver unfetched before a held block. [`wheel_metadata_by_range`] also reads the
//! end-of-central-directory record out of the tail and fetches a central directory larger
//! than the tail in one request, with as many bytes again before it, where `METADATA` most
//! likely is. For a typical wheel, whose `.dist-info` is written last, the one tail request
//! holds the directory and `METADATA` alike; a wheel with thousands of files costs two (tail,
//! then directory with the `.dist-info` before it). pip (`lazy_wheel`) and uv
//! (`remote_metadata`, over `async_http_range_reader`) read wheels the same way.
//!
//! Every `206` is checked: its `Content-Range` must be the range asked for, of a file of the
//! size expected. A server that ignores `Range` and answers `200` with the whole file gives
//! [`RangeError::Unsupported`], for the caller to download the wheel instead.

use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::MetadataError;
use super::archive::wheel_metadata;
use crate::filename::WheelFilename;
use crate::http::{Body, BodyError, HttpClient, HttpError};
use crate::safe_url::SafeUrl;

/// The smallest block fetched: 64 KiB holds the tail of most wheels (their central directory
/// and `.dist-info`) and costs about as long as a few KiB over any real link.
pub const MIN_BLOCK: u64 = 64 * 1024;

/// The largest block fetched when sequential reads double the block size.
pub const MAX_BLOCK: u64 = 8 << 20;

/// What a [`RangeReader`] has cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RangeStats {
    /// Requests sent (each retry of a body cut short counts).
    pub requests: u32,
    /// Body bytes received.
    pub bytes: u64,
}

/// Why part of a remote file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    /// The server ignored `Range` and answered 200 with the whole file: download it instead.
    #[error("{url} does not support range requests: it answered 200 with the whole file")]
    Unsupported {
        /// The file's URL (boxed to keep the error small).
        url: Box<SafeUrl>,
    },
    /// The server answered 416: the range lies outside the file (it is shorter than expected,
    /// or empty).
    #[error("{url} answered 416 (range not satisfiable) to `Range: {range}`{}",
        content_range.as_ref().map(|c| format!(" with `Content-Range: {c}`")).unwrap_or_default())]
    Unsatisfiable {
        /// The file's URL (boxed to keep the error small).
        url: Box<SafeUrl>,
        /// The `Range` asked for.
        range: String,
        /// The `Content-Range` of the answer, which may give the file's real size.
        content_range: Option<String>,
    },
    /// A 206 whose `Content-Range` is missing, malformed or not the range asked for.
    #[error("{url} answered `Content-Range: {content_range}` to `Range: {range}`")]
    ContentRangeMismatch {
        /// The file's URL (boxed to keep the error small).
        url: Box<SafeUrl>,
        /// The `Range` asked for.
        range: String,
        /// What the server sent (`(none)` when nothing; several values joined).
        content_range: String,
    },
    /// The server says the file has another size than the one expected (the lock's, or the
    /// one an earlier response gave): the file changed, or is not the one locked.
    #[error("{url} is {actual} bytes long, but {expected} bytes were expected")]
    SizeMismatch {
        /// The file's URL (boxed to keep the error small).
        url: Box<SafeUrl>,
        /// The size expected.
        expected: u64,
        /// The size the server gave.
        actual: u64,
    },
    /// The body of a 206 is not as long as its `Content-Range`.
    #[error("{url} sent {received} bytes for `Range: {range}`, which is {expected} bytes")]
    ShortBody {
        /// The file's URL (boxed to keep the error small).
        url: Box<SafeUrl>,
        /// The `Range` asked for.
        range: String,
        /// The length the range has.
        expected: u64,
        /// The length received.
        received: u64,
    },
    /// The request failed (after the client's retries), or answered another error status.
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// A part of the file already fetched.
#[derive(Debug)]
struct Segment {
    start: u64,
    bytes: Vec<u8>,
}

impl Segment {
    fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

/// A `Range` header a request sends.
#[derive(Debug, Clone, Copy)]
enum Ask {
    /// `bytes=first-last`, inclusive.
    Bytes { first: u64, last: u64 },
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

impl Ask {
    fn header(self) -> String {
        match self {
            Self::Bytes { first, last } => format!("bytes={first}-{last}"),
            Self::Suffix(n) => format!("bytes=-{n}"),
        }
    }
}

/// `Content-Range: bytes first-last/total` (RFC 9110 §14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ContentRange {
    first: u64,
    last: u64,
    /// `None` for `*` (length unknown).
    total: Option<u64>,
}

impl ContentRange {
    fn parse(value: &str) -> Option<Self> {
        let (unit, rest) = value.trim().split_once(' ')?;
        if !unit.eq_ignore_ascii_case("bytes") {
            return None;
        }
        let (range, total) = rest.trim().split_once('/')?;
        let (first, last) = range.split_once('-')?;
        let number = |s: &str| s.trim().parse::<u64>().ok();
        let total = match total.trim() {
            "*" => None,
            total => Some(number(total)?),
        };
        let (first, last) = (number(first)?, number(last)?);
        (first <= last && total.is_none_or(|total| last < total)).then_some(Self {
            first,
            last,
            total,
        })
    }
}

/// A `Read + Seek` over a remote file, fetching blocks with range requests and keeping them.
///
/// Reads fail with an [`io::Error`] that says what went wrong; the typed [`RangeError`] is kept
/// for [`RangeReader::take_error`] (the zip crate wraps I/O errors in its own).
#[derive(Debug)]
pub struct RangeReader<'a> {
    http: &'a HttpClient,
    url: SafeUrl,
    size: u64,
    position: u64,
    /// Sorted by start, disjoint.
    segments: Vec<Segment>,
    stats: RangeStats,
    error: Option<RangeError>,
}

impl<'a> RangeReader<'a> {
    /// A reader of the file at `url`, of `size` bytes when known (from the lock or the index).
    ///
    /// Without a size, the last [`MIN_BLOCK`] bytes are fetched at once with a suffix range
    /// (`Range: bytes=-65536`), whose `Content-Range` gives the size; the zip crate reads that
    /// tail first anyway. With a size, nothing is fetched until the first read.
    pub fn new(http: &'a HttpClient, url: &SafeUrl, size: Option<u64>) -> Result<Self, RangeError> {
        let mut reader = Self {
            http,
            url: url.clone(),
            size: size.unwrap_or(0),
            position: 0,
            segments: Vec::new(),
            stats: RangeStats::default(),
            error: None,
        };
        if size.is_none() {
            let ask = Ask::Suffix(MIN_BLOCK);
            let (range, bytes) = reader.request(ask, false)?;
            let total = range.total.ok_or_else(|| reader.mismatch(ask, &range))?;
            if range.last + 1 != total || range.last - range.first + 1 != MIN_BLOCK.min(total) {
                return Err(reader.mismatch(ask, &range));
            }
            reader.size = total;
            reader.segments.push(Segment {
                start: range.first,
                bytes,
            });
        }
        Ok(reader)
    }

    /// The file's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The file's URL.
    pub fn url(&self) -> &SafeUrl {
        &self.url
    }

    /// Requests sent and bytes received so far.
    pub fn stats(&self) -> RangeStats {
        self.stats
    }

    /// The error behind the last failed read, if any, taken out of the reader.
    pub fn take_error(&mut self) -> Option<RangeError> {
        self.error.take()
    }

    /// The index of the segment holding `position`, fetching a block around it if none does.
    fn segment_at(&mut self, position: u64) -> Result<usize, RangeError> {
        let after = self.segments.partition_point(|s| s.start <= position);
        if after > 0 && self.segments[after - 1].end() > position {
            return Ok(after - 1);
        }
        let previous = after.checked_sub(1).map(|i| &self.segments[i]);
        let previous_end = previous.map_or(0, Segment::end);
        let next_start = self.segments.get(after).map_or(self.size, |s| s.start);
        // Sequential reads (a central directory larger than a block) double the block.
        let len = match previous {
            Some(p) if p.end() == position => {
                (p.bytes.len() as u64 * 2).clamp(MIN_BLOCK, MAX_BLOCK)
            }
            _ => MIN_BLOCK,
        };
        let mut end = position.saturating_add(len).min(next_start);
        if next_start - end < MIN_BLOCK {
            // Leave no sliver between this block and the next held one: it would cost a
            // request of its own later.
            end = next_start;
        }
        // Near the end of the file (or of a held segment), take the block before instead:
        // readers that search backwards for a record then find it already here.
        let start = position.min(end.saturating_sub(len).max(previous_end));
        self.fetch(after, start, end)?;
        Ok(after)
    }

    /// Fetches `start..end`, which lies in the hole before segment `at`, as one request.
    fn fetch(&mut self, at: usize, start: u64, end: u64) -> Result<(), RangeError> {
        let ask = Ask::Bytes {
            first: start,
            last: end - 1,
        };
        let whole_file = start == 0 && end == self.size;
        let (range, bytes) = self.request(ask, whole_file)?;
        if (range.first, range.last) != (start, end - 1) {
            return Err(self.mismatch(ask, &range));
        }
        self.segments.insert(at, Segment { start, bytes });
        Ok(())
    }

    /// Fetches the parts of `range` not held yet, one request per hole, so that a region
    /// known to be wanted (a zip's central directory) costs one request rather than a
    /// growing series of blocks.
    pub fn prefetch(&mut self, range: Range<u64>) -> Result<(), RangeError> {
        let end = range.end.min(self.size);
        let mut position = range.start;
        while position < end {
            let after = self.segments.partition_point(|s| s.start <= position);
            if after > 0 && self.segments[after - 1].end() > position {
                position = self.segments[after - 1].end();
                continue;
            }
            let hole_end = self.segments.get(after).map_or(end, |s| s.start.min(end));
            self.fetch(after, position, hole_end)?;
            position = hole_end;
        }
        Ok(())
    }

    /// Fills `buf` from `position`, fetching what is not held; `position + buf.len()` must not
    /// pass the end of the file.
    fn read_exact_at(&mut self, mut position: u64, mut buf: &mut [u8]) -> Result<(), RangeError> {
        while !buf.is_empty() {
            let index = self.segment_at(position)?;
            let segment = &self.segments[index];
            let offset = usize::try_from(position - segment.start).expect("inside a segment");
            let n = buf.len().min(segment.bytes.len() - offset);
            buf[..n].copy_from_slice(&segment.bytes[offset..offset + n]);
            buf = &mut buf[n..];
            position += n as u64;
        }
        Ok(())
    }

    /// Sends one range request and checks the answer; `whole_file_ok` when the range is the
    /// whole file, so that a 200 is as good as a 206.
    fn request(
        &mut self,
        ask: Ask,
        whole_file_ok: bool,
    ) -> Result<(ContentRange, Vec<u8>), RangeError> {
        let range = ask.header();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::RANGE,
            HeaderValue::from_str(&range).expect("a range header is ASCII"),
        );
        // A compressed range would be a range of the compressed bytes.
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        let http = self.http;
        http.get_body(&self.url.clone(), &headers, |response| {
            self.stats.requests += 1;
            let content_range = self
                .answered_range(response, &range, whole_file_ok)
                .map_err(BodyError::Fatal)?;
            // A body cut short is retried like a failed connection.
            let bytes = response
                .read_all(http.max_body())
                .map_err(BodyError::widen)?;
            self.stats.bytes += bytes.len() as u64;
            let expected = content_range.last - content_range.first + 1;
            if bytes.len() as u64 != expected {
                return Err(BodyError::Fatal(RangeError::ShortBody {
                    url: Box::new(self.url.clone()),
                    range: range.clone(),
                    expected,
                    received: bytes.len() as u64,
                }));
            }
            Ok((content_range, bytes))
        })
    }

    /// The range a response holds, when it is the one asked for in a file of the known size.
    fn answered_range(
        &self,
        response: &Body,
        range: &str,
        whole_file_ok: bool,
    ) -> Result<ContentRange, RangeError> {
        let range = range.to_owned();
        let content_range = match response.status() {
            StatusCode::PARTIAL_CONTENT => {
                let mut values = response.headers().get_all(header::CONTENT_RANGE).iter();
                let shown = |value: Option<&HeaderValue>| {
                    value.map_or_else(
                        || "(none)".to_owned(),
                        |v| String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                };
                let first = values.next();
                let parsed = first
                    .and_then(|v| v.to_str().ok())
                    .and_then(ContentRange::parse);
                // A second, different Content-Range makes the answer ambiguous.
                let others: Vec<&HeaderValue> = values.filter(|v| Some(*v) != first).collect();
                match parsed {
                    Some(parsed) if others.is_empty() => parsed,
                    _ => {
                        let content_range = std::iter::once(first)
                            .chain(others.into_iter().map(Some))
                            .map(shown)
                            .collect::<Vec<_>>()
                            .join("`, `");
                        return Err(RangeError::ContentRangeMismatch {
                            url: Box::new(self.url.clone()),
                            range,
                            content_range,
                        });
                    }
                }
            }
            StatusCode::OK if whole_file_ok => ContentRange {
                first: 0,
                last: self.size.saturating_sub(1),
                total: Some(self.size),
            },
            StatusCode::OK => {
                return Err(RangeError::Unsupported {
                    url: Box::new(self.url.clone()),
                });
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                return Err(RangeError::Unsatisfiable {
                    url: Box::new(self.url.clone()),
                    range,
                    content_range: response
                        .headers()
                        .get(header::CONTENT_RANGE)
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                });
            }
            status => {
                return Err(HttpError::Status {
                    url: self.url.clone(),
                    status,
                }
                .into());
            }
        };
        if let Some(total) = content_range.total
            && self.size != 0
            && total != self.size
        {
            return Err(RangeError::SizeMismatch {
                url: Box::new(self.url.clone()),
                expected: self.size,
                actual: total,
            });
        }
        Ok(content_range)
    }

    fn mismatch(&self, ask: Ask, range: &ContentRange) -> RangeError {
        let total = range
            .total
            .map_or_else(|| "*".to_owned(), |t| t.to_string());
        RangeError::ContentRangeMismatch {
            url: Box::new(self.url.clone()),
            range: ask.header(),
            content_range: format!("bytes {}-{}/{total}", range.first, range.last),
        }
    }
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.position >= self.size {
            return Ok(0);
        }
        let n = usize::try_from(self.size - self.position)
            .map_or(buf.len(), |left| left.min(buf.len()));
        if let Err(e) = self.read_exact_at(self.position, &mut buf[..n]) {
            let error = io::Error::other(e.to_string());
            self.error = Some(e);
            return Err(error);
        }
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for RangeReader<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(delta) => self.size.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        self.position = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("seek to before the start of {}", self.url),
            )
        })?;
        Ok(self.position)
    }
}

/// Reads a wheel's `METADATA` with range requests: the zip tail, then the member, as
/// [`wheel_metadata`] finds it. `size` is the wheel's size when the lock or the index gives
/// it (saving nothing but a check: without it, the first request is a suffix range).
///
/// Returns the bytes of `METADATA` and what the requests cost. When the server does not honour
/// ranges, the error is [`MetadataError::Range`] with [`RangeError::Unsupported`] (see
/// [`MetadataError::is_range_unsupported`]).
pub fn wheel_metadata_by_range(
    http: &HttpClient,
    url: &SafeUrl,
    size: Option<u64>,
    wheel: &WheelFilename,
) -> Result<(Vec<u8>, RangeStats), MetadataError> {
    let mut reader = RangeReader::new(http, url, size)?;
    if let Some(region) = directory_region(&mut reader)? {
        reader.prefetch(region)?;
    }
    match wheel_metadata(&mut reader, wheel) {
        Ok(bytes) => Ok((bytes, reader.stats())),
        // The zip crate's error only repeats the request's; give the request's.
        Err(e) => Err(reader.take_error().map_or(e, MetadataError::from)),
    }
}

/// The end-of-central-directory record's signature (APPNOTE.TXT §4.3.16).
const EOCD_SIGNATURE: &[u8; 4] = b"PK\x05\x06";
/// Its fixed part: signature, disk numbers, entry counts, directory size and offset, comment
/// length.
const EOCD_LEN: usize = 22;
/// A central directory larger than this is left to the zip crate's reads.
const MAX_PREFETCH: u64 = 64 << 20;

/// What to fetch of the zip behind `reader` once its last block is held: nothing when the
/// end-of-central-directory record in that block says the central directory is in it too
/// (or makes no sense, see [`locate_central_directory`]); else the directory and as many bytes
/// again before it, in one request. A wheel's `.dist-info` is written last, just before the
/// directory, and its `RECORD` (a line and a digest per file) is about as long as the
/// directory once compressed, so `METADATA` is most likely in that stretch: a wheel with many
/// files then costs two requests rather than three (tail, directory, `METADATA`).
fn directory_region(reader: &mut RangeReader) -> Result<Option<Range<u64>>, RangeError> {
    let size = reader.size();
    let tail_len = size.min(MIN_BLOCK);
    let tail_start = size - tail_len;
    let mut tail = vec![0; usize::try_from(tail_len).expect("a block fits in memory")];
    reader.read_exact_at(tail_start, &mut tail)?;
    let Some(directory) = locate_central_directory(&tail, tail_start) else {
        return Ok(None);
    };
    if directory.start >= tail_start {
        return Ok(None);
    }
    let before = (directory.end - directory.start).max(MIN_BLOCK);
    Ok(Some(directory.start.saturating_sub(before)..directory.end))
}

/// Where the central directory lies, from the end-of-central-directory record in `tail`, the
/// last bytes of an archive starting at offset `tail_start`. `None` when the record is not in
/// the tail (a long comment), the archive is zip64, or the numbers make no sense: the zip
/// crate then finds its way with ordinary reads. The numbers come from a remote file, so
/// nothing here trusts them.
pub fn locate_central_directory(tail: &[u8], tail_start: u64) -> Option<Range<u64>> {
    let at = tail
        .windows(EOCD_SIGNATURE.len())
        .rposition(|w| w == EOCD_SIGNATURE)
        .filter(|&at| at + EOCD_LEN <= tail.len())?;
    let field = |offset: usize| {
        u32::from_le_bytes(
            tail[at + offset..at + offset + 4]
                .try_into()
                .expect("4 bytes"),
        )
    };
    let (directory_size, directory_offset) = (field(12), field(16));
    if directory_size == u32::MAX || directory_offset == u32::MAX {
        return None;
    }
    let directory =
        u64::from(directory_offset)..u64::from(directory_offset) + u64::from(directory_size);
    let record_start = tail_start.checked_add(at as u64)?;
    let sane = directory.end <= record_start && directory.end - directory.start <= MAX_PREFETCH;
    sane.then_some(directory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parses_and_refuses_nonsense() {
        let cases = [
            (
                "bytes 0-9/100",
                Some(ContentRange {
                    first: 0,
                    last: 9,
                    total: Some(100),
                }),
            ),
            (
                "bytes 90-99/*",
                Some(ContentRange {
                    first: 90,
                    last: 99,
                    total: None,
                }),
            ),
            ("bytes 9-0/100", None),
            ("bytes 0-100/100", None),
            ("bytes */100", None),
            ("items 0-9/100", None),
            ("bytes 0-9", None),
            ("", None),
        ];
        for (value, expected) in cases {
            assert_eq!(ContentRange::parse(value), expected, "{value}");
        }
    }
}
