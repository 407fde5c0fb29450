//! `pinguard diff OLD NEW`: a lock change for a reviewer; exit 1 when a digest changed.

use std::fmt::Write as _;

use serde_json::json;

use crate::cli::{DiffArgs, ReportFormat};
use crate::exit::ExitStatus;
use crate::lock::diff::{Entry, diff};
use crate::report::{Reporter, count};

/// Runs `pinguard diff`.
pub fn run(args: DiffArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let Some(old) = super::audit::read_lock(&args.old, "compared", reporter)? else {
        return Ok(ExitStatus::Error);
    };
    let Some(new) = super::audit::read_lock(&args.new, "compared", reporter)? else {
        return Ok(ExitStatus::Error);
    };
    let entries = diff(&old, &new);
    let (old_name, new_name) = (
        args.old.display().to_string(),
        args.new.display().to_string(),
    );
    let text = match args.format {
        ReportFormat::Text => text(&entries),
        ReportFormat::Markdown => markdown(&entries, &old_name, &new_name),
        ReportFormat::Json => json(&entries, &old_name, &new_name),
    };
    super::write_stdout(text.as_bytes())?;
    let critical = entries.iter().filter(|e| e.change.is_critical()).count();
    reporter.summary(&format!(
        "{} from {old_name} to {new_name}, {critical} critical",
        count(entries.len(), "change")
    ));
    Ok(if critical > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Critical changes first, then the others, each in lock order.
fn sections(entries: &[Entry]) -> [(&'static str, Vec<&Entry>); 2] {
    let (critical, other) = entries.iter().partition(|e| e.change.is_critical());
    [("critical", critical), ("changes", other)]
}

fn text(entries: &[Entry]) -> String {
    let mut out = String::new();
    for (title, list) in sections(entries) {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        for entry in list {
            let _ = writeln!(out, "  {}: {}", entry.package, entry.change.describe());
        }
    }
    out
}

fn markdown(entries: &[Entry], old: &str, new: &str) -> String {
    let mut out = format!("## pinguard diff {old} → {new}\n");
    if entries.is_empty() {
        out.push_str("\nNo changes.\n");
    }
    for (title, list) in sections(entries) {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, "\n### {title}\n\n");
        for entry in list {
            let _ = writeln!(out, "- `{}`: {}", entry.package, entry.change.describe());
        }
    }
    out
}

fn json(entries: &[Entry], old: &str, new: &str) -> String {
    let changes: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            json!({
                "package": e.package,
                "code": e.change.code(),
                "critical": e.change.is_critical(),
                "message": e.change.describe(),
            })
        })
        .collect();
    let document = json!({ "version": 1, "old": old, "new": new, "changes": changes });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    text
}
