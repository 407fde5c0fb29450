//! The file a trace variable names (`PINGUARD_TRACE_HTTP`: [`crate::http`]'s requests;
//! `PINGUARD_TRACE_STEPS`: [`crate::steps`]), and the clock its lines count from. Not a user
//! setting: each variable is read once, and a file that cannot be opened turns its trace off.

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// An open trace file, appended to by every thread, with the instant its times count from.
pub(crate) struct TraceFile {
    epoch: Instant,
    file: Mutex<File>,
}

impl TraceFile {
    /// The trace `cell` holds, opened from `variable` on the first call (see [`Self::open`]).
    pub(crate) fn once(
        cell: &'static OnceLock<Option<Self>>,
        variable: &str,
    ) -> Option<&'static Self> {
        cell.get_or_init(|| Self::open(variable)).as_ref()
    }

    /// The file the environment variable `variable` names, opened for appending now (the
    /// epoch); `None` when the variable is unset or the file cannot be opened.
    fn open(variable: &str) -> Option<Self> {
        let path = std::env::var_os(variable)?;
        let file = File::options().create(true).append(true).open(path).ok()?;
        Some(Self {
            epoch: Instant::now(),
            file: Mutex::new(file),
        })
    }

    /// Milliseconds from the epoch to `at` (0 for an instant before it).
    pub(crate) fn millis(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.epoch).as_secs_f64() * 1e3
    }

    /// Appends `line` (which ends in a newline) whole; a failed write is ignored.
    pub(crate) fn write_line(&self, line: &str) {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = file.write_all(line.as_bytes());
    }
}
