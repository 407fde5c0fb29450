//! Rendering `check` findings for people: by target, then by kind, one line per finding.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Finding, Report};

const CAVEAT: &str = " (from sdist metadata, may differ when built)";

/// The report as text.
pub fn human(report: &Report) -> String {
    let mut out = String::new();
    for target in &report.targets {
        let count = match target.findings.len() {
            0 => "no findings".to_owned(),
            1 => "1 finding".to_owned(),
            n => format!("{n} findings"),
        };
        let _ = writeln!(out, "{}: {} pins, {count}", target.target, target.pins);
        let mut groups: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
        for finding in &target.findings {
            groups.entry(finding.kind()).or_default().push(finding);
        }
        for (kind, findings) in groups {
            let _ = writeln!(out, "  {kind}:");
            for finding in findings {
                let _ = writeln!(out, "    {}", line(finding));
            }
        }
    }
    if !report.applies_to_no_target.is_empty() {
        let _ = writeln!(out, "pins that apply to no target:");
        for pin in &report.applies_to_no_target {
            let _ = writeln!(out, "  {pin}");
        }
    }
    out
}

fn caveat(from_sdist: bool) -> &'static str {
    if from_sdist { CAVEAT } else { "" }
}

/// One finding as a line, as `check` prints it under its kind.
pub fn line(finding: &Finding) -> String {
    match finding {
        Finding::Uncovered {
            name,
            dependent,
            requirement,
            from_sdist,
        } => format!(
            "{name}: {dependent} requires {requirement}, and no pin covers it{}",
            caveat(*from_sdist)
        ),
        Finding::Violation {
            pin,
            dependent,
            requirement,
            from_sdist,
        } => format!(
            "{pin}: {dependent} requires {requirement}{}",
            caveat(*from_sdist)
        ),
        Finding::RequiresPython {
            pin,
            requires_python,
        } => format!("{pin} requires Python {requires_python}"),
        Finding::NoInstallableFile { pin, wheels } if wheels.is_empty() => {
            format!("{pin}: no wheel and no sdist")
        }
        Finding::NoInstallableFile { pin, wheels } => format!(
            "{pin}: no sdist, and its wheels are for other targets ({})",
            wheels.join(", ")
        ),
        Finding::Overlap { name, pins } => format!("{name}: {}", pins.join("; ")),
        Finding::DependenciesUnknown { pin, reason } => format!("{pin}: {reason}"),
        Finding::InvalidRequirement { pin, value, error } => format!("{pin}: `{value}`: {error}"),
    }
}
