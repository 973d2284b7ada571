"""``word2phrase``: the golden outputs and stdout, a slow reference twin of the whole tool
compared on random corpora, compressed and standard input, memory, and bad input."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import GOLDEN, golden_bytes, run_cli
from w2v_cli import sources
from w2v_cli import word2phrase as phrases
from w2v_cli.cli import word2phrase_main, word2vec_main

# --- a slow, literal reference ----------------------------------------------------------------

def reference_word2phrase(data: bytes, min_count: int, threshold: float):
    """The C tool's behaviour as plain Python, one byte and one token at a time.

    Returns (output bytes, printed vocabulary size, words in train file).
    """
    tokens, word, open_word, cut = [], bytearray(), False, False
    for ch in data:
        if ch == 13:
            continue
        if ch in (32, 9, 10):
            if open_word:
                tokens.append(bytes(word))
                word, open_word, cut = bytearray(), False, False
            if ch == 10:
                tokens.append(None)                     # the newline token
            continue
        open_word = True
        if not cut:
            if ch == 0:
                cut = True
            elif len(word) < 58:
                word.append(ch)
    counts, order = {b"</s>": 0}, [b"</s>"]

    def add(text):
        if text in counts:
            counts[text] += 1
        else:
            counts[text] = 1
            order.append(text)

    last, words = b"", 0
    for token in tokens:
        if token is None:
            continue
        words += 1
        add(token)
        add((last + b"_" + token)[:59])
        last = token
    # SortVocab: entries 1.. by count (stable), then the filtering loop exactly as written
    entries = [order[0]] + sorted(order[1:], key=lambda e: -counts[e])
    size, a, found = len(entries), 0, set()
    while a < size:
        if counts[entries[a]] < min_count:
            size -= 1
        else:
            found.add(entries[a])
        a += 1
    out, last, previous_known, pa, pb = bytearray(), b"", False, 0, 0
    with np.errstate(all="ignore"):
        for token in tokens:
            if token is None:
                out += b"\n"
                last = b"\n"
                continue
            unknown = False
            if token in found:
                pb = counts[token]
            else:
                unknown = True
            if not previous_known:
                unknown = True
            previous_known = token in found
            bigram = (last + b"_" + token)[:59]
            pab = counts[bigram] if bigram in found else None
            if pab is None or pa < min_count or pb < min_count:
                unknown = True
            score = np.float32(0)
            if not unknown:
                score = (np.float32(pab - min_count) / np.float32(pa) / np.float32(pb)
                         * np.float32(words))
            if score > np.float32(threshold):
                out += b"_" + token
                pb = 0
            else:
                out += b" " + token
            pa = pb
            last = token
    return bytes(out), size, words


def _run_library(path: str, min_count: int, threshold: float):
    corpus = sources.CorpusFile(path)
    counts = phrases.count_phrases(corpus, min_count)
    import io
    stream = io.BytesIO()
    phrases.write_phrases(corpus, counts, min_count, threshold, stream)
    return stream.getvalue(), counts.reported_size, counts.train_words


_PIECES = [b"a", b"b", b"c", b"new", b"york", b"the", b"</s>", b"x" * 57, b"y" * 70,
           b"\x00z", b"p\rq", "caf\u00e9".encode()]
_SEPARATORS = [b" ", b"  ", b"\t", b"\n", b"\r\n", b"\n\n"]


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(parts=st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_SEPARATORS)),
                      max_size=60),
       ends_open=st.booleans(), min_count=st.integers(0, 4),
       threshold=st.sampled_from([-1.0, 0.0, 1.0, 5.0, 30.0, 1e9]),
       block=st.sampled_from([7, 64, phrases.BLOCK_BYTES]))
def test_same_as_the_reference_on_random_corpora(tmp_path, parts, ends_open, min_count,
                                                 threshold, block):
    data = b"".join(word + sep for word, sep in parts)
    if ends_open:
        data += b"dropped"
    path = tmp_path / "corpus.txt"
    path.write_bytes(data)
    saved = phrases.BLOCK_BYTES
    phrases.BLOCK_BYTES = block
    try:
        got = _run_library(str(path), min_count, threshold)
    finally:
        phrases.BLOCK_BYTES = saved
    assert got == reference_word2phrase(data, min_count, threshold)


@settings(max_examples=300, deadline=None)
@given(counts=st.lists(st.integers(0, 6), min_size=1, max_size=40), min_count=st.integers(0, 7))
def test_printed_size_and_findable_entries_follow_the_c_loop(counts, min_count):
    counts = np.array(counts, dtype=np.int64)
    order = [0] + sorted(range(1, len(counts)), key=lambda i: -counts[i])
    size, a, found = len(order), 0, set()
    while a < size:
        if counts[order[a]] < min_count:
            size -= 1
        else:
            found.add(order[a])
        a += 1
    reported, findable = phrases._c_reported_size(counts.copy(), min_count)
    assert reported == size
    assert set(np.flatnonzero(findable).tolist()) == found


def test_hand_made_corpus():
    """"new york" (10 times in 30 words): (10 - 5) / 10 / 10 * 30 = 1.5 > 1 joins it;
    "is big" scores (5 - 5) / ... = 0; a joined word cannot also join the next one."""
    data = b"new york is big\n" * 5 + b"new york\n" * 5
    out, _, words = reference_word2phrase(data, 5, 1.0)
    assert words == 30
    assert out == b" new_york is big\n" * 5 + b" new_york\n" * 5


# --- golden files through the command line ------------------------------------------------------

@pytest.fixture
def lee_dir(tmp_path):
    (tmp_path / "corpus").mkdir()
    shutil.copy(GOLDEN / "corpus" / "lee.txt", tmp_path / "corpus" / "lee.txt")
    (tmp_path / "phrases").mkdir()
    return tmp_path


@pytest.mark.parametrize("min_count, threshold", [(3, 10), (5, 100)])
def test_golden_output_and_stdout_byte_for_byte(lee_dir, min_count, threshold):
    name = f"phrases-lee-mc{min_count}-t{threshold}.txt"
    result = run_cli(word2phrase_main, ["-train", "corpus/lee.txt", "-output",
                                        f"phrases/{name}", "-min-count", str(min_count),
                                        "-threshold", str(threshold)], cwd=lee_dir)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == golden_bytes(f"phrases/stdout-phrases-lee-mc{min_count}-"
                                         f"t{threshold}.txt")
    assert (lee_dir / "phrases" / name).read_bytes() == golden_bytes(f"phrases/{name}")


def test_lee_matches_the_reference_too():
    data = (GOLDEN / "corpus" / "lee.txt").read_bytes()
    out, size, words = reference_word2phrase(data, 3, 10)
    assert (size, words) == (27797, 59890)
    assert out == golden_bytes("phrases/phrases-lee-mc3-t10.txt")


def test_compressed_and_standard_input(lee_dir):
    expected = golden_bytes("phrases/phrases-lee-mc5-t100.txt")
    packed = lee_dir / "corpus" / "lee.txt.gz"
    packed.write_bytes(gzip.compress((lee_dir / "corpus" / "lee.txt").read_bytes()))
    result = run_cli(word2phrase_main, ["-train", str(packed), "-output", "out-gz.txt"],
                     cwd=lee_dir)
    assert result.exit_code == 0, result.stderr
    assert (lee_dir / "out-gz.txt").read_bytes() == expected
    result = run_cli(word2phrase_main, ["-train", "-", "-output", "out-stdin.txt"],
                     input=(lee_dir / "corpus" / "lee.txt").read_bytes(), cwd=lee_dir)
    assert result.exit_code == 0, result.stderr
    assert (lee_dir / "out-stdin.txt").read_bytes() == expected
    assert b"Vocab size (unigrams + bigrams): 26243\n" in result.stdout


def test_debug_levels(lee_dir):
    args = ["-train", "corpus/lee.txt", "-output", "o.txt"]
    quiet = run_cli(word2phrase_main, args + ["-debug", "0"], cwd=lee_dir)
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, b"", b"")
    figures = run_cli(word2phrase_main, args + ["-debug", "1"], cwd=lee_dir)
    assert figures.stdout == golden_bytes("phrases/stdout-phrases-lee-mc5-t100.txt")
    assert figures.stderr == b""


def test_memory_grows_with_the_input_not_a_fixed_table(lee_dir):
    """The C tool allocates a 2 GB hash table whatever the input (about 1.95 GB resident)."""
    measure = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
               "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    code = "from w2v_cli.cli import word2phrase_main; word2phrase_main()"
    done = subprocess.run([sys.executable, "-c", measure, sys.executable, "-c", code,
                           "-train", "corpus/lee.txt", "-output", "m.txt"],
                          cwd=lee_dir, capture_output=True, timeout=300, check=True)
    assert int(done.stdout) < 200_000        # kB (about 45 MB measured; the C tool: 2 GB)


# --- usage and bad input -----------------------------------------------------------------------

def test_no_arguments_prints_help():
    result = run_cli(word2phrase_main, [])
    assert result.exit_code == 0 and b"-threshold" in result.stdout


def test_missing_output_is_an_error_before_any_work(lee_dir):
    result = run_cli(word2phrase_main, ["-train", "corpus/lee.txt"], cwd=lee_dir)
    assert result.exit_code == 2 and result.stdout == b""
    assert result.error_lines == ["word2phrase: error: -output FILE is required (where the "
                                  "joined text goes)"]


@pytest.mark.parametrize("args, code, message", [
    (["-output", "o.txt"], 2, "-train FILE is required"),
    (["-train", "nothing.txt", "-output", "o.txt"], 1, "training file not found: nothing.txt"),
    (["-train", "corpus/lee.txt", "-output", "no/such/dir/o.txt"], 1, "does not exist"),
    (["-train", "corpus/lee.txt", "-output", "o.txt", "-threshold", "high"], 2, "high"),
    (["-train", "corpus/lee.txt", "-output", "o.txt", "-min-count", "1.5"], 2, "1.5"),
    (["-train", "corpus/lee.txt", "-output"], 2, "-output"),
])
def test_bad_arguments(lee_dir, args, code, message):
    _assert_refused(lee_dir, args, code, message)


# The same checks and messages as word2vec's flags; -min-count 0 is refused (with it
# the original divides by zero and chains whole lines into one token).
@pytest.mark.parametrize("flags, message", [
    ("-threshold nan", "-threshold must be a number, got nan"),
    ("-threshold 1e400", "-threshold inf is too large to represent (at most 3.402823e+38)"),
    ("-threshold -inf", "-threshold -inf is too large to represent (at most 3.402823e+38)"),
    ("-min-count -1", "-min-count must be >= 0, got -1"),
    ("-min-count 99999999999999999999", "-min-count 99999999999999999999 is too large to "
                                        "represent (integers must fit in 64 bits)"),
    ("-min-count 0", "-min-count must be at least 1 for word2phrase, got 0 (with 0 the "
                     "original divides by zero and joins whole lines into one token)"),
])
def test_flag_values_are_checked_as_word2vec_checks_them(lee_dir, flags, message):
    result = run_cli(word2phrase_main, ["-train", "corpus/lee.txt", "-output", "o.txt",
                                        *flags.split()], cwd=lee_dir)
    assert result.exit_code == 2
    assert result.error_lines == [f"word2phrase: error: {message}"]
    assert not (lee_dir / "o.txt").exists()
    if flags.startswith("-min-count") and flags != "-min-count 0":     # a flag of both
        same = run_cli(word2vec_main, ["-train", "corpus/lee.txt", "-output", "o.txt",
                                       *flags.split()], cwd=lee_dir)
        assert same.error_lines == [f"word2vec: error: {message}"]


def _assert_refused(lee_dir, args, code, message):
    result = run_cli(word2phrase_main, args, cwd=lee_dir)
    assert result.exit_code == code
    assert len(result.error_lines) == 1 and result.error_lines[0].startswith("word2phrase: ")
    assert message in result.error_lines[0]
    assert not (lee_dir / "o.txt").exists()


def test_corrupt_compressed_input(lee_dir):
    packed = gzip.compress((lee_dir / "corpus" / "lee.txt").read_bytes())
    (lee_dir / "cut.gz").write_bytes(packed[:len(packed) // 2])
    result = run_cli(word2phrase_main, ["-train", "cut.gz", "-output", "o.txt"], cwd=lee_dir)
    assert result.exit_code == 1 and len(result.error_lines) == 1
    assert not (lee_dir / "o.txt").exists()
