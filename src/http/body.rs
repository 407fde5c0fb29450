//! Response bodies, read within bounds of size and time.
//!
//! Every body pinguard keeps in memory (index pages, JSON, `.metadata` files, range
//! responses, requirements files from a URL) is read through [`Body::read_all`], which stops
//! one byte past its limit. The limit counts **decoded** bytes: reqwest undoes
//! `Content-Encoding: gzip` before pinguard sees a byte, so 33 KB on the wire can decode to
//! gigabytes, and a bound on the wire would not stop it.
//!
//! Time is bounded twice: each read waits at most `--timeout` for data (the client's
//! per-read timeout), and the whole request, body included, must finish within
//! `--request-timeout` (checked here between reads), so a body that trickles in steadily is
//! not cut off, and one that trickles forever is.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::Response;
use reqwest::header::HeaderMap;

use super::HttpError;
use crate::safe_url::SafeUrl;

/// A number of bytes, written in bytes or with a binary or decimal unit (`64MiB`, `500MB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            other => {
                return Err(format!(
                    "unknown unit `{other}`: write bytes, or a number with KiB, MiB, GiB (or KB, MB, GB)"
                ));
            }
        };
        let number: u64 = digits
            .parse()
            .map_err(|_| format!("`{text}` is not a size: write for example 64MiB or 67108864"))?;
        number
            .checked_mul(factor)
            .filter(|&n| n > 0)
            .map(ByteSize)
            .ok_or_else(|| format!("`{text}` is not a usable size (zero, or too large)"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        match units.iter().find(|(size, _)| self.0.is_multiple_of(*size)) {
            Some((size, unit)) => write!(f, "{} {unit}", self.0 / size),
            None => write!(f, "{} bytes", self.0),
        }
    }
}

/// How reading a response went wrong.
#[derive(Debug)]
pub enum BodyError<E = HttpError> {
    /// The body broke off (reset, cut short, or no data within `--timeout`): a new request
    /// may do better.
    Broken(io::Error),
    /// Anything else; retrying would not help.
    Fatal(E),
}

impl BodyError {
    /// The same failure, with a fatal error converted for the caller.
    pub fn widen<E: From<HttpError>>(self) -> BodyError<E> {
        match self {
            Self::Broken(e) => BodyError::Broken(e),
            Self::Fatal(e) => BodyError::Fatal(e.into()),
        }
    }
}

impl<E> From<HttpError> for BodyError<E>
where
    E: From<HttpError>,
{
    fn from(error: HttpError) -> Self {
        Self::Fatal(error.into())
    }
}

/// The marker of a request that ran past `--request-timeout`, inside an [`io::Error`].
#[derive(Debug)]
struct Overdue;

impl fmt::Display for Overdue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request took too long in all")
    }
}

impl std::error::Error for Overdue {}

/// A response whose body is read within the request's overall deadline.
pub struct Body {
    response: Response,
    url: SafeUrl,
    started: Instant,
    overall: Duration,
    /// Decoded bytes read so far.
    read: u64,
}

impl Body {
    pub(super) fn new(
        response: Response,
        url: &SafeUrl,
        started: Instant,
        overall: Duration,
    ) -> Self {
        Self {
            response,
            url: url.clone(),
            started,
            overall,
            read: 0,
        }
    }

    /// Decoded bytes read so far.
    pub(super) fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.response.headers()
    }

    /// The URL that answered, after redirects (links on a page resolve against it, as pip
    /// resolves them).
    pub fn final_url(&self) -> &url::Url {
        self.response.url()
    }

    /// An error unless the status is a success.
    pub fn require_success(&self) -> Result<(), HttpError> {
        if self.status().is_success() {
            return Ok(());
        }
        Err(HttpError::Status {
            url: self.url.clone(),
            status: self.status(),
        })
    }

    /// The whole decoded body, refused (and nothing of it kept) when it passes `limit` bytes.
    pub fn read_all(&mut self, limit: ByteSize) -> Result<Vec<u8>, BodyError> {
        // Sized from `Content-Length` (never past the limit) when the server gives one, rather
        // than grown by doubling and copying.
        let announced = self.response.content_length().unwrap_or(0).min(limit.0);
        let mut bytes = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
        let mut bounded = Read::take(&mut *self, limit.0.saturating_add(1));
        if let Err(error) = bounded.read_to_end(&mut bytes) {
            return Err(self.failure(error));
        }
        if bytes.len() as u64 > limit.0 {
            return Err(BodyError::Fatal(HttpError::TooLarge {
                url: self.url.clone(),
                limit,
            }));
        }
        Ok(bytes)
    }

    /// Sorts an error from reading this body: past the overall deadline is fatal, anything
    /// else from the network is worth a retry.
    pub fn failure(&self, error: io::Error) -> BodyError {
        if error.get_ref().is_some_and(|e| e.is::<Overdue>()) {
            return BodyError::Fatal(HttpError::Overdue {
                url: self.url.clone(),
                limit: self.overall,
            });
        }
        BodyError::Broken(error)
    }
}

/// Whether a read failed for want of data within the read timeout.
pub(super) fn is_stall(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::TimedOut
        || error
            .get_ref()
            .and_then(|e| e.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout)
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.started.elapsed() > self.overall {
            return Err(io::Error::new(io::ErrorKind::TimedOut, Overdue));
        }
        let n = self.response.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units_and_display_in_the_largest_whole_unit() {
        let cases = [
            ("67108864", 64 << 20, "64 MiB"),
            ("64MiB", 64 << 20, "64 MiB"),
            ("64 mib", 64 << 20, "64 MiB"),
            ("1G", 1 << 30, "1 GiB"),
            ("500MB", 500_000_000, "500000000 bytes"),
            ("3k", 3 << 10, "3 KiB"),
        ];
        for (text, bytes, shown) in cases {
            let size: ByteSize = text.parse().unwrap();
            assert_eq!(
                (size.0, size.to_string().as_str()),
                (bytes, shown),
                "{text}"
            );
        }
        for bad in ["", "MiB", "0", "12 parsecs", "-1", "99999999999G"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }
}
