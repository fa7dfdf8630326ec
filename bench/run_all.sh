#!/usr/bin/env bash
# Builds what the benchmarks need, runs every benchmark (micro, memory, end to end through a
# real Kafka broker: the floor (a librdkafka pass-through), boxcall, boxcall in the configuration
# compared with the Kafka Streams peer, the peer) and writes bench/RESULTS.md with one summary line
# per target (`target ... measured ... met|NOT met`, also printed at the end). See docs/benchmarks.md.
#
#   bench/run_all.sh            # from anywhere; about 25 minutes on 2 cores (plus a clean build)
#
# Environment: BOXCALL_BENCH_BUILD (build dir, default build-bench), BOXCALL_BENCH_OUT (results
# file, default bench/RESULTS.md), BOXCALL_BENCH_SECONDS (offered seconds per latency rate, 15),
# BOXCALL_BENCH_SESSIONS (throughput sessions, 16), BOXCALL_BENCH_JOBS (build jobs, 2).
# Not part of ctest or CI.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BOXCALL_BENCH_BUILD:-$ROOT/build-bench}
OUT=${BOXCALL_BENCH_OUT:-$ROOT/bench/RESULTS.md}
SECONDS_PER_RATE=${BOXCALL_BENCH_SECONDS:-15}
TP_SESSIONS=${BOXCALL_BENCH_SESSIONS:-16}
JOBS=${BOXCALL_BENCH_JOBS:-2}
WORK=$(mktemp -d /tmp/boxcall-bench.XXXXXX)
KAFKA_DIR=$WORK/kafka
BROKER="$ROOT/tools/kafka/kafka-broker.sh"
PEER_JAR="$ROOT/bench/peer/target/boxcall-peer.jar"
PEER_PID=""
COMMAND="bench/run_all.sh${*:+ $*}"

log() { echo "run_all: $*" >&2; }
cleanup() {
  if [[ -n "$PEER_PID" ]]; then kill "$PEER_PID" 2>/dev/null || true; wait "$PEER_PID" 2>/dev/null || true; fi
  if [[ -f "$KAFKA_DIR/pid" ]]; then "$BROKER" stop --dir "$KAFKA_DIR" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------- build
log "building in $BUILD (work dir $WORK)"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBOXCALL_BUILD_BENCH=ON \
  -DBOXCALL_BUILD_TESTS=OFF >"$WORK/cmake.log" 2>&1 || { tail -n 30 "$WORK/cmake.log" >&2; exit 1; }
cmake --build "$BUILD" -j"$JOBS" --target bench_features bench_stream bench_memory bench_e2e \
  >"$WORK/build.log" 2>&1 || { grep -m5 -A5 -E 'error|FAILED' "$WORK/build.log" >&2; exit 1; }
# src/infer is young: when bench_infer does not build, its rows are reported as pending.
cmake --build "$BUILD" -j"$JOBS" --target bench_infer >"$WORK/build-infer.log" 2>&1 \
  || { rm -f "$BUILD/bench/bench_infer"; log "bench_infer did not build (see $WORK/build-infer.log): reported as pending"; }
log "building the Kafka Streams peer (Maven; flatc --java at build time)"
(cd "$ROOT/bench/peer" && mvn -B -q package) >"$WORK/peer-build.log" 2>&1 \
  || { tail -n 30 "$WORK/peer-build.log" >&2; exit 1; }
B=$BUILD/bench

# ---------------------------------------------------------------- machine and versions
{
  echo "date=$(date -u +%FT%TZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
  echo "mem_gib=$(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "git=$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt" | xargs -I{} sh -c '{} --version | head -n1')"
  echo "librdkafka=$(pkg-config --modversion rdkafka)"
  echo "kafka=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/tools/kafka/pom-3.9.xml" | head -n1)"
  echo "kafka_streams=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/bench/peer/pom.xml" | head -n1)"
  echo "java=$(java -version 2>&1 | head -n1)"
  echo "flatc=$(flatc --version)"
  echo "benchmark=$(dpkg-query -W -f='${Version}' libbenchmark-dev 2>/dev/null || echo unknown)"
  echo "command=$COMMAND"
} >"$WORK/machine.txt"

# ---------------------------------------------------------------- micro
log "micro benchmarks (load $(loadavg))"
echo "micro_load_before=$(loadavg)" >>"$WORK/machine.txt"
"$B/bench_stream" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_out="$WORK/micro_stream.json" --benchmark_out_format=json >"$WORK/micro_stream.txt" 2>&1
"$B/bench_features" --benchmark_filter='BM_SampleUpdate|BM_LapClose' --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_out="$WORK/micro_features.json" \
  --benchmark_out_format=json >"$WORK/micro_features.txt" 2>&1
if [[ -x "$B/bench_infer" ]]; then
  "$B/bench_infer" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_out="$WORK/micro_infer.json" --benchmark_out_format=json >"$WORK/micro_infer.txt" 2>&1 \
    || log "bench_infer failed (exit $?; see $WORK/micro_infer.txt)"
fi
echo "micro_load_after=$(loadavg)" >>"$WORK/machine.txt"

# ---------------------------------------------------------------- memory
for n in 1 100 1000; do
  log "memory: $n session(s) (load $(loadavg))"
  /usr/bin/time -v "$B/bench_memory" --sessions "$n" --seconds 120 >"$WORK/memory_$n.json" 2>"$WORK/memory_$n.time"
done

# ---------------------------------------------------------------- broker
log "starting Kafka"
BOOTSTRAP=$("$BROKER" start --dir "$KAFKA_DIR" 2>"$WORK/broker-start.log")
echo "bootstrap=$BOOTSTRAP" >>"$WORK/machine.txt"

