#!/usr/bin/env bash
# Benchmark: `pinguard verify` beside sha256sum and openssl over the same wheelhouse.
#
#   examples/bench_verify.sh LOCK DIR [RUNS]
#
# DIR should hold at least 1 GiB (e.g. `pinguard fetch LOCK --dest DIR --all`). The files are
# read once first so that every tool reads them from the page cache; then the tools run
# alternately, RUNS rounds (default 5). sha256sum and `openssl dgst` run as one process over
# all files (one core), and openssl also as one process per core (xargs -P), the fairest
# parallel comparison. Prints each run's wall time and throughput, then the medians.
set -euo pipefail

lock=${1:?usage: bench_verify.sh LOCK DIR [RUNS]}
dir=${2:?usage: bench_verify.sh LOCK DIR [RUNS]}
runs=${3:-5}
pinguard=${PINGUARD:-$(dirname "$0")/../target/release/pinguard}
cores=$(nproc)

bytes=$(find "$dir" -maxdepth 1 -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
files=$(find "$dir" -maxdepth 1 -type f | wc -l)
echo "wheelhouse: $files files, $(awk -v b="$bytes" 'BEGIN {printf "%.2f GiB", b/2^30}'), $cores cores"
cat "$dir"/* > /dev/null

# Wall seconds of a command, its output discarded.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null 2>&1 || true
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN {printf "%.3f", e - s}'
}

declare -A all
tools=(pinguard sha256sum openssl openssl-parallel)
for run in $(seq 1 "$runs"); do
    for tool in "${tools[@]}"; do
        case $tool in
            pinguard) t=$(seconds "$pinguard" -q verify "$lock" "$dir") ;;
            sha256sum) t=$(seconds sh -c "sha256sum '$dir'/*") ;;
            openssl) t=$(seconds sh -c "openssl dgst -sha256 '$dir'/*") ;;
            openssl-parallel) t=$(seconds sh -c "find '$dir' -maxdepth 1 -type f -print0 | xargs -0 -P $cores -n 8 openssl dgst -sha256") ;;
        esac
        all[$tool]+="$t "
        printf 'run %d  %-17s %6.3f s  %6.2f GB/s\n' "$run" "$tool" "$t" "$(awk -v b="$bytes" -v t="$t" 'BEGIN {print b/t/1e9}')"
    done
done
echo "medians:"
for tool in "${tools[@]}"; do
    median=$(echo "${all[$tool]}" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '  %-17s %6.3f s  %6.2f GB/s\n' "$tool" "$median" "$(awk -v b="$bytes" -v t="$median" 'BEGIN {print b/t/1e9}')"
done
