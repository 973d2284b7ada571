"""``distance``: the golden transcript, answers known by construction, the end of the
input, the fixed limits of the original, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from tests.companion_helpers import (
    EVAL,
    GOLDEN_MODEL,
    HAND_MATRIX,
    HAND_WORDS,
    result_rows,
    run_piped,
    vector_file_bytes,
    write_model,
)
from tests.conftest import run_cli
from w2v_cli.cli import distance_main
from w2v_cli.query import DISTANCE_HEADER, DISTANCE_PROMPT

PROMPT = DISTANCE_PROMPT


def test_golden_transcript_byte_for_byte():
    queries = (EVAL / "distance-queries.txt").read_bytes()
    result = run_cli(distance_main, [str(GOLDEN_MODEL)], input=queries)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (EVAL / "distance-out.txt").read_bytes()
    assert result.stderr == b""


def test_same_transcript_from_a_text_model(tmp_path):
    """The golden model printed in the text format ranks the same words; the scores differ
    only by the 6-decimal rounding of the stored values."""
    from w2v_cli.formats import read_vectors
    words, matrix = read_vectors(str(GOLDEN_MODEL))
    text = write_model(tmp_path / "model.txt", words, matrix, binary=False)
    queries = (EVAL / "distance-queries.txt").read_bytes()
    got = result_rows(run_cli(distance_main, [str(text)], input=queries).stdout)
    want = result_rows((EVAL / "distance-out.txt").read_bytes())
    assert [w for w, _ in got[:5]] == [w for w, _ in want[:5]]
    assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-4)


def test_answers_known_by_construction(tmp_path):
    """king = man + e3: man scores 1/sqrt(2), queen 1/2, woman and apple 0 (tied: woman,
    the earlier entry, first), </s> -1/sqrt(2); the other 35 rows are empty."""
    model = write_model(tmp_path / "hand.bin")
    result = run_cli(distance_main, [str(model)], input=b"king\n")
    assert result.exit_code == 0
    expected = (PROMPT + b"\nWord: king  Position in vocabulary: 3\n" + DISTANCE_HEADER
                + b"%50s\t\t%f\n" % (b"man", 0.707107)
                + b"%50s\t\t%f\n" % (b"queen", 0.5)
                + b"%50s\t\t%f\n" % (b"woman", 0.0)
                + b"%50s\t\t%f\n" % (b"apple", 0.0)
                + b"%50s\t\t%f\n" % (b"</s>", -0.707107)
                + (b" " * 50 + b"\t\t-1.000000\n") * 35
                + PROMPT + b"\n")
    assert result.stdout == expected


def test_several_words_use_the_sum_and_are_left_out(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    out = run_cli(distance_main, [str(model)], input=b"man woman\n").stdout
    rows = result_rows(out)
    # man + woman = (1, 1, 0, 0)/sqrt 2: king and queen both score 1/2, king first.
    assert rows[:2] == [(b"king", 0.5), (b"queen", 0.5)]
    assert b"man" not in [w for w, _ in rows] and b"woman" not in [w for w, _ in rows]
    assert out.count(b"Position in vocabulary") == 2


def test_unknown_word_stops_the_query(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    out = run_cli(distance_main, [str(model)], input=b"zebra king\n").stdout
    assert out == (PROMPT + b"\nWord: zebra  Position in vocabulary: -1\n"
                   b"Out of dictionary word!\n" + PROMPT + b"\n")


def test_end_of_input_without_exit_stops_cleanly(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    result = run_cli(distance_main, [str(model)], input=b"king\nqueen")   # no final newline
    assert result.exit_code == 0
    assert result.stdout.count(PROMPT) == 3
    assert result.stdout.count(DISTANCE_HEADER) == 2       # the unterminated line is answered
    assert result.stdout.endswith(PROMPT + b"\n")
    empty = run_cli(distance_main, [str(model)], input=b"")
    assert (empty.exit_code, empty.stdout) == (0, PROMPT + b"\n")


def test_in_a_shell_pipeline():
    """``printf 'paris\\n' | distance vectors.bin`` ends (the original loops forever)."""
    done = run_piped("distance_main", [str(GOLDEN_MODEL)], b"paris\n", timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(b"\t\t") == 40 and b"Word: paris" in done.stdout


def test_spaces_tabs_and_crlf_separate_words(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    plain = run_cli(distance_main, [str(model)], input=b"man woman\n").stdout
    messy = run_cli(distance_main, [str(model)], input=b"  man \t  woman  \r\n\n").stdout
    answer = plain[:-len(PROMPT) - 1]           # prompt + answer, without the last prompt
    assert messy == answer + PROMPT + PROMPT + b"\n"   # the empty line only prompts again


def test_exit_ends_and_later_lines_are_ignored(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    out = run_cli(distance_main, [str(model)], input=b"EXIT\nking\n").stdout
    assert out == PROMPT


def test_long_words_are_not_cut(tmp_path):
    """The original stored 50 bytes per word and ran longer words into the next one."""
    words = HAND_WORDS + [b"w" * 120]
    matrix = np.vstack([HAND_MATRIX, [[1, 0, 1, 0.001]]]).astype(np.float32)
    model = write_model(tmp_path / "long.bin", words, matrix)
    out = run_cli(distance_main, [str(model)], input=b"king\n" + b"w" * 120 + b"\n").stdout
    assert result_rows(out)[0][0] == b"w" * 120
    assert b"Word: " + b"w" * 120 + b"  Position in vocabulary: 6\n" in out


def test_more_than_2000_dimensions(tmp_path):
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((50, 3000)).astype(np.float32)
    words = [b"w%d" % i for i in range(50)]
    matrix[7] = matrix[3] + 0.01 * matrix[9]
    model = write_model(tmp_path / "wide.bin", words, matrix)
    rows = result_rows(run_cli(distance_main, [str(model)], input=b"w3\n").stdout)
    assert rows[0][0] == b"w7" and rows[0][1] > 0.99


def test_zero_vector_never_answers_and_query_on_it_is_empty(tmp_path):
    matrix = HAND_MATRIX.copy()
    matrix[5] = 0                             # apple has no direction
    model = write_model(tmp_path / "zero.bin", HAND_WORDS, matrix)
    rows = result_rows(run_cli(distance_main, [str(model)], input=b"king\n").stdout)
    assert b"apple" not in [w for w, _ in rows] and len(rows) == 40
    rows = result_rows(run_cli(distance_main, [str(model)], input=b"apple\n").stdout)
    assert rows == [(b"", -1.0)] * 40


def test_ranking_matches_a_plain_numpy_ranking_on_random_models(tmp_path):
    rng = np.random.default_rng(11)
    matrix = rng.standard_normal((300, 8)).astype(np.float32)
    matrix[40] = matrix[5] + 0.1 * matrix[6]
    matrix[100] = matrix[40]                  # an exact tie: the earlier entry first
    words = [b"w%d" % i for i in range(300)]
    model = write_model(tmp_path / "random.bin", words, matrix)
    rows = result_rows(run_cli(distance_main, [str(model)], input=b"w5\n").stdout)
    unit = matrix / np.linalg.norm(matrix.astype(np.float64), axis=1, keepdims=True)
    scores = unit @ unit[5]
    scores[5] = -np.inf
    order = np.lexsort((np.arange(300), -np.round(scores, 6)))[:40]
    assert [w for w, _ in rows] == [words[i] for i in order]
    assert [w for w, _ in rows[:2]] == [b"w40", b"w100"] and rows[0][1] == rows[1][1]
    assert np.allclose([s for _, s in rows], scores[order], atol=2e-6)


# --- usage and bad input ---------------------------------------------------------------------

def test_no_arguments_prints_help():
    result = run_cli(distance_main, [])
    assert result.exit_code == 0 and b"Usage: distance" in result.stdout
    assert b"EXIT" in result.stdout


@pytest.mark.parametrize("content, message", [
    (None, "vector file not found"),
    (b"", "empty file"),
    (b"3 4\nnot a vector file\n", "vector 1 ('not') has 3 values, the header says 4"),
    (b"2 2\ncat 1 2\ndog one 2\n", "value 1 is not a number"),
])
def test_bad_vector_files(tmp_path, content, message):
    path = tmp_path / "model.bin"
    if content is not None:
        path.write_bytes(content)
    result = run_cli(distance_main, [str(path)], input=b"cat\n")
    assert result.exit_code == 1
    assert result.stdout == b""
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith("distance: error: ")
    assert message in result.error_lines[0]


def test_truncated_binary_model(tmp_path):
    data = vector_file_bytes(HAND_WORDS, HAND_MATRIX, True)
    path = tmp_path / "cut.bin"
    path.write_bytes(data[:-9])
    result = run_cli(distance_main, [str(path)], input=b"king\n")
    assert result.exit_code == 1
    assert result.error_lines == [f"distance: error: {path}: vector 6 of 6 ('apple') is cut "
                                  f"short: expected 4 float32 values (16 bytes), the file ends "
                                  f"after 8 bytes"]


def test_directory_and_extra_arguments(tmp_path):
    result = run_cli(distance_main, [str(tmp_path)])
    assert result.exit_code == 1 and result.error_lines == [
        f"distance: error: vector file is a directory: {tmp_path}"]
    # As the original, distance reads its first argument and ignores the others (with a
    # note: tests/test_flags.py).
    result = run_cli(distance_main, [str(GOLDEN_MODEL), "extra"], input=b"")
    assert result.exit_code == 0
    assert result.error_lines == ["distance: note: extra argument ignored: extra"]
