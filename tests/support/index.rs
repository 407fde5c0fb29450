//! A PyPI-like package index for tests, served by [`TestServer`]s.
//!
//! [`IndexBuilder`] takes distribution files with what the index should say
//! about each (yanked, `Requires-Python`, upload time, hash, a PEP 658
//! `.metadata` file) and serves, all from memory:
//!
//! - `/simple/` and `/simple/<normalized-name>/`: the simple API, as PEP 503
//!   HTML and PEP 691 JSON (api-version 1.1), chosen by `Accept`;
//! - `/files/<filename>` (range-capable) and `/files/<filename>.metadata`;
//! - `/pypi/<name>/json` and `/pypi/<name>/<version>/json`: Warehouse's
//!   JSON API;
//! - `/integrity/<name>/<version>/<filename>/provenance`: PEP 740's
//!   Integrity API, for files given a provenance object; unless told
//!   otherwise the pages link it (`provenance` key, `data-provenance`) at
//!   `/files/<filename>.provenance`, so that tests can tell which was read.
//!
//! Only canonical URLs are served: normalized names, with the trailing
//! slash. [`TestIndex`] can then tamper with what it serves.

use std::collections::BTreeMap;
use std::str::FromStr;

use pep440_rs::Version;
use serde_json::{Value, json};

use super::dist::{SdistBuilder, WheelBuilder, normalize_name, sha256_hex, wheel_metadata};
use super::encode::{html_escape, percent_encode_segment};
use super::server::{
    LoggedRequest, Resource, SECOND_LOOPBACK, SIMPLE_V1_HTML, SIMPLE_V1_JSON, Site, TestServer,
};

/// The upload time files get unless told otherwise: fixed, so that output
/// that shows it is stable.
pub const DEFAULT_UPLOAD_TIME: &str = "2024-01-01T00:00:00.000000Z";

/// One file on the index, and what the index publishes about it.
#[derive(Clone, Debug)]
pub struct DistFile {
    project: String,
    filename: String,
    bytes: Vec<u8>,
    version: Option<String>,
    yanked: Option<String>,
    requires_python: Option<String>,
    upload_time: Option<String>,
    hash: PublishedHash,
    /// The size published; set by [`TestIndex::tamper`] to the original.
    published_size: Option<usize>,
    core_metadata: Option<Vec<u8>>,
    provenance: Option<ServedProvenance>,
}

/// A PEP 740 provenance object served for a file.
#[derive(Clone, Debug)]
struct ServedProvenance {
    body: Vec<u8>,
    /// Whether the pages link it (else only the Integrity API route serves it).
    linked: bool,
}

#[derive(Clone, Debug)]
enum PublishedHash {
    /// The sha256 of the bytes served.
    Actual,
    /// This hex digest, right or wrong.
    Given(String),
    Omitted,
}

impl DistFile {
    /// A file of `project`. The version is read from the filename (wheel
    /// or sdist naming); use [`DistFile::version`] for anything else.
    pub fn new(project: &str, filename: &str, bytes: impl Into<Vec<u8>>) -> Self {
        DistFile {
            project: project.to_owned(),
            filename: filename.to_owned(),
            bytes: bytes.into(),
            version: version_from_filename(filename),
            yanked: None,
            requires_python: None,
            upload_time: Some(DEFAULT_UPLOAD_TIME.to_owned()),
            hash: PublishedHash::Actual,
            published_size: None,
            core_metadata: None,
            provenance: None,
        }
    }

    /// Serves `body` as the file's provenance (the Integrity API's answer),
    /// linked from the pages as PEP 740 says.
    pub fn provenance(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.provenance = Some(ServedProvenance {
            body: body.into(),
            linked: true,
        });
        self
    }

    /// Serves `body` at the Integrity API route only: the pages do not
    /// link it, as on mirrors that drop the key.
    pub fn provenance_unlinked(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.provenance = Some(ServedProvenance {
            body: body.into(),
            linked: false,
        });
        self
    }

