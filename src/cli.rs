//! Command-line arguments (clap derive). Doc comments here are the `--help` text.
//!
//! Arguments are only parsed here; [`crate::settings`] resolves them (with the environment
//! and the input files) into the values commands use.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::http::ByteSize;
use crate::lock::export::ExportFormat;
use crate::report::ColorChoice;

/// Lock Python constraints to the sha256 of every file, and hold installs to the lock.
#[derive(Debug, Parser)]
#[command(name = "pinguard", version, about, max_term_width = 100)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options for every command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Print errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print details about every pin and file.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// When to colour messages (`NO_COLOR` set to anything means never, as everywhere).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "PINGUARD_COLOR"
    )]
    pub color: ColorChoice,
}

/// The commands. Each states its usage line: clap's own would list options set by environment
/// variables (`--cache-dir <DIR>` from `PINGUARD_CACHE_DIR`) as if they were required.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lock every pin of a constraints or requirements file to the sha256 of each of its files.
    ///
    /// Writes a PEP 751 pylock.toml (default: beside the input). When the lock already exists,
    /// pins that did not change keep their entries and are not queried again.
    #[command(override_usage = "pinguard lock [OPTIONS] <SOURCE>")]
    Lock(LockArgs),
    /// Render a lock as pip input with --hash options.
    #[command(override_usage = "pinguard export [OPTIONS] [LOCK]")]
    Export(ExportArgs),
    /// Check that every file of a directory (or every file named) is in the lock, byte for byte.
    #[command(override_usage = "pinguard verify [OPTIONS] <LOCK> <PATHS>...")]
    Verify(VerifyArgs),
    /// Download a target's files from a lock into a directory, keeping only files that verify.
    #[command(override_usage = "pinguard fetch [OPTIONS] --dest <DIR> [LOCK]")]
    Fetch(FetchArgs),
    /// Install a lock into an environment with pip, only after every file verified.
    #[command(override_usage = "pinguard install [OPTIONS] [LOCK] [-- <PIP_ARGS>...]")]
    Install(InstallArgs),
    /// Compare an environment with the lock; install what is missing, optionally remove the rest.
    #[command(override_usage = "pinguard sync [OPTIONS] [LOCK] [-- <PIP_ARGS>...]")]
    Sync(SyncArgs),
    /// Check that a pinned set is complete and consistent for each target: every dependency
    /// pinned, every pin within its dependents' specifiers, installable there.
    #[command(override_usage = "pinguard check [OPTIONS] <SOURCE>")]
    Check(CheckArgs),
    /// Show who published each locked file: its PEP 740 attestation, verified offline against
    /// the lock's digest and identities, and its transparency-log entry.
    Provenance(ProvenanceArgs),
    /// List what changed between two locks: versions, files, digests (critical), markers, owners.
    Diff(DiffArgs),
    /// Report what changed on the index since the lock: locked files changed or removed, files
    /// added to locked versions, yanked or vanished versions, project status, new releases.
    Audit(AuditArgs),
}

/// `pinguard diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The lock before the change.
    pub old: PathBuf,
    /// The lock after it.
    pub new: PathBuf,
    /// How to print the changes.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `pinguard audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The lock to audit.
    #[arg(default_value = "pylock.toml")]
    pub lock: PathBuf,
    /// How to print the findings.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = crate::audit::Severity::Critical, env = "PINGUARD_FAIL_ON")]
    pub fail_on: crate::audit::Severity,
    /// Remember the findings in FILE: print only what is new since the last run (and what
    /// was resolved), and exit 1 only on new findings.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Also print who can publish each locked package (the JSON API's `ownership`).
    #[arg(long)]
    pub owners: bool,
    /// A policy file naming the accounts allowed per package or group (TOML; see the README):
    /// every other account with a role is a finding.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// A checkout of openstack/releases: locked versions its deliverables do not list are
    /// critical, other versions on the index they do not list are warnings.
    #[arg(long, value_name = "DIR")]
    pub releases: Option<PathBuf>,
    /// Sigstore trust, for packages whose attestation identities the lock records.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// How to reach the index.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Report formats for people, programs and mailing lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For a terminal.
    Text,
    /// One JSON document (schema in the README).
    Json,
    /// For a mailing list or a CI summary.
    Markdown,
}

