//! Finding a file's provenance (PEP 740): the simple API's `provenance` URL (JSON) or
//! `data-provenance` (HTML) when the page gave one, else the Integrity API route of the
//! file's index, `<index origin>/integrity/<project>/<version>/<filename>/provenance`.
//!
//! Objects are fetched through the page cache ([`crate::index::fetch_page`]), so `--offline`
//! works from what an earlier run fetched; a 404 means the file has none.

use pep440_rs::Version;
use pep508_rs::PackageName;

use super::{INTEGRITY_MEDIA_TYPE, Provenance, ProvenanceError};
use crate::cache::Cache;
use crate::digest::Sha256;
use crate::http::HttpClient;
use crate::index::{IndexError, fetch_page};
use crate::safe_url::SafeUrl;

/// A file's provenance object as fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where it was read.
    pub url: SafeUrl,
    /// The sha256 of its bytes (the index may change a file's provenance later).
    pub sha256: Sha256,
    /// It, parsed.
    pub provenance: Provenance,
}

/// Why a provenance object could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// The request failed.
    #[error("cannot fetch the provenance of {filename}: {source}")]
    Fetch {
        /// The file.
        filename: String,
        /// Why.
        source: Box<IndexError>,
    },
    /// The object is not PEP 740 JSON.
    #[error("the provenance of {filename} at {url} is unreadable: {source}")]
    Parse {
        /// The file.
        filename: String,
        /// Where (credentials masked).
        url: String,
        /// Why.
        source: ProvenanceError,
    },
}

/// What a path segment keeps unescaped: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The Integrity API URL of a file on `index` (a simple-API URL such as
/// `https://pypi.org/simple`); `None` when `index` is no URL (a find-links directory).
pub fn integrity_url(
    index: &str,
    project: &PackageName,
    version: &Version,
    filename: &str,
) -> Option<SafeUrl> {
    let index = SafeUrl::parse(index).ok()?;
    if !matches!(index.scheme(), "http" | "https") {
        return None;
    }
    let segment = |text: &str| percent_encoding::utf8_percent_encode(text, SEGMENT).to_string();
    index
        .join(&format!(
            "/integrity/{}/{}/{}/provenance",
            segment(project.as_ref()),
            segment(&version.to_string()),
            segment(filename)
        ))
        .ok()
}

/// Fetches and parses the provenance at `url`; `None` when the index has none (404).
pub fn fetch(
    http: &HttpClient,
    cache: &Cache,
    url: &SafeUrl,
    filename: &str,
) -> Result<Option<Fetched>, FindError> {
    let page =
        fetch_page(http, cache, url, INTEGRITY_MEDIA_TYPE).map_err(|source| FindError::Fetch {
            filename: filename.to_owned(),
            source: Box::new(source),
        })?;
    let Some(page) = page else { return Ok(None) };
    let provenance = Provenance::from_json(&page.body).map_err(|source| FindError::Parse {
        filename: filename.to_owned(),
        url: url.to_string(),
        source,
    })?;
    Ok(Some(Fetched {
        url: url.clone(),
        sha256: Sha256::of(&page.body),
        provenance,
    }))
}
