//! `pinguard check`: complete and consistent, per target?

use std::time::Instant;

use crate::check::{self, Subject, report};
use crate::cli::{CheckArgs, OutputFormat};
use crate::dependencies::{DependencyReader, Provenance};
use crate::exit::ExitStatus;
use crate::lock::{Lock, Package, pylock};
use crate::locker::LockOptions;
use crate::progress::Progress;
use crate::report::{Reporter, Verbosity};
use crate::requirements::SourceRef;
use crate::settings::{IndexSettings, NetworkSettings, TargetChoice};

use super::lock::{Purpose, prepare, read_ahead, run_locker};

/// Runs `pinguard check`.
pub fn run(args: CheckArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let CheckArgs {
        source,
        targets,
        build_sdists,
        format,
        index,
        network,
    } = args;
    let env = |name: &str| std::env::var(name).ok();
    let network = NetworkSettings::resolve(network, &env);
    let index = IndexSettings::resolve(index, &env)?;
    let mut choices = TargetChoice::resolve_all(targets.pythons, targets.platforms)?;
    if choices.is_empty() {
        choices.push(TargetChoice::Interpreter(None));
    }
    let Some(targets) = super::resolve_targets(&choices, reporter) else {
        return Ok(ExitStatus::Error);
    };
    let started = Instant::now();

    // The packages: a lock read as it is, or a constraints file locked in memory.
    let source_ref = SourceRef::from_arg(&source)?;
    let (lock, http, lock_dir, so_far) =
        if source.ends_with(".toml") && !matches!(source_ref, SourceRef::Stdin) {
            let text = fs_err::read_to_string(&source)?;
            let lock = match pylock::from_toml(&source, &text) {
                Ok(lock) => lock,
                Err(diagnostics) => {
                    reporter.raw(&diagnostics.render(reporter.styled()));
                    reporter.error(&format!("{source} cannot be checked"));
                    return Ok(ExitStatus::Error);
                }
            };
            let http = crate::http::HttpClient::new(
                network.http(crate::settings::credential_urls_from_env(&env)),
            );
            (
                lock,
                http,
                super::lock_dir(std::path::Path::new(&source)),
                None,
            )
        } else {
            let prepared = match prepare(
                &source_ref,
                &index,
                &network,
                false,
                Purpose::Check,
                reporter,
            )? {
                Ok(prepared) => prepared,
                Err(status) => return Ok(status),
            };
            let options = LockOptions {
                concurrency: network.concurrency,
                refresh: Default::default(),
                lock_dir: None,
            };
            let cwd = std::path::PathBuf::from(".");
            let reader =
                DependencyReader::new(prepared.index.http(), network.cache_dir.as_deref(), &cwd);
            let outcome = match run_locker(
                &prepared,
                None,
                &options,
                Purpose::Check,
                reporter,
                &|package, project| {
                    read_ahead(&reader, package, project, &[]);
                },
            ) {
                Ok(outcome) => outcome,
                Err(status) => return Ok(status),
            };
            let so_far = reader.into_read_so_far();
            // The index's client: it has the input file's credentials and open connections.
            (outcome.lock, prepared.index.into_http(), cwd, Some(so_far))
        };

    super::report_unverifiable(&lock, "left out", reporter);
    let excluded: Vec<String> = targets
        .iter()
        .filter_map(|target| {
            let error = crate::guard::select::lock_excludes(&lock, target)?;
            Some(format!("{}: {error}", target.label()))
        })
        .collect();
    if !excluded.is_empty() {
        for error in &excluded {
            reporter.error(error);
        }
        reporter.error(&format!("{source} was not checked"));
        return Ok(ExitStatus::Failure);
    }
    let cache = network.cache_dir.as_deref();
    let reader = match so_far {
        Some(so_far) => DependencyReader::resume(&http, cache, &lock_dir, so_far),
        None => DependencyReader::new(&http, cache, &lock_dir),
    };
    let subjects = read_dependencies(
        &lock,
        &reader,
        network.concurrency,
        build_sdists,
        &targets,
        reporter,
    );
    let findings = check::check(&subjects, &targets);
    match format {
        OutputFormat::Json => {
            super::write_stdout(format!("{:#}\n", serde_json::to_value(&findings)?).as_bytes())?
        }
        OutputFormat::Human => super::write_stdout(report::human(&findings).as_bytes())?,
    }
    let count: usize = findings.targets.iter().map(|t| t.findings.len()).sum();
    let no_target = findings.applies_to_no_target.len();
    reporter.summary(&format!(
        "Checked {} on {} in {:.2} s: {}{}",
        crate::report::count(lock.packages.len(), "pin"),
        crate::report::count(targets.len(), "target"),
        started.elapsed().as_secs_f64(),
        crate::report::count(count, "finding"),
        match no_target {
            0 => String::new(),
            1 => ", 1 pin applies to no target".to_owned(),
            n => format!(", {n} pins apply to no target"),
        }
    ));
    Ok(if findings.is_clean() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Reads what every package depends on, in parallel; with `build_sdists`, asks the PEP 517
/// hook for packages whose sdist metadata may change when built.
fn read_dependencies<'a>(
    lock: &'a Lock,
    reader: &DependencyReader<'_>,
    concurrency: usize,
    build_sdists: bool,
    targets: &[crate::target::Target],
    reporter: &Reporter,
) -> Vec<Subject<'a>> {
    let packages: Vec<&Package> = lock.packages.iter().collect();
    let progress = Progress::new(reporter.verbosity() == Verbosity::Quiet);
    let results = reader.read_all(&packages, concurrency, &progress);
    let mut subjects: Vec<Subject<'a>> = packages
        .iter()
        .zip(results)
        .map(|(package, result)| Subject {
            package,
            dependencies: result.map_err(|e| e.to_string()),
        })
        .collect();
    if build_sdists {
        let python = targets
            .iter()
            .find_map(|t| t.interpreter())
            .map(std::path::Path::to_owned);
        let to_build: Vec<usize> = subjects
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.package.sdist.is_some()
                    && s.dependencies.as_ref().is_ok_and(|d| {
                        !matches!(d.provenance, Provenance::Wheel | Provenance::Built)
                    })
            })
            .map(|(i, _)| i)
            .collect();
        // Builds spend their time in pip and the backend: a few at once keep the cores busy.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(std::thread::available_parallelism().map_or(2, |n| n.get() * 2))
            .build()
            .expect("a thread pool of a few threads can be created");
        let built: Vec<(usize, Result<_, String>)> = pool.install(|| {
            use rayon::prelude::*;
            to_build
                .par_iter()
                .map(|&i| {
                    let sdist = subjects[i]
                        .package
                        .sdist
                        .as_ref()
                        .expect("filtered on having an sdist");
                    let result =
                        crate::guard::python::find(python.as_deref().and_then(|p| p.to_str()))
                            .map_err(|e| e.to_string())
                            .and_then(|python| {
                                let bytes =
                                    reader.locked_bytes(sdist).map_err(|e| e.to_string())?;
                                crate::build::prepare_metadata(&python, &sdist.name, &bytes)
                                    .map_err(|e| e.to_string())
                            })
                            .and_then(|text| reader.built(sdist, text).map_err(|e| e.to_string()));
                    (i, result)
                })
                .collect()
        });
        for (i, result) in built {
            subjects[i].dependencies = result;
        }
    }
    reporter.info(&super::reading_cost(reader, packages.len()));
    subjects
}
