"""Running the installed commands the way users do: as programs, from a shell.

The console scripts lie beside the Python that runs the tests (the virtual environment's
``bin``); running them, not the source tree, tests what users get.  Every run has a
timeout, so a regression that hangs fails instead of stopping the suite.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

BIN = Path(sys.executable).parent
TIMEOUT = 120


def command(name: str) -> str:
    """The path of an installed console script (skips the test when it is missing)."""
    path = BIN / name
    if not path.exists():
        pytest.skip(f"the {name} console script is not installed beside {sys.executable}")
    return str(path)


@dataclasses.dataclass
class ShellResult:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def error_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


def run_shell(script: str, cwd: Path, stdin: Optional[bytes] = None,
              timeout: float = TIMEOUT) -> ShellResult:
    """Run ``script`` with bash; ``$BIN`` names the folder of the console scripts."""
    env = dict(os.environ, BIN=str(BIN))
    result = subprocess.run(["bash", "-c", script], cwd=cwd, input=stdin, env=env,
                            capture_output=True, timeout=timeout)
    return ShellResult(result.returncode, result.stdout, result.stderr)
