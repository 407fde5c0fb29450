//! Reading and writing `pylock.toml` ([PEP 751](https://peps.python.org/pep-0751/)).
//!
//! Written with `toml_edit` in a stable layout (one `[[packages]]` table per package, files as
//! inline tables one per line) so that the same lock is always the same bytes and a diff
//! between two locks shows what changed. Read with spans kept, so that every problem in a
//! hand-edited lock is reported with its line, and all of them at once.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerTree, PackageName};
use rayon::prelude::*;
use toml_edit::{
    Array, ArrayOfTables, Datetime, DocumentMut, InlineTable, Item, Table, TableLike, Value, value,
};

use crate::marker::Dependency;
use crate::provenance::Identity;

mod identities;
mod pieces;

use super::{
    EntryLocation, FileEntry, Lock, LockSource, Package, RecordedDependencies, UnverifiablePackage,
    UnverifiableSource,
};
use crate::dependencies::Provenance;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::digest::Sha256;
use crate::owners::{Ownership, Role};

/// The `lock-version` pinguard writes, and the major version it reads.
pub const LOCK_VERSION: &str = "1.0";

/// Serialises a lock.
///
/// Each package is rendered on its own, in parallel, and the texts joined: one document of
/// the OpenStack lock's 575 tables and 5000 inline tables took 60 ms to build, render and drop
/// on one core, after the last page had arrived. The text is the one document's (tested).
pub fn to_toml(lock: &Lock) -> String {
    let (by_name, extras) = package_context(lock);
    let packages: Vec<String> = lock
        .packages
        .par_iter()
        .map(|package| {
            let mut tables = ArrayOfTables::new();
            tables.push(package_table(package, lock, &by_name, &extras));
            let mut doc = DocumentMut::new();
            doc["packages"] = Item::ArrayOfTables(tables);
            doc.to_string()
        })
        .collect();
    let mut text = header(lock).to_string();
    for package in packages {
        text.push('\n');
        text.push_str(&package);
    }
    if let Some(tool) = tool_table(lock) {
        let mut doc = DocumentMut::new();
        doc["tool"] = tool;
        text.push('\n');
        text.push_str(&doc.to_string());
    }
    text
}

/// What the package tables are made with: the entries by name, the extras asked of each.
fn package_context(lock: &Lock) -> (ByName<'_>, RequestedExtras<'_>) {
    let by_name = entries_by_name(lock);
    let extras = requested_extras(lock, &by_name);
    (by_name, extras)
}

/// The keys before the packages (and `packages = []` when there are none).
fn header(lock: &Lock) -> DocumentMut {
    let mut doc = DocumentMut::new();
    doc["lock-version"] = value(LOCK_VERSION);
    doc["created-by"] = value(&lock.created_by);
    if let Some(requires_python) = &lock.requires_python {
        doc["requires-python"] = value(requires_python.to_string());
    }
    // A marker that is always true (pep508_rs drops a comparison it cannot make, such as
    // `python_full_version == '3;12.*'`) admits every environment, as no `environments` key
    // does, and has no text to write.
    if !lock.environments.is_empty() && !lock.environments.iter().any(MarkerTree::is_true) {
        let mut environments = Array::new();
        for marker in &lock.environments {
            environments.push(marker.contents().map(|m| m.to_string()).unwrap_or_default());
        }
        doc["environments"] = value(multiline(environments));
    }
    if lock.packages.is_empty() {
        // An empty array of tables would vanish from the text, and `packages` is required.
        doc["packages"] = value(Array::new());
    }
    doc
}

/// `[tool.pinguard]`: where the lock was made from.
fn tool_table(lock: &Lock) -> Option<Item> {
    let source = lock.source.as_ref()?;
    let mut pinguard = Table::new();
    pinguard["source"] = value(&source.location);
    pinguard["source-sha256"] = value(source.sha256.to_string());
    let mut tool = Table::new();
    tool.set_implicit(true);
    tool["pinguard"] = Item::Table(pinguard);
    Some(Item::Table(tool))
}

/// The lock's entries by name, in lock order: what a dependency can resolve to, looked up
/// once per dependency instead of scanning thousands of entries for each.
type ByName<'l> = BTreeMap<&'l PackageName, Vec<&'l Package>>;

fn entries_by_name(lock: &Lock) -> ByName<'_> {
    let mut by_name: ByName<'_> = BTreeMap::new();
    for package in &lock.packages {
        by_name.entry(&package.name).or_default().push(package);
    }
    by_name
}

