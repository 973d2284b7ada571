"""Kernels for reading vector files and scoring words (``formats.py``, ``vectors.py``).

The readers scan a buffer of file bytes record by record and copy the words into a byte
pool and the values into the matrix; they stop, with a status code, whenever they need
more input, a bigger pool, or help from Python (a malformed or unusual record), so the
Python side stays a short loop over large blocks.

The scoring kernels do float32 arithmetic in the C tools' order: one rounding per
multiply and per add, summed from the first dimension to the last.  Without ``fastmath``
LLVM may not reorder these sums or fuse them into FMA, so the results equal the original
tools' printed scores digit for digit.
"""

import numpy as np
from numba import njit

from w2v_cli.kernels.abi import (
    SCAN_ASK_PYTHON,
    SCAN_DONE,
    SCAN_ENDED,
    SCAN_NEED_INPUT,
    SCAN_POOL_FULL,
    SCAN_SHORT_VECTOR,
)

_SPACE, _TAB, _NEWLINE, _CR = 32, 9, 10, 13
_POW10 = np.array([1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
                   1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22])
_MAX_EXACT_MANTISSA = 9007199254740992      # 2**53: integers exact in float64


@njit(cache=True, nogil=True, error_model="numpy")
def scan_binary_records(buf, n, at_eof, rows, pool, word_ends, state):
    """Read binary-format records ``word<space><size float32>`` from ``buf[:n]``.

    As in the C readers, newline bytes inside or before a word are skipped (every record
    of a C-written file ends with one), and a word ends at the first space.

    Parameters
    ----------
    buf : uint8[:]         file bytes; ``buf[state[0]:n]`` is still unread
    n : int                number of valid bytes in ``buf``
    at_eof : int           1 when ``buf[:n]`` reaches the end of the file
    rows : uint8[R, 4*size]  the float32 matrix viewed as bytes; record r goes to row r
    pool : uint8[:]        receives the words' bytes back to back
    word_ends : int64[R]   ``word_ends[r]`` = end of word r in ``pool``
    state : int64[5]       (buffer position, next record, pool bytes used, records wanted,
                           detail); updated in place

    Returns
    -------
    int  a status code (``abi.SCAN_*``); for ``SCAN_ENDED`` ``state[4]`` holds the number of
         word bytes read, for ``SCAN_SHORT_VECTOR`` the number of value bytes present.
    """
    pos = state[0]
    r = state[1]
    used = state[2]
    last = state[3]
    width = rows.shape[1]
    capacity = pool.shape[0]
    while r < last:
        p = pos
        w = used
        found = False
        while p < n:
            ch = buf[p]
            if ch == _SPACE:
                found = True
                break
            if ch != _NEWLINE:
                if w >= capacity:
                    state[0] = pos
                    state[1] = r
                    state[2] = used
                    return SCAN_POOL_FULL
                pool[w] = ch
                w += 1
            p += 1
        if not found:
            state[0] = pos
            state[1] = r
            state[2] = used
            if at_eof:
                state[4] = w - used
                return SCAN_ENDED
            return SCAN_NEED_INPUT
        p += 1
        if p + width > n:
            state[0] = pos
            state[1] = r
            state[2] = used
            if at_eof:
                state[4] = n - p
                return SCAN_SHORT_VECTOR
            return SCAN_NEED_INPUT
        row = rows[r]                   # 1-D views: LLVM turns this into a fast block copy
        values = buf[p:p + width]
        for k in range(width):
            row[k] = values[k]
        pos = p + width
        used = w
        word_ends[r] = used
        r += 1
    state[0] = pos
    state[1] = r
    state[2] = used
    return SCAN_DONE


@njit(inline="always")
def _is_blank(ch):
    return ch == _SPACE or ch == _TAB or ch == _CR


