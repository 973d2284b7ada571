"""Reporting never costs the result: closed, full and broken stdout or stderr.

Training writes its model whatever happens to its messages, and exits 0 when it did; the
query tools stop quietly (exit 141, like the originals killed by SIGPIPE) when their
reader goes away, and say in one line when a standard stream is closed.  Every case runs
the installed commands, through bash where the case is a shell redirection.
"""

from __future__ import annotations

import io
import os
import subprocess

import pytest

from tests.companion_helpers import GOLDEN_MODEL, QUESTIONS
from tests.conftest import GOLDEN
from tests.shell import TIMEOUT, bash, command
from w2v_cli import console

_LEE = GOLDEN / "corpus" / "lee.txt"
_TRAIN = f"-train {_LEE} -output v.bin -size 10 -iter 1 -threads 1 -binary 1"
_BROKEN_PIPE = 141


@pytest.fixture(scope="module")
def reference_model(tmp_path_factory):
    """The model every run below must write, byte for byte (-threads 1 is reproducible)."""
    work = tmp_path_factory.mktemp("reference")
    command("word2vec")
    result = bash(f'"$BIN/word2vec" {_TRAIN} -debug 0', work)
    assert result.returncode == 0, result.error_text
    return (work / "v.bin").read_bytes()


def _no_python_noise(text: str) -> None:
    assert "Traceback" not in text and "Exception ignored" not in text, text


