//! Reading what the user wants locked: OpenStack upper-constraints files and pip
//! requirements/constraints files, into exact [`Pin`]s.
//!
//! Grammar (pip's requirements file format, plus what OpenStack's own parser accepts):
//!
//! ```text
//! file        = { line }
//! line        = requirement { per-req-option } | option { option }      (after lexing, see `lines`)
//! requirement = PEP 508 specifier, with `;` or (OpenStack legacy) `:` before the marker
//! per-req-option = "--hash=" "sha256:" HEX64 | "--config-settings" … | "--global-option" …
//! option      = -r/--requirement FILE | -c/--constraint FILE | -i/--index-url URL
//!             | --extra-index-url URL | -f/--find-links DIR-OR-URL | --no-index
//!             | --pre | --prefer-binary | --require-hashes | --only-binary X | --no-binary X
//!             | --trusted-host H | --use-feature X
//! ```
//!
//! A lock holds one version per project and marker, so every requirement must be an exact pin
//! (`==` without `.*`, or `===`), or be covered by such a pin elsewhere in the files read (a
//! `-r requirements.txt` line `oslo.config>=9` is covered by `-c` `oslo.config===10.7.0`). All
//! problems in all files are collected and reported together as [`Diagnostics`].

mod lines;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerTree, PackageName, VerbatimUrl, VersionOrUrl};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::digest::Sha256;
use crate::marker::Dependency;
use crate::safe_url::SafeUrl;
use lines::{LogicalLine, Token, logical_lines, tokens};

/// Where a requirements file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SourceRef {
    /// A local file.
    Path(PathBuf),
    /// An `http(s)://` URL.
    Url(SafeUrl),
    /// Standard input (`-`).
    Stdin,
}

impl SourceRef {
    /// Interprets a command-line argument: `-`, an `http(s)://` or `file://` URL, or a path.
    pub fn from_arg(arg: &str) -> Result<Self, url::ParseError> {
        if arg == "-" {
            return Ok(Self::Stdin);
        }
        Self::resolve(arg, None)
    }

    /// Resolves an include (`-r`/`-c` value) relative to the file that names it, as pip does:
    /// URLs are joined, paths are taken relative to the including file's directory.
    fn resolve(value: &str, base: Option<&SourceRef>) -> Result<Self, url::ParseError> {
        let lower = value.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return SafeUrl::parse(value).map(Self::Url);
        }
        if lower.starts_with("file:") {
            let url = url::Url::parse(value)?;
            return Ok(url
                .to_file_path()
                .map(Self::Path)
                .unwrap_or_else(|()| Self::Path(PathBuf::from(url.path()))));
        }
        Ok(match base {
            Some(Self::Url(url)) => Self::Url(url.join(value)?),
            Some(Self::Path(file)) => {
                let dir = file.parent().unwrap_or(Path::new(""));
                Self::Path(normalize_path(&dir.join(value)))
            }
            Some(Self::Stdin) | None => Self::Path(normalize_path(Path::new(value))),
        })
    }

    /// The directory a relative path in this file is resolved against.
    fn directory(&self) -> Option<&Path> {
        match self {
            Self::Path(file) => Some(file.parent().unwrap_or(Path::new(""))),
            _ => None,
        }
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{}", path.display()),
            Self::Url(url) => write!(f, "{url}"),
            Self::Stdin => f.write_str("<stdin>"),
        }
    }
}

/// Reads the bytes of a requirements file. The command layer provides the implementation
/// (files, standard input, HTTP), which keeps this module free of I/O policy.
pub trait Loader {
    /// The whole content of `source`.
    fn load(&self, source: &SourceRef) -> Result<Vec<u8>, String>;
}

