#!/usr/bin/env bash
# The command line around the live job, as an operator meets it:
#  - --log-format json: every log line on stderr is one JSON object, librdkafka's own lines included
#    (escaped: quotes and control characters in messages stay valid JSON);
#  - a binary away from its build tree with no model directory: one clear line, exit 2;
#  - --print with an unknown topic: one clear line, exit 2;
#  - a bare number for --duration is seconds;
#  - backtest loads the shipped models by default, as run does; --no-models takes the fallback rules.
set -euo pipefail
BOXCALL=$1
DATA=$2  # ../shared/data
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. JSON logs, librdkafka's included.
set +e
"$BOXCALL" run --brokers 127.0.0.1:1 --log-format json --http '' -X socket.connection.setup.timeout.ms=1000 \
  -X $'client.id=quote"and\tab' >/dev/null 2>"$dir/err"
code=$?
set -e
[[ $code -eq 2 ]] || fail "unreachable broker: exit $code"
grep -v '^boxcall: error: ' "$dir/err" >"$dir/json" || true
python3 - "$dir/json" <<'PY' || fail "log lines are not JSON"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objs = [json.loads(l) for l in lines]
assert all(set(o) == {"ts", "level", "msg"} for o in objs), objs[:2]
kafka = [o for o in objs if o["msg"].startswith("rdkafka ")]
assert kafka, "no librdkafka line routed into the log"
assert any('quote"and\tab' in o["msg"] for o in kafka), "client id with a quote and a tab not escaped"
assert {o["level"] for o in kafka} <= {"error", "warning", "info", "debug", "critical"}
print(f"{len(objs)} JSON log lines, {len(kafka)} from librdkafka")
PY

# 2. Away from its build tree, without models: a clear error naming where it looked.
mkdir -p "$dir/bin" && cp "$BOXCALL" "$dir/bin/boxcall"
set +e
out=$(BOXCALL_SHARE_DIR= "$dir/bin/boxcall" run --duration 1 --http '' 2>&1 >/dev/null)
code=$?
set -e
echo "$out"
[[ $code -eq 2 ]] || fail "missing models: exit $code"
[[ $(echo "$out" | grep -c 'boxcall: error: no model directory found') -eq 1 ]] || fail "no clear models error"
echo "$out" | grep -q "$dir/share/boxcall/models" || fail "the error does not say where it looked"

# 3. --print with a topic that is not an output.
set +e
out=$("$BOXCALL" run --print predictions,telemetry --duration 1 --http '' 2>&1 >/dev/null)
code=$?
set -e
[[ $code -eq 2 ]] && echo "$out" | grep -q "'telemetry' is not an output" || fail "--print telemetry: $code $out"

# 4. --duration 3 is three seconds (it was 3 ms): the embedded run joins its group and drains.
start=$SECONDS
"$BOXCALL" run --duration 3 --http '' --no-summary --print alerts >/dev/null 2>"$dir/err" || fail "embedded run failed"
((SECONDS - start >= 3)) || fail "--duration 3 stopped after $((SECONDS - start)) s"
grep -q 'strategy: models .* from ' "$dir/err" || fail "the shipped models were not found from the build tree"

# 5. One default for the models: backtest, like run, predicts with the shipped models.
laps="$DATA/fastf1/2023_season_laps/8_Montreal/laps.csv"
"$BOXCALL" backtest --laps "$laps" --out "$dir/models.csv" --scenarios 50 2>"$dir/err" || fail "backtest failed"
grep -q '^backtest: models .* from ' "$dir/err" || fail "backtest did not load the shipped models: $(cat "$dir/err")"
# (awk, not `cut | grep -q`: under pipefail an early-exiting grep makes cut die of SIGPIPE.)
awk -F, 'NR > 1 && $3 ~ /^0\.[0-9]/ { found = 1 } END { exit !found }' "$dir/models.csv" ||
  fail "backtest with models wrote no p_pit_3"
"$BOXCALL" backtest --laps "$laps" --out "$dir/rules.csv" --scenarios 50 --no-models 2>"$dir/err" || fail "backtest --no-models failed"
grep -q 'fallback rules' "$dir/err" || fail "backtest --no-models did not say it uses the rules"
cmp -s "$dir/models.csv" "$dir/rules.csv" && fail "models and rules gave the same decisions"
echo "PASS: JSON logs, clear model error, --print validation, --duration in seconds, backtest's default models"