fn package_table(
    package: &Package,
    lock: &Lock,
    by_name: &ByName<'_>,
    extras: &RequestedExtras<'_>,
) -> Table {
    let mut table = Table::new();
    table["name"] = value(package.name.to_string());
    if let Some(version) = &package.version {
        table["version"] = value(version.to_string());
    }
    if let Some(marker) = package.marker_text() {
        table["marker"] = value(marker);
    }
    if let Some(requires_python) = &package.requires_python {
        table["requires-python"] = value(requires_python.to_string());
    }
    if let Some(index) = &package.index {
        table["index"] = value(index);
    }
    if let Some(sdist) = &package.sdist {
        table["sdist"] = value(file_table(sdist));
    }
    if !package.wheels.is_empty() {
        let mut wheels = Array::new();
        for wheel in &package.wheels {
            wheels.push(file_table(wheel));
        }
        table["wheels"] = value(multiline(wheels));
    }
    if let Some(archive) = &package.archive {
        let mut archive = file_table(archive);
        // PEP 751's archive has no `name` key: readers take it from the URL or path.
        archive.remove("name");
        table["archive"] = value(archive);
    }
    if !package.attestation_identities.is_empty() {
        table["attestation-identities"] =
            Item::ArrayOfTables(identities::to_tables(&package.attestation_identities));
    }
    if let Some(recorded) = &package.dependencies {
        let requested = extras.get(&package.name).map_or(&[][..], Vec::as_slice);
        let refs = dependency_refs(package, recorded, requested, lock, by_name);
        if !refs.is_empty() {
            let mut array = Array::new();
            for reference in refs {
                array.push(reference);
            }
            table["dependencies"] = value(multiline(array));
        }
    }
    let pinguard = package_tool_table(package);
    if !pinguard.is_empty() {
        let mut tool = Table::new();
        tool.set_implicit(true);
        tool["pinguard"] = Item::Table(pinguard);
        table["tool"] = Item::Table(tool);
    }
    table
}

/// `[packages.tool.pinguard]`: recorded dependencies, who needed an added entry
/// (`--add-missing`) and owners (`lock --owners`).
fn package_tool_table(package: &Package) -> Table {
    let mut pinguard = Table::new();
    if let Some(recorded) = &package.dependencies {
        let mut requires = Array::new();
        for requirement in &recorded.requires_dist {
            requires.push(requirement.to_string());
        }
        pinguard["requires-dist"] = value(multiline(requires));
        pinguard["dependencies-from"] = value(recorded.provenance.as_str());
        pinguard["dependencies-file"] = value(&recorded.file);
    }
    if !package.added_for.is_empty() {
        let mut added_for = Array::new();
        for dependent in &package.added_for {
            added_for.push(dependent.as_str());
        }
        pinguard["added-for"] = value(added_for);
    }
    if let Some(owners) = &package.owners {
        let mut roles = Array::new();
        for role in &owners.roles {
            let mut entry = InlineTable::new();
            entry.insert("role", role.role.as_str().into());
            entry.insert("user", role.user.as_str().into());
            roles.push(entry);
        }
        pinguard["owners"] = value(multiline(roles));
        if let Some(organization) = &owners.organization {
            pinguard["organization"] = value(organization);
        }
    }
    pinguard
}

/// The extras the lock's packages ask of each other (`oslo.log[systemd]`), for each package
/// asked: followed until nothing new is asked, since an extra's dependencies may ask for more.
type RequestedExtras<'l> = BTreeMap<&'l PackageName, Vec<ExtraName>>;

fn requested_extras<'l>(lock: &'l Lock, by_name: &ByName<'l>) -> RequestedExtras<'l> {
    let mut asked: BTreeMap<&PackageName, BTreeSet<ExtraName>> = BTreeMap::new();
    loop {
        let mut changed = false;
        for package in &lock.packages {
            let Some(recorded) = &package.dependencies else {
                continue;
            };
            let requested: Vec<ExtraName> = asked
                .get(&package.name)
                .map(|e| e.iter().cloned().collect())
                .unwrap_or_default();
            for dependency in &recorded.requires_dist {
                let requirement = &dependency.requirement;
                if requirement.extras.is_empty()
                    || !is_needed(dependency, package, &requested, lock)
                {
                    continue;
                }
                let Some((&name, _)) = by_name.get_key_value(&requirement.name) else {
                    continue;
                };
                let extras = asked.entry(name).or_default();
                let before = extras.len();
                extras.extend(requirement.extras.iter().cloned());
                changed |= extras.len() > before;
            }
        }
        if !changed {
            return asked
                .into_iter()
                .map(|(name, extras)| (name, extras.into_iter().collect()))
                .collect();
        }
    }
}

/// Whether `package` needs `dependency` somewhere the lock is for: with no extras but those
/// `requested` of it (a dependency under `extra == "test"` is not needed unless a package in
/// the lock asks for `[test]`), where the package's marker and one of the lock's
/// `environments` (any, when it names none) hold.
fn is_needed(
    dependency: &Dependency,
    package: &Package,
    requested: &[ExtraName],
    lock: &Lock,
) -> bool {
    let mut marker = dependency.requirement.marker.clone();
    marker.and(package.marker.clone());
    if !lock.environments.is_empty() {
        let mut environments = MarkerTree::FALSE;
        for environment in &lock.environments {
            environments.or(environment.clone());
        }
        marker.and(environments);
    }
    // Only the extras are fixed: environment markers count as true where some environment
    // the markers above allow makes them true.
    marker.evaluate_extras(requested)
}