/// `pinguard lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// The constraints or requirements file: a path, `-` for standard input, or an http(s) URL.
    pub source: String,
    /// Where to write the result; `-` for standard output. [default: pylock.toml beside the
    /// source (in the current directory for stdin and URLs); standard output for the
    /// requirements and constraints formats]
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// What to write.
    #[arg(long, value_enum, default_value_t = LockFormat::Pylock)]
    pub format: LockFormat,
    /// Query every pin again and compare with the existing lock: files the index added are
    /// reported and not taken; changed digests fail the run.
    #[arg(long)]
    pub refresh: bool,
    /// Lock this package anew, taking the files the index has now (repeatable).
    #[arg(long, value_name = "NAME")]
    pub refresh_package: Vec<String>,
    /// Lock hashes only: do not read and record what each package depends on (which
    /// `install` checks a whole lock against and `install -r` follows, which makes `check` of
    /// the lock need no index, and which lets `lock` warn about dependencies no pin covers).
    #[arg(long)]
    pub no_dependencies: bool,
    /// Read and record dependencies: the default; kept so that older command lines work.
    #[arg(long, hide = true, conflicts_with = "no_dependencies")]
    pub dependencies: bool,
    /// Exit 1, writing nothing, when a dependency is not pinned or a pin is outside a
    /// dependent's specifier on one of the lock's targets (these are warnings otherwise).
    #[arg(long, conflicts_with = "no_dependencies")]
    pub strict: bool,
    /// Complete the lock: add each dependency no pin covers at the newest version that
    /// satisfies every dependent and installs on the lock's targets, and theirs in turn; the
    /// entries added say who needed them (`added-for`).
    #[arg(long, conflicts_with = "no_dependencies")]
    pub add_missing: bool,
    /// Verify every locked file's PEP 740 attestations and record who published each package
    /// (`[[packages.attestation-identities]]`).
    #[arg(long)]
    pub attestations: bool,
    /// Sigstore trust for attestations.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Also record who can publish each package (the JSON API's `ownership`), which `audit`
    /// compares with the index's later.
    #[arg(long)]
    pub owners: bool,
    /// Only check that the existing lock matches its source (pins added, removed or changed,
    /// the source's sha256); exit 1 naming each difference. Asks no index.
    #[arg(long, conflicts_with_all = ["refresh", "refresh_package", "owners", "dependencies"])]
    pub check: bool,
    /// Targets to trim the lock to (repeatable, with --platform): only files installable on
    /// one of them are kept, and the lock records them as `environments`.
    #[command(flatten)]
    pub targets: TargetsArgs,
    /// Where to look.
    #[command(flatten)]
    pub index: IndexArgs,
    /// How to reach it.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// The formats `lock` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LockFormat {
    /// PEP 751 pylock.toml.
    Pylock,
    /// pip requirements with --hash (pip install --require-hashes -r).
    Requirements,
    /// pip constraints with --hash (pip install -c, pip >= 26.1).
    Constraints,
}

/// Where packages are looked up.
#[derive(Debug, Args)]
#[command(next_help_heading = "Index options")]
pub struct IndexArgs {
    /// The package index (simple API). [default: the input file's --index-url, else
    /// $PIP_INDEX_URL, else https://pypi.org/simple]
    #[arg(short, long, value_name = "URL", env = "PINGUARD_INDEX_URL")]
    pub index_url: Option<String>,
    /// More indexes, asked in order after --index-url (also $PIP_EXTRA_INDEX_URL); in the
    /// variables, several URLs are separated by spaces.
    #[arg(
        long,
        value_name = "URL",
        env = "PINGUARD_EXTRA_INDEX_URL",
        value_delimiter = ' '
    )]
    pub extra_index_url: Vec<String>,
    /// A directory or HTML page of files, asked before any index; in the variable, several
    /// are separated by spaces.
    #[arg(
        short,
        long,
        value_name = "DIR|URL",
        env = "PINGUARD_FIND_LINKS",
        value_delimiter = ' '
    )]
    pub find_links: Vec<String>,
    /// Ask no index; only --find-links locations.
    #[arg(long)]
    pub no_index: bool,
}

