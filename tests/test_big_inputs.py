"""Inputs far bigger than a vocabulary or a line should be: memory stays bounded (slow)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import GOLDEN

_MEASURE = ("import resource, subprocess, sys; "
            "r = subprocess.run(sys.argv[1:], capture_output=True); "
            "sys.stdout.buffer.write(r.stdout); sys.stderr.buffer.write(r.stderr); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
            "sys.exit(r.returncode)")


def _run_measured(args):
    """(exit code, stdout lines, stderr, peak RSS in MB) of a word2vec run."""
    command = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "w2v_cli", *args]
    result = subprocess.run(command, capture_output=True)
    lines = result.stdout.decode().splitlines()
    return result.returncode, lines[:-1], result.stderr.decode(), int(lines[-1]) / 1024


def _write_unique_tokens(path, count: int, tail: bytes) -> None:
    """``count`` distinct 9-byte tokens (q00000000 ...), a newline, then ``tail``."""
    with open(path, "wb") as out:
        for start in range(0, count, 1_000_000):
            ids = np.arange(start, min(count, start + 1_000_000), dtype=np.int64)
            rows = np.empty((len(ids), 10), dtype=np.uint8)
            rows[:, 0], rows[:, 9] = ord("q"), ord(" ")
            for k in range(8, 0, -1):
                rows[:, k] = ord("0") + ids % 10
                ids //= 10
            out.write(rows.tobytes())
        out.write(b"\n" + tail)


@pytest.mark.slow
def test_fifty_million_distinct_words_are_pruned_in_bounded_memory(tmp_path):
    """50M distinct tokens, then the Lee corpus.  Counting prunes the table each time it
    passes 21M entries (the C tool's rule), so memory is bounded by that table: about
    21M x (9-byte word + 20 bytes of offsets, lengths and counts) + 2^25 slots x 4 bytes
    + the process's 80 MB, about 0.8 GB with growth copies; the bound is 1.2 GB (the C
    tool needs about 1.5 GB for the same table).  The Lee words, all counted after the
    prunes, keep exact counts: the vocabulary equals Lee's own."""
    lee = (GOLDEN / "corpus" / "lee.txt").read_bytes()
    corpus = tmp_path / "unique.txt"
    _write_unique_tokens(corpus, 50_000_000, lee)
    code, stdout, stderr, peak_mb = _run_measured(
        ["-train", str(corpus), "-output", str(tmp_path / "v.bin"), "-binary", "1",
         "-save-vocab", str(tmp_path / "vocab.txt"), "-size", "20", "-iter", "1", "-debug", "1"])
    assert code == 0, stderr
    assert peak_mb < 1200, peak_mb
    ours = (tmp_path / "vocab.txt").read_bytes().split(b"\n")
    lee_alone = (GOLDEN / "vocab" / "vocab-lee-m5.txt").read_bytes().split(b"\n")
    assert ours[1:] == lee_alone[1:]            # entry 0 (</s>) counts one more newline
    assert ours[0] == b"</s> 301"


@pytest.mark.slow
def test_a_200_mb_line_without_spaces_is_read_in_bounded_memory(tmp_path):
    corpus = tmp_path / "line.txt"
    with open(corpus, "wb") as out:
        block = b"x" * (1 << 20)
        for _ in range(200):
            out.write(block)
        out.write(b"\n")
    code, stdout, stderr, peak_mb = _run_measured(
        ["-train", str(corpus), "-output", str(tmp_path / "v.bin"), "-min-count", "1",
         "-size", "8", "-debug", "1"])
    # One 98-byte word (the line, cut as the C tool cuts it) plus </s>: it trains.
    assert code == 0, stderr
    assert stdout[1:] == ["Vocab size: 2", "Words in train file: 2"]
    assert peak_mb < 150, peak_mb


@pytest.mark.slow
def test_a_vocab_file_of_five_million_words_is_read_in_memory_proportional_to_it(tmp_path):
    """5,000,001 entries ("w<i> <count>", 73 MB).  Measured: peak RSS 538 MB, 7.3 times
    the file, start-up included; the result alone (5M Python bytes objects in a list,
    with their counts, plus the 36 MB start-up) is 4.4 times.  The line-by-line reader
    this replaced peaked at 1173 MB (16 times).  The bound, 10 times, leaves room for
    another allocator while a reader holding Python objects per line would exceed it."""
    vocab = tmp_path / "big.vocab"
    counts = np.random.default_rng(1).integers(1, 100_000, 5_000_000)
    with open(vocab, "wb") as out:
        out.write(b"</s> 0\n")
        for start in range(0, len(counts), 500_000):
            out.write(b"".join(b"w%d %d\n" % pair for pair in
                               zip(range(start, start + 500_000),
                                   counts[start:start + 500_000].tolist())))
    code, stdout, stderr, peak_mb = _run_measured(
        ["-train", str(GOLDEN / "corpus" / "lee.txt"), "-read-vocab", str(vocab),
         "-debug", "1"])
    assert code == 0, stderr
    assert stdout[1:] == [f"Vocab size: {1 + int((counts >= 5).sum())}",
                          f"Words in train file: {int(counts[counts >= 5].sum())}"]
    size_mb = vocab.stat().st_size / (1 << 20)
    assert peak_mb < 10 * size_mb, (peak_mb, size_mb)
