"""Shared fixtures: golden files, the shared corpora, and running a command like a shell."""

from __future__ import annotations

import dataclasses
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, List, Optional

import pytest
from click.testing import CliRunner

TESTS = Path(__file__).resolve().parent
GOLDEN = TESTS / "data" / "golden"
SHARED_DATA = TESTS.parent.parent / "shared" / "data"


def golden_bytes(relative: str) -> bytes:
    """A golden file's exact bytes (``.gz`` copies are decompressed)."""
    path = GOLDEN / relative
    if path.exists():
        return path.read_bytes()
    with gzip.open(str(path) + ".gz", "rb") as handle:
        return handle.read()


@pytest.fixture
def shared_data() -> Path:
    """The shared corpora folder beside the repository (skips the test when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA


@dataclasses.dataclass
class CliResult:
    exit_code: int
    stdout: bytes
    stderr: bytes

    @property
    def error_lines(self) -> List[str]:
        return self.stderr.decode("utf-8", "replace").splitlines()


def run_cli(main: Callable, args: List[str], input: Optional[bytes] = None,
            cwd: Optional[Path] = None) -> CliResult:
    """Run an entry point (e.g. ``cli.word2vec_main``) with captured stdio, as a shell would.

    The entry point's own conventions apply (one-line errors, exit codes), because it is
    called exactly as the console script calls it.
    """
    runner = CliRunner()
    old_cwd = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        with runner.isolation(input=input) as (out, err, _mixed):
            try:
                main(args)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            stdout, stderr = out.getvalue(), err.getvalue()
    finally:
        os.chdir(old_cwd)
    return CliResult(code, stdout, stderr)


NOBODY = 65534
can_run_as_nobody = os.geteuid() == 0 and shutil.which("setpriv") is not None


@pytest.fixture
def nobody_workdir():
    """A scratch folder the user nobody may enter but not write to (pytest's tmp_path is
    private to root); removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix="w2v-perm-"))
    work.chmod(0o755)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_as_nobody(main: str, args: List[str], cwd: Path,
                  stdin: bytes = b"") -> subprocess.CompletedProcess:
    """Run ``w2v_cli.cli.<main>`` as the unprivileged user nobody (the suite runs as root
    in CI, and root ignores file permissions)."""
    code = f"from w2v_cli.cli import {main}; {main}()"
    env = dict(os.environ, PYTHONPATH=str(TESTS.parent))
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                           "--clear-groups", sys.executable, "-c", code, *args],
                          cwd=cwd, env=env, input=stdin, capture_output=True, timeout=120)