/// How the network and cache are used.
#[derive(Debug, Args)]
#[command(next_help_heading = "Network and cache options")]
pub struct NetworkArgs {
    /// Requests in flight at once.
    #[arg(
        long,
        value_name = "N",
        env = "PINGUARD_CONCURRENCY",
        default_value_t = 64
    )]
    pub concurrency: usize,
    /// Use only the cache; report what it cannot serve.
    #[arg(long, env = "PINGUARD_OFFLINE")]
    pub offline: bool,
    /// The cache directory. [default: the user cache directory + pinguard]
    #[arg(long, value_name = "DIR", env = "PINGUARD_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the cache.
    #[arg(long, env = "PINGUARD_NO_CACHE", conflicts_with = "offline")]
    pub no_cache: bool,
    /// Seconds to wait to connect, for an answer, and for each read of a body: a read timeout
    /// (no data for this long), not a bound on the whole request.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "PINGUARD_HTTP_TIMEOUT",
        default_value_t = 30
    )]
    pub timeout: u64,
    /// Seconds one request may take in all, its body included (a page or a file trickling in).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "PINGUARD_REQUEST_TIMEOUT",
        default_value_t = 1800
    )]
    pub request_timeout: u64,
    /// The largest page, JSON or metadata body read into memory, counted after decompression
    /// (bytes, or with a unit: 64MiB, 1GiB).
    #[arg(
        long,
        value_name = "SIZE",
        env = "PINGUARD_MAX_PAGE_SIZE",
        default_value = "64MiB"
    )]
    pub max_page_size: ByteSize,
    /// Retries of a request that failed for a passing reason (connection, 5xx, 429).
    #[arg(
        long,
        value_name = "N",
        env = "PINGUARD_HTTP_RETRIES",
        default_value_t = 3
    )]
    pub retries: u32,
}

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Human,
    /// For programs: one JSON document on standard output.
    Json,
}

/// `pinguard verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The lock.
    pub lock: PathBuf,
    /// Directories (their files, not subdirectories) and files to check.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Every file the lock lists must be present too.
    #[arg(long)]
    pub require_all: bool,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
    /// What attestations must prove (files of packages with recorded identities).
    #[command(flatten)]
    pub attestations: AttestationArgs,
    /// How to reach the index for attestations.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Which environment files are chosen for.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The target: an interpreter (a path, or a name on PATH), or a Python version such as 3.12
    /// (with --platform). [default: $VIRTUAL_ENV's python, else python3 on PATH]
    #[arg(long, value_name = "PYTHON", env = "PINGUARD_PYTHON")]
    pub python: Option<String>,
    /// A wheel platform tag for a --python version, such as manylinux_2_28_x86_64.
    #[arg(long, value_name = "TAG", requires = "python")]
    pub platform: Option<String>,
}

/// Several targets: every --python with every --platform.
#[derive(Debug, Args)]
pub struct TargetsArgs {
    /// A Python version (3.12) or an interpreter (a path or a name on PATH); repeatable.
    #[arg(long = "python", value_name = "PYTHON")]
    pub pythons: Vec<String>,
    /// A wheel platform tag such as manylinux_2_28_x86_64, combined with every --python
    /// version; repeatable. [default: this machine's]
    #[arg(long = "platform", value_name = "TAG", requires = "pythons")]
    pub platforms: Vec<String>,
}

/// `pinguard check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A constraints or requirements file (path, `-` or URL), or a pylock.toml.
    pub source: String,
    /// The targets. [default: the interpreter $VIRTUAL_ENV or python3 on PATH is]
    #[command(flatten)]
    pub targets: TargetsArgs,
    /// Build sdists whose metadata may change when built (PEP 643), with the PEP 517
    /// `prepare_metadata_for_build_wheel` hook, to check their real dependencies.
    #[arg(long)]
    pub build_sdists: bool,
    /// How to print the findings.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
    /// Where to look (for a constraints file).
    #[command(flatten)]
    pub index: IndexArgs,
    /// How to reach it.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// `pinguard fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The lock.
    #[arg(default_value = "pylock.toml")]
    pub lock: PathBuf,
    /// The directory to fill (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dest: PathBuf,
    /// Fetch every file of the lock, for every platform.
    #[arg(long, conflicts_with_all = ["python", "platform"])]
    pub all: bool,
    /// The target.
    #[command(flatten)]
    pub target: TargetArgs,
    /// What attestations must prove.
    #[command(flatten)]
    pub attestations: AttestationArgs,
    /// How to reach the files.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// `pinguard install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The lock.
    #[arg(default_value = "pylock.toml")]
    pub lock: PathBuf,
    /// The interpreter to install into (a path or a name on PATH).
    /// [default: $VIRTUAL_ENV's python, else python3 on PATH]
    #[arg(long, value_name = "PYTHON", env = "PINGUARD_PYTHON")]
    pub python: Option<String>,
    /// Allow an interpreter outside a virtual environment (whose packages may be the system's)
    /// that was found rather than named by its path.
    #[arg(long, env = "PINGUARD_SYSTEM_PYTHON")]
    pub system: bool,
    /// Install only what these requirement files need (repeatable): their lines and, through
    /// the dependencies the lock records, everything they depend on.
    #[arg(short = 'r', long = "requirement", value_name = "FILE")]
    pub requirements: Vec<String>,
    /// Install a whole lock even when packages in it depend on projects it does not hold
    /// (which would leave a broken environment).
    #[arg(long)]
    pub allow_incomplete: bool,
    /// What attestations must prove.
    #[command(flatten)]
    pub attestations: AttestationArgs,
    /// How to reach the files.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// Which installer runs.
    #[command(flatten)]
    pub installer: InstallerArgs,
    /// Extra arguments for the installer, after `--`.
    #[arg(last = true, value_name = "PIP_ARGS")]
    pub pip_args: Vec<String>,
}

