#!/usr/bin/env bash
# Bad configuration and bad usage fail fast, before any work, with exactly one
# line on stderr that starts with "boxcall: error:", and exit code 2
# (docs/operations.md, "Errors"). No broker needed.
set -uo pipefail
BOXCALL=$1
dir=$(mktemp -d)
holder=
cleanup() { [[ -n "$holder" ]] && kill "$holder" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
failures=0

expect_error() {  # expect_error <description> <text that must appear> <boxcall arguments...>
  local what=$1 want=$2; shift 2
  local err code
  err=$(timeout 60 "$BOXCALL" "$@" 2>&1 >/dev/null)
  code=$?
  if [[ $code -ne 2 ]]; then echo "FAIL ($what): exit code $code, expected 2"; echo "$err"; failures=$((failures + 1)); return; fi
  if [[ $(printf '%s\n' "$err" | grep -c .) -ne 1 ]]; then
    echo "FAIL ($what): expected one line on stderr, got:"; echo "$err"; failures=$((failures + 1)); return
  fi
  if [[ "$err" != "boxcall: error: "* || "$err" != *"$want"* ]]; then
    echo "FAIL ($what): expected 'boxcall: error: ...$want...', got: $err"; failures=$((failures + 1)); return
  fi
  echo "ok ($what): $err"
}

expect_error "unknown option" "--bogus" run --bogus
expect_error "missing subcommand" "subcommand" 
expect_error "bad option value" "--speed" run --speed fast
expect_error "partitions 0" "--partitions must be 1-1000" run --partitions 0 --metrics ''
printf '[watermark]\nallowed_latenes = "2s"\n' >"$dir/typo.toml"
expect_error "misspelled key" "did you mean 'allowed_lateness'" run --config "$dir/typo.toml"
expect_error "config check" "unknown key in [watermark]" config check "$dir/typo.toml"
printf '[kafka]\nbrokers = 5\n' >"$dir/type.toml"
expect_error "wrong type" "kafka.brokers: expected a string" run --config "$dir/type.toml"
expect_error "bad librdkafka property" "no.such.property" run --brokers 127.0.0.1:1 -X no.such.property=1
expect_error "a misspelled secret is not echoed" "sasl.pasword (value not shown)" run --brokers 127.0.0.1:1 -X sasl.pasword=hunter2
expect_error "an invalid value is not echoed" 'Invalid value for configuration property "socket.timeout.ms"' run --brokers 127.0.0.1:1 -X socket.timeout.ms=hunter2
if timeout 60 "$BOXCALL" run --brokers 127.0.0.1:1 -X sasl.pasword=hunter2 -X socket.timeout.ms=hunter2 2>&1 | grep -q hunter2; then
  echo "FAIL: a secret appeared in the output"; failures=$((failures + 1))
fi

# A metrics port already in use: the system's reason, not civetweb's internals.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(120)' >"$dir/port" &
holder=$!
for _ in $(seq 100); do [[ -s "$dir/port" ]] && break; sleep 0.1; done
expect_error "metrics port in use" "Address already in use" run --http "127.0.0.1:$(cat "$dir/port")" --duration 5s

if ((failures > 0)); then echo "$failures failure(s)"; exit 1; fi