/// PEP 751 `dependencies`: for each requirement the package needs (without extras but those
/// a package in the lock asks of it, as uv's export records them; see [`is_needed`]), the
/// entries of the lock it can resolve to, named with as few keys as tell them apart (name;
/// name and version; name, version and marker). Informational only, as the PEP says, yet
/// some installers follow them (pex): `check` and `install -r` use the recorded specifiers.
fn dependency_refs(
    package: &Package,
    recorded: &RecordedDependencies,
    requested: &[ExtraName],
    lock: &Lock,
    by_name: &ByName<'_>,
) -> Vec<InlineTable> {
    let mut refs: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for dependency in &recorded.requires_dist {
        if !is_needed(dependency, package, requested, lock) {
            continue;
        }
        let requirement = &dependency.requirement;
        let entries: &[&Package] = by_name.get(&requirement.name).map_or(&[], Vec::as_slice);
        // The entries it resolves to: the only one of that name, else those whose version the
        // specifier admits (all of them when none does; `check` reports that).
        let admitted: Vec<&&Package> = entries
            .iter()
            .filter(|p| match (&requirement.version_or_url, &p.version) {
                (Some(pep508_rs::VersionOrUrl::VersionSpecifier(spec)), Some(version)) => {
                    spec.contains(version)
                }
                _ => true,
            })
            .collect();
        let satisfying: Vec<&&Package> = if entries.len() > 1 && !admitted.is_empty() {
            admitted
        } else {
            entries.iter().collect()
        };
        for entry in &satisfying {
            let same_version = entries
                .iter()
                .filter(|p| p.version == entry.version)
                .count();
            let version = (entries.len() > 1)
                .then(|| entry.version.as_ref().map(ToString::to_string))
                .flatten();
            let marker = (same_version > 1).then(|| entry.marker_text()).flatten();
            refs.push((entry.name.to_string(), version, marker));
        }
    }
    refs.sort();
    refs.dedup();
    refs.into_iter()
        .map(|(name, version, marker)| {
            let mut table = InlineTable::new();
            table.insert("name", name.into());
            if let Some(version) = version {
                table.insert("version", version.into());
            }
            if let Some(marker) = marker {
                table.insert("marker", marker.into());
            }
            table
        })
        .collect()
}

fn file_table(file: &FileEntry) -> InlineTable {
    let mut table = InlineTable::new();
    table.insert("name", file.name.as_str().into());
    match &file.location {
        EntryLocation::Url(url) => table.insert("url", url.as_str().into()),
        EntryLocation::Path(path) => table.insert("path", path.as_str().into()),
    };
    if let Some(size) = file.size {
        table.insert("size", i64::try_from(size).unwrap_or(i64::MAX).into());
    }
    if let Some(time) = file.upload_time {
        table.insert("upload-time", time.into());
    }
    let mut hashes = InlineTable::new();
    hashes.insert("sha256", file.sha256.to_string().into());
    table.insert("hashes", hashes.into());
    table
}

/// Lays an array out one element per line, with a trailing comma.
fn multiline(mut array: Array) -> Array {
    for item in array.iter_mut() {
        item.decor_mut().set_prefix("\n    ");
    }
    array.set_trailing("\n");
    array.set_trailing_comma(true);
    array
}

/// Parses a lock. `file` names it in errors.
///
/// A large lock is parsed and read in pieces, in parallel (module `pieces`); the result, problems
/// included, is the same as reading it whole.
pub fn from_toml(file: &str, text: &str) -> Result<Lock, Diagnostics> {
    read(file, text, pieces::MIN_LEN)
}

/// [`from_toml`], reading in pieces from `min_len` bytes on.
fn read(file: &str, text: &str, min_len: usize) -> Result<Lock, Diagnostics> {
    let groups = rayon::current_num_threads() * 4;
    pieces::split(text, min_len, groups)
        .and_then(|pieces| read_pieces(file, text, &pieces))
        .unwrap_or_else(|| read_whole(file, text))
}

/// Reads the lock as one document.
fn read_whole(file: &str, text: &str) -> Result<Lock, Diagnostics> {
    let doc = toml_edit::Document::parse(text.to_owned()).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        Diagnostics(vec![Diagnostic::in_source(
            file,
            text,
            span,
            "not valid TOML",
            e.message().trim_end().to_owned(),
            Some("fix the syntax, or write the lock again with `pinguard lock`".into()),
        )])
    })?;
    let mut reader = Reader::at(file, text, 0);
    let lock = reader.lock(doc.as_table());
    drop_aside(doc, text.len());
    reader.finish(lock)
}