@njit(inline="always")
def _parse_number(buf, start, end, out, r, j):
    """Parse ``buf[start:end]`` as a decimal number into ``out[r, j]`` (float32).

    Handles ``[+-]digits[.digits][(e|E)[+-]digits]`` when the value is an exact float64
    operation (at most 2**53 in the digits, a power of ten up to 1e22), which makes the
    result the correctly rounded float64, then rounded to float32 -- the same value as
    ``np.float32(float(text))``.  Returns False for anything else (nan, inf, long
    mantissas, bad syntax); the caller then leaves the record to Python.
    """
    p = start
    negative = False
    if buf[p] == 45 or buf[p] == 43:           # '-' '+'
        negative = buf[p] == 45
        p += 1
    mantissa = np.int64(0)
    digits = 0
    scale = 0
    while p < end and 48 <= buf[p] <= 57:
        if mantissa > 100000000000000000:
            return False
        mantissa = mantissa * 10 + (buf[p] - 48)
        digits += 1
        p += 1
    if p < end and buf[p] == 46:               # '.'
        p += 1
        while p < end and 48 <= buf[p] <= 57:
            if mantissa > 100000000000000000:
                return False
            mantissa = mantissa * 10 + (buf[p] - 48)
            digits += 1
            scale -= 1
            p += 1
    if digits == 0:
        return False
    if p < end and (buf[p] == 101 or buf[p] == 69):    # 'e' 'E'
        p += 1
        exp_negative = False
        if p < end and (buf[p] == 45 or buf[p] == 43):
            exp_negative = buf[p] == 45
            p += 1
        exp_digits = 0
        exponent = 0
        while p < end and 48 <= buf[p] <= 57:
            if exponent < 100000:
                exponent = exponent * 10 + (buf[p] - 48)
            exp_digits += 1
            p += 1
        if exp_digits == 0:
            return False
        scale += -exponent if exp_negative else exponent
    if p != end:
        return False
    if mantissa == 0:
        value = 0.0
    else:
        if mantissa > _MAX_EXACT_MANTISSA or scale > 22 or scale < -22:
            return False
        if scale >= 0:
            value = np.float64(mantissa) * _POW10[scale]
        else:
            value = np.float64(mantissa) / _POW10[-scale]
    if negative:
        value = -value
    out[r, j] = np.float32(value)
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def scan_text_records(buf, n, at_eof, matrix, pool, word_ends, state):
    """Read text-format lines ``word v1 ... vN`` from ``buf[:n]``.

    Values are separated by spaces or tabs; trailing blanks and a CR before the newline
    are allowed; blank lines before a record are skipped.  A line that is not a word plus
    exactly ``size`` plainly written numbers is left to Python (``SCAN_ASK_PYTHON``), which
    either parses it (nan, inf, long mantissas) or reports what is wrong with it.

    Parameters
    ----------
    buf, n, at_eof, pool, word_ends, state : as in ``scan_binary_records``
    matrix : float32[R, size]  record r goes to row r

    Returns
    -------
    int  a status code; ``SCAN_ENDED`` means the file ended before record ``state[1]``.
    """
    pos = state[0]
    r = state[1]
    used = state[2]
    last = state[3]
    size = matrix.shape[1]
    capacity = pool.shape[0]
    while r < last:
        p = pos
        while p < n and buf[p] == _NEWLINE:
            p += 1
        e = p
        while e < n and buf[e] != _NEWLINE:
            e += 1
        if e == n and not at_eof:
            state[0] = pos
            state[1] = r
            state[2] = used
            return SCAN_NEED_INPUT
        if p == n:
            state[0] = p
            state[1] = r
            state[2] = used
            state[4] = 0
            return SCAN_ENDED
        w = p
        while w < e and not (buf[w] == _SPACE or buf[w] == _TAB):
            w += 1
        if used + (w - p) > capacity:
            state[0] = pos
            state[1] = r
            state[2] = used
            return SCAN_POOL_FULL
        # values
        q = w
        j = 0
        ok = True
        while True:
            while q < e and _is_blank(buf[q]):
                q += 1
            if q >= e:
                break
            t = q
            while t < e and not _is_blank(buf[t]):
                t += 1
            if j >= size or not _parse_number(buf, q, t, matrix, r, j):
                ok = False
                break
            j += 1
            q = t
        if not ok or j != size:
            state[0] = p
            state[1] = r
            state[2] = used
            return SCAN_ASK_PYTHON
        for k in range(w - p):
            pool[used + k] = buf[p + k]
        used += w - p
        word_ends[r] = used
        r += 1
        pos = e + 1 if e < n else e
    state[0] = pos
    state[1] = r
    state[2] = used
    return SCAN_DONE


@njit(cache=True, nogil=True, error_model="numpy")
def normalise_rows(matrix, first, last):
    """Scale rows ``first .. last-1`` of ``matrix`` (float32[V, size]) to unit length in place.

    As the C tools do: the sum of squares accumulated in float32, its square root taken in
    double precision and rounded to float32, then every value divided by it.  A zero row
    becomes NaN (0/0), as in C; such words are never found as neighbours.
    """
    size = matrix.shape[1]
    for i in range(first, last):
        row = matrix[i]
        acc = np.float32(0.0)
        for j in range(size):
            acc = acc + row[j] * row[j]
        length = np.float32(np.sqrt(np.float64(acc)))
        for j in range(size):
            row[j] = row[j] / length


@njit(cache=True, nogil=True, error_model="numpy")
def dot_rows(matrix, vector, rows, out):
    """``out[k]`` = dot product of ``vector`` with row ``rows[k]`` of ``matrix``.

    matrix : float32[V, size]; vector : float32[size]; rows : int64[K]; out : float32[K].
    Summed in float32 from the first dimension to the last, as the C tools do.
    """
    size = matrix.shape[1]
    for k in range(rows.shape[0]):
        row = matrix[rows[k]]
        acc = np.float32(0.0)
        for j in range(size):
            acc = acc + vector[j] * row[j]
        out[k] = acc
