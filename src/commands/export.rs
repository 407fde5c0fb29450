//! `pinguard export`: pylock.toml → pip requirements or constraints with `--hash`.

use anyhow::Context as _;

use crate::atomic;
use crate::cli::ExportArgs;
use crate::exit::ExitStatus;
use crate::lock::export::{self, ExportFormat};
use crate::lock::pylock;
use crate::report::Reporter;

/// Runs `pinguard export`.
pub fn run(args: ExportArgs, reporter: &Reporter) -> anyhow::Result<ExitStatus> {
    let ExportArgs {
        lock,
        format,
        output,
    } = args;
    let shown = lock.display().to_string();
    let text = match fs_err::read_to_string(&lock) {
        Ok(text) => text,
        Err(e) => {
            reporter.error(&e.to_string());
            return Ok(ExitStatus::Error);
        }
    };
    let parsed = match pylock::from_toml(&shown, &text) {
        Ok(parsed) => parsed,
        Err(diagnostics) => {
            reporter.raw(&diagnostics.render(reporter.styled()));
            reporter.error(&format!("{shown} is not a lock pinguard can export"));
            return Ok(ExitStatus::Error);
        }
    };
    super::report_unverifiable(
        &parsed,
        "left out (pip's hash-checking mode could not install it)",
        reporter,
    );
    let format_name = match format {
        ExportFormat::Requirements => "requirements",
        ExportFormat::Constraints => "constraints",
    };
    let command = format!("pinguard export {shown} --format {format_name}");
    let rendered = export::render(&parsed, format, &shown, &command)?;
    match output {
        None => super::write_stdout(rendered.as_bytes())?,
        Some(path) => atomic::write_bytes(&path, rendered.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
    }
    Ok(ExitStatus::Success)
}
