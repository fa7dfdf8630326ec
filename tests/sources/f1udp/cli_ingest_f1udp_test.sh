#!/usr/bin/env bash
# `boxcall ingest f1-udp` as a person runs it, on a capture generated from the
# real 2023 Bahrain GP (laps 1-2, F1 24 format):
#  1. --capture FILE --print through the embedded broker: samples and timing events as JSON lines;
#  2. the same capture sent over loopback UDP to `--listen 127.0.0.1:0`: the same records.
set -euo pipefail
BOXCALL=$1 GEN=$2 SHARED=$3
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d)
trap 'if [[ -n "${PID:-}" ]]; then kill "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

"$GEN" "$SHARED/fastf1/2023_01_bahrain_race" "$WORK/bahrain.cap" 2024 1 2 10 | tee "$WORK/gen.txt"

# 1. Capture replay, full speed, through the embedded broker.
"$BOXCALL" ingest f1-udp --capture "$WORK/bahrain.cap" --speed 0 --start-utc 2023-03-05T15:00:00Z --print \
  >"$WORK/capture.jsonl" 2>"$WORK/capture.err"
cat "$WORK/capture.err"
grep -q 'embedded Kafka' "$WORK/capture.err"
grep -q ' 0 failed' "$WORK/capture.err"

summarise() {  # counts per record kind, and every lap as "car lap time"
  python3 - "$1" <<'PY'
import json, sys
kinds, laps = {}, []
for line in open(sys.argv[1]):
    r = json.loads(line)
    rec = r["record"]
    kind = rec["payload_type"]
    if kind == "TimingEvent":
        p = rec["payload"]
        kind = p["body_type"]
        if kind == "LapCompleted":
            laps.append((p.get("car_number"), p["body"]["lap"], p["body"].get("lap_time_s")))
    kinds[kind] = kinds.get(kind, 0) + 1
print(json.dumps(sorted(kinds.items())))
for l in sorted(laps, key=lambda x: (x[0], x[1])):
    print(*l)
PY
}
summarise "$WORK/capture.jsonl" >"$WORK/capture.sum"
head -1 "$WORK/capture.sum"
# 20 cars x 2 laps (laps ending in the window) and thousands of samples.
test "$(grep -c '' "$WORK/capture.sum")" -ge 40
python3 - "$WORK/capture.sum" <<'PY'
import json, sys
kinds = dict(json.loads(open(sys.argv[1]).readline()))
assert kinds.get("CarSample", 0) > 10000, kinds
assert kinds.get("SessionInfo", 0) >= 2, kinds
assert kinds.get("Weather", 0) >= 1, kinds
PY
# A lap as FastF1 has it: VER (car 1) lap 1 in 1:39.019.
grep -q '^1 1 99.019$' "$WORK/capture.sum"

# 2. The same capture over loopback UDP.
"$BOXCALL" ingest f1-udp --listen 127.0.0.1:0 --print --no-publish --status-every 0.2 >"$WORK/udp.jsonl" \
  2>"$WORK/udp.err" &
PID=$!
for _ in $(seq 1 100); do
  grep -q 'listening on udp' "$WORK/udp.err" 2>/dev/null && break
  sleep 0.1  # polling for the start-up line, bounded
done
PORT=$(sed -n 's/.*listening on udp 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/udp.err" | head -1)
test -n "$PORT"
python3 "$HERE/send_capture.py" "$WORK/bahrain.cap" "$PORT" --speed 20
SENT=$(python3 -c "import struct;print(struct.unpack('<I',open('$WORK/bahrain.cap','rb').read(4))[0])")
for _ in $(seq 1 300); do  # until the receiver's counter line shows every packet, bounded (30 s)
  grep -q "socket: $SENT received" "$WORK/udp.err" && break
  sleep 0.1
done
kill -INT "$PID"
wait "$PID"
PID=
cat "$WORK/udp.err" | tail -3
grep -q "socket: $SENT received, 0 dropped by the kernel, 0 by the queue" "$WORK/udp.err"
summarise "$WORK/udp.jsonl" >"$WORK/udp.sum"
diff "$WORK/capture.sum" "$WORK/udp.sum"
echo "OK: capture and loopback UDP give the same records"
