#!/usr/bin/env bash
# Fetch and run a real single-node Apache Kafka broker (KRaft, broker+controller in one JVM,
# loopback only) from Maven Central jars, for integration tests. See tools/kafka/README.md.
#
#   kafka-broker.sh fetch [--version 3.9|4]
#   kafka-broker.sh start [--version 3.9|4] --dir DIR [--sasl-ssl]
#                                                        # prints host:port as its last stdout line
#   kafka-broker.sh stop  --dir DIR [--kill]             # TERM (then KILL), or KILL at once
#   kafka-broker.sh status --dir DIR                     # exit 0 if running, prints bootstrap
#
# --sasl-ssl adds a SASL_SSL listener (SCRAM-SHA-512 over TLS, client certificates required) beside
# the PLAINTEXT one, for security tests. At the first start it makes, in DIR/sasl-ssl/: a CA and a
# server certificate for 127.0.0.1 (openssl), a client certificate whose key is encrypted, and the
# SCRAM-SHA-512 user `boxcall` with a random password (kafka-storage format --add-scram). It writes
# DIR/sasl-ssl/bootstrap (host:port of that listener) and DIR/sasl-ssl/client.properties (the
# librdkafka properties of a client: protocol, mechanism, user, password, CA, certificate, key and
# key password; mode 600). Tests read the secrets from there; nothing is printed.
#
# Environment:
#   BOXCALL_KAFKA_CACHE          parent of the jar caches (default ~/.cache/boxcall); the jars of
#                                Kafka X.Y.Z go to $BOXCALL_KAFKA_CACHE/kafka-X.Y.Z/
#   BOXCALL_KAFKA_START_TIMEOUT  seconds to wait for readiness (default 90)
#   BOXCALL_KAFKA_STOP_TIMEOUT   seconds between TERM and KILL (default 30)
#   BOXCALL_KAFKA_JAVA_OPTS      extra JVM options for the broker
#   JAVA_HOME                    used if set, else `java` from PATH
set -euo pipefail

PROG=kafka-broker.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

die() { echo "$PROG: error: $*" >&2; exit 1; }
info() { echo "$PROG: $*" >&2; }

usage() {
  cat >&2 <<EOF
usage: $PROG fetch [--version 3.9|4]
       $PROG start [--version 3.9|4] --dir DIR [--sasl-ssl]
       $PROG stop --dir DIR [--kill]
       $PROG status --dir DIR
EOF
  exit 2
}

JAVA=java
if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then JAVA="${JAVA_HOME}/bin/java"; fi

# ---- version / pom selection -------------------------------------------------------------
# Sets: FLAVOR (3.9|4), POM, KVER (exact Kafka version pinned in the pom), LIBS (jar dir).
select_version() {
  case "$1" in
    3.9|3.9.x|3) FLAVOR=3.9; POM="$SCRIPT_DIR/pom-3.9.xml" ;;
    4|4.x)       FLAVOR=4;   POM="$SCRIPT_DIR/pom-4.x.xml" ;;
    *) die "unknown --version '$1' (use 3.9 or 4)" ;;
  esac
  [[ -f "$POM" ]] || die "missing $POM"
  KVER=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)
  [[ -n "$KVER" ]] || die "no <kafka.version> in $POM"
  CACHE_ROOT="${BOXCALL_KAFKA_CACHE:-$HOME/.cache/boxcall}"
  LIBS="$CACHE_ROOT/kafka-$KVER"
}

# ---- fetch ---------------------------------------------------------------------------------
# Copies the broker's runtime jars into $LIBS once; later calls only compare a stamp.
fetch() {
  local stamp want log tmp rc errline
  want=$(sha256sum "$POM" | cut -d' ' -f1)
  stamp="$LIBS/.complete"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH (needed once to fetch Kafka $KVER jars)"
  mkdir -p "$CACHE_ROOT"
  # Serialize concurrent fetches of the same version.
  exec 9>"$CACHE_ROOT/.kafka-$KVER.lock"
  flock 9
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then exec 9>&-; return 0; fi
  info "fetching Kafka $KVER jars into $LIBS (once)"
  log="$CACHE_ROOT/kafka-$KVER.fetch.log"
  tmp="$LIBS.tmp.$$"
  rm -rf "$tmp"
  rc=0
  (cd "$CACHE_ROOT" && mvn -B -q -f "$POM" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp") >"$log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]] || ! compgen -G "$tmp/kafka_2.13-$KVER.jar" >/dev/null; then
    rm -rf "$tmp"
    exec 9>&-
    errline=$(grep -m1 '\[ERROR\]' "$log" | sed 's/\x1b\[[0-9;]*m//g; s/^\[ERROR\] *//' | cut -c1-300 || true)
    die "could not fetch Kafka $KVER jars with mvn (exit $rc): ${errline:-no error line} (full log: $log)"
  fi
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  echo "$want" >"$stamp"
  exec 9>&-
}