    /// The file a [`WheelBuilder`] builds. The index publishes no
    /// `Requires-Python` unless told: what the index says and what the
    /// metadata says are separate facts in tests.
    pub fn wheel(wheel: &WheelBuilder) -> Self {
        Self::new(wheel.name(), &wheel.filename(), wheel.build()).version(wheel.version())
    }

    /// The file an [`SdistBuilder`] builds.
    pub fn sdist(sdist: &SdistBuilder) -> Self {
        Self::new(sdist.name(), &sdist.filename(), sdist.build()).version(sdist.version())
    }

    pub fn version(mut self, version: &str) -> Self {
        self.version = Some(version.to_owned());
        self
    }

    /// Marks the file yanked (PEP 592); an empty reason yanks it without one.
    pub fn yanked(mut self, reason: &str) -> Self {
        self.yanked = Some(reason.to_owned());
        self
    }

    /// The `Requires-Python` the index publishes (`data-requires-python`).
    pub fn requires_python(mut self, specifier: &str) -> Self {
        self.requires_python = Some(specifier.to_owned());
        self
    }

    /// The upload time, ISO 8601 as PEP 700 has it
    /// (`2024-01-01T00:00:00.000000Z`).
    pub fn upload_time(mut self, time: &str) -> Self {
        self.upload_time = Some(time.to_owned());
        self
    }

    /// Leaves `upload-time` out of the simple API, as older indexes do.
    pub fn no_upload_time(mut self) -> Self {
        self.upload_time = None;
        self
    }

    /// Publishes no hash: no `#sha256=` fragment, empty `hashes`.
    pub fn without_hash(mut self) -> Self {
        self.hash = PublishedHash::Omitted;
        self
    }

    /// Publishes this sha256 (hex) instead of the real one.
    pub fn published_sha256(mut self, hex: &str) -> Self {
        self.hash = PublishedHash::Given(hex.to_owned());
        self
    }

    /// Publishes `metadata` as the PEP 658 `.metadata` file.
    pub fn core_metadata(mut self, metadata: impl Into<Vec<u8>>) -> Self {
        self.core_metadata = Some(metadata.into());
        self
    }

    /// Publishes the wheel's own `METADATA` as its `.metadata` file.
    ///
    /// # Panics
    /// When the file is not a wheel with a `METADATA`.
    pub fn core_metadata_from_wheel(self) -> Self {
        let metadata = wheel_metadata(&self.bytes)
            .unwrap_or_else(|| panic!("{} is not a wheel with METADATA", self.filename));
        self.core_metadata(metadata)
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The bytes served (which after [`TestIndex::tamper`] no longer match
    /// the published hash).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The sha256 of the bytes served.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.bytes)
    }

    /// The sha256 the index publishes, if any.
    pub fn published_hash(&self) -> Option<String> {
        match &self.hash {
            PublishedHash::Actual => Some(self.sha256()),
            PublishedHash::Given(hex) => Some(hex.clone()),
            PublishedHash::Omitted => None,
        }
    }

    fn version_or_panic(&self) -> &str {
        self.version.as_deref().unwrap_or_else(|| {
            panic!(
                "cannot tell the version of {}; say it with .version()",
                self.filename
            )
        })
    }

    fn published_size(&self) -> usize {
        self.published_size.unwrap_or(self.bytes.len())
    }

    fn is_wheel(&self) -> bool {
        self.filename.ends_with(".whl")
    }

    /// PEP 691's `yanked`: false, or the reason, or true when there is none.
    fn yanked_json(&self) -> Value {
        match self.yanked.as_deref() {
            None => Value::Bool(false),
            Some("") => Value::Bool(true),
            Some(reason) => Value::from(reason),
        }
    }

    fn core_metadata_json(&self) -> Value {
        match &self.core_metadata {
            Some(metadata) => json!({ "sha256": sha256_hex(metadata) }),
            None => Value::Bool(false),
        }
    }
}

/// The version part of a wheel (`name-ver-...whl`) or sdist
/// (`name-ver.tar.gz`) filename.
fn version_from_filename(filename: &str) -> Option<String> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        return stem.split('-').nth(1).map(str::to_owned);
    }
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz"]
        .iter()
        .find_map(|extension| filename.strip_suffix(extension))?;
    stem.rsplit_once('-').map(|(_, version)| version.to_owned())
}

