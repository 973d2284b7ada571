"""The C tool's vector file formats (reference §4), byte for byte.

Text (``-binary 0``)::

    V size\\n
    word v1 v2 ... vN \\n        each value printed as C's "%f" (6 decimals), each followed
                                by a space, so every line ends with " \\n"

Binary (``-binary 1``)::

    V size\\n
    word<space><size little-endian float32><\\n>

Writing the text format value by value in Python would take minutes for a large model, so
values are formatted by a compiled kernel that reproduces glibc's "%f" exactly (round half
to even on the exact binary value, ``-0.000000`` for small negatives); NaN and infinities,
which a diverged run can produce, fall back to Python with glibc's spelling.

``read_vectors`` reads either format, told apart by the content (see "reading" below).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
from typing import BinaryIO, List, Optional, Sequence, Tuple

import numpy as np

from w2v_cli import native
from w2v_cli.errors import FormatError, InputError, shown
from w2v_cli.kernels.abi import (
    SCAN_ASK_PYTHON,
    SCAN_DONE,
    SCAN_ENDED,
    SCAN_NEED_INPUT,
    SCAN_POOL_FULL,
)
from w2v_cli.sources import open_input

_TEXT_CHUNK_BYTES = 8 << 20


def _words_pool(words: Sequence[bytes]):
    """The words back to back (uint8) with their start offsets (int64[len+1])."""
    data = b"".join(words)
    starts = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words)),
              out=starts[1:])
    pool = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(1, dtype=np.uint8)
    return pool, starts


def format_value(x: float) -> bytes:
    """One value as C's "%f " (Python side; used for non-finite or huge values)."""
    value = float(np.float32(x))
    if math.isnan(value):
        return b"-nan " if math.copysign(1.0, value) < 0 else b"nan "
    if math.isinf(value):
        return b"-inf " if value < 0 else b"inf "
    return b"%f " % value


def _text_rows_python(words, matrix, first, last) -> bytes:
    return b"".join(words[i] + b" " + b"".join(format_value(x) for x in matrix[i]) + b"\n"
                    for i in range(first, last))


def header(count: int, size: int) -> bytes:
    return b"%d %d\n" % (count, size)