# ---- helpers -------------------------------------------------------------------------------
pid_alive() {  # running and not a zombie
  local pid=$1 state
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo X)
  [[ "$state" != Z && "$state" != X ]]
}

pid_is_our_broker() {  # the pid is a kafka.Kafka JVM using DIR's server.properties
  local pid=$1 dir=$2
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF "$dir/server.properties"
}

free_ports() {  # free_ports [N]: prints N (default 2) distinct free loopback TCP ports
  python3 - "${1:-2}" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

port_open() {  # can we connect to 127.0.0.1:$1
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_free() {  # nobody listens on 127.0.0.1:$1 (TIME_WAIT leftovers are fine, as for the JVM)
  python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
}

random_cluster_id() {  # Kafka Uuid: 16 random bytes, URL-safe base64 without padding
  # Never starting with '-': the storage tool's argument parser would read it as an option
  # (Kafka's own Uuid.randomUuid() avoids such ids for the same reason).
  python3 -c '
import base64, os
while True:
    u = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not u.startswith("-"):
        print(u)
        break'
}

kill_broker() {  # kill_broker PID TIMEOUT_SECONDS (0 = KILL at once); waits for exit
  local pid=$1 timeout=$2 i
  pid_alive "$pid" || return 0
  if [[ "$timeout" -gt 0 ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      pid_alive "$pid" || return 0
      sleep 0.1
    done
    info "broker pid $pid did not exit within ${timeout}s after TERM; sending KILL"
  fi
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  die "broker pid $pid still alive after KILL"
}

# ---- SASL_SSL (--sasl-ssl) ------------------------------------------------------------------
random_secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }

make_sasl_ssl() {  # make_sasl_ssl DIR: certificates (openssl) and the client's properties, once per DIR
  local d=$1/sasl-ssl
  [[ -f "$d/.complete" ]] && return 0
  command -v openssl >/dev/null 2>&1 || die "openssl not found (needed for --sasl-ssl)"
  rm -rf "$d"
  mkdir -p "$d"
  chmod 700 "$d"
  random_secret >"$d/scram-password"
  random_secret >"$d/client-key-password"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 7 -subj "/CN=boxcall test CA"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 7 \
      -extfile server.ext
    # Kafka's PEM key store: the (PKCS#8) key, then the certificate chain.
    openssl pkcs8 -topk8 -nocrypt -in server.key -out server.p8
    cat server.p8 server.pem >server-keystore.pem
    # The client's certificate, its key encrypted with ssl.key.password.
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=boxcall"
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 7
    openssl pkcs8 -topk8 -v2 aes-256-cbc -in client.key -out client-key.pem -passout "file:client-key-password"
    rm -f client.key server.key ca.srl ./*.csr
  ) >"$d/openssl.log" 2>&1 || die "openssl failed making the test certificates (log: $d/openssl.log)"
  (
    umask 077
    {
      echo "security.protocol=SASL_SSL"
      echo "sasl.mechanisms=SCRAM-SHA-512"
      echo "sasl.username=boxcall"
      echo "sasl.password=$(cat "$d/scram-password")"
      echo "ssl.ca.location=$d/ca.pem"
      echo "ssl.certificate.location=$d/client.pem"
      echo "ssl.key.location=$d/client-key.pem"
      echo "ssl.key.password=$(cat "$d/client-key-password")"
    } >"$d/client.properties"
  )
  touch "$d/.complete"
}

write_configs() {  # write_configs DIR PORT CPORT [SPORT]
  local dir=$1 port=$2 cport=$3 sport=${4:-}
  local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [[ -n "$sport" ]]; then
    listeners+=",SASL_SSL://127.0.0.1:$sport"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  cat >"$dir/server.properties" <<EOF
# Written by tools/kafka/kafka-broker.sh: single-node KRaft broker+controller on loopback (Kafka $KVER).
process.roles=broker,controller
node.id=1
listeners=$listeners
advertised.listeners=$listeners
listener.security.protocol.map=$protocols
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:$cport
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=33554432
EOF
  if [[ -n "$sport" ]]; then
    cat >>"$dir/server.properties" <<EOF
# --sasl-ssl: SCRAM-SHA-512 over TLS, client certificates required (inter-broker stays PLAINTEXT).
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$dir/sasl-ssl/server-keystore.pem
listener.name.sasl_ssl.ssl.truststore.type=PEM
listener.name.sasl_ssl.ssl.truststore.location=$dir/sasl-ssl/ca.pem
listener.name.sasl_ssl.ssl.client.auth=required
EOF
  fi
  if [[ "$FLAVOR" == 4 ]]; then
    cat >>"$dir/server.properties" <<EOF
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
EOF
    # log4j2 (Kafka 4.x): warnings only, plus the broker's start/stop lines.
    cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = OUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = info
logger.kafka.name = kafka.Kafka$
logger.kafka.level = info
EOF
    LOG_OPT="-Dlog4j2.configurationFile=$dir/log4j2.properties"
  else
    # log4j 1 / reload4j (Kafka 3.9): warnings only, plus the broker's start/stop lines.
    cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.Kafka$=INFO
EOF
    LOG_OPT="-Dlog4j.configuration=file:$dir/log4j.properties"
  fi
}

ready() {  # ready PORT: accepts connections and answers a metadata request
  local port=$1
  port_open "$port" || return 1
  if command -v kcat >/dev/null 2>&1; then
    kcat -b "127.0.0.1:$port" -L -m 5 2>/dev/null | grep -q '^ *1 brokers:' || return 1
  else
    grep -q 'Kafka Server started' "$DIR/broker.log" 2>/dev/null || return 1
  fi
}

# ---- subcommands ---------------------------------------------------------------------------
START_PID=""
START_OK=0
start_cleanup() {  # never leave a JVM behind when start fails or is interrupted
  if [[ "$START_OK" != 1 && -n "$START_PID" ]]; then
    kill_broker "$START_PID" 5 || true
    rm -f "$DIR/pid"
  fi
}

cmd_start() {
  local port cport timeout t0 deadline pid elapsed
  [[ -n "$DIR" ]] || die "start needs --dir DIR"
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (install a JDK 17 or set JAVA_HOME)"
  command -v python3 >/dev/null 2>&1 || die "python3 not found (needed to pick free ports)"
  mkdir -p "$DIR"
  DIR=$(cd -- "$DIR" && pwd)
  if [[ -f "$DIR/pid" ]]; then
    pid=$(cat "$DIR/pid")
    if pid_alive "$pid" && pid_is_our_broker "$pid" "$DIR"; then
      die "a broker is already running for $DIR (pid $pid, $(cat "$DIR/bootstrap" 2>/dev/null))"
    fi
    rm -f "$DIR/pid"
  fi
  fetch

  # A restart on a formatted DIR keeps its ports (the KRaft log records the controller endpoint,
  # and clients keep their bootstrap address); a fresh DIR gets new free ports.
  local sport=""
  if [[ -f "$DIR/data/meta.properties" && -f "$DIR/ports" ]]; then
    [[ "$(cat "$DIR/flavor" 2>/dev/null)" == "$FLAVOR" ]] \
      || die "$DIR was formatted by Kafka $(cat "$DIR/flavor" 2>/dev/null || echo '?'); use a fresh --dir"
    read -r port cport sport <"$DIR/ports"
    if [[ "$SASL_SSL" == 1 && -z "$sport" ]]; then die "$DIR was formatted without --sasl-ssl; use a fresh --dir"; fi
    [[ "$SASL_SSL" == 1 ]] || sport=""
    port_free "$port" && port_free "$cport" && { [[ -z "$sport" ]] || port_free "$sport"; } \
      || die "ports $port/$cport of the existing $DIR are in use; stop whatever holds them or use a fresh --dir"
  else
    rm -rf "$DIR/data"
    if [[ "$SASL_SSL" == 1 ]]; then
      read -r port cport sport < <(free_ports 3) || die "could not pick free loopback ports"
    else
      read -r port cport < <(free_ports) || die "could not pick free loopback ports"
    fi
    echo "$port $cport${sport:+ $sport}" >"$DIR/ports"
    echo "$FLAVOR" >"$DIR/flavor"
  fi
  [[ "$SASL_SSL" != 1 ]] || make_sasl_ssl "$DIR"
  write_configs "$DIR" "$port" "$cport" "$sport"

  t0=$(date +%s.%N)
  if [[ ! -f "$DIR/data/meta.properties" ]]; then
    # The SCRAM user is created with the storage, before the broker starts (KRaft, KIP-900).
    local scram=()
    if [[ -n "$sport" ]]; then
      scram=(--add-scram "SCRAM-SHA-512=[name=boxcall,password=$(cat "$DIR/sasl-ssl/scram-password")]")
    fi
    if ! "$JAVA" "$LOG_OPT" -cp "$LIBS/*" kafka.tools.StorageTool format \
        -t "$(random_cluster_id)" -c "$DIR/server.properties" --standalone "${scram[@]}" \
        >"$DIR/format.log" 2>&1; then
      tail -n 20 "$DIR/format.log" >&2 || true
      die "formatting storage failed (log: $DIR/format.log)"
    fi
  fi

  trap start_cleanup EXIT
  trap 'exit 130' INT TERM
  : >>"$DIR/broker.log"
  echo "=== $(date -u +%FT%TZ) start Kafka $KVER on 127.0.0.1:$port (controller $cport)" >>"$DIR/broker.log"
  # shellcheck disable=SC2086
  "$JAVA" -Xms128m -Xmx512m -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "$LOG_OPT" -Dkafka.logs.dir="$DIR" ${BOXCALL_KAFKA_JAVA_OPTS:-} \
    -cp "$LIBS/*" kafka.Kafka "$DIR/server.properties" \
    </dev/null >>"$DIR/broker.log" 2>&1 &
  START_PID=$!
  echo "$START_PID" >"$DIR/pid"

  timeout=${BOXCALL_KAFKA_START_TIMEOUT:-90}
  deadline=$(($(date +%s) + timeout))
  until ready "$port"; do
    if ! pid_alive "$START_PID"; then
      echo "--- last lines of $DIR/broker.log:" >&2
      tail -n 30 "$DIR/broker.log" >&2 || true
      die "Kafka $KVER broker exited during startup (log: $DIR/broker.log)"
    fi
    if (($(date +%s) >= deadline)); then
      echo "--- last lines of $DIR/broker.log:" >&2
      tail -n 30 "$DIR/broker.log" >&2 || true
      die "Kafka $KVER broker not ready within ${timeout}s (log: $DIR/broker.log)"
    fi
    sleep 0.2
  done
  START_OK=1
  trap - EXIT INT TERM
  elapsed=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
  echo "127.0.0.1:$port" >"$DIR/bootstrap"
  [[ -z "$sport" ]] || echo "127.0.0.1:$sport" >"$DIR/sasl-ssl/bootstrap"
  info "Kafka $KVER ready in ${elapsed}s (pid $START_PID, log $DIR/broker.log)"
  echo "127.0.0.1:$port"
}

cmd_stop() {
  local pid
  [[ -n "$DIR" ]] || die "stop needs --dir DIR"
  [[ -d "$DIR" ]] || die "no such directory: $DIR"
  DIR=$(cd -- "$DIR" && pwd)
  if [[ ! -f "$DIR/pid" ]]; then info "no broker pid in $DIR (not running)"; return 0; fi
  pid=$(cat "$DIR/pid")
  if pid_alive "$pid" && ! pid_is_our_broker "$pid" "$DIR"; then
    rm -f "$DIR/pid"
    die "pid $pid is not the Kafka broker of $DIR (stale pid file removed)"
  fi
  if [[ "$KILL_NOW" == 1 ]]; then
    kill_broker "$pid" 0
  else
    kill_broker "$pid" "${BOXCALL_KAFKA_STOP_TIMEOUT:-30}"
  fi
  rm -f "$DIR/pid"
  echo "=== $(date -u +%FT%TZ) stopped" >>"$DIR/broker.log"
}

cmd_status() {
  local pid
  [[ -n "$DIR" ]] || die "status needs --dir DIR"
  DIR=$(cd -- "$DIR" 2>/dev/null && pwd) || { echo "stopped"; return 1; }
  pid=$(cat "$DIR/pid" 2>/dev/null || true)
  if [[ -n "$pid" ]] && pid_alive "$pid" && pid_is_our_broker "$pid" "$DIR"; then
    cat "$DIR/bootstrap" 2>/dev/null || echo "starting (pid $pid)"
    return 0
  fi
  echo "stopped"
  return 1
}

# ---- main ----------------------------------------------------------------------------------
[[ $# -ge 1 ]] || usage
CMD=$1; shift
VERSION=3.9
DIR=""
KILL_NOW=0
SASL_SSL=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --version) [[ $# -ge 2 ]] || usage; VERSION=$2; shift 2 ;;
    --version=*) VERSION=${1#*=}; shift ;;
    --dir) [[ $# -ge 2 ]] || usage; DIR=$2; shift 2 ;;
    --dir=*) DIR=${1#*=}; shift ;;
    --kill) KILL_NOW=1; shift ;;
    --sasl-ssl) SASL_SSL=1; shift ;;
    -h|--help) usage ;;
    *) echo "$PROG: unknown argument '$1'" >&2; usage ;;
  esac
done
select_version "$VERSION"

case "$CMD" in
  fetch) fetch; info "Kafka $KVER jars in $LIBS" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  -h|--help|help) usage ;;
  *) echo "$PROG: unknown command '$CMD'" >&2; usage ;;
esac
