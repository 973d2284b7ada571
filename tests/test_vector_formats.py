"""Reading vector files (``formats.read_vectors``): both formats, told apart by content,
golden files, round trips, odd words, and every kind of broken file."""

from __future__ import annotations

import os
import struct
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.companion_helpers import GOLDEN_MODEL, HAND_MATRIX, HAND_WORDS, vector_file_bytes
from tests.conftest import GOLDEN, can_run_as_nobody, run_as_nobody
from w2v_cli import formats
from w2v_cli.errors import FormatError, InputError
from w2v_cli.formats import read_vectors


def _naive_binary(data: bytes):
    """Slow reference: the C readers' loop, one byte at a time."""
    header, _, rest = data.partition(b"\n")
    count, size = map(int, header.split())
    words, rows, pos = [], [], 0
    for _ in range(count):
        word = bytearray()
        while rest[pos] != 0x20:
            if rest[pos] != 0x0A:
                word.append(rest[pos])
            pos += 1
        pos += 1
        words.append(bytes(word))
        rows.append(struct.unpack("<%df" % size, rest[pos:pos + 4 * size]))
        pos += 4 * size
    return words, np.array(rows, dtype=np.float32).reshape(count, size)


def _naive_text(data: bytes):
    lines = data.split(b"\n")
    count, size = map(int, lines[0].split(b" "))
    words, rows = [], []
    for line in lines[1:count + 1]:
        parts = line.rstrip(b" ").split(b" ")
        words.append(parts[0])
        rows.append([np.float32(float(x)) for x in parts[1:]])
    return words, np.array(rows, dtype=np.float32).reshape(count, size)


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


# --- golden and C-written files -------------------------------------------------------------

def test_golden_binary_model_matches_the_byte_by_byte_reader():
    words, matrix = read_vectors(str(GOLDEN_MODEL))
    ref_words, ref_matrix = _naive_binary(GOLDEN_MODEL.read_bytes())
    assert len(words) == 7350 and matrix.shape == (7350, 50) and matrix.dtype == np.float32
    assert words == ref_words
    assert _same_bits(matrix, ref_matrix)


@pytest.mark.parametrize("name", ["vec-edge-cbow0-hs1-neg2-s1e-3.bin",
                                  "vec-edge-cbow1-hs1-neg2-s0.txt"])
def test_edge_corpus_vectors_keep_odd_words(name):
    """Words with \\f, \\v, a no-break space, a cut UTF-8 character, 98 bytes long."""
    path = GOLDEN / "train" / name
    data = path.read_bytes()
    words, matrix = read_vectors(str(path))
    ref_words, ref_matrix = (_naive_binary if name.endswith(".bin") else _naive_text)(data)
    assert words == ref_words
    assert _same_bits(matrix, ref_matrix)
    assert any(len(w) == 98 for w in words)
    assert any(b"\x0c" in w for w in words) and any(b"\xc2\xa0" in w for w in words)


def test_format_is_told_from_the_content_not_the_name(tmp_path):
    binary = _write(tmp_path, "model.txt", vector_file_bytes(HAND_WORDS, HAND_MATRIX, True))
    text = _write(tmp_path, "model.bin", vector_file_bytes(HAND_WORDS, HAND_MATRIX, False))
    for path in (binary, text):
        words, matrix = read_vectors(path)
        assert words == HAND_WORDS
        assert np.array_equal(matrix, HAND_MATRIX)


def test_limit_reads_only_the_first_vectors():
    words, matrix = read_vectors(str(GOLDEN_MODEL), limit=5)
    assert words == [b"</s>", b"the", b"of", b"one", b"and"]
    all_words, all_matrix = read_vectors(str(GOLDEN_MODEL))
    assert np.array_equal(matrix, all_matrix[:5])
    assert read_vectors(str(GOLDEN_MODEL), limit=0)[0] == all_words
    assert read_vectors(str(GOLDEN_MODEL), limit=10 ** 9)[0] == all_words


def test_records_that_cross_block_boundaries(monkeypatch, tmp_path):
    text = _write(tmp_path, "edge.txt", (GOLDEN / "train" / "vec-edge-cbow1-hs1-neg2-s0.txt")
                  .read_bytes())
    expected = [read_vectors(str(GOLDEN_MODEL)), read_vectors(text)]
    monkeypatch.setattr(formats, "_READ_BLOCK", 4096)
    for path, (words, matrix) in zip((str(GOLDEN_MODEL), text), expected):
        got_words, got_matrix = read_vectors(path)
        assert got_words == words and _same_bits(got_matrix, matrix)


