"""Shared fixtures: golden files, the shared corpora, and running a command like a shell."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, List, Optional

import pytest
from click.testing import CliRunner

from tests.shell import BIN  # the console scripts of this environment

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


@pytest.fixture
def small_folder(tmp_path) -> Path:
    """A folder on a 1 MB file system of its own (a tmpfs: mounting one needs root; the
    test skips itself elsewhere), unmounted afterwards."""
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@dataclasses.dataclass
class CliResult:
    exit_code: int
    stdout: bytes
    stderr: bytes

    @property
    def error_lines(self) -> List[str]:
        return self.stderr.decode("utf-8", "replace").splitlines()


CLI_TIMEOUT = 600


@functools.lru_cache(maxsize=None)
def console_script(main: str) -> str:
    """The installed command whose entry point is ``w2v_cli.cli.<main>``, beside
    ``sys.executable`` (the names come from the package's own entry points)."""
    entries = importlib.metadata.entry_points()
    scripts = (entries.select(group="console_scripts") if hasattr(entries, "select")
               else entries.get("console_scripts", []))
    for entry in scripts:
        if entry.value.replace(" ", "") == f"w2v_cli.cli:{main}":
            path = BIN / entry.name
            if path.exists():
                return str(path)
            pytest.fail(f"the command {entry.name} is not installed beside {sys.executable}")
    pytest.fail(f"no console script runs w2v_cli.cli:{main} (is the package installed?)")


def _main_name(main) -> str:
    return main if isinstance(main, str) else main.__name__


def run_cli(main: Callable, args: List[str], input: Optional[bytes] = None,
            cwd: Optional[Path] = None) -> CliResult:
    """Run the installed console script of an entry point (e.g. ``cli.word2vec_main`` runs
    ``word2vec``) with ``input`` on stdin, in ``cwd``, as a shell would.

    It is the command users run: the one installed beside ``sys.executable``, in a process
    of its own (``make test`` runs the suite against the installed wheel).
    """
    if isinstance(input, str):
        input = input.encode()
    done = subprocess.run([console_script(_main_name(main)), *map(os.fspath, args)],
                          input=input or b"", cwd=cwd, capture_output=True,
                          timeout=CLI_TIMEOUT)
    return CliResult(done.returncode, done.stdout, done.stderr)


def run_cli_in_process(main: Callable, args: List[str], input: Optional[bytes] = None,
                       cwd: Optional[Path] = None) -> CliResult:
    """Call an entry point in this process with captured stdio (for tests that monkeypatch
    the library); ``run_cli`` is the real command."""
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


def _nobody_can_start_python() -> bool:
    """Whether the user nobody can start this interpreter: not where it, or the shared
    library it links, lies in a folder of root's alone (a Python built in root's home)."""
    try:
        return subprocess.run(as_nobody([sys.executable, "-c", ""]), cwd="/",
                              capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


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


def as_nobody(command: List[str]) -> List[str]:
    """``command`` run as the unprivileged user nobody."""
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]


can_run_as_nobody = (os.geteuid() == 0 and shutil.which("setpriv") is not None
                     and _nobody_can_start_python())


def run_as_nobody(main: str, args: List[str], cwd: Path, stdin: bytes = b"",
                  env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """Run the installed console script of ``w2v_cli.cli.<main>`` as the unprivileged user
    nobody (the suite runs as root in CI, and root ignores file permissions); ``env`` adds
    to or overrides the environment."""
    environment = dict(os.environ, **(env or {}))
    return subprocess.run(as_nobody([console_script(main), *args]), cwd=cwd, env=environment,
                          input=stdin, capture_output=True, timeout=CLI_TIMEOUT)
