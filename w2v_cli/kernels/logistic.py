"""The C tool's table-driven logistic function and the gradients it gives.

sigma(f) is read from a 1000-entry table over [-6, 6] (``sampling.sigmoid_table``) at
index (f + 6) * 83, the C integer expression 1000 / 6 / 2 = 83.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli.kernels.abi import EXP_TABLE_SIZE, MAX_EXP

F32 = np.float32
SIGMOID_SCALE = F32(EXP_TABLE_SIZE // MAX_EXP // 2)
MAX_EXP_F = F32(MAX_EXP)


@njit(inline="always")
def sigmoid_index(f):
    return np.int64((f + MAX_EXP_F) * SIGMOID_SCALE)


# softplus(x) = log(1 + exp(x)) at the middle of each of the sigmoid table's buckets: the
# loss is read from a table as sigma is (a report's precision, at a table lookup's cost).
_BUCKETS = (np.arange(EXP_TABLE_SIZE + 1) + 0.5) / float(SIGMOID_SCALE) - MAX_EXP
SOFTPLUS_TABLE = np.log1p(np.exp(_BUCKETS))


@njit(inline="always")
def target_loss(f, label):
    """The negative log-likelihood of a target with score ``f`` and label 1 or 0,
    softplus(-f) or softplus(f), from ``SOFTPLUS_TABLE`` inside [-6, 6]: x beyond 6
    costs x, below -6 nothing (less than 0.0025)."""
    x = -f if label > F32(0.5) else f
    if x >= MAX_EXP_F:
        return np.float64(x)
    if x <= -MAX_EXP_F:
        return 0.0
    return SOFTPLUS_TABLE[sigmoid_index(x)]


@njit(inline="always")
def negative_sampling_gradient(f, label, scale, exp_table):
    """(label - sigma(f)) * scale, with sigma clipped to 0 and 1 outside [-6, 6]."""
    if f > MAX_EXP_F:
        return (label - F32(1)) * scale
    if f < -MAX_EXP_F:
        return label * scale
    return (label - exp_table[sigmoid_index(f)]) * scale
