//! Publisher identities: what PEP 751 `[[packages.attestation-identities]]` records, what the
//! index's `publisher` object claims, and matching either against a verified certificate.
//!
//! An identity is proven only by the Fulcio certificate's claims, never by the index's
//! `publisher` object (an unsigned claim). The claims checked per kind:
//!
//! - GitHub: issuer `https://token.actions.githubusercontent.com`, Source Repository URI
//!   `https://github.com/{repository}`, Build Config URI
//!   `https://github.com/{repository}/.github/workflows/{workflow}@…`;
//! - GitLab: issuer `https://gitlab.com`, Source Repository URI `https://gitlab.com/{repository}`,
//!   Build Config URI `https://gitlab.com/{repository}//{workflow_filepath}@…`;
//! - Google: the certificate's email (SAN) is `email`.
//!
//! A GitHub or GitLab `environment` is not in the certificate: it is recorded and compared
//! between identities, but cannot be proven by the attestation.

use std::fmt;

use serde::{Deserialize, Serialize};
use sigstore_verify::SubjectAltName;
use sigstore_verify::crypto::CertificateInfo;

const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
const GITLAB_ISSUER: &str = "https://gitlab.com";

/// A publisher identity pinguard can verify: one `[[packages.attestation-identities]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Identity {
    /// A GitHub Actions workflow (Trusted Publisher).
    GitHub {
        /// `owner/name`.
        repository: String,
        /// The workflow's file name in `.github/workflows/` (`release.yml`).
        workflow: String,
        /// The GitHub environment the publisher is restricted to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
    },
    /// A GitLab CI/CD pipeline (Trusted Publisher).
    GitLab {
        /// `namespace/project`.
        repository: String,
        /// The pipeline file's path in the repository (`.gitlab-ci.yml`).
        workflow_filepath: String,
        /// The GitLab environment the publisher is restricted to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
    },
    /// A Google Cloud service account (or another email identity).
    Google {
        /// The account's email address.
        email: String,
    },
}

/// What the index's `publisher` object says, before any certificate proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publisher {
    /// A kind pinguard can check against a certificate.
    Known(Identity),
    /// A kind pinguard cannot check (ActiveState, or a kind it does not know): never verified.
    Unverifiable {
        /// The `kind` the index sent.
        kind: String,
    },
}

impl Publisher {
    /// Reads the index's `publisher` JSON object. An object without the keys its kind needs
    /// is unverifiable.
    pub fn from_json(value: &serde_json::Value) -> Self {
        match serde_json::from_value::<Identity>(strip_nulls(value)) {
            Ok(identity) => Self::Known(identity),
            Err(_) => Self::Unverifiable {
                kind: value
                    .get("kind")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("(none)")
                    .to_owned(),
            },
        }
    }
}

/// The index sends `"environment": null`; serde's tagged enums want the key absent.
fn strip_nulls(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .filter(|(key, v)| !v.is_null() && key.as_str() != "claims")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl Identity {
    /// The PEP 751 `kind` value.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::GitHub { .. } => "GitHub",
            Self::GitLab { .. } => "GitLab",
            Self::Google { .. } => "Google",
        }
    }

    /// Checks the certificate's claims against this identity; the error names the claim that
    /// differs, with both values.
    pub fn matches(&self, certificate: &CertificateInfo) -> Result<(), String> {
        match self {
            Self::GitHub {
                repository,
                workflow,
                ..
            } => ci_claims(
                certificate,
                GITHUB_ISSUER,
                &format!("https://github.com/{repository}"),
                &format!("https://github.com/{repository}/.github/workflows/{workflow}@"),
            ),
            Self::GitLab {
                repository,
                workflow_filepath,
                ..
            } => ci_claims(
                certificate,
                GITLAB_ISSUER,
                &format!("https://gitlab.com/{repository}"),
                &format!("https://gitlab.com/{repository}//{workflow_filepath}@"),
            ),
            Self::Google { email } => match &certificate.identity {
                Some(SubjectAltName::Email(seen)) if seen.eq_ignore_ascii_case(email) => Ok(()),
                seen => Err(format!(
                    "the certificate's email is {}, the publisher's is {email}",
                    seen.as_ref().map_or("absent", SubjectAltName::as_str)
                )),
            },
        }
    }
}

/// The issuer, Source Repository URI and Build Config URI of a CI certificate.
fn ci_claims(
    certificate: &CertificateInfo,
    issuer: &str,
    repository_uri: &str,
    build_config_prefix: &str,
) -> Result<(), String> {
    let seen_issuer = certificate.issuer.as_deref().unwrap_or("absent");
    if seen_issuer != issuer {
        return Err(format!(
            "the certificate's issuer is {seen_issuer}, the publisher's is {issuer}"
        ));
    }
    let claims = &certificate.ci_claims;
    let seen_repository = claims.source_repository_uri.as_deref().unwrap_or("absent");
    if !seen_repository.eq_ignore_ascii_case(repository_uri) {
        return Err(format!(
            "the certificate's Source Repository URI is {seen_repository}, the publisher's is {repository_uri}"
        ));
    }
    // Older certificates have no Build Config URI; their SAN is the same URI.
    let build_config = claims
        .build_config_uri
        .as_deref()
        .or(match &certificate.identity {
            Some(SubjectAltName::Uri(uri)) => Some(uri.as_str()),
            _ => None,
        });
    let seen_build = build_config.unwrap_or("absent");
    if !starts_with_ignore_case(seen_build, build_config_prefix) {
        return Err(format!(
            "the certificate's Build Config URI is {seen_build}, the publisher's is {build_config_prefix}…"
        ));
    }
    Ok(())
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GitHub {
                repository,
                workflow,
                environment,
            } => {
                write!(f, "GitHub {repository} workflow {workflow}")?;
                environment_suffix(f, environment.as_deref())
            }
            Self::GitLab {
                repository,
                workflow_filepath,
                environment,
            } => {
                write!(f, "GitLab {repository} pipeline {workflow_filepath}")?;
                environment_suffix(f, environment.as_deref())
            }
            Self::Google { email } => write!(f, "Google {email}"),
        }
    }
}

fn environment_suffix(f: &mut fmt::Formatter<'_>, environment: Option<&str>) -> fmt::Result {
    match environment {
        Some(environment) => write!(f, " environment {environment}"),
        None => Ok(()),
    }
}