# --- the originals' limits are gone ---------------------------------------------------------

def test_long_words_and_many_dimensions_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    words = [b"w" * 300, b"x" * 51, "\u00e9t\u00e9".encode() * 40, b"short"]
    matrix = rng.standard_normal((4, 2500)).astype(np.float32)
    for binary in (True, False):
        path = _write(tmp_path, f"big{binary}", vector_file_bytes(words, matrix, binary))
        got_words, got_matrix = read_vectors(path)
        assert got_words == words
        expected = matrix if binary else np.float32(np.round(matrix.astype(np.float64), 6))
        assert np.array_equal(got_matrix, expected)


def test_text_files_from_other_writers(tmp_path):
    """No trailing space, CRLF line ends, tabs, blank lines, exponents, nan and inf."""
    data = (b"3 2\r\n"
            b"alpha 1.5 -2e-3\r\n"
            b"\n"
            b"beta\t0.1\t.5\n"
            b"gamma nan -inf")
    words, matrix = read_vectors(_write(tmp_path, "other.txt", data))
    assert words == [b"alpha", b"beta", b"gamma"]
    assert matrix[0].tolist() == [1.5, np.float32(-2e-3)]
    assert matrix[1].tolist() == [np.float32(0.1), 0.5]
    assert np.isnan(matrix[2, 0]) and matrix[2, 1] == -np.inf


def test_binary_files_without_newlines_between_records(tmp_path):
    """gensim writes binary records with no newline after the floats."""
    data = b"2 2\n" + b"a " + struct.pack("<2f", 1, 2) + b"b " + struct.pack("<2f", 3, 4)
    words, matrix = read_vectors(_write(tmp_path, "g.bin", data))
    assert words == [b"a", b"b"]
    assert matrix.tolist() == [[1, 2], [3, 4]]


