//! `pinguard lock`: constraints file → pylock.toml (or hashed requirements/constraints).

use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use pep440_rs::{Version, VersionSpecifier};
use pep508_rs::PackageName;

use crate::atomic;
use crate::cache::Cache;
use crate::check::{Finding, Subject};
use crate::cli::{LockArgs, LockFormat};
use crate::complete::{CompleteError, Needed};
use crate::dependencies::{Dependencies, DependencyReader};
use crate::exit::ExitStatus;
use crate::http::{HttpClient, HttpError};
use crate::index::fetch_page;
use crate::index::{Index, Project};
use crate::lock::export::{self, ExportFormat};
use crate::lock::trim::trim;
use crate::lock::{Lock, LockSource, Package, RecordedDependencies, current, pylock};
use crate::locker::{self, LockOptions, NoteLevel, Problem};
use crate::progress::Progress;
use crate::report::{Reporter, Verbosity, count};
use crate::requirements::{self, Loader, Location, ParseError, Pin, Requirements, SourceRef};
use crate::settings::{DependencyReview, IndexSettings, LockSettings, NetworkSettings, Output};
use crate::target::Target;

/// What a locker run is for: the words its errors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// `pinguard lock`.
    Lock,
    /// `pinguard check` of a constraints file.
    Check,
}

impl Purpose {
    fn verb(self) -> &'static str {
        match self {
            Self::Lock => "locked",
            Self::Check => "checked",
        }
    }

    fn consequence(self) -> &'static str {
        match self {
            Self::Lock => "nothing was written",
            Self::Check => "nothing was checked",
        }
    }
}

/// The input read and the index set up.
pub(super) struct Prepared {
    /// The pins and the file's own options.
    pub requirements: Requirements,
    /// The sources to ask.
    pub index: Index,
}

/// Reads `source` (with its includes) and sets up the index it and the flags call for;
/// `Err(status)` after reporting why not.
pub(super) fn prepare(
    source: &SourceRef,
    index_settings: &IndexSettings,
    network: &NetworkSettings,
    refresh_all: bool,
    purpose: Purpose,
    reporter: &Reporter,
) -> anyhow::Result<Result<Prepared, ExitStatus>> {
    let env = |name: &str| std::env::var(name).ok();
    let cache = network.cache(refresh_all);
    let mut http = HttpClient::new(network.http(index_settings.credential_urls()));
    let loader = InputLoader {
        http: &http,
        cache: &cache,
    };
    let requirements = match requirements::parse(source, &loader, &env) {
        Ok(requirements) => requirements,
        Err(ParseError::Invalid(diagnostics)) => {
            reporter.raw(&format!("{}\n", diagnostics.render(reporter.styled())));
            let count = diagnostics.0.len();
            reporter.error(&format!(
                "{source} cannot be {}: {count} line{} to fix; {}",
                purpose.verb(),
                if count == 1 { "" } else { "s" },
                purpose.consequence()
            ));
            return Ok(Err(ExitStatus::Error));
        }
        Err(e @ ParseError::Load { .. }) => {
            reporter.error(&e.to_string());
            return Ok(Err(ExitStatus::Error));
        }
    };
    let sources = index_settings.sources(&requirements.index);
    // The file's own index URLs may carry credentials too.
    http.add_credential_urls(
        requirements
            .index
            .index_url
            .iter()
            .chain(&requirements.index.extra_index_urls)
            .cloned(),
    );
    Ok(Ok(Prepared {
        requirements,
        index: Index::new(http, cache, sources),
    }))
}

/// Runs the locker, reporting its notes, or every failure and `Err(status)`.
pub(super) fn run_locker(
    prepared: &Prepared,
    previous: Option<&Lock>,
    options: &LockOptions,
    purpose: Purpose,
    reporter: &Reporter,
    on_entry: &locker::OnEntry<'_>,
) -> Result<locker::Outcome, ExitStatus> {
    let progress = Progress::new(reporter.verbosity() == crate::report::Verbosity::Quiet);
    let pins = &prepared.requirements.pins;
    let locked = locker::lock(
        pins,
        &prepared.index,
        previous,
        options,
        &progress,
        on_entry,
    );
    for warning in prepared.index.cache().take_warnings() {
        reporter.warn(&warning);
    }
    let outcome = match locked {
        Ok(outcome) => outcome,
        Err(failures) => {
            for failure in &failures {
                reporter.error(&failure.to_string());
            }
            reporter.error(&format!(
                "{} of {} pins cannot be {}; {}",
                failures.len(),
                pins.len(),
                purpose.verb(),
                purpose.consequence()
            ));
            let could_not_run = failures
                .iter()
                .any(|f| matches!(f.problem, Problem::Index(_) | Problem::Download { .. }));
            return Err(if could_not_run {
                ExitStatus::Error
            } else {
                ExitStatus::Failure
            });
        }
    };
    for note in &outcome.notes {
        match note.level {
            NoteLevel::Warning => reporter.warn(&note.to_string()),
            NoteLevel::Info => reporter.info(&note.to_string()),
        }
    }
    Ok(outcome)
}

