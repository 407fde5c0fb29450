//! Benchmark: `pinguard lock` beside `uv pip compile --no-deps --generate-hashes --universal`.
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
//! With `--public`, also both tools cold against the public index (needs network).
//!
//! ```sh
//! cargo build --release && pip install uv
//! cargo run --release --example bench_lock -- --runs 5 --delay-ms 50
//! cargo run --release --example bench_lock -- --runs 5 --public
//! ```
//!
//! Wall time and peak memory come from `/usr/bin/time -f '%e %M'`. Each run also measures the
//! transfer floor — curl fetching the same pages over HTTP/2, 64 at a time — and prints
//! pinguard's cold lock as a ratio to it.

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
            "--uv" => options.uv = value(),
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
}

fn timed(program: &str, args: &[&str], dir: &Path) -> Sample {
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("TIMED %e %M")
        .arg(program)
        .args(args)
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
    Sample {
        seconds: fields.next().unwrap().parse().unwrap(),
        kib: fields.next().unwrap().parse().unwrap(),
    }
}

fn summary(samples: &[Sample]) -> String {
    let mut seconds: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    let peak = samples.iter().map(|s| s.kib).max().unwrap_or(0);
    format!(
        "median {median:.2} s (min {:.2}, max {:.2}), peak {:.0} MiB",
        seconds[0],
        seconds[seconds.len() - 1],
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

    fn pinguard(&self, cache: &Path, output: &Path) -> Sample {
        let constraints = self.options.constraints.display().to_string();
        let cache = cache.display().to_string();
        let output = output.display().to_string();
        // Hash-only, as `uv pip compile --no-deps` is (reading dependencies is the default).
        let mut args = vec![
            "-q",
            "lock",
            "--no-dependencies",
            &constraints,
            "-o",
            &output,
            "--cache-dir",
            &cache,
        ];
        let index = self.index_args();
        args.extend(index.iter().map(String::as_str));
        timed(self.options.pinguard.to_str().unwrap(), &args, self.work)
    }

    /// The transfer floor: curl fetching the same project pages (PEP 691 JSON) over one
    /// HTTP/2 connection, 64 at a time, into nothing.
    fn floor(&self) -> Sample {
        let base = self
            .index_url
            .clone()
            .unwrap_or_else(|| "https://pypi.org/simple/".to_owned());
        let config = self.work.join("curl.cfg");
        let lines: String = project_names(&self.options.constraints)
            .iter()
            .map(|name| format!("url = \"{base}{name}/\"\noutput = \"/dev/null\"\n"))
            .collect();
        std::fs::write(&config, lines).unwrap();
        let config = config.display().to_string();
        let args = [
            "-s",
            "--fail",
            "--http2",
            "--parallel",
            "--parallel-max",
            "64",
            "-H",
            "Accept: application/vnd.pypi.simple.v1+json",
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

    fn run(&self, label: &str) {
        let runs = self.options.runs;
        let (mut p_cold, mut p_warm, mut p_relock, mut u_cold, mut u_warm) =
            (vec![], vec![], vec![], vec![], vec![]);
        let (mut floors, mut ratios) = (vec![], vec![]);
        for run in 0..runs {
            let dir = self.work.join(format!("{label}-{run}"));
            std::fs::create_dir_all(&dir).unwrap();
            let lock = dir.join("pylock.toml");
            // Alternate which tool goes first, so neither always meets a cold server.
            let pinguard_first = run % 2 == 0;
            let mut go = |first: bool| {
                if first == pinguard_first {
                    p_cold.push(self.pinguard(&dir.join("p-cache"), &lock));
                    p_relock.push(self.pinguard(&dir.join("p-cache"), &lock));
                    std::fs::remove_file(&lock).unwrap();
                    p_warm.push(self.pinguard(&dir.join("p-cache"), &lock));
                } else {
                    u_cold.push(self.uv(&dir.join("u-cache"), &dir.join("uv.txt")));
                    u_warm.push(self.uv(&dir.join("u-cache"), &dir.join("uv2.txt")));
                }
            };
            go(true);
            go(false);
            // The floor right after pinguard's cold run, for a ratio within the same run.
            let floor = self.floor();
            ratios.push(p_cold[run].seconds / floor.seconds);
            floors.push(floor);
        }
        ratios.sort_by(f64::total_cmp);
        println!("{label}, {runs} runs each:");
        println!("  pinguard cold     {}", summary(&p_cold));
        println!("  uv       cold     {}", summary(&u_cold));
        println!("  pinguard warm     {}", summary(&p_warm));
        println!("  uv       warm     {}", summary(&u_warm));
        println!("  pinguard re-lock  {}", summary(&p_relock));
        println!("  curl floor        {}", summary(&floors));
        println!(
            "  pinguard cold / floor: median {:.2}x (min {:.2}, max {:.2})",
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1]
        );
    }
}

/// The normalized project names a constraints file pins (PEP 503), each once.
fn project_names(constraints: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(constraints).expect("the constraints file");
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect();
        if name.is_empty() {
            continue;
        }
        let mut normalized = String::new();
        for c in name.to_ascii_lowercase().chars() {
            if "-_.".contains(c) {
                if !normalized.ends_with('-') {
                    normalized.push('-');
                }
            } else {
                normalized.push(c);
            }
        }
        if !names.contains(&normalized) {
            names.push(normalized);
        }
    }
    names
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
    local.run(&format!(
        "local snapshot, {} ms per request",
        options.delay.as_millis()
    ));

    if options.public {
        let public = Bench {
            options: &options,
            work: work.path(),
            index_url: None,
        };
        public.run("public index");
    }
}
