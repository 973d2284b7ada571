"""Vocabulary counting, pruning, sorting, min-count and the vocab file format."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import reference
from tests.conftest import GOLDEN, golden_bytes
from tests.helpers import format_vocab, parse_vocab, vocab_from_list
from w2v_cli.errors import FormatError
from w2v_cli.sources import CorpusFile
from w2v_cli.vocab import learn_vocab, read_vocab_stream


@pytest.mark.parametrize("corpus", ["lee", "edge"])
@pytest.mark.parametrize("min_count", [1, 5])
def test_golden_vocab_files(corpus, min_count):
    learned = learn_vocab(CorpusFile(str(GOLDEN / f"corpus/{corpus}.txt")), min_count)
    assert format_vocab(learned.vocab) == golden_bytes(f"vocab/vocab-{corpus}-m{min_count}.txt")


_WORDS = st.sampled_from([b"a", b"b", b"c", b"dd", b"e", b"f", b"</s>", b"g"])


@given(st.lists(_WORDS, max_size=200), st.integers(0, 4), st.integers(3, 8))
@settings(max_examples=150, deadline=None)
def test_counting_and_pruning_match_the_reference(tmp_path_factory, words, min_count, prune_limit):
    path = tmp_path_factory.mktemp("v") / "corpus.txt"
    path.write_bytes(b" ".join(words) + b" ")
    learned = learn_vocab(CorpusFile(str(path)), min_count, prune_limit=prune_limit)
    expected_words, expected_counts = reference.learn_vocab(
        reference.tokenize(path.read_bytes()), min_count, prune_limit=prune_limit)
    assert learned.vocab.words == expected_words
    assert learned.vocab.counts.tolist() == expected_counts


def test_pruning_keeps_sentence_end_and_marks_the_id_cache_unusable(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"a b c d e f g h a a\n")
    learned = learn_vocab(CorpusFile(str(path)), 1, prune_limit=4)
    assert learned.vocab.words[0] == b"</s>"
    assert not learned.cache_valid


def test_vocab_file_round_trip_and_refiltering():
    words, counts = parse_vocab(golden_bytes("vocab/vocab-lee-m1.txt"), "v")
    vocab = vocab_from_list(words, counts, 1)
    assert format_vocab(vocab) == golden_bytes("vocab/vocab-lee-m1.txt")
    # A higher -min-count re-filters the read vocabulary, as the C tool does.
    expected = golden_bytes("vocab/vocab-lee-m5.txt")
    assert format_vocab(vocab_from_list(words, counts, 5)) == expected


def test_vocab_file_with_crlf_reads_like_lf():
    words, counts = parse_vocab(b"</s> 3\r\nthe 10\r\nfox\t2\r\n\r\n", "v")
    assert words == [b"</s>", b"the", b"fox"] and counts == [3, 10, 2]


@pytest.mark.parametrize("data, message", [
    (b"</s> 1\nthe\n", "line 2: missing count"),
    (b"</s> 1\nthe -4\n", "line 2: negative count"),
    (b"</s> 1\nthe 4x\n", "line 2: count '4x' is not a whole number"),
    (b"</s> 1\nthe 4 extra\n", "line 2: expected 'word count', found 3 fields"),
    (b"</s> 1\nthe 4\nfox 2\nthe 1\n", "line 4: word 'the' is listed twice (first on line 2)"),
    (b"", "vocabulary file is empty"),
    (b"\n\n", "vocabulary file is empty"),
])
def test_malformed_vocab_files_are_refused(data, message):
    with pytest.raises(FormatError, match=re.escape(message)):
        parse_vocab(data, "vocab.txt")


def test_sort_is_stable_and_keeps_entry_zero():
    vocab = vocab_from_list([b"X", b"b", b"a", b"c", b"d"], [0, 2, 3, 2, 1], 2)
    assert vocab.words == [b"X", b"a", b"b", b"c"]
    assert vocab.counts.tolist() == [0, 3, 2, 2]
    assert vocab.train_words == 7


@given(st.binary(max_size=400))
@settings(max_examples=400, deadline=None)
def test_any_bytes_read_as_a_vocab_file_or_fail_with_a_format_error(data):
    """Fuzzing: the vocab-file reader accepts a file or raises its own FormatError."""
    try:
        words, counts = parse_vocab(data, "fuzz.txt")
    except FormatError:
        return
    assert len(words) == len(set(words)) == len(counts) > 0
    assert all(count >= 0 for count in counts)
    assert all(0 < len(word) <= 98 and b"\0" not in word for word in words)


_VOCAB_PIECES = st.sampled_from([b"a", b"b", b"the", b"\xc3\xa9", b" ", b"\t", b"\n", b"\r",
                                  b"\x00", b"-", b"0", b"7", b"12", b"x1", b"</s>",
                                  b"99999999999999999999", b"9223372036854775807", b"00",
                                  b"w" * 100])


# Mostly well-formed lines (so that files are accepted, words repeat and totals overflow),
# with a stray piece now and then.
_VOCAB_LINE = st.tuples(
    st.sampled_from([b"a", b"b", b"c", b"</s>", b"\xc3\xa9t\xc3\xa9", b"x\x00y", b"w" * 100,
                     b"w" * 98 + b"z"]),
    st.sampled_from([b" ", b"\t", b"  \t"]),
    st.sampled_from([b"0", b"5", b"0042", b"4611686018427387904", b"9223372036854775807"]),
    st.sampled_from([b"\n", b"\r\n", b" \n", b"\n\n"]),
    st.one_of(st.just(b""), _VOCAB_PIECES)).map(b"".join)


@given(st.one_of(st.lists(_VOCAB_PIECES, max_size=40), st.lists(_VOCAB_LINE, max_size=12)),
       st.integers(1, 64))
@settings(max_examples=600, deadline=None)
def test_vocab_files_read_like_the_line_by_line_reference(parts, block):
    """Same words, counts and first error as a plain line-by-line reader, whatever the
    size of the blocks the file is read in."""
    import io
    data = b"".join(parts)
    try:
        expected = reference.parse_vocab(data, "v.txt")
    except ValueError as exc:
        expected = str(exc)
    try:
        reader = read_vocab_stream(io.BytesIO(data), "v.txt", block_bytes=block)
        got = (reader.words(), reader.counts().tolist())
    except FormatError as exc:
        got = str(exc)
    assert got == expected


def test_counts_that_add_up_past_int64_are_refused():
    data = b"</s> 0\nthe 9223372036854775807\nof 1\n"
    with pytest.raises(FormatError, match=re.escape(
            "v: the counts add up to 9223372036854775808, more than the largest total")):
        parse_vocab(data, "v")
    parse_vocab(b"</s> 0\nthe 9223372036854775806\nof 1\n", "v")      # the largest total


def test_a_vocab_file_over_many_blocks_keeps_line_numbers(tmp_path):
    import io
    lines = b"".join(b"w%d %d\n" % (i, i) for i in range(5000)) + b"w17 3\n"
    with pytest.raises(FormatError, match="line 5001: word 'w17' is listed twice "
                                          r"\(first on line 18\)"):
        read_vocab_stream(io.BytesIO(lines), "v", block_bytes=100)


@given(st.lists(st.tuples(st.binary(min_size=1, max_size=12).filter(
    lambda w: not any(c in w for c in b" \t\n\r\0")), st.integers(0, 10 ** 12)),
    min_size=1, max_size=20, unique_by=lambda pair: pair[0]))
@settings(max_examples=200, deadline=None)
def test_vocab_file_round_trip(pairs):
    words = [w for w, _ in pairs]
    counts = [c for _, c in pairs]
    data = b"".join(b"%s %d\n" % pair for pair in pairs)
    assert parse_vocab(data, "v") == (words, counts)


def test_counts_that_overflow_are_one_line_errors_of_the_command(tmp_path):
    from tests.conftest import run_cli
    from w2v_cli.cli import word2vec_main
    (tmp_path / "v.txt").write_bytes(b"</s> 0\nthe 9223372036854775807\nof 9\n")
    (tmp_path / "w.txt").write_bytes(b"</s> 0\nthe 92233720368547758070\n")
    for name, message in (("v.txt", "v.txt: the counts add up to 9223372036854775816, more "
                                    "than the largest total this tool can hold"),
                          ("w.txt", "w.txt: line 2: count 92233720368547758070 is too large")):
        result = run_cli(word2vec_main, ["-train", str(GOLDEN / "corpus" / "lee.txt"),
                                         "-read-vocab", name, "-output", "o.bin"], cwd=tmp_path)
        assert result.exit_code == 1
        assert len(result.error_lines) == 1 and message in result.error_lines[0]
        assert not (tmp_path / "o.bin").exists()


# --- the sentence end in -read-vocab files --------------------------------------------------

def _read(tmp_path, content: bytes, min_count: int = 1):
    from w2v_cli.vocab import read_vocab_file
    path = tmp_path / "v.txt"
    path.write_bytes(content)
    vocab, entries = read_vocab_file(str(path), min_count)
    return vocab.words, vocab.counts.tolist(), entries


def test_a_vocab_file_without_the_sentence_end_gets_it_first(tmp_path):
    """A file without </s> (gensim's fvocab files): </s> is added as entry 0 with count 0,
    where the original would make the file's first word the sentence end."""
    words, counts, entries = _read(tmp_path, b"the 40\nof 20\nand 20\nrare 1\n", min_count=2)
    assert words == [b"</s>", b"the", b"of", b"and"]
    assert counts == [0, 40, 20, 20] and entries == 4


def test_a_sentence_end_listed_after_other_words_is_moved_first(tmp_path):
    words, counts, entries = _read(tmp_path, b"the 40\nof 20\n</s> 7\nand 20\nrare 1\n")
    assert words == [b"</s>", b"the", b"of", b"and", b"rare"]    # ties stay in file order
    assert counts == [7, 40, 20, 20, 1] and entries == 5


def test_a_vocab_file_that_starts_with_the_sentence_end_reads_as_before(tmp_path):
    words, counts, _ = _read(tmp_path, b"</s> 3\nof 20\nthe 40\nand 1\n", min_count=2)
    assert words == [b"</s>", b"the", b"of"] and counts == [3, 40, 20]
