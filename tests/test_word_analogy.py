"""``word-analogy``: the golden transcript, answers known by construction, the end of the
input, and bad input."""

from __future__ import annotations

import numpy as np

from tests.companion_helpers import (
    EVAL,
    GOLDEN_MODEL,
    HAND_MATRIX,
    HAND_WORDS,
    result_rows,
    run_piped,
    write_model,
)
from tests.conftest import run_cli
from w2v_cli.cli import word_analogy_main
from w2v_cli.query import ANALOGY_HEADER, ANALOGY_PROMPT

PROMPT = ANALOGY_PROMPT


def test_golden_transcript_byte_for_byte():
    queries = (EVAL / "analogy-queries.txt").read_bytes()
    result = run_cli(word_analogy_main, [str(GOLDEN_MODEL)], input=queries)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (EVAL / "analogy-out.txt").read_bytes()


def test_answer_known_by_construction(tmp_path):
    """man : king = woman : queen.  king - man + woman = (a - 1, 1, a, 0) with
    a = 1/sqrt(2); its cosine with queen = (0, a, a, 0) is a(1 + a) / |query| = 0.9585;
    apple scores 0 and </s> below 0, so queen is the only row (the list keeps scores > 0)."""
    model = write_model(tmp_path / "hand.bin")
    result = run_cli(word_analogy_main, [str(model)], input=b"man king woman\n")
    assert result.exit_code == 0
    a = 1 / np.sqrt(2)
    query = np.array([a - 1, 1, a, 0])
    expected_score = float(query @ np.array([0, a, a, 0]) / np.linalg.norm(query))
    head = (PROMPT + b"\nWord: man  Position in vocabulary: 1\n"
            b"\nWord: king  Position in vocabulary: 3\n"
            b"\nWord: woman  Position in vocabulary: 2\n" + ANALOGY_HEADER)
    assert result.stdout.startswith(head)
    rows = result_rows(result.stdout)
    assert rows[0][0] == b"queen" and abs(rows[0][1] - expected_score) < 1e-6
    assert rows[1:] == [(b"", 0.0)] * 39
    assert result.stdout.endswith(b" " * 50 + b"\t\t0.000000\n" + PROMPT + b"\n")


def test_fewer_than_three_words(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    out = run_cli(word_analogy_main, [str(model)], input=b"man king\n").stdout
    assert out == (PROMPT + b"Only 2 words were entered.. three words are needed at the "
                   b"input to perform the calculation\n" + PROMPT + b"\n")


def test_unknown_word_prints_position_zero(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    out = run_cli(word_analogy_main, [str(model)], input=b"man zebra woman\n").stdout
    assert out == (PROMPT + b"\nWord: man  Position in vocabulary: 1\n"
                   b"\nWord: zebra  Position in vocabulary: 0\nOut of dictionary word!\n"
                   + PROMPT + b"\n")


def test_first_vocabulary_entry_is_a_word_like_any_other(tmp_path):
    """The original took position 0 for "not found" and refused </s>; we answer."""
    model = write_model(tmp_path / "hand.bin")
    out = run_cli(word_analogy_main, [str(model)], input=b"man </s> woman\n").stdout
    assert b"Out of dictionary word!" not in out and ANALOGY_HEADER in out


def test_extra_words_are_left_out_of_the_answers(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    out = run_cli(word_analogy_main, [str(model)], input=b"man king woman queen\n").stdout
    assert out.count(b"Position in vocabulary") == 4
    assert result_rows(out) == [(b"", 0.0)] * 40      # queen, the only positive, is excluded


def test_end_of_input_and_pipeline():
    done = run_piped("word_analogy_main", [str(GOLDEN_MODEL)], b"man king woman", timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(b"\t\t") == 40 and done.stdout.endswith(PROMPT + b"\n")


def test_zero_vector_scores_nothing(tmp_path):
    matrix = HAND_MATRIX.copy()
    matrix[4] = 0
    model = write_model(tmp_path / "zero.bin", HAND_WORDS, matrix)
    rows = result_rows(run_cli(word_analogy_main, [str(model)],
                               input=b"man king woman\nman queen woman\n").stdout)
    assert b"queen" not in [w for w, _ in rows[:40]]
    assert rows[40:] == [(b"", 0.0)] * 40             # a query built on it finds nothing


def test_no_arguments_and_bad_files(tmp_path):
    result = run_cli(word_analogy_main, [])
    assert result.exit_code == 0 and b"Usage: word-analogy" in result.stdout
    result = run_cli(word_analogy_main, [str(tmp_path / "missing.bin")], input=b"a b c\n")
    assert result.exit_code == 1
    assert result.error_lines == [
        f"word-analogy: error: vector file not found: {tmp_path / 'missing.bin'}"]
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    result = run_cli(word_analogy_main, [str(empty)], input=b"a b c\n")
    assert result.exit_code == 1 and len(result.error_lines) == 1
    assert "empty file" in result.error_lines[0]
