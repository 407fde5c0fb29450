//! One module per subcommand; each turns resolved settings into work and an [`ExitStatus`].

pub mod audit;
pub mod check;
pub mod diff;
pub mod export;
pub mod fetch;
pub mod install;
pub mod lock;
pub mod provenance;
pub mod sync;
mod uv_cache;
pub mod verify;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::{Cli, Command, InstallerArgs, NetworkArgs};
use crate::exit::ExitStatus;
use crate::guard::fetch::{Fetch, FetchOptions, Fetched, Layout, fetch};
use crate::guard::installer::{Installer, RunOptions};
use crate::guard::{LockError, Locked, LockedFiles, python, read_lock};
use crate::http::HttpClient;
use crate::progress::Progress;
use crate::report::{Reporter, Verbosity};
use crate::settings::{NetworkSettings, TargetChoice, credential_urls_from_env};
use crate::target::{Environment, Target};

/// Parses the command line and runs the command.
pub fn main() -> ExitStatus {
    crate::steps::start();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            print_usage_error(&e);
            return ExitStatus::Error;
        }
        Err(e) => {
            // `--help`, `--version`: text pinguard wrote, on stdout.
            let _ = e.print();
            return ExitStatus::Success;
        }
    };
    let verbosity = if cli.global.quiet {
        Verbosity::Quiet
    } else if cli.global.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let reporter = Reporter::new(verbosity, cli.global.color);
    let result = match cli.command {
        Command::Lock(args) => lock::run(args, &reporter),
        Command::Export(args) => export::run(args, &reporter),
        Command::Verify(args) => verify::run(args, &reporter),
        Command::Fetch(args) => fetch::run(args, &reporter),
        Command::Install(args) => install::run(args, &reporter),
        Command::Sync(args) => sync::run(args, &reporter),
        Command::Check(args) => check::run(args, &reporter),
        Command::Provenance(args) => provenance::run(args, &reporter),
        Command::Audit(args) => audit::run(args, &reporter),
        Command::Diff(args) => diff::run(args, &reporter),
    };
    match result {
        Ok(status) => status,
        Err(error) if is_broken_pipe(&error) => ExitStatus::Success,
        Err(error) => {
            reporter.error(&format!("{error:#}"));
            ExitStatus::Error
        }
    }
}

/// Prints clap's error for a bad command line, its credentials masked: it quotes arguments
/// (`unexpected argument 'https://user:token@host/simple'`).
fn print_usage_error(error: &clap::Error) {
    let rendered = error.render();
    let styled = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = if styled {
        rendered.ansi().to_string()
    } else {
        rendered.to_string()
    };
    let _ = std::io::stderr()
        .lock()
        .write_all(crate::safe_url::mask_credentials(&text).as_bytes());
}

/// Writes data to stdout. A closed pipe (`| head`) is not an error: the reader has what it
/// wanted.
pub fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Reads a lock for the guard commands; `None` after reporting why it cannot be used.
fn load_lock(path: &Path, reporter: &Reporter) -> Option<LockedFiles> {
    let read = {
        let _step = crate::steps::step("read the lock");
        read_lock(path)
    };
    match read {
        Ok(locked) => Some(locked),
        Err(LockError::Invalid(diagnostics)) => {
            reporter.raw(&diagnostics.render(reporter.styled()));
            reporter.error(&format!(
                "{} cannot be used; nothing was done",
                path.display()
            ));
            None
        }
        Err(LockError::Read(e)) => {
            reporter.error(&format!("cannot read {}: {e}", path.display()));
            None
        }
        Err(other) => {
            reporter.error(&format!("{}: {other}", path.display()));
            None
        }
    }
}

/// Says of each entry of `lock` that has no digest (a `directory` or `vcs` source other
/// lockers write) that it cannot be verified, and what `consequence` the command draws.
fn report_unverifiable(lock: &crate::lock::Lock, consequence: &str, reporter: &Reporter) {
    for package in &lock.unverifiable {
        reporter.warn(&format!(
            "{}: no digest to verify it by; {consequence}",
            package.describe()
        ));
    }
}

