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
from numba import njit

_TEXT_CHUNK_BYTES = 8 << 20


def _words_pool(words: Sequence[bytes]):
    """The words back to back (uint8) with their start offsets (int64[len+1])."""
    data = b"".join(words)
    starts = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words)),
              out=starts[1:])
    pool = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(1, dtype=np.uint8)
    return pool, starts


@njit(inline="always")
def _write_fixed6(x, out, p):
    """Write float32 ``x`` as C's "%f" into ``out`` at ``p``; returns the new position.

    x * 10^6 is exact in float64 (24 + 14 significant bits), so rounding it to an integer
    with round-half-even gives the same digits as glibc's exact decimal conversion.
    """
    scaled = np.rint(np.float64(x) * 1e6)
    if math.copysign(1.0, x) < 0:
        out[p] = 45                      # '-', also for values that round to zero
        p += 1
    m = np.int64(abs(scaled))
    whole = m // 1000000
    frac = m - whole * 1000000
    digits = 1
    t = whole
    while t >= 10:
        t //= 10
        digits += 1
    for k in range(digits - 1, -1, -1):
        out[p + k] = 48 + whole % 10
        whole //= 10
    p += digits
    out[p] = 46                          # '.'
    for k in range(6, 0, -1):
        out[p + k] = 48 + frac % 10
        frac //= 10
    return p + 7


@njit(cache=True, nogil=True)
def format_text_rows(matrix, first, last, pool, starts, out):
    """Text-format lines of rows ``first .. last-1`` into ``out``; returns bytes written.

    ``out`` must hold (word bytes + 1 + size * 22 + 1) bytes per row; every value must be
    finite with magnitude below 1e12 (the caller checks).
    """
    p = 0
    size = matrix.shape[1]
    for i in range(first, last):
        for k in range(starts[i], starts[i + 1]):
            out[p] = pool[k]
            p += 1
        out[p] = 32
        p += 1
        for j in range(size):
            p = _write_fixed6(matrix[i, j], out, p)
            out[p] = 32
            p += 1
        out[p] = 10
        p += 1
    return p


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
            n = format_text_rows(matrix, first, last, pool, starts, out)
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
