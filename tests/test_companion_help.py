"""Every companion command answers ``--help`` and, with no arguments at all, prints the same
help on stdout and exits 0 (as the original tools print their usage)."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from w2v_cli import cli

COMPANIONS = ["distance", "word-analogy", "compute-accuracy", "compute-similarity",
              "word2phrase"]


@pytest.mark.parametrize("name", COMPANIONS)
def test_help_and_usage(name):
    main = cli.MAINS[name]
    assert cli.COMMANDS[name] is not None
    bare = run_cli(main, [])
    for flag in ("--help", "-help", "-h"):
        asked = run_cli(main, [flag])
        assert asked.exit_code == 0 and asked.stderr == b""
        assert asked.stdout.startswith(f"Usage: {name} ".encode())
        assert asked.stdout == bare.stdout
    assert bare.exit_code == 0 and b"Example:" in bare.stdout