/// Runs `pinguard lock`.
pub fn run(args: LockArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = LockSettings::resolve(args, &env)?;
    if let Some(status) =
        refuse_to_overwrite(&settings, std::slice::from_ref(&settings.source), reporter)
    {
        return Ok(status);
    }
    if let Some(status) = refuse_output_path(&settings, reporter)? {
        return Ok(status);
    }
    if settings.check {
        return check_current(&settings, reporter);
    }
    if settings.dependencies.is_some() && settings.targets.is_empty() {
        // Dependencies are reviewed on this machine's platform, once the index has answered.
        Target::find_host_platform_in_the_background();
    }
    let prepared = match prepare(
        &settings.source,
        &settings.index,
        &settings.network,
        settings.refresh.all,
        Purpose::Lock,
        reporter,
    )? {
        Ok(prepared) => prepared,
        Err(status) => return Ok(status),
    };
    if let Some(status) = refuse_to_overwrite(&settings, &prepared.requirements.files, reporter) {
        return Ok(status);
    }
    if prepared.requirements.pins.is_empty() {
        reporter.warn(&format!(
            "{} pins nothing (no `name===version` line): the lock will be empty",
            settings.source
        ));
    }
    let Some(targets) = super::resolve_targets(&settings.targets, reporter) else {
        return Ok(ExitStatus::Error);
    };
    let previous = match previous_lock(&settings, &targets, reporter)? {
        Ok(previous) => previous,
        Err(status) => return Ok(status),
    };
    let lock_dir = match &settings.output {
        Output::File(path) => Some(lock_directory(path)),
        Output::Stdout => None,
    };
    let options = LockOptions {
        concurrency: settings.network.concurrency,
        refresh: settings.refresh.clone(),
        lock_dir: lock_dir.clone(),
    };
    let reader = DependencyReader::new(
        prepared.index.http(),
        settings.network.cache_dir.as_deref(),
        lock_dir.as_deref().unwrap_or(Path::new(".")),
    );
    let context = Completion {
        prepared: &prepared,
        settings: &settings,
        trim_to: &targets,
        previous: previous.as_ref(),
        lock_dir: lock_dir.as_deref(),
        reader: &reader,
        reporter,
    };
    let pinned: HashSet<PackageName> = prepared
        .requirements
        .pins
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let read_ahead = |package: &Package, project: &Project| {
        if settings.dependencies.is_some() {
            read_and_look_ahead(&context, &pinned, package, project);
        }
    };
    let outcome = match run_locker(
        &prepared,
        previous.as_ref(),
        &options,
        Purpose::Lock,
        reporter,
        &read_ahead,
    ) {
        Ok(outcome) => outcome,
        Err(status) => return Ok(status),
    };
    let counts = (outcome.reused, outcome.queried);
    let mut lock: Lock = outcome.lock;
    if let Err(status) = complete(&mut lock, &context) {
        return Ok(status);
    }
    write_lock(&lock, &settings)?;
    reporter.summary(&summary(&lock, &settings, counts, previous.as_ref()));
    Ok(ExitStatus::Success)
}

/// The existing lock at the output, when it can be reused: read, and made for the same
/// targets (entries trimmed for other targets cannot be reused). `Err(status)` after
/// reporting a lock that cannot be read.
fn previous_lock(
    settings: &LockSettings,
    targets: &[Target],
    reporter: &Reporter,
) -> anyhow::Result<Result<Option<Lock>, ExitStatus>> {
    let path = match (&settings.output, settings.format) {
        (Output::File(path), LockFormat::Pylock) if path.exists() => path,
        _ => return Ok(Ok(None)),
    };
    let Some(lock) = read_previous(path, reporter)? else {
        return Ok(Err(ExitStatus::Error));
    };
    let environments: Vec<_> = targets.iter().map(Target::environment_marker).collect();
    if lock.environments != environments {
        reporter.info("the existing lock was made for other targets; every pin is queried again");
        return Ok(Ok(None));
    }
    Ok(Ok(Some(lock)))
}

