#!/usr/bin/env bash
# boxcall against a real Kafka broker over SASL_SSL (SCRAM-SHA-512 over TLS, client certificate with
# an encrypted key), and its secrets kept out of every log line, error and metric.
#
#   sasl_ssl_test.sh BOXCALL BROKER_SCRIPT WORKDIR
#
# The broker is this test's own (tools/kafka/kafka-broker.sh start --sasl-ssl: certificates made by
# openssl, SCRAM user created at format time), so the shared fixture broker stays plain. Steps:
#  1. a synthetic race is published over SASL_SSL (boxcall synth -X ...);
#  2. two `boxcall run`s consume it at once: one over the PLAINTEXT listener (the reference), one over
#     SASL_SSL with every secret in its --config file and librdkafka's security debug logs on; the
#     features each prints (acknowledged by the broker) must be the same, record for record;
#  3. while the secure run is up, its /metrics, /healthz and /sessions are read;
#  4. bad credentials stop start-up with one line (exit 2): a wrong SCRAM password, a wrong key
#     password, a misspelled secret property, a secret given as a bad value of a property;
# and no password appears in anything boxcall printed or served.
set -euo pipefail
BX=$1
BROKER=$2
WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  "$BROKER" stop --dir "$WORK/broker" --kill >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

PLAIN=$("$BROKER" start --dir "$WORK/broker" --sasl-ssl | tail -n 1)
S=$WORK/broker/sasl-ssl
SECURE=$(cat "$S/bootstrap")
PASSWORD=$(cat "$S/scram-password")
KEYPASS=$(cat "$S/client-key-password")
[[ ${#PASSWORD} -ge 20 && ${#KEYPASS} -ge 20 ]] || fail "the broker script made no secrets"
echo "broker: PLAINTEXT $PLAIN, SASL_SSL $SECURE"

# The client's properties: as -X options (synth) and as a TOML [kafka.common] table (run).
X=()
while IFS= read -r line; do X+=(-X "$line"); done <"$S/client.properties"
{
  echo "[kafka]"
  echo "brokers = \"$SECURE\""
  echo "group_id = \"secure\""
  echo "[kafka.common]"
  sed 's/^\([^=]*\)=\(.*\)$/"\1" = "\2"/' "$S/client.properties"
} >"$WORK/secure.toml"
chmod 600 "$WORK/secure.toml"

# 1. Publish over SASL_SSL.
"$BX" synth --brokers "$SECURE" "${X[@]}" --cars 4 --hz 4 --laps 5 --progress none >"$WORK/synth.out" 2>"$WORK/synth.err" \
  || { cat "$WORK/synth.err" >&2; fail "synth over SASL_SSL failed"; }
PUBLISHED=$(sed -n 's/^synth: \([0-9]*\) records .*/\1/p' "$WORK/synth.out" "$WORK/synth.err" | head -n 1)
[[ -n "$PUBLISHED" && "$PUBLISHED" -gt 1000 ]] || fail "synth published '${PUBLISHED:-?}' records"
echo "published $PUBLISHED records over SASL_SSL"

# 2. Two runs at once: PLAINTEXT (reference) and SASL_SSL (secrets in the file, security debug logs on).
"$BX" run --brokers "$PLAIN" --group reference --no-models --print features --http 127.0.0.1:0 \
  >"$WORK/plain.out" 2>"$WORK/plain.err" &
PIDS+=($!)
PLAIN_PID=$!
"$BX" --log-level debug run --config "$WORK/secure.toml" --no-models --print features --http 127.0.0.1:0 \
  -X debug=security,broker,protocol >"$WORK/secure.out" 2>"$WORK/secure.err" &
PIDS+=($!)
SECURE_PID=$!

url_of() {  # url_of LOG: the HTTP address boxcall printed at start-up
  local i u
  for ((i = 0; i < 600; i++)); do
    u=$(sed -n 's|.*pit wall: \(http://127\.0\.0\.1:[0-9]*\)/.*|\1|p' "$1" | head -n 1)
    if [[ -n "$u" ]]; then echo "$u"; return 0; fi
    sleep 0.1
  done
  return 1
}
metric() {  # metric URL NAME: the sum of a metric's samples
  curl -fsS "$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d\n", s }'
}
wait_done() {  # wait_done URL: every published record read, no session left, outputs settled
  local url=$1 i last=-1 now
  for ((i = 0; i < 240; i++)); do
    if [[ $(metric "$url" boxcall_records_in_total) -ge "$PUBLISHED" && $(metric "$url" boxcall_active_sessions) -eq 0 &&
      $(metric "$url" boxcall_buffered_records) -eq 0 ]]; then
      now=$(metric "$url" boxcall_outputs_total)
      [[ "$now" -gt 0 && "$now" -eq "$last" ]] && return 0
      last=$now
    fi
    sleep 0.5
  done
  return 1
}
PLAIN_URL=$(url_of "$WORK/plain.err") || { cat "$WORK/plain.err" >&2; fail "the PLAINTEXT run did not start"; }
SECURE_URL=$(url_of "$WORK/secure.err") || { tail -n 20 "$WORK/secure.err" >&2; fail "the SASL_SSL run did not start"; }
wait_done "$PLAIN_URL" || { tail -n 5 "$WORK/plain.err" >&2; fail "the PLAINTEXT run did not finish"; }
wait_done "$SECURE_URL" || { tail -n 20 "$WORK/secure.err" >&2; fail "the SASL_SSL run did not finish"; }

# 3. What the secure run serves.
for path in metrics healthz readyz sessions; do curl -sS "$SECURE_URL/$path" >"$WORK/served-$path" || true; done
kill -TERM "$PLAIN_PID" "$SECURE_PID"
wait "$PLAIN_PID" || fail "the PLAINTEXT run exited $?"
wait "$SECURE_PID" || fail "the SASL_SSL run exited $?"
PIDS=()
N=$(wc -l <"$WORK/secure.out")
[[ "$N" -gt 100 ]] || fail "the SASL_SSL run printed $N features"
cmp <(sort "$WORK/plain.out") <(sort "$WORK/secure.out") \
  || fail "features over SASL_SSL differ from PLAINTEXT ($(wc -l <"$WORK/plain.out") vs $N lines)"
grep -q "sasl_ssl://" "$WORK/secure.err" || fail "no SASL_SSL connection in the secure run's debug log"
echo "SASL_SSL run: $N features, identical to the PLAINTEXT run's; debug log $(wc -l <"$WORK/secure.err") lines"

# 4. Bad credentials: exit 2, one line, within seconds.
expect_refused() {  # expect_refused NAME PATTERN -- COMMAND...
  local name=$1 pattern=$2 code=0 t0 secs
  shift 3
  t0=$(date +%s)
  timeout 60 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || code=$?
  secs=$(($(date +%s) - t0))
  local last
  last=$(grep '^boxcall: error:' "$WORK/$name.err" || true)
  [[ $code -eq 2 ]] || { cat "$WORK/$name.err" >&2; fail "$name: exit $code, expected 2"; }
  [[ $(grep -c '^boxcall: error:' "$WORK/$name.err") -eq 1 ]] || fail "$name: not one error line"
  grep -Eq "$pattern" <<<"$last" || fail "$name: '$last' does not match '$pattern'"
  echo "$name: exit 2 after ${secs}s: $last"
}
sed "s/^\"sasl.password\" = .*/\"sasl.password\" = \"W-$PASSWORD\"/; s/^group_id = .*/group_id = \"bad\"/" \
  "$WORK/secure.toml" >"$WORK/bad-password.toml"
expect_refused bad-password 'refused the connection.*SASL authentication' -- \
  "$BX" run --config "$WORK/bad-password.toml" --no-models --http ''
sed "s/^\"ssl.key.password\" = .*/\"ssl.key.password\" = \"W-$KEYPASS\"/" "$WORK/secure.toml" >"$WORK/bad-keypass.toml"
expect_refused bad-key-password 'ssl.key|private key|Kafka client' -- \
  "$BX" run --config "$WORK/bad-keypass.toml" --no-models --http ''
expect_refused misspelled-secret 'sasl.pasword.*value not shown' -- \
  "$BX" run --brokers "$SECURE" -X "sasl.pasword=$PASSWORD" --no-models --http ''
expect_refused secret-as-bad-value 'security.protocol.*value not shown' -- \
  "$BX" run --brokers "$SECURE" -X "security.protocol=$PASSWORD" --no-models --http ''

# The secrets appear nowhere: logs, errors, printed records, served pages and metrics.
for f in "$WORK"/*.out "$WORK"/*.err "$WORK"/served-*; do
  if grep -qF -e "$PASSWORD" -e "$KEYPASS" "$f"; then
    grep -nF -e "$PASSWORD" -e "$KEYPASS" "$f" | cut -c1-200 >&2
    fail "a secret appears in $(basename "$f")"
  fi
done
[[ -s "$WORK/served-metrics" ]] || fail "no /metrics read from the secure run"
echo "no secret in $(ls "$WORK"/*.out "$WORK"/*.err "$WORK"/served-* | wc -l) files of output"
echo "1 passed, 0 failed"
