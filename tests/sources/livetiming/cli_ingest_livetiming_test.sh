#!/usr/bin/env bash
# `boxcall ingest livetiming` as a person runs it, against the fake SignalR service serving the 2023
# Baku sprint, which drops the connection half-way: the command resumes, publishes through the embedded
# broker with --print and records the feed.
set -euo pipefail
BOXCALL=$1 FAKE=$2 SHARED=$3
DIR="$SHARED/livetiming/2023-04-30_Azerbaijan_Grand_Prix__2023-04-29_Sprint"
WORK=$(mktemp -d)
trap 'if [[ -n "${PID:-}" ]]; then kill "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

"$FAKE" "$DIR" 2023-04-29T00:00:00Z 3000 >"$WORK/fake.out" &
PID=$!
for _ in $(seq 1 100); do grep -q '^port=' "$WORK/fake.out" && break; sleep 0.1; done  # start-up, bounded
PORT=$(sed -n 's/^port=\([0-9]*\).*/\1/p' "$WORK/fake.out")
test -n "$PORT"
"$BOXCALL" ingest livetiming --url "http://127.0.0.1:$PORT/signalr" --session baku-sprint \
  --start-utc 2023-04-29T00:00:00Z --max-attempts 2 --record "$WORK/rec" --print \
  >"$WORK/live.jsonl" 2>"$WORK/live.err"
wait "$PID"
PID=
cat "$WORK/live.err"
grep -q 'resumed after message' "$WORK/live.err"
grep -q ' 0 failed' "$WORK/live.err"
test -f "$WORK/rec/StartUtc.txt" && test -f "$WORK/rec/TimingData.jsonStream"
LAPS=$(grep -c '"body_type": "LapCompleted"' "$WORK/live.jsonl")
echo "laps=$LAPS"
test "$LAPS" -gt 300
# The recording holds every lap published (the C++ test checks that it replays byte for byte).
REPLAY_LAPS=$(python3 - "$WORK/rec/TimingData.jsonStream" <<'PY'
import json, sys
laps = {}
for line in open(sys.argv[1], encoding="utf-8-sig"):
    d = json.loads(line[12:])
    for car, v in d.get("Lines", {}).items():
        if isinstance(v, dict) and "NumberOfLaps" in v:
            laps[car] = max(laps.get(car, 0), v["NumberOfLaps"])
print(sum(laps.values()))
PY
)
echo "laps in the recording=$REPLAY_LAPS"
test "$LAPS" -eq "$REPLAY_LAPS"
echo "OK"
