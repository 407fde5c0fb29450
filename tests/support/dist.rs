//! Builders for tiny but valid distribution files: wheels and sdists.
//!
//! The bytes are deterministic (fixed timestamps, permissions and member
//! order), so a digest a test computes once stays right for the whole run
//! and the same builder always yields the same file. Both kinds install
//! with real pip offline: wheels are complete (`METADATA`, `WHEEL`,
//! `RECORD` with digests), and sdists carry their own build backend
//! (`tinybackend.py`, standard library only).

use std::io::{Cursor, Read, Write};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use super::encode::{base64_url_nopad, hex};

/// The PEP 517 backend every sdist carries; see the file for why.
const TINY_BACKEND: &str = include_str!("tinybackend.py");

/// `pyproject.toml` of an sdist: the in-tree backend and `requires` (by
/// default none, so pip needs neither the network nor setuptools to build it).
fn pyproject(build_requires: &[String]) -> String {
    let requires: Vec<String> = build_requires.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "# The build backend ships inside this sdist, so building it needs nothing\n\
         # from an index.\n\
         [build-system]\n\
         requires = [{}]\n\
         build-backend = \"tinybackend\"\n\
         backend-path = [\".\"]\n",
        requires.join(", ")
    )
}

/// Seconds from the Unix epoch to 1980-01-01, the earliest date a zip can
/// hold; tar members get it too so both formats agree.
const MTIME_1980: u64 = 315_532_800;

/// The sha256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The PEP 503 normalized form of a project name: lower case, runs of
/// `-`, `_` and `.` made one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_separator_run = false;
        }
    }
    out
}

/// A project name as it appears in distribution filenames and in the
/// `.dist-info` directory name: normalized, with `_` for `-` (the binary
/// distribution format spec, tightening PEP 491's escaping).
pub fn filename_name(name: &str) -> String {
    normalize_name(name).replace('-', "_")
}

