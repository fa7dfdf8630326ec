#!/usr/bin/env bash
# Builds the TypeScript example out of the source tree: copies examples/typescript to <out>,
# `npm ci` from the committed lock (only when the lock changed), flatc writes the reader from the
# schema, tsc type-checks and compiles to <out>/dist/consumer.js.
#   typescript_build.sh <examples/typescript> <out dir> <schemas/boxcall.fbs>
set -euo pipefail
SRC=$(realpath "$1") OUT=$(realpath -m "$2") FBS=$(realpath "$3")
mkdir -p "$OUT"
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/tsconfig.json" "$OUT/"
rm -rf "$OUT/src" "$OUT/dist"
mkdir -p "$OUT/src"
cp "$SRC"/src/*.ts "$OUT/src/"
cd "$OUT"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f node_modules/.lock.sha256 || $(cat node_modules/.lock.sha256) != "$want" ]]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >node_modules/.lock.sha256
fi
BOXCALL_FBS=$FBS npm run --silent build
echo "typescript_build: $OUT/dist/consumer.js (tsc $(npx --no-install tsc --version))"
