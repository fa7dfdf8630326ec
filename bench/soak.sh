#!/usr/bin/env bash
# Soak benchmark: `boxcall run` (the real binary, default models) for a long stretch at a steady
# offered rate through a real Kafka broker, sampling its resident memory, consumer lag and
# end-to-end latency every 10 s; writes the "Soak" section of bench/RESULTS.md (between the
# <!-- soak:begin --> and <!-- soak:end --> markers; the rest of the file is left alone).
#
#   bench/soak.sh [--minutes 10] [--rate 10000] [--guarantee NAME] [--build DIR] [--out FILE] [--warmup 120]
#
# Load: `boxcall synth` publishes rate/2000 synthetic 20-car races (10 Hz) at 10x real time,
# paced, so the offered rate is --rate samples/s (plus their timing events) from the first second
# to the last; races of 70 laps last ~11 minutes at 10x. Each sample: RSS (VmRSS of the boxcall
# process), consumer lag (sum of boxcall_consumer_lag_records), end-to-end latency (input record's
# Kafka timestamp -> output acknowledged, from the boxcall_stage_latency_seconds{stage="end_to_end"}
# histogram: per interval, mean and the bucket bound holding p50/p99), outputs/s.
# RSS drift = (median of the last 3 samples - median of the first 3 after warm-up) / the latter;
# warm-up is the first 2 minutes (sessions created, models loaded, every car's first laps).
#
# --guarantee NAME passes `--processing-guarantee NAME` to boxcall run (exactly_once, once the
# exactly-once work has landed); without it boxcall runs with its default and the report says so.
# Environment: BOXCALL_SOAK_RUN_ARGS (extra `boxcall run` arguments). Not part of ctest or CI.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
MINUTES=10
RATE=10000
GUARANTEE=""
BUILD=$ROOT/build
OUT=$ROOT/bench/RESULTS.md
WARMUP_S=120
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) MINUTES=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --guarantee) GUARANTEE=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --warmup) WARMUP_S=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
BX=$BUILD/src/app/boxcall
[[ -x "$BX" ]] || { echo "soak: no $BX (tools/dev.sh build first, or --build DIR)" >&2; exit 2; }
SESSIONS=$(((RATE + 1999) / 2000))
RUN_ARGS=()
if [[ -n "$GUARANTEE" ]]; then
  "$BX" run --help 2>&1 | grep -q -- '--processing-guarantee' \
    || { echo "soak: this boxcall has no --processing-guarantee option (at-least-once only); run without --guarantee" >&2; exit 2; }
  RUN_ARGS+=(--processing-guarantee "$GUARANTEE")
fi
# shellcheck disable=SC2206
RUN_ARGS+=(${BOXCALL_SOAK_RUN_ARGS:-})

WORK=$(mktemp -d /tmp/boxcall-soak.XXXXXX)
BROKER="$ROOT/tools/kafka/kafka-broker.sh"
PIDS=()
log() { echo "soak: $*" >&2; }
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  "$BROKER" stop --dir "$WORK/kafka" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "work dir $WORK; starting the broker"
BOOT=$("$BROKER" start --dir "$WORK/kafka" | tail -n 1)

log "offering $RATE samples/s: $SESSIONS synthetic races at 10x for $MINUTES min"
"$BX" synth --brokers "$BOOT" --sessions "$SESSIONS" --cars 20 --hz 10 --speed 10 --laps 70 --session soak \
  --progress none >"$WORK/synth.out" 2>"$WORK/synth.err" &
SYNTH_PID=$!
PIDS+=("$SYNTH_PID")
for ((i = 0; i < 300; i++)); do  # the topics exist once synth produced to them (auto-created)
  [[ $(kcat -b "$BOOT" -L 2>/dev/null | grep -cE 'topic "(telemetry|timing)"') -eq 2 ]] && break
  sleep 0.1
done
"$BX" run --brokers "$BOOT" --group soak --http 127.0.0.1:0 --no-summary "${RUN_ARGS[@]}" \
  >"$WORK/run.out" 2>"$WORK/run.err" &
