#!/usr/bin/env bash
# The one prepared GPU command of issue 12 (bench/README.md, "The one-call H100 run").
#
#   bench/gpu/h100_run.sh [--tiny] [--items LIST] [--budget SECONDS] [--out-dir DIR]
#
# 1. unpacks the carried cuEquivariance packages (.cueq/site.tar.xz, made by bench/gpu/h100_prepare.sh)
#    when present — nothing is downloaded;
# 2. checks what this machine's Python has (bench/gpu/h100_env.py; exits 2 if torch/transformers… miss);
# 3. runs bench/gpu/h100.py: every item in priority order inside the budget, rewriting
#    DIR/h100.json and DIR/h100.md after every measurement (--tiny: DIR/rehearsal-tiny.*).
# DIR defaults to $OUT (the device machine's folder that comes back), else bench/results.
# A hard stop at budget + 30 s keeps the command inside its slot even if one measurement hangs.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-python3}"
args=("$@")
budget=""
default_budget=420 # the plans' budgets in bench/gpu/h100.py: full 420 s, tiny 900 s
out_dir="${OUT:-bench/results}"
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --tiny) default_budget=900 ;;
        --budget) budget="${args[i + 1]:-}" ;;
        --out-dir) out_dir="${args[i + 1]:-$out_dir}" ;;
    esac
done
budget="${budget:-$default_budget}"
[[ " ${args[*]} " == *" --out-dir "* ]] || args+=(--out-dir "$out_dir")

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

if [[ -f .cueq/site.tar.xz ]]; then
    site="${TMPDIR:-/tmp}/remyfold-cueq-site"
    echo "== unpacking carried cuEquivariance packages into $site"
    if "$PY" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter="data")' \
        .cueq/site.tar.xz "$site"; then
        export PYTHONPATH="$PYTHONPATH:$site"
    else
        echo "h100_run: warning: could not unpack .cueq/site.tar.xz; the kernels item will say not installed" >&2
    fi
fi

echo "== environment"
"$PY" bench/gpu/h100_env.py || exit 2

echo "== run (budget ${budget} s)"
timeout --signal=TERM --kill-after=10 "$((${budget%.*} + 30))" "$PY" bench/gpu/h100.py "${args[@]}"
status=$?
if ((status == 124 || status == 137)); then
    echo "h100_run: stopped at the hard limit; the JSON holds every measurement finished before it" >&2
fi
exit "$status"
