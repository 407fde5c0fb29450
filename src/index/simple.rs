//! Parsing project pages of the simple repository API.
//!
//! - [PEP 503](https://peps.python.org/pep-0503/) HTML: one `<a href="URL#sha256=HEX">` per
//!   file, with `data-requires-python` (HTML-escaped), `data-yanked` (optional reason),
//!   `data-core-metadata` / `data-dist-info-metadata` ([PEP 714]/[PEP 658]), `data-provenance`
//!   ([PEP 740]) and, on some mirrors, `data-upload-time`; a `<base href>` changes what
//!   relative links resolve against.
//! - [PEP 691](https://peps.python.org/pep-0691/) JSON: `files[]` with `filename`, `url`,
//!   `hashes`, `requires-python`, `yanked` (bool or reason), `core-metadata`, `provenance`,
//!   and `size`/`upload-time` ([PEP 700]).
//!
//! Which one a server sent is decided by its `Content-Type`, falling back to a look at the
//! first byte, because mirrors answer HTML when JSON was asked for and some static servers
//! label everything `text/plain` or `application/octet-stream`.
//!
//! [PEP 658]: https://peps.python.org/pep-0658/
//! [PEP 700]: https://peps.python.org/pep-0700/
//! [PEP 714]: https://peps.python.org/pep-0714/
//! [PEP 740]: https://peps.python.org/pep-0740/

use std::borrow::Cow;

use serde::Deserialize;

use crate::safe_url::SafeUrl;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The `Accept` header for project pages: JSON preferred, HTML accepted (as pip and uv send).
pub const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// The two serialisations of a project page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFormat {
    /// PEP 503 HTML.
    Html,
    /// PEP 691 JSON.
    Json,
}

impl PageFormat {
    /// Decides from the `Content-Type` and, when that says nothing useful, from the body.
    pub fn detect(content_type: Option<&str>, body: &[u8]) -> Self {
        let media = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        match media.as_deref() {
            Some("application/vnd.pypi.simple.v1+json" | "application/json") => Self::Json,
            Some("application/vnd.pypi.simple.v1+html" | "text/html") => Self::Html,
            _ => match body.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => Self::Json,
                _ => Self::Html,
            },
        }
    }
}

/// A file as a project page lists it; URLs are not resolved yet (most files are of versions
/// nobody asked for, and resolving thousands of URLs costs more than parsing the page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFile {
    /// The file name.
    pub filename: String,
    /// The link, relative or absolute, without its fragment.
    pub href: String,
    /// The sha256 the page gives, not yet validated.
    pub sha256: Option<String>,
    /// `requires-python`, unescaped.
    pub requires_python: Option<String>,
    /// Whether (and why) the file is yanked.
    pub yanked: Option<Yanked>,
    /// Size in bytes (PEP 700).
    pub size: Option<u64>,
    /// Upload time, RFC 3339 (PEP 700).
    pub upload_time: Option<String>,
    /// Whether a `.metadata` file is served beside it (PEP 658/714).
    pub core_metadata: Option<CoreMetadata>,
    /// The provenance URL (PEP 740).
    pub provenance: Option<String>,
}

/// A yanked file (PEP 592).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yanked {
    /// The reason the maintainers gave, if any.
    pub reason: Option<String>,
}

/// What a page says about a file's `.metadata` companion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreMetadata {
    /// Available, no digest given.
    Available,
    /// Available, with its sha256 (unvalidated hex).
    Sha256(String),
}

/// A project page, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The `<base href>` of an HTML page.
    pub base: Option<String>,
    /// The files, in page order.
    pub files: Vec<PageFile>,
    /// The project's status ([PEP 792]), when the page gives it.
    ///
    /// [PEP 792]: https://peps.python.org/pep-0792/
    pub status: Option<ProjectStatus>,
}

/// A project's status (PEP 792): JSON `project-status`, HTML `<meta name="pypi:project-status">`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectStatus {
    /// `active`, `archived`, `quarantined`, `deprecated` (kept as the index wrote it).
    pub status: String,
    /// Why, when the index says (JSON only).
    pub reason: Option<String>,
}

impl ProjectStatus {
    /// Whether the status is anything but `active`.
    pub fn is_notable(&self) -> bool {
        !self.status.eq_ignore_ascii_case("active")
    }
}