RUN_PID=$!
PIDS+=("$RUN_PID")
URL=""
for ((i = 0; i < 600; i++)); do
  URL=$(sed -n 's|.*pit wall: \(http://127\.0\.0\.1:[0-9]*\)/.*|\1|p' "$WORK/run.err" | head -n 1)
  [[ -z "$URL" ]] || break
  sleep 0.1
done
[[ -n "$URL" ]] || { tail -n 20 "$WORK/run.err" >&2; log "boxcall run did not start"; exit 1; }

T0=$(date +%s)
END=$((T0 + MINUTES * 60))
n=0
echo "t_s rss_kb lag e2e_count e2e_sum" >"$WORK/samples.txt"
while (($(date +%s) < END)); do
  kill -0 "$RUN_PID" 2>/dev/null || { tail -n 20 "$WORK/run.err" >&2; log "boxcall run exited"; exit 1; }
  next=$((T0 + n * 10))
  while (($(date +%s) < next)); do sleep 0.2; done
  curl -fsS "$URL/metrics" >"$WORK/metrics-$n.txt" || true
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$RUN_PID/status")
  echo "$(($(date +%s) - T0)) $rss" >>"$WORK/rss.txt"
  n=$((n + 1))
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
kill -TERM "$SYNTH_PID" 2>/dev/null || true
kill -TERM "$RUN_PID" 2>/dev/null || true
wait "$RUN_PID" || log "boxcall run exited $? at the end"
wait "$SYNTH_PID" 2>/dev/null || true
PIDS=()

python3 - "$WORK" "$OUT" "$RATE" "$MINUTES" "$WARMUP_S" "${GUARANTEE:-default}" "$SESSIONS" "$LOAD" \
  "$(git -C "$ROOT" rev-parse --short HEAD)" <<'PY'
import glob, math, os, re, statistics, sys
work, out, rate, minutes, warmup, guarantee, sessions, load, rev = sys.argv[1:]
rate, minutes, warmup = int(rate), int(minutes), int(warmup)
rss = [tuple(map(int, l.split())) for l in open(f"{work}/rss.txt")]
metric_re = re.compile(r'^([a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+|[+-]?Inf|NaN)$')
def parse(path):
    m = {}
    for line in open(path):
        r = metric_re.match(line.strip())
        if r: m[(r.group(1), r.group(2) or "")] = float(r.group(3))
    return m
scr = [parse(f"{work}/metrics-{i}.txt") if os.path.exists(f"{work}/metrics-{i}.txt") else {} for i in range(len(rss))]
def total(m, name, label=""):
    return sum(v for (n, l), v in m.items() if n == name and label in l)
def buckets(m):
    b = []
    for (n, l), v in m.items():
        if n == "boxcall_stage_latency_seconds_bucket" and 'stage="end_to_end"' in l:
            le = re.search(r'le="([^"]+)"', l).group(1)
            b.append((math.inf if le == "+Inf" else float(le), v))
    return sorted(b)
def quant(b0, b1, q):
    d = [(le, c1 - dict(b0).get(le, 0.0)) for le, c1 in b1]
    n = d[-1][1] if d else 0
    if n <= 0: return None
    for le, c in d:
        if c >= q * n: return le
    return math.inf
def ms(x):
    if x is None: return "n/a"
    if x == math.inf: return "> 10 s"
    return f"<= {x * 1e3:g} ms"
rows = []
for i in range(1, len(rss)):
    a, b = scr[i - 1], scr[i]
    dt = rss[i][0] - rss[i - 1][0] or 10
    cnt = total(b, "boxcall_stage_latency_seconds_count", 'stage="end_to_end"') - total(a, "boxcall_stage_latency_seconds_count", 'stage="end_to_end"')
    sm = total(b, "boxcall_stage_latency_seconds_sum", 'stage="end_to_end"') - total(a, "boxcall_stage_latency_seconds_sum", 'stage="end_to_end"')
    rows.append(dict(t=rss[i][0], rss=rss[i][1], lag=total(b, "boxcall_consumer_lag_records"),
                     inp=(total(b, "boxcall_records_in_total") - total(a, "boxcall_records_in_total")) / dt,
                     outp=(total(b, "boxcall_outputs_total") - total(a, "boxcall_outputs_total")) / dt,
                     mean=(sm / cnt if cnt > 0 else None), p50=quant(buckets(a), buckets(b), 0.5),
                     p99=quant(buckets(a), buckets(b), 0.99), sessions=total(b, "boxcall_active_sessions")))