/// The directory a lock's relative `path` entries are relative to.
fn lock_dir(lock: &Path) -> PathBuf {
    match lock.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// The target a choice names; `None` after reporting why it cannot be had.
fn resolve_target(choice: &TargetChoice, reporter: &Reporter) -> Option<Target> {
    let result = match choice {
        TargetChoice::Spec { python, platform } => {
            Target::from_spec(python, platform.as_deref()).map_err(|e| e.to_string())
        }
        TargetChoice::Interpreter(requested) => probe_interpreter(requested.as_deref(), None),
    };
    result.map_err(|e: String| reporter.error(&e)).ok()
}

/// The target of the interpreter `requested` names (see [`python::find`]), probed; the
/// message saying why not, otherwise.
fn probe_interpreter(requested: Option<&str>, cache_root: Option<&Path>) -> Result<Target, String> {
    let _step = crate::steps::step("probe the interpreter");
    python::find(requested)
        .map_err(|e| e.to_string())
        .and_then(|path| Target::probe_remembering(&path, cache_root).map_err(|e| e.to_string()))
}

/// What `install` and `sync` start from (see [`install_inputs`]).
struct InstallInputs {
    guard: GuardNetwork,
    locked: LockedFiles,
    installer: Installer,
    target: Target,
}

/// What `install` and `sync` are asked to change: the lock, the interpreter (`--python`,
/// `--system`), the network and the installer.
struct InstallRequest<'a> {
    lock: &'a Path,
    python: Option<String>,
    system: bool,
    network: NetworkArgs,
    installer: &'a InstallerArgs,
}

/// What `install` and `sync` start from: the network, the lock, the installer, and the
/// interpreter they change (see [`accept_install_target`]); `Ok(None)` after reporting the
/// first of the last three, in that order, that cannot be had. The interpreter is probed on a
/// thread of its own while the lock is read: a Python start-up and the parsing of a
/// constraints-wide lock (2.4 MB) take about as long, and neither needs the other.
fn install_inputs(
    request: InstallRequest<'_>,
    reporter: &Reporter,
) -> anyhow::Result<Option<InstallInputs>> {
    let InstallRequest {
        lock,
        python,
        system,
        network,
        installer,
    } = request;
    let guard = GuardNetwork::resolve(network)?;
    let named_by_path = python
        .as_deref()
        .is_some_and(|python| python.contains(['/', std::path::MAIN_SEPARATOR]));
    let cache_root = guard.cache_dir.as_deref();
    let (locked, probed) = std::thread::scope(|scope| {
        let probe = std::thread::Builder::new()
            .name("pinguard-probe".into())
            .spawn_scoped(scope, || probe_interpreter(python.as_deref(), cache_root))
            .expect("a thread can be started");
        let locked = load_lock(lock, reporter);
        let probed = probe
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (locked, probed)
    });
    let Some(locked) = locked else {
        return Ok(None);
    };
    let Some(installer) = find_installer(installer, reporter) else {
        return Ok(None);
    };
    let target = probed
        .map_err(|e| reporter.error(&e))
        .ok()
        .and_then(|target| accept_install_target(target, named_by_path, system, reporter));
    Ok(target.map(|target| InstallInputs {
        guard,
        locked,
        installer,
        target,
    }))
}

/// The interpreter `install` and `sync` change is `--python` (a path, or a name on `PATH`),
/// else the active virtual environment's, else `python3` on `PATH`. As uv decides, it must be
/// in a virtual environment unless `--python` gave its path (`named_by_path`) or `--system`
/// allows it: one found by name may well be the operating system's. `None` after reporting
/// why it cannot be used.
fn accept_install_target(
    target: Target,
    named_by_path: bool,
    system: bool,
    reporter: &Reporter,
) -> Option<Target> {
    match target.environment() {
        Some(Environment::System { prefix }) if !system && !named_by_path => {
            reporter.error(&format!(
                "{} is not in a virtual environment, so its packages (in {}) may be the \
                 system's; refusing to change them",
                target.label(),
                prefix.display()
            ));
            reporter.help(
                "choose a virtual environment's interpreter with `--python .venv/bin/python` \
                 or by activating the environment, or pass `--system` to use this one",
            );
            None
        }
        _ => Some(target),
    }
}

/// The files of `lock` to install on `target`; `None` after reporting every reason the lock
/// cannot be installed there, and that `nothing` happened.
fn select_or_report<'a>(
    lock: &'a crate::lock::Lock,
    target: &Target,
    nothing: &str,
    reporter: &Reporter,
) -> Option<crate::guard::select::Selection<'a>> {
    let selection = crate::guard::select::select(lock, target);
    if selection.errors.is_empty() {
        return Some(selection);
    }
    for error in &selection.errors {
        reporter.error(&format!("{}: {error}", target.label()));
    }
    reporter.error(nothing);
    None
}