/// Everything a lock holds beside its files: trimmed to the targets, its dependencies
/// recorded and reviewed (`--add-missing`, `--strict`), publishers (`--attestations`),
/// owners (`--owners`), its source. `Err(status)` after reporting why it cannot be written.
fn complete(lock: &mut Lock, context: &Completion<'_>) -> Result<(), ExitStatus> {
    let Completion {
        prepared,
        settings,
        trim_to,
        previous,
        lock_dir,
        reader,
        reporter,
    } = *context;
    // Whether an entry is added is decided anew each run: a pin now covers it, or not.
    for package in &mut lock.packages {
        package.added_for.clear();
    }
    trim(lock, trim_to);
    if let Some(review) = settings.dependencies {
        let status = record_dependencies(lock, reader, settings, reporter);
        if status != ExitStatus::Success {
            return Err(status);
        }
        review_dependencies(lock, review, context)?;
    }
    if let Some(root) = &settings.attestations {
        let status = super::provenance::record_identities(
            lock,
            &prepared.index,
            root,
            settings.network.concurrency,
            reporter,
        );
        if status != ExitStatus::Success {
            return Err(status);
        }
    }
    if let Some(previous) = previous {
        super::provenance::compare_identities(
            previous,
            lock,
            settings.attestations.is_some(),
            reporter,
        );
    }
    if settings.owners
        && let Err(failures) =
            crate::owners::record(lock, &prepared.index, settings.network.concurrency)
    {
        for failure in &failures {
            reporter.error(failure);
        }
        reporter.error(&format!(
            "{} packages' owners cannot be read; nothing was written",
            failures.len()
        ));
        return Err(ExitStatus::Error);
    }
    lock.source = Some(LockSource {
        location: source_location(&settings.source, lock_dir),
        sha256: prepared.requirements.source_sha256,
    });
    Ok(())
}

