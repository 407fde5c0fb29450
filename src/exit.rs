//! Exit codes, defined in one place and documented in the README.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | done; nothing wrong found |
//! | 1 | pinguard ran and found a problem: a pin the index lacks, digests that drift from the lock, findings of `check` or `audit`, a lock that is not current (`lock --check`), a changed digest (`diff`) |
//! | 2 | pinguard could not do the job: bad arguments, an unreadable or invalid input file, network or disk failure |

use std::process::ExitCode;

/// How a command ended; ordered from best to worst, so that `max` keeps the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Done, nothing wrong.
    Success,
    /// Ran, and found a problem the user must look at.
    Failure,
    /// Could not run.
    Error,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Error => 2,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}
