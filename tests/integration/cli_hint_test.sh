#!/usr/bin/env bash
# A newcomer's first minute: `boxcall run` on the embedded default logs a command that shows the
# predictions; running that command, exactly as logged, prints readable predictions. Both ways:
# FlatBuffers outputs (the hint is `boxcall inspect ... --follow`) and --output-encoding json (the
# hint is kcat, which prints the JSON values as they are).
# Waits are on conditions with deadlines (polling the output files).
set -euo pipefail
BOXCALL=$1
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

wait_for() {  # wait_for <seconds> <description> <pid to watch> <command...>
  local deadline=$((SECONDS + $1)) what=$2 pid=$3; shift 3
  until "$@"; do
    if ((SECONDS > deadline)); then echo "FAIL: timed out waiting for $what"; tail -5 "$dir"/*; exit 1; fi
    kill -0 "$pid" 2>/dev/null || { echo "FAIL: exited while waiting for $what"; tail -5 "$dir"/*; exit 1; }
    sleep 0.2
  done
}

# A printed line is a readable prediction: JSON whose StrategyPrediction has its fields.
check_prediction() {  # check_prediction <file> <inspect|raw>
  python3 - "$1" "$2" <<'EOF'
import json, sys
path, form = sys.argv[1], sys.argv[2]
for line in open(path):
    if "StrategyPrediction" not in line:
        continue
    rec = json.loads(line)
    if form == "inspect":
        assert rec["headers"]["content-type"].startswith("application/x-flatbuffers;"), rec["headers"]
        assert rec["headers"]["boxcall.schema.version"] == "1", rec["headers"]
        rec = rec["record"]
    p = rec["payload"]
    assert rec["payload_type"] == "StrategyPrediction" and rec["schema_version"] == 1, rec
    assert len(p["driver"]) == 3 and p["car_number"] > 0 and p["lap"] >= 1, p
    assert "lap_time@" in p["model_version"] and p["mode"] in ("PUSH", "BALANCED", "CONSERVE"), p
    assert p["p_pit_3"] is None or 0 <= p["p_pit_3"] <= 1, p
    print(f"readable prediction ({form}): {p['driver']} lap {p['lap']} mode {p['mode']} p_pit_3 {p['p_pit_3']}")
    sys.exit(0)
sys.exit(1)
EOF
}

run_case() {  # run_case <name> <boxcall run arguments...>
  local name=$1; shift
  "$BOXCALL" run --speed 0 --metrics '' "$@" >/dev/null 2>"$dir/$name.log" &
  local run_pid=$!
  pids+=("$run_pid")
  has_hint() { grep -q 'see the predictions as they come: ' "$dir/$name.log"; }
  wait_for 60 "the start-up hint ($name)" "$run_pid" has_hint
  local hint
  hint=$(grep -o 'see the predictions as they come: .*' "$dir/$name.log" | head -1)
  hint=${hint#see the predictions as they come: }
  echo "hint ($name): $hint"
  local -a cmd
  read -r -a cmd <<<"$hint"
  "${cmd[@]}" >"$dir/$name.out" 2>"$dir/$name.hint-err" &
  local hint_pid=$!
  pids+=("$hint_pid")
  local form=inspect
  [[ ${cmd[0]} == kcat ]] && form=raw
  has_prediction() { grep -q 'StrategyPrediction' "$dir/$name.out"; }
  wait_for 120 "a prediction printed by the hinted command ($name)" "$hint_pid" has_prediction
  check_prediction "$dir/$name.out" "$form" || { echo "FAIL: not a readable prediction ($name)"; head -3 "$dir/$name.out"; exit 1; }
  kill "$hint_pid" 2>/dev/null || true
  kill -TERM "$run_pid"
  wait "$run_pid" || { echo "FAIL: boxcall run exited non-zero ($name)"; exit 1; }
}

run_case flatbuffers
grep -q "inspect --brokers 127.0.0.1:[0-9]* --topic predictions --follow" "$dir/flatbuffers.log" ||
  { echo "FAIL: the FlatBuffers hint is not boxcall inspect"; exit 1; }
run_case json --output-encoding json
grep -q "kcat -b 127.0.0.1:[0-9]* -C -t predictions" "$dir/json.log" ||
  { echo "FAIL: the JSON hint is not kcat"; exit 1; }
echo "PASS: following the start-up hint prints readable predictions (FlatBuffers via inspect, JSON via kcat)"
