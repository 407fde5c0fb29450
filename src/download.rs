//! Streaming a file from a URL or a path through SHA-256, into a sink.
//!
//! Bytes are hashed as they arrive; nothing is buffered whole. A connection that breaks in
//! the middle of a body is retried from the start (the sink is reset through the
//! [`Restartable`] trait), with the client's backoff.

use std::io::{self, Seek, Write};

use reqwest::header::HeaderMap;

use crate::digest::{Sha256, copy_hashing};
use crate::http::{BodyError, HttpClient, HttpError};
use crate::index::FileLocation;
use crate::safe_url::SafeUrl;

/// A sink that can be emptied to start a download again.
pub trait Restartable: Write {
    /// Discards everything written so far.
    fn restart(&mut self) -> io::Result<()>;
}

impl Restartable for io::Sink {
    fn restart(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Restartable for std::fs::File {
    fn restart(&mut self) -> io::Result<()> {
        self.set_len(0)?;
        self.rewind()?;
        Ok(())
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The HTTP request failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A local file could not be read, or the sink could not be written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        source: io::Error,
    },
}

/// Streams the file at `location` into `sink`, returning its digest and size.
pub fn stream(
    http: &HttpClient,
    location: &FileLocation,
    sink: &mut impl Restartable,
) -> Result<(Sha256, u64), DownloadError> {
    match location {
        FileLocation::Path(path) => {
            let mut file = crate::regular_file::open(path).map_err(|source| DownloadError::Io {
                context: format!("cannot read {}", path.display()),
                source: source.into(),
            })?;
            copy_hashing(&mut file, sink).map_err(|source| DownloadError::Io {
                context: format!("cannot read {}", path.display()),
                source,
            })
        }
        FileLocation::Url(url) => stream_url(http, url, sink),
    }
}

fn stream_url(
    http: &HttpClient,
    url: &SafeUrl,
    sink: &mut impl Restartable,
) -> Result<(Sha256, u64), DownloadError> {
    let mut first = true;
    http.get_body(url, &HeaderMap::new(), |body| {
        if !std::mem::take(&mut first) {
            sink.restart().map_err(|source| {
                BodyError::Fatal(DownloadError::Io {
                    context: format!("cannot restart the download of {url}"),
                    source,
                })
            })?;
        }
        body.require_success()?;
        let mut tracking = TrackingWriter {
            inner: sink,
            failed: false,
        };
        copy_hashing(body, &mut tracking).map_err(|error| {
            if tracking.failed {
                return BodyError::Fatal(DownloadError::Io {
                    context: format!("cannot store the download of {url}"),
                    source: error,
                });
            }
            body.failure(error).widen()
        })
    })
}

/// Tells a failed write (the disk) from a failed read (the network).
struct TrackingWriter<'a, W: Write> {
    inner: &'a mut W,
    failed: bool,
}

impl<W: Write> Write for TrackingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|_| self.failed = true)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner
            .write_all(buf)
            .inspect_err(|_| self.failed = true)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}
