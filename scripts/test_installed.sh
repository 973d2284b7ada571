#!/usr/bin/env bash
# Test what users install: build a wheel of this checkout, install it with the test
# extras into a fresh virtual environment outside the checkout, compile its kernels as
# whoever installs it would (python -m w2v_cli.native), and run the test suite against
# that installed package from a folder where the source tree is not importable.
#
# Usage: scripts/test_installed.sh [pytest arguments]     (make test, make test-slow)
# PYTHON picks the interpreter (default python3); W2V_CLI_TEST_CONSTRAINTS names a pip
# constraints file (scripts/test_floors.sh pins the declared floors with one), else pip
# takes the newest versions the registry serves.  The environment is removed afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
# The cuda extra lets the suite run the GPU kernels through Numba's CUDA simulator, the
# mpi extra the mpiexec tests.
EXTRAS=${W2V_CLI_TEST_EXTRAS:-test,cuda,mpi}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/w2v_cli-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"        # the permission tests run the installed commands as user nobody
VENV=$WORK/venv

"$PYTHON" -m venv "$VENV"
# setuptools reuses build/lib: a module deleted from the sources would stay in the wheel.
rm -rf "$ROOT/build"
"$VENV/bin/python" -m pip wheel -q --no-deps --wheel-dir "$WORK/dist" "$ROOT"
CONSTRAINTS=()
if [ -n "${W2V_CLI_TEST_CONSTRAINTS:-}" ]; then
  CONSTRAINTS=(--constraint "$W2V_CLI_TEST_CONSTRAINTS")
fi
"$VENV/bin/python" -m pip install -q ${CONSTRAINTS[@]+"${CONSTRAINTS[@]}"} \
  "$(ls "$WORK"/dist/w2v_cli-*.whl)[$EXTRAS]"
# What is tested, in the log: the interpreter and the versions that count most.
"$VENV/bin/python" - <<'VERSIONS'
import platform
from importlib.metadata import version
print("testing on Python", platform.python_version(), "with",
      ", ".join(f"{name} {version(name)}" for name in ("numba", "llvmlite", "numpy", "click")))
VERSIONS

# From here on nothing runs in the checkout: neither `python -m` nor pytest can pick up
# the source tree (pytest's importlib mode leaves sys.path alone).
cd "$WORK"
export W2V_CLI_KERNELS=native        # the compiled kernels, or a loud failure: no silent JIT
export W2V_CLI_TEST_INSTALLED=1      # tests/test_install.py checks what was imported
unset W2V_CLI_CACHE_DIR
"$VENV/bin/python" -m w2v_cli.native
"$VENV/bin/python" -m pytest --import-mode=importlib --rootdir "$ROOT" -c "$ROOT/pyproject.toml" \
  -p no:cacheprovider "$@" "$ROOT/tests"
