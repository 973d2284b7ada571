"""word2vec in batch jobs: compressed and piped corpora, interruption, concurrent writers."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import GOLDEN, run_cli
from tests.shell import open_files, wait_until
from w2v_cli import native
from w2v_cli.cli import word2vec_main
from w2v_cli.errors import OutputError
from w2v_cli.outputs import AtomicOutput

_LEE = GOLDEN / "corpus" / "lee.txt"
_FLAGS = ["-size", "10", "-threads", "1", "-iter", "2", "-debug", "0", "-exact", "1"]


def _command(*args):
    return [sys.executable, "-m", "w2v_cli", *args]


def _env(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    return dict(os.environ, TMPDIR=str(temp)), temp


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress],
                         ids=["gzip", "bzip2", "xz"])
def test_compressed_corpora_train_like_the_plain_file(tmp_path, compress):
    packed = tmp_path / "corpus.txt"              # the name says nothing: content decides
    packed.write_bytes(compress(_LEE.read_bytes()))
    plain = run_cli(word2vec_main, ["-train", str(_LEE), "-output", str(tmp_path / "a")] + _FLAGS)
    zipped = run_cli(word2vec_main, ["-train", str(packed), "-output", str(tmp_path / "b")]
                     + _FLAGS)
    assert plain.exit_code == zipped.exit_code == 0, zipped.stderr
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_truncated_gzip_is_a_clean_error(tmp_path):
    packed = tmp_path / "corpus.gz"
    packed.write_bytes(gzip.compress(_LEE.read_bytes())[:5000])
    result = run_cli(word2vec_main, ["-train", str(packed), "-output", str(tmp_path / "v")]
                     + _FLAGS)
    assert result.exit_code != 0
    assert result.error_lines[-1] == (
        f"word2vec: error: cannot read training file {packed}: the gzip data ends before "
        f"its end-of-stream marker (the file is cut short)")
    assert not (tmp_path / "v").exists()


def test_standard_input_is_read_once_and_trained_every_pass(tmp_path):
    env, temp = _env(tmp_path)
    expected = tmp_path / "from-file"
    subprocess.run(_command("-train", str(_LEE), "-output", str(expected), *_FLAGS), check=True,
                   env=env)
    piped = tmp_path / "from-stdin"
    with open(_LEE, "rb") as stdin:
        subprocess.run(_command("-train", "-", "-output", str(piped), *_FLAGS), stdin=stdin,
                       check=True, env=env)
    assert piped.read_bytes() == expected.read_bytes()
    assert list(temp.iterdir()) == []              # the spooled copy is gone


def _sigint_as_from_a_terminal() -> None:
    """Run in the child before it starts.  A shell starts background jobs with SIGINT
    ignored, and the trainer, like the C tool, keeps an inherited "ignore"; so when the
    test suite itself runs in the background, the trainer would ignore the signal this
    test sends.  Restore the disposition a command started from a terminal has."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("debug", ["0", "2"])
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_training_leaves_nothing_behind(tmp_path, signum, code, debug):
    env, temp = _env(tmp_path)
    output = tmp_path / "out" / "vectors.bin"
    output.parent.mkdir()
    process = subprocess.Popen(
        _command("-train", "-", "-output", str(output), "-iter", "1000", "-size", "50",
                 "-debug", debug),
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        preexec_fn=_sigint_as_from_a_terminal)
    process.stdin.write(_LEE.read_bytes())
    process.stdin.close()
    chunks: list = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(
        lambda: process.stderr.read1(4096), b"")))
    reader.start()
    # The run holds a file in the temporary folder (the token-id cache, the copy of
    # standard input) once it has started reading; with -debug 2, wait for the progress
    # bar too, since a first run compiles the kernels before it trains.
    wait_until(lambda: any(link.startswith(str(temp)) for link in open_files(process.pid)),
               process=process)
    if debug == "2":
        wait_until(lambda: b"training:" in b"".join(chunks), timeout=120, process=process)
    time.sleep(1.0)                                   # well into training
    process.send_signal(signum)
    reader.join(timeout=30)
    skipped = ("word2vec: note: the model", f"word2vec: {native.COMPILING_NOTICE}")
    stderr = "".join(line for line in b"".join(chunks).decode().splitlines(True)
                     if not line.startswith(skipped))
    assert process.wait(timeout=30) == code
    # One line: the progress bar's line (-debug 2) is ended, no empty line follows.
    message = f"word2vec: interrupted by {signal.Signals(signum).name}\n"
    if debug == "0":
        assert stderr == message
    else:
        bar, last, end = stderr.split("\n")
        assert "training:" in bar and last + "\n" == message and end == "", stderr
    assert list(output.parent.iterdir()) == []        # no output, no partial file
    assert list(temp.iterdir()) == []                 # no spooled input, no id cache


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_before_the_work_begins_is_acted_on_when_it_begins(tmp_path, capfd,
                                                                    signum, code):
    """From a command's first step (``command_start``: before its heavy imports and,
    under mpiexec, before the processes join) a signal is held, then ends the run in the usual way
    once the work begins: before, it printed a traceback (SIGINT) or killed the process
    without a word (SIGTERM)."""
    from w2v_cli import interrupts
    from w2v_cli.cli import run_command, word2vec_command

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        held = interrupts.command_start()
        os.kill(os.getpid(), signum)                  # recorded, nothing raised
        output = tmp_path / "v.bin"
        with pytest.raises(SystemExit) as stopped:
            run_command(word2vec_command, "word2vec",
                        ["-train", str(_LEE), "-output", str(output), "-debug", "0"],
                        held=held)
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    assert stopped.value.code == code
    assert capfd.readouterr().err == f"word2vec: interrupted by {signal.Signals(signum).name}\n"
    assert list(tmp_path.iterdir()) == []


