//! Benchmark: `pinguard lock` beside `uv pip compile --no-deps --generate-hashes --universal`,
//! and each pinguard lock as a ratio to its transfer floor, measured in the same run.
//!
//! Serves the index snapshot (`../shared/data/index-snapshot`, PEP 503 HTML pages of every
//! pinned project) on 127.0.0.1 with a fixed delay before every response, standing in for the
//! network, and locks the same constraints file with both tools, alternating, several runs:
//!
//! - **cold**: empty cache, no existing lock;
//! - **warm**: the cache of the previous run, no existing lock (the snapshot sends no ETag or
//!   Last-Modified, like the mirror, so both tools ask again);
//! - **re-lock** (pinguard): the lock of the previous run exists and the input is unchanged.
//!
//! pinguard locks hash-only (`--no-dependencies`), as uv's `--no-deps` does. With `--public`,
//! the same against the public index, and also pinguard's default lock, which reads every
//! package's dependencies (cold, then warm: metadata cached, pages asked again).
//!
//! ```sh
//! cargo build --release && pip install uv
//! cargo run --release --example bench_lock -- --runs 5 --delay-ms 50
//! cargo run --release --example bench_lock -- --runs 5 --public --uv "$(command -v uv)"
//! ```
//!
//! Wall time, peak memory and CPU time (user + system) come from `/usr/bin/time`; each
//! figure is a median of wall and CPU time, with the wall range and the highest peak. Each
//! cold pinguard run
//! writes a trace of its requests (`PINGUARD_TRACE_HTTP`), and the **floor** is curl making
//! exactly those requests (URLs and ranges) right after it, all known up front, 64 at a time
//! over one HTTP/2 connection: the ratio says how far pinguard is from moving the same bytes
//! as fast as the connection allows. Beside it, `CPU / (cores x floor)`: the least ratio the
//! run's CPU time allows on this machine, however well its work overlapped the transfer.

// The test server and its parts, shared with the integration tests.
#[allow(dead_code)]
#[path = "../../tests/support/encode.rs"]
mod encode;
#[allow(dead_code)]
#[path = "../../tests/support/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../../tests/support/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../../tests/support/site.rs"]
mod site;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use server::{Site, TestServer};

struct Options {
    runs: usize,
    delay: Duration,
    snapshot: PathBuf,
    constraints: PathBuf,
    pinguard: PathBuf,
    uv: String,
    public: bool,
}

fn parse_args() -> Options {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/data");
    let mut options = Options {
        runs: 5,
        delay: Duration::from_millis(50),
        snapshot: shared.join("index-snapshot"),
        constraints: shared.join("openstack/upper-constraints-master.txt"),
        pinguard: root.join("target/release/pinguard"),
        uv: "uv".to_owned(),
        public: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => options.runs = value().parse().expect("--runs N"),
            "--delay-ms" => {
                options.delay = Duration::from_millis(value().parse().expect("--delay-ms N"))
            }
            "--snapshot" => options.snapshot = value().into(),
            "--constraints" => options.constraints = value().into(),
            "--pinguard" => options.pinguard = value().into(),
            // Commands run in a scratch directory: a relative path is made absolute here.
            "--uv" => {
                let uv = value();
                options.uv = match std::path::absolute(&uv) {
                    Ok(path) if uv.contains('/') => path.display().to_string(),
                    _ => uv,
                };
            }
            "--public" => options.public = true,
            other => panic!("unknown argument {other}"),
        }
    }
    options
}

/// One timed run: wall seconds and peak resident KiB.
#[derive(Clone, Copy)]
struct Sample {
    seconds: f64,
    kib: u64,
    /// User and system CPU time: on a machine of two cores, a run that needs more than twice
    /// the floor's CPU cannot reach the floor however the requests are scheduled.
    cpu: f64,
}

fn timed(program: &str, args: &[&str], dir: &Path) -> Sample {
    timed_with(program, args, dir, &[])
}

fn timed_with(program: &str, args: &[&str], dir: &Path, env: &[(&str, &Path)]) -> Sample {
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("TIMED %e %M %U %S")
        .arg(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("UV_INDEX_URL")
        .output()
        .expect("/usr/bin/time runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{stderr}"
    );
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("TIMED "))
        .expect("time's output");
    let mut fields = line.split_whitespace().skip(1);
    let mut number = || -> f64 { fields.next().unwrap().parse().unwrap() };
    let (seconds, kib, user, system) = (number(), number(), number(), number());
    Sample {
        seconds,
        kib: kib as u64,
        cpu: user + system,
    }
}

