//! `pinguard audit`: a lock against the index it was made from, as findings.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;

use crate::atomic;
use crate::audit::index::AuditOptions;
use crate::audit::state::{self, Delta};
use crate::audit::{Audit, index, policy, releases, report};
use crate::cli::{AuditArgs, ReportFormat};
use crate::exit::ExitStatus;
use crate::http::HttpClient;
use crate::index::{Index, Source};
use crate::lock::{Lock, Package, pylock};
use crate::progress::Progress;
use crate::report::{Reporter, Verbosity, count};
use crate::requirements::FindLinks;
use crate::safe_url::SafeUrl;
use crate::settings::{NetworkSettings, credential_urls_from_env};

/// Runs `pinguard audit`.
pub fn run(args: AuditArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let env = |name: &str| std::env::var(name).ok();
    let Some(mut options) = options(&args, reporter)? else {
        return Ok(ExitStatus::Error);
    };
    let network = NetworkSettings::resolve(args.network, &env);
    options.concurrency = network.concurrency;
    let Some(lock) = read_lock(&args.lock, "audited", reporter)? else {
        return Ok(ExitStatus::Error);
    };
    let remembered = match args.state.as_deref().map(state::read).transpose() {
        Ok(remembered) => remembered,
        Err(e) => {
            reporter.error(&e.to_string());
            return Ok(ExitStatus::Error);
        }
    };
    let lock_dir = super::lock_dir(&args.lock);
    if lock
        .packages
        .iter()
        .any(|p| !p.attestation_identities.is_empty())
    {
        let root = crate::settings::trust_root(args.trust)?;
        match crate::provenance::Keys::new(&root) {
            Ok(keys) => options.keys = Some(keys),
            Err(e) => {
                reporter.error(&format!("{e}; nothing was audited"));
                return Ok(ExitStatus::Error);
            }
        }
    }
    let audit = match query(&lock, &lock_dir, &options, &network, reporter)? {
        Ok(audit) => audit,
        Err(status) => return Ok(status),
    };
    let delta = remembered.map(|r| state::delta(r, &audit));
    let lock_name = args.lock.display().to_string();
    let text = match args.format {
        ReportFormat::Text => report::text(&audit, delta.as_ref()),
        ReportFormat::Json => report::json(&audit, delta.as_ref(), &lock_name),
        ReportFormat::Markdown => report::markdown(
            &audit,
            delta.as_ref(),
            &format!("pinguard audit of {lock_name}"),
        ),
    };
    super::write_stdout(text.as_bytes())?;
    if let Some(path) = &args.state {
        atomic::write_bytes(path, state::render(&audit).as_bytes())
            .with_context(|| format!("cannot write the state file {}", path.display()))?;
    }
    reporter.summary(&summary(&audit, delta.as_ref()));
    let fails = match &delta {
        Some(delta) => delta.fails(&audit, args.fail_on),
        None => audit.fails(args.fail_on),
    };
    Ok(if fails {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Audits every package of `lock` on the sources its entries name; `Err(status)` after
/// reporting every package that could not be audited.
fn query(
    lock: &Lock,
    lock_dir: &Path,
    options: &AuditOptions,
    network: &NetworkSettings,
    reporter: &Reporter,
) -> anyhow::Result<Result<Audit, ExitStatus>> {
    let env = |name: &str| std::env::var(name).ok();
    let (sources, packages) = sources_of(lock, lock_dir, reporter);
    let http = HttpClient::new(network.http(credential_urls_from_env(&env)));
    // Like `lock --refresh`: no page is taken from the cache without asking the index.
    let index = Index::new(http, network.cache(true), sources);
    let progress = Progress::new(reporter.verbosity() == Verbosity::Quiet);
    let found = index::audit(&packages, &index, options, &progress);
    for warning in index.cache().take_warnings() {
        reporter.warn(&warning);
    }
    let audited = match found {
        Ok(audited) => audited,
        Err(failures) => {
            for failure in &failures {
                reporter.error(&format!("{}: {}", failure.package, failure.reason));
            }
            reporter.error(&format!(
                "{} of {} cannot be audited; nothing was reported",
                failures.len(),
                count(packages.len(), "package")
            ));
            return Ok(Err(ExitStatus::Error));
        }
    };
    let mut owners = Vec::new();
    let mut findings = Vec::new();
    for ((package, _), audited) in packages.iter().zip(audited) {
        findings.extend(audited.findings);
        if let Some(ownership) = audited.owners.filter(|_| options.owners) {
            owners.push((package.display_name(), ownership));
        }
    }
    if let Some(keys) = &options.keys {
        findings.extend(crate::audit::provenance::findings(
            lock,
            index.http(),
            index.cache(),
            keys,
            options.concurrency,
        ));
    }
    let mut audit = Audit::new(findings, packages.len());
    audit.owners = owners;
    Ok(Ok(audit))
}

/// The policy and release records the flags name, read before any query; `None` after
/// reporting why they cannot be used.
fn options(args: &AuditArgs, reporter: &Reporter) -> anyhow::Result<Option<AuditOptions>> {
    let policy = match &args.policy {
        Some(path) => {
            let text = fs_err::read_to_string(path)?;
            match policy::parse(&path.display().to_string(), &text) {
                Ok(policy) => Some(policy),
                Err(diagnostics) => {
                    reporter.raw(&format!("{}\n", diagnostics.render(reporter.styled())));
                    reporter.error(&format!(
                        "the policy {} cannot be used; nothing was audited",
                        path.display()
                    ));
                    return Ok(None);
                }
            }
        }
        None => None,
    };
    if policy.as_ref().is_some_and(|p| p.needs_releases()) && args.releases.is_none() {
        reporter.error(
            "the policy has a group of `deliverables`, which only --releases DIR can name; \
             nothing was audited",
        );
        return Ok(None);
    }
    let releases = match args.releases.as_deref().map(releases::read).transpose() {
        Ok(releases) => releases,
        Err(e) => {
            reporter.error(&format!("{e}; nothing was audited"));
            return Ok(None);
        }
    };
    Ok(Some(AuditOptions {
        concurrency: 1,
        owners: args.owners,
        policy,
        releases,
        keys: None,
    }))
}

fn summary(audit: &Audit, delta: Option<&Delta>) -> String {
    let mut text = format!(
        "Audited {}: {}",
        count(audit.packages, "package"),
        report::counts(audit)
    );
    if let Some(delta) = delta {
        let new = audit.findings.iter().filter(|f| delta.is_new(f)).count();
        text.push_str(&format!("; {new} new, {} resolved", delta.resolved.len()));
    }
    text
}

/// The lock at `path`; `None` after reporting why it cannot be `verb` (`audited`, `compared`).
pub(super) fn read_lock(
    path: &Path,
    verb: &str,
    reporter: &Reporter,
) -> anyhow::Result<Option<Lock>> {
    let text = match fs_err::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            reporter.error(&format!("cannot read the lock: {e}; nothing was {verb}"));
            return Ok(None);
        }
    };
    match pylock::from_toml(&path.display().to_string(), &text) {
        Ok(lock) => Ok(Some(lock)),
        Err(diagnostics) => {
            reporter.raw(&format!("{}\n", diagnostics.render(reporter.styled())));
            reporter.error(&format!(
                "{} cannot be {verb}; nothing was reported",
                path.display()
            ));
            Ok(None)
        }
    }
}

/// The sources the lock's entries name (an index URL, or a find-links location relative to
/// the lock), and each package with the number of its source. Packages that name none are
/// left out with a warning.
fn sources_of<'a>(
    lock: &'a Lock,
    lock_dir: &Path,
    reporter: &Reporter,
) -> (Vec<Source>, Vec<(&'a Package, usize)>) {
    let mut numbers: BTreeMap<&str, usize> = BTreeMap::new();
    let mut sources = Vec::new();
    let mut packages = Vec::new();
    for package in &lock.packages {
        let Some(name) = package.index.as_deref() else {
            reporter.warn(&format!(
                "{}: the lock names no index for it; not audited",
                package.display_name()
            ));
            continue;
        };
        let number = *numbers.entry(name).or_insert_with(|| {
            sources.push(source(name, lock_dir));
            sources.len() - 1
        });
        packages.push((package, number));
    }
    (sources, packages)
}

fn source(name: &str, lock_dir: &Path) -> Source {
    if (name.starts_with("http://") || name.starts_with("https://"))
        && let Ok(url) = SafeUrl::parse(name)
    {
        return Source::index(&url);
    }
    Source::FindLinks(FindLinks::Dir(lock_dir.join(name)))
}