/// Renders the lock in the chosen format and writes it (atomically, to a file).
fn write_lock(lock: &Lock, settings: &LockSettings) -> anyhow::Result<()> {
    let text = match settings.format {
        LockFormat::Pylock => pylock::to_toml(lock),
        LockFormat::Requirements | LockFormat::Constraints => {
            let format = if settings.format == LockFormat::Requirements {
                ExportFormat::Requirements
            } else {
                ExportFormat::Constraints
            };
            let origin = source_location(&settings.source, None);
            export::render(
                lock,
                format,
                &origin,
                &format!(
                    "pinguard lock {origin} --format {}",
                    format_name(settings.format)
                ),
            )?
        }
    };
    match &settings.output {
        Output::Stdout => super::write_stdout(text.as_bytes())?,
        Output::File(path) => atomic::write_bytes(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
    }
    Ok(())
}

/// The closing line: what was locked where, and how much was asked (`(reused, queried)`) or
/// changed.
fn summary(
    lock: &Lock,
    settings: &LockSettings,
    (reused, queried): (usize, usize),
    previous: Option<&Lock>,
) -> String {
    let files: usize = lock.packages.iter().map(|p| p.files().count()).sum();
    let target = match &settings.output {
        Output::Stdout => "standard output".to_owned(),
        Output::File(path) => path.display().to_string(),
    };
    let how = if settings.refresh.all {
        // Every pin was asked again: what matters is whether any entry changed.
        let changed = previous.map_or(lock.packages.len(), |before| {
            // A set: each entry one lookup, not a scan of the previous lock.
            let kept: BTreeSet<_> = before.packages.iter().map(entry_identity).collect();
            lock.packages
                .iter()
                .filter(|p| !kept.contains(&entry_identity(p)))
                .count()
        });
        format!(
            "{} refreshed from the index, {changed} changed",
            count(queried, "project")
        )
    } else {
        format!("{reused} unchanged, {} queried", count(queried, "project"))
    };
    format!(
        "Locked {} ({}) into {target}: {how}",
        locked_entries(lock),
        count(files, "file"),
    )
}

/// What identifies an entry for "did it change": name, version, marker, and the names and
/// digests of its files.
fn entry_identity(package: &crate::lock::Package) -> (String, Vec<(String, String)>) {
    (
        package.display_name(),
        package
            .files()
            .map(|f| (f.name.clone(), f.sha256.to_string()))
            .collect(),
    )
}

/// Refuses an output path that is a directory, and a lock name PEP 751 does not allow;
/// `Some(status)` after reporting it.
fn refuse_output_path(
    settings: &LockSettings,
    reporter: &Reporter,
) -> anyhow::Result<Option<ExitStatus>> {
    let Output::File(path) = &settings.output else {
        return Ok(None);
    };
    if path.is_dir() {
        reporter.error(&format!(
            "the output `{}` is a directory; nothing was written",
            path.display()
        ));
        reporter.help(&format!(
            "name a file in it, such as `-o {}`",
            path.join("pylock.toml").display()
        ));
        return Ok(Some(ExitStatus::Error));
    }
    if settings.format == LockFormat::Pylock {
        crate::settings::check_pylock_name(path)?;
    }
    Ok(None)
}

/// `lock --check`: compares the existing lock with its source, reading the source only (a
/// URL from the cache), and names every difference.
fn check_current(settings: &LockSettings, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let Output::File(path) = &settings.output else {
        reporter
            .error("--check compares a lock file with its source: name the lock with `-o PATH`");
        return Ok(ExitStatus::Error);
    };
    let Some(lock) = read_previous(path, reporter)? else {
        return Ok(ExitStatus::Error);
    };
    let mut network = settings.network.clone();
    network.connectivity = crate::http::Connectivity::Offline;
    let prepared = match prepare(
        &settings.source,
        &settings.index,
        &network,
        false,
        Purpose::Lock,
        reporter,
    )? {
        Ok(prepared) => prepared,
        Err(status) => return Ok(status),
    };
    let requirements = &prepared.requirements;
    let differences = current::compare(&requirements.pins, requirements.source_sha256, &lock);
    for difference in &differences {
        reporter.error(&difference.to_string());
    }
    if differences.is_empty() {
        reporter.summary(&format!(
            "{} matches {}: {}",
            path.display(),
            settings.source,
            count(requirements.pins.len(), "pin")
        ));
        return Ok(ExitStatus::Success);
    }
    reporter.error(&format!(
        "{} does not match {}: {}; run `pinguard lock` again to update it",
        path.display(),
        settings.source,
        count(differences.len(), "difference")
    ));
    Ok(ExitStatus::Failure)
}

/// Refuses an output file that is one of `inputs` (the same file however spelled: `./uc.txt`,
/// a symbolic link to it), as pip-compile does, before anything is queried or written;
/// `Some(status)` after reporting it.
fn refuse_to_overwrite(
    settings: &LockSettings,
    inputs: &[SourceRef],
    reporter: &Reporter,
) -> Option<ExitStatus> {
    let Output::File(output) = &settings.output else {
        return None;
    };
    // An output that does not exist yet cannot be an input that was read.
    let output_file = std::fs::canonicalize(output).ok()?;
    let input = inputs.iter().find_map(|input| match input {
        SourceRef::Path(path) => std::fs::canonicalize(path)
            .is_ok_and(|file| file == output_file)
            .then_some(path),
        SourceRef::Url(_) | SourceRef::Stdin => None,
    })?;
    reporter.error(&format!(
        "the output file is the input file {}: writing {} would replace what it is made from; \
         nothing was written",
        input.display(),
        output.display()
    ));
    let example = match settings.format {
        LockFormat::Pylock => "pylock.toml",
        LockFormat::Requirements | LockFormat::Constraints => "requirements.lock",
    };
    reporter.help(&format!(
        "write the lock to another file with `-o`, such as `-o {example}`, or to standard \
         output with `-o -`"
    ));
    Some(ExitStatus::Error)
}

/// Reads and records what every package depends on (entries kept from the previous lock keep
/// theirs). A package whose dependencies cannot be read fails the lock: a lock claiming to
/// record dependencies must not silently miss some.
fn record_dependencies(
    lock: &mut Lock,
    reader: &DependencyReader<'_>,
    settings: &LockSettings,
    reporter: &Reporter,
) -> ExitStatus {
    let packages: Vec<&Package> = lock.packages.iter().collect();
    let progress = Progress::new(reporter.verbosity() == crate::report::Verbosity::Quiet);
    let results = reader.read_all(&packages, settings.network.concurrency, &progress);
    reporter.info(&super::reading_cost(reader, packages.len()));
    let mut failed = 0;
    let mut recorded = Vec::with_capacity(results.len());
    for (package, result) in lock.packages.iter().zip(results) {
        match result {
            Ok(dependencies) => {
                // A line no parser can read cannot be recorded; say so, for that package only.
                for (value, error) in &dependencies.invalid {
                    reporter.warn(&format!(
                        "{}: `Requires-Dist: {value}` in {} does not parse and is not recorded: {error}",
                        package.display_name(),
                        dependencies.file
                    ));
                }
                recorded.push(Some(RecordedDependencies {
                    requires_dist: dependencies.requires_dist,
                    provenance: dependencies.provenance,
                    file: dependencies.file,
                }))
            }
            Err(error) => {
                failed += 1;
                reporter.error(&format!(
                    "{}: cannot read its dependencies: {error}",
                    package.display_name()
                ));
                recorded.push(None);
            }
        }
    }
    if failed > 0 {
        reporter.error(&format!(
            "the dependencies of {} cannot be read; nothing was written",
            count(failed, "package")
        ));
        reporter.help(
            "`--no-dependencies` writes a lock of the hashes alone, without the dependencies \
             that `install` and `check` use",
        );
        return ExitStatus::Error;
    }
    for (package, dependencies) in lock.packages.iter_mut().zip(recorded) {
        package.dependencies = dependencies;
    }
    ExitStatus::Success
}

/// `3 pins`, `3 pins and 2 added dependencies`: what the summary says was locked.
fn locked_entries(lock: &Lock) -> String {
    let added = lock
        .packages
        .iter()
        .filter(|p| !p.added_for.is_empty())
        .count();
    let pins = count(lock.packages.len() - added, "pin");
    match added {
        0 => pins,
        1 => format!("{pins} and 1 added dependency"),
        n => format!("{pins} and {n} added dependencies"),
    }
}

/// What completing and reviewing a lock's dependencies needs from the run.
struct Completion<'a> {
    prepared: &'a Prepared,
    settings: &'a LockSettings,
    /// The targets the lock is trimmed to (`--python`/`--platform`); empty: none.
    trim_to: &'a [Target],
    previous: Option<&'a Lock>,
    lock_dir: Option<&'a Path>,
    /// Reads dependencies; it holds what was read while the lock was made.
    reader: &'a DependencyReader<'a>,
    reporter: &'a Reporter,
}