/// `pinguard sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The lock.
    #[arg(default_value = "pylock.toml")]
    pub lock: PathBuf,
    /// The interpreter whose environment to compare (a path or a name on PATH).
    /// [default: $VIRTUAL_ENV's python, else python3 on PATH]
    #[arg(long, value_name = "PYTHON", env = "PINGUARD_PYTHON")]
    pub python: Option<String>,
    /// Allow an interpreter outside a virtual environment (whose packages may be the system's)
    /// that was found rather than named by its path.
    #[arg(long, env = "PINGUARD_SYSTEM_PYTHON")]
    pub system: bool,
    /// Only report the differences (exit 1 when there are any); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also uninstall what the lock does not name (pip, setuptools and wheel are kept).
    #[arg(long)]
    pub remove_extraneous: bool,
    /// What attestations must prove.
    #[command(flatten)]
    pub attestations: AttestationArgs,
    /// How to reach the files.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// Which installer runs.
    #[command(flatten)]
    pub installer: InstallerArgs,
    /// Extra arguments for the installer, after `--`.
    #[arg(last = true, value_name = "PIP_ARGS")]
    pub pip_args: Vec<String>,
}

/// The installer `install` and `sync` hand the verified files to.
#[derive(Debug, Args)]
pub struct InstallerArgs {
    /// What installs the verified files: the target's pip, or uv (faster).
    #[arg(long, value_enum, default_value_t, env = "PINGUARD_INSTALLER")]
    pub installer: crate::guard::installer::InstallerKind,
    /// The uv to run with `--installer uv`. [default: uv on PATH]
    #[arg(long, value_name = "PATH", env = "PINGUARD_UV")]
    pub uv: Option<PathBuf>,
}

/// `pinguard export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The lock to render.
    #[arg(default_value = "pylock.toml")]
    pub lock: PathBuf,
    /// What to render.
    #[arg(long, value_enum, default_value_t = ExportFormat::Requirements)]
    pub format: ExportFormat,
    /// Where to write; standard output when not given.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// The Sigstore trusted root attestations are verified with.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// A Sigstore `trusted_root.json` to verify attestations with, or `staging` for Sigstore's
    /// staging instance (test signatures). [default: Sigstore's public instance, embedded]
    #[arg(long, value_name = "FILE|staging", env = "PINGUARD_TRUSTED_ROOT")]
    pub trusted_root: Option<String>,
}

/// What the guard holds files to beyond their digests.
#[derive(Debug, Args)]
pub struct AttestationArgs {
    /// Refuse these packages (comma-separated names, or `all`) when the lock records no
    /// attestation identity for them. Packages with recorded identities are always checked.
    #[arg(
        long,
        value_name = "NAME,...|all",
        env = "PINGUARD_REQUIRE_ATTESTATIONS"
    )]
    pub require_attestations: Option<String>,
    /// Sigstore trust.
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// `pinguard provenance`.
#[derive(Debug, Args)]
pub struct ProvenanceArgs {
    /// The lock.
    #[arg(default_value = "pylock.toml")]
    pub lock: PathBuf,
    /// Only these packages.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
    /// Sigstore trust.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// How to reach the index.
    #[command(flatten)]
    pub network: NetworkArgs,
}