/// Versions in PEP 440 order; ones that do not parse sort first, by text.
fn version_key(version: &str) -> (Option<Version>, String) {
    (Version::from_str(version).ok(), version.to_owned())
}

/// Describes an index, then starts it.
#[derive(Clone, Debug, Default)]
pub struct IndexBuilder {
    files: Vec<DistFile>,
    absolute_urls: bool,
    files_on_second_host: bool,
    roles: Vec<(String, String, String)>,
}

impl IndexBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn file(mut self, file: DistFile) -> Self {
        self.files.push(file);
        self
    }

    pub fn files(mut self, files: impl IntoIterator<Item = DistFile>) -> Self {
        self.files.extend(files);
        self
    }

    /// Links files by absolute URL (`http://127.0.0.1:PORT/files/...`)
    /// instead of relative to the page (`../../files/...`).
    pub fn absolute_urls(mut self) -> Self {
        self.absolute_urls = true;
        self
    }

    /// Serves the files from a second server on another loopback address
    /// ([`SECOND_LOOPBACK`]) and port, as indexes that keep files on a CDN
    /// do. Implies absolute URLs.
    pub fn files_on_second_host(mut self) -> Self {
        self.files_on_second_host = true;
        self.absolute_urls = true;
        self
    }

    /// Adds a role to the JSON API's `ownership` of `project`.
    pub fn role(mut self, project: &str, role: &str, user: &str) -> Self {
        self.roles
            .push((normalize_name(project), role.to_owned(), user.to_owned()));
        self
    }

    /// Starts the server(s) and publishes everything.
    pub fn start(self) -> TestIndex {
        let index = TestServer::start(Site::new());
        let files_host = self
            .files_on_second_host
            .then(|| TestServer::start_on(SECOND_LOOPBACK, Site::new()));
        let test_index = TestIndex {
            index,
            files_host,
            files: self.files,
            absolute_urls: self.absolute_urls,
            roles: self.roles,
            statuses: BTreeMap::new(),
        };
        for file in &test_index.files {
            test_index.publish_file(file);
        }
        test_index.publish_pages();
        test_index
    }
}

/// A running index. Its servers stop when it is dropped.
pub struct TestIndex {
    index: TestServer,
    files_host: Option<TestServer>,
    files: Vec<DistFile>,
    absolute_urls: bool,
    roles: Vec<(String, String, String)>,
    /// PEP 792 statuses by normalized name.
    statuses: BTreeMap<String, String>,
}

impl TestIndex {
    /// The server of the index pages (and of the files, unless they are on
    /// a second host).
    pub fn server(&self) -> &TestServer {
        &self.index
    }

    /// The server of the files.
    pub fn files_server(&self) -> &TestServer {
        self.files_host.as_ref().unwrap_or(&self.index)
    }

    /// The index server's site, for faults, auth, or `html_only`.
    pub fn site(&self) -> &Site {
        self.index.site()
    }

    /// The requests to both servers, index server's first.
    pub fn all_requests(&self) -> Vec<LoggedRequest> {
        let mut requests = self.index.requests();
        if let Some(files) = &self.files_host {
            requests.extend(files.requests());
        }
        requests
    }

    /// `http://127.0.0.1:PORT/simple/`, what `--index-url` takes.
    pub fn simple_url(&self) -> String {
        self.index.url("/simple/")
    }

    /// The project page's URL.
    pub fn project_url(&self, project: &str) -> String {
        self.index
            .url(&format!("/simple/{}/", normalize_name(project)))
    }

    /// The absolute URL of a file, on whichever server has it.
    pub fn file_url(&self, filename: &str) -> String {
        self.files_server().url(&file_path(filename))
    }

    /// The JSON API URL of a project.
    pub fn json_api_url(&self, project: &str) -> String {
        self.index
            .url(&format!("/pypi/{}/json", normalize_name(project)))
    }

    /// The file named `filename`.
    ///
    /// # Panics
    /// When there is none.
    pub fn file(&self, filename: &str) -> &DistFile {
        self.files
            .iter()
            .find(|f| f.filename == filename)
            .unwrap_or_else(|| panic!("the index has no file {filename}"))
    }