/// Reads `package`'s dependencies while the rest of the lock is made, from the file that
/// recording them will pick: the one kept when the package is trimmed to `targets`. What
/// `project`'s page said of `.metadata` files decides whether one is asked for first.
/// Returns the projects it depends on without an extra.
pub(super) fn read_ahead(
    reader: &DependencyReader<'_>,
    package: &Package,
    project: &Project,
    targets: &[Target],
) -> Vec<PackageName> {
    let mut package = package.clone();
    if !crate::lock::trim::trim_package(&mut package, targets) {
        return Vec::new();
    }
    let advertised = |name: &str| {
        let file = project.files.iter().find(|f| f.page.filename == name)?;
        file.page.core_metadata.clone()
    };
    reader.read_ahead(&package, &advertised)
}

/// Reads ahead as [`read_ahead`] does, and fetches the pages of the dependencies no pin
/// covers, which the review (or `--add-missing`) will look up once the lock is made.
fn read_and_look_ahead(
    context: &Completion<'_>,
    pinned: &HashSet<PackageName>,
    package: &Package,
    project: &Project,
) {
    use rayon::prelude::*;
    let mut names = read_ahead(context.reader, package, project, context.trim_to);
    names.retain(|name| !pinned.contains(name));
    // On the locker's pool, so that the many a package such as salt needs go out at once.
    names
        .par_iter()
        .for_each(|name| context.prepared.index.prefetch(name));
}

/// The Python versions a lock made without `--python` is reviewed for: CPython releases
/// still in use by current distributions and OpenStack's supported runtimes. An untrimmed
/// lock claims to serve any Python, so one interpreter would miss dependencies under
/// `python_version` markers (tomli before 3.11, say).
const REVIEW_PYTHONS: [&str; 5] = ["3.10", "3.11", "3.12", "3.13", "3.14"];

