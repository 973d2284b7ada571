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
"""

from __future__ import annotations

import math
from typing import BinaryIO, List, Sequence

import numpy as np

from w2v_cli import native

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
    """Write ``words`` and the float32 rows of ``matrix`` in the text format."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    count, size = matrix.shape
    stream.write(header(count, size))
    pool, starts = _words_pool(words)
    row_bytes = 1 + size * 22 + 1
    rows_per_chunk = max(1, _TEXT_CHUNK_BYTES // (row_bytes + 100))
    out = np.empty(rows_per_chunk * row_bytes + int(
        max((len(w) for w in words), default=0)) * rows_per_chunk + 16, dtype=np.uint8)
    for first in range(0, count, rows_per_chunk):
        last = min(count, first + rows_per_chunk)
        block = matrix[first:last]
        if np.isfinite(block).all() and (block.size == 0 or np.abs(block).max() < 1e12):
            n = native.kernels().format_text_rows(matrix, first, last, pool, starts, out)
            stream.write(out[:n].tobytes())
        else:
            stream.write(_text_rows_python(words, matrix, first, last))


def write_binary(stream: BinaryIO, words: Sequence[bytes], matrix: np.ndarray) -> None:
    """Write ``words`` and the rows of ``matrix`` in the binary format."""
    matrix = np.ascontiguousarray(matrix, dtype="<f4")
    count, size = matrix.shape
    stream.write(header(count, size))
    rows_per_chunk = max(1, (_TEXT_CHUNK_BYTES // 4) // max(1, 4 * size + 16))
    for first in range(0, count, rows_per_chunk):
        last = min(count, first + rows_per_chunk)
        stream.write(b"".join(words[i] + b" " + matrix[i].tobytes() + b"\n"
                              for i in range(first, last)))


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
