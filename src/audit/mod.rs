//! `audit`: what changed on the index since a lock was made, as findings.
//!
//! ```text
//! lock ──► one task per locked package (rayon pool, the lock's HTTP client and cache mode)
//!      ──► index: the package's page on the source its entry names (PEP 503/691, PEP 792 status)
//!             ├─ files of the locked version vs the lock (drift::compare)  critical
//!             ├─ locked version yanked / no longer listed, project status  warning / critical
//!             └─ newer releases, pre-releases apart                        info
//!      ──► provenance: files of packages with recorded identities     critical
//!      ──► findings, sorted by severity, package, code, subject ──► report (text/json/markdown)
//! ```
//!
//! The findings model lives here, apart from its rendering ([`report`]) and from the checks
//! that make findings ([`index`]). A finding carries what a reader needs to act: the
//! package, what changed, when (upload time), and what to do. Its code is stable: the JSON
//! output and `--state` files use it.

pub mod index;
pub mod owners;
pub mod policy;
pub mod provenance;
pub mod releases;
pub mod report;
pub mod state;

use std::fmt;

use pep440_rs::Version;
use pep508_rs::PackageName;

/// How much a finding matters; `--fail-on` compares with it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing (a new release).
    Info,
    /// Worth a look (a yanked version, an archived project).
    Warning,
    /// Act before installing from the lock again (locked bytes changed, a file added).
    Critical,
}

impl Severity {
    /// The name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about. Its [`Kind::code`] is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// No source serves the project any more.
    ProjectGone,
    /// The project is quarantined (PEP 792).
    ProjectQuarantined,
    /// The project is archived or deprecated (PEP 792).
    ProjectStatus,
    /// The index no longer lists the locked version.
    VersionUnlisted,
    /// The locked version is yanked.
    VersionYanked,
    /// A locked file is no longer served.
    FileVanished,
    /// A locked file is served with another sha256.
    DigestChanged,
    /// A locked file is served with another size.
    SizeChanged,
    /// A file was added to the locked version after the lock.
    FileAdded,
    /// The locked version is not one the OpenStack release process made (`--releases`).
    NotReleased,
    /// A version on the index that no deliverable file lists (`--releases`).
    UnreleasedVersion,
    /// An account has a role it did not have when the lock was made (`lock --owners`).
    OwnerAdded,
    /// An account's role changed since the lock.
    RoleChanged,
    /// An account the policy does not allow holds a role (`--policy`).
    NotInPolicy,
    /// An account lost its role since the lock.
    OwnerRemoved,
    /// A locked file's attestation is from another identity than the lock records.
    IdentityChanged,
    /// A locked file the lock records a publisher for has no attestation any more.
    AttestationRemoved,
    /// A locked file's attestation no longer verifies.
    AttestationInvalid,
    /// A locked file's provenance could not be read.
    ProvenanceUnreadable,
    /// A newer release's file is published by another identity, or its attestation does not
    /// verify.
    ReleaseIdentityChanged,
    /// A newer release's file has no attestation while the lock records a publisher.
    ReleaseUnattested,
    /// A newer final release.
    NewRelease,
    /// A newer pre-release.
    NewPreRelease,
}