/// Reads the lock from `pieces` of its text (the head, then groups of whole package tables),
/// each parsed and read on its own, in parallel: a constraints-wide lock (2.4 MB) took 55 ms
/// to parse and 40 ms to read on one thread. `None` when the pieces are not the document
/// cut apart: one that is not valid TOML alone (a cut inside a multi-line string or array
/// leaves one), or a top-level key in two of them. The whole document is then read, which
/// also puts a syntax error where it is.
fn read_pieces(
    file: &str,
    text: &str,
    pieces: &[std::ops::Range<usize>],
) -> Option<Result<Lock, Diagnostics>> {
    let docs: Vec<toml_edit::Document<String>> = pieces
        .par_iter()
        .map(|range| toml_edit::Document::parse(text[range.clone()].to_owned()).ok())
        .collect::<Option<_>>()?;
    let (head, groups) = docs.split_first()?;
    if !pieces::keys_are_disjoint(head.as_table(), groups.iter().map(|d| d.as_table())) {
        return None;
    }
    let tables: Vec<&ArrayOfTables> = groups
        .iter()
        .map(|doc| doc.get("packages").and_then(Item::as_array_of_tables))
        .collect::<Option<_>>()?;
    let firsts: Vec<usize> = tables
        .iter()
        .scan(0, |next, tables| {
            let first = *next;
            *next += tables.len();
            Some(first)
        })
        .collect();
    let jobs: Vec<_> = tables.into_iter().zip(firsts).zip(&pieces[1..]).collect();
    let read: Vec<(Vec<Entry>, Vec<Diagnostic>)> = jobs
        .into_par_iter()
        .map(|((tables, first), range)| {
            let mut reader = Reader::at(file, text, range.start);
            let entries = reader.package_tables(tables, first);
            (entries, reader.problems)
        })
        .collect();
    let mut reader = Reader::at(file, text, 0);
    let mut lock = reader.head(head.as_table());
    for (entries, problems) in read {
        lock.add(entries);
        reader.problems.extend(problems);
    }
    let (doc, range) = docs
        .iter()
        .zip(pieces)
        .find(|(doc, _)| doc.contains_key("tool"))
        .unwrap_or((head, &pieces[0]));
    reader.offset = range.start;
    lock.source = reader.tool(doc.as_table());
    drop_aside(docs, text.len());
    Some(reader.finish(lock))
}

/// Drops the parsed document of a lock of `len` bytes. A large one is dropped on a thread of
/// its own, so that the command goes on meanwhile: freeing the tree of a constraints-wide
/// lock (2.4 MB, 4,859 files) took 10–13 ms of the 0.1 s it takes to read it.
fn drop_aside<T: Send + 'static>(doc: T, len: usize) {
    const LARGE: usize = 256 << 10;
    if len < LARGE {
        return;
    }
    // Detached. When no thread can be had, the closure, and the document with it, is dropped
    // here.
    let _ = std::thread::Builder::new()
        .name("pinguard-drop".into())
        .spawn(move || drop(doc));
}

/// The `[tool.pinguard]` table of `table` (the lock's root, or a package), when there is one.
fn pinguard_tool(table: &Table) -> Option<&Table> {
    table.get("tool")?.as_table()?.get("pinguard")?.as_table()
}

/// A TOML table, standard or inline, read in place (a file entry may be either; cloning
/// 4,859 of them was a fifth of reading a constraints-wide lock).
#[derive(Clone, Copy)]
enum Entries<'a> {
    /// `[table]` or `[[array]]`.
    Table(&'a Table),
    /// `{ key = value }`.
    Inline(&'a InlineTable),
}

impl<'a> Entries<'a> {
    /// The table `item` is, if it is one.
    fn of(item: &'a Item) -> Option<Self> {
        match item {
            Item::Table(t) => Some(Self::Table(t)),
            Item::Value(value) => Self::of_value(value),
            _ => None,
        }
    }

    /// The inline table `value` is, if it is one.
    fn of_value(value: &'a Value) -> Option<Self> {
        value.as_inline_table().map(Self::Inline)
    }

    fn table_like(self) -> &'a dyn TableLike {
        match self {
            Self::Table(t) => t,
            Self::Inline(t) => t,
        }
    }
}

/// What one `[[packages]]` table is.
enum Entry {
    /// A package with files, each with its digest.
    Files(Box<Package>),
    /// A local directory or a VCS checkout.
    Unverifiable(UnverifiablePackage),
}

impl Lock {
    /// Adds package tables read, in order.
    fn add(&mut self, entries: Vec<Entry>) {
        for entry in entries {
            match entry {
                Entry::Files(package) => self.packages.push(*package),
                Entry::Unverifiable(package) => self.unverifiable.push(package),
            }
        }
    }
}

/// Walks a parsed document, collecting every problem.
struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    /// Where in `text` the document read starts (a piece of it: see [`read_pieces`]).
    offset: usize,
    problems: Vec<Diagnostic>,
}

