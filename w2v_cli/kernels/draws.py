"""The C tool's random-number generator and every draw the training makes from it.

One 64-bit linear congruential generator, ``r = r * 25214903917 + 11``, per worker; the
draws use its bits exactly as the C code does, so a single-thread run repeats the
original's random stream number for number.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli.kernels.abi import UNIGRAM_TABLE_SIZE

F32 = np.float32
LCG_MULTIPLIER = np.uint64(25214903917)
LCG_INCREMENT = np.uint64(11)
_LOW16 = np.uint64(0xFFFF)
_SHIFT16 = np.uint64(16)
_TABLE_SLOTS = np.uint64(UNIGRAM_TABLE_SIZE)


@njit(inline="always")
def next_random(r):
    return r * LCG_MULTIPLIER + LCG_INCREMENT


@njit(inline="always")
def uniform(r):
    """The C tool's uniform draw in [0, 1): (r & 0xFFFF) / 65536 in float32."""
    return F32(r & _LOW16) / F32(65536)


@njit(inline="always")
def window_shrink(r, window):
    """Advance the generator and draw b in [0, window): the window used is window - b."""
    r = next_random(r)
    return r, np.int64(r % np.uint64(window))


@njit(inline="always")
def unigram_target(r, last_slot, bucket_word, bucket_shift, vocab_size):
    """The negative drawn by random state ``r`` from the emulated unigram table."""
    slot = np.int64((r >> _SHIFT16) % _TABLE_SLOTS)
    target = np.int64(bucket_word[slot >> bucket_shift])
    while last_slot[target] < slot:
        target += 1
    if target == 0:                      # </s> draws become a uniform real word
        target = np.int64(r % np.uint64(vocab_size - 1)) + 1
    return target


@njit(inline="always")
def skip_random(r, steps):
    """The generator's state ``steps`` draws after ``r``: the map r -> a r + c raised to
    that power by squaring (powers of one map commute, so the order does not matter)."""
    multiplier = np.uint64(1)
    increment = np.uint64(0)
    a = LCG_MULTIPLIER
    c = LCG_INCREMENT
    while steps > 0:
        if steps & 1:
            multiplier, increment = multiplier * a, increment * a + c
        a, c = a * a, c * a + c
        steps >>= 1
    return r * multiplier + increment


@njit(cache=True, nogil=True, error_model="numpy")
def init_input_vectors(syn0, seed, size, first_row):
    """Fill ``syn0[:, :size]`` (float32[n, >= size]) with the C tool's random vectors of
    rows ``first_row .. first_row + n - 1``.

    One LCG stream from ``seed`` (the C tool uses 1), row by row; each value is
    ((r & 0xFFFF) / 65536 - 0.5) / size, in double, stored as float32.  A part of the
    rows starts where that stream stands at its first row, so threads filling parts of
    the matrix write what one pass over it would.
    """
    r = skip_random(np.uint64(seed), np.uint64(first_row) * np.uint64(size))
    scale = np.float64(size)
    for a in range(syn0.shape[0]):
        for b in range(size):
            r = next_random(r)
            syn0[a, b] = F32((np.float64(r & _LOW16) / 65536.0 - 0.5) / scale)