def test_two_runs_writing_the_same_output_each_leave_a_whole_file(tmp_path):
    env, _ = _env(tmp_path)
    outputs = {}
    for seed in ("1", "2"):
        outputs[seed] = tmp_path / f"alone-{seed}"
        subprocess.run(_command("-train", str(_LEE), "-output", str(outputs[seed]), "-seed", seed,
                                *_FLAGS), check=True, env=env)
    shared = tmp_path / "shared.bin"
    runs = [subprocess.Popen(_command("-train", str(_LEE), "-output", str(shared), "-seed", seed,
                                      *_FLAGS), env=env) for seed in ("1", "2")]
    assert [run.wait(timeout=120) for run in runs] == [0, 0]
    assert shared.read_bytes() in (outputs["1"].read_bytes(), outputs["2"].read_bytes())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone-1", "alone-2", "shared.bin",
                                                          "tmp"]


def test_atomic_output_never_shows_a_partial_file(tmp_path):
    target = tmp_path / "v.txt"
    target.write_bytes(b"previous content\n")
    reserved = AtomicOutput(str(target))

    def half_then_interrupt(stream):
        stream.write(b"half of it")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reserved.write(half_then_interrupt)
    assert target.read_bytes() == b"previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.txt"]


def test_unwritable_folder_is_found_before_any_work(tmp_path):
    # /sys refuses new files even to root, so this works whoever runs the tests.
    if not os.path.isdir("/sys/kernel"):
        pytest.skip("no /sys here")
    with pytest.raises(OutputError, match="cannot write output file /sys/kernel/v.bin"):
        AtomicOutput("/sys/kernel/v.bin", "output file")


def test_output_files_get_ordinary_permissions(tmp_path):
    old_mask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.txt"
        AtomicOutput(str(fresh)).write(lambda stream: stream.write(b"x"))
        assert fresh.stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "kept.txt"
        kept.write_bytes(b"old")
        kept.chmod(0o640)
        AtomicOutput(str(kept)).write(lambda stream: stream.write(b"new"))
        assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_bytes() == b"new"
    finally:
        os.umask(old_mask)
