//! `PINGUARD_TRACE_STEPS=FILE`: one line per step of `install` and `sync`, for benchmarks and
//! for seeing where an install's time goes (the requests' own trace is [`crate::http`]'s
//! `PINGUARD_TRACE_HTTP`).
//!
//! Each line is `START_MS END_MS STEP`, tab-separated: milliseconds since the command started,
//! when the step started and ended, and what it was (`read the lock`, `run uv`, ...). Steps on
//! other threads (the interpreter's probe) overlap the others. `examples/bench_install.sh`
//! gives each step's median. Not a user setting: the variable is read once, and a file that
//! cannot be opened turns tracing off.

use std::sync::OnceLock;
use std::time::Instant;

use crate::trace::TraceFile;

fn trace() -> Option<&'static TraceFile> {
    static TRACE: OnceLock<Option<TraceFile>> = OnceLock::new();
    TraceFile::once(&TRACE, "PINGUARD_TRACE_STEPS")
}

/// Starts the trace's clock, so that times count from the command's start.
pub fn start() {
    let _ = trace();
}

/// A step being timed: its line is written when it is dropped. Does nothing when tracing is
/// off.
#[must_use = "a step is timed until it is dropped"]
pub struct Step {
    name: &'static str,
    started: Option<Instant>,
}

/// Starts timing the step `name`.
pub fn step(name: &'static str) -> Step {
    Step {
        name,
        started: trace().map(|_| Instant::now()),
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        let (Some(trace), Some(started)) = (trace(), self.started) else {
            return;
        };
        trace.write_line(&format!(
            "{:.1}\t{:.1}\t{}\n",
            trace.millis(started),
            trace.millis(Instant::now()),
            self.name
        ));
    }
}