@pytest.mark.parametrize("redirect", [
    "| head -1", "| true", ">/dev/full", "2>/dev/full", ">&-", "2>&-", ">&- 2>&-",
    "2>&1 | head -c 10", ">/dev/full 2>/dev/full",
])
def test_training_survives_any_fate_of_its_messages(tmp_path, reference_model, redirect):
    # -debug 3: the figures on stdout, progress bars and timings on stderr.
    script = f'"$BIN/word2vec" {_TRAIN} -debug 3 {redirect}; exit ${{PIPESTATUS[0]}}'
    result = bash(script, tmp_path)
    assert result.returncode == 0, result.error_text
    assert (tmp_path / "v.bin").read_bytes() == reference_model
    _no_python_noise(result.error_text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.bin"]


def _pipe_without_reader():
    """The write end of a pipe whose read end is already closed: every write fails with
    EPIPE, whatever the timing (unlike ``| head -1``)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_training_with_a_reader_gone_before_the_first_message(tmp_path, reference_model,
                                                              stream):
    broken = _pipe_without_reader()
    other = subprocess.PIPE
    try:
        result = subprocess.run([command("word2vec"), *_TRAIN.split(), "-debug", "3"],
                                cwd=tmp_path, timeout=TIMEOUT,
                                stdout=broken if stream == "stdout" else other,
                                stderr=broken if stream == "stderr" else other)
    finally:
        os.close(broken)
    assert result.returncode == 0
    assert (tmp_path / "v.bin").read_bytes() == reference_model
    captured = (result.stderr if stream == "stdout" else result.stdout) or b""
    _no_python_noise(captured.decode())


def test_closed_stdout_never_lands_in_the_output_file(tmp_path, reference_model):
    """With descriptor 1 closed, the next file opened would get number 1: messages
    written to "stdout" would then go into it.  The model is still byte for byte."""
    command("word2vec")
    result = bash(f'"$BIN/word2vec" {_TRAIN} -debug 1 -save-vocab vocab.txt >&-',
                       tmp_path)
    assert result.returncode == 0, result.error_text
    assert (tmp_path / "v.bin").read_bytes() == reference_model
    assert b"Vocab size" not in (tmp_path / "vocab.txt").read_bytes()


@pytest.mark.parametrize("redirect", ["2>/dev/full", "2>&-", ">&- 2>/dev/full"])
def test_a_failure_is_still_a_failure_when_its_message_is_lost(tmp_path, redirect):
    command("word2vec")
    result = bash(f'"$BIN/word2vec" -train missing.txt -output v.bin {redirect}',
                       tmp_path)
    assert result.returncode == 1
    assert list(tmp_path.iterdir()) == []


def test_error_message_with_a_closed_stdout(tmp_path):
    command("word2vec")
    result = bash('"$BIN/word2vec" -train missing.txt -output v.bin >&-', tmp_path)
    assert result.returncode == 1
    assert result.error_text.splitlines() == [
        "word2vec: error: training file not found: missing.txt"]


def test_word2phrase_survives_a_broken_stdout(tmp_path):
    command("word2phrase")
    expected = bash(f'"$BIN/word2phrase" -train {_LEE} -output p.txt -debug 0', tmp_path)
    assert expected.returncode == 0, expected.error_text
    wanted = (tmp_path / "p.txt").read_bytes()
    for redirect in ("| true", ">&- 2>&-", "2>/dev/full", ">/dev/full"):
        (tmp_path / "p.txt").unlink()
        result = bash(f'"$BIN/word2phrase" -train {_LEE} -output p.txt {redirect}; '
                           f'exit ${{PIPESTATUS[0]}}', tmp_path)
        assert result.returncode == 0, (redirect, result.error_text)
        assert (tmp_path / "p.txt").read_bytes() == wanted, redirect


@pytest.mark.parametrize("tool, args", [
    ("word2vec", f"-train {_LEE} -size 50 -iter 1 -threads 1"),
    ("word2phrase", f"-train {_LEE}"),
])
def test_an_output_into_a_pipe_whose_reader_went_away_ends_quietly(tmp_path, tool, args):
    """`-output /dev/stdout | head -c 10`: the pipeline convention of the companion tools
    (exit 141, no message), not an error about the output file."""
    command(tool)
    result = bash(f'"$BIN/{tool}" {args} -output /dev/stdout -debug 0 | head -c 10; '
                  f'exit ${{PIPESTATUS[0]}}', tmp_path)
    assert result.returncode == _BROKEN_PIPE
    assert result.stderr == b""
    assert len(result.stdout) == 10


# --- query tools --------------------------------------------------------------------------

_QUERIES = b"king\nparis france\nqueen\n" * 1000            # far more than a pipe holds
_QUERY_TOOLS = {
    "distance": ([str(GOLDEN_MODEL)], _QUERIES),
    "word-analogy": ([str(GOLDEN_MODEL)], b"man king woman\n" * 1000),
    "compute-accuracy": ([str(GOLDEN_MODEL), "2000"],
                         (QUESTIONS / "questions-words.txt").read_bytes()),
}


@pytest.fixture
def pairs(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"king\tqueen\t8\nman\twoman\t7\nparis\tfrance\t6\nking\tapple\t1\n")
    return path


def _tool_args(name, pairs):
    if name == "compute-similarity":
        return [command(name), str(GOLDEN_MODEL), str(pairs)], b""
    args, stdin = _QUERY_TOOLS[name]
    return [command(name), *args], stdin


@pytest.mark.parametrize("name", ["distance", "word-analogy"])
def test_query_tools_stop_quietly_when_head_has_enough(tmp_path, name):
    args, stdin = _QUERY_TOOLS[name]
    command(name)
    (tmp_path / "queries").write_bytes(stdin)
    result = bash(f'"$BIN/{name}" {" ".join(args)} < queries | head -1; '
                       f'exit ${{PIPESTATUS[0]}}', tmp_path)
    assert result.returncode == _BROKEN_PIPE
    assert result.stdout.startswith(b"Enter ")
    assert result.stderr == b""


@pytest.mark.parametrize("name", ["distance", "word-analogy", "compute-accuracy",
                                  "compute-similarity"])
def test_query_tools_stop_quietly_on_a_broken_pipe(tmp_path, name, pairs):
    args, stdin = _tool_args(name, pairs)
    broken = _pipe_without_reader()
    try:
        result = subprocess.run(args, input=stdin, stdout=broken, stderr=subprocess.PIPE,
                                timeout=TIMEOUT)
    finally:
        os.close(broken)
    assert result.returncode == _BROKEN_PIPE
    assert result.stderr == b""


@pytest.mark.parametrize("name", ["distance", "word-analogy", "compute-accuracy",
                                  "compute-similarity"])
def test_query_tools_with_stdout_closed(tmp_path, name, pairs):
    args, stdin = _tool_args(name, pairs)
    (tmp_path / "queries").write_bytes(stdin)
    quoted = " ".join(f"'{a}'" for a in args)
    result = bash(f"{quoted} < queries >&-", tmp_path)
    assert result.returncode == 1
    assert result.error_text.splitlines() == [
        f"{name}: error: standard output is closed: there is nowhere to print the answers"]


@pytest.mark.parametrize("name", ["distance", "word-analogy", "compute-accuracy"])
def test_query_tools_with_stdin_closed(tmp_path, name, pairs):
    args, _ = _tool_args(name, pairs)
    quoted = " ".join(f"'{a}'" for a in args)
    result = bash(f"{quoted} <&-", tmp_path)
    assert result.returncode == 1
    assert result.error_text.splitlines() == [
        f"{name}: error: standard input is closed: there are no queries to read"]


def test_compute_similarity_does_not_need_stdin(tmp_path, pairs):
    args, _ = _tool_args("compute-similarity", pairs)
    quoted = " ".join(f"'{a}'" for a in args)
    result = bash(f"{quoted} <&-", tmp_path)
    assert result.returncode == 0, result.error_text
    assert result.stdout.startswith(b"Pairs found / total: 4 4")


@pytest.mark.parametrize("name", ["distance", "compute-accuracy"])
def test_query_tools_on_a_full_disk_name_the_cause(tmp_path, name, pairs):
    args, stdin = _tool_args(name, pairs)
    (tmp_path / "queries").write_bytes(stdin)
    quoted = " ".join(f"'{a}'" for a in args)
    result = bash(f"{quoted} < queries > /dev/full", tmp_path)
    assert result.returncode == 1
    assert result.error_text.splitlines() == [
        f"{name}: error: cannot write to standard output: No space left on device"]


# --- the console module itself -------------------------------------------------------------

class _Failing(io.StringIO):
    def __init__(self, error):
        super().__init__()
        self.error = error
        self.calls = 0

    def write(self, text):
        self.calls += 1
        raise self.error


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"),
                                   OSError(28, "No space left on device"),
                                   ValueError("I/O operation on closed file")])
def test_console_write_swallows_failures_and_gives_up_on_the_stream(error):
    stream = _Failing(error)
    assert console.write(stream, "one\n") is False
    assert console.write(stream, "two\n") is False
    assert stream.calls == 1                  # a stream that failed is not tried again
    assert console.write(None, "nowhere\n") is False


def test_console_write_shows_file_names_that_are_not_text():
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
    name = b"caf\xe9.txt".decode("utf-8", "surrogateescape")
    assert console.write(stream, f"file {name}\n")
    assert stream.buffer.getvalue() == b"file caf\xe9.txt\n"
