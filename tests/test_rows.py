"""The row operations of ``kernels/rows.py`` against numpy, for every row length they
have code of their own for (1 to 8 vectors) and for the longer rows swept in parts (a
last part of every length, none included)."""

from __future__ import annotations

import numpy as np
import pytest

from w2v_cli.model import row_matrix

LANES = 16


def _kernels():
    from numba import njit

    from w2v_cli.kernels.rows import row_add, row_combine, row_dots, row_set_combination

    @njit
    def dots(matrix, x_row, indices, count, out):
        row_dots(matrix[x_row], matrix, indices, count, out)

    @njit
    def combine(matrix, y_row, indices, first, count, coefficients, offset, stride, add):
        if add:
            row_combine(matrix[y_row], matrix, indices, first, count, coefficients, offset,
                        stride)
        else:
            row_set_combination(matrix[y_row], matrix, indices, first, count, coefficients,
                                offset, stride)

    @njit
    def add(matrix):
        row_add(matrix[3], matrix[4])

    return dots, combine, add


@pytest.mark.parametrize("vectors", [1, 2, 3, 7, 8, 9, 13, 16, 19, 23])
def test_row_operations_match_numpy(vectors):
    dots, combine, add_rows = _kernels()
    rng = np.random.default_rng(vectors)
    matrix = row_matrix(12, vectors * LANES)
    matrix[:] = rng.normal(size=matrix.shape).astype(np.float32)
    for indices in (np.array([3, 5, 6, 9, 10, 11, 4], np.int64),
                    np.array([3, 5, 6, 9, 10, 11, 4], np.int32)):
        for count in range(1, 8):             # quads of rows and every remainder
            out = np.zeros(8, np.float32)
            dots(matrix, 2, indices, count, out)
            expected = matrix[indices[:count]].astype(np.float64) @ matrix[2]
            np.testing.assert_allclose(out[:count], expected, rtol=1e-5, atol=1e-4)
            assert not out[count:].any()        # nothing written past the count
        coefficients = rng.normal(size=20).astype(np.float32)
        for add in (True, False):
            work = matrix.copy()
            combine(work, 0, indices, 1, 4, coefficients, 2, 3, add)
            picked = coefficients[2 + 3 * np.arange(4)]
            expected = picked @ matrix[indices[1:5]].astype(np.float64)
            if add:
                expected += matrix[0]
            np.testing.assert_allclose(work[0], expected, rtol=1e-5, atol=1e-4)
            np.testing.assert_array_equal(work[1:], matrix[1:])     # only y changes
    work = matrix.copy()
    add_rows(work)
    np.testing.assert_allclose(work[3], matrix[3] + matrix[4], rtol=1e-6)
    np.testing.assert_array_equal(np.delete(work, 3, axis=0), np.delete(matrix, 3, axis=0))