    /// Serves `bytes` for `filename` from now on, while the index keeps
    /// publishing the original hash and size: a compromised mirror, or a
    /// file replaced after it was locked.
    pub fn tamper(&mut self, filename: &str, bytes: impl Into<Vec<u8>>) {
        let file = self
            .files
            .iter_mut()
            .find(|f| f.filename == filename)
            .unwrap_or_else(|| panic!("the index has no file {filename}"));
        if matches!(file.hash, PublishedHash::Actual) {
            file.hash = PublishedHash::Given(sha256_hex(&file.bytes));
        }
        file.published_size.get_or_insert(file.bytes.len());
        file.bytes = bytes.into();
        let bytes = file.bytes.clone();
        // Edit the route rather than replace it, keeping what a test may
        // have changed about it (such as turning off ranges).
        self.files_server()
            .site()
            .update(&file_path(filename), |resource| resource.set_body(bytes));
    }

    /// Publishes another file, for instance a new wheel for a version
    /// already locked. The pages are rewritten, which undoes changes a test
    /// made to their routes (faults, kept apart from routes, stay).
    ///
    /// # Panics
    /// When a file of that name is already published: use
    /// [`TestIndex::tamper`] to change one.
    pub fn add_file(&mut self, file: DistFile) {
        assert!(
            self.files.iter().all(|f| f.filename != file.filename),
            "{} is already on the index",
            file.filename
        );
        self.publish_file(&file);
        self.files.push(file);
        self.publish_pages();
    }

    /// Stops listing `filename` on the project page (the file itself stays
    /// reachable at its URL, as on a CDN).
    ///
    /// # Panics
    /// When there is no such file.
    pub fn remove_file(&mut self, filename: &str) {
        let before = self.files.len();
        self.files.retain(|f| f.filename != filename);
        assert!(
            self.files.len() < before,
            "the index has no file {filename}"
        );
        self.publish_pages();
    }

    /// Publishes `size` as the size of `filename` (PEP 700), its bytes and hash unchanged.
    pub fn publish_size(&mut self, filename: &str, size: usize) {
        let file = self
            .files
            .iter_mut()
            .find(|f| f.filename == filename)
            .unwrap_or_else(|| panic!("the index has no file {filename}"));
        file.published_size = Some(size);
        self.publish_pages();
    }

    /// Yanks `filename` (PEP 592); an empty reason yanks it without one.
    pub fn yank(&mut self, filename: &str, reason: &str) {
        let file = self
            .files
            .iter_mut()
            .find(|f| f.filename == filename)
            .unwrap_or_else(|| panic!("the index has no file {filename}"));
        file.yanked = Some(reason.to_owned());
        self.publish_pages();
    }

    /// Gives `project` a PEP 792 status (`archived`, `quarantined`, ...):
    /// JSON pages then say `project-status` (api-version 1.4), HTML pages a
    /// `<meta name="pypi:project-status">`.
    pub fn set_status(&mut self, project: &str, status: &str) {
        self.statuses
            .insert(normalize_name(project), status.to_owned());
        self.publish_pages();
    }

    /// Replaces the JSON API's `ownership` roles of `project`.
    pub fn set_roles(&mut self, project: &str, roles: &[(&str, &str)]) {
        let name = normalize_name(project);
        self.roles.retain(|(p, _, _)| *p != name);
        self.roles.extend(
            roles
                .iter()
                .map(|(role, user)| (name.clone(), (*role).to_owned(), (*user).to_owned())),
        );
        self.publish_pages();
    }

    fn publish_file(&self, file: &DistFile) {
        let site = self.files_server().site();
        let path = file_path(&file.filename);
        site.route(path.clone(), Resource::file(file.bytes.clone()));
        if let Some(metadata) = &file.core_metadata {
            site.route(format!("{path}.metadata"), Resource::file(metadata.clone()));
        }
        if let Some(provenance) = &file.provenance {
            let resource = Resource::new(INTEGRITY_V1_JSON, provenance.body.clone());
            if provenance.linked {
                site.route(format!("{path}.provenance"), resource.clone());
            }
            self.index.site().route(self.integrity_path(file), resource);
        }
    }