def test_files_written_by_gensim(tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    rng = np.random.default_rng(5)
    keyed = gensim_models.KeyedVectors(vector_size=7)
    names = ["the", "caf\u00e9", "x" * 60, "a_b"]
    keyed.add_vectors(names, rng.standard_normal((4, 7)).astype(np.float32))
    for binary in (True, False):
        path = str(tmp_path / f"gensim-{binary}")
        keyed.save_word2vec_format(path, binary=binary)
        words, matrix = read_vectors(path)
        assert words == [n.encode() for n in names]
        assert np.allclose(matrix, keyed.vectors, atol=0 if binary else 1e-6)


def test_a_named_pipe_is_read_like_a_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = vector_file_bytes(HAND_WORDS, HAND_MATRIX, True)

    def feed():
        with open(fifo, "wb") as handle:
            handle.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    words, matrix = read_vectors(str(fifo))
    writer.join()
    assert words == HAND_WORDS and np.array_equal(matrix, HAND_MATRIX)


# --- round trips and fuzzing ------------------------------------------------------------------

_WORD = st.binary(min_size=1, max_size=30).filter(
    lambda w: not any(c in w for c in b" \t\n"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(words=st.lists(_WORD, min_size=0, max_size=8),
       size=st.integers(1, 6), binary=st.booleans(), data=st.data())
def test_write_then_read_gives_the_same_model(tmp_path, words, size, binary, data):
    values = data.draw(st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True),
                                min_size=len(words) * size, max_size=len(words) * size))
    matrix = np.array(values, dtype=np.float32).reshape(len(words), size)
    if not binary:      # \r is text-format whitespace at the end of a line only
        words = [w.replace(b"\r", b"r") for w in words]
    path = _write(tmp_path, "rt", vector_file_bytes(words, matrix, binary))
    got_words, got_matrix = read_vectors(path)
    assert got_words == words
    if binary:
        assert _same_bits(got_matrix, matrix)
    else:   # text keeps what "%f" printed
        printed = np.array([np.float32(float(formats.format_value(x))) for x in values],
                           dtype=np.float32).reshape(len(words), size)
        assert np.array_equal(got_matrix, printed, equal_nan=True)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_any_bytes_load_or_fail_with_a_format_error(tmp_path, data):
    path = _write(tmp_path, "fuzz", data)
    try:
        words, matrix = read_vectors(path)
    except (FormatError, InputError) as exc:
        assert str(exc).strip() and "\n" not in str(exc)
    else:
        assert matrix.dtype == np.float32 and matrix.shape[0] == len(words)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(binary=st.booleans(), cut=st.integers(0, 400), flips=st.lists(
    st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=3))
def test_damaged_model_files_load_or_fail_cleanly(tmp_path, binary, cut, flips):
    data = bytearray(vector_file_bytes(HAND_WORDS, HAND_MATRIX, binary))
    for position, value in flips:
        if position < len(data):
            data[position] = value
    path = _write(tmp_path, "damaged", bytes(data[:cut]))
    try:
        words, matrix = read_vectors(path)
    except (FormatError, InputError) as exc:
        assert str(exc).strip() and "\n" not in str(exc)
    else:
        assert matrix.shape[0] == len(words)


# --- bad files: one clear message -------------------------------------------------------------

def _error(tmp_path, data: bytes) -> str:
    with pytest.raises(FormatError) as info:
        read_vectors(_write(tmp_path, "bad", data))
    return str(info.value)


def test_empty_file(tmp_path):
    assert "empty file" in _error(tmp_path, b"")


@pytest.mark.parametrize("data", [b"hello world\n", b"3\n", b"3 4 5\n", b"-1 4\n",
                                  b"\x00\x01\x02" * 2000, b"x" * 10000])
def test_no_header(tmp_path, data):
    assert "first line should be '<number of words> <dimensions>'" in _error(tmp_path, data)


def test_zero_dimensions(tmp_path):
    assert "0 dimensions" in _error(tmp_path, b"2 0\na \nb \n")


def test_short_last_binary_vector(tmp_path):
    data = vector_file_bytes(HAND_WORDS, HAND_MATRIX, True)[:-6]
    message = _error(tmp_path, data)
    assert "vector 6 of 6 ('apple') is cut short" in message
    assert "expected 4 float32 values (16 bytes), the file ends after 11 bytes" in message


def test_header_announces_more_vectors_than_the_file_has(tmp_path):
    data = vector_file_bytes(HAND_WORDS, HAND_MATRIX, True).replace(b"6 4\n", b"9 4\n", 1)
    assert "too short to hold 9" in _error(tmp_path, data)
    text = vector_file_bytes(HAND_WORDS, HAND_MATRIX, False)
    text = text.replace(b"6 4\n", b"7 4\n", 1)
    assert "the file ends after 6 of the 7 vectors" in _error(tmp_path, text)


@pytest.mark.parametrize("layout", ["binary", "binary without newlines", "text"])
def test_header_announces_fewer_vectors_than_the_file_has(tmp_path, layout):
    """As in the original readers: that many vectors are read, the rest is ignored."""
    data = _layout_bytes(HAND_WORDS, HAND_MATRIX, layout).replace(b"6 4\n", b"3 4\n", 1)
    words, matrix = read_vectors(_write(tmp_path, "fewer", data))
    assert words == HAND_WORDS[:3]
    assert np.array_equal(matrix, HAND_MATRIX[:3])


def _layout_bytes(words, matrix, layout: str) -> bytes:
    if layout == "binary without newlines":
        rows = (w + b" " + np.asarray(r, dtype="<f4").tobytes() for w, r in zip(words, matrix))
        return b"%d %d\n" % matrix.shape + b"".join(rows)
    return vector_file_bytes(words, matrix, layout == "binary")


@pytest.mark.parametrize("header", [b"6 3\n", b"6 2\n", b"6 5\n", b"6 8\n"])
def test_header_gives_the_wrong_dimension(tmp_path, header):
    """A word2vec-written binary file has a newline after every vector: when the header's
    dimension puts it elsewhere, the error says what the records really hold."""
    binary = vector_file_bytes(HAND_WORDS, HAND_MATRIX, True).replace(b"6 4\n", header, 1)
    message = _error(tmp_path, binary)
    assert message.endswith(f"the header says {header.split()[1].decode()} dimensions but "
                            f"every vector is followed by a newline after 4 values: the "
                            f"records hold 4 values each"), message
    text = vector_file_bytes(HAND_WORDS, HAND_MATRIX, False).replace(b"6 4\n", b"6 3\n", 1)
    assert "vector 1 ('</s>') has 4 values, the header says 3" in _error(tmp_path, text)


def test_a_wrong_dimension_is_found_beyond_the_first_block(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "_READ_BLOCK", 4096)
    rng = np.random.default_rng(2)
    words = [b"w%d" % i for i in range(3000)]
    matrix = rng.standard_normal((3000, 10)).astype(np.float32)
    data = vector_file_bytes(words, matrix, True).replace(b"3000 10\n", b"3000 9\n", 1)
    assert "the records hold 10 values each" in _error(tmp_path, data)


def _first_record_is_also_text(data: bytes, size: int) -> bool:
    """The one layout both formats can read (see formats._first_record): the bytes after
    the first word, up to a newline, are ``size`` plainly written numbers."""
    body = data.split(b"\n", 1)[1].lstrip(b"\n")
    word_end = min((i for i in (body.find(b" "), body.find(b"\t")) if i >= 0), default=-1)
    if word_end < 0:
        return False
    line = body[word_end + 1:].split(b"\n", 1)[0]
    values = line.replace(b"\t", b" ").replace(b"\r", b" ").split()
    return len(values) == size and all(formats._NUMBER.fullmatch(v) for v in values)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(_WORD, min_size=1, max_size=6), size=st.integers(1, 8),
       newlines=st.booleans(), data=st.data())