impl Kind {
    /// The stable code of the kind.
    pub fn code(self) -> &'static str {
        match self {
            Self::FileVanished => "file-vanished",
            Self::DigestChanged => "digest-changed",
            Self::SizeChanged => "size-changed",
            Self::FileAdded => "file-added",
            Self::VersionUnlisted => "version-unlisted",
            Self::ProjectGone => "project-gone",
            Self::VersionYanked => "version-yanked",
            Self::ProjectQuarantined => "project-quarantined",
            Self::ProjectStatus => "project-status",
            Self::NotReleased => "not-released",
            Self::UnreleasedVersion => "unreleased-version",
            Self::OwnerAdded => "owner-added",
            Self::RoleChanged => "role-changed",
            Self::NotInPolicy => "not-in-policy",
            Self::OwnerRemoved => "owner-removed",
            Self::IdentityChanged => "identity-changed",
            Self::AttestationRemoved => "attestation-removed",
            Self::AttestationInvalid => "attestation-invalid",
            Self::ProvenanceUnreadable => "provenance-unreadable",
            Self::ReleaseIdentityChanged => "release-identity-changed",
            Self::ReleaseUnattested => "release-unattested",
            Self::NewRelease => "new-release",
            Self::NewPreRelease => "new-pre-release",
        }
    }

    /// How much a finding of this kind matters.
    pub fn severity(self) -> Severity {
        match self {
            Self::FileVanished
            | Self::DigestChanged
            | Self::SizeChanged
            | Self::FileAdded
            | Self::VersionUnlisted
            | Self::ProjectGone
            | Self::ProjectQuarantined
            | Self::NotReleased
            | Self::IdentityChanged
            | Self::AttestationRemoved
            | Self::AttestationInvalid => Severity::Critical,
            Self::VersionYanked
            | Self::ProjectStatus
            | Self::UnreleasedVersion
            | Self::OwnerAdded
            | Self::RoleChanged
            | Self::NotInPolicy
            | Self::ProvenanceUnreadable
            | Self::ReleaseIdentityChanged
            | Self::ReleaseUnattested => Severity::Warning,
            Self::OwnerRemoved | Self::NewRelease | Self::NewPreRelease => Severity::Info,
        }
    }

    /// What to do about a finding of this kind.
    pub fn hint(self) -> &'static str {
        match self {
            Self::FileVanished => {
                "find out why the index removed it; installs from the lock can no longer fetch it"
            }
            Self::DigestChanged | Self::SizeChanged => {
                "do not install it: the index serves other bytes under the locked name; keep the \
                 lock and tell the index's operators"
            }
            Self::FileAdded => {
                "find out who uploaded it and why before trusting this version; the lock does not \
                 hold it, so installs from the lock refuse it"
            }
            Self::VersionUnlisted => {
                "the release was deleted or quarantined: check the project's page, and move the \
                 pin to a version the index lists"
            }
            Self::ProjectGone => {
                "the project was removed or renamed: check the index, and drop or replace the pin"
            }
            Self::VersionYanked => "read the reason, and move the pin to a version not yanked",
            Self::ProjectQuarantined => {
                "the index suspects the project of being malicious: do not install it; remove the \
                 pin or move it to a project you trust"
            }
            Self::ProjectStatus => "plan a replacement: the project is no longer maintained",
            Self::NotReleased => {
                "the release process did not make this version: find out who uploaded it, and pin \
                 a version the deliverable lists"
            }
            Self::UnreleasedVersion => {
                "the release process did not make this version: find out who uploaded it, and ask \
                 the index to remove it if no one on the team did"
            }
            Self::OwnerAdded | Self::RoleChanged => {
                "check that the account belongs to someone who should publish this project"
            }
            Self::NotInPolicy => {
                "remove the account from the project on the index, or add it to the policy"
            }
            Self::OwnerRemoved => {
                "nothing, if the change was intended; record it with `lock --owners`"
            }
            Self::IdentityChanged | Self::AttestationRemoved | Self::AttestationInvalid => {
                "do not install it until the publisher confirms the change: installs from the \
                 lock refuse it; re-lock with --attestations only once it is explained"
            }
            Self::ProvenanceUnreadable => "audit again; if it persists, ask the index's operators",
            Self::ReleaseIdentityChanged | Self::ReleaseUnattested => {
                "do not raise the pin until the project explains who publishes it now: an install \
                 held to the recorded identity would refuse it"
            }
            Self::NewRelease | Self::NewPreRelease => {
                "read its changes before raising the pin; it was not in the lock"
            }
        }
    }
}

/// One thing the audit found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it is about.
    pub kind: Kind,
    /// The locked package.
    pub package: PackageName,
    /// The locked version.
    pub version: Option<Version>,
    /// What in the package: a file name, a version, an account; empty for the package itself.
    pub subject: String,
    /// What changed, in a sentence.
    pub message: String,
    /// When it happened (an upload time, RFC 3339), when known.
    pub when: Option<String>,
}

impl Finding {
    /// How much it matters.
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }

    /// What identifies the finding across runs (`--state`): code, package, version, subject.
    pub fn key(&self) -> String {
        let version = self
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        format!(
            "{} {}=={version} {}",
            self.kind.code(),
            self.package,
            self.subject
        )
    }

    /// `name version` for headings.
    pub fn package_label(&self) -> String {
        match &self.version {
            Some(version) => format!("{} {version}", self.package),
            None => self.package.to_string(),
        }
    }

    fn sort_key(&self) -> (std::cmp::Reverse<Severity>, String, Kind, String) {
        (
            std::cmp::Reverse(self.severity()),
            self.package_label(),
            self.kind,
            self.subject.clone(),
        )
    }
}

/// A package that could not be audited, and why.
#[derive(Debug)]
pub struct Failure {
    /// The locked package, as `name==version`.
    pub package: String,
    /// Why.
    pub reason: String,
}

/// What an audit found.
#[derive(Debug, Default)]
pub struct Audit {
    /// The findings, sorted: severity (critical first), package, code, subject.
    pub findings: Vec<Finding>,
    /// How many locked packages were audited.
    pub packages: usize,
    /// Who can publish each package (`--owners`): its label and ownership, in lock order.
    pub owners: Vec<(String, crate::owners::Ownership)>,
}

impl Audit {
    /// An audit of `packages` packages with these findings, sorted.
    pub fn new(mut findings: Vec<Finding>, packages: usize) -> Self {
        findings.sort_by_key(Finding::sort_key);
        findings.dedup();
        Self {
            findings,
            packages,
            owners: Vec::new(),
        }
    }

    /// How many findings of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity() == severity)
            .count()
    }

    /// Whether a finding is at or above `threshold`.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity() >= threshold)
    }
}
