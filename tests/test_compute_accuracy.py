"""``compute-accuracy``: every golden report, the C tool's counting rules on a model whose
answers are known, the library function, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from tests.companion_helpers import (
    EVAL,
    GOLDEN_MODEL,
    HAND_MATRIX,
    HAND_WORDS,
    QUESTIONS,
    write_model,
)
from tests.conftest import run_cli
from w2v_cli import accuracy
from w2v_cli.cli import compute_accuracy_main
from w2v_cli.vectors import Vectors


@pytest.mark.parametrize("questions, threshold, report", [
    ("questions-words.txt", "30000", "accuracy-words-30000.txt"),
    ("questions-words.txt", "0", "accuracy-words-0.txt"),
    ("questions-words.txt", "5000", "accuracy-words-5000.txt"),
    ("questions-phrases.txt", "30000", "accuracy-phrases-30000.txt"),
])
def test_golden_reports_byte_for_byte(questions, threshold, report):
    result = run_cli(compute_accuracy_main, [str(GOLDEN_MODEL), threshold],
                     input=(QUESTIONS / questions).read_bytes())
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (EVAL / report).read_bytes()
    assert result.stderr == b""


def test_threshold_defaults_to_all_words():
    questions = (QUESTIONS / "questions-words.txt").read_bytes()
    result = run_cli(compute_accuracy_main, [str(GOLDEN_MODEL)], input=questions)
    assert result.stdout == (EVAL / "accuracy-words-0.txt").read_bytes()


def test_library_function_gives_the_figures():
    vectors = Vectors.load(str(GOLDEN_MODEL), limit=5000)
    report = accuracy.evaluate(vectors, (QUESTIONS / "questions-words.txt").read_bytes())
    assert (report.correct, report.seen, report.total) == (59, 1972, 19544)
    assert report.text == (EVAL / "accuracy-words-5000.txt").read_bytes()
    assert len(report.sections) == 14 and report.sections[0].name == b"capital-common-countries"
    assert sum(s.correct for s in report.sections) == 59
    assert report.semantic[0] + report.syntactic[0] == 59
    assert abs(report.accuracy - 100 * 59 / 1972) < 1e-12
    from_file = accuracy.evaluate_file(str(GOLDEN_MODEL),
                                       (QUESTIONS / "questions-words.txt").read_bytes(), 5000)
    assert from_file.text == report.text


HAND_QUESTIONS = b"""\
: family
man king woman queen
MAN KING WOMAN QUEEN
man king woman apple
man king zebra queen
: empty
: s3
: s4
: s5
: gram6
woman queen man king
"""


def test_counting_rules_on_a_model_with_known_answers(tmp_path):
    """king - man + woman is nearest to queen, queen - woman + man to king (both worked out
    in the hand model's comment); zebra is unknown; sections 1-5 are semantic."""
    model = write_model(tmp_path / "hand.bin")
    result = run_cli(compute_accuracy_main, [str(model)], input=HAND_QUESTIONS)
    empty = (b"ACCURACY TOP1: 0.00 %  (0 / 1)\n"
             b"Total accuracy: 66.67 %   Semantic accuracy: 66.67 %   "
             b"Syntactic accuracy: -nan % \n")
    assert result.stdout == (
        b"family:\n"
        b"ACCURACY TOP1: 66.67 %  (2 / 3)\n"
        b"Total accuracy: 66.67 %   Semantic accuracy: 66.67 %   Syntactic accuracy: -nan % \n"
        b"empty:\n" + empty + b"s3:\n" + empty + b"s4:\n" + empty + b"s5:\n" + empty +
        b"gram6:\n"
        b"ACCURACY TOP1: 100.00 %  (1 / 1)\n"
        b"Total accuracy: 75.00 %   Semantic accuracy: 66.67 %   "
        b"Syntactic accuracy: 100.00 % \n"
        b"Questions seen / total: 4 5   80.00 % \n")


def test_a_later_case_variant_counts_as_the_right_answer(tmp_path):
    """The question's words are looked up as their first case variant, but any variant of D
    is a right answer (the C tool compares upper-cased strings)."""
    words = HAND_WORDS + [b"Queen"]
    matrix = np.vstack([HAND_MATRIX, [[-0.1, 1, 0.7, 0]]]).astype(np.float32)
    model = write_model(tmp_path / "variants.bin", words, matrix)
    vectors = Vectors.load(str(model))
    assert vectors.analogy(b"man", b"king", b"woman", n=1)[0][0] == "Queen"  # later variant
    report = accuracy.evaluate(vectors, b": s\nman king woman queen\n")
    assert (report.correct, report.seen) == (1, 1)


def test_threshold_loads_only_the_first_words(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    result = run_cli(compute_accuracy_main, [str(model), "4"], input=HAND_QUESTIONS)
    assert result.stdout.endswith(b"Questions seen / total: 0 5   0.00 % \n")   # no queen


def test_input_layout_quirks(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    one = run_cli(compute_accuracy_main, [str(model)], input=b": a\nman king woman queen\n")
    # scanf reads tokens: line breaks do not matter, and a missing final newline changes
    # nothing here; "exit" (any case) closes a section like ":".
    for variant in (b":\na man\nking woman\tqueen", b"  : a man king woman queen  \n"):
        assert run_cli(compute_accuracy_main, [str(model)], input=variant).stdout == one.stdout
    two = run_cli(compute_accuracy_main, [str(model)],
                  input=b": a\nman king woman queen\nExit b\nman king woman apple\n").stdout
    assert two.count(b"ACCURACY TOP1") == 2 and b"\nb:\n" in two
    # questions before the first section count (as semantic) but print no section line
    before = run_cli(compute_accuracy_main, [str(model)], input=b"man king woman queen\n")
    assert before.stdout == b"Questions seen / total: 1 1   100.00 % \n"


def test_empty_question_input(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    result = run_cli(compute_accuracy_main, [str(model)], input=b"")
    assert (result.exit_code, result.stdout) == (0, b"Questions seen / total: 0 0   -nan % \n")


def test_percentages_are_float32_with_c_nan():
    assert accuracy.percent(0, 0) == b"-nan"
    assert accuracy.percent(2, 3) == b"66.67"
    assert accuracy.percent(1, 1) == b"100.00"
    assert accuracy.percent(65, 3236) == b"2.01"


# --- usage and bad input ---------------------------------------------------------------------

def test_no_arguments_prints_help():
    result = run_cli(compute_accuracy_main, [])
    assert result.exit_code == 0 and b"Usage: compute-accuracy" in result.stdout


@pytest.mark.parametrize("threshold", ["abc", "1e3", "3.5", "", "-5"])
def test_threshold_must_be_a_whole_number(threshold):
    result = run_cli(compute_accuracy_main, [str(GOLDEN_MODEL), threshold], input=b"")
    assert result.exit_code == 2 and result.stdout == b""
    assert result.error_lines == [f"compute-accuracy: error: THRESHOLD must be a whole "
                                  f"number of words (0 = all), got '{threshold}'"]


def test_threshold_takes_a_plus_sign_as_the_original_s_atoi_does(tmp_path):
    model = write_model(tmp_path / "hand.bin")
    plain = run_cli(compute_accuracy_main, [str(model), "4"], input=HAND_QUESTIONS)
    signed = run_cli(compute_accuracy_main, [str(model), "+4"], input=HAND_QUESTIONS)
    assert signed.exit_code == 0 and signed.stdout == plain.stdout


def test_bad_vector_files(tmp_path):
    result = run_cli(compute_accuracy_main, [str(tmp_path / "none.bin"), "30000"], input=b"")
    assert result.exit_code == 1 and result.error_lines == [
        f"compute-accuracy: error: vector file not found: {tmp_path / 'none.bin'}"]
    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"2 3\nthe 0.1 0.2 x\nof 1 2 3\n")
    result = run_cli(compute_accuracy_main, [str(broken)], input=b": a\n")
    assert result.exit_code == 1 and len(result.error_lines) == 1
    assert "value 3 is not a number: 'x'" in result.error_lines[0]