/// Removes `.` and resolves `..` against the preceding component, without touching the disk,
/// so that one file reached by two spellings (`a/../b.txt`, `b.txt`) is recognised as one
/// (include loops, files included twice).
fn normalize_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                if matches!(last, Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(last, Some(Component::RootDir | Component::Prefix(_))) {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Where a pin was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The file, as shown to the user.
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One exactly pinned project: what becomes one `[[packages]]` entry of the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The project, normalized.
    pub name: PackageName,
    /// Extras requested on the line (`pkg[extra]===1.0`); they do not change the files.
    pub extras: Vec<ExtraName>,
    /// The `==V` or `===V` specifier.
    pub specifier: VersionSpecifier,
    /// The marker that says where the pin applies (`true` when none).
    pub marker: MarkerTree,
    /// `--hash=sha256:` values given on the line: files must be among them.
    pub hashes: Vec<Sha256>,
    /// Where the pin was written.
    pub location: Location,
}

impl Pin {
    /// The pinned version.
    pub fn version(&self) -> &Version {
        self.specifier.version()
    }

    /// Whether a file of `version` is the pinned one (PEP 440 `==`, or `===` string equality).
    pub fn matches(&self, version: &Version) -> bool {
        match self.specifier.operator() {
            // `===` compares the versions' text, which pep440_rs formats on every call; versions
            // that differ under PEP 440 never have the same text, so compare those first (this
            // runs for every file of every version of a project).
            Operator::ExactEqual => version == self.version() && self.specifier.contains(version),
            _ => self.specifier.contains(version),
        }
    }

    /// The marker as text, `None` when the pin applies everywhere.
    pub fn marker_text(&self) -> Option<String> {
        self.marker.contents().map(|m| m.to_string())
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name, self.specifier)?;
        if let Some(marker) = self.marker_text() {
            write!(f, " ; {marker}")?;
        }
        Ok(())
    }
}

/// A find-links location (`-f`): a directory of files or an HTML page of links.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FindLinks {
    /// A local directory.
    Dir(PathBuf),
    /// A page listing files.
    Url(SafeUrl),
}

impl FindLinks {
    /// Interprets a `--find-links` value; relative paths are taken relative to `base_dir`.
    pub fn parse(value: &str, base_dir: Option<&Path>) -> Result<Self, url::ParseError> {
        match SourceRef::resolve(value, None)? {
            SourceRef::Url(url) => Ok(Self::Url(url)),
            SourceRef::Path(path) if path.is_relative() => Ok(Self::Dir(
                base_dir.map_or_else(|| path.clone(), |dir| dir.join(&path)),
            )),
            SourceRef::Path(path) => Ok(Self::Dir(path)),
            SourceRef::Stdin => unreachable!("resolve never returns stdin"),
        }
    }
}

impl fmt::Display for FindLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(dir) => write!(f, "{}", dir.display()),
            Self::Url(url) => write!(f, "{url}"),
        }
    }
}

/// Index options found in the files, in the order read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexOptions {
    /// The last `--index-url` seen.
    pub index_url: Option<SafeUrl>,
    /// Every `--extra-index-url`.
    pub extra_index_urls: Vec<SafeUrl>,
    /// Every `--find-links`.
    pub find_links: Vec<FindLinks>,
    /// Whether `--no-index` was given.
    pub no_index: bool,
}

/// Everything read from a requirements file and its includes.
#[derive(Debug, Clone)]
pub struct Requirements {
    /// The root file.
    pub source: SourceRef,
    /// SHA-256 of the root file's bytes, recorded in the lock.
    pub source_sha256: Sha256,
    /// The exact pins, in the order first seen.
    pub pins: Vec<Pin>,
    /// Index options from the files.
    pub index: IndexOptions,
    /// Every file read: the root, then its includes in the order they were read.
    pub files: Vec<SourceRef>,
}

/// Why the files could not be read into pins.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The root file could not be read.
    #[error("cannot read `{file}`: {reason}")]
    Load {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// Lines that cannot be locked, all of them.
    #[error("{}", .0)]
    Invalid(Diagnostics),
}

/// Reads `root` and everything it includes into pins. `env` looks up `${VAR}`s.
pub fn parse(
    root: &SourceRef,
    loader: &dyn Loader,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Requirements, ParseError> {
    let (parser, bytes) = run(root, loader, env, Mode::Pins)?;
    Ok(Requirements {
        source: root.clone(),
        source_sha256: Sha256::of(&bytes),
        pins: parser.pins,
        index: parser.index,
        files: parser.sources_read,
    })
}

/// A requirement of a project (`oslo.config>=9.0`), as `install -r` reads them.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The requirement, with its text.
    pub dependency: Dependency,
    /// Where it was written.
    pub location: Location,
}

