//! One module per subcommand; each turns resolved settings into work and an [`ExitStatus`].

pub mod export;
pub mod lock;

use std::io::Write;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;
use crate::report::{Reporter, Verbosity};

/// Parses the command line and runs the command.
pub fn main() -> ExitStatus {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Error
            } else {
                ExitStatus::Success
            };
        }
    };
    let verbosity = if cli.global.quiet {
        Verbosity::Quiet
    } else if cli.global.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let reporter = Reporter::new(verbosity, cli.global.color);
    let result = match cli.command {
        Command::Lock(args) => lock::run(args, &reporter),
        Command::Export(args) => export::run(args, &reporter),
    };
    match result {
        Ok(status) => status,
        Err(error) if is_broken_pipe(&error) => ExitStatus::Success,
        Err(error) => {
            reporter.error(&format!("{error:#}"));
            ExitStatus::Error
        }
    }
}

/// Writes data to stdout. A closed pipe (`| head`) is not an error: the reader has what it
/// wanted.
pub fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
