"""Resources follow what is asked, and absurd requests are refused with one line."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
import tracemalloc

import pytest

from tests.conftest import GOLDEN, run_cli
from tests.helpers import with_flags
from tests.shell import command
from w2v_cli.cli import word2vec_main
from w2v_cli.config import MAX_NEGATIVE, MAX_THREADS, TrainConfig

_LEE = GOLDEN / "corpus" / "lee.txt"


def test_schedule_memory_does_not_grow_with_the_passes():
    from w2v_cli.backends.workers import Schedule
    tracemalloc.start()
    try:
        schedule = Schedule(length=10 ** 9, threads=4, passes=10 ** 15)
        first = [schedule.next() for _ in range(64)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak             # one pass's 32 ranges, not 10^15 passes of them
    assert first[:32] == first[32:]         # the second pass repeats the first one's order


def test_schedule_hands_out_exactly_the_requested_passes():
    from w2v_cli.backends.workers import Schedule
    schedule = Schedule(length=100, threads=3, passes=2)
    items = []
    while (item := schedule.next()) is not None:
        items.append(item)
    assert len(items) == 2 * 3 * Schedule.CHUNKS_PER_THREAD
    assert schedule.next() is None


def _refused(tmp_path, *flags):
    """Run word2vec on Lee with ``flags`` (in place of the usual ones they name); return
    its one error line (and check it)."""
    result = run_cli(word2vec_main, with_flags(["-train", str(_LEE), "-output",
                                                str(tmp_path / "v.bin"), "-size", "10",
                                                "-iter", "1", "-debug", "0"], *flags))
    lines = [line for line in result.error_lines if line.strip()]
    assert result.exit_code == 2, (result.exit_code, lines)
    assert len(lines) == 1 and lines[0].startswith("word2vec: error: "), lines
    assert "Traceback" not in result.stderr.decode()
    assert not (tmp_path / "v.bin").exists()
    return lines[0]


@pytest.mark.parametrize("flags, message", [
    (["-size", "99999999999999999999"], "-size 99999999999999999999 is too large"),
    (["-seed", str(2 ** 64)], "-seed must be between 0 and 2^64-1"),
    (["-iter", "1e30"], "'1e30' is not a valid integer"),
    (["-iter", str(10 ** 30)], f"-iter {10 ** 30} is too large to represent"),
    (["-threads", str(10 ** 20)], "is too large to represent"),
    (["-threads", str(MAX_THREADS + 1)], f"-threads {MAX_THREADS + 1} is too large"),
    (["-negative", str(10 ** 30)], "is too large to represent"),
    (["-negative", str(MAX_NEGATIVE + 1)], f"-negative {MAX_NEGATIVE + 1} is too large"),
    (["-classes", str(10 ** 30)], "is too large to represent"),
    (["-min-count", str(-10 ** 30)], "is too small to represent"),
    (["-debug", str(2 ** 63)], "is too large to represent"),
    (["-alpha", "1e400"], "-alpha inf is too large to represent"),
    (["-alpha", "1e39"], "-alpha 1e+39 is too large to represent"),
    (["-alpha", "nan"], "-alpha must be a number, got nan"),
    (["-alpha", "inf"], "-alpha inf is too large to represent"),
    (["-sample", "nan"], "-sample must be a number, got nan"),
    (["-sample", "inf"], "-sample inf is too large to represent"),
    (["-sample", "-inf"], "-sample -inf is too large to represent"),
])
def test_unrepresentable_and_absurd_values_are_one_line_errors(tmp_path, flags, message):
    assert message in _refused(tmp_path, *flags)


def test_limits_leave_ordinary_values_alone():
    TrainConfig(train="x", threads=MAX_THREADS, negative=MAX_NEGATIVE, seed=2 ** 64 - 1,
                alpha=1e38, sample=1e38, iter=2 ** 63 - 1).validate()


def test_more_classes_than_words_is_refused_once_the_vocabulary_is_known(tmp_path):
    # Lee with -min-count 5 has 1763 entries (</s> included): 1763 classes are fine.
    message = _refused(tmp_path, "-classes", "1764")
    assert message == ("word2vec: error: -classes 1764 is more than the 1763 words of the "
                       "vocabulary (every class needs at least one word)")
    result = run_cli(word2vec_main, ["-train", str(_LEE), "-output", str(tmp_path / "c.txt"),
                                     "-size", "4", "-iter", "1", "-debug", "0",
                                     "-classes", "1763"])
    assert result.exit_code == 0, result.stderr
    classes = [line.split()[1] for line in (tmp_path / "c.txt").read_bytes().splitlines()]
    assert len(classes) == 1763


def test_passes_whose_word_count_overflows_are_refused(tmp_path):
    # 46384 words a pass: 2^63 / 46384 passes are more than an int64 counter holds.
    message = _refused(tmp_path, "-iter", str(2 ** 63 // 46384 + 1))
    assert "overflow the 64-bit word counter" in message


def _unique_words_corpus(path, words: int, repeats: int) -> None:
    """``words`` distinct words, each ``repeats`` times, in 1000-word lines."""
    tokens = [b"w%d" % (i % words) for i in range(words * repeats)]
    with open(path, "wb") as out:
        for first in range(0, len(tokens), 1000):
            out.write(b" ".join(tokens[first:first + 1000]) + b"\n")


def test_sigint_during_kmeans_stops_at_once(tmp_path):
    """40,001 words into 40,000 classes of 200 dimensions: one K-means round is
    3.2e11 multiply-adds (a minute or more on one core), which the kernel used to do in
    a single uninterruptible call per thread.  Now the main thread waits while workers
    make calls of about 1e7 each, so SIGINT ends the run at once; the timeout below only
    keeps a regression from hanging the suite."""
    corpus = tmp_path / "words.txt"
    _unique_words_corpus(corpus, 40_000, 5)
    output = tmp_path / "classes.txt"
    process = subprocess.Popen(
        [command("word2vec"), "-train", str(corpus), "-output", str(output),
         "-classes", "40000", "-size", "200", "-iter", "1", "-threads", "2", "-debug", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        seen = b""
        while b"training: 100%" not in seen:         # the bar closes: K-means starts
            chunk = os.read(process.stderr.fileno(), 4096)
            assert chunk, seen
            seen += chunk
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=30)[1]
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert rest.decode().strip().splitlines()[-1] == "word2vec: interrupted by SIGINT"
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["words.txt"]


def test_kmeans_is_the_same_for_any_split(tmp_path):
    import numpy as np

    from tests import reference
    from w2v_cli import classes
    vectors = np.random.default_rng(3).standard_normal((301, 7)).astype(np.float32)
    expected = reference.kmeans(vectors, 13)
    saved = classes.CALL_WORK
    try:
        for call_work in (1, 7 * 13 * 5, 1 << 24):      # one row per call, 5 rows, all
            classes.CALL_WORK = call_work
            for threads in (1, 3):
                assert classes.kmeans_classes(vectors, 13, threads).tolist() == expected
    finally:
        classes.CALL_WORK = saved


def test_a_failing_kmeans_task_is_raised_in_the_caller():
    from w2v_cli.classes import run_tasks
    done = []

    def task(i):
        if i == 3:
            raise ValueError("task 3")
        done.append(i)

    with pytest.raises(ValueError, match="task 3"):
        run_tasks(task, 100, 2)
    assert len(done) < 100


def test_a_model_larger_than_the_memory_is_refused_before_it_is_allocated(tmp_path,
                                                                          monkeypatch):
    from tests.conftest import GOLDEN, run_cli_in_process
    from w2v_cli import memory
    from w2v_cli.cli import word2vec_main
    monkeypatch.setattr(memory, "available_memory",
                        lambda: (50_000_000, "the memory limit of this process's control "
                                             "group"))
    output = tmp_path / "v.bin"
    result = run_cli_in_process(word2vec_main, ["-train", str(GOLDEN / "corpus" / "lee.txt"),
                                                "-output", str(output), "-size", "2000",
                                                "-min-count", "1", "-debug", "0"])
    assert result.exit_code == 1
    assert result.error_lines == [
        "word2vec: error: the model (10782 words x 2000 dimensions x 2 matrices) takes "
        "173 MB, more than the 50 MB of the memory limit of this process's control group: "
        "lower -size, or raise -min-count for fewer words"]
    assert not output.exists()
    # the same run within the limit says what it takes, under -debug 2
    result = run_cli_in_process(word2vec_main, ["-train", str(GOLDEN / "corpus" / "lee.txt"),
                                                "-output", str(output), "-size", "200",
                                                "-min-count", "1", "-iter", "1"])
    assert result.exit_code == 0
    assert ("word2vec: note: the model (10782 words x 200 dimensions x 2 matrices) takes "
            "18 MB of the 50 MB of the memory limit of this process's control group"
            in result.error_lines)


def test_the_memory_limit_is_read_from_the_control_group(tmp_path, monkeypatch):
    from w2v_cli import memory
    limit, source = memory.available_memory()
    assert limit is not None and limit > 0 and source


def test_a_model_larger_than_ulimit_v_allows_is_refused_with_its_figures(tmp_path):
    """RLIMIT_AS (ulimit -v, common on shared clusters) is a limit the run can see."""
    output = tmp_path / "v.bin"
    script = (f"ulimit -v 1000000; exec {shlex.quote(command('word2vec'))} -train "
              f"{shlex.quote(str(_LEE))} -output {shlex.quote(str(output))} -size 100000 "
              f"-min-count 1 -debug 0")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1, result.stderr
    line, = result.stderr.splitlines()
    assert line.startswith("word2vec: error: the model (10782 words x 100000 dimensions x "
                           "2 matrices) takes 8.63 GB, more than the ")
    assert line.endswith(" of address space left under this process's ulimit -v: lower "
                         "-size, or raise -min-count for fewer words")
    assert not output.exists()


def test_memory_the_system_refuses_is_a_model_error_not_a_crash(monkeypatch):
    """Limits no check sees ahead (a strict overcommit policy) fail the allocation
    itself: the run still ends with the library's one-line error."""
    import errno
    import mmap as mmap_module

    from w2v_cli import model
    from w2v_cli.memory import ModelTooLarge

    def refuse(*args, **kwargs):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    monkeypatch.setattr(mmap_module, "mmap", refuse)
    with pytest.raises(ModelTooLarge, match=r"^cannot allocate 51 MB for a matrix of the "
                                            r"model \(100000 words x 120 dimensions\)"):
        model.model_matrix(100_000, 120)
    monkeypatch.undo()
    assert model.model_matrix(100_000, 120).shape == (100_000, 128)