/// After dependencies are recorded: with `--add-missing`, adds what no pin covers; then
/// reports `check`'s findings about dependencies on the lock's targets — dependencies no pin
/// covers and pins outside a dependent's specifier — as warnings with the lines to add, or
/// (`--strict`) as errors. `Err(status)` when the lock must not be written.
fn review_dependencies(
    lock: &mut Lock,
    review: DependencyReview,
    context: &Completion<'_>,
) -> Result<(), ExitStatus> {
    let reporter = context.reporter;
    let targets = review_targets(lock, context.trim_to, reporter);
    if targets.is_empty() {
        reporter.warn(&format!(
            "dependencies were not reviewed: the lock's requires-python admits none of CPython \
             {}; choose targets with --python and --platform",
            REVIEW_PYTHONS.join(", ")
        ));
        return Ok(());
    }
    if review.add_missing {
        add_missing(lock, &targets, context)?;
    }
    let report = check_recorded(lock, &targets);
    let groups = dependency_findings(&report);
    if groups.is_empty() {
        return Ok(());
    }
    let needed = crate::complete::uncovered(lock, &report);
    let (pins, unsatisfiable) = suggested_lines(&needed, &targets, context);
    let source = source_location(&context.settings.source, None);
    report_review(
        &groups,
        &pins,
        &unsatisfiable,
        &source,
        review.strict,
        reporter,
    );
    if review.strict {
        reporter.error("--strict: the lock is incomplete or inconsistent; nothing was written");
        return Err(ExitStatus::Failure);
    }
    Ok(())
}

/// Prints the review: each group of findings with its targets, then the `pins` to add to
/// `source` (and why others cannot be suggested); errors when `strict`, else warnings.
fn report_review(
    groups: &[(Vec<String>, Vec<String>)],
    pins: &[String],
    unsatisfiable: &[CompleteError],
    source: &str,
    strict: bool,
    reporter: &Reporter,
) {
    let report_with = |message: &str| {
        if strict {
            reporter.error(message);
        } else {
            reporter.warn(message);
        }
    };
    for (labels, lines) in groups {
        report_with(&format!(
            "the lock's dependencies do not hold together on {}:\n{}",
            joined_labels(labels),
            lines.join("\n")
        ));
    }
    for error in unsatisfiable {
        report_with(&format!("cannot suggest a pin: {error}"));
    }
    if !pins.is_empty() && (strict || reporter.verbosity() >= Verbosity::Normal) {
        let lines: Vec<String> = pins.iter().map(|pin| format!("  {pin}")).collect();
        reporter.help(&format!(
            "add these lines to {source}, or lock with --add-missing to add them to the lock:\n{}",
            lines.join("\n")
        ));
    }
}

/// The targets dependencies are reviewed on: those the lock is trimmed to, else
/// [`REVIEW_PYTHONS`] that the lock's `requires-python` admits, on this machine's platform.
fn review_targets(lock: &Lock, trim_to: &[Target], reporter: &Reporter) -> Vec<Target> {
    if !trim_to.is_empty() {
        return trim_to.to_vec();
    }
    let targets: Vec<Target> = REVIEW_PYTHONS
        .iter()
        .filter_map(|python| match Target::from_spec(python, None) {
            Ok(target) => Some(target),
            Err(error) => {
                reporter.info(&format!(
                    "dependencies not reviewed for CPython {python}: {error}"
                ));
                None
            }
        })
        .filter(|target| {
            lock.requires_python
                .as_ref()
                .is_none_or(|specifiers| target.admits_python(specifiers))
        })
        .collect();
    targets
}

/// The targets' labels joined, those that differ only in their Python version as one:
/// `CPython 3.10, 3.11 on manylinux_2_28_x86_64`.
fn joined_labels(labels: &[String]) -> String {
    let parts: Option<Vec<(&str, &str)>> = labels
        .iter()
        .map(|label| label.strip_prefix("CPython ")?.split_once(" on "))
        .collect();
    match parts {
        Some(parts) if parts.len() > 1 && parts.iter().all(|(_, on)| *on == parts[0].1) => {
            let versions: Vec<&str> = parts.iter().map(|(version, _)| *version).collect();
            format!("CPython {} on {}", versions.join(", "), parts[0].1)
        }
        _ => labels.join("; "),
    }
}

/// `check` of the lock as recorded (no index asked).
fn check_recorded(lock: &Lock, targets: &[Target]) -> crate::check::Report {
    let subjects: Vec<Subject<'_>> = lock
        .packages
        .iter()
        .map(|package| Subject {
            package,
            dependencies: package
                .dependencies
                .as_ref()
                .map(Dependencies::from)
                .ok_or_else(|| "not recorded".to_owned()),
        })
        .collect();
    crate::check::check(&subjects, targets)
}