def test_binary_files_load_whatever_bytes_their_vectors_hold(tmp_path, words, size,
                                                             newlines, data):
    """Any 32-bit patterns (NaN payloads, bytes 10 and 32, printable runs), with or
    without a newline after each vector, load as binary, bit for bit."""
    bits = data.draw(st.lists(st.integers(0, 2 ** 32 - 1), min_size=len(words) * size,
                              max_size=len(words) * size))
    matrix = np.array(bits, dtype="<u4").view("<f4").reshape(len(words), size)
    layout = "binary" if newlines else "binary without newlines"
    file_bytes = _layout_bytes(words, matrix, layout)
    assume(not _first_record_is_also_text(file_bytes, size))
    got_words, got_matrix = read_vectors(_write(tmp_path, "any", file_bytes))
    assert got_words == words
    assert _same_bits(got_matrix, matrix.astype(np.float32))


def test_a_float_byte_10_in_the_first_vector_of_a_file_without_newlines(tmp_path):
    """Before: the bytes up to that 10 looked like a (short) text line, and the file was
    refused as text; about 1 such file in 100."""
    first = np.array([0x3F00000A, 0x41424344], dtype="<u4").view("<f4")   # 10, then "DCBA"
    matrix = np.vstack([first, [1.0, 2.0]]).astype(np.float32)
    data = _layout_bytes([b"a", b"b"], matrix, "binary without newlines")
    words, got = read_vectors(_write(tmp_path, "ten", data))
    assert words == [b"a", b"b"] and _same_bits(got, matrix)


def test_a_read_error_names_its_cause(tmp_path, monkeypatch):
    import errno
    import io

    class Failing(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(formats, "open_input", lambda path, what: io.BufferedReader(Failing()))
    with pytest.raises(InputError) as info:
        read_vectors("model.bin")
    assert str(info.value) == "cannot read vector file model.bin: Input/output error"


def test_non_numeric_text_value(tmp_path):
    data = b"2 3\nthe 0.1 0.2 0.3 \ncat 0.1 zero 0.3 \n"
    assert "vector 2 ('cat'): value 2 is not a number: 'zero'" in _error(tmp_path, data)
    data = b"1 2\nthe 0.1 1_000\n"          # Python's float() would take this one
    assert "value 2 is not a number" in _error(tmp_path, data)


def test_text_line_with_missing_values(tmp_path):
    assert "has 1 values, the header says 2" in _error(tmp_path, b"2 2\nthe 1 2\ncat 3\n")


def test_missing_unreadable_and_directory(tmp_path):
    with pytest.raises(InputError, match="vector file not found"):
        read_vectors(str(tmp_path / "nothing.bin"))
    with pytest.raises(InputError, match="is a directory"):
        read_vectors(str(tmp_path))
    locked = tmp_path / "locked.bin"
    locked.write_bytes(b"1 1\na 1\n")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user who can read any file")
        with pytest.raises(InputError, match="cannot read vector file"):
            read_vectors(str(locked))
    finally:
        locked.chmod(0o644)


@pytest.mark.skipif(not can_run_as_nobody,
                    reason="needs root and setpriv (as non-root, the test above runs)")
def test_unreadable_vector_file_as_an_unprivileged_user(nobody_workdir):
    locked = nobody_workdir / "locked.bin"
    locked.write_bytes(b"1 1\na 1\n")
    locked.chmod(0)
    for main, args in (("distance_main", ["locked.bin"]),
                       ("compute_accuracy_main", ["locked.bin", "100"])):
        result = run_as_nobody(main, args, nobody_workdir, stdin=b"a\n")
        lines = result.stderr.decode().strip().splitlines()
        assert result.returncode == 1
        assert len(lines) == 1 and "cannot read vector file locked.bin" in lines[0], lines


def test_a_header_with_no_vectors_is_an_empty_model(tmp_path):
    words, matrix = read_vectors(_write(tmp_path, "none", b"0 5\n"))
    assert words == [] and matrix.shape == (0, 5)
