#!/usr/bin/env bash
# The README's first command in miniature: `boxcall run` with no broker starts
# the embedded broker and the synthetic race, publishes outputs (--print),
# serves /metrics, and stops cleanly on SIGTERM with exit code 0.
# Waits are on conditions with deadlines (polling the output files).
set -euo pipefail
BOXCALL=$1
dir=$(mktemp -d)
pid=
cleanup() { [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

"$BOXCALL" run --print --speed 20 --metrics 127.0.0.1:0 >"$dir/out" 2>"$dir/err" &
pid=$!

wait_for() {  # wait_for <seconds> <description> <command...>
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@"; do
    if ((SECONDS > deadline)); then echo "FAIL: timed out waiting for $what"; cat "$dir/err"; exit 1; fi
    kill -0 "$pid" 2>/dev/null || { echo "FAIL: boxcall exited while waiting for $what"; cat "$dir/err"; exit 1; }
    sleep 0.2
  done
}
has_lap_features() { grep -q '"payload_type": "LapFeatures"' "$dir/out"; }
has_metrics_line() { grep -q 'metrics on http://' "$dir/err"; }

wait_for 120 "a LapFeatures output" has_lap_features
grep -q 'embedded Kafka (librdkafka mock cluster) at 127.0.0.1:' "$dir/err" || { echo "FAIL: no bootstrap address printed"; exit 1; }
wait_for 30 "the metrics address" has_metrics_line
url=$(grep -o 'http://[0-9.:]*/metrics' "$dir/err" | head -1)
# A lap comes from the timing topic; the telemetry consumer may not have polled yet (slow under ASan):
# wait for the counters rather than read them once.
# The page is read whole before grep: under pipefail an early-exiting `grep -q` would kill curl (SIGPIPE).
metrics_match() { local page; page=$(curl -fsS "$url") && grep -q "$1" <<<"$page"; }
telemetry_counted() { metrics_match '^boxcall_records_in_total{topic="telemetry"} [1-9]'; }
latency_observed() { metrics_match 'boxcall_stage_latency_seconds_bucket{stage="end_to_end"'; }
wait_for 60 "telemetry records counted in /metrics" telemetry_counted
wait_for 60 "the end-to-end latency histogram in /metrics" latency_observed

kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=
[[ $code -eq 0 ]] || { echo "FAIL: exit code $code after SIGTERM"; cat "$dir/err"; exit 1; }
grep -q 'signal 15: stopping' "$dir/err" || { echo "FAIL: no clean stop on SIGTERM"; exit 1; }
# Every stdout line is one JSON object naming its topic.
bad=$(grep -vc '^{"topic":"\(features\|predictions\|alerts\|dead-letter\)","record":{' "$dir/out" || true)
[[ $bad -eq 0 ]] || { echo "FAIL: $bad stdout lines are not output records"; exit 1; }
laps=$(grep -c '"payload_type": "LapFeatures"' "$dir/out")
echo "PASS: $laps lap features, $(wc -l <"$dir/out") outputs, clean stop"
