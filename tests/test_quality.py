"""Vectors as good as the original's: analogy accuracy on text8-head (slow).

The original C tool, default flags, -threads 2, on text8-head12.5M, scores 7.4% (CBOW) and
7.3% (skip-gram) at 30,000 words, counted as compute-accuracy counts (right / seen).  The
bar is that figure less 0.3 points of run-to-run noise: 7.1% and 7.0%.

Calibration (8 runs each, seeds 1-8, -threads 2, on this project's 2-core machine):
CBOW 7.27-8.58%, mean 7.66%, standard deviation 0.41 (0.17 without its one high outlier);
skip-gram 7.80-8.72%, mean 8.06%, standard deviation 0.30.  Two threads share the weights
without locks, so runs differ even with one seed.  A single CBOW run would fall below 7.1%
about once in 12 runs (mean - 1.4 sd), so the CBOW check averages three runs (one in a
hundred); a single skip-gram run is 3.5 sd above its bar.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from w2v_cli.accuracy import evaluate_file
from w2v_cli.cli import word2vec_main


def _accuracy(tmp_path, shared_data, cbow: int, seed: int) -> float:
    output = tmp_path / f"v-{cbow}-{seed}.bin"
    result = run_cli(word2vec_main, ["-train", str(shared_data / "text8-head12.5M"),
                                     "-output", str(output), "-binary", "1", "-cbow", str(cbow),
                                     "-threads", "2", "-seed", str(seed), "-debug", "0"])
    assert result.exit_code == 0, result.stderr
    questions = (shared_data / "questions-words.txt").read_bytes()
    report = evaluate_file(str(output), questions, 30000)
    assert report.seen == 9274                 # all four words among the first 30,000
    return report.accuracy


@pytest.mark.slow
def test_cbow_accuracy_matches_the_original(tmp_path, shared_data):
    runs = [_accuracy(tmp_path, shared_data, cbow=1, seed=seed) for seed in (1, 2, 3)]
    assert sum(runs) / len(runs) >= 7.1, runs


@pytest.mark.slow
def test_skipgram_accuracy_matches_the_original(tmp_path, shared_data):
    accuracy = _accuracy(tmp_path, shared_data, cbow=0, seed=1)
    assert accuracy >= 7.0, accuracy