/// Reads the requirements `root` and its `-r` includes state, ranges and all, for choosing
/// what to install from a lock. Lines of `-c` constraints files are skipped: the lock already
/// fixes every version.
pub fn parse_specs(
    root: &SourceRef,
    loader: &dyn Loader,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Spec>, ParseError> {
    run(root, loader, env, Mode::Specs).map(|(parser, _)| parser.specs)
}

/// What the parser collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Exact pins, for a lock.
    Pins,
    /// Requirements with any specifier, for `install -r`.
    Specs,
}

fn run<'a>(
    root: &SourceRef,
    loader: &'a dyn Loader,
    env: &'a dyn Fn(&str) -> Option<String>,
    mode: Mode,
) -> Result<(Parser<'a>, Vec<u8>), ParseError> {
    let bytes = loader.load(root).map_err(|reason| ParseError::Load {
        file: root.to_string(),
        reason,
    })?;
    let mut parser = Parser {
        loader,
        env,
        mode,
        stack: Vec::new(),
        constraints_depth: 0,
        done: HashSet::new(),
        pins: Vec::new(),
        specs: Vec::new(),
        seen: HashMap::new(),
        unpinned: Vec::new(),
        index: IndexOptions::default(),
        errors: Vec::new(),
        files_read: Vec::new(),
        sources_read: Vec::new(),
    };
    parser.read(root, &bytes);
    if mode == Mode::Pins {
        parser.check_unpinned();
    }
    if !parser.errors.is_empty() {
        // In reading order: files as they were included, lines top to bottom.
        let mut errors = std::mem::take(&mut parser.errors);
        let order = |file: &str| parser.files_read.iter().position(|f| &**f == file);
        errors.sort_by_key(|d| (order(&d.file), d.line));
        return Err(ParseError::Invalid(Diagnostics(errors)));
    }
    Ok((parser, bytes))
}

/// A requirement with a range or no version: fine if a pin covers it.
struct Unpinned {
    name: PackageName,
    specifiers: VersionSpecifiers,
    diagnostic: Diagnostic,
}

struct Parser<'a> {
    loader: &'a dyn Loader,
    env: &'a dyn Fn(&str) -> Option<String>,
    mode: Mode,
    /// Files being read, outermost first: an include of one of them is a loop.
    stack: Vec<SourceRef>,
    /// How many of the files being read were included with `-c`.
    constraints_depth: usize,
    /// Requirements read in [`Mode::Specs`].
    specs: Vec<Spec>,
    /// Files fully read: a second include of one of them adds nothing.
    done: HashSet<SourceRef>,
    pins: Vec<Pin>,
    /// Index into `pins` by project and marker.
    seen: HashMap<(PackageName, String), usize>,
    unpinned: Vec<Unpinned>,
    index: IndexOptions,
    errors: Vec<Diagnostic>,
    /// Files in the order they were first read, to report errors in reading order.
    files_read: Vec<Arc<str>>,
    /// The same files, as read.
    sources_read: Vec<SourceRef>,
}

/// The context for reporting on one logical line.
struct LineContext<'l> {
    file: Arc<str>,
    line: &'l LogicalLine,
}

impl LineContext<'_> {
    fn diagnostic(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: self.file.to_string(),
            line: self.line.number,
            text: self.line.written.clone(),
            span: self.line.written_span(span),
            message: message.into(),
            label: label.into(),
            help,
        }
    }

    fn location(&self) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line.number,
        }
    }
}