#[derive(Deserialize)]
struct JsonStatus {
    status: String,
    #[serde(default)]
    reason: Option<String>,
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// JSON that is not a PEP 691 project page.
    #[error("not a PEP 691 project page: {0}")]
    Json(#[from] serde_json::Error),
    /// A JSON page that is not UTF-8 text (RFC 8259 requires it).
    #[error("not a PEP 691 project page: the bytes at offset {offset} are not UTF-8")]
    Utf8 {
        /// Where the first byte that is not UTF-8 is.
        offset: usize,
    },
    /// A page URL that cannot be built.
    #[error("cannot build the page URL: {0}")]
    Url(#[from] url::ParseError),
}

impl Page {
    /// What the page's links resolve against: its `<base href>` when it has one, else the URL
    /// it was fetched from.
    pub fn base_url(&self, page_url: &SafeUrl) -> SafeUrl {
        match &self.base {
            Some(base) => page_url.join(base).unwrap_or_else(|_| page_url.clone()),
            None => page_url.clone(),
        }
    }

    /// Parses a page in `format`, keeping the files whose name `keep` accepts.
    pub fn parse(
        body: &[u8],
        format: PageFormat,
        keep: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Self, PageError> {
        match format {
            PageFormat::Json => parse_json(body, keep),
            PageFormat::Html => parse_html(body, keep),
        }
    }
}

/// One entry of `files`, as far as it was read.
#[derive(Default)]
struct JsonFile<'a> {
    filename: Cow<'a, str>,
    url: Cow<'a, str>,
    hashes: Hashes<'a>,
    requires_python: Option<Cow<'a, str>>,
    yanked: Option<JsonYanked<'a>>,
    size: Option<u64>,
    upload_time: Option<Cow<'a, str>>,
    core_metadata: Option<JsonCoreMetadata<'a>>,
    dist_info_metadata: Option<JsonCoreMetadata<'a>>,
    provenance: Option<Cow<'a, str>>,
}

/// Reads one entry of `files`. Once its `filename` is known and `keep` refuses it, the rest
/// of the entry is skipped unread: nearly every file on a page is of a version nobody asked
/// for, and typing their values was a fifth of a page's parsing. A skipped entry is `None`.
struct FileSeed<'k> {
    keep: &'k mut dyn FnMut(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = Option<JsonFile<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = Option<JsonFile<'de>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a file (an object with `filename` and `url`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut file = JsonFile::default();
        let mut seen = FileKeys::default();
        while let Some(Text(key)) = map.next_key()? {
            let Some(key) = seen.first(&key)? else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            match key {
                "filename" => {
                    file.filename = map.next_value::<Text<'de>>()?.0;
                    if !(self.keep)(&file.filename) {
                        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                        return Ok(None);
                    }
                }
                "url" => file.url = map.next_value::<Text<'de>>()?.0,
                "hashes" => file.hashes = map.next_value()?,
                "requires-python" => file.requires_python = map.next_value()?,
                "yanked" => file.yanked = map.next_value()?,
                "size" => file.size = map.next_value()?,
                "upload-time" => file.upload_time = map.next_value()?,
                "core-metadata" => file.core_metadata = map.next_value()?,
                "dist-info-metadata" => file.dist_info_metadata = map.next_value()?,
                _ => file.provenance = map.next_value()?,
            }
        }
        for required in ["filename", "url"] {
            if !seen.has(required) {
                return Err(serde::de::Error::missing_field(required));
            }
        }
        Ok(Some(file))
    }
}

/// The keys of a file entry that pinguard reads, each allowed once (as serde's derived
/// readers allow a field once).
const FILE_KEYS: [&str; 10] = [
    "filename",
    "url",
    "hashes",
    "requires-python",
    "yanked",
    "size",
    "upload-time",
    "core-metadata",
    "dist-info-metadata",
    "provenance",
];

/// Which of [`FILE_KEYS`] an entry has given so far.
#[derive(Default)]
struct FileKeys(u16);

impl FileKeys {
    /// `key` as one of [`FILE_KEYS`] (`None` for a key pinguard does not read), refused the
    /// second time it comes.
    fn first<E: serde::de::Error>(&mut self, key: &str) -> Result<Option<&'static str>, E> {
        let Some(at) = FILE_KEYS.iter().position(|known| *known == key) else {
            return Ok(None);
        };
        if self.0 & (1 << at) != 0 {
            return Err(E::duplicate_field(FILE_KEYS[at]));
        }
        self.0 |= 1 << at;
        Ok(Some(FILE_KEYS[at]))
    }

