"""``compute-similarity``: Spearman's correlation (checked against scipy where installed),
the pair-file reader, a model whose answer is worked out by hand, gensim's evaluation on
WordSim-353, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.companion_helpers import GOLDEN_MODEL, HAND_MATRIX, HAND_WORDS, write_model
from tests.conftest import run_cli
from w2v_cli import similarity
from w2v_cli.cli import compute_similarity_main
from w2v_cli.errors import FormatError


def test_average_ranks_share_ties():
    assert similarity.average_ranks(np.array([10, 20, 20, 30])).tolist() == [1, 2.5, 2.5, 4]
    assert similarity.average_ranks(np.array([3.0, 1.0, 2.0])).tolist() == [3, 1, 2]
    assert similarity.average_ranks(np.array([5, 5, 5])).tolist() == [2, 2, 2]


def test_spearman_simple_cases():
    x = np.arange(10.0)
    assert similarity.spearman(x, x ** 3) == pytest.approx(1.0)
    assert similarity.spearman(x, -x) == pytest.approx(-1.0)
    assert math.isnan(similarity.spearman(x, np.ones(10)))
    assert math.isnan(similarity.spearman(x[:1], x[:1]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-3, 3)), min_size=3, max_size=40))
def test_spearman_agrees_with_scipy_including_ties(pairs):
    stats = pytest.importorskip("scipy.stats")
    x = np.array([a for a, _ in pairs], dtype=np.float64)
    y = np.array([b for _, b in pairs], dtype=np.float64)
    ours = similarity.spearman(x, y)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        assert math.isnan(ours)
        return
    assert ours == pytest.approx(stats.spearmanr(x, y).correlation, abs=1e-12)


def test_pair_file_reader():
    data = (b"# The WordSim-353 Test Collection\n# Word 1\tWord 2\tHuman (mean)\n\n"
            b"tiger\tcat\t7.35\r\n  book   paper  7.46\nFBI\tfingerprint\t6.94\n"
            b"new york\tcity\t8\nbank \t money\t8.5")
    pairs = similarity.read_pairs(data)
    assert [(p.line, p.first, p.second, p.score) for p in pairs] == [
        (4, b"tiger", b"cat", 7.35), (5, b"book", b"paper", 7.46),
        (6, b"FBI", b"fingerprint", 6.94), (7, b"new york", b"city", 8.0),
        (8, b"bank", b"money", 8.5)]


@pytest.mark.parametrize("data, message", [
    (b"tiger\tcat\n", "line 1: expected 'word1<TAB>word2<TAB>score', found 2 fields"),
    (b"# c\ntiger\tcat\t7\nbook\tpaper\tmany\n",
     "line 3: the score is not a finite number: 'many'"),
    (b"a\tb\tnan\n", "line 1: the score is not a finite number"),
    (b"a\tb\t1\t2\n", "found 4 fields"),
    # a TAB line is split at its TABs only: an entry holding a space is not two words
    (b"new york\t8\n", "line 1: expected 'word1<TAB>word2<TAB>score', found 2 fields"),
    (b"king\t\t8\n", "line 1: word 2 is empty"),
    (b"\tqueen\t8\n", "line 1: word 1 is empty"),
    (b"a\tb\t1e400\n", "line 1: the score is not a finite number: '1e400'"),
    (b"# only comments\n\n", "no word pairs"),
    (b"", "no word pairs"),
])
def test_pair_file_errors(data, message):
    with pytest.raises(FormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        similarity.read_pairs(data, "pairs.tsv")


HAND_PAIRS = b"""# a hand-made pair file
king\tqueen\t8
king\tman\t9
king\tapple\t1
man\tzebra\t5
QUEEN\tWoman\t7
"""


def test_answer_worked_out_by_hand(tmp_path):
    """Cosines: king-queen 1/2, king-man 1/sqrt 2, king-apple 0, queen-woman 1/sqrt 2, so
    their ranks are (2, 3.5, 1, 3.5); the human scores rank (3, 4, 1, 2).  Centred:
    (-.5, 1, -1.5, 1) and (.5, 1.5, -1.5, -.5): 3 / sqrt(4.5 * 5) = 0.632456."""
    model = write_model(tmp_path / "hand.bin")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_bytes(HAND_PAIRS)
    result = run_cli(compute_similarity_main, [str(model), str(pairs)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (b"Pairs found / total: 4 5   skipped: 1 (1 with a word not in "
                             b"the model)\nSpearman correlation: 0.6325\n")
    report = similarity.evaluate_files(str(model), str(pairs))
    assert report.spearman == pytest.approx(3 / math.sqrt(22.5), abs=1e-12)
    assert [(p.first, p.second) for p in report.unknown] == [(b"man", b"zebra")]


def test_zero_vectors_are_skipped_and_counted(tmp_path):
    matrix = HAND_MATRIX.copy()
    matrix[5] = 0
    model = write_model(tmp_path / "zero.bin", HAND_WORDS, matrix)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_bytes(HAND_PAIRS)
    out = run_cli(compute_similarity_main, [str(model), str(pairs)]).stdout
    assert out.startswith(b"Pairs found / total: 3 5   skipped: 2 (1 with a word not in the "
                          b"model, 1 with a zero vector)\n")


def test_wordsim353_agrees_with_gensim(shared_data):
    gensim_models = pytest.importorskip("gensim.models")
    pytest.importorskip("scipy")
    pair_file = shared_data / "wordsim353.tsv"
    result = run_cli(compute_similarity_main, [str(GOLDEN_MODEL), str(pair_file)])
    assert result.exit_code == 0, result.stderr
    found, total = map(int, result.stdout.split(b"\n")[0].split(b":")[1].split()[:2])
    ours = float(result.stdout.split(b"\n")[1].split(b":")[1])
    keyed = gensim_models.KeyedVectors.load_word2vec_format(str(GOLDEN_MODEL), binary=True)
    _, (gensim_spearman, _), oov_percent = keyed.evaluate_word_pairs(str(pair_file))
    assert total == 353
    assert found == round(total * (1 - oov_percent / 100))
    assert ours == pytest.approx(gensim_spearman, abs=1e-4)


# --- usage and bad input ---------------------------------------------------------------------

def test_no_arguments_prints_help():
    result = run_cli(compute_similarity_main, [])
    assert result.exit_code == 0 and b"Usage: compute-similarity" in result.stdout


def test_bad_inputs(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_bytes(HAND_PAIRS)
    cases = [
        ([str(model), str(tmp_path / "none.tsv")], f"pair file not found: {tmp_path}/none.tsv"),
        ([str(tmp_path / "none.bin"), str(pairs)], "vector file not found"),
        ([str(model), str(tmp_path)], "pair file is a directory"),
        ([str(pairs), str(pairs)], "not a word2vec vector file"),
    ]
    for args, message in cases:
        result = run_cli(compute_similarity_main, args)
        assert result.exit_code == 1 and result.stdout == b""
        assert len(result.error_lines) == 1
        assert result.error_lines[0].startswith("compute-similarity: error: ")
        assert message in result.error_lines[0]
    few = tmp_path / "few.tsv"
    few.write_bytes(b"king\tqueen\t3\nsun\tmoon\t4\n")
    result = run_cli(compute_similarity_main, [str(model), str(few)])
    assert result.exit_code == 1 and result.error_lines == [
        f"compute-similarity: error: only 1 of the 2 pairs in {few} could be scored with "
        f"{model}; a correlation needs at least 2"]
    result = run_cli(compute_similarity_main, [str(model)])
    assert result.exit_code == 2 and len(result.error_lines) == 1
