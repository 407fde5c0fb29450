#!/usr/bin/env bash
# Benchmark: a tox-like environment for one project, installed by `pinguard install -r` with
# pip, by `pinguard install -r --installer uv`, and by `uv pip install -r pylock.toml`.
#
#   examples/bench_install.sh LOCK PROJECT [RUNS]
#
# LOCK is a lock of a whole constraints file (e.g. `pinguard lock upper-constraints.txt
# --add-missing`); PROJECT a requirement (`oslo.config`). pinguard installs what PROJECT needs
# from LOCK (`install -r`); uv, which cannot take part of a lock, gets a lock of exactly that
# set (made first, by `pinguard lock` of what pinguard installed). Each way runs cold (empty
# cache) and warm (the cache of the run before), RUNS rounds (default 3), into a fresh venv
# (its creation not timed). Prints each run's wall time, then the medians.
set -euo pipefail

lock=$(realpath "${1:?usage: bench_install.sh LOCK PROJECT [RUNS]}")
project=${2:?usage: bench_install.sh LOCK PROJECT [RUNS]}
runs=${3:-3}
pinguard=${PINGUARD:-$(dirname "$0")/../target/debug/pinguard}
uv=${UV:-uv}
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "$project" > "$work/requirements.txt"

# A fresh venv at $work/venv.
fresh_venv() {
    rm -rf "$work/venv"
    "$python" -m venv "$work/venv"
}

# Wall seconds of a command, its output discarded; fails the script if the command fails.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN {printf "%.2f", e - s}'
}

# The lock of exactly what PROJECT needs, for uv.
fresh_venv
"$pinguard" -q install "$lock" -r "$work/requirements.txt" --python "$work/venv/bin/python" \
    --cache-dir "$work/cache-setup"
"$work/venv/bin/python" -c "import importlib.metadata as m
for d in m.distributions():
    if d.metadata['Name'] not in ('pip', 'setuptools'): print(f\"{d.metadata['Name']}==={d.version}\")" \
    > "$work/closure.txt"
"$pinguard" -q lock "$work/closure.txt" -o "$work/pylock.toml" --cache-dir "$work/cache-setup"
echo "$project: $(wc -l < "$work/closure.txt") packages"

# One install the way $1 says, with the cache $2.
install() {
    local way=$1 cache=$2 venv_python="$work/venv/bin/python"
    case $way in
        pinguard-pip) "$pinguard" -q install "$lock" -r "$work/requirements.txt" \
            --python "$venv_python" --cache-dir "$cache" ;;
        pinguard-uv) "$pinguard" -q install "$lock" -r "$work/requirements.txt" \
            --python "$venv_python" --cache-dir "$cache" --installer uv --uv "$(command -v "$uv")" ;;
        uv) UV_CACHE_DIR=$cache "$uv" pip install -q --python "$venv_python" \
            -r "$work/pylock.toml" ;;
    esac
}

declare -A all
ways=(pinguard-pip pinguard-uv uv)
for run in $(seq 1 "$runs"); do
    for way in "${ways[@]}"; do
        cache="$work/cache-$way-$run"
        for state in cold warm; do
            fresh_venv
            t=$(seconds install "$way" "$cache")
            all[$way-$state]+="$t "
            echo "run $run $way $state: ${t}s"
        done
    done
done

echo "medians of $runs runs:"
for way in "${ways[@]}"; do
    for state in cold warm; do
        median=$(tr ' ' '\n' <<< "${all[$way-$state]}" | grep . | sort -n \
            | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
        printf '  %-13s %-4s %6ss\n' "$way" "$state" "$median"
    done
done
