#!/usr/bin/env bash
# The project's one entry point for a fresh Debian machine (the README's two commands):
#
#   tools/dev.sh demo   install what is missing, build, run `boxcall run` on the embedded default
#   tools/dev.sh test   install what is missing, build (warnings are errors), run every test:
#                       unit and integration (a real Apache Kafka broker, started once per run)
#   tools/dev.sh deps   only install what is missing
#   tools/dev.sh build  only build (build/, RelWithDebInfo)
#
# Environment: BOXCALL_BUILD_DIR (default build), BOXCALL_JOBS (default 2),
# BOXCALL_DEMO_ARGS (arguments for `boxcall run` in demo; default: --summary, until Ctrl-C).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BOXCALL_BUILD_DIR:-$ROOT/build}
JOBS=${BOXCALL_JOBS:-2}

# Debian packages boxcall needs (see ../shared/notes/toolchain.md and docs/operations.md).
PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3
  librdkafka-dev libboost-dev libflatbuffers-dev flatbuffers-compiler libeigen3-dev
  libspdlog-dev prometheus-cpp-dev libxgboost-dev xgboost libgtest-dev libbenchmark-dev
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev zlib1g-dev
  kcat openjdk-17-jre-headless maven curl ccache
  python3-venv nodejs
  chromium prometheus
)

log() { echo "dev.sh: $*" >&2; }

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # npm (the examples' tests): Debian's package, unless nodejs already brings its own (NodeSource's
  # nodejs includes npm and conflicts with Debian's npm package).
  command -v npm >/dev/null || missing+=(npm)
  if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

build() {
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBOXCALL_WERROR=ON >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "${1:-}" in
  deps) deps ;;
  build) deps; build ;;
  demo)
    deps; build
    log "starting boxcall on the embedded default: a synthetic race at 10x; open the pit-wall URL below (Ctrl-C stops it cleanly)"
    # shellcheck disable=SC2086
    exec "$BUILD_DIR/src/app/boxcall" run ${BOXCALL_DEMO_ARGS:---summary}
    ;;
  test)
    deps
    "$ROOT/tools/kafka/kafka-broker.sh" fetch --version 3.9
    build
    cd "$BUILD_DIR"
    ctest --output-on-failure -j "$JOBS" --timeout 900
    ;;
  *)
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
