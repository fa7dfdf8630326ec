#!/usr/bin/env bash
# Scores boxcall's strategy on the 2023 races outside the training split with the referee,
# ../shared/tools/strategy_eval.py: one `boxcall backtest` per race with the shipped models
# (or --models DIR), then the referee's table, overall and per race.
#
# usage: tools/referee.sh [--boxcall PATH] [--models DIR] [--out DIR]
# defaults: build/src/app/boxcall, the shipped models, a fresh temporary directory.
# The validation races are the ones `boxcall train` keeps out of training (rounds 8-11);
# the baselines are fitted on the training races' laps (rounds 1-7), as the referee asks.
set -euo pipefail
root="$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${BOXCALL_SHARED:-$root/../shared}"
boxcall="$root/build/src/app/boxcall"
models=()
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --boxcall) boxcall="$2"; shift 2 ;;
    --models) models=(--models "$2"); shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "referee.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
laps="$shared/data/fastf1/2023_season_laps"
referee="$shared/tools/strategy_eval.py"
[[ -x "$boxcall" ]] || { echo "referee.sh: no boxcall at $boxcall (build first)" >&2; exit 2; }
[[ -f "$referee" ]] || { echo "referee.sh: no referee at $referee" >&2; exit 2; }
[[ -n "$out" ]] || out="$(mktemp -d)"
mkdir -p "$out"
races=(8_Montreal 9_Spielberg 10_Silverstone 11_Budapest)
cases=()
for r in "${races[@]}"; do
  echo "backtest $r ..." >&2
  "$boxcall" backtest "${models[@]}" --laps "$laps/$r/laps.csv" --out "$out/$r.csv" 2>"$out/$r.log"
  cases+=("$laps/$r:$out/$r.csv")
done
echo "== overall (${races[*]})"
rc=0
python3 "$referee" --train "$laps/[1-7]_*/laps.csv" "${cases[@]}" || rc=$?
for i in "${!races[@]}"; do
  echo "== ${races[$i]}"
  python3 "$referee" --train "$laps/[1-7]_*/laps.csv" "${cases[$i]}" | sed -n 2,5p || true
done
echo "predictions in $out" >&2
# The referee's exit status: non-zero when a metric does not beat its baseline overall.
exit "$rc"
