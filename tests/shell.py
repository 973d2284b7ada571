"""Running the installed commands the way users do: as programs, from a shell, through
pipes, FIFOs and ``<(...)``.

The console scripts lie beside the Python that runs the tests (the virtual environment's
``bin``; ``make test`` runs the suite against an installed wheel), so these helpers run
what users get, even where the source tree is not importable.  Every run has a timeout:
a regression that hangs on a pipe fails its test instead of stopping the suite.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import pytest

BIN = Path(sys.executable).parent
TIMEOUT = 120
TESTS = Path(__file__).resolve().parent


def outside_checkout() -> Path:
    """A folder holding nothing but a link to the tests: the working folder and import
    path of a child Python that must import ``tests.*`` (helpers run as ``python -m
    tests.x``) but the package ``w2v_cli`` only as installed (``make test`` tests the
    installed wheel; the checkout's own folder would put the sources first)."""
    folder = Path(tempfile.gettempdir()) / f"w2v-tests-path-{os.getuid()}-{os.getpid()}"
    link = folder / "tests"
    if not link.exists():
        folder.mkdir(exist_ok=True)
        try:
            link.symlink_to(TESTS)
        except FileExistsError:
            pass
    return folder


def env_with_tests() -> dict:
    """The environment of such a child (see ``outside_checkout``)."""
    return {"PYTHONPATH": str(outside_checkout())}


def command(name: str) -> str:
    """The path of an installed console script (skips the test when it is missing)."""
    path = BIN / name
    if not path.exists():
        pytest.skip(f"the {name} console script is not installed beside {sys.executable}")
    return str(path)


def shell_line(name: str, *args: str) -> str:
    """``name args...`` for ``bash -c``: the command quoted, the arguments as they are
    (so ``<(...)`` works; quote the others with ``shlex.quote``)."""
    return " ".join([shlex.quote(command(name)), *args])


@dataclasses.dataclass
class ShellResult:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def error_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


def run(argv: Sequence[str], cwd: Path, stdin: bytes = b"", env: Optional[dict] = None,
        timeout: float = TIMEOUT) -> ShellResult:
    """Run ``argv`` in ``cwd``; ``env`` adds to this process's environment."""
    done = subprocess.run(list(argv), cwd=cwd, input=stdin, capture_output=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})))
    return ShellResult(done.returncode, done.stdout, done.stderr)


def bash(script: str, cwd: Path, stdin: bytes = b"", env: Optional[dict] = None,
         timeout: float = TIMEOUT) -> ShellResult:
    """Run ``script`` with bash; ``$BIN`` names the folder of the console scripts."""
    return run(["bash", "-c", script], cwd, stdin, dict(env or {}, BIN=str(BIN)), timeout)


def error_lines(result) -> List[str]:
    """stderr lines without progress bars."""
    return [line for line in result.stderr.decode("utf-8", "replace").splitlines()
            if line.strip() and "%|" not in line]


def wait_until(condition: Callable[[], bool], timeout: float = 60.0,
               process: Optional[subprocess.Popen] = None) -> None:
    """Poll ``condition`` until it holds; fails after ``timeout`` s or if ``process`` ends."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        assert process is None or process.poll() is None, "the process ended first"
        time.sleep(0.02)


def open_files(pid: int) -> List[str]:
    """What the descriptors of process ``pid`` point to (``/proc/PID/fd``)."""
    links = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return links