    /// Whether `key` was given.
    fn has(&self, key: &str) -> bool {
        FILE_KEYS
            .iter()
            .position(|known| *known == key)
            .is_some_and(|at| self.0 & (1 << at) != 0)
    }
}

/// A string borrowed from the page when it has no escapes (serde's own `Cow<str>` always
/// copies): keys and file names are read for every file of every page.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                text: &'de str,
            ) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

/// Only sha256 matters; other algorithms are skipped without allocating a map per file.
#[derive(Deserialize, Default)]
struct Hashes<'a> {
    #[serde(default, borrow)]
    sha256: Option<Cow<'a, str>>,
}

/// `yanked`: `false`, `true`, or a reason. It and [`JsonCoreMetadata`] are read by visitors
/// of their own: serde's untagged enums buffer each value into an allocated tree first, for
/// three fields of every file of every page: 5% of an `--offline` lock's CPU time.
enum JsonYanked<'a> {
    Flag(bool),
    Reason(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonYanked<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct YankedVisitor;

        impl<'de> Visitor<'de> for YankedVisitor {
            type Value = JsonYanked<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a boolean or a reason")
            }

            fn visit_bool<E: serde::de::Error>(self, flag: bool) -> Result<Self::Value, E> {
                Ok(JsonYanked::Flag(flag))
            }

            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                reason: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(JsonYanked::Reason(Cow::Borrowed(reason)))
            }

            fn visit_str<E: serde::de::Error>(self, reason: &str) -> Result<Self::Value, E> {
                Ok(JsonYanked::Reason(Cow::Owned(reason.to_owned())))
            }
        }

        deserializer.deserialize_any(YankedVisitor)
    }
}

/// `core-metadata` / `dist-info-metadata`: a boolean, or the hashes of the metadata file.
enum JsonCoreMetadata<'a> {
    Flag(bool),
    Hashes(Hashes<'a>),
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonCoreMetadata<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CoreMetadataVisitor;

        impl<'de> Visitor<'de> for CoreMetadataVisitor {
            type Value = JsonCoreMetadata<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a boolean or hashes")
            }

            fn visit_bool<E: serde::de::Error>(self, flag: bool) -> Result<Self::Value, E> {
                Ok(JsonCoreMetadata::Flag(flag))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let map = serde::de::value::MapAccessDeserializer::new(map);
                Hashes::deserialize(map).map(JsonCoreMetadata::Hashes)
            }
        }

        deserializer.deserialize_any(CoreMetadataVisitor)
    }
}

fn core_metadata(value: Option<JsonCoreMetadata<'_>>) -> Option<CoreMetadata> {
    match value? {
        JsonCoreMetadata::Flag(false) => None,
        JsonCoreMetadata::Flag(true) => Some(CoreMetadata::Available),
        JsonCoreMetadata::Hashes(hashes) => Some(match hashes.sha256 {
            Some(hex) => CoreMetadata::Sha256(hex.into_owned()),
            None => CoreMetadata::Available,
        }),
    }
}

fn parse_json(body: &[u8], keep: &mut dyn FnMut(&str) -> bool) -> Result<Page, PageError> {
    // One check of the whole body, then serde_json's reader of text already known to be
    // UTF-8: read from bytes, serde_json checks every string on its own, and those hundreds of
    // thousands of short checks cost five times the one (6% of a cold lock's CPU time).
    let text = std::str::from_utf8(body).map_err(|e| PageError::Utf8 {
        offset: e.valid_up_to(),
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let (files, status) = PageSeed { keep }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(Page {
        base: None,
        files,
        status,
    })
}

/// Deserializes a PEP 691 page keeping only the files `keep` accepts, converting each as it is
/// read: a long-lived project lists tens of thousands of files, and materialising all of them
/// to keep a handful dominated both time and memory.
struct PageSeed<'k> {
    keep: &'k mut dyn FnMut(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = (Vec<PageFile>, Option<ProjectStatus>);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = (Vec<PageFile>, Option<ProjectStatus>);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a PEP 691 project page (an object with `files`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut files = None;
        let mut status = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "files" && files.is_none() {
                files = Some(map.next_value_seed(FilesSeed {
                    keep: &mut *self.keep,
                })?);
            } else if key == "project-status" {
                status = map
                    .next_value::<Option<JsonStatus>>()?
                    .map(|s| ProjectStatus {
                        status: s.status,
                        reason: s.reason.filter(|r| !r.is_empty()),
                    });
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let files = files.ok_or_else(|| serde::de::Error::missing_field("files"))?;
        Ok((files, status))
    }
}

struct FilesSeed<'k> {
    keep: &'k mut dyn FnMut(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for FilesSeed<'_> {
    type Value = Vec<PageFile>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FilesSeed<'_> {
    type Value = Vec<PageFile>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of files")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut files = Vec::new();
        while let Some(file) = seq.next_element_seed(FileSeed {
            keep: &mut *self.keep,
        })? {
            files.extend(file.map(JsonFile::into_page_file));
        }
        Ok(files)
    }
}