# ---------------------------------------------------------------- throughput (same records for both)
log "throughput: boxcall, $TP_SESSIONS sessions x 20 cars (load $(loadavg))"
echo "e2e_load_before=$(loadavg)" >>"$WORK/machine.txt"
timeout 600 "$B/bench_e2e" throughput --brokers "$BOOTSTRAP" --prefix tp --sessions "$TP_SESSIONS" --laps 5 \
  >"$WORK/tp_boxcall.json" 2>"$WORK/tp_boxcall.err"
RECORDS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$WORK/tp_boxcall.json")
log "throughput: the floor (pass-through) on the same $RECORDS records (load $(loadavg))"
timeout 600 "$B/bench_e2e" throughput --system floor --brokers "$BOOTSTRAP" --prefix tp --records "$RECORDS" \
  >"$WORK/tp_floor.json" 2>"$WORK/tp_floor.err" || log "floor throughput failed (see $WORK/tp_floor.err)"
log "throughput: boxcall in the compared config (snapshots off, models off) (load $(loadavg))"
timeout 600 "$B/bench_e2e" throughput --brokers "$BOOTSTRAP" --prefix tp --sessions "$TP_SESSIONS" --laps 5 \
  --records "$RECORDS" --snapshots off --models off >"$WORK/tp_boxcall_fair.json" 2>"$WORK/tp_boxcall_fair.err" \
  || log "boxcall compared-config throughput failed (see $WORK/tp_boxcall_fair.err)"
log "throughput: Kafka Streams peer on the same $RECORDS records (load $(loadavg))"
timeout 900 java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -jar "$PEER_JAR" "$BOOTSTRAP" tp-peer \
  tp-telemetry tp-timing tp-peer-features "$RECORDS" 2>"$WORK/tp_peer.err" | grep '^{' >"$WORK/tp_peer.json"

# ---------------------------------------------------------------- latency at fixed offered rates
start_peer() {  # start_peer PREFIX: runs the peer in the background until it is RUNNING
  local prefix=$1 i
  "$B/bench_e2e" topics --brokers "$BOOTSTRAP" --prefix "$prefix" 2>>"$WORK/lat_topics.err"
  java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -jar "$PEER_JAR" "$BOOTSTRAP" "$prefix-peer" \
    "$prefix-telemetry" "$prefix-timing" "$prefix-peer-features" >"$WORK/$prefix.peer.out" 2>"$WORK/$prefix.peer.err" &
  PEER_PID=$!
  for ((i = 0; i < 600; i++)); do
    grep -q RUNNING "$WORK/$prefix.peer.out" 2>/dev/null && return 0
    kill -0 "$PEER_PID" 2>/dev/null || { tail -n 20 "$WORK/$prefix.peer.err" >&2; return 1; }
    sleep 0.1
  done
  log "peer not RUNNING after 60 s"; return 1
}
stop_peer() {
  kill "$PEER_PID" 2>/dev/null || true
  wait "$PEER_PID" 2>/dev/null || true
  PEER_PID=""
}

for rate in 1000 10000 100000 0; do
  log "latency: the floor at ${rate/#0/max} events/s for ${SECONDS_PER_RATE}s (load $(loadavg))"
  timeout 300 "$B/bench_e2e" latency --system floor --brokers "$BOOTSTRAP" --prefix "lf$rate" --rate "$rate" \
    --seconds "$SECONDS_PER_RATE" >"$WORK/lat_floor_$rate.json" 2>"$WORK/lat_floor_$rate.err" \
    || log "floor latency failed (see $WORK/lat_floor_$rate.err)"
  log "latency: boxcall at ${rate/#0/max} events/s, loop timeline kept (load $(loadavg))"
  timeout 300 "$B/bench_e2e" latency --brokers "$BOOTSTRAP" --prefix "lb$rate" --rate "$rate" \
    --seconds "$SECONDS_PER_RATE" --timeline "$WORK/timeline_$rate.jsonl" \
    >"$WORK/lat_boxcall_$rate.json" 2>"$WORK/lat_boxcall_$rate.err"
  log "latency: boxcall in the compared config at ${rate/#0/max} events/s (load $(loadavg))"
  timeout 300 "$B/bench_e2e" latency --brokers "$BOOTSTRAP" --prefix "lc$rate" --rate "$rate" \
    --seconds "$SECONDS_PER_RATE" --snapshots off --models off \
    >"$WORK/lat_boxcall_fair_$rate.json" 2>"$WORK/lat_boxcall_fair_$rate.err" \
    || log "boxcall compared-config latency failed (see $WORK/lat_boxcall_fair_$rate.err)"
  log "latency: peer at ${rate/#0/max} events/s (load $(loadavg))"
  start_peer "lp$rate"
  timeout 300 "$B/bench_e2e" latency --brokers "$BOOTSTRAP" --prefix "lp$rate" --rate "$rate" \
    --seconds "$SECONDS_PER_RATE" --system peer >"$WORK/lat_peer_$rate.json" 2>"$WORK/lat_peer_$rate.err"
  stop_peer
done
echo "e2e_load_after=$(loadavg)" >>"$WORK/machine.txt"

"$BROKER" stop --dir "$KAFKA_DIR" >/dev/null 2>&1
log "broker stopped; writing $OUT"
python3 "$ROOT/bench/report.py" "$WORK" "$OUT"
cat "$WORK/summary.txt"
log "done: $OUT (raw outputs in $WORK)"
