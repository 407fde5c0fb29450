//! Core metadata of distributions: what a pinned version depends on, read from the cheapest
//! source that has it.
//!
//! The building blocks, one per source, cheapest first (the order and the fallbacks between
//! them belong to the caller):
//!
//! 1. [`fetch_metadata_file`]: the `METADATA` file an index publishes beside a wheel at
//!    `<file-url>.metadata` (PEP 658, with the attribute renamed by PEP 714).
//! 2. [`range::wheel_metadata_by_range`]: HTTP range requests into the wheel, reading only its
//!    zip tail (end of central directory, central directory) and the `METADATA` member.
//! 3. [`archive::wheel_metadata`]: the same member out of a whole wheel.
//! 4. [`archive::sdist_metadata`]: `PKG-INFO` of a source distribution, or failing that its
//!    setuptools `*.egg-info/requires.txt` ([`requires_txt`]).
//!
//! What each source yields is parsed by [`CoreMetadata::parse`] (the core metadata
//! specification, <https://packaging.python.org/en/latest/specifications/core-metadata/>) or
//! [`requires_txt::parse`]. Whether an sdist's `Requires-Dist` can be trusted without a
//! build is PEP 643's rule, [`CoreMetadata::dependencies_are_static`].

pub mod archive;
pub mod core;
mod gzip;
pub mod range;
pub mod requires_txt;

use reqwest::header::{self, HeaderMap, HeaderValue};

use crate::digest::Sha256;
use crate::http::{HttpClient, HttpError};
use crate::safe_url::SafeUrl;

pub use self::archive::{SdistMetadata, sdist_metadata, tar_sdist_metadata, wheel_metadata};
pub use self::core::CoreMetadata;
pub use self::range::{RangeError, RangeReader, RangeStats, wheel_metadata_by_range};
pub use self::requires_txt::RequiresTxt;

/// Why metadata could not be had from a file, an archive or a URL. Parse errors do not name
/// the file they come from: the caller, which knows the package and file, adds that.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// A field every core metadata file must have is absent.
    #[error("the core metadata has no `{field}` field")]
    MissingField {
        /// The field, as the specification spells it.
        field: &'static str,
    },
    /// A required field's value does not parse.
    #[error("the core metadata field `{field}: {value}` is invalid: {reason}")]
    InvalidField {
        /// The field, as the specification spells it.
        field: &'static str,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A wheel has no `*.dist-info/METADATA` member.
    #[error("{wheel} has no `.dist-info/METADATA`, so it is not a valid wheel")]
    NoDistInfo {
        /// The wheel's file name.
        wheel: String,
    },
    /// A wheel has several `*.dist-info/METADATA` members and none (or several) of them is
    /// the wheel's own.
    #[error(
        "{wheel} has several `.dist-info` directories and cannot tell which is its own: {}",
        found.join(", ")
    )]
    AmbiguousDistInfo {
        /// The wheel's file name.
        wheel: String,
        /// The `METADATA` members found.
        found: Vec<String>,
    },
    /// An archive is not a readable zip file.
    #[error("cannot read {file} as a zip archive")]
    Zip {
        /// The archive's file name.
        file: String,
        /// The zip reader's error.
        #[source]
        source: zip::result::ZipError,
    },
    /// An sdist is not a readable tar archive.
    #[error("cannot read {file} as a tar archive")]
    Tar {
        /// The archive's file name.
        file: String,
        /// The I/O or decompression error.
        #[source]
        source: std::io::Error,
    },
    /// A member the caller wants is larger than pinguard reads into memory.
    #[error("`{member}` in {file} is larger than {limit} bytes; refusing to read it")]
    MemberTooLarge {
        /// The archive's file name.
        file: String,
        /// The member's path.
        member: String,
        /// The limit.
        limit: u64,
    },
    /// Reading parts of a remote file failed; see [`RangeError::Unsupported`] for the case
    /// where the caller should download the whole file instead.
    #[error(transparent)]
    Range(Box<RangeError>),
    /// A request failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A PEP 658 `.metadata` file is not what the index page said it is.
    #[error(
        "the metadata file {url} does not match the sha256 the index gave\n  expected: {expected}\n  computed: {computed}"
    )]
    DigestMismatch {
        /// The `.metadata` URL (boxed to keep the error small).
        url: Box<SafeUrl>,
        /// The digest the index page gave.
        expected: Sha256,
        /// The digest of what was served.
        computed: Sha256,
    },
}

impl MetadataError {
    /// Whether the server does not honour range requests, so the caller should download the
    /// whole file instead.
    pub fn is_range_unsupported(&self) -> bool {
        matches!(self, Self::Range(e) if matches!(**e, RangeError::Unsupported { .. }))
    }
}

impl From<RangeError> for MetadataError {
    fn from(error: RangeError) -> Self {
        Self::Range(Box::new(error))
    }
}

/// The URL of the PEP 658 metadata file of the distribution at `file_url`: the file's URL with
/// `.metadata` appended to its path (any `#sha256=` fragment dropped, a query kept).
pub fn metadata_file_url(file_url: &SafeUrl) -> SafeUrl {
    let mut url = file_url.expose().clone();
    url.set_fragment(None);
    let path = format!("{}.metadata", url.path());
    url.set_path(&path);
    SafeUrl::from(url)
}

/// Fetches the PEP 658 metadata file of the distribution at `file_url`.
///
/// `Ok(None)` when the server answers 404 (the index has no metadata file for it; the caller
/// falls back to the distribution). When the index page gave the file's digest
/// (`data-core-metadata="sha256=…"` or PEP 691 `core-metadata`), the body must match it.
pub fn fetch_metadata_file(
    http: &HttpClient,
    file_url: &SafeUrl,
    expected_sha256: Option<Sha256>,
) -> Result<Option<Vec<u8>>, MetadataError> {
    let url = metadata_file_url(file_url);
    let mut headers = HeaderMap::new();
    // The body is hashed as served; a transparently decompressed body would still hash the
    // same, but asking for identity keeps what is counted equal to what is hashed.
    headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    let body = match http.get_bytes(&url, &headers, http.max_body()) {
        Ok(body) => body,
        Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if let Some(expected) = expected_sha256 {
        let computed = Sha256::of(&body);
        if computed != expected {
            return Err(MetadataError::DigestMismatch {
                url: Box::new(url),
                expected,
                computed,
            });
        }
    }
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_appends_to_the_path() {
        let cases = [
            (
                "https://files.example/p/foo-1.0-py3-none-any.whl#sha256=abc",
                "https://files.example/p/foo-1.0-py3-none-any.whl.metadata",
            ),
            (
                "https://u:p@files.example/foo-1.0.tar.gz?token=1",
                "https://u:p@files.example/foo-1.0.tar.gz.metadata?token=1",
            ),
        ];
        for (file, expected) in cases {
            let url = metadata_file_url(&SafeUrl::parse(file).unwrap());
            assert_eq!(url.expose().as_str(), expected);
        }
    }
}
