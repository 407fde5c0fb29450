//! Rendering an [`Audit`]: text for a terminal, JSON for programs, markdown for a mailing
//! list or a CI summary. Findings are grouped by severity (critical first), then package.
//!
//! JSON schema (version 1), keys stable and findings sorted as in the text:
//!
//! ```text
//! { "version": 1, "lock": PATH, "packages": N,
//!   "counts": { "critical": N, "warning": N, "info": N },
//!   "findings": [ { "severity", "code", "package", "version", "subject", "message",
//!                   "uploaded" (RFC 3339 or null), "hint", "new" (with --state) } ],
//!   "resolved": [ { "severity", "key", "message" } ]   (with --state),
//!   "owners": [ { "package", "roles": [ { "role", "user" } ], "organization" } ]   (--owners) }
//! ```

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::state::Delta;
use super::{Audit, Finding, Severity};
use crate::owners::Ownership;

const SEVERITIES: [Severity; 3] = [Severity::Critical, Severity::Warning, Severity::Info];

/// The findings to show: all of them, or with `--state` only the new ones.
fn shown<'a>(audit: &'a Audit, delta: Option<&'a Delta>) -> impl Iterator<Item = &'a Finding> {
    audit
        .findings
        .iter()
        .filter(move |f| delta.is_none_or(|d| d.is_new(f)))
}

/// One package's findings, under its label.
type PackageGroup<'a> = (String, Vec<&'a Finding>);

/// The groups: each severity with findings, and its findings by package label.
fn groups<'a>(
    audit: &'a Audit,
    delta: Option<&'a Delta>,
) -> Vec<(Severity, Vec<PackageGroup<'a>>)> {
    let mut out = Vec::new();
    for severity in SEVERITIES {
        let mut packages: Vec<PackageGroup<'_>> = Vec::new();
        for finding in shown(audit, delta).filter(|f| f.severity() == severity) {
            let label = finding.package_label();
            match packages.last_mut() {
                Some((last, list)) if *last == label => list.push(finding),
                _ => packages.push((label, vec![finding])),
            }
        }
        if !packages.is_empty() {
            out.push((severity, packages));
        }
    }
    out
}

fn line(finding: &Finding) -> String {
    let subject = if finding.subject.is_empty() {
        String::new()
    } else {
        format!(" {}", finding.subject)
    };
    let when = finding
        .when
        .as_deref()
        .map_or_else(String::new, |t| format!(" (uploaded {t})"));
    format!(
        "{}{subject}: {}{when}",
        finding.kind.code(),
        finding.message
    )
}

/// The counts line: `2 critical, 1 warning, 0 info`.
pub fn counts(audit: &Audit) -> String {
    SEVERITIES
        .iter()
        .map(|s| format!("{} {s}", audit.count(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report as text.
pub fn text(audit: &Audit, delta: Option<&Delta>) -> String {
    let mut out = String::new();
    for (severity, packages) in groups(audit, delta) {
        let _ = writeln!(out, "{severity}:");
        for (label, findings) in packages {
            let _ = writeln!(out, "  {label}");
            for finding in findings {
                let _ = writeln!(out, "    {}", line(finding));
                let _ = writeln!(out, "      what to do: {}", finding.kind.hint());
            }
        }
    }
    if let Some(delta) = delta.filter(|d| !d.resolved.is_empty()) {
        let _ = writeln!(out, "resolved since the last run:");
        for resolved in &delta.resolved {
            let _ = writeln!(out, "  {} {}", resolved.severity, resolved.key);
        }
    }
    if !audit.owners.is_empty() {
        let _ = writeln!(out, "who can publish:");
        for (label, ownership) in &audit.owners {
            let _ = writeln!(out, "  {label}: {}", roles_text(ownership));
        }
    }
    out
}

fn roles_text(ownership: &Ownership) -> String {
    let mut text = if ownership.roles.is_empty() {
        "no account listed".to_owned()
    } else {
        ownership
            .roles
            .iter()
            .map(|r| format!("{} {}", r.role, r.user))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(organization) = &ownership.organization {
        text.push_str(&format!(" (organization {organization})"));
    }
    text
}

fn users_with(ownership: &Ownership, role: &str) -> String {
    ownership
        .roles
        .iter()
        .filter(|r| r.role == role)
        .map(|r| r.user.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report as markdown, headed with `title`.
pub fn markdown(audit: &Audit, delta: Option<&Delta>, title: &str) -> String {
    let mut out = format!(
        "## {title}\n\n{} packages audited: {}.\n",
        audit.packages,
        counts(audit)
    );
    for (severity, packages) in groups(audit, delta) {
        let _ = write!(out, "\n### {severity}\n");
        for (label, findings) in packages {
            let _ = write!(out, "\n**{label}**\n\n");
            for finding in findings {
                let _ = writeln!(out, "- {}  ", line(finding));
                let _ = writeln!(out, "  what to do: {}", finding.kind.hint());
            }
        }
    }
    if let Some(delta) = delta.filter(|d| !d.resolved.is_empty()) {
        out.push_str("\n### resolved since the last run\n\n");
        for resolved in &delta.resolved {
            let _ = writeln!(out, "- {} `{}`", resolved.severity, resolved.key);
        }
    }
    if !audit.owners.is_empty() {
        out.push_str("\n### who can publish\n\n| package | owners | maintainers | organization |\n|---|---|---|---|\n");
        for (label, ownership) in &audit.owners {
            let _ = writeln!(
                out,
                "| {label} | {} | {} | {} |",
                users_with(ownership, "Owner"),
                users_with(ownership, "Maintainer"),
                ownership.organization.as_deref().unwrap_or("")
            );
        }
    }
    out
}

/// The report as JSON (schema above).
pub fn json(audit: &Audit, delta: Option<&Delta>, lock: &str) -> String {
    let findings: Vec<Value> = audit
        .findings
        .iter()
        .map(|f| {
            let mut value = json!({
                "severity": f.severity().as_str(),
                "code": f.kind.code(),
                "package": f.package.to_string(),
                "version": f.version.as_ref().map(ToString::to_string),
                "subject": f.subject,
                "message": f.message,
                "uploaded": f.when,
                "hint": f.kind.hint(),
            });
            if let Some(delta) = delta {
                value["new"] = Value::Bool(delta.is_new(f));
            }
            value
        })
        .collect();
    let mut document = json!({
        "version": 1,
        "lock": lock,
        "packages": audit.packages,
        "counts": {
            "critical": audit.count(Severity::Critical),
            "warning": audit.count(Severity::Warning),
            "info": audit.count(Severity::Info),
        },
        "findings": findings,
    });
    if let Some(delta) = delta {
        document["resolved"] = delta
            .resolved
            .iter()
            .map(|r| json!({ "severity": r.severity, "key": r.key, "message": r.message }))
            .collect();
    }
    if !audit.owners.is_empty() {
        document["owners"] = audit
            .owners
            .iter()
            .map(|(label, ownership)| {
                let roles: Vec<Value> = ownership
                    .roles
                    .iter()
                    .map(|r| json!({ "role": r.role, "user": r.user }))
                    .collect();
                json!({ "package": label, "roles": roles, "organization": ownership.organization })
            })
            .collect();
    }
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    text
}