impl Parser<'_> {
    fn read(&mut self, source: &SourceRef, bytes: &[u8]) {
        let file: Arc<str> = source.to_string().into();
        self.files_read.push(file.clone());
        self.sources_read.push(source.clone());
        let content = String::from_utf8_lossy(bytes);
        self.stack.push(source.clone());
        for line in logical_lines(&content, self.env) {
            let cx = LineContext {
                file: file.clone(),
                line: &line,
            };
            self.read_line(source, &cx);
        }
        self.stack.pop();
        self.done.insert(source.clone());
    }

    fn read_line(&mut self, source: &SourceRef, cx: &LineContext<'_>) {
        let text = cx.line.expanded.as_str();
        let words = tokens(text);
        // As pip's `break_args_options`: the requirement is everything before the first word
        // that starts with `-`.
        let split = words
            .iter()
            .position(|t| t.text.starts_with('-'))
            .unwrap_or(words.len());
        let (requirement, options) = words.split_at(split);
        if requirement.is_empty() {
            self.read_options(source, cx, options);
        } else {
            let start = requirement[0].start;
            let end = requirement.last().map_or(start, |t| t.start + t.text.len());
            self.read_requirement(cx, start..end, options);
        }
    }

    fn read_options(&mut self, source: &SourceRef, cx: &LineContext<'_>, words: &[Token<'_>]) {
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            let (flag, inline_value) = split_flag(word.text);
            let option = GlobalOption::find(flag);
            let Some(option) = option else {
                let help = if matches!(
                    flag,
                    "--hash" | "--config-settings" | "-C" | "--global-option"
                ) {
                    Some(format!(
                        "`{flag}` belongs on the same line as a requirement, after it"
                    ))
                } else {
                    Some(
                        "see `pip help install` for the options a requirements file may hold"
                            .into(),
                    )
                };
                self.errors.push(cx.diagnostic(
                    word.span(),
                    format!("unknown option `{flag}` in a requirements file"),
                    "not a requirements-file option",
                    help,
                ));
                return;
            };
            let value = if option.takes_value() {
                match inline_value {
                    Some(value) => {
                        let start = word.start + word.text.len() - value.len();
                        Some((value, start..start + value.len()))
                    }
                    None => match words.get(i + 1) {
                        Some(next) => {
                            i += 1;
                            Some((next.text, next.span()))
                        }
                        None => {
                            self.errors.push(cx.diagnostic(
                                word.span(),
                                format!("`{flag}` needs a value"),
                                "no value after this",
                                None,
                            ));
                            return;
                        }
                    },
                }
            } else {
                None
            };
            i += 1;
            self.apply_option(source, cx, option, flag, value);
        }
    }

    fn apply_option(
        &mut self,
        source: &SourceRef,
        cx: &LineContext<'_>,
        option: GlobalOption,
        flag: &str,
        value: Option<(&str, Range<usize>)>,
    ) {
        let url_error = |e: url::ParseError, span: Range<usize>, what: &str| {
            cx.diagnostic(
                span,
                format!("`{flag}` needs a valid {what}: {e}"),
                "not valid",
                None,
            )
        };
        match (option, value) {
            (GlobalOption::Requirement | GlobalOption::Constraint, Some((value, span))) => {
                match SourceRef::resolve(value, Some(source)) {
                    Ok(include) => {
                        let constraints = option == GlobalOption::Constraint;
                        self.constraints_depth += usize::from(constraints);
                        self.include(cx, include, span);
                        self.constraints_depth -= usize::from(constraints);
                    }
                    Err(e) => self.errors.push(url_error(e, span, "path or URL")),
                }
            }
            (GlobalOption::IndexUrl, Some((value, span))) => match SafeUrl::parse(value) {
                Ok(url) => self.index.index_url = Some(url),
                Err(e) => self.errors.push(url_error(e, span, "URL")),
            },
            (GlobalOption::ExtraIndexUrl, Some((value, span))) => match SafeUrl::parse(value) {
                Ok(url) => self.index.extra_index_urls.push(url),
                Err(e) => self.errors.push(url_error(e, span, "URL")),
            },
            (GlobalOption::FindLinks, Some((value, span))) => {
                match FindLinks::parse(value, source.directory()) {
                    Ok(links) => self.index.find_links.push(links),
                    Err(e) => self.errors.push(url_error(e, span, "path or URL")),
                }
            }
            (GlobalOption::NoIndex, _) => self.index.no_index = true,
            (GlobalOption::Editable, value) => {
                let span = value.map_or(0..cx.line.expanded.len(), |(_, span)| span);
                let (message, help) = match self.mode {
                    Mode::Pins => (
                        "an editable install cannot be locked",
                        "remove this line from the file you lock; install the project itself \
                         with `pip install --no-deps -e .` after the locked dependencies",
                    ),
                    Mode::Specs => (
                        "an editable install is not in a lock",
                        "remove this line; install the project itself with \
                         `python -m pip install --no-deps -e .` after `pinguard install`",
                    ),
                };
                self.errors.push(cx.diagnostic(
                    0..span.end,
                    message,
                    "editable",
                    Some(help.into()),
                ));
            }
            // Options that change how pip picks among files do not change which files exist:
            // a lock holds every file of the pinned version.
            _ => {}
        }
    }

    fn include(&mut self, cx: &LineContext<'_>, include: SourceRef, span: Range<usize>) {
        if self.stack.contains(&include) {
            let chain = self
                .stack
                .iter()
                .chain(std::iter::once(&include))
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" -> ");
            self.errors.push(cx.diagnostic(
                span,
                format!("include loop: {chain}"),
                "includes a file that is already being read",
                Some("remove one of the includes".into()),
            ));
            return;
        }
        if self.done.contains(&include) {
            return;
        }
        match self.loader.load(&include) {
            Ok(bytes) => self.read(&include, &bytes),
            Err(reason) => self.errors.push(cx.diagnostic(
                span,
                format!("cannot read `{include}`: {reason}"),
                "included here",
                Some("paths are relative to the file that includes them".into()),
            )),
        }
    }

    fn read_requirement(
        &mut self,
        cx: &LineContext<'_>,
        span: Range<usize>,
        options: &[Token<'_>],
    ) {
        let text = &cx.line.expanded[span.clone()];
        let Some(hashes) = self.read_hashes(cx, options) else {
            return;
        };
        // OpenStack's parser also accepts `name===1.0:marker`; a `:` is otherwise only legal in
        // a URL, which this form never has.
        let normalized;
        let text = if !text.contains(';') && !text.contains("://") && text.contains(':') {
            normalized = text.replacen(':', ";", 1);
            normalized.as_str()
        } else {
            text
        };
        let requirement = match crate::pep508::requirement::<VerbatimUrl>(text) {
            Ok(requirement) => requirement,
            Err(error) => {
                let (start, len) = char_span_to_bytes(text, error.start, error.len);
                let at = span.start + start;
                let help = looks_like_path(text).then(|| {
                    "a path or URL cannot be locked: pin a version from the index instead \
                     (`name===1.2.3`)"
                        .to_owned()
                });
                self.errors.push(cx.diagnostic(
                    at..at + len.max(1),
                    format!("invalid requirement `{text}`"),
                    error.message.to_string(),
                    help,
                ));
                return;
            }
        };
        if self.mode == Mode::Specs {
            if self.constraints_depth > 0 {
                return;
            }
            if !matches!(requirement.version_or_url, Some(VersionOrUrl::Url(_))) {
                match Dependency::from_str(text) {
                    Ok(dependency) => self.specs.push(Spec {
                        dependency,
                        location: cx.location(),
                    }),
                    Err(e) => unreachable!("parsed once already: {e}"),
                }
                return;
            }
        }
        let name = requirement.name.clone();
        let diagnostic = |message: String, label: &str, help: String| {
            cx.diagnostic(span.clone(), message, label, Some(help))
        };
        match requirement.version_or_url {
            Some(VersionOrUrl::Url(_)) => {
                let d = diagnostic(
                    format!("`{name}` is a direct URL, which cannot be locked from an index"),
                    "a URL",
                    format!("pin a version from the index instead (`{name}===1.2.3`)"),
                );
                self.errors.push(d);
            }
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => match exact_pin(&specifiers) {
                Ok(specifier) => {
                    let pin = Pin {
                        name,
                        extras: requirement.extras,
                        specifier,
                        marker: requirement.marker,
                        hashes,
                        location: cx.location(),
                    };
                    self.add_pin(cx, span.clone(), pin);
                }
                Err(PinProblem::SeveralSpecifiers) => {
                    let exact = specifiers.iter().find(|s| is_exact(s));
                    let help = match exact {
                        Some(exact) => format!("keep only `{name}{exact}`"),
                        None => format!("pin one version, e.g. `{name}===1.2.3`"),
                    };
                    let d = diagnostic(
                        format!(
                            "`{name}` has several version specifiers; a lock needs exactly one `==` or `===`"
                        ),
                        "several specifiers",
                        help,
                    );
                    self.errors.push(d);
                }
                Err(PinProblem::NotExact) => {
                    let d = diagnostic(
                        format!("`{name}{specifiers}` is not pinned to one version"),
                        "matches more than one version",
                        format!(
                            "pin one version with `===` (as upper-constraints files do), or \
                                 read a constraints file that pins `{name}` with `-c`"
                        ),
                    );
                    self.unpinned.push(Unpinned {
                        name,
                        specifiers,
                        diagnostic: d,
                    });
                }
            },
            None => {
                let d = diagnostic(
                    format!("`{name}` has no version"),
                    "no version",
                    format!(
                        "pin one version with `===` (`{name}===1.2.3`), or read a constraints \
                         file that pins `{name}` with `-c`"
                    ),
                );
                self.unpinned.push(Unpinned {
                    name,
                    specifiers: VersionSpecifiers::empty(),
                    diagnostic: d,
                });
            }
        }
    }

    /// Reads the per-requirement options; `None` when one of them is wrong (reported).
    fn read_hashes(&mut self, cx: &LineContext<'_>, options: &[Token<'_>]) -> Option<Vec<Sha256>> {
        let mut hashes = Vec::new();
        let mut ok = true;
        let mut i = 0;
        while i < options.len() {
            let word = options[i];
            let (flag, inline) = split_flag(word.text);
            let value = match inline {
                Some(v) => Some((v, word.start + word.text.len() - v.len())),
                None => options.get(i + 1).map(|next| {
                    i += 1;
                    (next.text, next.start)
                }),
            };
            i += 1;
            match (flag, value) {
                ("--hash", Some((value, at))) => match value.split_once(':') {
                    Some(("sha256", hex)) => {
                        match Sha256::from_str(hex) {
                            Ok(digest) => hashes.push(digest),
                            Err(e) => {
                                let start = at + "sha256:".len();
                                ok = false;
                                self.errors.push(cx.diagnostic(
                                start..at + value.len(),
                                "invalid `--hash` value",
                                e.to_string(),
                                Some("copy the digest again from `pip hash FILE` or the index".into()),
                            ));
                            }
                        }
                    }
                    Some((algorithm, _))
                        if matches!(algorithm, "sha384" | "sha512" | "md5" | "sha1" | "sha224") =>
                    {
                        ok = false;
                        self.errors.push(cx.diagnostic(
                            at..at + value.len(),
                            format!("`--hash={algorithm}:…` cannot be checked: pinguard locks by sha256"),
                            "not sha256",
                            Some("replace it with the file's sha256 (`pip hash FILE`), or remove it".into()),
                        ));
                    }
                    _ => {
                        ok = false;
                        self.errors.push(cx.diagnostic(
                            at..at + value.len(),
                            "invalid `--hash` value",
                            "expected `sha256:<64 hex characters>`",
                            None,
                        ));
                    }
                },
                ("--config-settings" | "-C" | "--global-option", Some(_)) => {}
                (_, _) => {
                    ok = false;
                    let message = if matches!(
                        flag,
                        "--hash" | "--config-settings" | "-C" | "--global-option"
                    ) {
                        format!("`{flag}` needs a value")
                    } else {
                        format!("`{flag}` cannot follow a requirement")
                    };
                    self.errors.push(cx.diagnostic(
                        word.span(),
                        message,
                        "here",
                        Some("after a requirement only `--hash=sha256:…` and build options may follow".into()),
                    ));
                    break;
                }
            }
        }
        ok.then_some(hashes)
    }

    /// Every unpinned requirement must be satisfied by a pin of the same project.
    fn check_unpinned(&mut self) {
        for unpinned in std::mem::take(&mut self.unpinned) {
            let pins: Vec<&Pin> = self
                .pins
                .iter()
                .filter(|p| p.name == unpinned.name)
                .collect();
            if pins.is_empty() {
                self.errors.push(unpinned.diagnostic);
                continue;
            }
            if let Some(pin) = pins
                .iter()
                .find(|p| !unpinned.specifiers.contains(p.version()))
            {
                let mut d = unpinned.diagnostic;
                d.message = format!(
                    "`{}{}` conflicts with the pin `{}` at {}",
                    unpinned.name, unpinned.specifiers, pin, pin.location
                );
                d.label = "not satisfied by the pin".into();
                d.help = Some("change the pin or the requirement so they agree".into());
                self.errors.push(d);
            }
        }
    }

    /// Adds a pin; two pins of one project under the same marker must agree, and an exact
    /// repeat is merged.
    fn add_pin(&mut self, cx: &LineContext<'_>, span: Range<usize>, pin: Pin) {
        let key = (pin.name.clone(), pin.marker_text().unwrap_or_default());
        let Some(&first) = self.seen.get(&key) else {
            self.seen.insert(key, self.pins.len());
            self.pins.push(pin);
            return;
        };
        let earlier = &mut self.pins[first];
        let same_hashes = earlier.hashes.is_empty()
            || pin.hashes.is_empty()
            || sorted(&earlier.hashes) == sorted(&pin.hashes);
        if earlier.specifier == pin.specifier && same_hashes {
            if earlier.hashes.is_empty() {
                earlier.hashes = pin.hashes;
            }
            return;
        }
        let what = if earlier.specifier == pin.specifier {
            "with other hashes"
        } else {
            "to another version"
        };
        let message = format!(
            "`{}` is pinned again {what} (`{}` at {})",
            pin.name, earlier, earlier.location
        );
        self.errors.push(cx.diagnostic(
            span,
            message,
            "second pin",
            Some("keep one of the two lines".into()),
        ));
    }
}