after = [r for r in rows if r["t"] >= warmup]
start = statistics.median(r["rss"] for r in after[:3]) if len(after) >= 3 else None
end = statistics.median(r["rss"] for r in after[-3:]) if len(after) >= 3 else None
drift = (end - start) / start * 100 if start else None
steady = after
in_rate = statistics.median(r["inp"] for r in steady) if steady else 0
max_lag = max((r["lag"] for r in steady), default=0)
p99s = [r["p99"] for r in steady if r["p99"] is not None]
means = [r["mean"] for r in steady if r["mean"] is not None]
L = []
w = L.append
w("<!-- soak:begin -->")
w("## Soak: %d minutes at %s samples/s through the real broker" % (minutes, f"{rate:,}"))
w("")
w(f"Written by `bench/soak.sh --minutes {minutes} --rate {rate}" + (f" --guarantee {guarantee}" if guarantee != "default" else "") +
  f"` (git {rev}). `boxcall run` (RelWithDebInfo build, shipped models) consumed {sessions} synthetic 20-car "
  f"races published at 10x real time by `boxcall synth` (one broker, Kafka 3.9, loopback). Processing "
  f"guarantee: **{guarantee if guarantee != 'default' else 'the default of this build (at-least-once: exactly-once had not landed on main)'}**. "
  f"Samples every 10 s; warm-up (left out of the drift): the first {warmup} s. Load average at the end: {load} "
  f"(2 cores shared with other work: latencies include that).")
w("")
if drift is not None:
    verdict = "**met**" if abs(drift) < 5 else "**not met**"
    w(f"RSS after warm-up {start / 1024:.1f} MiB, at the end {end / 1024:.1f} MiB: drift **{drift:+.1f}%** "
      f"(target: under 5%: {verdict}). Input consumed (median over the steady part): {in_rate:,.0f} records/s; "
      f"largest consumer lag after warm-up: {max_lag:,.0f} records; end-to-end latency per 10 s: mean "
      f"{statistics.median(means) * 1e3:.1f} ms (median of the intervals), worst interval p99 {ms(max(p99s)) if p99s else 'n/a'}.")
w("")
w("End-to-end latency is the input record's Kafka timestamp to the output's acknowledgement, read from the")
w("`boxcall_stage_latency_seconds{stage=\"end_to_end\"}` histogram: p50/p99 per interval are the upper bounds")
w("of the buckets that hold them (buckets 1, 3, 10, 30, 100, 300 ms ...), the mean is exact.")
w("")
w("| t (s) | RSS (MiB) | input rec/s | outputs/s | lag (records) | e2e mean | e2e p50 | e2e p99 | sessions |")
w("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    mean = "n/a" if r["mean"] is None else f"{r['mean'] * 1e3:.1f} ms"
    w(f"| {r['t']} | {r['rss'] / 1024:.1f} | {r['inp']:,.0f} | {r['outp']:,.0f} | {r['lag']:,.0f} | "
      f"{mean} | {ms(r['p50'])} | {ms(r['p99'])} | {r['sessions']:.0f} |")
w("<!-- soak:end -->")
section = "\n".join(L) + "\n"
text = open(out).read() if os.path.exists(out) else ""
if "<!-- soak:begin -->" in text:
    text = re.sub(r"<!-- soak:begin -->.*?<!-- soak:end -->\n?", lambda _: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(out, "w").write(text)
print(f"soak: RSS drift {drift if drift is not None else float('nan'):+.1f}% after warm-up; input {in_rate:,.0f} rec/s; max lag {max_lag:,.0f}; wrote {out}")
PY