/// The findings about dependencies, rendered as `check` does (heading, then one line each),
/// with the labels of the targets that have exactly those findings.
fn dependency_findings(report: &crate::check::Report) -> Vec<(Vec<String>, Vec<String>)> {
    let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for target in &report.targets {
        let mut lines = Vec::new();
        let mut kind = "";
        for finding in &target.findings {
            if !matches!(
                finding,
                Finding::Uncovered { .. } | Finding::Violation { .. }
            ) {
                continue;
            }
            if finding.kind() != kind {
                kind = finding.kind();
                lines.push(format!("  {kind}:"));
            }
            lines.push(format!("    {}", crate::check::report::line(finding)));
        }
        if lines.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(_, l)| *l == lines) {
            Some((labels, _)) => labels.push(target.target.clone()),
            None => groups.push((vec![target.target.clone()], lines)),
        }
    }
    groups
}

/// `name===version` for each project no pin covers, and why a project has none.
fn suggested_lines(
    needed: &[Needed<'_>],
    targets: &[Target],
    context: &Completion<'_>,
) -> (Vec<String>, Vec<CompleteError>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (needed, chosen) in needed.iter().zip(choose_all(needed, targets, context)) {
        match chosen {
            Ok(version) => lines.push(format!("{}==={version}", needed.name)),
            Err(error) => errors.push(error),
        }
    }
    (lines, errors)
}

/// [`crate::complete::choose`] for each project, in parallel (`--concurrency`); an earlier
/// lock's added entry keeps its version while it fits.
fn choose_all(
    needed: &[Needed<'_>],
    targets: &[Target],
    context: &Completion<'_>,
) -> Vec<Result<Version, CompleteError>> {
    use rayon::prelude::*;
    let index = &context.prepared.index;
    // Each choice waits on a page: as many in flight as the lock itself had, not one per core.
    let pool = locker::thread_pool(context.settings.network.concurrency);
    pool.install(|| {
        needed
            .par_iter()
            .map(|needed| {
                let previous = context.previous.and_then(|lock| {
                    lock.packages
                        .iter()
                        .find(|p| p.name == needed.name && !p.added_for.is_empty())
                        .and_then(|p| p.version.as_ref())
                });
                crate::complete::choose(index, needed, targets, previous)
            })
            .collect()
    })
}

/// The most rounds `--add-missing` takes: each adds the dependencies of the last one's
/// additions, and real dependency trees are far shallower.
const MAX_ROUNDS: usize = 64;

/// `--add-missing`: adds each project no pin covers, at the version [`choose_all`] picks,
/// with who needed it, and reads its dependencies, until nothing is missing. A project no
/// version can cover is an error naming every dependent's specifier.
fn add_missing(
    lock: &mut Lock,
    targets: &[Target],
    context: &Completion<'_>,
) -> Result<(), ExitStatus> {
    let reporter = context.reporter;
    for _ in 0..MAX_ROUNDS {
        let report = check_recorded(lock, targets);
        let needed = crate::complete::uncovered(lock, &report);
        if needed.is_empty() {
            return Ok(());
        }
        let mut pins = Vec::new();
        let mut failed = Vec::new();
        for (needed, chosen) in needed.iter().zip(choose_all(&needed, targets, context)) {
            match chosen {
                Ok(version) => pins.push(added_pin(needed, version)),
                Err(error) => failed.push(error),
            }
        }
        if !failed.is_empty() {
            for error in &failed {
                reporter.error(&format!("cannot add a dependency: {error}"));
            }
            reporter.error(&format!(
                "{} cannot be added; nothing was written",
                count(failed.len(), "missing dependency")
            ));
            let could_not_run = failed
                .iter()
                .any(|e| matches!(e, CompleteError::Index { .. }));
            return Err(if could_not_run {
                ExitStatus::Error
            } else {
                ExitStatus::Failure
            });
        }
        let options = LockOptions {
            concurrency: context.settings.network.concurrency,
            refresh: context.settings.refresh.clone(),
            lock_dir: context.lock_dir.map(Path::to_owned),
        };
        let progress = Progress::new(reporter.verbosity() == crate::report::Verbosity::Quiet);
        let pinned: HashSet<PackageName> = (lock.packages.iter().map(|p| p.name.clone()))
            .chain(pins.iter().map(|p| p.name.clone()))
            .collect();
        let read_ahead = |package: &Package, project: &Project| {
            read_and_look_ahead(context, &pinned, package, project);
        };
        let mut added = match locker::lock(
            &pins,
            &context.prepared.index,
            context.previous,
            &options,
            &progress,
            &read_ahead,
        ) {
            Ok(outcome) => outcome.lock,
            Err(failures) => {
                for failure in &failures {
                    reporter.error(&failure.to_string());
                }
                reporter.error("missing dependencies cannot be added; nothing was written");
                return Err(ExitStatus::Failure);
            }
        };
        trim(&mut added, context.trim_to);
        for package in &mut added.packages {
            package.added_for = needed
                .iter()
                .find(|n| n.name == package.name)
                .map(Needed::dependents)
                .unwrap_or_default();
            reporter.info(&format!(
                "added {} for {}",
                package.display_name(),
                package.added_for.join(", ")
            ));
        }
        lock.packages.extend(added.packages);
        lock.normalize();
        lock.requires_python = locker::common_requires_python(&lock.packages);
        let status = record_dependencies(lock, context.reader, context.settings, reporter);
        if status != ExitStatus::Success {
            return Err(status);
        }
    }
    reporter.error(&format!(
        "--add-missing: dependencies still missing after {MAX_ROUNDS} rounds; nothing was written"
    ));
    Err(ExitStatus::Failure)
}

/// The pin `--add-missing` locks for `needed`: `name===version`, where it is needed.
fn added_pin(needed: &Needed<'_>, version: Version) -> Pin {
    Pin {
        name: needed.name.clone(),
        extras: Vec::new(),
        specifier: VersionSpecifier::equals_version(version),
        marker: needed.marker(),
        hashes: Vec::new(),
        location: Location {
            file: format!("added for {}", needed.dependents().join(", ")).into(),
            line: 0,
        },
    }
}

fn format_name(format: LockFormat) -> &'static str {
    match format {
        LockFormat::Pylock => "pylock",
        LockFormat::Requirements => "requirements",
        LockFormat::Constraints => "constraints",
    }
}

/// The directory a lock lives in, absolute, so that find-links paths can be made relative.
fn lock_directory(lock_path: &Path) -> PathBuf {
    let dir = match lock_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    std::path::absolute(&dir).unwrap_or(dir)
}

/// How the lock names its source: a path relative to the lock's directory when possible, a
/// URL without credentials, or `<stdin>`.
fn source_location(source: &SourceRef, lock_dir: Option<&Path>) -> String {
    match source {
        SourceRef::Path(path) => {
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            match lock_dir.and_then(|dir| absolute.strip_prefix(dir).ok()) {
                Some(relative) => relative.display().to_string(),
                None => path.display().to_string(),
            }
        }
        SourceRef::Url(url) => url.without_credentials().to_string(),
        SourceRef::Stdin => "<stdin>".to_owned(),
    }
}

/// The lock at the output path, whose unchanged entries are kept; `None` after reporting why
/// it cannot be read.
fn read_previous(path: &Path, reporter: &Reporter) -> anyhow::Result<Option<Lock>> {
    let text = fs_err::read_to_string(path)?;
    match pylock::from_toml(&path.display().to_string(), &text) {
        Ok(lock) => Ok(Some(lock)),
        Err(diagnostics) => {
            reporter.raw(&format!("{}\n", diagnostics.render(reporter.styled())));
            reporter.error(&format!(
                "the existing lock {} cannot be read, so its entries cannot be kept; fix it, \
                 or delete it to lock every pin anew",
                path.display()
            ));
            Ok(None)
        }
    }
}

/// Reads requirements files from disk, standard input, or HTTP (through the page cache, so
/// that `--offline` works for a URL read before).
pub(super) struct InputLoader<'a> {
    /// The client for URLs.
    pub http: &'a HttpClient,
    /// The cache URLs go through.
    pub cache: &'a Cache,
}

impl Loader for InputLoader<'_> {
    fn load(&self, source: &SourceRef) -> Result<Vec<u8>, String> {
        match source {
            SourceRef::Path(path) => std::fs::read(path).map_err(|e| e.to_string()),
            SourceRef::Stdin => {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .map_err(|e| e.to_string())?;
                Ok(bytes)
            }
            SourceRef::Url(url) => {
                match fetch_page(self.http, self.cache, url, "text/plain, */*") {
                    Ok(Some(page)) => Ok(page.body.to_vec()),
                    Ok(None) => Err(HttpError::Status {
                        url: url.clone(),
                        status: reqwest::StatusCode::NOT_FOUND,
                    }
                    .to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}
