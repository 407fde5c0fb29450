#!/usr/bin/env bash
# Benchmark: `pinguard lock --no-dependencies` at scale — time and memory against the number of
# pins, pages (projects) and page bytes, to see that the cost grows with pages and bytes, not
# with files or pins squared.
#
#   examples/bench_scale.sh [RUNS]
#
# Inputs are made at run time in a temporary directory (nothing downloaded is kept):
#
# - `union`: every name/version pair of OpenStack's master and stable/2025.2 upper-constraints
#   (../shared/data/openstack), one line each, with the marker of the first line that pins it.
#   A constraints file cannot pin one project twice under one marker (pinguard refuses it, as
#   pip would: `x===1` and `x===2` cannot both be installed), so a second version of a project
#   under the same marker gets an always-true clause, `platform_release != "bench-N"`, that
#   makes it an entry of its own;
# - `k2`, `k4` … `k32`: the union plus, for each project, the K final releases before its
#   master pin (from the index's PEP 691 JSON page, `versions`, among those with files), each
#   with its own clause as above: more pins, the same pages;
# - `k4-150`, `k4-300`…: the pins of `k4` for that many of its projects (chosen by a hash of
#   the name, so that each subset holds the smaller ones): more pages, the same pins per page.
#
# For each input, RUNS rounds (default 3) of:
#
# - **cold**: `lock --no-dependencies` with an empty `--cache-dir`, its requests traced
#   (`PINGUARD_TRACE_HTTP`), which gives the pages, their bytes and the other requests;
# - **re-lock**: the same again, the lock of the cold run in place (entries reused, no query);
# - **refresh**: `lock --refresh` over that lock (every project asked, files compared);
# - **offline**: `lock --offline` into a new lock from the cold run's cache: pinguard's own
#   cost (reading and parsing pages, choosing files, writing), no network;
# - **check**: `lock --check` (the lock against its source, no network).
#
# Then once, the union with dependencies read (the default), cold; its warnings are counted.
# Prints the medians [min–max] and peak RSS per input, then the cost per page, per MB of pages
# and per pin. Wall time and peak RSS come from `/usr/bin/time -f '%e %M'`.
#
#   cargo build --release && examples/bench_scale.sh 3
#   KS="2 4 8 16 32" SUBSETS="150 300" PINGUARD=target/release/pinguard examples/bench_scale.sh
#   KEEP=/tmp/scale examples/bench_scale.sh 1   # keep inputs, locks, caches and traces
set -euo pipefail

