"""Running the installed commands the way shell scripts do: pipes, FIFOs, ``<(...)``.

The console scripts are taken from beside the running Python (the environment the
package is installed in), so these tests exercise what users run even where the source
tree is not importable.  Every call has a timeout: a command that hangs on a pipe fails
the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional

BIN = Path(sys.executable).parent
TIMEOUT = 120


def command(name: str) -> List[str]:
    """The argv that runs the installed command ``name`` (e.g. ``word2vec``)."""
    script = BIN / name
    if script.exists():
        return [str(script)]
    main = name.replace("-", "_") + "_main"
    return [sys.executable, "-c", f"from w2v_cli.cli import {main}; {main}()"]


def shell_line(name: str, *args: str) -> str:
    """``name args...`` quoted for ``bash -c`` (arguments such as ``<(...)`` are kept
    as they are: pass them already quoted)."""
    return " ".join([shlex.join(command(name))] + list(args))


def run(argv, cwd: Path, stdin: bytes = b"", env: Optional[dict] = None,
        timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, timeout=timeout,
                          env=None if env is None else dict(os.environ, **env))


def bash(line: str, cwd: Path, env: Optional[dict] = None,
         timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return run(["bash", "-c", line], cwd, env=env, timeout=timeout)


def error_lines(result: subprocess.CompletedProcess) -> List[str]:
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
