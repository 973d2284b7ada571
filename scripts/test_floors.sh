#!/usr/bin/env bash
# The test suite on the oldest versions pyproject.toml declares: its oldest Python, and every
# dependency (and those of the test and mpi extras) pinned to its lower bound, in a fresh
# environment (scripts/test_installed.sh).  The cuda extra is left out: numba-cuda needs a
# newer numba than the floor, so its tests skip here and run in make test.
#
# Usage: scripts/test_floors.sh [pytest arguments]        (make test-floors)
# The oldest Python is python3.10 (say) on PATH, else pyenv's newest 3.10.x; PYTHON (default
# python3, 3.11 or later) only reads pyproject.toml.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOST=${PYTHON:-python3}
EXTRAS=test,mpi
FLOOR=$("$HOST" "$ROOT/scripts/floors.py" python)

OLDEST=
if "python$FLOOR" -c '' 2>/dev/null; then
  OLDEST=$(command -v "python$FLOOR")
elif command -v pyenv >/dev/null && VERSION=$(pyenv latest "$FLOOR" 2>/dev/null); then
  OLDEST=$(pyenv root)/versions/$VERSION/bin/python$FLOOR
fi
if [ -z "$OLDEST" ] || ! "$OLDEST" -c '' 2>/dev/null; then
  echo "test_floors.sh: no Python $FLOOR here (pyproject.toml's requires-python); install it" \
    "(pyenv install $FLOOR) or put python$FLOOR on PATH" >&2
  exit 1
fi

CONSTRAINTS=$(mktemp "${TMPDIR:-/tmp}/w2v_cli-floors.XXXXXX")
trap 'rm -f "$CONSTRAINTS"' EXIT
"$HOST" "$ROOT/scripts/floors.py" constraints "$EXTRAS" > "$CONSTRAINTS"
echo "floors: Python $FLOOR, $(paste -sd' ' "$CONSTRAINTS")"
PYTHON=$OLDEST W2V_CLI_TEST_EXTRAS=$EXTRAS W2V_CLI_TEST_CONSTRAINTS=$CONSTRAINTS \
  "$ROOT/scripts/test_installed.sh" "$@"
