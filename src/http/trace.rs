//! `PINGUARD_TRACE_HTTP=FILE`: one line per request, for benchmarks and for seeing where a
//! run's time goes.
//!
//! Each line is `START_MS END_MS STATUS BYTES RANGE URL`, tab-separated: milliseconds since
//! the first request of the run, the status (`-` when no answer came), the decoded body bytes
//! read, the `Range` header sent (`-` for none), and the URL with any credentials masked.
//! `examples/bench_lock` replays a trace with curl to measure the transfer floor of exactly
//! the requests pinguard made. Not a user setting: the variable is read once, and a file that
//! cannot be opened turns tracing off.

use std::sync::OnceLock;
use std::time::Instant;

use crate::safe_url::SafeUrl;
use crate::trace::TraceFile;

fn trace() -> Option<&'static TraceFile> {
    static TRACE: OnceLock<Option<TraceFile>> = OnceLock::new();
    TraceFile::once(&TRACE, "PINGUARD_TRACE_HTTP")
}

/// One finished request, when tracing is on.
pub(super) struct Request<'a> {
    /// When it was sent.
    pub started: Instant,
    /// Its URL.
    pub url: &'a SafeUrl,
    /// The `Range` header it sent.
    pub range: Option<&'a str>,
    /// The status, when an answer came.
    pub status: Option<u16>,
    /// Body bytes read.
    pub bytes: u64,
}

/// Writes `request`'s line, when `PINGUARD_TRACE_HTTP` is set.
pub(super) fn record(request: &Request<'_>) {
    let Some(trace) = trace() else {
        return;
    };
    let line = format!(
        "{:.1}\t{:.1}\t{}\t{}\t{}\t{}\n",
        trace.millis(request.started),
        trace.millis(Instant::now()),
        request.status.map_or("-".to_owned(), |s| s.to_string()),
        request.bytes,
        request.range.unwrap_or("-"),
        request.url,
    );
    trace.write_line(&line);
}

/// Starts the trace's clock, so that times count from the run's first request.
pub(super) fn start() {
    let _ = trace();
}