fn sorted(hashes: &[Sha256]) -> Vec<Sha256> {
    let mut v = hashes.to_vec();
    v.sort();
    v
}

enum PinProblem {
    NotExact,
    SeveralSpecifiers,
}

fn is_exact(specifier: &VersionSpecifier) -> bool {
    matches!(specifier.operator(), Operator::Equal | Operator::ExactEqual)
}

fn exact_pin(specifiers: &VersionSpecifiers) -> Result<VersionSpecifier, PinProblem> {
    match specifiers.iter().collect::<Vec<_>>().as_slice() {
        [only] if is_exact(only) => Ok((*only).clone()),
        [_, _, ..] if specifiers.iter().any(is_exact) => Err(PinProblem::SeveralSpecifiers),
        _ => Err(PinProblem::NotExact),
    }
}

/// Splits `--flag=value` (or `-rvalue` for one-letter flags) into the flag and inline value.
fn split_flag(word: &str) -> (&str, Option<&str>) {
    if let Some((flag, value)) = word.split_once('=').filter(|_| word.starts_with("--")) {
        return (flag, Some(value));
    }
    if !word.starts_with("--") && word.len() > 2 && word.is_char_boundary(2) {
        let (flag, value) = word.split_at(2);
        if GlobalOption::find(flag).is_some_and(GlobalOption::takes_value) {
            return (flag, Some(value));
        }
    }
    (word, None)
}

