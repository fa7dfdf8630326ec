#!/usr/bin/env bash
# The .deb as an operator gets it: built with CPack from this build tree, unpacked into a
# temporary root (dpkg-deb -x, no root install), and run from there: --version, then a short
# embedded run that must find the packaged models and page next to itself
# (<root>/usr/share/boxcall), publish predictions and serve the page and /healthz.
# The packaged systemd unit passes `systemd-analyze verify` (pointed at the unpacked binary).
set -euo pipefail
BUILD_DIR=$1
dir=$(mktemp -d)
pid=
cleanup() { [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f "$dir/err" ]] && tail -20 "$dir/err"; exit 1; }

cpack -G DEB -B "$dir/pkg" --config "$BUILD_DIR/CPackConfig.cmake" >"$dir/cpack.log" 2>&1 || { cat "$dir/cpack.log"; fail "cpack"; }
deb=$(ls "$dir"/pkg/boxcall_*.deb)
info=$(dpkg-deb -I "$deb")
grep -q '^ Depends: .*librdkafka1' <<<"$info" || fail "no librdkafka1 in Depends"
dpkg-deb -x "$deb" "$dir/root"
bin="$dir/root/usr/bin/boxcall"
for f in usr/share/boxcall/models/lap_time.json usr/share/boxcall/models/priors.json usr/share/boxcall/web/index.html \
         usr/share/boxcall/web/app.js usr/lib/systemd/system/boxcall.service usr/share/doc/boxcall/openapi.yaml; do
  [[ -f "$dir/root/$f" ]] || fail "$f is not in the package"
done
"$bin" --version | grep -q '^boxcall [0-9]' || fail "--version"

# A short embedded run of the unpacked binary (no BOXCALL_SHARE_DIR: it must look next to itself).
env -u BOXCALL_SHARE_DIR "$bin" run --duration 60 --speed 40 --http 127.0.0.1:0 --print predictions \
  >"$dir/out" 2>"$dir/err" &
pid=$!
wait_for() {  # wait_for <seconds> <what> <command...>
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@"; do
    ((SECONDS > deadline)) && fail "timed out waiting for $what"
    kill -0 "$pid" 2>/dev/null || fail "boxcall exited while waiting for $what"
    sleep 0.2
  done
}
has_url() { grep -q 'pit wall: http://' "$dir/err"; }
has_prediction() { grep -q '"payload_type": "StrategyPrediction"' "$dir/out"; }
wait_for 30 "the page's URL" has_url
grep -q "strategy: models .* from $dir/root/usr/share/boxcall/models" "$dir/err" || fail "models not found next to the binary"
url=$(grep -o 'pit wall: http://[0-9.:]*/' "$dir/err" | head -1 | cut -d' ' -f3)
body=$(curl -fsS "${url}healthz") && grep -q '"status":"ok"' <<<"$body" || fail "/healthz"
body=$(curl -fsS "$url") && grep -q '<title>boxcall pit wall</title>' <<<"$body" || fail "the packaged page is not served"
wait_for 60 "a strategy prediction from the packaged models" has_prediction
grep -q '"model_version": "lap_time@' "$dir/out" || fail "predictions do not come from the packaged models"
body=$(curl -fsS "${url}models") && grep -q "\"dir\":\"$dir/root/usr/share/boxcall/models\"" <<<"$body" || fail "/models"
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=
[[ $code -eq 0 ]] || fail "exit code $code after SIGTERM"

# The unit, checked against the unpacked binary (systemd-analyze verify needs ExecStart to exist).
mkdir -p "$dir/unit"
sed "s|/usr/bin/boxcall|$bin|" "$dir/root/usr/lib/systemd/system/boxcall.service" >"$dir/unit/boxcall.service"
if ! systemd-analyze verify "$dir/unit/boxcall.service" >"$dir/verify.log" 2>&1 || [[ -s "$dir/verify.log" ]]; then
  cat "$dir/verify.log"
  fail "systemd-analyze verify"
fi
echo "PASS: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) unpacked and run: page, /healthz, predictions from its own models; unit verified"