    /// The URL the pages link a file's provenance at.
    fn provenance_link(&self, filename: &str) -> String {
        self.files_server()
            .url(&format!("{}.provenance", file_path(filename)))
    }

    /// `/integrity/<name>/<version>/<filename>/provenance`.
    fn integrity_path(&self, file: &DistFile) -> String {
        format!(
            "/integrity/{}/{}/{}/provenance",
            normalize_name(&file.project),
            file.version_or_panic(),
            file.filename
        )
    }

    /// The Integrity API URL of a file.
    pub fn provenance_url(&self, filename: &str) -> String {
        self.index.url(&self.integrity_path(self.file(filename)))
    }

    /// Changes the provenance the index serves for a file (`None`: it has
    /// none any more, 404), as PEP 740 allows an index to do.
    pub fn set_provenance(&mut self, filename: &str, body: Option<Vec<u8>>) {
        let paths = [
            (self.index.site(), self.integrity_path(self.file(filename))),
            (
                self.files_server().site(),
                format!("{}.provenance", file_path(filename)),
            ),
        ];
        for (site, path) in paths {
            match &body {
                Some(body) => {
                    site.route(path, Resource::new(INTEGRITY_V1_JSON, body.clone()));
                }
                None => {
                    site.remove(&path);
                }
            }
        }
    }

    /// (Re)writes every page from `self.files`.
    fn publish_pages(&self) {
        let mut projects: BTreeMap<String, Vec<&DistFile>> = BTreeMap::new();
        for file in &self.files {
            projects
                .entry(normalize_name(&file.project))
                .or_default()
                .push(file);
        }
        for files in projects.values_mut() {
            files.sort_by_cached_key(|f| (version_key(f.version_or_panic()), f.filename.clone()));
        }
        let site = self.index.site();
        site.route(
            "/simple/",
            simple_resource(self.root_html(&projects), self.root_json(&projects)),
        );
        // A project with a status and no file left (quarantined) still has
        // its page, empty but for the status.
        for name in self.statuses.keys().filter(|n| !projects.contains_key(*n)) {
            site.route(
                format!("/simple/{name}/"),
                simple_resource(self.project_html(name, &[]), self.project_json(name, &[])),
            );
        }
        for (name, files) in &projects {
            site.route(
                format!("/simple/{name}/"),
                simple_resource(
                    self.project_html(name, files),
                    self.project_json(name, files),
                ),
            );
            let display_name = &files[0].project;
            let project = self.warehouse_json(display_name, files, None);
            site.route(
                format!("/pypi/{name}/json"),
                Resource::json(project.to_string()),
            );
            if display_name != name {
                site.route(
                    format!("/pypi/{display_name}/json"),
                    Resource::json(project.to_string()),
                );
            }
            for version in versions(files) {
                let release = self.warehouse_json(display_name, files, Some(&version));
                site.route(
                    format!("/pypi/{name}/{version}/json"),
                    Resource::json(release.to_string()),
                );
            }
        }
    }

    /// The `url` of a file as a project page links it.
    fn link(&self, filename: &str) -> String {
        if self.absolute_urls {
            self.file_url(filename)
        } else {
            format!("../../files/{}", percent_encode_segment(filename))
        }
    }

    fn root_html(&self, projects: &BTreeMap<String, Vec<&DistFile>>) -> String {
        let links: String = projects
            .keys()
            .map(|name| {
                let href = if self.absolute_urls {
                    self.project_url(name)
                } else {
                    format!("{name}/")
                };
                format!(
                    "    <a href=\"{}\">{}</a><br/>\n",
                    html_escape(&href),
                    html_escape(name)
                )
            })
            .collect();
        html_page("Simple index", &links)
    }

    fn root_json(&self, projects: &BTreeMap<String, Vec<&DistFile>>) -> String {
        let projects: Vec<Value> = projects
            .keys()
            .map(|name| json!({ "name": name }))
            .collect();
        json!({ "meta": { "api-version": "1.1" }, "projects": projects }).to_string()
    }