fn looks_like_path(text: &str) -> bool {
    text.starts_with('.') || text.starts_with('/') || text.contains("://") || text.contains(" @ ")
}

/// Converts a span counted in characters to one counted in bytes.
fn char_span_to_bytes(text: &str, start: usize, len: usize) -> (usize, usize) {
    let byte_at = |chars: usize| {
        text.char_indices()
            .nth(chars)
            .map_or(text.len(), |(i, _)| i)
    };
    let start_byte = byte_at(start);
    (start_byte, byte_at(start + len) - start_byte)
}

/// The options pip allows on a line of their own in a requirements file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GlobalOption {
    Requirement,
    Constraint,
    Editable,
    IndexUrl,
    ExtraIndexUrl,
    NoIndex,
    FindLinks,
    /// Options that do not change which files a version has; read and ignored.
    Ignored {
        takes_value: bool,
    },
}

impl GlobalOption {
    fn find(flag: &str) -> Option<Self> {
        Some(match flag {
            "-r" | "--requirement" => Self::Requirement,
            "-c" | "--constraint" => Self::Constraint,
            "-e" | "--editable" => Self::Editable,
            "-i" | "--index-url" => Self::IndexUrl,
            "--extra-index-url" => Self::ExtraIndexUrl,
            "--no-index" => Self::NoIndex,
            "-f" | "--find-links" => Self::FindLinks,
            "--pre" | "--prefer-binary" | "--require-hashes" => {
                Self::Ignored { takes_value: false }
            }
            "--only-binary" | "--no-binary" | "--trusted-host" | "--use-feature" => {
                Self::Ignored { takes_value: true }
            }
            _ => return None,
        })
    }

    fn takes_value(self) -> bool {
        match self {
            Self::NoIndex => false,
            Self::Ignored { takes_value } => takes_value,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests;