impl JsonFile<'_> {
    fn into_page_file(self) -> PageFile {
        PageFile {
            yanked: match self.yanked {
                None | Some(JsonYanked::Flag(false)) => None,
                Some(JsonYanked::Flag(true)) => Some(Yanked { reason: None }),
                Some(JsonYanked::Reason(reason)) => Some(Yanked {
                    reason: Some(reason.into_owned()).filter(|r| !r.is_empty()),
                }),
            },
            core_metadata: core_metadata(self.core_metadata.or(self.dist_info_metadata)),
            sha256: self.hashes.sha256.map(Cow::into_owned),
            filename: self.filename.into_owned(),
            href: self.url.into_owned(),
            requires_python: self.requires_python.map(Cow::into_owned),
            size: self.size,
            upload_time: self.upload_time.map(Cow::into_owned),
            provenance: self.provenance.map(Cow::into_owned),
        }
    }
}

/// html5gum's default emitter, minus parse errors. It queues an error for each NUL or control
/// character of a run before yielding a token, about 107 bytes each: a page of NUL bytes took
/// a hundred times its size in memory. A PEP 503 page needs no parse errors.
#[derive(Default)]
struct QuietEmitter(html5gum::DefaultEmitter);

impl html5gum::ForwardingEmitter for QuietEmitter {
    type Token = html5gum::Token;

    fn inner(&mut self) -> &mut impl html5gum::Emitter<Token = Self::Token> {
        &mut self.0
    }

    fn emit_error(&mut self, _: html5gum::Error) {}

    fn should_emit_errors(&mut self) -> bool {
        false
    }
}

fn parse_html(body: &[u8], keep: &mut dyn FnMut(&str) -> bool) -> Result<Page, PageError> {
    let mut page = Page::default();
    // A tokenizer is all a PEP 503 page needs: only `<a>` and `<base>` start tags matter, and
    // html5gum decodes character references in attribute values as browsers do.
    for token in html5gum::Tokenizer::new_with_emitter(body, QuietEmitter::default()) {
        let Ok(html5gum::Token::StartTag(tag)) = token else {
            continue;
        };
        let attr = |key: &str| -> Option<String> {
            tag.attributes
                .get(key.as_bytes())
                .map(|value| String::from_utf8_lossy(&value.value).into_owned())
        };
        if tag.name.eq_ignore_ascii_case(b"meta")
            && attr("name").is_some_and(|n| n.eq_ignore_ascii_case("pypi:project-status"))
        {
            page.status = attr("content").map(|status| ProjectStatus {
                status,
                reason: None,
            });
            continue;
        }
        if tag.name.eq_ignore_ascii_case(b"base") {
            if page.base.is_none() {
                page.base = attr("href");
            }
            continue;
        }
        if !tag.name.eq_ignore_ascii_case(b"a") {
            continue;
        }
        let Some(href) = attr("href") else { continue };
        let (link, fragment) = match href.split_once('#') {
            Some((link, fragment)) => (link, Some(fragment)),
            None => (href.as_str(), None),
        };
        let filename = file_name_of(link);
        if filename.is_empty() || !keep(&filename) {
            continue;
        }
        let sha256 = fragment.and_then(|f| {
            f.split('&')
                .find_map(|kv| kv.strip_prefix("sha256="))
                .map(str::to_owned)
        });
        let metadata = attr("data-core-metadata").or_else(|| attr("data-dist-info-metadata"));
        page.files.push(PageFile {
            href: link.to_owned(),
            sha256,
            requires_python: attr("data-requires-python").filter(|s| !s.trim().is_empty()),
            yanked: attr("data-yanked").map(|reason| Yanked {
                reason: Some(reason).filter(|r| !r.is_empty()),
            }),
            size: attr("data-size").and_then(|s| s.parse().ok()),
            upload_time: attr("data-upload-time"),
            core_metadata: metadata.and_then(|value| match value.split_once('=') {
                Some(("sha256", hex)) => Some(CoreMetadata::Sha256(hex.to_owned())),
                _ if value.eq_ignore_ascii_case("false") => None,
                _ => Some(CoreMetadata::Available),
            }),
            provenance: attr("data-provenance"),
            filename,
        });
    }
    Ok(page)
}

