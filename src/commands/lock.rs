//! `pinguard lock`: constraints file → pylock.toml (or hashed requirements/constraints).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::atomic;
use crate::cache::Cache;
use crate::cli::{LockArgs, LockFormat};
use crate::dependencies::DependencyReader;
use crate::exit::ExitStatus;
use crate::http::{HttpClient, HttpError};
use crate::index::Index;
use crate::index::fetch_page;
use crate::lock::export::{self, ExportFormat};
use crate::lock::trim::trim;
use crate::lock::{Lock, LockSource, Package, RecordedDependencies, current, pylock};
use crate::locker::{self, LockOptions, NoteLevel, Problem};
use crate::progress::Progress;
use crate::report::{Reporter, count};
use crate::requirements::{self, Loader, ParseError, Requirements, SourceRef};
use crate::settings::{IndexSettings, LockSettings, NetworkSettings, Output};
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
    let mut http = HttpClient::new(network.http(index_settings.credential_urls()))?;
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
) -> Result<locker::Outcome, ExitStatus> {
    let progress = Progress::new(reporter.verbosity() == crate::report::Verbosity::Quiet);
    let pins = &prepared.requirements.pins;
    let locked = locker::lock(pins, &prepared.index, previous, options, &progress);
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
    if let (Output::File(path), LockFormat::Pylock) = (&settings.output, settings.format) {
        crate::settings::check_pylock_name(path)?;
    }
    if settings.check {
        return check_current(&settings, reporter);
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

    let output_path = match &settings.output {
        Output::File(path) => Some(path.clone()),
        Output::Stdout => None,
    };
    let Some(targets) = super::resolve_targets(&settings.targets, reporter) else {
        return Ok(ExitStatus::Error);
    };
    let environments: Vec<_> = targets.iter().map(Target::environment_marker).collect();
    let previous = match (&output_path, settings.format) {
        (Some(path), LockFormat::Pylock) if path.exists() => match read_previous(path, reporter)? {
            Some(lock) => Some(lock),
            None => return Ok(ExitStatus::Error),
        },
        _ => None,
    };
    // Entries trimmed for other targets cannot be reused.
    let previous = previous.filter(|lock| {
        let same = lock.environments == environments;
        if !same {
            reporter
                .info("the existing lock was made for other targets; every pin is queried again");
        }
        same
    });
    let lock_dir = output_path.as_deref().map(lock_directory);
    let options = LockOptions {
        concurrency: settings.network.concurrency,
        refresh: settings.refresh.clone(),
        lock_dir: lock_dir.clone(),
    };
    let outcome = match run_locker(
        &prepared,
        previous.as_ref(),
        &options,
        Purpose::Lock,
        reporter,
    ) {
        Ok(outcome) => outcome,
        Err(status) => return Ok(status),
    };
    let requirements = &prepared.requirements;

    let mut lock: Lock = outcome.lock;
    trim(&mut lock, &targets);
    if settings.dependencies {
        let status = record_dependencies(
            &mut lock,
            &prepared,
            &settings,
            lock_dir.as_deref(),
            reporter,
        );
        if status != ExitStatus::Success {
            return Ok(status);
        }
    }
    if settings.owners
        && let Err(failures) =
            crate::owners::record(&mut lock, &prepared.index, settings.network.concurrency)
    {
        for failure in &failures {
            reporter.error(failure);
        }
        reporter.error(&format!(
            "{} packages' owners cannot be read; nothing was written",
            failures.len()
        ));
        return Ok(ExitStatus::Error);
    }
    lock.source = Some(LockSource {
        location: source_location(&settings.source, lock_dir.as_deref()),
        sha256: requirements.source_sha256,
    });
    let text = match settings.format {
        LockFormat::Pylock => pylock::to_toml(&lock),
        LockFormat::Requirements | LockFormat::Constraints => {
            let format = if settings.format == LockFormat::Requirements {
                ExportFormat::Requirements
            } else {
                ExportFormat::Constraints
            };
            let origin = source_location(&settings.source, None);
            export::render(
                &lock,
                format,
                &origin,
                &format!(
                    "pinguard lock {origin} --format {}",
                    format_name(settings.format)
                ),
            )?
        }
    };
    let files: usize = lock.packages.iter().map(|p| p.files().count()).sum();
    match &settings.output {
        Output::Stdout => super::write_stdout(text.as_bytes())?,
        Output::File(path) => atomic::write_bytes(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
    }
    let target = match &settings.output {
        Output::Stdout => "standard output".to_owned(),
        Output::File(path) => path.display().to_string(),
    };
    reporter.summary(&format!(
        "Locked {} ({}) into {target}: {} unchanged, {} queried",
        count(lock.packages.len(), "pin"),
        count(files, "file"),
        outcome.reused,
        count(outcome.queried, "project"),
    ));
    Ok(ExitStatus::Success)
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
    prepared: &Prepared,
    settings: &LockSettings,
    lock_dir: Option<&Path>,
    reporter: &Reporter,
) -> ExitStatus {
    let reader = DependencyReader::new(
        prepared.index.http(),
        settings.network.cache_dir.as_deref(),
        lock_dir.unwrap_or(Path::new(".")),
    );
    let packages: Vec<&Package> = lock.packages.iter().collect();
    let progress = Progress::new(reporter.verbosity() == crate::report::Verbosity::Quiet);
    let results = reader.read_all(&packages, settings.network.concurrency, &progress);
    let mut failed = 0;
    let mut recorded = Vec::with_capacity(results.len());
    for (package, result) in lock.packages.iter().zip(results) {
        match result {
            Ok(dependencies) => recorded.push(Some(RecordedDependencies {
                requires_dist: dependencies.requires_dist,
                provenance: dependencies.provenance,
                file: dependencies.file,
            })),
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
            "{failed} packages' dependencies cannot be read; nothing was written"
        ));
        return ExitStatus::Error;
    }
    for (package, dependencies) in lock.packages.iter_mut().zip(recorded) {
        package.dependencies = dependencies;
    }
    ExitStatus::Success
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