def write_text(stream: BinaryIO, words: Sequence[bytes], matrix: np.ndarray) -> None:
    """Write ``words`` and the float32 rows of ``matrix`` (any layout: e.g. the model's
    padded rows, without their padding) in the text format, a chunk of rows at a time."""
    count, size = matrix.shape
    stream.write(header(count, size))
    pool, starts = _words_pool(words)
    row_bytes = 1 + size * 22 + 1
    rows_per_chunk = max(1, _TEXT_CHUNK_BYTES // (row_bytes + 100))
    out = np.empty(rows_per_chunk * row_bytes + int(
        max((len(w) for w in words), default=0)) * rows_per_chunk + 16, dtype=np.uint8)
    for first in range(0, count, rows_per_chunk):
        last = min(count, first + rows_per_chunk)
        block = np.ascontiguousarray(matrix[first:last], dtype=np.float32)
        if np.isfinite(block).all() and (block.size == 0 or np.abs(block).max() < 1e12):
            n = native.kernels().format_text_rows(block, 0, last - first, pool,
                                                  starts[first:last + 1], out)
            stream.write(out[:n].tobytes())
        else:
            stream.write(_text_rows_python(words[first:last], block, 0, last - first))


def write_binary(stream: BinaryIO, words: Sequence[bytes], matrix: np.ndarray) -> None:
    """Write ``words`` and the rows of ``matrix`` (any layout) in the binary format, a
    chunk of rows at a time."""
    count, size = matrix.shape
    stream.write(header(count, size))
    rows_per_chunk = max(1, (_TEXT_CHUNK_BYTES // 4) // max(1, 4 * size + 16))
    for first in range(0, count, rows_per_chunk):
        last = min(count, first + rows_per_chunk)
        block = np.ascontiguousarray(matrix[first:last], dtype="<f4")
        stream.write(b"".join(words[first + i] + b" " + block[i].tobytes() + b"\n"
                              for i in range(last - first)))


def write_vectors(stream: BinaryIO, words: Sequence[bytes], matrix: np.ndarray,
                  binary: bool) -> None:
    (write_binary if binary else write_text)(stream, words, matrix)


def write_classes(stream: BinaryIO, words: Sequence[bytes], classes: np.ndarray) -> None:
    """``word class\\n`` per word (the ``-classes`` output; no header)."""
    labels: List[int] = np.asarray(classes).tolist()
    chunk = 1 << 16
    for first in range(0, len(words), chunk):
        stream.write(b"".join(b"%s %d\n" % (w, c) for w, c in
                              zip(words[first:first + chunk], labels[first:first + chunk])))


# --- reading ------------------------------------------------------------------------------
#
# ``read_vectors`` accepts both formats whatever the file is called: the first record
# tells them apart (a text record is a word and ``size`` numbers up to its newline; any
# other record is binary: a word, a space and 4*size raw bytes, with or without a newline
# after them).  As in the C tools, a header that announces fewer vectors than the file
# holds reads that many.  Records are copied by compiled kernels
# (``kernels/vectors.py``) block by block, so a million-word model loads in seconds and
# memory holds the matrix plus one block.  As in the C tools, newline bytes before a
# word are skipped and a binary word ends at the first space; unlike them, words and
# vectors have no length limit.  NaN and infinite values are accepted as they are (the
# query tools never return a word whose vector contains one).

_READ_BLOCK = 16 << 20
_HEADER_BYTES = 4096
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)",
                     re.IGNORECASE)
_BLANKS = re.compile(rb"[ \t\r]+")
_FIRST_BLANK = re.compile(rb"[ \t]")
_PRINTABLE_LINE = re.compile(rb"[\x20-\x7e\t\r]*")
_TEXT_LINE_SLACK = 65536       # a text record: its word, 48 bytes a value, and this
_SNIFF_LIMIT = 1 << 28


def read_vectors(path: str, limit: Optional[int] = None) -> Tuple[List[bytes], np.ndarray]:
    """Read a word2vec vector file, binary or text (told apart from the content).

    Parameters
    ----------
    path : str
        The vector file.
    limit : int, optional
        Read only the first ``limit`` vectors (the most frequent words in files written by
        word2vec); None or 0 reads them all.

    Returns
    -------
    words : list of bytes
        The words in file order.
    matrix : float32[len(words), size]
        Their vectors, as stored.

    Raises
    ------
    InputError
        The file cannot be opened or read.
    FormatError
        The content is not a vector file: no header, a record cut short, a wrong number of
        values, a value that is not a number, or binary records that the header's
        dimension does not fit.
    """
    return _reading(path, lambda reader: reader.read(limit))


def read_dimensions(path: str) -> Tuple[int, int]:
    """(words, dimensions) of the vector file at ``path``, from its header; the errors
    of ``read_vectors``."""
    return _reading(path, lambda reader: reader._header()[:2])


def _reading(path: str, use):
    """``use(reader)`` over the vector file at ``path``, its errors naming the file."""
    stream = open_input(path, "vector file")
    try:
        with stream:
            return use(_VectorReader(stream, path))
    except IsADirectoryError:
        raise InputError(f"vector file is a directory: {path}") from None
    except OSError as exc:
        if exc.filename is not None and exc.filename != path:
            raise                       # about another file, which the message names
        raise InputError(f"cannot read vector file {path}: {exc.strerror or exc}") from None


def _show(word: bytes, limit: int = 40) -> str:
    return shown(word, limit)


class _VectorReader:
    """One pass over a vector file with a growable block buffer (see ``read_vectors``)."""

    def __init__(self, stream: BinaryIO, path: str) -> None:
        self.stream = stream
        self.path = path
        self.buffer = bytearray(max(_READ_BLOCK, _HEADER_BYTES))
        self.n = 0              # valid bytes in the buffer
        self.eof = False
        self._fill()

    # --- input ------------------------------------------------------------------------
    def _fill(self) -> None:
        """Read until the buffer is full or the file ends."""
        view = memoryview(self.buffer)
        while self.n < len(self.buffer) and not self.eof:
            got = self.stream.readinto(view[self.n:])
            if not got:
                self.eof = True
            else:
                self.n += got

    def _refill(self, keep_from: int) -> None:
        """Drop the bytes before ``keep_from`` and read more; grow when nothing was dropped."""
        if keep_from == 0 and self.n == len(self.buffer):
            self.buffer.extend(bytes(len(self.buffer)))     # one record exceeds the block
        else:
            kept = self.n - keep_from
            self.buffer[:kept] = self.buffer[keep_from:self.n]
            self.n = kept
        self._fill()

    def _array(self) -> np.ndarray:
        return np.frombuffer(self.buffer, dtype=np.uint8)

    def _fail(self, message: str) -> FormatError:
        return FormatError(f"{self.path}: {message}")

    # --- header and format ------------------------------------------------------------
    def _header(self) -> Tuple[int, int, int]:
        """(words, size, offset of the first record) from the ``<words> <size>`` line."""
        if self.n == 0:
            raise self._fail("empty file (a vector file starts with '<words> <dimensions>')")
        head = bytes(self.buffer[:min(self.n, _HEADER_BYTES)])
        end = head.find(b"\n")
        if end >= 0:
            line, first_record = head[:end], end + 1
        elif self.eof and self.n <= _HEADER_BYTES:
            line, first_record = head, len(head)        # a header without records
        else:
            line, first_record = b"", 0
        parts = _BLANKS.split(line.strip(b" \t\r"))
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise self._fail("not a word2vec vector file: the first line should be "
                             "'<number of words> <dimensions>'")
        count, size = int(parts[0]), int(parts[1])
        if size == 0:
            raise self._fail("the header gives 0 dimensions")
        return count, size, first_record

    def _first_record(self, position: int, size: int) -> "_FirstRecord":
        """What the first record says about the format (see ``_FirstRecord``).

        The first record is text when it is a text line: a word, a blank, then ``size``
        numbers and a newline (or the end of the file).  Anything else is binary,
        whatever bytes its vector holds: a byte 10 among the floats, or no newline after
        them, proves nothing.  The one layout both ways can read is a binary vector every
        one of whose bytes is an ASCII digit, sign, point, blank or letter of "nan",
        "inf" or an exponent (float32 values such as 1.7e-07, the bytes "1234"), which no
        trainer writes; such a record is read as the text it also is.
        """
        buffer = self.buffer
        start = position
        while start < self.n and buffer[start] == 10:         # newlines before a word
            start += 1
        space = buffer.find(b" ", start, self.n)                # a binary word ends here
        newline_after = (space >= 0 and space + 1 + 4 * size < self.n
                         and buffer[space + 1 + 4 * size] == 10)
        blank = _FIRST_BLANK.search(buffer, start, self.n)      # a text word ends here
        if blank is None:
            return _FirstRecord(False, newline_after, None)
        limit = blank.start() + 48 * size + _TEXT_LINE_SLACK    # the longest text record
        if limit > self.n and not self.eof and limit < _SNIFF_LIMIT:
            buffer.extend(bytes(limit - len(buffer)))
            self._fill()
        line_end = buffer.find(b"\n", blank.start(), min(limit, self.n))
        if line_end < 0:
            if not (self.eof and limit >= self.n):
                return _FirstRecord(False, newline_after, None)   # too long for text
            line_end = self.n
        line = bytes(buffer[start:line_end])
        word, values, problem = _text_record(line, 1, size)
        if problem is None:
            return _FirstRecord(True, False, None)
        rest = line[len(word):]
        text_like = _PRINTABLE_LINE.fullmatch(rest) is not None and bool(rest.strip(b" \t\r"))
        return _FirstRecord(False, newline_after, problem if text_like else None)

    # --- records ----------------------------------------------------------------------
    def read(self, limit: Optional[int]) -> Tuple[List[bytes], np.ndarray]:
        announced, size, position = self._header()
        count = announced if not limit or limit <= 0 else min(announced, limit)
        total = _file_size(self.stream)
        if total is not None and count and 2 * size > total - position:
            raise self._fail(f"the header announces vectors of {size} dimensions but the "
                             f"file is too short to hold even one ({total} bytes)")
        first = (self._first_record(position, size) if count
                 else _FirstRecord(False, False, None))
        if first.text:
            words, matrix, _ = self._read_records(False, announced, count, size, position,
                                                  total)
            return words, matrix
        if count and not first.newline_after:
            other = self._newline_layout_dimension(position, size, announced)
            if other is not None:
                raise self._fail(first.text_problem or
                                 f"the header says {size} dimensions but every vector is "
                                 f"followed by a newline after {other} values: the records "
                                 f"hold {other} values each")
        try:
            words, matrix, end = self._read_records(True, announced, count, size, position,
                                                    total)
            if first.newline_after:
                self._check_alignment(end, count, size)
        except FormatError:
            if first.text_problem is not None and not first.newline_after:
                raise self._fail(first.text_problem) from None    # text gone wrong
            raise
        if (first.text_problem is not None and not first.newline_after
                and not self._at_end(end) and not _holds_control_bytes(matrix)):
            # Read as binary, it has neither the layout nor the bytes of a binary file:
            # it is a text file whose first record is wrong.
            raise self._fail(first.text_problem)
        return words, matrix

    def _read_records(self, binary: bool, announced: int, count: int, size: int,
                      position: int, total: Optional[int]):
        """(words, matrix, position after the last record) read in one format."""
        smallest = (4 * size + 1) if binary else (2 * size)
        if total is not None and count * smallest > total - position:
            raise self._fail(f"the header announces {announced} vectors of {size} dimensions "
                             f"but the file is too short to hold {count} of them "
                             f"({total} bytes)")
        try:
            matrix = np.empty((count, size), dtype="<f4" if binary else np.float32)
        except (MemoryError, ValueError):
            raise self._fail(f"the header announces {count} x {size} values: too many to "
                             f"load") from None
        word_ends = np.empty(count, dtype=np.int64)
        pool = np.empty(max(64, min(count * 16, 1 << 26)), dtype=np.uint8)
        state = np.array([position, 0, 0, count, 0], dtype=np.int64)
        run = native.kernels()
        scan = run.scan_binary_records if binary else run.scan_text_records
        target = matrix.view(np.uint8) if binary else matrix     # binary: raw bytes per row
        while True:
            status = scan(self._array(), self.n, int(self.eof), target, pool, word_ends, state)
            if status == SCAN_DONE:
                break
            if status == SCAN_NEED_INPUT:
                self._refill(int(state[0]))
                state[0] = 0            # the unread bytes now start the buffer
                continue
            if status == SCAN_POOL_FULL:
                pool = _grown_pool(pool, 2 * len(pool))
                continue
            if status == SCAN_ASK_PYTHON:
                pool = self._parse_text_record(state, matrix, pool, word_ends)
                continue
            raise self._record_error(status, state, announced, size)
        if matrix.dtype != np.float32:      # little-endian data on a big-endian machine
            matrix = matrix.astype(np.float32)
        data = pool[:int(state[2])].tobytes()
        ends = word_ends.tolist()
        starts = [0] + ends[:-1]
        return [data[a:b] for a, b in zip(starts, ends)], matrix, int(state[0])

    def _word_at(self, position: int) -> bytes:
        rest = bytes(self.buffer[position:self.n]).lstrip(b"\n")
        return re.split(rb"[ \t]", rest, maxsplit=1)[0].replace(b"\n", b"")

    def _record_error(self, status: int, state: np.ndarray, announced: int,
                      size: int) -> FormatError:
        record = int(state[1])
        if status == SCAN_ENDED and int(state[4]) == 0:
            return self._fail(f"the file ends after {record} of the {announced} vectors "
                              f"announced in its header")
        if status == SCAN_ENDED:
            return self._fail(f"vector {record + 1} of {announced} is cut short: the file "
                              f"ends inside its word")
        word = self._word_at(int(state[0]))
        return self._fail(f"vector {record + 1} of {announced} ('{_show(word)}') is cut short: "
                          f"expected {size} float32 values ({4 * size} bytes), the file ends "
                          f"after {int(state[4])} bytes")

    def _parse_text_record(self, state: np.ndarray, matrix: np.ndarray, pool: np.ndarray,
                           word_ends: np.ndarray) -> np.ndarray:
        """Parse the text line the kernel left to Python, or raise what is wrong with it."""
        start = int(state[0])
        record = int(state[1])
        end = self.buffer.find(b"\n", start, self.n)
        line = bytes(self.buffer[start:self.n if end < 0 else end])
        word, values, problem = _text_record(line, record + 1, matrix.shape[1])
        if problem is not None:
            raise self._fail(problem)
        with np.errstate(over="ignore"):
            matrix[record] = np.array([float(v) for v in values], dtype=np.float64)
        used = int(state[2])
        if used + len(word) > len(pool):
            pool = _grown_pool(pool, max(2 * len(pool), used + len(word)))
        pool[used:used + len(word)] = np.frombuffer(word, dtype=np.uint8)
        word_ends[record] = used + len(word)
        state[0] = self.n if end < 0 else end + 1
        state[1] = record + 1
        state[2] = used + len(word)
        return pool

    def _check_alignment(self, position: int, count: int, size: int) -> None:
        """In a file whose first vector is followed by a newline (as word2vec writes it),
        the last vector read must be too: if not, the header's dimension is wrong and
        every record was read askew.  What follows is not read: a header announcing
        fewer vectors than the file holds gives that many, as in the original."""
        if position >= self.n and not self.eof:
            self._refill(position)
            position = 0
        if position < self.n and self.buffer[position] != 10:
            raise self._fail(f"vector {count} is not followed by a newline as the first one "
                             f"is: is the header's dimension ({size}) wrong?")

    def _newline_layout_dimension(self, position: int, size: int,
                                  announced: int) -> Optional[int]:
        """The dimension of a word2vec-written binary file whose header gives another.

        Such a file has a newline after every vector, but not where the header's
        dimension puts it.  For each newline at a multiple of 4 bytes into the first
        vector, try that many values per record: it is the file's dimension when every
        record in the buffer is followed by a newline at that place and, when the buffer
        holds the whole file, the announced records end exactly at its end.  A file
        without newlines after its vectors (which the header's dimension fits) cannot
        pass both tests: its vectors do not all hold a newline byte at the same place,
        and repeated ones leave bytes over at the end.
        """
        buffer = self.buffer
        start = position
        while start < self.n and buffer[start] == 10:
            start += 1
        space = buffer.find(b" ", start, self.n)
        if space < 0:
            return None
        search_end = min(self.n, space + 1 + 4 * max(size, 1) * 4 + 4096)
        offset = buffer.find(b"\n", space + 1, search_end)
        tried = 0
        while offset >= 0 and tried < 16:
            width = offset - space - 1
            if width > 0 and width % 4 == 0 and width != 4 * size:
                tried += 1
                if self._holds_newline_layout(start, width, announced):
                    return width // 4
            offset = buffer.find(b"\n", offset + 1, search_end)
        return None

    def _holds_newline_layout(self, start: int, width: int, announced: int) -> bool:
        """Whether the records in the buffer are word, space, ``width`` bytes, newline."""
        buffer = self.buffer
        position = start
        for record in range(announced):
            space = buffer.find(b" ", position, self.n)
            if space < 0 or space + 1 + width >= self.n:
                # The buffer ends here: enough evidence if it held many records.
                return not self.eof and record >= 1000
            if buffer[space + 1 + width] != 10:
                return False
            position = space + 2 + width
        return self.eof and not bytes(buffer[position:self.n]).strip(b" \t\r\n")

    def _at_end(self, position: int) -> bool:
        """Whether only blank space follows ``position`` to the end of the file."""
        while True:
            if bytes(self.buffer[position:self.n]).strip(b" \t\r\n"):
                return False
            if self.eof:
                return True
            self.n = 0
            position = 0
            self._fill()


@dataclasses.dataclass(frozen=True)
class _FirstRecord:
    """What the first record of a vector file says about its format."""

    text: bool                  # a well-formed text record: the file is text
    newline_after: bool         # read as binary, its vector is followed by a newline
    text_problem: Optional[str]     # a printable line that is a malformed text record:
                                    # what is wrong with it (None otherwise)


def _text_record(line: bytes, number: int, size: int):
    """(word, values, problem) of a text-format line; problem is None when it is a word
    and ``size`` numbers, else the message saying what is wrong."""
    parts = re.split(rb"[ \t]", line, maxsplit=1)
    word, rest = parts[0], (parts[1] if len(parts) == 2 else b"")
    rest = rest.strip(b" \t\r")
    values = _BLANKS.split(rest) if rest else []
    if len(values) != size:
        return word, values, (f"vector {number} ('{_show(word)}') has {len(values)} values, "
                              f"the header says {size}")
    for column, value in enumerate(values):
        if not _NUMBER.fullmatch(value):
            return word, values, (f"vector {number} ('{_show(word)}'): value {column + 1} is "
                                  f"not a number: {_show(value, 20)!r}")
    return word, values, None


# Bytes that never occur in a text record but do in almost every binary vector.
_CONTROL_BYTES = np.zeros(256, dtype=bool)
_CONTROL_BYTES[[*range(0, 9), 11, 12, *range(14, 32), 127]] = True


def _holds_control_bytes(matrix: np.ndarray) -> bool:
    raw = matrix.view(np.uint8).reshape(len(matrix), -1)
    rows = max(1, (1 << 24) // max(1, raw.shape[1]))
    return any(_CONTROL_BYTES[raw[first:first + rows]].any()
               for first in range(0, len(raw), rows))


def _grown_pool(pool: np.ndarray, capacity: int) -> np.ndarray:
    bigger = np.empty(capacity, dtype=np.uint8)
    bigger[:len(pool)] = pool
    return bigger


def _file_size(stream: BinaryIO) -> Optional[int]:
    """Size of a regular file, None for pipes and devices."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None