/// Every target of `choices`; `None` after reporting the first that cannot be had.
fn resolve_targets(choices: &[TargetChoice], reporter: &Reporter) -> Option<Vec<Target>> {
    choices
        .iter()
        .map(|choice| resolve_target(choice, reporter))
        .collect()
}

/// The network side of the guard commands: client, content store, concurrency.
struct GuardNetwork {
    http: HttpClient,
    /// Pages the guard reads (provenance objects), so that `--offline` works from them.
    cache: crate::cache::Cache,
    store: Option<PathBuf>,
    /// pinguard's cache directory (`None` with `--no-cache`).
    cache_dir: Option<PathBuf>,
    concurrency: usize,
}

impl GuardNetwork {
    fn resolve(args: NetworkArgs) -> anyhow::Result<Self> {
        let env = |name: &str| std::env::var(name).ok();
        Self::from_settings(&NetworkSettings::resolve(args, &env))
    }

    fn from_settings(network: &NetworkSettings) -> anyhow::Result<Self> {
        let env = |name: &str| std::env::var(name).ok();
        let http = HttpClient::new(network.http(credential_urls_from_env(&env)));
        Ok(Self {
            http,
            cache: network.cache(false),
            store: network.cache_dir.as_ref().map(|dir| dir.join("files-v1")),
            cache_dir: network.cache_dir.clone(),
            concurrency: network.concurrency,
        })
    }
}