/// What a key should hold, for messages.
const FILE_HELP: &str = "each file needs `url` or `path`, and `hashes = { sha256 = \"…\" }`";

impl<'a> Reader<'a> {
    /// A reader of the document that starts `offset` bytes into `text`.
    fn at(file: &'a str, text: &'a str, offset: usize) -> Self {
        Self {
            file,
            text,
            offset,
            problems: Vec::new(),
        }
    }

    /// The lock read, or every problem found in it.
    fn finish(self, lock: Lock) -> Result<Lock, Diagnostics> {
        if self.problems.is_empty() {
            Ok(lock)
        } else {
            Err(Diagnostics(self.problems))
        }
    }

    fn problem(
        &mut self,
        span: Option<std::ops::Range<usize>>,
        message: String,
        help: Option<&str>,
    ) {
        let offset = self.offset;
        let span = span.map_or(0..0, |span| span.start + offset..span.end + offset);
        self.problems.push(Diagnostic::in_source(
            self.file,
            self.text,
            span,
            message,
            "here",
            help.map(str::to_owned),
        ));
    }

    /// A required string key of `table`, reported when missing or of another type.
    fn string(&mut self, table: &Table, key: &str, context: &str) -> Option<String> {
        match table.get(key) {
            None => {
                self.problem(
                    table.span(),
                    format!("{context}: missing required key `{key}`"),
                    None,
                );
                None
            }
            Some(item) => self.as_string(item, key, context),
        }
    }

