"""Peak memory is the model plus bounded buffers: it does not grow with the corpus."""

from __future__ import annotations

import subprocess
import sys

import pytest

_MEASURE = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
            "stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _peak_rss_kb(args) -> int:
    command = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "w2v_cli", *args]
    return int(subprocess.run(command, check=True, capture_output=True).stdout)


@pytest.mark.slow
def test_peak_rss_is_the_same_on_a_corpus_four_times_larger(tmp_path, shared_data):
    """text8-head and four copies of it.  Every count is four times larger, so -min-count
    20 on the long corpus keeps exactly the vocabulary that -min-count 5 keeps on the
    short one: the model is the same size and only the corpus grows.  The bar, and the
    peaks it was set from (before and since ``memory.return_large_blocks_when_freed``),
    are in docs/experiments.md, "Peak memory beside the model"."""
    text = (shared_data / "text8-head12.5M").read_bytes()
    single = tmp_path / "once.txt"
    single.write_bytes(text)
    quadruple = tmp_path / "four.txt"
    quadruple.write_bytes((text + b"\n") * 4)
    common = ["-output", str(tmp_path / "v.bin"), "-binary", "1", "-iter", "1", "-threads", "2",
              "-debug", "0"]
    once = _peak_rss_kb(["-train", str(single), "-min-count", "5", *common])
    four = _peak_rss_kb(["-train", str(quadruple), "-min-count", "20", *common])
    assert abs(four - once) / once < 0.10, (once, four)


_LIBRARY_PEAK = """
import resource, sys
import w2v_cli
vectors = w2v_cli.train(sys.argv[1], size=int(sys.argv[2]), iter=1, threads=1)
print(vectors.matrix.nbytes, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def test_the_library_returns_the_vectors_within_the_memory_training_took(tmp_path):
    """``train()`` copies the word vectors out of the model.  It gives the output layer
    back first, so the copy takes the place the output layer held (before, the peak was
    the model plus the copy: three matrices instead of two).  At -size 20001 on lee.txt
    (1,763 words: 141 MB a matrix; rows padded to whole cache lines, so the vectors are
    copied), over the peak of the same run at -size 1 (the interpreter, the kernels and
    the corpus), the peak tells two matrices from three (docs/experiments.md, "Peak
    memory beside the model", has the measurements)."""
    from tests.conftest import GOLDEN
    corpus = GOLDEN / "corpus" / "lee.txt"

    def peak(size: int):
        result = subprocess.run([sys.executable, "-c", _LIBRARY_PEAK, str(corpus), str(size)],
                                check=True, capture_output=True, text=True, cwd=tmp_path)
        return tuple(map(int, result.stdout.split()))

    _, base = peak(1)
    matrix, large = peak(20001)
    assert matrix > 100e6
    assert large - base < 2.5 * matrix, ((large - base) / matrix)


def test_classes_are_computed_within_the_memory_training_took(tmp_path):
    """K-means works on a copy of the word vectors, made once the output layer is given
    back; before, the copy came on top of the model, and a run that the memory check let
    through could train to the end and then fail for want of memory.  Measured as in the
    test above."""
    from tests.conftest import GOLDEN
    corpus = GOLDEN / "corpus" / "lee.txt"

    def peak(size: int) -> int:
        return 1024 * _peak_rss_kb(["-train", str(corpus), "-output", str(tmp_path / "c.txt"),
                                    "-size", str(size), "-iter", "1", "-threads", "1",
                                    "-classes", "5", "-debug", "0"])

    base = peak(1)
    matrix = 1763 * 20001 * 4
    assert peak(20001) - base < 2.5 * matrix, (peak(20001) - base) / matrix
