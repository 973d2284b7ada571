"""Threads share one model: the result does not depend on their number, and a model that
blows up is an error, not a file."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.helpers import ArrayIds
from w2v_cli.backends import create_backend
from w2v_cli.cli import word2vec_main
from w2v_cli.config import TrainConfig
from w2v_cli.divergence import LONGEST_SANE_ROW, row_lengths
from w2v_cli.vectors import Vectors
from w2v_cli.vocab import Vocabulary

FREQUENT = 200          # the rows compared: the most frequent words'


@pytest.fixture(scope="module")
def text8_cut(tmp_path_factory):
    """The first 4 MB of text8-head (677,000 words) in lines of 1000 words."""
    from tests.conftest import SHARED_DATA

    source = SHARED_DATA / "text8-head12.5M"
    if not source.exists():
        pytest.skip("../shared/data is not available")
    words = source.read_bytes()[:4_000_000].split()[:-1]
    path = tmp_path_factory.mktemp("threads") / "cut.txt"
    path.write_bytes(b"\n".join(b" ".join(words[i:i + 1000])
                                for i in range(0, len(words), 1000)) + b"\n")
    return path


def _frequent_lengths(path, threads: int, flags, tmp_path) -> np.ndarray:
    output = tmp_path / f"v{threads}.bin"
    result = run_cli(word2vec_main, ["-train", str(path), "-output", str(output), "-binary",
                                     "1", "-size", "50", "-iter", "3", "-threads",
                                     str(threads), "-debug", "0", *flags])
    assert result.exit_code == 0, result.stderr
    matrix = Vectors.load(str(output), limit=FREQUENT).matrix
    return np.linalg.norm(matrix, axis=1)


@pytest.mark.parametrize("flags", [["-cbow", "0"], ["-cbow", "1"], ["-cbow", "0", "-batch", "1"]],
                         ids=["skip-gram", "cbow", "batched"])
def test_eight_threads_give_the_vector_lengths_of_one(text8_cut, tmp_path, flags):
    """Calibration (seeds 1-4, this cut, -size 50 -iter 3): the longest and the median
    length of the 200 most frequent words' vectors with 8 threads were 0.94-1.06 and
    1.00-1.07 times those with one thread, in every mode.  When each worker trained
    private copies of the frequent rows and their changes were added up, 8 skip-gram
    threads made them 15.7 and 5.0 times as long (87 against 5.6).  Bars: within 20%
    and 15%."""
    one = _frequent_lengths(text8_cut, 1, flags, tmp_path)
    eight = _frequent_lengths(text8_cut, 8, flags, tmp_path)
    assert 0.8 <= eight.max() / one.max() <= 1.2, (one.max(), eight.max())
    assert 0.85 <= np.median(eight) / np.median(one) <= 1.15, (np.median(one),
                                                               np.median(eight))


def test_ranges_shorter_than_a_learning_rate_refresh_still_lower_it():
    """32 workers on 1,000,000 tokens get ranges of about 3,900 tokens, below the 10,000
    words between two refreshes of the learning rate; it must still fall (it once stayed
    at its start for the whole run).  A worker refreshes it every 10,000 words of its
    own (about 62,000 each here), so the last refresh comes a little before the end: at
    worst 32 x 10,000 of the 2,000,000 words, 16% of the start."""
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 50, size=1_000_000).astype(np.int32)
    ids[::100] = 0                                    # sentences of 100 words
    vocab = Vocabulary([b"</s>"] + [b"w%d" % i for i in range(1, 50)],
                       np.array([1000] + [2000] * 49, dtype=np.int64))
    config = TrainConfig(train="-", size=8, threads=32, iter=2, sample=0)
    backend = create_backend(config, vocab, ArrayIds([ids]))
    backend.train()
    assert backend.progress.done() == 2 * len(ids)
    assert backend.progress.learning_rate() < 0.5 * config.starting_alpha


def test_a_diverging_run_stops_with_one_line_and_writes_nothing(tmp_path, shared_data):
    output = tmp_path / "v.bin"
    result = run_cli(word2vec_main, ["-train", str(shared_data / "lee_background.cor"),
                                     "-output", str(output), "-alpha", "1", "-threads", "2",
                                     "-debug", "0"])
    assert result.exit_code == 1
    assert len(result.error_lines) == 1, result.error_lines
    line = result.error_lines[0]
    assert line.startswith("word2vec: error: training diverged by the end of pass ")
    assert "not finite or longer than 1000" in line and "(-alpha 1)" in line
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []


def test_row_lengths_find_the_first_row_beyond_the_bound():
    matrix = np.ones((40_000, 20), dtype=np.float32)      # length sqrt(20) each
    lengths = row_lengths(matrix, 0, len(matrix), 16)
    assert lengths.bad_rows == 0 and lengths.longest == pytest.approx(4.0)
    matrix[30_000, 3] = np.nan
    matrix[35_000, 0] = 2 * LONGEST_SANE_ROW
    matrix[39_999, 19] = np.inf                           # beyond the size: not a row's
    lengths = row_lengths(matrix, 0, len(matrix), 16)
    assert (lengths.bad_rows, lengths.longest_row) == (2, 30_000)
    assert np.isnan(lengths.longest)
    assert row_lengths(matrix, 31_000, 40_000, 16).longest_row == 35_000


def _lines_corpus(tmp_path, shared_data):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import make_lines
    corpus = tmp_path / "text8h-lines.txt"
    make_lines.make_lines(str(shared_data / "text8-head12.5M"), str(corpus),
                          words_per_line=1000)
    return corpus


def _accuracy(corpus, output, questions, flags) -> float:
    from w2v_cli.accuracy import evaluate_file
    result = run_cli(word2vec_main, ["-train", str(corpus), "-output", str(output),
                                     "-binary", "1", "-debug", "0", *flags])
    assert result.exit_code == 0, result.stderr
    return evaluate_file(str(output), questions, 30000).accuracy


@pytest.mark.slow
def test_eight_threads_keep_the_accuracy_of_one(tmp_path, shared_data):
    """Skip-gram on text8-head in 1000-word lines, seeds 1-3, 8 threads against 1.

    Calibration (scripts/scaling_accuracy.py, docs/threads.md): one thread 7.87, 7.74,
    7.45% (mean 7.69), eight 8.17, 8.17, 8.43% (mean 8.26); one run's sd is about 0.3
    points over all thread counts, so the difference of two means of three has an sd of
    about 0.25.  Bar: the eight-thread mean at least the one-thread mean less 0.5 (2 sd);
    private row copies whose changes were added up scored 0.02% at 8 threads."""
    corpus = _lines_corpus(tmp_path, shared_data)
    questions = (shared_data / "questions-words.txt").read_bytes()
    means = {}
    for threads in (1, 8):
        runs = [_accuracy(corpus, tmp_path / f"v{threads}-{seed}.bin", questions,
                          ["-cbow", "0", "-threads", str(threads), "-seed", str(seed)])
                for seed in (1, 2, 3)]
        means[threads] = sum(runs) / len(runs)
    assert means[8] >= means[1] - 0.5, means