    fn as_string(&mut self, item: &Item, key: &str, context: &str) -> Option<String> {
        match item.as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                self.problem(
                    item.span(),
                    format!("{context}: `{key}` must be a string"),
                    None,
                );
                None
            }
        }
    }

    fn optional_string(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        context: &str,
    ) -> Option<String> {
        let item = table.get(key)?;
        self.as_string(item, key, context)
    }

    fn lock(&mut self, root: &Table) -> Lock {
        let mut lock = self.head(root);
        match root.get("packages") {
            None => self.problem(
                Some(0..0),
                "the lock: missing required key `packages`".into(),
                Some("a PEP 751 lock lists its packages as `[[packages]]` tables"),
            ),
            // `packages = []`: how TOML writes an empty list of packages.
            Some(item) if item.as_array().is_some_and(Array::is_empty) => {}
            Some(item) => match item.as_array_of_tables() {
                Some(tables) => {
                    let entries = self.package_tables(tables, 0);
                    lock.add(entries);
                }
                None => self.problem(
                    item.span(),
                    "the lock: `packages` must be an array of tables (`[[packages]]`)".into(),
                    None,
                ),
            },
        }
        lock.source = self.tool(root);
        lock
    }

    /// The package tables `tables`, the first of them `packages[first]`.
    fn package_tables(&mut self, tables: &ArrayOfTables, first: usize) -> Vec<Entry> {
        tables
            .iter()
            .enumerate()
            .filter_map(|(i, table)| self.package(first + i, table))
            .collect()
    }

    /// The keys before the packages: a lock with no packages yet.
    fn head(&mut self, root: &Table) -> Lock {
        let mut lock = Lock::new();
        if let Some(version) = self.string(root, "lock-version", "the lock")
            && version.split('.').next() != Some("1")
        {
            self.problem(
                root.get("lock-version").and_then(Item::span),
                format!("lock-version `{version}` is not supported; pinguard reads 1.x"),
                Some("write the lock with a tool that produces lock-version 1.0"),
            );
        }
        if let Some(created_by) = self.string(root, "created-by", "the lock") {
            lock.created_by = created_by;
        }
        if let Some(text) = self.optional_string(root, "requires-python", "the lock") {
            lock.requires_python = self.specifiers(root.get("requires-python"), &text, "the lock");
        }
        if let Some(item) = root.get("environments") {
            match item.as_array() {
                Some(array) => {
                    for marker in array.iter() {
                        match marker.as_str().map(crate::pep508::marker) {
                            Some(Ok(tree)) => lock.environments.push(tree),
                            Some(Err(e)) => self.problem(
                                marker.span(),
                                format!(
                                    "the lock: invalid marker in `environments`: {}",
                                    e.message
                                ),
                                None,
                            ),
                            None => self.problem(
                                marker.span(),
                                "the lock: `environments` must hold marker strings".into(),
                                None,
                            ),
                        }
                    }
                }
                None => self.problem(
                    item.span(),
                    "the lock: `environments` must be an array".into(),
                    None,
                ),
            }
        }
        lock
    }

    fn specifiers(
        &mut self,
        item: Option<&Item>,
        text: &str,
        context: &str,
    ) -> Option<VersionSpecifiers> {
        match VersionSpecifiers::from_str(text) {
            Ok(specifiers) => Some(specifiers),
            Err(e) => {
                self.problem(
                    item.and_then(Item::span),
                    format!("{context}: invalid `requires-python`: {e}"),
                    None,
                );
                None
            }
        }
    }

    fn package(&mut self, index: usize, table: &Table) -> Option<Entry> {
        let mut context = format!("packages[{index}]");
        let name = self.string(table, "name", &context)?;
        let name = match PackageName::from_str(&name) {
            Ok(name) => name,
            Err(e) => {
                self.problem(
                    table.get("name").and_then(Item::span),
                    format!("{context}: {e}"),
                    None,
                );
                return None;
            }
        };
        context = format!("packages[{index}] (`{name}`)");
        let problems_before = self.problems.len();
        let version = self
            .optional_string(table, "version", &context)
            .and_then(|text| {
                Version::from_str(&text)
                    .map_err(|e| {
                        self.problem(
                            table.get("version").and_then(Item::span),
                            format!("{context}: invalid `version`: {e}"),
                            None,
                        )
                    })
                    .ok()
            });
        let marker = match self.optional_string(table, "marker", &context) {
            None => MarkerTree::TRUE,
            Some(text) => match crate::pep508::marker(&text) {
                Ok(tree) => tree,
                Err(e) => {
                    self.problem(
                        table.get("marker").and_then(Item::span),
                        format!("{context}: invalid `marker`: {}", e.message),
                        None,
                    );
                    MarkerTree::TRUE
                }
            },
        };
        let requires_python = self
            .optional_string(table, "requires-python", &context)
            .and_then(|text| self.specifiers(table.get("requires-python"), &text, &context));
        let index_url = self.optional_string(table, "index", &context);
        if let Some(source) = self.unverifiable_source(table, &context) {
            return Some(Entry::Unverifiable(UnverifiablePackage {
                name,
                version,
                marker,
                source,
            }));
        }
        let sdist = table
            .get("sdist")
            .and_then(|item| self.file_item(item, &format!("{context}.sdist")));
        let archive = table
            .get("archive")
            .and_then(|item| self.file_item(item, &format!("{context}.archive")));
        let mut wheels = Vec::new();
        if let Some(item) = table.get("wheels") {
            match item.as_array() {
                Some(array) => {
                    for (i, wheel) in array.iter().enumerate() {
                        let context = format!("{context}.wheels[{i}]");
                        let found = Entries::of_value(wheel);
                        if let Some(entry) = self.file(found, wheel.span(), &context) {
                            wheels.push(entry);
                        }
                    }
                }
                None => match item.as_array_of_tables() {
                    Some(tables) => {
                        for (i, wheel) in tables.iter().enumerate() {
                            let context = format!("{context}.wheels[{i}]");
                            let found = Some(Entries::Table(wheel));
                            if let Some(entry) = self.file(found, wheel.span(), &context) {
                                wheels.push(entry);
                            }
                        }
                    }
                    None => self.problem(
                        item.span(),
                        format!("{context}: `wheels` must be an array"),
                        None,
                    ),
                },
            }
        }
        if sdist.is_none()
            && wheels.is_empty()
            && archive.is_none()
            && self.problems.len() == problems_before
        {
            self.problem(
                table.span(),
                format!("{context}: no file to install (`sdist`, `wheels` or `archive`)"),
                Some("a PEP 751 package needs exactly one kind of source"),
            );
        }
        let dependencies = self.recorded_dependencies(table, &context);
        let added_for = self.added_for(table, &context);
        let attestation_identities = self.attestation_identities(table, &context);
        let owners = self.recorded_owners(table, &context);
        Some(Entry::Files(Box::new(Package {
            name,
            version,
            marker,
            requires_python,
            index: index_url,
            sdist,
            wheels,
            archive,
            dependencies,
            added_for,
            attestation_identities,
            owners,
        })))
    }

    /// A `directory` or `vcs` source, which has no digest: `None` when the entry has files
    /// instead. Both kinds, or one beside files, is a problem PEP 751 forbids.
    fn unverifiable_source(&mut self, table: &Table, context: &str) -> Option<UnverifiableSource> {
        let kinds: Vec<&str> = ["vcs", "directory", "archive", "sdist", "wheels"]
            .into_iter()
            .filter(|key| table.contains_key(key))
            .collect();
        if !kinds.iter().any(|k| *k == "vcs" || *k == "directory") {
            return None;
        }
        // Beside a `vcs` or `directory`, any other key is another kind of source.
        if kinds.len() > 1 {
            self.problem(
                table.span(),
                format!("{context}: more than one kind of source ({})", kinds.join(", ")),
                Some("a PEP 751 package has files (`sdist`, `wheels`), an `archive`, a `vcs` or a `directory`: one of them"),
            );
            return None;
        }
        let key = kinds[0];
        let Some(source) = table.get(key).and_then(Item::as_table_like) else {
            self.problem(
                table.get(key).and_then(Item::span),
                format!("{context}: `{key}` must be a table"),
                None,
            );
            return None;
        };
        let text = |k: &str| source.get(k).and_then(Item::as_str).map(str::to_owned);
        let subdirectory = text("subdirectory");
        match (key, text("path"), text("url")) {
            ("directory", Some(path), _) => Some(UnverifiableSource::Directory {
                path,
                editable: source.get("editable").and_then(Item::as_bool) == Some(true),
                subdirectory,
            }),
            ("vcs", path, url) if path.is_some() || url.is_some() => {
                let location = url
                    .map(|u| crate::safe_url::mask_credentials(&u).into_owned())
                    .or(path)
                    .unwrap_or_default();
                Some(UnverifiableSource::Vcs {
                    location: match &subdirectory {
                        Some(sub) => format!("{location}#subdirectory={sub}"),
                        None => location,
                    },
                })
            }
            _ => {
                self.problem(
                    table.get(key).and_then(Item::span),
                    format!(
                        "{context}: `{key}` needs a `path`{}",
                        if key == "vcs" { " or `url`" } else { "" }
                    ),
                    None,
                );
                None
            }
        }
    }

    /// `[packages.tool.pinguard]`'s `added-for`: who needed a package `--add-missing` added.
    fn added_for(&mut self, table: &Table, context: &str) -> Vec<String> {
        let Some(item) = (|| {
            table
                .get("tool")?
                .as_table()?
                .get("pinguard")?
                .get("added-for")
        })() else {
            return Vec::new();
        };
        let strings: Option<Vec<String>> = item.as_array().and_then(|array| {
            array
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
        });
        strings.unwrap_or_else(|| {
            self.problem(
                item.span(),
                format!("{context}.tool.pinguard: `added-for` must be an array of strings"),
                None,
            );
            Vec::new()
        })
    }

    /// `[packages.tool.pinguard]`'s recorded owners, when present.
    fn recorded_owners(&mut self, table: &Table, context: &str) -> Option<Ownership> {
        let pinguard = pinguard_tool(table)?;
        let item = pinguard.get("owners")?;
        let context = format!("{context}.tool.pinguard");
        let organization = self.optional_string(pinguard, "organization", &context);
        let mut roles = Vec::new();
        let entries = item.as_array();
        if entries.is_none() {
            self.problem(
                item.span(),
                format!("{context}: `owners` must be an array"),
                None,
            );
        }
        for entry in entries.into_iter().flatten() {
            let role = entry.as_inline_table().and_then(|t| {
                Some(Role {
                    role: t.get("role")?.as_str()?.to_owned(),
                    user: t.get("user")?.as_str()?.to_owned(),
                })
            });
            match role {
                Some(role) => roles.push(role),
                None => self.problem(
                    entry.span(),
                    format!(
                        "{context}: each `owners` entry must be {{ role = \"…\", user = \"…\" }}"
                    ),
                    Some("record the owners again with `pinguard lock --owners`"),
                ),
            }
        }
        Some(Ownership {
            roles,
            organization,
        })
    }

    /// `[[packages.attestation-identities]]`: each a kind pinguard can verify, with its keys.
    fn attestation_identities(&mut self, table: &Table, context: &str) -> Vec<Identity> {
        let Some(item) = table.get("attestation-identities") else {
            return Vec::new();
        };
        let Some(tables) = item.as_array_of_tables() else {
            self.problem(
                item.span(),
                format!("{context}: `attestation-identities` must be an array of tables"),
                None,
            );
            return Vec::new();
        };
        let mut identities = Vec::new();
        for entry in tables {
            match identities::from_table(entry) {
                Ok(identity) => identities.push(identity),
                Err(reason) => self.problem(
                    entry.span(),
                    format!("{context}: attestation identity: {reason}"),
                    Some("pinguard verifies GitHub, GitLab and Google identities; re-lock with `--attestations`"),
                ),
            }
        }
        identities
    }

    /// `[packages.tool.pinguard]`'s recorded dependencies, when present.
    fn recorded_dependencies(
        &mut self,
        table: &Table,
        context: &str,
    ) -> Option<RecordedDependencies> {
        let pinguard = pinguard_tool(table)?;
        if !["requires-dist", "dependencies-from", "dependencies-file"]
            .iter()
            .any(|key| pinguard.contains_key(key))
        {
            return None;
        }
        let context = format!("{context}.tool.pinguard");
        let from = self.string(pinguard, "dependencies-from", &context)?;
        let Some(provenance) = Provenance::parse(&from) else {
            self.problem(
                pinguard.get("dependencies-from").and_then(Item::span),
                format!("{context}: unknown `dependencies-from` value `{from}`"),
                None,
            );
            return None;
        };
        let file = self.string(pinguard, "dependencies-file", &context)?;
        let mut requires_dist = Vec::new();
        let items = pinguard.get("requires-dist").and_then(Item::as_array);
        for item in items.into_iter().flatten() {
            match item.as_str().map(Dependency::from_str) {
                Some(Ok(dependency)) => requires_dist.push(dependency),
                Some(Err(e)) => self.problem(
                    item.span(),
                    format!("{context}: invalid `requires-dist` entry: {}", e.message),
                    None,
                ),
                None => self.problem(
                    item.span(),
                    format!("{context}: `requires-dist` must hold strings"),
                    None,
                ),
            }
        }
        Some(RecordedDependencies {
            requires_dist,
            provenance,
            file,
        })
    }

    fn file_item(&mut self, item: &Item, context: &str) -> Option<FileEntry> {
        self.file(Entries::of(item), item.span(), context)
    }

    /// A file entry (`table`, `None` when the item was not a table) at `span`.
    fn file(
        &mut self,
        table: Option<Entries<'_>>,
        span: Option<std::ops::Range<usize>>,
        context: &str,
    ) -> Option<FileEntry> {
        let Some(entries) = table else {
            self.problem(span, format!("{context} must be a table"), Some(FILE_HELP));
            return None;
        };
        let table = entries.table_like();
        // Problems in an inline table point at the whole entry, as they always have.
        let at = |key: &str| match entries {
            Entries::Table(t) => t.get(key).and_then(Item::span).or_else(|| span.clone()),
            Entries::Inline(_) => span.clone(),
        };
        let url = self.optional_string(table, "url", context);
        let path = self.optional_string(table, "path", context);
        let location = match (url, path) {
            (Some(url), _) => EntryLocation::Url(url),
            (None, Some(path)) => EntryLocation::Path(path),
            (None, None) => {
                self.problem(
                    span.clone(),
                    format!("{context}: needs `url` or `path`"),
                    Some(FILE_HELP),
                );
                return None;
            }
        };
        let name = match self.optional_string(table, "name", context) {
            Some(name) => name,
            None => {
                let location_text = location.to_string();
                let last = location_text.rsplit(['/', '\\']).next().unwrap_or_default();
                crate::index::simple::file_name_of(last)
            }
        };
        let size = match table.get("size") {
            None => None,
            Some(item) => match item.as_integer().and_then(|n| u64::try_from(n).ok()) {
                Some(n) => Some(n),
                None => {
                    self.problem(
                        at("size"),
                        format!("{context}: `size` must be a non-negative integer"),
                        None,
                    );
                    return None;
                }
            },
        };
        let upload_time = match table.get("upload-time") {
            None => None,
            Some(item) => match item.as_value().and_then(Value::as_datetime) {
                Some(time) => Some(*time),
                None => {
                    self.problem(
                        at("upload-time"),
                        format!("{context}: `upload-time` must be a TOML datetime"),
                        None,
                    );
                    None
                }
            },
        };
        let sha256 = self.sha256(table, context, span.clone())?;
        Some(FileEntry {
            name,
            location,
            size,
            upload_time,
            sha256,
        })
    }

    fn sha256(
        &mut self,
        table: &dyn TableLike,
        context: &str,
        span: Option<std::ops::Range<usize>>,
    ) -> Option<Sha256> {
        let hashes = table
            .get("hashes")
            .and_then(Entries::of)
            .map(|entries| entries.table_like());
        let Some(hashes) = hashes else {
            self.problem(
                span,
                format!("{context}: missing `hashes`; pinguard verifies every file by its sha256"),
                Some(FILE_HELP),
            );
            return None;
        };
        let Some(hex) = hashes.get("sha256").and_then(Item::as_str) else {
            self.problem(
                span,
                format!("{context}: `hashes` has no `sha256`; pinguard verifies every file by its sha256"),
                Some("lock the file again with `pinguard lock` to record its sha256"),
            );
            return None;
        };
        match Sha256::from_str(hex) {
            Ok(digest) => Some(digest),
            Err(e) => {
                self.problem(
                    span,
                    format!("{context}: `hashes.sha256` is not a sha256 digest: {e}"),
                    None,
                );
                None
            }
        }
    }

    fn tool(&mut self, root: &Table) -> Option<LockSource> {
        let table = pinguard_tool(root)?;
        let location = self.string(table, "source", "[tool.pinguard]")?;
        let hex = self.string(table, "source-sha256", "[tool.pinguard]")?;
        match Sha256::from_str(&hex) {
            Ok(sha256) => Some(LockSource { location, sha256 }),
            Err(e) => {
                self.problem(
                    table.get("source-sha256").and_then(Item::span),
                    format!("[tool.pinguard]: `source-sha256` is not a sha256 digest: {e}"),
                    None,
                );
                None
            }
        }
    }
}

/// Parses an upload time as the index gives it (RFC 3339) into a TOML datetime.
pub fn parse_upload_time(text: &str) -> Option<Datetime> {
    Datetime::from_str(text.trim())
        .ok()
        .filter(|d| d.date.is_some() && d.time.is_some())
}

#[cfg(test)]
mod tests;
