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
    short one: the model is the same size and only the corpus grows."""
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
