#!/usr/bin/env bash
# The one prepared H100 command of issue 23 (≤ 8 min): bench/gpu/h100_check.py's items in order,
# DIR/h100-check.json rewritten after each (--tiny: the CPU rehearsal, DIR/h100-check-rehearsal.json).
#
#   bench/gpu/h100_check.sh [--tiny] [--budget SECONDS] [--out-dir DIR]
#
# DIR defaults to $OUT (the device machine's folder that comes back), else bench/results.
# A hard stop at budget + 30 s keeps the command inside its slot even if one measurement hangs.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-python3}"
args=("$@")
budget=450
for ((i = 0; i < ${#args[@]}; i++)); do
    [[ "${args[i]}" == --budget ]] && budget="${args[i + 1]:-450}"
done
[[ " ${args[*]} " == *" --out-dir "* ]] || args+=(--out-dir "${OUT:-bench/results}")
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
timeout --signal=TERM --kill-after=10 "$((${budget%.*} + 30))" "$PY" bench/gpu/h100_check.py "${args[@]}"
status=$?
((status == 124 || status == 137)) && echo "h100_check: stopped at the hard limit; the JSON keeps what finished" >&2
exit "$status"
