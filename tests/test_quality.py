"""Vectors as good as the original's: analogy accuracy on text8-head (slow).

The original C tool, default flags, -threads 2, on text8-head12.5M, scores 7.4% (CBOW) and
7.3% (skip-gram) at 30,000 words, counted as compute-accuracy counts (right / seen).

Calibration (8 runs each, seeds 1-8, -threads 2, on this project's 2-core machine; two
threads share the weights without locks, so runs differ even with one seed):

* skip-gram: 7.36-8.71%, mean 8.00%, standard deviation 0.44.  Bar: the C tool's 7.3%
  less 0.3 points of run-to-run noise, 7.0% for one run, 2.3 sd below the mean.
* skip-gram, -batch 1: 7.57-8.44%, mean 8.03%, sd 0.28 (its threads but the first
  copying every word's rows, merged as they go and at the end; 7.17-8.12%, mean 7.81%,
  sd 0.36 with every thread copying 2,048 rows).  Same bar, 7.0% (3.7 sd below the
  mean; 2.2 sd below the lower mean of the 2,048-row runs: about one failure in 70).
* CBOW: 6.91-8.05%, mean 7.27%, sd 0.38.  That is 0.4 points below the 7.66% measured
  the same way before the worker threads kept private copies of the hot rows
  (docs/experiments.md), which on wiki8 cost CBOW 0.2 points.  The bar is set from
  this distribution: the mean of three runs, whose sd is 0.22, must reach 6.75%, 2.3 sd
  below its mean (one failure in about a hundred), and 0.65 points under the C tool's
  single run.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from w2v_cli.accuracy import evaluate_file
from w2v_cli.cli import word2vec_main


def _accuracy(tmp_path, shared_data, cbow: int, seed: int, batch: int = 0) -> float:
    output = tmp_path / f"v-{cbow}-{batch}-{seed}.bin"
    result = run_cli(word2vec_main, ["-train", str(shared_data / "text8-head12.5M"),
                                     "-output", str(output), "-binary", "1", "-cbow", str(cbow),
                                     "-batch", str(batch), "-threads", "2", "-seed", str(seed),
                                     "-debug", "0"])
    assert result.exit_code == 0, result.stderr
    questions = (shared_data / "questions-words.txt").read_bytes()
    report = evaluate_file(str(output), questions, 30000)
    assert report.seen == 9274                 # all four words among the first 30,000
    return report.accuracy


@pytest.mark.slow
def test_cbow_accuracy_matches_the_original(tmp_path, shared_data):
    runs = [_accuracy(tmp_path, shared_data, cbow=1, seed=seed) for seed in (1, 2, 3)]
    assert sum(runs) / len(runs) >= 6.75, runs


@pytest.mark.slow
def test_skipgram_accuracy_matches_the_original(tmp_path, shared_data):
    accuracy = _accuracy(tmp_path, shared_data, cbow=0, seed=1)
    assert accuracy >= 7.0, accuracy


@pytest.mark.slow
def test_batched_skipgram_accuracy_matches_the_original(tmp_path, shared_data):
    accuracy = _accuracy(tmp_path, shared_data, cbow=0, seed=1, batch=1)
    assert accuracy >= 7.0, accuracy
