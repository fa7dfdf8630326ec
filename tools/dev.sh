#!/usr/bin/env bash
# The project's one entry point for a fresh Debian machine (the README's two commands):
#
#   tools/dev.sh demo   install what is missing, build, run `boxcall run` on the embedded default
#   tools/dev.sh test   install what is missing, build (warnings are errors), run every test:
#                       unit and integration (a real Apache Kafka broker, started once per run),
#                       the fuzz targets for a bounded time, then the unit and integration tests
#                       again under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   tools/dev.sh deps   only install what is missing
#   tools/dev.sh build  only build (build/, RelWithDebInfo)
#
# Environment: BOXCALL_BUILD_DIR (default build), BOXCALL_JOBS (default 2),
# BOXCALL_DEMO_ARGS (arguments for `boxcall run` in demo; default: --summary, until Ctrl-C),
# BOXCALL_ASAN_DIR (default build-asan), BOXCALL_SANITIZE=0 (test: skip the sanitizer run).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BOXCALL_BUILD_DIR:-$ROOT/build}
ASAN_DIR=${BOXCALL_ASAN_DIR:-$ROOT/build-asan}
JOBS=${BOXCALL_JOBS:-2}

# Debian packages boxcall needs (see ../shared/notes/toolchain.md and docs/operations.md).
PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3
  librdkafka-dev libboost-dev libflatbuffers-dev flatbuffers-compiler libeigen3-dev
  libspdlog-dev prometheus-cpp-dev libxgboost-dev xgboost libgtest-dev libbenchmark-dev
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev zlib1g-dev
  kcat openjdk-17-jre-headless maven curl ccache openssl
  python3-venv nodejs
  chromium prometheus
  clang libclang-rt-14-dev clang-format clang-tidy
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
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBOXCALL_WERROR=ON -DBOXCALL_FUZZ=ON >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

# The sanitizer build (docs/testing.md): ASan + UBSan at -O1 with line tables only (-g1), no fuzzers,
# no benchmarks; warnings are the main build's business (GCC's -O1 + ASan warns falsely).
build_asan() {
  cmake -S "$ROOT" -B "$ASAN_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBOXCALL_SANITIZE=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
  cmake --build "$ASAN_DIR" -j "$JOBS"
}

# Unit and integration tests under the sanitizers (not `slow`: whole races, packaging, long CLI runs; nor
# the packaging, examples' toolchains or browser should they carry another label): docs/testing.md.
test_asan() {
  local supp="$ROOT/tools/sanitizers"
  cd "$ASAN_DIR"
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
  LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp" \
    ctest --output-on-failure -j "$JOBS" --timeout 900 -L 'unit|integration' -E '^(deploy_|examples\.|web_)'
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
    (cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS" --timeout 900)
    if [[ "${BOXCALL_SANITIZE:-1}" != 0 ]]; then
      log "the unit and integration tests again under ASan + UBSan ($ASAN_DIR)"
      build_asan
      test_asan
    fi
    ;;
  *)
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