fn summary(samples: &[Sample]) -> String {
    let mut seconds: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    let peak = samples.iter().map(|s| s.kib).max().unwrap_or(0);
    let mut cpu: Vec<f64> = samples.iter().map(|s| s.cpu).collect();
    cpu.sort_by(f64::total_cmp);
    format!(
        "median {median:.2} s (min {:.2}, max {:.2}), cpu {:.2} s, peak {:.0} MiB",
        seconds[0],
        seconds[seconds.len() - 1],
        cpu[cpu.len() / 2],
        peak as f64 / 1024.0
    )
}

struct Bench<'a> {
    options: &'a Options,
    work: &'a Path,
    index_url: Option<String>,
}

impl Bench<'_> {
    fn index_args(&self) -> Vec<String> {
        match &self.index_url {
            Some(url) => vec!["--index-url".into(), url.clone()],
            None => vec![],
        }
    }

    /// A pinguard lock: hash-only (`--no-dependencies`, as `uv pip compile --no-deps` is) or
    /// with dependencies (the default), its requests traced to `trace` when given.
    fn pinguard(&self, mode: Mode, cache: &Path, output: &Path, trace: Option<&Path>) -> Sample {
        let constraints = self.options.constraints.display().to_string();
        let cache = cache.display().to_string();
        let output = output.display().to_string();
        let mut args = vec![
            "-q",
            "lock",
            &constraints,
            "-o",
            &output,
            "--cache-dir",
            &cache,
        ];
        if mode == Mode::HashOnly {
            args.push("--no-dependencies");
        }
        let index = self.index_args();
        args.extend(index.iter().map(String::as_str));
        let env: Vec<(&str, &Path)> = trace
            .map(|t| ("PINGUARD_TRACE_HTTP", t))
            .into_iter()
            .collect();
        if let Some(trace) = trace {
            let _ = std::fs::remove_file(trace);
        }
        timed_with(
            self.options.pinguard.to_str().unwrap(),
            &args,
            self.work,
            &env,
        )
    }

    /// The transfer floor of a traced run: curl making exactly the requests pinguard made
    /// (same URLs, same ranges), all at once up to `--parallel-max 64` (pinguard's default
    /// `--concurrency`) over one HTTP/2 connection, into nothing. curl knows every request
    /// up front; pinguard learns a wheel's metadata range only from the answer before it.
    fn floor(&self, trace: &Path) -> Sample {
        let config = self.work.join("curl.cfg");
        let text = std::fs::read_to_string(trace).expect("the trace pinguard wrote");
        let groups: Vec<String> = text
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                let [_, _, status, _, range, url] = fields[..] else {
                    return None;
                };
                (status != "-").then(|| curl_request(url, range))
            })
            .collect();
        std::fs::write(&config, groups.join("next\n")).unwrap();
        let config = config.display().to_string();
        let args = [
            "--http2",
            "--parallel",
            "--parallel-max",
            "64",
            "-K",
            &config,
        ];
        timed("curl", &args, self.work)
    }

    fn uv(&self, cache: &Path, output: &Path) -> Sample {
        let constraints = self.options.constraints.display().to_string();
        let cache = cache.display().to_string();
        let output = output.display().to_string();
        let mut args = vec![
            "pip",
            "compile",
            "-q",
            "--no-deps",
            "--generate-hashes",
            "--universal",
            &constraints,
            "-o",
            &output,
            "--cache-dir",
            &cache,
        ];
        let index = self.index_args();
        args.extend(index.iter().map(String::as_str));
        timed(&self.options.uv, &args, self.work)
    }

    fn run(&self, label: &str, with_dependencies: bool) {
        let runs = self.options.runs;
        let mut samples: std::collections::BTreeMap<&str, Vec<Sample>> = Default::default();
        let mut ratios: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
        let mut add =
            |what: &'static str, sample: Sample| samples.entry(what).or_default().push(sample);
        for run in 0..runs {
            let dir = self.work.join(format!("{label}-{run}"));
            std::fs::create_dir_all(&dir).unwrap();
            let lock = dir.join("pylock.toml");
            let trace = dir.join("trace.tsv");
            // Alternate which tool goes first, so neither always meets a cold server.
            let pinguard_first = run % 2 == 0;
            let mut go = |first: bool| {
                if first == pinguard_first {
                    let cache = dir.join("p-cache");
                    let cold = self.pinguard(Mode::HashOnly, &cache, &lock, Some(&trace));
                    let floor = self.floor(&trace);
                    ratios
                        .entry("hash-only cold / its floor")
                        .or_default()
                        .push(cold.seconds / floor.seconds);
                    ratios
                        .entry("hash-only cold CPU / (cores x floor)")
                        .or_default()
                        .push(cpu_bound(cold, floor));
                    add("hash-only pinguard cold", cold);
                    add("hash-only curl floor", floor);
                    add(
                        "hash-only pinguard re-lock",
                        self.pinguard(Mode::HashOnly, &cache, &lock, None),
                    );
                    std::fs::remove_file(&lock).unwrap();
                    let warm = self.pinguard(Mode::HashOnly, &cache, &lock, None);
                    add("hash-only pinguard warm", warm);
                    if with_dependencies {
                        std::fs::remove_file(&lock).unwrap();
                        let cache = dir.join("p-cache-deps");
                        let cold = self.pinguard(Mode::Dependencies, &cache, &lock, Some(&trace));
                        let floor = self.floor(&trace);
                        ratios
                            .entry("dependencies cold / its floor")
                            .or_default()
                            .push(cold.seconds / floor.seconds);
                        ratios
                            .entry("dependencies cold CPU / (cores x floor)")
                            .or_default()
                            .push(cpu_bound(cold, floor));
                        add("deps pinguard cold", cold);
                        add("deps curl floor", floor);
                        std::fs::remove_file(&lock).unwrap();
                        let warm_deps = self.pinguard(Mode::Dependencies, &cache, &lock, None);
                        ratios
                            .entry("dependencies warm / hash-only warm")
                            .or_default()
                            .push(warm_deps.seconds / warm.seconds);
                        add("deps pinguard warm", warm_deps);
                    }
                    std::fs::remove_file(&lock).unwrap();
                } else {
                    add(
                        "hash-only uv cold",
                        self.uv(&dir.join("u-cache"), &dir.join("uv.txt")),
                    );
                    add(
                        "hash-only uv warm",
                        self.uv(&dir.join("u-cache"), &dir.join("uv2.txt")),
                    );
                }
            };
            go(true);
            go(false);
        }
        println!("{label}, {runs} runs each:");
        for (what, samples) in &samples {
            println!("  {what:<28} {}", summary(samples));
        }
        for (what, ratios) in &mut ratios {
            ratios.sort_by(f64::total_cmp);
            println!(
                "  {what}: median {:.2}x (min {:.2}, max {:.2})",
                ratios[ratios.len() / 2],
                ratios[0],
                ratios[ratios.len() - 1]
            );
        }
    }
}

