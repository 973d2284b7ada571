"""Text-format kernels: C's "%f" for float32 values (see ``formats.py``)."""

import math

import numpy as np
from numba import njit


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


@njit(cache=True, nogil=True, error_model="numpy")
def format_text_rows(matrix, first, last, pool, starts, out):
    """Text-format lines of rows ``first .. last-1`` into ``out``; returns bytes written.

    matrix : float32[V, size]; pool : uint8[:] words back to back; starts : int64[V+1]
    out : uint8[:] must hold (word bytes + 2 + 22 * size) bytes per row.  Every value
    must be finite with magnitude below 1e12 (the caller checks).
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
