"""Resources follow what is asked, and absurd requests are refused with one line."""

from __future__ import annotations

import tracemalloc

import pytest

from tests.conftest import GOLDEN, run_cli
from w2v_cli.cli import word2vec_main
from w2v_cli.config import MAX_NEGATIVE, MAX_THREADS, TrainConfig

_LEE = GOLDEN / "corpus" / "lee.txt"


def test_schedule_memory_does_not_grow_with_the_passes():
    from w2v_cli.train import _Schedule
    tracemalloc.start()
    try:
        schedule = _Schedule(length=10 ** 9, threads=4, passes=10 ** 15)
        first = [schedule.next() for _ in range(64)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak             # one pass's 32 ranges, not 10^15 passes of them
    assert first[:32] == first[32:]         # the second pass repeats the first one's order


def test_schedule_hands_out_exactly_the_requested_passes():
    from w2v_cli.train import _Schedule
    schedule = _Schedule(length=100, threads=3, passes=2)
    items = []
    while (item := schedule.next()) is not None:
        items.append(item)
    assert len(items) == 2 * 3 * _Schedule.CHUNKS_PER_THREAD
    assert schedule.next() is None


def _refused(tmp_path, *flags):
    """Run word2vec on Lee with ``flags``; return its one error line (and check it)."""
    result = run_cli(word2vec_main, ["-train", str(_LEE), "-output", str(tmp_path / "v.bin"),
                                     "-size", "10", "-iter", "1", "-debug", "0", *flags])
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
