//! Messages for people, on stderr: errors always, warnings unless `--quiet`, details with
//! `--verbose`. Data goes to stdout and never through here.
//!
//! Every message passes through [`mask_credentials`] on its way out, whatever built it (an
//! error quoting a requirement, a library's error naming a URL): this is the one place no
//! message can forget.

use std::io::{IsTerminal, Write};

use crate::safe_url::mask_credentials;

/// Whether output is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stderr is a terminal.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Errors, warnings and a summary.
    Normal,
    /// Everything.
    Verbose,
}

/// Writes messages to stderr.
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    verbosity: Verbosity,
    styled: bool,
}

impl Reporter {
    /// A reporter for the given verbosity and colour choice.
    pub fn new(verbosity: Verbosity, color: ColorChoice) -> Self {
        let styled = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Self { verbosity, styled }
    }

    /// Whether to colour output.
    pub fn styled(&self) -> bool {
        self.styled
    }

    /// The verbosity.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    fn write(&self, prefix: &str, color: &str, message: &str) {
        let message = mask_credentials(message);
        let mut err = std::io::stderr().lock();
        let _ = if prefix.is_empty() {
            writeln!(err, "{message}")
        } else if self.styled {
            writeln!(err, "\x1b[1;{color}m{prefix}\x1b[0m: {message}")
        } else {
            writeln!(err, "{prefix}: {message}")
        };
    }

    /// An error: always shown.
    pub fn error(&self, message: &str) {
        self.write("error", "31", message);
    }

    /// How to fix the error just reported: always shown.
    pub fn help(&self, message: &str) {
        self.write("help", "32", message);
    }

    /// Pre-rendered text (diagnostics): always shown.
    pub fn raw(&self, text: &str) {
        self.write("", "", text);
    }

    /// A warning: shown unless quiet.
    pub fn warn(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.write("warning", "33", message);
        }
    }

    /// A detail: shown when verbose.
    pub fn info(&self, message: &str) {
        if self.verbosity >= Verbosity::Verbose {
            self.write("note", "36", message);
        }
    }

    /// The closing summary: shown unless quiet.
    pub fn summary(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.write("", "", message);
        }
    }
}

/// `1 pin`, `2 pins`: a count with its noun, plural when the count is not one.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