/// The least ratio to the floor a run's CPU time allows: its CPU spread over every core,
/// against the floor's wall time. Near 1, the machine's cores, not the scheduling of
/// requests, bound how close to the floor the run can come.
fn cpu_bound(run: Sample, floor: Sample) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    run.cpu / cores / floor.seconds
}

/// Which lock pinguard makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `--no-dependencies`.
    HashOnly,
    /// The default: dependencies read and recorded.
    Dependencies,
}

/// One request of a curl config file: the URL, its range, the header pinguard sends for a
/// simple page, no output and no progress meter.
fn curl_request(url: &str, range: &str) -> String {
    let mut request = format!("url = \"{url}\"\noutput = \"/dev/null\"\nsilent\n");
    if let Some(range) = range.strip_prefix("bytes=") {
        request.push_str(&format!("range = \"{range}\"\n"));
    }
    if url.contains("/simple/") {
        request.push_str("header = \"Accept: application/vnd.pypi.simple.v1+json\"\n");
    }
    request
}

fn main() {
    let options = parse_args();
    assert!(
        options.pinguard.exists(),
        "build pinguard first: cargo build --release ({} missing)",
        options.pinguard.display()
    );
    let work = tempfile::tempdir().expect("a work directory");

    let site = Site::new();
    site.serve_dir("/", &options.snapshot);
    site.set_latency(options.delay);
    let server = TestServer::start(site);
    let local = Bench {
        options: &options,
        work: work.path(),
        index_url: Some(server.url("/simple/")),
    };
    // The snapshot holds pages, not files: dependencies are read from the public index.
    local.run(
        &format!(
            "local snapshot, {} ms per request",
            options.delay.as_millis()
        ),
        false,
    );

    if options.public {
        let public = Bench {
            options: &options,
            work: work.path(),
            index_url: None,
        };
        public.run("public index", true);
    }
}