/// The `METADATA` (or `PKG-INFO`) text out of a wheel, if it has one.
pub fn wheel_metadata(wheel: &[u8]) -> Option<String> {
    let mut archive = ZipArchive::new(Cursor::new(wheel)).ok()?;
    let path = archive
        .file_names()
        .filter_map(Result::ok)
        .find(|name| {
            name.strip_suffix(".dist-info/METADATA")
                .is_some_and(|dir| !dir.contains('/'))
        })?
        .into_owned();
    let mut text = String::new();
    archive
        .by_name(&path)
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The fields of a core metadata file common to wheels and sdists.
#[derive(Clone, Debug)]
struct CoreMetadata {
    metadata_version: String,
    name: String,
    version: String,
    requires_python: Option<String>,
    requires_dist: Vec<String>,
    provides_extra: Vec<String>,
    dynamic: Vec<String>,
    other: Vec<(String, String)>,
}

impl CoreMetadata {
    fn new(name: &str, version: &str) -> Self {
        CoreMetadata {
            metadata_version: "2.1".to_owned(),
            name: name.to_owned(),
            version: version.to_owned(),
            requires_python: None,
            requires_dist: Vec::new(),
            provides_extra: Vec::new(),
            dynamic: Vec::new(),
            other: Vec::new(),
        }
    }

    /// The email-header form the core metadata spec prescribes.
    fn render(&self) -> String {
        let mut fields = vec![
            ("Metadata-Version", self.metadata_version.as_str()),
            ("Name", &self.name),
            ("Version", &self.version),
        ];
        fields.extend(self.dynamic.iter().map(|d| ("Dynamic", d.as_str())));
        fields.extend(self.other.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        fields.extend(
            self.requires_python
                .iter()
                .map(|r| ("Requires-Python", r.as_str())),
        );
        fields.extend(
            self.requires_dist
                .iter()
                .map(|r| ("Requires-Dist", r.as_str())),
        );
        fields.extend(
            self.provides_extra
                .iter()
                .map(|e| ("Provides-Extra", e.as_str())),
        );
        fields
            .iter()
            .map(|(key, value)| format!("{key}: {value}\n"))
            .collect()
    }

    /// The directory (inside the archive) of the default module.
    fn import_name(&self) -> String {
        filename_name(&self.name)
    }

    fn default_module(&self) -> (String, Vec<u8>) {
        (
            format!("{}/__init__.py", self.import_name()),
            format!("__version__ = {:?}\n", self.version).into_bytes(),
        )
    }
}

fn strings<S: Into<String>>(items: impl IntoIterator<Item = S>) -> impl Iterator<Item = String> {
    items.into_iter().map(Into::into)
}

/// Builds a wheel: `WheelBuilder::new("Foo.Bar", "1.0").requires_dist(["baz>=2"]).build()`.
///
/// Without [`WheelBuilder::file`] the wheel holds one module,
/// `foo_bar/__init__.py`, setting `__version__`.
#[derive(Clone, Debug)]
pub struct WheelBuilder {
    metadata: CoreMetadata,
    python_tag: String,
    abi_tag: String,
    platform_tag: String,
    build_tag: Option<String>,
    files: Vec<(String, Vec<u8>)>,
}

impl WheelBuilder {
    pub fn new(name: &str, version: &str) -> Self {
        WheelBuilder {
            metadata: CoreMetadata::new(name, version),
            python_tag: "py3".to_owned(),
            abi_tag: "none".to_owned(),
            platform_tag: "any".to_owned(),
            build_tag: None,
            files: Vec::new(),
        }
    }

    /// Sets the whole compatibility tag, as `python-abi-platform`.
    ///
    /// # Panics
    /// When `tag` does not have exactly three `-`-separated parts.
    pub fn tag(self, tag: &str) -> Self {
        let parts: Vec<&str> = tag.split('-').collect();
        let [python, abi, platform] = parts[..] else {
            panic!("a wheel tag is python-abi-platform, not {tag:?}");
        };
        self.python_tag(python).abi_tag(abi).platform_tag(platform)
    }

    pub fn python_tag(mut self, tag: &str) -> Self {
        self.python_tag = tag.to_owned();
        self
    }

    pub fn abi_tag(mut self, tag: &str) -> Self {
        self.abi_tag = tag.to_owned();
        self
    }

    pub fn platform_tag(mut self, tag: &str) -> Self {
        self.platform_tag = tag.to_owned();
        self
    }

    /// The optional build number (it must start with a digit), which goes
    /// into the filename and into `WHEEL` as `Build`.
    pub fn build_tag(mut self, build: &str) -> Self {
        self.build_tag = Some(build.to_owned());
        self
    }

    pub fn metadata_version(mut self, version: &str) -> Self {
        self.metadata.metadata_version = version.to_owned();
        self
    }

    pub fn requires_python(mut self, specifier: &str) -> Self {
        self.metadata.requires_python = Some(specifier.to_owned());
        self
    }

    /// Adds `Requires-Dist` lines.
    pub fn requires_dist<S: Into<String>>(
        mut self,
        requirements: impl IntoIterator<Item = S>,
    ) -> Self {
        self.metadata.requires_dist.extend(strings(requirements));
        self
    }

    /// Adds `Provides-Extra` lines.
    pub fn provides_extra<S: Into<String>>(mut self, extras: impl IntoIterator<Item = S>) -> Self {
        self.metadata.provides_extra.extend(strings(extras));
        self
    }

    /// Adds any other metadata field, such as `Summary`.
    pub fn metadata_field(mut self, name: &str, value: &str) -> Self {
        self.metadata
            .other
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a file at `path` inside the wheel (instead of the default module).
    pub fn file(mut self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push((path.to_owned(), contents.into()));
        self
    }

    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    pub fn version(&self) -> &str {
        &self.metadata.version
    }

    /// `{name}-{version}[-{build}]-{python}-{abi}-{platform}.whl`.
    pub fn filename(&self) -> String {
        let build = self
            .build_tag
            .as_ref()
            .map(|b| format!("-{b}"))
            .unwrap_or_default();
        format!(
            "{}-{}{build}-{}-{}-{}.whl",
            filename_name(&self.metadata.name),
            self.metadata.version.replace('-', "_"),
            self.python_tag,
            self.abi_tag,
            self.platform_tag,
        )
    }

    /// `{name}-{version}.dist-info`.
    pub fn dist_info_dir(&self) -> String {
        format!(
            "{}-{}.dist-info",
            filename_name(&self.metadata.name),
            self.metadata.version.replace('-', "_")
        )
    }

    /// The text of `METADATA`, which an index may also publish on its own
    /// as the PEP 658 `.metadata` file.
    pub fn metadata(&self) -> String {
        self.metadata.render()
    }

    /// The `WHEEL` file.
    pub fn wheel_file(&self) -> String {
        let mut text =
            "Wheel-Version: 1.0\nGenerator: pinguard-tests\nRoot-Is-Purelib: true\n".to_owned();
        // A compressed tag set such as py2.py3 expands to one Tag line each.
        for python in self.python_tag.split('.') {
            for abi in self.abi_tag.split('.') {
                for platform in self.platform_tag.split('.') {
                    text.push_str(&format!("Tag: {python}-{abi}-{platform}\n"));
                }
            }
        }
        if let Some(build) = &self.build_tag {
            text.push_str(&format!("Build: {build}\n"));
        }
        text
    }

    /// The wheel's bytes: the files, then `METADATA`, `WHEEL` and `RECORD`
    /// (the spec puts `.dist-info` last, `RECORD` last of all).
    pub fn build(&self) -> Vec<u8> {
        let mut entries = if self.files.is_empty() {
            vec![self.metadata.default_module()]
        } else {
            self.files.clone()
        };
        let dist_info = self.dist_info_dir();
        entries.push((
            format!("{dist_info}/METADATA"),
            self.metadata().into_bytes(),
        ));
        entries.push((format!("{dist_info}/WHEEL"), self.wheel_file().into_bytes()));
        let mut record: String = entries
            .iter()
            .map(|(path, data)| {
                let digest = base64_url_nopad(&Sha256::digest(data));
                format!("{path},sha256={digest},{}\n", data.len())
            })
            .collect();
        record.push_str(&format!("{dist_info}/RECORD,,\n"));
        entries.push((format!("{dist_info}/RECORD"), record.into_bytes()));
        zip_archive(&entries)
    }
}

/// The archive format of an sdist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SdistFormat {
    /// `.tar.gz`, the only format PEP 625 allows today.
    #[default]
    TarGz,
    /// `.zip`, which older sdists on PyPI use.
    Zip,
    /// `.tar.bz2`, as old uploads (python-nss, suds-jurko) are.
    TarBz2,
    /// `.tar.xz`.
    TarXz,
}

/// The contents of `*.egg-info/requires.txt`.
#[derive(Clone, Debug, Default)]
struct EggInfoRequires {
    /// Requirements without extra or marker, listed first.
    unconditional: Vec<String>,
    /// `[section]`s in order, each with its requirements.
    sections: Vec<(String, Vec<String>)>,
}

/// Builds an sdist whose `PKG-INFO` says what the test wants, and which
/// pip can still build offline thanks to its in-tree backend.
///
/// Without [`SdistBuilder::file`] it holds one package, `{name}/__init__.py`.
#[derive(Clone, Debug)]
pub struct SdistBuilder {
    metadata: CoreMetadata,
    format: SdistFormat,
    /// `None` leaves the `.egg-info` directory out.
    egg_info: Option<EggInfoRequires>,
    files: Vec<(String, Vec<u8>)>,
    /// `[build-system] requires` of `pyproject.toml`.
    build_requires: Vec<String>,
}

impl SdistBuilder {
    pub fn new(name: &str, version: &str) -> Self {
        SdistBuilder {
            metadata: CoreMetadata::new(name, version),
            format: SdistFormat::TarGz,
            egg_info: None,
            files: Vec::new(),
            build_requires: Vec::new(),
        }
    }

    /// Sets `[build-system] requires`: what pip installs into the isolated
    /// build environment before it runs the (in-tree) backend.
    pub fn build_requires<S: Into<String>>(
        mut self,
        requirements: impl IntoIterator<Item = S>,
    ) -> Self {
        self.build_requires = strings(requirements).collect();
        self
    }

    pub fn format(mut self, format: SdistFormat) -> Self {
        self.format = format;
        self
    }

    /// `Metadata-Version` of `PKG-INFO`: from 2.2 on, tools may trust the
    /// fields not marked [`SdistBuilder::dynamic`].
    pub fn metadata_version(mut self, version: &str) -> Self {
        self.metadata.metadata_version = version.to_owned();
        self
    }

    pub fn requires_python(mut self, specifier: &str) -> Self {
        self.metadata.requires_python = Some(specifier.to_owned());
        self
    }

    /// Adds `Requires-Dist` lines to `PKG-INFO`.
    pub fn requires_dist<S: Into<String>>(
        mut self,
        requirements: impl IntoIterator<Item = S>,
    ) -> Self {
        self.metadata.requires_dist.extend(strings(requirements));
        self
    }

    pub fn provides_extra<S: Into<String>>(mut self, extras: impl IntoIterator<Item = S>) -> Self {
        self.metadata.provides_extra.extend(strings(extras));
        self
    }

    /// Adds `Dynamic` lines (metadata 2.2), written as given, e.g.
    /// `["Requires-Dist"]`.
    pub fn dynamic<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.metadata.dynamic.extend(strings(fields));
        self
    }

    pub fn metadata_field(mut self, name: &str, value: &str) -> Self {
        self.metadata
            .other
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds unconditional requirements to `{name}.egg-info/requires.txt`
    /// (and so adds that directory, with a copy of `PKG-INFO`, as
    /// setuptools does).
    pub fn egg_info_requires<S: Into<String>>(
        mut self,
        requirements: impl IntoIterator<Item = S>,
    ) -> Self {
        let egg_info = self.egg_info.get_or_insert_default();
        egg_info.unconditional.extend(strings(requirements));
        self
    }

    /// Adds a section to `requires.txt`, named as setuptools names them:
    /// `test` for an extra, `:python_version < "3.8"` for a marker,
    /// `test:sys_platform == "win32"` for both.
    pub fn egg_info_section<S: Into<String>>(
        mut self,
        section: &str,
        requirements: impl IntoIterator<Item = S>,
    ) -> Self {
        let egg_info = self.egg_info.get_or_insert_default();
        egg_info
            .sections
            .push((section.to_owned(), strings(requirements).collect()));
        self
    }

    /// Adds a file at `path` relative to the sdist's top directory
    /// (instead of the default package). Packages (directories with an
    /// `__init__.py`) and top-level modules go into the built wheel.
    pub fn file(mut self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push((path.to_owned(), contents.into()));
        self
    }

    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    pub fn version(&self) -> &str {
        &self.metadata.version
    }

    /// `{name}-{version}`, the top directory (PEP 625 naming).
    pub fn base_dir(&self) -> String {
        format!(
            "{}-{}",
            filename_name(&self.metadata.name),
            self.metadata.version
        )
    }

    pub fn filename(&self) -> String {
        let extension = match self.format {
            SdistFormat::TarGz => "tar.gz",
            SdistFormat::Zip => "zip",
            SdistFormat::TarBz2 => "tar.bz2",
            SdistFormat::TarXz => "tar.xz",
        };
        format!("{}.{extension}", self.base_dir())
    }

    /// The text of `PKG-INFO`.
    pub fn pkg_info(&self) -> String {
        self.metadata.render()
    }

    /// The text of `requires.txt` in setuptools' format, if any.
    pub fn egg_info_requires_txt(&self) -> Option<String> {
        let egg_info = self.egg_info.as_ref()?;
        let mut text: String = egg_info
            .unconditional
            .iter()
            .map(|r| format!("{r}\n"))
            .collect();
        for (section, requirements) in &egg_info.sections {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!("[{section}]\n"));
            text.extend(requirements.iter().map(|r| format!("{r}\n")));
        }
        Some(text)
    }

    pub fn build(&self) -> Vec<u8> {
        let base = self.base_dir();
        let mut entries = vec![
            (format!("{base}/PKG-INFO"), self.pkg_info().into_bytes()),
            (
                format!("{base}/pyproject.toml"),
                pyproject(&self.build_requires).into_bytes(),
            ),
            (
                format!("{base}/tinybackend.py"),
                TINY_BACKEND.as_bytes().to_vec(),
            ),
        ];
        let files = if self.files.is_empty() {
            vec![self.metadata.default_module()]
        } else {
            self.files.clone()
        };
        entries.extend(
            files
                .into_iter()
                .map(|(path, data)| (format!("{base}/{path}"), data)),
        );
        if let Some(requires) = self.egg_info_requires_txt() {
            let egg_info = format!("{base}/{}.egg-info", self.metadata.import_name());
            entries.push((format!("{egg_info}/PKG-INFO"), self.pkg_info().into_bytes()));
            entries.push((format!("{egg_info}/requires.txt"), requires.into_bytes()));
        }
        let compress = |writer: &mut dyn Write| writer.write_all(&tar_archive(&entries));
        match self.format {
            SdistFormat::Zip => zip_archive(&entries),
            // GzEncoder writes mtime 0 in the gzip header, keeping it deterministic.
            SdistFormat::TarGz => {
                let mut gzip =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                compress(&mut gzip).expect("gzip a tar");
                gzip.finish().expect("finish a tar.gz archive")
            }
            SdistFormat::TarBz2 => {
                let mut bz =
                    bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
                compress(&mut bz).expect("bzip2 a tar");
                bz.finish().expect("finish a tar.bz2 archive")
            }
            SdistFormat::TarXz => {
                let mut xz =
                    lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default())
                        .expect("an xz encoder");
                compress(&mut xz).expect("xz a tar");
                xz.finish().expect("finish a tar.xz archive")
            }
        }
    }
}

fn zip_archive(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (path, data) in entries {
        zip.start_file(path.as_str(), options)
            .expect("start a zip member");
        zip.write_all(data).expect("write a zip member");
    }
    zip.finish().expect("finish a zip archive").into_inner()
}

fn tar_archive(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(MTIME_1980);
        header.set_uid(0);
        header.set_gid(0);
        tar.append_data(&mut header, path, data.as_slice())
            .expect("append a tar member");
    }
    tar.into_inner().expect("finish a tar archive")
}
