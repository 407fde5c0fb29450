#!/usr/bin/env bash
# Benchmark: a tox-like environment (a project's requirements and test requirements under
# OpenStack's constraints) made four ways: `pinguard install -r` with pip, the same with
# `--installer uv`, `uv pip install -r pylock.toml`, and what tox does today, unverified:
# `pip install -c CONSTRAINTS -r REQUIREMENTS...`.
#
#   examples/bench_install.sh LOCK CONSTRAINTS REQUIREMENTS...
#
# LOCK is a lock of the whole CONSTRAINTS file (`pinguard lock CONSTRAINTS --add-missing`);
# REQUIREMENTS the requirement files tox would pass (for oslo.config:
# examples/bench_install/oslo.config-requirements.txt and ...-test-requirements.txt).
# pinguard installs what they need from LOCK (`install -r`); uv, which cannot take part of a
# lock, gets a lock of exactly that set (made first, by `pinguard lock` of what pinguard
# installed). Each way runs cold (an empty cache) and warm (the cache of the run before),
# RUNS rounds (default 3), the ways taking turns, each into a fresh venv (its creation not
# timed). Prints each run's wall time, then the medians and ranges, and pinguard with uv as a
# multiple of uv alone and of plain pip, and then where pinguard's time went: the median of
# each step its runs traced (`PINGUARD_TRACE_STEPS`, src/steps.rs).
#
# WAYS may also name pinguard-uv-part: pinguard with uv installing the same small lock uv
# gets, which sets apart what reading the whole constraints-wide LOCK costs.
#
# Environment: PINGUARD (default target/release/pinguard), UV (default uv on PATH), PYTHON
# (default python3), RUNS, WAYS (default "pinguard-pip pinguard-uv uv pip"). pip runs without the machine's PIP_FIND_LINKS, PIP_INDEX_URL,
# PIP_EXTRA_INDEX_URL and PIP_NO_INDEX, so that it asks the index as tox's pip would.
set -euo pipefail

usage="usage: bench_install.sh LOCK CONSTRAINTS REQUIREMENTS..."
lock=$(realpath "${1:?$usage}")
constraints=$(realpath "${2:?$usage}")
shift 2
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
requirements=()
for file in "$@"; do requirements+=(-r "$(realpath "$file")"); done
runs=${RUNS:-3}
pinguard=$(realpath "${PINGUARD:-$(dirname "$0")/../target/release/pinguard}")
uv=$(command -v "${UV:-uv}")
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A fresh venv at $work/venv, with nothing left to write back to disk from the runs before:
# without the sync, a run that started while earlier runs' files were still being written
# measured half again as long (pinguard with uv, warm: 0.72 s median against 0.47 s). The
# old venv is moved aside, not deleted (all are removed at the end): on this machine's ext4,
# a cold install right after deleting a venv pip had filled (5,693 entries) took 1.05-1.10 s
# against 0.54-0.66 s after moving it aside, so each way was charged for the one before it.
old_venvs=0
fresh_venv() {
    if [ -e "$work/venv" ]; then
        old_venvs=$((old_venvs + 1))
        mkdir -p "$work/old"
        mv "$work/venv" "$work/old/$old_venvs"
    fi
    "$python" -m venv "$work/venv"
    sync
}

# Wall seconds of a command, its output discarded; fails the script if the command fails.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN {printf "%.2f", e - s}'
}

# The lock of exactly what the requirements need, for uv: what uv installed for pinguard.
fresh_venv
"$pinguard" install "$lock" "${requirements[@]}" --python "$work/venv/bin/python" \
    --cache-dir "$work/cache-setup" --installer uv --uv "$uv" 2> "$work/setup.log" \
    || { cat "$work/setup.log" >&2; exit 1; }
sed -n 's/^ + \([^ ]*\)==\([^ ]*\) .*/\1===\2/p' "$work/setup.log" > "$work/closure.txt"
"$pinguard" -q lock "$work/closure.txt" -o "$work/pylock.toml" --cache-dir "$work/cache-setup"
echo "$(wc -l < "$work/closure.txt") packages: $*"