    fn project_html(&self, name: &str, files: &[&DistFile]) -> String {
        let mut links = String::new();
        for file in files {
            let mut href = self.link(&file.filename);
            if let Some(hash) = file.published_hash() {
                href.push_str(&format!("#sha256={hash}"));
            }
            let mut attributes = format!(" href=\"{}\"", html_escape(&href));
            if let Some(requires_python) = &file.requires_python {
                attributes.push_str(&format!(
                    " data-requires-python=\"{}\"",
                    html_escape(requires_python)
                ));
            }
            if let Some(reason) = &file.yanked {
                attributes.push_str(&format!(" data-yanked=\"{}\"", html_escape(reason)));
            }
            if file.provenance.as_ref().is_some_and(|p| p.linked) {
                let url = self.provenance_link(&file.filename);
                attributes.push_str(&format!(" data-provenance=\"{}\"", html_escape(&url)));
            }
            if let Some(metadata) = &file.core_metadata {
                // PEP 714 renamed the attribute; both are served, as PyPI does.
                let value = format!("sha256={}", sha256_hex(metadata));
                attributes.push_str(&format!(
                    " data-dist-info-metadata=\"{value}\" data-core-metadata=\"{value}\""
                ));
            }
            links.push_str(&format!(
                "    <a{attributes}>{}</a><br/>\n",
                html_escape(&file.filename)
            ));
        }
        let page = html_page(&format!("Links for {name}"), &links);
        match self.statuses.get(name) {
            Some(status) => page.replacen(
                "    <title>",
                &format!(
                    "    <meta name=\"pypi:project-status\" content=\"{}\">\n    <title>",
                    html_escape(status)
                ),
                1,
            ),
            None => page,
        }
    }

    fn project_json(&self, name: &str, files: &[&DistFile]) -> String {
        let entries: Vec<Value> = files
            .iter()
            .map(|file| {
                let hashes = match file.published_hash() {
                    Some(hash) => json!({ "sha256": hash }),
                    None => json!({}),
                };
                let mut entry = json!({
                    "filename": file.filename,
                    "url": self.link(&file.filename),
                    "hashes": hashes,
                    "size": file.published_size(),
                    "yanked": file.yanked_json(),
                    "core-metadata": file.core_metadata_json(),
                    "dist-info-metadata": file.core_metadata_json(),
                });
                if let Some(requires_python) = &file.requires_python {
                    entry["requires-python"] = Value::from(requires_python.as_str());
                }
                if let Some(time) = &file.upload_time {
                    entry["upload-time"] = Value::from(time.as_str());
                }
                if file.provenance.as_ref().is_some_and(|p| p.linked) {
                    entry["provenance"] = Value::from(self.provenance_link(&file.filename));
                }
                entry
            })
            .collect();
        let mut page = json!({
            "meta": { "api-version": "1.1" },
            "name": name,
            "versions": versions(files),
            "files": entries,
        });
        if let Some(status) = self.statuses.get(name) {
            page["meta"]["api-version"] = Value::from("1.4");
            page["project-status"] = json!({ "status": status });
        }
        page.to_string()
    }

