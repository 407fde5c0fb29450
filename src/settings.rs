//! Arguments, environment and input files resolved once into the values a command uses.
//!
//! Every flag is read here and nowhere else. Precedence for the index, chosen to match what
//! pip users expect while letting an explicit flag win:
//!
//! 1. `--index-url` / `PINGUARD_INDEX_URL`;
//! 2. the input file's own `--index-url` line;
//! 3. `PIP_INDEX_URL` (machine-wide pip configuration);
//! 4. the public index.
//!
//! Extra indexes and find-links locations from all three places are added up, in that order.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use pep508_rs::PackageName;

use crate::cache::{Cache, CacheMode};
use crate::cli::{AttestationArgs, IndexArgs, LockArgs, LockFormat, NetworkArgs, TrustArgs};
use crate::http::{ByteSize, Connectivity, HttpSettings};
use crate::index::{PYPI, Source};
use crate::locker::Refresh;
use crate::requirements::{FindLinks, IndexOptions, SourceRef};
use crate::safe_url::SafeUrl;

/// A settings error: a flag or variable whose value is unusable.
#[derive(Debug, thiserror::Error)]
#[error("{what} `{value}` is not valid: {reason}")]
pub struct SettingsError {
    what: String,
    value: String,
    reason: String,
}

/// PEP 751 names a lock `pylock.toml` or `pylock.<name>.toml` (`<name>` without dots); pip
/// reads any other name as a requirements file, uv refuses it and `pip-audit --locked`
/// passes it by. The error suggests the allowed name closest to the one given.
pub fn check_pylock_name(path: &Path) -> Result<(), SettingsError> {
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
    let name = file
        .strip_suffix(".toml")
        .and_then(|s| s.strip_prefix("pylock"));
    match name {
        Some("") => return Ok(()),
        Some(rest) if rest.len() > 1 && rest.starts_with('.') && !rest[1..].contains('.') => {
            return Ok(());
        }
        _ => {}
    }
    let stem = file.strip_suffix(".toml").unwrap_or(file);
    let stem = stem.strip_prefix("pylock.").unwrap_or(stem);
    let stem = stem.strip_suffix(".pylock").unwrap_or(stem);
    let stem = stem.trim_matches('.').replace('.', "-");
    let suggestion = if stem.is_empty() || stem == "pylock" {
        "pylock.toml".to_owned()
    } else {
        format!("pylock.{stem}.toml")
    };
    Err(SettingsError {
        what: "the output file".into(),
        value: path.display().to_string(),
        reason: format!(
            "PEP 751 names a lock pylock.toml or pylock.<name>.toml, and pip, uv and \
             pip-audit read no other file as a lock; write it as {}",
            path.with_file_name(&suggestion).display()
        ),
    })
}

/// Where output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output.
    Stdout,
    /// A file, written atomically.
    File(PathBuf),
}

/// Settings of `pinguard lock`.
#[derive(Debug)]
pub struct LockSettings {
    /// The input.
    pub source: SourceRef,
    /// Where the result goes.
    pub output: Output,
    /// What is written.
    pub format: LockFormat,
    /// How previous entries are treated.
    pub refresh: Refresh,
    /// What to do about dependencies; `None` for a hash-only lock (`--no-dependencies`).
    pub dependencies: Option<DependencyReview>,
    /// With `--attestations`: the root to verify them with.
    pub attestations: Option<crate::provenance::TrustRoot>,
    /// Whether to record who can publish each package (`--owners`).
    pub owners: bool,
    /// Only check that the lock matches its source (`--check`).
    pub check: bool,
    /// Targets to trim to; empty: keep every file.
    pub targets: Vec<TargetChoice>,
    /// Index choice, before the input file's own options are known.
    pub index: IndexSettings,
    /// Network and cache.
    pub network: NetworkSettings,
}

/// What `lock` does with the dependencies it reads and records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DependencyReview {
    /// `--strict`: a dependency no pin covers, or a pin outside a dependent's specifier, is
    /// an error rather than a warning.
    pub strict: bool,
    /// `--add-missing`: dependencies no pin covers are added to the lock.
    pub add_missing: bool,
}

