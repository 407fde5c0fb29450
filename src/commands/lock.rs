//! `pinguard lock`: constraints file → pylock.toml (or hashed requirements/constraints).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::atomic;
use crate::cache::Cache;
use crate::cli::{LockArgs, LockFormat};
use crate::exit::ExitStatus;
use crate::http::{HttpClient, HttpError};
use crate::index::{Index, fetch_page};
use crate::lock::export::{self, ExportFormat};
use crate::lock::{Lock, LockSource, pylock};
use crate::locker::{self, LockOptions, NoteLevel, Problem};
use crate::progress::Progress;
use crate::report::Reporter;
use crate::requirements::{self, Loader, ParseError, SourceRef};
use crate::settings::{LockSettings, Output};

/// Runs `pinguard lock`.
pub fn run(args: LockArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = LockSettings::resolve(args, &env)?;
    let cache = settings.network.cache(settings.refresh.all);
    let http = HttpClient::new(settings.network.http(settings.index.credential_urls()))?;

    let loader = InputLoader {
        http: &http,
        cache: &cache,
    };
    let requirements = match requirements::parse(&settings.source, &loader, &env) {
        Ok(requirements) => requirements,
        Err(ParseError::Invalid(diagnostics)) => {
            reporter.raw(&format!("{}\n", diagnostics.render(reporter.styled())));
            let count = diagnostics.0.len();
            reporter.error(&format!(
                "{} cannot be locked: {count} line{} to fix; nothing was written",
                settings.source,
                if count == 1 { "" } else { "s" }
            ));
            return Ok(ExitStatus::Error);
        }
        Err(e @ ParseError::Load { .. }) => {
            reporter.error(&e.to_string());
            return Ok(ExitStatus::Error);
        }
    };

    let sources = settings.index.sources(&requirements.index);
    // The file's own index URLs may carry credentials too.
    let mut credential_urls = settings.index.credential_urls();
    credential_urls.extend(requirements.index.index_url.iter().cloned());
    credential_urls.extend(requirements.index.extra_index_urls.iter().cloned());
    let http = HttpClient::new(settings.network.http(credential_urls))?;
    let index = Index::new(http, cache, sources);

    let output_path = match &settings.output {
        Output::File(path) => Some(path.clone()),
        Output::Stdout => None,
    };
    let previous = match (&output_path, settings.format) {
        (Some(path), LockFormat::Pylock) if path.exists() => Some(read_previous(path)?),
        _ => None,
    };
    let lock_dir = output_path.as_deref().map(lock_directory);
    let options = LockOptions {
        concurrency: settings.network.concurrency,
        refresh: settings.refresh.clone(),
        lock_dir: lock_dir.clone(),
    };
    let progress = Progress::new(reporter.verbosity() == crate::report::Verbosity::Quiet);
    let outcome = locker::lock(
        &requirements.pins,
        &index,
        previous.as_ref(),
        &options,
        &progress,
    );
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(failures) => {
            for failure in &failures {
                reporter.error(&failure.to_string());
            }
            reporter.error(&format!(
                "{} of {} pins cannot be locked; nothing was written",
                failures.len(),
                requirements.pins.len()
            ));
            let could_not_run = failures
                .iter()
                .any(|f| matches!(f.problem, Problem::Index(_) | Problem::Download { .. }));
            return Ok(if could_not_run {
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

    let mut lock: Lock = outcome.lock;
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
        "Locked {} pins ({files} files) into {target}: {} unchanged, {} projects queried",
        lock.packages.len(),
        outcome.reused,
        outcome.queried
    ));
    Ok(ExitStatus::Success)
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

fn read_previous(path: &Path) -> anyhow::Result<Lock> {
    let text = fs_err::read_to_string(path)?;
    pylock::from_toml(&path.display().to_string(), &text).map_err(|diagnostics| {
        anyhow::anyhow!(
            "{diagnostics}\n\nthe existing lock {} cannot be read, so its entries cannot be \
             kept; fix it, or delete it to lock every pin anew",
            path.display()
        )
    })
}

/// Reads requirements files from disk, standard input, or HTTP (through the page cache, so
/// that `--offline` works for a URL read before).
struct InputLoader<'a> {
    http: &'a HttpClient,
    cache: &'a Cache,
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