# One install the way $1 says, with the cache $2; pinguard traces its steps to $3.
install() {
    local way=$1 cache=$2 venv_python="$work/venv/bin/python"
    export PINGUARD_TRACE_STEPS=$3
    case $way in
        pinguard-pip) "$pinguard" -q install "$lock" "${requirements[@]}" \
            --python "$venv_python" --cache-dir "$cache" ;;
        pinguard-uv) "$pinguard" -q install "$lock" "${requirements[@]}" \
            --python "$venv_python" --cache-dir "$cache" --installer uv --uv "$uv" ;;
        pinguard-uv-part) "$pinguard" -q install "$work/pylock.toml" \
            --python "$venv_python" --cache-dir "$cache" --installer uv --uv "$uv" ;;
        uv) UV_CACHE_DIR=$cache "$uv" pip install -q --python "$venv_python" \
            -r "$work/pylock.toml" ;;
        pip) env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_NO_INDEX \
            PIP_CACHE_DIR="$cache" "$venv_python" -m pip install -q -c "$constraints" \
            "${requirements[@]}" ;;
    esac
}

declare -A all
mkdir "$work/steps"
read -r -a ways <<< "${WAYS:-pinguard-pip pinguard-uv uv pip}"
for run in $(seq 1 "$runs"); do
    for way in "${ways[@]}"; do
        cache="$work/cache-$way-$run"
        for state in cold warm; do
            fresh_venv
            t=$(seconds install "$way" "$cache" "$work/steps/$way-$state-$run.tsv")
            all[$way-$state]+="$t "
            echo "run $run $way $state: ${t}s"
        done
    done
done

# The median of the numbers in $1, and their range.
median() {
    tr ' ' '\n' <<< "$1" | grep . | sort -n | awk '{a[NR]=$1}
        END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f %.2f %.2f", m, a[1], a[NR]}'
}

echo "medians (ranges) of $runs runs:"
declare -A med
for way in "${ways[@]}"; do
    for state in cold warm; do
        read -r m low high <<< "$(median "${all[$way-$state]}")"
        med[$way-$state]=$m
        printf '  %-16s %-4s %6ss  (%s-%s)\n' "$way" "$state" "$m" "$low" "$high"
    done
done
for way in pinguard-uv pinguard-uv-part; do
    for state in cold warm; do
        [ -n "${med[$way-$state]:-}" ] || continue
        for base in uv pip; do
            [ -n "${med[$base-$state]:-}" ] || continue
            awk -v p="${med[$way-$state]}" -v b="${med[$base-$state]}" \
                -v label="$way $state" -v base="$base" \
                'BEGIN {printf "  %s: %.2fx %s\n", label, p / b, base}'
        done
    done
done

# Each step's median over the runs of a way (steps of one name in a run add up), in the
# order of its first run's trace.
step_medians() {
    local way=$1 state=$2 files sums step m low high
    files=("$work/steps/$way-$state-"*.tsv)
    [ -e "${files[0]}" ] || return 0
    echo "steps of $way $state, medians (ranges) of $runs runs, ms:"
    sums=$(awk -F '\t' '
        FNR == 1 { run++ }
        { took[$3 "\t" run] += $2 - $1; if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 } }
        END { for (i = 1; i <= n; i++) for (r = 1; r <= run; r++)
                  if ((order[i] "\t" r) in took) print order[i] "\t" took[order[i] "\t" r] }' \
        "${files[@]}")
    while IFS= read -r step; do
        read -r m low high <<< "$(median "$(awk -F '\t' -v s="$step" '$1 == s {print $2}' \
            <<< "$sums" | tr '\n' ' ')")"
        printf '  %-26s %6s  (%s-%s)\n' "$step" "$m" "$low" "$high"
    done < <(cut -f1 <<< "$sums" | awk '!seen[$0]++')
}
for way in "${ways[@]}"; do
    for state in cold warm; do
        step_medians "$way" "$state"
    done
done