/// The last path segment of a link, percent-decoded, without query.
pub fn file_name_of(link: &str) -> String {
    let path = link.split(['?', '#']).next().unwrap_or(link);
    let last = path.rsplit('/').next().unwrap_or(path);
    percent_encoding::percent_decode_str(last)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTML: &str = r#"<!DOCTYPE html>
<html><head><title>Links for six</title></head><body>
<a href="../../packages/94/e7/six-1.17.0.tar.gz#sha256=ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81" data-requires-python="!=3.0.*,&gt;=2.7">six-1.17.0.tar.gz</a><br/>
<a href="https://files.example/six-1.16.0-py2.py3-none-any.whl#md5=00&amp;sha256=ab" data-yanked="broken &amp; bad" data-upload-time="2021-05-05T14:18:17.891Z" data-dist-info-metadata="sha256=cd">six-1.16.0-py2.py3-none-any.whl</a>
<a data-yanked href="six%2B-1.0.zip" data-core-metadata="true">x</a>
</body></html>"#;

    #[test]
    fn html_attributes_are_unescaped() {
        let page = Page::parse(HTML.as_bytes(), PageFormat::Html, &mut |_| true).unwrap();
        assert_eq!(page.files.len(), 3);
        let sdist = &page.files[0];
        assert_eq!(sdist.filename, "six-1.17.0.tar.gz");
        assert_eq!(sdist.href, "../../packages/94/e7/six-1.17.0.tar.gz");
        assert_eq!(sdist.requires_python.as_deref(), Some("!=3.0.*,>=2.7"));
        assert_eq!(sdist.yanked, None);
        let wheel = &page.files[1];
        assert_eq!(wheel.sha256.as_deref(), Some("ab"));
        assert_eq!(
            wheel.yanked,
            Some(Yanked {
                reason: Some("broken & bad".into())
            })
        );
        assert_eq!(
            wheel.upload_time.as_deref(),
            Some("2021-05-05T14:18:17.891Z")
        );
        assert_eq!(wheel.core_metadata, Some(CoreMetadata::Sha256("cd".into())));
        let odd = &page.files[2];
        assert_eq!(odd.filename, "six+-1.0.zip");
        assert_eq!(odd.yanked, Some(Yanked { reason: None }));
        assert_eq!(odd.core_metadata, Some(CoreMetadata::Available));
    }

    #[test]
    fn html_keeps_only_what_is_asked_and_reads_base() {
        let html = r#"<html><head><base href="https://cdn.example/p/"></head>
            <body><a href="a-1.0.tar.gz">a</a><a href="a-2.0.tar.gz">a</a></body></html>"#;
        let page = Page::parse(html.as_bytes(), PageFormat::Html, &mut |f| {
            f.contains("2.0")
        })
        .unwrap();
        assert_eq!(page.base.as_deref(), Some("https://cdn.example/p/"));
        assert_eq!(page.files.len(), 1);
        assert_eq!(page.files[0].filename, "a-2.0.tar.gz");
    }

    #[test]
    fn json_fields() {
        let json = br#"{"meta": {"api-version": "1.1"}, "name": "six", "versions": ["1.0"], "files": [
            {"filename": "six-1.0.tar.gz", "url": "https://f/six-1.0.tar.gz", "hashes": {"sha256": "aa", "md5": "bb"},
             "requires-python": ">=3.8", "yanked": "bad", "size": 12, "upload-time": "2020-01-01T00:00:00Z",
             "core-metadata": {"sha256": "cc"}, "provenance": "https://p"},
            {"filename": "six-1.0-py3-none-any.whl", "url": "six-1.0-py3-none-any.whl", "hashes": {},
             "yanked": false, "dist-info-metadata": true},
            {"filename": "six-1.1.tar.gz", "url": "x", "hashes": {}, "yanked": true}
        ]}"#;
        let page = Page::parse(json, PageFormat::Json, &mut |_| true).unwrap();
        let f = &page.files[0];
        assert_eq!(f.sha256.as_deref(), Some("aa"));
        assert_eq!(
            f.yanked,
            Some(Yanked {
                reason: Some("bad".into())
            })
        );
        assert_eq!(f.size, Some(12));
        assert_eq!(f.upload_time.as_deref(), Some("2020-01-01T00:00:00Z"));
        assert_eq!(f.core_metadata, Some(CoreMetadata::Sha256("cc".into())));
        assert_eq!(f.provenance.as_deref(), Some("https://p"));
        assert_eq!(page.files[1].sha256, None);
        assert_eq!(page.files[1].yanked, None);
        assert_eq!(page.files[1].core_metadata, Some(CoreMetadata::Available));
        assert_eq!(page.files[2].yanked, Some(Yanked { reason: None }));
    }

    #[test]
    fn project_status_is_read_from_json_and_html() {
        let json = br#"{"meta": {"api-version": "1.4"}, "project-status": {"status": "quarantined", "reason": "malware"}, "files": []}"#;
        let page = Page::parse(json, PageFormat::Json, &mut |_| true).unwrap();
        assert_eq!(
            page.status,
            Some(ProjectStatus {
                status: "quarantined".into(),
                reason: Some("malware".into())
            })
        );
        let html =
            br#"<html><head><meta name="pypi:project-status" content="archived"></head></html>"#;
        let page = Page::parse(html, PageFormat::Html, &mut |_| true).unwrap();
        assert_eq!(page.status.map(|s| s.status), Some("archived".into()));
    }

    #[test]
    fn format_detection() {
        let cases = [
            (
                Some("application/vnd.pypi.simple.v1+json"),
                &b"x"[..],
                PageFormat::Json,
            ),
            (Some("text/html; charset=utf-8"), b"{", PageFormat::Html),
            (
                Some("application/octet-stream"),
                b"  {\"files\": []}",
                PageFormat::Json,
            ),
            (None, b"<html>", PageFormat::Html),
        ];
        for (ct, body, expected) in cases {
            assert_eq!(PageFormat::detect(ct, body), expected, "{ct:?}");
        }
    }

    #[test]
    fn json_errors_say_what_is_wrong() {
        let err = Page::parse(b"{\"nope\": 1}", PageFormat::Json, &mut |_| true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a PEP 691 project page: missing field `files` at line 1 column 11"
        );
    }

    #[test]
    fn json_files_not_kept_are_skipped_from_their_name_on_and_kept_ones_read_strictly() {
        let body = br#"{"files": [
            {"filename": "a-1.0.tar.gz", "size": "big", "url": 1, "new-key": {"x": [1]}},
            {"core-metadata": true, "filename": "a-2.0.tar.gz", "url": "a-2.0.tar.gz"}
        ]}"#;
        let page = Page::parse(body, PageFormat::Json, &mut |f| f.contains("2.0")).unwrap();
        assert_eq!(page.files.len(), 1);
        assert_eq!(page.files[0].filename, "a-2.0.tar.gz");
        assert_eq!(page.files[0].core_metadata, Some(CoreMetadata::Available));
        let err = Page::parse(body, PageFormat::Json, &mut |_| true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a PEP 691 project page: invalid type: string \"big\", expected u64 at line 2 column 54"
        );
        let no_url = br#"{"files": [{"filename": "a-1.0.tar.gz", "size": 1}]}"#;
        let err = Page::parse(no_url, PageFormat::Json, &mut |_| true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a PEP 691 project page: missing field `url` at line 1 column 50"
        );
        let twice = br#"{"files": [{"filename": "a", "filename": "b", "url": "u"}]}"#;
        let err = Page::parse(twice, PageFormat::Json, &mut |_| true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a PEP 691 project page: duplicate field `filename` at line 1 column 39"
        );
        let hashes_twice =
            br#"{"files": [{"filename": "a", "url": "u", "hashes": {}, "hashes": {}}]}"#;
        let err = Page::parse(hashes_twice, PageFormat::Json, &mut |_| true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a PEP 691 project page: duplicate field `hashes` at line 1 column 63"
        );
    }

    #[test]
    fn json_page_that_is_not_utf8_is_refused_even_in_a_file_not_kept() {
        let body = b"{\"files\": [{\"filename\": \"a-1.0.tar.gz\", \"url\": \"a\xff\"}]}";
        let err = Page::parse(body, PageFormat::Json, &mut |_| false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a PEP 691 project page: the bytes at offset 49 are not UTF-8"
        );
    }
}