runs=${1:-3}
here=$(cd "$(dirname "$0")" && pwd)
pinguard=$(realpath "${PINGUARD:-$here/../target/release/pinguard}")
data=${DATA:-$here/../../shared/data/openstack}
index=${INDEX:-https://pypi.org/simple}
ks=${KS:-2 4 8 16 32}
subsets=${SUBSETS:-150 300}
if [ -n "${KEEP:-}" ]; then
    work=$KEEP # kept afterwards: inputs, locks, traces, for profiling
    rm -rf "$work" && mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
[ -x "$pinguard" ] || { echo "build pinguard first: cargo build --release" >&2; exit 2; }

echo "making inputs in $work (versions from $index) ..." >&2
python3 - "$data" "$index" "$work/inputs" "$ks" "$subsets" <<'PY'
import hashlib, json, os, re, shutil, subprocess, sys

data, index, out, ks, subsets = sys.argv[1:]
ks = [int(k) for k in ks.split()]
subsets = [int(n) for n in subsets.split()]
os.makedirs(out)

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

# project -> {version: (name as written, marker)}, in reading order: master first.
pins = {}
for branch in ("master", "stable-2025.2"):
    for line in open(f"{data}/upper-constraints-{branch}.txt"):
        line = line.split("#")[0].strip()
        if "===" not in line:
            continue
        name, rest = line.split("===", 1)
        version, _, marker = rest.partition(";")
        pins.setdefault(norm(name), {}).setdefault(version.strip(), (name, marker.strip()))

def release(version):
    """The release tuple of a final version, else None."""
    return tuple(map(int, version.split("."))) if re.fullmatch(r"\d+(\.\d+)*", version) else None

def file_version(filename, project):
    """The version in a wheel or sdist name (enough to tell which versions have files)."""
    if filename.endswith(".whl"):
        parts = filename.split("-")
        return parts[1] if len(parts) >= 5 else None
    for ext in (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"):
        if filename.endswith(ext):
            stem = filename[: -len(ext)]
            return stem.rsplit("-", 1)[1] if "-" in stem else None
    return None

# Every page at once over one HTTP/2 connection (curl), not a connection and a DNS query each.
pages = f"{out}/.pages"
os.makedirs(pages)
requests = [
    f'url = "{index.rstrip("/")}/{project}/"\noutput = "{pages}/{project}.json"\n'
    'header = "Accept: application/vnd.pypi.simple.v1+json"\ncompressed\nfail\n'
    for project in sorted(pins)
]
with open(f"{pages}/curl.cfg", "w") as cfg:
    cfg.write("next\n".join(requests))
subprocess.run(["curl", "--http2", "--parallel", "--parallel-max", "32", "--silent", "--no-progress-meter",
                "--show-error", "--retry", "3", "-K", f"{pages}/curl.cfg"], check=True)

def history(project):
    with open(f"{pages}/{project}.json") as f:
        page = json.load(f)
    with_files = {file_version(f["filename"], project) for f in page["files"]}
    return project, [v for v in page["versions"] if v in with_files and release(v)]

versions = dict(map(history, sorted(pins)))
shutil.rmtree(pages)

def write(path, projects, k):
    lines = 0
    with open(path, "w") as f:
        for project in projects:
            entries = dict(pins[project])
            first = next(iter(entries))  # the master pin, else stable's first
            name, marker = entries[first]
            top = release(first) or (0,)
            older = sorted((v for v in versions[project] if release(v) < top), key=release)
            for v in reversed(older[-k:] if k else []):
                entries.setdefault(v, (name, marker))
            seen = {}
            for version, (name, marker) in entries.items():
                n = seen.get(marker, 0)
                seen[marker] = n + 1
                if n:
                    clause = f'platform_release != "bench-{n}"'
                    marker = f"{marker} and {clause}" if marker else clause
                f.write(f"{name}==={version}" + (f";{marker}" if marker else "") + "\n")
                lines += 1
    return lines

projects = sorted(pins)
write(f"{out}/union.txt", projects, 0)
for k in ks:
    write(f"{out}/k{k}.txt", projects, k)
by_hash = sorted(projects, key=lambda p: hashlib.sha256(p.encode()).hexdigest())
k = 4 if 4 in ks else ks[0]
for n in subsets:
    write(f"{out}/k{k}-{n}.txt", sorted(by_hash[:n]), k)
PY

inputs=(union)
for k in $ks; do inputs+=("k$k"); done
ksub=${ks%% *} # the subsets are of k4, else of the first k
for k in $ks; do if [ "$k" = 4 ]; then ksub=4; fi; done
for n in $subsets; do inputs+=("k$ksub-$n"); done

results=$work/results.tsv # input run phase seconds kib
sizes=$work/sizes.tsv     # input run pins pages page_bytes other_requests files

# Runs pinguard under /usr/bin/time; appends a result line. Its stderr goes to $work/last.err.
timed() {
    local input=$1 run=$2 phase=$3
    shift 3
    local status=0
    /usr/bin/time -f '%e %M' -o "$work/time" "$pinguard" "$@" > /dev/null 2> "$work/last.err" \
        || status=$?
    if [ "$status" != 0 ] && [ "$phase" != check ]; then
        echo "$input $phase failed ($status):" >&2
        tail -20 "$work/last.err" >&2
        exit 1
    fi
    printf '%s\t%s\t%s\t%s\n' "$input" "$run" "$phase" "$(tail -1 "$work/time" | tr ' ' '\t')" >> "$results"
}

for run in $(seq 1 "$runs"); do
    for input in "${inputs[@]}"; do
        src=$work/inputs/$input.txt
        dir=$work/$input-$run
        mkdir -p "$dir"
        lock=$dir/pylock.toml
        common=(-q lock "$src" --no-dependencies --index-url "$index" --cache-dir "$dir/cache")
        PINGUARD_TRACE_HTTP=$dir/trace.tsv timed "$input" "$run" cold "${common[@]}" -o "$lock"
        pins=$(grep -c . "$src")
        files=$(grep -c 'hashes = { sha256' "$lock")
        awk -F'\t' -v idx="${index%/}/" -v i="$input" -v r="$run" -v p="$pins" -v f="$files" '
            index($6, idx) == 1 { pages++; bytes += $4; next } { other++ }
            END { printf "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", i, r, p, pages, bytes, other, f }
        ' "$dir/trace.tsv" >> "$sizes"
        timed "$input" "$run" re-lock "${common[@]}" -o "$lock"
        timed "$input" "$run" refresh "${common[@]}" -o "$lock" --refresh
        timed "$input" "$run" offline "${common[@]}" -o "$dir/pylock.offline.toml" --offline
        cmp -s <(grep -v '^source' "$lock") <(grep -v '^source' "$dir/pylock.offline.toml") \
            || echo "note: $input: the offline lock differs from the cold one" >&2
        timed "$input" "$run" check "${common[@]}" -o "$lock" --check
        [ -n "${KEEP:-}" ] || rm -rf "$dir/cache"
        echo "run $run $input: $(grep -P "^$input\t$run\t" "$results" | cut -f3,4 | tr '\t\n' '  ')" >&2
    done
done

echo "union with dependencies read (the default), cold, once ..." >&2
dir=$work/deps
mkdir -p "$dir"
status=0
/usr/bin/time -f '%e %M' -o "$work/time" "$pinguard" lock "$work/inputs/union.txt" \
    --index-url "$index" --cache-dir "$dir/cache" -o "$dir/pylock.toml" \
    > "$dir/out" 2> "$dir/err" || status=$?
read -r deps_seconds deps_kib < <(tail -1 "$work/time")

python3 - "$results" "$sizes" "$runs" <<'PY'
import collections, statistics, sys

results, sizes, runs = sys.argv[1:]
times = collections.defaultdict(list)
kib = collections.defaultdict(int)
for line in open(results):
    input, run, phase, seconds, k = line.split()
    times[input, phase].append(float(seconds))
    kib[input] = max(kib[input], int(k))
size = {}
for line in open(sizes):
    input, run, pins, pages, bytes, other, files = line.split("\t")
    size.setdefault(input, (int(pins), int(pages), int(bytes), int(other), int(files)))
inputs = list(size)

def med(input, phase):
    return statistics.median(times[input, phase])

def cell(input, phase):
    t = sorted(times[input, phase])
    return f"{med(input, phase):5.2f} [{t[0]:.2f}-{t[-1]:.2f}]"

print(f"\npinguard lock --no-dependencies, {runs} runs each: median [min-max] seconds")
print(f"{'input':<9} {'pins':>5} {'pages':>5} {'MB':>6} {'files':>6} {'other':>5}  "
      f"{'cold':<17} {'re-lock':<17} {'refresh':<17} {'offline':<17} {'check':<17} {'peak MiB':>8}")
for i in inputs:
    pins, pages, bytes, other, files = size[i]
    print(f"{i:<9} {pins:>5} {pages:>5} {bytes / 1e6:>6.1f} {files:>6} {other:>5}  "
          + " ".join(f"{cell(i, p):<17}" for p in ("cold", "re-lock", "refresh", "offline", "check"))
          + f" {kib[i] / 1024:>8.0f}")
print("\nper unit (medians): ms per page, ms per MB of pages, µs per pin")
print(f"{'input':<9} {'cold/page':>9} {'cold/MB':>8} {'off/page':>9} {'off/MB':>8} "
      f"{'off/pin':>8} {'relock/pin':>10} {'check/pin':>9}")
for i in inputs:
    pins, pages, bytes, other, files = size[i]
    mb = bytes / 1e6
    print(f"{i:<9} {med(i, 'cold') / pages * 1e3:>9.2f} {med(i, 'cold') / mb * 1e3:>8.1f} "
          f"{med(i, 'offline') / pages * 1e3:>9.2f} {med(i, 'offline') / mb * 1e3:>8.1f} "
          f"{med(i, 'offline') / pins * 1e6:>8.0f} {med(i, 're-lock') / pins * 1e6:>10.0f} "
          f"{med(i, 'check') / pins * 1e6:>9.0f}")
PY

echo
echo "union, dependencies read (default), cold, once: exit $status, ${deps_seconds} s, $((deps_kib / 1024)) MiB peak"
echo "  $(grep -c '^warning' "$dir/err" || true) warning lines; $(grep -c . "$dir/err" || true) lines on stderr; last lines:"
grep -v '^\s*$' "$dir/err" | tail -4 | sed 's/^/    /' | cut -c1-160