/// Prints what a fetch removed, every tampered destination file and every failed fetch; the
/// status the command ends with (a tampered file is a finding even once replaced).
fn report_fetch(files: &[Locked<'_>], fetch: &Fetch, reporter: &Reporter) -> ExitStatus {
    let mut status = ExitStatus::Success;
    for path in &fetch.stale {
        reporter.info(&format!(
            "removed {}, a temporary file of an interrupted run",
            path.display()
        ));
    }
    for tampered in &fetch.tampered {
        reporter.error(&tampered.describe(&files[tampered.index]));
        status = ExitStatus::Failure;
    }
    for error in fetch.results.iter().filter_map(|r| r.as_ref().err()) {
        reporter.error(&error.to_string());
        status = match (status, error.is_drift()) {
            (ExitStatus::Error, _) | (_, false) => ExitStatus::Error,
            _ => ExitStatus::Failure,
        };
    }
    status
}

/// A local source tree to install after the verified files (a lock's `directory` entry).
struct LocalProject {
    /// Its directory.
    dir: PathBuf,
    /// Installed editable (`pip install -e`).
    editable: bool,
}

/// The installer `args` names; `None` after reporting that uv cannot be found.
fn find_installer(args: &InstallerArgs, reporter: &Reporter) -> Option<Installer> {
    Installer::find(args.installer, args.uv.as_deref())
        .map_err(|e| reporter.error(&e.to_string()))
        .ok()
}

/// Fetches and verifies `files` into a private wheelhouse, then, only if every one verified,
/// has the installer install exactly those (`--no-index --no-deps --require-hashes`, the
/// wheelhouse the only source, so an sdist's build requirements can only come from verified
/// files: [`Installer`]), and after them the `local` source trees with nothing but the
/// verified files to build with. `--quiet` reaches the installer.
fn install_verified(
    target: &Target,
    files: &[Locked<'_>],
    local: &[LocalProject],
    guard: &GuardNetwork,
    lock_dir: &Path,
    installer: (&Installer, &[String]),
    reporter: &Reporter,
) -> anyhow::Result<ExitStatus> {
    let (installer, extra) = installer;
    let python = target
        .interpreter()
        .expect("a probed target knows its interpreter");
    let quiet = reporter.verbosity() == Verbosity::Quiet;
    let wheelhouse = tempfile::Builder::new()
        .prefix("pinguard-install-")
        .tempdir()?;
    let uv_cache =
        uv_cache::UvCache::for_install(installer, guard.cache_dir.as_deref(), extra, target, files);
    let options = FetchOptions {
        dest: uv_cache
            .as_ref()
            .map_or_else(|| wheelhouse.path().to_owned(), uv_cache::UvCache::wheels),
        layout: if uv_cache.is_some() {
            Layout::ByDigest
        } else {
            Layout::Flat
        },
        store: guard.store.clone(),
        concurrency: guard.concurrency,
        lock_dir: lock_dir.to_owned(),
    };
    let progress = Progress::new(reporter.verbosity() == Verbosity::Quiet);
    let outcome = {
        let _step = crate::steps::step("verify the files");
        fetch(files, &guard.http, &options, &progress)
    };
    let status = report_fetch(files, &outcome, reporter);
    if status != ExitStatus::Success {
        reporter.error("nothing was installed");
        return Ok(status);
    }
    let fetched: Vec<&Fetched> = outcome.results.iter().flatten().collect();
    let requirements_path = wheelhouse.path().join(".pinguard-requirements.txt");
    fs_err::write(&requirements_path, requirement_lines(files, &fetched)?)?;
    let requirements = (wheelhouse.path(), requirements_path.as_path());
    let status = install_fetched(
        uv_cache.as_ref(),
        installer,
        python,
        &fetched,
        requirements,
        extra,
        reporter,
    )?;
    if status != ExitStatus::Success {
        return Ok(status);
    }
    for project in local {
        let status = installer.install_local(
            python,
            wheelhouse.path(),
            &project.dir,
            project.editable,
            quiet,
        )?;
        if !status.success() {
            reporter.error(&format!(
                "{} failed ({status}) to install {} after every verified file was installed",
                installer.name(),
                project.dir.display()
            ));
            return Ok(ExitStatus::Error);
        }
    }
    reporter.summary(&format!(
        "Installed {} into {}{}",
        crate::report::count(files.len(), "verified file"),
        python.display(),
        match local.len() {
            0 => String::new(),
            n => format!(
                ", then {} from its directory",
                crate::report::count(n, "project")
            ),
        }
    ));
    Ok(ExitStatus::Success)
}

/// Has the installer install the `fetched` files (`requirements`: the private wheelhouse and
/// the requirements file naming them), from uv's cache when there is one.
fn install_fetched(
    uv_cache: Option<&uv_cache::UvCache>,
    installer: &Installer,
    python: &Path,
    fetched: &[&Fetched],
    requirements: (&Path, &Path),
    extra: &[String],
    reporter: &Reporter,
) -> anyhow::Result<ExitStatus> {
    let (wheelhouse, requirements_path) = requirements;
    if let Some(cache) = uv_cache {
        return uv_cache::install(cache, installer, python, fetched, requirements, reporter);
    }
    let quiet = reporter.verbosity() == Verbosity::Quiet;
    let options = RunOptions {
        quiet,
        extra,
        uv_cache: None,
    };
    let status = installer.install_locked(python, wheelhouse, requirements_path, options)?;
    Ok(installer_status(installer, status, reporter))
}

/// `Success`, or `Error` after saying that the installer failed after every file verified.
fn installer_status(
    installer: &Installer,
    status: std::process::ExitStatus,
    reporter: &Reporter,
) -> ExitStatus {
    if status.success() {
        return ExitStatus::Success;
    }
    reporter.error(&format!(
        "{} failed ({status}) after every file verified",
        installer.name()
    ));
    ExitStatus::Error
}

/// `name @ file://… --hash=sha256:…` for each verified file: what the installer installs.
fn requirement_lines(files: &[Locked<'_>], fetched: &[&Fetched]) -> anyhow::Result<String> {
    let mut requirements = String::new();
    for (file, fetched) in files.iter().zip(fetched) {
        let url = url::Url::from_file_path(&fetched.path)
            .map_err(|()| anyhow::anyhow!("{} is not an absolute path", fetched.path.display()))?;
        requirements.push_str(&format!(
            "{} @ {url} --hash=sha256:{}\n",
            file.package.name, fetched.sha256
        ));
    }
    Ok(requirements)
}

/// What reading `packages` packages' dependencies cost, for `--verbose`.
fn reading_cost(reader: &crate::dependencies::DependencyReader<'_>, packages: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    let stats = &reader.stats;
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    let count = |counter: &AtomicU64, what: &str| {
        crate::report::count(usize::try_from(load(counter)).unwrap_or(usize::MAX), what)
    };
    format!(
        "dependencies of {}: {} cached, {} ({} absent), {}, {}, {} received",
        crate::report::count(packages, "package"),
        load(&stats.cached),
        count(&stats.metadata_files, ".metadata file"),
        load(&stats.metadata_misses),
        count(&stats.range_requests, "range request"),
        count(&stats.whole_files, "whole file"),
        human_bytes(load(&stats.bytes)),
    )
}

/// `1.2 GiB`-style sizes for summaries.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