/// Index options from the command line and environment.
#[derive(Debug, Clone)]
pub struct IndexSettings {
    cli_index: Option<SafeUrl>,
    env_index: Option<SafeUrl>,
    extra: Vec<SafeUrl>,
    find_links: Vec<FindLinks>,
    no_index: bool,
}

/// Network and cache settings.
#[derive(Debug, Clone)]
pub struct NetworkSettings {
    /// Worker threads.
    pub concurrency: usize,
    /// Online or offline.
    pub connectivity: Connectivity,
    /// Cache root, `None` for `--no-cache`.
    pub cache_dir: Option<PathBuf>,
    /// Read timeout (`--timeout`): to connect, for an answer, for each read.
    pub timeout: Duration,
    /// Bound on a whole request, body included (`--request-timeout`).
    pub request_timeout: Duration,
    /// The largest body kept in memory (`--max-page-size`).
    pub max_body: ByteSize,
    /// Retries.
    pub retries: u32,
}

fn url_setting(what: &str, value: &str) -> Result<SafeUrl, SettingsError> {
    SafeUrl::parse(value.trim()).map_err(|e| SettingsError {
        what: what.to_owned(),
        value: crate::safe_url::mask_credentials(value).into_owned(),
        reason: e.to_string(),
    })
}

impl LockSettings {
    /// Resolves `pinguard lock` arguments. `env` reads environment variables.
    pub fn resolve(
        args: LockArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let LockArgs {
            source,
            output,
            format,
            refresh,
            refresh_package,
            no_dependencies,
            // The default; the flag only keeps older command lines working.
            dependencies: _,
            strict,
            add_missing,
            attestations,
            trust,
            owners,
            check,
            targets,
            index,
            network,
        } = args;
        let source_ref = SourceRef::from_arg(&source).map_err(|e| SettingsError {
            what: "the input".into(),
            value: crate::safe_url::mask_credentials(&source).into_owned(),
            reason: e.to_string(),
        })?;
        let output = match output {
            Some(path) if path == Path::new("-") => Output::Stdout,
            Some(path) => Output::File(path),
            None if format != LockFormat::Pylock => Output::Stdout,
            None => Output::File(match &source_ref {
                SourceRef::Path(path) => path.parent().unwrap_or(Path::new("")).join("pylock.toml"),
                _ => PathBuf::from("pylock.toml"),
            }),
        };
        let packages = refresh_package
            .iter()
            .map(|name| {
                PackageName::from_str(name).map_err(|e| SettingsError {
                    what: "--refresh-package".into(),
                    value: name.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            source: source_ref,
            output,
            format,
            refresh: Refresh {
                all: refresh,
                packages,
            },
            dependencies: (!no_dependencies).then_some(DependencyReview {
                strict,
                add_missing,
            }),
            attestations: match attestations {
                true => Some(trust_root(trust)?),
                false => None,
            },
            owners,
            check,
            targets: TargetChoice::resolve_all(targets.pythons, targets.platforms)?,
            index: IndexSettings::resolve(index, env)?,
            network: NetworkSettings::resolve(network, env),
        })
    }
}

impl IndexSettings {
    /// Resolves index flags with `PIP_INDEX_URL` / `PIP_EXTRA_INDEX_URL`.
    pub fn resolve(
        args: IndexArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let IndexArgs {
            index_url,
            extra_index_url,
            find_links,
            no_index,
        } = args;
        let cli_index = index_url
            .filter(|u| !u.trim().is_empty())
            .map(|u| url_setting("--index-url", &u))
            .transpose()?;
        let env_index = env("PIP_INDEX_URL")
            .filter(|u| !u.trim().is_empty())
            .map(|u| url_setting("PIP_INDEX_URL", &u))
            .transpose()?;
        let mut extra = extra_index_url
            .iter()
            .filter(|u| !u.trim().is_empty())
            .map(|u| url_setting("--extra-index-url", u))
            .collect::<Result<Vec<_>, _>>()?;
        for url in env("PIP_EXTRA_INDEX_URL")
            .unwrap_or_default()
            .split_whitespace()
        {
            extra.push(url_setting("PIP_EXTRA_INDEX_URL", url)?);
        }
        let find_links = find_links
            .iter()
            .filter(|f| !f.trim().is_empty())
            .map(|f| {
                FindLinks::parse(f, None).map_err(|e| SettingsError {
                    what: "--find-links".into(),
                    value: crate::safe_url::mask_credentials(f).into_owned(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            cli_index,
            env_index,
            extra,
            find_links,
            no_index,
        })
    }

    /// URLs whose credentials the HTTP client may use for their origin, known before the
    /// input is read.
    pub fn credential_urls(&self) -> Vec<SafeUrl> {
        self.cli_index
            .iter()
            .chain(self.env_index.iter())
            .chain(self.extra.iter())
            .cloned()
            .collect()
    }

    /// The sources to ask, in order, once the input file's options are known.
    pub fn sources(&self, file: &IndexOptions) -> Vec<Source> {
        let mut sources: Vec<Source> = self
            .find_links
            .iter()
            .chain(file.find_links.iter())
            .cloned()
            .map(Source::FindLinks)
            .collect();
        if self.no_index || file.no_index {
            return sources;
        }
        let primary = self
            .cli_index
            .clone()
            .or_else(|| file.index_url.clone())
            .or_else(|| self.env_index.clone())
            .unwrap_or_else(|| SafeUrl::parse(PYPI).expect("the default index URL is valid"));
        sources.push(Source::index(&primary));
        for url in self.extra.iter().chain(file.extra_index_urls.iter()) {
            let source = Source::index(url);
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
        sources
    }
}

/// `dir` from the working directory, when it is relative: installers run elsewhere and are
/// given file URLs into the cache, which must be absolute. `dir` itself when there is no
/// working directory (every use of it then fails, naming it).
fn absolute(dir: PathBuf) -> PathBuf {
    std::path::absolute(&dir).unwrap_or(dir)
}

impl NetworkSettings {
    /// Resolves network flags; the cache directory falls back to the user cache directory, and is
    /// made absolute.
    pub fn resolve(args: NetworkArgs, _env: &dyn Fn(&str) -> Option<String>) -> Self {
        let NetworkArgs {
            concurrency,
            offline,
            cache_dir,
            no_cache,
            timeout,
            request_timeout,
            max_page_size,
            retries,
        } = args;
        Self {
            concurrency: concurrency.clamp(1, 256),
            connectivity: if offline {
                Connectivity::Offline
            } else {
                Connectivity::Online
            },
            cache_dir: if no_cache {
                None
            } else {
                cache_dir.or_else(Cache::default_root).map(absolute)
            },
            timeout: Duration::from_secs(timeout.max(1)),
            request_timeout: Duration::from_secs(request_timeout.max(1)),
            max_body: max_page_size,
            retries,
        }
    }

    /// The cache, in the mode `refresh` and connectivity call for.
    pub fn cache(&self, refresh: bool) -> Cache {
        let mode = match (self.connectivity, refresh) {
            (Connectivity::Offline, _) => CacheMode::Offline,
            (Connectivity::Online, true) => CacheMode::Refresh,
            (Connectivity::Online, false) => CacheMode::Normal,
        };
        match &self.cache_dir {
            Some(dir) => Cache::new(dir.clone(), mode),
            None => Cache::disabled(mode),
        }
    }

    /// HTTP client settings, with `credential_urls` for origin-wide credentials.
    pub fn http(&self, credential_urls: Vec<SafeUrl>) -> HttpSettings {
        HttpSettings {
            timeout: self.timeout,
            request_timeout: self.request_timeout,
            max_body: self.max_body,
            retries: self.retries,
            connectivity: self.connectivity,
            credential_urls,
            use_netrc: true,
        }
    }
}

/// Index URLs from the environment whose credentials the guard commands may use for the file
/// hosts on the same origin (`PINGUARD_INDEX_URL`, `PINGUARD_EXTRA_INDEX_URL`, `PIP_INDEX_URL`,
/// `PIP_EXTRA_INDEX_URL`); locks never hold credentials.
pub fn credential_urls_from_env(env: &dyn Fn(&str) -> Option<String>) -> Vec<SafeUrl> {
    [
        "PINGUARD_INDEX_URL",
        "PINGUARD_EXTRA_INDEX_URL",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
    ]
    .iter()
    .filter_map(|name| env(name))
    .flat_map(|value| {
        value
            .split_whitespace()
            .filter_map(|url| SafeUrl::parse(url).ok())
            .collect::<Vec<_>>()
    })
    .collect()
}

/// What `--python` (with `--platform`) names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetChoice {
    /// An interpreter: a path or a name on `PATH`; `None` for the default one.
    Interpreter(Option<String>),
    /// A Python version, and a platform tag.
    Spec {
        /// The version, such as `3.12`.
        python: String,
        /// The platform tag.
        platform: Option<String>,
    },
}

impl TargetChoice {
    /// Every `--python` with every `--platform`: versions take each platform (none: this
    /// machine's), interpreters stand alone and refuse platforms.
    pub fn resolve_all(
        pythons: Vec<String>,
        platforms: Vec<String>,
    ) -> Result<Vec<Self>, SettingsError> {
        let mut choices = Vec::new();
        for python in pythons {
            if platforms.is_empty() {
                choices.push(Self::resolve(Some(python), None)?);
            } else {
                for platform in &platforms {
                    choices.push(Self::resolve(Some(python.clone()), Some(platform.clone()))?);
                }
            }
        }
        Ok(choices)
    }

    /// `--python 3.12` (digits and dots) is a version; anything else names an interpreter. A
    /// `--platform` needs a version: an interpreter knows its own platform.
    pub fn resolve(
        python: Option<String>,
        platform: Option<String>,
    ) -> Result<Self, SettingsError> {
        let is_version = |value: &str| {
            !value.is_empty()
                && value.split('.').count() <= 3
                && value
                    .split('.')
                    .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        };
        match (python, platform) {
            (Some(version), platform) if is_version(&version) => Ok(Self::Spec {
                python: version,
                platform,
            }),
            (python, None) => Ok(Self::Interpreter(python)),
            (python, Some(platform)) => Err(SettingsError {
                what: "--platform".into(),
                value: platform,
                reason: format!(
                    "it goes with a Python version (--python 3.12), not with an interpreter{}",
                    python.map(|p| format!(" (`{p}`)")).unwrap_or_default()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_pep751_lock_names_are_written() {
        for good in [
            "pylock.toml",
            "dir/pylock.toml",
            "pylock.dev.toml",
            "pylock.py-3-12.toml",
        ] {
            assert!(super::check_pylock_name(Path::new(good)).is_ok(), "{good}");
        }
        for (bad, suggested) in [
            ("example.pylock.toml", "pylock.example.toml"),
            ("json.toml", "pylock.json.toml"),
            ("dir/lock.v2.toml", "dir/pylock.lock-v2.toml"),
            ("pylock.a.b.toml", "pylock.a-b.toml"),
            ("pylock..toml", "pylock.toml"),
            ("pylock", "pylock.toml"),
        ] {
            let error = super::check_pylock_name(Path::new(bad)).unwrap_err();
            assert!(
                error
                    .to_string()
                    .ends_with(&format!("write it as {suggested}")),
                "{bad}: {error}"
            );
        }
    }

    use super::*;

    fn index_args(index_url: Option<&str>) -> IndexArgs {
        IndexArgs {
            index_url: index_url.map(str::to_owned),
            extra_index_url: vec!["https://extra.example/simple".into()],
            find_links: vec![],
            no_index: false,
        }
    }

    fn urls(sources: &[Source]) -> Vec<String> {
        sources.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn index_precedence_flag_then_file_then_pip_env_then_pypi() {
        let env = |name: &str| match name {
            "PIP_INDEX_URL" => Some("https://env.example/simple".to_owned()),
            "PIP_EXTRA_INDEX_URL" => Some("https://env-extra.example/simple".to_owned()),
            _ => None,
        };
        let no_env = |_: &str| None;
        let file = IndexOptions {
            index_url: Some(SafeUrl::parse("https://file.example/simple").unwrap()),
            ..IndexOptions::default()
        };
        let flag =
            IndexSettings::resolve(index_args(Some("https://flag.example/simple")), &env).unwrap();
        assert_eq!(
            urls(&flag.sources(&file)),
            [
                "https://flag.example/simple/",
                "https://extra.example/simple/",
                "https://env-extra.example/simple/"
            ]
        );
        let no_flag = IndexSettings::resolve(index_args(None), &env).unwrap();
        assert_eq!(
            urls(&no_flag.sources(&file))[0],
            "https://file.example/simple/"
        );
        assert_eq!(
            urls(&no_flag.sources(&IndexOptions::default()))[0],
            "https://env.example/simple/"
        );
        let bare = IndexSettings::resolve(index_args(None), &no_env).unwrap();
        assert_eq!(urls(&bare.sources(&IndexOptions::default()))[0], PYPI);
    }

    #[test]
    fn python_is_a_version_or_an_interpreter() {
        let choice = |python: Option<&str>, platform: Option<&str>| {
            TargetChoice::resolve(python.map(str::to_owned), platform.map(str::to_owned))
        };
        assert_eq!(
            choice(Some("3.12"), Some("win_amd64")).unwrap(),
            TargetChoice::Spec {
                python: "3.12".into(),
                platform: Some("win_amd64".into())
            }
        );
        assert_eq!(
            choice(Some("python3.12"), None).unwrap(),
            TargetChoice::Interpreter(Some("python3.12".into()))
        );
        assert_eq!(choice(None, None).unwrap(), TargetChoice::Interpreter(None));
        assert_eq!(
            choice(Some(".venv/bin/python"), Some("win_amd64"))
                .unwrap_err()
                .to_string(),
            "--platform `win_amd64` is not valid: it goes with a Python version (--python 3.12), \
             not with an interpreter (`.venv/bin/python`)"
        );
    }

    #[test]
    fn bad_urls_are_reported_masked() {
        let err =
            IndexSettings::resolve(index_args(Some("https://u:secret@")), &|_| None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--index-url `https://u:****@` is not valid: empty host"
        );
    }
}

/// `--trusted-root`: the embedded production root, the embedded staging root, or a file.
pub fn trust_root(args: TrustArgs) -> Result<crate::provenance::TrustRoot, SettingsError> {
    use crate::provenance::TrustRoot;
    Ok(match args.trusted_root.as_deref() {
        None => TrustRoot::Production,
        Some("staging") => TrustRoot::Staging,
        Some(path) => TrustRoot::Custom {
            path: path.to_owned(),
            json: fs_err::read_to_string(path).map_err(|e| SettingsError {
                what: "--trusted-root".into(),
                value: path.to_owned(),
                reason: e.to_string(),
            })?,
        },
    })
}

/// Which packages the guard refuses when the lock records no identity for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequiredAttestations {
    /// None beyond those with recorded identities.
    None,
    /// Every package.
    All,
    /// These.
    Only(Vec<PackageName>),
}

impl RequiredAttestations {
    /// Whether `name` must have recorded identities.
    pub fn requires(&self, name: &PackageName) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Only(names) => names.contains(name),
        }
    }
}

/// What the guard holds files to: the trusted root and the required packages.
#[derive(Debug, Clone)]
pub struct AttestationSettings {
    /// The trusted root.
    pub root: crate::provenance::TrustRoot,
    /// `--require-attestations`.
    pub required: RequiredAttestations,
}

impl AttestationSettings {
    /// Resolves `--require-attestations` and `--trusted-root`.
    pub fn resolve(args: AttestationArgs) -> Result<Self, SettingsError> {
        let required = match args.require_attestations.as_deref().map(str::trim) {
            None | Some("") => RequiredAttestations::None,
            Some("all") => RequiredAttestations::All,
            Some(list) => RequiredAttestations::Only(
                list.split(',')
                    .map(|name| {
                        PackageName::from_str(name.trim()).map_err(|e| SettingsError {
                            what: "--require-attestations".into(),
                            value: name.to_owned(),
                            reason: e.to_string(),
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Self {
            root: trust_root(args.trust)?,
            required,
        })
    }
}
