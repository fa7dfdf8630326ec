#!/usr/bin/env bash
# The virtual environment of the example tests: `python -m venv` and pip from PyPI, made once per
# set of requirement files (a stamp holds their hash), never by hand.
#   python_env.sh <python3> <venv dir> <requirements.txt>...
set -euo pipefail
PYTHON=$1 VENV=$2
shift 2
want=$(cat "$@" | sha256sum | cut -d' ' -f1)
stamp=$VENV/.requirements.sha256
if [[ -x $VENV/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "python_env: $VENV is up to date"
  exit 0
fi
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
args=()
for r in "$@"; do args+=(-r "$r"); done
"$VENV/bin/pip" install --quiet --disable-pip-version-check "${args[@]}"
echo "$want" >"$stamp"
"$VENV/bin/pip" freeze --disable-pip-version-check | sed 's/^/python_env: /'
