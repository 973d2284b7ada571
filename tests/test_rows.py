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

    from w2v_cli.kernels.rows import (
        row_add,
        row_combine,
        row_dots,
        row_exchange,
        row_exchange_and_add,
        row_set_combination,
        rows_add,
    )

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

    @njit
    def add_to_rows(matrix, indices, first, count, y):
        rows_add(matrix, indices, first, count, y)

    @njit
    def exchange(matrix, y_row, x_row, indices, count, coefficients, add):
        if add:
            row_exchange_and_add(matrix[y_row], matrix[x_row], matrix, indices, count,
                                 coefficients)
        else:
            row_exchange(matrix[y_row], matrix[x_row], matrix, indices, count, coefficients)

    return dots, combine, add, add_to_rows, exchange


@pytest.mark.parametrize("vectors", [1, 2, 3, 7, 8, 9, 13, 16, 19, 23])
def test_row_operations_match_numpy(vectors):
    dots, combine, add_rows, add_to_rows, exchange = _kernels()
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
        for count, add in ((count, add) for count in range(8) for add in (False, True)):
            work = matrix.copy()
            exchange(work, 0, 1, indices, count, coefficients, add)
            rows = indices[:count]
            expected = matrix[0] + coefficients[:count] @ matrix[rows].astype(np.float64)
            np.testing.assert_allclose(work[0], expected, rtol=1e-5, atol=1e-4)
            x = matrix[1] + expected if add else matrix[1]
            np.testing.assert_allclose(work[1], x, rtol=1e-5, atol=1e-4)
            changed = matrix[rows] + np.outer(coefficients[:count], matrix[1])
            np.testing.assert_allclose(work[rows], changed, rtol=1e-5, atol=1e-5)
            untouched = np.setdiff1d(np.arange(len(matrix)), np.append(rows, [0, 1]))
            np.testing.assert_array_equal(work[untouched], matrix[untouched])
    work = matrix.copy()
    add_rows(work)
    np.testing.assert_allclose(work[3], matrix[3] + matrix[4], rtol=1e-6)
    np.testing.assert_array_equal(np.delete(work, 3, axis=0), np.delete(matrix, 3, axis=0))
    listed = np.array([7, 2, 7, 0, 11], np.int32)          # row 7 twice: y added twice
    for first, count in ((0, 5), (1, 3), (2, 0)):
        work = matrix.copy()
        y = rng.normal(size=matrix.shape[1]).astype(np.float32)
        add_to_rows(work, listed, first, count, y)
        expected = matrix.copy()
        for row in listed[first:first + count]:
            expected[row] += y
        np.testing.assert_array_equal(work, expected)