    /// Warehouse's JSON API document for a project, or for one release of
    /// it when `release` is given.
    fn warehouse_json(
        &self,
        display_name: &str,
        files: &[&DistFile],
        release: Option<&str>,
    ) -> Value {
        let all_versions = versions(files);
        let version = release
            .map(str::to_owned)
            .unwrap_or_else(|| latest_version(files, &all_versions));
        let release_files: Vec<&DistFile> = files
            .iter()
            .copied()
            .filter(|f| f.version_or_panic() == version)
            .collect();
        let name = normalize_name(display_name);
        let yanked_reason = release_files.iter().find_map(|f| f.yanked.clone());
        let info = json!({
            "name": display_name,
            "version": version,
            "summary": "",
            "requires_python": release_files.iter().find_map(|f| f.requires_python.clone()),
            "requires_dist": null,
            "yanked": !release_files.is_empty() && release_files.iter().all(|f| f.yanked.is_some()),
            "yanked_reason": yanked_reason.filter(|reason| !reason.is_empty()),
            "package_url": self.index.url(&format!("/project/{name}/")),
            "project_url": self.index.url(&format!("/project/{name}/")),
            "release_url": self.index.url(&format!("/project/{name}/{version}/")),
        });
        let urls: Vec<Value> = release_files
            .iter()
            .map(|f| self.warehouse_file(f))
            .collect();
        let mut document = json!({
            "info": info,
            "last_serial": 1,
            "urls": urls,
            "vulnerabilities": [],
        });
        if release.is_none() {
            let mut releases = serde_json::Map::new();
            for version in &all_versions {
                let entries: Vec<Value> = files
                    .iter()
                    .filter(|f| f.version_or_panic() == version)
                    .map(|f| self.warehouse_file(f))
                    .collect();
                releases.insert(version.clone(), Value::from(entries));
            }
            let roles: Vec<Value> = self
                .roles
                .iter()
                .filter(|(project, _, _)| *project == name)
                .map(|(_, role, user)| json!({ "role": role, "user": user }))
                .collect();
            document["releases"] = Value::Object(releases);
            document["ownership"] = json!({ "roles": roles, "organization": null });
        }
        document
    }

    fn warehouse_file(&self, file: &DistFile) -> Value {
        let digests = match file.published_hash() {
            Some(hash) => json!({ "sha256": hash }),
            None => json!({}),
        };
        let upload_time = file.upload_time.as_deref().unwrap_or(DEFAULT_UPLOAD_TIME);
        let python_version = if file.is_wheel() {
            file.filename.rsplit('-').nth(2).unwrap_or("py3").to_owned()
        } else {
            "source".to_owned()
        };
        json!({
            "filename": file.filename,
            "url": self.file_url(&file.filename),
            "digests": digests,
            "size": file.published_size(),
            // Warehouse's `upload_time` is the same instant without the
            // fraction and zone.
            "upload_time": upload_time.split(['.', 'Z']).next().unwrap_or(upload_time),
            "upload_time_iso_8601": upload_time,
            "yanked": file.yanked.is_some(),
            "yanked_reason": file.yanked.clone().filter(|reason| !reason.is_empty()),
            "requires_python": file.requires_python,
            "packagetype": if file.is_wheel() { "bdist_wheel" } else { "sdist" },
            "python_version": python_version,
            "has_sig": false,
            "comment_text": "",
        })
    }
}

/// The Integrity API's media type (PEP 740).
const INTEGRITY_V1_JSON: &str = "application/vnd.pypi.integrity.v1+json";

/// `/files/<filename>`.
pub fn file_path(filename: &str) -> String {
    format!("/files/{filename}")
}

/// A simple-API page in its three media types: `text/html` first, the
/// default for clients that do not ask (as on PyPI).
fn simple_resource(html: String, json: String) -> Resource {
    Resource::html(html.clone())
        .variant(SIMPLE_V1_HTML, html)
        .variant(SIMPLE_V1_JSON, json)
}

fn html_page(title: &str, body: &str) -> String {
    let title = html_escape(title);
    format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    \
         <meta name=\"pypi:repository-version\" content=\"1.1\">\n    \
         <title>{title}</title>\n  </head>\n  <body>\n    <h1>{title}</h1>\n{body}  </body>\n</html>\n"
    )
}

/// The distinct versions of `files` (already in PEP 440 order).
fn versions(files: &[&DistFile]) -> Vec<String> {
    let mut versions: Vec<String> = Vec::new();
    for file in files {
        let version = file.version_or_panic();
        if !versions.iter().any(|v| v == version) {
            versions.push(version.to_owned());
        }
    }
    versions
}

/// The version Warehouse calls current: the highest final release with a
/// file not yanked, else the highest version of all.
fn latest_version(files: &[&DistFile], versions: &[String]) -> String {
    let current = versions.iter().rev().find(|version| {
        let final_release = Version::from_str(version).is_ok_and(|v| !v.any_prerelease());
        final_release
            && files
                .iter()
                .any(|f| f.version_or_panic() == version.as_str() && f.yanked.is_none())
    });
    current.or(versions.last()).cloned().unwrap_or_default()
}
