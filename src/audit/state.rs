//! `audit --state FILE`: what earlier runs reported, so that a scheduled run prints what is
//! new (and what was resolved) and fails only on new findings.
//!
//! The file is JSON, rewritten (atomically) after each run with that run's findings:
//!
//! ```text
//! { "version": 1, "findings": [ { "key": CODE NAME==VERSION SUBJECT, "severity", "message" } ] }
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Audit, Finding, Severity};

/// A finding as the state file remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remembered {
    /// [`Finding::key`].
    pub key: String,
    /// Its severity then.
    pub severity: Severity,
    /// Its message then.
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    findings: Vec<Remembered>,
}

/// What changed since the state file was written.
#[derive(Debug, Default)]
pub struct Delta {
    seen: BTreeSet<String>,
    /// Findings of the last run that this run did not find.
    pub resolved: Vec<Remembered>,
}

impl Delta {
    /// Whether `finding` was not reported before.
    pub fn is_new(&self, finding: &Finding) -> bool {
        !self.seen.contains(&finding.key())
    }

    /// Whether a new finding is at or above `threshold`.
    pub fn fails(&self, audit: &Audit, threshold: Severity) -> bool {
        audit
            .findings
            .iter()
            .any(|f| f.severity() >= threshold && self.is_new(f))
    }
}

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Unreadable.
    #[error("cannot read the state file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a state file pinguard wrote.
    #[error(
        "{path} is not an audit state file ({source}); delete it, or name another file with --state"
    )]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
}

/// What the state file at `path` remembers; nothing when it does not exist yet.
pub fn read(path: &Path) -> Result<Vec<Remembered>, StateError> {
    let shown = path.display().to_string();
    let text = match fs_err::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StateError::Read {
                path: shown,
                source,
            });
        }
    };
    let file: StateFile = serde_json::from_str(&text).map_err(|source| StateError::Invalid {
        path: shown,
        source,
    })?;
    Ok(file.findings)
}

/// Compares `audit` with what was remembered.
pub fn delta(remembered: Vec<Remembered>, audit: &Audit) -> Delta {
    let now: BTreeSet<String> = audit.findings.iter().map(Finding::key).collect();
    let seen = remembered.iter().map(|r| r.key.clone()).collect();
    let resolved = remembered
        .into_iter()
        .filter(|r| !now.contains(&r.key))
        .collect();
    Delta { seen, resolved }
}

/// The state file's text for `audit`'s findings.
pub fn render(audit: &Audit) -> String {
    let file = StateFile {
        version: 1,
        findings: audit
            .findings
            .iter()
            .map(|f| Remembered {
                key: f.key(),
                severity: f.severity(),
                message: f.message.clone(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&file).expect("the state serializes");
    text.push('\n');
    text
}
